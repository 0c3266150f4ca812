// /v1/nodes, /v1/contacts and /v1/passes: operators register their own nodes (admins any), with
// attestations that must verify; every tenant reads the registry and the plan.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signAttestation } from '../../scheduler/attestations.ts';
import { AUDITOR_SEED, CHAIN_ID, removeHarnessFiles, startHarness, type Harness } from './api-harness.ts';
import { groundNode, HOUR_MS, T0_MS } from './job-fixtures.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());
afterAll(() => removeHarnessFiles());

const register = (tenant: 'ksat-ops' | 'root' | 'acme', body: unknown) => h.app.inject({ method: 'POST', url: '/v1/nodes', headers: h.auth(tenant), payload: body as object });

describe('POST /v1/nodes', () => {
  it('lets an operator register a node of its own operator, then replace it', async () => {
    const node = groundNode('gs-tromso', 20, 'NO', { operator: 'ksat' });
    const created = await register('ksat-ops', node);
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/v1/nodes/gs-tromso');
    expect(created.json()).toMatchObject({ id: 'gs-tromso', registeredBy: 'ksat-ops', reputationPpm: 500_000, inPlan: false });
    expect(created.json().warnings[0]).toContain('ipn 20 has no contacts in the current plan');
    const replaced = await register('ksat-ops', { ...node, resources: { ...node.resources, cpu: 32 } });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json().resources.cpu).toBe(32);
    expect(h.lifecycle.nodes.get('gs-tromso')?.spec.resources.cpu).toBe(32);
  });

  it('refuses a node of another operator, a node registered by someone else, and tenants without the role', async () => {
    expect((await register('ksat-ops', groundNode('gs-x', 21, 'NO', { operator: 'ssc' }))).json()).toMatchObject({ status: 403, field: '/operator' });
    expect((await register('ksat-ops', groundNode('gs-oslo', 10, 'NO', { operator: 'ksat' }))).json()).toMatchObject({ status: 409, code: 'ORBITFED_NODE_OWNED' });
    expect((await register('acme', groundNode('gs-y', 22, 'NO', { operator: 'ksat' }))).json()).toMatchObject({ status: 403, code: 'ORBITFED_AUTH_FORBIDDEN' });
    expect(h.store.node('gs-x')).toBeUndefined();
    expect(h.store.node('gs-y')).toBeUndefined();
  });

  it('lets an admin register any node, but no two nodes share an ipn number', async () => {
    expect((await register('root', groundNode('gs-z', 23, 'FI', { operator: 'anyone' }))).statusCode).toBe(201);
    const clash = await register('root', groundNode('gs-w', 10, 'FI', { operator: 'anyone' }));
    expect(clash.json()).toMatchObject({ status: 409, code: 'ORBITFED_NODE_IPN_TAKEN', field: '/ipn' });
  });

  it('refuses a reputation claimed by the operator, and jurisdiction rules the schema cannot say', async () => {
    expect((await register('ksat-ops', groundNode('gs-r', 24, 'NO', { operator: 'ksat', reputationPpm: 1_000_000 }))).json())
      .toMatchObject({ status: 400, code: 'ORBITFED_NODE_SPEC_INVALID', field: '/reputationPpm' });
    expect((await register('ksat-ops', groundNode('gs-r', 24, 'UK', { operator: 'ksat' }))).json())
      .toMatchObject({ status: 400, code: 'ORBITFED_NODE_SPEC_INVALID', field: '/jurisdiction/country', detail: expect.stringContaining('GB') });
    expect((await register('ksat-ops', { ...groundNode('gs-r', 24, 'NO', { operator: 'ksat' }), jurisdiction: {} })).json())
      .toMatchObject({ status: 400, field: '/jurisdiction/country' });
    expect(h.store.node('gs-r')).toBeUndefined();
  });

  it('accepts attestations that verify under a known auditor and refuses the others', async () => {
    const node = groundNode('gs-audited', 25, 'NO', { operator: 'ksat' });
    const good = signAttestation(AUDITOR_SEED, CHAIN_ID, node, 'tuv', { tier: '3', country: 'NO' });
    expect((await register('ksat-ops', { ...node, attestations: [good] })).statusCode).toBe(201);
    const forged = { ...good, attributes: { tier: '4', country: 'NO' } };
    expect((await register('ksat-ops', { ...node, attestations: [forged] })).json())
      .toMatchObject({ status: 422, code: 'ORBITFED_NODE_ATTESTATION', field: '/attestations/0/signature' });
    const unknown = signAttestation(AUDITOR_SEED, CHAIN_ID, node, 'nobody', { tier: '3' });
    expect((await register('ksat-ops', { ...node, attestations: [unknown] })).json())
      .toMatchObject({ status: 422, field: '/attestations/0/auditor' });
    expect(h.store.node('gs-audited')?.spec.attestations).toEqual([good]);
  });
});

