// Contact Graph Routing: the earliest-arrival routes of a bundle through a contact plan, as SABR
// (CCSDS 734.3-B-1, "Schedule-Aware Bundle Routing", §3.2) specifies them and Fraire, De Jonckère &
// Burleigh, "Routing in the Space Internet: a contact graph routing tutorial" (JNCA 174, 2021)
// explains them. Pure: a plan, a query and optional bookings in, plain routes out.
//
// Semantics (each choice cites where it comes from):
// - The contact graph's vertices are contacts (SABR §3.2.1); a route is a sequence of contacts, the
//   first from the source, each from the node the previous one reached, the last to the destination.
// - Transmission on contact c starts at its *earliest transmission opportunity* (SABR §3.2.6.9 d):
//   txStart = max(arrival at c.from, c.start) + booked(c) / c.rate. SABR applies this backlog lien to
//   the first hop, where the local queue is known; we know, for every contact, the bytes already
//   booked on it (ContactBookings), and assume conservatively that all of them are still queued
//   ahead of this bundle. txEnd = txStart + size / c.rate (SABR §3.2.6.8: last byte transmission
//   time), arrival = txEnd + c.owlt (SABR §3.2.4.1.2; OWLT margin 0).
// - A contact is usable iff its rate is positive, txStart < c.end, txEnd ≤ c.end and its residual
//   volume (capacity − booked) ≥ size. SABR computes routes with §3.2.4.1.1 ("no contact whose end
//   time is before its earliest transmission time shall be included", which alone would admit a
//   contact ending exactly at the arrival), but then ignores every depleted route (§3.2.6.9 f):
//   a hop's effective volume limit is (effective stop − first byte transmission time) × rate
//   (§3.2.6.8.9), so a contact reached exactly at its end, a zero-length or zero-rate contact, and
//   a fully booked one can carry nothing. HDTN's libcgr `dijkstra` and pyCGR (the tutorial's code)
//   agree: they skip `contact.end <= arrival_time` and contacts without volume; HDTN's
//   `cmr_dijkstra` does not (nasa/HDTN issue #71). §3.2.6.9 g (route volume limit ≥ the bundle's
//   estimated volume consumption) is the txEnd ≤ c.end test hop by hop; the size is taken as given
//   (add any overhead estimate, such as the 3 % ION and pyCGR add, before asking).
// - Routes arriving after the deadline are excluded (SABR §3.2.6.9 a/e: "after" — arriving exactly
//   at the deadline is fine). A route never revisits a node (SABR §3.2.6.10 cites Yen's *loopless*
//   paths; §3.2.6.9 c forbids returning to the source).
// - Best route: the order of SABR §3.2.8.1.4 a) — earliest arrival, then fewest hops, then the
//   latest termination time (the earliest end among its contacts: the route that stays usable
//   longest), then the smallest entry node (first hop's receiver); we add the contact indices,
//   compared in order, so that the order is total. HDTN's libcgr has no hop-count key (nasa/HDTN
//   issue #70), so where several routes tie on arrival HDTN may pick another.
// - The search is a label-setting (Dijkstra-like) search whose labels are Pareto sets per node over
//   (arrival ↑, hops ↑, termination ↓); labels are settled in that lexicographic order, so the first
//   label to reach the destination is best on the first three keys exactly — a plain earliest-
//   arrival Dijkstra keeps one label per contact or node and can lose the fewer-hops route when a
//   later contact start absorbs an earlier arrival. Arrival is non-decreasing along a route and
//   hops grow by one, so a label never precedes its parent. A path that revisits a node is always
//   dominated by its shortcut, so loops never survive; the result is still checked.
// - k routes: Yen's algorithm over the contact graph (SABR §3.2.6.10: "the next best route … shall
//   be computed by identifying the shortest path … excluding all previously identified paths",
//   citing Yen; HDTN's libcgr `yen` and pyCGR's `cgr_yen` do the same). On the tutorial's plan from
//   1 to 5 at t=0 Yen yields all 7 routes, delivered at 3, 4, 11, 31, 31, 51, 51, which is what
//   HDTN's TestYen.cpp expects; ION's first-hop suppression would stop after 3, 4, 11. Routes come
//   best first; among routes tied on arrival, hops and termination the order by entry node and
//   contact indices is applied to the routes found, not guaranteed to be the global one.
// - Contact confidence is not used (SABR route selection does not use it either).
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import type { ContactBookings } from './contact-bookings.ts';
import type { ContactPlan } from './contact-plan.ts';

