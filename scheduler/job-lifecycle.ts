// A job's life after the API accepted its spec (issue 7, "Lifecycle with persisted state"):
//
//   submitted ──▶ placed ──▶ dispatched ──▶ running ──▶ succeeded
//       │  ▲        │  ▲         │              │  └──▶ failed
//       │  └────────┴──┴─────────┴──────────────┘        (re-planning: back to placed, or to
//       │                                                 submitted while no node fits)
//       └──▶ cancelled / expired / failed  (from every state that is not finished)
//
// - submitted: accepted, waiting for a placement (only after a re-plan found none: a new job is
//   placed before it is stored, and refused if it cannot be);
// - placed: a node, routes for the input and the result with contact volume booked, and the
//   price held in escrow on the ledger (a pending transfer);
// - dispatched: the assignment left for the node; running: the node said it started;
// - succeeded / failed: the node's result report; expired: the deadline passed before a result;
//   cancelled: the tenant's DELETE. Finished states are final.
// Every transition is one store transaction with its event; a transition the table does not
// allow is refused with ORBITFED_JOB_TRANSITION.
//
// Re-planning (Nomad's `disconnect.lost_after`, and contact plans that change): the old bookings
// are released, the old escrow voided, and the job placed again as a new attempt (new escrow). It
// happens when
// - the contact plan is replaced (`replacePlan`): every placed or dispatched job is placed again on
//   the new plan; a running job keeps its node and its result travels on whatever the new plan
//   offers (the bundle agent routes it; the old bookings meant nothing on the new plan);
// - a contact is missed (`contactMissed`): placed or dispatched jobs whose input or result route
//   used it (the contact is kept fully booked from then on, so no new route uses it); a running job whose result route used it only has that booking released (the bundle
//   agent re-routes the result bundle itself: dtn/README.md, "re-routes what a contact failed");
// - a node stays silent past the job's `lostAfterMs` while the job is dispatched or running: the
//   node is avoided for this job from then on (a `node-lost` event remembers it). Unless its
//   receipt already settled the escrow when the void is tried: then the node ran the job, the job
//   stays on it and waits for its result (re-placing it would make the tenant pay twice).
// A job that cannot be placed again waits in `submitted` and is retried at every tick until its
// deadline passes (expired). At most `replansMax` re-plans per job, then it fails: a job that keeps
// losing nodes should not book contacts forever.
//
// Money: escrow amount = the placement's price; its ledger deadline = the job's deadline plus
// `escrowSettlementWindowMs`, the time a receipt has to reach the validators. Cancelling, expiring
// before dispatch and re-planning void the escrow; expiring on a node (it missed the deadline)
// reports an SLA violation, which voids it and slashes the node (consensus/README.md).
//
// Crash safety: state changes commit before anything is reported; ledger operations are
// idempotent by escrow id, so the steps after a crash are simply done again at start-up (`start`
// rebuilds bookings from the stored placements, re-plans jobs whose plan changed, and voids
// pending escrows of this scheduler that no stored job holds: an escrow opened just before a crash
// that lost the job's first commit).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { OrbitfedError, type Clock, type CounterMetric, type Logger, type MetricsRegistry, type TimerHandle } from '../common/index.ts';
import { ContactBookings, type ContactPlan, type ElementSet, type Route } from '../contact-plans/index.ts';
import type { CountryBorders } from './country-borders.ts';
import type { EscrowLedger, EscrowOutcome } from './escrow-ledger.ts';
import type { JobSpec } from './job-spec.ts';
import type { IdempotencyEntry, JobEvent, JobRecord, JobStore, NewJobEvent, NodeRecord } from './job-store.ts';
import { NodeCatalog } from './placement-catalog.ts';
import type { Placed, PlacementDecision, PlacementInput } from './placement.ts';

export type JobState = 'submitted' | 'placed' | 'dispatched' | 'running' | 'succeeded' | 'failed' | 'expired' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['submitted', 'placed', 'dispatched', 'running', 'succeeded', 'failed', 'expired', 'cancelled'];
export const ACTIVE_STATES: readonly JobState[] = ['submitted', 'placed', 'dispatched', 'running'];
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'expired', 'cancelled'];

/** The allowed transitions; `placed → placed` is a re-plan onto another node or route. */
const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  submitted: ['placed', 'cancelled', 'expired', 'failed'],
  placed: ['placed', 'submitted', 'dispatched', 'cancelled', 'expired', 'failed'],
  dispatched: ['placed', 'submitted', 'running', 'succeeded', 'failed', 'cancelled', 'expired'],
  running: ['placed', 'submitted', 'succeeded', 'failed', 'cancelled', 'expired'],
  succeeded: [],
  failed: [],
  expired: [],
  cancelled: [],
};

