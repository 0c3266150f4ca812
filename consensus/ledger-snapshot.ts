// The ledger state to bytes and back, for a validator's restart (the node writes the bytes with
// fsync and an atomic rename; this file does no I/O). Taken between blocks only. Version 2:
//
//   CBOR ["orbitfed-ledger-snapshot", 2, params, height, lastBlockTimeMs,
//         [[table name, entry count, digest (32 bytes)] for each table in state order],
//         tables (a byte string: the flat layout below),
//         stateHash (32 bytes),
//         checksum (32 bytes): SHA-256 of every byte of the snapshot before this item]
//
// Tables, in state order, big-endian: u32 entry count, then the entries sorted by key. An entry is
// its key (text) and its fields in the order of ENCODERS (ledger-state.ts), each as one of:
//   text: u8 byte length, UTF-8 · u64: 8 bytes (numbers ≤ 2^53 − 1, amounts ≤ 2^64 − 1) ·
//   hash: 32 bytes · optional u64: u8 0, or u8 1 then the u64 · account kind and escrow status: u8
//   index into ACCOUNT_KINDS / ESCROW_STATUSES · a node's keys: u16 count, then per key u32 epoch,
//   32-byte public key, u64 activated, optional retired, optional revoked.
//
// Why not CBOR entries, as version 1 (ledger-snapshot-v1.ts) wrote: restoring 100,000 settled
// receipts and 130,000 escrows took ~2.3 s, half of it re-hashing every entry (one SHA-256 each)
// to recompute the table digests, most of the rest the general CBOR reader's allocations. Here the
// digests are stored (the table heads are exactly what the state hash covers, so the stored hash is
// checked against them), and the checksum proves the entries are the bytes this validator wrote
// next to those digests, which it kept incrementally block by block (tests recompute them from
// scratch after a restore: Ledger.recomputeStateHash). The entries are still read strictly:
// lengths, ranges, enumerations, key order, counts against the heads and the limits, nothing left
// over; the indexes are rebuilt and the invariants checked. Version 1 snapshots are still read.
//
// Codes: ORBITFED_LEDGER_SNAPSHOT_TOO_LARGE, _TRUNCATED, _MALFORMED, _INVALID, _TRAILING_BYTES,
//   _CHECKSUM (the bytes are not the ones written), _HASH (the table heads do not give the stored
//   state hash; version 1: the content does not), _INVARIANT (balances do not add up).
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import { CborReader, encodeCbor } from '../dtn/index.ts';
import { bytesEqual, sha256 } from './canonical-bytes.ts';
import { encodeLedgerParams, readLedgerParams, type LedgerParams } from './ledger-params.ts';
import { readHash, readSnapshotTablesV1, SNAPSHOT_VERSION_1 } from './ledger-snapshot-v1.ts';
import {
  ESCROW_STATUSES, LedgerState, type Account, type ColdIndexes, type Escrow, type KeyRecord, type NodeRecord, type Offense, type SettledReceipt, type SlaReport,
  type Supply, type TransferRecord,
} from './ledger-state.ts';
import { ACCOUNT_KINDS } from './ledger-transactions.ts';
import type { ColdEntries, DigestedTable } from './state-digest.ts';

export const SNAPSHOT_FORMAT = 'orbitfed-ledger-snapshot';
export const SNAPSHOT_VERSION = 2;
/** 1 GiB: tens of millions of records; larger input is refused before parsing. */
export const SNAPSHOT_BYTES_MAX = 1024 * 1024 * 1024;

const CODES = {
  truncated: 'ORBITFED_LEDGER_SNAPSHOT_TRUNCATED',
  malformed: 'ORBITFED_LEDGER_SNAPSHOT_MALFORMED',
  invalid: 'ORBITFED_LEDGER_SNAPSHOT_INVALID',
};
const KEY_TEXT_MAX = 128;
const ID_TEXT_MAX = 64;
const CURRENCY_TEXT_MAX = 8;
const HASH_BYTES = 32;
const TEXT_BYTES_MAX = 0xff;
const TWO_POW_32 = 0x1_0000_0000;
const U64_MAX = (1n << 64n) - 1n;

/** A growing big-endian buffer for the flat tables. */
class FlatWriter {
  #buffer = new Uint8Array(64 * 1024);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;
  readonly #utf8 = new TextEncoder();

