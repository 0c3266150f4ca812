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
//   (arrival ↑, hops ↑), settled in that lexicographic order, so the first label to reach the
//   destination is best on those two keys exactly — a plain earliest-arrival Dijkstra keeps one
//   label per contact or node and can lose the fewer-hops route when a later contact start absorbs
//   an earlier arrival. Arrival is non-decreasing along a route and hops grow by one, so a label
//   never precedes its parent. A path that revisits a node is always dominated by its shortcut, so
//   loops never survive; the result is still checked.
// - At the destination, labels tied on arrival and hops are kept apart by the last contact's end.
//   That is exact with (arrival, hops) labels elsewhere: a label dominated at an intermediate node
//   can reach the destination only by contacts its dominator can take as early, with no more hops.
// - Pruning: every route ends with a hop into the destination, which takes at least the bundle's
//   transmission at the fastest such contact plus the shortest light time; a label elsewhere that
//   arrives later than the best arrival so far minus that is dropped (A* with a constant,
//   consistent heuristic). Without it, every label arriving before the destination's is expanded;
//   on 1,000 satellites with ISLs that is most of the constellation, several times over.
// - Cost: an expansion reads the node's contacts open at its arrival (per duration class, see
//   ContactGraph), and those starting later only while they could still beat the best arrival (the
//   search reads them lazily, in start order, through a continuation queued at their start). At
//   one hop short of the bound only contacts into the destination are read. So a query's cost grows
//   with the contacts open at a time, not with those a node has in the whole plan.
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
import type { Contact, ContactPlan } from './contact-plan.ts';

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

const OUT_STRIDE = 6;
const OUT_START = 0;
const OUT_END = 1;
const OUT_OWLT = 2;
const OUT_RATE = 3;
const OUT_TO = 4;
const OUT_CONTACT = 5;

/**
 * Duration classes of a node's contacts (class c: duration ≤ 8^c s, the last class the rest). Each
 * class costs an expansion a few cache misses, each scanned contact that already ended one read in
 * a sequential run: factor 8 measured faster than 2 or 4 on 10 million contacts.
 */
const DURATION_CLASSES = 7;
/**
 * Time buckets of the plan's span: for each duration class and each node, where the contacts
 * starting in each bucket begin, so that finding the first contact starting after a time is a
 * binary search within one bucket rather than over the node's whole day (which, on a plan of 10
 * million contacts, was a fifth of a query's time, in cache misses).
 */
const TIME_BUCKETS = 256;

/**
 * The plan in typed arrays: dense node numbers, and each node's outgoing contacts, their attributes
 * laid out so that a search reads them sequentially. A search needs, from a node at time t, the
 * contacts open at t and those starting after t, the latter only up to the best arrival yet (they
 * are read lazily, in start order). The contacts open at t are found per duration class: a class's
 * contacts, ordered by start, that start in [t − its longest duration, t]. So an expansion reads
 * about the contacts open at t, however many the node has in the day.
 */
