// Contact-aware estimates for placement: when can the input reach every node, until when can
// every node send the result and still have it at an allowed station by the deadline, and — for
// the few nodes placement looks at closely — when exactly does the result arrive.
//
// All three follow the hop semantics of contact-plans/cgr.ts (SABR, CCSDS 734.3-B-1 §3.2) to the
// floating-point operation, so that an estimate and a CGR route over the same contacts agree:
//   txStart = max(ready, start) + booked / rate;  txEnd = txStart + size / rate (size > 0);
//   usable iff rate > 0, residual volume ≥ size, txStart < end and txEnd ≤ end;
//   arrival = txEnd + owlt.
// Arrival is non-decreasing in the ready time and feasibility only gets easier when ready earlier
// (a FIFO network), so earliest arrivals and latest departures have optimal substructure and one
// label per node is exact.
//
// - `earliestArrivals` (one to all): a connection scan (Dibbelt et al., "Connection Scan
//   Algorithm", JEA 2018) over the contacts in start order, extended to interval contacts: a
//   contact is taken from its start when its sender is there by then; when a node's arrival
//   improves to a time inside contacts that are already open, those are found through the
//   duration-class index and relaxed at once. Arrivals only improve to times after the scan
//   position, so a node whose arrival is at or before the scan position is final. The scan stops
//   when every node the caller wants is final or can no longer arrive in time for it, and when no
//   node reached so far has a contact starting later (nothing more can happen). A node's open
//   contacts are not read when none of its receivers could still improve (all reached earlier).
// - `latestDepartures` (all to a set of stations): the same scan backwards, over contacts by end,
//   latest first.
// - `earliestArrivalAt` (one to a set): label-setting (Dijkstra) from one node at one time,
//   stopping at the first station of the set; open contacts first, so terrestrial links set a
//   bound before later contacts are read.
//
// Sovereignty enters as `ContactRules`: a contact is usable only if its receiver may hold the
// data, and, when the sender is orbital, may receive it from orbit (a downlink).
import type { ContactBookings } from '../contact-plans/index.ts';
import { ACCEPT_FROM_GROUND, ACCEPT_FROM_ORBIT, type ContactRules, type ContactSubset, receivable } from './placement-contact-subset.ts';
import { DURATION_CLASSES, lowerBound, segmentLowerBound, type PlacementGraph, type ScanOrder } from './placement-graph.ts';

export { ACCEPT_FROM_GROUND, ACCEPT_FROM_ORBIT, type ContactRules };

export interface Transfer {
  readonly sizeBytes: number;
  readonly bookings: ContactBookings | undefined;
  /** Bytes this placement has already put on contacts (the input route, when routing the result). */
  readonly extraBookedBytes?: ReadonlyMap<number, number> | undefined;
}

/** Receivers a drain looks at before reading a node's open contacts, to skip nodes that cannot improve anyone (above it: read the contacts). */
const NEIGHBOUR_CHECK_MAX = 256;

/** How often (in contacts) a scan checks whether every wanted node is settled. */
const SETTLED_CHECK_CONTACTS = 2048;

/** Bytes booked on contact `c` (bookings plus this placement's own extra). */
function bookedOn(t: Transfer, c: number): number {
  const booked = t.bookings === undefined ? 0 : t.bookings.bookedBytesByContact[c]!;
  return t.extraBookedBytes === undefined ? booked : booked + (t.extraBookedBytes.get(c) ?? 0);
}

/**
 * Residual volume given what is booked: ContactBookings.residualBytes, max(0, capacity − booked),
 * with the capacity computed as ContactPlan.capacityBytes does (rate × (end − start)), so the
 * same floating-point value, without a second call per contact.
 */
function residualOf(g: PlacementGraph, c: number, booked: number): number {
  return Math.max(0, g.rateBytesPerSec[c]! * (g.endSec[c]! - g.startSec[c]!) - booked);
}

/** Drops from `pending[0 … count)` the nodes `settled` says are done; returns the new count. */
function compact(pending: Int32Array, count: number, settled: (node: number) => boolean): number {
  let kept = 0;
  for (let k = 0; k < count; k++) {
    const node = pending[k]!;
    if (!settled(node)) pending[kept++] = node;
  }
  return kept;
}


/**
 * Arrival over contact `c` of a bundle ready at its sender at `readySec` (cgr.ts semantics), or
 * NaN when the contact cannot carry it.
 */
