// Ground station files. Fixtures: `passes/stations.csv` and `passes/stations100_random.csv` are the
// shared reference data (see test/fixtures/PROVENANCE.md); everything under `fixtures/stations/`
// except `gpredict_locations.dat` is hand-made for these tests. The YAML files say so in their
// first line; `stations.json`, the malformed CSVs and the empty file cannot carry a comment, so it
// is said here.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import {
  STATIONS_FILE_BYTES_MAX,
  StationSchema,
  StationsFileSchema,
  loadStationsFile,
  parseStationsText,
} from '../../contact-plans/stations-file.ts';
import type { Station } from '../../contact-plans/station.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const PASSES = join(FIXTURES, 'passes');
const STATIONS = join(FIXTURES, 'stations');
const MALFORMED = join(STATIONS, 'malformed');

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

function plain(id: string, latitudeDeg: number, longitudeDeg: number, altitudeM: number): Station {
  return {
    id,
    name: id,
    latitudeDeg,
    longitudeDeg,
    altitudeM,
    minElevationDeg: undefined,
    horizonMask: undefined,
    country: undefined,
    uplinkRateBytesPerSec: undefined,
    downlinkRateBytesPerSec: undefined,
    operator: undefined,
  };
}

const MINIMAL_YAML = 'stations:\n  - id: A\n    latitudeDeg: 1\n    longitudeDeg: 2\n    altitudeM: 3\n';

describe('CSV stations files', () => {
  it('reads the pass oracle’s ten sites exactly, ignoring the note column', async () => {
    const stations = await loadStationsFile(join(PASSES, 'stations.csv'));
    expect(stations).toEqual([
      plain('SVALBARD', 78.23, 15.39, 450),
      plain('KIRUNA', 67.8571, 20.9644, 402),
      plain('FAIRBANKS', 64.8597, -147.8497, 200),
      plain('WALLOPS', 37.9249, -75.4765, 5),
      plain('KOUROU', 5.2515, -52.8047, 15),
      plain('HARTEBEESTHOEK', -25.887, 27.7075, 1540),
      plain('SANTIAGO', -33.151, -70.6667, 730),
      plain('DONGARA', -29.0458, 115.3487, 250),
      plain('SOUTH_POINT', 19.0139, -155.6633, 370),
      plain('TROLL', -72.0117, 2.535, 1270),
    ]);
  });

  it('reads the 100 random timing sites, GS000 … GS099, in file order', async () => {
    const stations = await loadStationsFile(join(PASSES, 'stations100_random.csv'));
    expect(stations.map((s) => s.id)).toEqual(Array.from({ length: 100 }, (_, i) => `GS${String(i).padStart(3, '0')}`));
    expect(stations[0]).toEqual(plain('GS000', 25.0968, -170.9961, 0));
    expect(stations[99]).toEqual(plain('GS099', 89.8708, 120.9699, 0));
  });

  it('accepts a BOM, CRLF line ends, blank lines, quoted fields and any case of the header', () => {
    const text =
      '\uFEFFStation,LAT_DEG,lon_deg,alt_m,note\r\n' +
      '\r\n' +
      '"SVALBARD",78.23,15.39,450,"KSAT, on ""Platåberget""\r\nsecond line of the note"\r\n' +
      '   \r\n' +
      'KIRUNA, 67.8571 ,20.9644,402,\r\n';
    expect(parseStationsText(text, 'stations.csv')).toEqual([
      plain('SVALBARD', 78.23, 15.39, 450),
      plain('KIRUNA', 67.8571, 20.9644, 402),
    ]);
  });

  it('reads the optional min_el_deg and country columns; an empty cell means not given', () => {
    const text = 'station,lat_deg,lon_deg,alt_m,min_el_deg,country\nSVALBARD,78.23,15.39,450,5,no\nKIRUNA,67.8571,20.9644,402,,\n';
    const [svalbard, kiruna] = parseStationsText(text, 'stations.csv');
    expect(svalbard.minElevationDeg).toBe(5);
    expect(svalbard.country).toBe('NO');
    expect(kiruna.minElevationDeg).toBeUndefined();
    expect(kiruna.country).toBeUndefined();
  });

  it('refuses a header without lon_deg, naming the column and line 1', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'missing-column.csv')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.location).toMatchObject({ line: 1, field: 'lon_deg' });
    expect(error.message).toMatch(/missing-column\.csv:1: lon_deg: missing column/);
  });

  it('refuses a latitude that is not a decimal number, naming line and column', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'non-numeric-lat.csv')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.location).toMatchObject({ line: 3, field: 'lat_deg' });
    expect(error.message).toContain('non-numeric-lat.csv:3: lat_deg: must be a number (got "67°51′N")');
  });

  it('refuses numbers JavaScript would accept but a person did not mean: hex, Infinity, NaN', async () => {
    const text = 'station,lat_deg,lon_deg,alt_m\nA,0x10,Infinity,NaN\n';
    const error = await rejection(() => parseStationsText(text, 's.csv'));
    expect(error.message).toContain('s.csv:2: lat_deg: must be a number (got "0x10")');
    expect(error.message).toContain('s.csv:2: lon_deg: must be a number (got "Infinity")');
    expect(error.message).toContain('s.csv:2: alt_m: must be a number (got "NaN")');
  });

  it('refuses an empty required cell and a row with more fields than the header', async () => {
    const text = 'station,lat_deg,lon_deg,alt_m\nA,1,,3\nB,1,2,3,4\n';
    const error = await rejection(() => parseStationsText(text, 's.csv'));
    expect(error.message).toContain('s.csv:2: lon_deg: is required');
    expect(error.message).toContain('s.csv:3: 5 fields but the header has 4');
  });

  it('refuses a duplicate station id, naming both lines', async () => {
    const text = 'station,lat_deg,lon_deg,alt_m\nA,1,2,3\nB,1,2,3\nA,4,5,6\n';
    const error = await rejection(() => parseStationsText(text, 's.csv'));
    expect(error.message).toBe('s.csv:4: station: duplicate id "A"; first used at line 2');
  });

  it('refuses a quoted field that is never closed', async () => {
    const error = await rejection(() => parseStationsText('station,lat_deg,lon_deg,alt_m\n"A,1,2,3\n', 's.csv'));
    expect(error.message).toBe('s.csv:2: quoted field is never closed');
  });

  it('refuses a header with no rows', async () => {
    const error = await rejection(() => parseStationsText('station,lat_deg,lon_deg,alt_m\n', 's.csv'));
    expect(error.message).toBe('s.csv:1: no stations');
  });
});

