// Usage of a process group read from /proc (proc(5)), for hosts without usable cgroups: the
// process runtime samples it periodically, kills the group when its resident memory passes the
// limit, and reports what it saw. Sampling misses what happens between two samples, so CPU time
// is a lower bound (the last moments of the group leader are never seen) and peak memory the
// largest of the sampled sums and of each process's own high-water mark (VmHWM).
import { readdir, readFile } from 'node:fs/promises';

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture's user ABI. */
const CLOCK_TICKS_PER_SEC = 100;
const MS_PER_TICK = 1000 / CLOCK_TICKS_PER_SEC;
/** A process group is not allowed more members than this to be read per sample. */
const MEMBERS_MAX = 4096;

export interface ProcStat {
  readonly pid: number;
  readonly processGroup: number;
  /** utime + stime + cutime + cstime (own and reaped children's), in ms. */
  readonly cpuMs: number;
}

/** The fields we use of a /proc/<pid>/stat line; the command name may hold spaces and ')' . */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After ')': state(3) ppid(4) pgrp(5) … utime(14) stime(15) cutime(16) cstime(17); index 0 is field 3.
  const fields = text.slice(close + 2).trim().split(' ');
  const at = (field: number): number => Number(fields[field - 3]);
  const ticks = at(14) + at(15) + at(16) + at(17);
  if (!Number.isInteger(pid) || !Number.isFinite(at(5)) || !Number.isFinite(ticks)) return undefined;
  return { pid, processGroup: at(5), cpuMs: ticks * MS_PER_TICK };
}

/** A "Name:   value kB" field of /proc/<pid>/status, in bytes. */
export function statusBytes(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

export interface ProcSample {
  readonly members: number;
  readonly residentBytes: number;
}

export class ProcSampler {
  readonly #processGroup: number;
  #cpuMsMax = 0;
  #residentBytesMax = 0;
  #highWaterBytesMax = 0;

  constructor(processGroup: number) {
    this.#processGroup = processGroup;
  }

  /** Reads every process of the group now; processes that vanish meanwhile are skipped. */
  async sample(): Promise<ProcSample> {
    let entries: string[];
    try {
      entries = await readdir('/proc');
    } catch {
      return { members: 0, residentBytes: 0 };
    }
    let cpuMs = 0;
    let residentBytes = 0;
    let members = 0;
    for (const name of entries) {
      if (!/^\d+$/.test(name)) continue;
      const stat = parseProcStat(await readFile(`/proc/${name}/stat`, 'utf8').catch(() => ''));
      if (stat === undefined || stat.processGroup !== this.#processGroup) continue;
      if (++members > MEMBERS_MAX) break;
      const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
      cpuMs += stat.cpuMs;
      residentBytes += statusBytes(status, 'VmRSS');
      this.#highWaterBytesMax = Math.max(this.#highWaterBytesMax, statusBytes(status, 'VmHWM'));
    }
    this.#cpuMsMax = Math.max(this.#cpuMsMax, cpuMs);
    this.#residentBytesMax = Math.max(this.#residentBytesMax, residentBytes);
    return { members, residentBytes };
  }

  get cpuMs(): number {
    return this.#cpuMsMax;
  }

  get memoryPeakBytes(): number {
    return Math.max(this.#residentBytesMax, this.#highWaterBytesMax);
  }
}
