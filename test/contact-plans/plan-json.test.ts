// orbitfed's own contact plan JSON (contact-plans/PLAN-FORMAT.md) and contact plan files in any
// format (plan-file.ts). Fixtures: `fixtures/contact-plans/hdtn-*.json` and `ion-mars-relay.ionrc`
// come from HDTN and ION (test/fixtures/PROVENANCE.md); `fixtures/contact-plans/malformed/plan-*.json`
// are hand-made from the example in PLAN-FORMAT.md (their README says what each one breaks).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { ContactPlan, type Contact } from '../../contact-plans/contact-plan.ts';
import {
  PLAN_FILE_BYTES_MAX,
  detectPlanFormat,
  formatContactPlan,
  loadContactPlanFile,
  parseContactPlanText,
} from '../../contact-plans/plan-file.ts';
import { ContactPlanJsonSchema, formatContactPlanJson, parseContactPlanJson } from '../../contact-plans/plan-json.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PLANS = new URL('../fixtures/contact-plans/', import.meta.url).pathname;
const MALFORMED = join(PLANS, 'malformed');

/** Every reference plan: HDTN's and ION's Mars relay. */
const REFERENCE_PLANS = [
  'hdtn-contactPlan_RoutingTest.json',
  'hdtn-10nodes.json',
  'hdtn-50nodes.json',
  'hdtn-100nodes.json',
  'hdtn-cgrTutorial.json',
  'hdtn-Ion_4nodes_long.json',
  'ion-mars-relay.ionrc',
];

