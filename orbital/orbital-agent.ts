// The orbital agent (issue 8): the program on a satellite's flight computer that takes signed job
// assignments out of bundles, runs them on the workload runtime within limits, and sends back
// reports, results and a signed usage receipt, store-and-forward, through the node's bundle agent.
//
// Life of an assignment here (services: scheduler/README.md):
// 1. Its bundle reaches service 1 and is handed to `#onAssignment` inside the bundle store's
//    delivery transaction (exactly once, dtn/README.md). It is decoded strictly and verified
//    (chain, node, validity window, the scheduler's signature); a bad one is refused with a
//    `refused` report — to the configured `reportsTo`, since an unverified `reportTo` could aim our
//    reports anywhere — and the agent carries on. A good one that the node can run (runtime, CPU,
//    memory, timeout, input and result sizes within the limits; fewer than `queuedJobsMax` jobs) is
//    recorded as `waiting` in the assignment store with its `accepted` report, in one commit, before
//    the delivery commits. A copy (after a crash, or resent) is a duplicate by assignment id.
// 2. When a slot is free (`concurrentJobs`) and its input is here (inline, or every part on
//    service 7 with the size and SHA-256 the assignment names), it becomes `running`, with its
//    `started` report, committed before the workload starts; a job not started by its notAfterMs
//    ends `expired`. The workload runs in a fresh work directory with the input in `input`
//    ($ORBITFED_INPUT) and may write `result` ($ORBITFED_RESULT); otherwise its stdout is the result.
// 3. When it ends, one commit records the outcome with the `finished` report, the signed result
//    (to the first result station) and a signed usage receipt (to `receiptsTo`): CPU ms as measured,
//    memory byte-seconds = peak × wall time, egress = the result payload's bytes; the price when it
//    succeeded, 0 otherwise (which releases the tenant's escrow at once). No receipt when the
//    workload never ran (refused, expired, the runtime could not start it, lost).
// 4. The outbox moves these messages into the bundle store (`#flush`), oldest first; the bundle
//    agent routes them on the contact plan and holds them until a contact opens.
// Restart: a job that was `running` ends `lost` ("agent restarted"), never run again (see
// assignment-store.ts for why); waiting jobs wait on; the outbox is flushed again.
//
// Storage (the node's bound): the bundle store refuses what does not fit (nothing stored is
// evicted; bundles leave when forwarded or when their lifetime ends). Results enter it only while a
// reserve (1/16 of its capacity) stays free for reports and receipts; results that cannot enter
// wait in the outbox, which holds at most `outboxResultBytesMax` of them and drops the oldest first
// when a newer one needs the room (logged `orbital.result-dropped`). Telemetry and heartbeats that
// do not fit are dropped and counted. Everything else waits in the outbox until there is room or
// its lifetime ends.
//
// Periodic work runs on the injected Clock: housekeeping telemetry (service 5), heartbeats for
// running jobs, pruning of finished assignments, outbox retries. Contact plan updates (service 6)
// are verified, parsed, written durably, then applied at once (BundleAgent.setPlan).
import { OrbitfedError, type Clock, type CounterMetric, type GaugeMetric, type Logger, type MetricsRegistry, type TimerHandle, type UnixMs, durationMs, silentLogger } from '../common/index.ts';
import { ContactPlan, parseContactPlanText } from '../contact-plans/plan.ts';
import { makeReceipt, sha256, signReceipt, encodeSignedReceipt, type Ed25519Signer } from '../consensus/node.ts';
import { BUNDLE_PRIORITY, planTimeBaseOf, type BundleAgent, type Delivery } from '../dtn/index.ts';
import type { WorkloadResult, WorkloadRuntime, WorkloadSpec } from '../runtime/index.ts';
import { MEMORY_BYTES_MIN, OUTPUT_BYTES_MAX } from '../runtime/index.ts';
import {
  decodeContactPlanUpdate, decodeJobAssignment, decodeJobInputPart, encodeJobResult, encodeNodeReport, encodeTelemetryPayload, inputPartMatches,
  JOB_RESULT_OVERHEAD_BYTES_MAX, reportReasonText, SERVICE_NUMBERS, signJobResult, signNodeReport, verifyContactPlanUpdate, verifyJobAssignment,
  type FinishedDetail, type JobAssignment, type JobOutcome, type NodeReportKind,
} from '../scheduler/node-protocol.ts';
import { AssignmentStore, type AssignmentStoreLimits, type OutboxMessage, type StoredAssignment, type StoredOutboxMessage } from './assignment-store.ts';
import type { HousekeepingRecord } from './housekeeping.ts';
import { JobWorkspace, INPUT_FILE, RESULT_FILE, workloadIdOf } from './job-workspace.ts';
import { writePlanState } from './plan-state.ts';

export interface OrbitalJobLimits {
  readonly concurrentJobs: number;
  readonly queuedJobsMax: number;
  readonly jobTimeMsMax: number;
  readonly cpuCoresMax: number;
  readonly memoryBytesMax: number;
  readonly resultBytesMax: number;
  /** Total input bytes of one job. */
  readonly inputBytesMax: number;
}

