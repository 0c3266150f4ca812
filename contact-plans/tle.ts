// Reads two-line element sets (2-line TLE and 3-line "3LE" with a name line) into ElementSets.
//
// Column layout: CelesTrak, "NORAD Two-Line Element Set Format"
// (https://celestrak.org/NORAD/documentation/tle-fmt.php) and Space-Track's "Basic Description of the
// Two Line Element Set Format". Columns below are 1-based and inclusive, as those documents print them.
// Alpha-5 catalog numbers: Space-Track documentation, "Alpha-5" (https://www.space-track.org/documentation#tle-alpha5).
//
// Every bad record becomes one issue and parsing resynchronises on the next line that starts with
// `1 `, so one corrupt record never hides the good ones after it. Issue codes:
//   ORBITFED_TLE_LINE_LENGTH       a line is not 69 characters (after trailing whitespace is removed)
//   ORBITFED_TLE_FIELD             a fixed-column field does not hold what the format says, or is out of range
//   ORBITFED_TLE_CHECKSUM          the mod-10 checksum in column 69 does not match (a warning when lenient)
//   ORBITFED_TLE_CATALOG_MISMATCH  line 1 and line 2 name different catalog numbers
//   ORBITFED_TLE_MISSING_LINE      a line 1 without its line 2, or a name line without a line 1
//   ORBITFED_TLE_UNEXPECTED_LINE   a line 2 without a line 1
import assert from 'node:assert/strict';
import { isoFromMicros, MS_PER_DAY } from '../common/index.ts';
import type { ElementIssue, ElementLoadResult, ElementSet, EpochUtc } from './element-set.ts';

export interface TleParseOptions {
  /** `strict`: a record whose checksum fails is an error; `lenient`: it loads, with a warning. */
  readonly checksum: 'strict' | 'lenient';
}

/** Length of line 1 and line 2 (column 69 holds the checksum). */
export const TLE_LINE_LENGTH_CHARS = 69;

interface ColumnField {
  readonly tleLine: 1 | 2;
  readonly firstCol: number;
  readonly lastCol: number;
  readonly label: string;
}

const field = (tleLine: 1 | 2, firstCol: number, lastCol: number, label: string): ColumnField => ({
  tleLine,
  firstCol,
  lastCol,
  label,
});

const L1_CATALOG = field(1, 3, 7, 'catalog number');
const L1_CLASSIFICATION = field(1, 8, 8, 'classification');
const L1_INTL_DESIGNATOR = field(1, 10, 17, 'international designator');
const L1_EPOCH_YEAR = field(1, 19, 20, 'epoch year');
const L1_EPOCH_DAY = field(1, 21, 32, 'epoch day of year');
const L1_MEAN_MOTION_DOT = field(1, 34, 43, 'mean motion first derivative / 2');
const L1_MEAN_MOTION_DDOT = field(1, 45, 52, 'mean motion second derivative / 6');
const L1_BSTAR = field(1, 54, 61, 'B* drag term');
const L1_EPHEMERIS_TYPE = field(1, 63, 63, 'ephemeris type');
const L1_ELEMENT_SET_NUMBER = field(1, 65, 68, 'element set number');
const L1_CHECKSUM = field(1, 69, 69, 'checksum');
const L2_CATALOG = field(2, 3, 7, 'catalog number');
const L2_INCLINATION = field(2, 9, 16, 'inclination');
const L2_RAAN = field(2, 18, 25, 'right ascension of the ascending node');
const L2_ECCENTRICITY = field(2, 27, 33, 'eccentricity');
const L2_ARG_OF_PERIGEE = field(2, 35, 42, 'argument of perigee');
const L2_MEAN_ANOMALY = field(2, 44, 51, 'mean anomaly');
const L2_MEAN_MOTION = field(2, 53, 63, 'mean motion');
const L2_REV_NUMBER = field(2, 64, 68, 'revolution number at epoch');
const L2_CHECKSUM = field(2, 69, 69, 'checksum');

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
/** Sign, five mantissa digits with an assumed leading decimal point, exponent sign and digit: ` 16534-3`. */
const ASSUMED_POINT_EXPONENT = /^([ +-])( *\d+)([ +-])(\d)$/;
const UNSIGNED_INTEGER = /^ *\d+$/;
const EPOCH_DAY = /^ *(\d{1,3})(?:\.(\d*))?$/;
const INTL_DESIGNATOR = /^(\d\d)(\d{3})([A-Z]{1,3}) *$/;

