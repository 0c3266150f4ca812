// The life of a job end to end (ARCHITECTURE.md, issues 7 and 8), on wall time with real parts: a
// settlement validator (`orbitfed validator`, its own process), the scheduler (SchedulerService from
// its configuration file, with `ledger.validatorRpcUrl` and a `dtn` block), a ground station
// (GroundAgentService from its configuration: libp2p overlay to the scheduler, TCPCLv4 to the
// satellite, receipt gateway to the validator) and an orbital agent (OrbitalService from its
// configuration: TCPCLv4, the process runtime). They share one contact plan in which the satellite
// passes over the station a few seconds from now, and the station ↔ scheduler overlay contacts (so
// that the satellite, too, can route reports to the scheduler's node).
//
// A tenant POSTs a job → it is placed on the satellite with its price in escrow on the validator →
// the dispatcher sends the signed assignment, which waits at the station for the pass → the node
// runs it and its reports, result and receipt come back through the station during the pass → the
// job is succeeded with the result's digest, the tenant downloads the bytes the node printed, and
// the receipt settles the escrow once: the provider gets the price less the 4 % fee.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, RealClock, silentLogger, type OrbitfedError } from '../../common/index.ts';
import { ContactPlan, formatContactPlanJson, type Contact } from '../../contact-plans/index.ts';
import { ed25519KeyPairFromSeed, sha256, ValidatorClient } from '../../consensus/index.ts';
import { GroundAgentService, loadGroundConfig } from '../../ground/index.ts';
import { OrbitalService } from '../../orbital/index.ts';
import { apiKeySha256, createSchedulerService, loadSchedulerConfig, newApiKey, withOverlayContacts, type NodeSpec, type SchedulerService } from '../../scheduler/index.ts';
import { escrowAccountId, feeAccountId, providerAccountId, tenantAccountId } from '../../scheduler/escrow-ledger.ts';
import type { NodeRecord } from '../../scheduler/job-store.ts';
import { NodeKeyDirectory } from '../../scheduler/scheduler-service.ts';
import { ValidatorCluster } from '../consensus/validator-cluster.ts';
import { freePort } from '../orbital/orbital-harness.ts';

const STATIONS = fileURLToPath(new URL('../../samples/stations.yaml', import.meta.url));
const clock = new RealClock();
/** `ORBITFED_TEST_LOG=info npx vitest run test/scheduler/job-flow.test.ts` shows what every part logs. */
const LOG_LEVEL = (process.env.ORBITFED_TEST_LOG as 'info' | undefined) ?? 'warn';

const CHAIN_ID = 'orbitfed-job-flow';
const STATION = 1;
const SATELLITE = 1001;
const SCHEDULER = 900;
const SCHEDULER_SEED = new Uint8Array(32).fill(71);
const STATION_SEED = new Uint8Array(32).fill(72);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
/** The pass opens this long after the plan's epoch (the parts start in between) and lasts PASS_SEC. */
const AOS_SEC = 20;
const PASS_SEC = 25;
const TENANT_MINOR = 1_000_000n;
/** 0.5 core for 5 s at 14,400,000 minor units per core-hour. */
const PRICE_MINOR = 10_000n;
const FEE_MINOR = 400n;
const RESULT_TEXT = 'hello from orbit';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'orbitfed-job-flow-'));
const apiKey = newApiKey();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let cluster: ValidatorCluster;
let scheduler: SchedulerService;
let api: string;
let epochMs: number;

function node(spec: Partial<NodeSpec> & Pick<NodeSpec, 'id' | 'kind' | 'ipn' | 'jurisdiction'>): NodeSpec {
  return {
    operator: 'ksat', resources: { cpu: 2, memoryBytes: 256 * 1024 * 1024, diskBytes: 1024 ** 3, gpu: 0 }, architecture: 'amd64', runtimes: ['process'],
    pricePerHourMinor: { currency: 'EUR', cpu: 14_400_000, memoryGiB: 0, gpu: 0 }, attestations: [], blackouts: [], ...spec,
  };
}

