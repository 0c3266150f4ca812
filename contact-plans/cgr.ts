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
// - Best route: earliest arrival, then fewest hops, then the earlier end of the last contact (the
//   order our issue on routing asks for), then the smallest entry node (first hop's receiver, as
//   SABR §3.2.8.1.4 a) ends), then the contact indices compared in order, so that the order is
//   total. SABR's third key is the latest termination (the earliest end among all the route's
//   contacts) instead; every route still reports its termination. HDTN's libcgr has no hop-count
//   key (nasa/HDTN issue #70), so where several routes tie on arrival HDTN may pick another.
// - The search is a label-setting (Dijkstra-like) search whose labels are Pareto sets per node over
//   (arrival ↑, hops ↑), so the first label to reach the destination is best on those two keys
//   exactly — a plain earliest-arrival Dijkstra keeps one label per contact or node and can lose the
//   fewer-hops route when a later contact start absorbs an earlier arrival. A path that revisits a
//   node is always dominated by its shortcut, so loops never survive; the result is still checked.
// - At the destination, labels tied on arrival and hops are kept apart by the last contact's end.
//   That is exact with (arrival, hops) labels elsewhere: a label dominated at an intermediate node
//   can reach the destination only by contacts its dominator can take as early, with no more hops.
// - A*: labels are settled in the order of arrival + a lower bound of the time left to the
//   destination from their node (then hops, …), and a label whose arrival + bound is later than
//   the best arrival found is dropped. That stays exact because the bounds are admissible, less a
//   rounding margin (startRemaining): a label still queued when the destination's label is settled
//   can only lead to a strictly later arrival, or, with a bound of 0, to one with more hops. The
//   dominance tests between labels at one node do not depend on the order.
// - The bounds (firstRoute): a query's search starts with a constant bound, the last hop into the
//   destination. After a few thousand contacts read (SearchTuning) it switches, keeping its labels,
//   to bounds from a backward Dijkstra from the destination over the contacts of a time window,
//   each weighted by its least duration, run alongside the forward search. On a short window only
//   the nodes that meet the destination in it are one hop away: on 1,000 LEO with ISLs, where every
//   satellite meets every station some time in the day but few within a minute, that cuts the
//   labels expanded per query from about 490 to about 120. A window holds only routes arriving
//   within it; when none does, the search starts again over a longer one.
// - Cost: an expansion reads the node's contacts open at its arrival (per duration class, see
//   TimeIndex), and those starting later only while they could still beat the best arrival (the
//   search reads them lazily, in start order, through a continuation queued at their start). So a
//   query's cost grows with the contacts open at a time, not with those a node has in the plan.
// - k routes: Yen's algorithm over the contact graph (SABR §3.2.6.10: "the next best route … shall
//   be computed by identifying the shortest path … excluding all previously identified paths",
//   citing Yen; HDTN's libcgr `yen` and pyCGR's `cgr_yen` do the same). On the tutorial's plan from
//   1 to 5 at t=0 Yen yields all 7 routes, delivered at 3, 4, 11, 31, 31, 51, 51, which is what
//   HDTN's TestYen.cpp expects; ION's first-hop suppression would stop after 3, 4, 11. Routes come
//   best first; among routes tied on arrival, hops and last contact's end the order by entry node and
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
/** Labels one search may hold (80 bytes each, kept for the plan's next query); beyond it `ORBITFED_CGR_WORK_LIMIT`. */
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

/** Per outgoing position, what a relaxation reads beyond the dense start, end and receiver: light time, rate, plan index. */
const RECORD_STRIDE = 3;
const RECORD_OWLT = 0;
const RECORD_RATE = 1;
const RECORD_CONTACT = 2;

/**
 * Duration classes of a node's contacts (class c: duration ≤ 8^c s, the last class the rest). Each
 * class costs an expansion a few cache misses, each scanned contact that already ended one read in
 * a sequential run: factor 8 measured faster than 2 or 4 on 10 million contacts.
 */
const DURATION_CLASSES = 7;
/**
 * Time buckets of the plan's span: for each duration class and each node, where the contacts
 * starting in each bucket begin. A scan for the contacts open at t starts at the bucket of t − the
 * class's longest duration, and the first contact starting after t is a binary search within one
 * bucket rather than over the node's whole day (which, on a plan of 10 million contacts, was a
 * fifth of a query's time, in cache misses).
 */
const TIME_BUCKETS = 256;
/**
 * How findRoutes searches (see firstRoute). findRoutes uses SEARCH_TUNING, measured on the plans of
 * bench/contact-plan-cases.ts; tests call findRoutesTuned with small values so that small plans
 * take every path (the bounded search, bounds from a stopped backward search, several windows).
 */
export interface SearchTuning {
  /**
   * A query's search starts with a constant bound (the last hop into the destination, valid for
   * routes anywhere in the plan) and switches to the backward bounds over a time window after
   * reading this many contacts. Most queries on sparse plans (HDTN's, passes without ISLs) end
   * before, without the cost of setting those up.
   */
  readonly probeScansMax: number;
  /**
   * The backward search for the remaining-time bounds (advanceRemaining) reads this many contacts
   * before the forward search starts, then keeps up with it, reading remainingScansPerScan
   * contacts per contact the forward search reads: so a query that needs many expansions (far
   * apart on 1,000 LEO with ISLs) gets bounds from further away from the destination.
   */
  readonly remainingScansFirst: number;
  readonly remainingScansPerScan: number;
  /**
   * Without a route found before the switch, the first window ends this long after the earliest
   * time the bundle can be past the source, or twice as far as the search got; each next window is
   * WINDOW_GROWTH times longer, up to the whole plan.
   */
  readonly windowFirstSec: number;
}

export const SEARCH_TUNING: SearchTuning = Object.freeze({ probeScansMax: 8192, remainingScansFirst: 1024, remainingScansPerScan: 1, windowFirstSec: 16 });
const WINDOW_GROWTH = 8;
/**
 * A search's switch to other bounds once it has read `scansMax` contacts: `switchBounds`, given the
 * best arrival found and the key of the label being expanded, sets the new bounds and returns the
 * latest arrival they hold for (see firstRoute).
 */
interface BoundsSwitch {
  readonly scansMax: number;
  readonly switchBounds: (bestArrivalSec: number, keySec: number) => number;
}

/**
 * One direction of the plan's contacts, per node: positions offset[n] … offset[n + 1] − 1 hold the
 * contacts out of (or into) node n, grouped by duration class (ascending) and ordered by start
 * within a class. The contacts open at t are found per class: those that start in
 * [t − the class's longest duration, t]. So a scan reads about the contacts open at t, however many
 * the node has in the day.
 */
interface TimeIndex {
  readonly offset: Int32Array;
  readonly startSec: Float64Array;
  readonly endSec: Float64Array;
  /** Node n's non-empty classes are entries classFirst[n] … classFirst[n + 1] − 1: where each ends, and its longest duration. */
  readonly classFirst: Int32Array;
  readonly classEnd: Int32Array;
  readonly classDurationMaxSec: Float64Array;
  /**
   * For class entry k, classBucket[k × (TIME_BUCKETS + 2) + b] is the first position of the class
   * starting at or after bucketStartSec(b), for b = 0 … TIME_BUCKETS, and entry TIME_BUCKETS + 1 is
   * the class's end.
   */
  readonly classBucket: Int32Array;
}

