// The job lifecycle (scheduler/job-lifecycle.ts): the state machine and its refusals, re-planning
// when a contact is missed, a node goes silent or the plan changes, deadlines, and recovery after a
// restart — with the contact bookings and the escrow on the ledger following every move.
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger, unixMs, VirtualClock } from '../../common/index.ts';
import { makeReceipt, registerNodeTransaction, signReceipt } from '../../consensus/index.ts';
import { checkTransition, JobLifecycle, type JobState } from '../../scheduler/job-lifecycle.ts';
import type { JobSpec } from '../../scheduler/job-spec.ts';
import { JobStore } from '../../scheduler/job-store.ts';
import { placeJob, releasePlacement, reservePlacement } from '../../scheduler/placement.ts';
import { CHAIN_ID, removeHarnessFiles, startHarness, testPlan, type Harness } from './api-harness.ts';
import { HOUR_MS, jobSpec, scratchDirectory, T0_MS } from './job-fixtures.ts';

const harnesses: Harness[] = [];
async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.splice(0)) if (h.store.isOpen) await h.close();
});
const scratch = scratchDirectory('lifecycle');
afterAll(() => {
  scratch.remove();
  removeHarnessFiles();
});

/** Runs in orbit, data in the EU, result to Germany: only sat-a via Munich passes qualifies. */
const sovereign: JobSpec = jobSpec({
  input: { sizeBytes: 2_000_000, location: 'gs-munich' }, result: { sizeBytes: 500_000, deliverTo: [] },
  orbital: 'required', sovereignty: { atRest: ['EU'], downlink: { countries: ['DE'] } }, deadlineMs: T0_MS + 12 * HOUR_MS,
});
/** Runs anywhere. */
const anywhere: JobSpec = jobSpec({ input: { sizeBytes: 1_000_000, location: 'gs-munich' }, lostAfterMs: 600_000, deadlineMs: T0_MS + 12 * HOUR_MS });

async function placed(h: Harness, spec: JobSpec, tenant = 'acme') {
  const outcome = await h.lifecycle.submit(tenant, spec);
  if (outcome.kind !== 'placed') throw new Error(`not placed: ${JSON.stringify(outcome)}`);
  return outcome.job;
}

const totalBooked = (h: Harness): number => {
  let sum = 0;
  for (let c = 0; c < h.lifecycle.plan.contacts.length; c += 1) sum += h.lifecycle.bookings.bookedBytes(c);
  return sum;
};
const eventTypes = (h: Harness, id: string): string[] => h.store.events(id, 100, undefined).items.map((e) => e.type);

describe('the state machine', () => {
  it('allows only the transitions of the table, and says what is allowed instead', () => {
    const allowed: [JobState, JobState][] = [
      ['submitted', 'placed'], ['placed', 'dispatched'], ['dispatched', 'running'], ['running', 'succeeded'], ['running', 'failed'],
      ['placed', 'placed'], ['running', 'placed'], ['dispatched', 'submitted'], ['placed', 'cancelled'], ['running', 'expired'],
    ];
    for (const [from, to] of allowed) expect(() => checkTransition('job-x', from, to)).not.toThrow();
    expect(() => checkTransition('job-x', 'placed', 'succeeded')).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_TRANSITION', message: expect.stringContaining('from placed only') }));
    expect(() => checkTransition('job-x', 'submitted', 'running')).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_TRANSITION' }));
    for (const final of ['succeeded', 'failed', 'expired', 'cancelled'] as const) {
      expect(() => checkTransition('job-x', final, 'placed')).toThrow(expect.objectContaining({ message: expect.stringContaining(`${final} is final`) }));
    }
  });

  it('refuses reports out of order or from the wrong node, changing nothing', async () => {
    const h = await harness();
    const job = await placed(h, sovereign);
    expect(() => h.lifecycle.started(job.id, 'sat-a')).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_TRANSITION' }));
    h.lifecycle.dispatched(job.id);
    expect(() => h.lifecycle.started(job.id, 'sat-b')).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_WRONG_NODE' }));
    expect(() => h.lifecycle.dispatched(job.id)).toThrow(expect.objectContaining({ code: 'ORBITFED_JOB_TRANSITION' }));
    expect(h.store.job(job.id)?.state).toBe('dispatched');
    expect(eventTypes(h, job.id)).toEqual(['submitted', 'placed', 'dispatched']);
  });
});

