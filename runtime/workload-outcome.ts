// How a finished workload is classified: one rule for both runtimes, so the same workload ends
// with the same outcome whether it ran as a process or in a container.
import type { WorkloadOutcome } from './workload-runtime.ts';

/** Why the runtime itself ended a workload, if it did. */
export type StopCause =
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  | { readonly kind: 'cancel'; readonly why: string }
  /** The fallback without cgroups: resident memory seen over the limit by polling /proc. */
  | { readonly kind: 'memory-polled'; readonly residentBytes: number; readonly memoryBytes: number };

export interface WorkloadEnd {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The first stop the runtime decided on; later ones do not change the outcome. */
  readonly stopCause: StopCause | undefined;
  /** Processes the kernel killed for memory (cgroup memory events, Docker's OOMKilled). */
  readonly oomKills: number;
  readonly memoryBytes: number;
}

function howItEnded(end: WorkloadEnd): string {
  if (end.signal !== null) return `was killed by ${end.signal}`;
  return `exited with code ${end.exitCode}`;
}

/**
 * The outcome and its reason. The runtime's own decisions (cancel, timeout) come first since they
 * explain any exit that follows them; then memory, where the kernel killed a process of a workload
 * that then did not exit 0 (one that survives the loss of a child and exits 0 has succeeded).
 */
export function classifyWorkloadEnd(end: WorkloadEnd): { readonly outcome: WorkloadOutcome; readonly reason: string } {
  const oomNote = end.oomKills > 0 ? `; the kernel killed ${end.oomKills} of its processes for memory` : '';
  const cause = end.stopCause;
  if (cause?.kind === 'cancel') return { outcome: 'cancelled', reason: `cancelled (${cause.why}); it then ${howItEnded(end)}${oomNote}` };
  if (cause?.kind === 'timeout') return { outcome: 'timed-out', reason: `still running after the ${cause.timeoutMs} ms timeout; it then ${howItEnded(end)}${oomNote}` };
  if (cause?.kind === 'memory-polled') {
    return {
      outcome: 'killed-memory',
      reason: `resident memory ${cause.residentBytes} bytes passed the ${cause.memoryBytes} byte limit (seen by polling /proc, no cgroup); it then ${howItEnded(end)}`,
    };
  }
  const succeeded = end.exitCode === 0 && end.signal === null;
  if (end.oomKills > 0 && !succeeded) {
    return { outcome: 'killed-memory', reason: `passed its ${end.memoryBytes} byte memory limit: the kernel killed ${end.oomKills} of its processes, and it ${howItEnded(end)}` };
  }
  if (succeeded) return { outcome: 'succeeded', reason: `exited with code 0${oomNote}` };
  return { outcome: 'failed', reason: howItEnded(end) + oomNote };
}
