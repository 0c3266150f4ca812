// The jobs the job store's crash writer creates, shared with the checker.
import type { IdempotencyEntry, JobRecord, NewJob, NewJobEvent } from '../../scheduler/job-store.ts';
import { jobSpec, placementRecord } from './job-fixtures.ts';

export const CRASH_OPS_MAX = 100_000;
export const CRASH_NEXT_STATE = { placed: 'dispatched', dispatched: 'running', running: 'succeeded', succeeded: undefined } as const;
export type CrashState = keyof typeof CRASH_NEXT_STATE;

export function crashJob(writer: number, op: number): { job: NewJob; events: NewJobEvent[]; idempotency: (stored: JobRecord) => IdempotencyEntry } {
  const id = `job-w${writer}-o${op}`;
  return {
    job: { id, tenantId: `tenant-${writer % 3}`, state: 'placed', attempt: 1, spec: jobSpec({ name: id }), placement: placementRecord('gs-svalbard', id) },
    events: [{ type: 'submitted', toState: 'submitted' }, { type: 'placed', fromState: 'submitted', toState: 'placed' }],
    idempotency: (stored) => ({ tenantId: stored.tenantId, key: `key-${id}`, bodySha256: '0'.repeat(64), statusCode: 201, body: { id: stored.id } }),
  };
}
