// Contact Graph Routing against HDTN's reference plans (test/fixtures/PROVENANCE.md), the pitfalls
// reported on HDTN's tracker, and two brute-force searches that share none of its method: every
// loopless route enumerated on small random plans, and earliest arrival by rounds of relaxation
// over all contacts on HDTN's large plans.
import { seededRng } from '../../common/index.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { bestRoute, findRoutes, findRoutesTuned, type Route, type RouteQuery, type SearchTuning } from '../../contact-plans/cgr.ts';
import { ContactBookings } from '../../contact-plans/contact-bookings.ts';
import { ContactPlan, type Contact } from '../../contact-plans/contact-plan.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/contact-plans/${name}`, import.meta.url));

interface HdtnContact { contact: number; source: number; dest: number; startTime: number; endTime: number; rateBitsPerSec: number; owlt: number }

/**
 * A tiny reader of HDTN's contact-plan JSON (rates in bits/s). HDTN's 10-, 50- and 100-node plans
 * hold a few contacts whose end precedes their start (6, 148 and 654 of them); ContactPlan refuses
 * those, and HDTN's libcgr `dijkstra` never uses them either (their volume, rate × (end − start),
 * is negative), so they are left out here.
 */
function loadHdtn(name: string): ContactPlan {
  const json = JSON.parse(readFileSync(fixture(name), 'utf8')) as { contacts: HdtnContact[] };
  const contacts = json.contacts.filter((c) => c.endTime >= c.startTime).map((c): Contact => ({
    from: c.source, to: c.dest, startSec: c.startTime, endSec: c.endTime, rateBytesPerSec: c.rateBitsPerSec / 8, owltSec: c.owlt, confidence: 1,
  }));
  return new ContactPlan({ epochMs: undefined, nodes: [], contacts });
}

const planOf = (contacts: readonly Contact[]): ContactPlan => new ContactPlan({ epochMs: undefined, nodes: [], contacts });
const contact = (from: number, to: number, startSec: number, endSec: number, owltSec = 1, rateBytesPerSec = 1000): Contact =>
  ({ from, to, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 });
const path = (route: Route | undefined): number[] => (route === undefined ? [] : [route.hops[0]!.from, ...route.hops.map((h) => h.to)]);

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof OrbitfedError ? error.code : `not an OrbitfedError: ${String(error)}`;
  }
  return undefined;
}

// ---- Independent reference: the arrival over one contact, written out from SABR's definitions ----

/** When a bundle ready at `readySec` arrives over contact `c` with `bookedBytes` queued ahead of it, or undefined. */
function arrivalOver(c: Contact, bookedBytes: number, readySec: number, sizeBytes: number): { txStartSec: number; arrivalSec: number } | undefined {
  if (!(c.rateBytesPerSec > 0)) return undefined;
  if (c.rateBytesPerSec * (c.endSec - c.startSec) - bookedBytes < sizeBytes) return undefined;
  const txStartSec = Math.max(readySec, c.startSec) + bookedBytes / c.rateBytesPerSec;
  const txEndSec = txStartSec + sizeBytes / c.rateBytesPerSec;
  if (!(txStartSec < c.endSec) || !(txEndSec <= c.endSec)) return undefined;
  return { txStartSec, arrivalSec: txEndSec + c.owltSec };
}

interface BruteRoute { contacts: number[]; arrivalSec: number; lastEndSec: number; txStartSec: number[]; hopArrivalSec: number[] }

/** Every loopless route, by exhaustive depth-first search over contact sequences, best first. */
function allRoutes(plan: ContactPlan, q: RouteQuery): BruteRoute[] {
  const routes: BruteRoute[] = [];
  const deadlineSec = q.deadlineSec ?? Infinity;
  const visit = (node: number, readySec: number, visited: ReadonlySet<number>, prefix: BruteRoute): void => {
    plan.contacts.forEach((c, i) => {
      if (c.from !== node || visited.has(c.to)) return;
      const hop = arrivalOver(c, q.bookings?.bookedBytes(i) ?? 0, readySec, q.sizeBytes);
      if (hop === undefined || hop.arrivalSec > deadlineSec) return;
      const route: BruteRoute = {
        contacts: [...prefix.contacts, i], arrivalSec: hop.arrivalSec, lastEndSec: c.endSec,
        txStartSec: [...prefix.txStartSec, hop.txStartSec], hopArrivalSec: [...prefix.hopArrivalSec, hop.arrivalSec],
      };
      if (c.to === q.to) routes.push(route);
      else visit(c.to, hop.arrivalSec, new Set([...visited, c.to]), route);
    });
  };
  visit(q.from, q.atSec, new Set([q.from]), { contacts: [], arrivalSec: q.atSec, lastEndSec: -Infinity, txStartSec: [], hopArrivalSec: [] });
  return routes.sort((a, b) => a.arrivalSec - b.arrivalSec || a.contacts.length - b.contacts.length || a.lastEndSec - b.lastEndSec);
}

