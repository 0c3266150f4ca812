// The scheduler's dispatcher (scheduler/dispatcher.ts) in one process: the scheduler's own DTN node
// (ipn:900) on the terrestrial overlay, ground stations and a satellite as real BundleAgents on real
// stores, joined by dtn's SimulatedNetwork with links open only during the plan's contacts, in
// virtual time. The satellite plays the node: it reads its assignment, verifies the scheduler's
// signature, and answers with signed reports and a signed result through the passes of the plan; a
// station forwards the result to the scheduler as the tenant endpoint asks.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/index.ts';
import { ed25519KeyPairFromSeed, sha256 } from '../../consensus/index.ts';
import { BundleAgent, formatEid, parseEid } from '../../dtn/index.ts';
import { Dispatcher, OVERLAY_TAIL_SEC, withOverlayContacts } from '../../scheduler/dispatcher.ts';
import {
  decodeJobAssignment, decodeJobResult, encodeJobResult, encodeNodeReport, SERVICE_NUMBERS, signJobResult, signNodeReport, verifyJobAssignment,
  type JobAssignment, type NodeReport, type SignedJobAssignment,
} from '../../scheduler/job-assignment.ts';
import type { JobSpec } from '../../scheduler/job-spec.ts';
import { SimulationClock } from '../../hil/index.ts';
import { SATELLITE, SCHEDULER, startDispatcherNetwork, STATIONS } from './dispatcher-network.ts';
import { CHAIN_ID, startHarness, testPlan, type Harness } from './api-harness.ts';
import { HOUR_MS, jobSpec, T0_MS } from './job-fixtures.ts';

const SCHEDULER_SEED = new Uint8Array(32).fill(21);
const NODE_SEED = new Uint8Array(32).fill(22);
const OTHER_SEED = new Uint8Array(32).fill(23);
const schedulerPublicKey = ed25519KeyPairFromSeed(SCHEDULER_SEED).publicKey;
const nodePublicKey = ed25519KeyPairFromSeed(NODE_SEED).publicKey;

/** Runs on sat-a (ipn:100, passes over Munich at 1 h, Oslo at 1 h 40, Munich at 2 h 30): the only node that qualifies. */
const onSatA: JobSpec = jobSpec({
  input: { sizeBytes: 2_000, location: 'gs-munich' }, result: { sizeBytes: 10_000, deliverTo: [] },
  orbital: 'required', sovereignty: { atRest: ['EU'], downlink: { countries: ['DE'] } }, deadlineMs: T0_MS + 12 * HOUR_MS,
});

