// The bytes of delivered job results, kept so that tenants can download them
// (GET /v1/jobs/{id}/result/content), in their own SQLite file beside the job store
// (`<storePath>.results`, opened with common's durable settings: WAL, synchronous=FULL, exclusive lock).
//
// Why a file of its own and not a table of the job store: results are up to 64 MiB each. In the job
// store they would pass through the same WAL as every API commit (each POST /v1/jobs waits for an
// fsync of that log, and a checkpoint would copy megabytes of result bytes in front of it); and the
// job store's schema has no migration path (common/durable-database.ts refuses a file whose tables
// differ), so a new table would make every existing job store unreadable. SQLite rather than plain
// files: one commit makes a result durable and visible whole (no temporary files, renames and
// directory fsyncs, nothing to sweep after a crash), and the bounds below are queries.
//
// Order, and why a crash loses nothing: the dispatcher stores the bytes here (committed) *before*
// the job becomes succeeded in the job store, inside the bundle agent's delivery, which deletes the
// result bundle only after both. A crash in between leaves the bundle, which is delivered again:
// `put` of the same job, assignment and digest is a no-op, then the transition happens. The API
// serves bytes only when their digest is the one the finished job's result names, so bytes stored
// for a job that then did not succeed are never shown (retention removes them).
//
// Bounds (STYLE rule 8): at most `bytesMax` of content in all and each kept `retentionMs`; past
// either the oldest contents are dropped (the row stays, marked dropped with the reason, so the API
// can answer 410 instead of 404), and every drop is returned to the caller, which logs and counts
// it. A result larger than `bytesMax` on its own is dropped at once. Dropped markers are small
// and deleted after `markerRetentionMs` (the job store prunes the jobs themselves after a similar
// time). Freed pages are reused by later results; the file does not shrink below its high-water mark.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { databaseError, OrbitfedError, openDurableDatabase, type DatabaseKind } from '../common/index.ts';

const SCHEMA_SQL = `
CREATE TABLE result_contents (
  job_id TEXT PRIMARY KEY,
  assignment_id TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
  stored_ms INTEGER NOT NULL,
  bytes BLOB,
  dropped_ms INTEGER,
  drop_reason TEXT,
  CHECK ((bytes IS NULL) = (dropped_ms IS NOT NULL))
);
CREATE INDEX result_contents_kept ON result_contents (stored_ms) WHERE bytes IS NOT NULL;
CREATE INDEX result_contents_age ON result_contents (stored_ms);
`;

/** What a result content file is, for `openDurableDatabase`. */
export const RESULT_CONTENT_STORE_KIND: DatabaseKind = {
  name: 'result content store',
  // "OFRC" in ASCII.
  applicationId: 0x4f465243,
  schemaVersion: 1,
  schemaSql: SCHEMA_SQL,
  tables: ['result_contents'],
};

export interface ResultContentLimits {
  /** Bytes of result content kept in all; the oldest contents are dropped past it. */
  readonly bytesMax: number;
  /** How long a result's bytes are kept after they arrived. */
  readonly retentionMs: number;
  /** How long the marker of a dropped result (its 410) is kept. */
  readonly markerRetentionMs: number;
}

export const RESULT_CONTENT_LIMITS_DEFAULT: ResultContentLimits = {
  bytesMax: 1024 * 1024 * 1024,
  retentionMs: 7 * 86_400_000,
  markerRetentionMs: 30 * 86_400_000,
};

/** Why a result's bytes are no longer kept. */
export type ResultDropReason = 'retention' | 'store-full' | 'too-large';

export interface DroppedResultContent {
  readonly jobId: string;
  readonly sizeBytes: number;
  readonly storedMs: number;
  readonly reason: ResultDropReason;
}

export type ResultContent =
  | { readonly kind: 'available'; readonly jobId: string; readonly assignmentId: string; readonly sha256: string; readonly sizeBytes: number; readonly storedMs: number; readonly bytes: Uint8Array }
  | { readonly kind: 'dropped'; readonly jobId: string; readonly assignmentId: string; readonly sha256: string; readonly sizeBytes: number; readonly storedMs: number; readonly droppedMs: number; readonly reason: ResultDropReason };

/** A content row without its bytes: what the API needs to say whether content is available. */
export type ResultContentInfo = Omit<Extract<ResultContent, { kind: 'available' }>, 'bytes'> | Extract<ResultContent, { kind: 'dropped' }>;

export interface NewResultContent {
  readonly jobId: string;
  readonly assignmentId: string;
  readonly bytes: Uint8Array;
  /** SHA-256 of `bytes`, lower-case hex, when the caller has it already (computed here otherwise). */
  readonly sha256?: string | undefined;
}

