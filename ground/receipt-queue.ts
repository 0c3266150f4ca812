// The receipt gateway's durable queue (receipt-gateway.ts): signed usage receipts that reached this
// station and wait for the validators' answer. One SQLite file through common's
// `openDurableDatabase` (WAL, synchronous=FULL, exclusive lock: the settings and why are there), so
// a receipt the bundle agent handed over survives kill -9 and power loss until the validators
// answered for it.
//
// A receipt is keyed by the SHA-256 of its bytes: the same receipt delivered twice (store-and-
// forward duplicates, a crash between our commit and the bundle store's) is one row. Two receipts
// of the same name ("node#sequence") with different content are two rows, and the ledger refuses
// the second (ORBITFED_RECEIPT_SEQUENCE_REUSED): deciding that is the ledger's job, not ours.
//
// Bound: at most `receiptsMax` rows. A `put` beyond it throws ORBITFED_RECEIPTS_FULL, which leaves
// the bundle in the bundle store (its delivery is retried later): nothing acknowledged is dropped,
// the bundle store's own capacity becomes the back-pressure.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { databaseError, OrbitfedError, openDurableDatabase, type DatabaseKind } from '../common/index.ts';

const SCHEMA_SQL = `
CREATE TABLE receipts (
  sha256 TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  bytes BLOB NOT NULL,
  received_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
) WITHOUT ROWID;
CREATE INDEX receipts_age ON receipts (received_ms);
`;

/** What a receipt queue file is, for `openDurableDatabase`. */
export const RECEIPT_QUEUE_KIND: DatabaseKind = {
  name: 'receipt queue',
  // "OFRQ" in ASCII.
  applicationId: 0x4f465251,
  schemaVersion: 1,
  schemaSql: SCHEMA_SQL,
  tables: ['receipts'],
};

/** Receipts kept at most by default: ~300 bytes each, 30 MB. */
export const RECEIPTS_MAX_DEFAULT = 100_000;
/** Longest error text kept per receipt. */
const ERROR_TEXT_MAX = 500;

export interface QueuedReceipt {
  /** SHA-256 of `bytes`, hex: the row's identity. */
  readonly sha256: string;
  /** The receipt's name, "node#sequence" (for logs). */
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly receivedMs: number;
  readonly attempts: number;
  readonly lastError: string | undefined;
}

export type PutOutcome = 'stored' | 'duplicate';

export const receiptSha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export class ReceiptQueue {
  readonly path: string;
  readonly receiptsMax: number;
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #count: StatementSync;
  readonly #oldest: StatementSync;
  readonly #remove: StatementSync;
  readonly #failed: StatementSync;
  #size: number;
  #open = true;

  private constructor(path: string, db: DatabaseSync, receiptsMax: number) {
    this.path = path;
    this.receiptsMax = receiptsMax;
    this.#db = db;
    this.#insert = db.prepare('INSERT INTO receipts (sha256, name, bytes, received_ms) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING');
    this.#count = db.prepare('SELECT count(*) AS n FROM receipts');
    this.#oldest = db.prepare('SELECT sha256, name, bytes, received_ms, attempts, last_error FROM receipts ORDER BY received_ms, sha256 LIMIT ?');
    this.#remove = db.prepare('DELETE FROM receipts WHERE sha256 = ?');
    this.#failed = db.prepare('UPDATE receipts SET attempts = attempts + 1, last_error = ? WHERE sha256 = ?');
    this.#size = Number((this.#count.get() as { n: number }).n);
  }

  /** Opens (creating if missing) the queue file; errors as common/durable-database.ts says. */
  static open(path: string, options: { readonly receiptsMax?: number } = {}): ReceiptQueue {
    const receiptsMax = options.receiptsMax ?? RECEIPTS_MAX_DEFAULT;
    if (!Number.isSafeInteger(receiptsMax) || receiptsMax < 1) {
      throw new OrbitfedError('ORBITFED_RECEIPTS_LIMIT', `receiptsMax must be a positive integer, got ${receiptsMax}`, { field: 'receiptsMax' });
    }
    const db = openDurableDatabase(path, existsSync(path), RECEIPT_QUEUE_KIND);
    try {
      return new ReceiptQueue(path, db, receiptsMax);
    } catch (error) {
      db.close();
      throw databaseError(error, RECEIPT_QUEUE_KIND.name, path, 'preparing statements');
    }
  }

  /** Receipts waiting for the validators. */
  get size(): number {
    return this.#size;
  }

  /**
   * Stores a receipt (committed before it returns). A receipt already queued is a duplicate and
   * changes nothing. Throws ORBITFED_RECEIPTS_FULL at the bound and ORBITFED_STORE_* on I/O errors.
   */
  put(name: string, bytes: Uint8Array, receivedMs: number): PutOutcome {
    this.#checkOpen();
    const sha256 = receiptSha256(bytes);
    if (this.#size >= this.receiptsMax) {
      // A duplicate at the bound is still a duplicate: it needs no room.
      const known = this.#db.prepare('SELECT 1 AS one FROM receipts WHERE sha256 = ?').get(sha256);
      if (known !== undefined) return 'duplicate';
      throw new OrbitfedError('ORBITFED_RECEIPTS_FULL', `${this.receiptsMax} receipts already wait for the validators; ${name} stays in the bundle store until room frees`, { file: this.path });
    }
    try {
      const changes = Number(this.#insert.run(sha256, name, bytes, receivedMs).changes);
      if (changes === 0) return 'duplicate';
      this.#size += 1;
      return 'stored';
    } catch (error) {
      throw databaseError(error, RECEIPT_QUEUE_KIND.name, this.path, `storing receipt ${name}`);
    }
  }

  /** The oldest `countMax` receipts, oldest first. */
  oldest(countMax: number): QueuedReceipt[] {
    this.#checkOpen();
    const rows = this.#oldest.all(countMax) as { sha256: string; name: string; bytes: Uint8Array; received_ms: number; attempts: number; last_error: string | null }[];
    return rows.map((r) => ({
      sha256: r.sha256, name: r.name, bytes: new Uint8Array(r.bytes), receivedMs: Number(r.received_ms), attempts: Number(r.attempts), lastError: r.last_error ?? undefined,
    }));
  }

  /** The validators answered for this receipt: it leaves the queue. */
  remove(sha256: string): void {
    this.#checkOpen();
    try {
      const changes = Number(this.#remove.run(sha256).changes);
      this.#size -= changes;
    } catch (error) {
      throw databaseError(error, RECEIPT_QUEUE_KIND.name, this.path, 'removing an answered receipt');
    }
  }

  /** Another attempt failed; the receipt stays. */
  recordFailure(sha256: string, error: string): void {
    this.#checkOpen();
    try {
      this.#failed.run(error.slice(0, ERROR_TEXT_MAX), sha256);
    } catch (failure) {
      throw databaseError(failure, RECEIPT_QUEUE_KIND.name, this.path, 'recording a failed attempt');
    }
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#db.close();
  }

  #checkOpen(): void {
    if (!this.#open) throw new OrbitfedError('ORBITFED_STORE_CLOSED', 'the receipt queue is closed', { file: this.path });
  }
}
