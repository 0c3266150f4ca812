// The Docker runtime (terrestrial workloads on ground stations), and the only importer of
// dockerode (STYLE rule 17). Loaded only through `createDockerRuntime` in index.ts, so an agent
// that does not use Docker never loads it.
//
// A workload is one container: the image's entrypoint replaced by the spec's argv, CPU
// (NanoCpus) and memory (Memory = MemorySwap, no swap) limits, a pid limit, no network, no
// log driver (output comes through the attach stream only, so nothing grows on the daemon's
// disk), Docker's init as PID 1 (signals reach the workload, zombies are reaped). It is always
// removed, whatever happens. Usage comes from a cgroup parent of ours that the container's cgroup
// is created under and that outlives it (exact kernel counters), or else from Docker's stats
// stream (sampled about once a second).
import { stat } from 'node:fs/promises';
import Docker from 'dockerode';
import { ioClockFor, OrbitfedError, durationMs, silentLogger, type Clock, type DurationMs, type Logger, type TimerHandle } from '../common/index.ts';
import { CgroupHost, type WorkloadCgroup } from './cgroup.ts';
import { DOCKER_OWNER_PATTERN } from './docker-owner.ts';
import { DockerStreamDemultiplexer } from './docker-multiplex.ts';
import { OutputCapture } from './output-capture.ts';
import { classifyWorkloadEnd, type StopCause } from './workload-outcome.ts';
import { WorkloadSlots, type WorkloadSlot } from './workload-slots.ts';
import {
  checkWorkloadSpec,
  type RuntimeCapabilities,
  type UsageSource,
  type WorkloadResult,
  type WorkloadRuntime,
  type WorkloadSpec,
  type WorkloadUsage,
} from './workload-runtime.ts';

export interface DockerRuntimeOptions {
  readonly clock: Clock;
  readonly logger?: Logger;
  /**
   * Wall time for I/O bounds: the engine's connect timeout, the grace between SIGTERM and
   * SIGKILL, waits for streams, cgroup removal (common's ioClockFor). `clock` times the workload (its timeout, start and end).
   * Default: `ioClockFor(clock)` — a RealClock when `clock` is a ScaledClock, else `clock`.
   */
  readonly ioClock?: Clock;
  /** The daemon's socket. Default: DOCKER_HOST when it is unix://…, else /var/run/docker.sock. */
  readonly socketPath?: string;
  /**
   * Names this runtime's containers (`<owner>-<workload id>`, label `orbitfed.owner`) and cgroup
   * parent; `start` removes containers with this owner left by a crashed earlier run, so each agent
   * on a host needs its own (agents use `dockerOwnerOf(nodeId)`, docker-owner.ts). Default
   * "orbitfed".
   */
  readonly owner?: string;
  /** `auto` (default): exact counters from our cgroup parent where the daemon uses cgroupfs on this host; `stats`: always Docker's stats stream. */
  readonly usage?: 'auto' | 'stats';
  /** Docker network of workloads. Default "none": no network at all. */
  readonly network?: string;
  /**
   * Docker's init (tini) as PID 1, forwarding signals and reaping zombies. Default false: the
   * workload is PID 1 (as with `docker run`), so a missing command fails the start with
   * `ORBITFED_RUNTIME_COMMAND_NOT_FOUND`; under tini it would be a failed run with exit code 127.
   */
  readonly init?: boolean;
  /** Where `workDir` is mounted in the container, and its working directory. Default /work. */
  readonly containerWorkDir?: string;
  /** Between SIGTERM and SIGKILL when the runtime stops a workload. Default 5 s. */
  readonly terminationGraceMs?: DurationMs;
  /** Workloads running at once; `run` refuses more (`ORBITFED_RUNTIME_BUSY`). Default 16. */
  readonly concurrentWorkloadsMax?: number;
  /** Processes per container (PidsLimit). Default 1024. */
  readonly pidsMax?: number;
  /** How long `start` waits for the daemon to answer. Default 5 s. */
  readonly connectTimeoutMs?: DurationMs;
}