export interface PutOutcome {
  /** False when the same job already had these bytes (a re-delivered result): nothing was written. */
  readonly stored: boolean;
  readonly sha256: string;
  /** Contents dropped to make room (this one included, with reason 'too-large', if it alone is over the bound). */
  readonly dropped: readonly DroppedResultContent[];
}

interface ContentRow {
  job_id: string;
  assignment_id: string;
  sha256: string;
  size_bytes: number;
  stored_ms: number;
  dropped_ms: number | null;
  drop_reason: string | null;
}

const wholeMs = (ms: number): number => Math.floor(ms);
const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** Drops per call are bounded; the rest go at the next call (the dispatcher sweeps every tick). */
const DROPS_PER_CALL_MAX = 1024;

function infoOf(row: ContentRow): ResultContentInfo {
  const base = { jobId: row.job_id, assignmentId: row.assignment_id, sha256: row.sha256, sizeBytes: row.size_bytes, storedMs: row.stored_ms };
  return row.dropped_ms === null
    ? { kind: 'available', ...base }
    : { kind: 'dropped', ...base, droppedMs: row.dropped_ms, reason: (row.drop_reason ?? 'retention') as ResultDropReason };
}

export class ResultContentStore {
  readonly path: string;
  readonly limits: ResultContentLimits;
  readonly #db: DatabaseSync;
  readonly #statements: ReturnType<typeof prepareStatements>;
  /** Sum of the sizes of the contents kept (the exclusive lock makes it exact). */
  #keptBytes: number;

  private constructor(path: string, db: DatabaseSync, limits: ResultContentLimits) {
    this.path = path;
    this.#db = db;
    this.limits = limits;
    this.#statements = prepareStatements(db);
    this.#keptBytes = Number((this.#statements.keptBytes.get() as { n: number | null }).n ?? 0);
  }

  /** Opens or creates the store at `path` (codes ORBITFED_STORE_*: common/durable-database.ts). */
  static open(path: string, limits: Partial<ResultContentLimits> = {}): ResultContentStore {
    const resolved = { ...RESULT_CONTENT_LIMITS_DEFAULT, ...limits };
    for (const [name, value] of Object.entries(resolved)) {
      if (!(Number.isSafeInteger(value) && value > 0)) throw new OrbitfedError('ORBITFED_RESULT_STORE_LIMITS', `limit ${name} must be a whole number > 0, got ${value}`, { field: name });
    }
    return new ResultContentStore(path, openDurableDatabase(path, existsSync(path), RESULT_CONTENT_STORE_KIND), resolved);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /** Bytes of content kept now. */
  get keptBytes(): number {
    return this.#keptBytes;
  }

  /**
   * Keeps a job's result bytes, committed before it returns. The same job with the same assignment
   * and digest again is a no-op (`stored: false`); another assignment's result replaces the
   * earlier one (a re-planned job's new attempt). Makes room by dropping the oldest contents first.
   */
  put(content: NewResultContent, nowMs: number): PutOutcome {
    const sha256 = content.sha256 ?? sha256Hex(content.bytes);
    assert.match(sha256, /^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex');
    const sizeBytes = content.bytes.length;
    return this.#write('storing a result', () => {
      const existing = this.#statements.infoById.get(content.jobId) as ContentRow | undefined;
      if (existing !== undefined && existing.assignment_id === content.assignmentId && existing.sha256 === sha256) {
        return { stored: false, sha256, dropped: [] };
      }
      if (existing !== undefined) {
        if (existing.dropped_ms === null) this.#keptBytes -= existing.size_bytes;
        this.#statements.deleteById.run(content.jobId);
      }
      const dropped: DroppedResultContent[] = [];
      if (sizeBytes > this.limits.bytesMax) {
        this.#statements.insertDropped.run(content.jobId, content.assignmentId, sha256, sizeBytes, wholeMs(nowMs), wholeMs(nowMs), 'too-large');
        return { stored: true, sha256, dropped: [{ jobId: content.jobId, sizeBytes, storedMs: wholeMs(nowMs), reason: 'too-large' }] };
      }
      while (this.#keptBytes + sizeBytes > this.limits.bytesMax) {
        const oldest = this.#statements.oldestKept.get() as ContentRow | undefined;
        assert.ok(oldest !== undefined, 'kept bytes counted without a kept row');
        dropped.push(this.#drop(oldest, 'store-full', nowMs));
      }
      this.#statements.insert.run(content.jobId, content.assignmentId, sha256, sizeBytes, wholeMs(nowMs), content.bytes);
      this.#keptBytes += sizeBytes;
      return { stored: true, sha256, dropped };
    });
  }

  /** Drops contents kept longer than `retentionMs` (at most 1,024 per call) and forgets old markers. */
  dropExpired(nowMs: number): DroppedResultContent[] {
    return this.#write('dropping old results', () => {
      const rows = this.#statements.keptBefore.all(wholeMs(nowMs - this.limits.retentionMs), DROPS_PER_CALL_MAX) as unknown as ContentRow[];
      const dropped = rows.map((row) => this.#drop(row, 'retention', nowMs));
      this.#statements.deleteMarkersBefore.run(wholeMs(nowMs - this.limits.markerRetentionMs), DROPS_PER_CALL_MAX);
      return dropped;
    });
  }

