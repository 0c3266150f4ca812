// Reads Orbit Mean-Elements Messages (OMM) in the four encodings element sources publish:
// JSON and CSV as CelesTrak and Space-Track serve them (https://celestrak.org/NORAD/documentation/gp-data-formats.php),
// and CCSDS 502.0-B "Orbit Data Messages" XML (NDM/XML, CCSDS 505.0-B) and KVN. All four become the
// same ElementSet a TLE gives, without `tleLines`: SGP4 is then initialised from the numbers.
//
// Only SGP4 mean elements are accepted (MEAN_ELEMENT_THEORY = SGP4, TEME, UTC): anything else would
// be propagated wrongly by SGP4 without any error. Issue codes:
//   ORBITFED_OMM_SYNTAX         the file or a row/line is not valid JSON / CSV / XML / KVN
//   ORBITFED_OMM_MISSING_FIELD  a required field is absent or empty
//   ORBITFED_OMM_FIELD          a field's value is unreadable or out of range
//   ORBITFED_OMM_UNSUPPORTED    a theory, frame, time system or centre SGP4 cannot use
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isoFromMicros, MS_PER_DAY } from '../common/index.ts';
import { splitCsvRows } from './csv-rows.ts';
import type { ElementFormat, ElementIssue, ElementLoadResult, ElementSet, EpochUtc } from './element-set.ts';

/** One record's fields by OMM keyword, as the encoding gave them (JSON numbers stay numbers). */
type OmmFields = Readonly<Record<string, unknown>>;

/** The fields without which SGP4 cannot be initialised. */
const REQUIRED_FIELDS = [
  'EPOCH',
  'MEAN_MOTION',
  'ECCENTRICITY',
  'INCLINATION',
  'RA_OF_ASC_NODE',
  'ARG_OF_PERICENTER',
  'MEAN_ANOMALY',
  'NORAD_CAT_ID',
  'BSTAR',
  'MEAN_MOTION_DOT',
  'MEAN_MOTION_DDOT',
] as const;

/** Largest NORAD catalog number we accept: nine digits, as Space-Track's planned extension allows. */
const CATALOG_NUMBER_DIGITS_MAX = 9;

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
/** CCSDS 502.0-B §7.5.10 (and ISO 8601): calendar or day-of-year date, optional fraction and `Z`. */
const CALENDAR_EPOCH = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,9}))?Z?$/;
const ORDINAL_EPOCH = /^(\d{4})-(\d{3})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,9}))?Z?$/;

/** Why one record cannot be loaded; field readers return it instead of a value. */
interface RecordProblem {
  readonly problem: true;
  readonly code: string;
  readonly message: string;
}

type Read<T> = T | RecordProblem;

const recordProblem = (code: string, message: string): RecordProblem => ({ problem: true, code, message });

const isProblem = (value: unknown): value is RecordProblem =>
  typeof value === 'object' && value !== null && (value as { problem?: unknown }).problem === true;

