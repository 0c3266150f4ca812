// The clock of a runtime's I/O bounds. A runtime keeps two kinds of time apart:
// - the job's time: the workload's timeout and its start and end instants follow the clock the
//   agent gives it (its plan-time clock, a ScaledClock N× faster in the demo), as the job's
//   `timeoutMs` is a quantity of the federation's time;
// - wall time for I/O: the engine's connect timeout, the grace between SIGTERM and SIGKILL, waits
//   for pipes and streams to close, /proc sampling, cgroup removal. These bound what the kernel and
//   the Docker daemon do, which does not run faster with the demo: on the plan clock at 60× the
//   5 s connect timeout was 83 ms of real time and agents died at start.
import { RealClock, ScaledClock, type Clock } from '../common/index.ts';

/**
 * The clock for I/O bounds when none is given: wall time (a RealClock) for a ScaledClock, whose
 * readings and timers run faster than the wall; otherwise the clock itself — a RealClock already
 * is wall time, and a VirtualClock (the simulator, tests) drives every timer on purpose.
 */
export function ioClockFor(clock: Clock): Clock {
  return clock instanceof ScaledClock ? new RealClock() : clock;
}