/**
 * Earliest arrival and the fewest hops that achieve it, by rounds of relaxation over every contact:
 * after round r, `readySec` holds the earliest arrival at each node over at most r contacts.
 */
function earliestByRounds(plan: ContactPlan, from: number, to: number, atSec: number, sizeBytes: number): { arrivalSec: number; hops: number } | undefined {
  let readySec = new Map<number, number>([[from, atSec]]);
  let best: { arrivalSec: number; hops: number } | undefined;
  for (let round = 1; round <= plan.nodes.length; round++) {
    const next = new Map(readySec);
    for (const c of plan.contacts) {
      const ready = readySec.get(c.from);
      if (ready === undefined || c.from === to) continue;
      const hop = arrivalOver(c, 0, ready, sizeBytes);
      if (hop !== undefined && hop.arrivalSec < (next.get(c.to) ?? Infinity)) next.set(c.to, hop.arrivalSec);
    }
    const arrivalSec = next.get(to);
    if (arrivalSec !== undefined && (best === undefined || arrivalSec < best.arrivalSec)) best = { arrivalSec, hops: round };
    if ([...next].every(([node, t]) => readySec.get(node) === t)) break;
    readySec = next;
  }
  return best;
}


describe('CGR on the plan of the CGR tutorial (Fraire, De Jonckère & Burleigh 2021; HDTN cgrTutorial.json)', () => {
  const plan = loadHdtn('hdtn-cgrTutorial.json');

  it('delivers from 1 to 5 at t=0 by t=3 over 1→3→4→5', () => {
    const route = bestRoute(plan, { from: 1, to: 5, atSec: 0, sizeBytes: 0 });
    expect(route?.arrivalSec).toBe(3);
    expect(path(route)).toEqual([1, 3, 4, 5]);
    expect(route?.hops.map((h) => [h.startSec, h.endSec, h.txStartSec, h.arrivalSec])).toEqual([[0, 60, 0, 1], [0, 30, 1, 2], [0, 10, 2, 3]]);
  });

  it('finds the next best deliveries at 4, 11, 31, 31, 51, 51 (k=7) with Yen\'s algorithm, as HDTN\'s TestYen expects', () => {
    const routes = findRoutes(plan, { from: 1, to: 5, atSec: 0, sizeBytes: 0, k: 7 });
    expect(routes.map((r) => r.arrivalSec)).toEqual([3, 4, 11, 31, 31, 51, 51]);
    expect(routes.slice(0, 3).map((r) => r.hops[0]!.to)).toEqual([3, 2, 5]);
    expect(routes.map(path)).toEqual([[1, 3, 4, 5], [1, 2, 3, 4, 5], [1, 5], [1, 3, 4, 5], [1, 2, 3, 4, 5], [1, 3, 4, 5], [1, 2, 3, 4, 5]]);
  });

  it('finds exactly those 7 routes when asked for 10 (HDTN: "should give 7 possible paths from 1->5")', () => {
    expect(findRoutes(plan, { from: 1, to: 5, atSec: 0, sizeBytes: 0, k: 10 })).toHaveLength(7);
  });

  it('adds the transmission time at each hop\'s rate for a bundle of some size', () => {
    // 125,000 B/s: 12,500 bytes take 0.1 s on each of the three hops.
    const route = bestRoute(plan, { from: 1, to: 5, atSec: 0, sizeBytes: 12_500 });
    expect(route?.arrivalSec).toBeCloseTo(3.3, 12);
    expect(route?.hops.map((h) => h.txStartSec)).toEqual([0, 1.1, expect.closeTo(2.2, 12)]);
  });
});