describe('YAML and JSON stations files', () => {
  it('reads the hand-made YAML sample with every field, KSAT Svalbard first', async () => {
    const stations = await loadStationsFile(join(STATIONS, 'stations.yaml'));
    expect(stations.map((s) => s.id)).toEqual(['SVALBARD', 'TROLL', 'KIRUNA', 'HARTEBEESTHOEK', 'WALLOPS']);
    expect(stations[0]).toEqual({
      id: 'SVALBARD',
      name: 'KSAT SvalSat (Platåberget)',
      latitudeDeg: 78.23,
      longitudeDeg: 15.39,
      altitudeM: 450,
      minElevationDeg: 5,
      horizonMask: undefined,
      country: 'NO',
      uplinkRateBytesPerSec: 8000,
      downlinkRateBytesPerSec: 18_750_000,
      operator: 'Kongsberg Satellite Services (KSAT)',
    });
    expect(stations[3].horizonMask).toEqual([
      { azimuthDeg: 20, minElevationDeg: 9 },
      { azimuthDeg: 70, minElevationDeg: 6 },
      { azimuthDeg: 150, minElevationDeg: 1 },
      { azimuthDeg: 240, minElevationDeg: 2 },
      { azimuthDeg: 330, minElevationDeg: 5 },
    ]);
  });

  it('stores country codes in upper case (Kiruna is written `se`)', async () => {
    const stations = await loadStationsFile(join(STATIONS, 'stations.yaml'));
    expect(stations.map((s) => s.country)).toEqual(['NO', 'AQ', 'SE', 'ZA', 'US']);
  });

  it('reads the hand-made JSON sample, a top-level list; a name defaults to the id', async () => {
    const stations = await loadStationsFile(join(STATIONS, 'stations.json'));
    expect(stations.map((s) => [s.id, s.name])).toEqual([
      ['FAIRBANKS', 'NOAA Fairbanks CDAS'],
      ['KOUROU', 'ESA Kourou'],
      ['SOUTH_POINT', 'SOUTH_POINT'],
    ]);
    expect(stations[1].horizonMask).toHaveLength(3);
  });

  it('normalises a longitude given as 0–360° east to (-180, 180]', async () => {
    const [fairbanks] = await loadStationsFile(join(STATIONS, 'stations.json'));
    // 212.1503 °E is 147.8497 °W, the value in passes/stations.csv.
    expect(fairbanks.longitudeDeg).toBeCloseTo(-147.8497, 10);
    const edge = (lon: number): number =>
      parseStationsText(`[{"id":"A","latitudeDeg":0,"longitudeDeg":${lon},"altitudeM":0}]`, 's.json')[0].longitudeDeg;
    expect(edge(180)).toBe(180);
    expect(edge(-180)).toBe(-180);
    expect(edge(360)).toBe(0);
  });

  it('accepts a top-level list in YAML and `{ "stations": [...] }` in JSON alike', () => {
    const fromYaml = parseStationsText('- id: A\n  latitudeDeg: 1\n  longitudeDeg: 2\n  altitudeM: 3\n', 'a.yaml');
    const fromJson = parseStationsText('{"stations":[{"id":"A","latitudeDeg":1,"longitudeDeg":2,"altitudeM":3}]}', 'a.json');
    expect(fromYaml).toEqual([plain('A', 1, 2, 3)]);
    expect(fromJson).toEqual(fromYaml);
  });

  it('chooses the format from the content when the extension does not tell, or as told', () => {
    expect(parseStationsText(MINIMAL_YAML, 'stations.txt')).toEqual([plain('A', 1, 2, 3)]);
    expect(parseStationsText('[{"id":"A","latitudeDeg":1,"longitudeDeg":2,"altitudeM":3}]', 'stations')).toEqual([
      plain('A', 1, 2, 3),
    ]);
    expect(parseStationsText('station,lat_deg,lon_deg,alt_m\nA,1,2,3\n', 'stations.dat')).toEqual([plain('A', 1, 2, 3)]);
    expect(parseStationsText('station,lat_deg,lon_deg,alt_m\nA,1,2,3\n', 'stations.yaml', 'csv')).toEqual([
      plain('A', 1, 2, 3),
    ]);
  });

  it('returns frozen stations', () => {
    const [station] = parseStationsText(
      '- {id: A, latitudeDeg: 1, longitudeDeg: 2, altitudeM: 3, horizonMask: [{azimuthDeg: 0, minElevationDeg: 1}, {azimuthDeg: 90, minElevationDeg: 2}]}',
      'a.yaml',
    );
    expect(Object.isFrozen(station)).toBe(true);
    expect(Object.isFrozen(station.horizonMask)).toBe(true);
  });

  it('exports a schema that accepts the sample files as written', () => {
    const yaml: unknown = parseYaml(readFileSync(join(STATIONS, 'stations.yaml'), 'utf8'));
    const json: unknown = JSON.parse(readFileSync(join(STATIONS, 'stations.json'), 'utf8'));
    expect(Value.Check(StationsFileSchema, yaml)).toBe(true);
    expect(Value.Check(StationsFileSchema, json)).toBe(true);
    expect(Value.Check(StationSchema, { id: 'A', latitude: 1, longitudeDeg: 2, altitudeM: 3 })).toBe(false);
  });
});

