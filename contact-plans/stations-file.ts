// Ground station files: YAML, JSON or CSV in, validated readonly `Station`s out.
//
// The station record is declared once, as a TypeBox schema (`StationSchema`), and every format is
// checked against it: YAML and JSON documents directly, CSV rows after being mapped onto the same
// keys. What a JSON schema cannot say (an assigned country code, increasing mask azimuths, unique
// ids) is checked after it. All problems in a file are collected and thrown as one
// `ORBITFED_STATIONS_INVALID` error, so a user fixes a file in one round rather than one line at a
// time.
//
// Decisions worth knowing:
// - `longitudeDeg` may be given in [-180, 360]: values above 180 (the 0–360 east convention some
//   tools export) are normalised to (-180, 180] by subtracting 360, so `Station.longitudeDeg` is
//   always in [-180, 180].
// - Ids are compared ignoring case when looking for duplicates: ids end up as keys in places that
//   fold case (file names on macOS, DNS labels), where `KIRUNA` and `kiruna` would collide.
// - A file with no stations is an error: a pass run over no stations is almost always a mistake.
// - `altitudeM` is required: defaulting it to 0 would hide kilometre errors for mountain sites.
// - JSON is parsed by `JSON.parse` (its semantics are the reference); the `yaml` parser reads the
//   same text only to find line numbers and duplicate keys, which `JSON.parse` silently resolves to
//   the last one.
// - Paths in messages are 0-based (`stations[2]` is the third station), as in JSON paths; the line
//   number next to them is 1-based, as in editors.

import { extname } from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { OrbitfedError, formatLocated, parseYamlTree, readBoundedTextFile, type ErrorLocation } from '../common/index.ts';
import { splitCsvRows } from './csv-rows.ts';
import { HORIZON_MASK_POINTS_MAX } from './horizon-mask.ts';
import { ISO_3166_ALPHA2_NAMES } from './iso3166-alpha2.ts';
import type { HorizonMaskPoint, Station } from './station.ts';

/** Larger files are refused before they are read (`ORBITFED_STATIONS_TOO_LARGE`). */
export const STATIONS_FILE_BYTES_MAX = 16 * 1024 * 1024;
/** More stations than this in one file is refused; it is far beyond any real network. */
export const STATIONS_PER_FILE_MAX = 100_000;
/** Problems listed in one error message; the rest are counted. */
const PROBLEMS_SHOWN_MAX = 20;

export type StationsFormat = 'yaml' | 'json' | 'csv';

const ID_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';

const HorizonMaskPointSchema = Type.Object(
  {
    azimuthDeg: Type.Number({ minimum: 0, maximum: 360, description: 'Degrees clockwise from north.' }),
    minElevationDeg: Type.Number({ minimum: -5, maximum: 90 }),
  },
  { additionalProperties: false },
);

export const StationSchema = Type.Object(
  {
    id: Type.String({
      pattern: ID_PATTERN,
      description: 'Unique within the file (ignoring case); 1–64 letters, digits, `_`, `.` or `-`.',
      errorMessage: 'must be 1–64 characters from A–Z, a–z, 0–9, "_", "." and "-"',
    }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Defaults to the id.' })),
    latitudeDeg: Type.Number({ minimum: -90, maximum: 90, description: 'Geodetic (WGS84), degrees north.' }),
    longitudeDeg: Type.Number({
      minimum: -180,
      maximum: 360,
      description: 'Degrees east; values above 180 are read as 0–360 east and normalised to (-180, 180].',
    }),
    altitudeM: Type.Number({ minimum: -500, maximum: 9000, description: 'Height above the WGS84 ellipsoid, metres.' }),
    minElevationDeg: Type.Optional(
      Type.Number({ minimum: -5, maximum: 90, description: "Floor for passes; absent = the caller's default." }),
    ),
    horizonMask: Type.Optional(
      Type.Array(HorizonMaskPointSchema, {
        minItems: 2,
        maxItems: HORIZON_MASK_POINTS_MAX,
        description:
          'Azimuth-dependent minimum elevation, linear between points, wrapping through 360°; azimuths strictly ' +
          'increase, and points at both 0° and 360° must agree. Where the mask and minElevationDeg differ, the higher applies.',
      }),
    ),
    country: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z]{2}$',
        description: 'An officially assigned ISO 3166-1 alpha-2 code, any case; stored upper case.',
        errorMessage: 'must be a two-letter ISO 3166-1 alpha-2 code',
      }),
    ),
    uplinkRateBytesPerSec: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e12 })),
    downlinkRateBytesPerSec: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e12 })),
    operator: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

