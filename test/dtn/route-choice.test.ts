// Which route a bundle takes: whole on the earliest-arrival route with room for it, fragmented
// only when no route carries it whole (or it is larger than the convergence layers take).
import { describe, expect, it } from 'vitest';
import { ContactBookings, ContactPlan, type Contact } from '../../contact-plans/index.ts';
import { chooseRoute, routeVolumeBytes, withContactsHidden, type RouteRequest } from '../../dtn/route-choice.ts';

const contact = (from: number, to: number, startSec: number, endSec: number, rateBytesPerSec: number): Contact =>
  ({ from, to, startSec, endSec, rateBytesPerSec, owltSec: 0, confidence: 1 });

// 1→2 directly at 100 s (10 kB), or through 3 later (100 kB each hop).
const plan = new ContactPlan({ epochMs: 0, nodes: [], contacts: [contact(1, 2, 100, 110, 1000), contact(1, 3, 200, 300, 1000), contact(3, 2, 400, 500, 1000)] });
const request = (sizeBytes: number, overrides: Partial<RouteRequest> = {}): RouteRequest => ({
  fromNode: 1, toNode: 2, atSec: 0, sizeBytes, deadlineSec: 1000, mayFragment: true, fragmentBytesMin: 100, bundleBytesMax: 1_000_000, ...overrides,
});
const contactsOf = (choice: ReturnType<typeof chooseRoute>): number[] => (choice.kind === 'none' ? [] : choice.route.hops.map((h) => h.contact));

describe('chooseRoute', () => {
  it('takes the earliest route that has room for the whole bundle', () => {
    const bookings = new ContactBookings(plan);
    expect(chooseRoute(plan, bookings, request(5_000))).toMatchObject({ kind: 'whole' });
    expect(contactsOf(chooseRoute(plan, bookings, request(5_000)))).toEqual([0]);
    // Too big for the direct contact, not for the detour.
    expect(contactsOf(chooseRoute(plan, bookings, request(50_000)))).toEqual([1, 2]);
    bookings.book([0], 9_000);
    expect(contactsOf(chooseRoute(plan, bookings, request(5_000)))).toEqual([1, 2]);
  });

  it('avoids excluded contacts and leaves the bookings as it found them', () => {
    const bookings = new ContactBookings(plan);
    expect(contactsOf(chooseRoute(plan, bookings, request(5_000, { excludedContacts: [0] })))).toEqual([1, 2]);
    expect([0, 1, 2].map((c) => bookings.bookedBytes(c))).toEqual([0, 0, 0]);
    expect(withContactsHidden(bookings, [0, 1], () => bookings.residualBytes(0) < 1 && bookings.residualBytes(1) < 1)).toBe(true);
    expect(bookings.residualBytes(0)).toBe(10_000);
  });

  it('keeps the route off excluded nodes, and leaves the bookings as it found them', () => {
    const bookings = new ContactBookings(plan);
    expect(chooseRoute(plan, bookings, request(50_000, { excludedNodes: [3], mayFragment: false }))).toEqual({ kind: 'none', reason: 'no-route' });
    expect(contactsOf(chooseRoute(plan, bookings, request(5_000, { excludedNodes: [3] })))).toEqual([0]);
    expect([0, 1, 2].map((c) => bookings.bookedBytes(c))).toEqual([0, 0, 0]);
  });

  it('fragments a bundle no route carries whole into pieces the best route can carry', () => {
    const bookings = new ContactBookings(plan);
    const choice = chooseRoute(plan, bookings, request(250_000));
    expect(choice).toMatchObject({ kind: 'fragment', fragmentBytesMax: 10_000 });
    expect(contactsOf(choice)).toEqual([0]);
    expect(routeVolumeBytes(plan, bookings, (choice as { route: Parameters<typeof routeVolumeBytes>[2] }).route)).toBe(10_000);
  });

  it('fragments a bundle larger than the convergence layers take, whatever the plan', () => {
    const choice = chooseRoute(plan, new ContactBookings(plan), request(5_000, { bundleBytesMax: 2_000 }));
    expect(choice).toMatchObject({ kind: 'fragment', fragmentBytesMax: 2_000 });
  });

  it('finds nothing for a bundle that must not be fragmented, or after its deadline', () => {
    const bookings = new ContactBookings(plan);
    expect(chooseRoute(plan, bookings, request(250_000, { mayFragment: false }))).toEqual({ kind: 'none', reason: 'no-route' });
    expect(chooseRoute(plan, bookings, request(5_000, { mayFragment: false, bundleBytesMax: 2_000 }))).toEqual({ kind: 'none', reason: 'too-large' });
    expect(chooseRoute(plan, bookings, request(5_000, { deadlineSec: 50 }))).toEqual({ kind: 'none', reason: 'no-route' });
  });
});
