// A contact plan from real passes: both directions of every pass, rates from the station file,
// light time from range, terrestrial links, and a hash that changes with the content only.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadElementFile } from '../../contact-plans/element-file.ts';
import type { ElementSet } from '../../contact-plans/element-set.ts';
import { searchPasses, type PassSearchSummary } from '../../contact-plans/pass-search.ts';
import { buildContactPlan, DEFAULT_RATES, groundMesh, satelliteIpn, stationIpn } from '../../contact-plans/plan-builder.ts';
import type { Station } from '../../contact-plans/station.ts';
import { loadStationsFile } from '../../contact-plans/stations-file.ts';

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const WINDOW = { startMs: Date.UTC(2026, 5, 14), durationSec: 6 * 3600 };

describe('building a contact plan', () => {
  let elements: ElementSet[];
  let stations: Station[];
  let passes: PassSearchSummary;

  beforeAll(async () => {
    elements = [...(await loadElementFile(repo('samples/elements.tle'), { checksum: 'strict' })).elements];
    stations = await loadStationsFile(repo('samples/stations.yaml'));
    passes = await searchPasses(elements, stations, { window: WINDOW, defaultMinElevationDeg: 10 }, { threads: 1 });
  });

  it('makes an uplink and a downlink contact for every pass, with the station rates and range light time', () => {
    const plan = buildContactPlan({ window: WINDOW, elements, stations, passes: passes.table });
    expect(plan.contacts).toHaveLength(2 * passes.table.length);
    expect(plan.epochMs).toBe(WINDOW.startMs);
    const svalbard = stations.findIndex((s) => s.id === 'SVALBARD');
    const iss = elements.find((e) => e.name.startsWith('ISS'))!;
    const down = plan.contacts.filter((c) => c.from === satelliteIpn(iss.catalogNumber) && c.to === stationIpn(svalbard));
    const up = plan.contacts.filter((c) => c.to === satelliteIpn(iss.catalogNumber) && c.from === stationIpn(svalbard));
    expect(down.length).toBe(up.length);
    for (const c of down) expect(c.rateBytesPerSec).toBe(stations[svalbard]!.downlinkRateBytesPerSec);
    for (const c of up) expect(c.rateBytesPerSec).toBe(stations[svalbard]!.uplinkRateBytesPerSec);
    const goes = satelliteIpn(elements.find((e) => e.name === 'GOES 18')!.catalogNumber);
    for (const c of plan.contacts) {
      // LEO slant ranges at a low horizon are ~500-3,500 km: light times of 1.5-12 ms; GEO ~0.13 s.
      const geo = c.from === goes || c.to === goes;
      expect(c.owltSec).toBeGreaterThan(geo ? 0.119 : 0.001);
      expect(c.owltSec).toBeLessThan(geo ? 0.14 : 0.015);
      expect(c.endSec).toBeGreaterThanOrEqual(c.startSec);
    }
    expect(plan.node(stationIpn(svalbard))).toEqual({ ipn: 1, id: 'SVALBARD', kind: 'ground' });
    expect(plan.node(satelliteIpn('25544'))).toEqual({ ipn: 1_000_025_544, id: '25544', kind: 'satellite' });
  });

  it('uses the default rates for stations that give none', () => {
    const bare = stations.map((s) => ({ ...s, uplinkRateBytesPerSec: undefined, downlinkRateBytesPerSec: undefined }));
    const plan = buildContactPlan({ window: WINDOW, elements, stations: bare, passes: passes.table });
    const rates = new Set(plan.contacts.map((c) => c.rateBytesPerSec));
    expect([...rates].sort()).toEqual([DEFAULT_RATES.downlinkBytesPerSec, DEFAULT_RATES.uplinkBytesPerSec].sort());
  });

  it('adds terrestrial links: a full mesh always on, and scheduled one-way links', () => {
    const mesh = groundMesh(stations, 125_000_000);
    expect(mesh).toHaveLength((stations.length * (stations.length - 1)) / 2);
    const plan = buildContactPlan({
      window: WINDOW, elements, stations, passes: passes.table,
      terrestrialLinks: [...mesh, { from: 'SVALBARD', to: 'KIRUNA', rateBytesPerSec: 1000, oneWay: true, intervals: [{ startSec: 60, endSec: 120 }] }],
    });
    const ground = plan.contacts.filter((c) => c.from <= stations.length && c.to <= stations.length);
    expect(ground).toHaveLength(2 * mesh.length + 1);
    const svalbardKiruna = ground.filter((c) => c.from === 1 && c.to === 2);
    expect(svalbardKiruna.map((c) => [c.startSec, c.endSec, c.rateBytesPerSec])).toEqual([[0, WINDOW.durationSec, 125_000_000], [60, 120, 1000]]);
    // Svalbard–Kiruna is ~1,170 km: ~5.7 ms over fibre.
    expect(svalbardKiruna[0]!.owltSec).toBeGreaterThan(0.005);
    expect(svalbardKiruna[0]!.owltSec).toBeLessThan(0.0065);
  });

  it('takes satellite windows as objects or as columns, with the same result', () => {
    const windows = [
      { satelliteA: 0, satelliteB: 1, startSec: 100, endSec: 700.5, maxRangeKm: 2998 },
      { satelliteA: 1, satelliteB: 3, startSec: 50, endSec: 60, maxRangeKm: 4000 },
    ];
    const columns = {
      length: 2,
      columns: {
        satelliteA: Int32Array.from(windows, (w) => w.satelliteA),
        satelliteB: Int32Array.from(windows, (w) => w.satelliteB),
        startSec: Float64Array.from(windows, (w) => w.startSec),
        endSec: Float64Array.from(windows, (w) => w.endSec),
        maxRangeKm: Float64Array.from(windows, (w) => w.maxRangeKm),
      },
    };
    const fromObjects = buildContactPlan({ window: WINDOW, elements, stations, passes: passes.table, satelliteWindows: windows });
    const fromColumns = buildContactPlan({ window: WINDOW, elements, stations, passes: passes.table, satelliteWindows: columns });
    expect(fromColumns.hash).toBe(fromObjects.hash);
    const isl = fromObjects.contacts.filter((c) => c.from > 1e9 && c.to > 1e9);
    expect(isl).toHaveLength(4);
    const a = satelliteIpn(elements[0]!.catalogNumber);
    const b = satelliteIpn(elements[1]!.catalogNumber);
    const ab = isl.find((c) => c.from === a && c.to === b)!;
    expect(ab).toMatchObject({ startSec: 100, endSec: 700.5, rateBytesPerSec: DEFAULT_RATES.islBytesPerSec, confidence: 1 });
    expect(ab.owltSec).toBeCloseTo(2998 / 299_792.458, 12);
    expect(isl.find((c) => c.from === b && c.to === a)).toBeDefined();
  });

  it('refuses a terrestrial link to an unknown station, naming it', () => {
    expect(() => buildContactPlan({ window: WINDOW, elements, stations, passes: passes.table, terrestrialLinks: [{ from: 'SVALBARD', to: 'ATLANTIS', rateBytesPerSec: 1 }] }))
      .toThrow(/no station 'ATLANTIS'/);
  });

  it('is versioned by its content: the same inputs give the same hash, another window another', async () => {
    const a = buildContactPlan({ window: WINDOW, elements, stations, passes: passes.table });
    const b = buildContactPlan({ window: WINDOW, elements, stations, passes: (await searchPasses(elements, stations, { window: WINDOW, defaultMinElevationDeg: 10 }, { threads: 1 })).table });
    expect(b.hash).toBe(a.hash);
    const shifted = { startMs: WINDOW.startMs + 60_000, durationSec: WINDOW.durationSec };
    const c = buildContactPlan({ window: shifted, elements, stations, passes: (await searchPasses(elements, stations, { window: shifted, defaultMinElevationDeg: 10 }, { threads: 1 })).table });
    expect(c.hash).not.toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers which contacts leave a node after a time without scanning the plan', () => {
    const plan = buildContactPlan({ window: WINDOW, elements, stations, passes: passes.table });
    const iss = satelliteIpn('25544');
    const after = plan.outgoingEndingAfter(iss, 3600);
    const expected = plan.contacts.map((c, i) => ({ c, i })).filter(({ c }) => c.from === iss && c.endSec > 3600).map(({ i }) => i);
    expect([...after].sort((x, y) => x - y)).toEqual(expected);
    const open = plan.openFrom(iss, plan.contacts[after[0]!]!.startSec);
    expect(open).toContain(after[0]);
  });
});
