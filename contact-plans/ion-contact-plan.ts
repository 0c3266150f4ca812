// ION contact plans: the `a contact` and `a range` lines of an ionadmin command file (ionrc), read
// into plain `ContactPlanData` and written back from a `ContactPlan`.
//
// Sources, all NASA ION-DTN (github.com/nasa-jpl/ION-DTN):
// - ionrc(5) (`ici/doc/pod5/ionrc.pod`): the commands, their units (contact rate in bytes/s, range
//   in light seconds), and "a range command in which the node number of the first cited node is
//   numerically less than that of the second … implicitly declar[es] the same distance in the
//   reverse direction UNLESS a second range command … cites the same two nodes in the opposite
//   order"; one whose first node is the greater "implies ABSOLUTELY NOTHING" about the reverse.
// - `ici/utils/ionadmin.c`: `runIonadmin` starts the reference time at the current UTC time;
//   `processLine` case '@' sets it to `readTimestampUTC(token, currentReference)` (so `@ +s` moves
//   it s seconds past the *current reference*, cumulatively) and `@ 0` back to the current time;
//   `executeAdd` reads a contact's start "-1" as a registration and "0" as a hypothetical contact,
//   the rate and OWLT with `strtol`, the confidence with `atof` (default 1.0).
// - `ici/library/ion.c` `readTimestamp`: `+s` is `reference + strtol(s, NULL, 0)`; an absolute time
//   is `yyyy/mm/dd-hh:mm:ss` read as UTC. Both are whole seconds (`time_t`).
// - `ici/library/rfx.c` `rfx_insert_range`: a range that overlaps another range of the same
//   direction is refused ("Overlapping range"); one with the same start is idempotent when the
//   OWLT agrees and refused ("Range OWLT not revised") when it does not.
// - `bpv7/cgr/libcgr.c` `getApplicableRange`: a contact's OWLT is that of the first range (by start
//   time) of its direction with start ≤ contact start ≤ end (both ends inclusive); with none, CGR
//   suppresses the contact ("Don't know the OWLT … so can't consider in CGR").
//
// Decisions (what this reader does where ION leaves a choice or does something we cannot model):
// - Time base. `+s` before any absolute reference counts from the moment ionadmin starts reading
//   the file; that moment is time 0 of an abstract time base (`epochMs` undefined). When the file
//   has an absolute time (in an `@` line or in a contact or range), the first one is the plan's
//   epoch and every contact is placed relative to it; a `+s` time that still counts from
//   ionadmin's start in such a file is refused, since its instant depends on when ionadmin runs.
//   `@ 0` (ION: "now") returns to ionadmin's start time.
// - Whole seconds only, as ION reads them: `+1.5`, a fractional rate or OWLT are refused rather
//   than silently truncated as `strtol` would; `+010` is refused because `strtol(…, 0)` reads it
//   as octal 8. `+-5` (five seconds before the reference) is valid ION and accepted.
// - Ranges: an exact-direction range containing the contact's start wins; otherwise a range
//   written lower node first for the reverse direction. This is the man page's rule; rfx.c only
//   lets an asserted reverse range replace the imputed one when both start at the same second,
//   and otherwise may refuse it as overlapping or look the imputed one up first.
// - A contact that no range covers is, by default, given owltSec 0 (`missingRange: 'zero'`); ION's
//   CGR would not route over it at all (`'drop'` does that), and `'error'` refuses the file.
// - Loopback contacts and ranges (`a contact +1 +3600 1 1 100000`, in nearly every ION
//   configuration: a node delivering to itself), registration contacts (start -1) and hypothetical
//   contacts (start or end 0) are not links between two nodes and are skipped.
// - A contact or range whose end equals its start is kept (an empty contact carries nothing); ION
//   refuses such a line. Overlapping contacts of one direction are kept; ION ignores the later one.
// - Commands that edit a plan (`c`, `d`) are refused rather than ignored, which would misread it;
//   `q` ends the file as it ends ionadmin; everything else (`1`, `s`, `x`, `m …`, `e`, `^`, …) is
//   ignored. Like ionadmin, the command is the first character of the first word.
import { OrbitfedError } from '../common/index.ts';
import { PLAN_CONTACTS_MAX, PLAN_WRITE_CHUNK_CONTACTS, type Contact, type ContactPlan, type ContactPlanData } from './contact-plan.ts';

