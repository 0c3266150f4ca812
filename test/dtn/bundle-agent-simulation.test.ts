// A day of store-and-forward between ground stations and satellites, in virtual time (issue 4,
// "Tests and numbers"): the contact plan is built by contact-plans/ from real TLEs and station
// sites (samples/elements.tle, samples/stations.yaml; provenance in samples/README.md), without
// terrestrial links, so stations reach each other only through satellites that carry bundles
// between passes. Every node runs a real BundleAgent on a real bundle store; the links between
// them open and close with the plan's contacts and carry bytes at the contact's rate and light
// time (dtn/simulated-network.ts). 1,000 bundles of 100 B … 200 KB go between random pairs of nodes
// at random times of the first 16 hours, and each must arrive:
// - exactly once at the application of its destination;
// - no earlier than CGR predicted when it was submitted: the earliest arrival over the plan for its
//   size, ignoring all other traffic (findRoutes without bookings), which no schedule can beat;
// - within one contact of what the source's CGR promised. The source routes the bundle at
//   submission with the volume it has already booked (the competition it knows of). "Within one
//   contact" of that route is: by the end of its contact into the destination, or, should the
//   bundle miss any one contact of it, by the end of the contact into the destination of the best
//   route on from the node where it missed it, at the time the route brought it there (CGR without
//   other traffic, for the bundle as forwarded: each hop adds its Previous Node block). So a bundle
//   may queue behind others on its contacts and may slip to its next opportunity at one hop, for
//   competition the source could not see (each relay books only its own traffic) or because it was
//   submitted so close to a contact's end that the bytes forwarding adds no longer fit; it may not
//   slip at two. The same bound is taken around the no-traffic route too, and the later of the two
//   applies (the source may have found room on a contact the no-traffic route passes by).
// The second test does the same while nodes crash (their links drop at once and their agent is
// dropped; the store file is what a killed process leaves, see agent-harness.ts) and restart later
// from their store; every bundle still arrives exactly once, no earlier than predicted.
// The test prints its seed; BUNDLE_AGENT_SIM_SEED=<seed> replays a run exactly (virtual time, one
// seeded generator, deterministic timers).
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import {
  bestRoute, buildContactPlan, ContactBookings, loadElementFile, loadStationsFile, searchPasses, type ContactPlan,
} from '../../contact-plans/index.ts';
import { FORWARDING_GROWTH_BYTES_MAX } from '../../dtn/bundle-agent.ts';
import { withContactsHidden } from '../../dtn/route-choice.ts';
import { AgentHarness, APP_SERVICE, EPOCH_MS } from './agent-harness.ts';

const BUNDLES = 1000;
const DAY_SEC = 86_400;
const SUBMIT_UNTIL_SEC = 16 * 3600;
const PAYLOAD_BYTES_MIN = 100;
const PAYLOAD_BYTES_MAX = 200_000;
/** The bundle's encoding adds at most this to its payload (primary block, hop count, CBOR heads). */
const ENCODING_BYTES_MAX = 100;
const LIFETIME_MS = 30 * 3600 * 1000;
/** Float rounding between plan seconds and Unix ms. */
const EPSILON_MS = 1e-3;
const SATELLITES = ['ISS (ZARYA)', 'SENTINEL-2A', 'NOAA 20 (JPSS-1)', 'LANDSAT 9'];
const STATIONS = ['SVALBARD', 'WALLOPS', 'HARTEBEESTHOEK'];
const SEED = Number(process.env.BUNDLE_AGENT_SIM_SEED ?? Math.floor(Math.random() * 2 ** 32));

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

interface Submission {
  readonly index: number;
  readonly from: number;
  readonly to: number;
  readonly atMs: number;
  readonly payloadBytes: number;
}

interface Prediction {
  readonly earliestMs: number;
  readonly latestMs: number;
  readonly hops: number;
}

interface Crash {
  readonly node: number;
  readonly atMs: number;
  readonly restartMs: number;
}

/** End of the contact into the destination (plus its light time) that a route ends with, plan seconds. */
function destinationContactEndSec(plan: ContactPlan, contacts: readonly number[]): number {
  const contact = plan.contacts[contacts[contacts.length - 1]!]!;
  return contact.endSec + contact.owltSec;
}