export function isFinished(state: JobState): boolean {
  return FINISHED_STATES.includes(state);
}

/** Throws ORBITFED_JOB_TRANSITION when the table does not allow `from → to`. */
export function checkTransition(jobId: string, from: JobState, to: JobState): void {
  if (TRANSITIONS[from].includes(to)) return;
  const allowed = TRANSITIONS[from];
  throw new OrbitfedError('ORBITFED_JOB_TRANSITION',
    `job ${jobId} is ${from}; it cannot become ${to} (${allowed.length === 0 ? `${from} is final` : `from ${from} only ${allowed.join(', ')}`})`, { field: 'state' });
}

/** What the store keeps of a placement: the decision's `placed` as JSON (the price as a decimal string) plus the plan and ledger ids. */
export interface PlacementRecord extends Placed {
  readonly planHash: string;
  /** "<job id>.<attempt>": the job as the ledger and the node's receipt name it. */
  readonly ledgerJobId: string;
  /** The escrow holding the price, or undefined for a free placement. */
  readonly escrowId: string | undefined;
  /** Whether the contact volume of the routes is booked now (false once released, e.g. while running after a missed contact). */
  readonly booked: boolean;
}

/** A node's report of how the job ended. */
export interface JobResult {
  readonly outcome: 'succeeded' | 'failed';
  readonly exitCode?: number | undefined;
  readonly message?: string | undefined;
  readonly resultSizeBytes?: number | undefined;
  /** The ground station the result was delivered to, and when. */
  readonly station?: string | undefined;
  readonly deliveredAtMs?: number | undefined;
  /** SHA-256 of the result bytes, lower-case hex. */
  readonly resultSha256?: string | undefined;
}

export interface JobLifecycleOptions {
  /** Sweep period for deadlines, silent nodes and unplaced jobs. */
  readonly tickMs: number;
  /** Re-plans per job before it fails. */
  readonly replansMax: number;
  /** How long after the job's deadline its escrow stays pending for the receipt to settle it. */
  readonly escrowSettlementWindowMs: number;
  /** `lostAfterMs` of jobs that do not give one. */
  readonly lostAfterMsDefault: number;
  /** Prefix of this scheduler's job ids; recovery voids only its own orphaned escrows. */
  readonly jobIdPrefix: string;
}

export const JOB_LIFECYCLE_OPTIONS_DEFAULT: JobLifecycleOptions = {
  tickMs: 5_000,
  replansMax: 16,
  escrowSettlementWindowMs: 48 * 3_600_000,
  lostAfterMsDefault: 3_600_000,
  jobIdPrefix: 'job-',
};

/** The pure placement functions (scheduler/placement.ts), injected so the simulator can wrap them. */
export interface Placement {
  placeJob(input: PlacementInput): PlacementDecision;
  reservePlacement(bookings: ContactBookings, placed: Placed, job: JobSpec): void;
  releasePlacement(bookings: ContactBookings, placed: Placed, job: JobSpec): void;
}

/** What placement needs besides the nodes and the plan (scheduler/placement-catalog.ts). */
export interface CatalogOptions {
  /** Chain id and auditor keys: attestations count only when they verify under these. */
  readonly chainId?: string | undefined;
  readonly auditorKeys?: ReadonlyMap<string, Uint8Array> | undefined;
  /** Element sets of orbital nodes and country borders, for processing-footprint rules. */
  readonly elements?: readonly ElementSet[] | undefined;
  readonly borders?: CountryBorders | undefined;
}

export interface JobLifecycleDeps {
  readonly store: JobStore;
  readonly escrow: EscrowLedger;
  readonly placement: Placement;
  readonly plan: ContactPlan;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
  readonly options?: Partial<JobLifecycleOptions> | undefined;
  readonly catalog?: CatalogOptions | undefined;
  /** Fresh job ids; random by default (tests inject a sequence). */
  readonly newJobId?: (() => string) | undefined;
}

export type SubmitOutcome =
  | { readonly kind: 'placed'; readonly job: JobRecord; readonly decision: PlacementDecision }
  /** No node can take it (or not by the deadline): nothing was stored. */
  | { readonly kind: 'refused'; readonly decision: PlacementDecision }
  /** The ledger refused the escrow (e.g. insufficient funds): nothing was stored, the bookings were released. */
  | { readonly kind: 'escrow-refused'; readonly decision: PlacementDecision; readonly code: string; readonly detail: string };

const placedOf = (record: PlacementRecord): Placed => record;