function textOf(fields: OmmFields, key: string): Read<string | undefined> {
  const value = fields[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return recordProblem('ORBITFED_OMM_FIELD', `${key} is not a string or number`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function requiredText(fields: OmmFields, key: string): Read<string> {
  const text = textOf(fields, key);
  if (text === undefined) return recordProblem('ORBITFED_OMM_MISSING_FIELD', `missing required field ${key}`);
  return text;
}

function numberOf(fields: OmmFields, key: string): Read<number | undefined> {
  const value = fields[key];
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : recordProblem('ORBITFED_OMM_FIELD', `${key} is not finite`);
  }
  const text = textOf(fields, key);
  if (text === undefined || isProblem(text)) return text;
  if (!NUMBER.test(text)) return recordProblem('ORBITFED_OMM_FIELD', `${key}: '${text}' is not a number`);
  return Number(text);
}

function requiredNumber(fields: OmmFields, key: string): Read<number> {
  const value = numberOf(fields, key);
  if (value === undefined) return recordProblem('ORBITFED_OMM_MISSING_FIELD', `missing required field ${key}`);
  return value;
}

function optionalInteger(fields: OmmFields, key: string): Read<number | undefined> {
  const value = numberOf(fields, key);
  if (value === undefined || isProblem(value)) return value;
  if (!Number.isSafeInteger(value) || value < 0) {
    return recordProblem('ORBITFED_OMM_FIELD', `${key}: ${value} is not a non-negative integer`);
  }
  return value;
}

function catalogNumberOf(fields: OmmFields): Read<string> {
  const text = requiredText(fields, 'NORAD_CAT_ID');
  if (isProblem(text)) return text;
  if (!new RegExp(`^\\d{1,${CATALOG_NUMBER_DIGITS_MAX}}$`).test(text)) {
    return recordProblem(
      'ORBITFED_OMM_FIELD',
      `NORAD_CAT_ID: '${text}' is not a catalog number of at most ${CATALOG_NUMBER_DIGITS_MAX} digits`,
    );
  }
  return String(Number(text));
}

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Earliest epoch year accepted: Date.UTC reads years 0–99 as 1900–1999, and no element set predates 1957. */
const EPOCH_YEAR_MIN = 1957;

/**
 * Parses an OMM EPOCH without a float: the date gives an integer `dayStartMs`, the clock and up to nine
 * fraction digits give nanoseconds of the day (below 2^53), from which `msOfDay` is one division.
 */
export function parseOmmEpoch(text: string): EpochUtc | string {
  let year: number;
  let dayOfYear: number;
  let clock: [string, string, string, string | undefined];
  const calendar = CALENDAR_EPOCH.exec(text);
  if (calendar !== null) {
    year = Number(calendar[1]);
    const month = Number(calendar[2]);
    const day = Number(calendar[3]);
    if (month < 1 || month > 12) return `month ${month} is outside 1–12`;
    const monthDays = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
    if (day < 1 || day > monthDays) return `day ${day} is outside 1–${monthDays}`;
    dayOfYear = day;
    for (let m = 1; m < month; m++) dayOfYear += m === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[m - 1] as number);
    clock = [calendar[4] as string, calendar[5] as string, calendar[6] as string, calendar[7]];
  } else {
    const ordinal = ORDINAL_EPOCH.exec(text);
    if (ordinal === null) return `'${text}' is not an ISO 8601 UTC time (YYYY-MM-DDThh:mm:ss[.ffffff][Z])`;
    year = Number(ordinal[1]);
    dayOfYear = Number(ordinal[2]);
    const daysInYear = isLeapYear(year) ? 366 : 365;
    if (dayOfYear < 1 || dayOfYear > daysInYear) return `day of year ${dayOfYear} is outside 1–${daysInYear}`;
    clock = [ordinal[3] as string, ordinal[4] as string, ordinal[5] as string, ordinal[6]];
  }
  if (year < EPOCH_YEAR_MIN) return `year ${year} is before ${EPOCH_YEAR_MIN}`;
  const [hh, mm, ss, fraction = ''] = clock;
  const hours = Number(hh);
  const minutes = Number(mm);
  const seconds = Number(ss);
  // A leap second (ss = 60) has no place in SGP4's uniform UTC day; reject rather than shift it.
  if (hours > 23 || minutes > 59 || seconds > 59) return `time ${hh}:${mm}:${ss} is not a valid time of day`;
  const nanosOfSecond = Number(fraction.padEnd(9, '0'));
  const nanosOfDay = ((hours * 60 + minutes) * 60 + seconds) * 1_000_000_000 + nanosOfSecond;
  const dayStartMs = Date.UTC(year, 0, 1) + (dayOfYear - 1) * MS_PER_DAY;
  const msOfDay = nanosOfDay / 1_000_000;
  // Round half up to the microsecond for the text form; 23:59:59.9999995 rolls into the next day.
  const microsOfDay = Math.floor((nanosOfDay + 500) / 1000);
  assert.ok(Number.isSafeInteger(nanosOfDay) && Number.isSafeInteger(dayStartMs), `epoch ${text}`);
  return { iso: isoFromMicros(dayStartMs, microsOfDay), dayStartMs, msOfDay };
}


/** Metadata values SGP4 elements must have when the message states them (CCSDS 502.0-B §4.2.4, §4.2.5). */
const EXPECTED_METADATA: readonly (readonly [key: string, expected: string, why: string])[] = [
  ['MEAN_ELEMENT_THEORY', 'SGP4', 'only SGP4 mean elements are supported'],
  ['REF_FRAME', 'TEME', 'SGP4 mean elements are in TEME'],
  ['TIME_SYSTEM', 'UTC', 'SGP4 element epochs are UTC'],
  ['CENTER_NAME', 'EARTH', 'SGP4 elements are Earth-centred'],
];

type RecordOutcome =
  | { readonly ok: true; readonly element: ElementSet }
  | { readonly ok: false; readonly problem: RecordProblem; readonly catalogNumber: string | undefined };

/** Turns one record's fields into an ElementSet, or the first problem found. */
function elementFromFields(fields: OmmFields, source: ElementSet['source']): RecordOutcome {
  const catalog = catalogNumberOf(fields);
  const catalogNumber = isProblem(catalog) ? undefined : catalog;
  const failWith = (problem: RecordProblem): RecordOutcome => ({ ok: false, problem, catalogNumber });

  for (const key of REQUIRED_FIELDS) {
    const text = textOf(fields, key);
    if (isProblem(text)) return failWith(text);
    if (text === undefined) return failWith(recordProblem('ORBITFED_OMM_MISSING_FIELD', `missing required field ${key}`));
  }
  if (isProblem(catalog)) return failWith(catalog);
  for (const [key, expected, why] of EXPECTED_METADATA) {
    const value = textOf(fields, key);
    if (isProblem(value)) return failWith(value);
    if (value !== undefined && value.toUpperCase() !== expected) {
      return failWith(recordProblem('ORBITFED_OMM_UNSUPPORTED', `${key} is '${value}': ${why}`));
    }
  }

  const epochText = requiredText(fields, 'EPOCH');
  if (isProblem(epochText)) return failWith(epochText);
  const epoch = parseOmmEpoch(epochText);
  if (typeof epoch === 'string') return failWith(recordProblem('ORBITFED_OMM_FIELD', `EPOCH: ${epoch}`));

  const numbers: Record<string, number> = {};
  for (const key of REQUIRED_FIELDS) {
    if (key === 'EPOCH' || key === 'NORAD_CAT_ID') continue;
    const value = requiredNumber(fields, key);
    if (isProblem(value)) return failWith(value);
    numbers[key] = value;
  }
  const num = (key: (typeof REQUIRED_FIELDS)[number]): number => numbers[key] as number;
  const rangeProblem = checkRanges(num);
  if (rangeProblem !== undefined) return failWith(rangeProblem);

  const ephemerisType = optionalInteger(fields, 'EPHEMERIS_TYPE');
  if (isProblem(ephemerisType)) return failWith(ephemerisType);
  const elementSetNumber = optionalInteger(fields, 'ELEMENT_SET_NO');
  if (isProblem(elementSetNumber)) return failWith(elementSetNumber);
  const revAtEpoch = optionalInteger(fields, 'REV_AT_EPOCH');
  if (isProblem(revAtEpoch)) return failWith(revAtEpoch);
  const name = textOf(fields, 'OBJECT_NAME');
  if (isProblem(name)) return failWith(name);
  const intlDesignator = textOf(fields, 'OBJECT_ID');
  if (isProblem(intlDesignator)) return failWith(intlDesignator);
  const classification = textOf(fields, 'CLASSIFICATION_TYPE');
  if (isProblem(classification)) return failWith(classification);

  return {
    ok: true,
    element: {
      catalogNumber: catalog,
      name: name ?? catalog,
      intlDesignator,
      epoch,
      meanMotionRevPerDay: num('MEAN_MOTION'),
      eccentricity: num('ECCENTRICITY'),
      inclinationDeg: num('INCLINATION'),
      raanDeg: num('RA_OF_ASC_NODE'),
      argOfPericenterDeg: num('ARG_OF_PERICENTER'),
      meanAnomalyDeg: num('MEAN_ANOMALY'),
      bstarPerEarthRadii: num('BSTAR'),
      meanMotionDotRevPerDay2: num('MEAN_MOTION_DOT'),
      meanMotionDdotRevPerDay3: num('MEAN_MOTION_DDOT'),
      ephemerisType: ephemerisType ?? 0,
      // CCSDS 502.0-B §4.2.4.1: CLASSIFICATION_TYPE is optional and defaults to U.
      classification: classification ?? 'U',
      elementSetNumber,
      revAtEpoch,
      tleLines: undefined,
      source,
    },
  };
}

function checkRanges(num: (key: (typeof REQUIRED_FIELDS)[number]) => number): RecordProblem | undefined {
  const bad = (message: string): RecordProblem => recordProblem('ORBITFED_OMM_FIELD', message);
  const eccentricity = num('ECCENTRICITY');
  // SGP4 models closed orbits only; e ≥ 1 is not an orbit it can propagate.
  if (!(eccentricity >= 0 && eccentricity < 1)) return bad(`ECCENTRICITY ${eccentricity} is outside 0 ≤ e < 1`);
  const meanMotion = num('MEAN_MOTION');
  if (!(meanMotion > 0)) return bad(`MEAN_MOTION ${meanMotion} rev/day is not positive`);
  const inclination = num('INCLINATION');
  if (!(inclination >= 0 && inclination <= 180)) return bad(`INCLINATION ${inclination}° is outside 0–180°`);
  return undefined;
}

/** Gathers one file's records and issues; `record` converts and files one record's fields. */
interface Collector {
  record(fields: OmmFields, line: number): void;
  error(code: string, line: number, catalogNumber: string | undefined, message: string): void;
  result(): ElementLoadResult;
}

function collector(file: string, format: ElementFormat): Collector {
  const elements: ElementSet[] = [];
  const issues: ElementIssue[] = [];
  const error: Collector['error'] = (code, line, catalogNumber, message) => {
    issues.push({ severity: 'error', code, file, line, catalogNumber, message });
  };
  return {
    error,
    record(fields, line) {
      const outcome = elementFromFields(fields, { file, line, format });
      if (outcome.ok) {
        elements.push(outcome.element);
        return;
      }
      const label = describeRecord(fields, outcome.catalogNumber);
      error(outcome.problem.code, line, outcome.catalogNumber, `${label}: ${outcome.problem.message}`);
    },
    result: () => ({ elements, issues }),
  };
}

function describeRecord(fields: OmmFields, catalogNumber: string | undefined): string {
  const name = fields['OBJECT_NAME'];
  const named = typeof name === 'string' && name.trim() !== '' ? ` ${name.trim()}` : '';
  return `OMM record${named}${catalogNumber === undefined ? '' : ` (NORAD ${catalogNumber})`}`;
}

const stripBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/** Advances a 1-based line count over `text[from, to)`; CRLF, CR and LF each end one line. */
function countLines(text: string, from: number, to: number): number {
  let lines = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code === 10) lines++;
    else if (code === 13 && text.charCodeAt(i + 1) !== 10) lines++;
  }
  return lines;
}