describe('CGR on HDTN\'s reference plans', () => {
  it('routes 1→4 from t=0 on contactPlan_RoutingTest via node 2, over its 2nd and 3rd contacts', () => {
    const route = bestRoute(loadHdtn('hdtn-contactPlan_RoutingTest.json'), { from: 1, to: 4, atSec: 0, sizeBytes: 0 });
    // The file's contacts 2 (1→2, 0–120 s) and 3 (2→4, 11–150 s); HDTN's test expects contactPlan[1], contactPlan[2].
    expect(route?.hops.map((h) => [h.from, h.to, h.startSec, h.endSec])).toEqual([[1, 2, 0, 120], [2, 4, 11, 150]]);
    expect(route?.arrivalSec).toBe(12);
  });

  it('finds no route 4→1 on contactPlan_RoutingTest (HDTN\'s DijkstraRoutingNoPathTestCase)', () => {
    expect(findRoutes(loadHdtn('hdtn-contactPlan_RoutingTest.json'), { from: 4, to: 1, atSec: 0, sizeBytes: 0, k: 5 })).toEqual([]);
  });

  it('routes 20→40 at t=0 on 10nodes via next hop 3686 as HDTN\'s Dijkstra does, delivering at t=2', () => {
    // HDTN's tests assert only the next hop; the delivery time is the brute force's (and, by hand,
    // the all-day contacts 20→3686 and 3686→40 with one-second light times).
    const plan = loadHdtn('hdtn-10nodes.json');
    const route = bestRoute(plan, { from: 20, to: 40, atSec: 0, sizeBytes: 0 });
    expect(route?.hops[0]!.to).toBe(3686);
    expect(earliestByRounds(plan, 20, 40, 0, 0)).toEqual({ arrivalSec: 2, hops: 2 });
    expect(route?.arrivalSec).toBe(2);
  });

  it.each([
    ['hdtn-50nodes.json', 3545, 3513],
    ['hdtn-100nodes.json', 2374, 1215],
  ])('routes 20→40 at t=0 on %s as fast as the brute force, and both next hops HDTN picks (dijkstra %i, cmr_dijkstra %i) tie for best', (name, dijkstraNextHop, cmrNextHop) => {
    const plan = loadHdtn(name);
    const expected = earliestByRounds(plan, 20, 40, 0, 0);
    const routes = findRoutes(plan, { from: 20, to: 40, atSec: 0, sizeBytes: 0, k: 64 });
    expect({ arrivalSec: routes[0]!.arrivalSec, hops: routes[0]!.hops.length }).toEqual(expected);
    const sameArrivalFirstHops = routes.filter((r) => r.arrivalSec === expected!.arrivalSec).map((r) => r.hops[0]!.to);
    expect(sameArrivalFirstHops).toContain(dijkstraNextHop);
    expect(sameArrivalFirstHops).toContain(cmrNextHop);
    // At equal arrival, hops and last contact's end, the smallest entry node (SABR §3.2.8.1.4 a).
    const best = routes[0]!;
    const lastEnd = (r: Route): number => r.hops[r.hops.length - 1]!.endSec;
    const fullyTied = routes.filter((r) => r.arrivalSec === best.arrivalSec && r.hops.length === best.hops.length && lastEnd(r) === lastEnd(best));
    expect(best.hops[0]!.to).toBe(Math.min(...fullyTied.map((r) => r.hops[0]!.to)));
  });

  it.each(['hdtn-50nodes.json', 'hdtn-100nodes.json'])('matches the brute force\'s arrival and hop count on %s for 40 random queries (seed 734)', (name) => {
    const plan = loadHdtn(name);
    const random = seededRng(734);
    const nodes = plan.nodes.map((n) => n.ipn);
    for (let i = 0; i < 40; i++) {
      const from = nodes[Math.floor(random() * nodes.length)]!;
      const others = nodes.filter((n) => n !== from);
      const to = others[Math.floor(random() * others.length)]!;
      const atSec = Math.floor(random() * 86_400);
      const sizeBytes = random() < 0.5 ? 0 : 1e9;
      const route = bestRoute(plan, { from, to, atSec, sizeBytes });
      const expected = earliestByRounds(plan, from, to, atSec, sizeBytes);
      expect(route === undefined ? undefined : { arrivalSec: route.arrivalSec, hops: route.hops.length }, `${from}→${to} at ${atSec} s, ${sizeBytes} bytes`).toEqual(expected);
    }
  });
});