interface ContactGraph {
  readonly nodeByIpn: ReadonlyMap<number, number>;
  readonly ipnOfNode: Float64Array;
  /**
   * Contacts out of node n sit at positions outOffset[n] … outOffset[n + 1] − 1, grouped by duration
   * class (ascending) and ordered by start within a class; byStart lists the same positions ordered
   * by start (then plan index).
   */
  readonly outOffset: Int32Array;
  readonly byStart: Int32Array;
  /** Node n's non-empty classes are entries classFirst[n] … classFirst[n + 1] − 1: where each ends, and its longest duration. */
  readonly classFirst: Int32Array;
  readonly classEnd: Int32Array;
  readonly classDurationMaxSec: Float64Array;
  /** The plan's time buckets: bucket b starts at bucketStartSec(b) = firstStartSec + b × bucketSec. */
  readonly firstStartSec: number;
  readonly bucketSec: number;
  /**
   * For class entry k, classBucket[k × (TIME_BUCKETS + 2) + b] is the first position of the class
   * starting at or after bucketStartSec(b), for b = 0 … TIME_BUCKETS, and entry TIME_BUCKETS + 1 is
   * the class's end. startBucket is the same over each node's byStart list.
   */
  readonly classBucket: Int32Array;
  readonly startBucket: Int32Array;
  /** Contacts into node n: positions inPosition[inOffset[n] … inOffset[n + 1] − 1]. */
  readonly inOffset: Int32Array;
  readonly inPosition: Int32Array;
  /** Per node, over its incoming contacts: the fastest rate and the shortest light time (for lastHopMinSecOf). */
  readonly inRateMaxBytesPerSec: Float64Array;
  readonly inOwltMinSec: Float64Array;
  /**
   * Per position, one record of OUT_STRIDE numbers (start, end, light time, rate, receiving node,
   * plan index): what a relaxation reads sits in one or two cache lines instead of six arrays.
   */
  readonly out: Float64Array;
  /** The records' start and end times and receiving nodes again, densely, for the binary searches and the scans of open contacts. */
  readonly outStartSec: Float64Array;
  readonly outEndSec: Float64Array;
  readonly outToNode: Int32Array;
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