describe('re-planning', () => {
  it('moves a job off a contact that was missed: old bookings and escrow released, a new attempt placed and escrowed', async () => {
    const h = await harness();
    const job = await placed(h, sovereign);
    const missed = job.placement!.inputRoute.hops[0]!.contact;
    expect(h.lifecycle.plan.contacts[missed]!.startSec).toBe(3600);
    await h.lifecycle.contactMissed(missed);
    const moved = h.store.job(job.id)!;
    expect(moved).toMatchObject({ state: 'placed', attempt: 2, reason: 're-planned: contact-missed' });
    expect(moved.placement!.inputRoute.hops.map((hop) => hop.contact)).not.toContain(missed);
    expect(h.lifecycle.plan.contacts[moved.placement!.inputRoute.hops[0]!.contact]!.startSec).toBe(9000);
    expect((await h.escrow.escrow(`${job.id}.1`))?.status).toBe('voided');
    expect((await h.escrow.escrow(`${job.id}.2`))?.status).toBe('pending');
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(1_000_000n - BigInt(moved.placement!.priceMinor.amount));
    expect(eventTypes(h, job.id)).toEqual(['submitted', 'placed', 'contact-missed', 'replanned']);
    // The missed contact stays unusable for new jobs too.
    const next = await placed(h, sovereign);
    expect(next.placement!.inputRoute.hops.map((hop) => hop.contact)).not.toContain(missed);
  });

  it('re-plans a job whose node went silent past lostAfterMs, and never places it there again', async () => {
    const h = await harness();
    const job = await placed(h, anywhere);
    const first = job.placement!.nodeId;
    h.lifecycle.dispatched(job.id);
    h.clock.advance(300_000 as never);
    h.lifecycle.heartbeat(first);
    h.clock.advance(500_000 as never);
    await h.lifecycle.sweep();
    expect(h.store.job(job.id)?.state).toBe('dispatched');
    h.clock.advance(200_000 as never);
    await h.lifecycle.sweep();
    const moved = h.store.job(job.id)!;
    expect(moved.state).toBe('placed');
    expect(moved.placement!.nodeId).not.toBe(first);
    const lost = h.store.events(job.id, 100, undefined).items.find((e) => e.type === 'node-lost')!;
    expect(lost.detail).toMatchObject({ nodeId: first, lostAfterMs: 600_000, escrow: 'voided' });
    // Lost again: neither node is used any more.
    const second = moved.placement!.nodeId;
    h.lifecycle.dispatched(job.id);
    h.clock.advance(700_000 as never);
    await h.lifecycle.sweep();
    expect([first, second]).not.toContain(h.store.job(job.id)!.placement!.nodeId);
  });

  it("keeps a silent node's job where it is when its receipt already paid the escrow: the tenant never pays twice", async () => {
    const h = await harness();
    const job = await placed(h, anywhere);
    const placement = job.placement!;
    h.lifecycle.dispatched(job.id);
    // The node ran the job and its receipt reached the validators, but the node itself stays silent
    // (its reports are stuck behind a partition): the receipt settles the escrow first.
    const seed = new Uint8Array(32).fill(9);
    const receipt = signReceipt(makeReceipt({
      chainId: CHAIN_ID, nodeId: placement.nodeId, keyEpoch: 0, sequence: 1, jobId: placement.ledgerJobId,
      usage: { cpuMs: 1_000, memoryByteSeconds: 0n, diskByteSeconds: 0n, gpuMs: 0, egressBytes: 0n }, amountMinor: BigInt(placement.priceMinor.amount),
      currency: placement.priceMinor.currency, createdAtMs: unixMs(h.clock.now()),
    }), seed);
    const block = h.escrow.ledger.applyBlock([registerNodeTransaction(CHAIN_ID, placement.nodeId, seed), { kind: 'settle-receipt', receipt }], h.clock.now());
    expect(block.results.map((r) => r.status)).toEqual(['applied', 'applied']);
    expect((await h.escrow.escrow(placement.escrowId!))?.status).toBe('posted');
    const balance = await h.escrow.balanceMinor('acme', 'EUR');

    h.clock.advance(700_000 as never);
    await h.lifecycle.sweep();
    const kept = h.store.job(job.id)!;
    expect(kept).toMatchObject({ state: 'dispatched', attempt: 1, placement: { nodeId: placement.nodeId, escrowId: placement.escrowId } });
    const lost = h.store.events(job.id, 100, undefined).items.find((e) => e.type === 'node-lost')!;
    expect(lost.detail).toMatchObject({ nodeId: placement.nodeId, ledger: 'ORBITFED_LEDGER_ESCROW_RESOLVED', action: expect.stringMatching(/^kept on its node/) });
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(balance);
    expect(h.escrow.ledger.escrows().filter((e) => e.status === 'pending')).toEqual([]);
    // Its result still counts when it comes down.
    h.lifecycle.started(job.id, placement.nodeId);
    expect(h.store.job(job.id)?.state).toBe('running');
  });

  it('waits in submitted when no other node fits, then expires at the deadline with nothing held', async () => {
    const h = await harness();
    const job = await placed(h, { ...sovereign, lostAfterMs: 600_000 });
    h.lifecycle.dispatched(job.id);
    h.clock.advance(700_000 as never);
    await h.lifecycle.sweep();
    const waiting = h.store.job(job.id)!;
    expect(waiting).toMatchObject({ state: 'submitted', attempt: 2 });
    expect(waiting.reason).toMatch(/^waiting for a placement/);
    expect(totalBooked(h)).toBe(0);
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(1_000_000n);
    // Retried at every sweep; a retry that still finds nothing is not a re-plan and writes nothing.
    for (let i = 0; i < 20; i += 1) {
      h.clock.advance(5_000 as never);
      await h.lifecycle.sweep();
    }
    expect(h.store.job(job.id)).toMatchObject({ state: 'submitted', attempt: 2 });
    expect(eventTypes(h, job.id)).toHaveLength(5);
    h.clock.advanceTo(unixMs(sovereign.deadlineMs));
    await h.lifecycle.sweep();
    expect(h.store.job(job.id)?.state).toBe('expired');
    expect(eventTypes(h, job.id)).toEqual(['submitted', 'placed', 'dispatched', 'node-lost', 'unplaced', 'expired']);
  });

  it('fails a job after replansMax re-plans', async () => {
    const h = await harness({ lifecycle: { replansMax: 1 } });
    const job = await placed(h, sovereign);
    await h.lifecycle.contactMissed(job.placement!.inputRoute.hops[0]!.contact);
    await h.lifecycle.contactMissed(h.store.job(job.id)!.placement!.inputRoute.hops[0]!.contact);
    expect(h.store.job(job.id)).toMatchObject({ state: 'failed', reason: 're-planned 1 times, the most allowed' });
    expect(totalBooked(h) - sealedBytes(h)).toBe(0);
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(1_000_000n);
  });

  it('places placed jobs again on a new plan, and leaves a running job on its node', async () => {
    const h = await harness();
    const waitingJob = await placed(h, sovereign);
    const runningJob = await placed(h, anywhere);
    h.lifecycle.dispatched(runningJob.id);
    h.lifecycle.started(runningJob.id, runningJob.placement!.nodeId);
    // The new plan adds an earlier Munich pass of sat-a.
    const plan = testPlan([
      { from: 11, to: 100, startSec: 1800, endSec: 2400, rateBytesPerSec: 1_000_000, owltSec: 0.003, confidence: 1 },
      { from: 100, to: 11, startSec: 1800, endSec: 2400, rateBytesPerSec: 1_000_000, owltSec: 0.003, confidence: 1 },
    ]);
    await h.lifecycle.replacePlan(plan);
    const moved = h.store.job(waitingJob.id)!;
    expect(moved).toMatchObject({ state: 'placed', attempt: 2 });
    expect(moved.placement!.planHash).toBe(plan.hash);
    expect(moved.placement!.inputArrivalMs).toBeLessThan(T0_MS + 2400_000);
    const running = h.store.job(runningJob.id)!;
    expect(running).toMatchObject({ state: 'running', attempt: 1 });
    expect(running.placement!.booked).toBe(false);
    expect(eventTypes(h, runningJob.id).at(-1)).toBe('plan-changed');
  });
});