function recordOf(placed: Placed, planHash: string, ledgerJobId: string, escrowId: string | undefined): PlacementRecord {
  return {
    planHash, nodeId: placed.nodeId, inputRoute: placed.inputRoute, resultRoute: placed.resultRoute,
    inputArrivalMs: placed.inputArrivalMs, startMs: placed.startMs, finishMs: placed.finishMs, resultArrivalMs: placed.resultArrivalMs,
    resultStation: placed.resultStation, priceMinor: { currency: placed.priceMinor.currency, amount: String(placed.priceMinor.amount) },
    score: placed.score, scoreParts: placed.scoreParts, ledgerJobId, escrowId, booked: true,
  };
}

const usesContact = (route: Route, contact: number): boolean => route.hops.some((h) => h.contact === contact);

export class JobLifecycle {
  readonly #store: JobStore;
  readonly #escrow: EscrowLedger;
  readonly #placement: Placement;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #options: JobLifecycleOptions;
  readonly #newJobId: () => string;
  readonly #counters: { readonly transitions: CounterMetric; readonly refusals: CounterMetric } | undefined;
  readonly #catalogOptions: CatalogOptions;
  #plan: ContactPlan;
  #bookings: ContactBookings;
  #catalog: NodeCatalog;
  #nodes = new Map<string, NodeRecord>();
  #nodesByIpn = new Map<number, NodeRecord>();
  #reputation = new Map<string, number>();
  /** Contacts of the current plan reported missed: kept full in the bookings so no route uses them. */
  #missed = new Set<number>();
  #timer: TimerHandle | undefined;
  #started = false;
  /**
   * The jobs not finished, as stored (this lifecycle is their only writer, so the copy follows every
   * commit): placement's load and spread, and the sweeps, read them without parsing the store's
   * JSON per request. Bounded by the store's `jobsMax`.
   */
  readonly #active = new Map<string, JobRecord>();
  /** Per node, what its placed, dispatched and running jobs ask of it; per spread key, their count (kept with #active). */
  readonly #loadByNode = new Map<string, { queuedExecutionMs: number; cpuInUse: number; memoryBytesInUse: number }>();
  readonly #spreadCounts = new Map<string, number>();
  /** Serialises sweeps and plan changes with each other (submissions place synchronously). */
  #sweeping: Promise<void> = Promise.resolve();

  constructor(deps: JobLifecycleDeps) {
    this.#store = deps.store;
    this.#escrow = deps.escrow;
    this.#placement = deps.placement;
    this.#clock = deps.clock;
    this.#log = deps.logger.child({ component: 'job-lifecycle' });
    this.#options = { ...JOB_LIFECYCLE_OPTIONS_DEFAULT, ...deps.options };
    this.#newJobId = deps.newJobId ?? (() => `${this.#options.jobIdPrefix}${randomBytes(12).toString('hex')}`);
    this.#catalogOptions = deps.catalog ?? {};
    this.#plan = deps.plan;
    this.#bookings = new ContactBookings(deps.plan);
    this.#catalog = this.#buildCatalog();
    for (const job of this.#store.jobsInStates(ACTIVE_STATES)) this.#track(job);
    this.#counters = deps.metrics === undefined ? undefined : {
      transitions: deps.metrics.counter('orbitfed_scheduler_job_transitions_total', 'Job state transitions, by the state entered.', ['state']),
      refusals: deps.metrics.counter('orbitfed_scheduler_job_refusals_total', 'Jobs refused at submission, by reason.', ['reason']),
    };
  }

  get plan(): ContactPlan {
    return this.#plan;
  }

  get bookings(): ContactBookings {
    return this.#bookings;
  }

  /** The registered nodes, by id (as of the last `refreshNodes`). */
  get nodes(): ReadonlyMap<string, NodeRecord> {
    return this.#nodes;
  }

  /** The registered node with this ipn number, if any. */
  nodeByIpn(ipn: number): NodeRecord | undefined {
    return this.#nodesByIpn.get(ipn);
  }

  /** The node's reputation on the ledger (ppm), if the ledger knows it. */
  reputationOf(nodeId: string): number | undefined {
    return this.#reputation.get(nodeId);
  }

