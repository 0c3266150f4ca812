// What the dashboard's map and Gantt view compute (scheduler/dashboard-sky.ts): footprints that are
// where the satellite really stands 10° above the horizon, ground tracks through the satellite's
// position, and contacts merged into one link or bar per node pair.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContactPlan, createPropagator, loadElementFile, PointingSolver, type Contact, type ElementSet } from '../../contact-plans/index.ts';
import { NodeNames } from '../../scheduler/api-views.ts';
import { DashboardSky, footprintRadiusDeg } from '../../scheduler/dashboard-sky.ts';
import { subSatellitePoint } from '../../scheduler/index.ts';
import type { NodeRecord } from '../../scheduler/job-store.ts';
import { T0_MS } from './job-fixtures.ts';

let elements: readonly ElementSet[];
beforeAll(async () => {
  elements = (await loadElementFile(fileURLToPath(new URL('../../samples/elements.tle', import.meta.url)), { checksum: 'strict' })).elements;
});

const DEG = Math.PI / 180;

/** The point `distanceDeg` of central angle from (lat, lon) towards `bearingDeg` (great circle on a sphere). */
function destination(latDeg: number, lonDeg: number, distanceDeg: number, bearingDeg: number): { latitudeDeg: number; longitudeDeg: number } {
  const lat = latDeg * DEG;
  const d = distanceDeg * DEG;
  const b = bearingDeg * DEG;
  const lat2 = Math.asin(Math.sin(lat) * Math.cos(d) + Math.cos(lat) * Math.sin(d) * Math.cos(b));
  const lon2 = lonDeg * DEG + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(lat), Math.cos(d) - Math.sin(lat) * Math.sin(lat2));
  return { latitudeDeg: lat2 / DEG, longitudeDeg: ((lon2 / DEG + 540) % 360) - 180 };
}