describe('GET /v1/nodes', () => {
  it('lists the registry page by page, to any tenant', async () => {
    const first = (await h.app.inject({ method: 'GET', url: '/v1/nodes?limit=3', headers: h.auth('acme') })).json();
    expect(first.nodes.map((n: { id: string }) => n.id)).toEqual(['gs-munich', 'gs-oslo', 'gs-wallops']);
    const rest = (await h.app.inject({ method: 'GET', url: `/v1/nodes?limit=3&cursor=${first.nextCursor}`, headers: h.auth('acme') })).json();
    expect(rest.nodes.map((n: { id: string }) => n.id)).toEqual(['sat-a', 'sat-b']);
    expect(rest.nextCursor).toBeUndefined();
    expect(rest.nodes[0]).toMatchObject({ kind: 'orbital', inPlan: true, reputationPpm: 500_000, registeredBy: 'root' });
    expect((await h.app.inject({ method: 'GET', url: '/v1/nodes/sat-b', headers: h.auth('acme') })).json().ipn).toBe(101);
    expect((await h.app.inject({ method: 'GET', url: '/v1/nodes/sat-z', headers: h.auth('acme') })).statusCode).toBe(404);
  });
});

describe('GET /v1/contacts and /v1/passes', () => {
  it('gives a node\'s contacts in a window, named and timed, with booked volume', async () => {
    const response = await h.app.inject({ method: 'GET', url: `/v1/contacts?node=sat-a&from=${T0_MS}&to=${T0_MS + 1.5 * HOUR_MS}`, headers: h.auth('acme') });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ node: 'sat-a', fromMs: T0_MS, toMs: T0_MS + 1.5 * HOUR_MS, truncated: false, planHash: h.lifecycle.plan.hash });
    expect(body.contacts.map((c: { from: string; to: string; startMs: number }) => [c.from, c.to, c.startMs])).toEqual([
      ['gs-munich', 'sat-a', T0_MS + HOUR_MS], ['sat-a', 'gs-munich', T0_MS + HOUR_MS],
    ]);
    expect(body.contacts[0]).toMatchObject({ rateBytesPerSec: 1_000_000, capacityBytes: 600_000_000, bookedBytes: 0, endMs: T0_MS + 4_200_000 });
    // RFC 3339 times and the plan's own names work as well.
    const byPlanName = await h.app.inject({ method: 'GET', url: '/v1/contacts?node=90001&from=2026-06-14T00:00:00Z&to=2026-06-14T01:30:00Z', headers: h.auth('acme') });
    expect(byPlanName.json().contacts).toEqual(body.contacts);
    expect((await h.app.inject({ method: 'GET', url: '/v1/contacts?node=nowhere', headers: h.auth('acme') })).json()).toMatchObject({ status: 404, field: 'node' });
  });

  it('gives a station\'s passes: windows with a satellite, uplink and downlink merged', async () => {
    const response = await h.app.inject({ method: 'GET', url: `/v1/passes?station=gs-munich&from=${T0_MS}&to=${T0_MS + 24 * HOUR_MS}`, headers: h.auth('acme') });
    const passes = response.json().passes;
    expect(passes.map((p: { satellite: string; startMs: number; endMs: number }) => [p.satellite, p.startMs - T0_MS, p.endMs - T0_MS])).toEqual([
      ['sat-a', 3_600_000, 4_200_000], ['sat-a', 9_000_000, 9_600_000], ['sat-a', 20_000_000, 20_600_000],
    ]);
    expect(passes[0]).toMatchObject({ station: 'gs-munich', satelliteIpn: 100, uplinkRateBytesPerSec: 1_000_000, downlinkRateBytesPerSec: 1_000_000 });
  });
});
