// The port both agents run workloads through (ARCHITECTURE: "Runtimes behind one interface"):
// a workload is an argv (and, for Docker, an image) with limits that always hold, and it ends in
// one of five outcomes with usage measured by the operating system, never estimated by us.
import { isAbsolute } from 'node:path';
import { OrbitfedError, type DurationMs, type UnixMs } from '../common/index.ts';

export type RuntimeKind = 'process' | 'docker';

/** Limits of one workload. Every one is required: a workload without a bound is a bug. */
export interface WorkloadLimits {
  /** CPU time per wall time, in cores (0.5 = half a core); enforced by the kernel's CFS quota. */
  readonly cpuCores: number;
  /** Memory (resident plus page cache the workload caused), at least `MEMORY_BYTES_MIN`. */
  readonly memoryBytes: number;
  /** Wall time from start; then SIGTERM, and SIGKILL after the runtime's termination grace. */
  readonly timeoutMs: DurationMs;
  /** Bytes of stdout and, separately, of stderr kept and streamed; the rest is drained and counted. */
  readonly outputBytesMax: number;
}

export type WorkloadStream = 'stdout' | 'stderr';

/** A chunk of a workload's output as it arrives (only the bytes within `outputBytesMax`). */
export interface WorkloadLogChunk {
  readonly workloadId: string;
  readonly stream: WorkloadStream;
  readonly bytes: Buffer;
}

export interface WorkloadSpec {
  /** Names the workload's cgroup and container; unique among the runtime's running workloads. */
  readonly id: string;
  /** argv, run without a shell. The process runtime looks `command[0]` up in the workload's PATH. */
  readonly command: readonly string[];
  /** Docker only (required there): a local image reference. */
  readonly image?: string;
  /** The workload's whole environment (the process runtime adds only PATH when it is missing). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Host directory with the workload's input files, where it also writes its output. The process
   * runtime runs in it; Docker bind-mounts it (read-write) as the container's working directory.
   */
  readonly workDir?: string;
  readonly limits: WorkloadLimits;
  /** Live output; called synchronously for every kept chunk, so it must not block. */
  readonly onLog?: (chunk: WorkloadLogChunk) => void;
}

/**
 * - `succeeded`: exited 0.
 * - `failed`: exited non-zero or died from a signal we did not send.
 * - `timed-out`: still running at `timeoutMs`, so the runtime stopped it.
 * - `killed-memory`: a process of the workload was killed for passing `memoryBytes` and the
 *   workload did not exit 0.
 * - `cancelled`: the caller's AbortSignal fired (or the runtime stopped) while it ran.
 */
export type WorkloadOutcome = 'succeeded' | 'failed' | 'timed-out' | 'killed-memory' | 'cancelled';

/** Where a limit or a measurement comes from. */
export type LimitEnforcement = 'cgroup-v2' | 'cgroup-v1' | 'docker' | 'rss-polling' | 'none';
export type UsageSource = 'cgroup-v2' | 'cgroup-v1' | 'docker-stats' | 'proc-sampled';

export interface WorkloadUsage {
  /** User plus system CPU time of every process of the workload. */
  readonly cpuMs: number;
  readonly cpuUserMs: number | null;
  readonly cpuSystemMs: number | null;
  /** Time the CFS quota held the workload back (cgroups only). */
  readonly cpuThrottledMs: number | null;
  /** Highest memory charged to the workload; null when the system could not tell. */
  readonly memoryPeakBytes: number | null;
  /** How many of the workload's processes the kernel killed for memory. */
  readonly oomKills: number;
  /**
   * `proc-sampled` (no cgroups) reads /proc every sampling interval, so it is a lower bound;
   * `docker-stats` samples about once a second; cgroup counters are exact.
   */
  readonly source: UsageSource;
}

export interface CapturedOutput {
  /** The first `outputBytesMax` bytes. */
  readonly bytes: Buffer;
  /** Every byte the workload wrote to the stream, kept or not. */
  readonly totalBytes: number;
  readonly truncated: boolean;
}

export interface WorkloadEnforcement {
  readonly cpu: LimitEnforcement;
  readonly memory: LimitEnforcement;
}

export interface WorkloadResult {
  readonly id: string;
  readonly runtime: RuntimeKind;
  readonly outcome: WorkloadOutcome;
  /** Why, in words: "exited with code 3", "still running after 2000 ms", … */
  readonly reason: string;
  /** Exit status, or null when it died from a signal (Docker reports 128 + signal instead). */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly startMs: UnixMs;
  readonly endMs: UnixMs;
  readonly wallMs: DurationMs;
  readonly usage: WorkloadUsage;
  readonly stdout: CapturedOutput;
  readonly stderr: CapturedOutput;
  /** How `cpuCores` and `memoryBytes` were held for this run. */
  readonly enforcement: WorkloadEnforcement;
}

/** What a started runtime can enforce here, and why not when it cannot. */
export interface RuntimeCapabilities {
  readonly kind: RuntimeKind;
  readonly enforcement: WorkloadEnforcement;
  readonly usageSource: UsageSource;
  /** Why the preferred mechanism is not used (no cgroup v2, not writable, …), or ''. */
  readonly notes: readonly string[];
  /** Workloads (cgroups or containers) left by an earlier run of this runtime and removed at start. */
  readonly leftoversRemoved: number;
}

