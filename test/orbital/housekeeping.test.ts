// Housekeeping telemetry: the parsers on real /proc texts (captured on a Debian 12 machine, see
// test/fixtures/orbital/README.md) and on malformed ones, and the reader on fixture directories
// and on the live system.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OrbitfedError, unixMs, VirtualClock } from '../../common/index.ts';
import {
  cpuBusyFraction, HousekeepingReader, parseLoadavg, parseMeminfo, parseProcStat, parseThermalTemp, parseUptime, DISK_PATHS_MAX,
} from '../../orbital/index.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/orbital/${name}`, import.meta.url));
const text = (name: string): string => readFileSync(fixture(name), 'utf8');
const clock = new VirtualClock(unixMs(Date.UTC(2026, 5, 14)));

function parseFailure(run: () => unknown): OrbitfedError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OrbitfedError);
    return error as OrbitfedError;
  }
  throw new Error('expected a parse error');
}

describe('/proc/stat', () => {
  it('sums the aggregate cpu line (guest time is already inside user) and counts the cpuN lines', () => {
    // cpu  1875568 0 185695 1370126 8147 0 3333 4015 0 0
    expect(parseProcStat(text('proc/stat'))).toEqual({
      cpuCount: 2,
      totalTicks: 1875568 + 0 + 185695 + 1370126 + 8147 + 0 + 3333 + 4015,
      idleTicks: 1370126 + 8147,
    });
  });

  it('gives the busy fraction between two reads', () => {
    const earlier = parseProcStat(text('proc/stat'));
    const later = parseProcStat(text('proc/stat-2s-later'));
    // The machine was saturated by test runs: 768 ticks passed, none of them idle.
    expect(later.totalTicks - earlier.totalTicks).toBe(768);
    expect(cpuBusyFraction(earlier, later)).toBe(1);
    const a = parseProcStat('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 100 0 50 800 50 0 0 0 0 0\n');
    const b = parseProcStat('cpu  130 0 70 900 100 0 0 0 0 0\ncpu0 130 0 70 900 100 0 0 0 0 0\n');
    expect(cpuBusyFraction(a, b)).toBe(0.25);
  });

  it('has no busy fraction when no time passed or the counters went backwards', () => {
    const a = parseProcStat('cpu  100 0 50 800\n');
    expect(cpuBusyFraction(a, a)).toBeNull();
    expect(cpuBusyFraction(parseProcStat('cpu  200 0 50 800\n'), a)).toBeNull();
    expect(cpuBusyFraction(a, parseProcStat('cpu  300 0 50 700\n'))).toBeNull();
  });

  it('reads the four-counter line of 2.4 kernels', () => {
    expect(parseProcStat('cpu  100 0 50 850\ncpu0 100 0 50 850\n')).toEqual({ cpuCount: 1, totalTicks: 1000, idleTicks: 850 });
  });

  it.each([
    ['no cpu line', 'intr 1 2 3\nctxt 5\n', /no aggregate "cpu" line/],
    ['too few counters', 'cpu  1 2 3\n', /:1: the "cpu" line has 3 counters/],
    ['a non-numeric counter', 'cpu  1 2 x 4\n', /:1: system: expected a non-negative integer, got "x"/],
    ['a negative counter', 'cpu  1 2 3 -4\n', /:1: idle: expected a non-negative integer/],
    ['too many counters', 'cpu  1 2 3 4 5 6 7 8 9 10 11\n', /at most 10/],
    ['two aggregate lines', 'cpu  1 2 3 4\ncpu  1 2 3 4\n', /:2: a second aggregate/],
    ['an empty file', '', /no aggregate/],
  ])('refuses %s, naming the line', (_what, input, message) => {
    const error = parseFailure(() => parseProcStat(input, '/proc/stat'));
    expect(error.code).toBe('ORBITFED_HOUSEKEEPING_PARSE');
    expect(error.message).toMatch(message);
    expect(error.location.file).toBe('/proc/stat');
  });
});

