// The scheduler's persisted state: tenants, registered nodes, jobs with their timestamped events,
// and idempotency keys, in one SQLite file (common/durable-database.ts has the settings and why).
//
// Durability. Every method that changes the store commits one transaction before it returns, with
// synchronous=FULL: the API answers only after that commit, so anything a client was told (201, a
// job id, a transition) survives kill -9 and power loss, and a crash before the commit leaves no
// trace of the call. A transition and its event are one transaction, so the event log and the
// job's state never disagree. test/scheduler/job-store-crash.test.ts kills a writer at random
// instants and checks it.
//
// Limits, and what happens at each (STYLE rule 8):
// - `jobsMax` jobs in all: at the bound, finished jobs older than `finishedJobRetentionMs` are
//   pruned (with their events); if none can go, `createJob` throws ORBITFED_JOB_STORE_FULL and
//   nothing is written. Active jobs are never dropped.
// - `eventsPerJobMax` events per job: a transition that would add one more throws
//   ORBITFED_JOB_STORE_FULL (the lifecycle bounds re-plans far below this, so it means a bug).
// - `idempotencyKeysMax` keys: the oldest are forgotten first (and every key after
//   `idempotencyKeyTtlMs`); a retry after that creates a new job, as the IETF draft allows.
// - `nodesMax` nodes and `tenantsMax` tenants: one more is refused with ORBITFED_JOB_STORE_FULL.
// - JSON columns are written from values the API bounded (body limit, schema); a row larger than
//   `rowBytesMax` is refused (ORBITFED_JOB_STORE_ROW_TOO_LARGE) rather than stored.
// - Result bytes live beside the store, in `<path>.results` (result-content-store.ts says why and how
//   the two files stay consistent): `resultContentBytesMax` in all, each `resultContentRetentionMs`;
//   past either the oldest go first, the job and its result report stay.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { databaseError, OrbitfedError, openDurableDatabase } from '../common/index.ts';
import type { JobSpec } from './job-spec.ts';
import type { JobResult, JobState, PlacementRecord } from './job-lifecycle.ts';
import { JOB_STORE_KIND } from './job-store-database.ts';
import { RESULT_CONTENT_LIMITS_DEFAULT, ResultContentStore } from './result-content-store.ts';
import type { NodeSpec } from './node-spec.ts';

export interface JobStoreLimits {
  readonly jobsMax: number;
  readonly eventsPerJobMax: number;
  readonly idempotencyKeysMax: number;
  readonly idempotencyKeyTtlMs: number;
  readonly finishedJobRetentionMs: number;
  readonly nodesMax: number;
  readonly tenantsMax: number;
  readonly rowBytesMax: number;
  /** Bytes of delivered results kept for download, in all. */
  readonly resultContentBytesMax: number;
  /** How long a delivered result's bytes are kept for download. */
  readonly resultContentRetentionMs: number;
}

export const JOB_STORE_LIMITS_DEFAULT: JobStoreLimits = {
  jobsMax: 1_000_000,
  eventsPerJobMax: 256,
  idempotencyKeysMax: 1_000_000,
  idempotencyKeyTtlMs: 24 * 3_600_000,
  finishedJobRetentionMs: 30 * 86_400_000,
  nodesMax: 100_000,
  tenantsMax: 10_000,
  rowBytesMax: 1024 * 1024,
  resultContentBytesMax: RESULT_CONTENT_LIMITS_DEFAULT.bytesMax,
  resultContentRetentionMs: RESULT_CONTENT_LIMITS_DEFAULT.retentionMs,
};

export type TenantRole = 'jobs' | 'nodes' | 'admin';
export const TENANT_ROLES: readonly TenantRole[] = ['jobs', 'nodes', 'admin'];

export interface TenantRecord {
  readonly id: string;
  readonly roles: readonly TenantRole[];
  /** The operator name this tenant registers nodes for (`NodeSpec.operator`), if it is an operator. */
  readonly operator: string | undefined;
  /** SHA-256 of the API key, lower-case hex; never the key itself. */
  readonly apiKeySha256: string | undefined;
  /** ed25519 public key for signed requests, lower-case hex. */
  readonly publicKeyHex: string | undefined;
}

export interface NodeRecord {
  readonly spec: NodeSpec;
  readonly registeredBy: string;
  readonly registeredMs: number;
  readonly updatedMs: number;
  /** Last time the node was heard from (a heartbeat or a report), if ever. */
  readonly lastHeardMs: number | undefined;
}

