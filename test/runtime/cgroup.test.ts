// Reading the cgroup file system's text formats (proc(5) mountinfo; cgroup-v2.rst flat-keyed
// files) and the CFS quota arithmetic. The files themselves are exercised by the runtime tests.
import { describe, expect, it } from 'vitest';
import { cfsQuotaUs, parseCgroupMounts, parseFlatKeyed } from '../../runtime/cgroup.ts';

// This machine's /proc/self/mountinfo (a hybrid host: v1 controllers and an empty v2 mount).
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
// Debian 12 with systemd: cgroup v2 only, optional fields before the separator.
const UNIFIED = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
29 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
// Older distributions co-mount cpu and cpuacct; mount points escape spaces as \\040.
const COMOUNTED = String.raw`33 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
34 25 0:30 / /mnt/my\040cgroups/memory rw - cgroup cgroup rw,memory
`;

describe('cgroup mounts from mountinfo', () => {
  it('lists v1 hierarchies with their controllers and the v2 mount, and nothing else', () => {
    expect(parseCgroupMounts(HYBRID)).toEqual([
      { mountPoint: '/sys/fs/cgroup/cpu', version: 1, controllers: ['cpu'] },
      { mountPoint: '/sys/fs/cgroup/cpuacct', version: 1, controllers: ['cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/memory', version: 1, controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/pids', version: 1, controllers: ['pids'] },
      { mountPoint: '/sys/fs/cgroup/systemd', version: 1, controllers: [] },
      { mountPoint: '/sys/fs/cgroup/unified', version: 2, controllers: [] },
    ]);
  });

  it('finds the single v2 mount behind optional fields', () => {
    expect(parseCgroupMounts(UNIFIED)).toEqual([{ mountPoint: '/sys/fs/cgroup', version: 2, controllers: [] }]);
  });

  it('reads co-mounted controllers and unescapes mount points', () => {
    expect(parseCgroupMounts(COMOUNTED)).toEqual([
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', version: 1, controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/mnt/my cgroups/memory', version: 1, controllers: ['memory'] },
    ]);
  });

  it('skips lines that are not mount entries', () => {
    expect(parseCgroupMounts('garbage\n\n1 2 3\n - cgroup2')).toEqual([]);
  });
});

describe('flat-keyed cgroup files', () => {
  it('reads cpu.stat and memory.events as numbers by key', () => {
    const cpu = parseFlatKeyed('usage_usec 1520000\nuser_usec 1500000\nsystem_usec 20000\nnr_periods 15\nnr_throttled 14\nthrottled_usec 740000\n');
    expect(cpu.get('usage_usec')).toBe(1_520_000);
    expect(cpu.get('throttled_usec')).toBe(740_000);
    expect(parseFlatKeyed('low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n').get('oom_kill')).toBe(1);
  });

  it('reads v1 memory.oom_control and ignores what is not a number', () => {
    const oom = parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 2\nweird value\n');
    expect(oom.get('oom_kill')).toBe(2);
    expect(oom.has('weird')).toBe(false);
  });
});

describe('the CFS quota', () => {
  it('is cores times the 100 ms period, never below the kernel\'s 1 ms floor', () => {
    expect(cfsQuotaUs(0.5)).toBe(50_000);
    expect(cfsQuotaUs(2)).toBe(200_000);
    expect(cfsQuotaUs(0.001)).toBe(1_000);
  });
});
