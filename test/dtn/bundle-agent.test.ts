// The bundle agent on small hand-made plans, on simulated links in virtual time: when it sends, how
// fast, what it does when a link drops or a contact never happens, fragmentation and reassembly,
// what it refuses, status reports, crashes, plan replacement and the plan's time base. The agents,
// stores, codec and routing are the real ones; only the links are simulated
// (dtn/simulated-network.ts).
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { OrbitfedError, unixMs } from '../../common/index.ts';
import { ContactPlan, type Contact } from '../../contact-plans/index.ts';
import { BundleAgent } from '../../dtn/bundle-agent.ts';
import { makeBundle } from '../../dtn/bundle.ts';
import { encodeBundle } from '../../dtn/bundle-codec.ts';
import type { BundleHandler, ConvergenceLayer } from '../../dtn/convergence-layer.ts';
import { dtnTimeFromUnixMs } from '../../dtn/dtn-time.ts';
import { formatEid, ipnEid } from '../../dtn/eid.ts';
import { AgentHarness, APP_SERVICE, EPOCH_MS, scratchDirectory, type HarnessOptions } from './agent-harness.ts';
import { SimulationClock } from '../../hil/index.ts';
import { sampleBundle } from './sample-bundles.ts';

type ContactSpec = readonly [from: number, to: number, startSec: number, endSec: number, rateBytesPerSec: number, owltSec?: number];

/** A plan from [from, to, start, end, rate, owlt] rows, each contact in both directions; `null` epoch: a relative plan. */
function planOf(rows: readonly ContactSpec[], epochMs: number | null = EPOCH_MS): ContactPlan {
  const contacts: Contact[] = rows.flatMap(([from, to, startSec, endSec, rateBytesPerSec, owltSec = 0.01]) => [
    { from, to, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 },
    { from: to, to: from, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 },
  ]);
  return new ContactPlan({ epochMs: epochMs ?? undefined, nodes: [], contacts });
}

const payloadOf = (bytes: number, seed: number): Uint8Array => Uint8Array.from({ length: bytes }, (_, i) => (i * 31 + seed) & 0xff);
const at = (seconds: number): number => EPOCH_MS + seconds * 1000;
const app = (node: number): string => `ipn:${node}.${APP_SERVICE}`;
const HOUR_MS = 3_600_000;

let harness: AgentHarness | undefined;
const cleanups: (() => Promise<void>)[] = [];

async function federation(plan: ContactPlan, nodes: readonly number[], options: Partial<HarnessOptions> = {}): Promise<AgentHarness> {
  harness = new AgentHarness({ plan, nodes, ...options });
  await harness.open();
  return harness;
}

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A convergence layer that only hands the agent's receive handler to the test. */
class CapturingCl implements ConvergenceLayer {
  readonly name = 'capture';
  handler: BundleHandler | undefined;

  async start(handler: BundleHandler): Promise<void> {
    this.handler = handler;
  }

  async stop(): Promise<void> {}

  async send(): Promise<void> {
    throw new OrbitfedError('ORBITFED_CL_DISCONNECTED', 'this CL only receives');
  }
}

