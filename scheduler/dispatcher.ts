// The scheduler's dispatcher (issue 8): the scheduler's side of the job protocol
// (job-assignment.ts) on its own DTN node, a BundleAgent on the terrestrial libp2p overlay.
//
// Out: every placed job gets a signed JobAssignment, sent as a bundle to its node's assignments
// endpoint (ipn:<node>.1); once the agent has stored the bundle (`agent.send` returns after the
// commit), the job becomes `dispatched`. A crash between the two leaves the job `placed`, and the
// next start sends the assignment again under the same `assignmentId` (the job's ledger id,
// "<job>.<attempt>"), which a node runs at most once. A re-plan makes a new attempt, hence a new
// assignment; the old one is not recalled (the protocol has no cancellation yet).
//
// In: the node's reports (ipn:<scheduler>.2) and results (ipn:<scheduler>.3, forwarded by the
// station that received them: the assignment names the scheduler's results endpoint as the
// tenant endpoint) are decoded strictly and verified under the node's key before they touch the
// lifecycle:
//   accepted, heartbeat   → heartbeat (the node is alive)
//   started               → started (running)
//   refused               → finished as failed, with the node's reason
//   finished              → finished, unless it succeeded with a result on its way: then the
//                           result's arrival finishes it, naming the station that delivered it
//                           (the deadline sweep expires the job if the result never comes)
//   result                → its bytes kept for the tenant (result-content-store.ts), then
//                           finished (succeeded or failed as the node says), station and
//                           delivery time from the bundle; the same result again (a station or
//                           node re-sending it) is recognised by assignment and digest and only
//                           counted, so nothing is stored twice
// A message that does not decode, is not signed by the node's registered key, names a job that is
// not on that node, or asks for a transition the job cannot make is consumed, logged and counted
// (no retry can change it). Only a failure of the job store leaves the bundle in the bundle store,
// to be delivered again.
//
// Node keys come from `nodePublicKey`: the wiring (scheduler-service.ts) takes NodeSpec's
// `publicKeyHex`, else the validators' node registry.
//
// The overlay plan: the scheduler is not a node of the contact plan (which has stations and
// satellites); its node reaches the stations over the terrestrial overlay. `withOverlayContacts`
// adds always-on contacts both ways between a node and its overlay peers, so CGR routes an
// assignment scheduler → station → (pass) → satellite. With `overlay` given, the dispatcher keeps
// the agent's plan in step with the lifecycle's (re-applied whenever its hash changes).
import { OrbitfedError, type Clock, type CounterMetric, type DurationMs, type GaugeMetric, type Logger, type MetricsRegistry, type TimerHandle } from '../common/index.ts';
import { ContactPlan, type Contact, type PlanNode } from '../contact-plans/index.ts';
import { sha256, type Ed25519Signer } from '../consensus/index.ts';
import { formatEid, ipnEid, type BundleAgent, type Delivery } from '../dtn/index.ts';
import {
  decodeJobResult, decodeNodeReport, encodeJobAssignment, SERVICE_NUMBERS, signJobAssignment, verifyJobResult, verifyNodeReport,
  type AssignmentInput, type JobAssignment, type JobOutcome, type NodeReportKind,
} from './job-assignment.ts';
import { jobRuntime } from './job-spec.ts';
import type { JobLifecycle, JobResult } from './job-lifecycle.ts';
import type { JobRecord, JobStore } from './job-store.ts';
import type { DroppedResultContent } from './result-content-store.ts';

// ---------------------------------------------------------------------------------------------
// The overlay plan

/** A node the overlay connects to another always (a ground station, the scheduler, a gateway). */
export interface OverlayPeer {
  /** Its ipn node number. */
  readonly node: number;
  readonly rateBytesPerSec: number;
  /** One-way delay; default 0.05 s (terrestrial networks). */
  readonly owltSec?: number;
  /** For the plan's node list when the plan does not know the node. */
  readonly id?: string;
}

/**
 * How far past the plan's last contact the overlay contacts reach: the overlay outlives a plan (plans
 * are replaced daily). Kept below 2^31 ms (24.8 days): agents arm timers at contact ends, and
 * setTimeout fires at once for longer delays (Node's TimeoutOverflowWarning).
 */
