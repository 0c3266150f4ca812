// HDTN contact plans. Fixtures: `fixtures/contact-plans/hdtn-*.json` are NASA HDTN's own plans
// (see test/fixtures/PROVENANCE.md); `fixtures/contact-plans/malformed/hdtn-*.json` are hand-made
// (their README says what each one breaks).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { ContactPlan } from '../../contact-plans/contact-plan.ts';
import { HDTN_PLAN_BYTES_MAX, formatHdtnContactPlan, parseHdtnContactPlan } from '../../contact-plans/hdtn-contact-plan.ts';

const PLANS = new URL('../fixtures/contact-plans/', import.meta.url).pathname;
const MALFORMED = join(PLANS, 'malformed');

/** HDTN's plans and how many contacts each holds. */
const HDTN_PLANS: ReadonlyArray<readonly [string, number]> = [
  ['hdtn-contactPlan_RoutingTest.json', 8],
  ['hdtn-10nodes.json', 368],
  ['hdtn-50nodes.json', 7_186],
  ['hdtn-100nodes.json', 28_162],
  ['hdtn-cgrTutorial.json', 16],
  ['hdtn-Ion_4nodes_long.json', 4],
];

const readPlan = (name: string): ContactPlan =>
  new ContactPlan(parseHdtnContactPlan(readFileSync(join(PLANS, name), 'utf8'), name));

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

const oneContact = (fields: string): string => `{"contacts": [{"contact": 0, "source": 1, "dest": 2, ${fields}}]}`;

describe('reading HDTN contact plans', () => {
  it.each(HDTN_PLANS)('reads every contact of %s (%i)', (name, count) => {
    const data = parseHdtnContactPlan(readFileSync(join(PLANS, name), 'utf8'), name);
    expect(data.contacts).toHaveLength(count);
    expect(new ContactPlan(data).contacts).toHaveLength(count);
  });

  it("converts HDTN's bits per second to bytes per second and keeps times and OWLT in seconds", () => {
    const data = parseHdtnContactPlan(readFileSync(join(PLANS, 'hdtn-contactPlan_RoutingTest.json'), 'utf8'), 'routing');
    expect(data.contacts[0]).toEqual({
      from: 100, to: 1, startSec: 0, endSec: 120, rateBytesPerSec: 125_000_000, owltSec: 1, confidence: 1,
    });
    expect(data.contacts[2]).toMatchObject({ from: 2, to: 4, startSec: 11, endSec: 150 });
  });

  it('has an abstract time base and names nodes by number only', () => {
    const data = parseHdtnContactPlan(readFileSync(join(PLANS, 'hdtn-cgrTutorial.json'), 'utf8'), 'tutorial');
    expect(data.epochMs).toBeUndefined();
    expect(data.nodes).toEqual([]);
    expect(new ContactPlan(data).nodes).toEqual([1, 2, 3, 4, 5].map((ipn) => ({ ipn, id: String(ipn), kind: 'other' })));
  });

  it('keeps a contact whose endTime precedes its startTime as an empty contact, as HDTN runs it for 0 s', () => {
    const data = parseHdtnContactPlan(readFileSync(join(PLANS, 'hdtn-10nodes.json'), 'utf8'), '10nodes');
    // HDTN's contacts 202 (46812 → 39588) and 212 (86400 → 0).
    expect(data.contacts[202]).toMatchObject({ from: 3639, to: 3517, startSec: 46_812, endSec: 46_812 });
    expect(data.contacts[212]).toMatchObject({ from: 3639, to: 1104, startSec: 86_400, endSec: 86_400 });
  });

  it("reads HDTN's deprecated rate field, in Mbit/s, when rateBitsPerSec is absent", () => {
    const data = parseHdtnContactPlan(oneContact('"startTime": 0, "endTime": 10, "rate": 2, "owlt": 1'), 'inline');
    expect(data.contacts[0]!.rateBytesPerSec).toBe(250_000);
  });

  it("defaults a missing owlt to 0 s, as HDTN's libcgr does, and ignores keys it does not know", () => {
    const data = parseHdtnContactPlan(oneContact('"startTime": 0, "endTime": 10, "rateBitsPerSec": 80, "finalDestination": 9'), 'inline');
    expect(data.contacts[0]).toEqual({ from: 1, to: 2, startSec: 0, endSec: 10, rateBytesPerSec: 10, owltSec: 0, confidence: 1 });
  });

  it('reads a byte order mark and an empty plan', () => {
    expect(parseHdtnContactPlan('\uFEFF{"contacts": []}', 'inline').contacts).toEqual([]);
  });
});

