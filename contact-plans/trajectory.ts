// One trajectory sample per curvature scale, shared by every station: SGP4 states at nodes
// rotated into the Earth-fixed frame, and cubic Hermite interpolation between them (position and
// its exact derivative at both ends), which is what lets a day of a LEO orbit cost ~730 SGP4 calls.
import { gmst, temeToEcef } from './earth-frames.ts';
import { minutesSinceEpoch, propagateTeme, type Propagator } from './sgp4.ts';

const MU_KM3_PER_SEC2 = 398600.8;
/** Nodes per perigee dynamical time sqrt(rp³/μ): ~118 s for LEO; interpolation error ~6 m there. */
const NODES_PER_DYNAMICAL_TIME = 7.5;
export const NODE_SPACING_MIN_SEC = 20;
export const NODE_SPACING_MAX_SEC = 1200;

/** Node spacing for a propagator: one sample per curvature scale at perigee, bounded. */
export function nodeSpacingSec(p: Propagator): number {
  const perigeeKm = Math.max(p.perigeeRadiusKm, 6378);
  const dynamicalTimeSec = Math.sqrt((perigeeKm * perigeeKm * perigeeKm) / MU_KM3_PER_SEC2);
  // Eccentric orbits change curvature fastest around perigee: sample them twice as densely.
  const eccentricityFactor = p.elements.eccentricity > 0.1 ? 0.5 : 1;
  const spacing = (dynamicalTimeSec / NODES_PER_DYNAMICAL_TIME) * eccentricityFactor;
  return Math.min(NODE_SPACING_MAX_SEC, Math.max(NODE_SPACING_MIN_SEC, spacing));
}

/** A window of time: Unix ms of its start (an integer) and its length in seconds. */
export interface TimeWindow {
  readonly startMs: number;
  readonly durationSec: number;
}

/** Earth-fixed state (km, km/s) of a propagator at a time, by SGP4; counts its calls. */
export class ExactStateSource {
  readonly propagator: Propagator;
  readonly window: TimeWindow;
  sgp4Calls = 0;
  readonly #teme = new Float64Array(6);

  constructor(propagator: Propagator, window: TimeWindow) {
    this.propagator = propagator;
    this.window = window;
  }

  /** Writes the Earth-fixed state at `tSec` after the window start into `out`; returns the SGP4 status. */
  stateAt(tSec: number, out: Float64Array, offset: number): number {
    const offsetMs = tSec * 1000;
    this.sgp4Calls += 1;
    const status = propagateTeme(this.propagator, minutesSinceEpoch(this.propagator, this.window.startMs, offsetMs), this.#teme, 0);
    if (status !== 0) return status;
    temeToEcef(this.#teme, 0, gmst(this.window.startMs, offsetMs), out, offset);
    return 0;
  }
}

/** Nodes of a sampled trajectory and the first SGP4 failure, if any. */
export interface SampledTrajectory {
  readonly spacingSec: number;
  /** Number of intervals with valid nodes at both ends (nodes 0..validIntervals are valid). */
  readonly validIntervals: number;
  /** Earth-fixed states, 6 numbers per node. */
  readonly states: Float64Array;
  /** Geocentric radius of each node, km. */
  readonly radiusKm: Float64Array;
  /** Largest |v|/r over the nodes, rad/s: a bound on how fast the sub-satellite point moves. */
  readonly angularRateMaxRadPerSec: number;
  readonly radiusMaxKm: number;
  /** SGP4 status that stopped the sampling (0 = none) and when, seconds after the window start. */
  readonly failureStatus: number;
  readonly failureSec: number;
}

export function sampleTrajectory(source: ExactStateSource): SampledTrajectory {
  const durationSec = source.window.durationSec;
  const nominal = nodeSpacingSec(source.propagator);
  const intervals = Math.max(1, Math.ceil(durationSec / nominal));
  const spacingSec = durationSec / intervals;
  const states = new Float64Array(6 * (intervals + 1));
  const radiusKm = new Float64Array(intervals + 1);
  let angularRateMax = 0;
  let radiusMax = 0;
  let failureStatus = 0;
  let failureSec = Number.NaN;
  let k = 0;
  for (; k <= intervals; k += 1) {
    const tSec = k === intervals ? durationSec : k * spacingSec;
    const status = source.stateAt(tSec, states, 6 * k);
    if (status !== 0) {
      failureStatus = status;
      failureSec = tSec;
      break;
    }
    const o = 6 * k;
    // Math.sqrt of a sum, not Math.hypot: hypot's overflow care costs 3x here and is not needed.
    const r = Math.sqrt(states[o]! * states[o]! + states[o + 1]! * states[o + 1]! + states[o + 2]! * states[o + 2]!);
    const v = Math.sqrt(states[o + 3]! * states[o + 3]! + states[o + 4]! * states[o + 4]! + states[o + 5]! * states[o + 5]!);
    radiusKm[k] = r;
    if (r > radiusMax) radiusMax = r;
    if (v / r > angularRateMax) angularRateMax = v / r;
  }
  return {
    spacingSec,
    validIntervals: failureStatus === 0 ? intervals : Math.max(0, k - 1),
    states,
    radiusKm,
    angularRateMaxRadPerSec: angularRateMax,
    radiusMaxKm: radiusMax,
    failureStatus,
    failureSec,
  };
}

/**
 * Cubic Hermite interpolation of the Earth-fixed state at `tSec` inside interval `k`
 * (t_k ≤ t ≤ t_k+1), writing position and velocity into `out`.
 */
export function interpolateState(traj: SampledTrajectory, k: number, tSec: number, out: Float64Array): void {
  const h = traj.spacingSec;
  const s = (tSec - k * h) / h;
  const s2 = s * s;
  const s3 = s2 * s;
  const h00 = 2 * s3 - 3 * s2 + 1;
  const h10 = (s3 - 2 * s2 + s) * h;
  const h01 = -2 * s3 + 3 * s2;
  const h11 = (s3 - s2) * h;
  const d00 = (6 * s2 - 6 * s) / h;
  const d10 = 3 * s2 - 4 * s + 1;
  const d01 = (-6 * s2 + 6 * s) / h;
  const d11 = 3 * s2 - 2 * s;
  const st = traj.states;
  const a = 6 * k;
  const b = a + 6;
  for (let i = 0; i < 3; i += 1) {
    const p0 = st[a + i]!;
    const v0 = st[a + 3 + i]!;
    const p1 = st[b + i]!;
    const v1 = st[b + 3 + i]!;
    out[i] = h00 * p0 + h10 * v0 + h01 * p1 + h11 * v1;
    out[3 + i] = d00 * p0 + d10 * v0 + d01 * p1 + d11 * v1;
  }
}
