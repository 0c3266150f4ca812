// Inter-satellite line-of-sight windows against a brute-force search that shares none of the
// finder's method: SGP4 states every second straight from `ExactStateSource` (no interpolation),
// the Earth test written as angles (the segment clears a sphere of radius R exactly when the
// geocentric angle between the satellites is at most acos(R/r_a) + acos(R/r_b)), every change of
// visibility bisected on SGP4 to 1 µs. Satellites: 12 of `passes/leo1000.tle` (ISS at 420 km to
// 1,000 km), 3 OneWeb (1,200 km, polar) and 3 Starlink (550 km, 53°), 6 h from 2026-06-14T00:00Z;
// and a second set with MEO, GEO and HEO orbits (SDP4) from `passes/nonleo60.tle`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { loadElementFile } from '../../contact-plans/element-file.ts';
import type { ElementSet } from '../../contact-plans/element-set.ts';
import { findIslWindows, ISL_EARTH_RADIUS_KM, IslFlags, searchIslWindows, type IslRow, type IslSearchOptions, type IslTable } from '../../contact-plans/isl.ts';
import { createPropagator, type Propagator } from '../../contact-plans/sgp4.ts';
import { parseTle } from '../../contact-plans/tle.ts';
import { ExactStateSource, type TimeWindow } from '../../contact-plans/trajectory.ts';

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const WINDOW = { startMs: Date.UTC(2026, 5, 14), durationSec: 6 * 3600 };
const STEP_SEC = 1;
const LEO1000_PICKS = [0, 37, 101, 164, 250, 333, 418, 502, 611, 733, 860, 999];
/** GEO, GLONASS, Galileo, Molniya-like, AO-10 (e 0.6), IMAGE (e 0.74), MMS 1 (e 0.83, 5-day period). */
const NONLEO60_PICKS = ['NSS-12', 'COSMOS 2477 [GLONASS-M]', 'GSAT0205 (GALILEO 9)', 'COSMOS 2510', 'PHASE 3B (AO-10)', 'IMAGE', 'MMS 1'];

function propagatorOf(element: ElementSet): Propagator {
  const init = createPropagator(element);
  if (!init.ok) throw new Error(init.message);
  return init.propagator;
}

const rows = (table: IslTable): IslRow[] => table.rows();

interface BruteWindow { a: number; b: number; startSec: number; endSec: number; minRangeKm: number; maxRangeKm: number }