/** Alpha-5 leading letters in value order: A = 10 … Z = 33, skipping I and O (they look like 1 and 0). */
const ALPHA5_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const ALPHA5_FIRST_VALUE = 10;

const describeField = (f: ColumnField): string =>
  f.firstCol === f.lastCol
    ? `line ${f.tleLine} column ${f.firstCol} (${f.label})`
    : `line ${f.tleLine} columns ${f.firstCol}-${f.lastCol} (${f.label})`;

const columns = (line: string, f: ColumnField): string => line.slice(f.firstCol - 1, f.lastCol);

interface Problem {
  readonly code: string;
  /** Which TLE line of the record the problem is on. */
  readonly at: 1 | 2;
  readonly message: string;
}

/** Reads the fields of one record; the first bad field is kept in `problem` and later reads are skipped. */
interface FieldReader {
  problem: Problem | undefined;
  readonly line1: string;
  readonly line2: string;
}

function fail(reader: FieldReader, f: ColumnField, message: string, code = 'ORBITFED_TLE_FIELD'): number {
  reader.problem ??= { code, at: f.tleLine, message: `${describeField(f)}: ${message}` };
  return Number.NaN;
}

const rawOf = (reader: FieldReader, f: ColumnField): string =>
  columns(f.tleLine === 1 ? reader.line1 : reader.line2, f);

function readDecimal(reader: FieldReader, f: ColumnField): number {
  const raw = rawOf(reader, f);
  const trimmed = raw.trim();
  if (!DECIMAL.test(trimmed)) return fail(reader, f, `'${raw}' is not a number`);
  return Number(trimmed);
}

/** ` 16534-3` = 0.16534e-3; spaces inside the mantissa are leading zeros of a positional field. */
function readAssumedPointExponent(reader: FieldReader, f: ColumnField): number {
  const raw = rawOf(reader, f);
  const match = ASSUMED_POINT_EXPONENT.exec(raw);
  if (match === null) return fail(reader, f, `'${raw}' is not a number in the form ±NNNNN±N`);
  const [, sign, mantissa, expSign, expDigit] = match as unknown as [string, string, string, string, string];
  const digits = mantissa.replaceAll(' ', '0');
  // Decimal string → Number rounds once, so ` 16534-3` becomes exactly the double nearest 1.6534e-4.
  return Number(`${sign === '-' ? '-' : ''}0.${digits}e${expSign === '-' ? '-' : ''}${expDigit}`);
}

/** Eccentricity is seven digits with an assumed leading decimal point: `0004955` = 0.0004955. */
function readAssumedPointFraction(reader: FieldReader, f: ColumnField): number {
  const raw = rawOf(reader, f);
  if (!UNSIGNED_INTEGER.test(raw)) return fail(reader, f, `'${raw}' is not a number`);
  return Number(`0.${raw.replaceAll(' ', '0')}`);
}

/** A right-aligned unsigned integer; a blank field is `undefined`. */
function readOptionalInteger(reader: FieldReader, f: ColumnField): number | undefined {
  const raw = rawOf(reader, f);
  if (raw.trim() === '') return undefined;
  if (!UNSIGNED_INTEGER.test(raw)) return fail(reader, f, `'${raw}' is not an unsigned integer`);
  return Number(raw);
}

/** Five digits, or Alpha-5 (a letter then four digits), as a decimal string without leading zeros. */
export function decodeCatalogNumber(raw: string): string | undefined {
  const text = raw.trimStart();
  if (/^\d{1,5}$/.test(text)) return String(Number(text));
  if (/^[A-Z]\d{4}$/.test(text)) {
    const letterIndex = ALPHA5_LETTERS.indexOf(text.charAt(0));
    if (letterIndex < 0) return undefined;
    return String((ALPHA5_FIRST_VALUE + letterIndex) * 10_000 + Number(text.slice(1)));
  }
  return undefined;
}

function readCatalog(reader: FieldReader, f: ColumnField): string | undefined {
  const raw = rawOf(reader, f);
  const decoded = decodeCatalogNumber(raw);
  if (decoded === undefined) fail(reader, f, `'${raw}' is not a catalog number (five digits or Alpha-5)`);
  return decoded;
}

