// A keyed table of the ledger state with an order-independent digest, so that the state hash after
// a block costs O(entries changed in the block), not O(state): at 100,000 settled receipts,
// serializing and hashing everything after every block would cost more than the block itself.
//
// digest = Σ SHA-256(CBOR [key, …value]) mod 2^256 over the table's entries (the additive "AdHash" of
// Bellare and Micciancio, "A new paradigm for collision-free hashing", EUROCRYPT 1997). Adding and
// removing an entry is one hash each, and equal contents give equal digests whatever the order of
// writes, which a restored snapshot relies on. It fingerprints the state so that honest validators
// notice a divergence; it is not a commitment a light client could prove membership against (that
// would need a Merkle tree).
//
// Writes within a block are remembered (the value before the first write of each key) and folded
// into the digest at `foldWrites()`, so a key written a thousand times in a block (the fee account)
// is hashed twice, not two thousand times.
import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import type { CborValue } from '../dtn/index.ts';
import { encodeCborRecord } from './cbor-record-writer.ts';

/** 256-bit sums kept as eight 32-bit words, most significant first (no bigint per entry). */
const WORDS = 8;

function addInto(sum: Uint32Array, hash: Uint8Array, sign: 1 | -1): void {
  let carry = 0;
  for (let i = WORDS - 1; i >= 0; i--) {
    const word = ((hash[4 * i]! << 24) | (hash[4 * i + 1]! << 16) | (hash[4 * i + 2]! << 8) | hash[4 * i + 3]!) >>> 0;
    const next = sum[i]! + sign * word + carry;
    // Modulo 2^32 per word, the carry (or borrow) into the next word up; beyond the top word it is dropped (mod 2^256).
    sum[i] = next >>> 0;
    carry = Math.floor(next / 0x1_0000_0000);
  }
}

/**
 * Entries a snapshot holds that were not turned into records at restore ("cold"): sorted by key,
 * read one at a time when asked for. A restart then pays for the records it touches, not for the
 * whole table (100,000+ settled receipts, each remembered for days and rarely read again).
 */
export interface ColdEntries<V> {
  readonly count: number;
  /** The index of `key`, or −1. */
  indexOf(key: string): number;
  keyAt(index: number): string;
  valueAt(index: number, key: string): V;
}

export class DigestedTable<V> {
  readonly name: string;
  /** Entries at most; a write that would add one more is a bug (callers refuse the transaction first). */
  readonly entriesMax: number;
  readonly #encode: (value: V) => readonly CborValue[];
  readonly #entries = new Map<string, V>();
  /** Value of each key written since the last fold, as it was before (undefined: absent). */
  readonly #before = new Map<string, V | undefined>();
  readonly #digest = new Uint32Array(WORDS);
  /**
   * Entries restored but not materialised (`loadCold`): the table's content is #entries plus the
   * cold entries whose key is not in #shadowed (cold keys since written, deleted or read, whose
   * current state is in #entries). Any walk over the whole table materialises them all (`#thaw`).
   */
  #cold: ColdEntries<V> | null = null;
  readonly #shadowed = new Set<string>();

  constructor(name: string, entriesMax: number, encode: (value: V) => readonly CborValue[]) {
    assert.ok(Number.isSafeInteger(entriesMax) && entriesMax > 0);
    this.name = name;
    this.entriesMax = entriesMax;
    this.#encode = encode;
  }

  get size(): number {
    return this.#entries.size + (this.#cold === null ? 0 : this.#cold.count - this.#shadowed.size);
  }

  get isFull(): boolean {
    return this.size >= this.entriesMax;
  }

  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined || this.#cold === null || this.#shadowed.has(key)) return value;
    const index = this.#cold.indexOf(key);
    if (index < 0) return undefined;
    // Materialised once: later reads and writes of this key find it in #entries.
    const cold = this.#cold.valueAt(index, key);
    this.#entries.set(key, cold);
    this.#shadowed.add(key);
    return cold;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Entries in insertion order; callers that need a canonical order use `sortedEntries`. */
  values(): IterableIterator<V> {
    this.#thaw();
    return this.#entries.values();
  }