  /** Forgets a job's content (bytes stored for a job that then could not take them). */
  remove(jobId: string): boolean {
    return this.#write('removing a result', () => {
      const row = this.#statements.infoById.get(jobId) as ContentRow | undefined;
      if (row === undefined) return false;
      if (row.dropped_ms === null) this.#keptBytes -= row.size_bytes;
      this.#statements.deleteById.run(jobId);
      return true;
    });
  }

  /** What is known of a job's content, without its bytes. */
  info(jobId: string): ResultContentInfo | undefined {
    const row = this.#read('reading a result', () => this.#statements.infoById.get(jobId)) as ContentRow | undefined;
    return row === undefined ? undefined : infoOf(row);
  }

  /** A job's content with its bytes when they are kept. */
  content(jobId: string): ResultContent | undefined {
    return this.#read('reading a result', () => {
      const row = this.#statements.infoById.get(jobId) as ContentRow | undefined;
      if (row === undefined) return undefined;
      const info = infoOf(row);
      if (info.kind === 'dropped') return info;
      const { bytes } = this.#statements.bytesById.get(jobId) as { bytes: Uint8Array };
      return { ...info, bytes };
    });
  }

  #drop(row: ContentRow, reason: ResultDropReason, nowMs: number): DroppedResultContent {
    this.#statements.markDropped.run(wholeMs(nowMs), reason, row.job_id);
    this.#keptBytes -= row.size_bytes;
    return { jobId: row.job_id, sizeBytes: row.size_bytes, storedMs: row.stored_ms, reason };
  }

  #read<T>(doing: string, work: () => T): T {
    this.#checkOpen();
    try {
      return work();
    } catch (error) {
      throw databaseError(error, RESULT_CONTENT_STORE_KIND.name, this.path, doing);
    }
  }

  /** Runs `work` in a transaction that commits (and so fsyncs) before returning; rolls back on any error. */
  #write<T>(doing: string, work: () => T): T {
    this.#checkOpen();
    const keptBytes = this.#keptBytes;
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      this.#keptBytes = keptBytes;
      throw databaseError(error, RESULT_CONTENT_STORE_KIND.name, this.path, doing);
    }
  }

  #checkOpen(): void {
    if (!this.#db.isOpen) throw new OrbitfedError('ORBITFED_RESULT_STORE_CLOSED', 'the result content store is closed', { file: this.path });
  }
}

function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  const columns = 'job_id, assignment_id, sha256, size_bytes, stored_ms, dropped_ms, drop_reason';
  return {
    keptBytes: p('SELECT sum(size_bytes) AS n FROM result_contents WHERE bytes IS NOT NULL'),
    infoById: p(`SELECT ${columns} FROM result_contents WHERE job_id = ?`),
    bytesById: p('SELECT bytes FROM result_contents WHERE job_id = ?'),
    insert: p('INSERT INTO result_contents (job_id, assignment_id, sha256, size_bytes, stored_ms, bytes) VALUES (?, ?, ?, ?, ?, ?)'),
    insertDropped: p('INSERT INTO result_contents (job_id, assignment_id, sha256, size_bytes, stored_ms, dropped_ms, drop_reason) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    deleteById: p('DELETE FROM result_contents WHERE job_id = ?'),
    oldestKept: p(`SELECT ${columns} FROM result_contents WHERE bytes IS NOT NULL ORDER BY stored_ms, job_id LIMIT 1`),
    keptBefore: p(`SELECT ${columns} FROM result_contents WHERE bytes IS NOT NULL AND stored_ms < ? ORDER BY stored_ms LIMIT ?`),
    markDropped: p('UPDATE result_contents SET bytes = NULL, dropped_ms = ?, drop_reason = ? WHERE job_id = ?'),
    deleteMarkersBefore: p('DELETE FROM result_contents WHERE job_id IN (SELECT job_id FROM result_contents WHERE bytes IS NULL AND stored_ms < ? LIMIT ?)'),
  };
}
