// Pacing a contact's queue: a transmitter that sends at the contact's rate, one bundle after
// another, only while the contact is open, and only what finishes before it ends.
import { describe, expect, it } from 'vitest';
import { sendOpportunity, transmissionMs, type PacedContact } from '../../dtn/contact-pacing.ts';

const contact: PacedContact = { startMs: 10_000, endMs: 20_000, rateBytesPerSec: 1_000 };

describe('sendOpportunity', () => {
  it('waits for the contact to open', () => {
    expect(sendOpportunity(contact, contact.startMs, 500, 0)).toEqual({ kind: 'wait', atMs: 10_000 });
  });

  it('sends at once on an open, idle contact, busy for size / rate', () => {
    expect(sendOpportunity(contact, contact.startMs, 500, 12_000)).toEqual({ kind: 'now', startMs: 12_000, endMs: 12_500 });
    expect(transmissionMs(500, 1_000)).toBe(500);
  });

  it('starts the next bundle when the one before it has finished at the contact rate', () => {
    expect(sendOpportunity(contact, 12_500, 300, 12_100)).toEqual({ kind: 'wait', atMs: 12_500 });
    expect(sendOpportunity(contact, 12_500, 300, 12_500)).toEqual({ kind: 'now', startMs: 12_500, endMs: 12_800 });
  });

  it('earns no burst while idle: after a pause the rate is the same', () => {
    const first = sendOpportunity(contact, contact.startMs, 1_000, 15_000);
    expect(first).toEqual({ kind: 'now', startMs: 15_000, endMs: 16_000 });
    expect(sendOpportunity(contact, 16_000, 1_000, 15_000)).toEqual({ kind: 'wait', atMs: 16_000 });
  });

  it('never starts a bundle that would not finish before the contact ends, nor after it ended, nor at rate 0', () => {
    expect(sendOpportunity(contact, 19_000, 1_000, 19_000)).toEqual({ kind: 'now', startMs: 19_000, endMs: 20_000 });
    expect(sendOpportunity(contact, 19_000, 1_001, 19_000)).toEqual({ kind: 'never' });
    expect(sendOpportunity(contact, 12_000, 20_000, 0)).toEqual({ kind: 'never' });
    expect(sendOpportunity(contact, contact.startMs, 1, 20_000)).toEqual({ kind: 'never' });
    expect(sendOpportunity({ ...contact, rateBytesPerSec: 0 }, contact.startMs, 1, 12_000)).toEqual({ kind: 'never' });
  });
});