/**
 * The plan in typed arrays: dense node numbers, each node's outgoing contacts laid out so that a
 * search reads them sequentially, and each node's incoming contacts for the backward search of the
 * remaining-time bounds (startRemaining). A search needs, from a node at time t, the contacts open
 * at t and those starting after t, the latter only while they could beat the best arrival yet
 * (they are read lazily, in start order, through byStart).
 */
interface ContactGraph {
  readonly nodeByIpn: ReadonlyMap<number, number>;
  readonly ipnOfNode: Float64Array;
  readonly out: TimeIndex;
  /** Receiving node per outgoing position. */
  readonly outToNode: Int32Array;
  /** RECORD_STRIDE numbers per outgoing position. */
  readonly outRecord: Float64Array;
  /** Node n's outgoing positions ordered by start (then plan index), at out.offset[n] … out.offset[n + 1] − 1. */
  readonly byStart: Int32Array;
  /** The same buckets as out.classBucket, per node, over its byStart list. */
  readonly startBucket: Int32Array;
  readonly in: TimeIndex;
  /**
   * Per incoming position: the sending node, and the rate rounded up and the light time rounded
   * down to float32 (half the memory, read densely; rounded so that the durations they give are
   * still lower bounds).
   */
  readonly inFromNode: Int32Array;
  readonly inRateBytesPerSec: Float32Array;
  readonly inOwltSec: Float32Array;
  /** Per node, over its outgoing contacts: the fastest rate and the shortest light time (a bound of any hop out of it). */
  readonly outRateMaxBytesPerSec: Float64Array;
  readonly outOwltMinSec: Float64Array;
  /** The same over each node's incoming contacts (a bound of the last hop into it). */
  readonly inRateMaxBytesPerSec: Float64Array;
  readonly inOwltMinSec: Float64Array;
  /** The plan's time buckets: bucket b starts at bucketStartSec(b) = firstStartSec + b × bucketSec. */
  readonly firstStartSec: number;
  readonly bucketSec: number;
  readonly lastStartSec: number;
  /** The largest magnitude of a time in the plan (for the rounding margin of the remaining-time bounds). */
  readonly timeMagnitudeSec: number;
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
  /** The heap's key: arrival plus the node's remaining-time bound (A*'s f); for a continuation, its next start plus that bound. */
  keySec = new Float64Array(0);
  hops = new Int32Array(0);
  terminationSec = new Float64Array(0);
  /** End of the label's last contact (−Infinity for the root): the third key of the route order. */
  lastEndSec = new Float64Array(0);
  /** ipn of the route's first receiver; NaN for the root label. */
  entryIpn = new Float64Array(0);
  contact = new Int32Array(0);
  parent = new Int32Array(0);
  txStartSec = new Float64Array(0);
  /**
   * −1 for a label; for a continuation (the rest of a settled label's contacts that start after its
   * arrival, read lazily), the index in byStart of the next contact to read. A continuation's arrivalSec is
   * that contact's start (a lower bound of any arrival through it) and its parent is the label.
   */
  cursor = new Int32Array(0);
  /** Next settled label at the same node (a list per node, headed by settledHead). */
  nextSettled = new Int32Array(0);
  /** Next label created at the same node (a list per node, headed by labelledHead). */
  nextLabelled = new Int32Array(0);
  heap = new Int32Array(0);
  heapSize = 0;
  readonly settledHead: Int32Array;
  readonly labelledHead: Int32Array;
  /**
   * Per node, the earliest arrival of its labels and that label's hops: a contact whose start (or
   * the expanded label's arrival, if later) is no earlier, taken with no fewer hops, yields a
   * dominated label, and is skipped before its record is read (most are, on dense plans).
   */
  readonly earliestArrivalSec: Float64Array;
  readonly earliestHops: Int32Array;
  readonly forbiddenNode: Uint8Array;
  readonly removedContact: Uint8Array;
  /** How many entries of removedContact are set (Yen's spur searches), so that other searches skip the lookup. */
  removedCount = 0;
  expansions = 0;
  expansionsMax = LABEL_EXPANSIONS_MAX;
  tuning = SEARCH_TUNING;
  /**
   * The backward search for remaining-time bounds (startRemaining, advanceRemaining, boundOf): per
   * node its tentative bound, whether it is settled and then its bound (rounding margin applied),
   * the least duration of a hop out of it for this query, and a heap of nodes by tentative bound.
   */
  readonly tentativeSec: Float64Array;
  readonly reached: Uint8Array;
  readonly remainingSec: Float64Array;
  readonly hopMinSec: Float64Array;
  readonly nodeHeap: Int32Array;
  readonly nodeHeapIndex: Int32Array;
  nodeHeapSize = 0;
  /** The least tentative bound among the nodes not settled (Infinity when none is left). */
  remainingNextSec = 0;
  remainingFromSec = 0;
  remainingUntilSec = 0;
  remainingSizeBytes = 0;
  /** Contacts read by the backward search, and by the forward searches since it started. */
  remainingScans = 0;
  forwardScans = 0;
  /** The rounding margin of the bounds: scale × (magnitude + bound). */
  marginScale = 0;
  marginMagnitudeSec = 0;

  constructor(nodeCount: number, removedContact: Uint8Array) {
    this.settledHead = new Int32Array(nodeCount).fill(-1);
    this.labelledHead = new Int32Array(nodeCount).fill(-1);
    this.earliestArrivalSec = new Float64Array(nodeCount).fill(Infinity);
    this.earliestHops = new Int32Array(nodeCount);
    this.forbiddenNode = new Uint8Array(nodeCount);
    this.removedContact = removedContact;
    this.remainingSec = new Float64Array(nodeCount);
    this.hopMinSec = new Float64Array(nodeCount);
    this.tentativeSec = new Float64Array(nodeCount);
    this.reached = new Uint8Array(nodeCount);
    this.nodeHeap = new Int32Array(nodeCount);
    this.nodeHeapIndex = new Int32Array(nodeCount);
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
    this.keySec = copy(this.keySec, new Float64Array(capacity));
    this.hops = copy(this.hops, new Int32Array(capacity));
    this.terminationSec = copy(this.terminationSec, new Float64Array(capacity));
    this.lastEndSec = copy(this.lastEndSec, new Float64Array(capacity));
    this.entryIpn = copy(this.entryIpn, new Float64Array(capacity));
    this.contact = copy(this.contact, new Int32Array(capacity));
    this.parent = copy(this.parent, new Int32Array(capacity));
    this.txStartSec = copy(this.txStartSec, new Float64Array(capacity));
    this.cursor = copy(this.cursor, new Int32Array(capacity));
    this.nextSettled = copy(this.nextSettled, new Int32Array(capacity));
    this.nextLabelled = copy(this.nextLabelled, new Int32Array(capacity));
    this.heap = copy(this.heap, new Int32Array(capacity));
    this.capacity = capacity;
  }

