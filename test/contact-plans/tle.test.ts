// parseTle against real catalogues (provenance in test/fixtures/PROVENANCE.md) and the hand-made
// malformed files in test/fixtures/elements/malformed/ (each described in its README.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeCatalogNumber, parseTle, tleChecksum } from '../../contact-plans/tle.ts';

const ELEMENTS = new URL('../fixtures/elements/', import.meta.url);
const read = (relative: string): string => readFileSync(new URL(relative, ELEMENTS), 'utf8');
const strict = { checksum: 'strict' } as const;
const lenient = { checksum: 'lenient' } as const;

const ISS_LINE1 = '1 25544U 98067A   26164.83523427  .00008738  00000+0  16534-3 0  9990';
const ISS_LINE2 = '2 25544  51.6333 316.6832 0004955 182.4672 177.6293 15.49214103571238';

/** Replaces 1-based inclusive columns of a TLE line and recomputes its checksum. */
function withColumns(line: string, firstCol: number, text: string): string {
  const changed = line.slice(0, firstCol - 1) + text + line.slice(firstCol - 1 + text.length);
  return changed.slice(0, 68) + String(tleChecksum(changed));
}

describe('parseTle on real catalogues', () => {
  it('loads all 15,699 objects of the CelesTrak active catalogue (3LE, CRLF) with no issues', () => {
    const result = parseTle(read('active_20260613.tle'), 'active_20260613.tle', strict);
    expect(result.issues).toEqual([]);
    expect(result.elements).toHaveLength(15_699);
  });

  it('reads every field of the ISS record from its fixed columns', () => {
    const iss = parseTle(read('active_20260613.tle'), 'active.tle', strict).elements.find((e) => e.catalogNumber === '25544');
    expect(iss).toEqual({
      catalogNumber: '25544',
      name: 'ISS (ZARYA)',
      intlDesignator: '1998-067A',
      epoch: { iso: '2026-06-13T20:02:44.240928Z', dayStartMs: Date.UTC(2026, 5, 13), msOfDay: 72_164_240.928 },
      meanMotionRevPerDay: 15.49214103,
      eccentricity: 0.0004955,
      inclinationDeg: 51.6333,
      raanDeg: 316.6832,
      argOfPericenterDeg: 182.4672,
      meanAnomalyDeg: 177.6293,
      bstarPerEarthRadii: 0.16534e-3,
      meanMotionDotRevPerDay2: 0.00008738,
      meanMotionDdotRevPerDay3: 0,
      ephemerisType: 0,
      classification: 'U',
      elementSetNumber: 999,
      revAtEpoch: 57123,
      tleLines: [ISS_LINE1, ISS_LINE2],
      source: { file: 'active.tle', line: 169, format: 'tle' },
    });
  });

  it('loads the Starlink, OneWeb and gpredict catalogues with no issues', () => {
    for (const [file, count] of [['starlink_20260613.tle', 10_544], ['oneweb_20260613.tle', 651], ['gpredict_satdata_2018.tle', 979]] as const) {
      const result = parseTle(read(file), file, strict);
      expect(result.issues, file).toEqual([]);
      expect(result.elements, file).toHaveLength(count);
    }
  });

  it('loads all 25,975 two-line sets of the satellite.js catalogue, naming each by its catalog number and decoding the 275 Alpha-5 numbers', () => {
    const result = parseTle(read('satjs_catalog_20220809.tle2'), 'satjs.tle2', strict);
    expect(result.issues).toEqual([]);
    expect(result.elements).toHaveLength(25_975);
    expect(result.elements.every((e) => e.name === e.catalogNumber)).toBe(true);
    const alpha5 = result.elements.filter((e) => Number(e.catalogNumber) >= 100_000);
    expect(alpha5).toHaveLength(275);
    const t0000 = result.elements.find((e) => e.catalogNumber === '270000');
    expect(t0000?.tleLines?.[0].slice(0, 8)).toBe('1 T0000U');
    expect(t0000?.intlDesignator).toBeUndefined();
    // 22218.02938128: day 218 of 2022 is 6 August; 0.02938128 d = 2538.542592 s exactly.
    expect(t0000?.epoch).toEqual({ iso: '2022-08-06T00:42:18.542592Z', dayStartMs: Date.UTC(2022, 7, 6), msOfDay: 2_538_542.592 });
  });
});