const StationListSchema = Type.Array(StationSchema, { minItems: 1, maxItems: STATIONS_PER_FILE_MAX });

/** A YAML or JSON stations file: a list of stations, or a mapping whose only key is `stations`. */
export const StationsFileSchema = Type.Union([
  StationListSchema,
  Type.Object({ stations: StationListSchema }, { additionalProperties: false }),
]);

type StationRecord = Static<typeof StationSchema>;

const stationChecker = TypeCompiler.Compile(StationSchema);

/** The header names a stations CSV must have; `min_el_deg` and `country` are optional, others ignored. */
const CSV_REQUIRED_COLUMNS = ['station', 'lat_deg', 'lon_deg', 'alt_m'] as const;
const CSV_OPTIONAL_COLUMNS = ['min_el_deg', 'country'] as const;
/** Which CSV column a record key came from, to name the column in messages. */
const CSV_COLUMN_OF_KEY: Readonly<Record<string, string>> = {
  id: 'station',
  name: 'station',
  latitudeDeg: 'lat_deg',
  longitudeDeg: 'lon_deg',
  altitudeM: 'alt_m',
  minElevationDeg: 'min_el_deg',
  country: 'country',
};

/** Reads and validates a stations file; the format comes from the extension, else from the content. */
export async function loadStationsFile(
  path: string,
  options: { readonly format?: StationsFormat; readonly signal?: AbortSignal } = {},
): Promise<Station[]> {
  const text = await readBoundedTextFile(path, {
    what: 'stations file', maxBytes: STATIONS_FILE_BYTES_MAX, readCode: 'ORBITFED_STATIONS_READ', tooLargeCode: 'ORBITFED_STATIONS_TOO_LARGE',
    invalidTextCode: 'ORBITFED_STATIONS_INVALID', signal: options.signal,
  });
  return parseStationsText(text, path, options.format);
}

/**
 * Parses and validates stations from text. `file` is used in messages and, when `format` is not
 * given, to choose the format by extension (`.yaml`/`.yml`, `.json`, `.csv`); any other name is
 * decided by content: `[` or `{` first is JSON, a first line starting `station,` is CSV, anything
 * else YAML. Text longer than STATIONS_FILE_BYTES_MAX characters is refused like a file that large.
 */
export function parseStationsText(text: string, file: string, format?: StationsFormat): Station[] {
  if (text.length > STATIONS_FILE_BYTES_MAX) throw tooLargeError(file, text.length);
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const problems: Problem[] = [];
  let stations: Station[] = [];
  if (body.trim() === '') {
    problems.push({ location: { file }, message: 'file is empty; expected a list of stations' });
  } else {
    const chosen = format ?? formatOf(file, body);
    stations = chosen === 'csv' ? readCsvStations(body, file, problems) : readTreeStations(body, file, chosen, problems);
  }
  if (problems.length > 0) throw invalidStationsError(problems);
  return stations;
}

interface Problem {
  readonly location: ErrorLocation;
  readonly message: string;
}

/** A problem inside one station record, located by its path from the record. */
interface RecordProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

type PathSegment = string | number;

function formatOf(file: string, body: string): StationsFormat {
  const extension = extname(file).toLowerCase();
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  if (extension === '.json') return 'json';
  if (extension === '.csv') return 'csv';
  const start = body.trimStart();
  if (start.startsWith('[') || start.startsWith('{')) return 'json';
  const header = start.split(/\r?\n/, 1)[0].replaceAll('"', '').trim().toLowerCase();
  return header.startsWith('station,') ? 'csv' : 'yaml';
}

// ---------------------------------------------------------------------------------------------
// YAML and JSON

