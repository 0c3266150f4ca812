// A whole scheduler API in-process for the API tests: a small real contact plan (three ground
// stations on a terrestrial mesh, two satellites with passes), a job store in a scratch file, the
// in-process ledger with funded tenants, real placement, the lifecycle, and fastify answering
// app.inject(). Time is a VirtualClock at the plan's epoch.
import { join } from 'node:path';
import { MetricsRegistry, silentLogger, unixMs, VirtualClock } from '../../common/index.ts';
import { ContactPlan, type Contact } from '../../contact-plans/index.ts';
import { ed25519KeyPairFromSeed } from '../../consensus/index.ts';
import { buildApi, type ApiApp, type ApiLimits } from '../../scheduler/api.ts';
import { InProcessEscrowLedger } from '../../scheduler/escrow-ledger.ts';
import { JobLifecycle, type JobLifecycleOptions } from '../../scheduler/job-lifecycle.ts';
import { JobStore, type JobStoreLimits } from '../../scheduler/job-store.ts';
import type { NodeSpec } from '../../scheduler/node-spec.ts';
import { placeJob, releasePlacement, reservePlacement } from '../../scheduler/placement.ts';
import { apiKeySha256, newApiKey, TenantDirectory } from '../../scheduler/tenants.ts';
import { groundNode, scratchDirectory, T0_MS } from './job-fixtures.ts';

export const CHAIN_ID = 'orbitfed-test';
export const SIGNER_SEED = new Uint8Array(32).fill(9);
export const AUDITOR_SEED = new Uint8Array(32).fill(3);

const DAY_SEC = 86_400;
const MESH_RATE = 12_500_000;
const PASS_RATE = 1_000_000;

function both(a: number, b: number, startSec: number, endSec: number, rateBytesPerSec: number, owltSec: number): Contact[] {
  return [
    { from: a, to: b, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 },
    { from: b, to: a, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 },
  ];
}

/** Ground 10 (Oslo, NO), 11 (Munich, DE), 12 (Wallops, US) always meshed; satellite 100 (DE) passes Munich and Oslo, 101 (US) passes Wallops. */
export function testPlan(extra: readonly Contact[] = []): ContactPlan {
  return new ContactPlan({
    epochMs: T0_MS,
    nodes: [
      { ipn: 10, id: 'OSLO', kind: 'ground' }, { ipn: 11, id: 'MUNICH', kind: 'ground' }, { ipn: 12, id: 'WALLOPS', kind: 'ground' },
      { ipn: 100, id: '90001', kind: 'satellite' }, { ipn: 101, id: '90002', kind: 'satellite' },
    ],
    contacts: [
      ...both(10, 11, 0, DAY_SEC, MESH_RATE, 0.01), ...both(10, 12, 0, DAY_SEC, MESH_RATE, 0.03), ...both(11, 12, 0, DAY_SEC, MESH_RATE, 0.03),
      ...both(100, 11, 3600, 4200, PASS_RATE, 0.003), ...both(100, 10, 6000, 6600, PASS_RATE, 0.003), ...both(100, 11, 9000, 9600, PASS_RATE, 0.003),
      ...both(100, 11, 20_000, 20_600, PASS_RATE, 0.003),
      ...both(101, 12, 5000, 5600, PASS_RATE, 0.003), ...both(101, 12, 15_000, 15_600, PASS_RATE, 0.003),
      ...extra,
    ],
  });
}

export function orbitalNode(id: string, ipn: number, registry: string, operator: string, overrides: Partial<NodeSpec> = {}): NodeSpec {
  return {
    id, kind: 'orbital', ipn, operator,
    resources: { cpu: 2, memoryBytes: 4 * 1024 ** 3, diskBytes: 64 * 1024 ** 3, gpu: 0 },
    architecture: 'arm64', runtimes: ['process'],
    pricePerHourMinor: { currency: 'EUR', cpu: 1000, memoryGiB: 50, gpu: 0 },
    jurisdiction: { registry, operatorJurisdiction: registry }, attestations: [], blackouts: [],
    ...overrides,
  };
}

export const TEST_NODES: readonly NodeSpec[] = [
  groundNode('gs-oslo', 10, 'NO', { operator: 'ksat' }),
  groundNode('gs-munich', 11, 'DE', { operator: 'dlr' }),
  groundNode('gs-wallops', 12, 'US', { operator: 'nasa' }),
  orbitalNode('sat-a', 100, 'DE', 'dlr'),
  orbitalNode('sat-b', 101, 'US', 'nasa'),
];

