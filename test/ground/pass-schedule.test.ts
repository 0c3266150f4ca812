// A station's pass schedule: the ISS (CelesTrak, 2026-06-13) over real sites (stations.yaml),
// against the pass finder itself and SGP4 pointing straight from contact-plans.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPropagator, findPasses, loadElementFile, loadStationsFile, PointingSolver, type ElementSet, type Station } from '../../contact-plans/index.ts';
import { compileHorizon, minElevationRadAt } from '../../contact-plans/horizon-mask.ts';
import {
  computePassSchedule, passEvents, prepareSatellites, StationPointing, trackSecondsOf, SCHEDULE_WINDOW_SEC_MAX,
} from '../../ground/index.ts';
import { OrbitfedError } from '../../common/index.ts';

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const START_MS = Date.UTC(2026, 5, 14);
const DAY_SEC = 86_400;
const DEG = 180 / Math.PI;
const RAD = Math.PI / 180;

let iss: ElementSet;
let leo: readonly ElementSet[];
let stations: Map<string, Station>;

beforeAll(async () => {
  const loaded = await loadElementFile(fixture('passes/leo1000.tle'), { checksum: 'strict' });
  leo = loaded.elements.slice(0, 20);
  iss = loaded.elements.find((e) => e.catalogNumber === '25544')!;
  stations = new Map((await loadStationsFile(fixture('stations/stations.yaml'))).map((s) => [s.id, s]));
});

describe('a pass schedule', () => {
  it('lists exactly the passes findPasses finds, with name, NORAD id, AOS, TCA, LOS and maximum elevation', () => {
    const station = stations.get('WALLOPS')!;
    const schedule = computePassSchedule(station, prepareSatellites([iss]), { startMs: START_MS, durationSec: DAY_SEC, defaultMinElevationDeg: 10 });
    const propagator = createPropagator(iss);
    if (!propagator.ok) throw new Error(propagator.message);
    const reference = findPasses([propagator.propagator], [station], { window: { startMs: START_MS, durationSec: DAY_SEC }, defaultMinElevationDeg: 10 });
    expect(schedule.passes.length).toBe(reference.table.length);
    expect(schedule.passes.length).toBeGreaterThanOrEqual(3);
    const c = reference.table.columns;
    schedule.passes.forEach((pass, i) => {
      expect(pass.satellite).toBe('ISS (ZARYA)');
      expect(pass.noradId).toBe('25544');
      expect(pass.aosMs).toBe(START_MS + c.aosSec[i]! * 1000);
      expect(pass.tcaMs).toBe(START_MS + c.tcaSec[i]! * 1000);
      expect(pass.losMs).toBe(START_MS + c.losSec[i]! * 1000);
      expect(pass.maxElevationDeg).toBe(c.maxElevationDeg[i]!);
      expect(pass.maxElevationDeg).toBeGreaterThanOrEqual(10);
      expect(pass.aosMs).toBeLessThan(pass.tcaMs);
      expect(pass.tcaMs).toBeLessThan(pass.losMs);
    });
    expect(schedule.stationId).toBe('WALLOPS');
    expect(schedule.endMs - schedule.startMs).toBe(DAY_SEC * 1000);
  });

  it('orders passes of many satellites by AOS and gives their events in time order, LOS first at a tie', () => {
    const schedule = computePassSchedule(stations.get('SVALBARD')!, prepareSatellites(leo), { startMs: START_MS, durationSec: 6 * 3600, defaultMinElevationDeg: 10 });
    expect(schedule.passes.length).toBeGreaterThan(20);
    for (let i = 1; i < schedule.passes.length; i++) expect(schedule.passes[i]!.aosMs).toBeGreaterThanOrEqual(schedule.passes[i - 1]!.aosMs);
    const events = passEvents(schedule);
    const untruncated = schedule.passes.filter((p) => !p.aosTruncated).length + schedule.passes.filter((p) => !p.losTruncated).length;
    expect(events.length).toBe(untruncated);
    for (let i = 1; i < events.length; i++) expect(events[i]!.timeMs).toBeGreaterThanOrEqual(events[i - 1]!.timeMs);
    for (const satellite of new Set(schedule.passes.map((p) => p.satelliteIndex))) {
      const own = events.filter((e) => e.pass.satelliteIndex === satellite).map((e) => e.kind);
      // Each satellite alternates AOS, LOS (a window edge may cut the first or the last).
      for (let i = 1; i < own.length; i++) expect(own[i]).not.toBe(own[i - 1]);
    }
  });

  it('marks a pass cut by the window start as aosTruncated and gives no AOS event for it', () => {
    const whole = computePassSchedule(stations.get('WALLOPS')!, prepareSatellites([iss]), { startMs: START_MS, durationSec: DAY_SEC, defaultMinElevationDeg: 10 });
    const pass = whole.passes[0]!;
    const midMs = Math.round((pass.aosMs + pass.losMs) / 2);
    const cut = computePassSchedule(stations.get('WALLOPS')!, prepareSatellites([iss]), { startMs: midMs, durationSec: 3600, defaultMinElevationDeg: 10 });
    expect(cut.passes[0]!.aosTruncated).toBe(true);
    expect(cut.passes[0]!.aosMs).toBe(midMs);
    expect(Math.abs(cut.passes[0]!.losMs - pass.losMs)).toBeLessThan(0.01);
    expect(passEvents(cut).map((e) => e.kind)).toEqual(['los']);
  });

  it('reports a satellite SGP4 cannot initialise as a problem and schedules the others', () => {
    const broken: ElementSet = { ...iss, catalogNumber: '99999', name: 'BROKEN', tleLines: undefined, eccentricity: 1.5 };
    const satellites = prepareSatellites([broken, iss]);
    expect(satellites.problems).toHaveLength(1);
    expect(satellites.problems[0]).toMatchObject({ satellite: 'BROKEN', noradId: '99999' });
    const schedule = computePassSchedule(stations.get('WALLOPS')!, satellites, { startMs: START_MS, durationSec: DAY_SEC, defaultMinElevationDeg: 10 });
    expect(schedule.passes.length).toBeGreaterThan(0);
    expect(schedule.passes.every((p) => p.noradId === '25544')).toBe(true);
    const pointing = new StationPointing(stations.get('WALLOPS')!, satellites);
    expect(pointing.at(0, START_MS)).toMatchObject({ ok: false, code: 'ORBITFED_SCHEDULE_NO_PROPAGATOR' });
  });

  it.each([
    ['a fractional start', { startMs: START_MS + 0.5, durationSec: 60 }, /whole millisecond/],
    ['an empty window', { startMs: START_MS, durationSec: 0 }, /window length/],
    ['a window longer than a week', { startMs: START_MS, durationSec: SCHEDULE_WINDOW_SEC_MAX + 1 }, /window length/],
  ])('refuses %s', (_what, window, message) => {
    const run = (): unknown => computePassSchedule(stations.get('WALLOPS')!, prepareSatellites([iss]), { ...window, defaultMinElevationDeg: 10 });
    expect(run).toThrow(OrbitfedError);
    expect(run).toThrow(message);
  });
});