  /**
   * Whether label a comes before label b: key ↑, hops ↑, last contact's end ↑, entry node ↑, then
   * creation order. A continuation comes before the labels of its key (it may yield some).
   */
  before(a: number, b: number): boolean {
    const keyA = this.keySec[a]!;
    const keyB = this.keySec[b]!;
    if (keyA !== keyB) return keyA < keyB;
    const continuationA = this.cursor[a]! >= 0;
    if (continuationA !== this.cursor[b]! >= 0) return continuationA;
    const hopsA = this.hops[a]!;
    const hopsB = this.hops[b]!;
    if (hopsA !== hopsB) return hopsA < hopsB;
    const lastEndA = this.lastEndSec[a]!;
    const lastEndB = this.lastEndSec[b]!;
    if (lastEndA !== lastEndB) return lastEndA < lastEndB;
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

  /** Whether a label in the list from `first` (linked by `next`) is at least as good on arrival and hops. */
  dominatedIn(first: number, next: Int32Array, arrivalSec: number, hops: number): boolean {
    for (let s = first; s !== -1; s = next[s]!) {
      if (this.arrivalSec[s]! <= arrivalSec && this.hops[s]! <= hops) return true;
    }
    return false;
  }

  /** The same at the destination, where the last contact's end breaks ties on arrival and hops. */
  dominatedAtDestination(first: number, arrivalSec: number, hops: number, lastEndSec: number): boolean {
    for (let s = first; s !== -1; s = this.nextLabelled[s]!) {
      const arrivalS = this.arrivalSec[s]!;
      const hopsS = this.hops[s]!;
      if (arrivalS <= arrivalSec && hopsS <= hops && (arrivalS < arrivalSec || hopsS < hops || this.lastEndSec[s]! <= lastEndSec)) return true;
    }
    return false;
  }

  /**
   * The current lower bound of the time from `node` to the destination: a settled node's own; for
   * another, min(tentative, least tentative left + its least hop) (see startRemaining). Infinity
   * when it cannot get there.
   */
  boundOf(node: number): number {
    if (this.reached[node] === 1) return this.remainingSec[node]!;
    return this.withMargin(Math.min(this.tentativeSec[node]!, this.remainingNextSec + this.hopMinSec[node]!));
  }

  withMargin(boundSec: number): number {
    return boundSec === Infinity ? Infinity : Math.max(0, boundSec - this.marginScale * (this.marginMagnitudeSec + boundSec));
  }

  /** The backward search's heap of nodes, ordered by tentativeSec: insert `node` or move it up after its bound fell. */
  nodeHeapUpdate(node: number, size: number): number {
    const heap = this.nodeHeap;
    const index = this.nodeHeapIndex;
    const keySec = this.tentativeSec[node]!;
    let i = index[node]! >= 0 ? index[node]! : size++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (this.tentativeSec[heap[up]!]! <= keySec) break;
      heap[i] = heap[up]!;
      index[heap[i]!] = i;
      i = up;
    }
    heap[i] = node;
    index[node] = i;
    return size;
  }

  nodeHeapPop(size: number): number {
    const heap = this.nodeHeap;
    const index = this.nodeHeapIndex;
    const top = heap[0]!;
    index[top] = -1;
    const last = heap[size - 1]!;
    const n = size - 1;
    if (n === 0) return top;
    const keySec = this.tentativeSec[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.tentativeSec[heap[child + 1]!]! < this.tentativeSec[heap[child]!]!) child += 1;
      if (this.tentativeSec[heap[child]!]! >= keySec) break;
      heap[i] = heap[child]!;
      index[heap[i]!] = i;
      i = child;
    }
    heap[i] = last;
    index[last] = i;
    return top;
  }
}

/** Derived data only, keyed by the (immutable) plan and dropped with it: results never depend on it. */
const graphs = new WeakMap<ContactPlan, ContactGraph>();

/** The duration class of a contact lasting `durationSec` (see DURATION_CLASSES): the least c < DURATION_CLASSES − 1 with duration ≤ 8^c, else the last. */
function durationClassOf(durationSec: number): number {
  let c = 0;
  for (let limitSec = 1; c < DURATION_CLASSES - 1 && durationSec > limitSec; limitSec *= 8) c++;
  return c;
}

/**
 * Typed arrays carved from one ArrayBuffer, largest elements first so that each is aligned. The
 * graph of a large plan is a dozen arrays of millions of entries; each large allocation may start a
 * full garbage collection of the plan's millions of objects (about 2 s each on 10 million contacts),
 * so the graph takes its memory in two allocations: one it keeps, one for scratch.
 */
class Arena {
  readonly #buffer: ArrayBuffer;
  #offsetBytes = 0;

  constructor(sizeBytes: number) {
    this.#buffer = new ArrayBuffer(sizeBytes);
  }