describe('writing HDTN contact plans', () => {
  it.each(HDTN_PLANS)('round-trips %s: HDTN → plan → HDTN → plan keeps the hash', (name) => {
    const plan = readPlan(name);
    const again = new ContactPlan(parseHdtnContactPlan(formatHdtnContactPlan(plan), 'written'));
    expect(again.hash).toBe(plan.hash);
  });

  it("numbers contacts 0, 1, … in plan order, with HDTN's keys in HDTN's order", () => {
    const plan = readPlan('hdtn-contactPlan_RoutingTest.json');
    const written = JSON.parse(formatHdtnContactPlan(plan)) as { contacts: Array<Record<string, number>> };
    expect(written.contacts.map((c) => c.contact)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const c of written.contacts) {
      expect(Object.keys(c)).toEqual(['contact', 'source', 'dest', 'startTime', 'endTime', 'rateBitsPerSec', 'owlt']);
    }
    expect(written.contacts.map((c) => [c.source, c.dest, c.startTime])).toEqual(plan.contacts.map((c) => [c.from, c.to, c.startSec]));
    expect(written.contacts[0]).toEqual({
      contact: 0, source: 1, dest: 2, startTime: 0, endTime: 120, rateBitsPerSec: 1_000_000_000, owlt: 1,
    });
  });

  it('writes whole seconds and bits: start rounded up, end down, OWLT up, rate down; no epoch or confidence', () => {
    const plan = new ContactPlan({
      epochMs: Date.UTC(2026, 5, 14),
      nodes: [],
      contacts: [{ from: 1, to: 2, startSec: 10.25, endSec: 99.75, rateBytesPerSec: 1000.1, owltSec: 0.004, confidence: 0.5 }],
    });
    const written = JSON.parse(formatHdtnContactPlan(plan)) as { contacts: unknown[] };
    expect(written.contacts).toEqual([
      { contact: 0, source: 1, dest: 2, startTime: 11, endTime: 99, rateBitsPerSec: 8000, owlt: 1 },
    ]);
  });

  it('writes an empty plan as an empty contacts list', () => {
    expect(JSON.parse(formatHdtnContactPlan(new ContactPlan({ epochMs: undefined, nodes: [], contacts: [] })))).toEqual({ contacts: [] });
  });
});

describe('malformed HDTN plans', () => {
  it.each([
    ['hdtn-missing-field.json', 'contacts[1].dest', 'missing field (contact 1)'],
    ['hdtn-negative-rate.json', 'contacts[2].rateBitsPerSec', '-8000 is negative (contact 2)'],
    ['hdtn-unknown-node.json', 'contacts[0].source', '"ipn:1.0" is not an ipn node number'],
    ['hdtn-bad-time.json', 'contacts[1].startTime', '"00:10:00" is not a whole number of seconds'],
  ])('refuses %s, naming %s', (name, field, reason) => {
    const path = join(MALFORMED, name);
    const error = rejection(() => parseHdtnContactPlan(readFileSync(path, 'utf8'), path));
    expect(error.code).toBe('ORBITFED_HDTN_PLAN');
    expect(error.location).toEqual({ file: path, field, line: undefined });
    expect(error.message).toContain(`${path}: ${field}: `);
    expect(error.message).toContain(reason);
  });

  it('refuses truncated JSON, naming the line where it stops', () => {
    const path = join(MALFORMED, 'hdtn-truncated.json');
    const error = rejection(() => parseHdtnContactPlan(readFileSync(path, 'utf8'), path));
    expect(error.code).toBe('ORBITFED_HDTN_PLAN');
    expect(error.location.line).toBe(16);
    expect(error.message).toMatch(new RegExp(`^${path}:16: not valid JSON: `));
  });

  it('names the line V8 reports for a syntax error inside the text', () => {
    const error = rejection(() => parseHdtnContactPlan('{"contacts": [\n  {"source": 1,}\n]}', 'inline'));
    expect(error.location.line).toBe(2);
  });

  it.each([
    ['a contact between a node and itself', '"source": 2, "dest": 2, "startTime": 0, "endTime": 1, "rateBitsPerSec": 8', 'contacts[0].dest'],
    ['a fractional time', '"source": 1, "dest": 2, "startTime": 0.5, "endTime": 1, "rateBitsPerSec": 8', 'contacts[0].startTime'],
    ['a negative OWLT', '"source": 1, "dest": 2, "startTime": 0, "endTime": 1, "rateBitsPerSec": 8, "owlt": -1', 'contacts[0].owlt'],
    ['a contact with no rate at all', '"source": 1, "dest": 2, "startTime": 0, "endTime": 1', 'contacts[0].rateBitsPerSec'],
    ['a contact number that is not a number', '"contact": "x", "source": 1, "dest": 2, "startTime": 0, "endTime": 1, "rateBitsPerSec": 8', 'contacts[0].contact'],
  ])('refuses %s', (_what, fields, field) => {
    const error = rejection(() => parseHdtnContactPlan(`{"contacts": [{${fields}}]}`, 'inline'));
    expect(error.code).toBe('ORBITFED_HDTN_PLAN');
    expect(error.location.field).toBe(field);
  });

  it('refuses a document that is not an object with a list of contacts', () => {
    expect(rejection(() => parseHdtnContactPlan('[]', 'inline')).message).toContain('expected an object with a "contacts" list');
    expect(rejection(() => parseHdtnContactPlan('{"contacts": {}}', 'inline')).location.field).toBe('contacts');
    expect(rejection(() => parseHdtnContactPlan('{"contacts": [7]}', 'inline')).location.field).toBe('contacts[0]');
  });

  it('refuses text larger than HDTN_PLAN_BYTES_MAX (256 MiB) before parsing it', () => {
    const error = rejection(() => parseHdtnContactPlan(' '.repeat(HDTN_PLAN_BYTES_MAX + 1), 'huge.json'));
    expect(error.code).toBe('ORBITFED_PLAN_TOO_LARGE');
    expect(error.location.file).toBe('huge.json');
  });
});
