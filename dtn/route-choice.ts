// Which route a waiting bundle takes, and whether it must be fragmented first. Pure apart from the
// bookings it borrows for the length of a call (it leaves them as it found them): a plan, the
// volume already booked, and one bundle's needs in; a choice out.
//
// Policy (RFC 9171 §5.4 leaves the forwarding decision to the node; §5.8 allows proactive
// fragmentation "to fit the bundle into the contact"):
// 1. The whole bundle, on the earliest-arrival route (contact-plans/cgr.ts) whose every contact has
//    residual volume for it, arriving by the bundle's expiry. Fragmentation is the exception: every
//    fragment carries its own primary block, is routed and acknowledged on its own, and the
//    destination must hold the pieces until the last one arrives.
// 2. Only if no such route exists, the bundle may be fragmented and is larger than `fragmentBytesMin`:
//    the largest fragment some route can carry. The probe route for a fragment of the minimum size
//    gives an upper bound (the smallest volume left along it: residual volume and time left after
//    its first byte could start); the bound is then halved until CGR confirms a route for it.
// 3. A bundle larger than `bundleBytesMax` (what the convergence layers take) is always fragmented.
// Contacts the bundle must avoid (`excludedContacts`: a contact that could not take it in the time
// it had left) are hidden from CGR by booking their residual volume for the duration of the call:
// CGR skips contacts whose residual volume is below the bundle's size. Nodes the route must not pass
// through (`excludedNodes`) are hidden the same way, by every contact into them that could matter
// (ending after `atSec`, starting before the deadline). The agent excludes the node it received the
// bundle from, as ION's CGR does "to minimize routing loops" (libcgr.c, `excludedNodes`): each node
// books only its own traffic, so a neighbour may believe in a route back through us that we know is
// full, and without the exclusion the bundle bounces between us until its hop limit deletes it.
import assert from 'node:assert/strict';
import { bestRoute, type ContactBookings, type ContactPlan, type Route } from '../contact-plans/plan.ts';

/** How many sizes the search for the largest routable fragment tries at most. */
export const FRAGMENT_SEARCH_STEPS_MAX = 16;

export interface RouteRequest {
  readonly fromNode: number;
  readonly toNode: number;
  /** When the bundle is ready to leave, plan seconds. */
  readonly atSec: number;
  /** Encoded bytes to carry, including what forwarding may add (the Previous Node block, a longer age). */
  readonly sizeBytes: number;
  /** Latest useful arrival (the bundle's expiry), plan seconds. */
  readonly deadlineSec: number;
  /** Contact indices this bundle must not use. */
  readonly excludedContacts?: Iterable<number>;
  /** Nodes the route must not pass through (the destination cannot be one of them). */
  readonly excludedNodes?: Iterable<number>;
  /** False when the bundle's "must not be fragmented" flag is set. */
  readonly mayFragment: boolean;
  /** No fragment is made smaller than this (encoded bytes, growth included). */
  readonly fragmentBytesMin: number;
  /** Largest bundle the convergence layers take (encoded bytes, growth included). */
  readonly bundleBytesMax: number;
}

export type RouteChoice =
  | { readonly kind: 'whole'; readonly route: Route }
  /** Fragment so that no fragment's encoding (growth included) exceeds `fragmentBytesMax`; `route` can carry the first. */
  | { readonly kind: 'fragment'; readonly route: Route; readonly fragmentBytesMax: number }
  | { readonly kind: 'none'; readonly reason: 'no-route' | 'too-large' };

/** The bytes `route` could still carry: the least, over its hops, of residual volume and time left × rate. */
export function routeVolumeBytes(plan: ContactPlan, bookings: ContactBookings, route: Route): number {
  let volume = Infinity;
  for (const hop of route.hops) {
    const contact = plan.contacts[hop.contact]!;
    const timeLeftBytes = Math.max(0, contact.endSec - hop.txStartSec) * contact.rateBytesPerSec;
    volume = Math.min(volume, bookings.residualBytes(hop.contact), timeLeftBytes);
  }
  return volume;
}

/** Runs `work` with the residual volume of `contacts` booked away, then gives it back. */
export function withContactsHidden<T>(bookings: ContactBookings, contacts: Iterable<number>, work: () => T): T {
  const hidden: [number, number][] = [];
  try {
    for (const contact of contacts) {
      const residualBytes = Math.floor(bookings.residualBytes(contact));
      if (residualBytes <= 0) continue;
      bookings.book([contact], residualBytes);
      hidden.push([contact, residualBytes]);
    }
    return work();
  } finally {
    for (const [contact, bytes] of hidden) bookings.release([contact], bytes);
  }
}

export function chooseRoute(plan: ContactPlan, bookings: ContactBookings, request: RouteRequest): RouteChoice {
  assert.ok(Number.isSafeInteger(request.sizeBytes) && request.sizeBytes > 0, `size must be whole bytes > 0, got ${request.sizeBytes}`);
  assert.ok(request.fragmentBytesMin >= 1 && request.fragmentBytesMin <= request.bundleBytesMax, 'fragmentBytesMin must be in 1 … bundleBytesMax');
  const hidden = [...(request.excludedContacts ?? [])];
  for (const node of request.excludedNodes ?? []) {
    assert.notEqual(node, request.toNode, 'the destination cannot be excluded from its own route');
    for (const contact of plan.incoming(node)) {
      const c = plan.contacts[contact]!;
      if (c.startSec >= request.deadlineSec) break;
      if (c.endSec > request.atSec) hidden.push(contact);
    }
  }
  return withContactsHidden(bookings, hidden, () => {
    const query = { from: request.fromNode, to: request.toNode, atSec: request.atSec, deadlineSec: request.deadlineSec, bookings };
    if (request.sizeBytes <= request.bundleBytesMax) {
      const route = bestRoute(plan, { ...query, sizeBytes: request.sizeBytes });
      if (route !== undefined) return { kind: 'whole', route };
    }
    if (!request.mayFragment || request.sizeBytes <= request.fragmentBytesMin) {
      return { kind: 'none', reason: request.sizeBytes > request.bundleBytesMax ? 'too-large' : 'no-route' };
    }
    const probe = bestRoute(plan, { ...query, sizeBytes: request.fragmentBytesMin });
    if (probe === undefined) return { kind: 'none', reason: 'no-route' };
    let fragmentBytes = Math.floor(Math.min(request.sizeBytes - 1, request.bundleBytesMax, routeVolumeBytes(plan, bookings, probe)));
    for (let step = 0; step < FRAGMENT_SEARCH_STEPS_MAX && fragmentBytes > request.fragmentBytesMin; step++) {
      const route = bestRoute(plan, { ...query, sizeBytes: fragmentBytes });
      if (route !== undefined) return { kind: 'fragment', route, fragmentBytesMax: fragmentBytes };
      fragmentBytes = Math.floor(fragmentBytes / 2);
    }
    return { kind: 'fragment', route: probe, fragmentBytesMax: request.fragmentBytesMin };
  });
}