  float64(length: number): Float64Array {
    return new Float64Array(this.#buffer, this.#take(length * 8, 8), length);
  }

  int32(length: number): Int32Array {
    return new Int32Array(this.#buffer, this.#take(length * 4, 4), length);
  }

  float32(length: number): Float32Array {
    return new Float32Array(this.#buffer, this.#take(length * 4, 4), length);
  }

  uint8(length: number): Uint8Array {
    return new Uint8Array(this.#buffer, this.#take(length, 1), length);
  }

  #take(sizeBytes: number, alignBytes: number): number {
    const offsetBytes = this.#offsetBytes;
    assert.ok(offsetBytes % alignBytes === 0 && offsetBytes + sizeBytes <= this.#buffer.byteLength, 'arena sized for what it holds');
    this.#offsetBytes += sizeBytes;
    return offsetBytes;
  }
}

/** Bytes per contact the graph keeps: 7 float64 (start and end both ways, the record), 5 × 4 (receiver, byStart, sender, rate, light time), 1 (removed mark). */
const GRAPH_BYTES_PER_CONTACT = 7 * 8 + 5 * 4 + 1;
/** Bytes per contact of scratch: start and end (float64), sending and receiving node, slot, position per contact, contact per position (4 each). */
const SCRATCH_BYTES_PER_CONTACT = 2 * 8 + 5 * 4;

/**
 * One direction's TimeIndex over contacts given in start order (the plan's order): `nodeOf[c]` is
 * the node contact c is filed under. Fills `contactAt` with, per position, the contact's index (and
 * uses `slotOf` as scratch). A counting sort by (node, duration class) keeps the start order within
 * each class.
 */
function timeIndexOf(nodeOf: Int32Array, startSec: Float64Array, endSec: Float64Array, nodeCount: number, firstStartSec: number, bucketSec: number,
  positionStartSec: Float64Array, positionEndSec: Float64Array, slotOf: Int32Array, contactAt: Int32Array): TimeIndex {
  const count = nodeOf.length;
  const slotCount = new Int32Array(nodeCount * DURATION_CLASSES + 1);
  const slotDurationMaxSec = new Float64Array(nodeCount * DURATION_CLASSES);
  for (let c = 0; c < count; c++) {
    const durationSec = endSec[c]! - startSec[c]!;
    const slot = nodeOf[c]! * DURATION_CLASSES + durationClassOf(durationSec);
    slotOf[c] = slot;
    slotCount[slot + 1]! += 1;
    if (durationSec > slotDurationMaxSec[slot]!) slotDurationMaxSec[slot] = durationSec;
  }
  for (let slot = 0; slot < nodeCount * DURATION_CLASSES; slot++) slotCount[slot + 1]! += slotCount[slot]!;
  const slotFill = slotCount.slice(0, nodeCount * DURATION_CLASSES);
  for (let c = 0; c < count; c++) {
    const position = slotFill[slotOf[c]!]!++;
    contactAt[position] = c;
    positionStartSec[position] = startSec[c]!;
    positionEndSec[position] = endSec[c]!;
  }
  const offset = new Int32Array(nodeCount + 1);
  const classFirst = new Int32Array(nodeCount + 1);
  const classEndList: number[] = [];
  const classDurationList: number[] = [];
  for (let n = 0; n < nodeCount; n++) {
    offset[n + 1] = slotCount[(n + 1) * DURATION_CLASSES]!;
    for (let slot = n * DURATION_CLASSES; slot < (n + 1) * DURATION_CLASSES; slot++) {
      if (slotCount[slot + 1]! === slotCount[slot]!) continue;
      classEndList.push(slotCount[slot + 1]!);
      classDurationList.push(slotDurationMaxSec[slot]!);
    }
    classFirst[n + 1] = classEndList.length;
  }
  const classEnd = Int32Array.from(classEndList);
  const classBucket = new Int32Array(classEnd.length * (TIME_BUCKETS + 2));
  for (let n = 0; n < nodeCount; n++) {
    let classStart = offset[n]!;
    for (let k = classFirst[n]!; k < classFirst[n + 1]!; k++) {
      fillBuckets(classBucket, k, classStart, classEnd[k]!, firstStartSec, bucketSec, (i) => positionStartSec[i]!);
      classStart = classEnd[k]!;
    }
  }
  return {
    offset, startSec: positionStartSec, endSec: positionEndSec, classFirst, classEnd,
    classDurationMaxSec: Float64Array.from(classDurationList), classBucket,
  };
}

/** Bucket entries `entry` of `target` (TIME_BUCKETS + 2 each) over the run from … end − 1, ascending in startAt. */
function fillBuckets(target: Int32Array, entry: number, from: number, end: number, firstStartSec: number, bucketSec: number, startAt: (k: number) => number): void {
  const base = entry * (TIME_BUCKETS + 2);
  let k = from;
  for (let b = 0; b <= TIME_BUCKETS; b++) {
    const bucketStartSec = firstStartSec + b * bucketSec;
    while (k < end && startAt(k) < bucketStartSec) k++;
    target[base + b] = k;
  }
  target[base + TIME_BUCKETS + 1] = end;
}

const float32 = new Float32Array(1);
const float32Bits = new Int32Array(float32.buffer);

/** The least float32 ≥ x, for x ≥ 0 (Infinity beyond the float32 range). */
function float32Up(x: number): number {
  float32[0] = x;
  if (float32[0]! < x) float32Bits[0]! += 1;
  return float32[0]!;
}

/** The greatest float32 ≤ x, for x ≥ 0. */
function float32Down(x: number): number {
  float32[0] = x;
  if (float32[0]! > x) float32Bits[0]! -= 1;
  return float32[0]!;
}

/**
 * The plan's typed-array graph, built on the plan's first query. It reads each contact object
 * twice, in plan order (which is where they lie in memory), and builds everything else from typed
 * arrays: on 10 million contacts, reading the objects in another order was most of the time.
 */
function graphOf(plan: ContactPlan): ContactGraph {
  const cached = graphs.get(plan);
  if (cached !== undefined) return cached;
  const contacts = plan.contacts;
  const nodeByIpn = new Map<number, number>(plan.nodes.map((n, i) => [n.ipn, i]));
  const nodeCount = plan.nodes.length;
  const count = contacts.length;
  const kept = new Arena(count * GRAPH_BYTES_PER_CONTACT);
  const outStartSec = kept.float64(count);
  const outEndSec = kept.float64(count);
  const outRecord = kept.float64(count * RECORD_STRIDE);
  const inStartSec = kept.float64(count);
  const inEndSec = kept.float64(count);
  const outToNode = kept.int32(count);
  const byStart = kept.int32(count);
  const inFromNode = kept.int32(count);
  const inRateBytesPerSec = kept.float32(count);
  const inOwltSec = kept.float32(count);
  const removedContact = kept.uint8(count);
  const scratch = new Arena(count * SCRATCH_BYTES_PER_CONTACT);
  const startSec = scratch.float64(count);
  const endSec = scratch.float64(count);
  const fromNode = scratch.int32(count);
  const toNode = scratch.int32(count);
  const slotOf = scratch.int32(count);
  const positionOf = scratch.int32(count);
  const contactAt = scratch.int32(count);
  // Consecutive contacts often share their nodes (passes come in pairs, ISL windows in both directions).
  let lastIpn = Number.NaN;
  let lastNode = -1;
  const nodeOf = (ipn: number): number => {
    if (ipn !== lastIpn) {
      const node = nodeByIpn.get(ipn);
      assert.ok(node !== undefined, 'every contact joins nodes of the plan');
      lastIpn = ipn;
      lastNode = node;
    }
    return lastNode;
  };
  let timeMagnitudeSec = 0;
  for (let c = 0; c < count; c++) {
    const contact = contacts[c]!;
    fromNode[c] = nodeOf(contact.from);
    toNode[c] = nodeOf(contact.to);
    startSec[c] = contact.startSec;
    endSec[c] = contact.endSec;
    assert.ok(c === 0 || startSec[c - 1]! <= startSec[c]!, 'the plan orders contacts by start');
    timeMagnitudeSec = Math.max(timeMagnitudeSec, Math.abs(contact.startSec), Math.abs(contact.endSec));
  }
  const firstStartSec = count === 0 ? 0 : startSec[0]!;
  const lastStartSec = count === 0 ? 0 : startSec[count - 1]!;
  const bucketSec = Math.max((lastStartSec - firstStartSec) / TIME_BUCKETS, Number.MIN_VALUE);
  const out = timeIndexOf(fromNode, startSec, endSec, nodeCount, firstStartSec, bucketSec, outStartSec, outEndSec, slotOf, contactAt);
  for (let i = 0; i < count; i++) {
    const c = contactAt[i]!;
    positionOf[c] = i;
    outToNode[i] = toNode[c]!;
  }
  // byStart: each node's positions in plan (start) order.
  const startFill = out.offset.slice(0, nodeCount);
  for (let c = 0; c < count; c++) byStart[startFill[fromNode[c]!]!++] = positionOf[c]!;
  const startBucket = new Int32Array(nodeCount * (TIME_BUCKETS + 2));
  for (let n = 0; n < nodeCount; n++) {
    fillBuckets(startBucket, n, out.offset[n]!, out.offset[n + 1]!, firstStartSec, bucketSec, (k) => outStartSec[byStart[k]!]!);
  }
  const incoming = timeIndexOf(toNode, startSec, endSec, nodeCount, firstStartSec, bucketSec, inStartSec, inEndSec, slotOf, contactAt);
  // From here on, slotOf holds each contact's incoming position.
  const inPositionOf = slotOf;
  for (let k = 0; k < count; k++) {
    const c = contactAt[k]!;
    inPositionOf[c] = k;
    inFromNode[k] = fromNode[c]!;
  }
  const outRateMaxBytesPerSec = new Float64Array(nodeCount);
  const outOwltMinSec = new Float64Array(nodeCount).fill(Infinity);
  const inRateMaxBytesPerSec = new Float64Array(nodeCount);
  const inOwltMinSec = new Float64Array(nodeCount).fill(Infinity);
  for (let c = 0; c < count; c++) {
    const contact = contacts[c]!;
    const rate = contact.rateBytesPerSec;
    const owltSec = contact.owltSec;
    const r = positionOf[c]! * RECORD_STRIDE;
    outRecord[r + RECORD_OWLT] = owltSec;
    outRecord[r + RECORD_RATE] = rate;
    outRecord[r + RECORD_CONTACT] = c;
    inRateBytesPerSec[inPositionOf[c]!] = float32Up(rate);
    inOwltSec[inPositionOf[c]!] = float32Down(owltSec);
    const from = fromNode[c]!;
    if (rate > outRateMaxBytesPerSec[from]!) outRateMaxBytesPerSec[from] = rate;
    if (owltSec < outOwltMinSec[from]!) outOwltMinSec[from] = owltSec;
    const to = toNode[c]!;
    if (rate > inRateMaxBytesPerSec[to]!) inRateMaxBytesPerSec[to] = rate;
    if (owltSec < inOwltMinSec[to]!) inOwltMinSec[to] = owltSec;
  }
  const graph: ContactGraph = {
    nodeByIpn,
    ipnOfNode: Float64Array.from(plan.nodes, (n) => n.ipn),
    out,
    outToNode,
    outRecord,
    byStart,
    startBucket,
    in: incoming,
    inFromNode,
    inRateBytesPerSec,
    inOwltSec,
    outRateMaxBytesPerSec,
    outOwltMinSec,
    inRateMaxBytesPerSec,
    inOwltMinSec,
    firstStartSec,
    bucketSec,
    lastStartSec,
    timeMagnitudeSec,
    work: new Workspace(nodeCount, removedContact),
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

function newLabel(w: Workspace, node: number, arrivalSec: number, hops: number, terminationSec: number, lastEndSec: number, entryIpn: number, contact: number, parent: number, txStartSec: number): number {
  if (w.count === w.capacity) w.grow(w.capacity * 2);
  const label = w.count++;
  w.node[label] = node;
  w.arrivalSec[label] = arrivalSec;
  w.hops[label] = hops;
  w.terminationSec[label] = terminationSec;
  w.lastEndSec[label] = lastEndSec;
  w.entryIpn[label] = entryIpn;
  w.contact[label] = contact;
  w.parent[label] = parent;
  w.txStartSec[label] = txStartSec;
  w.keySec[label] = arrivalSec + w.boundOf(node);
  w.cursor[label] = -1;
  w.nextSettled[label] = -1;
  w.nextLabelled[label] = w.labelledHead[node]!;
  w.labelledHead[node] = label;
  if (arrivalSec < w.earliestArrivalSec[node]! || (arrivalSec === w.earliestArrivalSec[node] && hops < w.earliestHops[node]!)) {
    w.earliestArrivalSec[node] = arrivalSec;
    w.earliestHops[node] = hops;
  }
  return label;
}

function settle(w: Workspace, label: number): void {
  const node = w.node[label]!;
  w.nextSettled[label] = w.settledHead[node]!;
  w.settledHead[node] = label;
}

/** The bucket b with bucketStartSec(b) ≤ timeSec < bucketStartSec(b + 1): 0 before the first, TIME_BUCKETS from the last. */
function bucketOf(g: ContactGraph, timeSec: number): number {
  let b = Math.floor((timeSec - g.firstStartSec) / g.bucketSec);
  if (!(b >= 0)) b = 0;
  else if (b > TIME_BUCKETS) b = TIME_BUCKETS;
  // Rounding may put the time one bucket off.
  while (b > 0 && g.firstStartSec + b * g.bucketSec > timeSec) b--;
  while (b < TIME_BUCKETS && g.firstStartSec + (b + 1) * g.bucketSec <= timeSec) b++;
  return b;
}

/**
 * Where to start scanning class entry k (of `index`) for contacts open at `atSec`: the first
 * position of the time bucket of atSec − the class's longest duration. Contacts of the class that
 * start before that time have ended by atSec; the few of the bucket that start before it are
 * skipped by the scans' end test, which costs less than a binary search's cache misses.
 */
function classScanStart(g: ContactGraph, index: TimeIndex, k: number, atSec: number): number {
  return index.classBucket[k * (TIME_BUCKETS + 2) + bucketOf(g, atSec - index.classDurationMaxSec[k]!)]!;
}

/**
 * Sets the bounds to a constant for every node but the destination (0): the least duration of a
 * hop into the destination, its transmission at the fastest such contact's rate plus the shortest
 * light time (A* with a constant heuristic, consistent: every route ends with such a hop). Valid
 * for routes anywhere in the plan; the backward search does not run.
 */
function startConstantBounds(g: ContactGraph, q: Checked, source: number, destination: number): void {
  const w = g.work;
  w.tentativeSec.fill(Infinity);
  w.reached.fill(0);
  w.hopMinSec.fill(0);
  w.nodeHeapSize = 0;
  w.remainingScans = 0;
  w.forwardScans = 0;
  w.marginScale = 8 * (w.hopMinSec.length + 16) * Number.EPSILON;
  w.marginMagnitudeSec = g.timeMagnitudeSec + Math.abs(q.atSec) + 1;
  const rate = g.inRateMaxBytesPerSec[destination]!;
  w.remainingNextSec = rate > 0 ? (q.sizeBytes > 0 ? q.sizeBytes / rate : 0) + g.inOwltMinSec[destination]! : Infinity;
  w.reached[source] = 1;
  w.remainingSec[source] = 0;
  w.reached[destination] = 1;
  w.remainingSec[destination] = 0;
}

/**
 * Starts the backward search for lower bounds of the time a bundle of this query's size needs from
 * each node to `destination`, over routes that use only contacts open at some time in
 * [fromSec, untilSec] and able to carry the bundle within it, past the source (searches never
 * return to it; its own contacts may be used from the query time on, which fromSec, the earliest
 * arrival past the source, would not cover).
 *
 * It is Dijkstra's algorithm backwards from the destination over the time-independent graph of
 * those contacts, each weighted by its least possible duration, transmission plus light time
 * (waiting, backlog and later starts only add to it), with rates rounded up and light times down.
 * It runs in steps (advanceRemaining); between steps, with K the least tentative bound left, a
 * settled node's bound is its distance and another's is min(tentative, K + the least duration of a
 * hop out of it). That is a lower bound: a route from an unsettled node n leaves the unsettled
 * nodes over some hop x→y, and costs at least tentative(n) if x = n, else a hop out of n plus
 * tentative(x) ≥ K. Only that matters for exactness. The bounds rise as the search goes on (a
 * tentative bound set later is at least the K of then plus a hop, up to rounding), so a label's key
 * may become stale; it is raised when the label is popped.
 *
 * Each bound is lowered by a margin that covers the rounding of the sums, forward and backward (a
 * few units in the last place per hop), so that the pruning test `arrival + bound > best` never
 * drops a route that ties the best one, which the order needs (fewer hops, then last contact's
 * end). Bounds below the margin become 0, where the search is the plain label-setting one.
 */
function startRemaining(g: ContactGraph, q: Checked, source: number, destination: number, fromSec: number, untilSec: number): void {
  const w = g.work;
  w.tentativeSec.fill(Infinity);
  w.reached.fill(0);
  w.nodeHeapIndex.fill(-1);
  const size = q.sizeBytes;
  for (let n = 0; n < w.hopMinSec.length; n++) {
    w.hopMinSec[n] = (size > 0 ? size / g.outRateMaxBytesPerSec[n]! : 0) + g.outOwltMinSec[n]!;
  }
  w.remainingFromSec = fromSec;
  w.remainingUntilSec = untilSec;
  w.remainingSizeBytes = size;
  w.remainingScans = 0;
  w.forwardScans = 0;
  // 8 units in the last place of the largest time, per node a route may visit.
  w.marginScale = 8 * (w.hopMinSec.length + 16) * Number.EPSILON;
  w.marginMagnitudeSec = g.timeMagnitudeSec + Math.abs(fromSec) + 1;
  w.reached[source] = 1;
  w.remainingSec[source] = 0;
  w.tentativeSec[destination] = 0;
  w.nodeHeapSize = w.nodeHeapUpdate(destination, 0);
  w.remainingNextSec = 0;
  advanceRemaining(g, w.tuning.remainingScansFirst);
}

/** Settles nodes of the backward search until it has read `scansMax` contacts (plus one node's) or has none left. */
function advanceRemaining(g: ContactGraph, scansMax: number): void {
  const w = g.work;
  const tentativeSec = w.tentativeSec;
  const reached = w.reached;
  const index = g.in;
  const size = w.remainingSizeBytes;
  const fromSec = w.remainingFromSec;
  const untilSec = w.remainingUntilSec;
  let scans = w.remainingScans;
  // Bounded: each turn settles a node, at most the node count.
  while (w.nodeHeapSize > 0 && scans < scansMax) {
    const m = w.nodeHeapPop(w.nodeHeapSize--);
    reached[m] = 1;
    const baseSec = tentativeSec[m]!;
    w.remainingSec[m] = w.withMargin(baseSec);
    for (let k = index.classFirst[m]!, last = index.classFirst[m + 1]!; k < last; k++) {
      const first = classScanStart(g, index, k, fromSec);
      let i = first;
      for (const end = index.classEnd[k]!; i < end; i++) {
        const startSec = index.startSec[i]!;
        if (startSec > untilSec) break;
        const endSec = index.endSec[i]!;
        if (endSec <= fromSec) continue;
        const n = g.inFromNode[i]!;
        if (reached[n] === 1) continue;
        const rate = g.inRateBytesPerSec[i]!;
        if (!(rate > 0)) continue;
        const txSec = size > 0 ? size / rate : 0;
        if (!(Math.max(startSec, fromSec) + txSec <= endSec)) continue;
        const boundSec = baseSec + txSec + g.inOwltSec[i]!;
        if (boundSec < tentativeSec[n]!) {
          tentativeSec[n] = boundSec;
          w.nodeHeapSize = w.nodeHeapUpdate(n, w.nodeHeapSize);
        }
      }
      scans += i - first;
    }
  }
  w.remainingScans = scans;
  w.remainingNextSec = w.nodeHeapSize > 0 ? tentativeSec[w.nodeHeap[0]!]! : Infinity;
}

/**
 * Best path from `start` to `destination` arriving by `arrivalMaxSec`, avoiding the workspace's
 * forbidden nodes and removed contacts: the index of its label at the destination, or -1 if there is
 * none. With `boundsSwitch`, the bounds are replaced once the search has read that many contacts
 * (checked per expansion) and arrivals are bounded by what the new ones hold for. Labels
 * are Pareto sets over (arrival, hops) except at the destination, where the last contact's end
 * breaks ties. Labels are settled in the order of arrival + the node's remaining-time bound (the
 * backward search of startRemaining, whose window must hold every route arriving by
 * `arrivalMaxSec`; it advances as this search reads contacts), and a label whose arrival plus
 * bound is later than the best arrival found is dropped (A*).
 */
function search(g: ContactGraph, q: Checked, start: SearchStart, destination: number, arrivalMaxSec: number, boundsSwitch?: BoundsSwitch): number {
  const w = g.work;
  if (w.boundOf(start.node) === Infinity) return -1;
  const removals = w.removedCount > 0;
  w.count = 0;
  w.heapSize = 0;
  w.settledHead.fill(-1);
  w.labelledHead.fill(-1);
  w.earliestArrivalSec.fill(Infinity);
  const size = q.sizeBytes;
  const bookings = q.bookings;
  const out = g.out;
  const outStartSec = out.startSec;
  const outEndSec = out.endSec;
  const toNode = g.outToNode;
  const record = g.outRecord;
  const byStart = g.byStart;
  // Arrivals after this cannot be useful: the deadline, the bound asked for, or a route to the
  // destination already labelled.
  let bestArrivalSec = Math.min(q.deadlineSec, arrivalMaxSec);
  let scansMax = boundsSwitch === undefined ? Infinity : boundsSwitch.scansMax;
  // The label being expanded.
  let label = newLabel(w, start.node, start.arrivalSec, start.hops, start.terminationSec, -Infinity, start.entryIpn, -1, -1, Number.NaN);
  let arrivalSec = 0;
  let hops = 0;
  let terminationSec = 0;
  let entryIpn = 0;
  const relax = (i: number): void => {
    // Arrival over this contact is at least its start plus its light time, and the rest of the
    // route takes at least the receiving node's bound.
    const next = toNode[i]!;
    const startSec = outStartSec[i]!;
    const boundSec = w.boundOf(next);
    // Checked before the contact's record is read (a cache miss, and most contacts fail here).
    if (!(startSec + boundSec <= bestArrivalSec) || boundSec === Infinity || w.forbiddenNode[next] === 1) return;
    const r = i * RECORD_STRIDE;
    const owltSec = record[r + RECORD_OWLT]!;
    const remainingMinSec = owltSec + boundSec;
    if (startSec + remainingMinSec > bestArrivalSec) return;
    const contactEndSec = outEndSec[i]!;
    const c = record[r + RECORD_CONTACT]!;
    const rate = record[r + RECORD_RATE]!;
    if ((removals && w.removedContact[c] === 1) || !(rate > 0)) return;
    let txStartSec = Math.max(arrivalSec, startSec);
    if (bookings !== undefined) {
      if (bookings.residualBytes(c) < size) return;
      const booked = bookings.bookedBytes(c);
      if (booked > 0) txStartSec += booked / rate;
    }
    const txEndSec = size > 0 ? txStartSec + size / rate : txStartSec;
    if (!(txStartSec < contactEndSec && txEndSec <= contactEndSec)) return;
    const nextArrivalSec = txEndSec + owltSec;
    if (txEndSec + remainingMinSec > bestArrivalSec) return;
    const nextTerminationSec = Math.min(terminationSec, contactEndSec);
    // A label created earlier at `next` that is at least as good will be settled first (or be
    // discarded for a label that also beats this one), so this one would be discarded.
    if (next === destination) {
      if (w.dominatedAtDestination(w.labelledHead[next]!, nextArrivalSec, hops, contactEndSec)) return;
      bestArrivalSec = nextArrivalSec;
    } else if (w.dominatedIn(w.labelledHead[next]!, w.nextLabelled, nextArrivalSec, hops)) return;
    const nextEntryIpn = Number.isNaN(entryIpn) ? g.ipnOfNode[next]! : entryIpn;
    w.push(newLabel(w, next, nextArrivalSec, hops, nextTerminationSec, contactEndSec, nextEntryIpn, c, label, txStartSec));
  };
  const load = (l: number): void => {
    label = l;
    arrivalSec = w.arrivalSec[l]!;
    hops = w.hops[l]! + 1;
    terminationSec = w.terminationSec[l]!;
    entryIpn = w.entryIpn[l]!;
  };
  // Bounded: every turn expands a label or discards one, labels are capped by LABELS_MAX and
  // expansions by the query's labelExpansionsMax; a continuation reads each contact once.
  for (;;) {
    settle(w, label);
    if (++w.expansions > w.expansionsMax) {
      throw new OrbitfedError('ORBITFED_CGR_WORK_LIMIT', `route search exceeded ${w.expansionsMax} label expansions`);
    }
    const node = w.node[label]!;
    load(label);
    if (w.forwardScans > scansMax) {
      // Every key so far is still a lower bound of the arrivals through its label (stale ones are
      // raised when popped), so the search goes on with the new bounds, for arrivals they hold for.
      bestArrivalSec = Math.min(bestArrivalSec, boundsSwitch!.switchBounds(bestArrivalSec, w.keySec[label]!));
      scansMax = Infinity;
    }
    const remainingScansMax = w.tuning.remainingScansFirst + w.tuning.remainingScansPerScan * w.forwardScans;
    if (w.nodeHeapSize > 0 && w.remainingScans < remainingScansMax) advanceRemaining(g, remainingScansMax);
    // The contacts open at the arrival (start ≤ arrival < end), class by class.
    for (let k = out.classFirst[node]!, last = out.classFirst[node + 1]!; k < last; k++) {
      const first = classScanStart(g, out, k, arrivalSec);
      let i = first;
      for (const end = out.classEnd[k]!; i < end; i++) {
        if (outStartSec[i]! > arrivalSec) break;
        if (outEndSec[i]! <= arrivalSec) continue;
        const next = toNode[i]!;
        if (next !== destination && w.earliestArrivalSec[next]! <= arrivalSec && w.earliestHops[next]! <= hops) continue;
        relax(i);
      }
      w.forwardScans += i - first;
    }
    // The contacts that start later: a continuation, read when its first start comes up.
    const end = out.offset[node + 1]!;
    const bucket = node * (TIME_BUCKETS + 2) + bucketOf(g, arrivalSec);
    let lo = g.startBucket[bucket]!;
    let hi = g.startBucket[bucket + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (outStartSec[byStart[mid]!]! <= arrivalSec) lo = mid + 1;
      else hi = mid;
    }
    if (lo < end && outStartSec[byStart[lo]!]! + w.boundOf(node) <= bestArrivalSec) {
      w.push(newContinuation(w, node, label, lo, outStartSec[byStart[lo]!]!));
    }
    // Next label to settle: the first in (key, hops, last end, …) order that no settled label
    // dominates; continuations met on the way yield their contacts that start by then.
    for (;;) {
      if (w.heapSize === 0) return -1;
      const popped = w.pop();
      const at = w.node[popped]!;
      // The bounds may have risen since the key was set: a label whose key rises goes back.
      const keySec = w.arrivalSec[popped]! + w.boundOf(at);
      if (!(keySec <= bestArrivalSec) || keySec === Infinity) continue;
      if (keySec > w.keySec[popped]!) {
        w.keySec[popped] = keySec;
        w.push(popped);
        continue;
      }
      if (w.cursor[popped]! >= 0) {
        const owner = w.parent[popped]!;
        // A label settled at the same node since, arriving by now, does at least as well from here on.
        if (continuationDominated(w, at, owner, w.arrivalSec[popped]!)) continue;
        load(owner);
        const end = out.offset[at + 1]!;
        const boundSec = w.boundOf(at);
        const untilSec = Math.min(bestArrivalSec, w.heapSize === 0 ? Infinity : w.keySec[w.heap[0]!]!) - boundSec;
        const first = w.cursor[popped]!;
        let i = first;
        do relax(byStart[i++]!);
        while (i < end && outStartSec[byStart[i]!]! <= untilSec);
        w.forwardScans += i - first;
        if (i < end && outStartSec[byStart[i]!]! + boundSec <= bestArrivalSec) {
          w.cursor[popped] = i;
          w.arrivalSec[popped] = outStartSec[byStart[i]!]!;
          w.keySec[popped] = w.arrivalSec[popped]! + boundSec;
          w.push(popped);
        }
        continue;
      }
      if (at === destination) return popped;
      if (!w.dominatedIn(w.settledHead[at]!, w.nextSettled, w.arrivalSec[popped]!, w.hops[popped]!)) {
        label = popped;
        break;
      }
    }
  }
}

function newContinuation(w: Workspace, node: number, owner: number, cursor: number, startSec: number): number {
  if (w.count === w.capacity) w.grow(w.capacity * 2);
  const label = w.count++;
  w.node[label] = node;
  w.arrivalSec[label] = startSec;
  w.keySec[label] = startSec + w.boundOf(node);
  w.hops[label] = w.hops[owner]!;
  w.terminationSec[label] = w.terminationSec[owner]!;
  w.lastEndSec[label] = w.lastEndSec[owner]!;
  w.entryIpn[label] = w.entryIpn[owner]!;
  w.contact[label] = -1;
  w.parent[label] = owner;
  w.txStartSec[label] = Number.NaN;
  w.cursor[label] = cursor;
  w.nextSettled[label] = -1;
  w.nextLabelled[label] = -1;
  return label;
}

/**
 * Whether another label settled at `node`, arriving by `atSec`, makes the rest of `owner`'s
 * contacts useless: it takes them at the same times with no more hops, so whatever they yield
 * from `owner` would be dominated.
 */
function continuationDominated(w: Workspace, node: number, owner: number, atSec: number): boolean {
  const hops = w.hops[owner]!;
  const entryIpn = w.entryIpn[owner]!;
  for (let s = w.settledHead[node]!; s !== -1; s = w.nextSettled[s]!) {
    if (s === owner || w.arrivalSec[s]! > atSec || w.hops[s]! > hops) continue;
    if (w.hops[s]! < hops || w.entryIpn[s]! <= entryIpn) return true;
  }
  return false;
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

/** Route order: arrival ↑, hops ↑, last contact's end ↑, entry node ↑, then contact indices. */
export function compareRoutes(a: Route, b: Route): number {
  if (a.arrivalSec !== b.arrivalSec) return a.arrivalSec < b.arrivalSec ? -1 : 1;
  if (a.hops.length !== b.hops.length) return a.hops.length - b.hops.length;
  const lastEndA = a.hops[a.hops.length - 1]!.endSec;
  const lastEndB = b.hops[b.hops.length - 1]!.endSec;
  if (lastEndA !== lastEndB) return lastEndA < lastEndB ? -1 : 1;
  if (a.hops[0]!.to !== b.hops[0]!.to) return a.hops[0]!.to - b.hops[0]!.to;
  for (let i = 0; i < a.hops.length; i++) {
    if (a.hops[i]!.contact !== b.hops[i]!.contact) return a.hops[i]!.contact - b.hops[i]!.contact;
  }
  return 0;
}

const keyOf = (route: Route): string => route.hops.map((h) => h.contact).join(',');

/** Best route from the source through the prefix `root` (Yen's root path) arriving by `boundSec`, or undefined. */
function bestThrough(plan: ContactPlan, g: ContactGraph, q: Checked, source: number, destination: number, root: readonly RouteHop[], boundSec: number, boundsSwitch?: BoundsSwitch): Route | undefined {
  const last = root[root.length - 1];
  const start: SearchStart = {
    node: last === undefined ? source : g.nodeByIpn.get(last.to)!,
    arrivalSec: last === undefined ? q.atSec : last.arrivalSec,
    hops: root.length,
    terminationSec: root.reduce((t, h) => Math.min(t, h.endSec), Infinity),
    entryIpn: root.length === 0 ? Number.NaN : root[0]!.to,
  };
  const label = search(g, q, start, destination, boundSec, boundsSwitch);
  if (label === -1) return undefined;
  return routeOf([...root, ...hopsOf(plan, g.work, label)]);
}

/**
 * The earliest time a bundle of this query's size, at the source at the query time, can be at any
 * other node (Infinity if never): the first hop's earliest arrival, ignoring bookings. Reads the
 * source's contacts open at the query time, then those starting later in start order while they
 * could still arrive earlier.
 */
function firstHopArrivalMinSec(g: ContactGraph, q: Checked, source: number): number {
  const out = g.out;
  const record = g.outRecord;
  const size = q.sizeBytes;
  const atSec = q.atSec;
  let arrivalMinSec = Infinity;
  const consider = (i: number): void => {
    const r = i * RECORD_STRIDE;
    const rate = record[r + RECORD_RATE]!;
    if (!(rate > 0)) return;
    const txEndSec = Math.max(atSec, out.startSec[i]!) + (size > 0 ? size / rate : 0);
    if (txEndSec <= out.endSec[i]! && out.endSec[i]! > atSec) arrivalMinSec = Math.min(arrivalMinSec, txEndSec + record[r + RECORD_OWLT]!);
  };
  for (let k = out.classFirst[source]!, last = out.classFirst[source + 1]!; k < last; k++) {
    for (let i = classScanStart(g, out, k, atSec), end = out.classEnd[k]!; i < end && out.startSec[i]! <= atSec; i++) consider(i);
  }
  // Any hop out of the source lasts at least this.
  const hopMinSec = (size > 0 ? size / g.outRateMaxBytesPerSec[source]! : 0) + g.outOwltMinSec[source]!;
  const end = out.offset[source + 1]!;
  const bucket = source * (TIME_BUCKETS + 2) + bucketOf(g, atSec);
  let k = g.startBucket[bucket]!;
  while (k < end && out.startSec[g.byStart[k]!]! <= atSec) k++;
  // Bounded by the source's contacts.
  for (; k < end && out.startSec[g.byStart[k]!]! + hopMinSec < arrivalMinSec; k++) consider(g.byStart[k]!);
  return arrivalMinSec;
}

/**
 * The best route. The search starts with the constant bound (startConstantBounds), which answers
 * most queries on sparse plans quickly. After tuning.probeScansMax contacts read it switches to the
 * backward bounds over a time window [earliest arrival past the source, until]. Those are much
 * tighter than bounds over the whole plan (on 1,000 LEO with ISLs, only the few satellites that see
 * the destination in the window are one hop from it), and they hold for every route arriving by
 * `until`, the search's new bound. `until` is the best arrival found so far, else twice as far
 * past the source as the search got. A search that finds a route by then has found the best one;
 * otherwise the next window is WINDOW_GROWTH times longer, until one holds every contact (or
 * reaches the deadline). Also says whether the bounds were the constant ones to the end.
 */
function firstRoute(plan: ContactPlan, g: ContactGraph, q: Checked, source: number, destination: number): { route: Route | undefined; constantBounds: boolean } {
  const tuning = g.work.tuning;
  // Past this, a window holds every contact a route may use.
  const horizonSec = Math.min(q.deadlineSec, g.lastStartSec);
  let fromSec = q.atSec;
  // The latest arrival the current bounds hold for.
  let untilSec = Infinity;
  let constantBounds = true;
  const startWindow = (endSec: number): number => {
    const whole = !(endSec < horizonSec);
    startRemaining(g, q, source, destination, fromSec, whole ? q.deadlineSec : endSec);
    untilSec = whole ? Infinity : endSec;
    return untilSec;
  };
  startConstantBounds(g, q, source, destination);
  let route = bestThrough(plan, g, q, source, destination, [], Infinity, {
    scansMax: tuning.probeScansMax,
    switchBounds: (bestArrivalSec, keySec) => {
      constantBounds = false;
      fromSec = firstHopArrivalMinSec(g, q, source);
      // Nothing leaves the source in time: no route.
      if (!(fromSec <= q.deadlineSec)) return -Infinity;
      // No route arrives before the key being expanded (keys are lower bounds, expanded in order).
      return startWindow(bestArrivalSec < Infinity ? bestArrivalSec : fromSec + Math.max(tuning.windowFirstSec, 2 * (keySec - fromSec)));
    },
  });
  // Bounded: each window is WINDOW_GROWTH times longer than the last, until it reaches the horizon.
  while (route === undefined && untilSec < Infinity) {
    startWindow(fromSec + Math.max(tuning.windowFirstSec, (untilSec - fromSec) * WINDOW_GROWTH));
    route = bestThrough(plan, g, q, source, destination, [], untilSec);
  }
  return { route, constantBounds };
}

/**
 * Up to `k` routes from `from` to `to`, best first (see the order above). Empty when there is none,
 * or when either node has no contacts in the plan. Throws `ORBITFED_CGR_QUERY` for a malformed query,
 * `ORBITFED_CGR_BOOKINGS_PLAN` for bookings of another plan and `ORBITFED_CGR_WORK_LIMIT` when the
 * search would exceed its bounds.
 */
export function findRoutes(plan: ContactPlan, query: RouteQuery): Route[] {
  return findRoutesTuned(plan, query, SEARCH_TUNING);
}

/** findRoutes with another tuning (for tests: the routes are the same whatever the tuning). */
export function findRoutesTuned(plan: ContactPlan, query: RouteQuery, tuning: SearchTuning): Route[] {
  const q = checkQuery(plan, query);
  const g = graphOf(plan);
  const source = g.nodeByIpn.get(query.from);
  const destination = g.nodeByIpn.get(query.to);
  if (source === undefined || destination === undefined) return [];
  const w = g.work;
  w.expansions = 0;
  w.expansionsMax = q.labelExpansionsMax;
  w.tuning = tuning;
  w.forbiddenNode.fill(0);
  w.forbiddenNode[source] = 1;
  const { route: first, constantBounds } = firstRoute(plan, g, q, source, destination);
  if (first === undefined) return [];
  // Yen's searches use the constant bounds (routes after the first may arrive after its window).
  if (q.k > 1 && !constantBounds) startConstantBounds(g, q, source, destination);
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
      w.removedCount = removed.length;
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
        w.removedCount = 0;
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