/** Every window by 1 s steps of SGP4, each change of visibility bisected to 1 µs. */
function bruteForce(elements: readonly ElementSet[], window: TimeWindow, maxRangeKm: number, grazingAltitudeKm: number): BruteWindow[] {
  const sphereKm = ISL_EARTH_RADIUS_KM + grazingAltitudeKm;
  const sources = elements.map((e) => new ExactStateSource(propagatorOf(e), window));
  const steps = window.durationSec / STEP_SEC;
  const cache = sources.map((source) => {
    const states = new Float64Array(6 * (steps + 1));
    for (let k = 0; k <= steps; k += 1) expect(source.stateAt(k * STEP_SEC, states, 6 * k)).toBe(0);
    return states;
  });
  const sa = new Float64Array(6);
  const sb = new Float64Array(6);
  const load = (s: number, tSec: number, out: Float64Array): void => {
    const k = tSec / STEP_SEC;
    if (Number.isInteger(k)) out.set(cache[s]!.subarray(6 * k, 6 * k + 6));
    else expect(sources[s]!.stateAt(tSec, out, 0)).toBe(0);
  };
  const rangeKm = (a: number, b: number, tSec: number): number => {
    load(a, tSec, sa);
    load(b, tSec, sb);
    return Math.hypot(sb[0]! - sa[0]!, sb[1]! - sa[1]!, sb[2]! - sa[2]!);
  };
  const visible = (a: number, b: number, tSec: number): boolean => {
    load(a, tSec, sa);
    load(b, tSec, sb);
    const ra = Math.hypot(sa[0]!, sa[1]!, sa[2]!);
    const rb = Math.hypot(sb[0]!, sb[1]!, sb[2]!);
    if (ra < sphereKm || rb < sphereKm) return false;
    const cos = (sa[0]! * sb[0]! + sa[1]! * sb[1]! + sa[2]! * sb[2]!) / (ra * rb);
    const angle = Math.acos(Math.max(-1, Math.min(1, cos)));
    if (angle > Math.acos(sphereKm / ra) + Math.acos(sphereKm / rb)) return false;
    return Math.hypot(sb[0]! - sa[0]!, sb[1]! - sa[1]!, sb[2]! - sa[2]!) <= maxRangeKm;
  };
  const crossing = (a: number, b: number, lo: number, hi: number, rising: boolean): number => {
    while (hi - lo > 1e-6) {
      const mid = (lo + hi) / 2;
      if (visible(a, b, mid) === rising) hi = mid;
      else lo = mid;
    }
    return rising ? hi : lo;
  };
  /** Smallest range in [from, to]: the smallest 1 s sample, refined by golden-section search on SGP4. */
  const minRange = (a: number, b: number, from: number, to: number): number => {
    let best = Math.min(rangeKm(a, b, from), rangeKm(a, b, to));
    let bestSec = Number.NaN;
    for (let t = Math.ceil(from); t <= to; t += STEP_SEC) {
      const r = rangeKm(a, b, t);
      if (r < best) {
        best = r;
        bestSec = t;
      }
    }
    if (Number.isNaN(bestSec)) return best;
    let lo = Math.max(from, bestSec - STEP_SEC);
    let hi = Math.min(to, bestSec + STEP_SEC);
    const g = (Math.sqrt(5) - 1) / 2;
    while (hi - lo > 1e-4) {
      const m1 = hi - g * (hi - lo);
      const m2 = lo + g * (hi - lo);
      if (rangeKm(a, b, m1) < rangeKm(a, b, m2)) hi = m2;
      else lo = m1;
    }
    return Math.min(best, rangeKm(a, b, (lo + hi) / 2));
  };
  const windows: BruteWindow[] = [];
  for (let a = 0; a < elements.length; a += 1) {
    for (let b = a + 1; b < elements.length; b += 1) {
      let seen = visible(a, b, 0);
      let startSec = 0;
      const close = (endSec: number): void => {
        let maxRangeKm = Math.max(rangeKm(a, b, startSec), rangeKm(a, b, endSec));
        for (let t = Math.ceil(startSec); t <= endSec; t += STEP_SEC) maxRangeKm = Math.max(maxRangeKm, rangeKm(a, b, t));
        windows.push({ a, b, startSec, endSec, minRangeKm: minRange(a, b, startSec, endSec), maxRangeKm });
      };
      for (let k = 1; k <= steps; k += 1) {
        const t = k * STEP_SEC;
        const now = visible(a, b, t);
        if (now && !seen) startSec = crossing(a, b, t - STEP_SEC, t, true);
        if (!now && seen) close(crossing(a, b, t - STEP_SEC, t, false));
        seen = now;
      }
      if (seen) close(window.durationSec);
    }
  }
  return windows;
}

/** An element set moved along its orbit by `deltaDeg` of mean anomaly (same plane, same drag). */
function shifted(base: ElementSet, deltaDeg: number, catalogNumber: string): ElementSet {
  return { ...base, catalogNumber, tleLines: undefined, meanAnomalyDeg: (base.meanAnomalyDeg + deltaDeg + 360) % 360 };
}

