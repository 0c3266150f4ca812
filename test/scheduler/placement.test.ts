// Contact-aware placement on a plan written by hand, where every time can be worked out on paper:
// when the input reaches each node, when the node can run, when the result reaches an allowed
// station, and what booking that volume does to the next job.
//
//   dc-de ══ gs-de (fibre, always)        gs-de → sat-de  1000–1300 s, 10 kB/s (and back)
//                                         sat-de → gs-no  2500–2800 s, 1 MB/s
//                                         sat-de → gs-de  7000–7300 s, 1 MB/s
//                                         gs-de → sat-us  1500–1800 s, 10 kB/s
//                                         sat-us → gs-us  3000–3300 s, 1 MB/s
// Light time 0.01 s on every space link, 0.001 s on fibre.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { bestRoute, ContactBookings, ContactPlan, loadElementFile, type ElementSet } from '../../contact-plans/index.ts';
import {
  loadCountryBorders, NodeCatalog, placeJob, releasePlacement, reservePlacement, subSatellitePoint, type CountryBorders, type JobSpec, type NodeSpec,
  type PlacementDecision, type PlacementInput,
} from '../../scheduler/index.ts';
import { createPropagator } from '../../contact-plans/index.ts';
import { contact, EPOCH_MS, groundNode, HOUR_MS, jobAt, link, orbitalNode, planOf } from './placement-world.ts';

const gsDe = groundNode('gs-de', 1, 'DE');
const dcDe = groundNode('dc-de', 2, 'DE');
const gsNo = groundNode('gs-no', 3, 'NO');
const gsUs = groundNode('gs-us', 4, 'US');
const satDe = orbitalNode('sat-de', 11, 'DE', 'DE');
const satUs = orbitalNode('sat-us', 12, 'US', 'US');
const NODES = [gsDe, dcDe, gsNo, gsUs, satDe, satUs];
const PLAN = planOf(NODES, [
  ...link(1, 2, 0, 86_400, 1e8, 0.001),
  ...link(1, 11, 1000, 1300, 10_000, 0.01),
  contact(11, 3, 2500, 2800, 1e6, 0.01),
  contact(11, 1, 7000, 7300, 1e6, 0.01),
  contact(1, 12, 1500, 1800, 10_000, 0.01),
  contact(12, 4, 3000, 3300, 1e6, 0.01),
]);
const sec = (s: number): number => EPOCH_MS + s * 1000;
const inOrbit = (overrides: Partial<JobSpec> = {}): JobSpec => jobAt('gs-de', EPOCH_MS, 3, { orbital: 'required', ...overrides });

function place(job: JobSpec, extra: Partial<PlacementInput> = {}, bookings = new ContactBookings(PLAN)): PlacementDecision {
  return placeJob({ job, nodes: NODES, plan: PLAN, bookings, nowMs: EPOCH_MS, ...extra });
}

function codeOf(action: () => unknown): { code: string; field: string | undefined } | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof OrbitfedError) return { code: error.code, field: error.location.field };
    throw error;
  }
  return undefined;
}

