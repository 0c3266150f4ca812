// The swarm's workload runtime: the simulator's model of running a job, behind the same port as the
// process and Docker runtimes (runtime/workload-runtime.ts). A real process takes wall time and
// prints what the machine makes it print, which a virtual-time run in one process cannot replay, so
// the swarm replaces it as TigerBeetle's VOPR replaces disks and sockets: everything around the
// workload (assignment checks, the work directory, the outcome's commit, reports, results,
// receipts) is the real agent's, and only the workload itself is modelled:
// - it is checked like any workload (`checkWorkloadSpec`, the process runtime's rules);
// - it runs for a time derived from the job: between half of and the whole planned execution time
//   (the dispatcher's timeout is twice the execution time, so it never times out), chosen by the
//   SHA-256 of its job id and command, on the injected Clock;
// - it succeeds with output derived from the job: "simulated <job id>: <sha256 of job id and
//   command>\n" on stdout; usage is the model's (CPU = wall time × cores asked, peak memory the
//   smaller of what it asked and 16 MiB, source `proc-sampled`);
// - it is cancelled when its signal fires or the runtime stops, as a real one would be;
// - at most `concurrentWorkloadsMax` run at once; more are refused (ORBITFED_RUNTIME_BUSY).
import { createHash } from 'node:crypto';
import { OrbitfedError, type Clock, type DurationMs, type TimerHandle, type UnixMs } from '../common/index.ts';
import { checkWorkloadSpec, type RuntimeCapabilities, type WorkloadResult, type WorkloadRuntime, type WorkloadSpec } from '../runtime/index.ts';

const SIMULATED_MEMORY_PEAK_BYTES = 16 * 1024 * 1024;

export interface SimulatedRuntimeOptions {
  readonly clock: Clock;
  readonly concurrentWorkloadsMax: number;
}

interface Running {
  readonly timer: TimerHandle;
  readonly cancel: (reason: string) => void;
}

/** How long the model runs a workload, and what it prints: pure, so tests and the report can say why. */
export function simulatedWorkload(spec: Pick<WorkloadSpec, 'id' | 'command' | 'env' | 'limits'>): { readonly wallMs: number; readonly stdout: Buffer } {
  const jobId = spec.env?.ORBITFED_JOB_ID ?? spec.id;
  const digest = createHash('sha256').update(jobId).update('\0').update(spec.command.join('\0')).digest();
  const fraction = digest.readUInt32BE(0) / 2 ** 32;
  // The dispatcher's timeout is 2 × executionMs: run between executionMs / 2 and executionMs.
  const executionMs = spec.limits.timeoutMs / 2;
  const wallMs = Math.max(1, Math.round(executionMs * (0.5 + 0.5 * fraction)));
  return { wallMs, stdout: Buffer.from(`simulated ${jobId}: ${digest.toString('hex')}\n`) };
}

export class SimulatedRuntime implements WorkloadRuntime {
  readonly kind = 'process' as const;
  readonly #options: SimulatedRuntimeOptions;
  readonly #running = new Map<string, Running>();
  #started = false;

  constructor(options: SimulatedRuntimeOptions) {
    this.#options = options;
  }

  async start(): Promise<RuntimeCapabilities> {
    this.#started = true;
    return {
      kind: 'process', enforcement: { cpu: 'none', memory: 'none' }, usageSource: 'proc-sampled',
      notes: ['simulated runtime (hil/virtual-runtime.ts): workloads are modelled in virtual time, not run'], leftoversRemoved: 0,
    };
  }

  run(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadResult> {
    if (!this.#started) return Promise.reject(new OrbitfedError('ORBITFED_RUNTIME_STOPPED', 'the simulated runtime is not started'));
    try {
      checkWorkloadSpec(spec, 'process');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#running.has(spec.id)) return Promise.reject(new OrbitfedError('ORBITFED_RUNTIME_DUPLICATE', `workload ${spec.id} is already running`));
    if (this.#running.size >= this.#options.concurrentWorkloadsMax) {
      return Promise.reject(new OrbitfedError('ORBITFED_RUNTIME_BUSY', `${this.#running.size} workloads run already (concurrentWorkloadsMax ${this.#options.concurrentWorkloadsMax})`));
    }
    if (signal?.aborted) return Promise.reject(new OrbitfedError('ORBITFED_RUNTIME_CANCELLED', 'cancelled before it started'));
    const { clock } = this.#options;
    const startMs = clock.now();
    const model = simulatedWorkload(spec);
    const outputBytesMax = spec.limits.outputBytesMax;
    const result = (outcome: 'succeeded' | 'cancelled', reason: string): WorkloadResult => {
      const endMs = clock.now();
      const wallMs = endMs - startMs;
      const stdout = outcome === 'succeeded' ? model.stdout : Buffer.alloc(0);
      return {
        id: spec.id, runtime: 'process', outcome, reason, exitCode: outcome === 'succeeded' ? 0 : null, signal: outcome === 'succeeded' ? null : 'SIGTERM',
        startMs, endMs: endMs as UnixMs, wallMs: wallMs as DurationMs,
        usage: {
          cpuMs: Math.round(wallMs * spec.limits.cpuCores), cpuUserMs: null, cpuSystemMs: null, cpuThrottledMs: null,
          memoryPeakBytes: Math.min(spec.limits.memoryBytes, SIMULATED_MEMORY_PEAK_BYTES), oomKills: 0, source: 'proc-sampled',
        },
        stdout: { bytes: stdout.subarray(0, outputBytesMax), totalBytes: stdout.length, truncated: stdout.length > outputBytesMax },
        stderr: { bytes: Buffer.alloc(0), totalBytes: 0, truncated: false },
        enforcement: { cpu: 'none', memory: 'none' },
      };
    };
    return new Promise((resolve) => {
      const finish = (outcome: 'succeeded' | 'cancelled', reason: string): void => {
        const running = this.#running.get(spec.id);
        if (running === undefined) return;
        this.#running.delete(spec.id);
        running.timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        resolve(result(outcome, reason));
      };
      const onAbort = (): void => finish('cancelled', 'cancelled by the caller');
      const timer = clock.setTimer(model.wallMs as DurationMs, () => finish('succeeded', 'exited with code 0 (simulated)'));
      this.#running.set(spec.id, { timer, cancel: (reason) => finish('cancelled', reason) });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async stop(): Promise<void> {
    for (const running of [...this.#running.values()]) running.cancel('the runtime stopped');
    this.#started = false;
  }
}
