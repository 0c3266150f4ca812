// Reading version 1 ledger snapshots (written until the flat layout of ledger-snapshot.ts replaced
// it), so that a validator upgraded in place still restores the snapshots it wrote before:
//
//   ["orbitfed-ledger-snapshot", 1, params, height, lastBlockTimeMs,
//    [table: [[key, …value fields], …] sorted by key, for each table in state order],
//    stateHash]
//
// Each entry is the canonical CBOR its table digest hashes, so restoring hashes every entry again
// (one SHA-256 per entry: ~1 s at 100,000 settled receipts); ledger-snapshot.ts reads the head
// (format, version, params, height, time) and the stored hash, this file the tables.
import assert from 'node:assert/strict';
import type { CborReader } from '../dtn/index.ts';
import { ESCROW_STATUSES, type Account, type Escrow, type EscrowStatus, type KeyRecord, type LedgerState, type NodeRecord } from './ledger-state.ts';
import { ACCOUNT_KINDS, type AccountKind } from './ledger-transactions.ts';
import type { DigestedTable } from './state-digest.ts';

export const SNAPSHOT_VERSION_1 = 1;
const KEY_TEXT_MAX = 128;
const ID_TEXT_MAX = 64;
const HASH_BYTES = 32;

export function readHash(reader: CborReader, field: string): Uint8Array {
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


/** Reads the tables of a version 1 snapshot into `state` (each entry hashed into its table's digest). */
export function readSnapshotTablesV1(reader: CborReader, state: LedgerState): void {
  const tables = state.tables();
  if (reader.readArrayHeader('tables') !== tables.length) reader.fail('invalid', 'tables', `a snapshot has ${tables.length} tables`);
  for (const table of tables) readTable(reader, table);
}