  /**
   * Recovery, then the periodic sweep: loads nodes and reputations, books the routes of stored
   * placements on the current plan (re-planning those made on another plan), voids this
   * scheduler's orphaned escrows, and places jobs waiting in `submitted`.
   */
  async start(): Promise<void> {
    assert.ok(!this.#started, 'the lifecycle is already started');
    this.#started = true;
    await this.refreshNodes();
    const active = this.#activeJobs(ACTIVE_STATES);
    const stale: JobRecord[] = [];
    for (const job of active) {
      const placement = job.placement;
      if (placement === undefined || !placement.booked) continue;
      if (placement.planHash === this.#plan.hash && this.#tryBook(placement, job.spec)) continue;
      // Not booked (another plan, or no room any more): nothing to release when it is re-planned.
      stale.push({ ...job, placement: { ...placement, booked: false } });
    }
    for (const escrow of await this.#escrow.pendingEscrows()) {
      if (!escrow.ledgerJobId.startsWith(this.#options.jobIdPrefix)) continue;
      // "<job id>.<attempt>": an escrow is held while its job's current placement names it (a
      // finished job's too: its receipt settles it); any other is an orphan of a crash.
      const job = this.#store.job(escrow.ledgerJobId.slice(0, escrow.ledgerJobId.lastIndexOf('.')));
      if (job?.placement?.escrowId === escrow.escrowId) continue;
      const outcome = await this.#escrow.voidEscrow(escrow.escrowId);
      this.#log.warn({ escrowId: escrow.escrowId, outcome }, 'voided an escrow no stored job holds (opened before a crash)');
    }
    for (const job of stale) await this.#afterPlanChange(job);
    await this.sweep();
    this.#schedule();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#started = false;
  }

  /** Reloads the registered nodes and their ledger reputations (after a registration). */
  async refreshNodes(): Promise<void> {
    const nodes = this.#store.nodes();
    const reputation = new Map<string, number>();
    for (const n of nodes) {
      const ppm = await this.#escrow.reputationPpm(n.spec.id);
      if (ppm !== undefined) reputation.set(n.spec.id, ppm);
    }
    // From here on synchronous: no placement sees half of the change.
    this.#nodes = new Map(nodes.map((n) => [n.spec.id, n]));
    this.#nodesByIpn = new Map(nodes.map((n) => [n.spec.ipn, n]));
    this.#reputation = reputation;
    this.#catalog = this.#buildCatalog();
    this.#loadByNode.clear();
    this.#spreadCounts.clear();
    for (const job of this.#active.values()) this.#count(job, 1);
  }

  #buildCatalog(): NodeCatalog {
    return new NodeCatalog({ ...this.#catalogOptions, nodes: [...this.#nodes.values()].map((n) => n.spec), plan: this.#plan });
  }

  /** Placement without commitment: what would happen to this spec now (`POST /v1/placements:dry-run`). */
  dryRun(spec: JobSpec): PlacementDecision {
    return this.#decide(spec, []);
  }

  /**
   * Places, escrows and stores a new job, in that order: nothing is stored unless all succeeded.
   * `idempotency` builds the response to remember, inside the job's commit.
   */
  async submit(tenantId: string, spec: JobSpec, idempotency?: (job: JobRecord, decision: PlacementDecision) => IdempotencyEntry): Promise<SubmitOutcome> {
    const decision = this.#decide(spec, []);
    if (decision.placed === null) {
      this.#counters?.refusals.inc({ reason: decision.earliestFeasibleMs !== undefined ? 'deadline' : 'unplaceable' });
      return { kind: 'refused', decision };
    }
    const jobId = this.#newJobId();
    const attempt = 1;
    const placed = decision.placed;
    this.#placement.reservePlacement(this.#bookings, placed, spec);
    let record: PlacementRecord;
    try {
      const escrow = await this.#openEscrow(tenantId, jobId, attempt, spec, placed);
      if (!escrow.outcome.ok) {
        this.#release(placed, spec);
        this.#counters?.refusals.inc({ reason: 'escrow' });
        return { kind: 'escrow-refused', decision, code: escrow.outcome.code, detail: escrow.outcome.detail };
      }
      record = recordOf(placed, this.#plan.hash, `${jobId}.${attempt}`, escrow.escrowId);
    } catch (error) {
      this.#release(placed, spec);
      throw error;
    }
    const nowMs = this.#clock.now();
    let job: JobRecord;
    try {
      job = this.#store.createJob(
        { id: jobId, tenantId, state: 'placed', attempt, spec, placement: record },
        [
          { type: 'submitted', toState: 'submitted', detail: {} },
          { type: 'placed', fromState: 'submitted', toState: 'placed', detail: placementDetail(record, decision) },
        ],
        nowMs,
        idempotency === undefined ? undefined : (stored) => idempotency(stored, decision),
      );
      this.#track(job);
    } catch (error) {
      // Not stored: give the volume back and the money (the escrow id is this job's alone).
      this.#release(placed, spec);
      if (record.escrowId !== undefined) await this.#escrow.voidEscrow(record.escrowId);
      throw error;
    }
    this.#counters?.transitions.inc({ state: 'placed' });
    this.#log.info({ jobId, tenantId, nodeId: record.nodeId, resultArrivalMs: record.resultArrivalMs }, 'job placed');
    return { kind: 'placed', job, decision };
  }

  /** The tenant's DELETE: cancels a job that is not finished, voids its escrow, releases its contacts. */
  async cancel(tenantId: string, jobId: string): Promise<JobRecord> {
    const job = this.#store.jobOfTenant(tenantId, jobId);
    if (job === undefined) throw new OrbitfedError('ORBITFED_JOB_NOT_FOUND', `no job ${jobId}`, { field: 'id' });
    return this.#finish(job, 'cancelled', 'cancelled by the tenant', {});
  }

  /** The assignment left for the node. */
  dispatched(jobId: string): JobRecord {
    return this.#move(this.#need(jobId), 'dispatched', { type: 'dispatched', detail: {} });
  }

  /** The node reports the job started. */
  started(jobId: string, nodeId: string): JobRecord {
    const job = this.#need(jobId);
    this.#checkNode(job, nodeId);
    this.heartbeat(nodeId);
    return this.#move(job, 'running', { type: 'running', detail: { nodeId } });
  }

  /** The node reports how the job ended (the result is at a station). */
  finished(jobId: string, nodeId: string, result: JobResult): JobRecord {
    const job = this.#need(jobId);
    this.#checkNode(job, nodeId);
    this.heartbeat(nodeId);
    checkTransition(jobId, job.state, result.outcome);
    const placement = job.placement!;
    // Stored first, then the bookings released: a store failure (the dispatcher's result bundle is
    // then delivered again) must not release them twice.
    const next = this.#transition(jobId, job.state, { state: result.outcome, result, placement: { ...placement, booked: false } },
      [{ type: result.outcome, fromState: job.state, toState: result.outcome, detail: { nodeId, ...result } }], this.#clock.now());
    if (placement.booked) this.#release(placedOf(placement), job.spec);
    this.#counters?.transitions.inc({ state: result.outcome });
    return next;
  }

  /** The node was heard from (any message proves it is alive). */
  heartbeat(nodeId: string): void {
    if (this.#nodes.has(nodeId)) this.#store.nodeHeard(nodeId, this.#clock.now());
  }

  /** A contact of the current plan did not happen: jobs relying on it are re-planned (see the file header). */
  contactMissed(contact: number): Promise<void> {
    assert.ok(Number.isInteger(contact) && contact >= 0 && contact < this.#plan.contacts.length, `contact ${contact} is not in the plan`);
    return this.#serialised(async () => {
      this.#missed.add(contact);
      this.#sealMissed();
      for (const job of this.#activeJobs(['placed', 'dispatched', 'running'])) {
        const placement = job.placement;
        if (placement === undefined || !placement.booked || placement.planHash !== this.#plan.hash) continue;
        const inInput = usesContact(placement.inputRoute, contact);
        const inResult = usesContact(placement.resultRoute, contact);
        if (!inInput && !inResult) continue;
        const detail = { contact, inputRoute: inInput, resultRoute: inResult };
        if (job.state === 'running') {
          this.#release(placedOf(placement), job.spec);
          this.#transition(job.id, 'running', { state: 'running', placement: { ...placement, booked: false } },
            [{ type: 'contact-missed', detail: { ...detail, action: 'result left to the bundle agent to re-route' } }], this.#clock.now());
          continue;
        }
        await this.#replan(job, { type: 'contact-missed', detail });
      }
    });
  }

  /** A new contact plan: placed and dispatched jobs are placed again on it (see the file header). */
  replacePlan(plan: ContactPlan): Promise<void> {
    return this.#serialised(async () => {
      if (plan.hash === this.#plan.hash) return;
      const previous = this.#plan.hash;
      this.#plan = plan;
      this.#bookings = new ContactBookings(plan);
      this.#missed = new Set();
      this.#catalog = this.#buildCatalog();
      this.#log.info({ previous, current: plan.hash, contacts: plan.contacts.length }, 'contact plan replaced');
      for (const job of this.#activeJobs(['placed', 'dispatched', 'running'])) await this.#afterPlanChange(job);
    });
  }

  /** One sweep: deadlines, silent nodes, jobs waiting for a placement. Runs every `tickMs` once started. */
  sweep(): Promise<void> {
    return this.#serialised(async () => {
      const nowMs = this.#clock.now();
      for (const job of this.#activeJobs(ACTIVE_STATES)) {
        if (job.deadlineMs <= nowMs) {
          await this.#finish(job, 'expired', 'the deadline passed before a result arrived', {});
          continue;
        }
        if (job.state === 'dispatched' || job.state === 'running') {
          const nodeId = job.placement!.nodeId;
          const lostAfterMs = job.spec.lostAfterMs ?? this.#options.lostAfterMsDefault;
          const heardMs = Math.max(this.#store.node(nodeId)?.lastHeardMs ?? 0, job.updatedMs);
          if (nowMs - heardMs > lostAfterMs) {
            await this.#replan(job, { type: 'node-lost', detail: { nodeId, silentMs: nowMs - heardMs, lostAfterMs } });
          }
          continue;
        }
        if (job.state === 'submitted') await this.#replan(job, { type: 'placement-retried', detail: {} });
      }
    });
  }

  // ---------------------------------------------------------------- internals

  /** A store transition, mirrored in the active-job index. */
  #transition(...args: Parameters<JobStore['transition']>): JobRecord {
    const job = this.#store.transition(...args);
    this.#track(job);
    return job;
  }

  /** Puts the job's current record in the active index (or takes it out once finished), keeping load and spread in step. */
  #track(job: JobRecord): void {
    const previous = this.#active.get(job.id);
    if (previous !== undefined) this.#count(previous, -1);
    if (isFinished(job.state)) {
      this.#active.delete(job.id);
      return;
    }
    this.#active.set(job.id, job);
    this.#count(job, 1);
  }

  #count(job: JobRecord, sign: 1 | -1): void {
    if (job.state === 'submitted' || job.placement === undefined) return;
    const nodeId = job.placement.nodeId;
    const load = this.#loadByNode.get(nodeId) ?? { queuedExecutionMs: 0, cpuInUse: 0, memoryBytesInUse: 0 };
    if (job.state === 'running') {
      load.cpuInUse += sign * job.spec.resources.cpu;
      load.memoryBytesInUse += sign * job.spec.resources.memoryBytes;
    } else {
      load.queuedExecutionMs += sign * job.spec.executionMs;
    }
    if (load.queuedExecutionMs === 0 && load.memoryBytesInUse === 0 && Math.abs(load.cpuInUse) < 1e-9) this.#loadByNode.delete(nodeId);
    else this.#loadByNode.set(nodeId, load);
    const node = this.#nodes.get(nodeId)?.spec;
    if (node === undefined) return;
    for (const key of spreadKeysOf(node)) {
      const count = (this.#spreadCounts.get(key) ?? 0) + sign;
      if (count === 0) this.#spreadCounts.delete(key);
      else this.#spreadCounts.set(key, count);
    }
  }

  /** Active jobs in `states`, oldest first. */
  #activeJobs(states: readonly JobState[]): JobRecord[] {
    return [...this.#active.values()].filter((j) => states.includes(j.state)).sort((a, b) => a.seq - b.seq);
  }

  #schedule(): void {
    if (!this.#started) return;
    this.#timer = this.#clock.setTimer(this.#options.tickMs as never, () => {
      this.sweep().catch((error: unknown) => this.#log.error({ err: error }, 'job sweep failed')).finally(() => this.#schedule());
    });
  }

  #serialised(work: () => Promise<void>): Promise<void> {
    const run = this.#sweeping.then(work);
    this.#sweeping = run.catch(() => {});
    return run;
  }

  #decide(spec: JobSpec, avoidNodes: readonly string[]): PlacementDecision {
    const nowMs = this.#clock.now();
    const job = avoidNodes.length === 0 ? spec : { ...spec, antiAffinity: { ...spec.antiAffinity, nodes: [...new Set([...(spec.antiAffinity?.nodes ?? []), ...avoidNodes])] } };
    const { load, spreadCounts } = this.#loadOf();
    return this.#placement.placeJob({ job, nodes: this.#catalog, plan: this.#plan, bookings: this.#bookings, nowMs, load, spreadCounts, reputationPpm: this.#reputation });
  }

  /** What the active jobs already ask of each node (kept incrementally with the active index). */
  #loadOf(): Pick<PlacementInput, 'load' | 'spreadCounts'> {
    return { load: this.#loadByNode, spreadCounts: this.#spreadCounts };
  }

  /** Gives back a placement's volume, keeping missed contacts full. */
  #release(placed: Placed, spec: JobSpec): void {
    this.#placement.releasePlacement(this.#bookings, placed, spec);
    this.#sealMissed();
  }

