// The jobs API as a tenant uses it: submit a sovereignty-constrained job with a deadline, see where
// it will run, when its result will be back and why, watch it move through its states, cancel,
// retry safely with an Idempotency-Key — and never see or touch another tenant's jobs.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../scheduler/tenants.ts';
import { CHAIN_ID, removeHarnessFiles, SIGNER_SEED, startHarness, type Harness } from './api-harness.ts';
import { HOUR_MS, jobSpec, T0_MS } from './job-fixtures.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());
afterAll(() => removeHarnessFiles());

/** An EU-only job that must run in orbit, its result downlinked in Germany. */
const sovereignJob = jobSpec({
  name: 'eu-only',
  input: { sizeBytes: 2_000_000, location: 'gs-munich' },
  result: { sizeBytes: 500_000, deliverTo: [] },
  orbital: 'required',
  sovereignty: { atRest: ['EU'], downlink: { countries: ['DE'] } },
  deadlineMs: T0_MS + 6 * HOUR_MS,
});

async function submit(body: unknown, tenant: 'acme' | 'globex' | 'poor' = 'acme', headers: Record<string, string> = {}) {
  return h.app.inject({ method: 'POST', url: '/v1/jobs', headers: { ...h.auth(tenant), ...headers }, payload: body as object });
}

