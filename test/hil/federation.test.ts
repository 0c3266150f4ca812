// A small federation of real processes, as the demo and the scenarios run one: one validator, the
// scheduler, the embedded MQTT broker, one ground station (Kiruna) and one satellite (NOAA 20) with
// their agents, and the link emulator between them, all on one plan time line running 600× faster.
// Seed-free: the plan comes from the bundled element snapshot, the time base from the clock.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock, silentLogger } from '../../common/index.ts';
import { DEMO_DATA, Federation, type FederationSpec, type ProcessExit } from '../../hil/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'orbitfed-federation-test-'));
const unexpected: ProcessExit[] = [];
let federation: Federation;

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const NODES = `
- { id: kiruna, kind: ground, ipn: 2, operator: estrack, architecture: amd64, runtimes: [process],
    resources: { cpu: 8, memoryBytes: 34359738368, diskBytes: 1000000000000, gpu: 0 },
    pricePerHourMinor: { currency: EUR, cpu: 35, memoryGiB: 2, gpu: 0 },
    jurisdiction: { country: SE, operatorJurisdiction: SE }, attestations: [], blackouts: [] }
- { id: noaa-20, kind: orbital, ipn: 1000043013, noradId: 43013, operator: noaa, architecture: arm64, runtimes: [process],
    resources: { cpu: 2, memoryBytes: 4294967296, diskBytes: 64000000000, gpu: 0 },
    pricePerHourMinor: { currency: EUR, cpu: 800, memoryGiB: 50, gpu: 0 },
    jurisdiction: { registry: US, operatorJurisdiction: US }, attestations: [], blackouts: [] }
`;

const PLAN_START_MS = Date.UTC(2026, 5, 14, 6);

function spec(nodesPath: string): FederationSpec {
  return {
    name: 'test', elementsPath: DEMO_DATA.elementsPath, stationsPath: DEMO_DATA.stationsPath, nodesPath,
    planStartMs: PLAN_START_MS, planHours: 6, timeScale: 600, validators: 1, chainId: 'orbitfed-fed-test', currency: 'EUR',
    tenants: [{ id: 'acme', roles: ['jobs'] }, { id: 'ops', roles: ['admin'] }], tenantBalanceMinor: 100_000n,
    groundMeshBytesPerSec: 125_000_000, schedulerPortPreferred: 0, mqttPortPreferred: 0, agents: true, logLevel: 'info',
  };
}

beforeAll(async () => {
  const nodesPath = join(scratch, 'nodes.yaml');
  writeFileSync(nodesPath, NODES);
  federation = await Federation.prepare({
    spec: spec(nodesPath), dir: join(scratch, 'federation'), clock: new RealClock(), logger: silentLogger(),
    onUnexpectedExit: (exit) => unexpected.push(exit), stopGraceMs: 10_000,
  });
  await federation.start();
}, 180_000);

afterAll(async () => {
  await federation?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a federation of real processes on one plan time line', () => {
  it('starts every part, each in its own directory with its own log, and all serve', () => {
    expect(federation.processes.map((p) => p.name)).toEqual(['validator-0', 'scheduler', 'link-emulator', 'ground-kiruna', 'orbital-noaa-20']);
    expect(federation.processes.every((p) => p.state === 'running' && alive(p.pid))).toBe(true);
    expect(new Set(federation.processes.map((p) => p.spec.cwd)).size).toBe(5);
    expect(federation.agentFiles?.links).toBe(2);
  });

  it('runs the validators, the scheduler and the link emulator on plan time, not on the wall clock', async () => {
    const plan = federation.planClock();
    const status = await federation.validatorClient(0).status();
    const blockTimeMs = status.lastCommitted!.timeMs;
    // The block was made a moment ago in plan time (at 600×, a few wall seconds are tens of plan minutes).
    expect(blockTimeMs).toBeGreaterThanOrEqual(PLAN_START_MS);
    expect(blockTimeMs).toBeLessThanOrEqual(plan.now());
    const state = (await (await fetch(`${federation.linkControlUrl}/state`)).json()) as { planSec: number; timeScale: number };
    const planEpochMs = federation.inputs.plan.epochMs!;
    expect(Math.abs(planEpochMs + state.planSec * 1000 - plan.now())).toBeLessThan(600 * 2_000);

    const key = federation.layout.apiKeys.get('acme')!;
    const answer = await fetch(`${federation.layout.schedulerUrl}/v1/jobs`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'on-plan-time', command: ['sh', '-c', 'echo hi'], runtime: 'process', resources: { cpu: 0.5, memoryBytes: 64 * 1024 * 1024 }, executionMs: 60_000,
        input: { sizeBytes: 1000, location: 'kiruna' }, result: { sizeBytes: 100, deliverTo: [] }, deadlineMs: PLAN_START_MS + 5 * 3_600_000,
        maxPriceMinor: { currency: 'EUR', amount: 5000 }, orbital: 'required',
      }),
    });
    const job = (await answer.json()) as { state: string; placement: { nodeId: string; startMs: number } };
    expect(answer.status, JSON.stringify(job)).toBe(201);
    expect(job.placement.nodeId).toBe('noaa-20');
    expect(job.placement.startMs).toBeGreaterThan(PLAN_START_MS);
  });

  it('has the ground agent online on the embedded broker', async () => {
    const client = await connectAsync(federation.mqtt.url, { clientId: 'federation-test', reconnectPeriod: 0 });
    try {
      const status = new Promise<Record<string, unknown>>((resolve) => client.on('message', (_topic, payload) => resolve(JSON.parse(payload.toString()) as Record<string, unknown>)));
      await client.subscribeAsync('orbitfed/KIRUNA/status', { qos: 1 });
      expect(await status).toMatchObject({ station: 'KIRUNA', state: 'online' });
    } finally {
      await client.endAsync();
    }
  });

  it('kills and restarts one process as asked, without calling it unexpected', async () => {
    const before = federation.process('orbital-noaa-20').pid;
    const exit = await federation.kill('orbital-noaa-20');
    expect(exit).toMatchObject({ name: 'orbital-noaa-20', signal: 'SIGKILL', expected: true });
    expect(alive(before)).toBe(false);
    await federation.restart('orbital-noaa-20');
    expect(alive(federation.process('orbital-noaa-20').pid)).toBe(true);
    expect(federation.process('orbital-noaa-20').starts).toBe(2);
    expect(unexpected).toEqual([]);
  }, 120_000);

  it('reports a process that dies by itself, with the end of its log', async () => {
    const emulator = federation.process('link-emulator');
    const exited = new Promise<void>((resolve) => {
      const poll = (): void => { if (unexpected.length > 0) resolve(); else setTimeout(poll, 20); };
      poll();
    });
    process.kill(emulator.pid!, 'SIGKILL');
    await exited;
    expect(unexpected[0]).toMatchObject({ name: 'link-emulator', signal: 'SIGKILL', expected: false });
    expect(unexpected[0]!.logTail).toMatch(/link emulator/);
    expect(() => federation.process('nonexistent')).toThrow(/no process named nonexistent/);
  });

  it('stops every process and the broker', async () => {
    const pids = federation.processes.map((p) => p.pid);
    await federation.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(federation.state).toBe('stopped');
    expect(() => federation.mqtt).toThrow(/not running/);
  }, 60_000);
});
