// Linux control groups as the runtimes use them: one cgroup per workload under a parent of ours,
// with the CPU quota, memory and pid limits written before the workload's first instruction, and
// its usage read from the kernel's own counters once it is gone.
//
// cgroup v2 (Documentation/admin-guide/cgroup-v2.rst) is preferred: one directory per workload,
// cpu.max, memory.max, memory.swap.max, pids.max; usage from cpu.stat,
// memory.peak (Linux ≥ 5.19) and memory.events. Hosts still on v1 (cgroup-v1/*.rst) get one
// directory per hierarchy: cpu.cfs_quota_us, memory.limit_in_bytes (+ memsw), pids.max; usage from
// cpuacct.usage*, memory.max_usage_in_bytes and memory.oom_control's oom_kill.
import { mkdir, readdir, readFile, rmdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { OrbitfedError, durationMs, type Clock } from '../common/index.ts';

export type CgroupVersion = 1 | 2;

export interface CgroupMount {
  readonly mountPoint: string;
  readonly version: CgroupVersion;
  /** v1: the controllers bound to this hierarchy (from the mount's options); v2: empty here. */
  readonly controllers: readonly string[];
}

export interface CgroupLimits {
  readonly cpuCores: number;
  readonly memoryBytes: number;
  readonly pidsMax: number;
}

export interface CgroupUsage {
  readonly cpuMs: number;
  readonly cpuUserMs: number | null;
  readonly cpuSystemMs: number | null;
  readonly cpuThrottledMs: number | null;
  readonly memoryPeakBytes: number | null;
  readonly oomKills: number;
}

/** CFS period: 100 ms, the kernel's default; the quota is cores × period. */
export const CFS_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms. */
const CFS_QUOTA_US_MIN = 1_000;
/** How long `remove` waits for the last processes of a cgroup to be gone. */
const REMOVE_WAIT_MS = 5_000;
const REMOVE_POLL_MS = 20;

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];

/** mountinfo escapes space, tab, newline and backslash as octal (proc(5)). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The cgroup mounts listed in a /proc/self/mountinfo text (proc(5): fields, then " - ", fstype, source, super options). */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const fields = line.slice(0, separator).split(' ');
    const [fsType, , superOptions = ''] = line.slice(separator + 3).split(' ');
    const mountPoint = fields[4];
    if (mountPoint === undefined) continue;
    if (fsType === 'cgroup2') mounts.push({ mountPoint: unescapeMountPath(mountPoint), version: 2, controllers: [] });
    else if (fsType === 'cgroup') {
      mounts.push({ mountPoint: unescapeMountPath(mountPoint), version: 1, controllers: superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.includes('=')) });
    }
  }
  return mounts;
}

/** "key value" lines (cpu.stat, memory.events, memory.oom_control, cpuacct.stat). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || key === '' || value === undefined) continue;
    const number = Number(value);
    if (Number.isFinite(number)) values.set(key, number);
  }
  return values;
}

/** cpu.max for v2 ("quota period") or the v1 quota in microseconds. */
export function cfsQuotaUs(cpuCores: number): number {
  return Math.max(CFS_QUOTA_US_MIN, Math.round(cpuCores * CFS_PERIOD_US));
}

function errnoOf(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function cgroupError(message: string, path: string, cause?: unknown): OrbitfedError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new OrbitfedError('ORBITFED_RUNTIME_CGROUP', `${message}${detail}`, { file: path }, { cause });
}

async function writeControl(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (error) {
    throw cgroupError(`cannot write ${JSON.stringify(value)}`, path, error);
  }
}

/** The processes (one pid per line) in a cgroup.procs file; none when the cgroup is gone. */
async function readPids(procsPath: string): Promise<number[]> {
  const text = await readText(procsPath);
  return text === undefined ? [] : text.split('\n').filter((l) => l !== '').map(Number);
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (errnoOf(error) !== 'ESRCH') throw error;
  }
}