// ---- JSON ----------------------------------------------------------------------------------------

/**
 * The 1-based line on which each element of a top-level array starts (or the object's line when the
 * top level is one object). One pass that skips strings: JSON.parse gives no positions.
 */
function topLevelElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 10 || (code === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      continue;
    }
    if (inString) {
      if (escaped) escaped = false;
      else if (code === 92) escaped = true;
      else if (code === 34) inString = false;
      continue;
    }
    if (code === 32 || code === 9 || code === 13) continue;
    if (depth === 0 && code === 123) lines.push(line);
    if (depth === 1 && expectElement && code !== 93) {
      lines.push(line);
      expectElement = false;
    }
    if (code === 34) inString = true;
    else if (code === 91 || code === 123) {
      depth++;
      if (depth === 1 && code === 91) expectElement = true;
    } else if (code === 93 || code === 125) depth--;
    else if (code === 44 && depth === 1) expectElement = true;
  }
  return lines;
}

/** CelesTrak JSON (numbers) or Space-Track JSON (every value a string); an array of records or one record. */
export function parseOmmJson(text: string, file: string): ElementLoadResult {
  const out = collector(file, 'omm-json');
  const body = stripBom(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const line = /line (\d+)/.exec(message)?.[1];
    out.error('ORBITFED_OMM_SYNTAX', line === undefined ? 1 : Number(line), undefined, `not valid JSON: ${message}`);
    return out.result();
  }
  const records = Array.isArray(parsed) ? parsed : [parsed];
  const lines = topLevelElementLines(body);
  records.forEach((record: unknown, index) => {
    const line = lines[index] ?? 1;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      out.error('ORBITFED_OMM_SYNTAX', line, undefined, `element ${index} of the JSON is not an OMM object`);
      return;
    }
    out.record(record as OmmFields, line);
  });
  return out.result();
}