/** Routes one query may ask for at most (`k`). */
export const ROUTES_MAX = 64;
/**
 * Label expansions one `findRoutes` call may make, summed over its searches, by default. A label
 * expansion scans the contacts out of one node from one arrival time (about 2 µs on HDTN's
 * 100-node plan). The worst of 200 random queries on that plan needed 206 for k = 1, 2,536 for
 * k = 7 and 23,807 for k = 64. Beyond the bound the query fails with `ORBITFED_CGR_WORK_LIMIT`.
 */
export const LABEL_EXPANSIONS_MAX = 1_000_000;
/** Labels one search may hold (60 bytes each, kept for the plan's next query); beyond it `ORBITFED_CGR_WORK_LIMIT`. */
export const LABELS_MAX = 1_000_000;

export interface RouteHop {
  /** Index of the contact in `plan.contacts`. */
  readonly contact: number;
  readonly from: number;
  readonly to: number;
  readonly startSec: number;
  readonly endSec: number;
  /** Earliest transmission opportunity of the bundle's first byte on this contact. */
  readonly txStartSec: number;
  /** When the bundle's last byte reaches `to`. */
  readonly arrivalSec: number;
}

export interface Route {
  /** When the bundle's last byte reaches the destination (the last hop's arrival). */
  readonly arrivalSec: number;
  /** Termination time (SABR §1.4): the earliest end time among the route's contacts. */
  readonly terminationSec: number;
  readonly hops: readonly RouteHop[];
}

export interface RouteQuery {
  /** Source ipn node number. */
  readonly from: number;
  /** Destination ipn node number. */
  readonly to: number;
  /** When the bundle is at the source, ready to go (plan time base, seconds). */
  readonly atSec: number;
  /** Bundle size; 0 routes the first byte (as HDTN's libcgr, which ignores size). */
  readonly sizeBytes: number;
  /** Latest acceptable arrival (inclusive); none by default. */
  readonly deadlineSec?: number | undefined;
  /** How many routes, 1 … ROUTES_MAX (default 1). */
  readonly k?: number | undefined;
  /** Volume already booked on the plan's contacts (must belong to the same plan). */
  readonly bookings?: ContactBookings | undefined;
  /** Override of LABEL_EXPANSIONS_MAX for this call (1 … LABEL_EXPANSIONS_MAX). */
  readonly labelExpansionsMax?: number | undefined;
}

/**
 * The plan in typed arrays: dense node numbers, and each node's outgoing contacts ordered by end,
 * their attributes laid out in that order so that a search reads them sequentially.
 */
interface ContactGraph {
  readonly nodeByIpn: ReadonlyMap<number, number>;
  readonly ipnOfNode: Float64Array;
  /** Contacts out of node n sit at positions outOffset[n] … outOffset[n + 1] − 1, ordered by end time. */
  readonly outOffset: Int32Array;
  /** Per position: the contact's index in the plan, its receiving node, times, rate and light time. */
  readonly outContact: Int32Array;
  readonly outToNode: Int32Array;
  readonly outStartSec: Float64Array;
  readonly outEndSec: Float64Array;
  readonly outRateBytesPerSec: Float64Array;
  readonly outOwltSec: Float64Array;
  readonly work: Workspace;
}

/**
 * Scratch memory for searches on one graph, reused from query to query (queries are synchronous,
 * so one at a time): labels as parallel typed arrays, a binary heap of label indices, and marks.
 * It grows by doubling up to LABELS_MAX and is not shrunk: a plan keeps its largest search's size.
 */
class Workspace {
  capacity = 0;
  count = 0;
  node = new Int32Array(0);
  arrivalSec = new Float64Array(0);
  hops = new Int32Array(0);
  terminationSec = new Float64Array(0);
  /** ipn of the route's first receiver; NaN for the root label. */
  entryIpn = new Float64Array(0);
  contact = new Int32Array(0);
  parent = new Int32Array(0);
  txStartSec = new Float64Array(0);
  /** Next settled label at the same node (a list per node, headed by settledHead). */
  nextSettled = new Int32Array(0);
  /** Next label created at the same node (a list per node, headed by labelledHead). */
  nextLabelled = new Int32Array(0);
  heap = new Int32Array(0);
  heapSize = 0;
  readonly settledHead: Int32Array;
  readonly labelledHead: Int32Array;
  readonly forbiddenNode: Uint8Array;
  readonly removedContact: Uint8Array;
  expansions = 0;
  expansionsMax = LABEL_EXPANSIONS_MAX;
  /** Whether termination takes part in dominance (the second pass) or not (the first). */
  withTermination = true;

