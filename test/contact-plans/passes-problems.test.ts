// SGP4 failures are surfaced per satellite, never thrown, and never stop the other satellites.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { searchPasses } from '../../contact-plans/pass-search.ts';
import { parseTle } from '../../contact-plans/tle.ts';
import type { Station } from '../../contact-plans/station.ts';

const VER = readFileSync(new URL('../fixtures/sgp4-verification/SGP4-VER.TLE', import.meta.url), 'utf8').split(/\r?\n/);
/** A verification case's two lines, without the start/stop/step columns after column 69. */
function verificationCase(catalog: string): string {
  const i = VER.findIndex((l) => l.startsWith(`1 ${catalog}`));
  return `${VER[i]!.slice(0, 69)}\n${VER[i + 1]!.slice(0, 69)}\n`;
}

const STATIONS: Station[] = [
  { id: 'EQUATOR', name: 'EQUATOR', latitudeDeg: 0, longitudeDeg: 0, altitudeM: 0, minElevationDeg: 0, horizonMask: undefined, country: undefined, uplinkRateBytesPerSec: undefined, downlinkRateBytesPerSec: undefined, operator: undefined },
  { id: 'NORTH', name: 'NORTH', latitudeDeg: 60, longitudeDeg: 30, altitudeM: 0, minElevationDeg: 0, horizonMask: undefined, country: undefined, uplinkRateBytesPerSec: undefined, downlinkRateBytesPerSec: undefined, operator: undefined },
];

const windowAtEpochOf = (e: { epoch: { dayStartMs: number; msOfDay: number } }): { startMs: number; durationSec: number } =>
  ({ startMs: e.epoch.dayStartMs + Math.floor(e.epoch.msOfDay), durationSec: 6 * 3600 });

describe('satellites SGP4 cannot propagate', () => {
  it('reports a decay with the time SGP4 stopped, keeping the passes before it', async () => {
    // 28872 (SL-14 DEB in Vallado's cases) decays about 50 minutes after its epoch.
    const { elements } = parseTle(verificationCase('28872'), 'SGP4-VER.TLE', { checksum: 'lenient' });
    const result = await searchPasses(elements, STATIONS, { window: windowAtEpochOf(elements[0]!), defaultMinElevationDeg: 0 }, { threads: 1 });
    expect(result.problems).toHaveLength(1);
    const decay = result.problems[0]!;
    expect(decay.code).toBe('ORBITFED_SGP4_DECAYED');
    expect(decay.message).toMatch(/decayed/);
    expect(decay.atSec).toBeGreaterThan(0);
    expect(decay.atSec).toBeLessThan(3600);
    expect(result.table.length).toBeGreaterThan(0);
    for (let i = 0; i < result.table.length; i += 1) expect(result.table.row(i).losSec).toBeLessThanOrEqual(decay.atSec);
  });

  it('reports an element set SGP4 cannot initialise and goes on with the others', async () => {
    // 33334 fails SGP4 initialisation with error 3; 26975 shares its epoch and is healthy.
    const { elements, issues } = parseTle(['33334', '26975'].map(verificationCase).join(''), 'SGP4-VER.TLE', { checksum: 'lenient' });
    expect(elements).toHaveLength(2);
    expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
    const result = await searchPasses(elements, STATIONS, { window: windowAtEpochOf(elements[0]!), defaultMinElevationDeg: 0 }, { threads: 1 });
    expect(result.problems.map((p) => [p.satellite, p.code])).toEqual([[0, 'ORBITFED_SGP4_ERROR_3']]);
    expect(result.problems[0]!.message).toMatch(/perturbed eccentricity/);
    const rows = Array.from({ length: result.table.length }, (_, i) => result.table.row(i));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.satellite === 1)).toBe(true);
  });
});