/** Larger text is refused (`ORBITFED_PLAN_TOO_LARGE`): ~50 bytes a contact, so ~5M contacts. */
export const ION_PLAN_BYTES_MAX = 256 * 1024 * 1024;

/** What a contact that no `a range` covers becomes (see the file comment). */
export type IonMissingRange = 'zero' | 'drop' | 'error';

export interface IonReadOptions {
  /** Default `'zero'`: owltSec 0. `'drop'`: left out, as ION's CGR ignores it. `'error'`: refused. */
  readonly missingRange?: IonMissingRange;
}

/**
 * Closer than this to a whole number (of seconds, bytes/s) counts as whole when rounding for ION and
 * HDTN: model times are kept to the microsecond, and float noise must not push 5 s to 6 s.
 */
export const WHOLE_UNIT_TOLERANCE = 1e-6;

/**
 * The whole-second window written for a contact, for formats that only carry whole seconds (ION,
 * HDTN): start rounded up and end rounded down, so the written contact never claims link time the
 * plan does not have and two back-to-back contacts never come to overlap. A contact that does not
 * span a whole second comes out empty (end = start).
 */
export function windowWholeSec(startSec: number, endSec: number): { readonly startSec: number; readonly endSec: number } {
  const start = Math.ceil(startSec - WHOLE_UNIT_TOLERANCE);
  const end = Math.floor(endSec + WHOLE_UNIT_TOLERANCE);
  return { startSec: start, endSec: Math.max(start, end) };
}

/** An OWLT rounded up to whole seconds: a predicted arrival may come late, never early. */
export function owltWholeSec(owltSec: number): number {
  return Math.ceil(owltSec - WHOLE_UNIT_TOLERANCE);
}

/** Where an ION time counts from: ionadmin's start (abstract) or the Unix epoch. */
type TimeBase = 'run' | 'unix';

interface IonTime {
  readonly base: TimeBase;
  readonly sec: number;
}

interface PendingContact {
  readonly line: number;
  readonly from: number;
  readonly to: number;
  readonly start: IonTime;
  readonly end: IonTime;
  readonly rateBytesPerSec: number;
  readonly confidence: number;
}

interface PendingRange {
  readonly line: number;
  readonly from: number;
  readonly to: number;
  readonly start: IonTime;
  readonly end: IonTime;
  readonly owltSec: number;
}

interface Range {
  readonly line: number;
  readonly startSec: number;
  readonly endSec: number;
  readonly owltSec: number;
}

const RELATIVE_TIME = /^\+(-?)(\d+)$/;
const ABSOLUTE_TIME = /^(\d{4})\/(\d{1,2})\/(\d{1,2})-(\d{1,2}):(\d{1,2}):(\d{1,2})$/;
const WHOLE_NUMBER = /^\d+$/;
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Reads the contacts of an ION command file. Contacts come out in file order, each with the OWLT of
 * the range covering its start; `nodes` is empty (ION names nodes by number only).
 */
