// The web dashboard as the scheduler serves it (issue 10): the page and its files from this process
// with the right types and nothing from elsewhere, the JSON the page reads (map, contacts, a job
// explained, the ledger) behind the tenant's key, and live updates as jobs move.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { durationMs, MetricsRegistry, ScaledClock, silentLogger, unixMs, VirtualClock } from '../../common/index.ts';
import { loadElementFile, parseStationsText, type ElementSet } from '../../contact-plans/index.ts';
import { buildApi, type ApiApp } from '../../scheduler/api.ts';
import { loadDashboardSources, type DashboardLimits } from '../../scheduler/dashboard-config.ts';
import { DashboardLedger } from '../../scheduler/dashboard-ledger.ts';
import { InProcessEscrowLedger, type EscrowLedger } from '../../scheduler/escrow-ledger.ts';
import { loadSchedulerConfig } from '../../scheduler/scheduler-config.ts';
import { JobLifecycle } from '../../scheduler/job-lifecycle.ts';
import { JobStore } from '../../scheduler/job-store.ts';
import { placeJob, releasePlacement, reservePlacement } from '../../scheduler/placement.ts';
import { apiKeySha256, newApiKey, TenantDirectory } from '../../scheduler/tenants.ts';
import { CHAIN_ID, orbitalNode, TEST_NODES, testPlan } from './api-harness.ts';
import { HOUR_MS, jobSpec, scratchDirectory, T0_MS } from './job-fixtures.ts';

const scratch = scratchDirectory('dashboard');
let elements: readonly ElementSet[];
beforeAll(async () => {
  elements = (await loadElementFile(fileURLToPath(new URL('../../samples/elements.tle', import.meta.url)), { checksum: 'strict' })).elements;
});
afterAll(() => scratch.remove());

/** Oslo and Munich with coordinates; Wallops is left out, so the map places it by its country. */
const STATIONS = parseStationsText(`stations:
  - { id: OSLO, name: Oslo, latitudeDeg: 59.91, longitudeDeg: 10.75, altitudeM: 20, country: NO }
  - { id: MUNICH, name: Munich, latitudeDeg: 48.14, longitudeDeg: 11.58, altitudeM: 520, country: DE }
`, 'stations.yaml');
/** sat-a is the ISS (the sample elements have it); sat-b has no catalog number. */
const NODES = TEST_NODES.map((n) => (n.id === 'sat-a' ? orbitalNode('sat-a', 100, 'DE', 'dlr', { noradId: 25544 }) : n));

interface Dash {
  readonly app: ApiApp;
  readonly clock: VirtualClock;
  readonly lifecycle: JobLifecycle;
  readonly store: JobStore;
  auth(tenant: 'acme' | 'globex' | 'ops'): { authorization: string };
  key(tenant: 'acme' | 'globex' | 'ops'): string;
  close(): Promise<void>;
}