interface World {
  readonly clock: SimulationClock;
  readonly harness: Harness;
  readonly agents: Map<number, BundleAgent>;
  readonly dispatcher: Dispatcher;
  /** Assignments the satellite received, decoded. */
  readonly assignments: SignedJobAssignment[];
  close(): Promise<void>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

/** The node's behaviour when an assignment arrives: reports and a result, or nothing. */
type NodeBehaviour = (agent: BundleAgent, signed: SignedJobAssignment, clock: SimulationClock) => void;

function report(a: JobAssignment, sequence: number, kind: NodeReport['kind'], atMs: number, finished?: NodeReport['finished']): NodeReport {
  return { chainId: a.chainId, nodeId: a.nodeId, sequence, kind, jobId: a.jobId, assignmentId: a.assignmentId, atMs, reasonCode: '', reason: '', finished };
}

/** Accepts, starts, finishes with a 5-byte result sent to the first station. */
const honestNode: NodeBehaviour = (agent, signed, clock) => {
  const a = signed.assignment;
  const now = Math.floor(clock.now());
  const send = (r: NodeReport): void => {
    agent.send({ destination: a.reportTo, payload: encodeNodeReport(signNodeReport(r, NODE_SEED)), lifetimeMs: 86_400_000 });
  };
  const resultBytes = new TextEncoder().encode('NDVI!');
  send(report(a, 1, 'accepted', now));
  send(report(a, 2, 'started', now));
  send(report(a, 3, 'finished', now, {
    outcome: 'succeeded', exitCode: 0, usage: { cpuMs: 900, memoryPeakBytes: 1 << 20, wallMs: 1_000 },
    resultSizeBytes: resultBytes.length, resultSha256: sha256(resultBytes), resultSent: true,
  }));
  const result = signJobResult({ chainId: a.chainId, nodeId: a.nodeId, jobId: a.jobId, assignmentId: a.assignmentId, outcome: 'succeeded', tenantEndpoint: a.result.tenantEndpoint, atMs: now, bytes: resultBytes }, NODE_SEED);
  agent.send({ destination: a.result.stations[0]!, payload: encodeJobResult(result), lifetimeMs: 86_400_000 });
};

async function world(behaviour: NodeBehaviour = honestNode): Promise<World> {
  const clock = new SimulationClock(T0_MS);
  const harness = await startHarness({ clock: clock.virtual });
  const { overlay, agents } = await startDispatcherNetwork(clock, 'orbitfed-dispatcher-');
  const assignments: SignedJobAssignment[] = [];
  const satellite = agents.get(SATELLITE)!;
  satellite.register(SERVICE_NUMBERS.assignments, (delivery) => {
    const signed = decodeJobAssignment(delivery.payload);
    assignments.push(signed);
    behaviour(satellite, signed, clock);
  });
  // Stations deliver results to the tenant endpoint the result names (here: the scheduler).
  for (const station of STATIONS) {
    const agent = agents.get(station)!;
    agent.register(SERVICE_NUMBERS.results, (delivery) => {
      const { result } = decodeJobResult(delivery.payload);
      agent.send({ destination: result.tenantEndpoint, payload: delivery.payload, lifetimeMs: 86_400_000 });
    });
  }
  const keys = new Map([['sat-a', nodePublicKey]]);
  const dispatcher = new Dispatcher({
    lifecycle: harness.lifecycle, jobs: harness.store, agent: agents.get(SCHEDULER)!, clock, logger: silentLogger(), chainId: CHAIN_ID,
    schedulerKey: SCHEDULER_SEED, nodePublicKey: (id) => keys.get(id), overlay,
  });
  const w: World = {
    clock, harness, agents, dispatcher, assignments,
    close: async () => {
      dispatcher.stop();
      for (const agent of agents.values()) await agent.stop();
      await harness.close();
    },
  };
  worlds.push(w);
  return w;
}

async function placedJob(w: World, spec: JobSpec): Promise<string> {
  const outcome = await w.harness.lifecycle.submit('acme', spec);
  if (outcome.kind !== 'placed') throw new Error(`not placed: ${JSON.stringify(outcome.decision.explanation ?? outcome)}`);
  return outcome.job.id;
}

const stateOf = (w: World, jobId: string): string | undefined => w.harness.store.job(jobId)?.state;

describe('the dispatcher', () => {
  it("sends a placed job's assignment, signed by the scheduler, to its node, and marks the job dispatched once the bundle is stored", async () => {
    const w = await world(() => undefined);
    const jobId = await placedJob(w, onSatA);
    expect(w.harness.store.job(jobId)?.placement?.nodeId).toBe('sat-a');
    w.dispatcher.start();
    expect(stateOf(w, jobId)).toBe('dispatched');
    expect(w.agents.get(SCHEDULER)!.metrics().storedBundles).toBe(1);
    expect(w.harness.store.events(jobId, 10, undefined).items.map((e) => e.type)).toContain('dispatched');
    // Held at the scheduler and the station until sat-a's first pass (Munich, 1 h), then delivered.
    await w.clock.runUntil(T0_MS + 3_500_000);
    expect(w.assignments).toHaveLength(0);
    await w.clock.runUntil(T0_MS + 4_200_000);
    expect(w.assignments).toHaveLength(1);
    const signed = w.assignments[0]!;
    const a = signed.assignment;
    const job = w.harness.store.job(jobId)!;
    expect(verifyJobAssignment(signed, { chainId: CHAIN_ID, nodeId: 'sat-a', schedulerPublicKey, nowMs: w.clock.now(), clockSkewMsMax: 0 })).toEqual({ ok: true });
    expect(a).toMatchObject({
      jobId, assignmentId: job.placement!.ledgerJobId, ledgerJobId: job.placement!.ledgerJobId, nodeId: 'sat-a', deadlineMs: onSatA.deadlineMs,
      reportTo: `ipn:${SCHEDULER}.${SERVICE_NUMBERS.reports}`, escrowId: job.placement!.escrowId, currency: 'EUR',
      priceMinor: BigInt(job.placement!.priceMinor.amount),
    });
    expect(a.workload).toMatchObject({ runtime: 'process', command: onSatA.command, cpuMillicores: 1000, memoryBytes: onSatA.resources.memoryBytes, executionMs: 60_000 });
    expect(a.result.tenantEndpoint).toBe(`ipn:${SCHEDULER}.${SERVICE_NUMBERS.results}`);
    expect(parseEid(a.result.stations[0]!)).toMatchObject({ kind: 'ipn', serviceNumber: BigInt(SERVICE_NUMBERS.results) });
    // Dispatched once: later ticks send nothing more.
    expect(w.dispatcher.stats().dispatched).toBe(1);
  });

  it("turns the node's signed reports into running, and the result a station delivered into succeeded, naming the station", async () => {
    const w = await world();
    const jobId = await placedJob(w, onSatA);
    w.dispatcher.start();
    await w.clock.runUntil(T0_MS + 12 * HOUR_MS);
    const job = w.harness.store.job(jobId)!;
    expect(job.state).toBe('succeeded');
    const types = w.harness.store.events(jobId, 20, undefined).items.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['dispatched', 'running', 'succeeded']));
    const resultSha256 = Buffer.from(sha256(new TextEncoder().encode('NDVI!'))).toString('hex');
    expect(job.result).toMatchObject({ outcome: 'succeeded', exitCode: 0, resultSizeBytes: 5, resultSha256 });
    // Named by its registered id, as placements name stations (not the plan's name for it).
    const stationIds = w.harness.store.nodes().filter((n) => n.spec.kind === 'ground').map((n) => n.spec.id);
    expect(stationIds).toContain(job.result!.station);
    expect(testPlan().nodes.map((n) => n.id)).not.toContain(job.result!.station);
    expect(job.result!.deliveredAtMs).toBeGreaterThan(T0_MS + 3_600_000);
    expect(w.dispatcher.stats()).toMatchObject({ reports: 3, results: 1, refused: 0 });
    expect(w.harness.store.node('sat-a')?.lastHeardMs).toBeGreaterThan(T0_MS);
  });

