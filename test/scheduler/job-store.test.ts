// The scheduler's job store (scheduler/job-store.ts): what it keeps across a restart, how it
// refuses what it must not do, and what happens at each of its limits.
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { JobStore, type IdempotencyEntry, type JobStoreOptions } from '../../scheduler/job-store.ts';
import { groundNode, HOUR_MS, jobSpec, placementRecord, scratchDirectory, T0_MS } from './job-fixtures.ts';

const scratch = scratchDirectory('job-store');
const open: JobStore[] = [];
afterEach(() => {
  for (const store of open.splice(0)) if (store.isOpen) store.close();
});

let counter = 0;
function openStore(options: JobStoreOptions = {}, path = join(scratch.path, `store-${counter++}.db`)): JobStore {
  const store = JobStore.open(path, options);
  open.push(store);
  return store;
}

function createPlaced(store: JobStore, id: string, tenantId = 'acme', nowMs = T0_MS) {
  return store.createJob({ id, tenantId, state: 'placed', attempt: 1, spec: jobSpec(), placement: placementRecord('gs-svalbard', id) },
    [{ type: 'submitted', toState: 'submitted' }, { type: 'placed', fromState: 'submitted', toState: 'placed', detail: { nodeId: 'gs-svalbard' } }], nowMs);
}

