// OMM readers (JSON, CSV, XML, KVN) against real files (provenance in test/fixtures/PROVENANCE.md),
// hand-made samples (test/fixtures/elements/handmade/README.md) and malformed inputs
// (test/fixtures/elements/malformed/README.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { epochUnixMs, type ElementSet } from '../../contact-plans/element-set.ts';
import { parseOmmCsv, parseOmmEpoch, parseOmmJson, parseOmmKvn, parseOmmXml } from '../../contact-plans/omm.ts';
import { parseTle } from '../../contact-plans/tle.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const read = (relative: string): string => readFileSync(new URL(relative, FIXTURES), 'utf8');

/** The elements of an ElementSet without its encoding (toEqual ignores properties set to undefined). */
const encodingFree = (e: ElementSet | undefined): object | undefined =>
  e === undefined ? undefined : { ...e, source: undefined, tleLines: undefined };

/**
 * Asserts an OMM element set equals a TLE one to the TLE's printed precision: 1e-8 rev/day, 1e-7 in
 * eccentricity, 1e-4°, five significant digits in B* and the second derivative, 1e-8 day in epoch.
 */
function expectSameAsTle(omm: ElementSet, tle: ElementSet): void {
  const label = `${tle.name} (${tle.catalogNumber})`;
  expect(omm.catalogNumber, label).toBe(tle.catalogNumber);
  expect(omm.name, label).toBe(tle.name);
  expect(omm.intlDesignator, label).toBe(tle.intlDesignator);
  expect(Math.abs(omm.meanMotionRevPerDay - tle.meanMotionRevPerDay), label).toBeLessThanOrEqual(1e-8);
  expect(Math.abs(omm.eccentricity - tle.eccentricity), label).toBeLessThanOrEqual(1e-7);
  for (const key of ['inclinationDeg', 'raanDeg', 'argOfPericenterDeg', 'meanAnomalyDeg'] as const) {
    expect(Math.abs(omm[key] - tle[key]), `${label} ${key}`).toBeLessThanOrEqual(1e-4);
  }
  for (const key of ['bstarPerEarthRadii', 'meanMotionDdotRevPerDay3'] as const) {
    expect(Math.abs(omm[key] - tle[key]), `${label} ${key}`).toBeLessThanOrEqual(Math.abs(tle[key]) * 1e-4 + 1e-15);
  }
  expect(Math.abs(omm.meanMotionDotRevPerDay2 - tle.meanMotionDotRevPerDay2), label).toBeLessThanOrEqual(1e-8);
  // Half of 1e-8 day (0.432 ms) plus the OMM's rounding to the microsecond.
  expect(Math.abs(epochUnixMs(omm.epoch) - epochUnixMs(tle.epoch)), label).toBeLessThanOrEqual(0.433);
  expect(omm.revAtEpoch, label).toBe(tle.revAtEpoch);
  expect(omm.elementSetNumber, label).toBe(tle.elementSetNumber);
  expect(omm.ephemerisType, label).toBe(tle.ephemerisType);
  expect(omm.classification, label).toBe(tle.classification);
  expect(omm.tleLines, label).toBeUndefined();
}

const leo1000Tle = (): ElementSet[] => [...parseTle(read('passes/leo1000.tle'), 'leo1000.tle', { checksum: 'strict' }).elements];

describe('OMM from CelesTrak-style JSON and CSV', () => {
  it('gives the same 1000 element sets as the TLEs they were derived from, within the TLE printed precision', () => {
    const tle = leo1000Tle();
    expect(tle).toHaveLength(1000);
    for (const [file, parse] of [['elements/leo1000_omm_derived.json', parseOmmJson], ['elements/leo1000_omm_derived.csv', parseOmmCsv]] as const) {
      const omm = parse(read(file), file);
      expect(omm.issues, file).toEqual([]);
      expect(omm.elements, file).toHaveLength(1000);
      omm.elements.forEach((element, index) => expectSameAsTle(element, tle[index] as ElementSet));
    }
  });

  it('keeps the microseconds of the OMM epoch rather than the TLE day fraction', () => {
    const [json] = parseOmmJson(read('elements/leo1000_omm_derived.json'), 'leo1000.json').elements;
    const [csv] = parseOmmCsv(read('elements/leo1000_omm_derived.csv'), 'leo1000.csv').elements;
    const expected = { iso: '2026-06-13T20:02:44.240927Z', dayStartMs: Date.UTC(2026, 5, 13), msOfDay: 72_164_240.927 };
    expect(json?.epoch).toEqual(expected);
    expect(csv?.epoch).toEqual(expected);
    expect(leo1000Tle()[0]?.epoch.iso).toBe('2026-06-13T20:02:44.240928Z');
  });

  it('gives each JSON record the line of its opening brace and each CSV record its row', () => {
    const json = parseOmmJson(read('elements/leo1000_omm_derived.json'), 'leo1000.json').elements;
    expect(json.slice(0, 3).map((e) => e.source)).toEqual([
      { file: 'leo1000.json', line: 2, format: 'omm-json' },
      { file: 'leo1000.json', line: 25, format: 'omm-json' },
      { file: 'leo1000.json', line: 48, format: 'omm-json' },
    ]);
    const csv = parseOmmCsv(read('elements/leo1000_omm_derived.csv'), 'leo1000.csv').elements;
    expect(csv.slice(0, 2).map((e) => e.source.line)).toEqual([2, 3]);
    expect(csv.at(-1)?.source.line).toBe(1001);
  });
});