// ---- CSV -----------------------------------------------------------------------------------------

/** CelesTrak CSV: a header row of OMM keywords, then one record per row. */
export function parseOmmCsv(text: string, file: string): ElementLoadResult {
  const out = collector(file, 'omm-csv');
  const { rows, unterminatedQuoteLine } = splitCsvRows(stripBom(text));
  if (unterminatedQuoteLine !== undefined) {
    out.error('ORBITFED_OMM_SYNTAX', unterminatedQuoteLine, undefined, 'a quoted CSV field is never closed');
    return out.result();
  }
  const [header, ...records] = rows;
  if (header === undefined) return out.result();
  const keys = header.cells.map((cell) => cell.trim().toUpperCase());
  const absent = REQUIRED_FIELDS.filter((key) => !keys.includes(key));
  if (absent.length > 0) {
    out.error('ORBITFED_OMM_MISSING_FIELD', header.line, undefined, `CSV header lacks required column(s) ${absent.join(', ')}`);
    return out.result();
  }
  for (const row of records) {
    if (row.cells.length !== keys.length) {
      const message = `row has ${row.cells.length} fields, the header ${keys.length}`;
      out.error('ORBITFED_OMM_SYNTAX', row.line, undefined, message);
      continue;
    }
    const fields: Record<string, string> = {};
    keys.forEach((key, index) => {
      fields[key] = row.cells[index] as string;
    });
    out.record(fields, row.line);
  }
  return out.result();
}

