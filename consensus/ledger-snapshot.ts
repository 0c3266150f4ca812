// The ledger state to bytes and back, for a validator's restart (the node writes the bytes with
// fsync and an atomic rename; this file does no I/O). Taken between blocks only.
//
//   ["orbitfed-ledger-snapshot", 1, params, height, lastBlockTimeMs,
//    [table: [[key, …value fields], …] sorted by key, for each table in state order],
//    stateHash]
//
// Restoring reads strictly (canonical CBOR, size cap, keys strictly increasing, every field in
// range), rebuilds the indexes, recomputes every digest from scratch and refuses the snapshot unless
// the state hash it gives is the one stored, and unless the invariants hold. Codes:
//   ORBITFED_LEDGER_SNAPSHOT_TOO_LARGE, _TRUNCATED, _MALFORMED, _INVALID, _TRAILING_BYTES,
//   _HASH (content does not give the stored state hash), _INVARIANT (balances do not add up).
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import { CborReader, encodeCbor } from '../dtn/index.ts';
import { bytesEqual } from './canonical-bytes.ts';
import { encodeLedgerParams, readLedgerParams } from './ledger-params.ts';
import { ESCROW_STATUSES, LedgerState, type Account, type Escrow, type EscrowStatus, type KeyRecord, type NodeRecord } from './ledger-state.ts';
import { ACCOUNT_KINDS, type AccountKind } from './ledger-transactions.ts';
import type { DigestedTable } from './state-digest.ts';

export const SNAPSHOT_FORMAT = 'orbitfed-ledger-snapshot';
export const SNAPSHOT_VERSION = 1;
/** 1 GiB: tens of millions of records; larger input is refused before parsing. */
export const SNAPSHOT_BYTES_MAX = 1024 * 1024 * 1024;

const CODES = {
  truncated: 'ORBITFED_LEDGER_SNAPSHOT_TRUNCATED',
  malformed: 'ORBITFED_LEDGER_SNAPSHOT_MALFORMED',
  invalid: 'ORBITFED_LEDGER_SNAPSHOT_INVALID',
};
const KEY_TEXT_MAX = 128;
const ID_TEXT_MAX = 64;
const HASH_BYTES = 32;

/** The head of a definite-length array (RFC 8949 §3.1, major type 4, shortest form). */
function arrayHead(count: number): Uint8Array {
  assert.ok(Number.isSafeInteger(count) && count >= 0 && count < 2 ** 32);
  const head = encodeCbor(count);
  head[0]! |= 0x80;
  return head;
}

export function encodeSnapshot(state: LedgerState): Uint8Array {
  const tables = state.tables();
  assert.ok(tables.every((t) => !t.hasUnfoldedWrites), 'a snapshot is taken between blocks');
  // Entries are written as the bytes the digests hash (DigestedTable.entryBytes), framed by hand:
  // the same CBOR an encoder would write for the nested arrays, without building them.
  const head = encodeCbor([SNAPSHOT_FORMAT, SNAPSHOT_VERSION, encodeLedgerParams(state.params), state.height, state.lastBlockTimeMs]);
  const parts: Uint8Array[] = [Uint8Array.of(0x87), head.subarray(1), arrayHead(tables.length)];
  for (const table of tables) {
    const entries = table.sortedEntries();
    parts.push(arrayHead(entries.length));
    for (const [key, value] of entries) parts.push(table.entryBytes(key, value));
  }
  parts.push(encodeCbor(state.stateHash()));
  return Buffer.concat(parts);
}

function readHash(reader: CborReader, field: string): Uint8Array {
  const bytes = reader.readBytes(field, HASH_BYTES);
  if (bytes.length !== HASH_BYTES) reader.fail('invalid', field, `expected ${HASH_BYTES} bytes, found ${bytes.length}`);
  return bytes;
}

function readOptional(reader: CborReader, field: string): number | undefined {
  const count = reader.readArrayHeader(field);
  if (count > 1) reader.fail('invalid', field, 'an optional value is an array of 0 or 1 item');
  return count === 1 ? reader.readUint(field) : undefined;
}