export function parseIonContactPlan(text: string, file: string, options: IonReadOptions = {}): ContactPlanData {
  const missingRange = options.missingRange ?? 'zero';
  if (Buffer.byteLength(text, 'utf8') > ION_PLAN_BYTES_MAX) {
    throw new OrbitfedError('ORBITFED_PLAN_TOO_LARGE', `ION plan text is larger than ${ION_PLAN_BYTES_MAX} bytes`, { file });
  }
  const fail = (line: number, field: string | undefined, message: string): OrbitfedError =>
    new OrbitfedError('ORBITFED_ION_PLAN', message, { file, line, field });

  let reference: IonTime = { base: 'run', sec: 0 };
  let firstAbsolute: { readonly unixSec: number; readonly line: number } | undefined;
  const contacts: PendingContact[] = [];
  const ranges: PendingRange[] = [];

  const readTime = (token: string, line: number, field: string): IonTime => {
    const relative = RELATIVE_TIME.exec(token);
    if (relative !== null) {
      const [, sign, digits] = relative as unknown as [string, string, string];
      if (digits.length > 1 && digits.startsWith('0')) {
        throw fail(line, field, `bad time "${token}": ION reads a leading 0 as octal (strtol base 0); write the seconds without it`);
      }
      const sec = reference.sec + (sign === '-' ? -1 : 1) * Number(digits);
      if (!Number.isSafeInteger(sec)) throw fail(line, field, `bad time "${token}": too far from the reference time`);
      return { base: reference.base, sec };
    }
    const absolute = ABSOLUTE_TIME.exec(token);
    if (absolute === null) {
      const why = token.startsWith('+') ? ' (ION reads whole seconds: "+" and digits)' : '';
      throw fail(line, field, `bad time "${token}": expected yyyy/mm/dd-hh:mm:ss (UTC) or +seconds${why}`);
    }
    const [year, month, day, hour, minute, second] = absolute.slice(1).map(Number) as [number, number, number, number, number, number];
    const unixMs = Date.UTC(year, month - 1, day, hour, minute, second);
    const check = new Date(unixMs);
    if (
      hour > 23 || minute > 59 || second > 59 || month < 1 || month > 12
      || check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day
    ) {
      throw fail(line, field, `bad time "${token}": no such UTC date and time`);
    }
    const unixSec = unixMs / 1000;
    firstAbsolute ??= { unixSec, line };
    return { base: 'unix', sec: unixSec };
  };

  const readNode = (token: string, line: number, field: string): number => {
    const node = WHOLE_NUMBER.test(token) ? Number(token) : Number.NaN;
    if (!Number.isSafeInteger(node) || node === 0) {
      throw fail(line, field, `node "${token}" is not an ipn node number (ION names nodes by a whole number > 0)`);
    }
    return node;
  };

  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const tokens = lines[index]!.trim().split(/\s+/);
    const word = tokens[0]!;
    if (word === '' || word.startsWith('#')) continue;
    const command = word[0];
    if (command === 'q') break;
    if (command === 'c' || command === 'd') {
      throw fail(line, undefined, `"${tokens.slice(0, 2).join(' ')}" edits the plan; only plans built from "a contact" and "a range" lines are read`);
    }
    if (command === '@') {
      if (tokens.length !== 2) throw fail(line, 'time', `"@" takes one time (found ${tokens.length - 1})`);
      reference = tokens[1] === '0' ? { base: 'run', sec: 0 } : readTime(tokens[1]!, line, 'time');
      continue;
    }
    if (command !== 'a') continue;
    const what = tokens[1];
    if (what === 'contact') {
      if (tokens.length !== 7 && tokens.length !== 8) {
        throw fail(line, undefined, `missing or extra field: "a contact" takes START END FROM TO RATE [CONFIDENCE] (found ${tokens.length - 2} fields)`);
      }
      const [, , startToken, endToken, fromToken, toToken, rateToken, confidenceToken] = tokens as [
        string, string, string, string, string, string, string, string | undefined,
      ];
      const from = readNode(fromToken, line, 'from');
      const to = readNode(toToken, line, 'to');
      if (startToken === '-1') {
        if (from !== to) throw fail(line, 'start', 'a registration contact (start -1) names one node twice');
        continue;
      }
      if (startToken === '0' || endToken === '0') continue; // hypothetical: no scheduled window
      const start = readTime(startToken, line, 'start');
      const end = readTime(endToken, line, 'end');
      if (rateToken.startsWith('-')) throw fail(line, 'rate', `rate ${rateToken} is negative`);
      if (!WHOLE_NUMBER.test(rateToken) || !Number.isSafeInteger(Number(rateToken))) {
        throw fail(line, 'rate', `rate "${rateToken}" is not a whole number of bytes per second`);
      }
      let confidence = 1;
      if (confidenceToken !== undefined) {
        confidence = DECIMAL.test(confidenceToken) ? Number(confidenceToken) : Number.NaN;
        if (!(confidence > 0 && confidence <= 1)) throw fail(line, 'confidence', `confidence "${confidenceToken}" is not in (0, 1]`);
      }
      if (from === to) continue; // loopback: the node delivering to itself
      if (contacts.length >= PLAN_CONTACTS_MAX) {
        throw new OrbitfedError('ORBITFED_PLAN_TOO_LARGE', `more than ${PLAN_CONTACTS_MAX} contacts`, { file, line });
      }
      contacts.push({ line, from, to, start, end, rateBytesPerSec: Number(rateToken), confidence });
    } else if (what === 'range') {
      if (tokens.length !== 7) {
        throw fail(line, undefined, `missing or extra field: "a range" takes START END FROM TO OWLT (found ${tokens.length - 2} fields)`);
      }
      const [, , startToken, endToken, fromToken, toToken, owltToken] = tokens as [string, string, string, string, string, string, string];
      const start = readTime(startToken, line, 'start');
      const end = readTime(endToken, line, 'end');
      const from = readNode(fromToken, line, 'from');
      const to = readNode(toToken, line, 'to');
      if (owltToken.startsWith('-')) throw fail(line, 'owlt', `OWLT ${owltToken} is negative`);
      if (!WHOLE_NUMBER.test(owltToken) || !Number.isSafeInteger(Number(owltToken))) {
        throw fail(line, 'owlt', `OWLT "${owltToken}" is not a whole number of seconds`);
      }
      if (from === to) continue;
      if (ranges.length >= PLAN_CONTACTS_MAX) {
        throw new OrbitfedError('ORBITFED_PLAN_TOO_LARGE', `more than ${PLAN_CONTACTS_MAX} ranges`, { file, line });
      }
      ranges.push({ line, from, to, start, end, owltSec: Number(owltToken) });
    } else {
      throw fail(line, undefined, `"a ${what ?? ''}": ionadmin adds only "a contact" and "a range"`);
    }
  }

  const epochUnixSec = firstAbsolute?.unixSec;
  if (firstAbsolute !== undefined) {
    // The first such line in file order, whether a range or a contact.
    const stray = [...ranges, ...contacts]
      .filter((item) => item.start.base === 'run' || item.end.base === 'run')
      .sort((a, b) => a.line - b.line)[0];
    if (stray !== undefined) {
      throw fail(stray.line, stray.start.base === 'run' ? 'start' : 'end', `this time counts from when ionadmin starts, but the file's times are absolute (the first on line ${firstAbsolute.line}): put an "@ yyyy/mm/dd-hh:mm:ss" line before it`);
    }
  }
  const planSec = (time: IonTime): number => (epochUnixSec === undefined ? time.sec : time.sec - epochUnixSec);
  const window = (item: PendingContact | PendingRange): { startSec: number; endSec: number } => {
    const startSec = planSec(item.start);
    const endSec = planSec(item.end);
    if (endSec < startSec) throw fail(item.line, 'end', `ends ${startSec - endSec} s before it starts`);
    return { startSec, endSec };
  };

  const rangesByDirection = new Map<string, Range[]>();
  for (const pending of ranges) {
    const key = directionKey(pending.from, pending.to);
    const list = rangesByDirection.get(key) ?? rangesByDirection.set(key, []).get(key)!;
    list.push({ line: pending.line, ...window(pending), owltSec: pending.owltSec });
  }
  for (const list of rangesByDirection.values()) {
    list.sort((a, b) => a.startSec - b.startSec || a.line - b.line);
    let kept = 0;
    for (let i = 1; i < list.length; i++) {
      const previous = list[kept]!;
      const range = list[i]!;
      if (range.startSec === previous.startSec) {
        // rfx.c: a second range with the same start is idempotent if the OWLT agrees.
        if (range.owltSec !== previous.owltSec) {
          throw fail(range.line, 'owlt', `OWLT ${range.owltSec} s contradicts the range with the same start on line ${previous.line} (${previous.owltSec} s)`);
        }
        continue;
      }
      if (range.startSec < previous.endSec) {
        throw fail(range.line, 'start', `range overlaps the range of the same direction on line ${previous.line}; ION refuses overlapping ranges`);
      }
      list[++kept] = range;
    }
    list.length = kept + 1;
  }

  const owltOf = (contact: PendingContact, startSec: number): number | undefined =>
    coveringRange(rangesByDirection.get(directionKey(contact.from, contact.to)), startSec)?.owltSec
    ?? (contact.to < contact.from ? coveringRange(rangesByDirection.get(directionKey(contact.to, contact.from)), startSec)?.owltSec : undefined);

  const out: Contact[] = [];
  for (const pending of contacts) {
    const { startSec, endSec } = window(pending);
    const owltSec = owltOf(pending, startSec);
    if (owltSec === undefined && missingRange === 'error') {
      throw fail(pending.line, 'owlt', `no "a range" covers this contact's start (${startSec} s); ION's CGR would not route over it`);
    }
    if (owltSec === undefined && missingRange === 'drop') continue;
    out.push({
      from: pending.from,
      to: pending.to,
      startSec,
      endSec,
      rateBytesPerSec: pending.rateBytesPerSec,
      owltSec: owltSec ?? 0,
      confidence: pending.confidence,
    });
  }
  return { epochMs: epochUnixSec === undefined ? undefined : epochUnixSec * 1000, nodes: [], contacts: out };
}