const IMAGE_REFERENCE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;
const TERMINATION_GRACE_MS_DEFAULT = durationMs(5_000);
const CONNECT_TIMEOUT_MS_DEFAULT = durationMs(5_000);
/** A daemon's progress or stats line longer than this is refused (they are a few KiB). */
const JSON_LINE_BYTES_MAX = 1024 * 1024;
/** After the container exited, how long its output stream may take to end. */
const STREAM_END_WAIT_MS = durationMs(5_000);
const OWNER_LABEL = 'orbitfed.owner';
const WORKLOAD_LABEL = 'orbitfed.workload';

interface DockerApiError {
  readonly statusCode?: number;
  readonly json?: { readonly message?: string } | null;
  readonly message?: string;
}

/** The daemon's own words for a failed API call. */
function daemonMessage(error: unknown): string {
  const e = error as DockerApiError;
  const message = e.json?.message ?? e.message ?? String(error);
  return message.trim();
}

function statusOf(error: unknown): number | undefined {
  return (error as DockerApiError).statusCode;
}

/** Reads a daemon stream of JSON lines (progress, stats) to its end, bounded per line. */
async function forEachJsonLine(stream: NodeJS.ReadableStream, what: string, onObject: (value: Record<string, unknown>) => void): Promise<void> {
  let pending = '';
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new OrbitfedError('ORBITFED_RUNTIME_DOCKER_STREAM', `${what}: the daemon sent a line that is not JSON: ${line.slice(0, 120)}`);
    }
    if (typeof value === 'object' && value !== null) onObject(value as Record<string, unknown>);
  };
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) handle(line);
    if (pending.length > JSON_LINE_BYTES_MAX) throw new OrbitfedError('ORBITFED_RUNTIME_DOCKER_STREAM', `${what}: a line from the daemon is longer than ${JSON_LINE_BYTES_MAX} bytes`);
  }
  handle(pending);
}

function checkImageReference(reference: string, field: string): void {
  if (typeof reference !== 'string' || !IMAGE_REFERENCE.test(reference)) {
    throw new OrbitfedError('ORBITFED_RUNTIME_SPEC', `not an image reference (name[:tag], lower case): ${JSON.stringify(reference)}`, { field });
  }
}

/** "repo[:tag]" → repository and tag ("latest" when absent); a registry port is not a tag. */
function splitReference(reference: string): { readonly repo: string; readonly tag: string } {
  const colon = reference.lastIndexOf(':');
  if (colon > reference.lastIndexOf('/')) return { repo: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repo: reference, tag: 'latest' };
}

interface StatsUsage {
  cpuNs: number | null;
  cpuUserNs: number | null;
  cpuSystemNs: number | null;
  throttledNs: number | null;
  memoryPeakBytes: number | null;
}

interface UsageMode {
  readonly cgroups: CgroupHost | undefined;
  readonly source: UsageSource;
  readonly notes: readonly string[];
}

export class DockerRuntime implements WorkloadRuntime {
  readonly kind = 'docker' as const;
  readonly #clock: Clock;
  readonly #ioClock: Clock;
  readonly #logger: Logger;
  readonly #docker: Docker;
  readonly #socketPath: string;
  readonly #owner: string;
  readonly #usageWanted: 'auto' | 'stats';
  readonly #network: string;
  readonly #init: boolean;
  readonly #containerWorkDir: string;
  readonly #graceMs: DurationMs;
  readonly #pidsMax: number;
  readonly #connectTimeoutMs: DurationMs;
  readonly #slots: WorkloadSlots;
  #mode: UsageMode | undefined;
  #stopping = false;

