// Inter-satellite line of sight: for satellite pairs, every interval during which (a) the straight
// segment between them clears a sphere of radius R = R_E + grazing altitude and (b) their range is
// at most a maximum range. Both directions of a link share the window; the plan builder makes two
// directed contacts of it.
//
// Method (every window edge exact to ~1 µs on SGP4; pairs are O(N²), so the work per pair is small):
// 1. Each satellite is sampled once (`trajectory.ts`: SGP4 at one node per curvature scale, cubic
//    Hermite between), then resampled from its own interpolant onto one common grid of ≤ 30 s
//    steps (position and exact derivative). Node grids differ between orbits; the common grid is
//    what lets a pair be evaluated without interpolating at all, and it is built once per
//    satellite, not once per pair.
// 2. Two functions decide visibility, each root-found on its own and the intervals intersected:
//      clearance(t)   = distance from the Earth's centre to the segment − R   (≥ 0: clear)
//      rangeMargin(t) = maxRange − |r_b − r_a|                                (≥ 0: in range)
//    The segment's closest point is interior or an endpoint (then the distance is that
//    satellite's own radius); the distance is C¹ in time all the same (envelope theorem), and
//    both functions have analytic derivatives from the states' velocities.
// 3. Pruning: pairs whose radius bands cannot come within the maximum range, or with a satellite
//    below the sphere throughout, are skipped. Along a pair, while out of sight, stretches are
//    jumped over as long as the failing condition cannot recover: the distance to the segment
//    moves no faster than its fastest endpoint, and the range no faster than ρ̇0·τ − ½·|a_rel|·τ²
//    allows (ρ̈ ≥ −|a_rel|). Windows themselves are walked grid step by grid step (their range
//    extremes are wanted). Pairs are taken 16 first satellites at a time against each second one,
//    so a satellite's grid states are fetched from memory once per 16 pairs.
// 4. In the remaining grid steps, sign changes of a function are crossings; a sign change of its
//    derivative with the function on one side at both ends may hide a short excursion, checked
//    with SGP4 whenever the interpolated extremum comes within 1 km of zero. Crossings of one
//    condition while the other certainly fails are not polished (they change nothing).
// 5. Every crossing that matters is polished by Newton steps on SGP4 itself (derivatives from the
//    SGP4 velocities; bisection on SGP4 if Newton misbehaves). Minimum and maximum range come from
//    the interpolant at its extrema (within the interpolation error, ~20 m in LEO, i.e. < 0.1 µs
//    of light time) or from SGP4 at the window edges.
//
// Guarantee, as for passes: a window is found however short, provided each function has at most
// one extremum per grid step near zero (they change on the scale of minutes). Tested against a
// brute-force search (`test/contact-plans/isl.test.ts`): LEO, OneWeb and Starlink, and MEO, GEO
// and HEO orbits, every window found, none extra, edges within a few µs. A pair with a satellite
// whose SGP4 fails is searched up to the last grid point before the failure (window flagged
// end-truncated there), and the failure reported as a problem.
// Limits: `ISL_GRID_BYTES_MAX` of grid (refused above), `windowsMax` windows (an error above),
// `ISL_THREADS_MAX` threads. Measured (2 cores, Node 24): the 1000 LEO satellites of
// `passes/leo1000.tle` over 24 h, 4,989,254 windows, in 19 s on 2 threads, 36 s on one.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { OrbitfedError } from '../common/index.ts';
import { WGS84_A_KM } from './earth-frames.ts';
import type { ElementSet } from './element-set.ts';
import { illinoisRoot } from './illinois-root.ts';
import { ColumnTable, type Columns, type RowOf } from './column-table.ts';
import { initialisePropagators } from './pass-search.ts';
import type { SatelliteProblem } from './passes.ts';
import { sgp4StatusCode, sgp4StatusText, type Propagator } from './sgp4.ts';
import { ExactStateSource, interpolateState, sampleTrajectory, type SampledTrajectory, type TimeWindow } from './trajectory.ts';

/**
 * Radius of the sphere the line of sight must clear, below the grazing altitude: the WGS84
 * equatorial radius. The ellipsoid lies inside this sphere, so at high latitudes the criterion is
 * conservative by up to 21 km (the polar radius is 6356.752 km).
 */
export const ISL_EARTH_RADIUS_KM = WGS84_A_KM;
/** Default grazing altitude, the Kármán line: a beam that stays above it crosses practically no atmosphere. */
export const ISL_GRAZING_ALTITUDE_KM_DEFAULT = 100;
/**
 * Default maximum range: a round figure of the order of the ranges today's LEO optical terminals are
 * built for (a few thousand km); set it from the terminal's link budget.
 */
export const ISL_MAX_RANGE_KM_DEFAULT = 5000;
/** Default bound on windows in one search (~50 bytes each: ~1 GB of columns). */
export const ISL_WINDOWS_MAX_DEFAULT = 20_000_000;
/** Bound on the common grid (48 bytes per satellite per step): 1000 LEO satellites × 24 h need 138 MB. */
export const ISL_GRID_BYTES_MAX = 1024 * 1024 * 1024;
/** Upper bound on worker threads, whatever the machine says. */
export const ISL_THREADS_MAX = 64;

/** Grid step: far shorter than the time scale of either function near zero (minutes). */
const GRID_STEP_MAX_SEC = 30;
/** Bound on how much faster than at any node a satellite may move between nodes. */
const SPEED_MARGIN = 1.25;
/** Earth's gravitational parameter (WGS84) and rotation rate, for a bound on Earth-fixed accelerations. */
const MU_KM3_PER_SEC2 = 398600.4418;
const EARTH_ROTATION_RAD_PER_SEC = 7.2921159e-5;
/** Gravity beyond the point mass (J2 adds ≤ 0.2 % at LEO), with slack. */
const GRAVITY_MARGIN = 1.01;
/** Margin on the node radii for the radius bands: the interpolant may bulge slightly between nodes. */
const RADIUS_MARGIN_FRACTION = 0.002;
const RADIUS_MARGIN_KM = 5;
/**
 * An extremum of either function on the interpolant within this much of zero is checked with SGP4.
 * Far above the interpolation error: per satellite at most 11 m in LEO and 200 m for HEO (measured
 * over the pass oracle sets, `README.md`); the range errs by at most the sum of both, the clearance
 * by at most the larger (the distance to a segment moves no faster than its endpoints).
 */
const INTERPOLATION_DOUBT_KM = 1;
/**
 * Newton on SGP4 stops after a step δ once its error is below `NEWTON_ERROR_SEC` (and δ below
 * `NEWTON_STEP_ACCEPTED_MAX_SEC`). That error is |f''|·δ²/(2|f'|) (quadratic convergence; |f''|
 * from the curvature of the step's cubic × `CURVATURE_SAFETY`, at least `CURVATURE_FLOOR`) plus
 * |δ|·ε/|f'|, where ε bounds how far SGP4's velocity is from the derivative of its position:
 * measured against central differences of SGP4 positions over 24 h: at most 2.1e-5 km/s for LEO
 * (SGP4) and 9.6e-3 km/s for deep-space orbits (SDP4; MMS, e = 0.83, is the worst of nonleo60).
 */
const NEWTON_STEP_ACCEPTED_MAX_SEC = 0.05;
const NEWTON_ERROR_SEC = 1e-5;
const CURVATURE_SAFETY = 4;
const CURVATURE_FLOOR_KM_PER_SEC2 = 0.01;
const VELOCITY_INCONSISTENCY_NEAR_EARTH_KM_PER_SEC = 1e-4;
const VELOCITY_INCONSISTENCY_DEEP_SPACE_KM_PER_SEC = 2e-2;
const NEWTON_ITERATIONS_MAX = 8;
const BISECTION_TOLERANCE_SEC = 1e-7;
/**
 * Extrema are located to this: values are flat there (an error δ costs ½|f''|δ²). A function that
 * may hide an excursion gets 1 ms (an excursion it misses lasts < 2 ms); the range 10 ms (≲ 10 m
 * even at a 1 km close approach at 15 km/s, the interpolation error).
 */
