// Volume booking on a plan's contacts: what routing has promised each contact, kept apart from the
// immutable plan. The plans here are written by hand for the case each test states.
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { ContactBookings } from '../../contact-plans/contact-bookings.ts';
import { ContactPlan, type Contact } from '../../contact-plans/contact-plan.ts';

const contact = (from: number, to: number, startSec: number, endSec: number, rateBytesPerSec: number): Contact =>
  ({ from, to, startSec, endSec, rateBytesPerSec, owltSec: 1, confidence: 1 });

/** 1→2 carries 1,000 bytes (10 s at 100 B/s), 2→3 carries 500 bytes (5 s at 100 B/s). */
const plan = new ContactPlan({ epochMs: undefined, nodes: [], contacts: [contact(1, 2, 0, 10, 100), contact(2, 3, 10, 15, 100)] });
const [oneToTwo, twoToThree] = [0, 1];

function codeOf(action: () => void): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof OrbitfedError ? error.code : `not an OrbitfedError: ${String(error)}`;
  }
  return undefined;
}

describe('ContactBookings', () => {
  it('starts with nothing booked and the whole capacity left', () => {
    const bookings = new ContactBookings(plan);
    expect(bookings.planHash).toBe(plan.hash);
    expect(bookings.bookedBytes(oneToTwo)).toBe(0);
    expect(bookings.residualBytes(oneToTwo)).toBe(1000);
    expect(bookings.residualBytes(twoToThree)).toBe(500);
  });

  it('books a size on every hop of a route, given as contact indices or as a route with hops', () => {
    const bookings = new ContactBookings(plan);
    bookings.book([oneToTwo, twoToThree], 200);
    bookings.book({ hops: [{ contact: oneToTwo }, { contact: twoToThree }] }, 100);
    expect(bookings.bookedBytes(oneToTwo)).toBe(300);
    expect(bookings.residualBytes(oneToTwo)).toBe(700);
    expect(bookings.residualBytes(twoToThree)).toBe(200);
  });

  it('books a route that exactly fills a contact, and then reports no residual volume', () => {
    const bookings = new ContactBookings(plan);
    bookings.book([twoToThree], 500);
    expect(bookings.residualBytes(twoToThree)).toBe(0);
  });

  it('refuses with ORBITFED_ROUTE_VOLUME when a hop lacks room, and books none of the hops', () => {
    const bookings = new ContactBookings(plan);
    expect(codeOf(() => bookings.book([oneToTwo, twoToThree], 600))).toBe('ORBITFED_ROUTE_VOLUME');
    expect(bookings.bookedBytes(oneToTwo)).toBe(0);
    expect(bookings.bookedBytes(twoToThree)).toBe(0);
    expect(() => bookings.book([oneToTwo, twoToThree], 600)).toThrow(/contact 1 \(2→3.*500 bytes left, 600 needed/);
  });

  it('gives back what was booked on release', () => {
    const bookings = new ContactBookings(plan);
    bookings.book([oneToTwo, twoToThree], 500);
    bookings.release([oneToTwo, twoToThree], 200);
    expect(bookings.bookedBytes(oneToTwo)).toBe(300);
    expect(bookings.residualBytes(twoToThree)).toBe(200);
    bookings.release({ hops: [{ contact: oneToTwo }, { contact: twoToThree }] }, 300);
    expect(bookings.bookedBytes(twoToThree)).toBe(0);
  });

  it('shows the bytes booked per contact as one read-only array, indexed like the plan and following every booking', () => {
    const bookings = new ContactBookings(plan);
    const booked = bookings.bookedBytesByContact;
    expect(Array.from(booked)).toEqual([0, 0]);
    bookings.book([twoToThree], 400);
    expect(booked[twoToThree]).toBe(400);
    expect(booked[oneToTwo]).toBe(bookings.bookedBytes(oneToTwo));
    bookings.release([twoToThree], 150);
    expect(Array.from(booked)).toEqual([0, 250]);
    expect(booked.length).toBe(plan.contacts.length);
  });

  it('treats releasing more than is booked as a caller bug (assertion), changing nothing', () => {
    const bookings = new ContactBookings(plan);
    bookings.book([oneToTwo], 100);
    expect(() => bookings.release([oneToTwo, twoToThree], 100)).toThrow(/exceeds the 0 bytes booked/);
    expect(bookings.bookedBytes(oneToTwo)).toBe(100);
  });

  it('books twice when asked twice: idempotency is the caller\'s business', () => {
    const bookings = new ContactBookings(plan);
    bookings.book([oneToTwo], 100);
    bookings.book([oneToTwo], 100);
    expect(bookings.bookedBytes(oneToTwo)).toBe(200);
  });

  it('rejects contact indices outside the plan, repeated contacts and sizes that are not whole bytes', () => {
    const bookings = new ContactBookings(plan);
    expect(() => bookings.bookedBytes(2)).toThrow(/not in the plan/);
    expect(() => bookings.book([oneToTwo, oneToTwo], 1)).toThrow(/each contact once/);
    expect(() => bookings.book([oneToTwo], 1.5)).toThrow(/whole bytes/);
    expect(() => bookings.book([oneToTwo], -1)).toThrow(/whole bytes/);
  });

  it('never reports a negative residual volume (a zero-rate contact has none)', () => {
    const zero = new ContactPlan({ epochMs: undefined, nodes: [], contacts: [contact(1, 2, 0, 10, 0)] });
    const bookings = new ContactBookings(zero);
    expect(bookings.residualBytes(0)).toBe(0);
    bookings.book([0], 0);
    expect(codeOf(() => bookings.book([0], 1))).toBe('ORBITFED_ROUTE_VOLUME');
  });
});