  constructor(options: DockerRuntimeOptions) {
    this.#clock = options.clock;
    this.#ioClock = options.ioClock ?? ioClockFor(options.clock);
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'docker-runtime' });
    const dockerHost = process.env.DOCKER_HOST;
    this.#socketPath = options.socketPath ?? (dockerHost?.startsWith('unix://') ? dockerHost.slice('unix://'.length) : '/var/run/docker.sock');
    this.#docker = new Docker({ socketPath: this.#socketPath });
    this.#owner = options.owner ?? 'orbitfed';
    if (!DOCKER_OWNER_PATTERN.test(this.#owner)) throw new OrbitfedError('ORBITFED_RUNTIME_CONFIG', `must be 1-64 lower-case letters, digits, '_', '.', '-', got ${JSON.stringify(this.#owner)}`, { field: 'owner' });
    this.#usageWanted = options.usage ?? 'auto';
    this.#network = options.network ?? 'none';
    this.#init = options.init ?? false;
    this.#containerWorkDir = options.containerWorkDir ?? '/work';
    this.#graceMs = options.terminationGraceMs ?? TERMINATION_GRACE_MS_DEFAULT;
    this.#pidsMax = options.pidsMax ?? 1024;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    this.#slots = new WorkloadSlots(options.concurrentWorkloadsMax ?? 16);
  }

  /** The cgroup (relative to the hierarchy root) our containers' cgroups go under. */
  get #cgroupParent(): string {
    return `orbitfed-docker-${this.#owner}`;
  }

  /**
   * Connects to the daemon, chooses how usage is measured, and removes this owner's containers
   * (and their cgroup parents) that a crashed earlier run left.
   */
  async start(signal?: AbortSignal): Promise<RuntimeCapabilities> {
    signal?.throwIfAborted();
    const abort = new AbortController();
    const timer = this.#ioClock.setTimer(this.#connectTimeoutMs, () => abort.abort(new Error(`no answer within ${this.#connectTimeoutMs} ms`)));
    const onAbort = (): void => abort.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let info: { CgroupDriver?: string; CgroupVersion?: string };
    try {
      // dockerode's ping takes an AbortSignal (lib/docker.js); its type declaration lags behind.
      await (this.#docker.ping as unknown as (options: { abortSignal: AbortSignal }) => Promise<unknown>).call(this.#docker, { abortSignal: abort.signal });
      info = (await this.#docker.info()) as typeof info;
    } catch (error) {
      throw new OrbitfedError('ORBITFED_RUNTIME_DOCKER_UNREACHABLE', `the Docker daemon at ${this.#socketPath} does not answer: ${abort.signal.aborted ? String(abort.signal.reason) : daemonMessage(error)}`, { file: this.#socketPath }, { cause: error });
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
    }

    this.#mode = await this.#chooseUsageMode(info);
    let leftoversRemoved = 0;
    try {
      const leftovers = await this.#docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${this.#owner}`] } });
      for (const leftover of leftovers) {
        await this.#docker.getContainer(leftover.Id).remove({ force: true, v: true }).catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
        leftoversRemoved++;
      }
    } catch (error) {
      throw new OrbitfedError('ORBITFED_RUNTIME_DOCKER', `cannot remove the containers an earlier run of owner ${this.#owner} left: ${daemonMessage(error)}`, { field: 'owner' }, { cause: error });
    }
    const cgroups = this.#mode.cgroups;
    if (cgroups !== undefined) {
      for (const name of await cgroups.children(this.#cgroupParent)) await cgroups.workload(`${this.#cgroupParent}/${name}`).remove(this.#ioClock);
    }
    this.#logger.info({ socketPath: this.#socketPath, usage: this.#mode.source, leftoversRemoved }, 'docker runtime started');
    return { kind: 'docker', enforcement: { cpu: 'docker', memory: 'docker' }, usageSource: this.#mode.source, notes: this.#mode.notes, leftoversRemoved };
  }

  async #chooseUsageMode(info: { CgroupDriver?: string; CgroupVersion?: string }): Promise<UsageMode> {
    if (this.#usageWanted === 'stats') return { cgroups: undefined, source: 'docker-stats', notes: ['usage from Docker\'s stats stream, as configured'] };
    const stats = (why: string): UsageMode => ({ cgroups: undefined, source: 'docker-stats', notes: [`usage from Docker's stats stream (sampled): ${why}`] });
    if (info.CgroupDriver !== 'cgroupfs') return stats(`the daemon's cgroup driver is ${info.CgroupDriver ?? 'unknown'}, not cgroupfs`);
    const host = await CgroupHost.detect();
    if (!(host instanceof CgroupHost)) return stats(host.unavailable);
    if (String(host.version) !== (info.CgroupVersion ?? '1')) return stats(`the daemon uses cgroup v${info.CgroupVersion}, this process sees v${host.version} (another host?)`);
    return { cgroups: host, source: host.version === 2 ? 'cgroup-v2' : 'cgroup-v1', notes: [] };
  }

  /** Whether `reference` is an image on the daemon. */
  async hasImage(reference: string): Promise<boolean> {
    try {
      await this.#docker.getImage(reference).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw new OrbitfedError('ORBITFED_RUNTIME_DOCKER', `cannot inspect image ${reference}: ${daemonMessage(error)}`, { field: 'image' }, { cause: error });
    }
  }

  /**
   * `docker import`: makes the root file system in the tarball at `tarPath` the image
   * `reference`. `changes` are Dockerfile instructions applied to it (e.g. "ENV PATH=/bin").
   * Works without any registry. Resolves with the image id.
   */
  async importImage(tarPath: string, reference: string, changes: readonly string[] = []): Promise<string> {
    checkImageReference(reference, 'reference');
    try {
      if (!(await stat(tarPath)).isFile()) throw new Error('not a file');
    } catch (error) {
      throw new OrbitfedError('ORBITFED_RUNTIME_IMAGE_IMPORT', `cannot read the image tarball: ${error instanceof Error ? error.message : String(error)}`, { file: tarPath });
    }
    const { repo, tag } = splitReference(reference);
    try {
      const progress = await this.#docker.importImage(tarPath, { repo, tag, changes: [...changes] });
      await forEachJsonLine(progress, 'import', (line) => {
        if (typeof line.error === 'string') throw new Error(line.error);
      });
      const image = await this.#docker.getImage(reference).inspect();
      this.#logger.info({ reference, id: image.Id, tarPath }, 'image imported');
      return image.Id;
    } catch (error) {
      throw new OrbitfedError('ORBITFED_RUNTIME_IMAGE_IMPORT', `docker import of ${tarPath} as ${reference} failed: ${daemonMessage(error)}`, { file: tarPath }, { cause: error });
    }
  }

  /**
   * Pulls `reference` from its registry. Where no registry is reachable (flight-adjacent ground
   * stations, this project's CI) it fails with the daemon's reason and the way out: import the
   * image from a tarball.
   */
  async pullImage(reference: string, signal?: AbortSignal): Promise<void> {
    checkImageReference(reference, 'reference');
    try {
      const progress = await this.#docker.pull(reference, { abortSignal: signal });
      await forEachJsonLine(progress, 'pull', (line) => {
        if (typeof line.error === 'string') throw new Error(line.error);
      });
    } catch (error) {
      throw new OrbitfedError('ORBITFED_RUNTIME_IMAGE_PULL', `cannot pull ${reference}: ${daemonMessage(error)} (is its registry reachable from the Docker host? Without one, load the image from a tarball: importImage)`, { field: 'image' }, { cause: error });
    }
    this.#logger.info({ reference }, 'image pulled');
  }

  async run(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadResult> {
    if (this.#mode === undefined) throw new OrbitfedError('ORBITFED_RUNTIME_NOT_STARTED', 'call start() before run()');
    if (this.#stopping) throw new OrbitfedError('ORBITFED_RUNTIME_STOPPED', 'the runtime is stopping');
    checkWorkloadSpec(spec, 'docker');
    if (signal?.aborted) throw new OrbitfedError('ORBITFED_RUNTIME_CANCELLED', `workload ${spec.id} was cancelled before it started`);
    const slot = this.#slots.claim(spec.id);
    try {
      return await this.#execute(spec, signal, slot);
    } finally {
      this.#slots.release(slot);
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#slots.stopAll({ kind: 'cancel', why: 'the runtime is stopping' });
    if (this.#mode?.cgroups !== undefined) await this.#mode.cgroups.removeIfEmpty(this.#cgroupParent);
    this.#logger.info({}, 'docker runtime stopped');
  }

  async #execute(spec: WorkloadSpec, signal: AbortSignal | undefined, slot: WorkloadSlot): Promise<WorkloadResult> {
    const image = spec.image!;
    if (!(await this.hasImage(image))) {
      throw new OrbitfedError('ORBITFED_RUNTIME_IMAGE_MISSING', `image ${image} is not on the Docker host: import it from a tarball (importImage) or pull it (pullImage) first`, { field: 'image' });
    }
    if (spec.workDir !== undefined) {
      // Docker would create a missing bind-mount source as an empty directory: refuse instead.
      const isDir = await stat(spec.workDir).then((s) => s.isDirectory(), () => false);
      if (!isDir) throw new OrbitfedError('ORBITFED_RUNTIME_WORKDIR', `workDir ${spec.workDir} is not a directory`, { field: 'workDir' });
    }
    const cgroup = this.#mode!.cgroups?.workload(`${this.#cgroupParent}/${spec.id}`);
    let container: Docker.Container | undefined;
    try {
      try {
        container = await this.#docker.createContainer({
          name: `${this.#owner}-${spec.id}`,
          Image: image,
          Entrypoint: [spec.command[0]!],
          Cmd: spec.command.slice(1),
          Env: Object.entries(spec.env ?? {}).map(([name, value]) => `${name}=${value}`),
          WorkingDir: spec.workDir === undefined ? undefined : this.#containerWorkDir,
          Labels: { [OWNER_LABEL]: this.#owner, [WORKLOAD_LABEL]: spec.id },
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          OpenStdin: false,
          NetworkDisabled: this.#network === 'none',
          HostConfig: {
            NanoCpus: Math.round(spec.limits.cpuCores * 1e9),
            Memory: spec.limits.memoryBytes,
            MemorySwap: spec.limits.memoryBytes,
            PidsLimit: this.#pidsMax,
            NetworkMode: this.#network,
            Init: this.#init,
            LogConfig: { Type: 'none', Config: {} },
            Binds: spec.workDir === undefined ? [] : [`${spec.workDir}:${this.#containerWorkDir}`],
            SecurityOpt: ['no-new-privileges'],
            CgroupParent: cgroup === undefined ? undefined : `/${cgroup.relativePath}`,
          },
        });
      } catch (error) {
        if (statusOf(error) === 409) throw new OrbitfedError('ORBITFED_RUNTIME_DUPLICATE_ID', `a container for workload ${spec.id} already exists: ${daemonMessage(error)}`, { field: 'id' });
        throw new OrbitfedError('ORBITFED_RUNTIME_START', `cannot create the container: ${daemonMessage(error)}`, { field: 'image' }, { cause: error });
      }
      const run = await this.#supervise(spec, signal, slot, container).catch((error: unknown) => {
        if (error instanceof OrbitfedError) throw error;
        throw new OrbitfedError('ORBITFED_RUNTIME_DOCKER', `the Docker daemon failed while running workload ${spec.id}: ${daemonMessage(error)}`, { field: 'id' }, { cause: error });
      });
      // The container's cgroup is gone once it is removed; its parent (ours) keeps the counters.
      await this.#remove(container);
      container = undefined;
      const usage = await this.#usage(cgroup, run.stats, run.oomKilled);
      const { outcome, reason } = classifyWorkloadEnd({ exitCode: run.exitCode, signal: null, stopCause: run.stopCause, oomKills: usage.oomKills, memoryBytes: spec.limits.memoryBytes });
      const result: WorkloadResult = {
        id: spec.id,
        runtime: 'docker',
        outcome,
        reason,
        exitCode: run.exitCode,
        signal: null,
        startMs: run.startMs,
        endMs: run.endMs,
        wallMs: durationMs(run.endMs - run.startMs),
        usage,
        stdout: run.stdout.result(),
        stderr: run.stderr.result(),
        enforcement: { cpu: 'docker', memory: 'docker' },
      };
      this.#logger.info({ id: spec.id, outcome, reason, wallMs: result.wallMs, cpuMs: usage.cpuMs, memoryPeakBytes: usage.memoryPeakBytes }, 'workload ended');
      return result;
    } finally {
      if (container !== undefined) await this.#remove(container);
      await cgroup?.remove(this.#ioClock).catch((error: unknown) => this.#logger.warn({ id: spec.id, error: String(error) }, 'cannot remove the workload cgroup parent'));
    }
  }

  async #remove(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true, v: true });
    } catch (error) {
      if (statusOf(error) !== 404) this.#logger.error({ id: container.id, error: daemonMessage(error) }, 'cannot remove a workload container');
    }
  }

  async #supervise(spec: WorkloadSpec, signal: AbortSignal | undefined, slot: WorkloadSlot, container: Docker.Container) {
    const stdout = new OutputCapture(spec.id, 'stdout', spec.limits.outputBytesMax, spec.onLog);
    const stderr = new OutputCapture(spec.id, 'stderr', spec.limits.outputBytesMax, spec.onLog);
    const demux = new DockerStreamDemultiplexer((stream, bytes) => (stream === 'stdout' ? stdout : stderr).write(bytes));
    // Attached before the start, as `docker run` does, so not a byte of output is missed.
    const attached = await container.attach({ stream: true, stdout: true, stderr: true });
    const streamEnded = new Promise<void>((resolve) => {
      attached.on('data', (chunk: Buffer) => {
        try {
          demux.push(chunk);
        } catch (error) {
          this.#logger.error({ id: spec.id, error: String(error) }, 'malformed output stream from the daemon; output dropped from here on');
          attached.removeAllListeners('data');
          attached.resume();
        }
      });
      attached.on('end', () => resolve());
      attached.on('close', () => resolve());
      attached.on('error', () => resolve());
    });
    try {
      await container.start();
    } catch (error) {
      (attached as unknown as { destroy?: () => void }).destroy?.();
      const message = daemonMessage(error);
      if (/executable file not found|no such file or directory/i.test(message)) {
        throw new OrbitfedError('ORBITFED_RUNTIME_COMMAND_NOT_FOUND', `command ${JSON.stringify(spec.command[0])} is not in image ${spec.image}: ${message}`, { field: 'command[0]' });
      }
      throw new OrbitfedError('ORBITFED_RUNTIME_START', `cannot start the container: ${message}`, { field: 'image' }, { cause: error });
    }
    const startMs = this.#clock.now();
    this.#logger.debug({ id: spec.id, container: container.id }, 'workload started');

    const statsUsage: StatsUsage = { cpuNs: null, cpuUserNs: null, cpuSystemNs: null, throttledNs: null, memoryPeakBytes: null };
    const stats = this.#mode!.cgroups === undefined ? this.#followStats(container, statsUsage) : undefined;

    let stopCause: StopCause | undefined;
    let exited = false;
    let graceTimer: TimerHandle | undefined;
    const kill = (killSignal: NodeJS.Signals): void => {
      container.kill({ signal: killSignal }).catch((error: unknown) => {
        // 409: it is not running any more, which is what we wanted.
        if (statusOf(error) !== 409 && statusOf(error) !== 404) this.#logger.warn({ id: spec.id, error: daemonMessage(error) }, `cannot send ${killSignal}`);
      });
    };
    const stop = (cause: StopCause): void => {
      if (stopCause !== undefined || exited) return;
      stopCause = cause;
      this.#logger.info({ id: spec.id, cause: cause.kind }, 'stopping workload');
      kill('SIGTERM');
      graceTimer = this.#ioClock.setTimer(this.#graceMs, () => kill('SIGKILL'));
    };
    slot.stoppable(stop);
    const timeoutTimer = this.#clock.setTimer(spec.limits.timeoutMs, () => stop({ kind: 'timeout', timeoutMs: spec.limits.timeoutMs }));
    const onAbort = (): void => stop({ kind: 'cancel', why: signal?.reason instanceof Error ? signal.reason.message : String(signal?.reason ?? 'aborted') });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();

    let waited: { StatusCode?: number };
    try {
      waited = (await container.wait()) as { StatusCode?: number };
    } finally {
      exited = true;
      timeoutTimer.cancel();
      graceTimer?.cancel();
      signal?.removeEventListener('abort', onAbort);
    }
    const endMs = this.#clock.now();
    const state = (await container.inspect()).State;
    await this.#within(streamEnded, STREAM_END_WAIT_MS);
    stats?.close();
    await stats?.done;
    return { startMs, endMs, exitCode: state.ExitCode ?? waited.StatusCode ?? null, oomKilled: state.OOMKilled === true, stopCause, stdout, stderr, stats: statsUsage };
  }

  /** Docker's stats stream while the container runs: the last CPU counters and the highest memory seen. */
  #followStats(container: Docker.Container, usage: StatsUsage): { readonly done: Promise<void>; close(): void } {
    const opened = container.stats({ stream: true });
    const done = (async () => {
      const stream = await opened;
      await forEachJsonLine(stream, 'stats', (sample) => {
        const cpu = (sample.cpu_stats ?? {}) as { cpu_usage?: { total_usage?: number; usage_in_usermode?: number; usage_in_kernelmode?: number }; throttling_data?: { throttled_time?: number } };
        const memory = (sample.memory_stats ?? {}) as { usage?: number; max_usage?: number };
        if (cpu.cpu_usage?.total_usage) {
          usage.cpuNs = cpu.cpu_usage.total_usage;
          usage.cpuUserNs = cpu.cpu_usage.usage_in_usermode ?? null;
          usage.cpuSystemNs = cpu.cpu_usage.usage_in_kernelmode ?? null;
          usage.throttledNs = cpu.throttling_data?.throttled_time ?? null;
        }
        const memoryBytes = Math.max(memory.max_usage ?? 0, memory.usage ?? 0);
        if (memoryBytes > 0) usage.memoryPeakBytes = Math.max(usage.memoryPeakBytes ?? 0, memoryBytes);
      });
    })().catch((error: unknown) => {
      this.#logger.debug({ id: container.id, error: String(error) }, 'stats stream ended');
    });
    // The daemon keeps the stream open after the container exits: we end it ourselves.
    const close = (): void => void opened.then((stream) => (stream as unknown as { destroy(): void }).destroy(), () => undefined);
    return { done, close };
  }

  async #usage(cgroup: WorkloadCgroup | undefined, stats: StatsUsage, oomKilled: boolean): Promise<WorkloadUsage> {
    const oomFloor = oomKilled ? 1 : 0;
    if (cgroup !== undefined) {
      const counters = await cgroup.usage();
      // v1 does not count a child cgroup's OOM kills in its parent; Docker's OOMKilled does.
      return { ...counters, oomKills: Math.max(counters.oomKills, oomFloor), source: cgroup.version === 2 ? 'cgroup-v2' : 'cgroup-v1' };
    }
    const ms = (ns: number | null): number | null => (ns === null ? null : ns / 1e6);
    return {
      cpuMs: ms(stats.cpuNs) ?? 0,
      cpuUserMs: ms(stats.cpuUserNs),
      cpuSystemMs: ms(stats.cpuSystemNs),
      cpuThrottledMs: ms(stats.throttledNs),
      memoryPeakBytes: stats.memoryPeakBytes,
      oomKills: oomFloor,
      source: 'docker-stats',
    };
  }

  async #within(promise: Promise<unknown>, limitMs: DurationMs): Promise<void> {
    let timer: TimerHandle | undefined;
    await Promise.race([promise, new Promise<void>((resolve) => { timer = this.#ioClock.setTimer(limitMs, resolve); })]);
    timer?.cancel();
  }
}
