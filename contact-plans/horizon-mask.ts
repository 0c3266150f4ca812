// A station's effective horizon: the minimum elevation a satellite must reach, as a function of
// azimuth, compiled once per station so that pass finding can evaluate it in a hot loop without
// allocating.
//
// The effective horizon is max(mask(az), floor), where `mask` is linear between the station's
// mask points and wraps from the last point through 360° to the first, and `floor` is the
// station's `minElevationDeg`, or the caller's default when the station gives none (the contract
// in `station.ts`). So a mask lower than the caller's default somewhere only takes effect when the
// station also states its own, lower, `minElevationDeg`. The maximum of two piecewise-linear
// functions is piecewise linear too: compilation inserts a vertex wherever the mask crosses the
// floor, so evaluation stays a single table look-up and one linear interpolation.
//
// Azimuth is measured clockwise from north, as in the station files. Everything here is radians.

import assert from 'node:assert';
import type { HorizonMaskPoint, Station } from './station.ts';

const TWO_PI = 2 * Math.PI;
const RAD_PER_DEG = Math.PI / 180;

/**
 * Buckets of the azimuth index: each 1° bucket stores the segment that contains its start, so a
 * look-up scans forward from there over at most the vertices inside that degree.
 */
const AZIMUTH_BUCKET_COUNT = 360;
const AZIMUTH_BUCKETS_PER_RAD = AZIMUTH_BUCKET_COUNT / TWO_PI;

/** Horizon mask points compileHorizon accepts (0.1° resolution all round); the file schema holds the same bound. */
export const HORIZON_MASK_POINTS_MAX = 3600;

/** The same minimum elevation in every direction: no mask, or a mask entirely below the floor. */
export interface ConstantHorizon {
  readonly constant: true;
  readonly minElevationRad: number;
  readonly lowestElevationRad: number;
  readonly highestElevationRad: number;
}

/** A piecewise-linear horizon over azimuth [0, 2π], as parallel vertex tables. */
export interface MaskedHorizon {
  readonly constant: false;
  /** Vertex azimuths, strictly increasing, first exactly 0 and last exactly 2π. */
  readonly azimuthRad: Float64Array;
  /** Effective minimum elevation at each vertex (floor already applied); last equals first. */
  readonly elevationRad: Float64Array;
  /** d(elevation)/d(azimuth) of the segment starting at each vertex (rad per rad); length n − 1. */
  readonly slope: Float64Array;
  /** For each 1° bucket of azimuth, the index of the segment containing the bucket's start. */
  readonly bucketSegment: Int32Array;
  readonly lowestElevationRad: number;
  readonly highestElevationRad: number;
}

export type Horizon = ConstantHorizon | MaskedHorizon;

/**
 * Compiles a station's effective horizon. `defaultMinElevationDeg` is the floor for stations that
 * give no `minElevationDeg` of their own. The mask, when present, must have at least two points
 * with strictly increasing azimuths in [0°, 360°] (the station file loader guarantees this; other
 * callers get an assertion error).
 */
export function compileHorizon(
  station: Pick<Station, 'minElevationDeg' | 'horizonMask'>,
  defaultMinElevationDeg: number,
): Horizon {
  const floorDeg = station.minElevationDeg ?? defaultMinElevationDeg;
  assert(Number.isFinite(floorDeg), 'minimum elevation must be finite');
  const floorRad = floorDeg * RAD_PER_DEG;
  const mask = station.horizonMask;
  if (mask === undefined) return constantHorizon(floorRad);

  const table = maskTableOverFullCircle(mask);
  const withCrossings = insertFloorCrossings(table, floorRad);
  const n = withCrossings.azimuthRad.length;
  const elevationRad = new Float64Array(n);
  let lowest = Infinity;
  let highest = -Infinity;
  for (let i = 0; i < n; i++) {
    const e = Math.max(withCrossings.elevationRad[i], floorRad);
    elevationRad[i] = e;
    if (e < lowest) lowest = e;
    if (e > highest) highest = e;
  }
  // Mask everywhere at or below the floor: skip the table entirely in the hot loop.
  if (highest === lowest) return constantHorizon(lowest);

  const azimuthRad = Float64Array.from(withCrossings.azimuthRad);
  const slope = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) {
    slope[i] = (elevationRad[i + 1] - elevationRad[i]) / (azimuthRad[i + 1] - azimuthRad[i]);
  }
  const bucketSegment = new Int32Array(AZIMUTH_BUCKET_COUNT);
  let segment = 0;
  for (let b = 0; b < AZIMUTH_BUCKET_COUNT; b++) {
    const bucketStartRad = b / AZIMUTH_BUCKETS_PER_RAD;
    while (azimuthRad[segment + 1] <= bucketStartRad) segment++;
    bucketSegment[b] = segment;
  }
  return {
    constant: false,
    azimuthRad,
    elevationRad,
    slope,
    bucketSegment,
    lowestElevationRad: lowest,
    highestElevationRad: highest,
  };
}

/** Effective minimum elevation (rad) towards `azimuthRad` (any real; taken modulo 2π). */
export function minElevationRadAt(horizon: Horizon, azimuthRad: number): number {
  if (horizon.constant) return horizon.minElevationRad;
  const az = normaliseAzimuthRad(azimuthRad);
  const i = segmentIndex(horizon, az);
  return horizon.elevationRad[i] + horizon.slope[i] * (az - horizon.azimuthRad[i]);
}