function readTreeStations(text: string, file: string, format: 'yaml' | 'json', problems: Problem[]): Station[] {
  const document = parseYamlTree(text);
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      const reason = firstLine(error instanceof Error ? error.message : String(error));
      // V8 names the line only for some errors ("… (line 3 column 7)"); otherwise the YAML reader
      // of the same text usually stops at the same spot (for a truncated file, the end).
      const v8Line = /\(line (\d+) column \d+\)/.exec(reason)?.[1];
      const yamlError = document.errors[0];
      const line =
        v8Line !== undefined ? Number(v8Line) : yamlError === undefined ? undefined : yamlError.line;
      problems.push({ location: { file, line }, message: `not valid JSON: ${reason}` });
      return [];
    }
    for (const error of document.errors) {
      if (error.code === 'DUPLICATE_KEY') {
        problems.push({ location: { file, line: error.line }, message: 'duplicate key in one object' });
      }
    }
  } else {
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const message =
          error.code === 'MULTIPLE_DOCS'
            ? 'more than one YAML document ("---"); put all stations in one'
            : `YAML: ${error.message}`;
        problems.push({ location: { file, line: error.line }, message });
      }
      return [];
    }
    try {
      value = document.toJS();
    } catch (error) {
      problems.push({ location: { file }, message: `YAML: ${firstLine(error instanceof Error ? error.message : String(error))}` });
      return [];
    }
  }
  const locate = (path: readonly PathSegment[]): ErrorLocation => ({
    file,
    line: document.lineOfPath(path),
    field: path.length === 0 ? undefined : displayPath(path),
  });

  let items: readonly unknown[];
  let prefix: readonly PathSegment[];
  if (Array.isArray(value)) {
    items = value;
    prefix = [];
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (key !== 'stations') {
        problems.push({ location: locate([key]), message: 'unknown key; the only top-level key is "stations"' });
      }
    }
    if (!('stations' in value)) {
      problems.push({ location: locate([]), message: 'expected a "stations" list' });
      return [];
    }
    if (!Array.isArray(value.stations)) {
      problems.push({
        location: locate(['stations']),
        message: `must be a list of stations (got ${describeValue(value.stations)})`,
      });
      return [];
    }
    items = value.stations;
    prefix = ['stations'];
  } else {
    problems.push({
      location: locate([]),
      message: `expected a list of stations or a mapping with a "stations" list (got ${describeValue(value)})`,
    });
    return [];
  }
  if (!checkStationCount(items.length, locate(prefix), problems)) return [];

  const stations: Station[] = [];
  const ids = new IdRegister();
  items.forEach((item, index) => {
    const stationPath = [...prefix, index];
    const found = recordProblems(item);
    for (const problem of found) problems.push({ location: locate([...stationPath, ...problem.path]), message: problem.message });
    const id = isPlainObject(item) && typeof item.id === 'string' ? item.id : undefined;
    if (id !== undefined) {
      const idLocation = locate([...stationPath, 'id']);
      const clash = ids.claim(id, idLocation);
      if (clash !== undefined) {
        problems.push({ location: idLocation, message: duplicateIdMessage(id, clash) });
      }
    }
    if (found.length === 0) stations.push(toStation(item as StationRecord));
  });
  return stations;
}

/** `stations[2].horizonMask[0].azimuthDeg`; keys that are not identifiers are quoted. */
function displayPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// CSV