  it('refuses reports and results that are malformed, signed by another key, about a job on another node or of another chain, changing nothing', async () => {
    let forged: SignedJobAssignment | undefined;
    const w = await world((_agent, signed) => {
      forged = signed;
    });
    const jobId = await placedJob(w, onSatA);
    w.dispatcher.start();
    await w.clock.runUntil(T0_MS + 4_200_000);
    const a = forged!.assignment;
    const now = Math.floor(w.clock.now());
    const station = w.agents.get(11)!;
    const toReports = formatEid(parseEid(a.reportTo));
    const bad: Uint8Array[] = [
      new Uint8Array([0x85, 0x01, 0x02]),
      new TextEncoder().encode('{"kind":"finished"}'),
      encodeNodeReport(signNodeReport(report(a, 7, 'started', now), OTHER_SEED)),
      encodeNodeReport(signNodeReport({ ...report(a, 8, 'started', now), nodeId: 'sat-b' }, NODE_SEED)),
      encodeNodeReport(signNodeReport({ ...report(a, 9, 'started', now), chainId: 'orbitfed-other' }, NODE_SEED)),
      encodeNodeReport(signNodeReport({ ...report(a, 10, 'started', now), jobId: 'job-unknown' }, NODE_SEED)),
    ];
    for (const payload of bad) station.send({ destination: toReports, payload, lifetimeMs: 3_600_000 });
    const forgedResult = signJobResult({ chainId: a.chainId, nodeId: a.nodeId, jobId: a.jobId, assignmentId: a.assignmentId, outcome: 'succeeded', tenantEndpoint: a.result.tenantEndpoint, atMs: now, bytes: new Uint8Array(3) }, OTHER_SEED);
    station.send({ destination: a.result.tenantEndpoint, payload: encodeJobResult(forgedResult), lifetimeMs: 3_600_000 });
    station.send({ destination: a.result.tenantEndpoint, payload: new Uint8Array(10), lifetimeMs: 3_600_000 });
    await w.clock.runUntil(now + 60_000);
    expect(stateOf(w, jobId)).toBe('dispatched');
    expect(w.dispatcher.stats()).toMatchObject({ refused: bad.length + 2, reports: 0, results: 0 });
    // A genuine report is still taken after the forgeries.
    station.send({ destination: toReports, payload: encodeNodeReport(signNodeReport(report(a, 11, 'started', now), NODE_SEED)), lifetimeMs: 3_600_000 });
    await w.clock.runUntil(now + 120_000);
    expect(stateOf(w, jobId)).toBe('running');
  });