const EXCURSION_TOLERANCE_SEC = 1e-3;
const RANGE_EXTREMUM_TOLERANCE_SEC = 1e-2;
const ROOT_ITERATIONS_MAX = 60;
/** Rows searched together against each second satellite (cache locality of the grid). */
const ROW_BLOCK = 16;
/** Row ranges handed to a worker at a time, per thread: enough to balance uneven rows. */
const CHUNKS_PER_THREAD = 16;

// ---------------------------------------------------------------------------------------------
// Windows in columns

export const IslFlags = {
  startTruncated: 1,
  endTruncated: 2,
  /** Visible for the whole window (both ends truncated). */
  alwaysVisible: 4,
} as const;

export interface IslColumns extends Columns {
  /** Satellite indices (into the element list), satelliteA < satelliteB. */
  satelliteA: Int32Array;
  satelliteB: Int32Array;
  /** Seconds after the window start. */
  startSec: Float64Array;
  endSec: Float64Array;
  minRangeKm: Float64Array;
  minRangeTimeSec: Float64Array;
  /** Largest range during the window, for a conservative light time. */
  maxRangeKm: Float64Array;
  flags: Uint8Array;
}

/** One window; structurally a `SatelliteWindow` of the plan builder. */
export type IslRow = RowOf<IslColumns>;


function allocateIslColumns(capacity: number): IslColumns {
  return {
    satelliteA: new Int32Array(capacity),
    satelliteB: new Int32Array(capacity),
    startSec: new Float64Array(capacity),
    endSec: new Float64Array(capacity),
    minRangeKm: new Float64Array(capacity),
    minRangeTimeSec: new Float64Array(capacity),
    maxRangeKm: new Float64Array(capacity),
    flags: new Uint8Array(capacity),
  };
}

/** A growable table of windows; `length` rows of `columns` are valid. */
export class IslTable extends ColumnTable<IslColumns> {
  constructor(columns?: IslColumns, length = 0) {
    super(allocateIslColumns, columns, length);
  }

  /** Every row as an object (each is a `SatelliteWindow` for the plan builder); the columns are leaner for millions. */
  rows(): IslRow[] {
    return Array.from({ length: this.length }, (_, i) => this.row(i));
  }

  /** Reorders rows `from`… by first satellite, keeping the order of rows with the same one (a counting sort). */
  groupByFirstSatellite(from: number): void {
    const n = this.length - from;
    if (n < 2) return;
    const c = this.columns;
    let low = Infinity;
    let high = -Infinity;
    for (let i = from; i < this.length; i += 1) {
      low = Math.min(low, c.satelliteA[i]!);
      high = Math.max(high, c.satelliteA[i]!);
    }
    if (low === high) return;
    const next = new Int32Array(high - low + 2);
    for (let i = from; i < this.length; i += 1) next[c.satelliteA[i]! - low + 1]! += 1;
    for (let k = 1; k < next.length; k += 1) next[k]! += next[k - 1]!;
    const order = new Int32Array(n);
    for (let i = from; i < this.length; i += 1) order[next[c.satelliteA[i]! - low]!++] = i;
    for (const key of this.keys) {
      const column = c[key] as Float64Array;
      const segment = column.slice(from, this.length);
      for (let k = 0; k < n; k += 1) column[from + k] = segment[order[k]! - from]!;
    }
  }

}

// ---------------------------------------------------------------------------------------------
// Options

export interface IslSearchOptions {
  readonly window: TimeWindow;
  /** Longest usable link, km (default `ISL_MAX_RANGE_KM_DEFAULT`, 5,000 km). */
  readonly maxRangeKm?: number;
  /** Lowest altitude above `ISL_EARTH_RADIUS_KM` the line of sight may pass, km (default 100; may be negative). */
  readonly grazingAltitudeKm?: number;
  /**
   * Indices (into the element list) of the satellites that carry terminals; only pairs of two of
   * them are searched. Default: every satellite. (A set of indices rather than a predicate, so it
   * crosses to worker threads.)
   */
  readonly terminalSatellites?: readonly number[];
  /** Bound on windows found; more is an error (`ORBITFED_ISL_TOO_MANY_WINDOWS`). Default 20 million. */
  readonly windowsMax?: number;
}

/** Options with defaults applied and checked. */
export interface IslResolvedOptions {
  readonly window: TimeWindow;
  readonly maxRangeKm: number;
  readonly grazingAltitudeKm: number;
  /** Radius of the sphere the line of sight must clear, km. */
  readonly sphereRadiusKm: number;
  /** Sorted, distinct satellite indices that take part. */
  readonly satellites: Int32Array;
  readonly windowsMax: number;
}

function tooManyWindows(windowsMax: number): OrbitfedError {
  return new OrbitfedError('ORBITFED_ISL_TOO_MANY_WINDOWS', `more than ${windowsMax} inter-satellite windows: raise windowsMax or search fewer pairs`, {
    field: 'windowsMax',
  });
}

function invalid(field: string, message: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_ISL_OPTIONS', message, { field });
}

/** Applies defaults and refuses options that make no sense (with the field named). */
export function resolveIslOptions(options: IslSearchOptions, satelliteCount: number): IslResolvedOptions {
  const window = options.window;
  if (!Number.isInteger(window.startMs)) throw invalid('window.startMs', `window start must be a whole Unix millisecond, got ${window.startMs}`);
  if (!(Number.isFinite(window.durationSec) && window.durationSec > 0)) {
    throw invalid('window.durationSec', `window must have a positive finite length, got ${window.durationSec}`);
  }
  const maxRangeKm = options.maxRangeKm ?? ISL_MAX_RANGE_KM_DEFAULT;
  if (!(Number.isFinite(maxRangeKm) && maxRangeKm > 0)) throw invalid('maxRangeKm', `maximum range must be a positive finite number of km, got ${maxRangeKm}`);
  const grazingAltitudeKm = options.grazingAltitudeKm ?? ISL_GRAZING_ALTITUDE_KM_DEFAULT;
  if (!(Number.isFinite(grazingAltitudeKm) && grazingAltitudeKm > -ISL_EARTH_RADIUS_KM)) {
    throw invalid('grazingAltitudeKm', `grazing altitude must be a finite number of km above −${ISL_EARTH_RADIUS_KM} (the Earth's centre), got ${grazingAltitudeKm}`);
  }
  const windowsMax = options.windowsMax ?? ISL_WINDOWS_MAX_DEFAULT;
  if (!(Number.isInteger(windowsMax) && windowsMax > 0)) throw invalid('windowsMax', `windowsMax must be a positive integer, got ${windowsMax}`);
  let satellites: Int32Array;
  if (options.terminalSatellites === undefined) {
    satellites = Int32Array.from({ length: satelliteCount }, (_, i) => i);
  } else {
    for (const s of options.terminalSatellites) {
      if (!(Number.isInteger(s) && s >= 0 && s < satelliteCount)) {
        throw invalid('terminalSatellites', `satellite index ${s} is not one of the ${satelliteCount} element sets`);
      }
    }
    satellites = Int32Array.from(new Set(options.terminalSatellites)).sort();
  }
  return { window, maxRangeKm, grazingAltitudeKm, sphereRadiusKm: ISL_EARTH_RADIUS_KM + grazingAltitudeKm, satellites, windowsMax };
}