describe('CGR avoids the pitfalls reported on HDTN\'s tracker', () => {
  it('routes to a destination numbered lower than the source, at a non-zero time (nasa/HDTN #69)', () => {
    const plan = planOf([contact(10, 7, 50, 100), contact(7, 2, 60, 120), contact(10, 2, 200, 300)]);
    expect(path(bestRoute(plan, { from: 10, to: 2, atSec: 55, sizeBytes: 0 }))).toEqual([10, 7, 2]);
    expect(bestRoute(plan, { from: 10, to: 2, atSec: 55, sizeBytes: 0 })?.arrivalSec).toBe(61);
    expect(path(bestRoute(plan, { from: 10, to: 2, atSec: 110, sizeBytes: 0 }))).toEqual([10, 2]);
    const hdtn = loadHdtn('hdtn-100nodes.json');
    expect(bestRoute(hdtn, { from: 40, to: 10, atSec: 43_200, sizeBytes: 0 })?.arrivalSec).toBe(earliestByRounds(hdtn, 40, 10, 43_200, 0)?.arrivalSec);
  });

  describe('a contact whose window ends exactly when the bundle arrives (nasa/HDTN #71) is not used', () => {
    // The plan: 8,000 bit/s = 1,000 B/s, one-way light time 3 s.
    const plan = planOf([contact(1, 2, 100, 200, 3), contact(2, 3, 100, 200, 3), contact(1, 2, 300, 400, 3)]);

    it('finds no route 1→3 at t=197, when the relay receives the bundle at t=200, the end of 2→3', () => {
      // SABR ignores depleted routes (§3.2.6.9 f): 2→3 reached at its end has an effective volume
      // limit of (200 − 200) × rate = 0. HDTN's dijkstra agrees; its cmr_dijkstra does not.
      expect(findRoutes(plan, { from: 1, to: 3, atSec: 197, sizeBytes: 0, k: 3 })).toEqual([]);
    });

    it('routes 1→3 at t=196, when the relay has the bundle one second before 2→3 ends', () => {
      const route = bestRoute(plan, { from: 1, to: 3, atSec: 196, sizeBytes: 0 });
      expect(route?.hops.map((h) => h.txStartSec)).toEqual([196, 199]);
      expect(route?.arrivalSec).toBe(202);
    });

    it('needs the whole bundle sent before the end: 1,000 bytes ready at t=195 reach the relay too late', () => {
      // 1→2 sends 195–196, the relay has it at 199 and 2→3 would send 199–200: that still fits.
      expect(bestRoute(plan, { from: 1, to: 3, atSec: 195, sizeBytes: 1000 })?.arrivalSec).toBe(203);
      // A byte more and 2→3 would end mid-bundle.
      expect(bestRoute(plan, { from: 1, to: 3, atSec: 195, sizeBytes: 1001 })).toBeUndefined();
    });

    it('uses the next contact when the bundle is ready exactly when the current one ends', () => {
      expect(bestRoute(plan, { from: 1, to: 2, atSec: 200, sizeBytes: 0 })?.arrivalSec).toBe(303);
      expect(bestRoute(plan, { from: 1, to: 2, atSec: 199, sizeBytes: 0 })?.arrivalSec).toBe(202);
    });

    it('never uses a contact of zero length or zero rate, which can carry nothing', () => {
      const empty = planOf([contact(1, 2, 100, 100), contact(1, 2, 100, 200, 1, 0)]);
      expect(bestRoute(empty, { from: 1, to: 2, atSec: 100, sizeBytes: 0 })).toBeUndefined();
    });
  });

  describe('volume booked on a contact reduces what later queries see (libcgr never decrements it: nasa/HDTN #72)', () => {
    // Two contacts 1→2 of 1,000 bytes each (100 B/s for 10 s).
    const plan = planOf([contact(1, 2, 0, 10, 1, 100), contact(1, 2, 20, 30, 1, 100)]);
    const query = { from: 1, to: 2, atSec: 0, sizeBytes: 600 };

    it('moves the next bundle to the next contact once the first is booked, and to none once both are', () => {
      const bookings = new ContactBookings(plan);
      const first = bestRoute(plan, { ...query, bookings })!;
      expect(first.hops[0]!.startSec).toBe(0);
      bookings.book(first, 600);
      const second = bestRoute(plan, { ...query, bookings })!;
      expect(second.hops[0]!.startSec).toBe(20);
      bookings.book(second, 600);
      expect(bestRoute(plan, { ...query, bookings })).toBeUndefined();
      bookings.release(first, 600);
      expect(bestRoute(plan, { ...query, bookings })?.hops[0]!.startSec).toBe(0);
    });

    it('delays transmission behind the bytes booked ahead (SABR\'s earliest transmission opportunity)', () => {
      const bookings = new ContactBookings(plan);
      bookings.book([0], 300);
      const route = bestRoute(plan, { from: 1, to: 2, atSec: 0, sizeBytes: 100, bookings })!;
      // 300 booked bytes take 3 s at 100 B/s, the bundle 1 s more, then 1 s of light time.
      expect(route.hops[0]!.txStartSec).toBe(3);
      expect(route.arrivalSec).toBe(5);
    });

    it('does not route over a contact whose booked volume leaves no room, even for an empty bundle', () => {
      const bookings = new ContactBookings(plan);
      bookings.book([0], 1000);
      expect(bestRoute(plan, { from: 1, to: 2, atSec: 0, sizeBytes: 0, bookings })?.hops[0]!.startSec).toBe(20);
    });

    it('refuses bookings that belong to another plan', () => {
      const other = new ContactBookings(planOf([contact(1, 2, 0, 10)]));
      expect(codeOf(() => findRoutes(plan, { ...query, bookings: other }))).toBe('ORBITFED_CGR_BOOKINGS_PLAN');
    });
  });
});