  constructor(nodeCount: number, contactCount: number) {
    this.settledHead = new Int32Array(nodeCount).fill(-1);
    this.labelledHead = new Int32Array(nodeCount).fill(-1);
    this.forbiddenNode = new Uint8Array(nodeCount);
    this.removedContact = new Uint8Array(contactCount);
    this.grow(1024);
  }

  grow(capacity: number): void {
    if (capacity > LABELS_MAX) {
      throw new OrbitfedError('ORBITFED_CGR_WORK_LIMIT', `a route search needs more than ${LABELS_MAX} labels`);
    }
    const copy = <T extends Int32Array | Float64Array>(old: T, fresh: T): T => {
      fresh.set(old);
      return fresh;
    };
    this.node = copy(this.node, new Int32Array(capacity));
    this.arrivalSec = copy(this.arrivalSec, new Float64Array(capacity));
    this.hops = copy(this.hops, new Int32Array(capacity));
    this.terminationSec = copy(this.terminationSec, new Float64Array(capacity));
    this.entryIpn = copy(this.entryIpn, new Float64Array(capacity));
    this.contact = copy(this.contact, new Int32Array(capacity));
    this.parent = copy(this.parent, new Int32Array(capacity));
    this.txStartSec = copy(this.txStartSec, new Float64Array(capacity));
    this.nextSettled = copy(this.nextSettled, new Int32Array(capacity));
    this.nextLabelled = copy(this.nextLabelled, new Int32Array(capacity));
    this.heap = copy(this.heap, new Int32Array(capacity));
    this.capacity = capacity;
  }

  /** Whether label a comes before label b: arrival ↑, hops ↑, termination ↓, entry node ↑, then creation order. */
  before(a: number, b: number): boolean {
    const arrivalA = this.arrivalSec[a]!;
    const arrivalB = this.arrivalSec[b]!;
    if (arrivalA !== arrivalB) return arrivalA < arrivalB;
    const hopsA = this.hops[a]!;
    const hopsB = this.hops[b]!;
    if (hopsA !== hopsB) return hopsA < hopsB;
    const terminationA = this.terminationSec[a]!;
    const terminationB = this.terminationSec[b]!;
    if (terminationA !== terminationB) return terminationA > terminationB;
    const entryA = this.entryIpn[a]!;
    const entryB = this.entryIpn[b]!;
    if (entryA !== entryB) return entryA < entryB;
    return a < b;
  }

  push(label: number): void {
    const heap = this.heap;
    let i = this.heapSize++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.before(label, heap[up]!)) break;
      heap[i] = heap[up]!;
      i = up;
    }
    heap[i] = label;
  }

  pop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap[--this.heapSize]!;
    const size = this.heapSize;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && this.before(heap[child + 1]!, heap[child]!)) child += 1;
      if (!this.before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    if (size > 0) heap[i] = last;
    return top;
  }

  /** Whether a label in the list from `first` (linked by `next`) is at least as good on arrival, hops and (in the second pass) termination. */
  dominatedIn(first: number, next: Int32Array, arrivalSec: number, hops: number, terminationSec: number): boolean {
    for (let s = first; s !== -1; s = next[s]!) {
      if (this.arrivalSec[s]! <= arrivalSec && this.hops[s]! <= hops
        && (!this.withTermination || this.terminationSec[s]! >= terminationSec)) return true;
    }
    return false;
  }
}

/** Derived data only, keyed by the (immutable) plan and dropped with it: results never depend on it. */
const graphs = new WeakMap<ContactPlan, ContactGraph>();