describe('/proc/meminfo', () => {
  it('reads sizes in bytes (the kernel writes KiB as "kB")', () => {
    expect(parseMeminfo(text('proc/meminfo'))).toEqual({
      memTotalBytes: 24684096 * 1024,
      memFreeBytes: 17810440 * 1024,
      memAvailableBytes: 20258756 * 1024,
      swapTotalBytes: 0,
      swapFreeBytes: 0,
    });
  });

  it('estimates available memory as free + buffers + cached before Linux 3.14', () => {
    const old = 'MemTotal:  1000 kB\nMemFree:  100 kB\nBuffers:  20 kB\nCached:  300 kB\nSwapTotal:  50 kB\nSwapFree:  40 kB\nHugePages_Total:  0\n';
    expect(parseMeminfo(old)).toEqual({ memTotalBytes: 1024000, memFreeBytes: 102400, memAvailableBytes: 430080, swapTotalBytes: 51200, swapFreeBytes: 40960 });
  });

  it.each([
    ['no MemTotal', 'MemFree:  100 kB\n', /MemTotal: no MemTotal line/],
    ['a garbled line', 'MemTotal:  1000 kB\nthis is not meminfo\n', /:2: expected "Key: value \[kB\]"/],
    ['a non-numeric size', 'MemTotal:  lots kB\nMemFree: 1 kB\n', /:1: MemTotal: expected a non-negative integer/],
    ['an unknown unit', 'MemTotal:  1000 MB\nMemFree: 1 kB\n', /:1: MemTotal: unknown unit "MB"/],
  ])('refuses %s', (_what, input, message) => {
    expect(parseFailure(() => parseMeminfo(input)).message).toMatch(message);
  });
});

describe('/proc/uptime, /proc/loadavg and thermal zones', () => {
  it('reads uptime and idle seconds', () => {
    expect(parseUptime(text('proc/uptime'))).toEqual({ uptimeSec: 17307.08, idleSec: 13701.26 });
  });

  it('reads the load averages and task counts', () => {
    expect(parseLoadavg(text('proc/loadavg'))).toEqual({ load1: 6.63, load5: 4.06, load15: 2.52, runnableTasks: 8, tasks: 244 });
  });

  it('reads millidegrees Celsius, below zero too', () => {
    expect(parseThermalTemp('45123\n')).toBe(45.123);
    expect(parseThermalTemp('-5000\n')).toBe(-5);
  });

  it.each([
    ['uptime with one number', () => parseUptime('12.5\n'), /expected 2 numbers/],
    ['uptime with a word', () => parseUptime('12.5 idle\n'), /idle: expected a non-negative decimal/],
    ['loadavg without tasks', () => parseLoadavg('0.1 0.2 0.3\n'), /expected 5 fields/],
    ['loadavg with garbled tasks', () => parseLoadavg('0.1 0.2 0.3 1-400 99\n'), /tasks: expected runnable\/total/],
    ['a temperature in degrees with a unit', () => parseThermalTemp('45 C\n'), /millidegrees/],
    ['an empty temperature', () => parseThermalTemp(''), /millidegrees/],
  ])('refuses %s', (_what, run, message) => {
    expect(parseFailure(run).message).toMatch(message);
  });
});

