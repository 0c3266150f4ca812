// The contact plan laid out for placement's one-to-all searches: dense node numbers, every
// contact's attributes in typed arrays (in the plan's start order, and an end-descending order for
// the backward search), and per node its outgoing contacts by start and its incoming contacts by
// end, each split into duration classes so that "the contacts open at time t" is a few binary
// searches rather than a scan of the node's day (the idea of contact-plans/cgr.ts's ContactGraph),
// each in one bucket of a small index when the class is long (a station's passes over a day).
// Derived data only, built on a plan's first placement and kept with the plan.
import assert from 'node:assert/strict';
import type { Contact, ContactPlan } from '../contact-plans/index.ts';

/** Duration classes: class k holds contacts lasting ≤ 8^k s (k < last), the last class the rest (so a node has at most this many segments). */
export const DURATION_CLASSES = 7;

/** One node's contacts of one duration class: positions [offset, end) of a per-node list, and their longest duration. */
export interface ClassSegments {
  /** Per node: its segments are segFirst[n] … segFirst[n + 1] − 1. */
  readonly segFirst: Int32Array;
  /** Per segment: its positions in `contacts` are segOffset[s] … segOffset[s + 1] − 1. */
  readonly segOffset: Int32Array;
  readonly segDurationMaxSec: Float64Array;
  /** Contact indices, ordered within each segment by `key`. */
  readonly contacts: Int32Array;
  /** The key of each position (start for outgoing, end for incoming). */
  readonly keySec: Float64Array;
  /**
   * Per segment: where its bucket positions start in `bucketPos`, or −1 (a short segment, or keys
   * all alike). Bucket b of segment s covers keys from keySec[segOffset[s]] + b × width on, and
   * bucketPos holds the first position of each (then the segment's end): `segmentLowerBound`
   * looks in one bucket instead of bisecting a station's day of passes, a dozen reads scattered
   * over a plan-sized array.
   */
  readonly segBucketFirst: Int32Array;
  readonly segBucketCount: Int32Array;
  readonly segBucketWidthSec: Float64Array;
  readonly bucketPos: Int32Array;
}

/**
 * Contacts in the order a scan reads them, each attribute it reads in its own dense array (so a
 * scan reads memory in sequence); `keySec` is the start (forward) or the end (backward).
 */
export interface ScanOrder {
  readonly contact: Int32Array;
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly keySec: Float64Array;
  readonly owltSec: Float64Array;
}

export interface PlacementGraph {
  readonly plan: ContactPlan;
  readonly nodeCount: number;
  readonly nodeByIpn: ReadonlyMap<number, number>;
  readonly ipnOfNode: Float64Array;
  /** Plan kind per node: 1 for a satellite. */
  readonly planSatellite: Uint8Array;
  readonly contactCount: number;
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly startSec: Float64Array;
  readonly endSec: Float64Array;
  readonly rateBytesPerSec: Float64Array;
  readonly owltSec: Float64Array;
  /** Contact indices by end, latest first (ties: larger index first). */
  readonly byEndDescending: Int32Array;
  /** Every contact in scan order, as the forward scan reads them (by start: the plan's own arrays). */
  readonly forward: ScanOrder;
  /** Every contact by end, latest first, as the backward scan reads them. */
  readonly backward: ScanOrder;
  readonly outgoing: ClassSegments;
  /**
   * Per position of `outgoing.contacts`: the contact's end, receiver, rate and light time (its
   * start is `outgoing.keySec`), so that looking through a node's contacts reads memory in
   * sequence instead of a random read per contact and attribute (~20 bytes a contact).
   */
  readonly outgoingEndSec: Float64Array;
  readonly outgoingTo: Int32Array;
  readonly outgoingRateBytesPerSec: Float64Array;
  readonly outgoingOwltSec: Float64Array;
  readonly incoming: ClassSegments;
  /** Per node: the distinct receivers of its outgoing contacts are neighbours[neighbourFirst[n] … neighbourFirst[n + 1] − 1]. */
  readonly neighbourFirst: Int32Array;
  readonly neighbours: Int32Array;
  /** Per node: 1 when every receiver of its outgoing contacts is a ground node (plan kind). */
  readonly neighboursAllGround: Uint8Array;
  /** Per node: 1 for a ground node (plan kind) that some satellite has a contact to. */
  readonly groundFromSatellite: Uint8Array;
  /** Per node: the latest start of its outgoing contacts (−Infinity without any): after it, nothing more leaves the node. */
  readonly outgoingStartMaxSec: Float64Array;
  /** Per node: the largest light time of its incoming contacts (bounds the backward open-contact lookup). */
  readonly incomingOwltMaxSec: Float64Array;
  /** The latest end of any contact (−Infinity for an empty plan). */
  readonly endMaxSec: number;
}

