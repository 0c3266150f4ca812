// What the scheduler needs to dispatch, checked at its edges: the `dtn` block of its configuration
// (resolved paths, precise errors for peers that cannot work), NodeSpec's optional `publicKeyHex`
// (small-order and malformed keys refused, in the nodes file and over the API), and the wiring's
// refusals at start (an ipn number a registered node has, a missing key file). The DTN node itself
// runs in job-flow.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrbitfedError, silentLogger, unixMs, VirtualClock } from '../../common/index.ts';
import { ContactPlan, formatContactPlanJson } from '../../contact-plans/index.ts';
import { ed25519KeyPairFromSeed } from '../../consensus/index.ts';
import { createSchedulerService, loadSchedulerConfig, parseNodeSpec, resolveSchedulerConfig, type SchedulerConfigFile } from '../../scheduler/index.ts';
import { removeHarnessFiles, startHarness, type Harness } from './api-harness.ts';
import { groundNode, T0_MS } from './job-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'orbitfed-job-flow-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeHarnessFiles();
});

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const STATION_KEY = hex(ed25519KeyPairFromSeed(new Uint8Array(32).fill(5)).publicKey);
/** The identity point: an ed25519 public key of order 1, which every signature "verifies" under cofactored rules. */
const SMALL_ORDER_KEY = `01${'00'.repeat(31)}`;

function configFile(dtn: Record<string, unknown> | undefined): SchedulerConfigFile {
  return {
    storePath: 'data/jobs.db', plan: { path: 'plan.json' }, ledger: { chainId: 'orbitfed-test' },
    tenants: [{ id: 'acme', roles: ['jobs'], apiKeySha256: 'ab'.repeat(32) }],
    ...(dtn === undefined ? {} : { dtn }),
  } as SchedulerConfigFile;
}
const peer = (fields: Record<string, unknown> = {}) => ({ name: 'SVALBARD', node: 1, address: '/ip4/127.0.0.1/tcp/4001', publicKeyHex: STATION_KEY, ...fields });
const configPath = join(dir, 'conf', 'scheduler.json');

function refusal(run: () => unknown): OrbitfedError {
  try {
    run();
  } catch (error) {
    if (error instanceof OrbitfedError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('the scheduler configuration\'s dtn block', () => {
  it('is optional: without it the scheduler does not dispatch', () => {
    expect(resolveSchedulerConfig(configFile(undefined), configPath).dtn).toBeUndefined();
  });

  it('resolves the key file and the bundle store beside the configuration, the store by default beside the job store', () => {
    const config = resolveSchedulerConfig(configFile({ ipn: 900, keyFile: 'scheduler.key', peers: [peer()] }), configPath);
    expect(config.dtn).toEqual({ keyPath: join(dir, 'conf', 'scheduler.key'), bundleStorePath: join(dir, 'conf', 'data', 'jobs.db.bundles') });
    expect(resolveSchedulerConfig(configFile({ ipn: 900, keyFile: '/keys/s.key', storePath: 'dtn/bundles.sqlite', peers: [peer()] }), configPath).dtn)
      .toEqual({ keyPath: '/keys/s.key', bundleStorePath: join(dir, 'conf', 'dtn', 'bundles.sqlite') });
  });

  it('refuses peers that cannot work, naming the field', () => {
    const cases: [Record<string, unknown>[], string, RegExp][] = [
      [[peer({ node: 900 })], '/dtn/peers/0/node', /scheduler's own ipn/],
      [[peer(), peer({ name: 'other' })], '/dtn/peers/1/node', /listed twice/],
      [[peer({ address: `/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWR4gqATy2UShTaJqs6Cp9us1kEeRz` })], '/dtn/peers/0/address', /without \/p2p\//],
      [[peer({ publicKeyHex: SMALL_ORDER_KEY })], '/dtn/peers/0/publicKeyHex', /small-order/],
    ];
    for (const [peers, field, message] of cases) {
      const error = refusal(() => resolveSchedulerConfig(configFile({ ipn: 900, keyFile: 'k', peers }), configPath));
      expect(error.code).toBe('ORBITFED_CONFIG_INVALID');
      expect(error.location.field).toBe(field);
      expect(error.message).toMatch(message);
    }
  });

  it('refuses unknown options, no peers and malformed keys when the file is read', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ipn: 900, keyFile: 'k', peers: [peer()], ipnNumber: 900 }, /ipnNumber/],
      [{ ipn: 900, keyFile: 'k', peers: [] }, /\/dtn\/peers/],
      [{ ipn: 0, keyFile: 'k', peers: [peer()] }, /\/dtn\/ipn/],
      [{ ipn: 900, keyFile: 'k', peers: [peer({ publicKeyHex: 'AB'.repeat(32) })] }, /\/dtn\/peers\/0\/publicKeyHex/],
    ];
    for (const [dtn, message] of cases) {
      const path = join(dir, 'bad.json');
      writeFileSync(path, JSON.stringify(configFile(dtn)));
      const error = await loadSchedulerConfig(path).then(() => undefined, (e: unknown) => e as OrbitfedError);
      expect(error?.code).toBe('ORBITFED_CONFIG_INVALID');
      expect(error?.message).toMatch(message);
    }
  });
});

describe("a node's publicKeyHex", () => {
  const node = groundNode('gs-svalbard', 1, 'NO');

  it('is optional, and taken when it is a usable ed25519 key', () => {
    expect(parseNodeSpec(node).publicKeyHex).toBeUndefined();
    expect(parseNodeSpec({ ...node, publicKeyHex: STATION_KEY }).publicKeyHex).toBe(STATION_KEY);
  });

  it('is refused when it is a small-order point, not on the curve, or not lower-case hex of 32 bytes', () => {
    const problems = (publicKeyHex: string): string => refusal(() => parseNodeSpec({ ...node, publicKeyHex })).message;
    expect(problems(SMALL_ORDER_KEY)).toMatch(/\/publicKeyHex.*small-order/);
    expect(problems(`02${'00'.repeat(31)}`)).toMatch(/\/publicKeyHex.*(not-on-curve|small-order|torsion|non-canonical)/);
    expect(problems(STATION_KEY.toUpperCase())).toMatch(/\/publicKeyHex/);
    expect(problems(STATION_KEY.slice(2))).toMatch(/\/publicKeyHex/);
  });

  describe('over the API', () => {
    let h: Harness;
    beforeEach(async () => {
      h = await startHarness();
    });
    afterEach(async () => h.close());

    it('is stored and shown with the node, and a small-order key is refused with 400 and nothing stored', async () => {
      const register = (body: object) => h.app.inject({ method: 'POST', url: '/v1/nodes', headers: h.auth('root'), payload: body });
      const refused = await register({ ...groundNode('gs-bad', 30, 'NO'), publicKeyHex: SMALL_ORDER_KEY });
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'ORBITFED_NODE_SPEC_INVALID', field: '/publicKeyHex' });
      expect(h.store.node('gs-bad')).toBeUndefined();
      const created = await register({ ...groundNode('gs-good', 31, 'NO'), publicKeyHex: STATION_KEY });
      expect(created.statusCode).toBe(201);
      expect(created.json().publicKeyHex).toBe(STATION_KEY);
      expect(h.lifecycle.nodes.get('gs-good')?.spec.publicKeyHex).toBe(STATION_KEY);
    });
  });
});