export function hopArrivalSec(g: PlacementGraph, t: Transfer, c: number, readySec: number): number {
  const rate = g.rateBytesPerSec[c]!;
  const start = g.startSec[c]!;
  const end = g.endSec[c]!;
  if (!(rate > 0)) return Number.NaN;
  let txStartSec = Math.max(readySec, start);
  if (t.bookings !== undefined || t.extraBookedBytes !== undefined) {
    const booked = bookedOn(t, c);
    if (residualOf(g, c, booked) < t.sizeBytes) return Number.NaN;
    if (booked > 0) txStartSec += booked / rate;
  }
  const txEndSec = t.sizeBytes > 0 ? txStartSec + t.sizeBytes / rate : txStartSec;
  if (!(txStartSec < end && txEndSec <= end)) return Number.NaN;
  return txEndSec + g.owltSec[c]!;
}

/**
 * `hopArrivalSec` for a hop already found usable as if nothing were booked (first byte at
 * `txStartFreeSec`, arrival `freeArrivalSec`), from the contact's attributes as the caller read
 * them from a position-ordered copy: the same operations on the same values, without reading the
 * contact-indexed arrays again (a cache miss each in a 2-million-contact plan).
 */
function bookedArrivalSec(
  t: Transfer, c: number, rate: number, startSec: number, endSec: number, owltSec: number, txStartFreeSec: number, freeArrivalSec: number,
): number {
  if (t.bookings === undefined && t.extraBookedBytes === undefined) return freeArrivalSec;
  const booked = bookedOn(t, c);
  if (Math.max(0, rate * (endSec - startSec) - booked) < t.sizeBytes) return Number.NaN;
  if (!(booked > 0)) return freeArrivalSec;
  const txStartSec = txStartFreeSec + booked / rate;
  const txEndSec = t.sizeBytes > 0 ? txStartSec + t.sizeBytes / rate : txStartSec;
  if (!(txStartSec < endSec && txEndSec <= endSec)) return Number.NaN;
  return txEndSec + owltSec;
}

/** First-byte transmission start of a hop (for route records), under the same semantics. */
export function hopTxStartSec(g: PlacementGraph, t: Transfer, c: number, readySec: number): number {
  const booked = bookedOn(t, c);
  const txStartSec = Math.max(readySec, g.startSec[c]!);
  return booked > 0 ? txStartSec + booked / g.rateBytesPerSec[c]! : txStartSec;
}

/**
 * Per `ContactRules.accept` array (placement builds one per set of rules, keeps it across jobs and
 * never changes it): how many ground nodes receiving from satellites accept data from orbit.
 */
const groundFromOrbitCounts = new WeakMap<Uint8Array, { readonly graph: PlacementGraph; readonly count: number }>();

function groundFromOrbitCount(g: PlacementGraph, rules: ContactRules): number {
  const known = groundFromOrbitCounts.get(rules.accept);
  if (known !== undefined && known.graph === g) return known.count;
  let count = 0;
  for (let n = 0; n < g.nodeCount; n++) if (g.groundFromSatellite[n] === 1 && (rules.accept[n]! & ACCEPT_FROM_ORBIT) !== 0) count += 1;
  groundFromOrbitCounts.set(rules.accept, { graph: g, count });
  return count;
}

/** Arrays a ForwardScan may reuse, one entry per plan node. */
export interface ScanScratch {
  readonly arrivalSec: Float64Array;
  readonly parentContact: Int32Array;
  readonly improvedFlag: Uint8Array;
  readonly drains: TimedHeap;
}

export function newScanScratch(nodeCount: number): ScanScratch {
  return { arrivalSec: new Float64Array(nodeCount), parentContact: new Int32Array(nodeCount), improvedFlag: new Uint8Array(nodeCount), drains: new TimedHeap() };
}

/**
 * Earliest arrival at every node of a bundle of `t.sizeBytes` that is at `source` at `startSec`,
 * scanned incrementally: each `advance` reads more contacts in start order, and every arrival at
 * or before `finalUntilSec` is final (later contacts start later, so they can only bring later
 * arrivals). Placement stops scanning as soon as no node reached later could win.
 */