const FORMAT_DOC_EXAMPLE = /```json\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'contact-plans/PLAN-FORMAT.md'), 'utf8'))![1]!;

/** Runs `action`, expecting an OrbitfedError, and returns it. */
async function rejection(action: () => Promise<unknown> | unknown): Promise<OrbitfedError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(OrbitfedError);
    return error as OrbitfedError;
  }
  throw new Error('expected an OrbitfedError, but nothing was thrown');
}

const readReference = (name: string): ContactPlan =>
  new ContactPlan(parseContactPlanText(readFileSync(join(PLANS, name), 'utf8'), name));
const roundTrip = (plan: ContactPlan): ContactPlan => new ContactPlan(parseContactPlanJson(formatContactPlanJson(plan), 'written.json'));

const contact = (from: number, to: number, startSec: number, endSec: number, rateBytesPerSec = 1000, owltSec = 0.01, confidence = 1): Contact =>
  ({ from, to, startSec, endSec, rateBytesPerSec, owltSec, confidence });

/** A plan with everything the foreign formats lose: names, kinds, an epoch, fractions, confidence. */
const RICH_PLAN = new ContactPlan({
  epochMs: Date.UTC(2026, 5, 14, 12, 0, 0, 123) + 0.456,
  nodes: [
    { ipn: 1, id: 'SVALBARD', kind: 'ground' },
    { ipn: 2, id: 'KIRUNA', kind: 'ground' },
    { ipn: 1000025544, id: '25544', kind: 'satellite' },
    { ipn: 77, id: 'spare', kind: 'other' },
  ],
  contacts: [
    contact(1, 1000025544, 3723.250001, 4291.5, 8000, 0.00612345, 1),
    contact(1000025544, 1, 3723.250001, 4291.5, 1_250_000.5, 0.00612345, 0.9),
    contact(1000025544, 2, -10.5, 0, 1e-3, 0, 0.001),
  ],
});

describe('orbitfed contact plan JSON', () => {
  it('reads the example in PLAN-FORMAT.md, whose hash is that of the plan it holds', () => {
    const data = parseContactPlanJson(FORMAT_DOC_EXAMPLE, 'PLAN-FORMAT.md');
    const plan = new ContactPlan(data);
    expect(plan.hash).toBe('59d2ec67bf1bc3762f7dca4bcc6339a94a30243d308ad41df48142ce908aacb7');
    expect(data.epochMs).toBe(Date.UTC(2026, 5, 14));
    expect(data.nodes).toEqual([{ ipn: 1, id: 'SVALBARD', kind: 'ground' }, { ipn: 1000025544, id: '25544', kind: 'satellite' }]);
    expect(data.contacts[1]).toEqual(contact(1000025544, 1, 3723.25, 4291.5, 1_250_000, 0.0061, 0.9));
    expect(formatContactPlanJson(plan)).toBe(FORMAT_DOC_EXAMPLE);
  });

  it('round-trips a plan with names, kinds, an epoch, fractional seconds and confidence exactly', () => {
    const again = roundTrip(RICH_PLAN);
    expect(again.hash).toBe(RICH_PLAN.hash);
    expect(again.nodes).toEqual(RICH_PLAN.nodes);
    expect(again.contacts).toEqual(RICH_PLAN.contacts);
    expect(again.epochMs).toBe(RICH_PLAN.epochMs);
  });

  it.each(REFERENCE_PLANS)('round-trips %s with the same hash', (name) => {
    const plan = readReference(name);
    expect(roundTrip(plan).hash).toBe(plan.hash);
  });

  it('writes text that ContactPlanJsonSchema accepts, carrying the plan\'s hash', () => {
    const written = JSON.parse(formatContactPlanJson(RICH_PLAN)) as { hash: string };
    expect(Value.Check(ContactPlanJsonSchema, written)).toBe(true);
    expect(written.hash).toBe(RICH_PLAN.hash);
  });

  it('writes absolute start and end times, to the microsecond, only when the plan has an epoch', () => {
    const withEpoch = JSON.parse(formatContactPlanJson(RICH_PLAN)) as { epoch: string; contacts: Array<Record<string, unknown>> };
    expect(withEpoch.epoch).toBe('2026-06-14T12:00:00.123456Z');
    // Plan order is by start: the contact 10.5 s before the epoch comes first.
    expect(withEpoch.contacts[0]).toMatchObject({ startSec: -10.5, start: '2026-06-14T11:59:49.623456Z', end: '2026-06-14T12:00:00.123456Z' });
    expect(withEpoch.contacts[1]).toMatchObject({ startSec: 3723.250001, start: '2026-06-14T13:02:03.373457Z', end: '2026-06-14T13:11:31.623456Z' });
    const abstract = JSON.parse(formatContactPlanJson(readReference('hdtn-cgrTutorial.json'))) as { epoch: null; contacts: object[] };
    expect(abstract.epoch).toBeNull();
    expect(Object.keys(abstract.contacts[0]!)).toEqual(['from', 'to', 'startSec', 'endSec', 'rateBytesPerSec', 'owltSec', 'confidence']);
  });

  it('accepts a file without a hash, and contacts without start and end', () => {
    const text = JSON.stringify({
      format: 'orbitfed-contact-plan', version: 1, epoch: '2026-06-14T00:00:00.000000Z', nodes: [],
      contacts: [{ from: 2, to: 1, startSec: 5, endSec: 6, rateBytesPerSec: 1, owltSec: 0, confidence: 1 }],
    });
    expect(parseContactPlanJson(text, 'inline.json').contacts).toEqual([contact(2, 1, 5, 6, 1, 0, 1)]);
  });

  it('keeps the epoch to the microsecond, and writes the hash of the plan a reader will build', () => {
    const dayMs = Date.UTC(2026, 5, 14);
    const plan = new ContactPlan({ epochMs: dayMs + 468.1744, nodes: [], contacts: [contact(1, 2, 0, 1)] });
    const again = roundTrip(plan);
    expect(again.epochMs).toBe((dayMs * 1000 + 468_174) / 1000);
    expect(again.hash).not.toBe(plan.hash);
    expect((JSON.parse(formatContactPlanJson(plan)) as { hash: string }).hash).toBe(again.hash);
  });

  it('writes an empty plan', () => {
    const empty = new ContactPlan({ epochMs: undefined, nodes: [], contacts: [] });
    expect(roundTrip(empty).hash).toBe(empty.hash);
  });
});

describe('malformed orbitfed plans', () => {
  it.each([
    ['plan-negative-rate.json', 'ORBITFED_PLAN_JSON', 'contacts[1].rateBytesPerSec', 'Expected number to be greater or equal to 0 (got -5)'],
    ['plan-missing-field.json', 'ORBITFED_PLAN_JSON', 'contacts[0].owltSec', 'Expected required property (missing)'],
    ['plan-unknown-node.json', 'ORBITFED_PLAN_JSON', 'contacts[0].from', 'Expected integer (got "ipn:1")'],
    ['plan-bad-time.json', 'ORBITFED_PLAN_JSON', 'contacts[0].start', '2026-06-14T01:02:04.000000Z does not match startSec 3723.25 (2026-06-14T01:02:03.250000Z)'],
    ['plan-hash-mismatch.json', 'ORBITFED_PLAN_HASH', 'hash', 'not to the 59d2ec67bf1bc3762f7dca4bcc6339a94a30243d308ad41df48142ce908aacb7 it carries'],
  ])('refuses %s with %s, naming %s', async (name, code, field, reason) => {
    const path = join(MALFORMED, name);
    const error = await rejection(() => parseContactPlanJson(readFileSync(path, 'utf8'), path));
    expect(error.code).toBe(code);
    expect(error.location).toEqual({ file: path, field });
    expect(error.message).toContain(`${path}: ${field}: `);
    expect(error.message).toContain(reason);
  });

  it('refuses truncated JSON, naming the line where it stops', async () => {
    const path = join(MALFORMED, 'plan-truncated.json');
    const error = await rejection(() => parseContactPlanJson(readFileSync(path, 'utf8'), path));
    expect(error.code).toBe('ORBITFED_PLAN_JSON');
    expect(error.location.line).toBe(11);
    expect(error.message).toMatch(new RegExp(`^${path}:11: not valid JSON: `));
  });

  const document = (changes: Record<string, unknown>): string => {
    const base = JSON.parse(FORMAT_DOC_EXAMPLE) as Record<string, unknown>;
    delete base.hash;
    return JSON.stringify({ ...base, ...changes });
  };
  const twoContacts = (first: Record<string, unknown>): unknown[] => {
    const base = JSON.parse(FORMAT_DOC_EXAMPLE) as { contacts: Array<Record<string, unknown>> };
    return [{ ...base.contacts[0], ...first }, base.contacts[1]];
  };

  it.each([
    ['a file of another format', '{"contacts": []}', 'format', 'not an orbitfed contact plan'],
    ['a version this reader does not know', document({ version: 2 }), 'version', 'version 2 is not one this reader knows'],
    ['an unknown key', document({ comment: 'hi' }), 'comment', 'Unexpected property'],
    ['a node listed twice', document({ nodes: [{ ipn: 1, id: 'A', kind: 'ground' }, { ipn: 1, id: 'B', kind: 'ground' }] }), 'nodes[1].ipn', 'listed twice (first at nodes[0])'],
    ['a node of an unknown kind', document({ nodes: [{ ipn: 1, id: 'A', kind: 'rover' }] }), 'nodes[0].kind', 'Expected union value'],
    ['a contact from a node to itself', document({ contacts: twoContacts({ to: 1 }) }), 'contacts[0].to', 'joins two different nodes'],
    ['a contact ending before it starts', document({ contacts: twoContacts({ endSec: 3000, end: undefined }) }), 'contacts[0].endSec', 'ends 723.25 s before it starts'],
    ['absolute times without an epoch', document({ epoch: null }), 'contacts[0].start', 'absolute times need an epoch'],
    ['an epoch that is not a real date', document({ epoch: '2026-02-30T00:00:00.000000Z' }), 'epoch', 'is not a UTC date and time'],
    ['an epoch without microseconds', document({ epoch: '2026-06-14T00:00:00Z' }), 'epoch', 'Expected union value'],
    ['a confidence of 0', document({ contacts: twoContacts({ confidence: 0 }) }), 'contacts[0].confidence', 'Expected number to be greater than 0'],
  ])('refuses %s', async (_what, text, field, reason) => {
    const error = await rejection(() => parseContactPlanJson(text, 'inline.json'));
    expect(error.code).toBe('ORBITFED_PLAN_JSON');
    expect(error.location.field).toBe(field);
    expect(error.message).toContain(reason);
  });
});

describe('contact plan files', () => {
  it('recognises ION command text, HDTN JSON and orbitfed JSON from the content', () => {
    expect(detectPlanFormat(readFileSync(join(PLANS, 'ion-mars-relay.ionrc'), 'utf8'))).toBe('ion');
    expect(detectPlanFormat(readFileSync(join(PLANS, 'hdtn-cgrTutorial.json'), 'utf8'))).toBe('hdtn');
    expect(detectPlanFormat(FORMAT_DOC_EXAMPLE)).toBe('json');
    expect(detectPlanFormat(`\uFEFF  ${FORMAT_DOC_EXAMPLE}`)).toBe('json');
    expect(detectPlanFormat('# an empty ION plan\n')).toBe('ion');
    expect(detectPlanFormat('')).toBe('ion');
  });

  it.each(REFERENCE_PLANS)('loads %s into a ContactPlan', async (name) => {
    const plan = await loadContactPlanFile(join(PLANS, name));
    expect(plan.hash).toBe(readReference(name).hash);
  });

  it('writes each format with formatContactPlan, and each reads back to the same plan', async () => {
    const mars = await loadContactPlanFile(join(PLANS, 'ion-mars-relay.ionrc'));
    const dir = await mkdtemp(join(tmpdir(), 'orbitfed-plan-'));
    try {
      for (const format of ['ion', 'hdtn', 'json'] as const) {
        const path = join(dir, `plan.${format}`);
        await writeFile(path, formatContactPlan(mars, format));
        expect(detectPlanFormat(readFileSync(path, 'utf8'))).toBe(format);
        expect((await loadContactPlanFile(path)).hash, format).toBe(mars.hash);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a file as the format it is told, and passes ION options through', async () => {
    const path = join(PLANS, 'ion-mars-relay.ionrc');
    expect((await loadContactPlanFile(path, 'ion', { ion: { missingRange: 'drop' } })).contacts).toHaveLength(150);
    const error = await rejection(() => loadContactPlanFile(path, 'json'));
    expect(error.code).toBe('ORBITFED_PLAN_JSON');
  });

  it('refuses a missing file with ORBITFED_PLAN_READ, naming the path', async () => {
    const path = join(PLANS, 'no-such-plan.json');
    const error = await rejection(() => loadContactPlanFile(path));
    expect(error.code).toBe('ORBITFED_PLAN_READ');
    expect(error.location.file).toBe(path);
    expect(error.message).toBe(`${path}: cannot read contact plan: no such file`);
  });

  it('refuses a file larger than PLAN_FILE_BYTES_MAX (256 MiB) before reading it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orbitfed-plan-'));
    try {
      const path = join(dir, 'huge.ionrc');
      await writeFile(path, '');
      await truncate(path, PLAN_FILE_BYTES_MAX + 1); // sparse: nothing is written
      const error = await rejection(() => loadContactPlanFile(path));
      expect(error.code).toBe('ORBITFED_PLAN_TOO_LARGE');
      expect(error.location.file).toBe(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses bytes that are not UTF-8', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orbitfed-plan-'));
    try {
      const path = join(dir, 'latin1.ionrc');
      await writeFile(path, Buffer.from([0x23, 0x20, 0xe9, 0x0a]));
      expect((await rejection(() => loadContactPlanFile(path))).code).toBe('ORBITFED_PLAN_READ');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops before reading when its signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(loadContactPlanFile(join(PLANS, 'ion-mars-relay.ionrc'), undefined, { signal: controller.signal })).rejects.toThrow();
  });
});
