// Volume booked on the contacts of one plan: what routing has already promised to each contact,
// kept apart from the immutable plan. SABR (CCSDS 734.3-B-1 §3.2.6.8) tracks the same quantity as
// a contact's remaining volume (its MTV); HDTN's libcgr initialises its per-contact volume and
// never decrements it (nasa/HDTN issue #72), so every later query sees the full contact: here
// `book` is the one place that decrements, and routing reads the result.
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import type { ContactPlan } from './contact-plan.ts';

/** What can be booked: a route's hops (as `findRoutes` returns them) or a list of contact indices. */
export type BookableContacts = readonly number[] | { readonly hops: readonly { readonly contact: number }[] };

function contactIndices(route: BookableContacts): readonly number[] {
  return Array.isArray(route) ? route : (route as { readonly hops: readonly { readonly contact: number }[] }).hops.map((h) => h.contact);
}

/**
 * Bytes booked per contact of one plan (bound to it by its content hash). Bounded: one Float64Array
 * slot per contact, nothing grows. Booking is all-or-nothing over a route's hops; idempotency is the
 * caller's business (booking the same bundle twice books it twice).
 */
export class ContactBookings {
  /** Hash of the plan these bookings belong to (`ContactPlan.hash`). */
  readonly planHash: string;
  readonly #plan: ContactPlan;
  readonly #capacityBytes: Float64Array;
  readonly #bookedBytes: Float64Array;

  constructor(plan: ContactPlan) {
    this.#plan = plan;
    this.planHash = plan.hash;
    this.#capacityBytes = Float64Array.from(plan.contacts, (_, i) => plan.capacityBytes(i));
    this.#bookedBytes = new Float64Array(plan.contacts.length);
  }

  /** Bytes already booked on contact `contact` (an index into the plan's `contacts`). */
  bookedBytes(contact: number): number {
    this.#checkIndex(contact);
    return this.#bookedBytes[contact]!;
  }

  /**
   * Bytes booked per contact, indexed like the plan's `contacts` (read-only, live: it follows later
   * bookings). For searches that read many contacts: one array read each instead of a checked call.
   */
  get bookedBytesByContact(): ArrayLike<number> {
    return this.#bookedBytes;
  }

  /** Bytes the contact can still carry: capacity − booked, never negative. */
  residualBytes(contact: number): number {
    this.#checkIndex(contact);
    return Math.max(0, this.#capacityBytes[contact]! - this.#bookedBytes[contact]!);
  }

  /**
   * Books `sizeBytes` on every hop, or on none: refuses (error `ORBITFED_ROUTE_VOLUME`, naming the
   * first hop that lacks room) when any hop's residual volume is below the size.
   */
  book(route: BookableContacts, sizeBytes: number): void {
    const contacts = this.#checkRoute(route, sizeBytes);
    contacts.forEach((contact, hop) => {
      const residual = this.residualBytes(contact);
      if (residual < sizeBytes) {
        const c = this.#plan.contacts[contact]!;
        throw new OrbitfedError('ORBITFED_ROUTE_VOLUME',
          `contact ${contact} (${c.from}→${c.to}, ${c.startSec}–${c.endSec} s) has ${residual} bytes left, ${sizeBytes} needed; nothing was booked`,
          { field: `hops[${hop}]` });
      }
    });
    for (const contact of contacts) this.#bookedBytes[contact]! += sizeBytes;
  }

  /** Gives back what `book` took. Releasing more than is booked on any hop is a caller bug (assertion). */
  release(route: BookableContacts, sizeBytes: number): void {
    const contacts = this.#checkRoute(route, sizeBytes);
    for (const contact of contacts) {
      assert.ok(this.#bookedBytes[contact]! >= sizeBytes,
        `release of ${sizeBytes} bytes on contact ${contact} exceeds the ${this.#bookedBytes[contact]} bytes booked`);
    }
    for (const contact of contacts) this.#bookedBytes[contact]! -= sizeBytes;
  }

  #checkIndex(contact: number): void {
    assert.ok(Number.isInteger(contact) && contact >= 0 && contact < this.#bookedBytes.length,
      `contact index ${contact} is not in the plan (${this.#bookedBytes.length} contacts)`);
  }

  #checkRoute(route: BookableContacts, sizeBytes: number): readonly number[] {
    assert.ok(Number.isSafeInteger(sizeBytes) && sizeBytes >= 0, `size must be whole bytes ≥ 0 (got ${sizeBytes})`);
    const contacts = contactIndices(route);
    contacts.forEach((c) => this.#checkIndex(c));
    assert.ok(new Set(contacts).size === contacts.length, 'a route uses each contact once');
    return contacts;
  }
}
