// Pure parsers for the Linux files housekeeping telemetry comes from: /proc/stat, /proc/meminfo,
// /proc/uptime, /proc/loadavg and /sys/class/thermal/thermal_zone*/temp. Text in, plain numbers
// with units in their names out; malformed text is an OrbitfedError naming file, line and field
// (`ORBITFED_HOUSEKEEPING_PARSE`). Formats: proc(5) and the kernel's Documentation/filesystems/proc.rst,
// Documentation/driver-api/thermal/sysfs-api.rst.
import { OrbitfedError } from '../common/index.ts';

const CODE = 'ORBITFED_HOUSEKEEPING_PARSE';

function parseError(file: string, message: string, line?: number, field?: string): OrbitfedError {
  return new OrbitfedError(CODE, message, { file, ...(line === undefined ? {} : { line }), ...(field === undefined ? {} : { field }) });
}

/** A counter that must be a non-negative decimal integer small enough to be exact in a double. */
function counter(text: string, file: string, line: number, field: string): number {
  if (!/^\d{1,16}$/.test(text)) throw parseError(file, `expected a non-negative integer, got ${JSON.stringify(text)}`, line, field);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw parseError(file, `${text} is too large to count exactly`, line, field);
  return value;
}

function decimal(text: string | undefined, file: string, line: number, field: string): number {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) throw parseError(file, `expected a non-negative decimal number, got ${JSON.stringify(text ?? '')}`, line, field);
  return Number(text);
}

/** The aggregate CPU time counters of one /proc/stat read, in USER_HZ ticks since boot. */
export interface CpuTimes {
  /** Online CPUs (`cpuN` lines). */
  readonly cpuCount: number;
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest time is already inside user and nice). */
  readonly totalTicks: number;
  /** idle + iowait: time no task ran. */
  readonly idleTicks: number;
}

/** The `cpu` line (and the count of `cpuN` lines) of /proc/stat. */
export function parseProcStat(text: string, file = '/proc/stat'): CpuTimes {
  const lines = text.split('\n');
  let aggregate: CpuTimes | undefined;
  let cpuCount = 0;
  lines.forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    const name = fields[0];
    if (name === 'cpu') {
      if (aggregate !== undefined) throw parseError(file, 'a second aggregate "cpu" line', i + 1);
      // Fields since Linux 2.6.33: user nice system idle iowait irq softirq steal guest guest_nice;
      // 2.4 kernels give the first four only. Missing trailing fields count as zero.
      const values = fields.slice(1);
      if (values.length < 4) throw parseError(file, `the "cpu" line has ${values.length} counters; at least 4 (user nice system idle) are needed`, i + 1);
      if (values.length > 10) throw parseError(file, `the "cpu" line has ${values.length} counters; at most 10 are known`, i + 1);
      const names = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'];
      const ticks = values.map((v, k) => counter(v, file, i + 1, names[k]!));
      const at = (k: number): number => ticks[k] ?? 0;
      aggregate = {
        cpuCount: 0,
        totalTicks: at(0) + at(1) + at(2) + at(3) + at(4) + at(5) + at(6) + at(7),
        idleTicks: at(3) + at(4),
      };
    } else if (name !== undefined && /^cpu\d+$/.test(name)) {
      cpuCount += 1;
    }
  });
  if (aggregate === undefined) throw parseError(file, 'no aggregate "cpu" line');
  return { ...aggregate, cpuCount: Math.max(1, cpuCount) };
}

/**
 * Fraction of CPU time spent busy between two reads, in [0, 1]; `null` when no time passed or the
 * counters went backwards (a reboot, or idle time that shrinks when a CPU goes offline).
 */
export function cpuBusyFraction(earlier: CpuTimes, later: CpuTimes): number | null {
  const totalTicks = later.totalTicks - earlier.totalTicks;
  const idleTicks = later.idleTicks - earlier.idleTicks;
  if (totalTicks <= 0 || idleTicks < 0 || idleTicks > totalTicks) return null;
  return 1 - idleTicks / totalTicks;
}