describe('deadlines and cancellation', () => {
  it('expires a placed job at its deadline: escrow voided, contacts released', async () => {
    const h = await harness();
    const job = await placed(h, sovereign);
    h.clock.advanceTo(unixMs(sovereign.deadlineMs - 1));
    await h.lifecycle.sweep();
    expect(h.store.job(job.id)?.state).toBe('placed');
    h.clock.advance(1 as never);
    await h.lifecycle.sweep();
    expect(h.store.job(job.id)).toMatchObject({ state: 'expired', reason: 'the deadline passed before a result arrived' });
    expect(totalBooked(h)).toBe(0);
    expect((await h.escrow.escrow(`${job.id}.1`))?.status).toBe('voided');
  });

  it('reports a node that missed the deadline with the job on board (the ledger voids the escrow)', async () => {
    const h = await harness();
    const job = await placed(h, sovereign);
    h.lifecycle.dispatched(job.id);
    h.lifecycle.started(job.id, 'sat-a');
    h.clock.advanceTo(unixMs(sovereign.deadlineMs));
    await h.lifecycle.sweep();
    const expired = h.store.events(job.id, 100, undefined).items.at(-1)!;
    expect(expired).toMatchObject({ type: 'expired', fromState: 'running', toState: 'expired' });
    expect(expired.detail).toMatchObject({ escrow: 'sla-reported' });
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(1_000_000n);
  });
});