// ---------------------------------------------------------------------------------------------
// Ephemeris: every satellite's trajectory nodes and its resampling on the common grid

/**
 * Plain typed-array data, built once and shared by every pair (and, backed by SharedArrayBuffers,
 * by every worker thread without a copy).
 */
export interface IslEphemeris {
  readonly window: TimeWindow;
  readonly satelliteCount: number;
  readonly gridStepSec: number;
  readonly gridIntervals: number;
  /** Earth-fixed states (km, km/s) on the grid, satellite-major: 6 × (gridIntervals + 1) per satellite. */
  readonly gridStates: Float64Array;
  /** Grid intervals with valid states at both ends, per satellite (0: not usable). */
  readonly gridValidIntervals: Int32Array;
  /** The trajectories of `trajectory.ts`, flattened: node states, radii, first node of each satellite. */
  readonly nodeStates: Float64Array;
  readonly nodeRadiusKm: Float64Array;
  readonly nodeFirst: Int32Array;
  readonly nodeSpacingSec: Float64Array;
  readonly nodeValidIntervals: Int32Array;
  readonly angularRateMaxRadPerSec: Float64Array;
  readonly failureStatus: Int32Array;
  readonly failureSec: Float64Array;
  /** Radius bands over the nodes, for pruning. */
  readonly radiusMinKm: Float64Array;
  readonly radiusMaxKm: Float64Array;
  /** Largest Earth-fixed speed over the nodes × `SPEED_MARGIN`: a bound between nodes too. */
  readonly speedMaxKmPerSec: Float64Array;
  /**
   * Bound on the Earth-fixed acceleration, a_ef = a − 2ω × v_ef − ω × (ω × r): gravity at the
   * lowest radius plus the Coriolis (2ω|v_ef|) and centrifugal (ω²r) terms.
   */
  readonly accelerationMaxKmPerSec2: Float64Array;
}

export interface IslEphemerisResult {
  readonly ephemeris: IslEphemeris;
  /** SGP4 failures during the window, by satellite. */
  readonly problems: readonly SatelliteProblem[];
  readonly sgp4Calls: number;
}

function float64(length: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(8 * length)) : new Float64Array(length);
}

function int32(length: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(4 * length)) : new Int32Array(length);
}

/** The grid step for a window: ≤ 30 s, dividing the window evenly. */
export function islGridIntervals(durationSec: number): number {
  return Math.max(1, Math.ceil(durationSec / GRID_STEP_MAX_SEC));
}

/**
 * Samples every propagator (`undefined` slots, satellites SGP4 could not initialise, stay unusable)
 * and resamples each onto the common grid. `shared` backs the arrays with SharedArrayBuffers.
 */
export function buildIslEphemeris(propagators: readonly (Propagator | undefined)[], window: TimeWindow, shared = false): IslEphemerisResult {
  const n = propagators.length;
  const gridIntervals = islGridIntervals(window.durationSec);
  const gridStepSec = window.durationSec / gridIntervals;
  const gridBytes = n * (gridIntervals + 1) * 6 * 8;
  if (gridBytes > ISL_GRID_BYTES_MAX) {
    throw new OrbitfedError(
      'ORBITFED_ISL_TOO_LARGE',
      `${n} satellites over ${window.durationSec} s need ${(gridBytes / 2 ** 20).toFixed(0)} MiB of grid (limit ${ISL_GRID_BYTES_MAX / 2 ** 20} MiB): search shorter windows`,
    );
  }
  const problems: SatelliteProblem[] = [];
  let sgp4Calls = 0;
  const trajectories = propagators.map((propagator, satellite) => {
    if (propagator === undefined) return undefined;
    const source = new ExactStateSource(propagator, window);
    const traj = sampleTrajectory(source);
    sgp4Calls += source.sgp4Calls;
    if (traj.failureStatus !== 0) {
      problems.push({
        satellite,
        code: sgp4StatusCode(traj.failureStatus),
        message: `SGP4 stopped at ${traj.failureSec.toFixed(0)} s into the window: ${sgp4StatusText(traj.failureStatus)}`,
        atSec: traj.failureSec,
      });
    }
    return traj;
  });
  const nodeFirst = int32(n + 1, shared);
  for (let s = 0; s < n; s += 1) nodeFirst[s + 1] = nodeFirst[s]! + (trajectories[s]?.radiusKm.length ?? 0);
  const nodeCount = nodeFirst[n]!;
  const e: IslEphemeris = {
    window,
    satelliteCount: n,
    gridStepSec,
    gridIntervals,
    gridStates: float64(n * (gridIntervals + 1) * 6, shared),
    gridValidIntervals: int32(n, shared),
    nodeStates: float64(6 * nodeCount, shared),
    nodeRadiusKm: float64(nodeCount, shared),
    nodeFirst,
    nodeSpacingSec: float64(n, shared),
    nodeValidIntervals: int32(n, shared),
    angularRateMaxRadPerSec: float64(n, shared),
    failureStatus: int32(n, shared),
    failureSec: float64(n, shared),
    radiusMinKm: float64(n, shared),
    radiusMaxKm: float64(n, shared),
    speedMaxKmPerSec: float64(n, shared),
    accelerationMaxKmPerSec2: float64(n, shared),
  };
  const state = new Float64Array(6);
  trajectories.forEach((traj, s) => {
    if (traj === undefined) return;
    const first = nodeFirst[s]!;
    e.nodeStates.set(traj.states, 6 * first);
    e.nodeRadiusKm.set(traj.radiusKm, first);
    e.nodeSpacingSec[s] = traj.spacingSec;
    e.nodeValidIntervals[s] = traj.validIntervals;
    e.angularRateMaxRadPerSec[s] = traj.angularRateMaxRadPerSec;
    e.failureStatus[s] = traj.failureStatus;
    e.failureSec[s] = traj.failureSec;
    if (traj.validIntervals === 0) return;
    let radiusMin = Infinity;
    let speedMax = 0;
    for (let k = 0; k <= traj.validIntervals; k += 1) {
      const o = 6 * k;
      const st = traj.states;
      radiusMin = Math.min(radiusMin, traj.radiusKm[k]!);
      speedMax = Math.max(speedMax, Math.sqrt(st[o + 3]! * st[o + 3]! + st[o + 4]! * st[o + 4]! + st[o + 5]! * st[o + 5]!));
    }
    e.radiusMinKm[s] = radiusMin;
    e.radiusMaxKm[s] = traj.radiusMaxKm;
    e.speedMaxKmPerSec[s] = speedMax * SPEED_MARGIN;
    const lowestKm = radiusMin - radiusMarginKm(radiusMin);
    const w = EARTH_ROTATION_RAD_PER_SEC;
    e.accelerationMaxKmPerSec2[s] =
      (GRAVITY_MARGIN * MU_KM3_PER_SEC2) / (lowestKm * lowestKm) + 2 * w * speedMax * SPEED_MARGIN + w * w * (traj.radiusMaxKm + radiusMarginKm(traj.radiusMaxKm));
    // Grid points up to the last valid node: all of them unless SGP4 failed during the window.
    const validEndSec = traj.failureStatus === 0 ? window.durationSec : traj.validIntervals * traj.spacingSec;
    const valid = traj.failureStatus === 0 ? gridIntervals : Math.min(gridIntervals, Math.floor(validEndSec / gridStepSec));
    e.gridValidIntervals[s] = valid;
    const base = s * (gridIntervals + 1) * 6;
    for (let i = 0; i <= valid; i += 1) {
      const tSec = i === gridIntervals ? window.durationSec : i * gridStepSec;
      interpolateState(traj, nodeInterval(traj.spacingSec, traj.validIntervals, tSec), tSec, state);
      e.gridStates.set(state, base + 6 * i);
    }
  });
  return { ephemeris: e, problems, sgp4Calls };
}