export interface MemoryInfo {
  readonly memTotalBytes: number;
  readonly memFreeBytes: number;
  /** The kernel's estimate of memory available without swapping; before Linux 3.14, free + buffers + cached. */
  readonly memAvailableBytes: number;
  readonly swapTotalBytes: number;
  readonly swapFreeBytes: number;
}

const KIB = 1024;

/** /proc/meminfo: `Key:   value kB` lines (the kernel's "kB" is KiB). */
export function parseMeminfo(text: string, file = '/proc/meminfo'): MemoryInfo {
  const values = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const match = /^([A-Za-z0-9_()]+):\s*(\S+)(?:\s+(\S+))?\s*$/.exec(raw);
    if (match === null) throw parseError(file, `expected "Key: value [kB]", got ${JSON.stringify(raw.slice(0, 80))}`, i + 1);
    const [, key, value, unit] = match;
    if (unit !== undefined && unit !== 'kB') throw parseError(file, `unknown unit ${JSON.stringify(unit)}`, i + 1, key);
    // Counts without a unit (HugePages_Total) are not sizes; only sizes are kept.
    if (unit === 'kB') values.set(key!, counter(value!, file, i + 1, key!) * KIB);
  });
  const required = (key: string): number => {
    const value = values.get(key);
    if (value === undefined) throw parseError(file, `no ${key} line`, undefined, key);
    return value;
  };
  const memFreeBytes = required('MemFree');
  return {
    memTotalBytes: required('MemTotal'),
    memFreeBytes,
    memAvailableBytes: values.get('MemAvailable') ?? memFreeBytes + (values.get('Buffers') ?? 0) + (values.get('Cached') ?? 0),
    swapTotalBytes: values.get('SwapTotal') ?? 0,
    swapFreeBytes: values.get('SwapFree') ?? 0,
  };
}

export interface Uptime {
  readonly uptimeSec: number;
  /** Summed over CPUs, so it can exceed `uptimeSec`. */
  readonly idleSec: number;
}

/** /proc/uptime: two decimal seconds, uptime and idle time. */
export function parseUptime(text: string, file = '/proc/uptime'): Uptime {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 2) throw parseError(file, `expected 2 numbers, got ${JSON.stringify(text.trim().slice(0, 80))}`, 1);
  return { uptimeSec: decimal(fields[0], file, 1, 'uptime'), idleSec: decimal(fields[1], file, 1, 'idle') };
}

export interface LoadAverage {
  readonly load1: number;
  readonly load5: number;
  readonly load15: number;
  readonly runnableTasks: number;
  readonly tasks: number;
}

/** /proc/loadavg: `0.52 0.58 0.59 1/467 12345`. */
export function parseLoadavg(text: string, file = '/proc/loadavg'): LoadAverage {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5) throw parseError(file, `expected 5 fields, got ${JSON.stringify(text.trim().slice(0, 80))}`, 1);
  const tasks = /^(\d+)\/(\d+)$/.exec(fields[3]!);
  if (tasks === null) throw parseError(file, `expected runnable/total tasks, got ${JSON.stringify(fields[3])}`, 1, 'tasks');
  return {
    load1: decimal(fields[0], file, 1, 'load1'),
    load5: decimal(fields[1], file, 1, 'load5'),
    load15: decimal(fields[2], file, 1, 'load15'),
    runnableTasks: counter(tasks[1]!, file, 1, 'runnableTasks'),
    tasks: counter(tasks[2]!, file, 1, 'tasks'),
  };
}

/** A thermal zone's `temp`: millidegrees Celsius as a (possibly negative) integer. */
export function parseThermalTemp(text: string, file = 'temp'): number {
  const value = text.trim();
  if (!/^-?\d{1,9}$/.test(value)) throw parseError(file, `expected millidegrees Celsius as an integer, got ${JSON.stringify(value.slice(0, 40))}`, 1);
  return Number(value) / 1000;
}