describe('refusing malformed YAML and JSON', () => {
  it('refuses a latitude above 90°, naming the station, field and line', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'bad-latitude.yaml')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.location).toMatchObject({ line: 8, field: 'stations[1].latitudeDeg' });
    expect(error.message).toMatch(/bad-latitude\.yaml:8: stations\[1\]\.latitudeDeg: must be ≤ 90 \(got 123\)$/);
  });

  it('refuses an unknown key and suggests the key that was meant', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'unknown-key.yaml')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.message).toContain('unknown-key.yaml:4: stations[0].latitude: unknown key; did you mean "latitudeDeg"?');
    // …and, since the typo hid it, the real key is missing.
    expect(error.message).toContain('unknown-key.yaml:3: stations[0].latitudeDeg: is required');
  });

  it('refuses a country code that ISO 3166-1 has not assigned (XX)', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'unknown-country.yaml')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.location).toMatchObject({ line: 6, field: '[0].country' });
    expect(error.message).toContain('"XX" is not an assigned ISO 3166-1 alpha-2 country code');
  });

  it('points UK, which ISO reserves but does not assign, to GB', async () => {
    const error = await rejection(() => parseStationsText(`${MINIMAL_YAML}    country: UK\n`, 's.yaml'));
    expect(error.message).toContain('s.yaml:6: stations[0].country: "UK" is not an assigned');
    expect(error.message).toContain('the United Kingdom is "GB"');
  });

  it('refuses a duplicate id, naming both stations and lines', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'duplicate-id.yaml')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.message).toMatch(
      /duplicate-id\.yaml:11: stations\[2\]\.id: duplicate id "KIRUNA"; first used at stations\[0\], line 3$/,
    );
  });

  it('treats ids differing only in case as duplicates', async () => {
    const text = '[{"id":"Kiruna","latitudeDeg":1,"longitudeDeg":2,"altitudeM":3},\n {"id":"KIRUNA","latitudeDeg":1,"longitudeDeg":2,"altitudeM":3}]';
    const error = await rejection(() => parseStationsText(text, 's.json'));
    expect(error.message).toBe(
      's.json:2: [1].id: duplicate id "KIRUNA"; first used at [0], line 1 (ids are compared ignoring case: "Kiruna")',
    );
  });

  it('refuses a horizon mask whose azimuth goes back', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'decreasing-mask-azimuth.yaml')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.location).toMatchObject({ line: 10, field: 'stations[0].horizonMask[2].azimuthDeg' });
    expect(error.message).toContain('azimuths must strictly increase (got 90 after 150 at horizonMask[1])');
  });

  it('refuses a mask of one point, and points at 0° and 360° that disagree', async () => {
    const one = await rejection(() =>
      parseStationsText(`${MINIMAL_YAML}    horizonMask: [{azimuthDeg: 10, minElevationDeg: 2}]\n`, 's.yaml'),
    );
    expect(one.message).toContain('s.yaml:6: stations[0].horizonMask: must have at least 2 entries (got 1)');
    const seam = await rejection(() =>
      parseStationsText(
        `${MINIMAL_YAML}    horizonMask: [{azimuthDeg: 0, minElevationDeg: 2}, {azimuthDeg: 360, minElevationDeg: 3}]\n`,
        's.yaml',
      ),
    );
    expect(seam.message).toContain('stations[0].horizonMask[1].minElevationDeg: 0° and 360° are the same direction');
  });

  it('refuses a YAML file cut off inside a quoted string, naming the line', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'truncated.yaml')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.location.line).toBe(8);
    expect(error.message).toMatch(/truncated\.yaml:8: YAML: Missing closing "quote/);
  });

  it('refuses an empty file', async () => {
    const error = await rejection(() => loadStationsFile(join(MALFORMED, 'empty.yaml')));
    expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
    expect(error.message).toMatch(/empty\.yaml: file is empty/);
  });

  it('refuses an empty list and a document that is not a list of stations', async () => {
    expect((await rejection(() => parseStationsText('stations: []\n', 's.yaml'))).message).toBe(
      's.yaml:1: stations: no stations',
    );
    expect((await rejection(() => parseStationsText('# only a comment\n', 's.yaml'))).message).toContain(
      'expected a list of stations or a mapping with a "stations" list (got an empty value)',
    );
    expect((await rejection(() => parseStationsText('stations:\n  id: A\n', 's.yaml'))).message).toBe(
      's.yaml:1: stations: must be a list of stations (got a mapping)',
    );
    expect((await rejection(() => parseStationsText(`${MINIMAL_YAML}station: {}\n`, 's.yaml'))).message).toBe(
      's.yaml:6: station: unknown key; the only top-level key is "stations"',
    );
  });

  it('refuses a YAML stream of several documents', async () => {
    const error = await rejection(() => parseStationsText(`${MINIMAL_YAML}---\n${MINIMAL_YAML}`, 's.yaml'));
    expect(error.message).toBe('s.yaml:6: more than one YAML document ("---"); put all stations in one');
  });

  it('says what type was expected: a number quoted as text, an id that YAML reads as a number', async () => {
    const error = await rejection(() =>
      parseStationsText('- id: 1234\n  latitudeDeg: "78.2"\n  longitudeDeg: .inf\n  altitudeM: 3\n', 's.yaml'),
    );
    expect(error.message).toContain('s.yaml:1: [0].id: must be text (got 1234); put it in quotes');
    expect(error.message).toContain('s.yaml:2: [0].latitudeDeg: must be a number (got "78.2")');
    expect(error.message).toContain('s.yaml:3: [0].longitudeDeg: must be a finite number (got Infinity)');
  });

  it('refuses rates that are not positive', async () => {
    const error = await rejection(() =>
      parseStationsText(`${MINIMAL_YAML}    uplinkRateBytesPerSec: 0\n    downlinkRateBytesPerSec: -5\n`, 's.yaml'),
    );
    expect(error.message).toContain('stations[0].uplinkRateBytesPerSec: must be > 0 (got 0)');
    expect(error.message).toContain('stations[0].downlinkRateBytesPerSec: must be > 0 (got -5)');
  });

  it('refuses JSON syntax errors and duplicate keys, which JSON.parse would let through', async () => {
    const syntax = await rejection(() => parseStationsText('[{"id": "A",\n  "latitudeDeg": 1,\n', 's.json'));
    expect(syntax.message).toMatch(/^s\.json:3: not valid JSON: /);
    const duplicate = await rejection(() =>
      parseStationsText('[{"id": "A", "latitudeDeg": 1, "longitudeDeg": 2,\n "altitudeM": 3, "id": "B"}]', 's.json'),
    );
    expect(duplicate.message).toBe('s.json:2: duplicate key in one object');
  });

  it('lists every problem in one error, file order, the first twenty shown', async () => {
    const lines = ['stations:'];
    for (let i = 0; i < 25; i++) lines.push(`  - {id: S${i}, latitudeDeg: 91, longitudeDeg: 0, altitudeM: 0}`);
    const error = await rejection(() => parseStationsText(lines.join('\n'), 's.yaml'));
    const messageLines = error.message.split('\n');
    expect(messageLines).toHaveLength(21);
    expect(messageLines[0]).toBe('s.yaml:2: stations[0].latitudeDeg: must be ≤ 90 (got 91)');
    expect(messageLines[19]).toBe('s.yaml:21: stations[19].latitudeDeg: must be ≤ 90 (got 91)');
    expect(messageLines[20]).toBe('… and 5 more problems');
  });
});

