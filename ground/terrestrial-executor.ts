// Terrestrial workloads on a ground station (issue 8): assignments addressed to the station's
// assignments endpoint (ipn:<station>.1) are verified, run once with the configured runtime
// (runtime/: the process runtime or Docker), and answered as an orbital node answers
// (scheduler/job-assignment.ts): signed reports to the assignment's `reportTo`, the signed result
// to its first result station, and a signed usage receipt to this station's receipt gateway.
//
// - Verification: strict decoding, then `verifyJobAssignment` (chain, this node, validity window,
//   the scheduler's signature). A refusal is reported (`refused`, with the verdict as reason code)
//   to the assignment's `reportTo`, or to the sender's reports endpoint when nothing could be read.
//   Also refused: an assignment for a runtime this station does not offer (`runtime-unavailable`),
//   input in parts (`input-parts-unsupported`: the scheduler sends inline input today), and one more
//   than `queuedMax` waiting (`busy`).
// - At most once: the assignment is recorded (terrestrial-job-store.ts) inside the delivery of its
//   bundle, and the store refuses the same assignment id again. A job is marked running before its
//   workload starts; after a crash a running job is reported `lost` (reason `agent-restarted`) and
//   never started again. An accepted job not yet started runs after the restart, unless its
//   `notAfterMs` has passed (`expired`).
// - The result is the file `result` the workload wrote in its working directory (which also holds
//   the inline input as `input`), else its standard output, at most the assignment's
//   `resultBytesMax` (a larger `result` file fails the job, `result-too-large`).
// - How a job ended, its result and its receipt are committed together before the result, receipt
//   and `finished` report bundles are created; a crash in between sends them again at the next
//   start (the scheduler ignores a second finish, the ledger settles a receipt once).
// - Receipts: for succeeded jobs only, charging the assignment's price (`priceMinor`, the escrowed
//   amount), usage from the runtime's counters (memory byte-seconds as peak × wall time, egress as
//   the result's size), signed with the station's key under its ledger node id and key epoch.
//
// The job-execution rules here mirror the orbital agent's; the two share the protocol
// (scheduler/job-assignment.ts) but no code, since neither agent may import the other.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  OrbitfedError, unixMs, type Clock, type CounterMetric, type DurationMs, type GaugeMetric, type Logger, type MetricsRegistry, type TimerHandle,
} from '../common/index.ts';
import { encodeSignedReceipt, makeReceipt, sha256, signReceipt, type Ed25519Signer } from '../consensus/index.ts';
import { formatEid, ipnEid, type BundleAgent, type Delivery } from '../dtn/index.ts';
import { MEMORY_BYTES_MIN, OUTPUT_BYTES_MAX, type WorkloadResult, type WorkloadRuntime } from '../runtime/index.ts';
import {
  decodeJobAssignment, encodeJobResult, encodeNodeReport, reportReasonText, SERVICE_NUMBERS, signJobResult, signNodeReport, verifyJobAssignment,
  type AssignedRuntime, type FinishedDetail, type JobAssignment, type JobOutcome, type NodeReport, type NodeReportKind,
} from '../scheduler/index.ts';
import { TerrestrialJobStore, type TerrestrialJobRow } from './terrestrial-job-store.ts';

export interface TerrestrialExecutorLimits {
  /** Workloads running at once. Default 2. */
  readonly concurrentMax: number;
  /** Accepted jobs waiting to run; more are refused (`busy`). Default 64. */
  readonly queuedMax: number;
  /** Heartbeat reports while a job runs. Default 60 s. */
  readonly heartbeatMs: number;
  /** An assignment issued this far in our future is still accepted. Default 5 min. */
  readonly clockSkewMsMax: number;
  /** Lifetime of report, result and receipt bundles. Default 7 days. */
  readonly reportLifetimeMs: number;
}

export const TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT: TerrestrialExecutorLimits = {
  concurrentMax: 2, queuedMax: 64, heartbeatMs: 60_000, clockSkewMsMax: 300_000, reportLifetimeMs: 7 * 86_400_000,
};

