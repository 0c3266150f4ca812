// Anchor for the pass-finder benchmark: the straightforward way to find passes with satellite.js.
// Every satellite is propagated every 10 s, look angles are taken from every station at each step,
// and each change of side of the elevation mask is bisected to 1 ms.
//
// This file imports satellite.js directly. It is the one exception to STYLE rule 17
// (`contact-plans/sgp4.ts` is otherwise the only importer): it is the naive baseline, i.e. what a
// user would write without orbitfed, so it must not go through our adapter or share our frames code.
// It misses passes that rise and set between two 10 s steps; that is part of what it measures.
import { ecfToLookAngles, eciToEcf, gstime, propagate, twoline2satrec, type EcfVec3, type GeodeticLocation, type SatRec } from 'satellite.js';
import type { Station, TimeWindow } from '../../contact-plans/index.ts';

export const STEP_SEC = 10;
export const BISECTION_TOLERANCE_MS = 1;

const RAD = Math.PI / 180;

export interface StepBisectPass {
  readonly satellite: number;
  readonly station: number;
  /** Unix ms; the window start when the satellite was already up. */
  readonly aosMs: number;
  /** Unix ms; the window end (or the last step SGP4 succeeded at) when the satellite was still up. */
  readonly losMs: number;
}

export interface StepBisectResult {
  readonly passes: readonly StepBisectPass[];
  /** Satellites whose propagation failed at some step (their search stops there). */
  readonly failedSatellites: number;
}

/** Earth-fixed position (km) of a satellite at a Unix ms time, or null when SGP4 fails. */
function earthFixedAt(satrec: SatRec, timeMs: number): EcfVec3<number> | null {
  const date = new Date(timeMs);
  const state = propagate(satrec, date);
  if (state === null) return null;
  return eciToEcf(state.position, gstime(date));
}

function isUp(satrec: SatRec, observer: GeodeticLocation, maskRad: number, timeMs: number): boolean {
  const ecf = earthFixedAt(satrec, timeMs);
  return ecf !== null && ecfToLookAngles(observer, ecf).elevation >= maskRad;
}

/** The first time (to BISECTION_TOLERANCE_MS) in (lowMs, highMs] at which the visibility differs from `upAtLow`. */
function bisectCrossing(satrec: SatRec, observer: GeodeticLocation, maskRad: number, lowMs: number, highMs: number, upAtLow: boolean): number {
  let low = lowMs;
  let high = highMs;
  while (high - low > BISECTION_TOLERANCE_MS) {
    const middle = (low + high) / 2;
    if (isUp(satrec, observer, maskRad, middle) === upAtLow) low = middle;
    else high = middle;
  }
  return high;
}

/** Passes of every satellite (given as TLE line pairs) over every station above a fixed elevation mask. */
export function stepBisectPasses(
  tles: readonly (readonly [string, string])[], stations: readonly Station[], window: TimeWindow, minElevationDeg: number,
): StepBisectResult {
  const maskRad = minElevationDeg * RAD;
  const observers: GeodeticLocation[] = stations.map((s) => ({
    longitude: s.longitudeDeg * RAD, latitude: s.latitudeDeg * RAD, height: s.altitudeM / 1000,
  }));
  const endMs = window.startMs + window.durationSec * 1000;
  const stepCount = Math.ceil(window.durationSec / STEP_SEC);
  const passes: StepBisectPass[] = [];
  let failedSatellites = 0;
  const aosMs = new Array<number | undefined>(stations.length);
  tles.forEach(([line1, line2], satellite) => {
    const satrec = twoline2satrec(line1, line2);
    aosMs.fill(undefined);
    let previousMs = window.startMs;
    let searchedToMs = endMs;
    for (let step = 0; step <= stepCount; step++) {
      const timeMs = Math.min(window.startMs + step * STEP_SEC * 1000, endMs);
      const ecf = earthFixedAt(satrec, timeMs);
      if (ecf === null) {
        failedSatellites++;
        searchedToMs = previousMs;
        break;
      }
      for (let station = 0; station < observers.length; station++) {
        const up = ecfToLookAngles(observers[station]!, ecf).elevation >= maskRad;
        const wasUp = aosMs[station] !== undefined;
        if (step === 0) {
          if (up) aosMs[station] = timeMs;
        } else if (up !== wasUp) {
          const crossingMs = bisectCrossing(satrec, observers[station]!, maskRad, previousMs, timeMs, wasUp);
          if (up) aosMs[station] = crossingMs;
          else {
            passes.push({ satellite, station, aosMs: aosMs[station]!, losMs: crossingMs });
            aosMs[station] = undefined;
          }
        }
      }
      previousMs = timeMs;
    }
    aosMs.forEach((aos, station) => {
      if (aos !== undefined) passes.push({ satellite, station, aosMs: aos, losMs: searchedToMs });
    });
  });
  return { passes, failedSatellites };
}