describe('POST /v1/jobs', () => {
  it('places a sovereignty-constrained job and says where it runs, when its result is back and why', async () => {
    const response = await submit(sovereignJob);
    expect(response.statusCode).toBe(201);
    const job = response.json();
    expect(response.headers.location).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ state: 'placed', attempt: 1, name: 'eu-only', deadlineMs: sovereignJob.deadlineMs });
    // Only sat-a is orbital and registered in the EU; only gs-munich may receive the result.
    expect(job.placement).toMatchObject({ nodeId: 'sat-a', resultStation: 'gs-munich', escrowId: `${job.id}.1`, ledgerJobId: `${job.id}.1` });
    expect(job.placement.inputRoute.hops[0]).toMatchObject({ from: 'gs-munich', to: 'sat-a', startMs: T0_MS + 3600_000 });
    expect(job.placement.resultRoute.hops.at(-1)).toMatchObject({ from: 'sat-a', to: 'gs-munich' });
    expect(job.placement.resultArrivalMs).toBeLessThanOrEqual(sovereignJob.deadlineMs);
    expect(job.placement.resultArrivalMs).toBe(job.placement.resultRoute.arrivalMs);
    expect(job.decision.explanation.length).toBeGreaterThan(0);
    expect(job.decision.rejected.map((r: { reason: string }) => r.reason)).toContain('orbital');
    // The price is held in escrow.
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(1_000_000n - BigInt(job.placement.priceMinor.amount));
    expect((await h.escrow.escrow(`${job.id}.1`))?.status).toBe('pending');
    // Contact volume is booked on both routes.
    expect(h.lifecycle.bookings.bookedBytes(job.placement.inputRoute.hops[0].contact)).toBe(2_000_000);
  });

  it('lets the tenant watch the job move through its states, with timestamped events, and read its result', async () => {
    const { id } = (await submit(sovereignJob)).json();
    h.clock.advance(60_000 as never);
    h.lifecycle.dispatched(id);
    h.clock.advance(3_600_000 as never);
    h.lifecycle.started(id, 'sat-a');
    expect((await h.app.inject({ method: 'GET', url: `/v1/jobs/${id}/result`, headers: h.auth('acme') })).json())
      .toMatchObject({ status: 409, code: 'ORBITFED_JOB_RESULT_NOT_READY' });
    h.clock.advance(600_000 as never);
    h.lifecycle.finished(id, 'sat-a', { outcome: 'succeeded', exitCode: 0, resultSizeBytes: 500_000, station: 'gs-munich', deliveredAtMs: h.clock.now() });
    const job = (await h.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: h.auth('acme') })).json();
    expect(job.state).toBe('succeeded');
    const events = (await h.app.inject({ method: 'GET', url: `/v1/jobs/${id}/events`, headers: h.auth('acme') })).json().events;
    expect(events.map((e: { type: string }) => e.type)).toEqual(['submitted', 'placed', 'dispatched', 'running', 'succeeded']);
    expect(events.map((e: { atMs: number }) => e.atMs)).toEqual([T0_MS, T0_MS, T0_MS + 60_000, T0_MS + 3_660_000, T0_MS + 4_260_000]);
    const result = await h.app.inject({ method: 'GET', url: `/v1/jobs/${id}/result`, headers: h.auth('acme') });
    expect(result.statusCode).toBe(200);
    expect(result.json()).toMatchObject({ jobId: id, state: 'succeeded', result: { outcome: 'succeeded', exitCode: 0, station: 'gs-munich' } });
    // A finished job holds no contact volume any more.
    expect(h.lifecycle.bookings.bookedBytes(job.placement.inputRoute.hops[0].contact)).toBe(0);
  });

  it('refuses a deadline that cannot be met, with the earliest feasible time, and stores nothing', async () => {
    const tooSoon = { ...sovereignJob, deadlineMs: T0_MS + 30 * 60_000 };
    const response = await submit(tooSoon);
    expect(response.statusCode).toBe(422);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json();
    expect(problem).toMatchObject({ status: 422, code: 'ORBITFED_JOB_DEADLINE_INFEASIBLE', field: '/deadlineMs', instance: '/v1/jobs' });
    // sat-a meets Munich first at 01:00; the input needs 2 s up, the run 60 s, the result comes down on that pass.
    expect(problem.earliestFeasibleMs).toBeGreaterThan(T0_MS + 3_600_000);
    expect(problem.earliestFeasibleMs).toBeLessThan(T0_MS + 4_200_000);
    expect(problem.detail).toContain(new Date(problem.earliestFeasibleMs).toISOString());
    expect(h.store.jobCount()).toBe(0);
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(1_000_000n);
    // With that deadline (plus 1 ms: placement compares in float seconds) the same job is accepted.
    expect((await submit({ ...sovereignJob, deadlineMs: problem.earliestFeasibleMs + 1 })).statusCode).toBe(201);
  });

  it('refuses a job no node may take, saying which filters rejected which nodes', async () => {
    const response = await submit({ ...sovereignJob, sovereignty: { atRest: ['JP'] } });
    expect(response.statusCode).toBe(422);
    const problem = response.json();
    expect(problem.code).toBe('ORBITFED_JOB_UNPLACEABLE');
    expect(problem.rejected.find((r: { reason: string }) => r.reason === 'sovereignty-at-rest')).toMatchObject({ nodes: 2, examples: ['sat-a', 'sat-b'] });
    expect(h.store.jobCount()).toBe(0);
  });

  it('refuses a job whose escrow the ledger refuses (no money), releasing the contacts it had booked', async () => {
    const response = await submit(sovereignJob, 'poor');
    expect(response.statusCode).toBe(402);
    expect(response.json()).toMatchObject({ code: 'ORBITFED_ESCROW_REFUSED', ledgerCode: 'ORBITFED_LEDGER_UNKNOWN_ACCOUNT' });
    expect(h.store.jobCount()).toBe(0);
    for (let c = 0; c < h.lifecycle.plan.contacts.length; c += 1) expect(h.lifecycle.bookings.bookedBytes(c)).toBe(0);
  });

  it('names an input location that is not a registered node', async () => {
    const response = await submit({ ...sovereignJob, input: { sizeBytes: 1, location: 'gs-nowhere' } });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'ORBITFED_PLACEMENT_UNKNOWN_NODE', field: '/input/location' });
  });

  it('accepts an ed25519-signed submission', async () => {
    const payload = JSON.stringify(sovereignJob);
    const headers = signRequest(SIGNER_SEED, 'signer', CHAIN_ID, { method: 'POST', pathAndQuery: '/v1/jobs', timestampMs: T0_MS, body: new TextEncoder().encode(payload) });
    const response = await h.app.inject({ method: 'POST', url: '/v1/jobs', headers: { ...headers, 'content-type': 'application/json' }, payload });
    expect(response.statusCode).toBe(201);
    expect(h.store.job(response.json().id)?.tenantId).toBe('signer');
    const replay = await h.app.inject({ method: 'POST', url: '/v1/jobs', headers: { ...headers, 'content-type': 'application/json' }, payload });
    expect(replay.statusCode).toBe(401);
    const tampered = signRequest(SIGNER_SEED, 'signer', CHAIN_ID, { method: 'POST', pathAndQuery: '/v1/jobs', timestampMs: T0_MS + 1, body: new TextEncoder().encode(payload) });
    const changed = await h.app.inject({ method: 'POST', url: '/v1/jobs', headers: { ...tampered, 'content-type': 'application/json' }, payload: payload.replace('eu-only', 'eu-0nly') });
    expect(changed.statusCode).toBe(401);
    expect(h.store.jobCount()).toBe(1);
  });
});