function directionKey(from: number, to: number): string {
  return `${from}>${to}`;
}

/** libcgr.c's choice: among ranges sorted by start and not overlapping, the first with start ≤ t ≤ end. */
function coveringRange<R extends { readonly startSec: number; readonly endSec: number }>(list: readonly R[] | undefined, atSec: number): R | undefined {
  if (list === undefined) return undefined;
  // Ends increase with starts (no overlaps), so the first range ending at or after t is the one.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.endSec < atSec) lo = mid + 1;
    else hi = mid;
  }
  const range = list[lo];
  return range !== undefined && range.startSec <= atSec ? range : undefined;
}

/** A contact as it will be written: whole seconds counted from the `@` reference (or ionadmin's start). */
interface WrittenContact {
  readonly from: number;
  readonly to: number;
  readonly startSec: number;
  readonly endSec: number;
  readonly owltSec: number;
}

interface WrittenRange {
  readonly startSec: number;
  readonly endSec: number;
  readonly owltSec: number;
}

/**
 * ION command text for the plan: a comment naming the plan's hash, `@ yyyy/mm/dd-hh:mm:ss` when the
 * plan has an epoch (the whole second at or before it; contacts are shifted by the remainder), the
 * `a range` lines, then one `a contact` per contact in plan order with `+s` times. Times are whole
 * seconds (`windowWholeSec`), OWLTs rounded up, rates rounded down to whole bytes/s; the confidence
 * is written when it is not 1.
 *
 * Ranges: per direction, consecutive contacts with the same OWLT share one range from the first
 * start to the last end, cut one second before the next contact with another OWLT starts, so the
 * ranges of one direction never overlap (ION refuses that) and each contact reads back its own
 * OWLT. Ranges are written lower node first, which ION reads as covering the reverse direction
 * too; the reverse gets ranges of its own only when those would give one of its contacts another
 * OWLT. Throws `ORBITFED_ION_PLAN_WRITE` when two contacts of
 * one direction start in the same second with different whole-second OWLTs: ION cannot say that.
 * Rates of 2^32 bytes/s and more (HDTN's 100 Gbit/s plans) need an ION whose rfx.c keeps the rate
 * in a `size_t`; older ionadmin.c read it into an `unsigned int`.
 */