export class ForwardScan {
  /** Per node: earliest arrival so far (plan seconds), Infinity when not reached. */
  readonly arrivalSec: Float64Array;
  /** Per node: the contact that brought that arrival, −1 for the source and unreached nodes. */
  readonly parentContact: Int32Array;
  /** Contacts looked at so far, and nodes whose open contacts were relaxed (for benchmarks and tests). */
  contactsScanned = 0;
  nodesDrained = 0;
  readonly #g: PlacementGraph;
  readonly #rules: ContactRules;
  readonly #t: Transfer;
  readonly #order: ScanOrder;
  #horizonSec: number;
  #source = -1;
  #startSec = 0;
  /** Nodes whose open contacts are still to be relaxed, by arrival (a min-heap; stale entries skipped). */
  readonly #drains: TimedHeap;
  readonly #improvedFlag: Uint8Array;
  #improved: number[] = [];
  #position: number;
  /**
   * The latest start of any contact leaving a node reached so far: contacts starting later have
   * senders the data cannot be at, so the scan ends there (a refused job's input stuck at its
   * location no longer reads the rest of the plan).
   */
  #reachedStartMaxSec: number;
  /**
   * Ground nodes with contacts from satellites that may receive the data from orbit and have not
   * been drained yet (their arrival may still improve). When none is left, a satellite whose
   * receivers are all on the ground has nobody left to improve: its drain reads nothing.
   */
  #groundFromOrbitOpen = 0;

  /**
   * Arrivals later than `horizonSec` are not looked for (the scan ends there). `scratch`, when
   * given, is overwritten and used for the labels instead of new arrays (placement reuses one set
   * per catalog: allocating typed arrays per placement makes V8 collect the whole heap often).
   */
  constructor(g: PlacementGraph, subset: ContactSubset, rules: ContactRules, t: Transfer, source: number, startSec: number, horizonSec: number, scratch?: ScanScratch) {
    this.#g = g;
    this.#rules = rules;
    this.#t = t;
    this.#order = subset.forward;
    this.#horizonSec = horizonSec;
    this.arrivalSec = (scratch?.arrivalSec ?? new Float64Array(g.nodeCount)).fill(Infinity);
    this.parentContact = (scratch?.parentContact ?? new Int32Array(g.nodeCount)).fill(-1);
    this.#improvedFlag = (scratch?.improvedFlag ?? new Uint8Array(g.nodeCount)).fill(0);
    this.#drains = scratch?.drains ?? new TimedHeap();
    this.#drains.clear();
    this.arrivalSec[source] = startSec;
    this.#reachedStartMaxSec = g.outgoingStartMaxSec[source]!;
    this.#groundFromOrbitOpen = groundFromOrbitCount(g, rules);
    this.#source = source;
    this.#startSec = startSec;
    this.#drains.push(source, startSec);
    this.#relaxSourceContacts(startSec, horizonSec);
    this.#position = lowerBound(this.#order.keySec, 0, this.#order.keySec.length, startSec);
  }

  /**
   * Moves the horizon later, so the scan can go on where it stopped (placement's second look, with
   * the deadline lifted): everything found so far stays valid.
   */
  extendHorizon(horizonSec: number): void {
    if (horizonSec <= this.#horizonSec) return;
    const fromSec = this.#horizonSec;
    this.#horizonSec = horizonSec;
    this.#relaxSourceContacts(fromSec, horizonSec, true);
  }

  /**
   * The subset leaves out contacts from nodes that may not hold the data; the input's location may
   * be one (the data is there already), so its own contacts starting in the window are taken here,
   * all at once (`afterSec` exclusive when `exclusive`).
   */
  #relaxSourceContacts(afterSec: number, untilSec: number, exclusive = false): void {
    const source = this.#source;
    const accept = this.#rules.accept;
    if (accept[source] !== 0) return;
    const g = this.#g;
    const out = g.outgoing;
    const toAt = g.outgoingTo;
    // `receivable` read from the outgoing index (sequential, where the contact-indexed arrays miss
    // the cache for each of the source's contacts, most of which the rules refuse).
    const fromBit = this.#rules.orbital[source] === 1 ? ACCEPT_FROM_ORBIT : ACCEPT_FROM_GROUND;
    for (let s = out.segFirst[source]!, last = out.segFirst[source + 1]!; s < last; s++) {
      const end = out.segOffset[s + 1]!;
      for (let p = segmentLowerBound(out, s, afterSec); p < end && out.keySec[p]! <= untilSec; p++) {
        if (exclusive && out.keySec[p] === afterSec) continue;
        const v = toAt[p]!;
        if ((accept[v]! & fromBit) === 0) continue;
        this.#relaxOutgoing(p, v, this.#startSec);
      }
    }
  }

  /** Start of the next contact to read, or Infinity past the last one, the horizon, or the last a reached node sends on. */
  #nextContactSec(): number {
    if (this.#position >= this.#order.keySec.length) return Infinity;
    const startSec = this.#order.keySec[this.#position]!;
    return startSec > this.#horizonSec || startSec > this.#reachedStartMaxSec ? Infinity : startSec;
  }