function readCsvStations(text: string, file: string, problems: Problem[]): Station[] {
  const split = splitCsvRows(text);
  if (split.unterminatedQuoteLine !== undefined) {
    problems.push({
      location: { file, line: split.unterminatedQuoteLine },
      message: 'quoted field is never closed',
    });
    return [];
  }
  const records = split.rows
    .map((r) => ({ line: r.line, cells: r.cells.map((cell) => cell.trim()) }))
    .filter((r) => r.cells.some((cell) => cell !== ''));
  const header = records[0];
  if (header === undefined) {
    problems.push({ location: { file }, message: 'no header line' });
    return [];
  }
  const columnIndex = new Map<string, number>();
  header.cells.forEach((cell, index) => {
    const column = cell.toLowerCase();
    if (columnIndex.has(column) && isKnownCsvColumn(column)) {
      problems.push({ location: { file, line: header.line, field: column }, message: 'column appears twice in the header' });
    }
    if (!columnIndex.has(column)) columnIndex.set(column, index);
  });
  for (const column of CSV_REQUIRED_COLUMNS) {
    if (!columnIndex.has(column)) {
      problems.push({
        location: { file, line: header.line, field: column },
        message: `missing column; the header must have ${CSV_REQUIRED_COLUMNS.join(',')} (found ${header.cells.join(',')})`,
      });
    }
  }
  if (problems.length > 0) return [];
  const rows = records.slice(1);
  if (!checkStationCount(rows.length, { file, line: header.line }, problems)) return [];

  const stations: Station[] = [];
  const ids = new IdRegister();
  for (const row of rows) {
    if (row.cells.length > header.cells.length) {
      problems.push({
        location: { file, line: row.line },
        message: `${row.cells.length} fields but the header has ${header.cells.length} (an unquoted comma?)`,
      });
      continue;
    }
    const cellOf = (column: string): string => {
      const index = columnIndex.get(column);
      return index === undefined ? '' : (row.cells[index] ?? '');
    };
    const record: Record<string, unknown> = {};
    const id = cellOf('station');
    if (id !== '') {
      record.id = id;
      record.name = id;
    }
    setCsvNumber(record, 'latitudeDeg', cellOf('lat_deg'));
    setCsvNumber(record, 'longitudeDeg', cellOf('lon_deg'));
    setCsvNumber(record, 'altitudeM', cellOf('alt_m'));
    setCsvNumber(record, 'minElevationDeg', cellOf('min_el_deg'));
    const country = cellOf('country');
    if (country !== '') record.country = country;

    const found = recordProblems(record);
    const reported = new Set<string>();
    for (const problem of found) {
      const key = problem.path[0];
      const column = typeof key === 'string' ? (CSV_COLUMN_OF_KEY[key] ?? key) : displayPath(problem.path);
      // `station` feeds both id and name; one message per column is enough.
      if (reported.has(column)) continue;
      reported.add(column);
      problems.push({ location: { file, line: row.line, field: column }, message: problem.message });
    }
    if (id !== '') {
      const idLocation = { file, line: row.line, field: 'station' };
      const clash = ids.claim(id, idLocation);
      if (clash !== undefined) problems.push({ location: idLocation, message: duplicateIdMessage(id, clash) });
    }
    if (found.length === 0) stations.push(toStation(record as StationRecord));
  }
  return stations;
}

function isKnownCsvColumn(column: string): boolean {
  return (CSV_REQUIRED_COLUMNS as readonly string[]).includes(column) || (CSV_OPTIONAL_COLUMNS as readonly string[]).includes(column);
}

/** Plain decimal or scientific notation only: `Number()` would also take "0x10", "Infinity" and "". */
const CSV_NUMBER_SYNTAX = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Empty cells are left out (not given); anything that is not a number stays text for the schema to refuse. */
function setCsvNumber(record: Record<string, unknown>, key: string, cell: string): void {
  if (cell === '') return;
  record[key] = CSV_NUMBER_SYNTAX.test(cell) ? Number(cell) : cell;
}

/**
 * RFC 4180 records: fields separated by commas, optionally in double quotes (`""` is a quote
 * inside), records ended by LF or CRLF, quoted fields may span lines. Cells are trimmed.
 */
// ---------------------------------------------------------------------------------------------
// One station record, whatever the format