export function formatIonContactPlan(plan: ContactPlan): string {
  return [...formatIonContactPlanChunks(plan)].join('');
}

/** `formatIonContactPlan` in pieces, for plans too large to hold as one string. */
export function* formatIonContactPlanChunks(plan: ContactPlan): Generator<string> {
  const epochSec = plan.epochMs === undefined ? undefined : Math.floor(plan.epochMs / 1000);
  const offsetSec = epochSec === undefined ? 0 : plan.epochMs! / 1000 - epochSec;
  const written = plan.contacts.map((c): WrittenContact & { readonly rate: number; readonly confidence: number } => {
    const window = windowWholeSec(c.startSec + offsetSec, c.endSec + offsetSec);
    return {
      from: c.from,
      to: c.to,
      ...window,
      owltSec: owltWholeSec(c.owltSec),
      rate: Math.floor(c.rateBytesPerSec + WHOLE_UNIT_TOLERANCE),
      confidence: c.confidence,
    };
  });
  const header = [
    `# orbitfed contact plan sha256:${plan.hash}`,
    `# ${plan.nodes.length} nodes, ${plan.contacts.length} contacts; whole seconds (starts rounded up, ends down), rates in bytes/s`,
  ];
  if (epochSec !== undefined) header.push(`@ ${ionAbsoluteTime(epochSec)}`);
  yield `${header.join('\n')}\n`;
  let lines: string[] = [];
  for (const [from, to, range] of rangeLines(written)) {
    lines.push(`a range ${relativeTime(range.startSec)} ${relativeTime(range.endSec)} ${from} ${to} ${range.owltSec}\n`);
    if (lines.length === PLAN_WRITE_CHUNK_CONTACTS) {
      yield lines.join('');
      lines = [];
    }
  }
  for (const c of written) {
    const confidence = c.confidence === 1 ? '' : ` ${c.confidence}`;
    lines.push(`a contact ${relativeTime(c.startSec)} ${relativeTime(c.endSec)} ${c.from} ${c.to} ${c.rate}${confidence}\n`);
    if (lines.length === PLAN_WRITE_CHUNK_CONTACTS) {
      yield lines.join('');
      lines = [];
    }
  }
  if (lines.length > 0) yield lines.join('');
}