const radiusMarginKm = (radiusKm: number): number => radiusKm * RADIUS_MARGIN_FRACTION + RADIUS_MARGIN_KM;

/** The node interval holding `tSec` (clamped to the valid ones). */
function nodeInterval(spacingSec: number, validIntervals: number, tSec: number): number {
  return Math.max(0, Math.min(validIntervals - 1, Math.floor(tSec / spacingSec)));
}

// ---------------------------------------------------------------------------------------------
// The two visibility functions

/** Both functions, their derivatives and the range at one instant, from interpolant or SGP4. */
interface PairSample {
  tSec: number;
  /** Distance from the Earth's centre to the segment minus the sphere radius. */
  clearanceKm: number;
  clearanceKmPerSec: number;
  /** Maximum range minus range. */
  rangeMarginKm: number;
  rangeMarginKmPerSec: number;
  rangeKm: number;
  rangeKmPerSec: number;
}

type SampleField = Exclude<keyof PairSample, 'tSec'>;

const newSample = (): PairSample => ({
  tSec: 0, clearanceKm: 0, clearanceKmPerSec: 0, rangeMarginKm: 0, rangeMarginKmPerSec: 0, rangeKm: 0, rangeKmPerSec: 0,
});

/**
 * Evaluates the functions for states a (at `oa` of `sa`) and b (at `ob` of `sb`). The segment is
 * a + u(b − a), u ∈ [0, 1]; its point closest to the centre has u* = −a·d/|d|² (d = b − a), so
 * u* ≤ 0 ⇔ a·d ≥ 0 and u* ≥ 1 ⇔ b·d ≤ 0 (then the distance is that endpoint's radius); inside,
 * D² = |a|² − (a·d)²/|d|². Its derivative is p·ṗ/|p| at the closest point p with u* held fixed
 * (envelope theorem), which for the interior case is the derivative of that expression.
 */
function evaluatePair(
  sa: Float64Array, oa: number, sb: Float64Array, ob: number, sphereRadiusKm: number, maxRangeKm: number, out: PairSample,
): void {
  const ax = sa[oa]!;
  const ay = sa[oa + 1]!;
  const az = sa[oa + 2]!;
  const avx = sa[oa + 3]!;
  const avy = sa[oa + 4]!;
  const avz = sa[oa + 5]!;
  const bx = sb[ob]!;
  const by = sb[ob + 1]!;
  const bz = sb[ob + 2]!;
  const bvx = sb[ob + 3]!;
  const bvy = sb[ob + 4]!;
  const bvz = sb[ob + 5]!;
  const dx = bx - ax;
  const dy = by - ay;
  const dz = bz - az;
  const range2 = dx * dx + dy * dy + dz * dz;
  const range = Math.sqrt(range2);
  const rangeRate = range > 0 ? (dx * (bvx - avx) + dy * (bvy - avy) + dz * (bvz - avz)) / range : 0;
  out.rangeKm = range;
  out.rangeKmPerSec = rangeRate;
  out.rangeMarginKm = maxRangeKm - range;
  out.rangeMarginKmPerSec = -rangeRate;
  const ad = ax * dx + ay * dy + az * dz;
  const bd = bx * dx + by * dy + bz * dz;
  let distance: number;
  let distanceRate: number;
  if (ad >= 0 || range === 0) {
    distance = Math.sqrt(ax * ax + ay * ay + az * az);
    distanceRate = (ax * avx + ay * avy + az * avz) / distance;
  } else if (bd <= 0) {
    distance = Math.sqrt(bx * bx + by * by + bz * bz);
    distanceRate = (bx * bvx + by * bvy + bz * bvz) / distance;
  } else {
    // D² = |a|² − (a·d)²/|d|² (Pythagoras at the foot of the perpendicular), differentiated.
    const a2 = ax * ax + ay * ay + az * az;
    const aRate = ax * avx + ay * avy + az * avz;
    const adRate = avx * dx + avy * dy + avz * dz + ax * (bvx - avx) + ay * (bvy - avy) + az * (bvz - avz);
    const q = ad / range2;
    distance = Math.sqrt(a2 - ad * q);
    // d(D²)/dt = 2a·ȧ − 2(a·d)(a·d)˙/|d|² + (a·d)²·2(d·ḋ)/|d|⁴, with d·ḋ = ρρ̇.
    distanceRate = (aRate - q * adRate + q * q * range * rangeRate) / distance;
  }
  out.clearanceKm = distance - sphereRadiusKm;
  out.clearanceKmPerSec = distanceRate;
}

const CLEARANCE = 0;
const RANGE = 1;
type Condition = typeof CLEARANCE | typeof RANGE;

const valueOf = (s: PairSample, c: Condition): number => (c === CLEARANCE ? s.clearanceKm : s.rangeMarginKm);
const rateOf = (s: PairSample, c: Condition): number => (c === CLEARANCE ? s.clearanceKmPerSec : s.rangeMarginKmPerSec);
const RATE_FIELD: Readonly<Record<Condition, SampleField>> = { [CLEARANCE]: 'clearanceKmPerSec', [RANGE]: 'rangeMarginKmPerSec' };

/** What one function does over a grid step, from its values and derivatives at both ends. */
const Course = {
  /** Negative at both ends, no maximum between. */
  below: 0,
  /** Non-negative at both ends, no minimum between. */
  above: 1,
  crossing: 2,
  /** Negative at both ends with a maximum between. */
  peak: 3,
  /** Non-negative at both ends with a minimum between. */
  valley: 4,
} as const;
type Course = (typeof Course)[keyof typeof Course];

function courseOf(a: PairSample, b: PairSample, c: Condition): Course {
  const fa = valueOf(a, c);
  const fb = valueOf(b, c);
  if (fa < 0 !== fb < 0) return Course.crossing;
  if (fa < 0) return rateOf(a, c) > 0 && rateOf(b, c) <= 0 ? Course.peak : Course.below;
  return rateOf(a, c) < 0 && rateOf(b, c) >= 0 ? Course.valley : Course.above;
}

// ---------------------------------------------------------------------------------------------
// The pair search

/**
 * Searches pairs over one ephemeris; reused scratch state keeps the hot loops allocation-free.
 * The ephemeris and propagators hold the taking part satellites only (`options.satellites`, in
 * that order); windows name satellites by their index in the caller's element list.
 */
export class IslPairSearch {
  readonly table = new IslTable();
  readonly #e: IslEphemeris;
  readonly #o: IslResolvedOptions;
  readonly #trajectories: (SampledTrajectory | undefined)[];
  readonly #sources: (ExactStateSource | undefined)[];

  // The pair in hand (`#a`, `#b`: indices in the caller's element list).
  #a = 0;
  #b = 0;
  #trajA!: SampledTrajectory;
  #trajB!: SampledTrajectory;
  #sourceA!: ExactStateSource;
  #sourceB!: ExactStateSource;
  readonly #stateA = new Float64Array(6);
  readonly #stateB = new Float64Array(6);
  readonly #exactStates = new Float64Array(12);
  #speedSumKmPerSec = 0;
  #velocityInconsistencyKmPerSec = 0;
  #speedMaxKmPerSec = 0;
  #accelerationSumKmPerSec2 = 0;

  readonly #prev = newSample();
  readonly #cur = newSample();
  /** The SGP4 sample of the last polish. */
  readonly #probe = newSample();
  /** Scratch for searches on the interpolant, never holding a result. */
  readonly #scratch = newSample();

  // Window being built.
  #open = false;
  #startSec = 0;
  #startTruncated = false;
  #minRangeKm = Infinity;
  #minRangeTimeSec = 0;
  #maxRangeKm = 0;