describe('antenna pointing for a pass', () => {
  it('samples every whole second from AOS to LOS, above the station horizon mask, peaking at the maximum elevation', () => {
    const station = stations.get('HARTEBEESTHOEK')!;
    const satellites = prepareSatellites([iss]);
    const schedule = computePassSchedule(station, satellites, { startMs: START_MS, durationSec: DAY_SEC, defaultMinElevationDeg: 10 });
    expect(schedule.passes.length).toBeGreaterThanOrEqual(2);
    const horizon = compileHorizon(station, 10);
    const pointing = new StationPointing(station, satellites);
    for (const pass of schedule.passes) {
      const seconds = trackSecondsOf(pass);
      expect(seconds.firstMs).toBeGreaterThanOrEqual(pass.aosMs);
      expect(seconds.firstMs - pass.aosMs).toBeLessThan(1000);
      expect(seconds.lastMs).toBeLessThanOrEqual(pass.losMs);
      expect(pass.losMs - seconds.lastMs).toBeLessThan(1000);
      let highestDeg = -90;
      for (let t: number = seconds.firstMs; t <= seconds.lastMs; t += 1000) {
        const result = pointing.at(0, t);
        if (!result.ok) throw new Error(result.message);
        const { sample } = result;
        expect(sample.timeMs).toBe(t);
        expect(sample.azimuthDeg).toBeGreaterThanOrEqual(0);
        expect(sample.azimuthDeg).toBeLessThan(360);
        expect(sample.elevationDeg).toBeGreaterThanOrEqual(minElevationRadAt(horizon, sample.azimuthDeg * RAD) * DEG - 1e-9);
        highestDeg = Math.max(highestDeg, sample.elevationDeg);
      }
      // Whole seconds straddle the culmination: the highest sample is within a second's motion of it.
      expect(highestDeg).toBeLessThanOrEqual(pass.maxElevationDeg + 1e-9);
      expect(pass.maxElevationDeg - highestDeg).toBeLessThan(0.05);
    }
  });

  it('is SGP4 pointing itself, and nothing for the current second outside the pass', () => {
    const station = stations.get('WALLOPS')!;
    const satellites = prepareSatellites([iss]);
    const pass = computePassSchedule(station, satellites, { startMs: START_MS, durationSec: DAY_SEC, defaultMinElevationDeg: 10 }).passes[0]!;
    const pointing = new StationPointing(station, satellites);
    const nowMs = pass.tcaMs + 123.4;
    const current = pointing.forCurrentSecond(pass, nowMs);
    const solver = new PointingSolver(satellites.propagators[0]!, station);
    const reference = solver.at(Math.floor(nowMs / 1000) * 1000, 0);
    if (typeof reference === 'number' || current === undefined || !current.ok) throw new Error('no pointing');
    expect(current.sample.timeMs).toBe(Math.floor(nowMs / 1000) * 1000);
    expect(current.sample.azimuthDeg).toBe(reference.azimuthDeg);
    expect(current.sample.elevationDeg).toBe(reference.elevationDeg);
    expect(current.sample.rangeKm).toBe(reference.rangeKm);
    expect(pointing.forCurrentSecond(pass, pass.aosMs - 1000)).toBeUndefined();
    expect(pointing.forCurrentSecond(pass, pass.losMs + 1000)).toBeUndefined();
  });
});