/** Central angle between two [lon, lat] points, degrees (haversine). */
function angleDeg([lon1, lat1]: readonly [number, number], [lon2, lat2]: readonly [number, number]): number {
  const h = Math.sin(((lat2 - lat1) * DEG) / 2) ** 2 + Math.cos(lat1 * DEG) * Math.cos(lat2 * DEG) * Math.sin(((lon2 - lon1) * DEG) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / DEG;
}

const both = (a: number, b: number, startSec: number, endSec: number): Contact[] => [
  { from: a, to: b, startSec, endSec, rateBytesPerSec: 1000, owltSec: 0.01, confidence: 1 },
  { from: b, to: a, startSec, endSec, rateBytesPerSec: 500, owltSec: 0.01, confidence: 1 },
];

describe('footprints', () => {
  it('has a closed form that gives 0 at the horizon of a satellite on the ground and grows with height', () => {
    expect(footprintRadiusDeg(0, 10)).toBeCloseTo(0, 9);
    expect(footprintRadiusDeg(0, 0)).toBeCloseTo(0, 9);
    // Geostationary, 0° elevation: acos(R / (R + h)) = 81.3°.
    expect(footprintRadiusDeg(35_786, 0)).toBeCloseTo(81.3, 1);
    expect(footprintRadiusDeg(800)).toBeGreaterThan(footprintRadiusDeg(400));
  });

  it('ends where the satellite stands 10° above the horizon, seen from the ground with SGP4', () => {
    for (const catalog of ['25544', '25994', '27424']) {
      const propagator = createPropagator(elements.find((e) => e.catalogNumber === catalog)!);
      if (!propagator.ok) throw new Error(propagator.message);
      const at = T0_MS + 1_234_000;
      const sub = subSatellitePoint(propagator.propagator, at);
      if (typeof sub === 'number') throw new Error(`SGP4 status ${sub}`);
      const radius = footprintRadiusDeg(sub.altitudeKm);
      for (const bearing of [0, 90, 200]) {
        const edge = destination(sub.latitudeDeg, sub.longitudeDeg, radius, bearing);
        const look = new PointingSolver(propagator.propagator, { ...edge, altitudeM: 0 }).at(at, 0);
        if (typeof look === 'number') throw new Error(`SGP4 status ${look}`);
        // The footprint is drawn on a sphere; WGS84's flattening moves the real edge by a fraction of a degree.
        expect(Math.abs(look.elevationDeg - 10), `${catalog} bearing ${bearing}`).toBeLessThan(0.6);
      }
    }
  });
});

describe('satellites on the map', () => {
  it('draws a ground track that passes through the satellite and is recomputed only as time moves on', () => {
    const plan = new ContactPlan({ epochMs: T0_MS, nodes: [{ ipn: 1_000_025_544, id: '25544', kind: 'satellite' }], contacts: [] });
    const sky = new DashboardSky(elements, []);
    const names = new NodeNames(plan, []);
    const first = sky.satellites(plan, new Map(), names, T0_MS, 10, 10).satellites[0]!;
    expect(first).toMatchObject({ id: '25544', name: 'ISS (ZARYA)', catalogNumber: '25544', registered: false });
    const track = first.track!;
    // Consecutive samples are one step apart (~47 s: 1.25 orbits in 150 points), ~3° of ground track, with no jumps.
    const gaps = track.slice(1).map((point, i) => angleDeg(track[i]!, point));
    expect(Math.min(...gaps)).toBeGreaterThan(2);
    expect(Math.max(...gaps)).toBeLessThan(3.5);
    // The satellite's position lies between two samples of the track.
    const nearest = Math.min(...track.map((point) => angleDeg(point, [first.longitudeDeg!, first.latitudeDeg!])));
    expect(nearest).toBeLessThan(1.8);
    const moments = sky.satellites(plan, new Map(), names, T0_MS + 1_000, 10, 10).satellites[0]!;
    expect(moments.track).toBe(track);
    const later = sky.satellites(plan, new Map(), names, T0_MS + 600_000, 10, 10).satellites[0]!;
    expect(later.track).not.toBe(track);
  });

  it('lists at most the configured satellites, registered ones first, and tracks only for the first few', () => {
    const nodes = elements.slice(0, 6).map((e) => ({ ipn: 1_000_000_000 + Number(e.catalogNumber), id: e.catalogNumber, kind: 'satellite' as const }));
    const plan = new ContactPlan({ epochMs: T0_MS, nodes, contacts: [] });
    const sky = new DashboardSky(elements, []);
    const registered = new Map<string, NodeRecord>([['eo-1', {
      spec: {
        id: 'eo-1', kind: 'orbital', ipn: nodes[5]!.ipn, operator: 'x', resources: { cpu: 1, memoryBytes: 1, diskBytes: 0, gpu: 0 }, architecture: 'arm64', runtimes: ['process'],
        pricePerHourMinor: { currency: 'EUR', cpu: 1, memoryGiB: 1, gpu: 0 }, jurisdiction: { registry: 'DE' }, attestations: [], blackouts: [], noradId: Number(nodes[5]!.id),
      },
      registeredBy: 'root', registeredMs: T0_MS, updatedMs: T0_MS, lastHeardMs: undefined,
    }]]);
    const { satellites, truncated } = sky.satellites(plan, registered, new NodeNames(plan, registered.values()), T0_MS, 4, 2);
    expect(truncated).toBe(true);
    expect(satellites.map((s) => s.id)).toEqual(['eo-1', nodes[0]!.id, nodes[1]!.id, nodes[2]!.id]);
    expect(satellites.map((s) => s.track !== undefined)).toEqual([true, true, false, false]);
  });
});

describe('links and Gantt bars', () => {
  const plan = new ContactPlan({
    epochMs: T0_MS,
    nodes: [{ ipn: 1, id: 'A', kind: 'ground' }, { ipn: 2, id: 'B', kind: 'ground' }, { ipn: 100, id: '90001', kind: 'satellite' }, { ipn: 101, id: '90002', kind: 'satellite' }],
    contacts: [
      ...both(1, 2, 0, 86_400), // the terrestrial mesh: never drawn
      ...both(1, 100, 600, 900), ...both(1, 100, 900, 1000), // back to back: one bar
      ...both(2, 100, 5000, 5300),
      ...both(100, 101, 700, 2000), // an inter-satellite window
    ],
  });
  const names = new NodeNames(plan, []);

  it('draws the space contacts open now, both directions of a pair as one link', () => {
    const sky = new DashboardSky([], []);
    const { links } = sky.openLinks(plan, new Map(), names, T0_MS + 800_000, 100);
    expect(links).toEqual([
      { a: 'A', b: '90001', aIpn: 1, bIpn: 100, startMs: T0_MS + 600_000, endMs: T0_MS + 900_000, rateAToBBytesPerSec: 1000, rateBToABytesPerSec: 500, contacts: expect.any(Array) },
      expect.objectContaining({ a: '90001', b: '90002' }),
    ]);
    expect(sky.openLinks(plan, new Map(), names, T0_MS + 100_000, 100).links).toEqual([]);
    expect(sky.openLinks(plan, new Map(), names, T0_MS + 900_000, 100).links.map((l) => `${l.a}-${l.b}:${(l.endMs - T0_MS) / 1000}`)).toEqual(['90001-90002:2000', 'A-90001:1000']);
  });

  it('merges back-to-back contacts of a pair into one bar, keeps the window, and says when it left bars out', () => {
    const sky = new DashboardSky([], []);
    const gantt = sky.gantt(plan, new Map(), names, () => 0, T0_MS, T0_MS + 3_600_000, 100);
    expect(gantt.rows.map((r) => `${r.id}:${r.kind}`)).toEqual(['A:ground', 'B:ground', '90001:satellite', '90002:satellite']);
    expect(gantt.bars.map((b) => [b.a, b.b, (b.startMs - T0_MS) / 1000, (b.endMs - T0_MS) / 1000, b.contacts.length])).toEqual([
      ['A', '90001', 600, 1000, 4],
      ['90001', '90002', 700, 2000, 2],
    ]);
    expect(gantt.bars[0]!.capacityBytes).toBe(300 * 1500 + 100 * 1500);
    expect(gantt.truncated).toBe(false);
    const one = sky.gantt(plan, new Map(), names, () => 0, T0_MS, T0_MS + 86_400_000, 1);
    expect(one.bars).toHaveLength(1);
    expect(one.truncated).toBe(true);
    // A window that starts inside a long contact still shows it.
    expect(sky.gantt(plan, new Map(), names, () => 0, T0_MS + 1_500_000, T0_MS + 1_600_000, 100).bars.map((b) => b.b)).toEqual(['90002']);
  });
});