  // Crossings inside one grid step: at most two per condition.
  readonly #eventSec = new Float64Array(4);
  readonly #eventRangeKm = new Float64Array(4);
  readonly #eventCondition = new Uint8Array(4);
  readonly #eventRising = new Uint8Array(4);
  #events = 0;
  /** Extremum of the range inside the grid step in hand (NaN: none, or not yet looked for). */
  #rangeExtremumSec = Number.NaN;
  #rangeExtremumKm = Number.NaN;
  #rangeExtremumLooked = false;

  constructor(ephemeris: IslEphemeris, propagators: readonly (Propagator | undefined)[], options: IslResolvedOptions) {
    assert.equal(propagators.length, ephemeris.satelliteCount);
    assert.equal(propagators.length, options.satellites.length);
    this.#e = ephemeris;
    this.#o = options;
    this.#trajectories = propagators.map((p, s) => (p === undefined ? undefined : trajectoryView(ephemeris, s)));
    this.#sources = propagators.map((p) => (p === undefined ? undefined : new ExactStateSource(p, ephemeris.window)));
  }

  get sgp4Calls(): number {
    let calls = 0;
    for (const s of this.#sources) calls += s?.sgp4Calls ?? 0;
    return calls;
  }

  /** Searches the pairs (i, j) of taking part satellites for rowStart ≤ i < rowEnd and j > i. */
  searchRows(rowStart: number, rowEnd: number): void {
    const count = this.#e.satelliteCount;
    assert.ok(rowStart >= 0 && rowEnd <= count && rowStart <= rowEnd);
    // A few rows at a time against each second satellite, so that its grid states, fetched from
    // memory for the first pair, are still in cache for the others; the windows are then put back
    // in (first satellite, second satellite, start) order.
    for (let block = rowStart; block < rowEnd; block += ROW_BLOCK) {
      const blockEnd = Math.min(rowEnd, block + ROW_BLOCK);
      const first = this.table.length;
      for (let j = block + 1; j < count; j += 1) {
        const iEnd = Math.min(blockEnd, j);
        for (let i = block; i < iEnd; i += 1) this.#searchPair(i, j);
      }
      this.table.groupByFirstSatellite(first);
    }
  }

  /** Every window of one pair (a < b, positions among the taking part satellites), appended to `table`. */
  #searchPair(a: number, b: number): void {
    assert.ok(a < b);
    const e = this.#e;
    const intervals = Math.min(e.gridValidIntervals[a]!, e.gridValidIntervals[b]!);
    const trajA = this.#trajectories[a];
    const trajB = this.#trajectories[b];
    if (intervals === 0 || trajA === undefined || trajB === undefined) return;
    if (this.#pruned(a, b)) return;
    this.#a = this.#o.satellites[a]!;
    this.#b = this.#o.satellites[b]!;
    this.#trajA = trajA;
    this.#trajB = trajB;
    this.#sourceA = this.#sources[a]!;
    this.#sourceB = this.#sources[b]!;
    this.#velocityInconsistencyKmPerSec = velocityInconsistencyKmPerSec(this.#sourceA.propagator) + velocityInconsistencyKmPerSec(this.#sourceB.propagator);
    const baseA = a * (e.gridIntervals + 1) * 6;
    const baseB = b * (e.gridIntervals + 1) * 6;
    this.#speedSumKmPerSec = e.speedMaxKmPerSec[a]! + e.speedMaxKmPerSec[b]!;
    this.#speedMaxKmPerSec = Math.max(e.speedMaxKmPerSec[a]!, e.speedMaxKmPerSec[b]!);
    this.#accelerationSumKmPerSec2 = e.accelerationMaxKmPerSec2[a]! + e.accelerationMaxKmPerSec2[b]!;
    let prev = this.#prev;
    let cur = this.#cur;
    this.#gridSample(baseA, baseB, 0, prev);
    this.#open = false;
    if (prev.clearanceKm >= 0 && prev.rangeMarginKm >= 0) this.#openWindow(0, prev.rangeKm, true);
    let i = 0;
    while (i < intervals) {
      if (!this.#open) {
        const reach = this.#hiddenForSec(prev) / e.gridStepSec;
        if (reach > 2) {
          i += Math.ceil(reach) - 1;
          if (i >= intervals) return;
          this.#gridSample(baseA, baseB, i, prev);
          assert.ok(prev.clearanceKm < 0 || prev.rangeMarginKm < 0, 'ISL pruning bound violated');
          continue;
        }
      }
      this.#gridSample(baseA, baseB, i + 1, cur);
      this.#step(prev, cur);
      const swap = prev;
      prev = cur;
      cur = swap;
      i += 1;
    }
    if (this.#open) this.#closeWindow(prev.tSec, prev.rangeKm, true);
  }

  /**
   * How long the pair stays out of sight at least, from a sample where it is: the distance from the
   * centre to the segment moves no faster than the segment's fastest point, max(|v_a|, |v_b|)
   * (every point of it is a mix of the endpoints); the range obeys ρ̈ = (|v_rel|² − ρ̇²)/ρ + d̂·a_rel
   * ≥ −|a_rel|, so ρ(t0 + τ) ≥ ρ0 + ρ̇0·τ − ½|a_rel|max·τ², and ρ̇ ≥ −|v_a| − |v_b|.
   * The interpolant's own error (≤ `INTERPOLATION_DOUBT_KM`) is taken off first.
   */
  #hiddenForSec(s: PairSample): number {
    let forSec = 0;
    const clearanceShortKm = -s.clearanceKm - INTERPOLATION_DOUBT_KM;
    if (clearanceShortKm > 0) forSec = clearanceShortKm / this.#speedMaxKmPerSec;
    const rangeLongKm = -s.rangeMarginKm - INTERPOLATION_DOUBT_KM;
    if (rangeLongKm > 0) {
      const a = this.#accelerationSumKmPerSec2;
      const v = s.rangeKmPerSec;
      const secondOrderSec = (v + Math.sqrt(v * v + 2 * a * rangeLongKm)) / a;
      forSec = Math.max(forSec, rangeLongKm / this.#speedSumKmPerSec, secondOrderSec);
    }
    return forSec;
  }

  /** True when the pair can never see each other: radius bands too far apart, or an endpoint inside the sphere. */
  #pruned(a: number, b: number): boolean {
    const e = this.#e;
    const maxA = e.radiusMaxKm[a]! + radiusMarginKm(e.radiusMaxKm[a]!);
    const maxB = e.radiusMaxKm[b]! + radiusMarginKm(e.radiusMaxKm[b]!);
    const minA = e.radiusMinKm[a]! - radiusMarginKm(e.radiusMinKm[a]!);
    const minB = e.radiusMinKm[b]! - radiusMarginKm(e.radiusMinKm[b]!);
    const sphere = this.#o.sphereRadiusKm;
    if (maxA < sphere || maxB < sphere) return true;
    return Math.max(minB - maxA, minA - maxB) > this.#o.maxRangeKm;
  }

  #gridTimeSec(i: number): number {
    return i === this.#e.gridIntervals ? this.#e.window.durationSec : i * this.#e.gridStepSec;
  }

  #gridSample(baseA: number, baseB: number, i: number, out: PairSample): void {
    const states = this.#e.gridStates;
    out.tSec = this.#gridTimeSec(i);
    evaluatePair(states, baseA + 6 * i, states, baseB + 6 * i, this.#o.sphereRadiusKm, this.#o.maxRangeKm, out);
  }