  /** Arrival of the next node whose open contacts are due, or Infinity. */
  #nextDrainSec(): number {
    const drains = this.#drains;
    while (drains.size > 0 && drains.minKey() !== this.arrivalSec[drains.minNode()]) drains.pop();
    if (drains.size === 0) return Infinity;
    return drains.minKey() > this.#horizonSec ? Infinity : drains.minKey();
  }

  /** Every arrival at or before this is final: what remains to be read happens later. Infinity when nothing remains. */
  get finalUntilSec(): number {
    return Math.min(this.#nextContactSec(), this.#nextDrainSec());
  }

  /** Whether anything remains to be read up to the horizon. */
  get more(): boolean {
    return this.finalUntilSec !== Infinity;
  }

  /**
   * Reads up to `events` more events in time order: a contact starting (taken if its sender is
   * there by then), or a node's arrival (its contacts open at that moment are taken).
   */
  advance(events: number): void {
    const { contact, from, to, keySec: startSec, owltSec } = this.#order;
    const arrivalSec = this.arrivalSec;
    const drains = this.#drains;
    const horizonSec = this.#horizonSec;
    let budget = events;
    while (budget > 0) {
      let drainSec = this.#nextDrainSec();
      // Contacts starting before the next due node, in a tight loop.
      let i = this.#position;
      const last = Math.min(startSec.length, i + budget);
      for (; i < last; i++) {
        const keySec = startSec[i]!;
        if (keySec > horizonSec || keySec >= drainSec || keySec > this.#reachedStartMaxSec) break;
        // Taken from its start only if the sender is there by then, and only if it could improve the receiver.
        if (arrivalSec[from[i]!]! > keySec || arrivalSec[to[i]!]! <= keySec + owltSec[i]!) continue;
        this.#relax(contact[i]!, keySec);
        // A node reached by this contact may now be due before the next contact.
        if (drains.size > 0 && drains.minKey() < drainSec) drainSec = drains.minKey();
      }
      budget -= i - this.#position;
      this.contactsScanned += i - this.#position;
      this.#position = i;
      if (budget <= 0) return;
      const contactSec = this.#nextContactSec();
      drainSec = this.#nextDrainSec();
      if (drainSec === Infinity && contactSec === Infinity) return;
      if (drainSec <= contactSec) {
        this.#drainOpen(drains.pop(), drainSec);
        budget -= 1;
      }
    }
  }

  /** The nodes whose arrival improved since the last call (each once). */
  takeImproved(): number[] {
    const improved = this.#improved;
    this.#improved = [];
    for (const n of improved) this.#improvedFlag[n] = 0;
    return improved;
  }

  #relax(c: number, readySec: number): void {
    const g = this.#g;
    if (!receivable(g, this.#rules, c)) return;
    const v = g.to[c]!;
    const size = this.#t.sizeBytes;
    // As if nothing were booked first (booking only delays): most contacts stop here, without asking the bookings.
    const rate = g.rateBytesPerSec[c]!;
    if (!(rate > 0)) return;
    const startSec = g.startSec[c]!;
    const endSec = g.endSec[c]!;
    const owltSec = g.owltSec[c]!;
    const txStartSec = Math.max(readySec, startSec);
    const txEndSec = size > 0 ? txStartSec + size / rate : txStartSec;
    if (!(txStartSec < endSec && txEndSec <= endSec) || txEndSec + owltSec >= this.arrivalSec[v]!) return;
    const arrival = bookedArrivalSec(this.#t, c, rate, startSec, endSec, owltSec, txStartSec, txEndSec + owltSec);
    if (!(arrival < this.arrivalSec[v]!)) return;
    this.#improve(v, c, arrival);
  }

  /**
   * `#relax` for the contact at position `p` of the outgoing index, whose receiver `v` accepts the
   * data from its sender: the same test, read from the position-ordered arrays.
   */
  #relaxOutgoing(p: number, v: number, readySec: number): void {
    const g = this.#g;
    const rate = g.outgoingRateBytesPerSec[p]!;
    if (!(rate > 0)) return;
    const size = this.#t.sizeBytes;
    const endSec = g.outgoingEndSec[p]!;
    const startSec = g.outgoing.keySec[p]!;
    const owltSec = g.outgoingOwltSec[p]!;
    const txStartSec = Math.max(readySec, startSec);
    const txEndSec = size > 0 ? txStartSec + size / rate : txStartSec;
    if (!(txStartSec < endSec && txEndSec <= endSec) || txEndSec + owltSec >= this.arrivalSec[v]!) return;
    const c = g.outgoing.contacts[p]!;
    const arrival = bookedArrivalSec(this.#t, c, rate, startSec, endSec, owltSec, txStartSec, txEndSec + owltSec);
    if (!(arrival < this.arrivalSec[v]!)) return;
    this.#improve(v, c, arrival);
  }

  #improve(v: number, c: number, arrival: number): void {
    const g = this.#g;
    this.arrivalSec[v] = arrival;
    this.parentContact[v] = c;
    if (g.outgoingStartMaxSec[v]! > this.#reachedStartMaxSec) this.#reachedStartMaxSec = g.outgoingStartMaxSec[v]!;
    this.#drains.push(v, arrival);
    if (this.#improvedFlag[v] === 0) {
      this.#improvedFlag[v] = 1;
      this.#improved.push(v);
    }
  }

  /** Node `u`'s contacts open at its arrival `atSec`: start ≤ arrival < end. */
  #drainOpen(u: number, atSec: number): void {
    this.nodesDrained += 1;
    const g = this.#g;
    const out = g.outgoing;
    const accept = this.#rules.accept;
    const arrivalSec = this.arrivalSec;
    // What a receiver must accept from u (u's kind is the same for all its contacts).
    const fromBit = this.#rules.orbital[u] === 1 ? ACCEPT_FROM_ORBIT : ACCEPT_FROM_GROUND;
    const endAt = g.outgoingEndSec;
    const toAt = g.outgoingTo;
    // u's arrival is final now.
    if (g.groundFromSatellite[u] === 1 && (accept[u]! & ACCEPT_FROM_ORBIT) !== 0) this.#groundFromOrbitOpen -= 1;
    if (this.#groundFromOrbitOpen === 0 && g.planSatellite[u] === 1 && fromBit === ACCEPT_FROM_ORBIT && g.neighboursAllGround[u] === 1) return;
    // Nothing to do when every receiver u has is already reached by atSec (or may not take the
    // data): anything sent now arrives later. Typical of a satellite reached after the stations it
    // sees; reading ≤ NEIGHBOUR_CHECK_MAX small-array entries instead of a binary search per
    // duration class in the contact index.
    const firstNeighbour = g.neighbourFirst[u]!;
    const lastNeighbour = g.neighbourFirst[u + 1]!;
    if (lastNeighbour - firstNeighbour <= NEIGHBOUR_CHECK_MAX) {
      let useful = false;
      for (let k = firstNeighbour; k < lastNeighbour; k++) {
        const v = g.neighbours[k]!;
        if (arrivalSec[v]! > atSec && (accept[v]! & fromBit) !== 0) {
          useful = true;
          break;
        }
      }
      if (!useful) return;
    }
    for (let s = out.segFirst[u]!, last = out.segFirst[u + 1]!; s < last; s++) {
      const end = out.segOffset[s + 1]!;
      // Starts equal to the arrival too: the scan may have passed contacts starting at the same time.
      for (let p = segmentLowerBound(out, s, atSec - out.segDurationMaxSec[s]!); p < end && out.keySec[p]! <= atSec; p++) {
        // Cheap refusals first: a receiver that may not take the data or is reached by atSec (so by
        // atSec + owlt too: light time is ≥ 0) needs neither the end nor the light time read; then
        // ended, or cannot improve even at once.
        const v = toAt[p]!;
        if ((accept[v]! & fromBit) === 0 || arrivalSec[v]! <= atSec) continue;
        if (endAt[p]! <= atSec || arrivalSec[v]! <= atSec + g.outgoingOwltSec[p]!) continue;
        this.#relaxOutgoing(p, v, atSec);
      }
    }
  }
}

/**
 * A binary min-heap of (node, time) pairs in two parallel arrays, which keep their room when the
 * heap empties (`clear`), so a heap reused from one search to the next grows only once.
 */
export class TimedHeap {
  readonly #nodes: number[] = [];
  readonly #keys: number[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Empties the heap. */
  clear(): void {
    this.#size = 0;
  }

  minKey(): number {
    return this.#keys[0]!;
  }

  minNode(): number {
    return this.#nodes[0]!;
  }

  push(node: number, key: number): void {
    const nodes = this.#nodes;
    const keys = this.#keys;
    let i = this.#size++;
    if (i === nodes.length) {
      nodes.push(node);
      keys.push(key);
    }
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (keys[up]! <= key) break;
      nodes[i] = nodes[up]!;
      keys[i] = keys[up]!;
      i = up;
    }
    nodes[i] = node;
    keys[i] = key;
  }

  /** Removes the minimum and returns its node. */
  pop(): number {
    const nodes = this.#nodes;
    const keys = this.#keys;
    const top = nodes[0]!;
    const size = --this.#size;
    if (size === 0) return top;
    const lastNode = nodes[size]!;
    const lastKey = keys[size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && keys[child + 1]! < keys[child]!) child += 1;
      if (keys[child]! >= lastKey) break;
      nodes[i] = nodes[child]!;
      keys[i] = keys[child]!;
      i = child;
    }
    nodes[i] = lastNode;
    keys[i] = lastKey;
    return top;
  }
}

/** Contacts of one duration class read at most by `firstHopArrivalBoundSec` before it settles for the bound it has. */
const FIRST_HOP_SCAN_MAX = 64;

/**
 * A lower bound of when anything sent from `node` at `readySec` can arrive anywhere: its first
 * outgoing contact whose receiver accepts the data, open at or starting after `readySec`, plus its
 * light time, as if nothing were booked and the data took no time to send. Infinity when there is
 * none. Cheap (a binary search and a short read per duration class), for bounding scores.
 */
export function firstHopArrivalBoundSec(g: PlacementGraph, rules: ContactRules, node: number, readySec: number): number {
  const out = g.outgoing;
  let boundSec = Infinity;
  for (let s = out.segFirst[node]!, last = out.segFirst[node + 1]!; s < last; s++) {
    const end = out.segOffset[s + 1]!;
    let read = 0;
    for (let p = segmentLowerBound(out, s, readySec - out.segDurationMaxSec[s]!); p < end; p++) {
      const startSec = out.keySec[p]!;
      if (Math.max(readySec, startSec) >= boundSec) break;
      if (++read > FIRST_HOP_SCAN_MAX) {
        // Every contact before this one was unusable, so none arrives before this one starts.
        boundSec = Math.min(boundSec, Math.max(readySec, startSec));
        break;
      }
      const c = out.contacts[p]!;
      if (g.endSec[c]! <= readySec || !receivable(g, rules, c)) continue;
      boundSec = Math.min(boundSec, Math.max(readySec, startSec) + g.owltSec[c]!);
      if (startSec >= readySec) break;
    }
  }
  return boundSec;
}

export interface DepartureLabels {
  /** Per node: the latest time a bundle may be ready there and still reach a target by the deadline; −Infinity if never. */
  readonly departureSec: Float64Array;
  /** Per node: the first contact of such a route, −1 at targets and unreached nodes. */
  readonly nextContact: Int32Array;
  readonly contactsScanned: number;
}

/**
 * Latest departure from every node towards any of `targets` with arrival by `deadlineSec`. Exact
 * for the nodes in `wanted` as far as it is at or after `wantedEarliestSec[node]`.
 */
export function latestDepartures(
  g: PlacementGraph, subset: ContactSubset, rules: ContactRules, t: Transfer, targets: readonly number[], deadlineSec: number, wanted: Int32Array, wantedEarliestSec: Float64Array,
): DepartureLabels {
  const departureSec = new Float64Array(g.nodeCount).fill(-Infinity);
  const nextContact = new Int32Array(g.nodeCount).fill(-1);
  const stack: number[] = [];
  const inc = g.incoming;
  const relax = (c: number, latestArrivalSec: number): void => {
    if (!receivable(g, rules, c)) return;
    const u = g.from[c]!;
    const rate = g.rateBytesPerSec[c]!;
    const start = g.startSec[c]!;
    const end = g.endSec[c]!;
    const txEndMaxSec = Math.min(end, latestArrivalSec - g.owltSec[c]!);
    if (!(txEndMaxSec > start) && !(t.sizeBytes === 0 && txEndMaxSec >= start)) return;
    if (departureSec[u]! >= txEndMaxSec) return;
    // Zero bytes: the first byte must leave strictly before the end (cgr.ts: txStart < end).
    let txStartMaxSec = t.sizeBytes > 0 ? txEndMaxSec - t.sizeBytes / rate : txEndMaxSec < end ? txEndMaxSec : end - Math.max(1, Math.abs(end)) * Number.EPSILON;
    // As if nothing were booked first (booking only makes the departure earlier).
    if (!(txStartMaxSec >= start) || txStartMaxSec <= departureSec[u]!) return;
    let booked = 0;
    if (t.bookings !== undefined || t.extraBookedBytes !== undefined) {
      booked = bookedOn(t, c);
      if (residualOf(g, c, booked) < t.sizeBytes) return;
    }
    const bookedSec = booked > 0 ? booked / rate : 0;
    if (!(txStartMaxSec >= start + bookedSec)) return;
    if (bookedSec > 0) txStartMaxSec -= bookedSec;
    if (!(txStartMaxSec > departureSec[u]!)) return;
    departureSec[u] = txStartMaxSec;
    nextContact[u] = c;
    stack.push(u);
  };
  // Contacts into v that the latest arrival there cuts short: the contact is still open at latest − owlt.
  const drainOpen = (): void => {
    while (stack.length > 0) {
      const v = stack.pop()!;
      const latestSec = departureSec[v]!;
      const owltMaxSec = g.incomingOwltMaxSec[v]!;
      for (let s = inc.segFirst[v]!, last = inc.segFirst[v + 1]!; s < last; s++) {
        const end = inc.segOffset[s + 1]!;
        const untilSec = latestSec + inc.segDurationMaxSec[s]!;
        for (let p = segmentLowerBound(inc, s, latestSec - owltMaxSec); p < end && inc.keySec[p]! < untilSec; p++) {
          const c = inc.contacts[p]!;
          // Ends equal to latest − owlt too: the scan may have passed contacts ending at the same time.
          if (latestSec - g.owltSec[c]! <= g.endSec[c]! && g.startSec[c]! < latestSec) relax(c, latestSec);
        }
      }
    }
  };
  for (const target of targets) {
    departureSec[target] = deadlineSec;
    stack.push(target);
  }
  drainOpen();
  let horizonSec = Infinity;
  for (const w of wanted) horizonSec = Math.min(horizonSec, wantedEarliestSec[w]!);
  const pending = Int32Array.from(wanted);
  let pendingCount = pending.length;
  const back = subset.backward;
  const count = back.contact.length;
  // Latest first: skip the contacts ending after the deadline (their open part was relaxed above).
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (back.keySec[mid]! > deadlineSec) lo = mid + 1;
    else hi = mid;
  }
  const first = lo;
  let i = lo;
  for (; i < count; i++) {
    const p = i;
    const keySec = back.keySec[p]!;
    if (keySec < horizonSec) break;
    if ((i - first) % SETTLED_CHECK_CONTACTS === 0) {
      pendingCount = compact(pending, pendingCount, (w) => departureSec[w]! >= keySec || wantedEarliestSec[w]! > keySec);
      if (pendingCount === 0) break;
    }
    // Taken whole only if the receiver may still forward after its end; skipped if the sender already leaves later.
    const latestSec = departureSec[back.to[p]!]!;
    if (latestSec - back.owltSec[p]! < keySec || departureSec[back.from[p]!]! >= keySec) continue;
    relax(back.contact[p]!, latestSec);
    if (stack.length > 0) drainOpen();
  }
  return { departureSec, nextContact, contactsScanned: i - first };
}

