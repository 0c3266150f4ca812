// The federation's map of time: every directed contact (from, to, start, end, rate, one-way light
// time, confidence). Immutable once built, versioned by a content hash, indexed by node and time.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

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

/** Contacts in a plan at most (a bound on memory: ~100 bytes each). */
export const PLAN_CONTACTS_MAX = 20_000_000;

function compareContacts(a: Contact, b: Contact): number {
  return a.startSec - b.startSec || a.from - b.from || a.to - b.to || a.endSec - b.endSec
    || a.rateBytesPerSec - b.rateBytesPerSec || a.owltSec - b.owltSec || a.confidence - b.confidence;
}

function checkContact(c: Contact, index: number): void {
  const where = `contact ${index} (${c.from}→${c.to})`;
  assert.ok(Number.isSafeInteger(c.from) && c.from >= 0 && Number.isSafeInteger(c.to) && c.to >= 0, `${where}: node numbers must be whole numbers ≥ 0`);
  assert.ok(c.from !== c.to, `${where}: a contact joins two different nodes`);
  assert.ok(Number.isFinite(c.startSec) && Number.isFinite(c.endSec) && c.endSec >= c.startSec, `${where}: needs finite start ≤ end`);
  assert.ok(Number.isFinite(c.rateBytesPerSec) && c.rateBytesPerSec >= 0, `${where}: rate must be ≥ 0`);
  assert.ok(Number.isFinite(c.owltSec) && c.owltSec >= 0, `${where}: OWLT must be ≥ 0`);
  assert.ok(c.confidence > 0 && c.confidence <= 1, `${where}: confidence must be in (0, 1]`);
}

/**
 * An immutable, validated, indexed contact plan. Contacts are sorted by (start, from, to, …) and
 * referred to by their index in `contacts`; `hash` identifies the exact content.
 */
export class ContactPlan {
  readonly epochMs: number | undefined;
  readonly nodes: readonly PlanNode[];
  readonly contacts: readonly Contact[];
  /** SHA-256 over the canonical content, hex. Two plans with equal content have equal hashes. */
  readonly hash: string;
  readonly #nodeByIpn: ReadonlyMap<number, PlanNode>;
  /** Per sending node: its contacts' indices ordered by end time, and those end times. */
  readonly #outgoing: ReadonlyMap<number, { readonly contacts: Int32Array; readonly endSec: Float64Array }>;
  readonly #incoming: ReadonlyMap<number, Int32Array>;

  constructor(data: ContactPlanData) {
    assert.ok(data.contacts.length <= PLAN_CONTACTS_MAX, `a plan holds at most ${PLAN_CONTACTS_MAX} contacts`);
    assert.ok(data.epochMs === undefined || Number.isFinite(data.epochMs), 'plan epoch must be finite');
    data.contacts.forEach(checkContact);
    this.epochMs = data.epochMs;
    this.contacts = Object.freeze([...data.contacts].sort(compareContacts).map((c) => Object.freeze({ ...c })));
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
    const outgoing = new Map<number, number[]>();
    const incoming = new Map<number, number[]>();
    this.contacts.forEach((c, i) => {
      (outgoing.get(c.from) ?? outgoing.set(c.from, []).get(c.from)!).push(i);
      (incoming.get(c.to) ?? incoming.set(c.to, []).get(c.to)!).push(i);
    });
    this.#outgoing = new Map([...outgoing].map(([ipn, list]) => {
      const sorted = Int32Array.from(list).sort((a, b) => this.contacts[a]!.endSec - this.contacts[b]!.endSec || a - b);
      return [ipn, { contacts: sorted, endSec: Float64Array.from(sorted, (i) => this.contacts[i]!.endSec) }];
    }));
    this.#incoming = new Map([...incoming].map(([ipn, list]) => [ipn, Int32Array.from(list)]));
    this.hash = createHash('sha256').update(JSON.stringify({
      epochMs: this.epochMs ?? null,
      nodes: this.nodes.map((n) => [n.ipn, n.id, n.kind]),
      contacts: this.contacts.map((c) => [c.from, c.to, c.startSec, c.endSec, c.rateBytesPerSec, c.owltSec, c.confidence]),
    })).digest('hex');
  }

  node(ipn: number): PlanNode | undefined {
    return this.#nodeByIpn.get(ipn);
  }

  /** Indices of the contacts from `ipn` that end after `afterSec`, ordered by end time (binary search, no scan). */
  outgoingEndingAfter(ipn: number, afterSec: number): Int32Array {
    const list = this.#outgoing.get(ipn);
    if (list === undefined) return new Int32Array(0);
    let lo = 0;
    let hi = list.endSec.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list.endSec[mid]! <= afterSec) lo = mid + 1;
      else hi = mid;
    }
    return list.contacts.subarray(lo);
  }

  /** Indices of every contact into `ipn`, ordered by start. */
  incoming(ipn: number): Int32Array {
    return this.#incoming.get(ipn) ?? new Int32Array(0);
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