/** Everything wrong with one record: schema violations, then the checks the schema cannot express. One message per path. */
function recordProblems(record: unknown): RecordProblem[] {
  const problems: RecordProblem[] = [];
  const seen = new Set<string>();
  const add = (path: readonly PathSegment[], message: string): void => {
    const key = JSON.stringify(path);
    if (seen.has(key)) return;
    seen.add(key);
    problems.push({ path, message });
  };
  for (const error of stationChecker.Errors(record)) {
    add(pointerToPath(record, error.path), schemaErrorMessage(error));
  }
  if (!isPlainObject(record)) return problems;

  const country = record.country;
  if (typeof country === 'string' && /^[A-Za-z]{2}$/.test(country)) {
    const code = country.toUpperCase();
    if (!ISO_3166_ALPHA2_NAMES.has(code)) {
      const hint = code === 'UK' ? '; the United Kingdom is "GB"' : '';
      add(['country'], `"${country}" is not an assigned ISO 3166-1 alpha-2 country code${hint}`);
    }
  }

  const mask = record.horizonMask;
  if (Array.isArray(mask)) {
    const azimuthOf = (point: unknown): number | undefined =>
      isPlainObject(point) && typeof point.azimuthDeg === 'number' ? point.azimuthDeg : undefined;
    for (let i = 1; i < mask.length; i++) {
      const before = azimuthOf(mask[i - 1]);
      const here = azimuthOf(mask[i]);
      if (before !== undefined && here !== undefined && !(here > before)) {
        add(
          ['horizonMask', i, 'azimuthDeg'],
          `azimuths must strictly increase (got ${here} after ${before} at horizonMask[${i - 1}])`,
        );
      }
    }
    const first = mask[0];
    const last = mask[mask.length - 1];
    if (
      mask.length >= 2 &&
      isPlainObject(first) &&
      isPlainObject(last) &&
      first.azimuthDeg === 0 &&
      last.azimuthDeg === 360 &&
      first.minElevationDeg !== last.minElevationDeg
    ) {
      add(
        ['horizonMask', mask.length - 1, 'minElevationDeg'],
        `0° and 360° are the same direction, so their minElevationDeg must agree (${String(first.minElevationDeg)} at 0°)`,
      );
    }
  }
  return problems;
}

/** The TypeBox error path is a JSON pointer; array indices become numbers so they print as `[i]`. */
function pointerToPath(record: unknown, pointer: string): PathSegment[] {
  const path: PathSegment[] = [];
  let value: unknown = record;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(value)) {
      path.push(Number(key));
      value = value[Number(key)];
    } else {
      path.push(key);
      value = isPlainObject(value) ? value[key] : undefined;
    }
  }
  return path;
}