export const OVERLAY_TAIL_SEC = 20 * 86_400;
const OVERLAY_OWLT_SEC_DEFAULT = 0.05;

/**
 * The plan with always-on contacts both ways between `self` and each peer, from the plan's first
 * contact (or second 0, whichever is earlier) to `OVERLAY_TAIL_SEC` after its last. Pure.
 */
export function withOverlayContacts(plan: ContactPlan, self: number, peers: readonly OverlayPeer[], selfId?: string): ContactPlan {
  if (peers.length === 0) return plan;
  let firstSec = 0;
  let lastSec = 0;
  for (const c of plan.contacts) {
    if (c.startSec < firstSec) firstSec = c.startSec;
    if (c.endSec > lastSec) lastSec = c.endSec;
  }
  const endSec = lastSec + OVERLAY_TAIL_SEC;
  const contacts: Contact[] = [...plan.contacts];
  const nodes: PlanNode[] = [...plan.nodes];
  const known = new Set(plan.nodes.map((n) => n.ipn));
  const addNode = (ipn: number, id: string | undefined): void => {
    if (known.has(ipn)) return;
    known.add(ipn);
    nodes.push({ ipn, id: id ?? String(ipn), kind: 'other' });
  };
  addNode(self, selfId);
  for (const peer of peers) {
    if (peer.node === self) throw new OrbitfedError('ORBITFED_OVERLAY_PEER', `overlay peer ipn:${peer.node} is this node itself`, { field: 'node' });
    if (!(peer.rateBytesPerSec > 0)) throw new OrbitfedError('ORBITFED_OVERLAY_PEER', `overlay peer ipn:${peer.node} needs a rate above 0`, { field: 'rateBytesPerSec' });
    addNode(peer.node, peer.id);
    const base = { startSec: firstSec, endSec, rateBytesPerSec: peer.rateBytesPerSec, owltSec: peer.owltSec ?? OVERLAY_OWLT_SEC_DEFAULT, confidence: 1 };
    contacts.push({ ...base, from: self, to: peer.node }, { ...base, from: peer.node, to: self });
  }
  return new ContactPlan({ epochMs: plan.epochMs, nodes, contacts });
}

// ---------------------------------------------------------------------------------------------
// The dispatcher

export interface DispatcherOptions {
  /** How often placed jobs are looked for. Default 1 s. */
  readonly tickMs: number;
  /** Assignments sent per tick at most; the rest at the next. Default 100. */
  readonly dispatchesPerTickMax: number;
  /** The workload's timeout is its expected run time times this. Default 2. */
  readonly timeoutFactor: number;
  /** Results and finished reports remembered while their counterpart travels. Default 10,000. */
  readonly pendingMax: number;
  /** Clock error allowed between the scheduler and a node (reports dated in the future). Default 5 min. */
  readonly clockSkewMsMax: number;
}

export const DISPATCHER_OPTIONS_DEFAULT: DispatcherOptions = { tickMs: 1_000, dispatchesPerTickMax: 100, timeoutFactor: 2, pendingMax: 10_000, clockSkewMsMax: 300_000 };

export interface DispatcherDeps {
  readonly lifecycle: JobLifecycle;
  /** The job store under the lifecycle (placed jobs and their records; delivered result bytes are kept in its `resultContents`). */
  readonly jobs: Pick<JobStore, 'jobsInStates' | 'job' | 'resultContents'>;
  /** The scheduler's DTN node; started and stopped by its owner. */
  readonly agent: BundleAgent;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
  readonly chainId: string;
  /** The scheduler's signing key: a 32-byte seed, or a signer. */
  readonly schedulerKey: Uint8Array | Ed25519Signer;
  /**
   * A registered node's ed25519 public key, by node id; undefined when unknown (its messages are
   * refused). May throw when the key is not known *yet* (a lookup in flight): the message then stays
   * in the bundle store and is delivered again.
   */
  readonly nodePublicKey: (nodeId: string) => Uint8Array | undefined;
  /** Overlay peers of the scheduler's node (the stations it reaches): keeps the agent's plan = lifecycle plan + overlay. */
  readonly overlay?: readonly OverlayPeer[] | undefined;
  /** The job's input as the assignment carries it; default: inline, empty (the API takes no input bytes yet). */
  readonly inputOf?: ((job: JobRecord) => AssignmentInput) | undefined;
  readonly options?: Partial<DispatcherOptions> | undefined;
}

