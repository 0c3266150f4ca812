// HDTN contact plans: NASA HDTN's JSON (`module/router/contact_plans/*.json`),
// `{"contacts": [{"contact", "source", "dest", "startTime", "endTime", "rateBitsPerSec", "owlt"}]}`,
// read into plain `ContactPlanData` and written back from a `ContactPlan`.
//
// Sources, NASA HDTN (github.com/nasa/HDTN):
// - `module/router/src/router.cpp` `ProcessContacts`: reads `contact`, `source`, `dest`, `startTime`
//   and `endTime` as `int` seconds from the router's epoch (the moment the plan is loaded, unless
//   Unix timestamps are configured); `GetRateBpsFromPtree` reads `rateBitsPerSec` (uint64, bits/s)
//   or, deprecated, `rate` in Mbit/s. `OnContactPlan_TimerExpired` gives a contact whose end
//   precedes its start a duration of 0.
// - `common/cgr/src/libcgr.cpp` `cp_load`: `owlt` in seconds, 0 when absent; confidence is always 1.
//
// Decisions:
// - The time base is abstract (`epochMs` undefined): HDTN's times count from when the plan is loaded.
// - A contact whose `endTime` precedes its `startTime` is kept as an empty contact (end = start),
//   as HDTN runs it with duration 0. HDTN's own generated plans have such contacts (10nodes: 6,
//   50nodes: 148, 100nodes: 654), and keeping them keeps the contact count and numbering HDTN's.
// - Stricter than HDTN, which reads a missing field as 0: `source`, `dest`, `startTime`, `endTime`
//   and a rate are required; `owlt` may be left out (0, as libcgr). Times must be whole seconds
//   (HDTN reads them as int). `contact` numbers are checked but not kept; the writer numbers
//   contacts 0, 1, … in plan order. Other keys (`finalDestination`, …) are ignored.
// - Writing: times in whole seconds (`windowWholeSec`), OWLT rounded up, the rate rounded down to
//   whole bits/s; the confidence and any epoch are not carried (HDTN has neither).
import { OrbitfedError } from '../common/index.ts';
import { PLAN_CONTACTS_MAX, PLAN_WRITE_CHUNK_CONTACTS, type Contact, type ContactPlan, type ContactPlanData } from './contact-plan.ts';
import { WHOLE_UNIT_TOLERANCE, owltWholeSec, windowWholeSec } from './ion-contact-plan.ts';

/** Larger text is refused (`ORBITFED_PLAN_TOO_LARGE`): ~150 bytes a contact, so ~1.7M contacts. */
export const HDTN_PLAN_BYTES_MAX = 256 * 1024 * 1024;

const BITS_PER_BYTE = 8;
/** HDTN's deprecated `rate` field is in Mbit/s (router.cpp `GetRateBpsFromPtree`). */
const BITS_PER_MEGABIT = 1_000_000;