  /** Room for `bytes` more; returns where they go. Call it before touching #buffer or #view: it may replace them. */
  #reserve(bytes: number): number {
    const at = this.#length;
    if (at + bytes > this.#buffer.length) {
      const needed = at + bytes;
      if (needed > SNAPSHOT_BYTES_MAX) throw new OrbitfedError('ORBITFED_LEDGER_SNAPSHOT_TOO_LARGE', `the ledger needs more than ${SNAPSHOT_BYTES_MAX} snapshot bytes`);
      const grown = new Uint8Array(Math.max(needed, 2 * this.#buffer.length));
      grown.set(this.#buffer.subarray(0, at));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = at + bytes;
    return at;
  }

  u8(value: number): void {
    assert.ok(Number.isInteger(value) && value >= 0 && value <= 0xff);
    const at = this.#reserve(1);
    this.#buffer[at] = value;
  }

  u16(value: number): void {
    assert.ok(Number.isInteger(value) && value >= 0 && value <= 0xffff);
    const at = this.#reserve(2);
    this.#view.setUint16(at, value);
  }

  u32(value: number): void {
    assert.ok(Number.isInteger(value) && value >= 0 && value < TWO_POW_32);
    const at = this.#reserve(4);
    this.#view.setUint32(at, value);
  }

  u64(value: number): void {
    assert.ok(Number.isSafeInteger(value) && value >= 0, `u64 out of range: ${value}`);
    const at = this.#reserve(8);
    this.#view.setUint32(at, Math.floor(value / TWO_POW_32));
    this.#view.setUint32(at + 4, value % TWO_POW_32);
  }

  big(value: bigint): void {
    assert.ok(value >= 0n && value <= U64_MAX, `amount out of range: ${value}`);
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, value);
  }

  hash(bytes: Uint8Array): void {
    assert.equal(bytes.length, HASH_BYTES);
    const at = this.#reserve(HASH_BYTES);
    this.#buffer.set(bytes, at);
  }

  optional(value: number | undefined): void {
    this.u8(value === undefined ? 0 : 1);
    if (value !== undefined) this.u64(value);
  }

  text(value: string): void {
    const at = this.#reserve(1 + 3 * value.length);
    const { written } = this.#utf8.encodeInto(value, this.#buffer.subarray(at + 1));
    assert.ok(written <= TEXT_BYTES_MAX, `text of ${written} bytes in a snapshot: ${value.slice(0, 40)}`);
    this.#buffer[at] = written;
    this.#length = at + 1 + written;
  }

  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }
}

/**
 * Reads the flat tables strictly. Texts equal to the previous one read in the same slot (the
 * tenant, provider and currency of consecutive escrows) are shared rather than decoded again, and
 * so are equal amounts: fewer objects for the collector. Hashes and keys are copies, never views
 * into the snapshot: a view would keep its tens of MB alive, and posting one to a worker (the
 * signature pool gets public keys) would clone the whole buffer.
 */
class FlatReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });
  readonly #slotText: string[] = [];
  readonly #slotAt: number[] = [];
  readonly #slotLength: number[] = [];
  readonly #slotBig: bigint[] = [];
  readonly #slotBigNumber: number[] = [];

  readonly #latin1: Buffer;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get atEnd(): boolean {
    return this.#offset === this.#bytes.length;
  }

  /** Where the next read starts, and the bytes read from (for a table scanned in place: ColdReceipts). */
  get offset(): number {
    return this.#offset;
  }

  get bytes(): Uint8Array {
    return this.#bytes;
  }

  seek(offset: number): void {
    assert.ok(Number.isSafeInteger(offset) && offset >= 0 && offset <= this.#bytes.length);
    this.#offset = offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  fail(kind: keyof typeof CODES, field: string, message: string): never {
    throw new OrbitfedError(CODES[kind], `${message} (byte ${this.#offset} of the tables)`, { field });
  }

  #take(length: number, field: string): number {
    const at = this.#offset;
    if (length > this.#bytes.length - at) this.fail('truncated', field, `the tables end inside ${field}`);
    this.#offset = at + length;
    return at;
  }

  u8(field: string): number {
    return this.#bytes[this.#take(1, field)]!;
  }

  u16(field: string): number {
    return this.#view.getUint16(this.#take(2, field));
  }

  u32(field: string): number {
    return this.#view.getUint32(this.#take(4, field));
  }

  u64(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const at = this.#take(8, field);
    const value = this.#view.getUint32(at) * TWO_POW_32 + this.#view.getUint32(at + 4);
    if (this.#view.getUint32(at) >= 2 ** 21 || value > max) this.fail('invalid', field, `${field} is above the largest value accepted here (${max})`);
    return value;
  }

  big(field: string, slot: number): bigint {
    const at = this.#take(8, field);
    const high = this.#view.getUint32(at);
    const low = this.#view.getUint32(at + 4);
    if (high < 2 ** 21) {
      const small = high * TWO_POW_32 + low;
      if (this.#slotBigNumber[slot] === small) return this.#slotBig[slot]!;
      const value = BigInt(small);
      this.#slotBig[slot] = value;
      this.#slotBigNumber[slot] = small;
      return value;
    }
    return this.#view.getBigUint64(at);
  }

  hash(field: string): Uint8Array {
    const at = this.#take(HASH_BYTES, field);
    return this.#bytes.slice(at, at + HASH_BYTES);
  }

  /** Checks a text as `text` does (length, UTF-8) without making a string of it. */
  skipText(field: string, maxBytes: number): void {
    const length = this.u8(field);
    if (length > maxBytes) this.fail('invalid', field, `text of ${length} bytes is longer than the ${maxBytes} accepted here`);
    const at = this.#take(length, field);
    for (let i = at; i < at + length; i++) {
      if (this.#bytes[i]! >= 0x80) {
        try {
          this.#utf8.decode(this.#bytes.subarray(at, at + length));
        } catch {
          this.fail('malformed', field, `${field} is not valid UTF-8`);
        }
        return;
      }
    }
  }

  /** Skips `length` bytes that any value is valid for (a hash, an amount). */
  skip(length: number, field: string): void {
    this.#take(length, field);
  }

  optional(field: string): number | undefined {
    const flag = this.u8(field);
    if (flag > 1) this.fail('invalid', field, `an optional value is flagged 0 or 1, found ${flag}`);
    return flag === 1 ? this.u64(field) : undefined;
  }

  text(field: string, maxBytes: number, slot: number): string {
    const length = this.u8(field);
    if (length > maxBytes) this.fail('invalid', field, `text of ${length} bytes is longer than the ${maxBytes} accepted here`);
    const at = this.#take(length, field);
    const bytes = this.#bytes;
    const previous = this.#slotText[slot];
    if (previous !== undefined && this.#slotLength[slot] === length) {
      const previousAt = this.#slotAt[slot]!;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (bytes[at + i] !== bytes[previousAt + i]) {
          same = false;
          break;
        }
      }
      if (same) return previous;
    }
    let ascii = true;
    for (let i = at; i < at + length; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    let value: string;
    if (ascii) {
      // ASCII is valid UTF-8 and reads the same as Latin-1, which Node decodes natively without a decoder call.
      value = this.#latin1.toString('latin1', at, at + length);
    } else {
      try {
        value = this.#utf8.decode(bytes.subarray(at, at + length));
      } catch {
        return this.fail('malformed', field, `${field} is not valid UTF-8`);
      }
    }
    this.#slotText[slot] = value;
    this.#slotAt[slot] = at;
    this.#slotLength[slot] = length;
    return value;
  }
}

/** Per table: how to write an entry's fields and how to read them back into a record (slots: see FlatReader). */
interface FlatTable<V> {
  // Method syntax on purpose: the table of tables below holds each one as FlatTable<unknown>.
  write(w: FlatWriter, value: V): void;
  read(r: FlatReader, key: string): V;
}

function writeKey(w: FlatWriter, k: KeyRecord): void {
  w.u32(k.epoch);
  w.hash(k.publicKey);
  w.u64(k.activatedAtMs);
  w.optional(k.retiredAtMs);
  w.optional(k.revokedAtMs);
}

function readKey(r: FlatReader, expectedEpoch: number): KeyRecord {
  const epoch = r.u32('node.key.epoch');
  if (epoch !== expectedEpoch) r.fail('invalid', 'node.keys', 'key epochs are 0, 1, 2, … in order');
  const publicKey = r.hash('node.key.publicKey');
  const activatedAtMs = r.u64('node.key.activatedAtMs');
  const retiredAtMs = r.optional('node.key.retiredAtMs');
  const revokedAtMs = r.optional('node.key.revokedAtMs');
  return {
    epoch, publicKey, activatedAtMs,
    ...(retiredAtMs === undefined ? {} : { retiredAtMs }),
    ...(revokedAtMs === undefined ? {} : { revokedAtMs }),
  };
}

const FLAT_TABLES: Record<string, FlatTable<unknown>> = {
  accounts: {
    write: (w, a: Account) => {
      w.u8(ACCOUNT_KINDS.indexOf(a.kind));
      w.text(a.currency);
      w.text(a.ownerId);
      w.big(a.balanceMinor);
    },
    read: (r, id): Account => {
      const kind = ACCOUNT_KINDS[r.u8('account.kind')];
      if (kind === undefined) r.fail('invalid', 'account.kind', 'unknown account kind');
      return { id, kind, currency: r.text('account.currency', CURRENCY_TEXT_MAX, 1), ownerId: r.text('account.ownerId', ID_TEXT_MAX, 2), balanceMinor: r.big('account.balanceMinor', 0) };
    },
  } satisfies FlatTable<Account>,
  supplies: {
    write: (w, s: Supply) => w.big(s.supplyMinor),
    read: (r, currency): Supply => ({ currency, supplyMinor: r.big('supply.supplyMinor', 0) }),
  } satisfies FlatTable<Supply>,
  transfers: {
    write: (w, t: TransferRecord) => w.hash(t.contentHash),
    read: (r, id): TransferRecord => ({ id, contentHash: r.hash('transfer.contentHash') }),
  } satisfies FlatTable<TransferRecord>,
  escrows: {
    write: (w, e: Escrow) => {
      w.text(e.jobId);
      w.text(e.tenantAccountId);
      w.text(e.providerAccountId);
      w.text(e.currency);
      w.big(e.amountMinor);
      w.u64(e.deadlineMs);
      w.u64(e.openedAtMs);
      w.hash(e.contentHash);
      w.u8(ESCROW_STATUSES.indexOf(e.status));
      w.big(e.postedMinor);
      w.big(e.feeMinor);
      w.u64(e.resolvedAtMs);
      w.text(e.settledBy);
      w.text(e.slaReportId);
    },
    read: (r, id): Escrow => {
      const jobId = r.text('escrow.jobId', ID_TEXT_MAX, 0);
      const tenantAccountId = r.text('escrow.tenantAccountId', ID_TEXT_MAX, 1);
      const providerAccountId = r.text('escrow.providerAccountId', ID_TEXT_MAX, 2);
      const currency = r.text('escrow.currency', CURRENCY_TEXT_MAX, 3);
      const amountMinor = r.big('escrow.amountMinor', 0);
      const deadlineMs = r.u64('escrow.deadlineMs');
      const openedAtMs = r.u64('escrow.openedAtMs');
      const contentHash = r.hash('escrow.contentHash');
      const status = ESCROW_STATUSES[r.u8('escrow.status')];
      if (status === undefined) r.fail('invalid', 'escrow.status', 'unknown escrow status');
      return {
        id, jobId, tenantAccountId, providerAccountId, currency, amountMinor, deadlineMs, openedAtMs, contentHash, status,
        postedMinor: r.big('escrow.postedMinor', 1), feeMinor: r.big('escrow.feeMinor', 2), resolvedAtMs: r.u64('escrow.resolvedAtMs'),
        settledBy: r.text('escrow.settledBy', KEY_TEXT_MAX, 4), slaReportId: r.text('escrow.slaReportId', ID_TEXT_MAX, 5),
      };
    },
  } satisfies FlatTable<Escrow>,
  nodes: {
    write: (w, n: NodeRecord) => {
      w.u64(n.registeredAtMs);
      w.u32(n.reputationPpm);
      w.u16(n.keys.length);
      for (const k of n.keys) writeKey(w, k);
    },
    read: (r, id): NodeRecord => {
      const registeredAtMs = r.u64('node.registeredAtMs');
      const reputationPpm = r.u32('node.reputationPpm');
      if (reputationPpm > 1_000_000) r.fail('invalid', 'node.reputationPpm', `reputation ${reputationPpm} is above 1,000,000 ppm`);
      const count = r.u16('node.keys');
      if (count === 0) r.fail('invalid', 'node.keys', 'a node has at least one key');
      const keys = Array.from({ length: count }, (_, i) => readKey(r, i));
      return { id, registeredAtMs, reputationPpm, keys };
    },
  } satisfies FlatTable<NodeRecord>,
  receipts: {
    write: (w, s: SettledReceipt) => {
      w.hash(s.contentHash);
      w.u64(s.notAfterMs);
    },
    read: (r, key): SettledReceipt => ({ key, contentHash: r.hash('receipt.contentHash'), notAfterMs: r.u64('receipt.notAfterMs') }),
  } satisfies FlatTable<SettledReceipt>,
  offenses: {
    write: (w, o: Offense) => {
      w.hash(o.evidenceHash);
      w.u64(o.slashedAtMs);
    },
    read: (r, key): Offense => ({ key, evidenceHash: r.hash('offense.evidenceHash'), slashedAtMs: r.u64('offense.slashedAtMs') }),
  } satisfies FlatTable<Offense>,
  'sla-reports': {
    write: (w, s: SlaReport) => {
      w.text(s.jobId);
      w.text(s.nodeId);
      w.u64(s.reportedAtMs);
    },
    read: (r, id): SlaReport => ({ id, jobId: r.text('slaReport.jobId', ID_TEXT_MAX, 0), nodeId: r.text('slaReport.nodeId', ID_TEXT_MAX, 1), reportedAtMs: r.u64('slaReport.reportedAtMs') }),
  } satisfies FlatTable<SlaReport>,
};

function flatTableOf(table: DigestedTable<unknown>): FlatTable<unknown> {
  const flat = FLAT_TABLES[table.name];
  assert.ok(flat !== undefined, `no snapshot layout for table ${table.name}`);
  return flat;
}

/** The head of a definite-length byte string (RFC 8949 §3.1, major type 2, shortest form). */
function byteStringHead(length: number): Uint8Array {
  const head = encodeCbor(length);
  head[0]! |= 0x40;
  return head;
}

export function encodeSnapshot(state: LedgerState): Uint8Array {
  const tables = state.tables();
  assert.ok(tables.every((t) => !t.hasUnfoldedWrites), 'a snapshot is taken between blocks');
  const writer = new FlatWriter();
  for (const table of tables) {
    const flat = flatTableOf(table);
    const entries = table.sortedEntries();
    writer.u32(entries.length);
    for (const [key, value] of entries) {
      writer.text(key);
      flat.write(writer, value);
    }
  }
  const flatBytes = writer.bytes();
  const heads = tables.map((t) => [t.name, t.size, t.digest]);
  // The array's head, then its items up to the flat tables, written as one CBOR value and unwrapped.
  const head = encodeCbor([SNAPSHOT_FORMAT, SNAPSHOT_VERSION, encodeLedgerParams(state.params), state.height, state.lastBlockTimeMs, heads]);
  const body = Buffer.concat([Uint8Array.of(0x89), head.subarray(1), byteStringHead(flatBytes.length), flatBytes, encodeCbor(state.stateHash())]);
  return Buffer.concat([body, encodeCbor(sha256(body))]);
}

function readParams(reader: CborReader): LedgerParams {
  try {
    return readLedgerParams(reader);
  } catch (error) {
    if ((error as OrbitfedError).code === 'ORBITFED_LEDGER_PARAMS' || (error as OrbitfedError).code === 'ORBITFED_CHAIN_ID') {
      throw new OrbitfedError(CODES.invalid, (error as Error).message, (error as OrbitfedError).location);
    }
    throw error;
  }
}

interface TableHead {
  readonly count: number;
  readonly digest: Uint8Array;
}

function readTableHeads(reader: CborReader, tables: readonly DigestedTable<unknown>[]): TableHead[] {
  if (reader.readArrayHeader('tables') !== tables.length) reader.fail('invalid', 'tables', `a snapshot has ${tables.length} tables`);
  return tables.map((table) => {
    if (reader.readArrayHeader(table.name) !== 3) reader.fail('invalid', table.name, 'a table head has 3 items');
    const name = reader.readText(`${table.name}.name`, 32);
    if (name !== table.name) reader.fail('invalid', table.name, `expected table ${table.name}, found ${JSON.stringify(name)}`);
    const count = reader.readUint(`${table.name}.count`);
    if (count > table.entriesMax) reader.fail('invalid', table.name, `${count} entries, more than the ${table.entriesMax} allowed`);
    return { count, digest: readHash(reader, `${table.name}.digest`) };
  });
}

function readFlatTable(reader: FlatReader, table: DigestedTable<unknown>, head: TableHead): void {
  const flat = flatTableOf(table);
  const count = reader.u32(`${table.name}.count`);
  if (count !== head.count) reader.fail('invalid', table.name, `${count} entries, the table head says ${head.count}`);
  let previousKey: string | undefined;
  for (let i = 0; i < count; i++) {
    const key = reader.text(`${table.name}.key`, KEY_TEXT_MAX, 6);
    if (previousKey !== undefined && !(previousKey < key)) reader.fail('invalid', table.name, `keys are not strictly increasing at ${JSON.stringify(key)}`);
    previousKey = key;
    table.loadUnhashed(key, flat.read(reader, key));
  }
  table.restoreDigest(head.digest);
}

const RECEIPT_VALUE_BYTES = HASH_BYTES + 8;

/**
 * Binary search over `count` sorted entries: the index whose entry `compareAt` finds equal to the
 * key sought (0), or −1; compareAt(index) is negative when the key sorts before entry `index`.
 */
function sortedIndexOf(count: number, compareAt: (index: number) => number): number {
  let low = 0;
  let high = count - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const order = compareAt(middle);
    if (order === 0) return middle;
    if (order < 0) high = middle - 1;
    else low = middle + 1;
  }
  return -1;
}