describe('the housekeeping reader', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function procDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'orbitfed-proc-'));
    dirs.push(dir);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return dir;
  }

  const fixtureProc = (): Record<string, string> => ({
    stat: text('proc/stat'), meminfo: text('proc/meminfo'), uptime: text('proc/uptime'), loadavg: text('proc/loadavg'),
  });

  it('makes one plain record from fixture files, with CPU use since the previous read', async () => {
    const dir = procDir(fixtureProc());
    const thermal = mkdtempSync(join(tmpdir(), 'orbitfed-thermal-'));
    dirs.push(thermal);
    for (const [zone, type, temp] of [['thermal_zone0', 'cpu-thermal', '51540'], ['thermal_zone1', 'gpu-thermal', 'not a number'], ['thermal_zone10', 'pmic', '38000']]) {
      mkdirSync(join(thermal, zone!));
      writeFileSync(join(thermal, zone!, 'type'), `${type}\n`);
      writeFileSync(join(thermal, zone!, 'temp'), `${temp}\n`);
    }
    mkdirSync(join(thermal, 'cooling_device0'));
    const reader = new HousekeepingReader({ clock, procDir: dir, thermalDir: thermal, diskPaths: [dir, join(dir, 'missing')] });
    const first = await reader.read();
    expect(first).toMatchObject({
      timeMs: clock.now(), uptimeSec: 17307.08, cpuCount: 2, cpuSampleSec: 17307.08,
      load1: 6.63, load5: 4.06, load15: 2.52, memTotalBytes: 24684096 * 1024, memAvailableBytes: 20258756 * 1024,
    });
    // The first read covers the time since boot.
    expect(first.cpuBusyFraction).toBeCloseTo(1 - (1370126 + 8147) / (1875568 + 185695 + 1370126 + 8147 + 3333 + 4015), 12);
    expect(first.thermalZones).toEqual([
      { zone: 'thermal_zone0', type: 'cpu-thermal', temperatureC: 51.54, error: null },
      { zone: 'thermal_zone1', type: 'gpu-thermal', temperatureC: null, error: expect.stringMatching(/thermal_zone1\/temp:1: expected millidegrees/) },
      { zone: 'thermal_zone10', type: 'pmic', temperatureC: 38, error: null },
    ]);
    expect(first.disks[0]).toMatchObject({ path: dir, error: null });
    expect(first.disks[0]!.totalBytes).toBeGreaterThan(0);
    expect(first.disks[0]!.availableBytes).toBeLessThanOrEqual(first.disks[0]!.freeBytes!);
    expect(first.disks[1]).toMatchObject({ path: join(dir, 'missing'), totalBytes: null, error: expect.stringMatching(/^ENOENT/) });
    // JSON-ready: plain numbers, strings, nulls and arrays.
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);

    writeFileSync(join(dir, 'stat'), text('proc/stat-2s-later'));
    writeFileSync(join(dir, 'uptime'), text('proc/uptime-2s-later'));
    const second = await reader.read();
    expect(second.cpuBusyFraction).toBe(1);
    expect(second.cpuSampleSec).toBeCloseTo(17310.91 - 17307.08, 9);
  });

  it('reports no thermal zones where the board has none', async () => {
    const reader = new HousekeepingReader({ clock, procDir: procDir(fixtureProc()), thermalDir: join(tmpdir(), 'orbitfed-no-such-thermal-dir') });
    expect((await reader.read()).thermalZones).toEqual([]);
  });

  it('fails with the file named when a /proc file is missing or malformed', async () => {
    const missing = procDir({ ...fixtureProc(), meminfo: '' });
    rmSync(join(missing, 'meminfo'));
    await expect(new HousekeepingReader({ clock, procDir: missing }).read()).rejects.toMatchObject({
      code: 'ORBITFED_HOUSEKEEPING_READ', message: expect.stringContaining(`${join(missing, 'meminfo')}: cannot read /proc meminfo file: no such file`),
    });
    const garbled = procDir({ ...fixtureProc(), loadavg: 'load is high\n' });
    await expect(new HousekeepingReader({ clock, procDir: garbled }).read()).rejects.toMatchObject({
      code: 'ORBITFED_HOUSEKEEPING_PARSE', message: expect.stringContaining(join(garbled, 'loadavg')),
    });
    const binary = procDir({ ...fixtureProc() });
    writeFileSync(join(binary, 'uptime'), Buffer.from([0xff, 0xfe, 0x31]));
    await expect(new HousekeepingReader({ clock, procDir: binary }).read()).rejects.toMatchObject({ code: 'ORBITFED_HOUSEKEEPING_PARSE' });
  });

  it('refuses more disk paths than it reports', () => {
    expect(() => new HousekeepingReader({ clock, diskPaths: Array.from({ length: DISK_PATHS_MAX + 1 }, () => '/') })).toThrow(/at most 16/);
  });

  it.runIf(process.platform === 'linux')('reads this machine', async () => {
    const reader = new HousekeepingReader({ clock, diskPaths: ['/'] });
    const first = await reader.read();
    const second = await reader.read();
    for (const record of [first, second]) {
      expect(record.cpuCount).toBeGreaterThanOrEqual(1);
      expect(record.uptimeSec).toBeGreaterThan(0);
      expect(record.memTotalBytes).toBeGreaterThan(record.memAvailableBytes);
      expect(record.disks[0]!.totalBytes).toBeGreaterThan(0);
      for (const zone of record.thermalZones) expect(zone.zone).toMatch(/^thermal_zone\d+$/);
    }
    expect(first.cpuBusyFraction).toBeGreaterThanOrEqual(0);
    expect(first.cpuBusyFraction).toBeLessThanOrEqual(1);
    expect(second.uptimeSec).toBeGreaterThanOrEqual(first.uptimeSec);
  });
});