/**
 * The port. `start` probes the system and removes what a crashed earlier run left behind;
 * `run` refuses (throws `OrbitfedError`) whatever keeps a workload from starting and otherwise
 * resolves with a result once every process of the workload is gone and its cgroup or container
 * removed; `stop` cancels the running workloads and waits for them.
 */
export interface WorkloadRuntime {
  readonly kind: RuntimeKind;
  start(signal?: AbortSignal): Promise<RuntimeCapabilities>;
  run(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadResult>;
  stop(): Promise<void>;
}

/** Docker's floor (6 MiB) for a container's memory limit, held by both runtimes alike. */
export const MEMORY_BYTES_MIN = 6 * 1024 * 1024;
/** Output is kept in memory: at most 64 MiB per stream. */
export const OUTPUT_BYTES_MAX = 64 * 1024 * 1024;
export const CPU_CORES_MAX = 1024;
/** 30 days: past that a timeout is a typo. */
export const TIMEOUT_MS_MAX = 30 * 86_400_000;
export const COMMAND_ARGS_MAX = 4096;
export const COMMAND_BYTES_MAX = 128 * 1024;
export const ENV_ENTRIES_MAX = 1024;

const WORKLOAD_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_NAME = /^[^=\0]+$/;

function specError(field: string, message: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_RUNTIME_SPEC', message, { field });
}

function checkNumber(field: string, value: unknown, min: number, max: number, integer: boolean): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw specError(field, `must be a finite ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  if (value < min || value > max) throw specError(field, `must be within [${min}, ${max}], got ${value}`);
}

/**
 * Refuses a spec that cannot be run as written, naming the field (`ORBITFED_RUNTIME_SPEC`).
 * Both runtimes call it first, so bad specs fail alike everywhere.
 */
export function checkWorkloadSpec(spec: WorkloadSpec, kind: RuntimeKind): void {
  if (typeof spec !== 'object' || spec === null) throw specError('spec', 'must be an object');
  if (typeof spec.id !== 'string' || !WORKLOAD_ID.test(spec.id)) {
    throw specError('id', `must be 1-64 letters, digits, '_', '.' or '-' starting with a letter or digit, got ${JSON.stringify(spec.id)}`);
  }
  if (!Array.isArray(spec.command) || spec.command.length === 0) throw specError('command', 'must be a non-empty argv array');
  if (spec.command.length > COMMAND_ARGS_MAX) throw specError('command', `has ${spec.command.length} arguments, more than ${COMMAND_ARGS_MAX}`);
  let commandBytes = 0;
  spec.command.forEach((arg, i) => {
    if (typeof arg !== 'string') throw specError(`command[${i}]`, 'must be a string');
    if (arg.includes('\0')) throw specError(`command[${i}]`, 'contains a NUL byte');
    commandBytes += Buffer.byteLength(arg) + 1;
  });
  if (spec.command[0] === '') throw specError('command[0]', 'is empty');
  if (commandBytes > COMMAND_BYTES_MAX) throw specError('command', `is ${commandBytes} bytes, more than ${COMMAND_BYTES_MAX}`);
  if (kind === 'docker') {
    if (typeof spec.image !== 'string' || spec.image === '' || /\s|\0/.test(spec.image)) throw specError('image', 'the Docker runtime needs a local image reference');
  } else if (spec.image !== undefined) {
    throw specError('image', 'the process runtime runs no images; use the Docker runtime');
  }
  if (spec.env !== undefined) {
    if (typeof spec.env !== 'object' || spec.env === null) throw specError('env', 'must be an object of strings');
    const entries = Object.entries(spec.env);
    if (entries.length > ENV_ENTRIES_MAX) throw specError('env', `has ${entries.length} entries, more than ${ENV_ENTRIES_MAX}`);
    for (const [name, value] of entries) {
      if (!ENV_NAME.test(name)) throw specError(`env.${name}`, 'a variable name may not be empty or contain "=" or NUL');
      if (typeof value !== 'string' || value.includes('\0')) throw specError(`env.${name}`, 'must be a string without NUL');
    }
  }
  if (spec.workDir !== undefined && (typeof spec.workDir !== 'string' || !isAbsolute(spec.workDir) || spec.workDir.includes('\0') || spec.workDir.includes(':'))) {
    throw specError('workDir', `must be an absolute path without ':', got ${JSON.stringify(spec.workDir)}`);
  }
  const limits = spec.limits as Partial<WorkloadLimits> | undefined;
  if (typeof limits !== 'object' || limits === null) throw specError('limits', 'cpuCores, memoryBytes, timeoutMs and outputBytesMax are required');
  checkNumber('limits.cpuCores', limits.cpuCores, 0.01, CPU_CORES_MAX, false);
  checkNumber('limits.memoryBytes', limits.memoryBytes, MEMORY_BYTES_MIN, Number.MAX_SAFE_INTEGER, true);
  checkNumber('limits.timeoutMs', limits.timeoutMs, 1, TIMEOUT_MS_MAX, false);
  checkNumber('limits.outputBytesMax', limits.outputBytesMax, 0, OUTPUT_BYTES_MAX, true);
  if (spec.onLog !== undefined && typeof spec.onLog !== 'function') throw specError('onLog', 'must be a function');
}