/**
 * The latest arrival "within one contact" of a route (its contacts, taken from `from` at `atMs`):
 * the end of its contact into the destination, or, for a slip at any one hop, the end of the
 * contact into the destination of the best route from that hop's node, at the time the route brings
 * the bundle there, once that hop's contact is taken away. Routes are for the bundle as forwarded
 * (each hop adds its Previous Node block, up to FORWARDING_GROWTH_BYTES_MAX), times as CGR computes
 * them with no other traffic. Undefined when a slip somewhere leaves no way on.
 */
function oneContactLateMs(plan: ContactPlan, to: number, atMs: number, sizeBytes: number, contacts: readonly number[]): number | undefined {
  const forwardedBytes = sizeBytes + FORWARDING_GROWTH_BYTES_MAX;
  const deadlineSec = (atMs + LIFETIME_MS - EPOCH_MS) / 1000;
  const bookings = new ContactBookings(plan);
  let latestSec = destinationContactEndSec(plan, contacts);
  let readySec = (atMs - EPOCH_MS) / 1000;
  for (const contact of contacts) {
    const c = plan.contacts[contact]!;
    const query = { from: c.from, to, atSec: readySec, sizeBytes: forwardedBytes, deadlineSec, bookings };
    const alternative = withContactsHidden(bookings, [contact], () => bestRoute(plan, query));
    if (alternative === undefined) return undefined;
    latestSec = Math.max(latestSec, destinationContactEndSec(plan, alternative.hops.map((h) => h.contact)));
    // SABR §3.2.6.8, as cgr.ts: the bundle's last byte reaches the next node at txStart + size / rate + OWLT.
    readySec = Math.max(readySec, c.startSec) + forwardedBytes / c.rateBytesPerSec + c.owltSec;
  }
  return EPOCH_MS + latestSec * 1000;
}

/** The earliest arrival with no other traffic (the bundle as submitted), and the latest within one contact of that route. */
function predict(plan: ContactPlan, from: number, to: number, atMs: number, sizeBytes: number): Prediction | undefined {
  const route = bestRoute(plan, { from, to, atSec: (atMs - EPOCH_MS) / 1000, sizeBytes, deadlineSec: (atMs + LIFETIME_MS - EPOCH_MS) / 1000 });
  if (route === undefined) return undefined;
  const latestMs = oneContactLateMs(plan, to, atMs, sizeBytes, route.hops.map((h) => h.contact));
  return latestMs === undefined ? undefined : { earliestMs: EPOCH_MS + route.arrivalSec * 1000, latestMs, hops: route.hops.length };
}

/** Seeded submissions, each with a route (and a route past each of its contacts) at the drawn time. */
function drawSubmissions(plan: ContactPlan, nodes: readonly number[], rng: () => number, isUp: (node: number, atMs: number) => boolean): Submission[] {
  const submissions: Submission[] = [];
  for (let draws = 0; submissions.length < BUNDLES; draws++) {
    expect(draws, 'too many draws without a route').toBeLessThan(20 * BUNDLES);
    const from = nodes[Math.floor(rng() * nodes.length)]!;
    const to = nodes[Math.floor(rng() * nodes.length)]!;
    const atMs = EPOCH_MS + Math.floor(rng() * SUBMIT_UNTIL_SEC * 1000);
    const payloadBytes = Math.round(Math.exp(Math.log(PAYLOAD_BYTES_MIN) + rng() * Math.log(PAYLOAD_BYTES_MAX / PAYLOAD_BYTES_MIN)));
    if (from === to || !isUp(from, atMs)) continue;
    // A bundle of this size or smaller has a route then: routability only grows as the size shrinks.
    if (predict(plan, from, to, atMs, payloadBytes + ENCODING_BYTES_MAX) === undefined) continue;
    submissions.push({ index: submissions.length, from, to, atMs, payloadBytes });
  }
  return submissions.sort((a, b) => a.atMs - b.atMs || a.index - b.index);
}

/** The payload names its submission, so that a delivery can be matched and checked. */
function payloadOf(submission: Submission): Uint8Array {
  const bytes = new Uint8Array(submission.payloadBytes);
  new DataView(bytes.buffer).setUint32(0, submission.index);
  for (let i = 4; i < bytes.length; i++) bytes[i] = (i * 131 + submission.index) & 0xff;
  return bytes;
}