describe('contact-aware placement', () => {
  it('chooses the node whose result is back first, and says when the input arrives, when it runs and when the result is back', () => {
    const decision = place(inOrbit());
    const placed = decision.placed!;
    expect(placed.nodeId).toBe('sat-de');
    // 1,000 bytes at 10 kB/s from 1000 s, plus 0.01 s of light time.
    expect(placed.inputArrivalMs).toBeCloseTo(sec(1000.11), 6);
    expect(placed.startMs).toBeCloseTo(sec(1000.11), 6);
    expect(placed.finishMs).toBeCloseTo(sec(1600.11), 6);
    // The next downlink is to Norway at 2500 s: 1,000 bytes at 1 MB/s plus light time.
    expect(placed.resultStation).toBe('gs-no');
    expect(placed.resultArrivalMs).toBeCloseTo(sec(2500.011), 6);
    expect(placed.inputRoute.hops.map((h) => [h.from, h.to])).toEqual([[1, 11]]);
    expect(placed.resultRoute.hops.map((h) => [h.from, h.to])).toEqual([[11, 3]]);
    expect(placed.scoreParts.completion).toBeCloseTo((10_800 - 2500.011) / 10_800, 9);
    expect(decision.explanation.join(' ')).toMatch(/reaches sat-de at 2026-06-14T00:16:40\.110Z/);
    expect(decision.explanation.join(' ')).toMatch(/reaches gs-no at 2026-06-14T00:41:40\.011Z/);
  });

  it('gives routes that arrive when CGR\'s do, and CGR\'s own routes when asked', () => {
    const ours = place(inOrbit()).placed!;
    const placed = place(inOrbit(), { policy: { cgrRoutes: true } }).placed!;
    expect(ours.inputRoute.arrivalSec).toBe(placed.inputRoute.arrivalSec);
    expect(ours.resultRoute.arrivalSec).toBe(placed.resultRoute.arrivalSec);
    const input = bestRoute(PLAN, { from: 1, to: 11, atSec: 0, sizeBytes: 1000 })!;
    const result = bestRoute(PLAN, { from: 11, to: 3, atSec: (placed.finishMs - EPOCH_MS) / 1000, sizeBytes: 1000 })!;
    expect(placed.inputRoute).toEqual(input);
    expect(placed.resultRoute).toEqual(result);
  });

  it('counts only contacts with allowed stations under a downlink rule', () => {
    const decision = place(inOrbit({ sovereignty: { downlink: { countries: ['DE'] } } }));
    expect(decision.placed?.nodeId).toBe('sat-de');
    expect(decision.placed?.resultStation).toBe('gs-de');
    expect(decision.placed?.resultArrivalMs).toBeCloseTo(sec(7000.011), 6);
    // sat-us can only downlink to the US.
    expect(decision.rejected.find((r) => r.reason === 'sovereignty-downlink')).toMatchObject({
      nodes: 1, examples: ['sat-us'], detail: "after the run its contacts lead only to nodes the job's downlink or atRest rules exclude",
    });
    // Stations outside the rule cannot receive the result either.
    expect(place(inOrbit({ result: { sizeBytes: 1000, deliverTo: ['gs-no'] }, sovereignty: { downlink: { stations: ['gs-de'] } } })).rejected
      .find((r) => r.reason === 'sovereignty-downlink')?.nodes).toBe(2);
  });

  it('refuses a deadline it cannot meet, with the earliest result arrival any node could make', () => {
    const decision = place(inOrbit({ deadlineMs: sec(5400), sovereignty: { downlink: { countries: ['DE'] } } }));
    expect(decision.placed).toBeNull();
    expect(decision.earliestFeasibleMs).toBeCloseTo(sec(7000.011), 6);
    expect(decision.rejected.map((r) => [r.reason, r.nodes, r.examples])).toEqual([['orbital', 4, ['gs-de', 'dc-de', 'gs-no', 'gs-us']], ['deadline', 1, ['sat-de']], ['sovereignty-downlink', 1, ['sat-us']]]);
    expect(decision.explanation.join(' ')).toMatch(/earliest any of them could deliver is 2026-06-14T01:56:40\.011Z \(sat-de\)/);
  });

  it('stops reading the plan once no node the input has reached sends anything later', () => {
    // The input rests at dc-de (exempt), whose only contact leads to gs-de, which may not hold US-only
    // data: nothing can leave, and the US contacts later in the day are not read, also not for the
    // earliest possible delivery.
    const decision = place(jobAt('dc-de', EPOCH_MS, 3, { sovereignty: { atRest: ['US'] } }));
    expect(decision.placed).toBeNull();
    expect(decision.earliestFeasibleMs).toBeUndefined();
    expect(decision.rejected.map((r) => [r.reason, r.nodes])).toEqual([['sovereignty-at-rest', 4], ['deadline', 2]]);
    expect(decision.explanation.join(' ')).toMatch(/Searched: 0 contacts read, 1 nodes reached/);
  });

  it('refuses a deadline that has passed, still saying when the result could be back', () => {
    const decision = place(inOrbit({ deadlineMs: EPOCH_MS - 1 }));
    expect(decision.placed).toBeNull();
    expect(decision.rejected.find((r) => r.reason === 'deadline')?.nodes).toBe(2);
    expect(decision.earliestFeasibleMs).toBeCloseTo(sec(2500.011), 6);
  });

  it('waits for the jobs queued on a node', () => {
    const load = new Map([['sat-de', { queuedExecutionMs: 2000_000, cpuInUse: 0, memoryBytesInUse: 0 }]]);
    const placed = place(inOrbit(), { load }).placed!;
    expect(placed.nodeId).toBe('sat-de');
    expect(placed.startMs).toBe(EPOCH_MS + 2000_000);
    // Finishes at 2600 s, while the pass over Norway (2500–2800 s) is open.
    expect(placed.resultArrivalMs).toBeCloseTo(sec(2600.011), 6);
  });

  it('starts after a blackout, and turns a node away when its blackouts push the run past the deadline', () => {
    const dark = { ...satDe, blackouts: [{ startMs: sec(900), endMs: sec(2400), reason: 'payload calibration' }] };
    const nodes = NODES.map((n) => (n.id === 'sat-de' ? dark : n));
    const moved = placeJob({ job: inOrbit({ affinity: { nodes: ['sat-de'] } }), nodes, plan: PLAN, bookings: new ContactBookings(PLAN), nowMs: EPOCH_MS });
    expect(moved.placed?.startMs).toBe(sec(2400));
    expect(moved.placed?.resultStation).toBe('gs-de');
    expect(moved.explanation.join(' ')).toContain('the start waits for blackouts or the processing footprint');
    const late = placeJob({ job: inOrbit({ deadlineMs: sec(2700) }), nodes, plan: PLAN, bookings: new ContactBookings(PLAN), nowMs: EPOCH_MS });
    expect(late.placed).toBeNull();
    expect(late.rejected.find((r) => r.reason === 'blackout')).toMatchObject({ nodes: 1, examples: ['sat-de'] });
  });

  it('runs where the input already is, with no route at all', () => {
    const decision = place(jobAt('dc-de', EPOCH_MS, 1, { orbital: 'forbidden', sovereignty: { atRest: ['DE'] } }));
    expect(decision.placed?.nodeId).toBe('dc-de');
    expect(decision.placed?.inputRoute.hops).toEqual([]);
    expect(decision.placed?.resultRoute.hops).toEqual([]);
    expect(decision.placed?.resultArrivalMs).toBe(EPOCH_MS + 10 * 60_000);
    expect(decision.explanation).toContain('The input is already at dc-de.');
  });

  it('books the routes\' volume, so the next job goes elsewhere, and releases it exactly', () => {
    // 2 MB of input: the 1000–1300 s uplink to sat-de carries 3 MB in all.
    const big = inOrbit({ input: { sizeBytes: 2_000_000, location: 'gs-de' } });
    const bookings = new ContactBookings(PLAN);
    const first = place(big, {}, bookings).placed!;
    expect(first.nodeId).toBe('sat-de');
    reservePlacement(bookings, first, big);
    const uplink = first.inputRoute.hops[0]!.contact;
    expect(bookings.bookedBytes(uplink)).toBe(2_000_000);
    expect(bookings.bookedBytes(first.resultRoute.hops[0]!.contact)).toBe(1000);
    const second = place(big, {}, bookings).placed!;
    expect(second.nodeId).toBe('sat-us');
    reservePlacement(bookings, second, big);
    expect(place(big, {}, bookings).placed).toBeNull();
    releasePlacement(bookings, first, big);
    expect(bookings.bookedBytes(uplink)).toBe(0);
    expect(place(big, {}, bookings).placed?.nodeId).toBe('sat-de');
  });

  it('books both routes or neither', () => {
    const job = inOrbit({ input: { sizeBytes: 1_000_000, location: 'gs-de' }, result: { sizeBytes: 200_000_000, deliverTo: [] } });
    const bookings = new ContactBookings(PLAN);
    const placed = place(job, {}, bookings).placed!;
    // Someone else takes the result's downlink first.
    bookings.book(placed.resultRoute, 200_000_000);
    expect(codeOf(() => reservePlacement(bookings, placed, job))?.code).toBe('ORBITFED_ROUTE_VOLUME');
    expect(bookings.bookedBytes(placed.inputRoute.hops[0]!.contact)).toBe(0);
  });

  it("counts the input's own volume when the result's route shares a contact with the input's", () => {
    // L ─(1 kB/s, 0–1000 s)→ A → N (the only orbital node) → L → A → T: the result goes back up L→A,
    // where the input's 50 kB are booked ahead of it (cgr.ts's conservative queue).
    const l = groundNode('l', 1, 'DE');
    const a = groundNode('a', 2, 'DE');
    const t = groundNode('t', 3, 'DE');
    const n = orbitalNode('n', 21, 'DE', 'DE');
    const nodes = [l, a, t, n];
    const plan = planOf(nodes, [contact(1, 2, 0, 1000, 1000, 0), contact(2, 21, 0, 1000, 1e6, 0), contact(21, 1, 0, 1000, 1e6, 0), contact(2, 3, 0, 1000, 1e6, 0)]);
    const job = jobAt('l', EPOCH_MS, 1, {
      executionMs: 10_000, orbital: 'required', input: { sizeBytes: 50_000, location: 'l' }, result: { sizeBytes: 40_000, deliverTo: ['t'] },
    });
    const placed = placeJob({ job, nodes, plan, bookings: new ContactBookings(plan), nowMs: EPOCH_MS }).placed!;
    expect(placed.inputArrivalMs).toBeCloseTo(sec(50.05), 6);
    expect(placed.resultRoute.hops.map((h) => h.to)).toEqual([1, 2, 3]);
    // Up L→A after 50 s of the input's bytes: 60.09 + 50 + 40, then 0.04 s on to T.
    expect(placed.resultArrivalMs).toBeCloseTo(sec(150.13), 6);
    const bookings = new ContactBookings(plan);
    reservePlacement(bookings, placed, job);
    expect(bookings.bookedBytes(placed.inputRoute.hops[0]!.contact)).toBe(90_000);
  });

  it('refuses inputs that do not fit together, with a code and the field', () => {
    expect(codeOf(() => place(jobAt('nowhere', EPOCH_MS, 2)))).toEqual({ code: 'ORBITFED_PLACEMENT_UNKNOWN_NODE', field: '/input/location' });
    expect(codeOf(() => place(jobAt('gs-de', EPOCH_MS, 2, { result: { sizeBytes: 1, deliverTo: ['gs-no', 'sat-de'] } }))))
      .toEqual({ code: 'ORBITFED_PLACEMENT_NOT_A_STATION', field: '/result/deliverTo/1' });
    expect(codeOf(() => place(jobAt('gs-de', EPOCH_MS, 2, { result: { sizeBytes: 1, deliverTo: ['gs-xx'] } }))))
      .toEqual({ code: 'ORBITFED_PLACEMENT_UNKNOWN_NODE', field: '/result/deliverTo/0' });
    const other = planOf(NODES, [contact(1, 2, 0, 10)]);
    expect(codeOf(() => place(inOrbit(), {}, new ContactBookings(other)))?.code).toBe('ORBITFED_PLACEMENT_BOOKINGS_PLAN');
    const abstract = new ContactPlan({ epochMs: undefined, nodes: [], contacts: PLAN.contacts });
    expect(codeOf(() => placeJob({ job: inOrbit(), nodes: NODES, plan: abstract, bookings: new ContactBookings(abstract), nowMs: EPOCH_MS }))?.code).toBe('ORBITFED_PLACEMENT_PLAN_EPOCH');
    expect(codeOf(() => placeJob({ job: inOrbit(), nodes: new NodeCatalog({ nodes: NODES, plan: other }), plan: PLAN, bookings: new ContactBookings(PLAN), nowMs: EPOCH_MS }))?.code)
      .toBe('ORBITFED_PLACEMENT_CATALOG_PLAN');
    expect(codeOf(() => new NodeCatalog({ nodes: [gsDe, { ...dcDe, ipn: 1 }], plan: PLAN }))).toEqual({ code: 'ORBITFED_PLACEMENT_CATALOG', field: 'nodes/1/ipn' });
    expect(codeOf(() => new NodeCatalog({ nodes: [gsDe, gsDe], plan: PLAN }))).toEqual({ code: 'ORBITFED_PLACEMENT_CATALOG', field: 'nodes/1/id' });
  });
});