describe('CGR chooses among routes as SABR §3.2.8.1.4 a) orders them', () => {
  it('prefers fewer hops at equal arrival, even when the longer route reaches the relay earlier', () => {
    // 1→3→4→5 reaches 5 at t=3, 1→5 directly at t=6; 5→9 only opens at t=10, so both deliver at 11.
    // An earliest-arrival Dijkstra keeps only the t=3 label at node 5 and returns 4 hops.
    const plan = planOf([contact(1, 3, 0, 100), contact(3, 4, 0, 100), contact(4, 5, 0, 100), contact(1, 5, 5, 100), contact(5, 9, 10, 100)]);
    const route = bestRoute(plan, { from: 1, to: 9, atSec: 0, sizeBytes: 0 });
    expect(route?.arrivalSec).toBe(11);
    expect(path(route)).toEqual([1, 5, 9]);
  });

  it('prefers the earlier end of the last contact at equal arrival and hops', () => {
    // Via 2 (last contact ending at 50) or via 3 (ending at 90): same arrival, same hops.
    const plan = planOf([contact(1, 2, 0, 80), contact(2, 9, 0, 50), contact(1, 3, 0, 40), contact(3, 9, 0, 90)]);
    const routes = findRoutes(plan, { from: 1, to: 9, atSec: 0, sizeBytes: 0, k: 2 });
    expect(routes.map(path)).toEqual([[1, 2, 9], [1, 3, 9]]);
    expect(routes.map((r) => r.hops[1]!.endSec)).toEqual([50, 90]);
    // Termination (the earliest end along the route) is reported, not used for the order.
    expect(routes.map((r) => r.terminationSec)).toEqual([50, 40]);
  });

  it('prefers the smallest entry node when arrival, hops and the last contact\'s end tie', () => {
    const plan = planOf([contact(1, 7, 0, 50), contact(7, 9, 0, 50), contact(1, 4, 0, 50), contact(4, 9, 0, 50)]);
    expect(findRoutes(plan, { from: 1, to: 9, atSec: 0, sizeBytes: 0, k: 2 }).map(path)).toEqual([[1, 4, 9], [1, 7, 9]]);
  });

  it('never revisits a node, however many routes are asked for', () => {
    // A ring 1→2→3→1 with spokes to 9: every route must stay loopless.
    const plan = planOf([contact(1, 2, 0, 100), contact(2, 3, 0, 100), contact(3, 1, 0, 100), contact(2, 1, 0, 100), contact(3, 2, 0, 100),
      contact(1, 9, 50, 60), contact(2, 9, 40, 60), contact(3, 9, 30, 60)]);
    const routes = findRoutes(plan, { from: 1, to: 9, atSec: 0, sizeBytes: 0, k: 64 });
    expect(routes.map(path)).toEqual([[1, 2, 3, 9], [1, 2, 9], [1, 9]]);
  });

  it('includes a route arriving exactly at the deadline and excludes it a moment earlier (SABR §3.2.6.9 a)', () => {
    const plan = loadHdtn('hdtn-cgrTutorial.json');
    expect(findRoutes(plan, { from: 1, to: 5, atSec: 0, sizeBytes: 0, k: 7, deadlineSec: 11 }).map((r) => r.arrivalSec)).toEqual([3, 4, 11]);
    expect(findRoutes(plan, { from: 1, to: 5, atSec: 0, sizeBytes: 0, k: 7, deadlineSec: 10.999 }).map((r) => r.arrivalSec)).toEqual([3, 4]);
  });
});