/** Compares with the brute force; returns the worst start/end difference, ms. */
function compare(ours: readonly IslRow[], expected: readonly BruteWindow[], elements: readonly ElementSet[], maxRangeKm: number, rangeToleranceKm: number): number {
  let worstMs = 0;
  for (const b of expected) {
    const match = ours.find((o) => o.satelliteA === b.a && o.satelliteB === b.b && Math.abs(o.startSec - b.startSec) < 1);
    expect(match, `window ${elements[b.a]!.name} – ${elements[b.b]!.name} at ${b.startSec.toFixed(1)} s`).toBeDefined();
    worstMs = Math.max(worstMs, Math.abs(match!.startSec - b.startSec) * 1000, Math.abs(match!.endSec - b.endSec) * 1000);
    // The range extremes come from the interpolant inside the window: within its error.
    expect(Math.abs(match!.minRangeKm - b.minRangeKm)).toBeLessThan(rangeToleranceKm);
    expect(match!.maxRangeKm).toBeGreaterThan(b.maxRangeKm - rangeToleranceKm);
    expect(match!.maxRangeKm).toBeLessThanOrEqual(maxRangeKm + 1e-6);
  }
  // Ours may only add windows the 1 s steps could step over.
  const extra = ours.filter((o) => !expected.some((b) => b.a === o.satelliteA && b.b === o.satelliteB && Math.abs(o.startSec - b.startSec) < 1));
  for (const o of extra) expect(o.endSec - o.startSec).toBeLessThan(2 * STEP_SEC);
  return worstMs;
}

const totalSec = (windows: readonly IslRow[], a: number, b: number): number =>
  windows.filter((w) => w.satelliteA === a && w.satelliteB === b).reduce((sum, w) => sum + w.endSec - w.startSec, 0);