export interface TerrestrialExecutorOptions {
  /** The station's bundle agent (running while the executor runs). */
  readonly agent: BundleAgent;
  /** The runtimes offered here, started by their owner. */
  readonly runtimes: ReadonlyMap<AssignedRuntime, WorkloadRuntime>;
  /** The job store's SQLite file. */
  readonly storePath: string;
  /** Where each job gets its working directory. */
  readonly workRoot: string;
  readonly chainId: string;
  /** The station as the scheduler and the ledger name it. */
  readonly nodeId: string;
  readonly key: Ed25519Signer;
  readonly keyEpoch: number;
  readonly schedulerPublicKey: Uint8Array;
  /** Where refusals of unreadable or unverified assignments go (the scheduler's reports endpoint). */
  readonly defaultReportTo?: string | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
  readonly limits?: Partial<TerrestrialExecutorLimits> | undefined;
}

/** How a job ended, as committed before its messages are sent. */
interface Ending {
  readonly outcome: JobOutcome;
  readonly exitCode: number | undefined;
  readonly cpuMs: number;
  readonly memoryPeakBytes: number | undefined;
  readonly wallMs: number;
  readonly reasonCode: string;
  readonly reason: string;
}

const RESULT_FILE = 'result';
const INPUT_FILE = 'input';
/** Workload ids allow [A-Za-z0-9_.-]; assignment ids may also hold ':'. */
const workloadIdOf = (assignmentId: string): string => assignmentId.replaceAll(':', '_');

export class TerrestrialExecutor {
  readonly #options: TerrestrialExecutorOptions;
  readonly #limits: TerrestrialExecutorLimits;
  readonly #clock: Clock;
  readonly #log: Logger;
  #store: TerrestrialJobStore | undefined;
  #running = false;
  #abort = new AbortController();
  readonly #runs = new Map<string, Promise<void>>();
  #pumpTimer: TimerHandle | undefined;
  readonly #metrics: { readonly jobs: CounterMetric; readonly running: GaugeMetric } | undefined;