describe('BundleAgent: forwarding on the contact plan', () => {
  it('sends only while the first-hop contact is open, one bundle after another at the contact rate', async () => {
    const h = await federation(planOf([[1, 2, 100, 200, 1000, 0.01]]), [1, 2]);
    await h.startAll();
    const early = [4000, 3000, 5000].map((bytes, i) => h.agent(1).send({ destination: app(2), payload: payloadOf(bytes, i), lifetimeMs: HOUR_MS }).key);
    await h.clock.runUntil(at(150));
    const late = h.agent(1).send({ destination: app(2), payload: payloadOf(2000, 9), lifetimeMs: HOUR_MS }).key;
    await h.clock.runUntil(at(300));

    expect(h.received.map((r) => r.key)).toEqual([...early, late]);
    // Each bundle leaves when the contact is open and the one before it has finished at 1,000 B/s
    // (1 byte per ms), and arrives one light time (10 ms) after its last byte.
    let busyUntilMs = at(100);
    for (const r of h.received.slice(0, 3)) {
      busyUntilMs += r.wireBytes;
      expect(r.atMs).toBeCloseTo(busyUntilMs + 10, 6);
    }
    const last = h.received[3]!;
    expect(last.atMs).toBeCloseTo(at(150) + last.wireBytes + 10, 6);
  });

  it('puts the bundle in flight back when the link drops mid-contact, and sends it again once the link is back', async () => {
    const h = await federation(planOf([[1, 2, 0, 1000, 1000]]), [1, 2]);
    await h.startAll();
    const keys = Array.from({ length: 10 }, (_, i) => h.agent(1).send({ destination: app(2), payload: payloadOf(10_000, i), lifetimeMs: HOUR_MS }).key);
    await h.clock.runUntil(at(35));
    h.network.interrupt(1, 2, at(38));
    await h.clock.runUntil(at(400));

    expect(h.received.map((r) => r.key).sort()).toEqual([...keys].sort());
    expect(h.received.filter((r) => r.atMs >= at(35) && r.atMs < at(38))).toEqual([]);
    expect(h.network.stats().transfersLost).toBe(1);
    expect(h.events('agent.send-failed', 1)).toHaveLength(1);
  });

  it('sends again a bundle whose acknowledgement was lost with the link, and the destination delivers it once', async () => {
    const h = await federation(planOf([[1, 2, 0, 1000, 1000, 0.5]]), [1, 2]);
    await h.startAll();
    const { key } = h.agent(1).send({ destination: app(2), payload: payloadOf(2000, 1), lifetimeMs: HOUR_MS });
    await h.clock.runUntil(at(0.001));
    const sending = h.events('agent.sending', 1)[0]!.fields;
    // 1,000 B/s is a byte per ms: the last byte leaves at txEnd, is stored at node 2 half a second
    // later, and its acknowledgement would be back half a second after that; the link drops between.
    const txEndMs = (sending.atMs as number) + (sending.sizeBytes as number);
    await h.clock.runUntil(txEndMs + 750);
    expect(h.received.map((r) => r.key)).toEqual([key]);
    h.network.interrupt(1, 2, txEndMs + 2000);
    await h.clock.runUntil(at(100));

    expect(h.received.map((r) => r.key)).toEqual([key]);
    expect(h.network.stats().acknowledgementsLost).toBe(1);
    expect(h.events('agent.duplicate', 2)).toHaveLength(1);
    expect(h.agent(1).metrics()).toMatchObject({ bundlesForwarded: 1, storedBundles: 0 });
  });

  it('gives up a contact whose peer never appears, and routes its bundles another way', async () => {
    const plan = planOf([[1, 2, 100, 200, 10_000], [1, 3, 300, 400, 10_000], [3, 2, 500, 600, 10_000]]);
    const h = await federation(plan, [1, 2, 3]);
    await h.start(1);
    await h.start(3);
    const keys = Array.from({ length: 3 }, (_, i) => h.agent(1).send({ destination: app(2), payload: payloadOf(2000, i), lifetimeMs: HOUR_MS }).key);
    await h.clock.runUntil(at(1));
    expect(h.events('agent.routed', 1).map((e) => e.fields.neighbour)).toEqual([2, 2, 2]);
    await h.clock.runUntil(at(250));
    await h.start(2);
    await h.clock.runUntil(at(700));

    expect(h.events('agent.contact-given-up', 1)).toHaveLength(1);
    expect(h.received.map((r) => r.key).sort()).toEqual([...keys].sort());
    for (const r of h.received) expect(r.atMs).toBeGreaterThan(at(500));
    expect(h.events('agent.forwarded', 1).every((e) => e.fields.neighbour === 3)).toBe(true);
  });

  it('does not send a bundle back to the node it came from while another route exists', async () => {
    // Node 1's contact to 3 is full of its own bundles, so it sends the last one through 2. Node 2
    // books only its own traffic: it sees the way back through 1 as the earliest, and without
    // excluding the sender would bounce the bundle until its hop limit deletes it.
    const plan = planOf([[1, 2, 0, 100, 10_000], [1, 3, 200, 210, 1000], [2, 3, 1000, 1100, 1000]]);
    const h = await federation(plan, [1, 2, 3]);
    await h.startAll();
    const fillers = [0, 1].map((i) => h.agent(1).send({ destination: app(3), payload: payloadOf(4_500, i), lifetimeMs: HOUR_MS }).key);
    const { key } = h.agent(1).send({ destination: app(3), payload: payloadOf(2_000, 9), lifetimeMs: HOUR_MS });
    await h.clock.runUntil(at(1200));

    expect(h.received.map((r) => r.key).sort()).toEqual([...fillers, key].sort());
    expect(h.received.find((r) => r.key === key)!.atMs).toBeGreaterThan(at(1000));
    expect(h.events('agent.sending').filter((e) => e.fields.key === key).map((e) => [e.node, e.fields.neighbour])).toEqual([[1, 2], [2, 3]]);
  });

  it('fragments a bundle no contact can carry whole, and the destination delivers it once, reassembled', async () => {
    const plan = planOf([[1, 2, 100, 110, 1000], [1, 2, 200, 210, 1000], [1, 2, 300, 310, 1000]]);
    const h = await federation(plan, [1, 2]);
    await h.startAll();
    const payload = payloadOf(25_000, 7);
    const { key } = h.agent(1).send({ destination: app(2), payload, lifetimeMs: HOUR_MS });
    const forbidden = h.agent(1).send({ destination: app(2), payload: payloadOf(25_000, 8), lifetimeMs: HOUR_MS, mustNotFragment: true });
    await h.clock.runUntil(at(400));

    expect(h.received.map((r) => r.key)).toEqual([key]);
    expect(h.received[0]!.payload).toEqual(payload);
    expect(h.received[0]!.atMs).toBeGreaterThan(at(300));
    expect(h.agent(1).metrics().fragmentsCreated).toBe(3);
    expect(h.agent(2).metrics().bundlesReassembled).toBe(1);
    expect(h.events('agent.unroutable', 1).map((e) => e.fields.key)).toContain(forbidden.key);
  });

  it('keeps every bundle of a node killed mid-contact and delivers each exactly once after its restart', async () => {
    const h = await federation(planOf([[1, 2, 0, 1000, 1000]]), [1, 2]);
    await h.startAll();
    const keys = Array.from({ length: 20 }, (_, i) => h.agent(1).send({ destination: app(2), payload: payloadOf(5_000, i), lifetimeMs: HOUR_MS }).key);
    await h.clock.runUntil(at(31.5));
    await h.crash(2);
    await h.clock.runUntil(at(60));
    await h.start(2);
    await h.clock.runUntil(at(80.2));
    await h.crash(1);
    await h.clock.runUntil(at(90));
    await h.start(1);
    await h.clock.runUntil(at(600));

    expect(h.received.map((r) => r.key).sort()).toEqual([...keys].sort());
    expect(h.agent(1).metrics().storedBundles).toBe(0);
  });

  it('sends expedited bundles before normal and bulk ones waiting for the same contact', async () => {
    const h = await federation(planOf([[1, 2, 100, 200, 1000]]), [1, 2]);
    await h.startAll();
    const send = (priority: 0 | 1 | 2, seed: number) => h.agent(1).send({ destination: app(2), payload: payloadOf(1000, seed), lifetimeMs: HOUR_MS, priority }).key;
    const bulk = send(0, 1);
    const normal = send(1, 2);
    const expedited = send(2, 3);
    await h.clock.runUntil(at(300));
    expect(h.received.map((r) => r.key)).toEqual([expedited, normal, bulk]);
  });

  it('holds at most workingSetBundlesMax bundles in memory and takes the rest from the store as room frees', async () => {
    const h = await federation(planOf([[1, 2, 100, 200, 10_000]]), [1, 2], { limits: { workingSetBundlesMax: 4 } });
    await h.startAll();
    const keys = Array.from({ length: 15 }, (_, i) => h.agent(1).send({ destination: app(2), payload: payloadOf(1000, i), lifetimeMs: HOUR_MS }).key);
    await h.clock.runUntil(at(1));
    expect(h.agent(1).metrics()).toMatchObject({ workingSetBundles: 4, storedBundles: 15 });
    await h.clock.runUntil(at(300));
    expect(h.received.map((r) => r.key).sort()).toEqual([...keys].sort());
  });

  it('replaces its plan at once and routes what waits on the new one', async () => {
    const planA = planOf([[1, 2, 1000, 1100, 1000]]);
    const planB = planOf([[1, 2, 100, 200, 1000]]);
    const h = await federation(planA, [1, 2], { linksFromPlan: false });
    h.network.addContactPlan(planA, EPOCH_MS);
    h.network.addContactPlan(planB, EPOCH_MS);
    await h.startAll();
    const { key } = h.agent(1).send({ destination: app(2), payload: payloadOf(1000, 1), lifetimeMs: HOUR_MS });
    await h.clock.runUntil(at(10));
    for (const agent of h.agents.values()) agent.setPlan(planB);
    await h.clock.runUntil(at(300));

    expect(h.received.map((r) => [r.key, r.atMs < at(200)])).toEqual([[key, true]]);
  });
});