let databases = 0;
const open: Dash[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function startDashboard(options: { validatorRpcUrls?: string[]; limits?: Partial<DashboardLimits> } = {}): Promise<Dash> {
  const clock = new VirtualClock(unixMs(T0_MS));
  const store = JobStore.open(join(scratch.path, `dashboard-${databases++}.db`));
  const keys = { acme: newApiKey(), globex: newApiKey(), ops: newApiKey() };
  store.putTenant({ id: 'acme', roles: ['jobs'], operator: undefined, apiKeySha256: apiKeySha256(keys.acme), publicKeyHex: undefined }, T0_MS);
  store.putTenant({ id: 'globex', roles: ['jobs'], operator: undefined, apiKeySha256: apiKeySha256(keys.globex), publicKeyHex: undefined }, T0_MS);
  store.putTenant({ id: 'ops', roles: ['nodes'], operator: 'ksat', apiKeySha256: apiKeySha256(keys.ops), publicKeyHex: undefined }, T0_MS);
  for (const node of NODES) store.putNode(node, 'root', T0_MS);
  const escrow = await InProcessEscrowLedger.open({ chainId: CHAIN_ID, clock });
  for (const tenant of ['acme', 'globex']) escrow.fundTenant(tenant, 'EUR', 1_000_000n, `genesis:${tenant}`);
  const metrics = new MetricsRegistry();
  const lifecycle = new JobLifecycle({
    store, escrow, plan: testPlan(), clock, logger: silentLogger(), metrics, placement: { placeJob, reservePlacement, releasePlacement }, catalog: { chainId: CHAIN_ID },
  });
  await lifecycle.refreshNodes();
  const app = await buildApi({
    store, lifecycle, tenants: new TenantDirectory(store, { chainId: CHAIN_ID, clock }), clock, logger: silentLogger(), metrics, auditors: new Map(), chainId: CHAIN_ID,
    dashboard: { escrow, elements, stations: STATIONS, validatorRpcUrls: options.validatorRpcUrls ?? [], limits: options.limits },
  });
  const dash: Dash = {
    app, clock, lifecycle, store,
    auth: (tenant) => ({ authorization: `Bearer ${keys[tenant]}` }),
    key: (tenant) => keys[tenant],
    close: async () => {
      await app.close();
      store.close();
    },
  };
  open.push(dash);
  return dash;
}

/** An EU-only job that must run in orbit, its result downlinked in Germany (sat-a via Munich). */
const euJob = jobSpec({
  name: 'eu-only', input: { sizeBytes: 2_000_000, location: 'gs-munich' }, result: { sizeBytes: 500_000, deliverTo: [] }, orbital: 'required',
  sovereignty: { atRest: ['EU'], downlink: { countries: ['DE'] } }, deadlineMs: T0_MS + 6 * HOUR_MS,
});

async function submit(d: Dash, body: unknown = euJob, tenant: 'acme' | 'globex' = 'acme'): Promise<{ id: string; placement: { nodeId: string } }> {
  const response = await d.app.inject({ method: 'POST', url: '/v1/jobs', headers: d.auth(tenant), payload: body as object });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

describe('the page and its files', () => {
  it('serves the page at / with a policy that allows only this origin, and its files with their content types', async () => {
    const d = await startDashboard();
    const page = await d.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const types: Record<string, string> = {
      'app.js': 'text/javascript; charset=utf-8', 'dashboard.css': 'text/css; charset=utf-8', 'd3-geo.min.js': 'text/javascript; charset=utf-8',
      'd3-array.min.js': 'text/javascript; charset=utf-8', 'topojson-client.min.js': 'text/javascript; charset=utf-8', 'countries-110m.json': 'application/json; charset=utf-8',
    };
    for (const [file, type] of Object.entries(types)) {
      const response = await d.app.inject({ method: 'GET', url: `/dashboard/assets/${file}` });
      expect(response.statusCode, file).toBe(200);
      expect(response.headers['content-type'], file).toBe(type);
      const again = await d.app.inject({ method: 'GET', url: `/dashboard/assets/${file}`, headers: { 'if-none-match': String(response.headers.etag) } });
      expect(again.statusCode, file).toBe(304);
    }
    const world = (await d.app.inject({ method: 'GET', url: '/dashboard/assets/countries-110m.json' })).json();
    expect(world.type).toBe('Topology');
    expect(world.objects.countries.geometries.length).toBeGreaterThan(170);
  });

  it('refuses names that are not its files, without reading anything else from disk', async () => {
    const d = await startDashboard();
    const missing = await d.app.inject({ method: 'GET', url: '/dashboard/assets/nothing.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'ORBITFED_DASHBOARD_NOT_FOUND' });
    for (const url of ['/dashboard/assets/..%2Fapi.ts', '/dashboard/assets/%2e%2e', '/dashboard/assets/App.JS', `/dashboard/assets/${'a'.repeat(100)}.js`]) {
      const response = await d.app.inject({ method: 'GET', url });
      expect([400, 404], url).toContain(response.statusCode);
      expect(response.body, url).not.toContain('import');
    }
  });

  it('loads nothing from elsewhere: no external URL in our files, only license comments in the libraries, every reference served here', async () => {
    const d = await startDashboard();
    const get = async (path: string) => (await d.app.inject({ method: 'GET', url: path })).body;
    const html = await get('/');
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(references).toEqual(expect.arrayContaining(['dashboard/assets/app.js', 'dashboard/assets/d3-geo.min.js', 'dashboard/assets/dashboard.css']));
    const own = ['index.html', 'app.js', 'api-client.js', 'world-map.js', 'contact-gantt.js', 'jobs-panel.js', 'ledger-panel.js', 'dom-builder.js', 'units-format.js', 'dashboard.css'];
    const modules = new Set<string>();
    for (const file of own) {
      const text = file === 'index.html' ? html : await get(`/dashboard/assets/${file}`);
      expect(text, file).not.toMatch(/https?:\/\//);
      expect(text, file).not.toMatch(/(?:src|href|url)\s*[=(]\s*["']?\/\//);
      for (const m of text.matchAll(/^import .* from '\.\/([a-z-]+\.js)';$/gm)) modules.add(m[1]!);
    }
    for (const reference of [...references.filter((r) => r.startsWith('dashboard/assets/')).map((r) => r.slice('dashboard/assets/'.length)), ...modules]) {
      expect((await d.app.inject({ method: 'GET', url: `/dashboard/assets/${reference}` })).statusCode, reference).toBe(200);
    }
    for (const r of references) expect(r, r).toMatch(/^(dashboard\/assets\/[a-z0-9.-]+|docs|data:,)$/);
    // The libraries name their home page in a license comment on the first line, and nowhere else.
    for (const library of ['d3-array.min.js', 'd3-geo.min.js', 'topojson-client.min.js', 'countries-110m.json']) {
      const lines = (await get(`/dashboard/assets/${library}`)).split('\n');
      expect(lines.slice(1).join('\n'), library).not.toMatch(/https?:\/\//);
      if (/https?:\/\//.test(lines[0]!)) expect(lines[0], library).toMatch(/^\/\/ https:\/\//);
    }
  });

  it('keeps / free of data: every data call needs a tenant', async () => {
    const d = await startDashboard();
    for (const url of ['/v1/dashboard/map', '/v1/dashboard/gantt', '/v1/dashboard/ledger', '/v1/dashboard/jobs/job-1', '/v1/events']) {
      const response = await d.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(401);
      expect(response.json(), url).toMatchObject({ code: 'ORBITFED_AUTH_REQUIRED' });
    }
    const wrongKey = await d.app.inject({ method: 'GET', url: '/v1/dashboard/map', headers: { authorization: `Bearer ${newApiKey()}` } });
    expect(wrongKey.statusCode).toBe(401);
  });

  it('documents its JSON in the OpenAPI document', async () => {
    const d = await startDashboard();
    const paths = Object.keys((await d.app.inject({ method: 'GET', url: '/docs/json' })).json().paths);
    expect(paths).toEqual(expect.arrayContaining(['/', '/v1/dashboard/map', '/v1/dashboard/gantt', '/v1/dashboard/jobs/{id}', '/v1/dashboard/ledger', '/v1/events']));
  });
});

describe('the dashboard block of the scheduler configuration', () => {
  function writeConfig(dashboard: string): string {
    const path = join(scratch.path, `scheduler-${databases++}.yaml`);
    writeFileSync(path, `storePath: data/jobs.db
plan: { path: plan.json }
ledger: { chainId: orbitfed-test, validatorRpcUrl: "http://127.0.0.1:26601" }
tenants: [{ id: acme, roles: [jobs], apiKeySha256: "${'0'.repeat(64)}" }]
${dashboard}
`);
    return path;
  }
  const escrow = { balanceMinor: async () => undefined } as unknown as EscrowLedger;

  it('reads the stations file relative to the configuration, and shows the ledger validator by default', async () => {
    writeFileSync(join(scratch.path, 'sites.yaml'), 'stations:\n  - { id: OSLO, latitudeDeg: 59.91, longitudeDeg: 10.75, altitudeM: 20 }\n');
    const sources = await loadDashboardSources(await loadSchedulerConfig(writeConfig('dashboard: { stationsPath: sites.yaml, eventsPollMs: 5000 }')), escrow, undefined);
    expect(sources!.stations.map((s) => s.id)).toEqual(['OSLO']);
    expect(sources!.validatorRpcUrls).toEqual(['http://127.0.0.1:26601']);
    expect(sources!.limits).toEqual({ eventsPollMs: 5000 });
    expect(await loadDashboardSources(await loadSchedulerConfig(writeConfig('dashboard: { enabled: false }')), escrow, undefined)).toBeUndefined();
  });

  it('refuses unknown options, bad values and a broken stations file, naming where', async () => {
    await expect(loadSchedulerConfig(writeConfig('dashboard: { colour: blue }'))).rejects.toMatchObject({ code: 'ORBITFED_CONFIG_INVALID', message: expect.stringContaining('/dashboard') });
    await expect(loadSchedulerConfig(writeConfig('dashboard: { validatorRpcUrls: ["ftp://x"] }'))).rejects.toMatchObject({ code: 'ORBITFED_CONFIG_INVALID', message: expect.stringContaining('/dashboard/validatorRpcUrls/0') });
    await expect(loadSchedulerConfig(writeConfig('dashboard: { eventsPollMs: 5 }'))).rejects.toMatchObject({ code: 'ORBITFED_CONFIG_INVALID', message: expect.stringContaining('/dashboard/eventsPollMs') });
    writeFileSync(join(scratch.path, 'broken.yaml'), 'stations:\n  - { id: OSLO, latitudeDeg: 959.91, longitudeDeg: 10.75, altitudeM: 20 }\n');
    const broken = await loadSchedulerConfig(writeConfig('dashboard: { stationsPath: broken.yaml }'));
    await expect(loadDashboardSources(broken, escrow, undefined)).rejects.toMatchObject({ code: expect.stringMatching(/^ORBITFED_STATIONS_/), message: expect.stringContaining('broken.yaml') });
    const missing = await loadSchedulerConfig(writeConfig('dashboard: { stationsPath: nowhere.yaml }'));
    await expect(loadDashboardSources(missing, escrow, undefined)).rejects.toMatchObject({ code: 'ORBITFED_STATIONS_READ' });
  });
});

describe('GET /v1/dashboard/map', () => {
  it('places stations from the stations file (else by country), satellites from their elements, and the contacts open now', async () => {
    const d = await startDashboard();
    d.clock.advanceTo(unixMs(T0_MS + 3_700_000));
    const response = await d.app.inject({ method: 'GET', url: '/v1/dashboard/map', headers: d.auth('ops') });
    expect(response.statusCode).toBe(200);
    const map = response.json();
    expect(map.nowMs).toBe(T0_MS + 3_700_000);
    const stations = new Map(map.stations.map((s: { id: string }) => [s.id, s]));
    expect(stations.get('gs-munich')).toMatchObject({ ipn: 11, name: 'Munich', latitudeDeg: 48.14, longitudeDeg: 11.58, country: 'DE', countryId: '276', registered: true });
    expect(stations.get('gs-wallops')).toMatchObject({ ipn: 12, country: 'US', countryId: '840' });
    expect(stations.get('gs-wallops')).not.toHaveProperty('latitudeDeg');
    const iss = map.satellites.find((s: { id: string }) => s.id === 'sat-a');
    expect(iss).toMatchObject({ ipn: 100, catalogNumber: '25544', name: 'ISS (ZARYA)' });
    expect(Math.abs(iss.latitudeDeg)).toBeLessThanOrEqual(51.7);
    expect(iss.altitudeKm).toBeGreaterThan(380);
    expect(iss.altitudeKm).toBeLessThan(440);
    // About 12.5° of central angle at 10° elevation from the ISS's height (dashboard-sky.test.ts checks the geometry).
    expect(iss.footprintRadiusDeg).toBeGreaterThan(12);
    expect(iss.footprintRadiusDeg).toBeLessThan(13.5);
    // A quarter orbit back and one orbit ahead: ~115 min at ≥ 30 s steps.
    expect(iss.track.length).toBeGreaterThan(100);
    // sat-b is not in the elements file (the plan names it 90002).
    expect(map.satellites.find((s: { id: string }) => s.id === 'sat-b')).toMatchObject({ catalogNumber: '90002', problem: expect.stringContaining('no element set') });
    expect(map.satellites.find((s: { id: string }) => s.id === 'sat-b')).not.toHaveProperty('latitudeDeg');
    // At T0 + 3700 s sat-a has its pass over Munich (both directions: one link); the mesh is not drawn.
    expect(map.links).toEqual([expect.objectContaining({ a: 'gs-munich', b: 'sat-a', aIpn: 11, bIpn: 100, rateAToBBytesPerSec: 1_000_000, rateBToABytesPerSec: 1_000_000 })]);
  });
});

describe('GET /v1/dashboard/gantt', () => {
  it('shows every space contact in the window as a bar per node pair, with what the jobs booked on it', async () => {
    const d = await startDashboard();
    const job = await submit(d);
    const response = await d.app.inject({ method: 'GET', url: `/v1/dashboard/gantt?from=${T0_MS}&to=${T0_MS + 24 * HOUR_MS}`, headers: d.auth('acme') });
    expect(response.statusCode).toBe(200);
    const gantt = response.json();
    expect(gantt.rows.map((r: { id: string }) => r.id)).toEqual(['gs-munich', 'gs-oslo', 'gs-wallops', 'sat-a', 'sat-b']);
    // testPlan: sat-a passes Munich three times and Oslo once, sat-b Wallops twice; the mesh is left out.
    expect(gantt.bars).toHaveLength(6);
    expect(gantt.bars[0]).toMatchObject({ a: 'gs-munich', b: 'sat-a', startMs: T0_MS + 3_600_000, endMs: T0_MS + 4_200_000, capacityBytes: 1_200_000_000 });
    const detail = (await d.app.inject({ method: 'GET', url: `/v1/dashboard/jobs/${job.id}`, headers: d.auth('acme') })).json();
    const bookedBars = gantt.bars.filter((b: { bookedBytes: number }) => b.bookedBytes > 0);
    expect(bookedBars.length).toBeGreaterThan(0);
    for (const bar of bookedBars) expect(bar.contacts.some((c: number) => detail.bookedContacts.includes(c))).toBe(true);
  });

  it('refuses a window that ends before it starts or is longer than 48 h', async () => {
    const d = await startDashboard();
    for (const [query, detail] of [[`from=${T0_MS}&to=${T0_MS - 1}`, 'before it starts'], [`from=${T0_MS}&to=${T0_MS + 49 * HOUR_MS}`, 'at most 48 h'], ['from=yesterday', '']] as const) {
      const response = await d.app.inject({ method: 'GET', url: `/v1/dashboard/gantt?${query}`, headers: d.auth('acme') });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().code, query).toMatch(/^ORBITFED_API_INVALID_QUERYSTRING$/);
      expect(response.json().detail, query).toContain(detail);
    }
  });
});

describe('GET /v1/dashboard/jobs/{id}', () => {
  it('explains a placed job: why that node, the regions its data may go to, its planned timeline and its escrow', async () => {
    const d = await startDashboard();
    const job = await submit(d);
    const response = await d.app.inject({ method: 'GET', url: `/v1/dashboard/jobs/${job.id}`, headers: d.auth('acme') });
    expect(response.statusCode).toBe(200);
    const detail = response.json();
    expect(detail.job).toMatchObject({ id: job.id, state: 'placed', placement: { nodeId: 'sat-a', resultStation: 'gs-munich' } });
    expect(detail.explanation.join(' ')).toMatch(/registered nodes/);
    expect(detail.timeline.map((s: { step: string; status: string }) => `${s.step}:${s.status}`)).toEqual(['uplink:planned', 'execution:planned', 'downlink:planned', 'settlement:planned']);
    expect(detail.timeline[0]).toMatchObject({ plannedStartMs: T0_MS + 3_600_000 });
    expect(detail.timeline[2].plannedEndMs).toBe(detail.job.placement.resultArrivalMs);
    const atRest = detail.regions.find((r: { rule: string }) => r.rule === 'atRest');
    expect(atRest.countries).toHaveLength(27);
    expect(atRest.numericIds).toContain('276');
    expect(detail.regions.find((r: { rule: string }) => r.rule === 'downlink')).toMatchObject({ countries: ['DE'], numericIds: ['276'] });
    expect(detail.escrow).toMatchObject({ escrowId: `${job.id}.1`, status: 'pending', currency: 'EUR' });
    expect(detail.bookedContacts.length).toBeGreaterThan(0);
    expect(detail.events.map((e: { type: string }) => e.type)).toEqual(['submitted', 'placed']);
  });

  it('follows the job through its states to a delivered result, and a refund when cancelled', async () => {
    const d = await startDashboard();
    const job = await submit(d);
    const timeline = async (id: string) => ((await d.app.inject({ method: 'GET', url: `/v1/dashboard/jobs/${id}`, headers: d.auth('acme') })).json().timeline as { step: string; status: string }[])
      .map((s) => `${s.step}:${s.status}`);
    d.lifecycle.dispatched(job.id);
    expect(await timeline(job.id)).toEqual(['uplink:active', 'execution:planned', 'downlink:planned', 'settlement:planned']);
    d.clock.advance(durationMs(3_700_000));
    d.lifecycle.started(job.id, 'sat-a');
    expect(await timeline(job.id)).toEqual(['uplink:done', 'execution:active', 'downlink:planned', 'settlement:planned']);
    d.clock.advance(durationMs(3_000_000));
    // As the dispatcher does on a result's arrival: the bytes kept, then the job finished.
    const kept = d.store.resultContents.put({ jobId: job.id, assignmentId: `${job.id}.1`, bytes: new Uint8Array(400_000) }, d.clock.now());
    d.lifecycle.finished(job.id, 'sat-a', { outcome: 'succeeded', exitCode: 0, station: 'gs-munich', deliveredAtMs: T0_MS + 6_700_000, resultSizeBytes: 400_000, resultSha256: kept.sha256 });
    expect(await timeline(job.id)).toEqual(['uplink:done', 'execution:done', 'downlink:done', 'settlement:active']);
    // The page's download button fetches this url.
    const finished = (await d.app.inject({ method: 'GET', url: `/v1/dashboard/jobs/${job.id}`, headers: d.auth('acme') })).json();
    expect(finished.content).toEqual({ status: 'available', url: `/v1/jobs/${job.id}/result/content`, sizeBytes: 400_000, sha256: kept.sha256 });

    const other = await submit(d, { ...euJob, name: 'changed-my-mind' });
    await d.app.inject({ method: 'DELETE', url: `/v1/jobs/${other.id}`, headers: d.auth('acme') });
    const cancelled = (await d.app.inject({ method: 'GET', url: `/v1/dashboard/jobs/${other.id}`, headers: d.auth('acme') })).json();
    expect(cancelled.timeline.map((s: { status: string }) => s.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(cancelled.timeline[3].note).toContain('refunded');
    expect(cancelled.escrow.status).toBe('voided');
    expect(cancelled.content).toEqual({ status: 'none' });
  });

  it('shows a tenant only its own jobs, and only with the jobs role', async () => {
    const d = await startDashboard();
    const job = await submit(d);
    const stranger = await d.app.inject({ method: 'GET', url: `/v1/dashboard/jobs/${job.id}`, headers: d.auth('globex') });
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json()).toMatchObject({ code: 'ORBITFED_JOB_NOT_FOUND' });
    const operator = await d.app.inject({ method: 'GET', url: `/v1/dashboard/jobs/${job.id}`, headers: d.auth('ops') });
    expect(operator.statusCode).toBe(403);
    const malformed = await d.app.inject({ method: 'GET', url: '/v1/dashboard/jobs/..%2F..%2Fetc', headers: d.auth('acme') });
    expect(malformed.statusCode).toBe(400);
  });
});

describe('GET /v1/dashboard/ledger', () => {
  it("shows the tenant's balance, its jobs' escrows with totals, the fee accounts and providers' reputations", async () => {
    const d = await startDashboard();
    const job = await submit(d);
    const response = await d.app.inject({ method: 'GET', url: '/v1/dashboard/ledger', headers: d.auth('acme') });
    expect(response.statusCode).toBe(200);
    const ledger = response.json();
    const price = BigInt((await d.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}`, headers: d.auth('acme') })).json().placement.priceMinor.amount);
    expect(ledger.source).toBe('in-process');
    expect(ledger.balances).toEqual([{ currency: 'EUR', balanceMinor: String(1_000_000n - price) }]);
    expect(ledger.escrows).toEqual([expect.objectContaining({ jobId: job.id, escrowId: `${job.id}.1`, status: 'pending', amountMinor: String(price) })]);
    expect(ledger.totals).toEqual([{ currency: 'EUR', heldMinor: String(price), settledMinor: '0', feesMinor: '0', refundedMinor: '0' }]);
    expect(ledger.feeAccounts).toEqual([{ currency: 'EUR', balanceMinor: '0' }]);
    expect(ledger.providers.map((p: { nodeId: string }) => p.nodeId)).toEqual(['gs-munich', 'gs-oslo', 'gs-wallops', 'sat-a', 'sat-b']);
    expect(ledger.validators).toEqual([]);
    // Another tenant sees its own money only.
    const globex = (await d.app.inject({ method: 'GET', url: '/v1/dashboard/ledger', headers: d.auth('globex') })).json();
    expect(globex.balances).toEqual([{ currency: 'EUR', balanceMinor: '1000000' }]);
    expect(globex.escrows).toEqual([]);
  });

  it('reports a validator that is down or does not answer in time as unhealthy, without waiting for it', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const d = await startDashboard({ validatorRpcUrls: [silentUrl, `http://127.0.0.1:${closedPort}`], limits: { validatorTimeoutMs: 2_000 } });
      const pending = d.app.inject({ method: 'GET', url: '/v1/dashboard/ledger', headers: d.auth('acme') });
      await new Promise((resolve) => setTimeout(resolve, 100));
      d.clock.advance(durationMs(2_000));
      const ledger = (await pending).json();
      expect(ledger.source).toBe('in-process');
      expect(ledger.validators).toEqual([
        { url: silentUrl, healthy: false, error: expect.stringContaining('did not answer status within 2000 ms') },
        { url: `http://127.0.0.1:${closedPort}`, healthy: false, error: expect.stringContaining('fetch failed') },
      ]);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('the dashboard ledger on a faster clock', () => {
  it("gives a validator its timeout in wall time when the scheduler's clock runs 600× faster (the demo's plan time)", async () => {
    // A validator RPC that answers its status after 300 ms of wall time: 50 h of the clock at 600×.
    const slow: Server = createServer((_request, response) => {
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ chainId: CHAIN_ID, name: 'v0', height: 42, round: 0, step: 'propose', lastCommitted: null, mempoolTxs: 0 }));
      }, 300);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
      const clock = new ScaledClock({ wallOriginMs: Date.now(), originMs: T0_MS, timeScale: 600 });
      const escrow = await InProcessEscrowLedger.open({ chainId: CHAIN_ID, clock: new VirtualClock(unixMs(T0_MS)) });
      const ledger = new DashboardLedger(escrow, [url], clock, 3_000);
      const summary = await ledger.summary({ tenantId: 'acme', currencies: [], escrows: [], reputations: [] });
      expect(summary.validators).toEqual([expect.objectContaining({ url, healthy: true, name: 'v0', height: 42 })]);
      // …and still gives up after its 3 s of wall time, not 3 s × 600.
      const tooSlow = new DashboardLedger(escrow, [url], clock, 100);
      const startedMs = Date.now();
      const late = await tooSlow.summary({ tenantId: 'acme', currencies: [], escrows: [], reputations: [] });
      expect(late.validators).toEqual([{ url, healthy: false, error: expect.stringContaining('did not answer status within 100 ms') }]);
      expect(Date.now() - startedMs).toBeLessThan(300);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});

type SseEvent = { event: string; data: Record<string, unknown> };

/** Server-sent events from a real connection: `next(until)` reads until `until` says stop (or 10 s pass), and returns what it read. */
function eventsOf(response: Response): { next(until: (events: SseEvent[]) => boolean): Promise<SseEvent[]>; cancel(): Promise<void> } {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    async next(until) {
      const events: SseEvent[] = [];
      const deadline = Date.now() + 10_000;
      while (!until(events)) {
        if (Date.now() > deadline) throw new Error(`no matching event in ${JSON.stringify(events.map((e) => e.event))}`);
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      }
      return events;
    },
    cancel: () => reader.cancel(),
  };
}

describe('GET /v1/events', () => {
  it('streams the clock, each change of a job and the contacts as they open, to the job owner only', async () => {
    // One poll per 10 min of the virtual clock, so that moving it by an hour polls six times.
    const d = await startDashboard({ limits: { eventsPollMs: 600_000 } });
    const address = await d.app.listen({ host: '127.0.0.1', port: 0 });
    const acme = await fetch(`${address}/v1/events`, { headers: d.auth('acme') });
    expect(acme.status).toBe(200);
    expect(acme.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const globex = await fetch(`${address}/v1/events`, { headers: d.auth('globex') });
    const acmeEvents = eventsOf(acme);
    const globexEvents = eventsOf(globex);
    const hello = await acmeEvents.next((events) => events.length >= 1);
    expect(hello[0]).toMatchObject({ event: 'hello', data: { tenantId: 'acme', nowMs: T0_MS, planHash: d.lifecycle.plan.hash, pollMs: 600_000 } });
    await globexEvents.next((events) => events.length >= 1);

    const job = await submit(d);
    d.clock.advance(durationMs(600_000));
    const placed = await acmeEvents.next((events) => events.some((e) => e.event === 'job'));
    expect(placed.map((e) => e.event)).toEqual(['tick', 'links', 'job']);
    expect(placed[0]!.data).toMatchObject({ nowMs: T0_MS + 600_000 });
    expect(placed[2]!.data).toMatchObject({ id: job.id, state: 'placed', placement: { nodeId: 'sat-a' } });

    d.lifecycle.dispatched(job.id);
    d.clock.advanceTo(unixMs(T0_MS + 3_600_000));
    const moved = await acmeEvents.next((events) => events.some((e) => e.event === 'links'));
    expect(moved.filter((e) => e.event === 'job').map((e) => e.data)).toEqual([expect.objectContaining({ id: job.id, state: 'dispatched' })]);
    expect(moved.filter((e) => e.event === 'tick').map((e) => e.data['nowMs'])).toEqual([1, 2, 3, 4, 5].map((k) => T0_MS + 600_000 + k * 600_000));
    // The pass over Munich began: its link is announced.
    expect(moved.find((e) => e.event === 'links')!.data).toMatchObject({ links: [expect.objectContaining({ a: 'gs-munich', b: 'sat-a' })] });

    // Globex saw the clock and the contacts, never acme's job.
    const other = await globexEvents.next((events) => events.filter((e) => e.event === 'tick').length >= 2);
    expect(other.some((e) => e.event === 'job')).toBe(false);
    await acmeEvents.cancel();
    await globexEvents.cancel();
  });

  it('closes a stream whose client does not read, and serves the next one', async () => {
    const d = await startDashboard({ limits: { streamBufferBytesMax: 4096 } });
    const address = await d.app.listen({ host: '127.0.0.1', port: 0 });
    const stalled = eventsOf(await fetch(`${address}/v1/events`, { headers: d.auth('acme') }));
    await stalled.next((events) => events.length >= 1);
    // 200 polls without a turn of the event loop: the ticks pile up in the socket's buffer, past 4 KiB.
    d.clock.advance(durationMs(200_000));
    await expect(stalled.next(() => false)).rejects.toThrow(/terminated/);
    const fresh = eventsOf(await fetch(`${address}/v1/events`, { headers: d.auth('acme') }));
    expect((await fresh.next((events) => events.length >= 1))[0]!.event).toBe('hello');
    await fresh.cancel();
  });

  it('holds at most the configured streams per tenant, and closing the API ends the streams', async () => {
    const d = await startDashboard({ limits: { eventStreamsPerTenantMax: 2 } });
    const address = await d.app.listen({ host: '127.0.0.1', port: 0 });
    const first = await fetch(`${address}/v1/events`, { headers: d.auth('acme') });
    const second = await fetch(`${address}/v1/events`, { headers: d.auth('acme') });
    const third = await fetch(`${address}/v1/events`, { headers: d.auth('acme') });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: 'ORBITFED_EVENTS_STREAMS_PER_TENANT' });
    const firstEvents = eventsOf(first);
    await firstEvents.next((events) => events.length >= 1);
    await second.body!.cancel();
    const reading = firstEvents.next(() => false);
    await d.app.close();
    // The stream ended (no error, no hang) when the API closed.
    expect((await reading).map((e) => e.event)).not.toContain('job');
  });
});
