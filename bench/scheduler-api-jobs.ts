// The jobs the scheduler API bench submits: any of the five test nodes may take four in five; the
// fifth must run in orbit with its data in the EU. One second of execution each, so the nodes'
// queues stay far below the 12 h deadline for the whole run.
import { HOUR_MS, jobSpec, T0_MS } from '../test/scheduler/job-fixtures.ts';

export function jobBody(i: number): string {
  const common = { name: `bench-${i}`, executionMs: 1000, input: { sizeBytes: 10_000, location: 'gs-munich' }, deadlineMs: T0_MS + 12 * HOUR_MS };
  const spec = i % 5 === 0
    ? jobSpec({ ...common, result: { sizeBytes: 10_000, deliverTo: [] }, orbital: 'required', sovereignty: { atRest: ['EU'] } })
    : jobSpec(common);
  return JSON.stringify(spec);
}