describe('the scheduler service with a dtn block', () => {
  const setUp = (name: string, dtn: Record<string, unknown>, nodes: unknown[] = []): string => {
    const base = join(dir, name);
    const path = join(base, 'scheduler.json');
    const plan = new ContactPlan({ epochMs: T0_MS, nodes: [{ ipn: 1, id: 'SVALBARD', kind: 'ground' }], contacts: [] });
    rmSync(base, { recursive: true, force: true });
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'plan.json'), formatContactPlanJson(plan));
    writeFileSync(join(base, 'nodes.json'), JSON.stringify(nodes));
    writeFileSync(join(base, 'scheduler.key'), `${'11'.repeat(32)}\n`, { mode: 0o600 });
    writeFileSync(path, JSON.stringify({ ...configFile(dtn), nodesFile: 'nodes.json' }));
    return path;
  };
  const create = async (path: string) => createSchedulerService({ config: await loadSchedulerConfig(path), clock: new VirtualClock(unixMs(T0_MS)), logger: silentLogger(), listen: { port: 0 } });

  it('refuses an ipn number that a registered node has, and a key file that is missing or not a seed', async () => {
    const taken = setUp('taken', { ipn: 1, keyFile: 'scheduler.key', peers: [peer({ node: 2 })] }, [groundNode('gs-svalbard', 1, 'NO')]);
    await expect(create(taken)).rejects.toMatchObject({ code: 'ORBITFED_CONFIG_INVALID', location: { field: '/dtn/ipn' } });
    const missing = setUp('missing', { ipn: 900, keyFile: 'nowhere.key', peers: [peer()] });
    await expect(create(missing)).rejects.toMatchObject({ code: 'ORBITFED_KEY_FILE' });
    const garbled = setUp('garbled', { ipn: 900, keyFile: 'nodes.json', peers: [peer()] });
    await expect(create(garbled)).rejects.toMatchObject({ code: 'ORBITFED_KEY_FILE' });
  });

  it('starts its DTN node with the configured key and address, and stops it', async () => {
    const path = setUp('good', { ipn: 900, keyFile: 'scheduler.key', listen: ['/ip4/127.0.0.1/tcp/0'], peers: [peer()] });
    const service = await create(path);
    try {
      expect(service.dtnEndpoints()).toBeUndefined();
      await service.start();
      const endpoints = service.dtnEndpoints()!;
      expect(endpoints).toMatchObject({ node: 'ipn:900.0', reports: 'ipn:900.2', results: 'ipn:900.3', publicKeyHex: hex(ed25519KeyPairFromSeed(new Uint8Array(32).fill(0x11)).publicKey) });
      expect(endpoints.libp2p[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/);
      expect(service.dispatcher?.stats()).toMatchObject({ dispatched: 0 });
    } finally {
      await service.stop();
    }
    expect(service.dtnEndpoints()).toBeUndefined();
  });
});