describe('processing footprint', () => {
  let borders: CountryBorders;
  let iss: ElementSet;
  beforeAll(async () => {
    borders = loadCountryBorders();
    const path = fileURLToPath(new URL('../fixtures/passes/leo1000.tle', import.meta.url));
    iss = (await loadElementFile(path, { checksum: 'strict' })).elements.find((e) => e.catalogNumber === '25544')!;
  }, 60_000);

  it('starts a satellite\'s run only when its sub-point stays over the allowed countries for the whole run', () => {
    const station = groundNode('gs-us', 1, 'US');
    const issNode: NodeSpec = orbitalNode('iss', 1_000_025_544, 'US', 'US', { noradId: 25_544 });
    const unknown: NodeSpec = orbitalNode('no-elements', 1_000_099_999, 'US', 'US', { noradId: 99_999 });
    const nodes = [station, issNode, unknown];
    // Artificial all-day links, so that only the footprint decides when the run may start.
    const plan = planOf(nodes, [...link(1, 1_000_025_544, 0, 86_400, 1e6), ...link(1, 1_000_099_999, 0, 86_400, 1e6)]);
    const catalog = new NodeCatalog({ nodes, plan, elements: [iss], borders });
    const job = jobAt('gs-us', EPOCH_MS, 24, { executionMs: 3 * 60_000, orbital: 'required', sovereignty: { processingFootprint: ['US'] } });
    const decision = placeJob({ job, nodes: catalog, plan, bookings: new ContactBookings(plan), nowMs: EPOCH_MS });
    const placed = decision.placed!;
    expect(placed.nodeId).toBe('iss');
    expect(placed.startMs).toBeGreaterThan(placed.inputArrivalMs);
    const propagator = createPropagator(iss);
    if (!propagator.ok) throw new Error(propagator.message);
    for (let ms = placed.startMs; ms <= placed.finishMs; ms += 5_000) {
      const p = subSatellitePoint(propagator.propagator, ms);
      if (typeof p === 'number') throw new Error(`SGP4 status ${p}`);
      expect(borders.countryAt(p.latitudeDeg, p.longitudeDeg), new Date(ms).toISOString()).toBe('US');
    }
    expect(decision.rejected.find((r) => r.reason === 'processing-footprint')).toMatchObject({
      examples: ['no-elements'], detail: 'no orbital elements for the satellite: its ground track is unknown',
    });
    // Without borders loaded, the footprint cannot be checked at all.
    const blind = placeJob({ job, nodes, plan, bookings: new ContactBookings(plan), nowMs: EPOCH_MS });
    expect(blind.placed).toBeNull();
    expect(blind.rejected.find((r) => r.reason === 'processing-footprint')?.nodes).toBe(2);
    expect(HOUR_MS).toBe(3_600_000);
  }, 60_000);
});
