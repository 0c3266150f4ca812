// Terrestrial jobs on a ground station (ground/terrestrial-executor.ts) through the running agent:
// the scheduler's node sends signed assignments over an always-on overlay link (dtn's
// SimulatedNetwork, on wall time: the workloads are real processes and containers), the station
// runs them with the process runtime, or Docker when an engine can run here (test/runtime/
// docker-setup.sh; skipped loudly otherwise), and answers with signed reports, the result (which it
// delivers to the tenant endpoint) and a signed receipt for its own receipt gateway.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, RealClock, silentLogger } from '../../common/index.ts';
import { ContactPlan } from '../../contact-plans/index.ts';
import { decodeSignedReceipt, ed25519KeyPairFromSeed, ed25519Signer, sha256, ValidatorClient, verifyReceipt } from '../../consensus/index.ts';
import { BundleAgent, SimulatedNetwork, simulatedPeerAddress, type PeerAddress } from '../../dtn/index.ts';
import { GroundAgent, ReceiptGateway, TerrestrialExecutor, TerrestrialJobStore } from '../../ground/index.ts';
import { createDockerRuntime, ProcessRuntime, type WorkloadRuntime } from '../../runtime/index.ts';
import {
  decodeJobResult, decodeNodeReport, encodeJobAssignment, SERVICE_NUMBERS, signJobAssignment, verifyJobResult, verifyNodeReport,
  withOverlayContacts, type AssignedRuntime, type JobAssignment, type NodeReport,
} from '../../scheduler/index.ts';

const clock = new RealClock();
/** GROUND_TEST_LOG=debug shows the station's log. */
const logger = process.env.GROUND_TEST_LOG === undefined ? silentLogger() : createLogger({ level: 'debug' });
const STATION = 11;
const SCHEDULER = 900;
const CHAIN = 'orbitfed-test';
const SCHEDULER_SEED = new Uint8Array(32).fill(31);
const STATION_SEED = new Uint8Array(32).fill(32);
const OTHER_SEED = new Uint8Array(32).fill(33);
const stationKey = ed25519Signer(STATION_SEED);
const IMAGE = 'orbitfed-busybox:test';
const run = promisify(execFile);
const SETUP = fileURLToPath(new URL('../runtime/docker-setup.sh', import.meta.url));

