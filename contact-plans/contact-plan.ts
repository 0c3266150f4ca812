// The federation's map of time: every directed contact (from, to, start, end, rate, one-way light
// time, confidence). Immutable once built, versioned by a content hash, indexed by node and time.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { orderByBucketedKey } from './bucket-order.ts';

/** A node of the plan: its `ipn` node number (what ION and HDTN use) and our id for it. */
export interface PlanNode {
  readonly ipn: number;
  /** Station id, satellite catalog number, or the decimal ipn number when nothing else is known. */
  readonly id: string;
  readonly kind: 'ground' | 'satellite' | 'other';
}

/** One directed contact. Times are seconds in the plan's time base (see `ContactPlanData.epochMs`). */
export interface Contact {
  readonly from: number;
  readonly to: number;
  readonly startSec: number;
  readonly endSec: number;
  readonly rateBytesPerSec: number;
  /** One-way light time during the contact (from the range at the contact's closest approach, for passes). */
  readonly owltSec: number;
  /** Probability that the contact happens, 0 < confidence ≤ 1 (ION's contact confidence). */
  readonly confidence: number;
}

export interface ContactPlanData {
  /**
   * Unix ms of the plan's time 0, or undefined for plans in an abstract time base (HDTN JSON,
   * ION files without an absolute reference time).
   */
  readonly epochMs: number | undefined;
  readonly nodes: readonly PlanNode[];
  readonly contacts: readonly Contact[];
}

/** Contacts formatted per chunk by the plan writers: bounded memory whatever the plan size. */
export const PLAN_WRITE_CHUNK_CONTACTS = 8192;

/** Contacts in a plan at most (a bound on memory: ~100 bytes each). */
export const PLAN_CONTACTS_MAX = 20_000_000;

function compareContacts(a: Contact, b: Contact): number {
  return a.startSec - b.startSec || a.from - b.from || a.to - b.to || a.endSec - b.endSec
    || a.rateBytesPerSec - b.rateBytesPerSec || a.owltSec - b.owltSec || a.confidence - b.confidence;
}

function contactProblem(c: Contact): string | undefined {
  if (!(Number.isSafeInteger(c.from) && c.from >= 0 && Number.isSafeInteger(c.to) && c.to >= 0)) return 'node numbers must be whole numbers ≥ 0';
  if (c.from === c.to) return 'a contact joins two different nodes';
  if (!(Number.isFinite(c.startSec) && Number.isFinite(c.endSec) && c.endSec >= c.startSec)) return 'needs finite start ≤ end';
  if (!(Number.isFinite(c.rateBytesPerSec) && c.rateBytesPerSec >= 0)) return 'rate must be ≥ 0';
  if (!(Number.isFinite(c.owltSec) && c.owltSec >= 0)) return 'OWLT must be ≥ 0';
  if (!(c.confidence > 0 && c.confidence <= 1)) return 'confidence must be in (0, 1]';
  return undefined;
}

function checkContact(c: Contact, index: number): void {
  const problem = contactProblem(c);
  // The message is built only on failure: plans hold millions of contacts.
  if (problem !== undefined) assert.fail(`contact ${index} (${c.from}→${c.to}): ${problem}`);
}

/** Contacts of one node in a flat index: `contacts[offset, offset + length)`. */
interface NodeSpan {
  readonly offset: number;
  readonly length: number;
}

/** Per-node index over contact indices, each node's run ordered by `key` (flat typed arrays, no per-node objects). */
interface NodeIndex {
  readonly spans: ReadonlyMap<number, NodeSpan>;
  readonly contacts: Int32Array;
  readonly keys: Float64Array;
}

/** Indices 0 … n − 1 ordered by (key, index), for finite keys (bucket-order.ts). */
function orderByKey(keys: Float64Array): Int32Array {
  return orderByBucketedKey(keys, (x, y) => keys[x]! - keys[y]! || x - y);
}