describe('Idempotency-Key', () => {
  it('answers a retry with the same key and body exactly as the first time, creating one job', async () => {
    const first = await submit(sovereignJob, 'acme', { 'idempotency-key': 'order-17' });
    const again = await submit(sovereignJob, 'acme', { 'idempotency-key': 'order-17' });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(h.store.jobCount()).toBe(1);
  });

  it('refuses the same key with another body (422), and keeps keys apart per tenant', async () => {
    await submit(sovereignJob, 'acme', { 'idempotency-key': 'order-18' });
    const other = await submit({ ...sovereignJob, name: 'different' }, 'acme', { 'idempotency-key': 'order-18' });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: 'ORBITFED_IDEMPOTENCY_KEY_REUSED', field: 'idempotency-key' });
    expect((await submit(sovereignJob, 'globex', { 'idempotency-key': 'order-18' })).statusCode).toBe(201);
    expect(h.store.jobCount()).toBe(2);
  });

  it('remembers a refusal too, so a retry gets it again', async () => {
    const tooSoon = { ...sovereignJob, deadlineMs: T0_MS + 30 * 60_000 };
    const first = await submit(tooSoon, 'acme', { 'idempotency-key': 'order-19' });
    const again = await submit(tooSoon, 'acme', { 'idempotency-key': 'order-19' });
    expect(again.statusCode).toBe(422);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('refuses a concurrent retry while the first request is being answered', async () => {
    const [a, b] = await Promise.all([
      submit(sovereignJob, 'acme', { 'idempotency-key': 'order-20' }),
      submit(sovereignJob, 'acme', { 'idempotency-key': 'order-20' }),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    // Either the second arrives while the first is in flight (409), or after it (replayed 201).
    expect([[201, 201], [201, 409]]).toContainEqual(codes);
    expect(h.store.jobCount()).toBe(1);
  });

  it('refuses a malformed key', async () => {
    const response = await submit(sovereignJob, 'acme', { 'idempotency-key': 'x'.repeat(300) });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'ORBITFED_API_IDEMPOTENCY_KEY', field: 'idempotency-key' });
    expect(h.store.jobCount()).toBe(0);
  });
});

describe('reading, listing and cancelling', () => {
  it('lists a tenant\'s jobs newest first with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await submit({ ...sovereignJob, name: `job-${i}` })).json().id);
    const first = (await h.app.inject({ method: 'GET', url: '/v1/jobs?limit=2', headers: h.auth('acme') })).json();
    expect(first.jobs.map((j: { id: string }) => j.id)).toEqual([ids[4], ids[3]]);
    const second = (await h.app.inject({ method: 'GET', url: `/v1/jobs?limit=2&cursor=${first.nextCursor}`, headers: h.auth('acme') })).json();
    expect(second.jobs.map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1]]);
    const last = (await h.app.inject({ method: 'GET', url: `/v1/jobs?limit=2&cursor=${second.nextCursor}`, headers: h.auth('acme') })).json();
    expect(last.jobs.map((j: { id: string }) => j.id)).toEqual([ids[0]]);
    expect(last.nextCursor).toBeUndefined();
    const placed = (await h.app.inject({ method: 'GET', url: '/v1/jobs?state=cancelled', headers: h.auth('acme') })).json();
    expect(placed.jobs).toEqual([]);
  });

  it('cancels a job: escrow voided, contacts released; a finished job cannot be cancelled again', async () => {
    const { id, placement } = (await submit(sovereignJob)).json();
    const response = await h.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: h.auth('acme') });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id, state: 'cancelled', reason: 'cancelled by the tenant' });
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(1_000_000n);
    expect((await h.escrow.escrow(placement.escrowId))?.status).toBe('voided');
    expect(h.lifecycle.bookings.bookedBytes(placement.inputRoute.hops[0].contact)).toBe(0);
    const again = await h.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: h.auth('acme') });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'ORBITFED_JOB_TRANSITION', detail: expect.stringContaining('cancelled is final') });
    const result = (await h.app.inject({ method: 'GET', url: `/v1/jobs/${id}/result`, headers: h.auth('acme') })).json();
    expect(result).toMatchObject({ state: 'cancelled', reason: 'cancelled by the tenant' });
  });
});

