// The process runtime (the default, and the only one on a flight computer): a workload is a child
// process tree in its own process group and, where the host allows, its own cgroup.
//
// Race-free cgroup entry: the child is a tiny /bin/sh that waits for a line on fd 3 before it
// execs the workload. We move its pid into the workload cgroup first and only then write "go",
// so not one instruction of the workload runs outside its limits; if the move fails we close
// fd 3 instead and the shell exits without running anything.
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { ioClockFor, OrbitfedError, durationMs, silentLogger, type Clock, type DurationMs, type Logger, type TimerHandle } from '../common/index.ts';
import { CgroupHost, type WorkloadCgroup } from './cgroup.ts';
import { resolveCommand } from './command-path.ts';
import { OutputCapture } from './output-capture.ts';
import { ProcSampler } from './proc-sampler.ts';
import { WorkloadSlots, type WorkloadSlot } from './workload-slots.ts';
import { classifyWorkloadEnd, type StopCause } from './workload-outcome.ts';
import {
  checkWorkloadSpec,
  type RuntimeCapabilities,
  type WorkloadEnforcement,
  type WorkloadResult,
  type WorkloadRuntime,
  type WorkloadSpec,
  type WorkloadUsage,
} from './workload-runtime.ts';

export interface ProcessRuntimeOptions {
  readonly clock: Clock;
  readonly logger?: Logger;
  /**
   * Wall time for I/O bounds: the grace between SIGTERM and SIGKILL, waits for pipes, /proc
   * sampling, cgroup removal (common's ioClockFor). `clock` times the workload (its timeout, start and end).
   * Default: `ioClockFor(clock)` — a RealClock when `clock` is a ScaledClock, else `clock`.
   */
  readonly ioClock?: Clock;
  /**
   * `auto` (default): a cgroup per workload when the host allows, else the fallback (see README);
   * `required`: `start` fails without usable cgroups; `off`: always the fallback.
   */
  readonly cgroups?: 'auto' | 'required' | 'off';
  /** The cgroup (relative to the hierarchy's root) the workloads' cgroups go under; one per runtime. */
  readonly cgroupParent?: string;
  /** Between SIGTERM and SIGKILL when the runtime stops a workload. Default 5 s. */
  readonly terminationGraceMs?: DurationMs;
  /** Workloads running at once; `run` refuses more (`ORBITFED_RUNTIME_BUSY`). Default 16. */
  readonly concurrentWorkloadsMax?: number;
  /** Processes per workload (cgroup pids.max). Default 1024. */
  readonly pidsMax?: number;
  /** Without cgroups: how often /proc is read for memory and CPU. Default 100 ms. */
  readonly samplingIntervalMs?: DurationMs;
  /** PATH of workloads whose env has none. Default: this process's PATH. */
  readonly defaultPath?: string;
  /** The shell that enters the cgroup and execs the workload. Default /bin/sh. */
  readonly shellPath?: string;
}

const TERMINATION_GRACE_MS_DEFAULT = durationMs(5_000);
const CONCURRENT_WORKLOADS_MAX_DEFAULT = 16;
const PIDS_MAX_DEFAULT = 1024;
const SAMPLING_INTERVAL_MS_DEFAULT = durationMs(100);
/** After the main process exits, how long its output pipes may stay open (held by stragglers). */
const PIPE_CLOSE_WAIT_MS = durationMs(2_000);
/** The id of the workload `start` runs to prove the cgroup path works; not a valid user id. */
const PROBE_ID = '.probe';

/**
 * The wrapper: wait for "go" on fd 3, then exec the workload with fd 3 closed. `$0` is its name in
 * ps; "$@" the workload's argv, never parsed by the shell.
 */
const ENTRY_SCRIPT = 'read -r go <&3 && [ "$go" = go ] && exec "$@" 3<&-; exit 125';

function errnoOf(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

/** Signals a whole process group; a group that is already gone is fine. */
function signalGroup(processGroup: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-processGroup, signal);
  } catch (error) {
    if (errnoOf(error) !== 'ESRCH') throw error;
  }
}

interface Mode {
  readonly cgroups: CgroupHost | undefined;
  readonly enforcement: WorkloadEnforcement;
  readonly notes: readonly string[];
}