/**
 * d(minimum elevation)/d(azimuth) towards `azimuthRad`, in rad per rad. At a vertex, where the
 * horizon has a kink, this is the slope of the segment that starts there (the right derivative,
 * i.e. looking clockwise).
 */
export function minElevationSlopeAt(horizon: Horizon, azimuthRad: number): number {
  if (horizon.constant) return 0;
  return horizon.slope[segmentIndex(horizon, normaliseAzimuthRad(azimuthRad))];
}

function constantHorizon(minElevationRad: number): ConstantHorizon {
  return {
    constant: true,
    minElevationRad,
    lowestElevationRad: minElevationRad,
    highestElevationRad: minElevationRad,
  };
}

/** Maps any azimuth into [0, 2π). */
function normaliseAzimuthRad(azimuthRad: number): number {
  let az = azimuthRad % TWO_PI;
  if (az < 0) az += TWO_PI;
  // -1e-17 + 2π rounds to 2π itself; that direction is north.
  return az >= TWO_PI ? 0 : az;
}

/** Index i of the segment [azimuthRad[i], azimuthRad[i + 1]) containing az ∈ [0, 2π). */
function segmentIndex(horizon: MaskedHorizon, az: number): number {
  const bucket = Math.min((az * AZIMUTH_BUCKETS_PER_RAD) | 0, AZIMUTH_BUCKET_COUNT - 1);
  let i = horizon.bucketSegment[bucket];
  // az · buckets/rad can round up into the next bucket when az sits just below its start.
  while (i > 0 && horizon.azimuthRad[i] > az) i--;
  // The last vertex is exactly 2π > az, so this stops inside the table.
  while (horizon.azimuthRad[i + 1] <= az) i++;
  return i;
}

interface VertexTable {
  readonly azimuthRad: number[];
  readonly elevationRad: number[];
}

/**
 * Re-expresses the mask as vertices from azimuth 0 to exactly 2π: the mask's value at north is
 * interpolated on the segment that wraps from the last point to the first, and becomes both the
 * first and the last vertex.
 */
function maskTableOverFullCircle(mask: readonly HorizonMaskPoint[]): VertexTable {
  assert(mask.length >= 2, 'a horizon mask needs at least two points');
  assert(mask.length <= HORIZON_MASK_POINTS_MAX, `a horizon mask has at most ${HORIZON_MASK_POINTS_MAX} points`);
  for (let i = 0; i < mask.length; i++) {
    const p = mask[i];
    assert(p.azimuthDeg >= 0 && p.azimuthDeg <= 360, 'horizon mask azimuth must be in [0, 360]');
    assert(Number.isFinite(p.minElevationDeg), 'horizon mask elevation must be finite');
    if (i > 0) assert(p.azimuthDeg > mask[i - 1].azimuthDeg, 'horizon mask azimuths must strictly increase');
  }
  const first = mask[0];
  const last = mask[mask.length - 1];
  let northDeg: number;
  if (first.azimuthDeg === 0 && last.azimuthDeg === 360) {
    assert(first.minElevationDeg === last.minElevationDeg, 'mask points at 0° and 360° must agree');
    northDeg = first.minElevationDeg;
  } else if (first.azimuthDeg === 0) {
    northDeg = first.minElevationDeg;
  } else if (last.azimuthDeg === 360) {
    northDeg = last.minElevationDeg;
  } else {
    // Wrap segment runs from (last.az − 360) < 0 to first.az > 0.
    const fromDeg = last.azimuthDeg - 360;
    const t = (0 - fromDeg) / (first.azimuthDeg - fromDeg);
    northDeg = last.minElevationDeg + t * (first.minElevationDeg - last.minElevationDeg);
  }
  const azimuthRad = [0];
  const elevationRad = [northDeg * RAD_PER_DEG];
  for (const p of mask) {
    if (p.azimuthDeg > 0 && p.azimuthDeg < 360) {
      azimuthRad.push(p.azimuthDeg * RAD_PER_DEG);
      elevationRad.push(p.minElevationDeg * RAD_PER_DEG);
    }
  }
  // Exactly 2π, not 360 · (π/180), so the table's end matches the azimuth normalisation.
  azimuthRad.push(TWO_PI);
  elevationRad.push(northDeg * RAD_PER_DEG);
  return { azimuthRad, elevationRad };
}

/** Adds a vertex wherever a segment crosses the floor strictly inside it, so max(mask, floor) is exact. */
function insertFloorCrossings(table: VertexTable, floorRad: number): VertexTable {
  const azimuthRad = [table.azimuthRad[0]];
  const elevationRad = [table.elevationRad[0]];
  for (let i = 1; i < table.azimuthRad.length; i++) {
    const a0 = table.azimuthRad[i - 1];
    const e0 = table.elevationRad[i - 1];
    const a1 = table.azimuthRad[i];
    const e1 = table.elevationRad[i];
    if ((e0 - floorRad) * (e1 - floorRad) < 0) {
      const crossingRad = a0 + ((floorRad - e0) / (e1 - e0)) * (a1 - a0);
      // Rounding can land a crossing on an end of a very short segment; a zero-length segment would
      // make its slope NaN.
      if (crossingRad > a0 && crossingRad < a1) {
        azimuthRad.push(crossingRad);
        elevationRad.push(floorRad);
      }
    }
    azimuthRad.push(a1);
    elevationRad.push(e1);
  }
  return { azimuthRad, elevationRad };
}