  /** Books whatever volume is left on missed contacts (whole bytes), so placement routes around them. */
  #sealMissed(): void {
    for (const contact of this.#missed) {
      const residualBytes = Math.floor(this.#bookings.residualBytes(contact));
      if (residualBytes > 0) this.#bookings.book([contact], residualBytes);
    }
  }

  #tryBook(placement: PlacementRecord, spec: JobSpec): boolean {
    try {
      this.#placement.reservePlacement(this.#bookings, placedOf(placement), spec);
      return true;
    } catch (error) {
      if (error instanceof OrbitfedError) return false;
      throw error;
    }
  }

  async #openEscrow(tenantId: string, jobId: string, attempt: number, spec: JobSpec, placed: Placed): Promise<{ escrowId: string | undefined; outcome: EscrowOutcome }> {
    const amountMinor = BigInt(placed.priceMinor.amount);
    if (amountMinor === 0n) return { escrowId: undefined, outcome: { ok: true, status: 'no-op' } };
    const escrowId = `${jobId}.${attempt}`;
    const outcome = await this.#escrow.openEscrow({
      escrowId, ledgerJobId: escrowId, tenantId, nodeId: placed.nodeId, currency: placed.priceMinor.currency, amountMinor,
      deadlineMs: spec.deadlineMs + this.#options.escrowSettlementWindowMs,
    });
    return { escrowId, outcome };
  }

  /** Releases what a placement holds: its bookings (if booked on the current plan) and its escrow. */
  async #releaseHeld(job: JobRecord, how: 'void' | 'sla'): Promise<Record<string, unknown>> {
    const placement = job.placement;
    if (placement === undefined) return {};
    if (placement.booked && placement.planHash === this.#plan.hash) this.#release(placedOf(placement), job.spec);
    if (placement.escrowId === undefined) return {};
    let outcome: EscrowOutcome;
    if (how === 'sla') {
      outcome = await this.#escrow.reportSlaViolation({ reportId: `sla.${placement.ledgerJobId}`, ledgerJobId: placement.ledgerJobId, nodeId: placement.nodeId });
      // The ledger refuses a report against a node it does not know; the tenant still gets the money back.
      if (!outcome.ok) outcome = await this.#escrow.voidEscrow(placement.escrowId);
    } else {
      outcome = await this.#escrow.voidEscrow(placement.escrowId);
    }
    if (!outcome.ok && outcome.code !== 'ORBITFED_LEDGER_ESCROW_RESOLVED') {
      this.#log.error({ jobId: job.id, escrowId: placement.escrowId, outcome }, 'the ledger refused to release an escrow');
    }
    return { escrowId: placement.escrowId, escrow: how === 'sla' ? 'sla-reported' : 'voided', ledger: outcome.ok ? outcome.status : outcome.code };
  }

  async #finish(job: JobRecord, state: 'cancelled' | 'expired', reason: string, detail: Record<string, unknown>): Promise<JobRecord> {
    checkTransition(job.id, job.state, state);
    const onNode = job.state === 'dispatched' || job.state === 'running';
    const released = await this.#releaseHeld(job, state === 'expired' && onNode ? 'sla' : 'void');
    const placement = job.placement === undefined ? undefined : { ...job.placement, booked: false };
    const next = this.#transition(job.id, job.state, { state, reason, ...(placement === undefined ? {} : { placement }) },
      [{ type: state, fromState: job.state, toState: state, detail: { ...detail, ...released, reason } }], this.#clock.now());
    this.#counters?.transitions.inc({ state });
    this.#log.info({ jobId: job.id, state, reason }, 'job finished');
    return next;
  }

  async #afterPlanChange(job: JobRecord): Promise<void> {
    if (job.state === 'running') {
      const placement = job.placement!;
      this.#transition(job.id, 'running', { state: 'running', placement: { ...placement, booked: false } },
        [{ type: 'plan-changed', detail: { planHash: this.#plan.hash, action: 'result left to the bundle agent to route on the new plan' } }], this.#clock.now());
      return;
    }
    await this.#replan(job, { type: 'plan-changed', detail: { planHash: this.#plan.hash } });
  }

  /** Releases the job's placement and places it again as a new attempt; `submitted` if nothing fits. */
  async #replan(job: JobRecord, cause: NewJobEvent): Promise<void> {
    const nowMs = this.#clock.now();
    const replans = job.attempt - 1;
    if (replans >= this.#options.replansMax) {
      const released = await this.#releaseHeld(job, 'void');
      this.#transition(job.id, job.state, { state: 'failed', reason: `re-planned ${replans} times, the most allowed`, placement: job.placement === undefined ? null : { ...job.placement, booked: false } },
        [cause, { type: 'failed', fromState: job.state, toState: 'failed', detail: { ...released, reason: 'too many re-plans' } }], nowMs);
      this.#counters?.transitions.inc({ state: 'failed' });
      return;
    }
    const avoid = this.#avoidedNodes(job.id);
    if (cause.type === 'node-lost') avoid.push(String(cause.detail?.nodeId));
    const released = await this.#releaseHeld(job, 'void');
    if (await this.#settledByItsNode(job, released)) {
      // The void came too late: the node's receipt already paid this attempt, so the node ran the job
      // and its result is on its way. Placing it again would make the tenant pay twice.
      const placement = job.placement === undefined ? null : { ...job.placement, booked: false };
      this.#transition(job.id, job.state, { state: job.state, placement },
        [{ ...cause, detail: { ...cause.detail, ...released, action: 'kept on its node: its receipt settled the escrow, so it ran; waiting for its result' } }], nowMs);
      this.#log.info({ jobId: job.id, cause: cause.type, nodeId: job.placement?.nodeId }, 'job not re-planned: its node was paid by receipt');
      return;
    }
    const decision = this.#decide(job.spec, avoid);
    const attempt = job.attempt + 1;
    const causeDetail: Record<string, unknown> = { ...cause.detail, ...released };
    const causeEvent: NewJobEvent = { ...cause, detail: causeDetail };
    if (decision.placed !== null) {
      const placed = decision.placed;
      this.#placement.reservePlacement(this.#bookings, placed, job.spec);
      const escrow = await this.#openEscrow(job.tenantId, job.id, attempt, job.spec, placed);
      if (escrow.outcome.ok) {
        const record = recordOf(placed, this.#plan.hash, `${job.id}.${attempt}`, escrow.escrowId);
        this.#transition(job.id, job.state, { state: 'placed', attempt, placement: record, reason: `re-planned: ${cause.type}` },
          [causeEvent, { type: 'replanned', fromState: job.state, toState: 'placed', detail: placementDetail(record, decision) }], this.#clock.now());
        this.#counters?.transitions.inc({ state: 'placed' });
        this.#log.info({ jobId: job.id, cause: cause.type, nodeId: record.nodeId, attempt }, 'job re-planned');
        return;
      }
      this.#release(placed, job.spec);
      causeDetail['escrowRefused'] = `${escrow.outcome.code}: ${escrow.outcome.detail}`;
    }
    // A waiting job that still fits nowhere stays as it is: retries are not re-plans and write nothing.
    if (job.state === 'submitted' && cause.type === 'placement-retried' && causeDetail['escrowRefused'] === undefined) return;
    const unplaced = job.placement === undefined ? null : { ...job.placement, booked: false, escrowId: undefined };
    const why = decision.explanation.join(' ');
    this.#transition(job.id, job.state, { state: 'submitted', attempt, placement: unplaced, reason: `waiting for a placement: ${why}` },
      [causeEvent, { type: 'unplaced', fromState: job.state, toState: 'submitted', detail: { rejected: decision.rejected, earliestFeasibleMs: decision.earliestFeasibleMs } }],
      this.#clock.now());
  }

  /** Whether the escrow `#releaseHeld` could not void was posted: a receipt settled the attempt, so the node ran it. */
  async #settledByItsNode(job: JobRecord, released: Record<string, unknown>): Promise<boolean> {
    const escrowId = job.placement?.escrowId;
    if (escrowId === undefined || released['ledger'] !== 'ORBITFED_LEDGER_ESCROW_RESOLVED') return false;
    if (job.state !== 'dispatched' && job.state !== 'running') return false;
    return (await this.#escrow.escrow(escrowId))?.status === 'posted';
  }

  /** Nodes this job lost (node-lost events): never placed there again. */
  #avoidedNodes(jobId: string): string[] {
    const events: JobEvent[] = this.#store.events(jobId, this.#store.limits.eventsPerJobMax, undefined).items as JobEvent[];
    return events.filter((e) => e.type === 'node-lost' && typeof e.detail['nodeId'] === 'string').map((e) => e.detail['nodeId'] as string);
  }

  #need(jobId: string): JobRecord {
    const job = this.#store.job(jobId);
    if (job === undefined) throw new OrbitfedError('ORBITFED_JOB_NOT_FOUND', `no job ${jobId}`, { field: 'id' });
    return job;
  }

  #checkNode(job: JobRecord, nodeId: string): void {
    if (job.placement?.nodeId !== nodeId) {
      throw new OrbitfedError('ORBITFED_JOB_WRONG_NODE', `job ${job.id} is placed on ${job.placement?.nodeId ?? 'no node'}, not ${nodeId}`, { field: 'nodeId' });
    }
  }

  #move(job: JobRecord, to: JobState, event: NewJobEvent): JobRecord {
    checkTransition(job.id, job.state, to);
    const next = this.#transition(job.id, job.state, { state: to }, [{ ...event, fromState: job.state, toState: to }], this.#clock.now());
    this.#counters?.transitions.inc({ state: to });
    return next;
  }
}

/** Keys a node counts under for spread (placement-score.ts's spreadKeyOf): its operator and its country (or state of registry). */
function spreadKeysOf(node: NodeRecord['spec']): string[] {
  const country = node.jurisdiction.country ?? node.jurisdiction.registry;
  return [`operator:${node.operator}`, ...(country === undefined ? [] : [`country:${country}`])];
}

function placementDetail(record: PlacementRecord, decision: PlacementDecision): Record<string, unknown> {
  return {
    nodeId: record.nodeId, resultStation: record.resultStation, inputArrivalMs: record.inputArrivalMs, startMs: record.startMs,
    finishMs: record.finishMs, resultArrivalMs: record.resultArrivalMs, priceMinor: record.priceMinor, escrowId: record.escrowId ?? null,
    ledgerJobId: record.ledgerJobId, planHash: record.planHash, explanation: decision.explanation,
  };
}