function readKey(reader: CborReader): KeyRecord {
  if (reader.readArrayHeader('node.key') !== 5) reader.fail('invalid', 'node.key', 'a key record has 5 items');
  const epoch = reader.readUint('node.key.epoch');
  const publicKey = reader.readBytes('node.key.publicKey', 32);
  const activatedAtMs = reader.readUint('node.key.activatedAtMs');
  const retiredAtMs = readOptional(reader, 'node.key.retiredAtMs');
  const revokedAtMs = readOptional(reader, 'node.key.revokedAtMs');
  return {
    epoch, publicKey, activatedAtMs,
    ...(retiredAtMs === undefined ? {} : { retiredAtMs }),
    ...(revokedAtMs === undefined ? {} : { revokedAtMs }),
  };
}

/** Per table: how many value fields an entry has, and how to read them into a record. */
const READERS: Record<string, { readonly fields: number; readonly read: (reader: CborReader, key: string) => unknown }> = {
  accounts: {
    fields: 4,
    read: (r, id): Account => {
      const kind = r.readText('account.kind', 16) as AccountKind;
      if (!ACCOUNT_KINDS.includes(kind)) r.fail('invalid', 'account.kind', `unknown account kind ${JSON.stringify(kind)}`);
      return { id, kind, currency: r.readText('account.currency', 8), ownerId: r.readText('account.ownerId', ID_TEXT_MAX), balanceMinor: r.readBigUint('account.balanceMinor') };
    },
  },
  supplies: { fields: 1, read: (r, currency) => ({ currency, supplyMinor: r.readBigUint('supply.supplyMinor') }) },
  transfers: { fields: 1, read: (r, id) => ({ id, contentHash: readHash(r, 'transfer.contentHash') }) },
  escrows: {
    fields: 14,
    read: (r, id): Escrow => {
      const text = (field: string): string => r.readText(`escrow.${field}`, ID_TEXT_MAX);
      const jobId = text('jobId');
      const tenantAccountId = text('tenantAccountId');
      const providerAccountId = text('providerAccountId');
      const currency = r.readText('escrow.currency', 8);
      const amountMinor = r.readBigUint('escrow.amountMinor');
      const deadlineMs = r.readUint('escrow.deadlineMs');
      const openedAtMs = r.readUint('escrow.openedAtMs');
      const contentHash = readHash(r, 'escrow.contentHash');
      const status = r.readText('escrow.status', 16) as EscrowStatus;
      if (!ESCROW_STATUSES.includes(status)) r.fail('invalid', 'escrow.status', `unknown escrow status ${JSON.stringify(status)}`);
      return {
        id, jobId, tenantAccountId, providerAccountId, currency, amountMinor, deadlineMs, openedAtMs, contentHash, status,
        postedMinor: r.readBigUint('escrow.postedMinor'), feeMinor: r.readBigUint('escrow.feeMinor'), resolvedAtMs: r.readUint('escrow.resolvedAtMs'),
        settledBy: r.readText('escrow.settledBy', KEY_TEXT_MAX), slaReportId: text('slaReportId'),
      };
    },
  },
  nodes: {
    fields: 3,
    read: (r, id): NodeRecord => {
      const registeredAtMs = r.readUint('node.registeredAtMs');
      const reputationPpm = r.readUint('node.reputationPpm', 1_000_000);
      const count = r.readArrayHeader('node.keys');
      if (count === 0) r.fail('invalid', 'node.keys', 'a node has at least one key');
      const keys = Array.from({ length: count }, () => readKey(r));
      if (keys.some((k, i) => k.epoch !== i)) r.fail('invalid', 'node.keys', 'key epochs are 0, 1, 2, … in order');
      return { id, registeredAtMs, reputationPpm, keys };
    },
  },
  receipts: { fields: 2, read: (r, key) => ({ key, contentHash: readHash(r, 'receipt.contentHash'), notAfterMs: r.readUint('receipt.notAfterMs') }) },
  offenses: { fields: 2, read: (r, key) => ({ key, evidenceHash: readHash(r, 'offense.evidenceHash'), slashedAtMs: r.readUint('offense.slashedAtMs') }) },
  'sla-reports': {
    fields: 3,
    read: (r, id) => ({ id, jobId: r.readText('slaReport.jobId', ID_TEXT_MAX), nodeId: r.readText('slaReport.nodeId', ID_TEXT_MAX), reportedAtMs: r.readUint('slaReport.reportedAtMs') }),
  },
};

