// `orbitfed passes` as a user runs it: real files in, CSV/JSON out, a clear message for every
// broken input and no stack traces.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (path: string): string => join(ROOT, 'test/fixtures', path);

const run = runCli;

async function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'orbitfed-cli-'));
}

const ORACLE_ARGS = ['--stations', fixture('passes/stations.csv'), '--start', '2026-06-14T00:00:00Z', '--hours', '24'];

describe('orbitfed passes', () => {
  it('prints the oracle passes of the ISS as CSV with the oracle column names', async () => {
    const dir = await scratchDir();
    const iss = (await readFile(fixture('passes/leo1000.tle'), 'utf8')).split('\n').slice(0, 3).join('\n');
    await writeFile(join(dir, 'iss.tle'), `${iss}\n`);
    const { code, stdout } = await run(['passes', '--elements', join(dir, 'iss.tle'), ...ORACLE_ARGS]);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trim().split('\n');
    expect(header!.split(',').slice(0, 13)).toEqual([
      'sat_name', 'norad', 'station', 'aos_utc', 'tca_utc', 'los_utc', 'max_el_deg', 'duration_s',
      'aos_truncated', 'los_truncated', 'aos_unix_s', 'tca_unix_s', 'los_unix_s',
    ]);
    const oracle = (await readFile(fixture('passes/dense_passes_leo1000_10st_24h_ut1utc.csv'), 'utf8'))
      .trim().split('\n').slice(1).filter((line) => line.split(',')[1] === '25544');
    expect(rows).toHaveLength(oracle.length);
    const byKey = (line: string): string => { const c = line.split(','); return `${c[2]}|${Math.round(Number(c[10]))}`; };
    const ours = new Map(rows.map((r) => [byKey(r), r.split(',')]));
    for (const line of oracle) {
      const o = line.split(',');
      const mine = ours.get(byKey(line)) ?? [...ours.values()].find((m) => m[2] === o[2] && Math.abs(Number(m[10]) - Number(o[10])) < 1);
      expect(mine, line).toBeDefined();
      expect(Math.abs(Number(mine![10]) - Number(o[10]))).toBeLessThan(0.001);
      expect(Math.abs(Number(mine![12]) - Number(o[12]))).toBeLessThan(0.001);
      expect(mine![3]!.slice(0, 22)).toBe(o[3]!.slice(0, 22));
    }
  });

  it('writes JSON to --out atomically and reports the window and passes', async () => {
    const dir = await scratchDir();
    const out = join(dir, 'passes.json');
    const { code } = await run(['passes', '--elements', fixture('passes/nonleo60.tle'), ...ORACLE_ARGS, '--format', 'json', '--out', out]);
    expect(code).toBe(0);
    const report = JSON.parse(await readFile(out, 'utf8'));
    expect(report.window.start).toBe('2026-06-14T00:00:00.000000Z');
    expect(report.passCount).toBe(851);
    expect(report.passes).toHaveLength(851);
    expect(report.passes[0]).toMatchObject({ norad: expect.any(String), station: expect.any(String), owltSec: expect.any(Number) });
    expect(report.passes.some((p: { alwaysVisible: boolean }) => p.alwaysVisible)).toBe(true);
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('answers --help for the command and for the program', async () => {
    const help = await run(['passes', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--elements FILE');
    expect((await run(['help', 'passes'])).stdout).toBe(help.stdout);
    expect((await run(['--help'])).stdout).toContain('passes');
    expect((await run(['demo', '--help'])).stdout).toContain('Usage: orbitfed demo');
  });

  describe('refuses bad input with a message naming what was wrong', () => {
    const cases: [string, string[], RegExp][] = [
      ['an unknown flag', ['passes', '--elemnts', 'x'], /Unknown option '--elemnts'/],
      ['a missing --elements', ['passes', '--stations', 'x'], /--elements FILE is required/],
      ['a start without a zone', ['passes', '--elements', 'x', '--stations', 'y', '--start', '2026-06-14 10:00'], /--start must be an ISO 8601 UTC instant .*2026-06-14 10:00/],
      ['a negative window', ['passes', '--elements', 'x', '--stations', 'y', '--hours=-3'], /--hours must be a number from .* \(got '-3'\)/],
      ['a window longer than a month', ['passes', '--elements', 'x', '--stations', 'y', '--hours', '10000'], /--hours must be a number/],
      ['an unknown format', ['passes', '--elements', 'x', '--stations', 'y', '--format', 'xml'], /--format must be one of csv, json/],
      ['a missing elements file', ['passes', '--elements', '/nonexistent/cat.tle', ...ORACLE_ARGS], /\/nonexistent\/cat\.tle/],
      ['a stations file with an unknown key', ['passes', '--elements', fixture('passes/nonleo60.tle'), '--stations', fixture('stations/malformed/unknown-key.yaml')], /latitude/],
    ];
    for (const [what, args, message] of cases) {
      it(`for ${what}`, async () => {
        const { code, stderr } = await run(args);
        expect(code).toBe(2);
        expect(stderr).toMatch(message);
        expect(stderr).not.toMatch(/\n\s+at /);
      });
    }

    it('for an unknown command', async () => {
      const { code, stderr } = await run(['pases']);
      expect(code).toBe(2);
      expect(stderr).toContain("unknown command 'pases'");
    });
  });

  it('reports a record with a bad checksum by file and line and still predicts the good ones', async () => {
    const dir = await scratchDir();
    const lines = (await readFile(fixture('passes/leo1000.tle'), 'utf8')).split('\n').slice(0, 6);
    lines[2] = `${lines[2]!.slice(0, 68)}${(Number(lines[2]!.at(68)) + 1) % 10}`;
    await writeFile(join(dir, 'two.tle'), `${lines.join('\n')}\n`);
    const { code, stdout, stderr } = await run(['passes', '--elements', join(dir, 'two.tle'), ...ORACLE_ARGS]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/two\.tle:3: error ORBITFED_TLE_CHECKSUM/);
    expect(stdout).not.toContain('ISS (ZARYA)');
    expect(stdout).toContain('CALSPHERE 1');
  });

  it('refuses element sets more than 30 days from the window unless --allow-stale', async () => {
    const args = ['passes', '--elements', fixture('passes/nonleo60.tle'), '--stations', fixture('passes/stations.csv'), '--start', '2026-09-01T00:00:00Z', '--hours', '1'];
    const refused = await run(args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ORBITFED_ELEMENTS_TOO_OLD');
    const allowed = await run([...args, '--allow-stale']);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('ORBITFED_ELEMENTS_STALE');
  });
});

describe('the orbitfed executable', () => {
  it('runs on the pinned Node and prints its help', async () => {
    const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'bin/orbitfed.ts'), 'passes', '--help']);
    expect(stdout).toContain('Usage: orbitfed passes');
  });
});