export interface JobRecord {
  /** Store order: only grows, never reused; listings and cursors use it. */
  readonly seq: number;
  readonly id: string;
  readonly tenantId: string;
  readonly state: JobState;
  /** Placement attempts so far (1 after the first placement). */
  readonly attempt: number;
  readonly spec: JobSpec;
  readonly placement: PlacementRecord | undefined;
  readonly result: JobResult | undefined;
  /** Why the job is where it is (a failure, a re-plan), in words. */
  readonly reason: string | undefined;
  readonly deadlineMs: number;
  readonly createdMs: number;
  readonly updatedMs: number;
}

export interface JobEvent {
  readonly seq: number;
  readonly jobId: string;
  readonly atMs: number;
  /** 'submitted', 'placed', 'replanned', 'escrow-voided', … (job-lifecycle.ts lists them). */
  readonly type: string;
  readonly fromState: JobState | undefined;
  readonly toState: JobState | undefined;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface NewJobEvent {
  readonly type: string;
  readonly fromState?: JobState | undefined;
  readonly toState?: JobState | undefined;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface NewJob {
  readonly id: string;
  readonly tenantId: string;
  readonly state: JobState;
  readonly attempt: number;
  readonly spec: JobSpec;
  readonly placement: PlacementRecord | undefined;
  readonly reason?: string | undefined;
}

/** What a transition changes; absent fields keep their value, `null` clears one. */
export interface JobChanges {
  readonly state: JobState;
  readonly attempt?: number;
  readonly placement?: PlacementRecord | null;
  readonly result?: JobResult | null;
  readonly reason?: string | null;
}

export interface IdempotentResponse {
  readonly bodySha256: string;
  readonly statusCode: number;
  readonly body: unknown;
}

/** A response to remember under (tenant, Idempotency-Key), written in the same transaction as the job. */
export interface IdempotencyEntry {
  readonly tenantId: string;
  readonly key: string;
  readonly bodySha256: string;
  readonly statusCode: number;
  readonly body: unknown;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back to get the next page; absent on the last page. */
  readonly nextCursor: number | undefined;
}

export interface JobStoreOptions {
  readonly limits?: Partial<JobStoreLimits>;
}

interface JobRow {
  seq: number;
  id: string;
  tenant_id: string;
  state: string;
  attempt: number;
  spec_json: string;
  placement_json: string | null;
  escrow_id: string | null;
  result_json: string | null;
  reason: string | null;
  deadline_ms: number;
  created_ms: number;
  updated_ms: number;
}

interface EventRow {
  seq: number;
  job_id: string;
  at_ms: number;
  type: string;
  from_state: string | null;
  to_state: string | null;
  detail_json: string;
}

interface TenantRow {
  id: string;
  roles: string;
  operator: string | null;
  api_key_sha256: string | null;
  public_key_hex: string | null;
}

interface NodeRow {
  id: string;
  spec_json: string;
  registered_by: string;
  registered_ms: number;
  updated_ms: number;
  last_heard_ms: number | null;
}

function jobOf(row: JobRow): JobRecord {
  return {
    seq: row.seq,
    id: row.id,
    tenantId: row.tenant_id,
    state: row.state as JobState,
    attempt: row.attempt,
    spec: JSON.parse(row.spec_json) as JobSpec,
    placement: row.placement_json === null ? undefined : (JSON.parse(row.placement_json) as PlacementRecord),
    result: row.result_json === null ? undefined : (JSON.parse(row.result_json) as JobResult),
    reason: row.reason ?? undefined,
    deadlineMs: row.deadline_ms,
    createdMs: row.created_ms,
    updatedMs: row.updated_ms,
  };
}

function eventOf(row: EventRow): JobEvent {
  return {
    seq: row.seq,
    jobId: row.job_id,
    atMs: row.at_ms,
    type: row.type,
    fromState: (row.from_state ?? undefined) as JobState | undefined,
    toState: (row.to_state ?? undefined) as JobState | undefined,
    detail: JSON.parse(row.detail_json) as Record<string, unknown>,
  };
}

function tenantOf(row: TenantRow): TenantRecord {
  return {
    id: row.id,
    roles: row.roles === '' ? [] : (row.roles.split(',') as TenantRole[]),
    operator: row.operator ?? undefined,
    apiKeySha256: row.api_key_sha256 ?? undefined,
    publicKeyHex: row.public_key_hex ?? undefined,
  };
}

function nodeOf(row: NodeRow): NodeRecord {
  return {
    spec: JSON.parse(row.spec_json) as NodeSpec,
    registeredBy: row.registered_by,
    registeredMs: row.registered_ms,
    updatedMs: row.updated_ms,
    lastHeardMs: row.last_heard_ms ?? undefined,
  };
}

const FINISHED_STATES = ['succeeded', 'failed', 'expired', 'cancelled'] as const;

/** Whole milliseconds for the INTEGER columns (the Clock may carry a fraction). */
const wholeMs = (ms: number): number => Math.floor(ms);

export class JobStore {
  readonly path: string;
  readonly limits: JobStoreLimits;
  readonly #db: DatabaseSync;
  readonly #statements: ReturnType<typeof prepareStatements>;
  /** Delivered result bytes, in their own file beside this one. */
  readonly resultContents: ResultContentStore;
  #depth = 0;
  /** Rows of `jobs` and `idempotency_keys` (the exclusive lock makes these exact), so no insert counts the table. */
  #jobCount: number;
  #idempotencyCount: number;

  private constructor(path: string, db: DatabaseSync, limits: JobStoreLimits, resultContents: ResultContentStore) {
    this.path = path;
    this.#db = db;
    this.resultContents = resultContents;
    this.limits = limits;
    this.#statements = prepareStatements(db);
    this.#jobCount = this.#count(this.#statements.countJobs);
    this.#idempotencyCount = this.#count(this.#statements.countIdempotency);
  }

  /** Opens or creates the store at `path`, and its result contents at `<path>.results` (codes ORBITFED_STORE_*: common/durable-database.ts). */
  static open(path: string, options: JobStoreOptions = {}): JobStore {
    const limits = { ...JOB_STORE_LIMITS_DEFAULT, ...options.limits };
    for (const [name, value] of Object.entries(limits)) {
      if (!(Number.isSafeInteger(value) && value > 0)) throw new OrbitfedError('ORBITFED_JOB_STORE_LIMITS', `limit ${name} must be a whole number > 0, got ${value}`, { field: name });
    }
    const db = openDurableDatabase(path, existsSync(path), JOB_STORE_KIND);
    try {
      const resultContents = ResultContentStore.open(`${path}.results`, {
        bytesMax: limits.resultContentBytesMax, retentionMs: limits.resultContentRetentionMs, markerRetentionMs: limits.finishedJobRetentionMs,
      });
      return new JobStore(path, db, limits, resultContents);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    assert.equal(this.#depth, 0, 'cannot close the job store from inside one of its transactions');
    if (this.#db.isOpen) this.#db.close();
    this.resultContents.close();
  }

  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  // ---------------------------------------------------------------- tenants

  /** Creates or replaces a tenant (configuration is the source of tenants). */
  putTenant(tenant: TenantRecord, nowMs: number): void {
    this.#write('storing a tenant', () => {
      const exists = this.#statements.tenantById.get(tenant.id) !== undefined;
      if (!exists && this.#count(this.#statements.countTenants) >= this.limits.tenantsMax) {
        throw new OrbitfedError('ORBITFED_JOB_STORE_FULL', `the store holds ${this.limits.tenantsMax} tenants, the most allowed`, { field: 'tenants' });
      }
      this.#statements.putTenant.run(tenant.id, tenant.roles.join(','), tenant.operator ?? null, tenant.apiKeySha256 ?? null, tenant.publicKeyHex ?? null, wholeMs(nowMs));
    });
  }

  /** Removes tenants not in `keepIds` (a tenant dropped from the configuration loses access; its jobs stay). */
  removeTenantsExcept(keepIds: readonly string[]): number {
    return this.#write('removing tenants', () => {
      const keep = new Set(keepIds);
      let removed = 0;
      for (const row of this.#statements.allTenants.all() as unknown as TenantRow[]) {
        if (keep.has(row.id)) continue;
        this.#statements.deleteTenant.run(row.id);
        removed += 1;
      }
      return removed;
    });
  }

  tenant(id: string): TenantRecord | undefined {
    const row = this.#read('reading a tenant', () => this.#statements.tenantById.get(id)) as TenantRow | undefined;
    return row === undefined ? undefined : tenantOf(row);
  }

  tenants(): TenantRecord[] {
    return (this.#read('listing tenants', () => this.#statements.allTenants.all()) as unknown as TenantRow[]).map(tenantOf);
  }

  // ---------------------------------------------------------------- nodes

  /** Registers or replaces a node; `created` says which. */
  putNode(spec: NodeSpec, registeredBy: string, nowMs: number): { readonly created: boolean } {
    const specJson = this.#json(spec, 'node spec');
    return this.#write('storing a node', () => {
      const existing = this.#statements.nodeById.get(spec.id) as NodeRow | undefined;
      if (existing === undefined) {
        if (this.#count(this.#statements.countNodes) >= this.limits.nodesMax) {
          throw new OrbitfedError('ORBITFED_JOB_STORE_FULL', `the store holds ${this.limits.nodesMax} nodes, the most allowed`, { field: 'nodes' });
        }
        this.#statements.insertNode.run(spec.id, specJson, registeredBy, wholeMs(nowMs), wholeMs(nowMs));
        return { created: true };
      }
      this.#statements.updateNode.run(specJson, wholeMs(nowMs), spec.id);
      return { created: false };
    });
  }