describe('reading stations files from disk', () => {
  it('reports a missing file with ORBITFED_STATIONS_READ, naming the path', async () => {
    const path = join(MALFORMED, 'no-such-file.yaml');
    const error = await rejection(() => loadStationsFile(path));
    expect(error.code).toBe('ORBITFED_STATIONS_READ');
    expect(error.location.file).toBe(path);
    expect(error.message).toBe(`${path}: cannot read stations file: no such file`);
  });

  it('refuses text over 16 MiB before parsing it', async () => {
    const error = await rejection(() => parseStationsText(' '.repeat(STATIONS_FILE_BYTES_MAX + 1), 'big.yaml'));
    expect(error.code).toBe('ORBITFED_STATIONS_TOO_LARGE');
  });

  it('refuses a file that is not UTF-8', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orbitfed-stations-'));
    try {
      const path = join(dir, 'latin1.csv');
      // "Platåberget" in ISO-8859-1: the å is the lone byte 0xE5.
      await writeFile(path, Buffer.from('station,lat_deg,lon_deg,alt_m,note\nSVALBARD,78.23,15.39,450,Plat\xe5berget\n', 'latin1'));
      const error = await rejection(() => loadStationsFile(path));
      expect(error.code).toBe('ORBITFED_STATIONS_INVALID');
      expect(error.message).toBe(`${path}: not valid UTF-8 text`);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(loadStationsFile(join(PASSES, 'stations.csv'), { signal: controller.signal })).rejects.toThrow(
      /abort/i,
    );
  });
});