export interface DispatcherStats {
  readonly dispatched: number;
  readonly dispatchFailures: number;
  readonly reports: number;
  readonly results: number;
  /** Results delivered again (same assignment and bytes) after the job had finished: counted, nothing changed. */
  readonly duplicateResults: number;
  readonly refused: number;
}

/** A message that no retry makes acceptable: consumed and counted. */
class Unacceptable extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const lifecycleOutcome = (outcome: JobOutcome): 'succeeded' | 'failed' => (outcome === 'succeeded' ? 'succeeded' : 'failed');
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export class Dispatcher {
  readonly #deps: DispatcherDeps;
  readonly #options: DispatcherOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #running = false;
  #unregister: (() => void)[] = [];
  #planHash: string | undefined;
  /** Finished reports of succeeded jobs whose result has not arrived: jobId → report fields. */
  readonly #awaitingResult = new Map<string, JobResult>();
  readonly #stats = { dispatched: 0, dispatchFailures: 0, reports: 0, results: 0, duplicateResults: 0, refused: 0 };
  readonly #metrics: {
    readonly dispatched: CounterMetric; readonly received: CounterMetric; readonly refused: CounterMetric;
    readonly contentDropped: CounterMetric; readonly contentDroppedBytes: CounterMetric; readonly contentKeptBytes: GaugeMetric;
  } | undefined;
  /** Dispatch failures logged per job, to keep one broken job from flooding the log every tick. */
  readonly #failureLogged = new Set<string>();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#options = { ...DISPATCHER_OPTIONS_DEFAULT, ...deps.options };
    for (const [name, value] of Object.entries(this.#options)) {
      if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw new OrbitfedError('ORBITFED_DISPATCHER_OPTIONS', `${name} must be a positive number, got ${String(value)}`, { field: name });
    }
    this.#clock = deps.clock;
    this.#log = deps.logger.child({ component: 'dispatcher' });
    const m = deps.metrics;
    this.#metrics = m === undefined ? undefined : {
      dispatched: m.counter('orbitfed_scheduler_assignments_sent_total', 'job assignments stored in the scheduler\'s DTN node for their node'),
      received: m.counter('orbitfed_scheduler_node_messages_total', 'reports and results from nodes, by kind', ['kind']),
      refused: m.counter('orbitfed_scheduler_node_messages_refused_total', 'reports and results refused, by reason', ['reason']),
      contentDropped: m.counter('orbitfed_scheduler_result_contents_dropped_total', 'delivered result bytes no longer kept for download, by reason (retention, store-full, too-large)', ['reason']),
      contentDroppedBytes: m.counter('orbitfed_scheduler_result_content_dropped_bytes_total', 'bytes of delivered results no longer kept for download, by reason', ['reason']),
      contentKeptBytes: m.gauge('orbitfed_scheduler_result_content_kept_bytes', 'bytes of delivered results kept for download'),
    };
    this.#metrics?.contentKeptBytes.set(deps.jobs.resultContents.keptBytes);
  }

  /** The scheduler's report endpoint (what assignments name as `reportTo`). */
  get reportsEid(): string {
    return formatEid(ipnEid(this.#deps.agent.nodeId.nodeNumber, SERVICE_NUMBERS.reports));
  }

  get resultsEid(): string {
    return formatEid(ipnEid(this.#deps.agent.nodeId.nodeNumber, SERVICE_NUMBERS.results));
  }

  stats(): DispatcherStats {
    return { ...this.#stats };
  }

  /** Registers the report and result endpoints on the agent and dispatches at every tick. The agent must be running. */
  start(): void {
    if (this.#running) throw new OrbitfedError('ORBITFED_DISPATCHER_RUNNING', 'the dispatcher is already running');
    this.#running = true;
    this.#syncPlan();
    this.#unregister = [
      this.#deps.agent.register(SERVICE_NUMBERS.reports, (delivery) => this.#onReport(delivery)),
      this.#deps.agent.register(SERVICE_NUMBERS.results, (delivery) => this.#onResult(delivery)),
    ];
    this.#log.info({ reports: this.reportsEid, results: this.resultsEid }, 'dispatcher started');
    this.#tick();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const unregister of this.#unregister) unregister();
    this.#unregister = [];
  }

  /** Sends the assignments of placed jobs now (also done every tick). */
  dispatchPlaced(): number {
    this.#syncPlan();
    const placed = this.#deps.jobs.jobsInStates(['placed']).slice(0, this.#options.dispatchesPerTickMax);
    let sent = 0;
    for (const job of placed) if (this.#dispatch(job)) sent += 1;
    return sent;
  }

  /** Drops result bytes kept past their retention (also done every tick). */
  dropExpiredResults(): readonly DroppedResultContent[] {
    const dropped = this.#deps.jobs.resultContents.dropExpired(this.#clock.now());
    this.#contentDropped(dropped);
    return dropped;
  }

  #contentDropped(dropped: readonly DroppedResultContent[]): void {
    for (const d of dropped) {
      this.#metrics?.contentDropped.inc({ reason: d.reason });
      this.#metrics?.contentDroppedBytes.inc({ reason: d.reason }, d.sizeBytes);
      this.#log.info({ jobId: d.jobId, sizeBytes: d.sizeBytes, storedMs: d.storedMs, reason: d.reason }, 'result content dropped');
    }
    this.#metrics?.contentKeptBytes.set(this.#deps.jobs.resultContents.keptBytes);
  }

  #tick(): void {
    if (!this.#running) return;
    try {
      this.dispatchPlaced();
    } catch (error) {
      this.#log.error({ error: (error as Error).message, code: (error as OrbitfedError).code }, 'dispatch pass failed');
    }
    try {
      this.dropExpiredResults();
    } catch (error) {
      this.#log.error({ error: (error as Error).message, code: (error as OrbitfedError).code }, 'dropping expired result contents failed');
    }
    this.#timer = this.#clock.setTimer(this.#options.tickMs as DurationMs, () => this.#tick());
  }

  #syncPlan(): void {
    const overlay = this.#deps.overlay;
    if (overlay === undefined) return;
    const plan = this.#deps.lifecycle.plan;
    if (plan.hash === this.#planHash) return;
    this.#deps.agent.setPlan(withOverlayContacts(plan, Number(this.#deps.agent.nodeId.nodeNumber), overlay, 'scheduler'));
    this.#planHash = plan.hash;
  }

  /** The assignment for a placed job, as this scheduler signs it. */
  assignmentOf(job: JobRecord): JobAssignment {
    const placement = job.placement;
    if (placement === undefined) throw new OrbitfedError('ORBITFED_DISPATCH_NO_PLACEMENT', `job ${job.id} has no placement`, { field: 'placement' });
    const node = this.#deps.lifecycle.nodes.get(placement.nodeId);
    if (node === undefined) throw new OrbitfedError('ORBITFED_DISPATCH_UNKNOWN_NODE', `job ${job.id} is placed on ${placement.nodeId}, which is not registered`, { field: 'nodeId' });
    const spec = job.spec;
    const runtime = jobRuntime(spec);
    if (spec.command === undefined) {
      throw new OrbitfedError('ORBITFED_DISPATCH_NO_COMMAND', `job ${job.id} gives no command; the node's runtimes run an argv (the image's own entrypoint is not used)`, { field: 'command' });
    }
    const plan = this.#deps.lifecycle.plan;
    const stationEid = (id: string): string | undefined => {
      const found = plan.nodes.find((n) => n.id === id) ?? [...this.#deps.lifecycle.nodes.values()].find((n) => n.spec.id === id)?.spec;
      return found === undefined ? undefined : formatEid(ipnEid(found.ipn, SERVICE_NUMBERS.results));
    };
    const stations = [placement.resultStation, ...spec.result.deliverTo.filter((s) => s !== placement.resultStation)]
      .map(stationEid).filter((eid): eid is string => eid !== undefined).slice(0, 8);
    if (stations.length === 0) throw new OrbitfedError('ORBITFED_DISPATCH_NO_STATION', `job ${job.id}: result station ${placement.resultStation} has no ipn number in the plan`, { field: 'resultStation' });
    // Whole milliseconds, as the protocol's times are (a virtual clock may stand between two).
    const nowMs = Math.floor(this.#clock.now());
    const executionMs = spec.executionMs;
    return {
      chainId: this.#deps.chainId,
      assignmentId: placement.ledgerJobId,
      jobId: job.id,
      ledgerJobId: placement.ledgerJobId,
      nodeId: placement.nodeId,
      workload: {
        runtime,
        image: runtime === 'docker' ? spec.image : undefined,
        command: spec.command,
        env: {},
        cpuMillicores: Math.max(1, Math.ceil(spec.resources.cpu * 1000)),
        memoryBytes: spec.resources.memoryBytes,
        diskBytes: spec.resources.diskBytes ?? 0,
        gpus: spec.resources.gpu ?? 0,
        executionMs,
        timeoutMs: Math.ceil(executionMs * this.#options.timeoutFactor),
      },
      input: this.#deps.inputOf?.(job) ?? { kind: 'inline', bytes: new Uint8Array(0) },
      result: { stations, tenantEndpoint: this.resultsEid, resultBytesMax: Math.min(spec.result.sizeBytes, 64 * 1024 * 1024) },
      reportTo: this.reportsEid,
      deadlineMs: job.deadlineMs,
      escrowId: placement.escrowId,
      priceMinor: BigInt(placement.priceMinor.amount),
      currency: placement.priceMinor.currency,
      issuedAtMs: nowMs,
      // The latest start that can still finish by the deadline; never before now.
      notAfterMs: Math.max(nowMs + 1, job.deadlineMs - executionMs),
    };
  }

  #dispatch(job: JobRecord): boolean {
    try {
      const assignment = this.assignmentOf(job);
      const node = this.#deps.lifecycle.nodes.get(assignment.nodeId)!;
      const payload = encodeJobAssignment(signJobAssignment(assignment, this.#deps.schedulerKey));
      const destination = ipnEid(node.spec.ipn, SERVICE_NUMBERS.assignments);
      const receipt = this.#deps.agent.send({ destination, payload, lifetimeMs: Math.max(1_000, assignment.notAfterMs - assignment.issuedAtMs), mustNotFragment: false });
      this.#deps.lifecycle.dispatched(job.id);
      this.#stats.dispatched += 1;
      this.#metrics?.dispatched.inc();
      this.#failureLogged.delete(job.id);
      this.#log.info({ jobId: job.id, assignmentId: assignment.assignmentId, node: assignment.nodeId, destination: formatEid(destination), bundle: receipt.key, sizeBytes: receipt.sizeBytes }, 'assignment dispatched');
      return true;
    } catch (error) {
      this.#stats.dispatchFailures += 1;
      if (!this.#failureLogged.has(job.id)) {
        if (this.#failureLogged.size >= this.#options.pendingMax) this.#failureLogged.clear();
        this.#failureLogged.add(job.id);
        this.#log.error({ jobId: job.id, code: (error as OrbitfedError).code, error: (error as Error).message }, 'assignment not dispatched; retrying every tick');
      }
      return false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reports and results

  #refuse(kind: string, delivery: Delivery, error: unknown): void {
    this.#stats.refused += 1;
    const code = error instanceof Unacceptable || error instanceof OrbitfedError ? error.code : 'ORBITFED_DISPATCH_ERROR';
    this.#metrics?.refused.inc({ reason: code });
    this.#log.warn({ kind, bundle: delivery.key, source: formatEid(delivery.source), code, error: (error as Error).message }, `${kind} refused`);
  }

  /** Lifecycle calls: refusals by the state machine are the message's fault; store failures are retried. */
  #apply(work: () => void): void {
    try {
      work();
    } catch (error) {
      if (error instanceof OrbitfedError && (error.code.startsWith('ORBITFED_JOB_') && error.code !== 'ORBITFED_JOB_STORE_FULL')) throw new Unacceptable(error.code, error.message);
      throw error;
    }
  }

  #publicKeyOf(nodeId: string): Uint8Array {
    const key = this.#deps.nodePublicKey(nodeId);
    if (key === undefined) throw new Unacceptable('ORBITFED_DISPATCH_UNKNOWN_KEY', `no public key is known for node ${nodeId}`);
    return key;
  }

  #jobOn(jobId: string, nodeId: string): JobRecord {
    const job = this.#deps.jobs.job(jobId);
    if (job === undefined) throw new Unacceptable('ORBITFED_JOB_NOT_FOUND', `no job ${jobId}`);
    if (job.placement?.nodeId !== nodeId) throw new Unacceptable('ORBITFED_JOB_WRONG_NODE', `job ${jobId} is not placed on ${nodeId}`);
    return job;
  }

  #onReport(delivery: Delivery): void {
    try {
      const kind = this.#takeReport(delivery);
      this.#stats.reports += 1;
      this.#metrics?.received.inc({ kind: `report-${kind}` });
    } catch (error) {
      if (error instanceof Unacceptable) this.#refuse('report', delivery, error);
      else throw error;
    }
  }

  /** Applies one report; returns its kind. */
  #takeReport(delivery: Delivery): NodeReportKind {
    let signed;
    try {
      signed = decodeNodeReport(delivery.payload);
    } catch (error) {
      throw new Unacceptable((error as OrbitfedError).code ?? 'ORBITFED_NODE_REPORT_MALFORMED', (error as Error).message);
    }
    const report = signed.report;
    if (report.chainId !== this.#deps.chainId) throw new Unacceptable('ORBITFED_DISPATCH_WRONG_CHAIN', `report for chain ${report.chainId}`);
    if (!verifyNodeReport(signed, this.#publicKeyOf(report.nodeId))) throw new Unacceptable('ORBITFED_DISPATCH_BAD_SIGNATURE', `report ${report.nodeId}#${report.sequence} is not signed by ${report.nodeId}'s key`);
    if (report.atMs > this.#clock.now() + this.#options.clockSkewMsMax) throw new Unacceptable('ORBITFED_DISPATCH_FUTURE', `report dated ${report.atMs - this.#clock.now()} ms in the future`);
    const { lifecycle } = this.#deps;
    this.#log.info({ node: report.nodeId, kind: report.kind, jobId: report.jobId, assignmentId: report.assignmentId, sequence: report.sequence, reasonCode: report.reasonCode }, 'node report');
    if (report.jobId === '') {
      this.#apply(() => lifecycle.heartbeat(report.nodeId));
      return report.kind;
    }
    const job = this.#jobOn(report.jobId, report.nodeId);
    const current = job.placement?.ledgerJobId === report.assignmentId;
    if (!current) {
      // A report about an earlier attempt (re-planned since): the node is alive, nothing more.
      this.#apply(() => lifecycle.heartbeat(report.nodeId));
      return report.kind;
    }
    switch (report.kind) {
      case 'accepted':
      case 'heartbeat':
        this.#apply(() => lifecycle.heartbeat(report.nodeId));
        return report.kind;
      case 'started':
        this.#apply(() => lifecycle.started(report.jobId, report.nodeId));
        return report.kind;
      case 'refused':
        this.#apply(() => lifecycle.finished(report.jobId, report.nodeId, { outcome: 'failed', message: `refused by ${report.nodeId}: ${report.reasonCode}: ${report.reason}` }));
        return report.kind;
      case 'finished': {
        const f = report.finished!;
        const result: JobResult = {
          outcome: lifecycleOutcome(f.outcome),
          exitCode: f.exitCode,
          message: f.outcome === 'succeeded' ? (report.reason === '' ? undefined : report.reason) : `${f.outcome}${report.reason === '' ? '' : `: ${report.reason}`}`,
          resultSizeBytes: f.resultSizeBytes,
          resultSha256: hex(f.resultSha256),
        };
        if (f.outcome === 'succeeded' && f.resultSent) {
          // Finished when the result reaches a station; keep what the report says until then.
          if (this.#awaitingResult.size >= this.#options.pendingMax) this.#awaitingResult.delete(this.#awaitingResult.keys().next().value!);
          this.#awaitingResult.set(report.jobId, result);
          this.#apply(() => lifecycle.heartbeat(report.nodeId));
          return report.kind;
        }
        this.#apply(() => lifecycle.finished(report.jobId, report.nodeId, result));
        return report.kind;
      }
    }
  }

  #onResult(delivery: Delivery): void {
    try {
      let signed;
      try {
        signed = decodeJobResult(delivery.payload);
      } catch (error) {
        throw new Unacceptable((error as OrbitfedError).code ?? 'ORBITFED_JOB_RESULT_MALFORMED', (error as Error).message);
      }
      const r = signed.result;
      if (r.chainId !== this.#deps.chainId) throw new Unacceptable('ORBITFED_DISPATCH_WRONG_CHAIN', `result for chain ${r.chainId}`);
      if (!verifyJobResult(signed, this.#publicKeyOf(r.nodeId))) throw new Unacceptable('ORBITFED_DISPATCH_BAD_SIGNATURE', `result of ${r.jobId} is not signed by ${r.nodeId}'s key`);
      const job = this.#jobOn(r.jobId, r.nodeId);
      this.#stats.results += 1;
      this.#metrics?.received.inc({ kind: 'result' });
      if (job.placement?.ledgerJobId !== r.assignmentId) throw new Unacceptable('ORBITFED_DISPATCH_STALE', `result of assignment ${r.assignmentId}, the job is now ${job.placement?.ledgerJobId}`);
      const digest = hex(sha256(r.bytes));
      if ((job.state === 'succeeded' || job.state === 'failed') && job.result?.resultSha256 === digest) {
        // Delivered before (a node or station re-sent it, or a crash came before the bundle was
        // deleted), or the job failed by its report and these are the bytes it named: kept once.
        this.#contentDropped(this.#deps.jobs.resultContents.put({ jobId: r.jobId, assignmentId: r.assignmentId, bytes: r.bytes, sha256: digest }, this.#clock.now()).dropped);
        this.#stats.duplicateResults += 1;
        this.#metrics?.received.inc({ kind: 'result-duplicate' });
        this.#log.info({ jobId: r.jobId, node: r.nodeId, assignmentId: r.assignmentId, sizeBytes: r.bytes.length }, 'job result delivered again; already stored');
        return;
      }
      // The bytes are committed before the job finishes: a crash in between re-delivers this bundle,
      // and `put` of the same assignment and digest is then a no-op.
      const kept = this.#deps.jobs.resultContents.put({ jobId: r.jobId, assignmentId: r.assignmentId, bytes: r.bytes, sha256: digest }, this.#clock.now());
      this.#contentDropped(kept.dropped);
      const source = delivery.source;
      const stationIpn = source.kind === 'ipn' ? Number(source.nodeNumber) : undefined;
      // The registered node's id, as placements name stations (`resultStation`), and sovereignty rules
      // are checked against; the plan's own name only for a station the registry does not know.
      const station = stationIpn === undefined ? undefined : (this.#deps.lifecycle.nodeByIpn(stationIpn)?.spec.id ?? this.#deps.lifecycle.plan.node(stationIpn)?.id);
      const reported = this.#awaitingResult.get(r.jobId);
      this.#awaitingResult.delete(r.jobId);
      const result: JobResult = {
        ...reported,
        outcome: lifecycleOutcome(r.outcome),
        resultSizeBytes: r.bytes.length,
        resultSha256: digest,
        station,
        deliveredAtMs: delivery.receivedAtMs,
        ...(r.outcome === 'succeeded' || reported?.message !== undefined ? {} : { message: r.outcome }),
      };
      this.#log.info({ jobId: r.jobId, node: r.nodeId, station, sizeBytes: r.bytes.length, outcome: r.outcome }, 'job result delivered');
      try {
        this.#apply(() => this.#deps.lifecycle.finished(r.jobId, r.nodeId, result));
      } catch (error) {
        // The job cannot take this result (it expired or was cancelled meanwhile): its bytes are not kept.
        if (error instanceof Unacceptable && kept.stored) this.#deps.jobs.resultContents.remove(r.jobId);
        throw error;
      }
    } catch (error) {
      if (error instanceof Unacceptable) this.#refuse('result', delivery, error);
      else throw error;
    }
  }
}