export class ProcessRuntime implements WorkloadRuntime {
  readonly kind = 'process' as const;
  readonly #clock: Clock;
  readonly #ioClock: Clock;
  readonly #logger: Logger;
  readonly #cgroupsWanted: 'auto' | 'required' | 'off';
  readonly #cgroupParent: string;
  readonly #graceMs: DurationMs;
  readonly #pidsMax: number;
  readonly #samplingMs: DurationMs;
  readonly #defaultPath: string;
  readonly #shellPath: string;
  #mode: Mode | undefined;
  #stopping = false;
  readonly #slots: WorkloadSlots;

  constructor(options: ProcessRuntimeOptions) {
    this.#clock = options.clock;
    this.#ioClock = options.ioClock ?? ioClockFor(options.clock);
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'process-runtime' });
    this.#cgroupsWanted = options.cgroups ?? 'auto';
    this.#cgroupParent = options.cgroupParent ?? 'orbitfed';
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(this.#cgroupParent) || this.#cgroupParent.split('/').some((s) => s === '.' || s === '..')) {
      throw new OrbitfedError('ORBITFED_RUNTIME_CONFIG', `must be a relative cgroup path of letters, digits, '_', '.', '-', got ${JSON.stringify(this.#cgroupParent)}`, { field: 'cgroupParent' });
    }
    this.#graceMs = options.terminationGraceMs ?? TERMINATION_GRACE_MS_DEFAULT;
    this.#slots = new WorkloadSlots(options.concurrentWorkloadsMax ?? CONCURRENT_WORKLOADS_MAX_DEFAULT);
    this.#pidsMax = options.pidsMax ?? PIDS_MAX_DEFAULT;
    this.#samplingMs = options.samplingIntervalMs ?? SAMPLING_INTERVAL_MS_DEFAULT;
    this.#defaultPath = options.defaultPath ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
    this.#shellPath = options.shellPath ?? '/bin/sh';
    const positive = (field: string, value: number, min: number): void => {
      if (!Number.isInteger(value) || value < min) throw new OrbitfedError('ORBITFED_RUNTIME_CONFIG', `must be an integer >= ${min}, got ${value}`, { field });
    };
    positive('terminationGraceMs', this.#graceMs, 0);
    positive('pidsMax', this.#pidsMax, 1);
    positive('samplingIntervalMs', this.#samplingMs, 10);
  }

  /**
   * Chooses cgroups or the fallback: finds the cgroup file system, creates our parent, removes
   * workload cgroups a crashed earlier run left (killing what still runs in them), and runs one
   * empty workload through the whole path to prove it works here.
   */
  async start(signal?: AbortSignal): Promise<RuntimeCapabilities> {
    signal?.throwIfAborted();
    const fallback = (notes: string[]): Mode => ({ cgroups: undefined, enforcement: { cpu: 'none', memory: 'rss-polling' }, notes });
    let leftoversRemoved = 0;
    if (this.#cgroupsWanted === 'off') {
      this.#mode = fallback(['cgroups are turned off in the configuration']);
    } else {
      const detected = await CgroupHost.detect();
      let why: string | undefined;
      if (detected instanceof CgroupHost) {
        try {
          await detected.prepareParent(this.#cgroupParent);
          for (const name of await detected.children(this.#cgroupParent)) {
            const leftover = detected.workload(`${this.#cgroupParent}/${name}`);
            await leftover.killAll();
            await leftover.remove(this.#ioClock);
            leftoversRemoved++;
          }
          const version = detected.version === 2 ? 'cgroup-v2' : 'cgroup-v1';
          this.#mode = { cgroups: detected, enforcement: { cpu: version, memory: version }, notes: [] };
          const probe = await this.#runChecked(this.#probeSpec(), undefined);
          if (probe.outcome !== 'succeeded') why = `a probe workload in a cgroup ${probe.reason}`;
        } catch (error) {
          why = error instanceof Error ? error.message : String(error);
        }
      } else {
        why = detected.unavailable;
      }
      if (why !== undefined) {
        if (this.#cgroupsWanted === 'required') throw new OrbitfedError('ORBITFED_RUNTIME_CGROUP', `cgroups are required but not usable: ${why}`, { field: 'cgroups' });
        this.#mode = fallback([`no cgroups: ${why}`]);
        this.#logger.warn({ why }, 'cgroups unusable: CPU limits are not enforced and memory is watched by polling /proc');
      }
    }
    const mode = this.#mode!;
    this.#logger.info({ enforcement: mode.enforcement, leftoversRemoved }, 'process runtime started');
    return {
      kind: 'process',
      enforcement: mode.enforcement,
      usageSource: mode.cgroups === undefined ? 'proc-sampled' : mode.enforcement.cpu === 'cgroup-v2' ? 'cgroup-v2' : 'cgroup-v1',
      notes: mode.notes,
      leftoversRemoved,
    };
  }

  async run(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadResult> {
    if (this.#mode === undefined) throw new OrbitfedError('ORBITFED_RUNTIME_NOT_STARTED', 'call start() before run()');
    if (this.#stopping) throw new OrbitfedError('ORBITFED_RUNTIME_STOPPED', 'the runtime is stopping');
    checkWorkloadSpec(spec, 'process');
    return this.#runChecked(spec, signal);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#slots.stopAll({ kind: 'cancel', why: 'the runtime is stopping' });
    if (this.#mode?.cgroups !== undefined) await this.#mode.cgroups.removeIfEmpty(this.#cgroupParent);
    this.#logger.info({}, 'process runtime stopped');
  }

  #probeSpec(): WorkloadSpec {
    return { id: PROBE_ID, command: [this.#shellPath, '-c', ':'], limits: { cpuCores: 0.5, memoryBytes: 64 * 1024 * 1024, timeoutMs: durationMs(10_000), outputBytesMax: 4096 } };
  }

  async #runChecked(spec: WorkloadSpec, signal: AbortSignal | undefined): Promise<WorkloadResult> {
    if (signal?.aborted) throw new OrbitfedError('ORBITFED_RUNTIME_CANCELLED', `workload ${spec.id} was cancelled before it started`);
    const slot = this.#slots.claim(spec.id);
    try {
      return await this.#execute(spec, signal, slot);
    } finally {
      this.#slots.release(slot);
    }
  }

  async #execute(spec: WorkloadSpec, signal: AbortSignal | undefined, slot: WorkloadSlot): Promise<WorkloadResult> {
    const mode = this.#mode!;
    const cwd = spec.workDir ?? '/';
    try {
      if (!(await stat(cwd)).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new OrbitfedError('ORBITFED_RUNTIME_WORKDIR', `workDir ${cwd} is not a directory${error instanceof Error ? ` (${error.message})` : ''}`, { field: 'workDir' });
    }
    const env: Record<string, string> = { PATH: this.#defaultPath, ...spec.env };
    const program = await resolveCommand(spec.command[0]!, env.PATH!, cwd);

    let cgroup: WorkloadCgroup | undefined;
    if (mode.cgroups !== undefined) {
      cgroup = mode.cgroups.workload(`${this.#cgroupParent}/${spec.id}`);
      await cgroup.create({ cpuCores: spec.limits.cpuCores, memoryBytes: spec.limits.memoryBytes, pidsMax: this.#pidsMax });
    }
    try {
      return await this.#supervise(spec, signal, slot, program, cwd, env, cgroup);
    } finally {
      await cgroup?.remove(this.#ioClock);
    }
  }

  async #supervise(
    spec: WorkloadSpec,
    signal: AbortSignal | undefined,
    slot: WorkloadSlot,
    program: string,
    cwd: string,
    env: Record<string, string>,
    cgroup: WorkloadCgroup | undefined,
  ): Promise<WorkloadResult> {
    const child = spawn(this.#shellPath, ['-c', ENTRY_SCRIPT, `orbitfed-workload-${spec.id}`, program, ...spec.command.slice(1)], {
      cwd,
      env,
      // A new session, hence a process group of its own (setsid): signals reach the whole tree.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    });
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const stdout = new OutputCapture(spec.id, 'stdout', spec.limits.outputBytesMax, spec.onLog);
    const stderr = new OutputCapture(spec.id, 'stderr', spec.limits.outputBytesMax, spec.onLog);
    child.stdout!.on('data', (chunk: Buffer) => stdout.write(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.write(chunk));
    const gate = child.stdio[3] as Writable;
    gate.on('error', () => undefined);

    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', (error) => reject(new OrbitfedError('ORBITFED_RUNTIME_START', `cannot start ${this.#shellPath}: ${error.message}`, { field: 'command' }, { cause: error })));
    });
    try {
      await cgroup?.enter(pid);
    } catch (error) {
      gate.end();
      signalGroup(pid, 'SIGKILL');
      await closed;
      throw error;
    }

    const startMs = this.#clock.now();
    gate.end('go\n');
    this.#logger.debug({ id: spec.id, pid, cgroup: cgroup?.relativePath }, 'workload started');

    let stopCause: StopCause | undefined;
    let graceTimer: TimerHandle | undefined;
    const killTree = (): void => {
      signalGroup(pid, 'SIGKILL');
      void cgroup?.killAll().catch(() => undefined);
    };
    const stop = (cause: StopCause): void => {
      if (stopCause !== undefined || child.exitCode !== null || child.signalCode !== null) return;
      stopCause = cause;
      this.#logger.info({ id: spec.id, cause: cause.kind }, 'stopping workload');
      if (cause.kind === 'memory-polled') {
        killTree();
        return;
      }
      signalGroup(pid, 'SIGTERM');
      graceTimer = this.#ioClock.setTimer(this.#graceMs, killTree);
    };
    slot.stoppable(stop);
    const timeoutTimer = this.#clock.setTimer(spec.limits.timeoutMs, () => stop({ kind: 'timeout', timeoutMs: spec.limits.timeoutMs }));
    const onAbort = (): void => stop({ kind: 'cancel', why: signal?.reason instanceof Error ? signal.reason.message : String(signal?.reason ?? 'aborted') });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const sampler = cgroup === undefined ? this.#sampleUntilExit(spec, pid, exited, stop) : undefined;

    const end = await exited;
    timeoutTimer.cancel();
    graceTimer?.cancel();
    signal?.removeEventListener('abort', onAbort);
    // The workload is over when its main process is: stragglers (background children) go too.
    killTree();
    const endMs = this.#clock.now();
    await this.#closeWithin(child, closed);
    const samples = await sampler;

    const usage: WorkloadUsage = cgroup !== undefined
      ? { ...(await cgroup.usage()), source: cgroup.version === 2 ? 'cgroup-v2' : 'cgroup-v1' }
      : { cpuMs: samples!.cpuMs, cpuUserMs: null, cpuSystemMs: null, cpuThrottledMs: null, memoryPeakBytes: samples!.memoryPeakBytes, oomKills: 0, source: 'proc-sampled' };
    const { outcome, reason } = classifyWorkloadEnd({ exitCode: end.code, signal: end.signal, stopCause, oomKills: usage.oomKills, memoryBytes: spec.limits.memoryBytes });
    const result: WorkloadResult = {
      id: spec.id,
      runtime: 'process',
      outcome,
      reason,
      exitCode: end.code,
      signal: end.signal,
      startMs,
      endMs,
      wallMs: durationMs(endMs - startMs),
      usage,
      stdout: stdout.result(),
      stderr: stderr.result(),
      enforcement: this.#mode!.enforcement,
    };
    this.#logger.info({ id: spec.id, outcome, reason, wallMs: result.wallMs, cpuMs: usage.cpuMs, memoryPeakBytes: usage.memoryPeakBytes }, 'workload ended');
    return result;
  }

  /** Without cgroups: reads /proc every sampling interval until the main process exits. */
  async #sampleUntilExit(spec: WorkloadSpec, pid: number, exited: Promise<unknown>, stop: (cause: StopCause) => void): Promise<ProcSampler> {
    const sampler = new ProcSampler(pid);
    let running = true;
    void exited.then(() => { running = false; });
    while (running) {
      const sample = await sampler.sample();
      if (sample.residentBytes > spec.limits.memoryBytes) stop({ kind: 'memory-polled', residentBytes: sample.residentBytes, memoryBytes: spec.limits.memoryBytes });
      if (!running) break;
      let timer: TimerHandle | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => { timer = this.#ioClock.setTimer(this.#samplingMs, resolve); })]);
      timer?.cancel();
    }
    return sampler;
  }

  /** Waits for the output pipes to close; a process that escaped the group may hold them open. */
  async #closeWithin(child: ChildProcess, closed: Promise<void>): Promise<void> {
    let timer: TimerHandle | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => { timer = this.#ioClock.setTimer(PIPE_CLOSE_WAIT_MS, () => resolve('timeout')); });
    const first = await Promise.race([closed, gaveUp]);
    timer?.cancel();
    if (first === 'timeout') {
      child.stdout?.destroy();
      child.stderr?.destroy();
      await closed;
    }
  }
}