function schemaErrorMessage(error: ValueError): string {
  const schema: TSchema = error.schema;
  const got = `(got ${describeValue(error.value)})`;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys(schema.properties as Record<string, unknown>);
      const key = error.path.slice(error.path.lastIndexOf('/') + 1).replaceAll('~1', '/').replaceAll('~0', '~');
      const suggestion = closestKey(key, known);
      const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
      return `unknown key${hint} (known keys: ${known.join(', ')})`;
    }
    case ValueErrorType.Object:
      return `must be a mapping of keys to values ${got}`;
    case ValueErrorType.Number:
      return typeof error.value === 'number' ? `must be a finite number ${got}` : `must be a number ${got}`;
    case ValueErrorType.NumberMaximum:
      return `must be ≤ ${String(schema.maximum)} ${got}`;
    case ValueErrorType.NumberMinimum:
      return `must be ≥ ${String(schema.minimum)} ${got}`;
    case ValueErrorType.NumberExclusiveMinimum:
      return `must be > ${String(schema.exclusiveMinimum)} ${got}`;
    case ValueErrorType.NumberExclusiveMaximum:
      return `must be < ${String(schema.exclusiveMaximum)} ${got}`;
    case ValueErrorType.String:
      return typeof error.value === 'number' || typeof error.value === 'boolean'
        ? `must be text ${got}; put it in quotes`
        : `must be text ${got}`;
    case ValueErrorType.StringPattern:
      return `${typeof schema.errorMessage === 'string' ? schema.errorMessage : `must match ${String(schema.pattern)}`} ${got}`;
    case ValueErrorType.StringMinLength:
      return schema.minLength === 1 ? 'must not be empty' : `must have at least ${String(schema.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `must have at most ${String(schema.maxLength)} characters (got ${String((error.value as string).length)})`;
    case ValueErrorType.Array:
      return `must be a list ${got}`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(schema.minItems)} entries (got ${String((error.value as unknown[]).length)})`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(schema.maxItems)} entries (got ${String((error.value as unknown[]).length)})`;
    default:
      return `${error.message} ${got}`;
  }
}

/** The known key a typo most likely meant: same letters ignoring case, a prefix (`latitude`), or ≤ 2 edits away. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const candidateLower = candidate.toLowerCase();
    const distance = editDistance(lower, candidateLower);
    const plausible = distance <= 2 || (lower.length >= 3 && candidateLower.startsWith(lower));
    if (plausible && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance; keys are short, so the quadratic table is fine. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function toStation(record: StationRecord): Station {
  const mask: readonly HorizonMaskPoint[] | undefined =
    record.horizonMask === undefined
      ? undefined
      : Object.freeze(
          record.horizonMask.map((p) => Object.freeze({ azimuthDeg: p.azimuthDeg, minElevationDeg: p.minElevationDeg })),
        );
  return Object.freeze({
    id: record.id,
    name: record.name ?? record.id,
    latitudeDeg: record.latitudeDeg,
    longitudeDeg: record.longitudeDeg > 180 ? record.longitudeDeg - 360 : record.longitudeDeg,
    altitudeM: record.altitudeM,
    minElevationDeg: record.minElevationDeg,
    horizonMask: mask,
    country: record.country?.toUpperCase(),
    uplinkRateBytesPerSec: record.uplinkRateBytesPerSec,
    downlinkRateBytesPerSec: record.downlinkRateBytesPerSec,
    operator: record.operator,
  });
}

/** First claim of each id (ignoring case), to name both places when one repeats. */
class IdRegister {
  readonly #first = new Map<string, { readonly id: string; readonly location: ErrorLocation }>();

  /** Records `id`; returns the earlier claim when the id was already taken. */
  claim(id: string, location: ErrorLocation): { readonly id: string; readonly location: ErrorLocation } | undefined {
    const key = id.toLowerCase();
    const earlier = this.#first.get(key);
    if (earlier !== undefined) return earlier;
    this.#first.set(key, { id, location });
    return undefined;
  }
}

function duplicateIdMessage(id: string, earlier: { readonly id: string; readonly location: ErrorLocation }): string {
  const where = [
    earlier.location.field === undefined || earlier.location.field === 'station'
      ? undefined
      : earlier.location.field.replace(/\.id$/, ''),
    earlier.location.line === undefined ? undefined : `line ${earlier.location.line}`,
  ]
    .filter((part) => part !== undefined)
    .join(', ');
  const caseNote = earlier.id === id ? '' : ` (ids are compared ignoring case: "${earlier.id}")`;
  return `duplicate id "${id}"; first used at ${where}${caseNote}`;
}

function checkStationCount(count: number, location: ErrorLocation, problems: Problem[]): boolean {
  if (count === 0) {
    problems.push({ location, message: 'no stations' });
    return false;
  }
  if (count > STATIONS_PER_FILE_MAX) {
    problems.push({ location, message: `${count} stations; at most ${STATIONS_PER_FILE_MAX} per file` });
    return false;
  }
  return true;
}

function invalidStationsError(problems: readonly Problem[]): OrbitfedError {
  // In file order, as a compiler lists them (the sort is stable: same-line problems keep their order).
  const [first, ...rest] = problems.toSorted((a, b) => (a.location.line ?? 0) - (b.location.line ?? 0));
  const shown = rest.slice(0, PROBLEMS_SHOWN_MAX - 1);
  const lines = [first.message, ...shown.map((p) => formatLocated(p.message, p.location))];
  const hidden = rest.length - shown.length;
  if (hidden > 0) lines.push(`… and ${hidden} more problem${hidden === 1 ? '' : 's'}`);
  // The first problem's location goes on the error (and prefixes its first line); each further line is located itself.
  return new OrbitfedError('ORBITFED_STATIONS_INVALID', lines.join('\n'), first.location);
}

function tooLargeError(file: string, sizeBytes: number): OrbitfedError {
  return new OrbitfedError(
    'ORBITFED_STATIONS_TOO_LARGE',
    `stations file is ${sizeBytes} bytes; at most ${STATIONS_FILE_BYTES_MAX} are read`,
    { file },
  );
}


function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0];
}