describe('BundleAgent: receiving', () => {
  async function capturingAgent(): Promise<{ agent: BundleAgent; handler: BundleHandler; clock: SimulationClock }> {
    const dir = await scratchDirectory('orbitfed-agent-receive-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const clock = new SimulationClock(EPOCH_MS);
    const cl = new CapturingCl();
    const agent = new BundleAgent({
      nodeNumber: 2,
      storePath: join(dir, 'node-2.db'),
      store: { capacityBytes: 1024 * 1024, capacityBundles: 100 },
      plan: planOf([[1, 2, 0, 100, 1000]]),
      peers: new Map(),
      convergenceLayers: [cl],
      clock,
    });
    await agent.start();
    cleanups.push(() => agent.stop());
    return { agent, handler: cl.handler!, clock };
  }

  it('refuses garbage with a verdict naming the error, and accepts a duplicate without delivering it twice', async () => {
    const { agent, handler, clock } = await capturingAgent();
    const delivered: string[] = [];
    agent.register(APP_SERVICE, (d) => delivered.push(d.key));
    const bundle = makeBundle({ destination: ipnEid(2, 1), source: ipnEid(1, 0), creation: { dtnTimeMs: dtnTimeFromUnixMs(unixMs(EPOCH_MS)), sequence: 1n }, lifetimeMs: HOUR_MS, payload: payloadOf(100, 1) });
    const from = { cl: 'capture', peerId: 'node 1' };

    expect(await handler(Uint8Array.of(0x9f, 0xff), from)).toEqual({ accepted: false, reason: expect.stringMatching(/^ORBITFED_BUNDLE_STRUCTURE: /) });
    expect(await handler(new TextEncoder().encode('not a bundle'), from)).toMatchObject({ accepted: false });
    expect(await handler(encodeBundle(bundle), from)).toEqual({ accepted: true });
    expect(await handler(encodeBundle(bundle), from)).toEqual({ accepted: true });
    await clock.runUntil(EPOCH_MS + 1000);
    expect(await handler(encodeBundle(bundle), from)).toEqual({ accepted: true });

    expect(delivered).toHaveLength(1);
    expect(agent.metrics()).toMatchObject({ bundlesReceived: 1, duplicatesReceived: 2, bundlesRefused: 2, bundlesDelivered: 1, storedBundles: 0 });
  });

  it('accepts an expired bundle, so that the peer stops resending it, and deletes it', async () => {
    const { agent, handler } = await capturingAgent();
    // sampleBundle was created 2025-10-28 with a lifetime of one day.
    expect(await handler(encodeBundle(sampleBundle()), { cl: 'capture' })).toEqual({ accepted: true });
    expect(agent.metrics()).toMatchObject({ bundlesReceived: 0, bundlesDeleted: 1, storedBundles: 0 });
  });
});

describe('BundleAgent: status reports', () => {
  it('reports delivery to the report-to endpoint when the bundle asks for it', async () => {
    const h = await federation(planOf([[1, 2, 100, 200, 1000]]), [1, 2]);
    await h.startAll();
    const { key } = h.agent(1).send({ destination: app(2), payload: payloadOf(500, 1), lifetimeMs: HOUR_MS, reportDelivery: true });
    await h.clock.runUntil(at(300));

    expect(h.received.map((r) => r.key)).toEqual([key]);
    expect(h.statusReports).toHaveLength(1);
    const { node, report, atMs } = h.statusReports[0]!;
    expect(node).toBe(1);
    expect(report).toMatchObject({ delivered: { asserted: true }, deleted: { asserted: false }, reasonCode: 0 });
    expect(formatEid(report.subjectSource)).toBe('ipn:1.0');
    expect(`ipn:1.0 ${report.subjectCreation.dtnTimeMs} ${report.subjectCreation.sequence}`).toBe(key);
    expect(atMs).toBeGreaterThan(h.received[0]!.atMs);
  });

  it('deletes a bundle whose lifetime ends before any contact, and reports its deletion when asked', async () => {
    const h = await federation(planOf([[1, 2, 100, 200, 1000]]), [1, 2]);
    await h.startAll();
    const { key } = h.agent(1).send({ destination: app(2), payload: payloadOf(500, 1), lifetimeMs: 50_000, reportDeletion: true });
    await h.clock.runUntil(at(300));

    expect(h.received).toEqual([]);
    expect(h.agent(1).metrics()).toMatchObject({ bundlesExpired: 1, storedBundles: 0 });
    expect(h.statusReports.map((s) => [s.node, s.report.deleted.asserted, s.report.reasonCode])).toEqual([[1, true, 1]]);
    expect(h.events('agent.expired', 1).map((e) => e.fields.key)).toEqual([key]);
  });
});

describe('BundleAgent: identity and time base', () => {
  it('never repeats a creation timestamp across a restart at the same instant', async () => {
    const h = await federation(planOf([[1, 2, 100, 200, 1000]]), [1, 2]);
    await h.startAll();
    const first = h.agent(1).send({ destination: app(2), payload: payloadOf(100, 1), lifetimeMs: HOUR_MS }).key;
    await h.crash(1);
    await h.start(1);
    const second = h.agent(1).send({ destination: app(2), payload: payloadOf(100, 2), lifetimeMs: HOUR_MS }).key;
    await h.clock.runUntil(at(300));

    expect(second).not.toBe(first);
    expect(h.received.map((r) => r.key).sort()).toEqual([first, second].sort());
  });

  it('registers an endpoint of its own node once, by service number or EID, and never the administrative one', async () => {
    const h = await federation(planOf([[1, 2, 100, 200, 1000]]), [1, 2]);
    const agent = await h.start(1);
    const unregister = agent.register('ipn:1.7', () => {});
    expect(() => agent.register(7, () => {})).toThrow(expect.objectContaining({ code: 'ORBITFED_AGENT_ENDPOINT' }));
    expect(() => agent.register(0, () => {})).toThrow(expect.objectContaining({ code: 'ORBITFED_AGENT_ENDPOINT' }));
    expect(() => agent.register('ipn:2.7', () => {})).toThrow(expect.objectContaining({ code: 'ORBITFED_AGENT_ENDPOINT' }));
    unregister();
    agent.register(7n, () => {});
  });

  it('needs the epoch of a relative plan, and refuses one that contradicts an absolute plan', async () => {
    const dir = await scratchDirectory('orbitfed-agent-epoch-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const options = {
      nodeNumber: 1,
      storePath: join(dir, 'node-1.db'),
      store: { capacityBytes: 1024 * 1024, capacityBundles: 100 },
      peers: new Map(),
      convergenceLayers: [],
      clock: new SimulationClock(EPOCH_MS),
    };
    const relative = planOf([[1, 2, 100, 200, 1000]], null);
    const absolute = planOf([[1, 2, 100, 200, 1000]]);
    expect(() => new BundleAgent({ ...options, plan: relative })).toThrow(expect.objectContaining({ code: 'ORBITFED_AGENT_PLAN_EPOCH' }));
    expect(() => new BundleAgent({ ...options, plan: absolute, planEpochMs: EPOCH_MS + 1 })).toThrow(expect.objectContaining({ code: 'ORBITFED_AGENT_PLAN_EPOCH' }));
    const agent = new BundleAgent({ ...options, plan: relative, planEpochMs: EPOCH_MS });
    expect(() => agent.setPlan(relative)).toThrow(expect.objectContaining({ code: 'ORBITFED_AGENT_PLAN_EPOCH' }));
    agent.setPlan(absolute);
  });
});