function relativeTime(sec: number): string {
  return `+${sec}`;
}

function ionAbsoluteTime(unixSec: number): string {
  const iso = new Date(unixSec * 1000).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}-${iso.slice(11, 19)}`;
}

/** The `a range` lines as [first node, second node, range], pair by pair. */
function rangeLines(contacts: readonly WrittenContact[]): Array<readonly [number, number, WrittenRange]> {
  const byDirection = new Map<string, WrittenContact[]>();
  for (const c of contacts) {
    const key = directionKey(c.from, c.to);
    (byDirection.get(key) ?? byDirection.set(key, []).get(key)!).push(c);
  }
  const pairs = new Map<string, { readonly low: number; readonly high: number }>();
  for (const c of contacts) {
    const low = Math.min(c.from, c.to);
    const high = Math.max(c.from, c.to);
    pairs.set(`${low}-${high}`, { low, high });
  }
  const out: Array<readonly [number, number, WrittenRange]> = [];
  const sortedPairs = [...pairs.values()].sort((a, b) => a.low - b.low || a.high - b.high);
  for (const { low, high } of sortedPairs) {
    const upContacts = byDirection.get(directionKey(low, high)) ?? [];
    const downContacts = byDirection.get(directionKey(high, low)) ?? [];
    const up = directionRanges(upContacts);
    for (const range of up) out.push([low, high, range]);
    // Written lower node first, `up` also covers the reverse direction; the reverse gets ranges of
    // its own (higher node first) only when `up` would give one of its contacts another OWLT.
    const upServesDown = downContacts.every((c) => coveringRange(up, c.startSec)?.owltSec === c.owltSec);
    if (!upServesDown) for (const range of directionRanges(downContacts)) out.push([high, low, range]);
  }
  return out;
}

/** Ranges for one direction's contacts (see `formatIonContactPlan`). */
function directionRanges(contacts: readonly WrittenContact[]): WrittenRange[] {
  const sorted = [...contacts].sort((a, b) => a.startSec - b.startSec);
  const ranges: Array<{ startSec: number; endSec: number; owltSec: number; lastContactStartSec: number }> = [];
  for (const c of sorted) {
    const current = ranges.at(-1);
    if (current !== undefined && c.owltSec === current.owltSec) {
      current.endSec = Math.max(current.endSec, c.endSec);
      current.lastContactStartSec = c.startSec;
      continue;
    }
    if (current !== undefined) {
      if (c.startSec === current.lastContactStartSec) {
        throw new OrbitfedError(
          'ORBITFED_ION_PLAN_WRITE',
          `contacts ${c.from}→${c.to} starting at +${c.startSec} s have OWLTs ${current.owltSec} s and ${c.owltSec} s; one ION range cannot give both`,
        );
      }
      current.endSec = Math.min(Math.max(current.endSec, current.startSec + 1), c.startSec - 1);
    }
    ranges.push({ startSec: c.startSec, endSec: c.endSec, owltSec: c.owltSec, lastContactStartSec: c.startSec });
  }
  const last = ranges.at(-1);
  // ION wants a range to end after it starts; only one cut short by the next range may not.
  if (last !== undefined) last.endSec = Math.max(last.endSec, last.startSec + 1);
  return ranges.map(({ startSec, endSec, owltSec }) => ({ startSec, endSec, owltSec }));
}