/** The plan's typed-array graph, built on the plan's first query (about 3 ms for 28,162 contacts). */
function graphOf(plan: ContactPlan): ContactGraph {
  const cached = graphs.get(plan);
  if (cached !== undefined) return cached;
  const contacts = plan.contacts;
  const nodeByIpn = new Map<number, number>(plan.nodes.map((n, i) => [n.ipn, i]));
  const nodeCount = plan.nodes.length;
  // The plan already orders each node's outgoing contacts by end time (then index).
  const outOffset = new Int32Array(nodeCount + 1);
  const outContact = new Int32Array(contacts.length);
  plan.nodes.forEach((n, i) => {
    const outgoing = plan.outgoingEndingAfter(n.ipn, -Infinity);
    outContact.set(outgoing, outOffset[i]!);
    outOffset[i + 1] = outOffset[i]! + outgoing.length;
  });
  assert.equal(outOffset[nodeCount], contacts.length, 'every contact leaves from a node of the plan');
  const count = contacts.length;
  const outToNode = new Int32Array(count);
  const outStartSec = new Float64Array(count);
  const outEndSec = new Float64Array(count);
  const outRateBytesPerSec = new Float64Array(count);
  const outOwltSec = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const c = contacts[outContact[i]!]!;
    outToNode[i] = nodeByIpn.get(c.to)!;
    outStartSec[i] = c.startSec;
    outEndSec[i] = c.endSec;
    outRateBytesPerSec[i] = c.rateBytesPerSec;
    outOwltSec[i] = c.owltSec;
  }
  const graph: ContactGraph = {
    nodeByIpn,
    ipnOfNode: Float64Array.from(plan.nodes, (n) => n.ipn),
    outOffset,
    outContact,
    outToNode,
    outStartSec,
    outEndSec,
    outRateBytesPerSec,
    outOwltSec,
    work: new Workspace(nodeCount, count),
  };
  graphs.set(plan, graph);
  return graph;
}

interface Checked {
  readonly atSec: number;
  readonly sizeBytes: number;
  readonly deadlineSec: number;
  readonly k: number;
  readonly bookings: ContactBookings | undefined;
  readonly labelExpansionsMax: number;
}

function queryError(field: string, message: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_CGR_QUERY', message, { field });
}

function checkQuery(plan: ContactPlan, q: RouteQuery): Checked {
  for (const field of ['from', 'to'] as const) {
    if (!Number.isSafeInteger(q[field]) || q[field] < 0) throw queryError(field, `must be an ipn node number (got ${q[field]})`);
  }
  if (q.from === q.to) throw queryError('to', `source and destination are both ipn:${q.from}: nothing to route`);
  if (!Number.isFinite(q.atSec)) throw queryError('atSec', `must be a finite time (got ${q.atSec})`);
  if (!Number.isFinite(q.sizeBytes) || q.sizeBytes < 0) throw queryError('sizeBytes', `must be ≥ 0 bytes (got ${q.sizeBytes})`);
  if (q.deadlineSec !== undefined && Number.isNaN(q.deadlineSec)) throw queryError('deadlineSec', 'must be a time');
  const k = q.k ?? 1;
  if (!Number.isInteger(k) || k < 1 || k > ROUTES_MAX) throw queryError('k', `must be a whole number 1 … ${ROUTES_MAX} (got ${k})`);
  const labelExpansionsMax = q.labelExpansionsMax ?? LABEL_EXPANSIONS_MAX;
  if (!Number.isInteger(labelExpansionsMax) || labelExpansionsMax < 1 || labelExpansionsMax > LABEL_EXPANSIONS_MAX) {
    throw queryError('labelExpansionsMax', `must be a whole number 1 … ${LABEL_EXPANSIONS_MAX} (got ${labelExpansionsMax})`);
  }
  if (q.bookings !== undefined && q.bookings.planHash !== plan.hash) {
    throw new OrbitfedError('ORBITFED_CGR_BOOKINGS_PLAN', `bookings belong to plan ${q.bookings.planHash.slice(0, 12)}…, not to this plan ${plan.hash.slice(0, 12)}…`, { field: 'bookings' });
  }
  return { atSec: q.atSec, sizeBytes: q.sizeBytes, deadlineSec: q.deadlineSec ?? Infinity, k, bookings: q.bookings, labelExpansionsMax };
}

/** Where a search starts: the source at the query time, or the end of a route prefix (Yen's root path). */
interface SearchStart {
  readonly node: number;
  readonly arrivalSec: number;
  readonly hops: number;
  readonly terminationSec: number;
  readonly entryIpn: number;
}

