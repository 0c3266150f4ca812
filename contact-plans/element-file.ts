// Loads element sets from a file of any supported encoding (TLE/3LE, OMM JSON/CSV/XML/KVN): the
// format is recognised from the content, not the file name, because catalogues are routinely saved
// as `.txt`. Within one load each catalog number appears once: the newest epoch wins.
import { readBoundedFile } from '../common/index.ts';
import type { ElementFormat, ElementIssue, ElementLoadResult, ElementSet } from './element-set.ts';
import { parseOmmCsv, parseOmmJson, parseOmmKvn, parseOmmXml } from './omm.ts';
import { parseTle } from './tle.ts';

export interface ElementLoadOptions {
  /** How a TLE checksum failure is treated (see `parseTle`); OMM has no checksum. */
  readonly checksum: 'strict' | 'lenient';
  /** Skip detection and read the text as this format. */
  readonly format?: ElementFormat;
  readonly signal?: AbortSignal;
}

/**
 * Refuse larger files: the full active catalogue is ~3.5 MB as 3LE and ~25 MB as OMM JSON, so
 * 256 MiB is far beyond any real catalogue while still fitting in one V8 string.
 */
export const ELEMENT_FILE_SIZE_BYTES_MAX = 256 * 1024 * 1024;

/** How far into the text detection looks for a header line (a CSV header, a KVN version line). */
const DETECT_LINES_MAX = 20;

/**
 * The encoding of element text, from its first non-blank content: `[`/`{` JSON, `<` XML, a
 * `CCSDS_OMM_VERS` line (after any COMMENT lines) KVN, a first line naming `NORAD_CAT_ID` CSV, else TLE.
 */
export function detectElementFormat(text: string): ElementFormat {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const first = /\S/.exec(body)?.[0];
  if (first === '[' || first === '{') return 'omm-json';
  if (first === '<') return 'omm-xml';
  let seen = 0;
  for (const raw of body.split(/\r\n|\r|\n/, DETECT_LINES_MAX * 2)) {
    const line = raw.trim();
    if (line === '') continue;
    if (seen++ >= DETECT_LINES_MAX) break;
    if (line === 'COMMENT' || line.startsWith('COMMENT ')) continue;
    if (/^CCSDS_OMM_VERS\s*=/.test(line)) return 'omm-kvn';
    if (line.includes(',') && /(^|,)\s*"?NORAD_CAT_ID"?\s*(,|$)/i.test(line)) return 'omm-csv';
    break;
  }
  return 'tle';
}

/** Parses element text of any supported format, then keeps one element set per catalog number. */
export function loadElementText(text: string, file: string, options: ElementLoadOptions): ElementLoadResult {
  const format = options.format ?? detectElementFormat(text);
  const parsed = parseAs(format, text, file, options);
  return keepNewestPerCatalogNumber(parsed, file);
}

function parseAs(format: ElementFormat, text: string, file: string, options: ElementLoadOptions): ElementLoadResult {
  switch (format) {
    case 'tle':
      return parseTle(text, file, { checksum: options.checksum });
    case 'omm-json':
      return parseOmmJson(text, file);
    case 'omm-csv':
      return parseOmmCsv(text, file);
    case 'omm-xml':
      return parseOmmXml(text, file);
    case 'omm-kvn':
      return parseOmmKvn(text, file);
  }
}

const isNewer = (a: ElementSet, b: ElementSet): boolean =>
  a.epoch.dayStartMs !== b.epoch.dayStartMs
    ? a.epoch.dayStartMs > b.epoch.dayStartMs
    : a.epoch.msOfDay > b.epoch.msOfDay;

/**
 * One element set per catalog number: the newest epoch (the first of equal epochs) is kept in its
 * place in file order; each dropped one is a warning pointing at the record that was kept.
 */
function keepNewestPerCatalogNumber(parsed: ElementLoadResult, file: string): ElementLoadResult {
  const newest = new Map<string, ElementSet>();
  for (const element of parsed.elements) {
    const kept = newest.get(element.catalogNumber);
    if (kept === undefined || isNewer(element, kept)) newest.set(element.catalogNumber, element);
  }
  if (newest.size === parsed.elements.length) return parsed;
  const elements: ElementSet[] = [];
  const duplicateIssues: ElementIssue[] = [];
  for (const element of parsed.elements) {
    const kept = newest.get(element.catalogNumber) as ElementSet;
    if (kept === element) {
      elements.push(element);
      continue;
    }
    duplicateIssues.push({
      severity: 'warning',
      code: 'ORBITFED_ELEMENTS_DUPLICATE',
      file,
      line: element.source.line,
      catalogNumber: element.catalogNumber,
      message:
        `${element.name} (${element.catalogNumber}) epoch ${element.epoch.iso} is superseded by ` +
        `epoch ${kept.epoch.iso} at line ${kept.source.line}; the older set is ignored`,
    });
  }
  const issues = [...parsed.issues, ...duplicateIssues].sort((a, b) => a.line - b.line);
  return { elements, issues };
}

/** Reads and parses an element file; throws OrbitfedError if it cannot be read or is too large. */
export async function loadElementFile(path: string, options: ElementLoadOptions): Promise<ElementLoadResult> {
  const bytes = await readBoundedFile(path, {
    what: 'element file', maxBytes: ELEMENT_FILE_SIZE_BYTES_MAX, readCode: 'ORBITFED_ELEMENTS_READ', tooLargeCode: 'ORBITFED_ELEMENTS_TOO_LARGE', signal: options.signal,
  });
  const text = bytes.toString('utf8');
  return loadElementText(text, path, options);
}