export interface OrbitalAgentSettings {
  readonly nodeId: string;
  readonly chainId: string;
  readonly keyEpoch: number;
  readonly schedulerPublicKey: Uint8Array;
  readonly runtimeKind: 'process' | 'docker';
  readonly storePath: string;
  readonly storeLimits: Partial<AssignmentStoreLimits>;
  /** Job work directories go here (emptied at start). */
  readonly workRoot: string;
  /** Where plan updates are kept (plan-state.ts). */
  readonly planStatePath: string;
  /** Issue time of the plan the bundle agent started with (0 for the configured file). */
  readonly planIssuedAtMs: number;
  /** The bundle store's capacity: results leave 1/16 of it for reports and receipts. */
  readonly bundleStoreBytes: number;
  readonly limits: OrbitalJobLimits;
  readonly endpoints: { readonly reportsTo: string; readonly receiptsTo: string; readonly telemetryTo: string };
  readonly telemetryPeriodMs: number;
  readonly telemetryLifetimeMs: number;
  readonly heartbeatPeriodMs: number;
  readonly bundleLifetimeMs: number;
  readonly receiptValidityMs: number;
  readonly clockSkewMsMax: number;
  /** How soon the outbox is tried again when the bundle store had no room. Default 30 s. */
  readonly outboxRetryMs?: number;
  /** Period of pruning finished assignments and stale inputs. Default 1 h. */
  readonly pruneIntervalMs?: number;
}

export interface OrbitalAgentDeps {
  readonly clock: Clock;
  /** Not started: the orbital agent starts and stops it. */
  readonly bundles: BundleAgent;
  /** Not started: the orbital agent starts and stops it. */
  readonly runtime: WorkloadRuntime;
  readonly signer: Ed25519Signer;
  readonly housekeeping?: { read(signal?: AbortSignal): Promise<HousekeepingRecord> };
  readonly logger?: Logger;
  readonly metrics?: MetricsRegistry;
}

export interface OrbitalAgentStatus {
  readonly running: readonly string[];
  readonly waiting: number;
  readonly finished: number;
  readonly outboxMessages: number;
  readonly outboxResultBytes: number;
  readonly storedBundles: number;
  readonly storedBytes: number;
  readonly planIssuedAtMs: number;
}

interface RunningJob {
  readonly assignment: JobAssignment;
  readonly startedMs: number;
  readonly controller: AbortController;
  done: Promise<void>;
}

interface Metrics {
  readonly assignments: CounterMetric;
  readonly finished: CounterMetric;
  readonly dropped: CounterMetric;
  readonly telemetry: CounterMetric;
  readonly jobs: GaugeMetric;
  readonly outboxMessages: GaugeMetric;
  readonly outboxBytes: GaugeMetric;
  readonly storedBundles: GaugeMetric;
  readonly storedBytes: GaugeMetric;
}

const OUTBOX_BATCH = 64;
const OUTBOX_RETRY_MS_DEFAULT = 30_000;
const PRUNE_INTERVAL_MS_DEFAULT = 3_600_000;
const STDERR_REASON_BYTES = 200;
const NO_RESULT_SHA256 = sha256(new Uint8Array(0));

/** Ids of a report: the assignment's when it could be read, else empty (an unreadable assignment). */
interface ReportSubject {
  readonly jobId: string;
  readonly assignmentId: string;
  /** Where the report goes. */
  readonly reportTo: string;
}

const REASON_CODE_OF: Readonly<Record<JobOutcome, string>> = {
  succeeded: '', failed: 'workload-failed', 'timed-out': 'timeout', 'killed-memory': 'memory-limit', cancelled: 'agent-stopped',
  expired: 'not-started', lost: 'agent-restarted',
};

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The orbital agent; see the header. */
export class OrbitalAgent {
  readonly #settings: OrbitalAgentSettings;
  readonly #deps: OrbitalAgentDeps;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #workspace: JobWorkspace;
  readonly #metrics: Metrics | undefined;
  readonly #jobs = new Map<string, RunningJob>();
  readonly #timers = new Map<string, TimerHandle>();
  readonly #unregister: (() => void)[] = [];
  #store: AssignmentStore | undefined;
  #running = false;
  #abort = new AbortController();
  #planIssuedAtMs: number;
  #pumpQueued = false;
  #flushing = false;
  #flushAgain = false;
  #pumpWakeAtMs = Infinity;