function newLabel(w: Workspace, node: number, arrivalSec: number, hops: number, terminationSec: number, entryIpn: number, contact: number, parent: number, txStartSec: number): number {
  if (w.count === w.capacity) w.grow(w.capacity * 2);
  const label = w.count++;
  w.node[label] = node;
  w.arrivalSec[label] = arrivalSec;
  w.hops[label] = hops;
  w.terminationSec[label] = terminationSec;
  w.entryIpn[label] = entryIpn;
  w.contact[label] = contact;
  w.parent[label] = parent;
  w.txStartSec[label] = txStartSec;
  w.nextSettled[label] = -1;
  w.nextLabelled[label] = w.labelledHead[node]!;
  w.labelledHead[node] = label;
  return label;
}

function settle(w: Workspace, label: number): void {
  const node = w.node[label]!;
  w.nextSettled[label] = w.settledHead[node]!;
  w.settledHead[node] = label;
}

/**
 * Best path from `start` to `destination` avoiding the workspace's forbidden nodes and removed
 * contacts, arriving by `arrivalMaxSec` in at most `hopsMax` hops: the index of its label at the
 * destination, or -1. Without `withTermination` the labels are Pareto sets over (arrival, hops)
 * only: the arrival and hop count of the result are still exact, its termination need not be.
 */
function searchBest(g: ContactGraph, q: Checked, start: SearchStart, destination: number, arrivalMaxSec: number, hopsMax: number, withTermination: boolean): number {
  const w = g.work;
  w.withTermination = withTermination;
  w.count = 0;
  w.heapSize = 0;
  w.settledHead.fill(-1);
  w.labelledHead.fill(-1);
  const size = q.sizeBytes;
  const bookings = q.bookings;
  // Arrivals after this cannot be useful: the deadline, the bound asked for, or a route to the
  // destination already labelled.
  let bestArrivalSec = Math.min(q.deadlineSec, arrivalMaxSec);
  let label = newLabel(w, start.node, start.arrivalSec, start.hops, start.terminationSec, start.entryIpn, -1, -1, Number.NaN);
  // Bounded: every turn expands a label or discards one, labels are capped by LABELS_MAX and
  // expansions by the query's labelExpansionsMax.
  for (;;) {
    settle(w, label);
    if (++w.expansions > w.expansionsMax) {
      throw new OrbitfedError('ORBITFED_CGR_WORK_LIMIT', `route search exceeded ${w.expansionsMax} label expansions`);
    }
    const node = w.node[label]!;
    const arrivalSec = w.arrivalSec[label]!;
    const hops = w.hops[label]! + 1;
    const terminationSec = w.terminationSec[label]!;
    const entryIpn = w.entryIpn[label]!;
    // First contact out of `node` that ends after the arrival (the others cannot carry anything).
    let lo = g.outOffset[node]!;
    let hi = g.outOffset[node + 1]!;
    const end = hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (g.outEndSec[mid]! <= arrivalSec) lo = mid + 1;
      else hi = mid;
    }
    for (let i = hops <= hopsMax ? lo : end; i < end; i++) {
      // Arrival over this contact is at least its start plus its light time.
      const startSec = g.outStartSec[i]!;
      const owltSec = g.outOwltSec[i]!;
      if (startSec + owltSec > bestArrivalSec) continue;
      const next = g.outToNode[i]!;
      // A label elsewhere than at the destination needs one more hop at least.
      if (w.forbiddenNode[next] === 1 || (next !== destination && hops >= hopsMax)) continue;
      const c = g.outContact[i]!;
      const rate = g.outRateBytesPerSec[i]!;
      if (w.removedContact[c] === 1 || !(rate > 0)) continue;
      let txStartSec = Math.max(arrivalSec, startSec);
      if (bookings !== undefined) {
        if (bookings.residualBytes(c) < size) continue;
        const booked = bookings.bookedBytes(c);
        if (booked > 0) txStartSec += booked / rate;
      }
      const txEndSec = size > 0 ? txStartSec + size / rate : txStartSec;
      const contactEndSec = g.outEndSec[i]!;
      if (!(txStartSec < contactEndSec && txEndSec <= contactEndSec)) continue;
      const nextArrivalSec = txEndSec + owltSec;
      if (nextArrivalSec > bestArrivalSec) continue;
      const nextTerminationSec = Math.min(terminationSec, contactEndSec);
      // A label created earlier at `next` that is at least as good will be settled first (or be
      // discarded for a label that also beats this one), so this one would be discarded.
      if (w.dominatedIn(w.labelledHead[next]!, w.nextLabelled, nextArrivalSec, hops, nextTerminationSec)) continue;
      const nextEntryIpn = Number.isNaN(entryIpn) ? g.ipnOfNode[next]! : entryIpn;
      if (next === destination) bestArrivalSec = nextArrivalSec;
      w.push(newLabel(w, next, nextArrivalSec, hops, nextTerminationSec, nextEntryIpn, c, label, txStartSec));
    }
    // Next label to settle: the first in (arrival, hops, termination, …) order that no settled label dominates.
    for (;;) {
      if (w.heapSize === 0) return -1;
      label = w.pop();
      const at = w.node[label]!;
      if (w.arrivalSec[label]! > bestArrivalSec) continue;
      if (at === destination) return label;
      if (!w.dominatedIn(w.settledHead[at]!, w.nextSettled, w.arrivalSec[label]!, w.hops[label]!, w.terminationSec[label]!)) break;
    }
  }
}