// ---- XML -----------------------------------------------------------------------------------------

const XML_METADATA = XMLParser.getMetaDataSymbol() as unknown as symbol;

/** A leaf's text: plain, or `#text` when the element has attributes (`<INCLINATION units="deg">`). */
function xmlLeafText(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return (value as Record<string, unknown>)['#text'] ?? '';
  return value;
}

function xmlChild(node: unknown, key: string): unknown {
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
}

/** Where fast-xml-parser saw the element's `<` (captureMetaData), to give the record its line. */
function xmlStartIndex(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const metadata = (node as Record<symbol, { startIndex?: number } | undefined>)[XML_METADATA];
  return metadata?.startIndex;
}

/** metadata, data/meanElements and data/tleParameters of an `<omm>`, flattened by keyword. */
function xmlOmmFields(omm: unknown): OmmFields | string {
  const segments = xmlChild(xmlChild(omm, 'body'), 'segment');
  if (!Array.isArray(segments) || segments.length === 0) return 'has no <body><segment>';
  if (segments.length > 1) return `has ${segments.length} segments; an OMM has one`;
  const segment: unknown = segments[0];
  const data = xmlChild(segment, 'data');
  const fields: Record<string, unknown> = {};
  for (const section of [xmlChild(segment, 'metadata'), xmlChild(data, 'meanElements'), xmlChild(data, 'tleParameters')]) {
    if (typeof section !== 'object' || section === null) continue;
    for (const [key, value] of Object.entries(section)) {
      if (key === 'COMMENT' || key.startsWith('@_')) continue;
      fields[key] = xmlLeafText(value);
    }
  }
  return fields;
}