  /** Both satellites' own Hermite interpolants at `tSec`. */
  #interpolated(tSec: number, out: PairSample): void {
    const ta = this.#trajA;
    const tb = this.#trajB;
    interpolateState(ta, nodeInterval(ta.spacingSec, ta.validIntervals, tSec), tSec, this.#stateA);
    interpolateState(tb, nodeInterval(tb.spacingSec, tb.validIntervals, tSec), tSec, this.#stateB);
    out.tSec = tSec;
    evaluatePair(this.#stateA, 0, this.#stateB, 0, this.#o.sphereRadiusKm, this.#o.maxRangeKm, out);
  }

  /** SGP4 itself; false when SGP4 refuses either satellite. */
  #exact(tSec: number, out: PairSample): boolean {
    const st = this.#exactStates;
    if (this.#sourceA.stateAt(tSec, st, 0) !== 0 || this.#sourceB.stateAt(tSec, st, 6) !== 0) return false;
    out.tSec = tSec;
    evaluatePair(st, 0, st, 6, this.#o.sphereRadiusKm, this.#o.maxRangeKm, out);
    return true;
  }

  /** Handles the grid step from `a` to `b`. */
  #step(a: PairSample, b: PairSample): void {
    this.#events = 0;
    this.#rangeExtremumLooked = false;
    let clearance = courseOf(a, b, CLEARANCE);
    let range = courseOf(a, b, RANGE);
    if (clearance === Course.below || range === Course.below) {
      assert.ok(!this.#open);
      return;
    }
    if (clearance === Course.above && range === Course.above) {
      // Visible throughout: only the range's extremum can matter.
      assert.ok(this.#open);
      this.#rangeExtremumIn(a, b, a.tSec, b.tSec);
      return;
    }
    // Excursions first: one that turns out not to happen may leave nothing to polish at all.
    if (clearance === Course.peak && !this.#excursion(CLEARANCE, a, b, true)) return;
    if (range === Course.peak && !this.#excursion(RANGE, a, b, true)) return;
    if (clearance === Course.valley && !this.#excursion(CLEARANCE, a, b, false)) clearance = Course.above;
    if (range === Course.valley && !this.#excursion(RANGE, a, b, false)) range = Course.above;
    if (clearance === Course.crossing) this.#crossing(CLEARANCE, a, b);
    if (range === Course.crossing) this.#crossing(RANGE, a, b);
    this.#sweep(a, b);
  }

  /**
   * A possible excursion to the other side of zero inside the step (a peak of a function negative
   * at both ends, or a valley of one non-negative at both ends). Returns false when there is none;
   * otherwise records its two crossings.
   */
  #excursion(c: Condition, a: PairSample, b: PairSample, peak: boolean): boolean {
    const extremumSec = this.#interpolantRoot(a.tSec, b.tSec, rateOf(a, c), rateOf(b, c), RATE_FIELD[c], EXCURSION_TOLERANCE_SEC);
    const probe = this.#probe;
    this.#interpolated(extremumSec, probe);
    const interpolatedKm = valueOf(probe, c);
    if (peak ? interpolatedKm < -INTERPOLATION_DOUBT_KM : interpolatedKm > INTERPOLATION_DOUBT_KM) return false;
    if (!this.#exact(extremumSec, probe)) return false;
    const exactKm = valueOf(probe, c);
    if (peak ? exactKm < 0 : exactKm >= 0) return false;
    const curvature = curvatureBound(a, b, c);
    const first = this.#polish(c, (a.tSec + extremumSec) / 2, a.tSec, extremumSec, peak, curvature);
    const firstRangeKm = this.#probe.rangeKm;
    const second = this.#polish(c, (extremumSec + b.tSec) / 2, extremumSec, b.tSec, !peak, curvature);
    if (Number.isNaN(first) || Number.isNaN(second)) return false;
    this.#record(c, first, firstRangeKm, peak);
    this.#record(c, second, this.#probe.rangeKm, !peak);
    return true;
  }

  /** A sign change between `a` and `b`: found on the interpolant, polished on SGP4, recorded. */
  #crossing(c: Condition, a: PairSample, b: PairSample): void {
    const rising = valueOf(a, c) < 0;
    const guess = this.#interpolantCrossing(c, a, b);
    let tSec = this.#polish(c, guess, a.tSec, b.tSec, rising, curvatureBound(a, b, c));
    if (Number.isNaN(tSec)) {
      // SGP4 failed inside a step whose ends it sampled: keep the interpolant's crossing, so the
      // conditions stay in step with the grid.
      this.#interpolated(guess, this.#probe);
      tSec = guess;
    }
    this.#record(c, tSec, this.#probe.rangeKm, rising);
  }

  #record(c: Condition, tSec: number, rangeKm: number, rising: boolean): void {
    const n = this.#events;
    assert.ok(n < 4);
    this.#eventSec[n] = tSec;
    this.#eventRangeKm[n] = rangeKm;
    this.#eventCondition[n] = c;
    this.#eventRising[n] = rising ? 1 : 0;
    this.#events = n + 1;
  }

  /** Applies the step's crossings in time order, opening and closing windows where both conditions change together. */
  #sweep(a: PairSample, b: PairSample): void {
    const n = this.#events;
    const sec = this.#eventSec;
    const rangeKm = this.#eventRangeKm;
    const condition = this.#eventCondition;
    const rising = this.#eventRising;
    // Insertion sort of at most four crossings.
    for (let i = 1; i < n; i += 1) {
      for (let j = i; j > 0 && sec[j - 1]! > sec[j]!; j -= 1) {
        swap(sec, j);
        swap(rangeKm, j);
        swap(condition, j);
        swap(rising, j);
      }
    }
    let clear = a.clearanceKm >= 0;
    let inRange = a.rangeMarginKm >= 0;
    assert.equal(this.#open, clear && inRange);
    let segmentStartSec = a.tSec;
    for (let i = 0; i < n; i += 1) {
      if (condition[i] === CLEARANCE) clear = rising[i] === 1;
      else inRange = rising[i] === 1;
      const visible = clear && inRange;
      if (visible && !this.#open) {
        this.#openWindow(sec[i]!, rangeKm[i]!, false);
        segmentStartSec = sec[i]!;
      } else if (!visible && this.#open) {
        this.#rangeExtremumIn(a, b, segmentStartSec, sec[i]!);
        this.#closeWindow(sec[i]!, rangeKm[i]!, false);
      }
    }
    if (this.#open) this.#rangeExtremumIn(a, b, segmentStartSec, b.tSec);
  }

  /** The range's extremum inside the step (on the interpolant), if it falls in [fromSec, toSec]. */
  #rangeExtremumIn(a: PairSample, b: PairSample, fromSec: number, toSec: number): void {
    if (!this.#rangeExtremumLooked) {
      this.#rangeExtremumLooked = true;
      this.#rangeExtremumSec = Number.NaN;
      if (a.rangeKmPerSec < 0 !== b.rangeKmPerSec < 0) {
        this.#rangeExtremumSec = this.#interpolantRoot(a.tSec, b.tSec, a.rangeKmPerSec, b.rangeKmPerSec, 'rangeKmPerSec', RANGE_EXTREMUM_TOLERANCE_SEC);
        this.#interpolated(this.#rangeExtremumSec, this.#scratch);
        this.#rangeExtremumKm = this.#scratch.rangeKm;
      }
    }
    const t = this.#rangeExtremumSec;
    if (t >= fromSec && t <= toSec) this.#rangeSeen(t, this.#rangeExtremumKm);
  }

  #rangeSeen(tSec: number, rangeKm: number): void {
    if (rangeKm < this.#minRangeKm) {
      this.#minRangeKm = rangeKm;
      this.#minRangeTimeSec = tSec;
    }
    if (rangeKm > this.#maxRangeKm) this.#maxRangeKm = rangeKm;
  }

  #openWindow(tSec: number, rangeKm: number, truncated: boolean): void {
    this.#open = true;
    this.#startSec = tSec;
    this.#startTruncated = truncated;
    this.#minRangeKm = Infinity;
    this.#maxRangeKm = 0;
    this.#rangeSeen(tSec, rangeKm);
  }

  #closeWindow(tSec: number, rangeKm: number, truncated: boolean): void {
    this.#open = false;
    this.#rangeSeen(tSec, rangeKm);
    let flags = 0;
    if (this.#startTruncated) flags |= IslFlags.startTruncated;
    if (truncated) flags |= IslFlags.endTruncated;
    if (this.#startTruncated && truncated && this.#startSec === 0 && tSec === this.#e.window.durationSec) flags |= IslFlags.alwaysVisible;
    if (this.table.length >= this.#o.windowsMax) throw tooManyWindows(this.#o.windowsMax);
    this.table.push({
      satelliteA: this.#a,
      satelliteB: this.#b,
      startSec: this.#startSec,
      endSec: Math.max(tSec, this.#startSec),
      minRangeKm: this.#minRangeKm,
      minRangeTimeSec: this.#minRangeTimeSec,
      maxRangeKm: this.#maxRangeKm,
      flags,
    });
  }

  /**
   * The crossing of condition `c` on the interpolant between grid samples `a` and `b`: the root of
   * the cubic through the function's values and derivatives at both ends (it errs by tens of metres
   * over a 30 s step), then one Newton step on the satellites' own interpolants.
   */
  #interpolantCrossing(c: Condition, a: PairSample, b: PairSample): number {
    const spanSec = b.tSec - a.tSec;
    const s = cubicRoot(valueOf(a, c), rateOf(a, c) * spanSec, valueOf(b, c), rateOf(b, c) * spanSec);
    const guess = a.tSec + s * spanSec;
    const probe = this.#scratch;
    this.#interpolated(guess, probe);
    const rate = rateOf(probe, c);
    const t = rate === 0 ? guess : guess - valueOf(probe, c) / rate;
    return t >= a.tSec && t <= b.tSec ? t : guess;
  }

  /** Root of a sample field on the interpolant in [t0, t1] (values y0, y1 of opposite sign). */
  #interpolantRoot(t0: number, t1: number, y0: number, y1: number, field: SampleField, toleranceSec: number): number {
    const probe = this.#scratch;
    const valueAt = (t: number): number => {
      this.#interpolated(t, probe);
      return probe[field];
    };
    return illinoisRoot(valueAt, t0, t1, y0, y1, toleranceSec, ROOT_ITERATIONS_MAX);
  }


  /**
   * Newton on SGP4 from `guess`, safeguarded: if a step leaves [lo, hi] (widened by its length) or
   * goes the wrong way, bisection on SGP4 over [lo, hi]. `rising`: the sign change expected (− then +).
   * Leaves the SGP4 sample at the crossing in `#probe` (its range corrected to the final time);
   * NaN only if SGP4 fails.
   */
  #polish(c: Condition, guess: number, lo: number, hi: number, rising: boolean, curvatureKmPerSec2: number): number {
    const probe = this.#probe;
    const span = hi - lo;
    let t = guess;
    for (let i = 0; i < NEWTON_ITERATIONS_MAX; i += 1) {
      if (!this.#exact(t, probe)) return Number.NaN;
      const rate = rateOf(probe, c);
      if (rate === 0 || rate > 0 !== rising) break;
      const step = valueOf(probe, c) / rate;
      const next = t - step;
      if (next < lo - span || next > hi + span) break;
      t = next;
      const size = Math.abs(step);
      const errorSec = ((curvatureKmPerSec2 * size) / 2 + this.#velocityInconsistencyKmPerSec) * (size / Math.abs(rate));
      if (size < NEWTON_STEP_ACCEPTED_MAX_SEC && errorSec < NEWTON_ERROR_SEC) {
        // The sample is moved to the accepted time to first order.
        probe.tSec = t;
        probe.rangeKm -= probe.rangeKmPerSec * step;
        return t;
      }
    }
    return this.#bisect(c, lo, hi, rising);
  }

  /**
   * Bisection on SGP4. If SGP4 disagrees with the interpolant about a bracket end (both within the
   * interpolation error of zero there), the crossing lies just beyond that end: the end is returned.
   */
  #bisect(c: Condition, lo: number, hi: number, rising: boolean): number {
    const probe = this.#probe;
    if (!this.#exact(lo, probe)) return Number.NaN;
    if (valueOf(probe, c) < 0 !== rising) return lo;
    if (!this.#exact(hi, probe)) return Number.NaN;
    if (valueOf(probe, c) >= 0 !== rising) return hi;
    let a = lo;
    let b = hi;
    while (b - a > BISECTION_TOLERANCE_SEC) {
      const mid = (a + b) / 2;
      if (!this.#exact(mid, probe)) return Number.NaN;
      if (valueOf(probe, c) < 0 === rising) a = mid;
      else b = mid;
    }
    const t = rising ? b : a;
    if (!this.#exact(t, probe)) return Number.NaN;
    return t;
  }
}

const velocityInconsistencyKmPerSec = (p: Propagator): number =>
  p.deepSpace ? VELOCITY_INCONSISTENCY_DEEP_SPACE_KM_PER_SEC : VELOCITY_INCONSISTENCY_NEAR_EARTH_KM_PER_SEC;

/**
 * A generous bound on |f''| of condition `c` over the step from `a` to `b`: the largest second
 * derivative of the cubic through the ends' values and derivatives (linear in time, so at an end),
 * times `CURVATURE_SAFETY`. The cubic's curvature errs by ~h²/12·|f''''| over a 30 s step, a few
 * per cent of |f''| for functions that change on the orbital time scale.
 */
function curvatureBound(a: PairSample, b: PairSample, c: Condition): number {
  const h = b.tSec - a.tSec;
  const y0 = valueOf(a, c);
  const d0 = rateOf(a, c) * h;
  const y1 = valueOf(b, c);
  const d1 = rateOf(b, c) * h;
  const c2 = -3 * y0 - 2 * d0 + 3 * y1 - d1;
  const c3 = 2 * y0 + d0 - 2 * y1 + d1;
  const largest = Math.max(Math.abs(2 * c2), Math.abs(2 * c2 + 6 * c3)) / (h * h);
  return Math.max(CURVATURE_FLOOR_KM_PER_SEC2, CURVATURE_SAFETY * largest);
}

/**
 * Root in [0, 1] of the cubic Hermite polynomial with values y0, y1 (opposite signs) and
 * derivatives d0, d1 (per unit s) at its ends, by Illinois.
 */
function cubicRoot(y0: number, d0: number, y1: number, d1: number): number {
  // p(s) = y0 + d0·s + c2·s² + c3·s³ (Hermite basis expanded).
  const c2 = -3 * y0 - 2 * d0 + 3 * y1 - d1;
  const c3 = 2 * y0 + d0 - 2 * y1 + d1;
  return illinoisRoot((s) => y0 + s * (d0 + s * (c2 + s * c3)), 0, 1, y0, y1, 1e-9, ROOT_ITERATIONS_MAX);
}

function swap(array: Float64Array | Uint8Array, j: number): void {
  const x = array[j]!;
  array[j] = array[j - 1]!;
  array[j - 1] = x;
}

/** A `SampledTrajectory` over the ephemeris' flattened node arrays (views, no copy). */
function trajectoryView(e: IslEphemeris, s: number): SampledTrajectory {
  const first = e.nodeFirst[s]!;
  const end = e.nodeFirst[s + 1]!;
  return {
    spacingSec: e.nodeSpacingSec[s]!,
    validIntervals: e.nodeValidIntervals[s]!,
    states: e.nodeStates.subarray(6 * first, 6 * end),
    radiusKm: e.nodeRadiusKm.subarray(first, end),
    angularRateMaxRadPerSec: e.angularRateMaxRadPerSec[s]!,
    radiusMaxKm: e.radiusMaxKm[s]!,
    failureStatus: e.failureStatus[s]!,
    failureSec: e.failureSec[s]!,
  };
}

// ---------------------------------------------------------------------------------------------
// Entry points

export interface IslSearchResult {
  readonly table: IslTable;
  /** SGP4 failures (initialisation and during the window), sorted by satellite. */
  readonly problems: readonly SatelliteProblem[];
  readonly sgp4Calls: number;
}

/**
 * Every line-of-sight window of every pair of propagators, on the calling thread. `undefined`
 * entries (satellites SGP4 could not initialise) are skipped but keep their index.
 */
export function findIslWindows(propagators: readonly (Propagator | undefined)[], options: IslSearchOptions): IslSearchResult {
  const resolved = resolveIslOptions(options, propagators.length);
  const members = Array.from(resolved.satellites, (s) => propagators[s]);
  const built = buildIslEphemeris(members, resolved.window);
  const search = new IslPairSearch(built.ephemeris, members, resolved);
  search.searchRows(0, members.length);
  return { table: search.table, problems: renumbered(built.problems, resolved), sgp4Calls: built.sgp4Calls + search.sgp4Calls };
}

/** Problems of the taking part satellites, renamed by their index in the caller's list and sorted. */
function renumbered(problems: readonly SatelliteProblem[], options: IslResolvedOptions): SatelliteProblem[] {
  return problems.map((p) => ({ ...p, satellite: options.satellites[p.satellite]! })).sort((a, b) => a.satellite - b.satellite);
}

export interface IslParallelOptions {
  /** Worker threads; 1 searches on the calling thread. Default: the machine's available parallelism. */
  readonly threads?: number;
  /** Called as pairs complete. */
  readonly onProgress?: (pairsDone: number, pairsTotal: number) => void;
  readonly signal?: AbortSignal;
}

/** Sent once to each worker: what every pair search needs. The ephemeris arrays are shared, not copied. */
export interface IslWorkerInit {
  readonly kind: 'init';
  /** The taking part satellites' element sets, in the order of `options.satellites`. */
  readonly elements: readonly ElementSet[];
  readonly options: IslResolvedOptions;
  readonly ephemeris: IslEphemeris;
}

/** A range of rows (first satellites, as positions in `options.satellites`) to search. */
export interface IslWorkerRows {
  readonly kind: 'rows';
  readonly rowStart: number;
  readonly rowEnd: number;
}

export interface IslWorkerReply {
  readonly columns: IslColumns;
  readonly length: number;
  readonly sgp4Calls: number;
  /** The rows held more windows than `windowsMax` (columns then empty). */
  readonly tooManyWindows: boolean;
}

/** Row ranges of about equal pair counts (row i has n − 1 − i pairs). */
export function islRowChunks(rows: number, chunks: number): [number, number][] {
  const pairsTotal = (rows * (rows - 1)) / 2;
  const target = Math.max(1, pairsTotal / Math.max(1, chunks));
  const out: [number, number][] = [];
  let start = 0;
  let pairs = 0;
  for (let i = 0; i < rows; i += 1) {
    pairs += rows - 1 - i;
    if (pairs >= target || i === rows - 1) {
      out.push([start, i + 1]);
      start = i + 1;
      pairs = 0;
    }
  }
  return out;
}

const pairsIn = (rows: number, [start, end]: [number, number]): number => {
  let pairs = 0;
  for (let i = start; i < end; i += 1) pairs += rows - 1 - i;
  return pairs;
};

/**
 * Every line-of-sight window between the satellites of `elements` (restricted to
 * `options.terminalSatellites` if given), using worker threads when asked. Windows are ordered by
 * first satellite, second satellite, start — whatever the number of threads.
 */
export async function searchIslWindows(
  elements: readonly ElementSet[], options: IslSearchOptions, parallel: IslParallelOptions = {},
): Promise<IslSearchResult> {
  const resolved = resolveIslOptions(options, elements.length);
  const threads = Math.min(ISL_THREADS_MAX, Math.max(1, Math.floor(parallel.threads ?? availableParallelism())));
  const members = Array.from(resolved.satellites, (s) => elements[s]!);
  const init = initialisePropagators(members);
  const rows = members.length;
  const chunks = islRowChunks(rows, threads * CHUNKS_PER_THREAD);
  const pairsTotal = (rows * (rows - 1)) / 2;
  const built = buildIslEphemeris(init.propagators, resolved.window, threads > 1);
  const problems = renumbered([...init.problems, ...built.problems], resolved);
  if (threads === 1 || chunks.length <= 1) {
    const search = new IslPairSearch(built.ephemeris, init.propagators, resolved);
    let done = 0;
    for (const chunk of chunks) {
      parallel.signal?.throwIfAborted();
      search.searchRows(chunk[0], chunk[1]);
      done += pairsIn(rows, chunk);
      parallel.onProgress?.(done, pairsTotal);
    }
    return { table: search.table, problems, sgp4Calls: built.sgp4Calls + search.sgp4Calls };
  }
  const replies = await searchOnWorkers(members, resolved, built.ephemeris, chunks, threads, parallel);
  let length = 0;
  let sgp4Calls = built.sgp4Calls;
  for (const reply of replies) {
    length += reply.length;
    sgp4Calls += reply.sgp4Calls;
  }
  const table = new IslTable(allocateIslColumns(Math.max(1, length)));
  for (const reply of replies) table.append(new IslTable(reply.columns, reply.length));
  return { table, problems, sgp4Calls };
}

async function searchOnWorkers(
  elements: readonly ElementSet[], options: IslResolvedOptions, ephemeris: IslEphemeris, chunks: readonly [number, number][],
  threads: number, parallel: IslParallelOptions,
): Promise<IslWorkerReply[]> {
  const rows = options.satellites.length;
  const pairsTotal = (rows * (rows - 1)) / 2;
  const replies: IslWorkerReply[] = new Array<IslWorkerReply>(chunks.length);
  let next = 0;
  let done = 0;
  let windows = 0;
  const workers = Array.from({ length: Math.min(threads, chunks.length) }, () => new Worker(new URL('./isl-worker.ts', import.meta.url)));
  const stop = (): void => {
    for (const w of workers) void w.terminate();
  };
  parallel.signal?.addEventListener('abort', stop, { once: true });
  try {
    const initMessage: IslWorkerInit = { kind: 'init', elements, options, ephemeris };
    await Promise.all(workers.map((worker) => new Promise<void>((resolve, reject) => {
      const feed = (): void => {
        if (parallel.signal?.aborted) {
          reject(parallel.signal.reason);
          return;
        }
        const index = next++;
        const chunk = chunks[index];
        if (chunk === undefined) {
          resolve();
          return;
        }
        worker.once('message', (reply: IslWorkerReply) => {
          replies[index] = reply;
          windows += reply.length;
          if (reply.tooManyWindows || windows > options.windowsMax) {
            reject(tooManyWindows(options.windowsMax));
            return;
          }
          done += pairsIn(rows, chunk);
          parallel.onProgress?.(done, pairsTotal);
          feed();
        });
        const request: IslWorkerRows = { kind: 'rows', rowStart: chunk[0], rowEnd: chunk[1] };
        worker.postMessage(request);
      };
      worker.once('error', reject);
      worker.postMessage(initMessage);
      feed();
    })));
  } finally {
    parallel.signal?.removeEventListener('abort', stop);
    stop();
  }
  return replies;
}