export interface TargetArrival {
  readonly arrivalSec: number;
  readonly target: number;
  /** Contact indices from the source to the target, in order. */
  readonly contacts: readonly number[];
}

/** Nodes one targeted search may settle at most; beyond it the search gives up (returns undefined). */
export const TARGETED_SETTLED_MAX = 100_000;

/**
 * Per-node labels a targeted search may reuse from one call to the next (placement keeps one per
 * catalog): a label counts only when its stamp is the current search's, so nothing is cleared
 * between searches and no Map is built per search.
 */
export class TargetedScratch {
  readonly arrivalSec: Float64Array;
  readonly parentContact: Int32Array;
  /** Per node: the search that set its label (`search`), or older. */
  readonly labelStamp: Uint32Array;
  /** Per node: the search that settled it. */
  readonly settledStamp: Uint32Array;
  /** The search's frontier, emptied by each search. */
  readonly heap = new TimedHeap();
  /** Per segment of the node being settled: the first position after its open contacts. */
  readonly laterFrom = new Int32Array(DURATION_CLASSES);
  search = 0;

  constructor(nodeCount: number) {
    this.arrivalSec = new Float64Array(nodeCount);
    this.parentContact = new Int32Array(nodeCount);
    this.labelStamp = new Uint32Array(nodeCount);
    this.settledStamp = new Uint32Array(nodeCount);
  }