  node(id: string): NodeRecord | undefined {
    const row = this.#read('reading a node', () => this.#statements.nodeById.get(id)) as NodeRow | undefined;
    return row === undefined ? undefined : nodeOf(row);
  }

  /** Every node (bounded by `nodesMax`), in id order. */
  nodes(): NodeRecord[] {
    return (this.#read('listing nodes', () => this.#statements.allNodes.all()) as unknown as NodeRow[]).map(nodeOf);
  }

  /** Nodes in id order after `afterId`, at most `limit`. */
  nodesPage(limit: number, afterId: string | undefined): NodeRecord[] {
    return (this.#read('listing nodes', () => this.#statements.nodesAfter.all(afterId ?? '', limit)) as unknown as NodeRow[]).map(nodeOf);
  }

  /** Records that a node was heard from (heartbeats are frequent: one small commit each). */
  nodeHeard(id: string, atMs: number): boolean {
    return this.#write('recording a heartbeat', () => Number(this.#statements.nodeHeard.run(wholeMs(atMs), id).changes) === 1);
  }

  // ---------------------------------------------------------------- jobs

  /**
   * Stores a new job with its first events (and, if given, the response to remember under its
   * Idempotency-Key, built from the stored job), in one transaction. At `jobsMax`, prunes finished jobs past their retention
   * first; throws ORBITFED_JOB_STORE_FULL if still full, writing nothing.
   */
  createJob(job: NewJob, events: readonly NewJobEvent[], nowMs: number, idempotency?: (stored: JobRecord) => IdempotencyEntry): JobRecord {
    const specJson = this.#json(job.spec, 'job spec');
    const placementJson = job.placement === undefined ? null : this.#json(job.placement, 'placement');
    const eventJsons = events.map((e) => this.#json(e.detail ?? {}, 'event detail'));
    assert.ok(events.length <= this.limits.eventsPerJobMax, 'more first events than a job may have');
    return this.#write('storing a job', () => {
      if (this.#jobCount >= this.limits.jobsMax) {
        this.#pruneFinishedJobs(nowMs, 1024);
        if (this.#jobCount >= this.limits.jobsMax) {
          throw new OrbitfedError('ORBITFED_JOB_STORE_FULL', `the store holds ${this.limits.jobsMax} jobs, none finished long enough ago to be pruned`, { field: 'jobs' });
        }
      }
      this.#statements.insertJob.run(job.id, job.tenantId, job.state, job.attempt, specJson, placementJson, job.placement?.escrowId ?? null, job.reason ?? null, wholeMs(job.spec.deadlineMs), wholeMs(nowMs), wholeMs(nowMs));
      events.forEach((e, i) => this.#statements.insertEvent.run(job.id, wholeMs(nowMs), e.type, e.fromState ?? null, e.toState ?? null, eventJsons[i]!));
      this.#jobCount += 1;
      const stored = jobOf(this.#statements.jobById.get(job.id) as unknown as JobRow);
      if (idempotency !== undefined) {
        const entry = idempotency(stored);
        this.#putIdempotency(entry, this.#json(entry.body, 'idempotent response'), nowMs);
      }
      return stored;
    });
  }

  /**
   * Moves a job from `fromState` with `changes` and appends `events`, in one transaction. Throws
   * ORBITFED_JOB_STATE_CHANGED (nothing written) if the job is no longer in `fromState`: the caller
   * read it, decided, and someone else moved it meanwhile.
   */
  transition(jobId: string, fromState: JobState, changes: JobChanges, events: readonly NewJobEvent[], nowMs: number): JobRecord {
    const placementJson = changes.placement === undefined ? undefined : changes.placement === null ? null : this.#json(changes.placement, 'placement');
    const resultJson = changes.result === undefined ? undefined : changes.result === null ? null : this.#json(changes.result, 'result');
    const eventJsons = events.map((e) => this.#json(e.detail ?? {}, 'event detail'));
    return this.#write('recording a transition', () => {
      const row = this.#statements.jobById.get(jobId) as JobRow | undefined;
      if (row === undefined) throw new OrbitfedError('ORBITFED_JOB_NOT_FOUND', `no job ${jobId}`, { field: 'id' });
      if (row.state !== fromState) {
        throw new OrbitfedError('ORBITFED_JOB_STATE_CHANGED', `job ${jobId} is ${row.state}, no longer ${fromState}`, { field: 'state' });
      }
      const eventCount = this.#count(this.#statements.countEvents, jobId);
      if (eventCount + events.length > this.limits.eventsPerJobMax) {
        throw new OrbitfedError('ORBITFED_JOB_STORE_FULL', `job ${jobId} has ${eventCount} events; ${events.length} more would pass the ${this.limits.eventsPerJobMax} allowed`, { field: 'events' });
      }
      const next = {
        attempt: changes.attempt ?? row.attempt,
        placement: placementJson === undefined ? row.placement_json : placementJson,
        escrowId: changes.placement === undefined ? row.escrow_id : (changes.placement?.escrowId ?? null),
        result: resultJson === undefined ? row.result_json : resultJson,
        reason: changes.reason === undefined ? row.reason : changes.reason,
      };
      this.#statements.updateJob.run(changes.state, next.attempt, next.placement, next.escrowId, next.result, next.reason, wholeMs(nowMs), jobId);
      events.forEach((e, i) => this.#statements.insertEvent.run(jobId, wholeMs(nowMs), e.type, e.fromState ?? null, e.toState ?? null, eventJsons[i]!));
      return jobOf(this.#statements.jobById.get(jobId) as unknown as JobRow);
    });
  }

  /** Appends events without changing the job (a note: a missed contact seen, a failed SLA report). */
  appendEvents(jobId: string, events: readonly NewJobEvent[], nowMs: number): void {
    const row = this.job(jobId);
    if (row === undefined) throw new OrbitfedError('ORBITFED_JOB_NOT_FOUND', `no job ${jobId}`, { field: 'id' });
    this.transition(jobId, row.state, { state: row.state }, events, nowMs);
  }

  job(id: string): JobRecord | undefined {
    const row = this.#read('reading a job', () => this.#statements.jobById.get(id)) as JobRow | undefined;
    return row === undefined ? undefined : jobOf(row);
  }

  /** A job of this tenant; another tenant's job is `undefined`, exactly as a job that does not exist. */
  jobOfTenant(tenantId: string, id: string): JobRecord | undefined {
    const job = this.job(id);
    return job?.tenantId === tenantId ? job : undefined;
  }

  /** A tenant's jobs, newest first, before the cursor (a `seq`), at most `limit`, optionally in one state. */
  jobsOfTenant(tenantId: string, limit: number, beforeSeq: number | undefined, state?: JobState): Page<JobRecord> {
    assert.ok(Number.isSafeInteger(limit) && limit > 0);
    const before = beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const rows = this.#read('listing jobs', () => (state === undefined
      ? this.#statements.jobsOfTenant.all(tenantId, before, limit + 1)
      : this.#statements.jobsOfTenantInState.all(tenantId, state, before, limit + 1))) as unknown as JobRow[];
    const items = rows.slice(0, limit).map(jobOf);
    return { items, nextCursor: rows.length > limit ? items.at(-1)!.seq : undefined };
  }

  /** Every job in one of `states` (the active ones, for recovery and the lifecycle's sweeps), oldest first. */
  jobsInStates(states: readonly JobState[]): JobRecord[] {
    return this.#read('listing jobs by state', () => states.flatMap((s) => this.#statements.jobsInState.all(s) as unknown as JobRow[]))
      .map(jobOf).sort((a, b) => a.seq - b.seq);
  }

  /** A job's events in order, after the cursor (an event `seq`), at most `limit`. */
  events(jobId: string, limit: number, afterSeq: number | undefined): Page<JobEvent> {
    const rows = this.#read('reading events', () => this.#statements.eventsOfJob.all(jobId, afterSeq ?? 0, limit + 1)) as unknown as EventRow[];
    const items = rows.slice(0, limit).map(eventOf);
    return { items, nextCursor: rows.length > limit ? items.at(-1)!.seq : undefined };
  }

  jobCount(): number {
    this.#checkOpen();
    return this.#jobCount;
  }

  /** Deletes finished jobs (and their events) last updated before `nowMs − finishedJobRetentionMs`, at most `max`. */
  pruneFinishedJobs(nowMs: number, max: number): number {
    return this.#write('pruning jobs', () => this.#pruneFinishedJobs(nowMs, max));
  }

  // ---------------------------------------------------------------- idempotency keys

  /** The response remembered under (tenant, key), if the key is known and younger than its TTL. */
  idempotentResponse(tenantId: string, key: string, nowMs: number): IdempotentResponse | undefined {
    const row = this.#read('reading an idempotency key', () => this.#statements.idempotencyGet.get(tenantId, key)) as
      | { body_sha256: string; status: number; response_json: string; created_ms: number } | undefined;
    if (row === undefined || row.created_ms < nowMs - this.limits.idempotencyKeyTtlMs) return undefined;
    return { bodySha256: row.body_sha256, statusCode: row.status, body: JSON.parse(row.response_json) };
  }

  /** Remembers a response that created no job (a refusal), so a retry gets the same answer. */
  putIdempotentResponse(entry: IdempotencyEntry, nowMs: number): void {
    const json = this.#json(entry.body, 'idempotent response');
    this.#write('storing an idempotency key', () => this.#putIdempotency(entry, json, nowMs));
  }

  // ---------------------------------------------------------------- internals

  #putIdempotency(entry: IdempotencyEntry, json: string, nowMs: number): void {
    this.#idempotencyCount -= Number(this.#statements.idempotencyExpire.run(wholeMs(nowMs - this.limits.idempotencyKeyTtlMs)).changes);
    if (this.#idempotencyCount >= this.limits.idempotencyKeysMax) {
      this.#idempotencyCount -= Number(this.#statements.idempotencyDropOldest.run(this.#idempotencyCount - this.limits.idempotencyKeysMax + 1).changes);
    }
    const replaced = this.#statements.idempotencyGet.get(entry.tenantId, entry.key) !== undefined;
    this.#statements.idempotencyPut.run(entry.tenantId, entry.key, entry.bodySha256, entry.statusCode, json, wholeMs(nowMs));
    if (!replaced) this.#idempotencyCount += 1;
  }

  #pruneFinishedJobs(nowMs: number, max: number): number {
    const before = wholeMs(nowMs - this.limits.finishedJobRetentionMs);
    const ids = (this.#statements.finishedBefore.all(...FINISHED_STATES, before, max) as { id: string }[]).map((r) => r.id);
    for (const id of ids) {
      this.#statements.deleteEvents.run(id);
      this.#statements.deleteJob.run(id);
    }
    this.#jobCount -= ids.length;
    return ids.length;
  }

  #count(statement: StatementSync, ...args: string[]): number {
    return Number((statement.get(...args) as { n: number }).n);
  }

  #json(value: unknown, what: string): string {
    const json = JSON.stringify(value);
    if (json.length > this.limits.rowBytesMax) {
      throw new OrbitfedError('ORBITFED_JOB_STORE_ROW_TOO_LARGE', `${what} of ${json.length} bytes is larger than the ${this.limits.rowBytesMax} a row may hold`);
    }
    return json;
  }

  #read<T>(doing: string, work: () => T): T {
    this.#checkOpen();
    try {
      return work();
    } catch (error) {
      throw databaseError(error, JOB_STORE_KIND.name, this.path, doing);
    }
  }