const graphs = new WeakMap<ContactPlan, PlacementGraph>();

/** The plan's placement graph, built once per plan (about 1 s per 10 million contacts). */
export function placementGraphOf(plan: ContactPlan): PlacementGraph {
  const cached = graphs.get(plan);
  if (cached !== undefined) return cached;
  const graph = buildGraph(plan);
  graphs.set(plan, graph);
  return graph;
}

function durationClass(durationSec: number): number {
  return durationSec <= 1 ? 0 : Math.min(DURATION_CLASSES - 1, Math.ceil(Math.log2(durationSec) / 3));
}

function buildGraph(plan: ContactPlan): PlacementGraph {
  const nodeCount = plan.nodes.length;
  const nodeByIpn = new Map<number, number>(plan.nodes.map((n, i) => [n.ipn, i]));
  const ipnOfNode = Float64Array.from(plan.nodes, (n) => n.ipn);
  const planSatellite = Uint8Array.from(plan.nodes, (n) => (n.kind === 'satellite' ? 1 : 0));
  const contacts: readonly Contact[] = plan.contacts;
  const m = contacts.length;
  const from = new Int32Array(m);
  const to = new Int32Array(m);
  const startSec = new Float64Array(m);
  const endSec = new Float64Array(m);
  const rateBytesPerSec = new Float64Array(m);
  const owltSec = new Float64Array(m);
  const incomingOwltMaxSec = new Float64Array(nodeCount);
  const outgoingStartMaxSec = new Float64Array(nodeCount).fill(-Infinity);
  const groundFromSatellite = new Uint8Array(nodeCount);
  for (let i = 0; i < m; i++) {
    const c = contacts[i]!;
    assert.ok(i === 0 || contacts[i - 1]!.startSec <= c.startSec, 'the plan orders contacts by start');
    from[i] = nodeByIpn.get(c.from)!;
    to[i] = nodeByIpn.get(c.to)!;
    startSec[i] = c.startSec;
    endSec[i] = c.endSec;
    rateBytesPerSec[i] = c.rateBytesPerSec;
    owltSec[i] = c.owltSec;
    incomingOwltMaxSec[to[i]!] = Math.max(incomingOwltMaxSec[to[i]!]!, c.owltSec);
    outgoingStartMaxSec[from[i]!] = Math.max(outgoingStartMaxSec[from[i]!]!, c.startSec);
    if (planSatellite[from[i]!] === 1 && planSatellite[to[i]!] === 0) groundFromSatellite[to[i]!] = 1;
  }
  const byEndAscending = sortedByEnd(endSec);
  const byEndDescending = byEndAscending.slice().reverse();
  const outgoing = buildSegments(nodeCount, m, from, startSec, endSec, startSec);
  return {
    plan, nodeCount, nodeByIpn, ipnOfNode, planSatellite, contactCount: m, from, to, startSec, endSec, rateBytesPerSec, owltSec,
    byEndDescending,
    forward: { contact: Int32Array.from({ length: m }, (_, i) => i), from, to, keySec: startSec, owltSec },
    backward: {
      contact: byEndDescending,
      from: Int32Array.from(byEndDescending, (c) => from[c]!),
      to: Int32Array.from(byEndDescending, (c) => to[c]!),
      keySec: Float64Array.from(byEndDescending, (c) => endSec[c]!),
      owltSec: Float64Array.from(byEndDescending, (c) => owltSec[c]!),
    },
    outgoing, ...neighboursOf(nodeCount, outgoing, to, planSatellite),
    outgoingEndSec: Float64Array.from(outgoing.contacts, (c) => endSec[c]!),
    outgoingTo: Int32Array.from(outgoing.contacts, (c) => to[c]!),
    outgoingRateBytesPerSec: Float64Array.from(outgoing.contacts, (c) => rateBytesPerSec[c]!),
    outgoingOwltSec: Float64Array.from(outgoing.contacts, (c) => owltSec[c]!),
    incoming: buildSegments(nodeCount, m, to, startSec, endSec, endSec, byEndAscending),
    outgoingStartMaxSec,
    groundFromSatellite,
    incomingOwltMaxSec,
    endMaxSec: endSec.reduce((max, e) => Math.max(max, e), -Infinity),
  };
}