/**
 * The index of `contacts` per node (`nodes`, ordered by ipn), each node's run ordered by (key,
 * contact index): the contacts ordered by key (unless it already ascends with the index), then
 * distributed to their nodes by a stable counting sort. Typed arrays only: on 10 million contacts
 * the per-contact Map updates and per-node comparison sorts this replaces took about 15 s.
 */
function buildNodeIndex(contacts: readonly Contact[], nodes: readonly PlanNode[], nodeOf: (c: Contact) => number, keyOf: (c: Contact) => number, keyAscendsWithIndex: boolean): NodeIndex {
  const n = contacts.length;
  const denseOf = new Map(nodes.map((node, k) => [node.ipn, k]));
  const nodeOfContact = new Int32Array(n);
  const keyOfContact = new Float64Array(n);
  const first = new Int32Array(nodes.length + 1);
  for (let i = 0; i < n; i += 1) {
    const c = contacts[i]!;
    const node = denseOf.get(nodeOf(c))!;
    nodeOfContact[i] = node;
    keyOfContact[i] = keyOf(c);
    first[node + 1]! += 1;
  }
  const spans = new Map<number, NodeSpan>();
  for (let k = 0; k < nodes.length; k += 1) {
    const length = first[k + 1]!;
    first[k + 1]! += first[k]!;
    if (length > 0) spans.set(nodes[k]!.ipn, { offset: first[k]!, length });
  }
  const byKey = keyAscendsWithIndex ? undefined : orderByKey(keyOfContact);
  const fill = first.slice(0, nodes.length);
  const indexOf = new Int32Array(n);
  for (let k = 0; k < n; k += 1) {
    const i = byKey === undefined ? k : byKey[k]!;
    indexOf[fill[nodeOfContact[i]!]!++] = i;
  }
  const keys = new Float64Array(n);
  for (let k = 0; k < n; k += 1) keys[k] = keyOfContact[indexOf[k]!]!;
  return { spans, contacts: indexOf, keys };
}

const CONTACT_FIELDS = 7;
const HASH_CHUNK_CONTACTS = 8192;

/**
 * SHA-256 of the canonical content: a format tag, the epoch, the nodes (as JSON), then each
 * contact as seven little-endian float64 (from, to, start, end, rate, OWLT, confidence) in plan
 * order. Streamed, so plans of millions of contacts never become one string.
 */
function contentHash(epochMs: number | undefined, nodes: readonly PlanNode[], contacts: readonly Contact[]): string {
  const hash = createHash('sha256');
  hash.update(`orbitfed-contact-plan/1\n${JSON.stringify({ epochMs: epochMs ?? null, nodes: nodes.map((n) => [n.ipn, n.id, n.kind]) })}\n`);
  const buffer = new Float64Array(HASH_CHUNK_CONTACTS * CONTACT_FIELDS);
  const bytes = new Uint8Array(buffer.buffer);
  const littleEndian = new DataView(buffer.buffer);
  for (let start = 0; start < contacts.length; start += HASH_CHUNK_CONTACTS) {
    const end = Math.min(contacts.length, start + HASH_CHUNK_CONTACTS);
    for (let i = start; i < end; i += 1) {
      const c = contacts[i]!;
      const o = (i - start) * CONTACT_FIELDS * 8;
      littleEndian.setFloat64(o, c.from, true);
      littleEndian.setFloat64(o + 8, c.to, true);
      littleEndian.setFloat64(o + 16, c.startSec, true);
      littleEndian.setFloat64(o + 24, c.endSec, true);
      littleEndian.setFloat64(o + 32, c.rateBytesPerSec, true);
      littleEndian.setFloat64(o + 40, c.owltSec, true);
      littleEndian.setFloat64(o + 48, c.confidence, true);
    }
    hash.update(bytes.subarray(0, (end - start) * CONTACT_FIELDS * 8));
  }
  return hash.digest('hex');
}

/**
 * An immutable, validated, indexed contact plan. Contacts are sorted by (start, from, to, …) and
 * referred to by their index in `contacts`; `hash` identifies the exact content. The plan takes
 * ownership of the contact objects it is given (it freezes them rather than copying millions).
 */