describe('VANGUARD 1 in three encodings (python-sgp4 sample OMM)', () => {
  const vanguard2020 = {
    catalogNumber: '5',
    name: 'VANGUARD 1',
    intlDesignator: '1958-002B',
    epoch: { iso: '2020-10-13T04:52:48.472320Z', dayStartMs: Date.UTC(2020, 9, 13), msOfDay: 17_568_472.32 },
    meanMotionRevPerDay: 10.84869164,
    eccentricity: 0.1845686,
    inclinationDeg: 34.2443,
    raanDeg: 225.5254,
    argOfPericenterDeg: 162.2516,
    meanAnomalyDeg: 205.2356,
    bstarPerEarthRadii: -0.22483e-4,
    meanMotionDotRevPerDay2: -1.6e-7,
    meanMotionDdotRevPerDay3: 0,
    ephemerisType: 0,
    classification: 'U',
    elementSetNumber: 999,
    revAtEpoch: 21814,
  };

  it('reads the CSV and the NDM/XML to the same element set', () => {
    const csv = parseOmmCsv(read('elements/sample_omm.csv'), 'sample_omm.csv');
    const xml = parseOmmXml(read('elements/sample_omm.xml'), 'sample_omm.xml');
    expect(csv.issues).toEqual([]);
    expect(xml.issues).toEqual([]);
    expect(encodingFree(csv.elements[0])).toEqual(vanguard2020);
    expect(encodingFree(xml.elements[0])).toEqual(vanguard2020);
    expect(csv.elements[0]?.source).toEqual({ file: 'sample_omm.csv', line: 2, format: 'omm-csv' });
    expect(xml.elements[0]?.source).toEqual({ file: 'sample_omm.xml', line: 3, format: 'omm-xml' });
  });

  it('reads the JSON (a later element set of the same object)', () => {
    const json = parseOmmJson(read('elements/sample_omm.json'), 'sample_omm.json');
    expect(json.issues).toEqual([]);
    expect(json.elements).toHaveLength(1);
    expect(json.elements[0]).toMatchObject({
      catalogNumber: '5',
      name: 'VANGUARD 1',
      epoch: { iso: '2025-02-14T14:36:48.662784Z', dayStartMs: Date.UTC(2025, 1, 14) },
      meanMotionRevPerDay: 10.85873516,
      bstarPerEarthRadii: 0.00035436,
      meanMotionDotRevPerDay2: 2.64e-6,
      revAtEpoch: 39027,
      source: { line: 1 },
    });
  });

  it('reads several <omm> in one <ndm>, and a bare <omm> root, each at the line of its tag', () => {
    const sample = read('elements/sample_omm.xml');
    const omm = /<omm[\s\S]*<\/omm>/.exec(sample)?.[0] ?? '';
    const second = omm.replace('<NORAD_CAT_ID>5<', '<NORAD_CAT_ID>900000001<');
    const ndm = `<?xml version="1.0" encoding="UTF-8"?>\n<ndm>\n\n${omm}\n  ${second}\n</ndm>\n`;
    const many = parseOmmXml(ndm, 'many.xml');
    expect(many.issues).toEqual([]);
    expect(many.elements.map((e) => [e.catalogNumber, e.source.line])).toEqual([['5', 4], ['900000001', 6]]);
    const bare = parseOmmXml(`\n${omm}`, 'bare.xml');
    expect(bare.issues).toEqual([]);
    expect(bare.elements.map((e) => [e.catalogNumber, e.source.line])).toEqual([['5', 2]]);
  });

  it('reads XML values that carry a units attribute', () => {
    const sample = read('elements/sample_omm.xml').replace('<INCLINATION>34.2443<', '<INCLINATION units="deg">34.2443<');
    expect(parseOmmXml(sample, 'units.xml').elements[0]?.inclinationDeg).toBe(34.2443);
  });
});