/** The machine's cgroup file system as the runtimes use it: one version, the mount points. */
export class CgroupHost {
  readonly version: CgroupVersion;
  /** v2: the one mount; v1: one mount point per controller we use. */
  readonly #v2Mount: string | undefined;
  readonly #v1Dirs: ReadonlyMap<V1Controller, string>;
  /**
   * v1: every hierarchy, and the v2 mount of a hybrid host ("unified"), since Docker (runc)
   * creates a container's cgroup parent in all of them.
   */
  readonly #v1AllMounts: readonly string[];

  private constructor(version: CgroupVersion, v2Mount: string | undefined, v1Dirs: ReadonlyMap<V1Controller, string>, v1AllMounts: readonly string[]) {
    this.version = version;
    this.#v2Mount = v2Mount;
    this.#v1Dirs = v1Dirs;
    this.#v1AllMounts = v1AllMounts;
  }

  /**
   * Finds a usable cgroup file system: v2 when its root offers the cpu and memory controllers,
   * else v1 when cpu, cpuacct and memory hierarchies are mounted; otherwise the reason why not.
   */
  static async detect(mountinfoPath = '/proc/self/mountinfo'): Promise<CgroupHost | { readonly unavailable: string }> {
    const mountinfo = await readText(mountinfoPath);
    if (mountinfo === undefined) return { unavailable: `${mountinfoPath} does not exist (not Linux?)` };
    const mounts = parseCgroupMounts(mountinfo);
    const reasons: string[] = [];
    for (const mount of mounts.filter((m) => m.version === 2)) {
      const controllers = (await readText(join(mount.mountPoint, 'cgroup.controllers')))?.trim().split(/\s+/) ?? [];
      if (controllers.includes('cpu') && controllers.includes('memory')) return new CgroupHost(2, mount.mountPoint, new Map(), []);
      reasons.push(`cgroup v2 at ${mount.mountPoint} offers [${controllers.join(' ')}], not cpu and memory`);
    }
    const v1 = mounts.filter((m) => m.version === 1);
    const dirs = new Map<V1Controller, string>();
    for (const controller of V1_CONTROLLERS) {
      const mount = v1.find((m) => m.controllers.includes(controller));
      if (mount !== undefined) dirs.set(controller, mount.mountPoint);
    }
    if (dirs.has('cpu') && dirs.has('cpuacct') && dirs.has('memory')) return new CgroupHost(1, undefined, dirs, mounts.map((m) => m.mountPoint));
    if (v1.length > 0) reasons.push(`cgroup v1 lacks ${['cpu', 'cpuacct', 'memory'].filter((c) => !dirs.has(c as V1Controller)).join(', ')}`);
    if (mounts.length === 0) reasons.push('no cgroup file system is mounted');
    return { unavailable: reasons.join('; ') };
  }