  constructor(nodeCount: number, contactCount: number) {
    this.settledHead = new Int32Array(nodeCount).fill(-1);
    this.labelledHead = new Int32Array(nodeCount).fill(-1);
    this.earliestArrivalSec = new Float64Array(nodeCount).fill(Infinity);
    this.earliestHops = new Int32Array(nodeCount);
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
   * Whether label a comes before label b: arrival ↑, hops ↑, last contact's end ↑, entry node ↑,
   * then creation order. A continuation comes before the labels of its arrival (it may yield some).
   */
  before(a: number, b: number): boolean {
    const arrivalA = this.arrivalSec[a]!;
    const arrivalB = this.arrivalSec[b]!;
    if (arrivalA !== arrivalB) return arrivalA < arrivalB;
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
  // The plan orders its contacts by start time: a counting sort by (sending node, duration class)
  // keeps that order within each class, and one by sending node only gives byStart.
  const count = contacts.length;
  const classOf = (c: Contact): number => {
    const duration = c.endSec - c.startSec;
    return duration <= 1 ? 0 : Math.min(DURATION_CLASSES - 1, Math.ceil(Math.log2(duration) / 3));
  };
  const slotOf = new Int32Array(count);
  const slotCount = new Int32Array(nodeCount * DURATION_CLASSES + 1);
  const slotDurationMaxSec = new Float64Array(nodeCount * DURATION_CLASSES);
  for (let c = 0; c < count; c++) {
    const contact = contacts[c]!;
    assert.ok(c === 0 || contacts[c - 1]!.startSec <= contact.startSec, 'the plan orders contacts by start');
    const from = nodeByIpn.get(contact.from);
    assert.ok(from !== undefined, 'every contact leaves from a node of the plan');
    const slot = from * DURATION_CLASSES + classOf(contact);
    slotOf[c] = slot;
    slotCount[slot + 1]! += 1;
    slotDurationMaxSec[slot] = Math.max(slotDurationMaxSec[slot]!, contact.endSec - contact.startSec);
  }
  for (let slot = 0; slot < nodeCount * DURATION_CLASSES; slot++) slotCount[slot + 1]! += slotCount[slot]!;
  const slotFill = slotCount.slice(0, nodeCount * DURATION_CLASSES);
  const outContact = new Int32Array(count);
  const positionOf = new Int32Array(count);
  for (let c = 0; c < count; c++) {
    const position = slotFill[slotOf[c]!]!++;
    outContact[position] = c;
    positionOf[c] = position;
  }
  const outOffset = new Int32Array(nodeCount + 1);
  const classFirst = new Int32Array(nodeCount + 1);
  const classEndList: number[] = [];
  const classDurationList: number[] = [];
  for (let n = 0; n < nodeCount; n++) {
    outOffset[n + 1] = slotCount[(n + 1) * DURATION_CLASSES]!;
    for (let slot = n * DURATION_CLASSES; slot < (n + 1) * DURATION_CLASSES; slot++) {
      if (slotCount[slot + 1]! === slotCount[slot]!) continue;
      classEndList.push(slotCount[slot + 1]!);
      classDurationList.push(slotDurationMaxSec[slot]!);
    }
    classFirst[n + 1] = classEndList.length;
  }
  const byStart = new Int32Array(count);
  const startFill = outOffset.slice(0, nodeCount);
  for (let c = 0; c < count; c++) byStart[startFill[Math.floor(slotOf[c]! / DURATION_CLASSES)]!++] = positionOf[c]!;
  const outToNode = new Int32Array(count);
  const outStartSec = new Float64Array(count);
  const outEndSec = new Float64Array(count);
  const out = new Float64Array(count * OUT_STRIDE);
  for (let i = 0; i < count; i++) {
    const c = contacts[outContact[i]!]!;
    outToNode[i] = nodeByIpn.get(c.to)!;
    outStartSec[i] = c.startSec;
    outEndSec[i] = c.endSec;
    const r = i * OUT_STRIDE;
    out[r + OUT_START] = c.startSec;
    out[r + OUT_END] = c.endSec;
    out[r + OUT_OWLT] = c.owltSec;
    out[r + OUT_RATE] = c.rateBytesPerSec;
    out[r + OUT_TO] = outToNode[i]!;
    out[r + OUT_CONTACT] = outContact[i]!;
  }
  const inOffset = new Int32Array(nodeCount + 1);
  for (let i = 0; i < count; i++) inOffset[outToNode[i]! + 1]! += 1;
  for (let n = 0; n < nodeCount; n++) inOffset[n + 1]! += inOffset[n]!;
  const inPosition = new Int32Array(count);
  const inFill = inOffset.slice(0, nodeCount);
  for (let i = 0; i < count; i++) inPosition[inFill[outToNode[i]!]!++] = i;
  const inRateMaxBytesPerSec = new Float64Array(nodeCount);
  const inOwltMinSec = new Float64Array(nodeCount).fill(Infinity);
  for (let n = 0; n < nodeCount; n++) {
    for (let k = inOffset[n]!; k < inOffset[n + 1]!; k++) {
      const i = inPosition[k]!;
      inRateMaxBytesPerSec[n] = Math.max(inRateMaxBytesPerSec[n]!, out[i * OUT_STRIDE + OUT_RATE]!);
      inOwltMinSec[n] = Math.min(inOwltMinSec[n]!, out[i * OUT_STRIDE + OUT_OWLT]!);
    }
  }
  const classEnd = Int32Array.from(classEndList);
  const firstStartSec = count === 0 ? 0 : contacts[0]!.startSec;
  const lastStartSec = count === 0 ? 0 : contacts[count - 1]!.startSec;
  const bucketSec = Math.max((lastStartSec - firstStartSec) / TIME_BUCKETS, Number.MIN_VALUE);
  const bucketsOf = (target: Int32Array, entry: number, from: number, end: number, startAt: (k: number) => number): void => {
    const base = entry * (TIME_BUCKETS + 2);
    let k = from;
    for (let b = 0; b <= TIME_BUCKETS; b++) {
      const bucketStartSec = firstStartSec + b * bucketSec;
      while (k < end && startAt(k) < bucketStartSec) k++;
      target[base + b] = k;
    }
    target[base + TIME_BUCKETS + 1] = end;
  };
  const classBucket = new Int32Array(classEnd.length * (TIME_BUCKETS + 2));
  const startBucket = new Int32Array(nodeCount * (TIME_BUCKETS + 2));
  for (let n = 0; n < nodeCount; n++) {
    let classStart = outOffset[n]!;
    for (let k = classFirst[n]!; k < classFirst[n + 1]!; k++) {
      bucketsOf(classBucket, k, classStart, classEnd[k]!, (i) => outStartSec[i]!);
      classStart = classEnd[k]!;
    }
    bucketsOf(startBucket, n, outOffset[n]!, outOffset[n + 1]!, (k) => outStartSec[byStart[k]!]!);
  }
  const graph: ContactGraph = {
    nodeByIpn,
    ipnOfNode: Float64Array.from(plan.nodes, (n) => n.ipn),
    outOffset,
    byStart,
    classFirst,
    classEnd,
    classDurationMaxSec: Float64Array.from(classDurationList),
    firstStartSec,
    bucketSec,
    classBucket,
    startBucket,
    inOffset,
    inPosition,
    inRateMaxBytesPerSec,
    inOwltMinSec,
    out,
    outStartSec,
    outEndSec,
    outToNode,
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
 * Best path from `start` to `destination` arriving by `arrivalMaxSec`, avoiding the workspace's
 * forbidden nodes and removed contacts: the index of its label at the destination, or -1. Labels
 * are Pareto sets over (arrival, hops) except at the destination, where the last contact's end
 * breaks ties. `lastHopMinSec` is a lower bound of the time any hop into the destination takes (its
 * transmission at the fastest such contact's rate plus the shortest light time): a label elsewhere
 * arriving later than the best arrival minus this bound cannot lead to an arrival as early (the A*
 * idea with a constant heuristic, which is consistent: every route ends with such a hop).
 */
function search(g: ContactGraph, q: Checked, start: SearchStart, destination: number, arrivalMaxSec: number, lastHopMinSec: number): number {
  const w = g.work;
  const removals = w.removedCount > 0;
  w.count = 0;
  w.heapSize = 0;
  w.settledHead.fill(-1);
  w.labelledHead.fill(-1);
  w.earliestArrivalSec.fill(Infinity);
  const size = q.sizeBytes;
  const bookings = q.bookings;
  // Arrivals after this cannot be useful: the deadline, the bound asked for, or a route to the
  // destination already labelled.
  let bestArrivalSec = Math.min(q.deadlineSec, arrivalMaxSec);
  // The label being expanded.
  let label = newLabel(w, start.node, start.arrivalSec, start.hops, start.terminationSec, -Infinity, start.entryIpn, -1, -1, Number.NaN);
  let arrivalSec = 0;
  let hops = 0;
  let terminationSec = 0;
  let entryIpn = 0;
  const relax = (i: number): void => {
    // Arrival over this contact is at least its start plus its light time, and unless it reaches
    // the destination, one more hop into the destination follows.
    const out = g.out;
    const r = i * OUT_STRIDE;
    const next = out[r + OUT_TO]!;
    const owltSec = out[r + OUT_OWLT]!;
    const remainingMinSec = next === destination ? owltSec : owltSec + lastHopMinSec;
    const startSec = out[r + OUT_START]!;
    if (startSec + remainingMinSec > bestArrivalSec) return;
    const contactEndSec = out[r + OUT_END]!;
    if (w.forbiddenNode[next] === 1) return;
    const c = out[r + OUT_CONTACT]!;
    const rate = out[r + OUT_RATE]!;
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
    // The contacts open at the arrival (start ≤ arrival < end), class by class.
    const startSec = g.outStartSec;
    const endSec = g.outEndSec;
    const toNode = g.outToNode;
    for (let k = g.classFirst[node]!, last = g.classFirst[node + 1]!; k < last; k++) {
      const fromSec = arrivalSec - g.classDurationMaxSec[k]!;
      const bucket = k * (TIME_BUCKETS + 2) + bucketOf(g, fromSec);
      let lo = g.classBucket[bucket]!;
      let hi = g.classBucket[bucket + 1]!;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (startSec[mid]! < fromSec) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo, end = g.classEnd[k]!; i < end; i++) {
        if (startSec[i]! > arrivalSec) break;
        if (endSec[i]! <= arrivalSec) continue;
        const next = toNode[i]!;
        if (next !== destination && w.earliestArrivalSec[next]! <= arrivalSec && w.earliestHops[next]! <= hops) continue;
        relax(i);
      }
    }
    // The contacts that start later: a continuation, read when its first start comes up.
    const end = g.outOffset[node + 1]!;
    const bucket = node * (TIME_BUCKETS + 2) + bucketOf(g, arrivalSec);
    let lo = g.startBucket[bucket]!;
    let hi = g.startBucket[bucket + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (startSec[g.byStart[mid]!]! <= arrivalSec) lo = mid + 1;
      else hi = mid;
    }
    if (lo < end && g.outStartSec[g.byStart[lo]!]! <= bestArrivalSec) {
      w.push(newContinuation(w, node, label, lo, g.outStartSec[g.byStart[lo]!]!));
    }
    // Next label to settle: the first in (arrival, hops, last end, …) order that no settled label
    // dominates; continuations met on the way yield their contacts that start by then.
    for (;;) {
      if (w.heapSize === 0) return -1;
      const popped = w.pop();
      const at = w.node[popped]!;
      // A continuation may still yield contacts into the destination; a label elsewhere needs one more hop.
      const remainingMinSec = at === destination || w.cursor[popped]! >= 0 ? 0 : lastHopMinSec;
      if (w.arrivalSec[popped]! + remainingMinSec > bestArrivalSec) continue;
      if (w.cursor[popped]! >= 0) {
        const owner = w.parent[popped]!;
        // A label settled at the same node since, arriving by now, does at least as well from here on.
        if (continuationDominated(w, at, owner, w.arrivalSec[popped]!)) continue;
        load(owner);
        const end = g.outOffset[at + 1]!;
        const untilSec = Math.min(bestArrivalSec, w.heapSize === 0 ? Infinity : w.arrivalSec[w.heap[0]!]!);
        let i = w.cursor[popped]!;
        do relax(g.byStart[i++]!);
        while (i < end && g.outStartSec[g.byStart[i]!]! <= untilSec);
        if (i < end && g.outStartSec[g.byStart[i]!]! <= bestArrivalSec) {
          w.cursor[popped] = i;
          w.arrivalSec[popped] = g.outStartSec[g.byStart[i]!]!;
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
function bestThrough(plan: ContactPlan, g: ContactGraph, q: Checked, source: number, destination: number, root: readonly RouteHop[], boundSec: number, lastHopMinSec: number): Route | undefined {
  const last = root[root.length - 1];
  const start: SearchStart = {
    node: last === undefined ? source : g.nodeByIpn.get(last.to)!,
    arrivalSec: last === undefined ? q.atSec : last.arrivalSec,
    hops: root.length,
    terminationSec: root.reduce((t, h) => Math.min(t, h.endSec), Infinity),
    entryIpn: root.length === 0 ? Number.NaN : root[0]!.to,
  };
  const label = search(g, q, start, destination, boundSec, lastHopMinSec);
  if (label === -1) return undefined;
  return routeOf([...root, ...hopsOf(plan, g.work, label)]);
}

/**
 * A lower bound of the time any hop into `destination` takes for this query: the bundle's
 * transmission at the fastest rate into it plus the shortest light time into it (Infinity when
 * nothing can reach it).
 */
function lastHopMinSecOf(g: ContactGraph, q: Checked, destination: number): number {
  const rate = g.inRateMaxBytesPerSec[destination]!;
  if (!(rate > 0)) return Infinity;
  return (q.sizeBytes > 0 ? q.sizeBytes / rate : 0) + g.inOwltMinSec[destination]!;
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
  const lastHopMinSec = lastHopMinSecOf(g, q, destination);
  if (lastHopMinSec === Infinity) return [];
  const first = bestThrough(plan, g, q, source, destination, [], Infinity, lastHopMinSec);
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
      w.removedCount = removed.length;
      for (const h of root) w.forbiddenNode[g.nodeByIpn.get(h.to)!] = 1;
      try {
        // Enough candidates already arrive by this time: a later route could never be chosen.
        const needed = q.k - found.length;
        const boundSec = candidates.length < needed ? Infinity
          : candidates.map((c) => c.route.arrivalSec).sort((a, b) => a - b)[needed - 1]!;
        const route = bestThrough(plan, g, q, source, destination, root, boundSec, lastHopMinSec);
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