describe('inter-satellite windows', () => {
  let elements: ElementSet[];
  let propagators: Propagator[];
  let ours: IslRow[];
  const options: IslSearchOptions = { window: WINDOW };

  beforeAll(async () => {
    const leo = (await loadElementFile(fixture('passes/leo1000.tle'), { checksum: 'strict' })).elements;
    const oneweb = (await loadElementFile(fixture('elements/oneweb_20260613.tle'), { checksum: 'strict' })).elements;
    const starlink = (await loadElementFile(fixture('elements/starlink_20260613.tle'), { checksum: 'strict' })).elements;
    elements = [...LEO1000_PICKS.map((i) => leo[i]!), ...oneweb.slice(0, 3), ...starlink.slice(0, 3)];
    propagators = elements.map(propagatorOf);
    ours = rows(findIslWindows(propagators, options).table);
  });

  it('finds the windows of a brute-force search, start and end within 1 ms (R = WGS84 a + 100 km, 5,000 km)', () => {
    const expected = bruteForce(elements, WINDOW, 5000, 100);
    expect(expected.length).toBeGreaterThan(200);
    // Both conditions must bind somewhere: windows ending below the maximum range (the Earth) and at it.
    expect(expected.some((w) => w.endSec < WINDOW.durationSec && w.maxRangeKm < 4900)).toBe(true);
    expect(expected.some((w) => w.maxRangeKm > 4999)).toBe(true);
    expect(compare(ours, expected, elements, 5000, 0.05)).toBeLessThan(1);
  });

  it('finds them for MEO, GEO and HEO orbits too (SDP4, whose velocities are less consistent), 50,000 km', async () => {
    const non = (await loadElementFile(fixture('passes/nonleo60.tle'), { checksum: 'strict' })).elements;
    const mixed = [...elements.slice(0, 4), ...NONLEO60_PICKS.map((name) => non.find((e) => e.name === name)!)];
    const window = { startMs: WINDOW.startMs, durationSec: 8 * 3600 };
    const expected = bruteForce(mixed, window, 50_000, 100);
    expect(expected.length).toBeGreaterThan(50);
    const found = rows(findIslWindows(mixed.map(propagatorOf), { window, maxRangeKm: 50_000 }).table);
    // HEO interpolation errs by up to ~200 m per satellite (README): range extremes within 1 km.
    expect(compare(found, expected, mixed, 50_000, 1)).toBeLessThan(1);
  });

  it('reports each window once, a < b, ordered by pair then start, with flags only at the window edges', () => {
    for (let i = 0; i < ours.length; i += 1) {
      const w = ours[i]!;
      expect(w.satelliteA).toBeLessThan(w.satelliteB);
      expect(w.endSec).toBeGreaterThanOrEqual(w.startSec);
      expect(w.minRangeTimeSec).toBeGreaterThanOrEqual(w.startSec);
      expect(w.minRangeTimeSec).toBeLessThanOrEqual(w.endSec);
      expect((w.flags & IslFlags.startTruncated) !== 0).toBe(w.startSec === 0);
      expect((w.flags & IslFlags.endTruncated) !== 0).toBe(w.endSec === WINDOW.durationSec);
      const next = ours[i + 1];
      if (next !== undefined && next.satelliteA === w.satelliteA && next.satelliteB === w.satelliteB) expect(next.startSec).toBeGreaterThan(w.endSec);
    }
  });

  it('gives the same table on two worker threads as on the calling thread', async () => {
    const one = await searchIslWindows(elements, options, { threads: 1 });
    const progress: number[][] = [];
    const two = await searchIslWindows(elements, options, { threads: 2, onProgress: (done, total) => progress.push([done, total]) });
    expect(rows(two.table)).toEqual(rows(one.table));
    expect(rows(one.table)).toEqual(ours);
    const pairs = (elements.length * (elements.length - 1)) / 2;
    expect(progress.at(-1)).toEqual([pairs, pairs]);
  });

  it('never sees through the Earth: a satellite half an orbit ahead of another in the same orbit is never visible', () => {
    const base = elements[11]!;
    const pair = [base, shifted(base, 180, '99001')].map(propagatorOf);
    expect(findIslWindows(pair, options).table.length).toBe(0);
  });

  it('sees a close neighbour in the same orbit for the whole window (truncated at both ends)', () => {
    const base = elements[11]!;
    const pair = [base, shifted(base, 2, '99002')].map(propagatorOf);
    const found = rows(findIslWindows(pair, options).table);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ satelliteA: 0, satelliteB: 1, startSec: 0, endSec: WINDOW.durationSec });
    expect(found[0]!.flags).toBe(IslFlags.startTruncated | IslFlags.endTruncated | IslFlags.alwaysVisible);
    expect(found[0]!.maxRangeKm).toBeLessThan(300);
  });

  it('sees nothing from a satellite below the grazing altitude (the closest point of the segment is that endpoint)', () => {
    const iss = 0;
    const found = rows(findIslWindows(propagators, { window: WINDOW, grazingAltitudeKm: 500 }).table);
    expect(found.some((w) => w.satelliteA === iss)).toBe(false);
    expect(found.length).toBeGreaterThan(0);
  });

  it('opens windows monotonically as the grazing altitude drops from 100 km to 0', () => {
    const low = rows(findIslWindows(propagators, { window: WINDOW, grazingAltitudeKm: 0 }).table);
    expect(low.length).toBeGreaterThan(0);
    for (const w of ours) {
      const container = low.find((l) => l.satelliteA === w.satelliteA && l.satelliteB === w.satelliteB && l.startSec <= w.startSec && l.endSec >= w.endSec);
      expect(container, `window ${w.satelliteA}–${w.satelliteB} at ${w.startSec} s`).toBeDefined();
    }
    let longer = 0;
    for (let a = 0; a < elements.length; a += 1) {
      for (let b = a + 1; b < elements.length; b += 1) {
        const delta = totalSec(low, a, b) - totalSec(ours, a, b);
        expect(delta).toBeGreaterThanOrEqual(0);
        if (delta > 1) longer += 1;
      }
    }
    expect(longer).toBeGreaterThan(10);
  });

  it('respects the maximum range: a shorter one only shortens windows, and none reaches beyond it', () => {
    const short = rows(findIslWindows(propagators, { window: WINDOW, maxRangeKm: 2000 }).table);
    expect(short.length).toBeGreaterThan(0);
    for (const w of short) {
      expect(w.maxRangeKm).toBeLessThanOrEqual(2000 + 1e-6);
      const container = ours.find((o) => o.satelliteA === w.satelliteA && o.satelliteB === w.satelliteB && o.startSec <= w.startSec + 1e-9 && o.endSec >= w.endSec - 1e-9);
      expect(container).toBeDefined();
    }
  });

  it('searches only pairs of satellites that carry terminals, naming them by their index in the element list', async () => {
    const terminals = [16, 3, 12, 13, 3];
    const expected = ours.filter((w) => terminals.includes(w.satelliteA) && terminals.includes(w.satelliteB));
    expect(expected.length).toBeGreaterThan(0);
    expect(rows(findIslWindows(propagators, { window: WINDOW, terminalSatellites: terminals }).table)).toEqual(expected);
    expect(rows((await searchIslWindows(elements, { window: WINDOW, terminalSatellites: terminals }, { threads: 2 })).table)).toEqual(expected);
  });

  it('reports satellites SGP4 cannot propagate, cutting their windows where it stopped', () => {
    // 28872 (SL-14 DEB in Vallado's cases) decays about 52 minutes after its epoch; 33334 fails
    // SGP4 initialisation with error 3. The pair is 28872 and a copy 3° ahead in the same orbit.
    const ver = readFileSync(fixture('sgp4-verification/SGP4-VER.TLE'), 'utf8').split(/\r?\n/);
    const twoLines = (catalog: string): string => {
      const i = ver.findIndex((l) => l.startsWith(`1 ${catalog}`));
      return `${ver[i]!.slice(0, 69)}\n${ver[i + 1]!.slice(0, 69)}\n`;
    };
    const [decaying, failing] = parseTle(twoLines('28872') + twoLines('33334'), 'SGP4-VER.TLE', { checksum: 'lenient' }).elements;
    const epoch = decaying!.epoch;
    const window = { startMs: epoch.dayStartMs + Math.floor(epoch.msOfDay), durationSec: 6 * 3600 };
    const init = [decaying!, shifted(decaying!, 3, '99003'), failing!].map((e) => createPropagator(e));
    const propagators = init.map((r) => (r.ok ? r.propagator : undefined));
    expect(propagators[2]).toBeUndefined();
    // Grazing 100 km below the surface, so that the pair stays in sight until SGP4 gives up.
    const result = findIslWindows(propagators, { window, grazingAltitudeKm: -100 });
    expect(result.problems.map((p) => [p.satellite, p.code])).toEqual([[0, 'ORBITFED_SGP4_DECAYED'], [1, 'ORBITFED_SGP4_DECAYED']]);
    const stopSec = result.problems[0]!.atSec;
    expect(stopSec).toBeGreaterThan(0);
    expect(stopSec).toBeLessThan(3600);
    const found = rows(result.table);
    expect(found).toHaveLength(1);
    expect(found[0]!.startSec).toBe(0);
    expect(found[0]!.endSec).toBeLessThanOrEqual(stopSec);
    expect(found[0]!.endSec).toBeGreaterThan(stopSec - 300);
    expect(found[0]!.flags).toBe(IslFlags.startTruncated | IslFlags.endTruncated);
  });

  it('refuses options that make no sense, naming the field', () => {
    const bad: [string, IslSearchOptions][] = [
      ['maxRangeKm', { window: WINDOW, maxRangeKm: -1 }],
      ['maxRangeKm', { window: WINDOW, maxRangeKm: Number.NaN }],
      ['grazingAltitudeKm', { window: WINDOW, grazingAltitudeKm: Number.NaN }],
      ['grazingAltitudeKm', { window: WINDOW, grazingAltitudeKm: -7000 }],
      ['window.durationSec', { window: { startMs: WINDOW.startMs, durationSec: 0 } }],
      ['window.startMs', { window: { startMs: WINDOW.startMs + 0.5, durationSec: 60 } }],
      ['terminalSatellites', { window: WINDOW, terminalSatellites: [0, 99] }],
      ['windowsMax', { window: WINDOW, windowsMax: 0 }],
    ];
    for (const [field, options] of bad) {
      let error: unknown;
      try {
        findIslWindows(propagators, options);
      } catch (e) {
        error = e;
      }
      expect(error, field).toBeInstanceOf(OrbitfedError);
      expect((error as OrbitfedError).code).toBe('ORBITFED_ISL_OPTIONS');
      expect((error as OrbitfedError).location.field).toBe(field);
    }
  });

  it('stops at the window bound with a clear error, on worker threads too', async () => {
    expect(() => findIslWindows(propagators, { window: WINDOW, windowsMax: 5 })).toThrow(/more than 5 inter-satellite windows/);
    await expect(searchIslWindows(elements, { window: WINDOW, windowsMax: 50 }, { threads: 2 })).rejects.toMatchObject({ code: 'ORBITFED_ISL_TOO_MANY_WINDOWS' });
  });
});