  sortedEntries(): [string, V][] {
    this.#thaw();
    return [...this.#entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Cold entries not yet materialised (0 once the table has been walked). */
  get coldCount(): number {
    return this.#cold === null ? 0 : this.#cold.count - this.#shadowed.size;
  }

  /** Stores a value; values are immutable, so a change is a new object. */
  set(key: string, value: V): void {
    const exists = this.has(key);
    if (!exists && this.size >= this.entriesMax) assert.fail(`table ${this.name} is full (${this.entriesMax} entries)`);
    this.#remember(key);
    this.#entries.set(key, value);
  }

  delete(key: string): void {
    if (!this.has(key)) assert.fail(`table ${this.name} has no entry ${key}`);
    this.#remember(key);
    this.#entries.delete(key);
  }

  /**
   * Restores the table's entries as cold ones (`ColdEntries`), with the digest the snapshot stores
   * (`restoreDigest`). The table must be empty and unwritten.
   */
  loadCold(cold: ColdEntries<V>): void {
    if (this.#entries.size > 0 || this.#cold !== null || this.#before.size > 0 || cold.count > this.entriesMax) assert.fail(`table ${this.name}: cannot load cold entries`);
    if (cold.count > 0) this.#cold = cold;
  }

  /** Materialises every cold entry (a walk over the whole table needs them all). */
  #thaw(): void {
    const cold = this.#cold;
    if (cold === null) return;
    for (let i = 0; i < cold.count; i++) {
      const key = cold.keyAt(i);
      if (!this.#shadowed.has(key)) this.#entries.set(key, cold.valueAt(i, key));
    }
    this.#cold = null;
    this.#shadowed.clear();
  }

  /**
   * Adds an entry read from a snapshot, hashing the bytes it was read from (CBOR [key, …value],
   * which a strict reader guarantees are the entry's canonical encoding): restoring then never
   * re-encodes anything.
   */
  load(key: string, value: V, entryBytes: Uint8Array): void {
    if (this.#entries.has(key) || this.#entries.size >= this.entriesMax || this.#cold !== null) assert.fail(`table ${this.name}: cannot load ${key}`);
    this.#entries.set(key, value);
    addInto(this.#digest, this.#hash(entryBytes), 1);
  }

  /**
   * Adds an entry read from a snapshot whose digest the snapshot stores (`restoreDigest`): nothing
   * is hashed. Entries must come in increasing key order (the snapshot's), and the table must not
   * have been written since it was made.
   */
  loadUnhashed(key: string, value: V): void {
    const sizeBefore = this.#entries.size;
    if (sizeBefore >= this.entriesMax || this.#before.size > 0 || this.#cold !== null) assert.fail(`table ${this.name}: cannot load ${key}`);
    // One hash-table operation per entry (a restore loads hundreds of thousands): a key already
    // present leaves the size unchanged.
    this.#entries.set(key, value);
    if (this.#entries.size === sizeBefore) assert.fail(`table ${this.name}: ${key} loaded twice`);
  }

  /** Sets the digest to one a snapshot stored with the entries loaded by `loadUnhashed`. */
  restoreDigest(digest: Uint8Array): void {
    assert.ok(digest.length === 4 * WORDS && this.#before.size === 0, `table ${this.name}: a digest is ${4 * WORDS} bytes, set between blocks`);
    const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
    for (let i = 0; i < WORDS; i++) this.#digest[i] = view.getUint32(4 * i);
  }

  /** Called after `has`/`get` of `key`: a cold key is materialised by then, so #entries holds its value. */
  #remember(key: string): void {
    if (!this.#before.has(key)) this.#before.set(key, this.#entries.get(key));
  }

  /** Calls `visit` for each key written since the last fold: its value before the first write and now (undefined: absent). */
  forEachUnfoldedWrite(visit: (key: string, before: V | undefined, after: V | undefined) => void): void {
    for (const [key, before] of this.#before) visit(key, before, this.#entries.get(key));
  }

  /** Folds the writes since the last fold into the digest. */
  foldWrites(): void {
    for (const [key, before] of this.#before) {
      if (before !== undefined) addInto(this.#digest, this.#hash(this.entryBytes(key, before)), -1);
      const after = this.#entries.get(key);
      if (after !== undefined) addInto(this.#digest, this.#hash(this.entryBytes(key, after)), 1);
    }
    this.#before.clear();
  }

  get hasUnfoldedWrites(): boolean {
    return this.#before.size > 0;
  }

  /** The digest as of the last fold, 32 bytes big-endian. */
  get digest(): Uint8Array {
    return digestToBytes(this.#digest);
  }

  /** The digest computed from scratch over the current entries (tests and audits). */
  recomputeDigest(): Uint8Array {
    const sum = new Uint32Array(WORDS);
    this.#thaw();
    for (const [key, value] of this.#entries) addInto(sum, this.#hash(this.entryBytes(key, value)), 1);
    return digestToBytes(sum);
  }

  /** CBOR [key, …value]: what the digest hashes and what a snapshot stores. */
  entryBytes(key: string, value: V): Uint8Array {
    return encodeCborRecord([key, ...this.#encode(value)]);
  }

  #hash(entryBytes: Uint8Array): Uint8Array {
    // Each table has its own digest, so the table's name need not be hashed with its entries.
    return hash('sha256', entryBytes, 'buffer');
  }
}

function digestToBytes(sum: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(4 * WORDS);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < WORDS; i++) view.setUint32(4 * i, sum[i]!);
  return bytes;
}