/** Mod-10 checksum over columns 1–68: digits count their value, '-' counts 1, everything else 0. */
export function tleChecksum(line: string): number {
  let sum = 0;
  const end = Math.min(line.length, TLE_LINE_LENGTH_CHARS - 1);
  for (let i = 0; i < end; i++) {
    const code = line.charCodeAt(i);
    if (code >= 48 && code <= 57) sum += code - 48;
    else if (code === 45) sum += 1;
  }
  return sum % 10;
}

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/**
 * The epoch as `dayStartMs` + `msOfDay` from the day-of-year digits, without a float day fraction:
 * one 1e-8 day is exactly 864 µs, so up to eight fraction digits give an exact microsecond count.
 */
function readEpoch(reader: FieldReader): EpochUtc | undefined {
  const yearRaw = rawOf(reader, L1_EPOCH_YEAR);
  if (!/^\d\d$/.test(yearRaw)) {
    fail(reader, L1_EPOCH_YEAR, `'${yearRaw}' is not a two-digit year`);
    return undefined;
  }
  const yy = Number(yearRaw);
  // The format's own rule: two-digit years 57–99 are 1957–1999, 00–56 are 2000–2056.
  const year = yy >= 57 ? 1900 + yy : 2000 + yy;
  const dayRaw = rawOf(reader, L1_EPOCH_DAY);
  const match = EPOCH_DAY.exec(dayRaw);
  if (match === null) {
    fail(reader, L1_EPOCH_DAY, `'${dayRaw}' is not a day of year with fraction`);
    return undefined;
  }
  const dayOfYear = Number(match[1]);
  const daysInYear = isLeapYear(year) ? 366 : 365;
  if (dayOfYear < 1 || dayOfYear > daysInYear) {
    fail(reader, L1_EPOCH_DAY, `day ${dayOfYear} is outside 1–${daysInYear} of ${year}`);
    return undefined;
  }
  const fractionDigits = match[2] ?? '';
  const dayStartMs = Date.UTC(year, 0, 1) + (dayOfYear - 1) * MS_PER_DAY;
  return epochFromDayFraction(dayStartMs, fractionDigits);
}

function epochFromDayFraction(dayStartMs: number, fractionDigits: string): EpochUtc {
  const digitCount = fractionDigits.length;
  const fraction = fractionDigits === '' ? 0 : Number(fractionDigits);
  // fraction × 86 400 000 stays below 2^53 for up to eight digits, so the one division rounds once.
  const msOfDay = (fraction * MS_PER_DAY) / 10 ** digitCount;
  let microsOfDay: number;
  if (digitCount <= 8) {
    microsOfDay = fraction * 864 * 10 ** (8 - digitCount);
  } else {
    // More digits than the standard layout carries: round half up to the microsecond in integers.
    const numerator = BigInt(fractionDigits) * 86_400_000_000n;
    const denominator = 10n ** BigInt(digitCount);
    microsOfDay = Number((numerator * 2n + denominator) / (2n * denominator));
  }
  assert.ok(Number.isSafeInteger(microsOfDay) && msOfDay >= 0 && msOfDay < MS_PER_DAY, `day fraction .${fractionDigits}`);
  return { iso: isoFromMicros(dayStartMs, microsOfDay), dayStartMs, msOfDay };
}


function readIntlDesignator(reader: FieldReader): string | undefined {
  const raw = rawOf(reader, L1_INTL_DESIGNATOR);
  const match = INTL_DESIGNATOR.exec(raw);
  if (match === null) {
    // Blank for analyst objects (Alpha-5 T-numbers); anything else is kept as printed rather than
    // rejecting an element set over a field propagation never reads.
    const trimmed = raw.trim();
    return trimmed === '' ? undefined : trimmed;
  }
  const yy = Number(match[1]);
  return `${yy >= 57 ? 1900 + yy : 2000 + yy}-${match[2]}${match[3]}`;
}

type RecordOutcome =
  | { readonly ok: true; readonly fields: Omit<ElementSet, 'source' | 'name'>; readonly warnings: readonly Problem[] }
  | { readonly ok: false; readonly problem: Problem; readonly catalogNumber: string | undefined };