/**
 * The settled receipts of a snapshot, kept as their flat bytes (a copy of the table's section, so
 * that the snapshot itself is not held) and read one at a time when the ledger asks for one
 * (`DigestedTable.loadCold`). A restart then does not build 100,000+ records, their keys and
 * hashes, and a map of them (most of a restore's time and garbage collection, measured), for a
 * table that is read only when a receipt comes again and walked only when receipts expire or a
 * snapshot is taken. Each entry is checked as strictly as a record read eagerly (lengths, key
 * order, the u64 range); only ASCII keys are kept cold, so that byte order is the keys' order.
 */
class ColdReceipts implements ColdEntries<SettledReceipt> {
  readonly count: number;
  /** The earliest not-after of the entries (the ledger's next pruning is due after it + grace). */
  readonly notAfterMsMin: number;
  readonly #bytes: Uint8Array;
  readonly #text: Buffer;
  readonly #view: DataView;
  /** Where each entry (its key's length byte) starts in #bytes. */
  readonly #offsets: Uint32Array;

  constructor(bytes: Uint8Array, offsets: Uint32Array, notAfterMsMin: number) {
    this.count = offsets.length;
    this.notAfterMsMin = notAfterMsMin;
    this.#bytes = bytes;
    this.#text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offsets = offsets;
  }