/** Per node, the distinct receivers of its outgoing contacts (in order of first appearance). */
function neighboursOf(
  nodeCount: number, out: ClassSegments, to: Int32Array, planSatellite: Uint8Array,
): { neighbourFirst: Int32Array; neighbours: Int32Array; neighboursAllGround: Uint8Array } {
  const neighbourFirst = new Int32Array(nodeCount + 1);
  const neighboursAllGround = new Uint8Array(nodeCount).fill(1);
  const lastSeenBy = new Int32Array(nodeCount).fill(-1);
  const list: number[] = [];
  for (let n = 0; n < nodeCount; n++) {
    for (let p = out.segOffset[out.segFirst[n]!]!, end = out.segOffset[out.segFirst[n + 1]!]!; p < end; p++) {
      const v = to[out.contacts[p]!]!;
      if (lastSeenBy[v] === n) continue;
      lastSeenBy[v] = n;
      list.push(v);
      if (planSatellite[v] === 1) neighboursAllGround[n] = 0;
    }
    neighbourFirst[n + 1] = list.length;
  }
  return { neighbourFirst, neighbours: Int32Array.from(list), neighboursAllGround };
}

/** Buckets of the counting sort by end, at most. */
const END_BUCKETS_MAX = 1 << 22;

/**
 * Contact indices by end, then index, ascending: a counting sort into buckets of end time, then
 * a comparison sort inside each (a few contacts each), instead of one comparison sort of millions.
 */
function sortedByEnd(endSec: Float64Array): Int32Array {
  const m = endSec.length;
  const order = new Int32Array(m);
  if (m === 0) return order;
  let minSec = Infinity;
  let maxSec = -Infinity;
  for (let c = 0; c < m; c++) {
    minSec = Math.min(minSec, endSec[c]!);
    maxSec = Math.max(maxSec, endSec[c]!);
  }
  const buckets = Math.max(1, Math.min(END_BUCKETS_MAX, m, Math.ceil(maxSec - minSec) + 1));
  const width = (maxSec - minSec) / buckets || 1;
  const bucketOf = (c: number): number => Math.min(buckets - 1, Math.floor((endSec[c]! - minSec) / width));
  const first = new Int32Array(buckets + 1);
  for (let c = 0; c < m; c++) first[bucketOf(c) + 1]! += 1;
  for (let b = 0; b < buckets; b++) first[b + 1]! += first[b]!;
  const fill = first.slice(0, buckets);
  for (let c = 0; c < m; c++) order[fill[bucketOf(c)]!++] = c;
  for (let b = 0; b < buckets; b++) {
    if (first[b + 1]! - first[b]! > 1) order.subarray(first[b]!, first[b + 1]!).sort((x, y) => endSec[x]! - endSec[y]! || x - y);
  }
  return order;
}

/**
 * Per node (by `nodeOf`), per duration class, the contacts ordered by `key`: placed in `order`
 * (already ordered by the key, then index), or in plan order when the key is the start.
 */
function buildSegments(nodeCount: number, m: number, nodeOf: Int32Array, startSec: Float64Array, endSec: Float64Array, key: Float64Array, order?: Int32Array): ClassSegments {
  const slotOf = new Int32Array(m);
  const slotCount = new Int32Array(nodeCount * DURATION_CLASSES + 1);
  const slotDurationMax = new Float64Array(nodeCount * DURATION_CLASSES);
  for (let c = 0; c < m; c++) {
    const duration = endSec[c]! - startSec[c]!;
    const slot = nodeOf[c]! * DURATION_CLASSES + durationClass(duration);
    slotOf[c] = slot;
    slotCount[slot + 1]! += 1;
    slotDurationMax[slot] = Math.max(slotDurationMax[slot]!, duration);
  }
  for (let s = 0; s < nodeCount * DURATION_CLASSES; s++) slotCount[s + 1]! += slotCount[s]!;
  const fill = slotCount.slice(0, nodeCount * DURATION_CLASSES);
  const positions = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const c = order === undefined ? i : order[i]!;
    positions[fill[slotOf[c]!]!++] = c;
  }
  const segFirst = new Int32Array(nodeCount + 1);
  const segOffsetList: number[] = [];
  const segDurationList: number[] = [];
  for (let n = 0; n < nodeCount; n++) {
    for (let s = n * DURATION_CLASSES; s < (n + 1) * DURATION_CLASSES; s++) {
      const from = slotCount[s]!;
      const to = slotCount[s + 1]!;
      if (to === from) continue;
      segOffsetList.push(from);
      segDurationList.push(slotDurationMax[s]!);
    }
    segFirst[n + 1] = segOffsetList.length;
  }
  segOffsetList.push(m);
  const segOffset = Int32Array.from(segOffsetList);
  const keySec = Float64Array.from(positions, (c) => key[c]!);
  return { segFirst, segOffset, segDurationMaxSec: Float64Array.from(segDurationList), contacts: positions, keySec, ...segmentBucketsOf(segOffset, keySec) };
}