async function dockerReady(): Promise<string | undefined> {
  try {
    const { stdout } = await run('bash', [SETUP], { timeout: 240_000 });
    return /^ready /m.test(stdout) ? undefined : stdout.trim();
  } catch (error) {
    const e = error as { stdout?: string; message: string };
    return (e.stdout?.trim() || e.message).slice(0, 300);
  }
}
const dockerMissing = await dockerReady();
if (dockerMissing !== undefined) {
  console.warn(`\n${'!'.repeat(90)}\n!!! SKIPPING THE TERRESTRIAL DOCKER JOB TEST: no Docker engine can run here.\n!!! ${dockerMissing}\n${'!'.repeat(90)}\n`);
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface World {
  readonly scheduler: BundleAgent;
  readonly station: GroundAgent;
  readonly gateway: ReceiptGateway;
  readonly reports: NodeReport[];
  readonly results: Uint8Array[];
  readonly dir: string;
  send(payload: Uint8Array): void;
}

async function world(runtimes: AssignedRuntime[] = ['process'], options: { dir?: string; prepare?: (dir: string) => void } = {}): Promise<World> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'orbitfed-terrestrial-'));
  if (options.dir === undefined) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  options.prepare?.(dir);
  // The overlay is always on: contacts from 10 s ago to OVERLAY_TAIL_SEC after.
  const epochMs = Date.now() - 10_000;
  const plan = withOverlayContacts(new ContactPlan({ epochMs, nodes: [{ ipn: STATION, id: 'MUNICH', kind: 'ground' }], contacts: [] }), STATION, [{ node: SCHEDULER, rateBytesPerSec: 12_500_000 }]);
  const network = new SimulatedNetwork({ clock });
  network.addContactPlan(plan, epochMs);
  const peers = new Map<number, PeerAddress>([STATION, SCHEDULER].map((n) => [n, simulatedPeerAddress(n)]));
  const agentFor = (node: number): BundleAgent => new BundleAgent({
    nodeNumber: node, storePath: join(dir, `node-${node}.db`), store: { capacityBytes: 64 << 20, capacityBundles: 10_000 }, plan, peers,
    convergenceLayers: [network.convergenceLayer(node)], clock,
    log: (event, fields) => logger.debug({ node, ...fields }, event),
  });
  const scheduler = agentFor(SCHEDULER);
  await scheduler.start();
  cleanups.push(() => scheduler.stop());
  const reports: NodeReport[] = [];
  const results: Uint8Array[] = [];
  scheduler.register(SERVICE_NUMBERS.reports, (d) => {
    const signed = decodeNodeReport(d.payload);
    expect(verifyNodeReport(signed, stationKey.publicKey)).toBe(true);
    reports.push(signed.report);
  });
  scheduler.register(SERVICE_NUMBERS.results, (d) => void results.push(d.payload));
  const runtimeMap = new Map<AssignedRuntime, WorkloadRuntime>();
  for (const kind of runtimes) {
    const runtime = kind === 'process' ? new ProcessRuntime({ clock, cgroups: 'off' }) : await createDockerRuntime({ clock, owner: `test-ground-${process.pid}` });
    await runtime.start();
    cleanups.push(() => runtime.stop());
    runtimeMap.set(kind, runtime);
  }
  const stationAgent = agentFor(STATION);
  const executor = new TerrestrialExecutor({
    agent: stationAgent, runtimes: runtimeMap, storePath: join(dir, 'jobs.sqlite'), workRoot: join(dir, 'work'), chainId: CHAIN, nodeId: 'gs-munich',
    key: stationKey, keyEpoch: 0, schedulerPublicKey: ed25519KeyPairFromSeed(SCHEDULER_SEED).publicKey, clock, logger,
    defaultReportTo: `ipn:${SCHEDULER}.${SERVICE_NUMBERS.reports}`,
    limits: { heartbeatMs: 200 },
  });
  // No validator answers here: receipts wait, decoded and on disk, in the gateway's queue.
  const gateway = new ReceiptGateway({ queuePath: join(dir, 'receipts.sqlite'), validators: [new ValidatorClient('http://127.0.0.1:9')], clock, logger: silentLogger(), limits: { retryDelayMs: 60_000, retryDelayMaxMs: 60_000 } });
  const station = new GroundAgent({
    station: { id: 'MUNICH', name: 'Munich', latitudeDeg: 48, longitudeDeg: 11, altitudeM: 500, minElevationDeg: 10, horizonMask: undefined, country: 'DE', uplinkRateBytesPerSec: undefined, downlinkRateBytesPerSec: undefined, operator: 'dlr' },
    stationIpn: STATION, agent: stationAgent, overlay: [], clock, logger, resultsDir: join(dir, 'results'), executor, receiptGateway: gateway,
  });
  await station.start();
  cleanups.push(() => station.stop());
  return {
    scheduler, station, gateway, reports, results, dir,
    send: (payload) => void scheduler.send({ destination: `ipn:${STATION}.${SERVICE_NUMBERS.assignments}`, payload, lifetimeMs: 3_600_000 }),
  };
}

