// ION contact plans. Fixtures: `fixtures/contact-plans/ion-mars-relay.ionrc` is ION-DTN's own
// cgr-test network and `hdtn-*.json` HDTN's plans (see test/fixtures/PROVENANCE.md);
// `fixtures/contact-plans/malformed/ion-*.ionrc` are hand-made and say so in their first line.
// The small plans written inline below are hand-made too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { ContactPlan, type Contact } from '../../contact-plans/contact-plan.ts';
import { parseHdtnContactPlan } from '../../contact-plans/hdtn-contact-plan.ts';
import { formatIonContactPlan, parseIonContactPlan, windowWholeSec } from '../../contact-plans/ion-contact-plan.ts';

const PLANS = new URL('../fixtures/contact-plans/', import.meta.url).pathname;
const MALFORMED = join(PLANS, 'malformed');
const MARS_PATH = join(PLANS, 'ion-mars-relay.ionrc');
const MARS_TEXT = readFileSync(MARS_PATH, 'utf8');

const HDTN_PLANS = [
  'hdtn-contactPlan_RoutingTest.json',
  'hdtn-10nodes.json',
  'hdtn-50nodes.json',
  'hdtn-100nodes.json',
  'hdtn-cgrTutorial.json',
  'hdtn-Ion_4nodes_long.json',
];

/** Runs `action`, expecting an OrbitfedError, and returns it. */
function rejection(action: () => unknown): OrbitfedError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(OrbitfedError);
    return error as OrbitfedError;
  }
  throw new Error('expected an OrbitfedError, but nothing was thrown');
}

const read = (text: string) => parseIonContactPlan(text, 'inline.ionrc');
const ionLines = (...lines: string[]): string => `${lines.join('\n')}\n`;
const roundTrip = (plan: ContactPlan): ContactPlan => new ContactPlan(parseIonContactPlan(formatIonContactPlan(plan), 'written.ionrc'));
const contact = (from: number, to: number, startSec: number, endSec: number, owltSec = 1, rateBytesPerSec = 1000, confidence = 1): Contact =>
  ({ from, to, startSec, endSec, rateBytesPerSec, owltSec, confidence });
const plan = (contacts: Contact[], epochMs?: number): ContactPlan => new ContactPlan({ epochMs, nodes: [], contacts });