  constructor(settings: OrbitalAgentSettings, deps: OrbitalAgentDeps) {
    this.#settings = settings;
    this.#deps = deps;
    this.#clock = deps.clock;
    this.#log = (deps.logger ?? silentLogger()).child({ component: 'orbital-agent' });
    this.#workspace = new JobWorkspace(settings.workRoot);
    this.#planIssuedAtMs = settings.planIssuedAtMs;
    const m = deps.metrics;
    this.#metrics = m === undefined ? undefined : {
      assignments: m.counter('orbitfed_orbital_assignments_total', 'Assignments received, by verdict (accepted, duplicate, or the refusal code).', ['verdict']),
      finished: m.counter('orbitfed_orbital_jobs_finished_total', 'Jobs ended, by outcome.', ['outcome']),
      dropped: m.counter('orbitfed_orbital_messages_dropped_total', 'Messages given up, by kind and reason.', ['kind', 'reason']),
      telemetry: m.counter('orbitfed_orbital_telemetry_sent_total', 'Housekeeping telemetry bundles stored for sending.'),
      jobs: m.gauge('orbitfed_orbital_jobs', 'Assignments kept, by state.', ['state']),
      outboxMessages: m.gauge('orbitfed_orbital_outbox_messages', 'Messages waiting for room in the bundle store.'),
      outboxBytes: m.gauge('orbitfed_orbital_outbox_bytes', 'Bytes of messages waiting for room in the bundle store.'),
      storedBundles: m.gauge('orbitfed_orbital_stored_bundles', 'Bundles in the bundle store.'),
      storedBytes: m.gauge('orbitfed_orbital_stored_bytes', 'Bytes of bundles in the bundle store.'),
    };
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Opens the assignment store, ends jobs a crash interrupted, starts the runtime and the bundle
   * agent (whose stored bundles are then delivered), and the periodic work.
   */
  async start(): Promise<void> {
    if (this.#running) throw new OrbitfedError('ORBITFED_ORBITAL_STATE', 'the orbital agent is already running');
    const store = AssignmentStore.open(this.#settings.storePath, this.#settings.storeLimits);
    try {
      this.#store = store;
      this.#abort = new AbortController();
      this.#recoverInterrupted(store);
      const removed = await this.#workspace.removeAllBut([]);
      if (removed > 0) this.#log.info({ event: 'orbital.workspaces-removed', count: removed }, 'removed work directories an earlier run left');
      const capabilities = await this.#deps.runtime.start(this.#abort.signal);
      this.#log.info({ event: 'orbital.runtime-started', kind: capabilities.kind, enforcement: capabilities.enforcement, notes: capabilities.notes }, 'workload runtime started');
      const bundles = this.#deps.bundles;
      this.#unregister.push(
        bundles.register(SERVICE_NUMBERS.assignments, (d) => this.#onAssignment(d)),
        bundles.register(SERVICE_NUMBERS.inputs, (d) => this.#onInput(d)),
        bundles.register(SERVICE_NUMBERS.contactPlans, (d) => this.#onPlanUpdate(d)),
      );
      await bundles.start();
    } catch (error) {
      for (const unregister of this.#unregister.splice(0)) unregister();
      await this.#deps.runtime.stop().catch(() => {});
      store.close();
      this.#store = undefined;
      throw error;
    }
    this.#running = true;
    this.#log.info({ event: 'orbital.started', node: this.#settings.nodeId, ...store.stats() }, 'orbital agent started');
    this.#every('prune', this.#settings.pruneIntervalMs ?? PRUNE_INTERVAL_MS_DEFAULT, () => this.#prune());
    if (this.#settings.telemetryPeriodMs > 0 && this.#deps.housekeeping !== undefined) this.#every('telemetry', this.#settings.telemetryPeriodMs, () => this.#sendTelemetry());
    if (this.#settings.heartbeatPeriodMs > 0) this.#every('heartbeat', this.#settings.heartbeatPeriodMs, () => this.#sendHeartbeats());
    this.#queuePump();
    this.#queueFlush();
  }

  /**
   * Stops periodic work, cancels running workloads (they end `cancelled`, reported and receipted
   * like any ending), then stops the runtime and the bundle agent and closes the store.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
    this.#pumpWakeAtMs = Infinity;
    this.#abort.abort(new OrbitfedError('ORBITFED_ORBITAL_STOPPED', 'the orbital agent is stopping'));
    await Promise.allSettled([...this.#jobs.values()].map((job) => job.done));
    await this.#deps.runtime.stop().catch((error: unknown) => this.#log.warn({ event: 'orbital.runtime-stop-failed', error: errorText(error) }, 'runtime did not stop cleanly'));
    this.#flushNow();
    for (const unregister of this.#unregister.splice(0)) unregister();
    await this.#deps.bundles.stop();
    this.#store?.close();
    this.#store = undefined;
    this.#log.info({ event: 'orbital.stopped', node: this.#settings.nodeId }, 'orbital agent stopped');
  }

  status(): OrbitalAgentStatus {
    const stats = this.#requireStore().stats();
    const bundles = this.#deps.bundles.metrics();
    return {
      running: [...this.#jobs.keys()],
      waiting: stats.waiting,
      finished: stats.finished,
      outboxMessages: stats.outboxMessages,
      outboxResultBytes: stats.outboxResultBytes,
      storedBundles: bundles.storedBundles,
      storedBytes: bundles.storedBytes,
      planIssuedAtMs: this.#planIssuedAtMs,
    };
  }

  /** Refreshes the gauges (called before each /metrics rendering). */
  collectMetrics(): void {
    const m = this.#metrics;
    const store = this.#store;
    if (m === undefined || store === undefined) return;
    const stats = store.stats();
    m.jobs.set({ state: 'waiting' }, stats.waiting);
    m.jobs.set({ state: 'running' }, stats.running);
    m.jobs.set({ state: 'finished' }, stats.finished);
    m.outboxMessages.set(stats.outboxMessages);
    m.outboxBytes.set(stats.outboxBytes);
    const bundles = this.#deps.bundles.metrics();
    m.storedBundles.set(bundles.storedBundles);
    m.storedBytes.set(bundles.storedBytes);
  }

  // -------------------------------------------------------------------------------------------
  // Assignments, inputs and plan updates (inside the bundle store's delivery transaction)

  #onAssignment(delivery: Delivery): void {
    const store = this.#requireStore();
    const nowMs = this.#nowMs();
    const fallback: ReportSubject = { jobId: '', assignmentId: '', reportTo: this.#settings.endpoints.reportsTo };
    let signed;
    try {
      signed = decodeJobAssignment(delivery.payload);
    } catch (error) {
      this.#refuse(fallback, 'malformed', error instanceof OrbitfedError ? `${error.code}: ${error.message}` : errorText(error), delivery.key);
      return;
    }
    const a = signed.assignment;
    const untrusted: ReportSubject = { ...fallback, jobId: a.jobId, assignmentId: a.assignmentId };
    const verdict = verifyJobAssignment(signed, {
      chainId: this.#settings.chainId, nodeId: this.#settings.nodeId, schedulerPublicKey: this.#settings.schedulerPublicKey, nowMs,
      clockSkewMsMax: this.#settings.clockSkewMsMax,
    });
    if (!verdict.ok) {
      this.#refuse(untrusted, verdict.reason, verdict.detail, delivery.key);
      return;
    }
    const trusted: ReportSubject = { jobId: a.jobId, assignmentId: a.assignmentId, reportTo: a.reportTo };
    const problem = this.#limitProblem(a);
    if (problem !== undefined) {
      this.#refuse(trusted, problem.code, problem.reason, delivery.key);
      return;
    }
    const outcome = store.transaction(() => {
      const stats = store.stats();
      if (store.assignment(a.assignmentId) !== undefined) return 'duplicate' as const;
      if (stats.waiting + stats.running >= this.#settings.limits.queuedJobsMax) return 'busy' as const;
      return store.recordAssignment(
        { assignmentId: a.assignmentId, jobId: a.jobId, bytes: delivery.payload, notAfterMs: a.notAfterMs, receivedMs: nowMs },
        [this.#reportMessage(trusted, 'accepted', '', '', undefined)],
      );
    });
    if (outcome === 'duplicate') {
      this.#metrics?.assignments.inc({ verdict: 'duplicate' });
      this.#log.info({ event: 'orbital.assignment-duplicate', assignmentId: a.assignmentId, bundle: delivery.key }, 'assignment already known; not run again');
      return;
    }
    if (outcome === 'busy' || outcome === 'full') {
      this.#refuse(trusted, 'busy', `the node holds ${outcome === 'busy' ? `${this.#settings.limits.queuedJobsMax} jobs` : 'as many assignments as it keeps'}; try later or elsewhere`, delivery.key);
      return;
    }
    this.#metrics?.assignments.inc({ verdict: 'accepted' });
    this.#log.info({ event: 'orbital.assignment-accepted', assignmentId: a.assignmentId, jobId: a.jobId, notAfterMs: a.notAfterMs, bundle: delivery.key }, 'assignment accepted');
    this.#queuePump();
    this.#queueFlush();
  }

  /** Why the node will not run an authentic assignment, if it will not. */
  #limitProblem(a: JobAssignment): { code: string; reason: string } | undefined {
    const w = a.workload;
    const limits = this.#settings.limits;
    if (w.runtime !== this.#settings.runtimeKind) return { code: 'runtime-unsupported', reason: `the job needs the ${w.runtime} runtime; this node runs ${this.#settings.runtimeKind}` };
    const over = (what: string, asked: number, most: number): { code: string; reason: string } => ({ code: 'exceeds-limits', reason: `${what} ${asked} is above this node's ${most}` });
    if (w.cpuMillicores / 1000 > limits.cpuCoresMax) return over('cpu cores', w.cpuMillicores / 1000, limits.cpuCoresMax);
    if (w.memoryBytes > limits.memoryBytesMax) return over('memoryBytes', w.memoryBytes, limits.memoryBytesMax);
    if (w.timeoutMs > limits.jobTimeMsMax) return over('timeoutMs', w.timeoutMs, limits.jobTimeMsMax);
    if (a.result.resultBytesMax > limits.resultBytesMax) return over('resultBytesMax', a.result.resultBytesMax, limits.resultBytesMax);
    if (w.gpus > 0) return over('gpus', w.gpus, 0);
    const inputBytes = a.input.kind === 'inline' ? a.input.bytes.length : a.input.parts.reduce((sum, p) => sum + p.sizeBytes, 0);
    if (inputBytes > limits.inputBytesMax) return over('input bytes', inputBytes, limits.inputBytesMax);
    return undefined;
  }

  #refuse(subject: ReportSubject, code: string, reason: string, bundleKey: string): void {
    this.#metrics?.assignments.inc({ verdict: code });
    this.#log.warn({ event: 'orbital.assignment-refused', code, reason, assignmentId: subject.assignmentId || undefined, bundle: bundleKey }, 'assignment refused');
    const store = this.#requireStore();
    const queued = store.transaction(() => store.enqueue(this.#reportMessage(subject, 'refused', code, reason, undefined)));
    if (!queued.queued) this.#dropped('report', queued.reason, { assignmentId: subject.assignmentId });
    this.#queueFlush();
  }

  #onInput(delivery: Delivery): void {
    let part;
    try {
      part = decodeJobInputPart(delivery.payload);
    } catch (error) {
      this.#dropped('input', 'malformed', { bundle: delivery.key, error: errorText(error) });
      return;
    }
    const stored = this.#requireStore().putInput(part.inputId, part.bytes, this.#nowMs());
    if (stored === 'full') this.#dropped('input', 'input-store-full', { inputId: part.inputId, sizeBytes: part.bytes.length });
    else this.#log.info({ event: 'orbital.input-received', inputId: part.inputId, sizeBytes: part.bytes.length, duplicate: stored === 'duplicate' }, 'input part received');
    this.#queuePump();
  }

  #onPlanUpdate(delivery: Delivery): void {
    let update;
    try {
      const signed = decodeContactPlanUpdate(delivery.payload);
      if (!verifyContactPlanUpdate(signed, this.#settings.chainId, this.#settings.schedulerPublicKey)) {
        this.#log.warn({ event: 'orbital.plan-update-refused', reason: "not signed by the scheduler's key for this chain", bundle: delivery.key }, 'contact plan update refused');
        return;
      }
      update = signed.update;
    } catch (error) {
      this.#log.warn({ event: 'orbital.plan-update-refused', reason: errorText(error), bundle: delivery.key }, 'contact plan update refused');
      return;
    }
    if (update.issuedAtMs <= this.#planIssuedAtMs) {
      this.#log.info({ event: 'orbital.plan-update-stale', issuedAtMs: update.issuedAtMs, currentIssuedAtMs: this.#planIssuedAtMs }, 'contact plan update is not newer than the plan in use');
      return;
    }
    let plan: ContactPlan;
    try {
      plan = new ContactPlan(parseContactPlanText(update.planText, 'contact plan update'));
      planTimeBaseOf(plan, update.planEpochMs);
    } catch (error) {
      this.#log.warn({ event: 'orbital.plan-update-refused', reason: errorText(error), bundle: delivery.key }, 'contact plan update refused');
      return;
    }
    // Durable first: a crash after this starts on the new plan; the bundle's redelivery is then stale.
    writePlanState(this.#settings.planStatePath, update);
    this.#deps.bundles.setPlan(plan, update.planEpochMs);
    this.#planIssuedAtMs = update.issuedAtMs;
    this.#log.info({ event: 'orbital.plan-updated', issuedAtMs: update.issuedAtMs, planHash: plan.hash, contacts: plan.contacts.length }, 'contact plan replaced');
  }

  /**
   * The service's plan-refresh schedule read the configured plan file again: its plan replaces the
   * one in use unless a signed update is in use (updates supersede the file). Atomic, like an
   * update: the bundle agent routes on the old plan or the new one. `planEpochMs` as configured.
   */
  applyConfiguredPlan(plan: ContactPlan, planEpochMs: number | undefined): 'applied' | 'superseded' {
    if (this.#planIssuedAtMs > 0) return 'superseded';
    planTimeBaseOf(plan, planEpochMs);
    this.#deps.bundles.setPlan(plan, planEpochMs);
    this.#log.info({ event: 'orbital.plan-refreshed', planHash: plan.hash, contacts: plan.contacts.length }, 'contact plan file read again and applied');
    return 'applied';
  }

  /** Housekeeping telemetry now (the service's telemetry schedule, when one is configured). */
  async sendTelemetryNow(): Promise<void> {
    if (!this.#running || this.#deps.housekeeping === undefined) return;
    await this.#sendTelemetry();
  }

  /** Store compaction (the service's schedule): prune, then checkpoint and shrink the assignment store. */
  compactStores(): { readonly walPagesCheckpointed: number; readonly freePages: number; readonly fileBytes: number } {
    this.#prune();
    const result = this.#requireStore().compact();
    this.#log.info({ event: 'orbital.store-compacted', ...result }, 'assignment store compacted');
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Running jobs

  #queuePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      try {
        this.#pump();
      } catch (error) {
        this.#log.error({ event: 'orbital.error', during: 'pump', error: errorText(error) }, 'could not start waiting jobs');
        this.#wakePumpAt(this.#nowMs() + (this.#settings.outboxRetryMs ?? OUTBOX_RETRY_MS_DEFAULT));
      }
    });
  }

  #pump(): void {
    if (!this.#running) return;
    const store = this.#requireStore();
    const nowMs = this.#nowMs();
    let wakeAtMs = Infinity;
    for (const row of store.inState('waiting', this.#settings.limits.queuedJobsMax)) {
      if (this.#jobs.has(row.assignmentId)) continue;
      const a = decodeJobAssignment(row.bytes).assignment;
      const inputs = this.#inputsOf(a);
      if (nowMs > a.notAfterMs) {
        const reason = inputs === undefined ? `its input did not arrive before notAfterMs (${a.notAfterMs})` : `no slot was free before notAfterMs (${a.notAfterMs})`;
        this.#end(a, { outcome: 'expired', reasonCode: 'not-started', reason, exitCode: undefined, usage: undefined, startedMs: undefined }, undefined, false);
        continue;
      }
      if (inputs === undefined || this.#jobs.size >= this.#settings.limits.concurrentJobs) {
        wakeAtMs = Math.min(wakeAtMs, a.notAfterMs + 1);
        continue;
      }
      this.#startJob(a, inputs, nowMs);
    }
    this.#wakePumpAt(wakeAtMs);
  }

  #wakePumpAt(atMs: number): void {
    if (atMs === Infinity || atMs >= this.#pumpWakeAtMs) return;
    this.#timers.get('pump')?.cancel();
    this.#pumpWakeAtMs = atMs;
    this.#timers.set('pump', this.#clock.setTimer(durationMs(Math.max(0, atMs - this.#nowMs())), () => {
      this.#timers.delete('pump');
      this.#pumpWakeAtMs = Infinity;
      this.#queuePump();
    }));
  }

  /** The job's input in order, when all of it is here and matches the assignment. */
  #inputsOf(a: JobAssignment): Uint8Array[] | undefined {
    if (a.input.kind === 'inline') return [a.input.bytes];
    const store = this.#requireStore();
    const chunks: Uint8Array[] = [];
    for (const ref of a.input.parts) {
      const bytes = store.input(ref.inputId);
      if (bytes === undefined) return undefined;
      if (!inputPartMatches({ inputId: ref.inputId, bytes }, ref)) {
        // Not what the signed assignment names: dropped; a correct copy may still come.
        store.deleteInputs([ref.inputId]);
        this.#dropped('input', 'digest-mismatch', { inputId: ref.inputId, assignmentId: a.assignmentId });
        return undefined;
      }
      chunks.push(bytes);
    }
    return chunks;
  }

  #startJob(a: JobAssignment, inputs: readonly Uint8Array[], nowMs: number): void {
    const store = this.#requireStore();
    const subject = { jobId: a.jobId, assignmentId: a.assignmentId, reportTo: a.reportTo };
    // Committed before the workload starts: after a crash this job is lost, never started twice.
    store.transaction(() => store.markRunning(a.assignmentId, nowMs, [this.#reportMessage(subject, 'started', '', '', undefined)]));
    if (a.input.kind === 'parts') store.deleteInputs(a.input.parts.map((p) => p.inputId));
    const controller = new AbortController();
    const onStop = (): void => controller.abort(this.#abort.signal.reason);
    this.#abort.signal.addEventListener('abort', onStop, { once: true });
    const job: RunningJob = { assignment: a, startedMs: nowMs, controller, done: Promise.resolve() };
    this.#jobs.set(a.assignmentId, job);
    this.#log.info({ event: 'orbital.job-started', assignmentId: a.assignmentId, jobId: a.jobId }, 'job started');
    job.done = this.#run(a, inputs, controller.signal, nowMs)
      .catch((error: unknown) => this.#log.error({ event: 'orbital.error', during: 'job', assignmentId: a.assignmentId, error: errorText(error) }, 'job bookkeeping failed'))
      .finally(() => {
        this.#abort.signal.removeEventListener('abort', onStop);
        this.#jobs.delete(a.assignmentId);
        this.#queuePump();
        this.#queueFlush();
      });
    this.#queueFlush();
  }

  async #run(a: JobAssignment, inputs: readonly Uint8Array[], signal: AbortSignal, startedMs: number): Promise<void> {
    const kind = this.#settings.runtimeKind;
    let dir: string;
    try {
      dir = await this.#workspace.prepare(a.assignmentId, inputs);
    } catch (error) {
      this.#end(a, { outcome: 'failed', reasonCode: 'workspace', reason: `could not prepare the work directory: ${errorText(error)}`, exitCode: undefined, usage: undefined, startedMs }, undefined, false);
      return;
    }
    const resultBytesMax = Math.min(a.result.resultBytesMax, this.#settings.limits.resultBytesMax);
    const inside = kind === 'docker' ? '/work' : dir;
    const spec: WorkloadSpec = {
      id: workloadIdOf(a.assignmentId),
      command: a.workload.command,
      ...(a.workload.image === undefined ? {} : { image: a.workload.image }),
      env: {
        ...a.workload.env,
        ORBITFED_INPUT: `${inside}/${INPUT_FILE}`,
        ORBITFED_RESULT: `${inside}/${RESULT_FILE}`,
        ORBITFED_JOB_ID: a.jobId,
        ORBITFED_ASSIGNMENT_ID: a.assignmentId,
      },
      workDir: dir,
      limits: {
        cpuCores: Math.max(0.01, a.workload.cpuMillicores / 1000),
        memoryBytes: Math.max(MEMORY_BYTES_MIN, a.workload.memoryBytes),
        timeoutMs: durationMs(a.workload.timeoutMs),
        outputBytesMax: Math.min(OUTPUT_BYTES_MAX, resultBytesMax),
      },
    };
    let result: WorkloadResult;
    try {
      result = await this.#deps.runtime.run(spec, signal);
    } catch (error) {
      await this.#workspace.remove(a.assignmentId).catch(() => {});
      const code = error instanceof OrbitfedError ? error.code : 'ORBITFED_RUNTIME';
      // The agent stopping aborts the signal; a runtime that refuses because of that has not failed the job.
      if (signal.aborted) {
        this.#end(a, { outcome: 'cancelled', reasonCode: 'agent-stopped', reason: `the agent stopped (${code})`, exitCode: undefined, usage: undefined, startedMs }, undefined, false);
        return;
      }
      this.#end(a, { outcome: 'failed', reasonCode: 'runtime-refused', reason: `${code}: ${errorText(error)}`, exitCode: undefined, usage: undefined, startedMs }, undefined, false);
      return;
    }
    let bytes: Uint8Array | undefined;
    let resultProblem = '';
    const file = await this.#workspace.readResult(a.assignmentId, resultBytesMax);
    if (file.kind === 'read') bytes = file.bytes;
    else if (file.kind === 'too-large') resultProblem = `the result file is ${file.sizeBytes} bytes, more than the ${resultBytesMax} allowed; not sent`;
    else if (file.kind === 'not-a-file') resultProblem = `${file.detail}; not sent`;
    else if (result.stdout.truncated) resultProblem = `stdout was ${result.stdout.totalBytes} bytes, more than the ${resultBytesMax} allowed; not sent`;
    else bytes = new Uint8Array(result.stdout.bytes);
    await this.#workspace.remove(a.assignmentId).catch((error: unknown) => this.#log.warn({ event: 'orbital.workspace-remove-failed', error: errorText(error) }, 'work directory not removed'));
    const stderr = result.stderr.bytes.subarray(0, STDERR_REASON_BYTES).toString('utf8').trim();
    const reason = [result.reason, resultProblem, result.outcome !== 'succeeded' && stderr !== '' ? `stderr: ${stderr}` : ''].filter((s) => s !== '').join('; ');
    this.#end(a, {
      outcome: result.outcome,
      reasonCode: resultProblem !== '' && result.outcome === 'succeeded' ? 'result-not-sent' : REASON_CODE_OF[result.outcome],
      reason,
      exitCode: result.exitCode !== null && result.exitCode >= 0 && result.exitCode <= 255 ? result.exitCode : undefined,
      usage: { cpuMs: Math.round(result.usage.cpuMs), memoryPeakBytes: result.usage.memoryPeakBytes ?? undefined, wallMs: Math.round(result.wallMs) },
      startedMs,
    }, bytes, true);
  }

  /**
   * Records how a job ended with its messages, in one commit: the finished report, and when the
   * workload ran, the result (if any) and the receipt.
   */
  #end(
    a: JobAssignment,
    ending: { outcome: JobOutcome; reasonCode: string; reason: string; exitCode: number | undefined; usage: FinishedDetail['usage'] | undefined; startedMs: number | undefined },
    resultBytes: Uint8Array | undefined,
    workloadRan: boolean,
  ): void {
    const store = this.#store;
    if (store === undefined) return;
    const nowMs = this.#nowMs();
    const subject = { jobId: a.jobId, assignmentId: a.assignmentId, reportTo: a.reportTo };
    const usage = ending.usage ?? { cpuMs: 0, memoryPeakBytes: undefined, wallMs: ending.startedMs === undefined ? 0 : Math.max(0, nowMs - ending.startedMs) };
    const dropped = store.transaction(() => {
      const messages: OutboxMessage[] = [];
      let resultPayload: Uint8Array | undefined;
      if (resultBytes !== undefined) {
        resultPayload = encodeJobResult(signJobResult({
          chainId: this.#settings.chainId, nodeId: this.#settings.nodeId, jobId: a.jobId, assignmentId: a.assignmentId, outcome: ending.outcome,
          tenantEndpoint: a.result.tenantEndpoint, atMs: nowMs, bytes: resultBytes,
        }, this.#deps.signer));
        messages.push({ assignmentId: a.assignmentId, kind: 'result', destination: a.result.stations[0]!, priority: BUNDLE_PRIORITY.normal, expiresMs: nowMs + this.#settings.bundleLifetimeMs, payload: resultPayload });
      }
      const finished: FinishedDetail = {
        outcome: ending.outcome, exitCode: ending.exitCode, usage, resultSizeBytes: resultBytes?.length ?? 0,
        resultSha256: resultBytes === undefined ? NO_RESULT_SHA256 : sha256(resultBytes), resultSent: resultBytes !== undefined,
      };
      messages.unshift(this.#reportMessage(subject, 'finished', ending.reasonCode, ending.reason, finished));
      if (workloadRan) {
        const receipt = signReceipt(makeReceipt({
          chainId: this.#settings.chainId, nodeId: this.#settings.nodeId, keyEpoch: this.#settings.keyEpoch,
          sequence: store.nextCounter('receipt', nowMs * 1000), jobId: a.ledgerJobId,
          usage: {
            cpuMs: usage.cpuMs,
            // Peak resident memory held for the whole wall time: an upper bound of the integral, measured without sampling.
            memoryByteSeconds: BigInt(Math.round(((usage.memoryPeakBytes ?? 0) * usage.wallMs) / 1000)),
            diskByteSeconds: 0n,
            gpuMs: 0,
            egressBytes: BigInt(resultPayload?.length ?? 0),
          },
          amountMinor: ending.outcome === 'succeeded' ? a.priceMinor : 0n,
          currency: a.currency,
          createdAtMs: nowMs as UnixMs,
        }, this.#settings.receiptValidityMs), this.#deps.signer);
        messages.push({
          assignmentId: a.assignmentId, kind: 'receipt', destination: this.#settings.endpoints.receiptsTo, priority: BUNDLE_PRIORITY.expedited,
          expiresMs: receipt.receipt.notAfterMs, payload: encodeSignedReceipt(receipt),
        });
      }
      return store.finish(a.assignmentId, { finishedMs: nowMs, outcome: ending.outcome, reason: ending.reason }, messages);
    });
    for (const result of dropped) this.#dropped('result', 'outbox-full', { assignmentId: result.assignmentId, sizeBytes: result.payload.length });
    this.#metrics?.finished.inc({ outcome: ending.outcome });
    this.#log.info({ event: 'orbital.job-finished', assignmentId: a.assignmentId, jobId: a.jobId, outcome: ending.outcome, reason: ending.reason, resultBytes: resultBytes?.length }, 'job finished');
    this.#queueFlush();
  }

  /** Jobs a crash interrupted: `lost`, reported, never run again (assignment-store.ts). */
  #recoverInterrupted(store: AssignmentStore): void {
    for (const row of store.inState('running', Number.MAX_SAFE_INTEGER)) {
      const a = this.#assignmentOf(row);
      if (a === undefined) continue;
      this.#end(a, { outcome: 'lost', reasonCode: 'agent-restarted', reason: 'the agent restarted while the job was running; it is not run again', exitCode: undefined, usage: undefined, startedMs: row.startedMs }, undefined, false);
      this.#log.warn({ event: 'orbital.job-lost', assignmentId: row.assignmentId }, 'job interrupted by a restart ended as lost');
    }
  }

  #assignmentOf(row: StoredAssignment): JobAssignment | undefined {
    try {
      return decodeJobAssignment(row.bytes).assignment;
    } catch (error) {
      this.#log.error({ event: 'orbital.error', during: 'recovery', assignmentId: row.assignmentId, error: errorText(error) }, 'stored assignment unreadable');
      return undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  #reportMessage(subject: ReportSubject, kind: NodeReportKind, reasonCode: string, reason: string, finished: FinishedDetail | undefined): OutboxMessage {
    const store = this.#requireStore();
    const nowMs = this.#nowMs();
    const signed = signNodeReport({
      chainId: this.#settings.chainId, nodeId: this.#settings.nodeId, sequence: store.nextCounter('report', nowMs * 1000), kind,
      jobId: subject.jobId, assignmentId: subject.assignmentId, atMs: nowMs, reasonCode, reason: reportReasonText(reason), finished,
    }, this.#deps.signer);
    return {
      assignmentId: subject.assignmentId, kind: 'report', destination: subject.reportTo, priority: BUNDLE_PRIORITY.expedited,
      expiresMs: nowMs + this.#settings.bundleLifetimeMs, payload: encodeNodeReport(signed),
    };
  }

  #queueFlush(): void {
    if (this.#flushing) {
      this.#flushAgain = true;
      return;
    }
    queueMicrotask(() => this.#flushNow());
  }

  /** Moves outbox messages into the bundle store, oldest first; what finds no room waits for a retry. */
  #flushNow(): void {
    const store = this.#store;
    if (store === undefined || this.#flushing || !this.#deps.bundles.running) return;
    this.#flushing = true;
    let blocked = false;
    try {
      do {
        this.#flushAgain = false;
        let afterId = 0;
        for (;;) {
          const batch = store.outbox(OUTBOX_BATCH, afterId);
          if (batch.length === 0) break;
          for (const message of batch) {
            afterId = message.id;
            if (!this.#moveToBundleStore(store, message)) blocked = true;
          }
        }
      } while (this.#flushAgain);
    } catch (error) {
      blocked = true;
      this.#log.error({ event: 'orbital.error', during: 'flush', error: errorText(error) }, 'outbox flush failed');
    } finally {
      this.#flushing = false;
    }
    if (blocked && this.#running && !this.#timers.has('flush')) {
      this.#timers.set('flush', this.#clock.setTimer(durationMs(this.#settings.outboxRetryMs ?? OUTBOX_RETRY_MS_DEFAULT), () => {
        this.#timers.delete('flush');
        this.#queueFlush();
      }));
    }
  }

  /** True when the message left the outbox (stored as a bundle, or expired); false when it must wait. */
  #moveToBundleStore(store: AssignmentStore, message: StoredOutboxMessage): boolean {
    const nowMs = this.#nowMs();
    if (message.expiresMs <= nowMs) {
      store.removeFromOutbox(message.id);
      this.#dropped(message.kind, 'expired', { assignmentId: message.assignmentId });
      return true;
    }
    if (message.kind === 'result') {
      const reserveBytes = Math.floor(this.#settings.bundleStoreBytes / 16);
      const sizeBytes = message.payload.length + JOB_RESULT_OVERHEAD_BYTES_MAX;
      const storedBytes = this.#deps.bundles.metrics().storedBytes;
      if (storedBytes + sizeBytes > this.#settings.bundleStoreBytes - reserveBytes) {
        this.#log.debug({ event: 'orbital.result-waiting', assignmentId: message.assignmentId, sizeBytes, storedBytes, reserveBytes }, 'no room for the result in the bundle store yet');
        return false;
      }
    }
    try {
      const receipt = this.#deps.bundles.send({ destination: message.destination, payload: message.payload, lifetimeMs: message.expiresMs - nowMs, priority: message.priority });
      this.#log.info({ event: 'orbital.message-stored', kind: message.kind, assignmentId: message.assignmentId, bundle: receipt.key, sizeBytes: receipt.sizeBytes, destination: message.destination }, 'message stored for sending');
    } catch (error) {
      if (error instanceof OrbitfedError && error.code === 'ORBITFED_AGENT_SEND_REFUSED') return false;
      throw error;
    }
    store.removeFromOutbox(message.id);
    return true;
  }

  #dropped(kind: string, reason: string, fields: Record<string, unknown>): void {
    this.#metrics?.dropped.inc({ kind, reason });
    this.#log.warn({ event: `orbital.${kind}-dropped`, reason, ...fields }, `${kind} dropped: ${reason}`);
  }

  // -------------------------------------------------------------------------------------------
  // Periodic work

  #every(name: string, periodMs: number, work: () => void | Promise<void>): void {
    const arm = (): void => {
      this.#timers.set(name, this.#clock.setTimer(durationMs(periodMs), () => {
        if (!this.#running) return;
        Promise.resolve()
          .then(work)
          .catch((error: unknown) => this.#log.error({ event: 'orbital.error', during: name, error: errorText(error) }, `${name} failed`))
          .finally(() => {
            if (this.#running) arm();
          });
      }));
    };
    arm();
  }

  async #sendTelemetry(): Promise<void> {
    const record = await this.#deps.housekeeping!.read(this.#abort.signal);
    if (!this.#running) return;
    const status = this.status();
    const payload = encodeTelemetryPayload({
      nodeId: this.#settings.nodeId,
      atMs: this.#nowMs(),
      housekeeping: { ...record, jobsRunning: status.running.length, jobsWaiting: status.waiting, storedBundles: status.storedBundles, storedBytes: status.storedBytes, outboxMessages: status.outboxMessages },
    });
    this.#sendDirect('telemetry', this.#settings.endpoints.telemetryTo, payload, this.#settings.telemetryLifetimeMs);
  }

  #sendHeartbeats(): void {
    for (const job of this.#jobs.values()) {
      const a = job.assignment;
      const message = this.#reportMessage({ jobId: a.jobId, assignmentId: a.assignmentId, reportTo: a.reportTo }, 'heartbeat', '', `running for ${this.#nowMs() - job.startedMs} ms`, undefined);
      this.#sendDirect('heartbeat', message.destination, message.payload, this.#settings.heartbeatPeriodMs);
    }
  }

  /** Telemetry and heartbeats go straight to the bundle store; superseded by the next, they are dropped when there is no room. */
  #sendDirect(kind: string, destination: string, payload: Uint8Array, lifetimeMs: number): void {
    try {
      this.#deps.bundles.send({ destination, payload, lifetimeMs, priority: BUNDLE_PRIORITY.bulk });
      if (kind === 'telemetry') this.#metrics?.telemetry.inc();
    } catch (error) {
      if (error instanceof OrbitfedError && error.code === 'ORBITFED_AGENT_SEND_REFUSED') this.#dropped(kind, 'bundle-store-full', {});
      else throw error;
    }
  }

  #prune(): void {
    const nowMs = this.#nowMs();
    const pruned = this.#requireStore().prune(nowMs, nowMs - this.#settings.clockSkewMsMax);
    if (pruned.assignments + pruned.inputs > 0) this.#log.info({ event: 'orbital.pruned', ...pruned }, 'finished assignments and stale inputs pruned');
  }

  /** The Clock's time in whole ms: every time the protocol carries is an integer (a simulated clock has fractions). */
  #nowMs(): number {
    return Math.floor(this.#clock.now());
  }

  #requireStore(): AssignmentStore {
    const store = this.#store;
    if (store === undefined) throw new OrbitfedError('ORBITFED_ORBITAL_STATE', 'the orbital agent is not running');
    return store;
  }
}