  /** Where the cgroup at `relativePath` lives in each hierarchy we write to (one dir on v2). */
  #dirsOf(relativePath: string): string[] {
    if (this.version === 2) return [join(this.#v2Mount!, relativePath)];
    return [...new Set([...this.#v1Dirs.values()].map((mount) => join(mount, relativePath)))];
  }

  /**
   * Creates the parent (e.g. "orbitfed") the workloads' cgroups go under. On v2 the controllers
   * are delegated down the path (each level's cgroup.subtree_control), which fails on a
   * non-root cgroup that holds processes itself (the "no internal processes" rule).
   */
  async prepareParent(parentPath: string): Promise<void> {
    for (const dir of this.#dirsOf(parentPath)) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (error) {
        throw cgroupError('cannot create the workloads\' parent cgroup', dir, error);
      }
    }
    if (this.version === 1) return;
    const segments = parentPath.split('/').filter((s) => s !== '');
    let dir = this.#v2Mount!;
    for (let i = 0; i <= segments.length; i++) {
      const available = (await readText(join(dir, 'cgroup.controllers')))?.trim().split(/\s+/) ?? [];
      const enabled = (await readText(join(dir, 'cgroup.subtree_control')))?.trim().split(/\s+/) ?? [];
      const wanted = ['cpu', 'memory', 'pids'].filter((c) => available.includes(c) && !enabled.includes(c));
      if (wanted.length > 0) await writeControl(join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
      if (i < segments.length) dir = join(dir, segments[i]!);
    }
  }

  /** The names of the cgroups under `parentPath` (workloads left by an earlier run, say). */
  async children(parentPath: string): Promise<string[]> {
    const names = new Set<string>();
    for (const dir of this.version === 2 ? this.#dirsOf(parentPath) : this.#v1AllMounts.map((m) => join(m, parentPath))) {
      try {
        for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) names.add(entry.name);
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw cgroupError('cannot list', dir, error);
      }
    }
    return [...names].sort();
  }

  /** Removes the cgroup at `relativePath` if nothing is in or under it (a parent we made). */
  async removeIfEmpty(relativePath: string): Promise<boolean> {
    let removed = true;
    for (const dir of this.version === 2 ? this.#dirsOf(relativePath) : this.#v1AllMounts.map((m) => join(m, relativePath))) {
      try {
        await rmdir(dir);
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') removed = false;
      }
    }
    return removed;
  }

  /** A handle on the cgroup at `relativePath` (not created until `create`). */
  workload(relativePath: string): WorkloadCgroup {
    return new WorkloadCgroup(this.version, relativePath, this.#dirsOf(relativePath), this.version === 2 ? this.#dirsOf(relativePath) : this.#v1AllMounts.map((m) => join(m, relativePath)), this.#v1Dirs);
  }
}

/** One workload's cgroup. */
export class WorkloadCgroup {
  readonly version: CgroupVersion;
  readonly relativePath: string;
  /** The directories we create and move processes into. */
  readonly #dirs: readonly string[];
  /** Every directory that may exist for it (v1: in all hierarchies, where Docker creates them). */
  readonly #allDirs: readonly string[];
  readonly #v1Mounts: ReadonlyMap<V1Controller, string>;

  constructor(version: CgroupVersion, relativePath: string, dirs: readonly string[], allDirs: readonly string[], v1Mounts: ReadonlyMap<V1Controller, string>) {
    this.version = version;
    this.relativePath = relativePath;
    this.#dirs = dirs;
    this.#allDirs = allDirs;
    this.#v1Mounts = v1Mounts;
  }

  #v1(controller: V1Controller, file: string): string | undefined {
    const mount = this.#v1Mounts.get(controller);
    return mount === undefined ? undefined : join(mount, this.relativePath, file);
  }

  /** Creates the cgroup and writes its limits; the cgroup is removed again if a write fails. */
  async create(limits: CgroupLimits): Promise<void> {
    const created: string[] = [];
    try {
      for (const dir of this.#dirs) {
        try {
          await mkdir(dir);
        } catch (error) {
          throw cgroupError(errnoOf(error) === 'EEXIST' ? 'a cgroup of that name already exists' : 'cannot create the workload cgroup', dir, error);
        }
        created.push(dir);
      }
      const quota = cfsQuotaUs(limits.cpuCores);
      if (this.version === 2) {
        const dir = this.#dirs[0]!;
        await writeControl(join(dir, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
        await writeControl(join(dir, 'memory.max'), String(limits.memoryBytes));
        // No swap: memory.max alone would let the workload page out past its limit.
        if (await exists(join(dir, 'memory.swap.max'))) await writeControl(join(dir, 'memory.swap.max'), '0');
        if (await exists(join(dir, 'pids.max'))) await writeControl(join(dir, 'pids.max'), String(limits.pidsMax));
        return;
      }
      await writeControl(this.#v1('cpu', 'cpu.cfs_period_us')!, String(CFS_PERIOD_US));
      await writeControl(this.#v1('cpu', 'cpu.cfs_quota_us')!, String(quota));
      await writeControl(this.#v1('memory', 'memory.limit_in_bytes')!, String(limits.memoryBytes));
      // With swap accounting, memory+swap gets the same limit: no swapping past it.
      const memsw = this.#v1('memory', 'memory.memsw.limit_in_bytes')!;
      if (await exists(memsw)) await writeControl(memsw, String(limits.memoryBytes));
      const pids = this.#v1('pids', 'pids.max');
      if (pids !== undefined) await writeControl(pids, String(limits.pidsMax));
    } catch (error) {
      for (const dir of created) await rmdir(dir).catch(() => undefined);
      throw error;
    }
  }

  /** Moves a process (with the threads it has) into the cgroup, in every hierarchy. */
  async enter(pid: number): Promise<void> {
    for (const dir of this.#dirs) await writeControl(join(dir, 'cgroup.procs'), String(pid));
  }

  /** The processes in the cgroup now. */
  async pids(): Promise<number[]> {
    const all = new Set<number>();
    for (const dir of this.#dirs) for (const pid of await readPids(join(dir, 'cgroup.procs'))) all.add(pid);
    return [...all];
  }

  /** SIGKILLs every process in the cgroup (cgroup.kill where the kernel has it, Linux ≥ 5.14). */
  async killAll(): Promise<void> {
    if (this.version === 2) {
      const killFile = join(this.#dirs[0]!, 'cgroup.kill');
      if (await exists(killFile)) {
        await writeControl(killFile, '1');
        return;
      }
    }
    for (const pid of await this.pids()) killPid(pid, 'SIGKILL');
  }

  /** The kernel's counters; read after the workload ended (they outlive its processes). */
  async usage(): Promise<CgroupUsage> {
    if (this.version === 2) {
      const dir = this.#dirs[0]!;
      const cpu = parseFlatKeyed((await readText(join(dir, 'cpu.stat'))) ?? '');
      const events = parseFlatKeyed((await readText(join(dir, 'memory.events'))) ?? '');
      const peak = await readText(join(dir, 'memory.peak'));
      const usec = (key: string): number | null => (cpu.has(key) ? cpu.get(key)! / 1000 : null);
      return {
        cpuMs: usec('usage_usec') ?? 0,
        cpuUserMs: usec('user_usec'),
        cpuSystemMs: usec('system_usec'),
        cpuThrottledMs: usec('throttled_usec'),
        memoryPeakBytes: peak === undefined ? null : Number(peak.trim()),
        oomKills: events.get('oom_kill') ?? 0,
      };
    }
    const nsText = async (file: string, controller: V1Controller = 'cpuacct'): Promise<number | null> => {
      const text = await readText(this.#v1(controller, file)!);
      return text === undefined ? null : Number(text.trim());
    };
    const totalNs = await nsText('cpuacct.usage');
    const userNs = await nsText('cpuacct.usage_user');
    const systemNs = await nsText('cpuacct.usage_sys');
    const cpuStat = parseFlatKeyed((await readText(this.#v1('cpu', 'cpu.stat')!)) ?? '');
    const oom = parseFlatKeyed((await readText(this.#v1('memory', 'memory.oom_control')!)) ?? '');
    const peak = await nsText('memory.max_usage_in_bytes', 'memory');
    const ms = (ns: number | null | undefined): number | null => (ns === null || ns === undefined ? null : ns / 1e6);
    return {
      cpuMs: ms(totalNs) ?? 0,
      cpuUserMs: ms(userNs),
      cpuSystemMs: ms(systemNs),
      cpuThrottledMs: ms(cpuStat.get('throttled_time')),
      memoryPeakBytes: peak,
      oomKills: oom.get('oom_kill') ?? 0,
    };
  }

  /**
   * Kills what is left in the cgroup and removes it (in every hierarchy). A cgroup can be removed
   * only once its last process is reaped, so this retries for a while before giving up.
   */
  async remove(clock: Clock): Promise<void> {
    const deadlineMs = clock.now() + REMOVE_WAIT_MS;
    for (const dir of this.#allDirs) {
      for (;;) {
        try {
          await rmdir(dir);
          break;
        } catch (error) {
          const code = errnoOf(error);
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || clock.now() >= deadlineMs) throw cgroupError('cannot remove the workload cgroup', dir, error);
          for (const pid of await readPids(join(dir, 'cgroup.procs'))) killPid(pid, 'SIGKILL');
          await clock.sleep(durationMs(REMOVE_POLL_MS));
        }
      }
    }
  }
}