  indexOf(key: string): number {
    return sortedIndexOf(this.count, (index) => this.#compare(key, index));
  }

  keyAt(index: number): string {
    const at = this.#offsets[index]!;
    return this.#text.toString('latin1', at + 1, at + 1 + this.#bytes[at]!);
  }

  valueAt(index: number, key: string): SettledReceipt {
    const at = this.#offsets[index]!;
    const hashAt = at + 1 + this.#bytes[at]!;
    const notAfterMs = this.#view.getUint32(hashAt + HASH_BYTES) * TWO_POW_32 + this.#view.getUint32(hashAt + HASH_BYTES + 4);
    return { key, contentHash: this.#bytes.slice(hashAt, hashAt + HASH_BYTES), notAfterMs };
  }

  /** `key` against entry `index`: UTF-16 code units against ASCII bytes, which is the keys' order. */
  #compare(key: string, index: number): number {
    const at = this.#offsets[index]!;
    const length = this.#bytes[at]!;
    const common = Math.min(length, key.length);
    for (let i = 0; i < common; i++) {
      const difference = key.charCodeAt(i) - this.#bytes[at + 1 + i]!;
      if (difference !== 0) return difference;
    }
    return key.length - length;
  }
}

/**
 * Reads the receipts table in place as ColdReceipts; null (the reader back where it was) when a
 * key is not ASCII, for the caller to read the table eagerly.
 */
function readColdReceipts(reader: FlatReader, head: TableHead): ColdReceipts | null {
  const tableAt = reader.offset;
  const count = reader.u32('receipts.count');
  if (count !== head.count) reader.fail('invalid', 'receipts', `${count} entries, the table head says ${head.count}`);
  const bytes = reader.bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const firstAt = reader.offset;
  const offsets = new Uint32Array(count);
  let at = firstAt;
  let previousAt = -1;
  let notAfterMsMin = Number.POSITIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    reader.seek(at);
    if (at >= bytes.length) reader.fail('truncated', 'receipts.key', 'the tables end inside receipts.key');
    const length = bytes[at]!;
    if (length > KEY_TEXT_MAX) reader.fail('invalid', 'receipts.key', `text of ${length} bytes is longer than the ${KEY_TEXT_MAX} accepted here`);
    if (at + 1 + length + RECEIPT_VALUE_BYTES > bytes.length) reader.fail('truncated', 'receipts', 'the tables end inside a settled receipt');
    for (let j = at + 1; j < at + 1 + length; j++) {
      if (bytes[j]! >= 0x80) {
        reader.seek(tableAt);
        return null;
      }
    }
    if (previousAt >= 0 && compareKeys(bytes, previousAt, at) >= 0) reader.fail('invalid', 'receipts', 'keys are not strictly increasing');
    const notAfterAt = at + 1 + length + HASH_BYTES;
    const high = view.getUint32(notAfterAt);
    if (high >= 2 ** 21) reader.fail('invalid', 'receipt.notAfterMs', `receipt.notAfterMs is above the largest value accepted here (${Number.MAX_SAFE_INTEGER})`);
    notAfterMsMin = Math.min(notAfterMsMin, high * TWO_POW_32 + view.getUint32(notAfterAt + 4));
    offsets[i] = at - firstAt;
    previousAt = at;
    at = notAfterAt + 8;
  }
  reader.seek(at);
  return new ColdReceipts(bytes.slice(firstAt, at), offsets, notAfterMsMin);
}