describe('tenant isolation', () => {
  it('never shows or lets another tenant touch a job: 404 exactly as for a job that does not exist', async () => {
    const { id } = (await submit(sovereignJob, 'acme')).json();
    await submit(sovereignJob, 'globex');
    const missing = await h.app.inject({ method: 'GET', url: '/v1/jobs/job-doesnotexist', headers: h.auth('globex') });
    for (const [method, url] of [['GET', `/v1/jobs/${id}`], ['GET', `/v1/jobs/${id}/events`], ['GET', `/v1/jobs/${id}/result`], ['DELETE', `/v1/jobs/${id}`]] as const) {
      const response = await h.app.inject({ method, url, headers: h.auth('globex') });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().code).toBe(missing.json().code);
    }
    const listed = (await h.app.inject({ method: 'GET', url: '/v1/jobs', headers: h.auth('globex') })).json();
    expect(listed.jobs).toHaveLength(1);
    expect(listed.jobs[0].id).not.toBe(id);
    expect(h.store.job(id)?.state).toBe('placed');
  });

  it('keeps operators and admins without the jobs role away from jobs', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/v1/jobs', headers: h.auth('ksat-ops') });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'ORBITFED_AUTH_FORBIDDEN' });
  });

  it('refuses requests without credentials or with an unknown key (401, WWW-Authenticate)', async () => {
    const none = await h.app.inject({ method: 'GET', url: '/v1/jobs' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="orbitfed"');
    expect(none.json()).toMatchObject({ code: 'ORBITFED_AUTH_REQUIRED', field: 'authorization' });
    const unknown = await h.app.inject({ method: 'POST', url: '/v1/jobs', headers: { authorization: 'Bearer ofk_nope' }, payload: sovereignJob });
    expect(unknown.statusCode).toBe(401);
    expect(h.store.jobCount()).toBe(0);
  });
});

describe('POST /v1/placements:dry-run', () => {
  it('returns the decision without booking, holding money or storing anything', async () => {
    const response = await h.app.inject({ method: 'POST', url: '/v1/placements:dry-run', headers: h.auth('acme'), payload: sovereignJob });
    expect(response.statusCode).toBe(200);
    const decision = response.json();
    expect(decision.placed).toMatchObject({ nodeId: 'sat-a', resultStation: 'gs-munich' });
    expect(decision.planHash).toBe(h.lifecycle.plan.hash);
    expect(decision.rejected.length).toBeGreaterThan(0);
    expect(h.store.jobCount()).toBe(0);
    expect(await h.escrow.balanceMinor('acme', 'EUR')).toBe(1_000_000n);
    for (let c = 0; c < h.lifecycle.plan.contacts.length; c += 1) expect(h.lifecycle.bookings.bookedBytes(c)).toBe(0);
  });

  it('explains a refusal just as the submission would', async () => {
    const decision = (await h.app.inject({ method: 'POST', url: '/v1/placements:dry-run', headers: h.auth('acme'), payload: { ...sovereignJob, deadlineMs: T0_MS + 60_000 } })).json();
    expect(decision.placed).toBeNull();
    expect(decision.earliestFeasibleMs).toBeGreaterThan(T0_MS + 3_600_000);
  });
});

describe('rate limits', () => {
  it('limits each tenant on its own, answering 429 with Retry-After', async () => {
    await h.close();
    h = await startHarness({ limits: { rateLimitRequests: 3, rateLimitWindowMs: 60_000 } });
    for (let i = 0; i < 3; i += 1) expect((await h.app.inject({ method: 'GET', url: '/v1/jobs', headers: h.auth('acme') })).statusCode).toBe(200);
    const limited = await h.app.inject({ method: 'GET', url: '/v1/jobs', headers: h.auth('acme') });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'ORBITFED_API_RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await h.app.inject({ method: 'GET', url: '/v1/jobs', headers: h.auth('globex') })).statusCode).toBe(200);
  });
});