/** The hops of the path ending at `label`, back to the search's start. */
function hopsOf(plan: ContactPlan, w: Workspace, label: number): RouteHop[] {
  const hops: RouteHop[] = [];
  for (let l = label; w.parent[l] !== -1; l = w.parent[l]!) {
    const contact = w.contact[l]!;
    const c = plan.contacts[contact]!;
    hops.push(Object.freeze({ contact, from: c.from, to: c.to, startSec: c.startSec, endSec: c.endSec, txStartSec: w.txStartSec[l]!, arrivalSec: w.arrivalSec[l]! }));
  }
  return hops.reverse();
}

function routeOf(hops: readonly RouteHop[]): Route {
  assert.ok(hops.length > 0, 'a route has at least one hop');
  const seen = new Set<number>([hops[0]!.from]);
  let terminationSec = Infinity;
  hops.forEach((h, i) => {
    assert.ok(i === 0 || h.from === hops[i - 1]!.to, 'each hop leaves from where the previous one arrived');
    assert.ok(!seen.has(h.to), `route revisits ipn:${h.to}`);
    assert.ok(i === 0 || h.arrivalSec >= hops[i - 1]!.arrivalSec, 'arrival never decreases along a route');
    seen.add(h.to);
    terminationSec = Math.min(terminationSec, h.endSec);
  });
  return Object.freeze({ arrivalSec: hops[hops.length - 1]!.arrivalSec, terminationSec, hops: Object.freeze([...hops]) });
}

/** Route order: SABR §3.2.8.1.4 a) (arrival ↑, hops ↑, termination ↓, entry node ↑), then contact indices. */
export function compareRoutes(a: Route, b: Route): number {
  if (a.arrivalSec !== b.arrivalSec) return a.arrivalSec < b.arrivalSec ? -1 : 1;
  if (a.hops.length !== b.hops.length) return a.hops.length - b.hops.length;
  if (a.terminationSec !== b.terminationSec) return a.terminationSec > b.terminationSec ? -1 : 1;
  if (a.hops[0]!.to !== b.hops[0]!.to) return a.hops[0]!.to - b.hops[0]!.to;
  for (let i = 0; i < a.hops.length; i++) {
    if (a.hops[i]!.contact !== b.hops[i]!.contact) return a.hops[i]!.contact - b.hops[i]!.contact;
  }
  return 0;
}

const keyOf = (route: Route): string => route.hops.map((h) => h.contact).join(',');