/** CCSDS NDM/XML: `<ndm>` holding one or more `<omm>`, or a bare `<omm>` root. */
export function parseOmmXml(text: string, file: string): ElementLoadResult {
  const out = collector(file, 'omm-xml');
  const body = stripBom(text);
  const validation = XMLValidator.validate(body);
  if (validation !== true) {
    out.error('ORBITFED_OMM_SYNTAX', validation.err.line, undefined, `not well-formed XML: ${validation.err.msg}`);
    return out.result();
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    parseTagValue: false,
    removeNSPrefix: true,
    captureMetaData: true,
    isArray: (name) => name === 'omm' || name === 'segment',
  });
  const document = parser.parse(body) as Record<string, unknown>;
  const omms = document['omm'] ?? xmlChild(document['ndm'], 'omm');
  if (!Array.isArray(omms) || omms.length === 0) {
    out.error('ORBITFED_OMM_SYNTAX', 1, undefined, 'no <omm> element (expected <ndm><omm> or an <omm> root)');
    return out.result();
  }
  let line = 1;
  let scannedTo = 0;
  for (const omm of omms as unknown[]) {
    const startIndex = xmlStartIndex(omm);
    if (startIndex !== undefined && startIndex >= scannedTo) {
      line += countLines(body, scannedTo, startIndex);
      scannedTo = startIndex;
    }
    const fields = xmlOmmFields(omm);
    if (typeof fields === 'string') {
      out.error('ORBITFED_OMM_SYNTAX', line, undefined, `<omm> ${fields}`);
      continue;
    }
    out.record(fields, line);
  }
  return out.result();
}

// ---- KVN -----------------------------------------------------------------------------------------

const KVN_LINE = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/;
/** CCSDS 502.0-B §7.7: a value may be followed by its units in square brackets, e.g. `[rev/day]`. */
const KVN_UNITS = /\s*\[[^\]]*\]$/;

interface KvnMessage {
  readonly line: number;
  readonly fields: Record<string, string>;
  problem: { readonly line: number; readonly message: string } | undefined;
}

/** CCSDS KVN: `KEY = value` lines; each `CCSDS_OMM_VERS` starts a message; COMMENT lines are ignored. */
export function parseOmmKvn(text: string, file: string): ElementLoadResult {
  const out = collector(file, 'omm-kvn');
  const lines = stripBom(text).split(/\r\n|\r|\n/);
  const messages: KvnMessage[] = [];
  let current: KvnMessage | undefined;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] as string).trim();
    if (line === '' || line === 'COMMENT' || line.startsWith('COMMENT ')) continue;
    const match = KVN_LINE.exec(line);
    if (match === null) {
      if (current === undefined) out.error('ORBITFED_OMM_SYNTAX', lineNo, undefined, `'${line}' is not a KEY = value line`);
      else current.problem ??= { line: lineNo, message: `'${line}' is not a KEY = value line` };
      continue;
    }
    const key = (match[1] as string).toUpperCase();
    const value = (match[2] as string).replace(KVN_UNITS, '').trim();
    if (key === 'CCSDS_OMM_VERS') {
      current = { line: lineNo, fields: { [key]: value }, problem: undefined };
      messages.push(current);
      continue;
    }
    if (current === undefined) {
      out.error('ORBITFED_OMM_SYNTAX', lineNo, undefined, `${key} before the first CCSDS_OMM_VERS line`);
      continue;
    }
    if (key in current.fields) current.problem ??= { line: lineNo, message: `${key} appears twice in one message` };
    else current.fields[key] = value;
  }
  for (const message of messages) {
    if (message.problem === undefined) {
      out.record(message.fields, message.line);
      continue;
    }
    const catalog = catalogNumberOf(message.fields);
    const catalogNumber = isProblem(catalog) ? undefined : catalog;
    const label = describeRecord(message.fields, catalogNumber);
    out.error('ORBITFED_OMM_SYNTAX', message.line, catalogNumber, `${label}: line ${message.problem.line}: ${message.problem.message}`);
  }
  return out.result();
}
