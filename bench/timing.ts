// Wall-clock timing for the benchmarks. `performance.now()` is used on purpose: benchmarks measure
// wall time, which the core code never reads (it takes an injected clock).
import { performance } from 'node:perf_hooks';

export interface Timed<T> {
  /** The result of the last timed run. */
  readonly result: T;
  readonly medianMs: number;
  readonly runsMs: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The nearest-rank percentile: the smallest value with at least `p` % of the values at or below it. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile ${p} is not in (0, 100]`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
}

/** Runs `task` `warmups` times untimed (JIT, caches), then `runs` times timed; reports the median. */
export async function timeMedian<T>(runs: number, warmups: number, task: () => T | Promise<T>): Promise<Timed<T>> {
  if (runs < 1) throw new Error('at least one timed run');
  for (let i = 0; i < warmups; i++) await task();
  const runsMs: number[] = [];
  let result: T | undefined;
  for (let i = 0; i < runs; i++) {
    const startMs = performance.now();
    result = await task();
    runsMs.push(performance.now() - startMs);
  }
  return { result: result as T, medianMs: median(runsMs), runsMs };
}

/** Starts a stopwatch; the returned function gives the milliseconds since. */
export function startStopwatch(): () => number {
  const startMs = performance.now();
  return () => performance.now() - startMs;
}