describe('TLE field encodings', () => {
  it('decodes Alpha-5 catalog numbers: A0000 = 100000 … Z9999 = 339999, with I and O never used', () => {
    expect(decodeCatalogNumber('A0000')).toBe('100000');
    expect(decodeCatalogNumber('H9999')).toBe('179999');
    expect(decodeCatalogNumber('J0000')).toBe('180000');
    expect(decodeCatalogNumber('P0000')).toBe('230000');
    expect(decodeCatalogNumber('T0000')).toBe('270000');
    expect(decodeCatalogNumber('Z9999')).toBe('339999');
    expect(decodeCatalogNumber('I0000')).toBeUndefined();
    expect(decodeCatalogNumber('O0000')).toBeUndefined();
    expect(decodeCatalogNumber('00005')).toBe('5');
    expect(decodeCatalogNumber('    5')).toBe('5');
    expect(decodeCatalogNumber('2554x')).toBeUndefined();
  });

  it('reads assumed-decimal exponent fields such as -11606-4, 00000+0 and 00000-0, and signed mean motion derivatives', () => {
    let line1 = withColumns(ISS_LINE1, 54, '-11606-4');
    line1 = withColumns(line1, 45, ' 12345-5');
    line1 = withColumns(line1, 34, '-.00000084');
    const [e] = parseTle(`${line1}\n${ISS_LINE2}\n`, 'x', strict).elements;
    expect(e?.bstarPerEarthRadii).toBe(-0.11606e-4);
    expect(e?.meanMotionDdotRevPerDay3).toBe(0.12345e-5);
    expect(e?.meanMotionDotRevPerDay2).toBe(-0.00000084);
    const zeroMinus = parseTle(`${withColumns(ISS_LINE1, 54, ' 00000-0')}\n${ISS_LINE2}\n`, 'x', strict).elements[0];
    expect(zeroMinus?.bstarPerEarthRadii).toBe(0);
    const plusSign = parseTle(`${withColumns(ISS_LINE1, 45, '+00000+0')}\n${ISS_LINE2}\n`, 'x', strict).elements[0];
    expect(plusSign?.meanMotionDdotRevPerDay3).toBe(0);
  });

  it('maps two-digit epoch years 57–99 to 19xx and 00–56 to 20xx, and keeps the day fraction to the microsecond', () => {
    const epochOf = (field: string): unknown =>
      parseTle(`${withColumns(ISS_LINE1, 19, field)}\n${ISS_LINE2}\n`, 'x', strict).elements[0]?.epoch;
    expect(epochOf('57001.00000000')).toEqual({ iso: '1957-01-01T00:00:00.000000Z', dayStartMs: Date.UTC(1957, 0, 1), msOfDay: 0 });
    expect(epochOf('56366.50000000')).toEqual({ iso: '2056-12-31T12:00:00.000000Z', dayStartMs: Date.UTC(2056, 11, 31), msOfDay: 43_200_000 });
    // 1e-8 day is 864 µs, so the last digit moves the epoch by 0.864 ms.
    expect(epochOf('00001.00000001')).toEqual({ iso: '2000-01-01T00:00:00.000864Z', dayStartMs: Date.UTC(2000, 0, 1), msOfDay: 0.864 });
    expect(epochOf('24366.99999999')).toEqual({ iso: '2024-12-31T23:59:59.999136Z', dayStartMs: Date.UTC(2024, 11, 31), msOfDay: 86_399_999.136 });
  });

  it('refuses day 366 of a common year', () => {
    const result = parseTle(`${withColumns(ISS_LINE1, 19, '26366.00000000')}\n${ISS_LINE2}\n`, 'x', strict);
    expect(result.elements).toEqual([]);
    expect(result.issues[0]?.message).toContain('line 1 columns 21-32 (epoch day of year): day 366 is outside 1–365 of 2026');
  });

  it('computes the mod-10 checksum with digits at face value and each minus sign as 1', () => {
    expect(tleChecksum(ISS_LINE1)).toBe(0);
    expect(tleChecksum(ISS_LINE2)).toBe(8);
    // One '1' and five minus signs.
    expect(tleChecksum('1 00000U 00000A   00000.00000000 -.00000000 -00000-0 -00000-0 0    0')).toBe(6);
  });
});