describe('CGR queries are checked and bounded', () => {
  const plan = loadHdtn('hdtn-cgrTutorial.json');
  const query = { from: 1, to: 5, atSec: 0, sizeBytes: 0 };

  it('refuses malformed queries with ORBITFED_CGR_QUERY', () => {
    expect(codeOf(() => findRoutes(plan, { ...query, k: 0 }))).toBe('ORBITFED_CGR_QUERY');
    expect(codeOf(() => findRoutes(plan, { ...query, k: 65 }))).toBe('ORBITFED_CGR_QUERY');
    expect(codeOf(() => findRoutes(plan, { ...query, to: 1 }))).toBe('ORBITFED_CGR_QUERY');
    expect(codeOf(() => findRoutes(plan, { ...query, sizeBytes: -1 }))).toBe('ORBITFED_CGR_QUERY');
    expect(codeOf(() => findRoutes(plan, { ...query, atSec: Number.NaN }))).toBe('ORBITFED_CGR_QUERY');
  });

  it('stops with ORBITFED_CGR_WORK_LIMIT when the label expansions would exceed the bound', () => {
    expect(codeOf(() => findRoutes(plan, { ...query, k: 7, labelExpansionsMax: 5 }))).toBe('ORBITFED_CGR_WORK_LIMIT');
    expect(findRoutes(plan, { ...query, k: 7, labelExpansionsMax: 500 })).toHaveLength(7);
  });

  it('returns no route for nodes without contacts in the plan', () => {
    expect(findRoutes(plan, { ...query, to: 99 })).toEqual([]);
  });

  it('gives the same best route through bestRoute and findRoutes', () => {
    expect(bestRoute(plan, query)).toEqual(findRoutes(plan, query)[0]);
  });
});

/**
 * Tunings that send small plans down every path of the search (SEARCH_TUNING would answer them all
 * in its first, plain search): the bounded search from the first expansion, with bounds from the
 * least hop out of each node only, from a backward search stopped early and advanced slowly, and
 * from a complete one; windows starting a second long; and a switch from the constant bound midway.
 */
const TUNINGS: readonly (SearchTuning & { readonly name: string })[] = [
  { name: 'hop bounds only', probeScansMax: 0, remainingScansFirst: 0, remainingScansPerScan: 0, windowFirstSec: 1 },
  { name: 'backward search stopped early', probeScansMax: 0, remainingScansFirst: 3, remainingScansPerScan: 0.25, windowFirstSec: 1 },
  { name: 'complete backward search', probeScansMax: 0, remainingScansFirst: 1e9, remainingScansPerScan: 0, windowFirstSec: 0.5 },
  { name: 'bounds switched midway', probeScansMax: 4, remainingScansFirst: 2, remainingScansPerScan: 1, windowFirstSec: 2 },
];

interface RandomQuery {
  readonly plan: ContactPlan;
  readonly query: RouteQuery;
  readonly where: string;
}