/** Best route from the source through the prefix `root` (Yen's root path) arriving by `boundSec`, or undefined. */
function bestThrough(plan: ContactPlan, g: ContactGraph, q: Checked, source: number, destination: number, root: readonly RouteHop[], boundSec: number): Route | undefined {
  const last = root[root.length - 1];
  const start: SearchStart = {
    node: last === undefined ? source : g.nodeByIpn.get(last.to)!,
    arrivalSec: last === undefined ? q.atSec : last.arrivalSec,
    hops: root.length,
    terminationSec: root.reduce((t, h) => Math.min(t, h.endSec), Infinity),
    entryIpn: root.length === 0 ? Number.NaN : root[0]!.to,
  };
  // Two passes. Labels that differ in termination rarely dominate one another (a later contact
  // arrives later but ends later), so the exact search is run only once the first pass, over
  // (arrival, hops), has found the best arrival and hop count, which bound it tightly.
  const first = searchBest(g, q, start, destination, boundSec, Number.MAX_SAFE_INTEGER, false);
  if (first === -1) return undefined;
  const arrivalSec = g.work.arrivalSec[first]!;
  const hops = g.work.hops[first]!;
  const label = searchBest(g, q, start, destination, arrivalSec, hops, true);
  assert.ok(label !== -1 && g.work.arrivalSec[label] === arrivalSec && g.work.hops[label] === hops, 'both passes agree on arrival and hops');
  return routeOf([...root, ...hopsOf(plan, g.work, label)]);
}

/**
 * Up to `k` routes from `from` to `to`, best first (see the order above). Empty when there is none,
 * or when either node has no contacts in the plan. Throws `ORBITFED_CGR_QUERY` for a malformed query,
 * `ORBITFED_CGR_BOOKINGS_PLAN` for bookings of another plan and `ORBITFED_CGR_WORK_LIMIT` when the
 * search would exceed its bounds.
 */
export function findRoutes(plan: ContactPlan, query: RouteQuery): Route[] {
  const q = checkQuery(plan, query);
  const g = graphOf(plan);
  const source = g.nodeByIpn.get(query.from);
  const destination = g.nodeByIpn.get(query.to);
  if (source === undefined || destination === undefined) return [];
  const w = g.work;
  w.expansions = 0;
  w.expansionsMax = q.labelExpansionsMax;
  w.forbiddenNode.fill(0);
  w.forbiddenNode[source] = 1;
  const first = bestThrough(plan, g, q, source, destination, [], Infinity);
  if (first === undefined) return [];
  const found: Route[] = [first];
  /** Where each found route left the route it was derived from (Lawler's refinement of Yen). */
  const deviation: number[] = [0];
  const candidates: { readonly route: Route; readonly deviation: number }[] = [];
  const known = new Set<string>([keyOf(first)]);
  // Yen's algorithm: each new route deviates from the last one found at one of its nodes (the spur),
  // keeping its prefix (the root) and avoiding the contacts earlier routes took from that root.
  // Lawler: spurs before the last route's own deviation were explored for its ancestors already.
  while (found.length < q.k) {
    const last = found[found.length - 1]!;
    for (let spur = deviation[deviation.length - 1]!; spur < last.hops.length; spur++) {
      const root = last.hops.slice(0, spur);
      const removed = found.filter((r) => r.hops.length > spur && root.every((h, i) => r.hops[i]!.contact === h.contact)).map((r) => r.hops[spur]!.contact);
      for (const c of removed) w.removedContact[c] = 1;
      for (const h of root) w.forbiddenNode[g.nodeByIpn.get(h.to)!] = 1;
      try {
        // Enough candidates already arrive by this time: a later route could never be chosen.
        const needed = q.k - found.length;
        const boundSec = candidates.length < needed ? Infinity
          : candidates.map((c) => c.route.arrivalSec).sort((a, b) => a - b)[needed - 1]!;
        const route = bestThrough(plan, g, q, source, destination, root, boundSec);
        if (route !== undefined && !known.has(keyOf(route))) {
          known.add(keyOf(route));
          candidates.push({ route, deviation: spur });
        }
      } finally {
        for (const c of removed) w.removedContact[c] = 0;
        for (const h of root) w.forbiddenNode[g.nodeByIpn.get(h.to)!] = 0;
      }
    }
    if (candidates.length === 0) break;
    let best = 0;
    for (let i = 1; i < candidates.length; i++) if (compareRoutes(candidates[i]!.route, candidates[best]!.route) < 0) best = i;
    const chosen = candidates.splice(best, 1)[0]!;
    found.push(chosen.route);
    deviation.push(chosen.deviation);
  }
  w.forbiddenNode[source] = 0;
  found.sort(compareRoutes);
  return found;
}

/** The best route (findRoutes with k = 1), or undefined when there is none. */
export function bestRoute(plan: ContactPlan, query: Omit<RouteQuery, 'k'>): Route | undefined {
  return findRoutes(plan, { ...query, k: 1 })[0];
}
