// When the agent may hand the next bundle of a contact's queue to the convergence layer. Pure:
// a contact's window, what was handed so far, the bundle's size and the time in; an answer out.
//
// The model is the one CGR routes by (SABR, CCSDS 734.3-B-1 §3.2.6.8: txEnd = txStart + size/rate):
// the contact is a transmitter that sends at its rate, one bundle after another. A bundle may start
// once the contact is open and the bundle before it has finished at that rate (`busyUntilMs`), so
// the bytes on a contact never exceed rate × open time, apart from the bundle in transmission, and
// never come faster than the rate however long the queue was idle (an idle contact earns no burst).
// A bundle starts only if its last byte leaves before the contact ends (CGR's rule, txEnd ≤ end, so
// that what routing booked is what pacing sends). Its acknowledgement needs one more round trip; for
// a bundle that ends within one round trip of the contact's end it may be lost with the link, and the
// bundle is then sent again later: a duplicate, which the receiving stores drop.
import assert from 'node:assert/strict';

/** A contact as the pacer sees it, on the Clock's time scale. */
export interface PacedContact {
  readonly startMs: number;
  readonly endMs: number;
  readonly rateBytesPerSec: number;
}

export type SendOpportunity =
  /** Hand it over now. */
  | { readonly kind: 'now'; readonly startMs: number; readonly endMs: number }
  /** Not before `atMs` (the contact opens, or the bundle ahead finishes). */
  | { readonly kind: 'wait'; readonly atMs: number }
  /** It would not finish before the contact ends. */
  | { readonly kind: 'never' };

/** How long `sizeBytes` take on a contact of `rateBytesPerSec`, in ms. */
export function transmissionMs(sizeBytes: number, rateBytesPerSec: number): number {
  assert.ok(rateBytesPerSec > 0, `rate must be > 0, got ${rateBytesPerSec}`);
  return (sizeBytes * 1000) / rateBytesPerSec;
}

/**
 * When a bundle of `sizeBytes` may start on `contact`, given that the transmitter is busy until
 * `busyUntilMs` (the contact's start when nothing was sent yet). On `now`, `endMs` is when the
 * transmission ends: the caller's next `busyUntilMs`.
 */
export function sendOpportunity(contact: PacedContact, busyUntilMs: number, sizeBytes: number, nowMs: number): SendOpportunity {
  assert.ok(Number.isFinite(sizeBytes) && sizeBytes >= 0, `size must be ≥ 0 bytes, got ${sizeBytes}`);
  if (!(contact.rateBytesPerSec > 0) || nowMs >= contact.endMs) return { kind: 'never' };
  const startMs = Math.max(nowMs, contact.startMs, busyUntilMs);
  const endMs = startMs + transmissionMs(sizeBytes, contact.rateBytesPerSec);
  if (endMs > contact.endMs) return { kind: 'never' };
  return startMs > nowMs ? { kind: 'wait', atMs: startMs } : { kind: 'now', startMs, endMs };
}