describe('parseTle line handling', () => {
  it('reads a UTF-8 BOM with CRLF line ends like plain text', () => {
    const result = parseTle(read('malformed/crlf_bom.tle'), 'crlf_bom.tle', strict);
    expect(result.issues).toEqual([]);
    expect(result.elements.map((e) => [e.name, e.catalogNumber, e.source.line])).toEqual([
      ['ISS (ZARYA)', '25544', 1],
      ['CALSPHERE 1', '900', 4],
      ['HST', '20580', 7],
    ]);
    expect(result.elements[0]?.tleLines).toEqual([ISS_LINE1, ISS_LINE2]);
  });

  it('strips the Space-Track "0 " prefix from name lines', () => {
    const result = parseTle(read('malformed/zero_prefix_names.tle'), 'zero.tle', strict);
    expect(result.issues).toEqual([]);
    expect(result.elements.map((e) => e.name)).toEqual(['ISS (ZARYA)', 'CALSPHERE 1']);
  });

  it('accepts CR-only line ends, blank lines between records and trailing whitespace', () => {
    const text = `\r\r  ISS (ZARYA)   \t\r${ISS_LINE1}   \r\r${ISS_LINE2}\t\r\r`;
    const result = parseTle(text, 'cr.tle', strict);
    expect(result.issues).toEqual([]);
    expect(result.elements.map((e) => [e.name, e.source.line])).toEqual([['ISS (ZARYA)', 3]]);
  });

  it('returns nothing for empty text', () => {
    expect(parseTle('', 'empty.tle', strict)).toEqual({ elements: [], issues: [] });
  });
});