export type TestTenant = 'acme' | 'globex' | 'poor' | 'ksat-ops' | 'root' | 'signer';

export interface Harness {
  readonly app: ApiApp;
  readonly store: JobStore;
  readonly lifecycle: JobLifecycle;
  readonly escrow: InProcessEscrowLedger;
  readonly clock: VirtualClock;
  readonly keys: Readonly<Record<Exclude<TestTenant, 'signer'>, string>>;
  /** Authorization header of a tenant. */
  auth(tenant: Exclude<TestTenant, 'signer'>): { authorization: string };
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly limits?: Partial<ApiLimits>;
  readonly lifecycle?: Partial<JobLifecycleOptions>;
  readonly nodes?: readonly NodeSpec[];
  readonly plan?: ContactPlan;
  readonly storePath?: string;
  readonly storeLimits?: Partial<JobStoreLimits>;
  readonly snapshotPath?: string;
  readonly clock?: VirtualClock;
}

const scratch = scratchDirectory('api');
let stores = 0;

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? new VirtualClock(unixMs(T0_MS));
  const store = JobStore.open(options.storePath ?? join(scratch.path, `api-${stores++}.db`), { limits: options.storeLimits });
  const keys = { acme: newApiKey(), globex: newApiKey(), poor: newApiKey(), 'ksat-ops': newApiKey(), root: newApiKey() };
  store.putTenant({ id: 'acme', roles: ['jobs'], operator: undefined, apiKeySha256: apiKeySha256(keys.acme), publicKeyHex: undefined }, T0_MS);
  store.putTenant({ id: 'globex', roles: ['jobs'], operator: undefined, apiKeySha256: apiKeySha256(keys.globex), publicKeyHex: undefined }, T0_MS);
  store.putTenant({ id: 'poor', roles: ['jobs'], operator: undefined, apiKeySha256: apiKeySha256(keys.poor), publicKeyHex: undefined }, T0_MS);
  store.putTenant({ id: 'ksat-ops', roles: ['nodes'], operator: 'ksat', apiKeySha256: apiKeySha256(keys['ksat-ops']), publicKeyHex: undefined }, T0_MS);
  store.putTenant({ id: 'root', roles: ['admin'], operator: undefined, apiKeySha256: apiKeySha256(keys.root), publicKeyHex: undefined }, T0_MS);
  store.putTenant({ id: 'signer', roles: ['jobs'], operator: undefined, apiKeySha256: undefined, publicKeyHex: Buffer.from(ed25519KeyPairFromSeed(SIGNER_SEED).publicKey).toString('hex') }, T0_MS);
  for (const node of options.nodes ?? TEST_NODES) if (store.node(node.id) === undefined) store.putNode(node, 'root', T0_MS);
  const escrow = await InProcessEscrowLedger.open({ chainId: CHAIN_ID, clock, snapshotPath: options.snapshotPath });
  for (const tenant of ['acme', 'globex', 'signer']) escrow.fundTenant(tenant, 'EUR', 1_000_000n, `genesis:${tenant}`);
  const metrics = new MetricsRegistry();
  const auditors = new Map([['tuv', ed25519KeyPairFromSeed(AUDITOR_SEED).publicKey]]);
  const lifecycle = new JobLifecycle({
    store, escrow, plan: options.plan ?? testPlan(), clock, logger: silentLogger(), metrics,
    placement: { placeJob, reservePlacement, releasePlacement }, options: options.lifecycle,
    catalog: { chainId: CHAIN_ID, auditorKeys: auditors },
  });
  await lifecycle.refreshNodes();
  const tenants = new TenantDirectory(store, { chainId: CHAIN_ID, clock });
  const app = await buildApi({ store, lifecycle, tenants, clock, logger: silentLogger(), metrics, auditors, chainId: CHAIN_ID, limits: options.limits });
  return {
    app, store, lifecycle, escrow, clock, keys,
    auth: (tenant) => ({ authorization: `Bearer ${keys[tenant]}` }),
    close: async () => {
      await app.close();
      lifecycle.stop();
      store.close();
    },
  };
}

export function removeHarnessFiles(): void {
  scratch.remove();
}
