// One classification for both runtimes: the same end of a workload is the same outcome everywhere.
import { describe, expect, it } from 'vitest';
import { classifyWorkloadEnd, type WorkloadEnd } from '../../runtime/workload-outcome.ts';

const end = (overrides: Partial<WorkloadEnd>): WorkloadEnd => ({ exitCode: 0, signal: null, stopCause: undefined, oomKills: 0, memoryBytes: 1000, ...overrides });

describe('classifying how a workload ended', () => {
  it('calls exit 0 success and anything else failure, saying how it ended', () => {
    expect(classifyWorkloadEnd(end({}))).toEqual({ outcome: 'succeeded', reason: 'exited with code 0' });
    expect(classifyWorkloadEnd(end({ exitCode: 2 }))).toEqual({ outcome: 'failed', reason: 'exited with code 2' });
    expect(classifyWorkloadEnd(end({ exitCode: null, signal: 'SIGSEGV' }))).toEqual({ outcome: 'failed', reason: 'was killed by SIGSEGV' });
  });

  it('puts the runtime\'s own stop first: cancel, then timeout', () => {
    expect(classifyWorkloadEnd(end({ exitCode: null, signal: 'SIGTERM', stopCause: { kind: 'cancel', why: 'tenant' } })).outcome).toBe('cancelled');
    const timedOut = classifyWorkloadEnd(end({ exitCode: 143, stopCause: { kind: 'timeout', timeoutMs: 500 }, oomKills: 1 }));
    expect(timedOut.outcome).toBe('timed-out');
    expect(timedOut.reason).toBe('still running after the 500 ms timeout; it then exited with code 143; the kernel killed 1 of its processes for memory');
  });

  it('calls a workload that lost a process to the OOM killer and did not exit 0 killed-memory', () => {
    expect(classifyWorkloadEnd(end({ exitCode: 137, oomKills: 1 })).outcome).toBe('killed-memory');
    expect(classifyWorkloadEnd(end({ exitCode: null, signal: 'SIGKILL', oomKills: 1 })).outcome).toBe('killed-memory');
  });

  it('still calls a workload that survived the loss of a child and exited 0 a success, noting the loss', () => {
    expect(classifyWorkloadEnd(end({ oomKills: 2 }))).toEqual({ outcome: 'succeeded', reason: 'exited with code 0; the kernel killed 2 of its processes for memory' });
  });

  it('reports the polled memory overrun of the fallback with what was seen', () => {
    const result = classifyWorkloadEnd(end({ exitCode: null, signal: 'SIGKILL', stopCause: { kind: 'memory-polled', residentBytes: 2000, memoryBytes: 1000 } }));
    expect(result.outcome).toBe('killed-memory');
    expect(result.reason).toContain('resident memory 2000 bytes passed the 1000 byte limit');
  });
});