function parseRecord(line1: string, line2: string, options: TleParseOptions): RecordOutcome {
  const earlyCatalog = decodeCatalogNumber(columns(line1, L1_CATALOG));
  for (const [at, line] of [[1, line1], [2, line2]] as const) {
    if (line.length !== TLE_LINE_LENGTH_CHARS) {
      const what = line.length > TLE_LINE_LENGTH_CHARS ? 'longer than' : 'shorter than (truncated?)';
      const message = `line ${at} is ${line.length} characters, ${what} the ${TLE_LINE_LENGTH_CHARS} of a TLE line`;
      return { ok: false, problem: { code: 'ORBITFED_TLE_LINE_LENGTH', at, message }, catalogNumber: earlyCatalog };
    }
  }
  const reader: FieldReader = { problem: undefined, line1, line2 };
  const catalog1 = readCatalog(reader, L1_CATALOG);
  const catalog2 = readCatalog(reader, L2_CATALOG);
  const classification = rawOf(reader, L1_CLASSIFICATION).trim();
  const intlDesignator = readIntlDesignator(reader);
  const epoch = readEpoch(reader);
  const meanMotionDotRevPerDay2 = readDecimal(reader, L1_MEAN_MOTION_DOT);
  const meanMotionDdotRevPerDay3 = readAssumedPointExponent(reader, L1_MEAN_MOTION_DDOT);
  const bstarPerEarthRadii = readAssumedPointExponent(reader, L1_BSTAR);
  const ephemerisType = readOptionalInteger(reader, L1_EPHEMERIS_TYPE) ?? 0;
  const elementSetNumber = readOptionalInteger(reader, L1_ELEMENT_SET_NUMBER);
  const inclinationDeg = readDecimal(reader, L2_INCLINATION);
  const raanDeg = readDecimal(reader, L2_RAAN);
  const eccentricity = readAssumedPointFraction(reader, L2_ECCENTRICITY);
  const argOfPericenterDeg = readDecimal(reader, L2_ARG_OF_PERIGEE);
  const meanAnomalyDeg = readDecimal(reader, L2_MEAN_ANOMALY);
  const meanMotionRevPerDay = readDecimal(reader, L2_MEAN_MOTION);
  const revAtEpoch = readOptionalInteger(reader, L2_REV_NUMBER);
  if (reader.problem === undefined && !/^[A-Z]?$/.test(classification)) {
    fail(reader, L1_CLASSIFICATION, `'${classification}' is not a classification letter`);
  }
  if (reader.problem === undefined && (inclinationDeg < 0 || inclinationDeg > 180)) {
    fail(reader, L2_INCLINATION, `${inclinationDeg}° is outside 0–180°`);
  }
  if (reader.problem === undefined && !(meanMotionRevPerDay > 0)) {
    fail(reader, L2_MEAN_MOTION, `${meanMotionRevPerDay} rev/day is not positive`);
  }
  if (reader.problem !== undefined || catalog1 === undefined || catalog2 === undefined || epoch === undefined) {
    const problem = reader.problem ?? { code: 'ORBITFED_TLE_FIELD', at: 1, message: 'unreadable record' };
    return { ok: false, problem, catalogNumber: catalog1 };
  }
  if (catalog1 !== catalog2) {
    const message = `line 2 catalog number ${catalog2} does not match line 1's ${catalog1}`;
    return { ok: false, problem: { code: 'ORBITFED_TLE_CATALOG_MISMATCH', at: 2, message }, catalogNumber: catalog1 };
  }
  const warnings: Problem[] = [];
  for (const [at, line, f] of [[1, line1, L1_CHECKSUM], [2, line2, L2_CHECKSUM]] as const) {
    const expected = tleChecksum(line);
    const printed = line.charAt(TLE_LINE_LENGTH_CHARS - 1);
    if (printed === String(expected)) continue;
    const problem: Problem = {
      code: 'ORBITFED_TLE_CHECKSUM',
      at,
      message: `${describeField(f)}: printed '${printed}' but the line sums to ${expected}`,
    };
    if (options.checksum === 'strict') return { ok: false, problem, catalogNumber: catalog1 };
    warnings.push(problem);
  }
  return {
    ok: true,
    warnings,
    fields: {
      catalogNumber: catalog1,
      intlDesignator,
      epoch,
      meanMotionRevPerDay,
      eccentricity,
      inclinationDeg,
      raanDeg,
      argOfPericenterDeg,
      meanAnomalyDeg,
      bstarPerEarthRadii,
      meanMotionDotRevPerDay2,
      meanMotionDdotRevPerDay3,
      ephemerisType,
      // CCSDS 502.0-B OMM: CLASSIFICATION_TYPE defaults to U (unclassified) when not given.
      classification: classification === '' ? 'U' : classification,
      elementSetNumber,
      revAtEpoch,
      tleLines: [line1, line2],
    },
  };
}