  it('fails the job when its node refuses the assignment, with the reason', async () => {
    const w = await world((agent, signed, clock) => {
      const a = signed.assignment;
      const refusal: NodeReport = { ...report(a, 1, 'refused', Math.floor(clock.now())), reasonCode: 'runtime-unavailable', reason: 'no docker here' };
      agent.send({ destination: a.reportTo, payload: encodeNodeReport(signNodeReport(refusal, NODE_SEED)), lifetimeMs: 86_400_000 });
    });
    const jobId = await placedJob(w, onSatA);
    w.dispatcher.start();
    await w.clock.runUntil(T0_MS + 12 * HOUR_MS);
    const job = w.harness.store.job(jobId)!;
    expect(job.state).toBe('failed');
    expect(job.result?.message).toContain('runtime-unavailable: no docker here');
  });
});

describe('the overlay plan', () => {
  it('adds always-on contacts both ways between the node and each peer, leaving the plan’s own contacts as they were', () => {
    const base = testPlan();
    const plan = withOverlayContacts(base, SCHEDULER, [{ node: 10, rateBytesPerSec: 1000 }, { node: 11, rateBytesPerSec: 2000, owltSec: 0.2 }], 'scheduler');
    expect(plan.contacts.length).toBe(base.contacts.length + 4);
    expect(plan.node(SCHEDULER)).toEqual({ ipn: SCHEDULER, id: 'scheduler', kind: 'other' });
    const added = plan.contacts.filter((c) => c.from === SCHEDULER || c.to === SCHEDULER);
    const lastEndSec = Math.max(...base.contacts.map((c) => c.endSec));
    for (const c of added) {
      expect(c.startSec).toBe(0);
      expect(c.endSec).toBe(lastEndSec + OVERLAY_TAIL_SEC);
    }
    expect(added.find((c) => c.from === SCHEDULER && c.to === 11)).toMatchObject({ rateBytesPerSec: 2000, owltSec: 0.2 });
    expect(() => withOverlayContacts(base, SCHEDULER, [{ node: SCHEDULER, rateBytesPerSec: 1 }])).toThrow(expect.objectContaining({ code: 'ORBITFED_OVERLAY_PEER' }));
    expect(withOverlayContacts(base, SCHEDULER, [])).toBe(base);
  });
});