describe("reading ION's Mars relay network (tests/cgr-test/global.ionrc)", () => {
  const data = parseIonContactPlan(MARS_TEXT, MARS_PATH);
  const mars = new ContactPlan(data);
  const between = (from: number, to: number) => data.contacts.filter((c) => c.from === from && c.to === to);

  it('reads its 678 contacts among 9 nodes, in an abstract time base (it has no absolute time)', () => {
    expect(data.contacts).toHaveLength(678);
    expect(mars.nodes.map((n) => n.ipn)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(data.epochMs).toBeUndefined();
  });

  it('counts "@ +s" from the previous reference time: the schedule repeats every 7200 s', () => {
    // Each block: @ +1200, +1200, +1200, +900, +900, +1800 after the block's start.
    expect(between(8, 6).slice(0, 3).map((c) => [c.startSec, c.endSec])).toEqual([[0, 1200], [7200, 8400], [14_400, 15_600]]);
    expect(between(8, 7)[0]).toMatchObject({ startSec: 1200, endSec: 2400 });
    expect(between(9, 7)[0]).toMatchObject({ startSec: 2400, endSec: 2700 });
    expect(between(5, 2)[0]).toMatchObject({ startSec: 3600, endSec: 3900, rateBytesPerSec: 131_072 });
    expect(between(2, 5)[0]).toMatchObject({ startSec: 3600, endSec: 3900, rateBytesPerSec: 1024 });
    expect(between(5, 3)[0]).toMatchObject({ startSec: 4500, endSec: 4800 });
    expect(between(6, 2)[0]).toMatchObject({ startSec: 5400, endSec: 6000 });
    expect(between(8, 6)).toHaveLength(24);
    expect(Math.max(...data.contacts.map((c) => c.startSec))).toBe(23 * 7200 + 5400);
  });

  it('gives Earth–Mars contacts the 324 s OWLT of ranges written lower node first, in both directions', () => {
    const earth = [2, 3, 4];
    const marsNodes = [5, 6, 7];
    const interplanetary = data.contacts.filter((c) =>
      c.startSec <= 36_000 && ((earth.includes(c.from) && marsNodes.includes(c.to)) || (marsNodes.includes(c.from) && earth.includes(c.to))));
    expect(interplanetary).toHaveLength(5 * 18); // 18 a block, 5 blocks before 36000 s
    expect(new Set(interplanetary.map((c) => c.owltSec))).toEqual(new Set([324]));
    expect(between(9, 5)[0]!.owltSec).toBe(20); // range "5 9 20", read backwards
    expect(between(8, 6)[0]!.owltSec).toBe(1); // range "6 8 1"
    expect(between(1, 2)[0]).toMatchObject({ startSec: 0, endSec: 36_000, rateBytesPerSec: 1_310_720, owltSec: 1 });
  });

  it('gives the contacts after the ranges end (36000 s) owltSec 0 by default', () => {
    const uncovered = data.contacts.filter((c) => c.startSec > 36_000);
    expect(uncovered).toHaveLength(528);
    expect(uncovered.every((c) => c.owltSec === 0)).toBe(true);
    // A contact starting exactly at the end of its range is covered (libcgr.c: both ends inclusive).
    expect(between(8, 6).find((c) => c.startSec === 36_000)!.owltSec).toBe(1);
  });

  it('leaves them out with missingRange "drop", as ION\'s CGR ignores them, and refuses them with "error"', () => {
    expect(parseIonContactPlan(MARS_TEXT, MARS_PATH, { missingRange: 'drop' }).contacts).toHaveLength(150);
    const error = rejection(() => parseIonContactPlan(MARS_TEXT, MARS_PATH, { missingRange: 'error' }));
    expect(error.code).toBe('ORBITFED_ION_PLAN');
    expect(error.location).toEqual({ file: MARS_PATH, line: 208, field: 'owlt' });
    expect(error.message).toContain('(37200 s)');
  });
});

describe('ION time references', () => {
  it("reads +s before any absolute time as seconds from when ionadmin starts: an abstract time base", () => {
    const data = read(ionLines('a range +0 +100 1 2 1', 'a contact +10 +70 1 2 500'));
    expect(data.epochMs).toBeUndefined();
    expect(data.contacts).toEqual([contact(1, 2, 10, 70, 1, 500)]);
  });

  it('makes the first absolute time the epoch, in UTC, and places every contact relative to it', () => {
    const data = read(ionLines(
      '@ 2026/06/14-00:00:00',
      'a range +0 +7200 1 2 1',
      'a contact +60 +600 1 2 1000',
      'a contact 2026/06/14-01:00:00 2026/06/14-01:10:00 2 1 1000',
    ));
    expect(data.epochMs).toBe(Date.UTC(2026, 5, 14));
    expect(data.contacts.map((c) => [c.startSec, c.endSec])).toEqual([[60, 600], [3600, 4200]]);
  });

  it('takes an absolute time in a contact line as the epoch when it comes first; only "@" moves the reference', () => {
    const data = read(ionLines('a contact 2026/6/14-1:2:3 2026/06/14-01:12:03 1 2 1000', 'a range 2026/06/14-00:00:00 2026/06/15-00:00:00 1 2 1'));
    expect(data.epochMs).toBe(Date.UTC(2026, 5, 14, 1, 2, 3));
    expect(data.contacts[0]).toMatchObject({ startSec: 0, endSec: 600, owltSec: 1 });
  });

  it('counts a +s end from the reference time, not from an absolute start on the same line', () => {
    const error = rejection(() => read(ionLines('a contact 2026/06/14-00:00:00 +600 1 2 1000')));
    expect(error.location).toEqual({ file: 'inline.ionrc', line: 1, field: 'end' });
  });

  it('moves the reference by "@ +s" from the current reference, and by "@ +-s" back', () => {
    const data = read(ionLines('@ +100', 'a contact +0 +10 1 2 1', '@ +50', 'a contact +0 +10 1 2 1', '@ +-20', 'a contact +-5 +10 1 2 1'));
    expect(data.contacts.map((c) => c.startSec)).toEqual([100, 150, 125]);
  });

  it('moves an absolute reference the same way', () => {
    const data = read(ionLines('@ 2026/06/14-00:00:00', '@ +3600', 'a contact +0 +10 1 2 1'));
    expect(data.epochMs).toBe(Date.UTC(2026, 5, 14));
    expect(data.contacts[0]!.startSec).toBe(3600);
  });

  it("returns to ionadmin's start time with \"@ 0\" (ION: now)", () => {
    const data = read(ionLines('@ +500', '@ 0', 'a contact +7 +10 1 2 1'));
    expect(data.contacts[0]!.startSec).toBe(7);
  });

  it('refuses "+010", which ION would read as octal 8, and "+1.5", which it would read as 1', () => {
    const octal = rejection(() => read(ionLines('a contact +010 +20 1 2 1')));
    expect(octal.location).toEqual({ file: 'inline.ionrc', line: 1, field: 'start' });
    expect(octal.message).toContain('octal');
    expect(rejection(() => read(ionLines('', 'a contact +1.5 +20 1 2 1'))).location).toMatchObject({ line: 2, field: 'start' });
  });

  it("refuses a +s counted from ionadmin's start in a file whose times are absolute", () => {
    const path = join(MALFORMED, 'ion-mixed-time-base.ionrc');
    const error = rejection(() => parseIonContactPlan(readFileSync(path, 'utf8'), path));
    expect(error.code).toBe('ORBITFED_ION_PLAN');
    expect(error.location).toEqual({ file: path, line: 2, field: 'start' });
    expect(error.message).toContain('the first on line 3');
  });

  it('refuses an "@" without exactly one time', () => {
    expect(rejection(() => read(ionLines('@'))).location).toMatchObject({ line: 1, field: 'time' });
    expect(rejection(() => read(ionLines('@ +1 +2'))).location).toMatchObject({ line: 1, field: 'time' });
  });
});

describe('ION ranges', () => {
  const owlts = (text: string): number[] => read(text).contacts.map((c) => c.owltSec);

  it('a range written lower node first covers both directions', () => {
    expect(owlts(ionLines('a range +0 +100 1 2 7', 'a contact +0 +10 1 2 1', 'a contact +0 +10 2 1 1'))).toEqual([7, 7]);
  });

  it('a range written higher node first covers only its own direction', () => {
    expect(owlts(ionLines('a range +0 +100 2 1 7', 'a contact +0 +10 2 1 1', 'a contact +0 +10 1 2 1'))).toEqual([7, 0]);
  });

  it('an exact-direction range takes precedence over the reverse of a lower-first one, only where it applies', () => {
    const text = ionLines('a range +0 +100 1 2 7', 'a range +50 +100 2 1 9', 'a contact +10 +20 2 1 1', 'a contact +60 +70 2 1 1', 'a contact +60 +70 1 2 1');
    expect(owlts(text)).toEqual([7, 9, 7]);
  });

  it('covers a contact starting at either end of a range, and picks the earlier of two ranges that touch', () => {
    const text = ionLines('a range +0 +100 1 2 3', 'a range +100 +200 1 2 4', 'a contact +0 +1 1 2 1', 'a contact +100 +101 1 2 1', 'a contact +200 +201 1 2 1', 'a contact +201 +202 1 2 1');
    expect(owlts(text)).toEqual([3, 3, 4, 0]);
  });

  it('reads ranges wherever they stand in the file', () => {
    expect(owlts(ionLines('a contact +0 +10 1 2 1', 'a range +0 +100 1 2 5'))).toEqual([5]);
  });

  it('ignores a repeated range with the same start and OWLT (ION: idempotent) and refuses one with another OWLT', () => {
    expect(owlts(ionLines('a range +0 +100 1 2 5', 'a range +0 +50 1 2 5', 'a contact +70 +80 1 2 1'))).toEqual([5]);
    const error = rejection(() => read(ionLines('a range +0 +100 1 2 5', 'a range +0 +100 1 2 6')));
    expect(error.location).toEqual({ file: 'inline.ionrc', line: 2, field: 'owlt' });
    expect(error.message).toContain('line 1');
  });

  it('refuses a range that overlaps another of the same direction, naming both lines', () => {
    const error = rejection(() => read(ionLines('a range +0 +100 1 2 5', '# a comment', 'a range +50 +150 1 2 5')));
    expect(error.code).toBe('ORBITFED_ION_PLAN');
    expect(error.location).toEqual({ file: 'inline.ionrc', line: 3, field: 'start' });
    expect(error.message).toContain('line 1');
  });
});

describe('ION commands other than the contacts and ranges of a plan', () => {
  it('skips comments, blank lines and commands that do not shape the plan (1, s, x, m, e, ^)', () => {
    const data = read(ionLines('1 1 ""', 's', '', '   # indented comment', 'm horizon +0', 'm production 1000000', 'e 1', '^ 1', 'x', 'a contact +0 +10 1 2 1'));
    expect(data.contacts).toHaveLength(1);
  });

  it('skips loopback, registration and hypothetical contacts: none is a link between two nodes', () => {
    const data = read(ionLines('a contact +1 +3600 1 1 100000', 'a range +1 +3600 1 1 1', 'a contact -1 -1 3 3 0', 'a contact 0 0 1 2 0', 'a contact +1 +3600 1 2 100000'));
    expect(data.contacts.map((c) => [c.from, c.to])).toEqual([[1, 2]]);
  });

  it('stops at "q", as ionadmin does', () => {
    expect(read(ionLines('a contact +0 +10 1 2 1', 'q', 'a contact +0 +10 2 1 1')).contacts).toHaveLength(1);
  });

  it('refuses "c" and "d" commands, which edit the plan', () => {
    expect(rejection(() => read(ionLines('a contact +0 +10 1 2 1', 'd contact * 1 2'))).location.line).toBe(2);
    expect(rejection(() => read(ionLines('c contact +0 1 2 500'))).message).toContain('"c contact" edits the plan');
  });

  it('refuses an "a" that adds neither a contact nor a range', () => {
    expect(rejection(() => read(ionLines('a plan +0 +10 1 2 1'))).message).toContain('adds only "a contact" and "a range"');
  });

  it('reads a contact confidence, 1 when absent', () => {
    expect(read(ionLines('a contact +0 +10 1 2 1 0.25', 'a contact +0 +10 2 1 1')).contacts.map((c) => c.confidence)).toEqual([0.25, 1]);
  });

  it('keeps a contact that ends when it starts as an empty contact (ION refuses that line)', () => {
    expect(read(ionLines('a contact +5 +5 1 2 1')).contacts[0]).toMatchObject({ startSec: 5, endSec: 5 });
  });

  it('reads CRLF line ends and tabs between fields', () => {
    expect(read('a range\t+0 +10\t1 2\t3\r\na contact +0\t+10 1 2 9\r\n').contacts).toEqual([contact(1, 2, 0, 10, 3, 9)]);
  });
});

describe('malformed ION plans', () => {
  it.each([
    ['ion-bad-time.ionrc', 4, 'end', 'bad time "+1.5"'],
    ['ion-bad-date.ionrc', 2, 'time', 'bad time "2026/02/30-00:00:00": no such UTC date and time'],
    ['ion-missing-field.ionrc', 4, undefined, 'missing or extra field: "a contact" takes START END FROM TO RATE [CONFIDENCE] (found 4 fields)'],
    ['ion-negative-rate.ionrc', 4, 'rate', 'rate -1000 is negative'],
    ['ion-unknown-node.ionrc', 4, 'from', 'node "ipn:1" is not an ipn node number'],
    ['ion-end-before-start.ionrc', 4, 'end', 'ends 600 s before it starts'],
  ] as const)('refuses %s, naming line %i (%s)', (name, line, field, reason) => {
    const path = join(MALFORMED, name);
    const error = rejection(() => parseIonContactPlan(readFileSync(path, 'utf8'), path));
    expect(error.code).toBe('ORBITFED_ION_PLAN');
    expect(error.location).toEqual({ file: path, line, field });
    expect(error.message).toContain(field === undefined ? `${path}:${line}: ` : `${path}:${line}: ${field}: `);
    expect(error.message).toContain(reason);
  });

  it.each([
    ['node 0, which ION refuses', 'a contact +0 +10 0 2 1', 'from'],
    ['a fractional rate', 'a contact +0 +10 1 2 1.5', 'rate'],
    ['a confidence of 0', 'a contact +0 +10 1 2 1 0', 'confidence'],
    ['a confidence above 1', 'a contact +0 +10 1 2 1 1.5', 'confidence'],
    ['a negative OWLT', 'a range +0 +10 1 2 -1', 'owlt'],
    ['a fractional OWLT', 'a range +0 +10 1 2 0.5', 'owlt'],
    ['a range that ends before it starts', 'a range +10 +0 1 2 1', 'end'],
    ['a range with a field missing', 'a range +0 +10 1 2', undefined],
    ['a registration contact between two nodes', 'a contact -1 -1 1 2 0', 'start'],
    ['a time of day that does not exist', 'a contact 2026/06/14-24:00:00 +10 1 2 1', 'start'],
  ] as const)('refuses %s', (_what, line, field) => {
    const error = rejection(() => read(ionLines('# first line', line)));
    expect(error.code).toBe('ORBITFED_ION_PLAN');
    expect(error.location).toEqual({ file: 'inline.ionrc', line: 2, field });
  });
});

describe('writing ION contact plans', () => {
  it('round-trips the Mars relay: ION → plan → ION → plan keeps the hash', () => {
    const mars = new ContactPlan(parseIonContactPlan(MARS_TEXT, MARS_PATH));
    expect(roundTrip(mars).hash).toBe(mars.hash);
  });

  it.each(HDTN_PLANS)("round-trips HDTN's %s through ION text with the same hash", (name) => {
    const hdtn = new ContactPlan(parseHdtnContactPlan(readFileSync(join(PLANS, name), 'utf8'), name));
    expect(roundTrip(hdtn).hash).toBe(hdtn.hash);
  });

  it('writes "@" with the epoch, the ranges, then the contacts with +s times after it', () => {
    const p = plan([contact(1, 2, 60, 600, 2, 1000), contact(2, 1, 60, 600, 2, 500, 0.5)], Date.UTC(2026, 5, 14));
    expect(formatIonContactPlan(p).split('\n').slice(2)).toEqual([
      '@ 2026/06/14-00:00:00',
      'a range +60 +600 1 2 2',
      'a contact +60 +600 1 2 1000',
      'a contact +60 +600 2 1 500 0.5',
      '',
    ]);
    expect(roundTrip(p).hash).toBe(p.hash);
  });

  it('writes only +s times for an abstract plan, and names the plan in a comment', () => {
    const p = plan([contact(1, 2, 0, 10)]);
    const text = formatIonContactPlan(p);
    expect(text).not.toMatch(/^@/m);
    expect(text.split('\n')[0]).toBe(`# orbitfed contact plan sha256:${p.hash}`);
  });

  it('rounds a fractional plan to whole seconds: start up, end down, OWLT up, rate down', () => {
    const p = plan([contact(1, 2, 10.25, 99.75, 0.004, 1000.9), contact(1, 2, 200.1, 200.9, 0.004)]);
    const again = roundTrip(p);
    expect(again.contacts).toEqual([contact(1, 2, 11, 99, 1, 1000), contact(1, 2, 201, 201, 1, 1000)]);
    expect(windowWholeSec(5.0000001, 9.9999999)).toEqual({ startSec: 5, endSec: 10 });
  });

  it('keeps the absolute instants of a plan whose epoch is not a whole second', () => {
    const epochMs = Date.UTC(2026, 5, 14) + 400;
    const again = roundTrip(plan([contact(1, 2, 0.6, 10.6)], epochMs));
    expect(again.epochMs).toBe(Date.UTC(2026, 5, 14));
    expect(again.contacts[0]).toMatchObject({ startSec: 1, endSec: 11 });
  });

  it('writes one range, lower node first, when it gives the reverse direction its OWLTs too', () => {
    const text = formatIonContactPlan(plan([contact(5, 2, 0, 100, 324), contact(2, 5, 0, 100, 324), contact(2, 5, 500, 600, 324)]));
    expect(text.match(/^a range .*$/gm)).toEqual(['a range +0 +600 2 5 324']);
  });

  it('writes both directions when they differ, and each reads back its own OWLT', () => {
    const p = plan([contact(5, 2, 0, 100, 300), contact(2, 5, 0, 100, 324)]);
    expect(formatIonContactPlan(p).match(/^a range .*$/gm)).toEqual(['a range +0 +100 2 5 324', 'a range +0 +100 5 2 300']);
    expect(roundTrip(p).hash).toBe(p.hash);
  });

  it('cuts a range one second before the next contact of its direction with another OWLT', () => {
    const p = plan([contact(1, 2, 0, 500, 1), contact(1, 2, 100, 200, 2), contact(1, 2, 101, 300, 3)]);
    expect(formatIonContactPlan(p).match(/^a range .*$/gm)).toEqual([
      'a range +0 +99 1 2 1',
      'a range +100 +100 1 2 2',
      'a range +101 +300 1 2 3',
    ]);
    expect(roundTrip(p).contacts.map((c) => c.owltSec)).toEqual([1, 2, 3]);
  });

  it('refuses to write two contacts of one direction starting in the same second with different OWLTs', () => {
    const error = rejection(() => formatIonContactPlan(plan([contact(1, 2, 10.2, 20, 1), contact(1, 2, 10.7, 30, 2)])));
    expect(error.code).toBe('ORBITFED_ION_PLAN_WRITE');
  });

  it('round-trips plans with overlapping contacts and OWLTs changing per direction (seed 20260614)', () => {
    // A deterministic generator (LCG) rather than Math.random, so a failure replays exactly.
    let state = 20_260_614;
    const next = (n: number): number => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state % n;
    };
    for (let round = 0; round < 20; round++) {
      const contacts: Contact[] = [];
      const starts = new Map<string, Set<number>>();
      while (contacts.length < 60) {
        const from = 1 + next(4);
        const to = 1 + next(4);
        const startSec = next(2000);
        const key = `${from}>${to}`;
        if (from === to || starts.get(key)?.has(startSec)) continue;
        starts.set(key, (starts.get(key) ?? new Set()).add(startSec));
        contacts.push(contact(from, to, startSec, startSec + next(400), next(3), 1 + next(10_000), next(2) === 0 ? 1 : 0.5));
      }
      const p = plan(contacts, next(2) === 0 ? undefined : Date.UTC(2026, 5, 14));
      expect(roundTrip(p).hash, `round ${round}`).toBe(p.hash);
    }
  });
});