describe('recovery after a restart', () => {
  it('books the stored placements again, voids orphaned escrows and keeps every job', async () => {
    const storePath = join(scratch.path, 'recover.db');
    const snapshotPath = join(scratch.path, 'recover.ledger');
    const h = await harness({ storePath, snapshotPath });
    const a = await placed(h, sovereign);
    const b = await placed(h, anywhere);
    const done = await placed(h, anywhere);
    h.lifecycle.dispatched(done.id);
    h.lifecycle.started(done.id, done.placement!.nodeId);
    h.lifecycle.finished(done.id, done.placement!.nodeId, { outcome: 'succeeded' });
    const booked = Array.from({ length: h.lifecycle.plan.contacts.length }, (_, c) => h.lifecycle.bookings.bookedBytes(c));
    // An escrow opened just before a crash that lost the job's commit.
    await h.escrow.openEscrow({ escrowId: 'job-orphan.1', ledgerJobId: 'job-orphan.1', tenantId: 'acme', nodeId: 'sat-a', currency: 'EUR', amountMinor: 77n, deadlineMs: T0_MS + 99 * HOUR_MS });
    await h.close();

    const clock = new VirtualClock(unixMs(T0_MS + 1000));
    const again = await harness({ storePath, snapshotPath, clock, nodes: [] });
    await again.lifecycle.start();
    const rebooked = Array.from({ length: again.lifecycle.plan.contacts.length }, (_, c) => again.lifecycle.bookings.bookedBytes(c));
    expect(rebooked).toEqual(booked);
    expect((await again.escrow.escrow('job-orphan.1'))?.status).toBe('voided');
    expect((await again.escrow.escrow(`${a.id}.1`))?.status).toBe('pending');
    expect(again.store.job(a.id)?.state).toBe('placed');
    expect(again.store.job(b.id)?.state).toBe('placed');
    // A finished job's escrow waits for its receipt: not an orphan.
    expect((await again.escrow.escrow(`${done.id}.1`))?.status).toBe('pending');
  });

  it('re-plans, at start, the placements made on a plan that is no longer the scheduler\'s', async () => {
    const storePath = join(scratch.path, 'replan-at-start.db');
    const snapshotPath = join(scratch.path, 'replan-at-start.ledger');
    const h = await harness({ storePath, snapshotPath });
    const job = await placed(h, sovereign);
    await h.close();
    const plan = testPlan([{ from: 12, to: 101, startSec: 100, endSec: 200, rateBytesPerSec: 1000, owltSec: 0.003, confidence: 1 }]);
    const again = await harness({ storePath, snapshotPath, plan, nodes: [] });
    await again.lifecycle.start();
    const moved = again.store.job(job.id)!;
    expect(moved).toMatchObject({ state: 'placed', attempt: 2 });
    expect(moved.placement!.planHash).toBe(plan.hash);
    expect((await again.escrow.escrow(`${job.id}.1`))?.status).toBe('voided');
    expect(totalBooked(again)).toBeGreaterThan(0);
  });

  it('sweeps on its own Clock timer once started', async () => {
    const h = await harness({ lifecycle: { tickMs: 1000 } });
    const job = await placed(h, anywhere);
    await h.lifecycle.start();
    // Advancing the virtual clock fires the sweep timer; the sweep finishes on its own.
    h.clock.advanceTo(unixMs(anywhere.deadlineMs + 1000));
    for (let i = 0; i < 100 && h.store.job(job.id)?.state !== 'expired'; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(h.store.job(job.id)?.state).toBe('expired');
  });
});

describe('a lifecycle over its own store', () => {
  it('places with the registered nodes only', async () => {
    const store = JobStore.open(join(scratch.path, 'empty.db'));
    const { InProcessEscrowLedger } = await import('../../scheduler/escrow-ledger.ts');
    const clock = new VirtualClock(unixMs(T0_MS));
    const escrow = await InProcessEscrowLedger.open({ chainId: 'orbitfed-test', clock });
    const lifecycle = new JobLifecycle({ store, escrow, plan: testPlan(), clock, logger: silentLogger(), placement: { placeJob, releasePlacement, reservePlacement } });
    await lifecycle.refreshNodes();
    expect(() => lifecycle.dryRun(anywhere)).toThrow(expect.objectContaining({ code: 'ORBITFED_PLACEMENT_UNKNOWN_NODE' }));
    store.close();
  });
});

/** Bytes booked only to keep missed contacts full. */
function sealedBytes(h: Harness): number {
  let sum = 0;
  for (let c = 0; c < h.lifecycle.plan.contacts.length; c += 1) {
    if (h.lifecycle.bookings.residualBytes(c) < 1 && h.lifecycle.bookings.bookedBytes(c) > 0) sum += h.lifecycle.bookings.bookedBytes(c);
  }
  return sum;
}