describe('hand-made Space-Track JSON and CCSDS KVN', () => {
  const tleByCatalog = (): Map<string, ElementSet> => new Map(leo1000Tle().map((e) => [e.catalogNumber, e]));

  it('reads Space-Track JSON where every value is a quoted string, ignoring its extra fields', () => {
    const result = parseOmmJson(read('elements/handmade/spacetrack_gp_20260613.json'), 'spacetrack.json');
    expect(result.issues).toEqual([]);
    expect(result.elements.map((e) => [e.catalogNumber, e.source.line])).toEqual([['25544', 1], ['900', 2]]);
    const tle = tleByCatalog();
    for (const element of result.elements) expectSameAsTle(element, tle.get(element.catalogNumber) as ElementSet);
    expect(result.elements[0]?.epoch.iso).toBe('2026-06-13T20:02:44.240927Z');
  });

  it('reads two KVN messages with COMMENT lines and bracketed units, each at its CCSDS_OMM_VERS line', () => {
    const result = parseOmmKvn(read('elements/handmade/iss_calsphere1_20260613.kvn'), 'iss.kvn');
    expect(result.issues).toEqual([]);
    expect(result.elements.map((e) => [e.name, e.catalogNumber, e.source])).toEqual([
      ['ISS (ZARYA)', '25544', { file: 'iss.kvn', line: 4, format: 'omm-kvn' }],
      ['CALSPHERE 1', '900', { file: 'iss.kvn', line: 34, format: 'omm-kvn' }],
    ]);
    const tle = tleByCatalog();
    for (const element of result.elements) expectSameAsTle(element, tle.get(element.catalogNumber) as ElementSet);
    expect(result.elements[1]?.epoch.iso).toBe('2026-06-13T18:00:47.729087Z');
  });
});

describe('OMM epochs', () => {
  it('keeps up to nine fraction digits in msOfDay and rounds the text form to the microsecond', () => {
    expect(parseOmmEpoch('2026-06-13T20:02:44.240927')).toEqual({
      iso: '2026-06-13T20:02:44.240927Z',
      dayStartMs: Date.UTC(2026, 5, 13),
      msOfDay: 72_164_240.927,
    });
    expect(parseOmmEpoch('2026-06-13T20:02:44.2409275Z')).toEqual({
      iso: '2026-06-13T20:02:44.240928Z',
      dayStartMs: Date.UTC(2026, 5, 13),
      msOfDay: 72_164_240.9275,
    });
    expect(parseOmmEpoch('2026-06-13T20:02:44.123456789')).toMatchObject({ iso: '2026-06-13T20:02:44.123457Z', msOfDay: 72_164_123.456789 });
    expect(parseOmmEpoch('2026-06-13T20:02:44')).toMatchObject({ iso: '2026-06-13T20:02:44.000000Z', msOfDay: 72_164_000 });
    expect(parseOmmEpoch('2026-06-13T20:02:44.Z')).toMatchObject({ iso: '2026-06-13T20:02:44.000000Z' });
  });

  it('rolls a time that rounds up to midnight into the next day in the text form only', () => {
    expect(parseOmmEpoch('2024-12-31T23:59:59.9999996')).toEqual({
      iso: '2025-01-01T00:00:00.000000Z',
      dayStartMs: Date.UTC(2024, 11, 31),
      msOfDay: 86_399_999.9996,
    });
  });

  it('accepts the CCSDS day-of-year form', () => {
    expect(parseOmmEpoch('2024-366T12:00:00.5')).toEqual({ iso: '2024-12-31T12:00:00.500000Z', dayStartMs: Date.UTC(2024, 11, 31), msOfDay: 43_200_500 });
  });

  it('refuses impossible dates, times, leap seconds and more than nine fraction digits', () => {
    expect(parseOmmEpoch('2026-02-29T00:00:00')).toBe('day 29 is outside 1–28');
    expect(parseOmmEpoch('2026-13-01T00:00:00')).toBe('month 13 is outside 1–12');
    expect(parseOmmEpoch('2026-06-13T24:00:00')).toContain('not a valid time of day');
    expect(parseOmmEpoch('2016-12-31T23:59:60')).toContain('not a valid time of day');
    expect(parseOmmEpoch('2026-06-13T20:02:44.1234567890')).toContain('is not an ISO 8601 UTC time');
    expect(parseOmmEpoch('2026-06-13 20:02:44')).toContain('is not an ISO 8601 UTC time');
  });
});