  constructor(options: TerrestrialExecutorOptions) {
    this.#options = options;
    this.#limits = { ...TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT, ...options.limits };
    this.#clock = options.clock;
    this.#log = options.logger.child({ component: 'terrestrial-executor' });
    const m = options.metrics;
    this.#metrics = m === undefined ? undefined : {
      jobs: m.counter('orbitfed_ground_jobs_total', 'terrestrial assignments, by what became of them', ['result']),
      running: m.gauge('orbitfed_ground_jobs_running', 'terrestrial workloads running now'),
    };
  }

  /** Opens the job store, ends jobs a crash interrupted, sends what a crash kept from being sent, and runs accepted jobs. */
  start(): void {
    if (this.#running) throw new OrbitfedError('ORBITFED_JOBS_RUNNING', 'the terrestrial executor is already running');
    mkdirSync(this.#options.workRoot, { recursive: true });
    const store = TerrestrialJobStore.open(this.#options.storePath);
    this.#store = store;
    this.#running = true;
    this.#abort = new AbortController();
    for (const row of store.inState('running', 100_000)) {
      this.#log.warn({ jobId: row.jobId, assignmentId: row.assignmentId }, 'job was running when the agent stopped; it ends as lost and is not run again');
      this.#end(row, decodeJobAssignment(row.assignment).assignment, { outcome: 'lost', exitCode: undefined, cpuMs: 0, memoryPeakBytes: undefined, wallMs: 0, reasonCode: 'agent-restarted', reason: 'the ground agent restarted while the job ran' }, undefined);
    }
    for (const row of store.inState('finished', 100_000)) this.#sendEnding(row);
    this.#pump();
  }

  /** Cancels running workloads (they end as cancelled and are reported) and closes the store. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#pumpTimer?.cancel();
    this.#abort.abort(new OrbitfedError('ORBITFED_JOBS_STOPPED', 'the ground agent is stopping'));
    await Promise.allSettled([...this.#runs.values()]);
    this.#store?.close();
    this.#store = undefined;
  }

  /** The assignments endpoint's handler (synchronous: it runs inside the bundle's delivery). */
  onAssignment(delivery: Delivery): void {
    const store = this.#requireStore();
    let assignment: JobAssignment;
    try {
      const signed = decodeJobAssignment(delivery.payload);
      assignment = signed.assignment;
      const verdict = verifyJobAssignment(signed, {
        chainId: this.#options.chainId, nodeId: this.#options.nodeId, schedulerPublicKey: this.#options.schedulerPublicKey,
        nowMs: this.#clock.now(), clockSkewMsMax: this.#limits.clockSkewMsMax,
      });
      if (!verdict.ok) {
        this.#refuse(this.#options.defaultReportTo, assignment, verdict.reason, verdict.detail);
        return;
      }
    } catch (error) {
      if (!(error instanceof OrbitfedError)) throw error;
      this.#refuse(this.#options.defaultReportTo, undefined, 'malformed', `${error.code}: ${error.message} (from ${formatEid(delivery.source)})`);
      return;
    }
    const a = assignment;
    if (store.get(a.assignmentId) !== undefined) {
      this.#count('duplicate');
      this.#log.info({ jobId: a.jobId, assignmentId: a.assignmentId }, 'assignment received again; it runs once');
      return;
    }
    if (!this.#options.runtimes.has(a.workload.runtime)) {
      this.#refuse(a.reportTo, a, 'runtime-unsupported', `this station runs ${[...this.#options.runtimes.keys()].join(', ')} workloads, not ${a.workload.runtime}`);
      return;
    }
    if (a.input.kind !== 'inline') {
      this.#refuse(a.reportTo, a, 'input-parts-unsupported', 'this station takes inline input only');
      return;
    }
    if (store.activeCount() >= this.#limits.queuedMax + this.#limits.concurrentMax) {
      this.#refuse(a.reportTo, a, 'busy', `${this.#limits.queuedMax} jobs already wait here`);
      return;
    }
    store.accept(a.assignmentId, a.jobId, delivery.payload, a.notAfterMs, this.#clock.now());
    this.#count('accepted');
    this.#log.info({ jobId: a.jobId, assignmentId: a.assignmentId, runtime: a.workload.runtime }, 'assignment accepted');
    this.#report(a, 'accepted');
    this.#schedulePump();
  }

  #requireStore(): TerrestrialJobStore {
    if (!this.#running || this.#store === undefined) throw new OrbitfedError('ORBITFED_JOBS_STOPPED', 'the terrestrial executor is not running');
    return this.#store;
  }

  #count(result: string): void {
    this.#metrics?.jobs.inc({ result });
  }

  #refuse(reportTo: string | undefined, a: JobAssignment | undefined, reasonCode: string, reason: string): void {
    this.#count(`refused-${reasonCode}`);
    this.#log.warn({ jobId: a?.jobId, assignmentId: a?.assignmentId, reasonCode, reason }, 'assignment refused');
    if (reportTo === undefined) return;
    this.#report({ jobId: a?.jobId ?? '', assignmentId: a?.assignmentId ?? '', reportTo }, 'refused', reasonCode, reason);
  }

  #report(a: Pick<JobAssignment, 'jobId' | 'assignmentId' | 'reportTo'>, kind: NodeReportKind, reasonCode = '', reason = '', finished?: FinishedDetail): void {
    const store = this.#requireStore();
    const report: NodeReport = {
      chainId: this.#options.chainId, nodeId: this.#options.nodeId, sequence: store.next('report'), kind, jobId: a.jobId, assignmentId: a.assignmentId,
      atMs: Math.floor(this.#clock.now()), reasonCode, reason: reportReasonText(reason), finished,
    };
    this.#options.agent.send({ destination: a.reportTo, payload: encodeNodeReport(signNodeReport(report, this.#options.key)), lifetimeMs: this.#limits.reportLifetimeMs });
  }

  #schedulePump(): void {
    if (this.#pumpTimer !== undefined || !this.#running) return;
    this.#pumpTimer = this.#clock.setTimer(0 as DurationMs, () => {
      this.#pumpTimer = undefined;
      this.#pump();
    });
  }

  /** Starts accepted jobs while there is room. */
  #pump(): void {
    const store = this.#store;
    if (!this.#running || store === undefined) return;
    const room = this.#limits.concurrentMax - this.#runs.size;
    if (room <= 0) return;
    for (const row of store.inState('accepted', room + this.#runs.size)) {
      if (this.#runs.size >= this.#limits.concurrentMax) break;
      if (this.#runs.has(row.assignmentId)) continue;
      const a = decodeJobAssignment(row.assignment).assignment;
      if (this.#clock.now() > a.notAfterMs) {
        this.#end(row, a, { outcome: 'expired', exitCode: undefined, cpuMs: 0, memoryPeakBytes: undefined, wallMs: 0, reasonCode: 'not-started-in-time', reason: `not started by its notAfterMs ${a.notAfterMs}` }, undefined);
        continue;
      }
      const run = this.#run(row, a).catch((error: unknown) => {
        this.#log.error({ jobId: a.jobId, error: (error as Error).message }, 'job bookkeeping failed');
      }).finally(() => {
        this.#runs.delete(row.assignmentId);
        this.#metrics?.running.set(this.#runs.size);
        this.#schedulePump();
      });
      this.#runs.set(row.assignmentId, run);
      this.#metrics?.running.set(this.#runs.size);
    }
  }

  async #run(row: TerrestrialJobRow, a: JobAssignment): Promise<void> {
    const store = this.#requireStore();
    const workDir = join(this.#options.workRoot, workloadIdOf(a.assignmentId));
    mkdirSync(workDir, { recursive: true });
    if (a.input.kind === 'inline') writeFileSync(join(workDir, INPUT_FILE), a.input.bytes);
    store.markRunning(a.assignmentId);
    this.#report(a, 'started');
    this.#log.info({ jobId: a.jobId, assignmentId: a.assignmentId, workDir }, 'job started');
    let heartbeat: TimerHandle | undefined;
    const beat = (): void => {
      heartbeat = this.#clock.setTimer(this.#limits.heartbeatMs as DurationMs, () => {
        if (!this.#running) return;
        this.#report(a, 'heartbeat');
        beat();
      });
    };
    beat();
    const runtime = this.#options.runtimes.get(a.workload.runtime)!;
    const w = a.workload;
    let result: WorkloadResult | undefined;
    let ending: Ending;
    try {
      result = await runtime.run({
        id: workloadIdOf(a.assignmentId),
        command: w.command,
        ...(w.image === undefined ? {} : { image: w.image }),
        env: w.env,
        workDir,
        limits: {
          cpuCores: Math.max(0.01, w.cpuMillicores / 1000),
          memoryBytes: Math.max(MEMORY_BYTES_MIN, w.memoryBytes),
          timeoutMs: w.timeoutMs as DurationMs,
          outputBytesMax: Math.min(OUTPUT_BYTES_MAX, Math.max(4096, a.result.resultBytesMax)),
        },
      }, this.#abort.signal);
      ending = {
        outcome: result.outcome, exitCode: result.exitCode ?? undefined, cpuMs: Math.round(result.usage.cpuMs),
        memoryPeakBytes: result.usage.memoryPeakBytes ?? undefined, wallMs: Math.round(result.wallMs),
        reasonCode: result.outcome === 'succeeded' ? '' : result.outcome, reason: result.outcome === 'succeeded' ? '' : result.reason,
      };
    } catch (error) {
      ending = { outcome: 'failed', exitCode: undefined, cpuMs: 0, memoryPeakBytes: undefined, wallMs: 0, reasonCode: 'not-started', reason: `${(error as OrbitfedError).code ?? 'error'}: ${(error as Error).message}` };
    } finally {
      heartbeat?.cancel();
    }
    let resultBytes: Uint8Array | undefined = result === undefined ? undefined : new Uint8Array(result.stdout.bytes.subarray(0, a.result.resultBytesMax));
    const resultPath = join(workDir, RESULT_FILE);
    try {
      const size = statSync(resultPath).size;
      if (size > a.result.resultBytesMax) {
        ending = { ...ending, outcome: 'failed', reasonCode: 'result-too-large', reason: `the result file is ${size} bytes; the job may return ${a.result.resultBytesMax}` };
        resultBytes = undefined;
      } else {
        resultBytes = new Uint8Array(readFileSync(resultPath));
      }
    } catch {
      // No result file: standard output is the result.
    }
    this.#end(store.get(a.assignmentId) ?? row, a, ending, resultBytes);
  }

  /** Commits how the job ended (with its result and receipt), then sends them. */
  #end(row: TerrestrialJobRow, a: JobAssignment, ending: Ending, resultBytes: Uint8Array | undefined): void {
    const store = this.#requireStore();
    let receipt: Uint8Array | undefined;
    if (ending.outcome === 'succeeded') {
      const usage = {
        cpuMs: ending.cpuMs, gpuMs: 0, diskByteSeconds: 0n, egressBytes: BigInt(resultBytes?.length ?? 0),
        memoryByteSeconds: BigInt(Math.round(((ending.memoryPeakBytes ?? 0) * ending.wallMs) / 1000)),
      };
      receipt = encodeSignedReceipt(signReceipt(makeReceipt({
        chainId: this.#options.chainId, nodeId: this.#options.nodeId, keyEpoch: this.#options.keyEpoch, sequence: store.next('receipt'), jobId: a.ledgerJobId,
        usage, amountMinor: a.priceMinor, currency: a.currency, createdAtMs: unixMs(Math.floor(this.#clock.now())),
      }), this.#options.key));
    }
    store.finish(a.assignmentId, JSON.stringify(ending), resultBytes, receipt);
    this.#count(ending.outcome);
    this.#log.info({ jobId: a.jobId, assignmentId: a.assignmentId, outcome: ending.outcome, exitCode: ending.exitCode, reason: ending.reason, resultBytes: resultBytes?.length ?? 0 }, 'job ended');
    this.#sendEnding(store.get(row.assignmentId)!);
  }

  /** Result, receipt and the finished report of a committed ending, then `reported`. */
  #sendEnding(row: TerrestrialJobRow): void {
    const store = this.#requireStore();
    const a = decodeJobAssignment(row.assignment).assignment;
    const ending = JSON.parse(row.finishedJson!) as Ending;
    const resultBytes = row.result ?? new Uint8Array(0);
    const lifetimeMs = this.#limits.reportLifetimeMs;
    let resultSent = false;
    if (row.result !== undefined) {
      const signed = signJobResult({
        chainId: a.chainId, nodeId: this.#options.nodeId, jobId: a.jobId, assignmentId: a.assignmentId, outcome: ending.outcome,
        tenantEndpoint: a.result.tenantEndpoint, atMs: Math.floor(this.#clock.now()), bytes: resultBytes,
      }, this.#options.key);
      this.#options.agent.send({ destination: a.result.stations[0]!, payload: encodeJobResult(signed), lifetimeMs });
      resultSent = true;
    }
    if (row.receipt !== undefined) {
      this.#options.agent.send({ destination: ipnEid(this.#options.agent.nodeId.nodeNumber, SERVICE_NUMBERS.receipts), payload: row.receipt, lifetimeMs });
    }
    this.#report(a, 'finished', ending.reasonCode, ending.reason, {
      outcome: ending.outcome, exitCode: ending.exitCode === undefined ? undefined : Math.min(255, Math.max(0, ending.exitCode)),
      usage: { cpuMs: ending.cpuMs, memoryPeakBytes: ending.memoryPeakBytes, wallMs: ending.wallMs },
      resultSizeBytes: resultBytes.length, resultSha256: sha256(resultBytes), resultSent,
    });
    store.markReported(row.assignmentId);
  }
}
