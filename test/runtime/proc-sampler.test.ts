// The fallback's /proc readings (proc(5)): stat fields after a command name that may hold
// anything, status sizes in kB, and a live process group sampled for real.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseProcStat, ProcSampler, statusBytes } from '../../runtime/proc-sampler.ts';

describe('reading /proc', () => {
  it('takes pid, process group and CPU ticks from a stat line', () => {
    // A real line of this machine's /proc/self/stat (cat), with utime..cstime set to 3 1 2 4.
    const line = '20462 (cat) R 20459 20459 25802 0 -1 4194304 103 0 0 0 3 1 2 4 20 0 1 0 1837011 3133440 412 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ pid: 20462, processGroup: 20459, cpuMs: 100 });
  });

  it('is not fooled by a command name with spaces and parentheses', () => {
    const line = '77 (evil) S 1 (x) R 1 5 5 0 -1 0 0 0 0 0 10 0 0 0 20 0 1 0 1 1 1';
    expect(parseProcStat(line)).toMatchObject({ pid: 77, processGroup: 5, cpuMs: 100 });
    expect(parseProcStat('no parentheses here')).toBeUndefined();
  });

  it('reads VmRSS and VmHWM in bytes', () => {
    const status = 'Name:\tcat\nVmHWM:\t    1944 kB\nVmRSS:\t    1800 kB\n';
    expect(statusBytes(status, 'VmRSS')).toBe(1800 * 1024);
    expect(statusBytes(status, 'VmHWM')).toBe(1944 * 1024);
    expect(statusBytes(status, 'VmSwap')).toBe(0);
  });

  it('samples every member of a live process group', async () => {
    const leader = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    await new Promise((resolve) => leader.once('spawn', resolve));
    try {
      const sampler = new ProcSampler(leader.pid!);
      let sample = await sampler.sample();
      for (let i = 0; i < 50 && sample.members < 3; i++) sample = await sampler.sample();
      expect(sample.members).toBe(3);
      expect(sample.residentBytes).toBeGreaterThan(0);
      expect(sampler.memoryPeakBytes).toBeGreaterThanOrEqual(sample.residentBytes);
    } finally {
      process.kill(-leader.pid!, 'SIGKILL');
    }
  });
});
