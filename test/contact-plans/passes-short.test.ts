// The shortest pass the method is guaranteed to find: a satellite that barely grazes the horizon.
// With the horizon set just below a pass's culmination the pass lasts a fraction of a second; it
// must still be found, and with the horizon just above it, no pass may be reported.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadElementFile } from '../../contact-plans/element-file.ts';
import type { ElementSet } from '../../contact-plans/element-set.ts';
import { searchPasses } from '../../contact-plans/pass-search.ts';
import type { Station } from '../../contact-plans/station.ts';
import { loadStationsFile } from '../../contact-plans/stations-file.ts';

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const WINDOW = { startMs: Date.UTC(2026, 5, 14), durationSec: 86_400 };

describe('grazing passes', () => {
  let satellites: ElementSet[];
  let stations: Station[];

  beforeAll(async () => {
    satellites = (await loadElementFile(fixture('passes/leo1000.tle'), { checksum: 'strict' })).elements.slice(0, 40);
    stations = await loadStationsFile(fixture('passes/stations.csv'));
  });

  it('finds passes of well under a second when the horizon sits just below the culmination, and none just above', async () => {
    const reference = await searchPasses(satellites, stations, { window: WINDOW, defaultMinElevationDeg: 10 }, { threads: 1 });
    const candidates = Array.from({ length: reference.table.length }, (_, i) => reference.table.row(i))
      .filter((p) => p.flags === 0 && p.maxElevationDeg > 15)
      .filter((_, i) => i % 25 === 0);
    expect(candidates.length).toBeGreaterThan(20);
    let longestMs = 0;
    for (const pass of candidates) {
      const station = stations[pass.station]!;
      const satellite = [satellites[pass.satellite]!];
      const below = await searchPasses(satellite, [{ ...station, minElevationDeg: pass.maxElevationDeg - 1e-5 }], { window: WINDOW, defaultMinElevationDeg: 10 }, { threads: 1 });
      const grazing = Array.from({ length: below.table.length }, (_, i) => below.table.row(i)).filter((p) => Math.abs(p.tcaSec - pass.tcaSec) < 60);
      expect(grazing, `${satellite[0]!.name} over ${station.id} at ${pass.tcaSec.toFixed(0)} s`).toHaveLength(1);
      const durationMs = (grazing[0]!.losSec - grazing[0]!.aosSec) * 1000;
      expect(durationMs).toBeGreaterThan(0);
      expect(grazing[0]!.aosSec).toBeLessThanOrEqual(grazing[0]!.tcaSec);
      expect(grazing[0]!.tcaSec).toBeLessThanOrEqual(grazing[0]!.losSec);
      longestMs = Math.max(longestMs, durationMs);

      const above = await searchPasses(satellite, [{ ...station, minElevationDeg: pass.maxElevationDeg + 1e-5 }], { window: WINDOW, defaultMinElevationDeg: 10 }, { threads: 1 });
      const none = Array.from({ length: above.table.length }, (_, i) => above.table.row(i)).filter((p) => Math.abs(p.tcaSec - pass.tcaSec) < 60);
      expect(none).toEqual([]);
    }
    console.log(`grazing passes: ${candidates.length} found, the longest ${longestMs.toFixed(0)} ms`);
    expect(longestMs).toBeLessThan(5_000);
  });
});