interface RunResult {
  readonly harness: AgentHarness;
  readonly sent: Map<number, { readonly key: string; readonly sizeBytes: number; readonly prediction: Prediction; readonly submission: Submission }>;
  readonly wallMs: number;
}

describe('a day of bundles between ground stations and satellites (virtual time)', () => {
  let plan: ContactPlan;
  let nodes: number[];
  let harness: AgentHarness | undefined;

  beforeAll(async () => {
    const elements = (await loadElementFile(repo('samples/elements.tle'), { checksum: 'strict' })).elements.filter((e) => SATELLITES.includes(e.name));
    const stations = (await loadStationsFile(repo('samples/stations.yaml'))).filter((s) => STATIONS.includes(s.id));
    expect(elements).toHaveLength(SATELLITES.length);
    expect(stations).toHaveLength(STATIONS.length);
    const window = { startMs: EPOCH_MS, durationSec: DAY_SEC };
    const passes = await searchPasses(elements, stations, { window, defaultMinElevationDeg: 10 }, { threads: 1 });
    plan = buildContactPlan({ window, elements, stations, passes: passes.table });
    nodes = plan.nodes.map((n) => n.ipn);
    expect(plan.nodes.filter((n) => n.kind === 'ground')).toHaveLength(3);
    expect(plan.nodes.filter((n) => n.kind === 'satellite')).toHaveLength(4);
  });

  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  async function run(seed: number, crashes: readonly Crash[]): Promise<RunResult> {
    const startedMs = performance.now();
    const rng = seededRng(seed);
    const isUp = (node: number, atMs: number): boolean => !crashes.some((c) => c.node === node && atMs >= c.atMs && atMs < c.restartMs);
    const submissions = drawSubmissions(plan, nodes, rng, isUp);
    const h = new AgentHarness({ plan, nodes, keepLog: (event) => event === 'agent.contact-given-up' || event === 'agent.duplicate' || event === 'agent.routed' });
    harness = h;
    await h.open();
    await h.startAll();
    const sent: RunResult['sent'] = new Map();
    const events = [
      ...submissions.map((s) => ({ atMs: s.atMs, order: 1, act: async () => {
        const receipt = h.agent(s.from).send({ destination: `ipn:${s.to}.${APP_SERVICE}`, payload: payloadOf(s), lifetimeMs: LIFETIME_MS });
        const prediction = predict(plan, s.from, s.to, s.atMs, receipt.sizeBytes);
        expect(prediction, `submission ${s.index}`).toBeDefined();
        sent.set(s.index, { key: receipt.key, sizeBytes: receipt.sizeBytes, prediction: prediction!, submission: s });
      } })),
      ...crashes.map((c) => ({ atMs: c.atMs, order: 0, act: () => h.crash(c.node) })),
      ...crashes.map((c) => ({ atMs: c.restartMs, order: 0, act: async () => { await h.start(c.node); } })),
    ].sort((a, b) => a.atMs - b.atMs || a.order - b.order);
    for (const event of events) {
      await h.clock.runUntil(event.atMs);
      await event.act();
    }
    await h.clock.runUntil(EPOCH_MS + DAY_SEC * 1000);
    return { harness: h, sent, wallMs: performance.now() - startedMs };
  }

  function check(result: RunResult, seed: number, checkUpperBound: boolean): void {
    const { harness: h, sent } = result;
    const byKey = new Map([...sent.values()].map((s) => [s.key, s]));
    // The route each source chose at submission, with the volume it had booked.
    const chosen = new Map<string, { readonly atMs: number; readonly contacts: readonly number[] }>();
    for (const line of h.events('agent.routed')) {
      const key = line.fields.key as string;
      const s = byKey.get(key);
      if (s !== undefined && line.node === s.submission.from && !chosen.has(key)) chosen.set(key, { atMs: line.fields.atMs as number, contacts: line.fields.contacts as number[] });
    }
    const deliveries = new Map<string, number>();
    const late: string[] = [];
    const early: string[] = [];
    let onTime = 0;
    let latenessMsMax = 0;
    for (const r of h.received) {
      deliveries.set(r.key, (deliveries.get(r.key) ?? 0) + 1);
      const s = byKey.get(r.key);
      expect(s, `delivered ${r.key}, which nobody sent`).toBeDefined();
      expect(r.node).toBe(s!.submission.to);
      expect(new DataView(r.payload.buffer, r.payload.byteOffset).getUint32(0)).toBe(s!.submission.index);
      expect(r.payload.byteLength).toBe(s!.submission.payloadBytes);
      const { earliestMs } = s!.prediction;
      const route = chosen.get(r.key);
      const latestMs = Math.max(s!.prediction.latestMs,
        route === undefined ? -Infinity : oneContactLateMs(plan, s!.submission.to, route.atMs, s!.sizeBytes, route.contacts) ?? Infinity);
      if (r.atMs < earliestMs - EPSILON_MS) early.push(`${r.key}: ${r.atMs - earliestMs} ms before ${earliestMs}`);
      if (checkUpperBound && r.atMs > latestMs + EPSILON_MS) late.push(`${r.key} (${s!.prediction.hops} hops): ${(r.atMs - latestMs) / 1000} s after ${(latestMs - EPOCH_MS) / 1000} s`);
      if (r.atMs - earliestMs < 1000) onTime += 1;
      latenessMsMax = Math.max(latenessMsMax, r.atMs - earliestMs);
    }
    const missing = [...sent.values()].filter((s) => !deliveries.has(s.key)).map((s) => `${s.submission.index} ${s.key} ${s.submission.from}→${s.submission.to} at ${(s.submission.atMs - EPOCH_MS) / 1000} s`);
    const twice = [...deliveries].filter(([, n]) => n > 1).map(([key]) => key);
    const stats = h.network.stats();
    console.log(`bundle agent simulation, seed ${seed}: ${sent.size} bundles, ${h.received.length} deliveries, ${onTime} within 1 s of the prediction, `
      + `latest ${(latenessMsMax / 60_000).toFixed(1)} min after it; ${stats.transfersStarted} transfers, ${stats.transfersLost} lost, `
      + `${stats.acknowledgementsLost} acknowledgements lost, ${h.events('agent.duplicate').length} duplicates dropped, `
      + `${h.events('agent.contact-given-up').length} contacts given up; ${(result.wallMs / 1000).toFixed(1)} s wall (replay: BUNDLE_AGENT_SIM_SEED=${seed})`);
    expect(sent.size).toBe(BUNDLES);
    expect(missing, `seed ${seed}`).toEqual([]);
    expect(twice, `seed ${seed}`).toEqual([]);
    expect(early, `seed ${seed}`).toEqual([]);
    expect(late, `seed ${seed}`).toEqual([]);
  }

  it('delivers 1,000 bundles exactly once, each no earlier than predicted and within one contact of it', async () => {
    check(await run(SEED, []), SEED, true);
  });

  it('delivers them all exactly once while nodes crash and restart from their stores', async () => {
    const seed = (SEED ^ 0x5bd1e995) >>> 0;
    const rng = seededRng(seed);
    // A station and two satellites each die during one of their contacts, between hours 2 and 14,
    // and come back 15 to 60 minutes later.
    const victims = [nodes[Math.floor(rng() * 3)]!, ...[3, 4, 5, 6].sort(() => rng() - 0.5).slice(0, 2).map((i) => nodes[i]!)];
    const crashes: Crash[] = victims.map((node) => {
      const contacts = plan.contacts.filter((c) => (c.from === node || c.to === node) && c.startSec > 2 * 3600 && c.endSec < 14 * 3600);
      const contact = contacts[Math.floor(rng() * contacts.length)]!;
      const atMs = EPOCH_MS + ((contact.startSec + contact.endSec) / 2) * 1000;
      return { node, atMs, restartMs: atMs + (15 + rng() * 45) * 60_000 };
    });
    const result = await run(seed, crashes);
    console.log(`crashes: ${crashes.map((c) => `ipn:${c.node} at ${((c.atMs - EPOCH_MS) / 3_600_000).toFixed(2)} h for ${((c.restartMs - c.atMs) / 60_000).toFixed(0)} min`).join(', ')}`);
    check(result, seed, false);
  });
});