/** Reads an HDTN plan. Contacts come out in file order; `nodes` is empty (HDTN names nodes by number only). */
export function parseHdtnContactPlan(text: string, file: string): ContactPlanData {
  if (Buffer.byteLength(text, 'utf8') > HDTN_PLAN_BYTES_MAX) {
    throw new OrbitfedError('ORBITFED_PLAN_TOO_LARGE', `HDTN plan text is larger than ${HDTN_PLAN_BYTES_MAX} bytes`, { file });
  }
  const document = parseJson(text, file, 'ORBITFED_HDTN_PLAN');
  const fail = (field: string | undefined, message: string): OrbitfedError =>
    new OrbitfedError('ORBITFED_HDTN_PLAN', message, { file, field });
  if (!isPlainObject(document)) throw fail(undefined, `expected an object with a "contacts" list (got ${describe(document)})`);
  const list = document.contacts;
  if (!Array.isArray(list)) throw fail('contacts', `expected a list of contacts (got ${describe(list)})`);
  if (list.length > PLAN_CONTACTS_MAX) {
    throw new OrbitfedError('ORBITFED_PLAN_TOO_LARGE', `${list.length} contacts; a plan holds at most ${PLAN_CONTACTS_MAX}`, { file, field: 'contacts' });
  }

  const contacts: Contact[] = [];
  for (let index = 0; index < list.length; index++) {
    const item: unknown = list[index];
    const path = `contacts[${index}]`;
    if (!isPlainObject(item)) throw fail(path, `expected a contact object (got ${describe(item)})`);
    const label = typeof item.contact === 'number' ? ` (contact ${item.contact})` : '';
    const bad = (key: string, message: string): OrbitfedError => fail(`${path}.${key}`, `${message}${label}`);
    const present = (key: string): unknown => {
      if (!(key in item)) throw bad(key, 'missing field');
      return item[key];
    };
    const node = (key: string): number => {
      const value = present(key);
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw bad(key, `${describe(value)} is not an ipn node number (a whole number ≥ 0)`);
      }
      return value;
    };
    const wholeSeconds = (key: string): number => {
      const value = present(key);
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw bad(key, `${describe(value)} is not a whole number of seconds (HDTN reads it as an int)`);
      }
      return value;
    };
    const nonNegative = (key: string, value: unknown, unit: string): number => {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(key, `${describe(value)} is not a number of ${unit}`);
      if (value < 0) throw bad(key, `${value} is negative`);
      return value;
    };

    if ('contact' in item && (typeof item.contact !== 'number' || !Number.isSafeInteger(item.contact))) {
      throw bad('contact', `${describe(item.contact)} is not a whole contact number`);
    }
    const from = node('source');
    const to = node('dest');
    if (from === to) throw bad('dest', `a contact joins two different nodes (source and dest are both ${from})`);
    const startSec = wholeSeconds('startTime');
    const endSec = wholeSeconds('endTime');
    let rateBitsPerSec: number;
    if ('rateBitsPerSec' in item || !('rate' in item)) {
      rateBitsPerSec = nonNegative('rateBitsPerSec', present('rateBitsPerSec'), 'bits per second');
    } else {
      rateBitsPerSec = nonNegative('rate', item.rate, 'Mbit/s') * BITS_PER_MEGABIT;
    }
    const owltSec = 'owlt' in item ? nonNegative('owlt', item.owlt, 'seconds') : 0;
    contacts.push({
      from,
      to,
      startSec,
      endSec: Math.max(startSec, endSec),
      rateBytesPerSec: rateBitsPerSec / BITS_PER_BYTE,
      owltSec,
      confidence: 1,
    });
  }
  return { epochMs: undefined, nodes: [], contacts };
}

/**
 * HDTN JSON for the plan, one contact per line, keys in HDTN's order (`contact`, `source`, `dest`,
 * `startTime`, `endTime`, `rateBitsPerSec`, `owlt`), contacts numbered 0, 1, … in plan order.
 */
export function formatHdtnContactPlan(plan: ContactPlan): string {
  return [...formatHdtnContactPlanChunks(plan)].join('');
}

/** `formatHdtnContactPlan` in pieces, for plans too large to hold as one string. */
export function* formatHdtnContactPlanChunks(plan: ContactPlan): Generator<string> {
  const contacts = plan.contacts;
  if (contacts.length === 0) {
    yield '{\n  "contacts": []\n}\n';
    return;
  }
  yield '{\n  "contacts": [\n';
  for (let start = 0; start < contacts.length; start += PLAN_WRITE_CHUNK_CONTACTS) {
    const lines: string[] = [];
    for (let index = start; index < Math.min(contacts.length, start + PLAN_WRITE_CHUNK_CONTACTS); index += 1) {
      const c = contacts[index]!;
      const window = windowWholeSec(c.startSec, c.endSec);
      lines.push(`    ${JSON.stringify({
        contact: index,
        source: c.from,
        dest: c.to,
        startTime: window.startSec,
        endTime: window.endSec,
        rateBitsPerSec: Math.floor(c.rateBytesPerSec * BITS_PER_BYTE + WHOLE_UNIT_TOLERANCE),
        owlt: owltWholeSec(c.owltSec),
      })}`);
    }
    yield `${start === 0 ? '' : ',\n'}${lines.join(',\n')}`;
  }
  yield '\n  ]\n}\n';
}

/**
 * `JSON.parse`, failing with `code` and the line of the problem: V8 names it for most syntax
 * errors ("… (line 3 column 7)"); a truncated text fails at its last non-blank line.
 */
export function parseJson(text: string, file: string, code: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n', 1)[0]!;
    const v8 = /at position (\d+) \(line (\d+) column \d+\)/.exec(reason);
    const content = body.trimEnd();
    const lastLine = content.split(/\r\n|\r|\n/).length;
    let line: number | undefined;
    if (v8 !== null) line = Number(v8[1]) >= content.length ? lastLine : Number(v8[2]);
    else if (/end of JSON input/.test(reason)) line = lastLine;
    throw new OrbitfedError(code, `not valid JSON: ${reason}`, { file, line }, { cause: error });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