describe('parseTle on malformed input', () => {
  it('refuses a record whose checksum does not match, naming the line', () => {
    const result = parseTle(read('malformed/bad_checksum.tle'), 'bad_checksum.tle', strict);
    expect(result.elements).toEqual([]);
    expect(result.issues).toEqual([
      {
        severity: 'error',
        code: 'ORBITFED_TLE_CHECKSUM',
        file: 'bad_checksum.tle',
        line: 2,
        catalogNumber: '25544',
        message: "line 1 column 69 (checksum): printed '1' but the line sums to 0",
      },
    ]);
  });

  it('loads a bad-checksum record with a warning in lenient mode', () => {
    const result = parseTle(read('malformed/bad_checksum.tle'), 'bad_checksum.tle', lenient);
    expect(result.elements.map((e) => e.catalogNumber)).toEqual(['25544']);
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]).toMatchObject({ severity: 'warning', code: 'ORBITFED_TLE_CHECKSUM', line: 2, catalogNumber: '25544' });
  });

  it('names the field, its columns and its text when a number is unreadable', () => {
    const result = parseTle(read('malformed/bad_eccentricity.tle'), 'bad_eccentricity.tle', strict);
    expect(result.elements).toEqual([]);
    expect(result.issues).toEqual([
      {
        severity: 'error',
        code: 'ORBITFED_TLE_FIELD',
        file: 'bad_eccentricity.tle',
        line: 3,
        catalogNumber: '25544',
        message: "line 2 columns 27-33 (eccentricity): '12a4567' is not a number",
      },
    ]);
  });

  it('refuses a truncated line 2, naming its length', () => {
    const result = parseTle(read('malformed/truncated_line2.tle'), 'truncated_line2.tle', strict);
    expect(result.elements).toEqual([]);
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]).toMatchObject({ severity: 'error', code: 'ORBITFED_TLE_LINE_LENGTH', line: 3, catalogNumber: '25544' });
    expect(result.issues[0]?.message).toContain('line 2 is 50 characters');
  });

  it('refuses a record whose line 2 names another catalog number', () => {
    const result = parseTle(read('malformed/catalog_mismatch.tle'), 'catalog_mismatch.tle', strict);
    expect(result.elements).toEqual([]);
    expect(result.issues).toEqual([
      {
        severity: 'error',
        code: 'ORBITFED_TLE_CATALOG_MISMATCH',
        file: 'catalog_mismatch.tle',
        line: 3,
        catalogNumber: '25544',
        message: "line 2 catalog number 25545 does not match line 1's 25544",
      },
    ]);
  });

  it('reports a line 2 without a line 1 and still loads the records around it', () => {
    const result = parseTle(read('malformed/line2_without_line1.tle'), 'orphan.tle', strict);
    expect(result.elements.map((e) => [e.name, e.source.line])).toEqual([
      ['CALSPHERE 1', 1],
      ['HST', 5],
    ]);
    expect(result.issues).toEqual([
      {
        severity: 'error',
        code: 'ORBITFED_TLE_UNEXPECTED_LINE',
        file: 'orphan.tle',
        line: 4,
        catalogNumber: '25544',
        message: 'line 2 without a line 1 before it',
      },
    ]);
  });

  it('reports every bad record of a mixed file at its line, and loads every good one', () => {
    const result = parseTle(read('malformed/mixed_good_and_bad.tle'), 'mixed.tle', strict);
    expect(result.elements.map((e) => [e.name, e.catalogNumber, e.source.line])).toEqual([
      ['CALSPHERE 1', '900', 1],
      ['LAGEOS 1', '8820', 14],
      ['27607', '27607', 18],
      ['HST', '20580', 25],
    ]);
    expect(result.issues.map((i) => [i.line, i.code, i.catalogNumber])).toEqual([
      [5, 'ORBITFED_TLE_CHECKSUM', '25544'],
      [10, 'ORBITFED_TLE_FIELD', '20580'],
      [11, 'ORBITFED_TLE_MISSING_LINE', undefined],
      [13, 'ORBITFED_TLE_MISSING_LINE', '27607'],
      [17, 'ORBITFED_TLE_UNEXPECTED_LINE', '900'],
      [22, 'ORBITFED_TLE_LINE_LENGTH', '25544'],
      [23, 'ORBITFED_TLE_LINE_LENGTH', '25544'],
    ]);
    expect(result.issues.every((i) => i.severity === 'error' && i.file === 'mixed.tle')).toBe(true);
    const messages = result.issues.map((i) => i.message);
    expect(messages[1]).toBe("line 2 columns 27-33 (eccentricity): '00x1932' is not a number");
    expect(messages[2]).toBe("name line 'ORPHAN NAME' is not followed by a line 1");
    expect(messages[3]).toBe('line 1 is not followed by a line 2');
    expect(messages[5]).toBe('line 2 is 75 characters, longer than the 69 of a TLE line');
    expect(messages[6]).toContain('line 1 is 68 characters');
  });

  it('loads the bad-checksum record of the mixed file with a warning when lenient, and nothing else changes', () => {
    const result = parseTle(read('malformed/mixed_good_and_bad.tle'), 'mixed.tle', lenient);
    expect(result.elements.map((e) => e.source.line)).toEqual([1, 4, 14, 18, 25]);
    expect(result.issues.filter((i) => i.severity === 'warning').map((i) => [i.line, i.code])).toEqual([[5, 'ORBITFED_TLE_CHECKSUM']]);
    expect(result.issues.filter((i) => i.severity === 'error')).toHaveLength(6);
  });

  it('refuses a name line longer than 69 characters together with its record', () => {
    const text = `${'X'.repeat(80)}\n${ISS_LINE1}\n${ISS_LINE2}\n`;
    const result = parseTle(text, 'long.tle', strict);
    expect(result.elements).toEqual([]);
    expect(result.issues).toMatchObject([{ code: 'ORBITFED_TLE_LINE_LENGTH', line: 1, catalogNumber: '25544' }]);
    expect(result.issues[0]?.message).toContain('80 characters');
  });

  it('refuses an inclination above 180° and a zero mean motion', () => {
    const badInclination = parseTle(`${ISS_LINE1}\n${withColumns(ISS_LINE2, 9, '190.0000')}\n`, 'x', strict);
    expect(badInclination.issues[0]?.message).toBe('line 2 columns 9-16 (inclination): 190° is outside 0–180°');
    const zeroMeanMotion = parseTle(`${ISS_LINE1}\n${withColumns(ISS_LINE2, 53, ' 0.00000000')}\n`, 'x', strict);
    expect(zeroMeanMotion.issues[0]?.message).toBe('line 2 columns 53-63 (mean motion): 0 rev/day is not positive');
  });
});