function readTable(reader: CborReader, table: DigestedTable<unknown>): void {
  const spec = READERS[table.name];
  assert.ok(spec !== undefined, `no snapshot reader for table ${table.name}`);
  const count = reader.readArrayHeader(table.name);
  if (count > table.entriesMax) reader.fail('invalid', table.name, `${count} entries, more than the ${table.entriesMax} allowed`);
  let previousKey: string | undefined;
  for (let i = 0; i < count; i++) {
    const start = reader.offset;
    if (reader.readArrayHeader(table.name) !== spec.fields + 1) reader.fail('invalid', table.name, `an entry has ${spec.fields + 1} items`);
    const key = reader.readText(`${table.name}.key`, KEY_TEXT_MAX);
    if (previousKey !== undefined && !(previousKey < key)) reader.fail('invalid', table.name, `keys are not strictly increasing at ${JSON.stringify(key)}`);
    previousKey = key;
    table.load(key, spec.read(reader, key), reader.view(start, reader.offset));
  }
}

export function decodeSnapshot(bytes: Uint8Array): LedgerState {
  if (bytes.length > SNAPSHOT_BYTES_MAX) throw new OrbitfedError('ORBITFED_LEDGER_SNAPSHOT_TOO_LARGE', `snapshot of ${bytes.length} bytes is larger than ${SNAPSHOT_BYTES_MAX}`);
  const reader = new CborReader(bytes, CODES);
  if (reader.readArrayHeader('snapshot') !== 7) reader.fail('invalid', 'snapshot', 'a snapshot has 7 items');
  const format = reader.readText('format', 64);
  if (format !== SNAPSHOT_FORMAT) reader.fail('invalid', 'format', `not a ledger snapshot (${JSON.stringify(format)})`);
  const version = reader.readUint('version');
  if (version !== SNAPSHOT_VERSION) reader.fail('invalid', 'version', `snapshot version ${version} is not ${SNAPSHOT_VERSION}`);
  let params;
  try {
    params = readLedgerParams(reader);
  } catch (error) {
    if ((error as OrbitfedError).code === 'ORBITFED_LEDGER_PARAMS' || (error as OrbitfedError).code === 'ORBITFED_CHAIN_ID') {
      throw new OrbitfedError(CODES.invalid, (error as Error).message, (error as OrbitfedError).location);
    }
    throw error;
  }
  const state = new LedgerState(params, reader.readUint('height'), reader.readUint('lastBlockTimeMs'));
  const tables = state.tables();
  if (reader.readArrayHeader('tables') !== tables.length) reader.fail('invalid', 'tables', `a snapshot has ${tables.length} tables`);
  for (const table of tables) readTable(reader, table);
  const storedHash = readHash(reader, 'stateHash');
  if (!reader.atEnd) throw new OrbitfedError('ORBITFED_LEDGER_SNAPSHOT_TRAILING_BYTES', `${bytes.length - reader.offset} bytes after the snapshot`);
  state.rebuildIndexes();
  if (!bytesEqual(state.stateHash(), storedHash)) {
    throw new OrbitfedError('ORBITFED_LEDGER_SNAPSHOT_HASH', 'the snapshot\'s content does not give the state hash stored with it');
  }
  try {
    state.assertInvariants();
  } catch (error) {
    throw new OrbitfedError('ORBITFED_LEDGER_SNAPSHOT_INVARIANT', (error as Error).message);
  }
  return state;
}
