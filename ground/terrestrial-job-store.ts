// What the station's terrestrial executor (terrestrial-executor.ts) must not forget across a
// crash: which assignments it accepted (a node runs an assignment at most once), which were running
// (after a restart they end as `lost`, never run again), how each ended with its result and signed
// receipt (sent again after a crash until they are in the bundle store), and the counters that name
// its reports and receipts (never repeated). One SQLite file through common's
// `openDurableDatabase` (WAL, synchronous=FULL, exclusive lock); every change is one commit.
//
// States: accepted → running → finished → reported; accepted → finished (expired before it ran).
// Bound: `jobsMax` rows; the oldest reported rows are pruned to make room (their assignment ids
// are then forgotten, which is safe once the assignment's notAfterMs has passed: a copy arriving
// later is refused as expired before the store is asked).
import { existsSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { databaseError, OrbitfedError, openDurableDatabase, type DatabaseKind } from '../common/index.ts';

const SCHEMA_SQL = `
CREATE TABLE jobs (
  assignment_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('accepted', 'running', 'finished', 'reported')),
  assignment BLOB NOT NULL,
  not_after_ms INTEGER NOT NULL,
  accepted_ms INTEGER NOT NULL,
  finished_json TEXT,
  result BLOB,
  receipt BLOB
) WITHOUT ROWID;
CREATE INDEX jobs_state ON jobs (state, accepted_ms);
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

export const TERRESTRIAL_JOB_STORE_KIND: DatabaseKind = {
  name: 'terrestrial job store',
  // "OFTJ" in ASCII.
  applicationId: 0x4f46544a,
  schemaVersion: 1,
  schemaSql: SCHEMA_SQL,
  tables: ['counters', 'jobs'],
};

export type TerrestrialJobState = 'accepted' | 'running' | 'finished' | 'reported';

export interface TerrestrialJobRow {
  readonly assignmentId: string;
  readonly jobId: string;
  readonly state: TerrestrialJobState;
  /** The signed assignment as it arrived. */
  readonly assignment: Uint8Array;
  readonly notAfterMs: number;
  readonly acceptedMs: number;
  /** How it ended (the executor's JSON), once finished. */
  readonly finishedJson: string | undefined;
  readonly result: Uint8Array | undefined;
  readonly receipt: Uint8Array | undefined;
}

interface Row {
  assignment_id: string;
  job_id: string;
  state: TerrestrialJobState;
  assignment: Uint8Array;
  not_after_ms: number;
  accepted_ms: number;
  finished_json: string | null;
  result: Uint8Array | null;
  receipt: Uint8Array | null;
}

const rowOf = (r: Row): TerrestrialJobRow => ({
  assignmentId: r.assignment_id, jobId: r.job_id, state: r.state, assignment: new Uint8Array(r.assignment), notAfterMs: Number(r.not_after_ms),
  acceptedMs: Number(r.accepted_ms), finishedJson: r.finished_json ?? undefined, result: r.result === null ? undefined : new Uint8Array(r.result),
  receipt: r.receipt === null ? undefined : new Uint8Array(r.receipt),
});

export class TerrestrialJobStore {
  readonly path: string;
  readonly jobsMax: number;
  readonly #db: DatabaseSync;
  readonly #sql: Record<'insert' | 'get' | 'inState' | 'count' | 'total' | 'setState' | 'finish' | 'counter' | 'bump' | 'prune', StatementSync>;
  #open = true;

  private constructor(path: string, db: DatabaseSync, jobsMax: number) {
    this.path = path;
    this.jobsMax = jobsMax;
    this.#db = db;
    this.#sql = {
      insert: db.prepare('INSERT INTO jobs (assignment_id, job_id, state, assignment, not_after_ms, accepted_ms) VALUES (?, ?, ?, ?, ?, ?)'),
      get: db.prepare('SELECT * FROM jobs WHERE assignment_id = ?'),
      inState: db.prepare('SELECT * FROM jobs WHERE state = ? ORDER BY accepted_ms, assignment_id LIMIT ?'),
      count: db.prepare("SELECT count(*) AS n FROM jobs WHERE state <> 'reported'"),
      total: db.prepare('SELECT count(*) AS n FROM jobs'),
      setState: db.prepare('UPDATE jobs SET state = ? WHERE assignment_id = ? AND state = ?'),
      finish: db.prepare("UPDATE jobs SET state = 'finished', finished_json = ?, result = ?, receipt = ? WHERE assignment_id = ? AND state IN ('accepted', 'running')"),
      counter: db.prepare('SELECT value FROM counters WHERE name = ?'),
      bump: db.prepare('INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value'),
      prune: db.prepare("DELETE FROM jobs WHERE assignment_id IN (SELECT assignment_id FROM jobs WHERE state = 'reported' AND not_after_ms < ? ORDER BY accepted_ms LIMIT ?)"),
    };
  }

  static open(path: string, options: { readonly jobsMax?: number } = {}): TerrestrialJobStore {
    const db = openDurableDatabase(path, existsSync(path), TERRESTRIAL_JOB_STORE_KIND);
    try {
      return new TerrestrialJobStore(path, db, options.jobsMax ?? 100_000);
    } catch (error) {
      db.close();
      throw databaseError(error, TERRESTRIAL_JOB_STORE_KIND.name, path, 'preparing statements');
    }
  }

  #run<T>(doing: string, work: () => T): T {
    if (!this.#open) throw new OrbitfedError('ORBITFED_STORE_CLOSED', 'the terrestrial job store is closed', { file: this.path });
    try {
      return work();
    } catch (error) {
      throw databaseError(error, TERRESTRIAL_JOB_STORE_KIND.name, this.path, doing);
    }
  }

  get(assignmentId: string): TerrestrialJobRow | undefined {
    return this.#run('reading a job', () => {
      const row = this.#sql.get.get(assignmentId) as Row | undefined;
      return row === undefined ? undefined : rowOf(row);
    });
  }

  /** Jobs not yet reported. */
  activeCount(): number {
    return this.#run('counting jobs', () => Number((this.#sql.count.get() as { n: number }).n));
  }

  inState(state: TerrestrialJobState, limit: number): TerrestrialJobRow[] {
    return this.#run('listing jobs', () => (this.#sql.inState.all(state, limit) as unknown as Row[]).map(rowOf));
  }

  /** Records an accepted assignment; false when it was accepted before. Prunes reported jobs past their window at the bound. */
  accept(assignmentId: string, jobId: string, assignment: Uint8Array, notAfterMs: number, nowMs: number): boolean {
    return this.#run('accepting a job', () => {
      if (this.#sql.get.get(assignmentId) !== undefined) return false;
      this.#sql.prune.run(nowMs, 1000);
      if (Number((this.#sql.total.get() as { n: number }).n) >= this.jobsMax) {
        throw new OrbitfedError('ORBITFED_JOBS_FULL', `${this.jobsMax} jobs are remembered and none can be forgotten yet`, { file: this.path });
      }
      this.#sql.insert.run(assignmentId, jobId, 'accepted', assignment, notAfterMs, nowMs);
      return true;
    });
  }

  markRunning(assignmentId: string): void {
    this.#run('marking a job running', () => this.#sql.setState.run('running', assignmentId, 'accepted'));
  }

  finish(assignmentId: string, finishedJson: string, result: Uint8Array | undefined, receipt: Uint8Array | undefined): void {
    this.#run('recording how a job ended', () => this.#sql.finish.run(finishedJson, result ?? null, receipt ?? null, assignmentId));
  }

  markReported(assignmentId: string): void {
    this.#run('marking a job reported', () => this.#sql.setState.run('reported', assignmentId, 'finished'));
  }

  /** The next value of a counter that never repeats (1, 2, …), committed before it is returned. */
  next(counter: 'report' | 'receipt'): number {
    return this.#run(`advancing the ${counter} counter`, () => Number((this.#sql.bump.get(counter) as { value: number }).value));
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#db.close();
  }
}