/** PLANS random small plans with bookings, and 3 queries on each (node numbers out of order, integer times, power-of-two rates). */
function* randomSmallQueries(seed: number, plans: number): Generator<RandomQuery> {
  const random = seededRng(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  for (let p = 0; p < plans; p++) {
    // Node numbers out of order, so that destinations below the source and large ipn numbers occur.
    const nodes = [3, 17, 1, 250, 42, 9, 5, 77].slice(0, 3 + Math.floor(random() * 6));
    const contacts: Contact[] = [];
    const contactCount = 1 + Math.floor(random() * 28);
    for (let i = 0; i < contactCount; i++) {
      const from = pick(nodes);
      const to = pick(nodes.filter((n) => n !== from));
      const startSec = Math.floor(random() * 30);
      // Rates are powers of two, so that sizes and backlogs divide exactly and ties are real ties.
      contacts.push({ from, to, startSec, endSec: startSec + Math.floor(random() * 30), rateBytesPerSec: pick([0, 1, 2, 4, 8, 8]), owltSec: pick([0, 0, 1, 2]), confidence: 1 });
    }
    const plan = planOf(contacts);
    const bookings = new ContactBookings(plan);
    for (let i = 0; i < plan.contacts.length; i++) {
      if (random() < 0.3) bookings.book([i], Math.floor(random() * (bookings.residualBytes(i) + 1)));
    }
    for (let trial = 0; trial < 3; trial++) {
      const from = pick(nodes);
      const query: RouteQuery = {
        from, to: pick(nodes.filter((n) => n !== from)), atSec: Math.floor(random() * 30), sizeBytes: pick([0, 0, 1, 3, 10]),
        deadlineSec: random() < 0.25 ? 20 + Math.floor(random() * 40) : undefined, k: 1 + Math.floor(random() * 12),
        bookings: random() < 0.5 ? bookings : undefined,
      };
      yield { plan, query, where: `seed ${seed}, plan ${p}, trial ${trial}: ${JSON.stringify({ ...query, bookings: query.bookings !== undefined })}` };
    }
  }
}

/** Checks `routes` against every loopless route; returns how many routes were compared. */
function expectBruteForce(plan: ContactPlan, query: RouteQuery, routes: readonly Route[], where: string): number {
  const expected = allRoutes(plan, query);
  // The k best (arrival, hops, last contact's end), in order — ties among them may come in any order.
  expect(routes.map((r) => [r.arrivalSec, r.hops.length, r.hops[r.hops.length - 1]!.endSec]), where)
    .toEqual(expected.slice(0, query.k).map((r) => [r.arrivalSec, r.contacts.length, r.lastEndSec]));
  // Each route is one of the brute force's, with the same times hop by hop, and none twice.
  expect(new Set(routes.map((r) => r.hops.map((h) => h.contact).join(','))).size, where).toBe(routes.length);
  for (const route of routes) {
    const same = expected.find((e) => e.contacts.join(',') === route.hops.map((h) => h.contact).join(','));
    expect(same, where).toBeDefined();
    expect(route.hops.map((h) => [h.txStartSec, h.arrivalSec]), where).toEqual(same!.contacts.map((_, i) => [same!.txStartSec[i], same!.hopArrivalSec[i]]));
  }
  return routes.length;
}

describe('CGR against a brute-force search of every loopless route on random small plans', () => {
  const SEED = Number(process.env.ORBITFED_CGR_SEED ?? 20_210_174);
  const PLANS = 400;

  it(`agrees on ${PLANS} random plans, with sizes, bookings, deadlines and k (seed ${SEED})`, () => {
    console.log(`cgr property test: seed ${SEED} (replay with ORBITFED_CGR_SEED=${SEED})`);
    let routesCompared = 0;
    for (const { plan, query, where } of randomSmallQueries(SEED, PLANS)) routesCompared += expectBruteForce(plan, query, findRoutes(plan, query), where);
    expect(routesCompared).toBeGreaterThan(PLANS);
  });

  it.each(TUNINGS)(`agrees on the same plans when the bounded search answers: $name (seed ${SEED})`, (tuning) => {
    let routesCompared = 0;
    for (const { plan, query, where } of randomSmallQueries(SEED, PLANS)) {
      routesCompared += expectBruteForce(plan, query, findRoutesTuned(plan, query, tuning), `${tuning.name}, ${where}`);
    }
    expect(routesCompared).toBeGreaterThan(PLANS);
  });
});

describe('CGR\'s bounded search (backward bounds, time windows) on larger random plans', () => {
  const SEED = Number(process.env.ORBITFED_CGR_SEED ?? 20_210_174);
  const PLANS = 60;

  /**
   * Plans shaped like a constellation's: 24 nodes, a day of contacts of a few minutes, fractional
   * times, and light times that are often equal (ISL windows end at the maximum range), so that
   * many routes tie on arrival.
   */
  function randomLargerPlan(random: () => number): ContactPlan {
    const contacts: Contact[] = [];
    for (let i = 0; i < 1500; i++) {
      const from = 1 + Math.floor(random() * 24);
      const to = 1 + ((from + Math.floor(random() * 23)) % 24);
      const startSec = random() * 86_400;
      contacts.push({ from, to, startSec, endSec: startSec + 30 + random() * 900, rateBytesPerSec: random() < 0.2 ? 8000 : 1_250_000, owltSec: random() < 0.7 ? 0.0167 : random() * 0.02, confidence: 1 });
    }
    return planOf(contacts);
  }

  it(`finds the earliest arrival and fewest hops of the brute force, whatever the tuning (seed ${SEED})`, () => {
    const random = seededRng(SEED);
    let routed = 0;
    for (let p = 0; p < PLANS; p++) {
      const plan = randomLargerPlan(random);
      const from = 1 + Math.floor(random() * 24);
      const to = 1 + ((from + Math.floor(random() * 23)) % 24);
      const atSec = random() * 80_000;
      const sizeBytes = random() < 0.5 ? 0 : 100_000;
      const where = `seed ${SEED}, plan ${p}: ${from}→${to} at ${atSec} s, ${sizeBytes} bytes`;
      const expected = earliestByRounds(plan, from, to, atSec, sizeBytes);
      const best = bestRoute(plan, { from, to, atSec, sizeBytes });
      const key = (r: Route | undefined): unknown => (r === undefined ? undefined : [r.arrivalSec, r.hops.length, r.hops[r.hops.length - 1]!.endSec]);
      expect(best === undefined ? undefined : { arrivalSec: best.arrivalSec, hops: best.hops.length }, where).toEqual(expected);
      for (const tuning of TUNINGS) {
        expect(key(findRoutesTuned(plan, { from, to, atSec, sizeBytes }, tuning)[0]), `${tuning.name}, ${where}`).toEqual(key(best));
        // A deadline just before the best arrival leaves only later routes: none.
        if (best !== undefined) expect(findRoutesTuned(plan, { from, to, atSec, sizeBytes, deadlineSec: best.arrivalSec - 1e-6 }, tuning), where).toEqual([]);
      }
      if (best !== undefined) routed++;
    }
    expect(routed).toBeGreaterThan(PLANS / 2);
  });

  it('gives HDTN\'s reference answers and the brute force\'s on its 100-node plan whatever the tuning', () => {
    const plan = loadHdtn('hdtn-100nodes.json');
    const random = seededRng(734);
    const nodes = plan.nodes.map((n) => n.ipn);
    for (const tuning of TUNINGS) {
      expect(findRoutesTuned(plan, { from: 20, to: 40, atSec: 0, sizeBytes: 0 }, tuning)[0]?.arrivalSec, tuning.name).toBe(2);
    }
    for (let i = 0; i < 20; i++) {
      const from = nodes[Math.floor(random() * nodes.length)]!;
      const others = nodes.filter((n) => n !== from);
      const to = others[Math.floor(random() * others.length)]!;
      const atSec = Math.floor(random() * 86_400);
      const expected = earliestByRounds(plan, from, to, atSec, 0);
      for (const tuning of TUNINGS) {
        const route = findRoutesTuned(plan, { from, to, atSec, sizeBytes: 0 }, tuning)[0];
        expect(route === undefined ? undefined : { arrivalSec: route.arrivalSec, hops: route.hops.length }, `${tuning.name}: ${from}→${to} at ${atSec} s`).toEqual(expected);
      }
    }
  });
});