/** Segments at least this long get buckets. */
const BUCKETED_SEGMENT_MIN = 32;
/** Positions per bucket on average. */
const BUCKET_POSITIONS = 4;

/** The bucket index of ClassSegments (see there) for segments `segOffset` over `keySec`. */
export function segmentBucketsOf(segOffset: Int32Array, keySec: Float64Array): Pick<ClassSegments, 'segBucketFirst' | 'segBucketCount' | 'segBucketWidthSec' | 'bucketPos'> {
  const segments = segOffset.length - 1;
  const segBucketFirst = new Int32Array(segments).fill(-1);
  const segBucketCount = new Int32Array(segments);
  const segBucketWidthSec = new Float64Array(segments);
  const positions: number[] = [];
  for (let s = 0; s < segments; s++) {
    const lo = segOffset[s]!;
    const hi = segOffset[s + 1]!;
    const minSec = keySec[lo]!;
    if (hi - lo < BUCKETED_SEGMENT_MIN || !(keySec[hi - 1]! > minSec)) continue;
    const count = Math.ceil((hi - lo) / BUCKET_POSITIONS);
    const widthSec = (keySec[hi - 1]! - minSec) / count;
    segBucketFirst[s] = positions.length;
    segBucketCount[s] = count;
    segBucketWidthSec[s] = widthSec;
    let p = lo;
    for (let b = 0; b < count; b++) {
      // The same arithmetic as segmentLowerBound's edges.
      const edgeSec = minSec + b * widthSec;
      while (p < hi && keySec[p]! < edgeSec) p++;
      positions.push(p);
    }
    positions.push(hi);
  }
  return { segBucketFirst, segBucketCount, segBucketWidthSec, bucketPos: Int32Array.from(positions) };
}

/** `lowerBound` over the whole of segment `s` (the first position whose key is ≥ `atSec`, else the segment's end), through its buckets when it has them. */
export function segmentLowerBound(segments: ClassSegments, s: number, atSec: number): number {
  const first = segments.segBucketFirst[s]!;
  const lo = segments.segOffset[s]!;
  const keySec = segments.keySec;
  if (first < 0) return lowerBound(keySec, lo, segments.segOffset[s + 1]!, atSec);
  const minSec = keySec[lo]!;
  if (!(minSec < atSec)) return lo;
  const count = segments.segBucketCount[s]!;
  const widthSec = segments.segBucketWidthSec[s]!;
  let b = Math.floor((atSec - minSec) / widthSec);
  if (!(b < count)) b = count - 1;
  // Rounding may put atSec a bucket off: settle on minSec + b × width ≤ atSec ≤ minSec + (b + 1) × width (the last bucket has no upper edge).
  while (b > 0 && minSec + b * widthSec > atSec) b -= 1;
  while (b < count - 1 && minSec + (b + 1) * widthSec < atSec) b += 1;
  // Every key before bucket b is below its edge, so below atSec; bucket b + 1 starts at a key ≥ its edge ≥ atSec.
  return lowerBound(keySec, segments.bucketPos[first + b]!, segments.bucketPos[first + b + 1]!, atSec);
}

/** First position in [lo, hi) whose key is ≥ `atSec` (hi when none). */
export function lowerBound(keySec: Float64Array, lo: number, hi: number, atSec: number): number {
  // Often the first already (long contacts, such as always-on links): no search.
  if (lo < hi && keySec[lo]! >= atSec) return lo;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keySec[mid]! < atSec) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