  /** Runs `work` in a transaction that commits (and so fsyncs) before returning; rolls back on any error. */
  #write<T>(doing: string, work: () => T): T {
    this.#checkOpen();
    if (this.#depth > 0) return work();
    this.#depth += 1;
    const counts = { jobs: this.#jobCount, idempotency: this.#idempotencyCount };
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      this.#jobCount = counts.jobs;
      this.#idempotencyCount = counts.idempotency;
      throw databaseError(error, JOB_STORE_KIND.name, this.path, doing);
    } finally {
      this.#depth -= 1;
    }
  }

  #checkOpen(): void {
    if (!this.#db.isOpen) throw new OrbitfedError('ORBITFED_JOB_STORE_CLOSED', 'the job store is closed', { file: this.path });
  }
}

function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    putTenant: p(`INSERT INTO tenants (id, roles, operator, api_key_sha256, public_key_hex, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET roles = excluded.roles, operator = excluded.operator, api_key_sha256 = excluded.api_key_sha256,
      public_key_hex = excluded.public_key_hex, updated_ms = excluded.updated_ms`),
    tenantById: p('SELECT * FROM tenants WHERE id = ?'),
    allTenants: p('SELECT * FROM tenants ORDER BY id'),
    deleteTenant: p('DELETE FROM tenants WHERE id = ?'),
    countTenants: p('SELECT count(*) AS n FROM tenants'),
    insertNode: p('INSERT INTO nodes (id, spec_json, registered_by, registered_ms, updated_ms) VALUES (?, ?, ?, ?, ?)'),
    updateNode: p('UPDATE nodes SET spec_json = ?, updated_ms = ? WHERE id = ?'),
    nodeById: p('SELECT * FROM nodes WHERE id = ?'),
    allNodes: p('SELECT * FROM nodes ORDER BY id'),
    nodesAfter: p('SELECT * FROM nodes WHERE id > ? ORDER BY id LIMIT ?'),
    countNodes: p('SELECT count(*) AS n FROM nodes'),
    nodeHeard: p('UPDATE nodes SET last_heard_ms = max(coalesce(last_heard_ms, 0), ?) WHERE id = ?'),
    insertJob: p(`INSERT INTO jobs (id, tenant_id, state, attempt, spec_json, placement_json, escrow_id, reason, deadline_ms, created_ms, updated_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    updateJob: p('UPDATE jobs SET state = ?, attempt = ?, placement_json = ?, escrow_id = ?, result_json = ?, reason = ?, updated_ms = ? WHERE id = ?'),
    jobById: p('SELECT * FROM jobs WHERE id = ?'),
    jobsOfTenant: p('SELECT * FROM jobs WHERE tenant_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    jobsOfTenantInState: p('SELECT * FROM jobs WHERE tenant_id = ? AND state = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    jobsInState: p('SELECT * FROM jobs WHERE state = ? ORDER BY seq'),
    countJobs: p('SELECT count(*) AS n FROM jobs'),
    finishedBefore: p(`SELECT id FROM jobs WHERE state IN (${FINISHED_STATES.map(() => '?').join(', ')}) AND updated_ms < ? ORDER BY updated_ms LIMIT ?`),
    deleteJob: p('DELETE FROM jobs WHERE id = ?'),
    insertEvent: p('INSERT INTO job_events (job_id, at_ms, type, from_state, to_state, detail_json) VALUES (?, ?, ?, ?, ?, ?)'),
    eventsOfJob: p('SELECT * FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
    countEvents: p('SELECT count(*) AS n FROM job_events WHERE job_id = ?'),
    deleteEvents: p('DELETE FROM job_events WHERE job_id = ?'),
    idempotencyGet: p('SELECT body_sha256, status, response_json, created_ms FROM idempotency_keys WHERE tenant_id = ? AND key = ?'),
    idempotencyPut: p(`INSERT INTO idempotency_keys (tenant_id, key, body_sha256, status, response_json, created_ms) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (tenant_id, key) DO UPDATE SET body_sha256 = excluded.body_sha256, status = excluded.status,
      response_json = excluded.response_json, created_ms = excluded.created_ms`),
    idempotencyExpire: p('DELETE FROM idempotency_keys WHERE created_ms < ?'),
    idempotencyDropOldest: p('DELETE FROM idempotency_keys WHERE (tenant_id, key) IN (SELECT tenant_id, key FROM idempotency_keys ORDER BY created_ms LIMIT ?)'),
    countIdempotency: p('SELECT count(*) AS n FROM idempotency_keys'),
  };
}
