// Loading element files of any format: detection from content, one element set per catalog number,
// and the read errors. Fixtures: test/fixtures/PROVENANCE.md and the README.md files beside them.
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { detectElementFormat, ELEMENT_FILE_SIZE_BYTES_MAX, loadElementFile, loadElementText } from '../../contact-plans/element-file.ts';

const ELEMENTS = new URL('../fixtures/elements/', import.meta.url);
const fixturePath = (relative: string): string => fileURLToPath(new URL(relative, ELEMENTS));
const strict = { checksum: 'strict' } as const;

const ISS_NAME = 'ISS (ZARYA)';
const ISS_LINE1 = '1 25544U 98067A   26164.83523427  .00008738  00000+0  16534-3 0  9990';
const ISS_LINE2 = '2 25544  51.6333 316.6832 0004955 182.4672 177.6293 15.49214103571238';
/** The same object one element set earlier (epoch 26164.5, checksum recomputed). */
const ISS_OLDER_LINE1 = '1 25544U 98067A   26164.50000000  .00008738  00000+0  16534-3 0  9991';

describe('detectElementFormat', () => {
  it('recognises each fixture from its content', () => {
    const expected = [
      ['active_20260613.tle', 'tle'],
      ['satjs_catalog_20220809.tle2', 'tle'],
      ['sample_omm.json', 'omm-json'],
      ['sample_omm.csv', 'omm-csv'],
      ['sample_omm.xml', 'omm-xml'],
      ['leo1000_omm_derived.csv', 'omm-csv'],
      ['handmade/iss_calsphere1_20260613.kvn', 'omm-kvn'],
      ['handmade/spacetrack_gp_20260613.json', 'omm-json'],
      ['malformed/crlf_bom.tle', 'tle'],
    ] as const;
    for (const [file, format] of expected) {
      expect(detectElementFormat(readFileSync(fixturePath(file), 'utf8')), file).toBe(format);
    }
  });

  it('looks past a byte-order mark and leading blank lines', () => {
    expect(detectElementFormat('\uFEFF\n\n  [ ]')).toBe('omm-json');
    expect(detectElementFormat('\uFEFF\r\nCCSDS_OMM_VERS = 2.0\r\n')).toBe('omm-kvn');
    expect(detectElementFormat('\uFEFFOBJECT_NAME,NORAD_CAT_ID\n')).toBe('omm-csv');
  });
});

describe('loadElementText', () => {
  it('loads the same ISS from every format', () => {
    for (const file of ['passes/leo1000.tle', 'elements/leo1000_omm_derived.json', 'elements/leo1000_omm_derived.csv']) {
      const path = fileURLToPath(new URL(`../fixtures/${file}`, import.meta.url));
      const result = loadElementText(readFileSync(path, 'utf8'), file, strict);
      expect(result.issues, file).toEqual([]);
      expect(result.elements.find((e) => e.catalogNumber === '25544')?.name, file).toBe(ISS_NAME);
    }
  });

  it('keeps the newest epoch of a catalog number and warns about the older set, wherever it is in the file', () => {
    const text = [ISS_NAME, ISS_LINE1, ISS_LINE2, ISS_NAME, ISS_OLDER_LINE1, ISS_LINE2].join('\n');
    const result = loadElementText(text, 'dupes.tle', strict);
    expect(result.elements.map((e) => [e.epoch.iso, e.source.line])).toEqual([['2026-06-13T20:02:44.240928Z', 1]]);
    expect(result.issues).toEqual([
      {
        severity: 'warning',
        code: 'ORBITFED_ELEMENTS_DUPLICATE',
        file: 'dupes.tle',
        line: 4,
        catalogNumber: '25544',
        message:
          'ISS (ZARYA) (25544) epoch 2026-06-13T12:00:00.000000Z is superseded by epoch ' +
          '2026-06-13T20:02:44.240928Z at line 1; the older set is ignored',
      },
    ]);
    const reversed = loadElementText([ISS_NAME, ISS_OLDER_LINE1, ISS_LINE2, ISS_NAME, ISS_LINE1, ISS_LINE2].join('\n'), 'r.tle', strict);
    expect(reversed.elements.map((e) => e.source.line)).toEqual([4]);
    expect(reversed.issues.map((i) => i.line)).toEqual([1]);
  });

  it('honours an explicit format and the checksum option', () => {
    const text = readFileSync(fixturePath('malformed/bad_checksum.tle'), 'utf8');
    expect(loadElementText(text, 'x', strict).elements).toHaveLength(0);
    expect(loadElementText(text, 'x', { checksum: 'lenient', format: 'tle' }).elements).toHaveLength(1);
  });
});

describe('loadElementFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orbitfed-elements-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file from disk and labels its records with the path', async () => {
    const path = fixturePath('sample_omm.xml');
    const result = await loadElementFile(path, strict);
    expect(result.elements.map((e) => [e.name, e.source.file, e.source.format])).toEqual([['VANGUARD 1', path, 'omm-xml']]);
  });

  it('throws ORBITFED_ELEMENTS_READ naming the path of a missing file', async () => {
    const path = join(dir, 'no-such-file.tle');
    const error = await loadElementFile(path, strict).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrbitfedError);
    expect((error as OrbitfedError).code).toBe('ORBITFED_ELEMENTS_READ');
    expect((error as OrbitfedError).message).toContain(path);
  });

  it('throws ORBITFED_ELEMENTS_READ for a directory', async () => {
    const error = await loadElementFile(dir, strict).catch((e: unknown) => e);
    expect((error as OrbitfedError).code).toBe('ORBITFED_ELEMENTS_READ');
  });

  it('refuses a file over 256 MiB without reading it', async () => {
    const path = join(dir, 'huge.tle');
    await writeFile(path, '');
    await truncate(path, ELEMENT_FILE_SIZE_BYTES_MAX + 1); // sparse: no real disk use
    const error = await loadElementFile(path, strict).catch((e: unknown) => e);
    expect((error as OrbitfedError).code).toBe('ORBITFED_ELEMENTS_TOO_LARGE');
    expect((error as OrbitfedError).message).toContain(path);
  });
});