beforeAll(async () => {
  cluster = await ValidatorCluster.create({
    validators: 1, chainId: CHAIN_ID, tenants: ['acme'], tenantBalanceMinor: TENANT_MINOR, nodes: ['sat-1'], configExtras: { emptyBlockIntervalMs: 200, commitDelayMs: 20 },
    accountIds: { fee: feeAccountId, escrow: escrowAccountId, tenant: tenantAccountId, provider: providerAccountId },
  });
  cleanups.push(() => cluster.close());
  cluster.start(0);
  await cluster.waitForRpc(0);
  const rpcUrl = cluster.testnet.rpcUrls[0]!;
  const chainId = CHAIN_ID;
  const [schedulerP2p, stationP2p, stationTcpcl, satelliteTcpcl] = [await freePort(), await freePort(), await freePort(), await freePort()];

  // One plan for everyone: the pass both ways, and the station ↔ scheduler overlay.
  epochMs = Date.now();
  const pass = (from: number, to: number): Contact => ({ from, to, startSec: AOS_SEC, endSec: AOS_SEC + PASS_SEC, rateBytesPerSec: 100_000, owltSec: 0.01, confidence: 1 });
  const base = new ContactPlan({
    epochMs, nodes: [{ ipn: STATION, id: 'SVALBARD', kind: 'ground' }, { ipn: SATELLITE, id: '90001', kind: 'satellite' }],
    contacts: [pass(STATION, SATELLITE), pass(SATELLITE, STATION)],
  });
  writeFileSync(join(dir, 'plan.json'), formatContactPlanJson(withOverlayContacts(base, SCHEDULER, [{ node: STATION, rateBytesPerSec: 12_500_000 }], 'scheduler')));
  writeFileSync(join(dir, 'scheduler.key'), `${hex(SCHEDULER_SEED)}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'station.key'), `${hex(STATION_SEED)}\n`, { mode: 0o600 });
  const schedulerPublicKeyHex = hex(ed25519KeyPairFromSeed(SCHEDULER_SEED).publicKey);
  const stationPublicKeyHex = hex(ed25519KeyPairFromSeed(STATION_SEED).publicKey);

  // The scheduler: the nodes registered from a file, sat-1 without a key (the validators have it).
  const nodes = [
    node({ id: 'gs-svalbard', kind: 'ground', ipn: STATION, jurisdiction: { country: 'NO' }, publicKeyHex: stationPublicKeyHex }),
    node({ id: 'sat-1', kind: 'orbital', ipn: SATELLITE, jurisdiction: { registry: 'NO', operatorJurisdiction: 'NO' } }),
  ];
  writeFileSync(join(dir, 'nodes.json'), JSON.stringify(nodes));
  writeFileSync(join(dir, 'scheduler.json'), JSON.stringify({
    storePath: 'scheduler/jobs.db',
    plan: { path: 'plan.json' },
    nodesFile: 'nodes.json',
    ledger: { chainId, validatorRpcUrl: rpcUrl },
    tenants: [{ id: 'acme', roles: ['jobs'], apiKeySha256: apiKeySha256(apiKey) }],
    lifecycle: { tickMs: 250 },
    docs: false,
    dtn: {
      ipn: SCHEDULER, keyFile: 'scheduler.key', listen: [`/ip4/127.0.0.1/tcp/${schedulerP2p}`],
      peers: [{ name: 'SVALBARD', node: STATION, address: `/ip4/127.0.0.1/tcp/${stationP2p}`, publicKeyHex: stationPublicKeyHex }],
      dispatcher: { tickMs: 250 },
    },
  }));
  scheduler = await createSchedulerService({ config: await loadSchedulerConfig(join(dir, 'scheduler.json')), clock, logger: createLogger({ level: LOG_LEVEL, base: { process: 'scheduler' } }), listen: { port: 0 } });
  cleanups.push(() => scheduler.stop());
  api = await scheduler.start();

  // The ground station: bridge, receipt gateway to the validator.
  writeFileSync(join(dir, 'ground.json'), JSON.stringify({
    station: { stationsFile: STATIONS, id: 'SVALBARD', nodeId: 'gs-svalbard', ipn: STATION },
    plan: { path: 'plan.json' },
    identity: { keyFile: 'station.key' },
    chainId,
    dataDir: 'ground',
    terrestrial: {
      listen: [`/ip4/127.0.0.1/tcp/${stationP2p}`],
      peers: [{ name: 'scheduler', node: SCHEDULER, address: `/ip4/127.0.0.1/tcp/${schedulerP2p}`, publicKeyHex: schedulerPublicKeyHex }],
    },
    space: { tcpclv4: { listen: `127.0.0.1:${stationTcpcl}`, keepaliveSec: 5 }, satellites: [{ node: SATELLITE, address: `tcpclv4:127.0.0.1:${satelliteTcpcl}` }] },
    mqtt: { embedded: true, port: 0 },
    validators: { rpcUrls: [rpcUrl], retryDelayMs: 200, retryDelayMaxMs: 1_000 },
    log: { level: 'warn' },
  }));
  const ground = new GroundAgentService({ config: await loadGroundConfig(join(dir, 'ground.json')), clock, logger: createLogger({ level: LOG_LEVEL, base: { process: 'ground' } }) });
  cleanups.push(() => ground.stop());
  await ground.start();

  // The satellite, keyed as the ledger registered it.
  writeFileSync(join(dir, 'orbital.json'), JSON.stringify({
    nodeId: 'sat-1', chainId, ipnNumber: SATELLITE, keyFile: join(cluster.dir, 'nodes', 'sat-1.key'), schedulerPublicKey: schedulerPublicKeyHex,
    dataDir: 'orbital', storageBytesMax: 64 * 1024 * 1024, contactPlan: { file: 'plan.json' },
    convergenceLayers: { tcpclv4: { listen: `127.0.0.1:${satelliteTcpcl}` } },
    peers: [{ node: STATION, cl: 'tcpclv4', address: `127.0.0.1:${stationTcpcl}` }],
    runtime: { kind: 'process', cgroups: 'off' },
    endpoints: { reportsTo: `ipn:${SCHEDULER}.2`, receiptsTo: `ipn:${STATION}.4`, telemetryTo: `ipn:${STATION}.5` },
    telemetryPeriodMs: 0, heartbeatPeriodMs: 0, logLevel: 'warn',
  }));
  const orbital = new OrbitalService({ configPath: join(dir, 'orbital.json'), clock, logger: createLogger({ level: LOG_LEVEL, base: { process: 'orbital' } }) });
  cleanups.push(() => orbital.stop());
  await orbital.start();
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${api}${path}`, { headers: auth });
  return { status: response.status, body: (await response.json()) as T };
}

interface JobView { id: string; state: string; placement?: { nodeId: string; ledgerJobId: string; escrowId: string; resultStation: string; priceMinor: { amount: string } } }

describe('the life of a job', () => {
  it('runs a job submitted over HTTP on the satellite during its pass and settles its receipt on the validator once', async () => {
    expect(Date.now(), 'the parts started too slowly for the pass in the plan').toBeLessThan(epochMs + (AOS_SEC - 3) * 1000);
    const submitted = await fetch(`${api}/v1/jobs`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({
        name: 'hello', command: ['/bin/sh', '-c', `printf '${RESULT_TEXT}'`], resources: { cpu: 0.5, memoryBytes: 64 * 1024 * 1024 }, executionMs: 5_000,
        input: { sizeBytes: 100, location: 'gs-svalbard' }, result: { sizeBytes: 1_000, deliverTo: ['gs-svalbard'] }, orbital: 'required',
        deadlineMs: epochMs + 600_000, maxPriceMinor: { currency: 'EUR', amount: 20_000 },
      }),
    });
    const created = (await submitted.json()) as JobView;
    expect(submitted.status, JSON.stringify(created)).toBe(201);
    expect(created.placement).toMatchObject({ nodeId: 'sat-1', resultStation: 'gs-svalbard', priceMinor: { amount: String(PRICE_MINOR) } });
    const { ledgerJobId } = created.placement!;
    const validator = cluster.clients[0]!;
    // Placed: the price is held on the chain.
    expect(await validator.escrowOfJob(ledgerJobId)).toMatchObject({ status: 'pending', amountMinor: String(PRICE_MINOR) });
    expect(await validator.account(tenantAccountId('acme', 'EUR'))).toMatchObject({ balanceMinor: String(TENANT_MINOR - PRICE_MINOR) });

    // Dispatched within a tick (the assignment waits at the station for the pass), running during the pass, then succeeded.
    const seen: string[] = [];
    const final = await until('the job to finish', async () => {
      const { body } = await get<JobView>(`/v1/jobs/${created.id}`);
      if (seen.at(-1) !== body.state) seen.push(body.state);
      return ['succeeded', 'failed', 'expired', 'cancelled'].includes(body.state) ? body : undefined;
    }, (AOS_SEC + PASS_SEC) * 1000 + 10_000);
    expect(final.state, JSON.stringify(final)).toBe('succeeded');
    // What polling saw is the lifecycle in order (the dispatch comes within a dispatcher tick).
    const order = ['placed', 'dispatched', 'running', 'succeeded'];
    expect(seen.map((state) => order.indexOf(state))).toEqual([...seen.map((state) => order.indexOf(state))].sort((a, b) => a - b));
    expect(seen).toContain('dispatched');
    expect(Date.now()).toBeGreaterThanOrEqual(epochMs + AOS_SEC * 1000);

    const events = await get<{ events: { type: string; toState?: string; atMs: number; detail: Record<string, unknown> }[] }>(`/v1/jobs/${created.id}/events`);
    const states = events.body.events.map((e) => e.toState).filter((s) => s !== undefined);
    expect(states).toEqual(['submitted', 'placed', 'dispatched', 'running', 'succeeded']);
    const running = events.body.events.find((e) => e.toState === 'running')!;
    expect(running.atMs).toBeGreaterThanOrEqual(epochMs + AOS_SEC * 1000);

    const result = await get<{ state: string; result: Record<string, unknown> }>(`/v1/jobs/${created.id}/result`);
    expect(result.status).toBe(200);
    expect(result.body.result).toMatchObject({
      outcome: 'succeeded', exitCode: 0, resultSizeBytes: RESULT_TEXT.length, resultSha256: hex(sha256(new TextEncoder().encode(RESULT_TEXT))), station: 'gs-svalbard',
    });
    // The tenant downloads what the process printed on the satellite, over HTTP, with its digest (RFC 9530).
    const contentPath = `/v1/jobs/${created.id}/result/content`;
    expect(result.body).toMatchObject({ content: { status: 'available', url: contentPath, sizeBytes: RESULT_TEXT.length } });
    const download = await fetch(`${api}${contentPath}`, { headers: { authorization: auth.authorization } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    expect(download.headers.get('content-digest')).toBe(`sha-256=:${Buffer.from(sha256(new TextEncoder().encode(RESULT_TEXT))).toString('base64')}:`);
    expect(await download.text()).toBe(RESULT_TEXT);

    // The receipt went satellite → station → validator and settled the escrow: once, less the fee.
    const escrow = await until('the receipt to settle the escrow', async () => {
      const e = await validator.escrowOfJob(ledgerJobId);
      return e?.status === 'pending' ? undefined : e;
    }, 20_000);
    expect(escrow).toMatchObject({ status: 'posted' });
    const balances = async (): Promise<string[]> => Promise.all(
      [providerAccountId('sat-1', 'EUR'), feeAccountId('EUR'), tenantAccountId('acme', 'EUR')].map(async (id) => (await validator.account(id))?.balanceMinor as string),
    );
    const expected = [String(PRICE_MINOR - FEE_MINOR), String(FEE_MINOR), String(TENANT_MINOR - PRICE_MINOR)];
    expect(await balances()).toEqual(expected);
    // Nothing settles twice: the balances stay put while the parts keep running.
    await sleep(2_000);
    expect(await balances()).toEqual(expected);
    expect(scheduler.dispatcher!.stats()).toMatchObject({ dispatched: 1, refused: 0, results: 1 });
  }, 90_000);

  it("verifies a node under its NodeSpec key first, else under its active key in the validators' registry, and knows no key for other nodes", async () => {
    const record = (spec: NodeSpec): NodeRecord => ({ spec, registeredBy: 'config', registeredMs: 0, updatedMs: 0, lastHeardMs: undefined });
    const registered = new Map([
      ['gs-svalbard', record(node({ id: 'gs-svalbard', kind: 'ground', ipn: STATION, jurisdiction: { country: 'NO' }, publicKeyHex: hex(ed25519KeyPairFromSeed(STATION_SEED).publicKey) }))],
      ['sat-1', record(node({ id: 'sat-1', kind: 'orbital', ipn: SATELLITE, jurisdiction: { registry: 'NO' } }))],
      ['sat-2', record(node({ id: 'sat-2', kind: 'orbital', ipn: SATELLITE + 1, jurisdiction: { registry: 'NO' } }))],
    ]);
    const directory = (validators?: ValidatorClient): NodeKeyDirectory =>
      new NodeKeyDirectory({ nodes: { nodes: registered }, validators, clock, logger: silentLogger(), cacheMs: 60_000 });
    const settled = (keys: NodeKeyDirectory, nodeId: string): Promise<{ key: Uint8Array | undefined }> => until(`${nodeId}'s key lookup`, () => {
      try {
        return { key: keys.publicKeyOf(nodeId) };
      } catch (error) {
        expect((error as OrbitfedError).code).toBe('ORBITFED_NODE_KEY_PENDING');
        return undefined;
      }
    }, 10_000);

    const keys = directory(cluster.clients[0]);
    expect(keys.publicKeyOf('gs-svalbard')).toEqual(ed25519KeyPairFromSeed(STATION_SEED).publicKey);
    expect(keys.publicKeyOf('not-registered')).toBeUndefined();
    // Not known yet: the lookup starts and the message is to be delivered again.
    expect(() => keys.publicKeyOf('sat-1')).toThrow(/being read from the validators/);
    expect((await settled(keys, 'sat-1')).key).toEqual(ed25519KeyPairFromSeed(cluster.testnet.nodeSeeds.get('sat-1')!).publicKey);
    // Registered here but not on the ledger: refused once the validators said so.
    expect((await settled(keys, 'sat-2')).key).toBeUndefined();

    // Without validators only NodeSpec keys count; with unreachable ones the messages wait.
    expect(directory().publicKeyOf('sat-1')).toBeUndefined();
    const unreachable = directory(new ValidatorClient('http://127.0.0.1:1'));
    expect(() => unreachable.publicKeyOf('sat-1')).toThrow(/being read/);
    await sleep(500);
    expect(() => unreachable.publicKeyOf('sat-1')).toThrow(/being read/);
  });
});