/**
 * The escrows of a snapshot, kept as their flat bytes and read one at a time (`DigestedTable.loadCold`),
 * like ColdReceipts: 130,000 escrows in the bench, of which only the pending ones and those a block
 * touches are read again. The scan checks every field as the eager reader does and collects what
 * the ledger's indexes need of every escrow: its id and job, whether it is pending, its deadline.
 */
class ColdEscrows implements ColdEntries<Escrow> {
  readonly count: number;
  readonly #reader: FlatReader;
  /** Where each entry (its key's length byte) starts in the section. */
  readonly #offsets: Uint32Array;
  readonly #ids: readonly string[];

  constructor(section: Uint8Array, offsets: Uint32Array, ids: readonly string[]) {
    this.count = offsets.length;
    this.#reader = new FlatReader(section);
    this.#offsets = offsets;
    this.#ids = ids;
  }

  indexOf(key: string): number {
    const ids = this.#ids;
    return sortedIndexOf(this.count, (index) => (key < ids[index]! ? -1 : key === ids[index] ? 0 : 1));
  }

  keyAt(index: number): string {
    return this.#ids[index]!;
  }

  valueAt(index: number, key: string): Escrow {
    const reader = this.#reader;
    reader.seek(this.#offsets[index]!);
    reader.skipText('escrow.key', KEY_TEXT_MAX);
    return FLAT_TABLES.escrows!.read(reader, key) as Escrow;
  }
}

/** What the ledger's indexes need of escrows restored cold (LedgerState.rebuildIndexes). */
type ColdEscrowIndex = NonNullable<ColdIndexes['escrows']>;

function readColdEscrows(reader: FlatReader, head: TableHead): { cold: ColdEscrows; index: ColdEscrowIndex } {
  const count = reader.u32('escrows.count');
  if (count !== head.count) reader.fail('invalid', 'escrows', `${count} entries, the table head says ${head.count}`);
  const firstAt = reader.offset;
  const offsets = new Uint32Array(count);
  const ids: string[] = [];
  const jobIds: string[] = [];
  const pendingIds: string[] = [];
  let expiryDueMs = Number.POSITIVE_INFINITY;
  let previousKey: string | undefined;
  for (let i = 0; i < count; i++) {
    offsets[i] = reader.offset - firstAt;
    const key = reader.text('escrows.key', KEY_TEXT_MAX, 6);
    if (previousKey !== undefined && !(previousKey < key)) reader.fail('invalid', 'escrows', `keys are not strictly increasing at ${JSON.stringify(key)}`);
    previousKey = key;
    // The fields in the order of FLAT_TABLES.escrows, checked as its `read` checks them.
    const jobId = reader.text('escrow.jobId', ID_TEXT_MAX, 0);
    reader.skipText('escrow.tenantAccountId', ID_TEXT_MAX);
    reader.skipText('escrow.providerAccountId', ID_TEXT_MAX);
    reader.skipText('escrow.currency', CURRENCY_TEXT_MAX);
    reader.skip(8, 'escrow.amountMinor');
    const deadlineMs = reader.u64('escrow.deadlineMs');
    reader.u64('escrow.openedAtMs');
    reader.skip(HASH_BYTES, 'escrow.contentHash');
    const status = ESCROW_STATUSES[reader.u8('escrow.status')];
    if (status === undefined) reader.fail('invalid', 'escrow.status', 'unknown escrow status');
    reader.skip(16, 'escrow.postedMinor');
    reader.u64('escrow.resolvedAtMs');
    reader.skipText('escrow.settledBy', KEY_TEXT_MAX);
    reader.skipText('escrow.slaReportId', ID_TEXT_MAX);
    ids.push(key);
    jobIds.push(jobId);
    if (status === 'pending') {
      pendingIds.push(key);
      expiryDueMs = Math.min(expiryDueMs, deadlineMs);
    }
  }
  const section = reader.bytes.slice(firstAt, reader.offset);
  return { cold: new ColdEscrows(section, offsets, ids), index: { ids, jobIds, pendingIds, expiryDueMs } };
}

/** Two keys of the flat layout (length byte, then the bytes) in byte order. */
function compareKeys(bytes: Uint8Array, a: number, b: number): number {
  const lengthA = bytes[a]!;
  const lengthB = bytes[b]!;
  const common = Math.min(lengthA, lengthB);
  for (let i = 1; i <= common; i++) {
    const difference = bytes[a + i]! - bytes[b + i]!;
    if (difference !== 0) return difference;
  }
  return lengthA - lengthB;
}

function checkedState(state: LedgerState, storedHash: Uint8Array, cold: ColdIndexes = {}): LedgerState {
  state.rebuildIndexes(cold);
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

function refuseTrailing(reader: CborReader, bytes: Uint8Array): void {
  if (!reader.atEnd) throw new OrbitfedError('ORBITFED_LEDGER_SNAPSHOT_TRAILING_BYTES', `${bytes.length - reader.offset} bytes after the snapshot`);
}

export function decodeSnapshot(bytes: Uint8Array): LedgerState {
  if (bytes.length > SNAPSHOT_BYTES_MAX) throw new OrbitfedError('ORBITFED_LEDGER_SNAPSHOT_TOO_LARGE', `snapshot of ${bytes.length} bytes is larger than ${SNAPSHOT_BYTES_MAX}`);
  const reader = new CborReader(bytes, CODES);
  const items = reader.readArrayHeader('snapshot');
  const format = reader.readText('format', 64);
  if (format !== SNAPSHOT_FORMAT) reader.fail('invalid', 'format', `not a ledger snapshot (${JSON.stringify(format)})`);
  const version = reader.readUint('version');
  if (version !== SNAPSHOT_VERSION && version !== SNAPSHOT_VERSION_1) reader.fail('invalid', 'version', `snapshot version ${version} is neither ${SNAPSHOT_VERSION_1} nor ${SNAPSHOT_VERSION}`);
  const itemsExpected = version === SNAPSHOT_VERSION ? 9 : 7;
  if (items !== itemsExpected) reader.fail('invalid', 'snapshot', `a version ${version} snapshot has ${itemsExpected} items`);
  const state = new LedgerState(readParams(reader), reader.readUint('height'), reader.readUint('lastBlockTimeMs'));
  if (version === SNAPSHOT_VERSION_1) {
    readSnapshotTablesV1(reader, state);
    const storedHash = readHash(reader, 'stateHash');
    refuseTrailing(reader, bytes);
    return checkedState(state, storedHash);
  }
  const tables = state.tables();
  const heads = readTableHeads(reader, tables);
  const flatSpan = reader.readBytesSpan('tables');
  const storedHash = readHash(reader, 'stateHash');
  const checksumAt = reader.offset;
  const checksum = readHash(reader, 'checksum');
  refuseTrailing(reader, bytes);
  if (!bytesEqual(sha256(bytes.subarray(0, checksumAt)), checksum)) {
    throw new OrbitfedError('ORBITFED_LEDGER_SNAPSHOT_CHECKSUM', 'the snapshot\'s bytes do not give the checksum written with them (damaged on disk or in transit)');
  }
  // A plain Uint8Array view (not a Buffer, whose `slice` is a view too): the records' hashes are copies of its bytes.
  const flat = new FlatReader(new Uint8Array(bytes.buffer, bytes.byteOffset + flatSpan.dataAt, flatSpan.length));
  // The two large tables (settled receipts, escrows) are checked and left cold: their records are
  // made when a block reads them (ColdReceipts, ColdEscrows).
  let coldReceipts: ColdReceipts | null = null;
  let coldEscrows: ColdEscrowIndex | undefined;
  for (const [i, table] of tables.entries()) {
    const head = heads[i]!;
    if (table === state.escrows) {
      const { cold, index } = readColdEscrows(flat, head);
      state.escrows.loadCold(cold);
      state.escrows.restoreDigest(head.digest);
      coldEscrows = index;
      continue;
    }
    if (table === state.receipts) {
      coldReceipts = readColdReceipts(flat, head);
      if (coldReceipts !== null) {
        state.receipts.loadCold(coldReceipts);
        state.receipts.restoreDigest(head.digest);
        continue;
      }
    }
    readFlatTable(flat, table, head);
  }
  if (!flat.atEnd) flat.fail('invalid', 'tables', `${flat.remaining} bytes after the last table`);
  const receiptsNotAfterMsMin = coldReceipts?.notAfterMsMin;
  return checkedState(state, storedHash, {
    ...(receiptsNotAfterMsMin !== undefined ? { receiptsNotAfterMsMin } : {}), ...(coldEscrows !== undefined ? { escrows: coldEscrows } : {}),
  });
}
