// The orbital agent's own durable state, one SQLite file (node:sqlite through common's
// openDurableDatabase: WAL, synchronous=FULL, exclusive lock; no native addons): the assignments it
// accepted and the state of each, the input parts that arrived, the outbox of messages not yet in
// the bundle store, and counters that must never repeat.
//
// Exactly once. An assignment is recorded here (state `waiting`) inside the bundle agent's delivery
// transaction, before that transaction commits the delivery (dtn/bundle-store.ts: the application's
// effect and the delivery record cannot be one atomic step across two files): a crash in between
// delivers the bundle again and `recordAssignment` answers `duplicate`, by assignment id. A job
// becomes `running` here, committed, before the workload is started; at the next open, a job still
// `running` was interrupted by a crash and the agent ends it `lost` ("agent restarted"), never
// starting it again: we cannot tell what a half-run workload did (wrote its result, sent
// anything), so running it twice is the one thing we rule out.
//
// Transactional outbox. The messages a state change produces (the accepted report, the finished
// report, the result, the receipt) are written in the same transaction as the change, then moved
// into the bundle store (`flush` in orbital-agent.ts), oldest first, each deleted here once the
// bundle store has it. A crash between the bundle store's commit and the delete sends that one
// message again after the restart: identical bytes (same sequence, same signature), which receivers
// deduplicate. So nothing the agent decided is lost, and nothing is decided twice.
//
// Bounds (STYLE rule 8): assignments kept (`assignmentsMax`; finished ones are pruned once their
// notAfterMs has passed, since a copy arriving later is refused as expired anyway), input bytes
// (`inputBytesMax`; parts nobody claims are pruned after `inputRetentionMs`), outbox messages
// (`outboxMessagesMax`) and result bytes waiting in the outbox (`outboxResultBytesMax`: when a new
// result does not fit, the oldest waiting results are dropped first; see `enqueue`).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { databaseError, openDurableDatabase, sqlitePrimaryCode, type DatabaseKind } from '../common/index.ts';

/** `PRAGMA application_id` of an orbital agent's assignment store: "OFAS". */
export const ASSIGNMENT_STORE_ID = 0x4f464153;
export const ASSIGNMENT_STORE_SCHEMA_VERSION = 1;