describe('the job store', () => {
  it('keeps tenants, nodes, jobs, events and idempotent responses across a close and reopen', () => {
    const path = join(scratch.path, 'reopen.db');
    const store = openStore({}, path);
    store.putTenant({ id: 'acme', roles: ['jobs'], operator: undefined, apiKeySha256: 'a'.repeat(64), publicKeyHex: undefined }, T0_MS);
    expect(store.putNode(groundNode('gs-svalbard', 10, 'NO'), 'admin', T0_MS)).toEqual({ created: true });
    const remembered = (job: { id: string }): IdempotencyEntry => ({ tenantId: 'acme', key: 'key-1', bodySha256: 'b'.repeat(64), statusCode: 201, body: { id: job.id } });
    store.createJob({ id: 'job-1', tenantId: 'acme', state: 'placed', attempt: 1, spec: jobSpec(), placement: placementRecord('gs-svalbard', 'job-1') },
      [{ type: 'submitted', toState: 'submitted' }, { type: 'placed', fromState: 'submitted', toState: 'placed' }], T0_MS, remembered);
    store.transition('job-1', 'placed', { state: 'dispatched' }, [{ type: 'dispatched', fromState: 'placed', toState: 'dispatched' }], T0_MS + 1000);
    store.close();

    const again = openStore({}, path);
    expect(again.tenant('acme')).toEqual({ id: 'acme', roles: ['jobs'], operator: undefined, apiKeySha256: 'a'.repeat(64), publicKeyHex: undefined });
    expect(again.node('gs-svalbard')?.spec).toEqual(groundNode('gs-svalbard', 10, 'NO'));
    const job = again.job('job-1')!;
    expect(job).toMatchObject({ id: 'job-1', tenantId: 'acme', state: 'dispatched', attempt: 1, createdMs: T0_MS, updatedMs: T0_MS + 1000 });
    expect(job.spec).toEqual(jobSpec());
    expect(job.placement).toEqual(placementRecord('gs-svalbard', 'job-1'));
    expect(again.events('job-1', 10, undefined).items.map((e) => [e.type, e.fromState, e.toState, e.atMs])).toEqual([
      ['submitted', undefined, 'submitted', T0_MS], ['placed', 'submitted', 'placed', T0_MS], ['dispatched', 'placed', 'dispatched', T0_MS + 1000],
    ]);
    expect(again.idempotentResponse('acme', 'key-1', T0_MS)).toEqual({ bodySha256: 'b'.repeat(64), statusCode: 201, body: { id: 'job-1' } });
  });

  it('refuses a file that is not a job store, and leaves it untouched', () => {
    const path = join(scratch.path, 'foreign.db');
    const foreign = new DatabaseSync(path);
    foreign.exec('CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES (\'mine\')');
    foreign.close();
    expect(() => openStore({}, path)).toThrow(expect.objectContaining({ code: 'ORBITFED_STORE_FOREIGN' }));
    const check = new DatabaseSync(path);
    expect(check.prepare('SELECT text FROM notes').all()).toEqual([{ text: 'mine' }]);
    check.close();
  });

  it('refuses a second opening of the same file while the first is open', () => {
    const path = join(scratch.path, 'locked.db');
    openStore({}, path);
    expect(() => JobStore.open(path)).toThrow(expect.objectContaining({ code: 'ORBITFED_STORE_LOCKED' }));
  });

  it('refuses a transition from a state the job is no longer in, writing nothing', () => {
    const store = openStore();
    createPlaced(store, 'job-1');
    store.transition('job-1', 'placed', { state: 'cancelled', reason: 'by the tenant' }, [{ type: 'cancelled', fromState: 'placed', toState: 'cancelled' }], T0_MS + 5);
    expect(() => store.transition('job-1', 'placed', { state: 'dispatched' }, [{ type: 'dispatched' }], T0_MS + 6))
      .toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_STATE_CHANGED' }));
    expect(store.job('job-1')).toMatchObject({ state: 'cancelled', reason: 'by the tenant', updatedMs: T0_MS + 5 });
    expect(store.events('job-1', 10, undefined).items).toHaveLength(3);
  });

  it('refuses a job id that is already stored, writing nothing', () => {
    const store = openStore();
    createPlaced(store, 'job-1');
    expect(() => createPlaced(store, 'job-1', 'other')).toThrow(expect.objectContaining({ code: 'ORBITFED_STORE_IO' }));
    expect(store.job('job-1')?.tenantId).toBe('acme');
    expect(store.jobCount()).toBe(1);
  });

  it('lists a tenant\'s jobs newest first, page by page, and never another tenant\'s', () => {
    const store = openStore();
    for (let i = 0; i < 5; i += 1) createPlaced(store, `job-a${i}`, 'acme');
    createPlaced(store, 'job-b0', 'globex');
    const first = store.jobsOfTenant('acme', 2, undefined);
    expect(first.items.map((j) => j.id)).toEqual(['job-a4', 'job-a3']);
    const second = store.jobsOfTenant('acme', 2, first.nextCursor);
    expect(second.items.map((j) => j.id)).toEqual(['job-a2', 'job-a1']);
    const third = store.jobsOfTenant('acme', 2, second.nextCursor);
    expect(third.items.map((j) => j.id)).toEqual(['job-a0']);
    expect(third.nextCursor).toBeUndefined();
    expect(store.jobOfTenant('acme', 'job-b0')).toBeUndefined();
    expect(store.jobOfTenant('globex', 'job-b0')?.id).toBe('job-b0');
    expect(store.jobsOfTenant('acme', 10, undefined, 'cancelled').items).toEqual([]);
  });

  it('at jobsMax prunes finished jobs past their retention, and refuses a new job when only active ones remain', () => {
    const store = openStore({ limits: { jobsMax: 2, finishedJobRetentionMs: HOUR_MS } });
    createPlaced(store, 'job-1');
    createPlaced(store, 'job-2');
    store.transition('job-1', 'placed', { state: 'cancelled' }, [{ type: 'cancelled' }], T0_MS);
    // Finished, but not yet past its retention: nothing may go.
    expect(() => createPlaced(store, 'job-3', 'acme', T0_MS + HOUR_MS / 2)).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_STORE_FULL' }));
    expect(store.job('job-3')).toBeUndefined();
    createPlaced(store, 'job-3', 'acme', T0_MS + 2 * HOUR_MS);
    expect(store.job('job-1')).toBeUndefined();
    expect(store.events('job-1', 10, undefined).items).toEqual([]);
    expect(() => createPlaced(store, 'job-4', 'acme', T0_MS + 3 * HOUR_MS)).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_STORE_FULL' }));
    expect(store.jobsInStates(['placed']).map((j) => j.id)).toEqual(['job-2', 'job-3']);
  });

  it('refuses an event beyond eventsPerJobMax, writing nothing', () => {
    const store = openStore({ limits: { eventsPerJobMax: 3 } });
    createPlaced(store, 'job-1');
    store.appendEvents('job-1', [{ type: 'note' }], T0_MS);
    expect(() => store.appendEvents('job-1', [{ type: 'note' }], T0_MS)).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_STORE_FULL' }));
    expect(store.events('job-1', 10, undefined).items).toHaveLength(3);
  });

  it('forgets idempotency keys after their TTL, and the oldest first at idempotencyKeysMax', () => {
    const store = openStore({ limits: { idempotencyKeysMax: 2, idempotencyKeyTtlMs: HOUR_MS } });
    const entry = (key: string): IdempotencyEntry => ({ tenantId: 'acme', key, bodySha256: 'c'.repeat(64), statusCode: 422, body: { key } });
    store.putIdempotentResponse(entry('k1'), T0_MS);
    store.putIdempotentResponse(entry('k2'), T0_MS + 1);
    store.putIdempotentResponse(entry('k3'), T0_MS + 2);
    expect(store.idempotentResponse('acme', 'k1', T0_MS + 3)).toBeUndefined();
    expect(store.idempotentResponse('acme', 'k2', T0_MS + 3)?.body).toEqual({ key: 'k2' });
    expect(store.idempotentResponse('other', 'k2', T0_MS + 3)).toBeUndefined();
    expect(store.idempotentResponse('acme', 'k3', T0_MS + 2 + HOUR_MS + 1)).toBeUndefined();
  });

  it('refuses a row larger than rowBytesMax rather than storing it', () => {
    const store = openStore({ limits: { rowBytesMax: 2000 } });
    const spec = jobSpec({ command: ['x'.repeat(3000)] });
    expect(() => store.createJob({ id: 'job-1', tenantId: 'acme', state: 'placed', attempt: 1, spec, placement: undefined }, [], T0_MS))
      .toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_STORE_ROW_TOO_LARGE' }));
    expect(store.jobCount()).toBe(0);
  });

  it('refuses a node beyond nodesMax and replaces a registered one in place', () => {
    const store = openStore({ limits: { nodesMax: 1 } });
    store.putNode(groundNode('gs-svalbard', 10, 'NO'), 'ksat', T0_MS);
    expect(() => store.putNode(groundNode('gs-inuvik', 11, 'CA'), 'ksat', T0_MS)).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_STORE_FULL' }));
    expect(store.putNode(groundNode('gs-svalbard', 10, 'NO', { operator: 'ksat-2' }), 'ksat', T0_MS + 9)).toEqual({ created: false });
    expect(store.node('gs-svalbard')).toMatchObject({ registeredBy: 'ksat', registeredMs: T0_MS, updatedMs: T0_MS + 9, spec: { operator: 'ksat-2' } });
    expect(store.nodeHeard('gs-svalbard', T0_MS + 50)).toBe(true);
    expect(store.nodeHeard('gs-nowhere', T0_MS + 50)).toBe(false);
    expect(store.node('gs-svalbard')?.lastHeardMs).toBe(T0_MS + 50);
  });

  it('says which file and what failed when used after close', () => {
    const store = openStore();
    store.close();
    expect(() => store.job('x')).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_STORE_CLOSED' }));
  });
});

afterAll(() => scratch.remove());