/** A one-record CelesTrak-style JSON with some fields replaced (undefined removes a field). */
function jsonRecord(changes: Record<string, unknown>): string {
  const base: Record<string, unknown> = {
    OBJECT_NAME: 'ISS (ZARYA)',
    OBJECT_ID: '1998-067A',
    EPOCH: '2026-06-13T20:02:44.240927',
    MEAN_MOTION: 15.49214103,
    ECCENTRICITY: 0.0004955,
    INCLINATION: 51.6333,
    RA_OF_ASC_NODE: 316.6832,
    ARG_OF_PERICENTER: 182.4672,
    MEAN_ANOMALY: 177.6293,
    NORAD_CAT_ID: 25544,
    BSTAR: 0.00016534,
    MEAN_MOTION_DOT: 0.00008738,
    MEAN_MOTION_DDOT: 0,
  };
  return JSON.stringify({ ...base, ...changes });
}

describe('OMM validation', () => {
  it('names the missing field and the record, and still loads the records after it', () => {
    const result = parseOmmJson(read('elements/malformed/omm_missing_bstar.json'), 'missing.json');
    expect(result.elements.map((e) => [e.catalogNumber, e.source.line])).toEqual([['900', 16]]);
    expect(result.issues).toEqual([
      {
        severity: 'error',
        code: 'ORBITFED_OMM_MISSING_FIELD',
        file: 'missing.json',
        line: 2,
        catalogNumber: '25544',
        message: 'OMM record ISS (ZARYA) (NORAD 25544): missing required field BSTAR',
      },
    ]);
  });

  it('refuses mean elements of any theory but SGP4', () => {
    const result = parseOmmKvn(read('elements/malformed/omm_sgp4xp.kvn'), 'xp.kvn');
    expect(result.elements).toEqual([]);
    expect(result.issues).toMatchObject([{ severity: 'error', code: 'ORBITFED_OMM_UNSUPPORTED', line: 3, catalogNumber: '25544' }]);
    expect(result.issues[0]?.message).toContain("MEAN_ELEMENT_THEORY is 'SGP4-XP': only SGP4 mean elements are supported");
  });

  it('reports each out-of-range or impossible value with its row and field, loading the good row', () => {
    const result = parseOmmCsv(read('elements/malformed/omm_bad_values.csv'), 'bad.csv');
    expect(result.elements.map((e) => [e.catalogNumber, e.source.line])).toEqual([['900', 3]]);
    expect(result.issues.map((i) => [i.line, i.code, i.catalogNumber])).toEqual([
      [2, 'ORBITFED_OMM_FIELD', '25544'],
      [4, 'ORBITFED_OMM_FIELD', '20580'],
      [5, 'ORBITFED_OMM_FIELD', '27607'],
      [6, 'ORBITFED_OMM_FIELD', '8820'],
    ]);
    expect(result.issues.map((i) => i.message)).toEqual([
      'OMM record ISS (ZARYA) (NORAD 25544): ECCENTRICITY 1.0004955 is outside 0 ≤ e < 1',
      'OMM record HST (NORAD 20580): EPOCH: day 31 is outside 1–30',
      'OMM record SAUDISAT 1C (SO-50) (NORAD 27607): INCLINATION 194.5509° is outside 0–180°',
      'OMM record LAGEOS 1 (NORAD 8820): MEAN_MOTION 0 rev/day is not positive',
    ]);
  });

  it('keeps NORAD_CAT_ID as decimal digits without leading zeros, up to nine digits', () => {
    expect(parseOmmJson(jsonRecord({ NORAD_CAT_ID: '000025544' }), 'x').elements[0]?.catalogNumber).toBe('25544');
    expect(parseOmmJson(jsonRecord({ NORAD_CAT_ID: 987654321 }), 'x').elements[0]?.catalogNumber).toBe('987654321');
    const tooLong = parseOmmJson(jsonRecord({ NORAD_CAT_ID: '1234567890' }), 'x');
    expect(tooLong.issues[0]?.message).toContain("NORAD_CAT_ID: '1234567890' is not a catalog number of at most 9 digits");
    expect(parseOmmJson(jsonRecord({ NORAD_CAT_ID: 'T0000' }), 'x').issues[0]?.code).toBe('ORBITFED_OMM_FIELD');
  });

  it('refuses a value that is not a number, naming the field', () => {
    const result = parseOmmJson(jsonRecord({ ECCENTRICITY: '0.0004x' }), 'x');
    expect(result.issues[0]?.message).toBe("OMM record ISS (ZARYA) (NORAD 25544): ECCENTRICITY: '0.0004x' is not a number");
  });

  it('treats an empty string or null as a missing field', () => {
    expect(parseOmmJson(jsonRecord({ MEAN_MOTION_DDOT: '' }), 'x').issues[0]?.message).toContain('missing required field MEAN_MOTION_DDOT');
    expect(parseOmmJson(jsonRecord({ EPOCH: null }), 'x').issues[0]?.message).toContain('missing required field EPOCH');
  });

  it('refuses a reference frame or time system SGP4 does not use', () => {
    expect(parseOmmJson(jsonRecord({ REF_FRAME: 'GCRF' }), 'x').issues[0]).toMatchObject({ code: 'ORBITFED_OMM_UNSUPPORTED' });
    expect(parseOmmJson(jsonRecord({ TIME_SYSTEM: 'TAI' }), 'x').issues[0]).toMatchObject({ code: 'ORBITFED_OMM_UNSUPPORTED' });
  });

  it('names the object by its catalog number when OBJECT_NAME is absent and defaults the classification to U', () => {
    const [element] = parseOmmJson(jsonRecord({ OBJECT_NAME: undefined }), 'x').elements;
    expect(element?.name).toBe('25544');
    expect(element?.classification).toBe('U');
  });
});

