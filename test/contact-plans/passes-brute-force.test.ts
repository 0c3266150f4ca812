// The pass finder against a brute-force search that shares none of its method: SGP4 every second,
// each horizon crossing bisected on SGP4 to 1 µs. Covers what the oracle does not: azimuth-
// dependent horizon masks, refraction, a HEO orbit and negative minimum elevations.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { topocentre } from '../../contact-plans/earth-frames.ts';
import { loadElementFile } from '../../contact-plans/element-file.ts';
import type { ElementSet } from '../../contact-plans/element-set.ts';
import { compileHorizon, minElevationRadAt } from '../../contact-plans/horizon-mask.ts';
import { lookAngles, newLookAngles } from '../../contact-plans/look-angles.ts';
import { searchPasses } from '../../contact-plans/pass-search.ts';
import { refractionRad } from '../../contact-plans/refraction.ts';
import { createPropagator } from '../../contact-plans/sgp4.ts';
import type { Station } from '../../contact-plans/station.ts';
import { loadStationsFile } from '../../contact-plans/stations-file.ts';
import { ExactStateSource } from '../../contact-plans/trajectory.ts';

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const WINDOW = { startMs: Date.UTC(2026, 5, 14, 3), durationSec: 8 * 3600 };
const STEP_SEC = 1;

interface BrutePass { satellite: number; station: number; aosSec: number; losSec: number }

/** Every crossing of the horizon found by 1 s steps of SGP4, bisected to 1 µs. */
function bruteForce(elements: readonly ElementSet[], stations: readonly Station[], defaultMinElevationDeg: number, refraction: boolean): BrutePass[] {
  const sites = stations.map((s) => ({ site: topocentre(s.latitudeDeg, s.longitudeDeg, s.altitudeM), horizon: compileHorizon(s, defaultMinElevationDeg) }));
  const passes: BrutePass[] = [];
  const state = new Float64Array(6);
  const look = newLookAngles();
  elements.forEach((element, satellite) => {
    const init = createPropagator(element);
    if (!init.ok) throw new Error(init.message);
    const source = new ExactStateSource(init.propagator, WINDOW);
    const aboveAt = (station: number, tSec: number): boolean => {
      expect(source.stateAt(tSec, state, 0)).toBe(0);
      lookAngles(sites[station]!.site, state, 0, look);
      const elevation = look.elevationRad + (refraction ? refractionRad(look.elevationRad) : 0);
      return elevation >= minElevationRadAt(sites[station]!.horizon, look.azimuthRad);
    };
    const crossing = (station: number, lo: number, hi: number, rising: boolean): number => {
      while (hi - lo > 1e-6) {
        const mid = (lo + hi) / 2;
        if (aboveAt(station, mid) === rising) hi = mid;
        else lo = mid;
      }
      return rising ? hi : lo;
    };
    stations.forEach((_, station) => {
      let above = aboveAt(station, 0);
      let aosSec = 0;
      for (let t = STEP_SEC; t <= WINDOW.durationSec; t += STEP_SEC) {
        const now = aboveAt(station, t);
        if (now && !above) aosSec = crossing(station, t - STEP_SEC, t, true);
        if (!now && above) passes.push({ satellite, station, aosSec, losSec: crossing(station, t - STEP_SEC, t, false) });
        above = now;
      }
      if (above) passes.push({ satellite, station, aosSec, losSec: WINDOW.durationSec });
    });
  });
  return passes;
}

describe('passes agree with a brute-force search (masks, refraction, HEO)', () => {
  let elements: ElementSet[];
  let stations: Station[];

  beforeAll(async () => {
    const leo = (await loadElementFile(fixture('passes/leo1000.tle'), { checksum: 'strict' })).elements;
    const others = (await loadElementFile(fixture('passes/nonleo60.tle'), { checksum: 'strict' })).elements;
    const heo = others.filter((e) => e.eccentricity > 0.5).slice(0, 2);
    expect(heo.length).toBeGreaterThan(0);
    elements = [...leo.slice(0, 8), ...heo];
    stations = await loadStationsFile(fixture('stations/stations.yaml'));
    expect(stations.some((s) => s.horizonMask !== undefined)).toBe(true);
  });

  for (const [label, defaultMinElevationDeg, refraction] of [
    ['geometric, station horizons and masks', 10, false],
    ['with refraction', 10, true],
    ['down to -2° default horizon', -2, false],
  ] as const) {
    it(`finds the same passes, AOS/LOS within 1 ms (${label})`, async () => {
      const expected = bruteForce(elements, stations, defaultMinElevationDeg, refraction);
      const result = await searchPasses(elements, stations, { window: WINDOW, defaultMinElevationDeg, refraction }, { threads: 1 });
      const ours = Array.from({ length: result.table.length }, (_, i) => result.table.row(i));
      expect(expected.length).toBeGreaterThan(20);
      let worstMs = 0;
      for (const b of expected) {
        const match = ours.find((o) => o.satellite === b.satellite && o.station === b.station && Math.abs(o.aosSec - b.aosSec) < 5);
        expect(match, `pass of ${elements[b.satellite]!.name} over ${stations[b.station]!.id} at ${b.aosSec.toFixed(1)} s`).toBeDefined();
        worstMs = Math.max(worstMs, Math.abs(match!.aosSec - b.aosSec) * 1000, Math.abs(match!.losSec - b.losSec) * 1000);
      }
      // Ours may only add passes the 1 s steps could step over.
      const extra = ours.filter((o) => !expected.some((b) => b.satellite === o.satellite && b.station === o.station && Math.abs(o.aosSec - b.aosSec) < 5));
      for (const o of extra) expect(o.losSec - o.aosSec).toBeLessThan(2 * STEP_SEC);
      expect(worstMs).toBeLessThan(1);
    });
  }
});
