// Housekeeping telemetry of the computer an agent runs on, read from the real system: CPU use
// between two reads (/proc/stat), memory (/proc/meminfo), uptime (/proc/uptime), load average
// (/proc/loadavg), disk use of configured paths (statfs) and thermal zones (/sys/class/thermal)
// when the board has any. Every path is an option, so tests point the reader at fixture files.
// No native addons: flight computers are small ARM boards (ARCHITECTURE: durability).
import { readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { OrbitfedError, readBoundedTextFile, type Clock, type UnixMs } from '../common/index.ts';
import { cpuBusyFraction, parseLoadavg, parseMeminfo, parseProcStat, parseThermalTemp, parseUptime, type CpuTimes } from './housekeeping-proc.ts';

/** /proc/stat grows with CPUs and interrupt lines; 1 MiB is hundreds of CPUs. */
const PROC_STAT_BYTES_MAX = 1024 * 1024;
const PROC_SMALL_FILE_BYTES_MAX = 64 * 1024;
const THERMAL_FILE_BYTES_MAX = 4096;
/** Thermal zones read per record; boards have a handful, servers a few dozen. */
export const THERMAL_ZONES_MAX = 64;
export const DISK_PATHS_MAX = 16;

export interface HousekeepingOptions {
  readonly clock: Clock;
  /** Where stat, meminfo, uptime and loadavg are. Default `/proc`. */
  readonly procDir?: string;
  /** Where thermal_zone* directories are; absent → no zones. Default `/sys/class/thermal`. */
  readonly thermalDir?: string;
  /** Paths whose file systems are reported (the bundle store's directory, `/`). At most 16. */
  readonly diskPaths?: readonly string[];
}

export interface DiskUsage {
  readonly path: string;
  /** `null` with `error` set when the path could not be examined (unmounted, removed). */
  readonly totalBytes: number | null;
  readonly freeBytes: number | null;
  /** Free space available to unprivileged users. */
  readonly availableBytes: number | null;
  readonly error: string | null;
}

export interface ThermalZone {
  /** Directory name, `thermal_zone0`. */
  readonly zone: string;
  /** The zone's `type` (`cpu-thermal`, `x86_pkg_temp`), or `null` when unreadable. */
  readonly type: string | null;
  /** `null` with `error` set when the sensor could not be read (some report EINVAL while idle). */
  readonly temperatureC: number | null;
  readonly error: string | null;
}

/** One housekeeping record: plain data, units in the names. */
export interface HousekeepingRecord {
  readonly timeMs: UnixMs;
  readonly uptimeSec: number;
  readonly cpuCount: number;
  /** Busy fraction of all CPUs over `cpuSampleSec`: since the previous read, or since boot on the first. */
  readonly cpuBusyFraction: number | null;
  readonly cpuSampleSec: number;
  readonly load1: number;
  readonly load5: number;
  readonly load15: number;
  readonly memTotalBytes: number;
  readonly memAvailableBytes: number;
  readonly memFreeBytes: number;
  readonly swapTotalBytes: number;
  readonly swapFreeBytes: number;
  readonly disks: readonly DiskUsage[];
  readonly thermalZones: readonly ThermalZone[];
}

const BOOT: CpuTimes = { cpuCount: 0, totalTicks: 0, idleTicks: 0 };

/** Reads housekeeping records; keeps the previous CPU counters so each read reports the interval since. */
export class HousekeepingReader {
  readonly #clock: Clock;
  readonly #procDir: string;
  readonly #thermalDir: string;
  readonly #diskPaths: readonly string[];
  #previousCpu: CpuTimes = BOOT;
  #previousUptimeSec = 0;

  constructor(options: HousekeepingOptions) {
    this.#clock = options.clock;
    this.#procDir = options.procDir ?? '/proc';
    this.#thermalDir = options.thermalDir ?? '/sys/class/thermal';
    this.#diskPaths = options.diskPaths ?? [];
    if (this.#diskPaths.length > DISK_PATHS_MAX) {
      throw new OrbitfedError('ORBITFED_HOUSEKEEPING_OPTIONS', `${this.#diskPaths.length} disk paths; at most ${DISK_PATHS_MAX} are reported`, { field: 'diskPaths' });
    }
  }

  /** One record. /proc files that are missing or malformed are errors; disks and sensors fail one by one. */
  async read(signal?: AbortSignal): Promise<HousekeepingRecord> {
    const [statText, meminfoText, uptimeText, loadavgText] = await Promise.all([
      this.#readProc('stat', PROC_STAT_BYTES_MAX, signal),
      this.#readProc('meminfo', PROC_SMALL_FILE_BYTES_MAX, signal),
      this.#readProc('uptime', PROC_SMALL_FILE_BYTES_MAX, signal),
      this.#readProc('loadavg', PROC_SMALL_FILE_BYTES_MAX, signal),
    ]);
    const cpu = parseProcStat(statText, join(this.#procDir, 'stat'));
    const memory = parseMeminfo(meminfoText, join(this.#procDir, 'meminfo'));
    const uptime = parseUptime(uptimeText, join(this.#procDir, 'uptime'));
    const load = parseLoadavg(loadavgText, join(this.#procDir, 'loadavg'));
    const [disks, thermalZones] = await Promise.all([
      Promise.all(this.#diskPaths.map((path) => diskUsage(path))),
      this.#thermalZones(signal),
    ]);
    const record: HousekeepingRecord = {
      timeMs: this.#clock.now(),
      uptimeSec: uptime.uptimeSec,
      cpuCount: cpu.cpuCount,
      cpuBusyFraction: cpuBusyFraction(this.#previousCpu, cpu),
      cpuSampleSec: Math.max(0, uptime.uptimeSec - this.#previousUptimeSec),
      load1: load.load1,
      load5: load.load5,
      load15: load.load15,
      ...memory,
      disks,
      thermalZones,
    };
    this.#previousCpu = cpu;
    this.#previousUptimeSec = uptime.uptimeSec;
    return record;
  }

  #readProc(name: string, maxBytes: number, signal: AbortSignal | undefined): Promise<string> {
    return readBoundedTextFile(join(this.#procDir, name), {
      what: `/proc ${name} file`,
      maxBytes,
      readCode: 'ORBITFED_HOUSEKEEPING_READ',
      tooLargeCode: 'ORBITFED_HOUSEKEEPING_TOO_LARGE',
      invalidTextCode: 'ORBITFED_HOUSEKEEPING_PARSE',
      signal,
    });
  }

  async #thermalZones(signal: AbortSignal | undefined): Promise<ThermalZone[]> {
    let names: string[];
    try {
      names = await readdir(this.#thermalDir);
    } catch (error) {
      // No thermal class (containers, many VMs): no zones, which is not a failure.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw new OrbitfedError('ORBITFED_HOUSEKEEPING_READ', `cannot list thermal zones: ${(error as Error).message}`, { file: this.#thermalDir }, { cause: error });
    }
    const zones = names
      .map((name) => /^thermal_zone(\d+)$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .slice(0, THERMAL_ZONES_MAX)
      .map((m) => m[0]);
    return Promise.all(zones.map((zone) => this.#thermalZone(zone, signal)));
  }

  async #thermalZone(zone: string, signal: AbortSignal | undefined): Promise<ThermalZone> {
    const file = (name: string): Promise<string> => readBoundedTextFile(join(this.#thermalDir, zone, name), {
      what: `thermal zone ${name}`,
      maxBytes: THERMAL_FILE_BYTES_MAX,
      readCode: 'ORBITFED_HOUSEKEEPING_READ',
      tooLargeCode: 'ORBITFED_HOUSEKEEPING_TOO_LARGE',
      invalidTextCode: 'ORBITFED_HOUSEKEEPING_PARSE',
      signal,
    });
    const type = await file('type').then((text) => text.trim() || null, () => null);
    try {
      const temperatureC = parseThermalTemp(await file('temp'), join(this.#thermalDir, zone, 'temp'));
      return { zone, type, temperatureC, error: null };
    } catch (error) {
      if (signal?.aborted === true) throw error;
      return { zone, type, temperatureC: null, error: error instanceof Error ? error.message : String(error) };
    }
  }
}

async function diskUsage(path: string): Promise<DiskUsage> {
  try {
    const s = await statfs(path);
    return { path, totalBytes: s.blocks * s.bsize, freeBytes: s.bfree * s.bsize, availableBytes: s.bavail * s.bsize, error: null };
  } catch (error) {
    return { path, totalBytes: null, freeBytes: null, availableBytes: null, error: `${(error as NodeJS.ErrnoException).code ?? 'error'}: ${(error as Error).message}` };
  }
}