function assignment(id: string, overrides: Partial<JobAssignment> = {}, workload: Partial<JobAssignment['workload']> = {}): JobAssignment {
  const now = Date.now();
  return {
    chainId: CHAIN, assignmentId: `${id}.1`, jobId: id, ledgerJobId: `${id}.1`, nodeId: 'gs-munich',
    workload: {
      runtime: 'process', image: undefined, command: ['/bin/sh', '-c', 'cat input > result; printf " done" >> result; echo out'], env: { MODE: 'test' },
      cpuMillicores: 500, memoryBytes: 64 << 20, diskBytes: 0, gpus: 0, executionMs: 5_000, timeoutMs: 20_000, ...workload,
    },
    input: { kind: 'inline', bytes: new TextEncoder().encode('hello') },
    result: { stations: [`ipn:${STATION}.${SERVICE_NUMBERS.results}`], tenantEndpoint: `ipn:${SCHEDULER}.${SERVICE_NUMBERS.results}`, resultBytesMax: 1024 },
    reportTo: `ipn:${SCHEDULER}.${SERVICE_NUMBERS.reports}`, deadlineMs: now + 3_600_000, escrowId: `${id}.1`, priceMinor: 250n, currency: 'EUR',
    issuedAtMs: now, notAfterMs: now + 600_000, ...overrides,
  };
}

const signed = (a: JobAssignment, seed = SCHEDULER_SEED): Uint8Array => encodeJobAssignment(signJobAssignment(a, seed));
const kindsOf = (reports: NodeReport[], jobId: string): string[] => reports.filter((r) => r.jobId === jobId).map((r) => r.kind);

