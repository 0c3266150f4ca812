// The orbital agent's assignment store: exactly-once bookkeeping by assignment id, the outbox in the
// same transactions as the state changes, its bounds (oldest results dropped first), counters that
// never repeat, and files of another kind refused untouched.
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { AssignmentStore, type OutboxMessage } from '../../orbital/index.ts';
import { scratchDirectory } from './orbital-harness.ts';

let dir = '';
afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

const message = (fields: Partial<OutboxMessage> = {}): OutboxMessage => ({
  assignmentId: 'job-1.1', kind: 'report', destination: 'ipn:10.2', priority: 2, expiresMs: 10_000, payload: new Uint8Array(100), ...fields,
});

const record = (store: AssignmentStore, id: string, messages: OutboxMessage[] = []) =>
  store.recordAssignment({ assignmentId: id, jobId: id.split('.')[0]!, bytes: new Uint8Array([1, 2, 3]), notAfterMs: 5_000, receivedMs: 1_000 }, messages);

describe('the assignment store', () => {
  it('records an assignment once, with its messages, and keeps it across a reopen', async () => {
    dir = await scratchDirectory('orbitfed-assignments-');
    const path = join(dir, 'assignments.db');
    let store = AssignmentStore.open(path);
    expect(record(store, 'job-1.1', [message()])).toBe('recorded');
    expect(record(store, 'job-1.1', [message()])).toBe('duplicate');
    expect(store.outbox(10)).toHaveLength(1);
    store.close();
    store = AssignmentStore.open(path);
    expect(store.assignment('job-1.1')).toMatchObject({ state: 'waiting', jobId: 'job-1', notAfterMs: 5_000, bytes: new Uint8Array([1, 2, 3]) });
    store.markRunning('job-1.1', 2_000, [message({ kind: 'report' })]);
    expect(store.inState('running').map((a) => a.assignmentId)).toEqual(['job-1.1']);
    store.finish('job-1.1', { finishedMs: 3_000, outcome: 'succeeded', reason: 'exited with code 0' }, [message(), message({ kind: 'receipt' })]);
    expect(store.assignment('job-1.1')).toMatchObject({ state: 'finished', outcome: 'succeeded', startedMs: 2_000, finishedMs: 3_000 });
    expect(() => store.finish('job-1.1', { finishedMs: 4_000, outcome: 'failed', reason: '' }, [])).toThrow(/unknown or finished already/);
    expect(store.outbox(10).map((m) => m.kind)).toEqual(['report', 'report', 'report', 'receipt']);
    store.close();
  });

  it('rolls a state change back with its messages when the transaction fails', async () => {
    dir = await scratchDirectory('orbitfed-assignments-');
    const store = AssignmentStore.open(join(dir, 'assignments.db'));
    record(store, 'job-1.1');
    expect(() => store.transaction(() => {
      store.markRunning('job-1.1', 2_000, [message()]);
      throw new Error('crash in the middle');
    })).toThrow('crash in the middle');
    expect(store.assignment('job-1.1')?.state).toBe('waiting');
    expect(store.outbox(10)).toEqual([]);
    store.close();
  });

  it('refuses assignments beyond its bound and prunes finished ones once their notAfterMs has passed', async () => {
    dir = await scratchDirectory('orbitfed-assignments-');
    const store = AssignmentStore.open(join(dir, 'assignments.db'), { assignmentsMax: 2 });
    expect(record(store, 'a.1')).toBe('recorded');
    expect(record(store, 'b.1')).toBe('recorded');
    expect(record(store, 'c.1')).toBe('full');
    store.finish('a.1', { finishedMs: 2_000, outcome: 'expired', reason: '' }, []);
    expect(store.prune(5_000, 5_000)).toEqual({ assignments: 0, inputs: 0 });
    expect(store.prune(5_001, 5_001)).toEqual({ assignments: 1, inputs: 0 });
    expect(record(store, 'c.1')).toBe('recorded');
    store.close();
  });

  it('drops the oldest waiting results first when a newer one needs the room, and never more than needed', async () => {
    dir = await scratchDirectory('orbitfed-assignments-');
    const store = AssignmentStore.open(join(dir, 'assignments.db'), { outboxResultBytesMax: 1_000 });
    const result = (id: string, bytes: number) => message({ assignmentId: id, kind: 'result', payload: new Uint8Array(bytes) });
    expect(store.enqueue(result('a', 400))).toEqual({ queued: true, droppedResults: [] });
    expect(store.enqueue(message({ payload: new Uint8Array(5_000) }))).toMatchObject({ queued: true });
    expect(store.enqueue(result('b', 400))).toEqual({ queued: true, droppedResults: [] });
    const third = store.enqueue(result('c', 300));
    expect(third.queued && third.droppedResults.map((r) => r.assignmentId)).toEqual(['a']);
    expect(store.enqueue(result('d', 1_001))).toEqual({ queued: false, reason: 'result-too-large' });
    expect(store.outbox(10).map((m) => m.assignmentId + ':' + m.kind)).toEqual(['job-1.1:report', 'b:result', 'c:result']);
    expect(store.stats().outboxResultBytes).toBe(700);
    store.close();
  });

  it('bounds input bytes and keeps one copy per input id', async () => {
    dir = await scratchDirectory('orbitfed-assignments-');
    const store = AssignmentStore.open(join(dir, 'assignments.db'), { inputBytesMax: 1_000, inputRetentionMs: 100 });
    expect(store.putInput('in-1', new Uint8Array(600), 1_000)).toBe('stored');
    expect(store.putInput('in-1', new Uint8Array(600), 1_000)).toBe('duplicate');
    expect(store.putInput('in-2', new Uint8Array(600), 1_050)).toBe('full');
    expect(store.prune(1_101, 0)).toEqual({ assignments: 0, inputs: 1 });
    expect(store.putInput('in-2', new Uint8Array(600), 1_200)).toBe('stored');
    store.close();
  });

  it('gives counter values that never repeat, at least the floor', async () => {
    dir = await scratchDirectory('orbitfed-assignments-');
    const path = join(dir, 'assignments.db');
    let store = AssignmentStore.open(path);
    expect(store.nextCounter('report', 0)).toBe(0);
    expect(store.nextCounter('report', 0)).toBe(1);
    expect(store.nextCounter('report', 1_000)).toBe(1_000);
    store.close();
    store = AssignmentStore.open(path);
    expect(store.nextCounter('report', 10)).toBe(1_001);
    expect(store.nextCounter('receipt', 10)).toBe(10);
    store.close();
  });

  it('refuses a file of another kind and a second opener, leaving the file as it was', async () => {
    dir = await scratchDirectory('orbitfed-assignments-');
    const path = join(dir, 'assignments.db');
    const store = AssignmentStore.open(path);
    expect(() => AssignmentStore.open(path)).toThrow(expect.objectContaining({ code: 'ORBITFED_STORE_LOCKED' }));
    store.close();
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, 'not a database at all, just text');
    let error: unknown;
    try {
      AssignmentStore.open(garbage);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OrbitfedError);
    expect((error as OrbitfedError).code).toBe('ORBITFED_STORE_CORRUPT');
    expect(readFileSync(garbage, 'utf8')).toBe('not a database at all, just text');
  });
});