const SCHEMA_SQL = `
CREATE TABLE assignments (
  assignment_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'finished')),
  bytes BLOB NOT NULL,
  not_after_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  started_ms INTEGER,
  finished_ms INTEGER,
  outcome TEXT,
  reason TEXT
) WITHOUT ROWID;
CREATE INDEX assignments_state ON assignments (state, received_ms);
CREATE TABLE inputs (
  input_id TEXT PRIMARY KEY,
  bytes BLOB NOT NULL,
  received_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  assignment_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('report', 'result', 'receipt')),
  destination TEXT NOT NULL,
  priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),
  expires_ms INTEGER NOT NULL,
  payload BLOB NOT NULL
);
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

const KIND: DatabaseKind = {
  name: 'assignment store',
  applicationId: ASSIGNMENT_STORE_ID,
  schemaVersion: ASSIGNMENT_STORE_SCHEMA_VERSION,
  schemaSql: SCHEMA_SQL,
  tables: ['assignments', 'counters', 'inputs', 'outbox', 'sqlite_sequence'],
};

export type AssignmentState = 'waiting' | 'running' | 'finished';
export type OutboxKind = 'report' | 'result' | 'receipt';

export interface StoredAssignment {
  readonly assignmentId: string;
  readonly jobId: string;
  readonly state: AssignmentState;
  /** The signed assignment as it arrived (scheduler/job-assignment.ts wire bytes). */
  readonly bytes: Uint8Array;
  readonly notAfterMs: number;
  readonly receivedMs: number;
  readonly startedMs: number | undefined;
  readonly finishedMs: number | undefined;
  readonly outcome: string | undefined;
  readonly reason: string | undefined;
}

export interface OutboxMessage {
  readonly assignmentId: string;
  readonly kind: OutboxKind;
  /** EID text. */
  readonly destination: string;
  readonly priority: 0 | 1 | 2;
  /** The bundle's lifetime ends here; a message still waiting then is dropped. */
  readonly expiresMs: number;
  readonly payload: Uint8Array;
}

export interface StoredOutboxMessage extends OutboxMessage {
  readonly id: number;
}

export interface AssignmentStoreLimits {
  /** Assignments kept, in any state. Default 10,000. */
  readonly assignmentsMax: number;
  /** Bytes of input parts kept. Default 64 MiB. */
  readonly inputBytesMax: number;
  /** Input parts no assignment claimed are dropped after this. Default 24 h. */
  readonly inputRetentionMs: number;
  /** Messages waiting in the outbox. Default 40,000. */
  readonly outboxMessagesMax: number;
  /** Bytes of results waiting in the outbox. Default 16 MiB. */
  readonly outboxResultBytesMax: number;
}

export const ASSIGNMENT_STORE_LIMITS_DEFAULT: AssignmentStoreLimits = {
  assignmentsMax: 10_000,
  inputBytesMax: 64 * 1024 * 1024,
  inputRetentionMs: 86_400_000,
  outboxMessagesMax: 40_000,
  outboxResultBytesMax: 16 * 1024 * 1024,
};

export type EnqueueOutcome =
  | { readonly queued: true; readonly droppedResults: readonly StoredOutboxMessage[] }
  | { readonly queued: false; readonly reason: 'outbox-full' | 'result-too-large' };

export interface AssignmentStoreStats {
  readonly waiting: number;
  readonly running: number;
  readonly finished: number;
  readonly inputParts: number;
  readonly inputBytes: number;
  readonly outboxMessages: number;
  readonly outboxBytes: number;
  readonly outboxResultBytes: number;
}

interface Statements {
  readonly getAssignment: StatementSync;
  readonly insertAssignment: StatementSync;
  readonly countAssignments: StatementSync;
  readonly byState: StatementSync;
  readonly setRunning: StatementSync;
  readonly setFinished: StatementSync;
  readonly pruneFinished: StatementSync;
  readonly getInput: StatementSync;
  readonly insertInput: StatementSync;
  readonly inputTotals: StatementSync;
  readonly deleteInput: StatementSync;
  readonly pruneInputs: StatementSync;
  readonly insertOutbox: StatementSync;
  readonly outboxOldest: StatementSync;
  readonly deleteOutbox: StatementSync;
  readonly outboxTotals: StatementSync;
  readonly oldestResults: StatementSync;
  readonly getCounter: StatementSync;
  readonly setCounter: StatementSync;
  readonly countInState: StatementSync;
}

type Row = Record<string, SQLInputValue>;

const numberOrUndefined = (value: SQLInputValue): number | undefined => (value === null || value === undefined ? undefined : Number(value));
const textOrUndefined = (value: SQLInputValue): string | undefined => (value === null || value === undefined ? undefined : String(value));

function assignmentOf(row: Row): StoredAssignment {
  return {
    assignmentId: String(row.assignment_id),
    jobId: String(row.job_id),
    state: row.state as AssignmentState,
    bytes: new Uint8Array(row.bytes as Uint8Array),
    notAfterMs: Number(row.not_after_ms),
    receivedMs: Number(row.received_ms),
    startedMs: numberOrUndefined(row.started_ms),
    finishedMs: numberOrUndefined(row.finished_ms),
    outcome: textOrUndefined(row.outcome),
    reason: textOrUndefined(row.reason),
  };
}

function outboxOf(row: Row): StoredOutboxMessage {
  return {
    id: Number(row.id),
    assignmentId: String(row.assignment_id),
    kind: row.kind as OutboxKind,
    destination: String(row.destination),
    priority: Number(row.priority) as 0 | 1 | 2,
    expiresMs: Number(row.expires_ms),
    payload: new Uint8Array(row.payload as Uint8Array),
  };
}

/** The orbital agent's assignments, inputs, outbox and counters; see the header. */
export class AssignmentStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Statements;
  readonly #limits: AssignmentStoreLimits;
  #depth = 0;

  private constructor(db: DatabaseSync, path: string, limits: AssignmentStoreLimits) {
    this.#db = db;
    this.#path = path;
    this.#limits = limits;
    const p = (sql: string): StatementSync => db.prepare(sql);
    this.#sql = {
      getAssignment: p('SELECT * FROM assignments WHERE assignment_id = ?'),
      insertAssignment: p('INSERT INTO assignments (assignment_id, job_id, state, bytes, not_after_ms, received_ms) VALUES (?, ?, \'waiting\', ?, ?, ?)'),
      countAssignments: p('SELECT COUNT(*) AS n FROM assignments'),
      byState: p('SELECT * FROM assignments WHERE state = ? ORDER BY received_ms, assignment_id LIMIT ?'),
      setRunning: p('UPDATE assignments SET state = \'running\', started_ms = ? WHERE assignment_id = ? AND state = \'waiting\''),
      setFinished: p('UPDATE assignments SET state = \'finished\', finished_ms = ?, outcome = ?, reason = ?, bytes = X\'\' WHERE assignment_id = ? AND state <> \'finished\''),
      pruneFinished: p('DELETE FROM assignments WHERE state = \'finished\' AND not_after_ms < ?'),
      getInput: p('SELECT bytes FROM inputs WHERE input_id = ?'),
      insertInput: p('INSERT OR IGNORE INTO inputs (input_id, bytes, received_ms) VALUES (?, ?, ?)'),
      inputTotals: p('SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(bytes)), 0) AS bytes FROM inputs'),
      deleteInput: p('DELETE FROM inputs WHERE input_id = ?'),
      pruneInputs: p('DELETE FROM inputs WHERE received_ms < ?'),
      insertOutbox: p('INSERT INTO outbox (assignment_id, kind, destination, priority, expires_ms, payload) VALUES (?, ?, ?, ?, ?, ?)'),
      outboxOldest: p('SELECT * FROM outbox WHERE id > ? ORDER BY id LIMIT ?'),
      deleteOutbox: p('DELETE FROM outbox WHERE id = ?'),
      outboxTotals: p('SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(payload)), 0) AS bytes, COALESCE(SUM(CASE WHEN kind = \'result\' THEN LENGTH(payload) ELSE 0 END), 0) AS result_bytes FROM outbox'),
      oldestResults: p('SELECT * FROM outbox WHERE kind = \'result\' ORDER BY id LIMIT 64'),
      getCounter: p('SELECT value FROM counters WHERE name = ?'),
      setCounter: p('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      countInState: p('SELECT COUNT(*) AS n FROM assignments WHERE state = ?'),
    };
  }

  /** Opens (creating if missing) the store at `path`; throws ORBITFED_STORE_* naming the path. */
  static open(path: string, limits: Partial<AssignmentStoreLimits> = {}): AssignmentStore {
    const all = { ...ASSIGNMENT_STORE_LIMITS_DEFAULT, ...limits };
    for (const [name, value] of Object.entries(all)) assert.ok(Number.isSafeInteger(value) && value > 0, `limits.${name} must be a positive integer, got ${value}`);
    const db = openDurableDatabase(path, existsSync(path), KIND);
    try {
      return new AssignmentStore(db, path, all);
    } catch (error) {
      db.close();
      throw databaseError(error, KIND.name, path, 'preparing statements');
    }
  }

  get limits(): AssignmentStoreLimits {
    return this.#limits;
  }

  close(): void {
    assert.equal(this.#depth, 0, 'cannot close the assignment store inside one of its transactions');
    if (this.#db.isOpen) this.#db.close();
  }

  /** Runs `work` in one transaction that commits (fsync) before returning; nested calls join the outer one. */
  transaction<T>(work: () => T): T {
    if (this.#depth > 0) {
      this.#depth += 1;
      try {
        return work();
      } finally {
        this.#depth -= 1;
      }
    }
    try {
      this.#db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      throw databaseError(error, KIND.name, this.#path, 'beginning a transaction');
    }
    this.#depth = 1;
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw sqlitePrimaryCode(error) === undefined ? error : databaseError(error, KIND.name, this.#path, 'writing');
    } finally {
      this.#depth = 0;
    }
  }

  assignment(assignmentId: string): StoredAssignment | undefined {
    const row = this.#sql.getAssignment.get(assignmentId) as Row | undefined;
    return row === undefined ? undefined : assignmentOf(row);
  }

  /**
   * Records an assignment as `waiting` with the outbox messages its acceptance produces, in one
   * transaction: `duplicate` (nothing written) when the id is known, `full` when `assignmentsMax`
   * are kept.
   */
  recordAssignment(fields: { assignmentId: string; jobId: string; bytes: Uint8Array; notAfterMs: number; receivedMs: number }, messages: readonly OutboxMessage[]): 'recorded' | 'duplicate' | 'full' {
    return this.transaction(() => {
      if (this.#sql.getAssignment.get(fields.assignmentId) !== undefined) return 'duplicate';
      const count = Number((this.#sql.countAssignments.get() as Row).n);
      if (count >= this.#limits.assignmentsMax) return 'full';
      this.#sql.insertAssignment.run(fields.assignmentId, fields.jobId, fields.bytes, fields.notAfterMs, fields.receivedMs);
      for (const message of messages) this.enqueue(message);
      return 'recorded';
    });
  }

  /** Assignments in `state`, oldest first. */
  inState(state: AssignmentState, limit = 1_000): StoredAssignment[] {
    return (this.#sql.byState.all(state, limit) as Row[]).map(assignmentOf);
  }

  /** waiting → running at `startedMs`, with the `started` report, committed before the workload starts. */
  markRunning(assignmentId: string, startedMs: number, messages: readonly OutboxMessage[]): void {
    this.transaction(() => {
      const changed = Number(this.#sql.setRunning.run(startedMs, assignmentId).changes);
      assert.equal(changed, 1, `assignment ${assignmentId} is not waiting`);
      for (const message of messages) this.enqueue(message);
    });
  }

  /**
   * Ends an assignment (from any state but finished) with its outcome and the messages that report
   * it, in one transaction; the assignment's bytes are dropped (its reports carry what is needed).
   * Returns the results `enqueue` dropped to make room.
   */
  finish(assignmentId: string, fields: { finishedMs: number; outcome: string; reason: string }, messages: readonly OutboxMessage[]): StoredOutboxMessage[] {
    return this.transaction(() => {
      const changed = Number(this.#sql.setFinished.run(fields.finishedMs, fields.outcome, fields.reason, assignmentId).changes);
      assert.equal(changed, 1, `assignment ${assignmentId} is unknown or finished already`);
      const dropped: StoredOutboxMessage[] = [];
      for (const message of messages) {
        const outcome = this.enqueue(message);
        if (outcome.queued) dropped.push(...outcome.droppedResults);
      }
      return dropped;
    });
  }

  /** Drops finished assignments whose notAfterMs is before `beforeMs`, and unclaimed inputs older than the retention. */
  prune(nowMs: number, finishedBeforeMs: number): { readonly assignments: number; readonly inputs: number } {
    return this.transaction(() => ({
      assignments: Number(this.#sql.pruneFinished.run(finishedBeforeMs).changes),
      inputs: Number(this.#sql.pruneInputs.run(nowMs - this.#limits.inputRetentionMs).changes),
    }));
  }

  /**
   * Store compaction (the agent's storeCompaction schedule): the WAL is checkpointed into the file
   * and truncated (https://sqlite.org/pragma.html#pragma_wal_checkpoint), and SQLite gives back the
   * page cache it holds beyond what it needs (`shrink_memory`), which counts in the agent's RSS.
   * Freed pages stay in the file for reuse (no VACUUM: it rewrites the whole file).
   */
  compact(): { readonly walPagesCheckpointed: number; readonly freePages: number; readonly fileBytes: number } {
    assert.equal(this.#depth, 0, 'cannot compact the assignment store inside one of its transactions');
    try {
      const checkpoint = this.#db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { log: number; checkpointed: number } | undefined;
      this.#db.exec('PRAGMA shrink_memory');
      const freePages = Number((this.#db.prepare('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count);
      const pageCount = Number((this.#db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
      const pageSize = Number((this.#db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size);
      return { walPagesCheckpointed: Math.max(0, Number(checkpoint?.checkpointed ?? 0)), freePages, fileBytes: pageCount * pageSize };
    } catch (error) {
      throw databaseError(error, KIND.name, this.#path, 'compacting');
    }
  }

  // Inputs

  input(inputId: string): Uint8Array | undefined {
    const row = this.#sql.getInput.get(inputId) as Row | undefined;
    return row === undefined ? undefined : new Uint8Array(row.bytes as Uint8Array);
  }

  /** Keeps an input part: `stored`, `duplicate` (same id kept already), or `full` (above `inputBytesMax`). */
  putInput(inputId: string, bytes: Uint8Array, receivedMs: number): 'stored' | 'duplicate' | 'full' {
    return this.transaction(() => {
      if (this.#sql.getInput.get(inputId) !== undefined) return 'duplicate';
      const totals = this.#sql.inputTotals.get() as Row;
      if (Number(totals.bytes) + bytes.length > this.#limits.inputBytesMax) return 'full';
      this.#sql.insertInput.run(inputId, bytes, receivedMs);
      return 'stored';
    });
  }

  deleteInputs(inputIds: readonly string[]): void {
    this.transaction(() => {
      for (const id of inputIds) this.#sql.deleteInput.run(id);
    });
  }

  // Outbox

  /**
   * Adds a message to the outbox (joining the caller's transaction). A result that would take the
   * waiting result bytes past `outboxResultBytesMax` makes room by dropping the oldest waiting
   * results first (they are returned, for the log and a report); a result larger than the whole
   * bound is refused (`result-too-large`), as is any message beyond `outboxMessagesMax`.
   */
  enqueue(message: OutboxMessage): EnqueueOutcome {
    return this.transaction(() => {
      const totals = this.#sql.outboxTotals.get() as Row;
      if (Number(totals.n) >= this.#limits.outboxMessagesMax) return { queued: false, reason: 'outbox-full' } as const;
      const dropped: StoredOutboxMessage[] = [];
      if (message.kind === 'result') {
        if (message.payload.length > this.#limits.outboxResultBytesMax) return { queued: false, reason: 'result-too-large' } as const;
        let resultBytes = Number(totals.result_bytes);
        while (resultBytes + message.payload.length > this.#limits.outboxResultBytesMax) {
          const oldest = (this.#sql.oldestResults.all() as Row[]).map(outboxOf);
          assert.ok(oldest.length > 0, 'result bytes are counted but no result is waiting');
          for (const result of oldest) {
            if (resultBytes + message.payload.length <= this.#limits.outboxResultBytesMax) break;
            this.#sql.deleteOutbox.run(result.id);
            resultBytes -= result.payload.length;
            dropped.push(result);
          }
        }
      }
      this.#sql.insertOutbox.run(message.assignmentId, message.kind, message.destination, message.priority, message.expiresMs, message.payload);
      return { queued: true, droppedResults: dropped } as const;
    });
  }

  /** The oldest `limit` messages waiting after message `afterId` (0: from the first). */
  outbox(limit: number, afterId = 0): StoredOutboxMessage[] {
    return (this.#sql.outboxOldest.all(afterId, limit) as Row[]).map(outboxOf);
  }

  /** The bundle store has the message (or it was given up): it leaves the outbox. */
  removeFromOutbox(id: number): void {
    this.transaction(() => this.#sql.deleteOutbox.run(id));
  }

  // Counters

  /**
   * The next value of a counter that never repeats: one more than the last, and at least `floor`.
   * The agent passes a floor of the Clock's ms × 1000, so that even a lost data directory cannot
   * make a node reuse a report or receipt name (the ledger refuses a receipt name reused with other
   * content) unless its clock runs backwards as well.
   */
  nextCounter(name: string, floor: number): number {
    return this.transaction(() => {
      const row = this.#sql.getCounter.get(name) as Row | undefined;
      const next = Math.max(row === undefined ? 0 : Number(row.value) + 1, floor);
      assert.ok(Number.isSafeInteger(next), `counter ${name} overflowed`);
      this.#sql.setCounter.run(name, next);
      return next;
    });
  }

  stats(): AssignmentStoreStats {
    const count = (state: AssignmentState): number => Number((this.#sql.countInState.get(state) as Row).n);
    const inputs = this.#sql.inputTotals.get() as Row;
    const outbox = this.#sql.outboxTotals.get() as Row;
    return {
      waiting: count('waiting'),
      running: count('running'),
      finished: count('finished'),
      inputParts: Number(inputs.n),
      inputBytes: Number(inputs.bytes),
      outboxMessages: Number(outbox.n),
      outboxBytes: Number(outbox.bytes),
      outboxResultBytes: Number(outbox.result_bytes),
    };
  }
}