/** Space-Track 3LE name lines carry a `0 ` prefix (the "line 0"); CelesTrak's do not. */
const nameFromLine = (line: string): string => (line.startsWith('0 ') ? line.slice(2) : line).trim();

interface PendingName {
  readonly text: string;
  readonly lineNo: number;
  readonly lengthChars: number;
}

/** Splits on CRLF, CR or LF after removing a UTF-8 byte-order mark; trailing whitespace is dropped. */
function splitLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return body.split(/\r\n|\r|\n/).map((line) => line.trimEnd());
}

/**
 * Parses TLE/3LE text. `file` only labels issues and sources. Records come out in file order; every
 * record that cannot be used is an issue (warnings for checksum failures in lenient mode).
 */
export function parseTle(text: string, file: string, options: TleParseOptions): ElementLoadResult {
  const lines = splitLines(text);
  const elements: ElementSet[] = [];
  const issues: ElementIssue[] = [];
  const report = (
    severity: ElementIssue['severity'],
    code: string,
    lineNo: number,
    catalogNumber: string | undefined,
    message: string,
  ): void => {
    issues.push({ severity, code, file, line: lineNo, catalogNumber, message });
  };
  const reportOrphanName = (name: PendingName): void => {
    if (name.lengthChars > TLE_LINE_LENGTH_CHARS) {
      report('error', 'ORBITFED_TLE_LINE_LENGTH', name.lineNo, undefined, `line is ${name.lengthChars} characters, longer than ${TLE_LINE_LENGTH_CHARS}`);
    } else {
      report('error', 'ORBITFED_TLE_MISSING_LINE', name.lineNo, undefined, `name line '${name.text}' is not followed by a line 1`);
    }
  };

  let pendingName: PendingName | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const lineNo = i + 1;
    if (line.startsWith('1 ')) {
      let next = i + 1;
      while (next < lines.length && lines[next] === '') next++;
      const line2 = lines[next];
      const name = pendingName;
      pendingName = undefined;
      const catalogNumber = decodeCatalogNumber(columns(line, L1_CATALOG));
      if (line2 === undefined || !line2.startsWith('2 ')) {
        // Leave `next` unread: it may be the start of the following record.
        report('error', 'ORBITFED_TLE_MISSING_LINE', lineNo, catalogNumber, 'line 1 is not followed by a line 2');
        continue;
      }
      i = next;
      const line2No = next + 1;
      if (name !== undefined && name.lengthChars > TLE_LINE_LENGTH_CHARS) {
        const message = `name line is ${name.lengthChars} characters, longer than ${TLE_LINE_LENGTH_CHARS}; record skipped`;
        report('error', 'ORBITFED_TLE_LINE_LENGTH', name.lineNo, catalogNumber, message);
        continue;
      }
      const outcome = parseRecord(line, line2, options);
      const lineOf = (at: Problem['at']): number => (at === 1 ? lineNo : line2No);
      if (!outcome.ok) {
        report('error', outcome.problem.code, lineOf(outcome.problem.at), outcome.catalogNumber, outcome.problem.message);
        continue;
      }
      for (const warning of outcome.warnings) {
        report('warning', warning.code, lineOf(warning.at), outcome.fields.catalogNumber, `${warning.message}; loaded anyway (lenient checksum)`);
      }
      const recordName = name === undefined || name.text === '' ? outcome.fields.catalogNumber : name.text;
      elements.push({
        ...outcome.fields,
        name: recordName,
        source: { file, line: name?.lineNo ?? lineNo, format: 'tle' },
      });
      continue;
    }
    if (line.startsWith('2 ')) {
      if (pendingName !== undefined) reportOrphanName(pendingName);
      pendingName = undefined;
      report('error', 'ORBITFED_TLE_UNEXPECTED_LINE', lineNo, decodeCatalogNumber(columns(line, L2_CATALOG)), 'line 2 without a line 1 before it');
      continue;
    }
    if (pendingName !== undefined) reportOrphanName(pendingName);
    pendingName = { text: nameFromLine(line), lineNo, lengthChars: line.length };
  }
  if (pendingName !== undefined) reportOrphanName(pendingName);
  return { elements, issues };
}