describe('OMM syntax', () => {
  it('reports JSON that does not parse as one syntax error', () => {
    const result = parseOmmJson('[\n{"EPOCH": }\n]', 'broken.json');
    expect(result.elements).toEqual([]);
    expect(result.issues).toMatchObject([{ severity: 'error', code: 'ORBITFED_OMM_SYNTAX', file: 'broken.json' }]);
  });

  it('reports a JSON array element that is not an object at its line', () => {
    const result = parseOmmJson(`[\n${jsonRecord({})},\n42\n]`, 'x.json');
    expect(result.elements).toHaveLength(1);
    expect(result.issues).toMatchObject([{ code: 'ORBITFED_OMM_SYNTAX', line: 3 }]);
  });

  it('reports XML that is not well formed at its line', () => {
    const result = parseOmmXml('<ndm>\n<omm>\n<body></omm>\n</ndm>', 'broken.xml');
    expect(result.elements).toEqual([]);
    expect(result.issues).toMatchObject([{ code: 'ORBITFED_OMM_SYNTAX', line: 3 }]);
  });

  it('reads quoted CSV fields holding commas and doubled quotes, and refuses rows with the wrong field count', () => {
    const header = 'OBJECT_NAME,EPOCH,MEAN_MOTION,ECCENTRICITY,INCLINATION,RA_OF_ASC_NODE,ARG_OF_PERICENTER,MEAN_ANOMALY,NORAD_CAT_ID,BSTAR,MEAN_MOTION_DOT,MEAN_MOTION_DDOT';
    const values = '2026-06-13T20:02:44.240927,15.49214103,.0004955,51.6333,316.6832,182.4672,177.6293,25544,.16534E-3,.00008738,0';
    const text = `\uFEFF${header}\r\n"ISS, ""ZARYA""",${values}\r\nshort,row\r\n`;
    const result = parseOmmCsv(text, 'q.csv');
    expect(result.elements.map((e) => [e.name, e.source.line])).toEqual([['ISS, "ZARYA"', 2]]);
    expect(result.issues).toMatchObject([{ code: 'ORBITFED_OMM_SYNTAX', line: 3, message: 'row has 2 fields, the header 12' }]);
  });

  it('refuses a CSV whose header lacks required columns once, not once per row', () => {
    const result = parseOmmCsv('OBJECT_NAME,NORAD_CAT_ID\nISS,25544\nHST,20580\n', 'thin.csv');
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]).toMatchObject({ code: 'ORBITFED_OMM_MISSING_FIELD', line: 1 });
    expect(result.issues[0]?.message).toContain('EPOCH, MEAN_MOTION');
  });

  it('reports a KVN line that is not KEY = value against its message', () => {
    const kvn = read('elements/handmade/iss_calsphere1_20260613.kvn').replace('GM = 398600.8 [km**3/s**2]', 'GM 398600.8');
    const result = parseOmmKvn(kvn, 'k.kvn');
    expect(result.elements.map((e) => e.catalogNumber)).toEqual(['900']);
    expect(result.issues).toMatchObject([{ code: 'ORBITFED_OMM_SYNTAX', line: 4, catalogNumber: '25544' }]);
    expect(result.issues[0]?.message).toContain("line 23: 'GM 398600.8' is not a KEY = value line");
  });
});