describe('terrestrial jobs on a ground station', () => {
  it('runs an assignment once with the process runtime and answers with signed reports, the result and a receipt', async () => {
    const w = await world();
    const bytes = signed(assignment('job-1'));
    w.send(bytes);
    w.send(bytes);
    await until('the finished report', () => kindsOf(w.reports, 'job-1').includes('finished'));
    await until('the result', () => w.results.length === 1);
    expect(kindsOf(w.reports, 'job-1').filter((k) => k !== 'heartbeat')).toEqual(['accepted', 'started', 'finished']);
    const finished = w.reports.find((r) => r.kind === 'finished')!;
    const resultBytes = new TextEncoder().encode('hello done');
    expect(finished.finished).toMatchObject({ outcome: 'succeeded', exitCode: 0, resultSizeBytes: resultBytes.length, resultSent: true });
    expect(Buffer.from(finished.finished!.resultSha256)).toEqual(Buffer.from(sha256(resultBytes)));
    const result = decodeJobResult(w.results[0]!);
    expect(verifyJobResult(result, stationKey.publicKey)).toBe(true);
    expect(result.result).toMatchObject({ jobId: 'job-1', assignmentId: 'job-1.1', nodeId: 'gs-munich', outcome: 'succeeded' });
    expect(new TextDecoder().decode(result.result.bytes)).toBe('hello done');
    await until('the receipt in the gateway', () => w.gateway.stats().received === 1);
    // The second copy of the assignment was not run: one started report, one receipt.
    await sleep(300);
    expect(kindsOf(w.reports, 'job-1').filter((k) => k === 'started')).toHaveLength(1);
    expect(w.gateway.stats()).toMatchObject({ received: 1, pending: 1 });
  });

  it('signs a receipt for the ledger job at the assignment\'s price, under the station\'s key', async () => {
    const w = await world();
    w.send(signed(assignment('job-2')));
    await until('the receipt', () => w.gateway.stats().received === 1);
    await w.station.stop();
    const { ReceiptQueue } = await import('../../ground/index.ts');
    const queue = ReceiptQueue.open(join(w.dir, 'receipts.sqlite'));
    cleanups.push(() => queue.close());
    const receipt = decodeSignedReceipt(queue.oldest(1)[0]!.bytes);
    expect(receipt.receipt).toMatchObject({ chainId: CHAIN, nodeId: 'gs-munich', keyEpoch: 0, jobId: 'job-2.1', amountMinor: 250n, currency: 'EUR', sequence: 1 });
    const verdict = verifyReceipt(receipt, {
      chainId: CHAIN, blockTimeMs: Date.now(), graceMs: 600_000, clockSkewMsMax: 300_000, validityMsMax: 7 * 86_400_000,
      keyOf: () => ({ kind: 'key', publicKey: stationKey.publicKey }),
    });
    expect(verdict).toEqual({ ok: true });
  });

  it('refuses assignments that are forged, for another node, expired, for a runtime it lacks, or unreadable, and says why', async () => {
    const w = await world();
    const now = Date.now();
    // A forger's reportTo is not believed: the refusal goes to the configured scheduler.
    w.send(signed({ ...assignment('job-aimed'), reportTo: `ipn:${STATION}.${SERVICE_NUMBERS.reports}` }, OTHER_SEED));
    w.send(signed(assignment('job-forged'), OTHER_SEED));
    w.send(signed(assignment('job-other', { nodeId: 'gs-oslo' })));
    w.send(signed(assignment('job-late', { issuedAtMs: now - 600_000, notAfterMs: now - 1_000 })));
    w.send(signed(assignment('job-docker', {}, { runtime: 'docker', image: IMAGE })));
    w.send(new Uint8Array([0x91, 0x01]));
    w.send(new TextEncoder().encode('{"assignment": true}'));
    await until('seven refusals', () => w.reports.filter((r) => r.kind === 'refused').length === 7);
    const reasons = new Map(w.reports.filter((r) => r.kind === 'refused').map((r) => [r.jobId === '' ? `unreadable-${r.sequence}` : r.jobId, r.reasonCode]));
    expect(reasons.get('job-forged')).toBe('bad-signature');
    expect(reasons.get('job-aimed')).toBe('bad-signature');
    expect(reasons.get('job-other')).toBe('wrong-node');
    expect(reasons.get('job-late')).toBe('expired');
    expect(reasons.get('job-docker')).toBe('runtime-unsupported');
    expect([...reasons].filter(([k]) => k.startsWith('unreadable')).map(([, v]) => v)).toEqual(['malformed', 'malformed']);
    expect(w.reports.some((r) => r.kind === 'started')).toBe(false);
  });

  it('ends a job that was running when the agent died as lost, and never runs it again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orbitfed-terrestrial-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const a = assignment('job-crashed');
    // What a killed agent leaves: the job accepted and marked running, nothing reported after.
    const store = TerrestrialJobStore.open(join(dir, 'jobs.sqlite'));
    store.accept(a.assignmentId, a.jobId, signed(a), a.notAfterMs, Date.now());
    store.markRunning(a.assignmentId);
    store.close();
    const w = await world(['process'], { dir });
    await until('the lost report', () => kindsOf(w.reports, 'job-crashed').includes('finished'));
    const finished = w.reports.find((r) => r.jobId === 'job-crashed')!;
    expect(finished).toMatchObject({ kind: 'finished', reasonCode: 'agent-restarted', finished: { outcome: 'lost', resultSent: false } });
    w.send(signed(a));
    await sleep(500);
    expect(kindsOf(w.reports, 'job-crashed')).toEqual(['finished']);
    expect(w.gateway.stats().received).toBe(0);
  });

  it.runIf(dockerMissing === undefined)('runs a Docker job end to end: input mounted, result from the container, receipt signed', async () => {
    const w = await world(['process', 'docker']);
    w.send(signed(assignment('job-docker', {}, { runtime: 'docker', image: IMAGE, command: ['sh', '-c', 'cat input > result; echo " from docker" >> result'] })));
    await until('the finished report', () => kindsOf(w.reports, 'job-docker').includes('finished'), 120_000);
    const finished = w.reports.find((r) => r.jobId === 'job-docker' && r.kind === 'finished')!;
    expect(finished.finished?.outcome).toBe('succeeded');
    await until('the result', () => w.results.length === 1);
    expect(new TextDecoder().decode(decodeJobResult(w.results[0]!).result.bytes)).toBe('hello from docker\n');
    await until('the receipt', () => w.gateway.stats().received === 1);
  }, 180_000);
});