  /** Starts a new search: every label is unset. */
  begin(): number {
    if (this.search === 0xffff_ffff) {
      this.labelStamp.fill(0);
      this.settledStamp.fill(0);
      this.search = 0;
    }
    return ++this.search;
  }
}

/**
 * Earliest arrival at any node with `isTarget[node] === 1` of a bundle ready at `source` at
 * `startSec`, arriving by `boundSec` at the latest; undefined when there is none. The route is
 * the chain of contacts that made each arrival. `scratch` (sized for the graph) holds the labels;
 * a new one is made when none is given.
 */
export function earliestArrivalAt(
  g: PlacementGraph, rules: ContactRules, t: Transfer, source: number, startSec: number, isTarget: Uint8Array, boundSec: number,
  scratch: TargetedScratch = new TargetedScratch(g.nodeCount),
): TargetArrival | undefined {
  if (isTarget[source] === 1) return { arrivalSec: startSec, target: source, contacts: [] };
  const search = scratch.begin();
  const { arrivalSec, parentContact, labelStamp, settledStamp } = scratch;
  arrivalSec[source] = startSec;
  parentContact[source] = -1;
  labelStamp[source] = search;
  let settledCount = 0;
  const heap = scratch.heap;
  heap.clear();
  const laterFrom = scratch.laterFrom;
  heap.push(source, startSec);
  let bestSec = boundSec;
  let best = -1;
  const out = g.outgoing;
  const { outgoingTo, outgoingEndSec, outgoingRateBytesPerSec, outgoingOwltSec } = g;
  const size = t.sizeBytes;
  /** The contact at position `p` of the outgoing index, from a node whose kind needs `fromBit`. */
  const relax = (p: number, fromBit: number, readySec: number): void => {
    const v = outgoingTo[p]!;
    if (settledStamp[v] === search || (rules.accept[v]! & fromBit) === 0) return;
    const rate = outgoingRateBytesPerSec[p]!;
    if (!(rate > 0)) return;
    // As if nothing were booked first (booking only delays, and cannot make an unusable contact
    // usable): most contacts stop here, without reading the bookings or the input's own bytes.
    const labelSec = labelStamp[v] === search ? arrivalSec[v]! : Infinity;
    const endSec = outgoingEndSec[p]!;
    const startSec = out.keySec[p]!;
    const owltSec = outgoingOwltSec[p]!;
    const txStartSec = Math.max(readySec, startSec);
    const txEndSec = size > 0 ? txStartSec + size / rate : txStartSec;
    if (!(txStartSec < endSec && txEndSec <= endSec)) return;
    const freeArrivalSec = txEndSec + owltSec;
    if (!(freeArrivalSec <= bestSec) || !(freeArrivalSec < labelSec)) return;
    const c = out.contacts[p]!;
    const arrival = bookedArrivalSec(t, c, rate, startSec, endSec, owltSec, txStartSec, freeArrivalSec);
    if (!(arrival <= bestSec) || !(arrival < (labelStamp[v] === search ? arrivalSec[v]! : Infinity))) return;
    arrivalSec[v] = arrival;
    parentContact[v] = c;
    labelStamp[v] = search;
    if (isTarget[v] === 1) {
      if (arrival < bestSec || best === -1) {
        bestSec = arrival;
        best = v;
      }
    } else heap.push(v, arrival);
  };
  while (heap.size > 0 && settledCount < TARGETED_SETTLED_MAX) {
    if (heap.minKey() >= bestSec && best !== -1) break;
    const u = heap.pop();
    if (settledStamp[u] === search) continue;
    settledStamp[u] = search;
    settledCount += 1;
    const atSec = arrivalSec[u]!;
    const fromBit = rules.orbital[u] === 1 ? ACCEPT_FROM_ORBIT : ACCEPT_FROM_GROUND;
    // Open contacts first (terrestrial links bound the search early), then later ones up to the
    // bound: per segment, from where the open ones ended (the first start after the arrival).
    const firstSegment = out.segFirst[u]!;
    const lastSegment = out.segFirst[u + 1]!;
    for (let s = firstSegment; s < lastSegment; s++) {
      const end = out.segOffset[s + 1]!;
      let p = segmentLowerBound(out, s, atSec - out.segDurationMaxSec[s]!);
      for (; p < end && out.keySec[p]! <= atSec; p++) {
        if (outgoingEndSec[p]! > atSec) relax(p, fromBit, atSec);
      }
      laterFrom[s - firstSegment] = p;
    }
    for (let s = firstSegment; s < lastSegment; s++) {
      const end = out.segOffset[s + 1]!;
      for (let p = laterFrom[s - firstSegment]!; p < end; p++) {
        if (out.keySec[p]! > bestSec) break;
        relax(p, fromBit, atSec);
      }
    }
  }
  if (best === -1) return undefined;
  const contacts: number[] = [];
  for (let v = best; v !== source; v = g.from[parentContact[v]!]!) {
    contacts.push(parentContact[v]!);
    if (contacts.length > g.nodeCount) throw new Error('route reconstruction loops');
  }
  return { arrivalSec: bestSec, target: best, contacts: contacts.reverse() };
}