export class ContactPlan {
  readonly epochMs: number | undefined;
  readonly nodes: readonly PlanNode[];
  readonly contacts: readonly Contact[];
  /** SHA-256 over the canonical content, hex. Two plans with equal content have equal hashes. */
  readonly hash: string;
  readonly #nodeByIpn: ReadonlyMap<number, PlanNode>;
  /** Per sending node: its contacts' indices ordered by end time (built on first use, as routing may never need it). */
  #outgoing: NodeIndex | undefined;
  /** Per receiving node: its contacts' indices ordered by start time (built on first use). */
  #incoming: NodeIndex | undefined;

  constructor(data: ContactPlanData) {
    assert.ok(data.contacts.length <= PLAN_CONTACTS_MAX, `a plan holds at most ${PLAN_CONTACTS_MAX} contacts`);
    assert.ok(data.epochMs === undefined || Number.isFinite(data.epochMs), 'plan epoch must be finite');
    data.contacts.forEach(checkContact);
    this.epochMs = data.epochMs;
    const sorted = [...data.contacts].sort(compareContacts);
    for (const c of sorted) Object.freeze(c);
    this.contacts = Object.freeze(sorted);
    const nodes = new Map<number, PlanNode>();
    for (const n of data.nodes) {
      assert.ok(!nodes.has(n.ipn), `node ipn:${n.ipn} is listed twice`);
      nodes.set(n.ipn, Object.freeze({ ...n }));
    }
    for (const c of this.contacts) {
      for (const ipn of [c.from, c.to]) if (!nodes.has(ipn)) nodes.set(ipn, Object.freeze({ ipn, id: String(ipn), kind: 'other' }));
    }
    this.nodes = Object.freeze([...nodes.values()].sort((a, b) => a.ipn - b.ipn));
    this.#nodeByIpn = new Map(this.nodes.map((n) => [n.ipn, n]));
    this.hash = contentHash(this.epochMs, this.nodes, this.contacts);
  }

  node(ipn: number): PlanNode | undefined {
    return this.#nodeByIpn.get(ipn);
  }

  #outgoingIndex(): NodeIndex {
    this.#outgoing ??= buildNodeIndex(this.contacts, this.nodes, (c) => c.from, (c) => c.endSec, false);
    return this.#outgoing;
  }

  #incomingIndex(): NodeIndex {
    this.#incoming ??= buildNodeIndex(this.contacts, this.nodes, (c) => c.to, (c) => c.startSec, true);
    return this.#incoming;
  }

  /** Indices of the contacts from `ipn` that end after `afterSec`, ordered by end time (binary search, no scan). */
  outgoingEndingAfter(ipn: number, afterSec: number): Int32Array {
    const outgoing = this.#outgoingIndex();
    const span = outgoing.spans.get(ipn);
    if (span === undefined) return new Int32Array(0);
    const keys = outgoing.keys;
    let lo = span.offset;
    let hi = span.offset + span.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! <= afterSec) lo = mid + 1;
      else hi = mid;
    }
    return outgoing.contacts.subarray(lo, span.offset + span.length);
  }

  /** Indices of every contact into `ipn`, ordered by start. */
  incoming(ipn: number): Int32Array {
    const incoming = this.#incomingIndex();
    const span = incoming.spans.get(ipn);
    return span === undefined ? new Int32Array(0) : incoming.contacts.subarray(span.offset, span.offset + span.length);
  }

  /** Contacts from `ipn` open at `atSec` (start ≤ t < end). */
  openFrom(ipn: number, atSec: number): number[] {
    return [...this.outgoingEndingAfter(ipn, atSec)].filter((i) => this.contacts[i]!.startSec <= atSec);
  }

  /** Bytes a contact can carry in all: rate × duration. */
  capacityBytes(index: number): number {
    const c = this.contacts[index]!;
    return c.rateBytesPerSec * (c.endSec - c.startSec);
  }

  toData(): ContactPlanData {
    return { epochMs: this.epochMs, nodes: this.nodes, contacts: this.contacts };
  }
}
