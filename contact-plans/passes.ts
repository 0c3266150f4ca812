// Pass prediction: for every satellite × station, each interval during which the satellite is
// above the station's horizon, with AOS, TCA, LOS, maximum elevation, azimuths and minimum range.
//
// Method (exact to the microsecond, ~850 SGP4 calls per LEO satellite-day):
// 1. One SGP4 sample per curvature scale (`trajectory.ts`), Earth-fixed, shared by all stations.
// 2. Analytic pruning: between two nodes the geocentric angle ψ between satellite and station
//    changes at most at |v|/r, so intervals where ψ cannot reach the visibility cone are skipped
//    (and whole stretches are jumped over), without evaluating the station at all.
// 3. In the remaining intervals, the elevation above the horizon f(t) = el(t) − mask(az(t)) and its
//    exact derivative are evaluated on the Hermite interpolant at sub-steps; sign changes of f are
//    crossings, sign changes of f' with f < 0 on both sides are hidden peaks (passes shorter than
//    a sub-step), checked against SGP4 when the interpolated peak comes within the interpolation
//    error of the horizon.
// 4. Every crossing is polished by Newton steps on SGP4 itself (f' comes from the SGP4 velocity),
//    and the maximum elevation is evaluated by SGP4 at the interpolated culmination.
import assert from 'node:assert/strict';
import { SPEED_OF_LIGHT_KM_PER_SEC } from '../common/index.ts';
import { topocentre, type Topocentre } from './earth-frames.ts';
import { illinoisRoot } from './illinois-root.ts';
import { compileHorizon, minElevationRadAt, minElevationSlopeAt, type Horizon } from './horizon-mask.ts';
import { lookAngles, newLookAngles, type LookAngles } from './look-angles.ts';
import { PassFlags, PassTable } from './pass-table.ts';
import { refractionRad } from './refraction.ts';
import { sgp4StatusCode, sgp4StatusText, type Propagator } from './sgp4.ts';
import type { Station } from './station.ts';
import { ExactStateSource, interpolateState, sampleTrajectory, type SampledTrajectory, type TimeWindow } from './trajectory.ts';

const DEG = 180 / Math.PI;
const RAD = Math.PI / 180;
/** Sub-step for the search inside candidate intervals; far shorter than any elevation curve's curvature. */
const SUBSTEP_MAX_SEC = 30;
/** Margin on the visibility cone: geodetic vs geocentric vertical (≤ 0.19°) plus slack. */
const PRUNE_ELEVATION_MARGIN_RAD = 0.5 * RAD;
/** Bound on how much faster than at any node the sub-satellite point may move between nodes. */
const ANGULAR_RATE_MARGIN = 1.25;
/**
 * A peak or valley of f on the interpolant within this much of the horizon is checked with SGP4.
 * Far above the interpolation error, so no pass is missed: measured over the oracle sets, at most
 * 11 m of position for LEO (≤ 3e-5 rad at 350 km range) and 200 m for HEO (MMS; ≤ 1.5e-4 rad
 * at its ≥ 1300 km ranges).
 */
const INTERPOLATION_DOUBT_RAD = 5e-4;
/** Newton on SGP4 stops when its step is below this; the next step would be ~1e-8 s. */
const NEWTON_STEP_DONE_SEC = 2e-3;
const NEWTON_ITERATIONS_MAX = 8;
const BISECTION_TOLERANCE_SEC = 1e-7;
const INTERPOLANT_ROOT_TOLERANCE_SEC = 1e-6;
const INTERPOLANT_ROOT_ITERATIONS_MAX = 60;

export interface PassSearchOptions {
  readonly window: TimeWindow;
  /** Horizon for stations that give neither a minimum elevation nor a mask. */
  readonly defaultMinElevationDeg: number;
  /** Apparent elevation (standard atmospheric refraction, Sæmundsson) instead of geometric. */
  readonly refraction?: boolean;
}

export interface SatelliteProblem {
  readonly satellite: number;
  readonly code: string;
  readonly message: string;
  /** Seconds after the window start at which propagation failed. */
  readonly atSec: number;
}

export interface PassSearchResult {
  readonly table: PassTable;
  readonly problems: readonly SatelliteProblem[];
  readonly sgp4Calls: number;
}

interface StationContext {
  readonly index: number;
  readonly site: Topocentre;
  readonly horizon: Horizon;
  readonly unitX: number;
  readonly unitY: number;
  readonly unitZ: number;
}

/** f, f', elevation and its rate at one time, from interpolant or SGP4. */
interface Sample {
  tSec: number;
  f: number;
  fRate: number;
  elevationRad: number;
  elevationRate: number;
  azimuthRad: number;
  rangeKm: number;
  rangeRate: number;
}

const newSample = (): Sample => ({ tSec: 0, f: 0, fRate: 0, elevationRad: 0, elevationRate: 0, azimuthRad: 0, rangeKm: 0, rangeRate: 0 });

function copySample(from: Sample, to: Sample): void {
  to.tSec = from.tSec;
  to.f = from.f;
  to.fRate = from.fRate;
  to.elevationRad = from.elevationRad;
  to.elevationRate = from.elevationRate;
  to.azimuthRad = from.azimuthRad;
  to.rangeKm = from.rangeKm;
  to.rangeRate = from.rangeRate;
}

function compileStation(station: Station, index: number, defaultMinElevationDeg: number): StationContext {
  const site = topocentre(station.latitudeDeg, station.longitudeDeg, station.altitudeM);
  return {
    index,
    site,
    horizon: compileHorizon(station, defaultMinElevationDeg),
    unitX: site.xKm / site.radiusKm,
    unitY: site.yKm / site.radiusKm,
    unitZ: site.zKm / site.radiusKm,
  };
}

/** Largest geocentric angle between station and satellite at which elevation ≥ `elevationRad`. */
function visibilityHalfAngleRad(stationRadiusKm: number, satelliteRadiusKm: number, elevationRad: number): number {
  const c = Math.min(1, (stationRadiusKm * Math.cos(elevationRad)) / satelliteRadiusKm);
  return Math.acos(c) - elevationRad;
}

/** The search for one satellite; reused scratch state keeps the hot loops allocation-free. */
class SatelliteSearch {
  readonly #source: ExactStateSource;
  readonly #traj: SampledTrajectory;
  readonly #satellite: number;
  readonly #table: PassTable;
  readonly #refraction: boolean;
  readonly #substeps: number;
  readonly #state = new Float64Array(6);
  readonly #look: LookAngles = newLookAngles();
  #station!: StationContext;
  #failed = false;

  // Pass being built.
  #inPass = false;
  #aosSec = 0;
  #aosAzimuthRad = 0;
  #aosTruncated = false;
  #tcaSec = 0;
  #tcaElevationRad = -Infinity;
  #minRangeKm = Infinity;
  #maxRangeKm = 0;

  readonly #prev = newSample();
  readonly #cur = newSample();
  readonly #probe = newSample();
  /** Scratch for searches on the interpolant, never holding a result. */
  readonly #scratch = newSample();

  constructor(source: ExactStateSource, traj: SampledTrajectory, satellite: number, table: PassTable, refraction: boolean) {
    this.#source = source;
    this.#traj = traj;
    this.#satellite = satellite;
    this.#table = table;
    this.#refraction = refraction;
    this.#substeps = Math.max(1, Math.ceil(traj.spacingSec / SUBSTEP_MAX_SEC));
  }

  searchStation(station: StationContext): void {
    this.#station = station;
    const traj = this.#traj;
    const intervals = traj.validIntervals;
    if (intervals === 0) return;
    const h = traj.spacingSec;
    const elevationFloor = station.horizon.lowestElevationRad - PRUNE_ELEVATION_MARGIN_RAD - (this.#refraction ? 1 * RAD : 0);
    const psiMax = visibilityHalfAngleRad(station.site.radiusKm, traj.radiusMaxKm * 1.002 + 5, elevationFloor);
    const psiStep = traj.angularRateMaxRadPerSec * ANGULAR_RATE_MARGIN * h;
    let runStart = -1;
    let k = 0;
    let psiK = this.#psi(0);
    while (k < intervals) {
      const reach = (psiK - psiMax) / psiStep;
      if (reach > 2) {
        // Even moving straight at the station, the satellite cannot enter the cone for a while.
        if (runStart >= 0) {
          this.#scanRun(runStart, k);
          runStart = -1;
        }
        k += Math.ceil(reach - 1);
        if (k >= intervals) break;
        psiK = this.#psi(k);
        continue;
      }
      const psiNext = this.#psi(k + 1);
      const candidate = (psiK + psiNext - psiStep) / 2 <= psiMax;
      if (candidate && runStart < 0) runStart = k;
      if (!candidate && runStart >= 0) {
        this.#scanRun(runStart, k);
        runStart = -1;
      }
      k += 1;
      psiK = psiNext;
    }
    if (runStart >= 0) this.#scanRun(runStart, intervals);
  }

  #psi(k: number): number {
    const st = this.#traj.states;
    const o = 6 * k;
    const s = this.#station;
    const cos = (st[o]! * s.unitX + st[o + 1]! * s.unitY + st[o + 2]! * s.unitZ) / this.#traj.radiusKm[k]!;
    return Math.acos(Math.max(-1, Math.min(1, cos)));
  }

  /** Evaluates f and friends from an Earth-fixed state in `#state`. */
  #fromState(tSec: number, out: Sample): void {
    const look = this.#look;
    lookAngles(this.#station.site, this.#state, 0, look);
    let elevation = look.elevationRad;
    let elevationRate = look.elevationRateRadPerSec;
    if (this.#refraction) {
      const r = refractionRad(elevation);
      const dr = (refractionRad(elevation + 1e-6) - refractionRad(elevation - 1e-6)) / 2e-6;
      elevation += r;
      elevationRate *= 1 + dr;
    }
    const horizon = this.#station.horizon;
    out.tSec = tSec;
    out.elevationRad = elevation;
    out.elevationRate = elevationRate;
    out.azimuthRad = look.azimuthRad;
    out.rangeKm = look.rangeKm;
    out.rangeRate = look.rangeRateKmPerSec;
    if (horizon.constant) {
      out.f = elevation - horizon.minElevationRad;
      out.fRate = elevationRate;
    } else {
      out.f = elevation - minElevationRadAt(horizon, look.azimuthRad);
      out.fRate = elevationRate - minElevationSlopeAt(horizon, look.azimuthRad) * look.azimuthRateRadPerSec;
    }
  }

  #interpolated(k: number, tSec: number, out: Sample): void {
    interpolateState(this.#traj, k, tSec, this.#state);
    this.#fromState(tSec, out);
  }

  #node(k: number, out: Sample): void {
    this.#state.set(this.#traj.states.subarray(6 * k, 6 * k + 6));
    this.#fromState(k === this.#traj.validIntervals && this.#traj.failureStatus === 0 ? this.#source.window.durationSec : k * this.#traj.spacingSec, out);
  }

  /** SGP4 itself; false (and the satellite marked failed) when SGP4 refuses. */
  #exact(tSec: number, out: Sample): boolean {
    if (this.#source.stateAt(tSec, this.#state, 0) !== 0) {
      this.#failed = true;
      return false;
    }
    this.#fromState(tSec, out);
    return true;
  }

  #scanRun(kStart: number, kEnd: number): void {
    const h = this.#traj.spacingSec;
    const m = this.#substeps;
    const prev = this.#prev;
    const cur = this.#cur;
    this.#inPass = false;
    this.#node(kStart, prev);
    if (kStart === 0 && prev.f >= 0) this.#open(prev, true);
    for (let k = kStart; k < kEnd; k += 1) {
      for (let j = 1; j <= m; j += 1) {
        if (j === m) this.#node(k + 1, cur);
        else this.#interpolated(k, k * h + (j * h) / m, cur);
        this.#step(k, prev, cur);
        copySample(cur, prev);
      }
    }
    if (this.#inPass) {
      // Only the window end (or an SGP4 failure) can leave a pass open: pruning ends runs below the horizon.
      this.#close(prev, true);
    }
  }

  /** Handles the sub-step from `a` to `b` inside interval `k`. */
  #step(k: number, a: Sample, b: Sample): void {
    if (this.#inPass) this.#trackCulmination(k, a, b);
    if (a.f < 0 && b.f >= 0) {
      const t = this.#crossing(k, a, b);
      if (!Number.isNaN(t)) {
        this.#open(this.#probe, false);
        this.#trackCulmination(k, this.#probe, b);
      }
    } else if (a.f >= 0 && b.f < 0) {
      const t = this.#crossing(k, a, b);
      if (!Number.isNaN(t) && this.#inPass) this.#close(this.#probe, false);
    } else if (a.f < 0 && b.f < 0 && a.fRate > 0 && b.fRate < 0) {
      this.#hiddenPeak(k, a, b);
    } else if (a.f >= 0 && b.f >= 0 && a.fRate < 0 && b.fRate > 0 && this.#inPass) {
      this.#hiddenValley(k, a, b);
    }
  }

  #open(at: Sample, truncated: boolean): void {
    this.#inPass = true;
    this.#aosSec = at.tSec;
    this.#aosAzimuthRad = at.azimuthRad;
    this.#aosTruncated = truncated;
    this.#tcaSec = at.tSec;
    this.#tcaElevationRad = at.elevationRad;
    this.#minRangeKm = at.rangeKm;
    this.#maxRangeKm = at.rangeKm;
  }

  #close(at: Sample, truncated: boolean): void {
    this.#inPass = false;
    if (at.elevationRad > this.#tcaElevationRad) {
      this.#tcaSec = at.tSec;
      this.#tcaElevationRad = at.elevationRad;
    }
    if (at.rangeKm < this.#minRangeKm) this.#minRangeKm = at.rangeKm;
    if (at.rangeKm > this.#maxRangeKm) this.#maxRangeKm = at.rangeKm;
    const losSec = at.tSec;
    const losAzimuthRad = at.azimuthRad;
    if (this.#tcaSec > losSec) {
      this.#tcaSec = losSec;
      this.#tcaElevationRad = at.elevationRad;
    }
    let maxElevationRad = this.#tcaElevationRad;
    const tcaInside = this.#tcaSec > this.#aosSec && this.#tcaSec < losSec;
    if (tcaInside) {
      const probe = this.#probe;
      if (!this.#exact(this.#tcaSec, probe)) return;
      // A pass the interpolant invented (its peak is really below the horizon) is dropped.
      if (probe.f < 0 && !this.#aosTruncated && !truncated) return;
      maxElevationRad = probe.elevationRad;
    }
    let flags = 0;
    if (this.#aosTruncated) flags |= PassFlags.aosTruncated;
    if (truncated) flags |= PassFlags.losTruncated;
    if (this.#aosTruncated && truncated && this.#aosSec === 0 && losSec === this.#source.window.durationSec) flags |= PassFlags.alwaysVisible;
    this.#table.push({
      satellite: this.#satellite,
      station: this.#station.index,
      aosSec: this.#aosSec,
      tcaSec: this.#tcaSec,
      losSec,
      maxElevationDeg: maxElevationRad * DEG,
      aosAzimuthDeg: this.#aosAzimuthRad * DEG,
      losAzimuthDeg: losAzimuthRad * DEG,
      minRangeKm: this.#minRangeKm,
      maxRangeKm: this.#maxRangeKm,
      flags,
    });
  }

  /** Culmination (elevation maximum) and minimum range inside [a, b] while in a pass, on the interpolant. */
  #trackCulmination(k: number, a: Sample, b: Sample): void {
    const probe = this.#scratch;
    if (a.elevationRate > 0 && b.elevationRate <= 0) {
      const t = this.#interpolantRoot(k, a.tSec, b.tSec, a.elevationRate, b.elevationRate, 'elevationRate');
      this.#interpolated(k, t, probe);
      if (probe.elevationRad > this.#tcaElevationRad) {
        this.#tcaElevationRad = probe.elevationRad;
        this.#tcaSec = t;
      }
    } else if (b.elevationRad > this.#tcaElevationRad) {
      this.#tcaElevationRad = b.elevationRad;
      this.#tcaSec = b.tSec;
    }
    if (a.rangeRate < 0 && b.rangeRate >= 0) {
      const t = this.#interpolantRoot(k, a.tSec, b.tSec, a.rangeRate, b.rangeRate, 'rangeRate');
      this.#interpolated(k, t, probe);
      if (probe.rangeKm < this.#minRangeKm) this.#minRangeKm = probe.rangeKm;
    } else if (b.rangeKm < this.#minRangeKm) {
      this.#minRangeKm = b.rangeKm;
    }
    if (b.f >= 0 && b.rangeKm > this.#maxRangeKm) this.#maxRangeKm = b.rangeKm;
  }

  /** Root of a sample field on the interpolant in [t0, t1] (values y0, y1 of opposite sign). */
  #interpolantRoot(k: number, t0: number, t1: number, y0: number, y1: number, field: 'f' | 'fRate' | 'elevationRate' | 'rangeRate'): number {
    const probe = this.#scratch;
    const valueAt = (t: number): number => {
      this.#interpolated(k, t, probe);
      return probe[field];
    };
    return illinoisRoot(valueAt, t0, t1, y0, y1, INTERPOLANT_ROOT_TOLERANCE_SEC, INTERPOLANT_ROOT_ITERATIONS_MAX);
  }

  /**
   * A horizon crossing between samples `a` and `b` (f of opposite signs): first on the interpolant,
   * then polished on SGP4. Leaves the SGP4 sample at the crossing in `#probe`; NaN if none.
   */
  #crossing(k: number, a: Sample, b: Sample): number {
    const guess = this.#interpolantRoot(k, a.tSec, b.tSec, a.f, b.f, 'f');
    return this.#polish(guess, a.tSec, b.tSec, a.f < 0);
  }

  /**
   * Newton on SGP4 from `guess`, safeguarded: if a step leaves [lo, hi] (widened by a sub-step) or
   * stalls, bisection on SGP4 over [lo, hi]. `rising` tells the sign change expected (− then +).
   */
  #polish(guess: number, lo: number, hi: number, rising: boolean): number {
    const probe = this.#probe;
    const span = hi - lo;
    let t = guess;
    for (let i = 0; i < NEWTON_ITERATIONS_MAX; i += 1) {
      if (!this.#exact(t, probe)) return Number.NaN;
      if (probe.fRate === 0 || (probe.fRate > 0) !== rising) break;
      const step = probe.f / probe.fRate;
      const next = t - step;
      if (next < lo - span || next > hi + span) break;
      t = next;
      if (Math.abs(step) < NEWTON_STEP_DONE_SEC) {
        // One Newton step from within 2 ms lands within ~1e-8 s; the sample in #probe is ~ms old,
        // close enough for the azimuth and range reported at AOS/LOS.
        probe.tSec = t;
        return t;
      }
    }
    return this.#bisect(lo, hi, rising);
  }

  #bisect(lo: number, hi: number, rising: boolean): number {
    const probe = this.#probe;
    if (!this.#exact(lo, probe)) return Number.NaN;
    if ((probe.f < 0) !== rising) return Number.NaN;
    if (!this.#exact(hi, probe)) return Number.NaN;
    if ((probe.f >= 0) !== rising) return Number.NaN;
    let a = lo;
    let b = hi;
    while (b - a > BISECTION_TOLERANCE_SEC) {
      const mid = (a + b) / 2;
      if (!this.#exact(mid, probe)) return Number.NaN;
      if ((probe.f < 0) === rising) a = mid;
      else b = mid;
    }
    const t = rising ? b : a;
    if (!this.#exact(t, probe)) return Number.NaN;
    return t;
  }

  /** f < 0 at both ends with a maximum between: a pass shorter than a sub-step may hide there. */
  #hiddenPeak(k: number, a: Sample, b: Sample): void {
    const peak = this.#interpolantRoot(k, a.tSec, b.tSec, a.fRate, b.fRate, 'fRate');
    const probe = this.#probe;
    this.#interpolated(k, peak, probe);
    if (probe.f < -INTERPOLATION_DOUBT_RAD) return;
    if (!this.#exact(peak, probe) || probe.f < 0) return;
    const tcaElevationRad = probe.elevationRad;
    const aos = this.#polish((a.tSec + peak) / 2, a.tSec, peak, true);
    if (Number.isNaN(aos)) return;
    this.#open(this.#probe, false);
    this.#tcaSec = peak;
    this.#tcaElevationRad = tcaElevationRad;
    const los = this.#polish((peak + b.tSec) / 2, peak, b.tSec, false);
    if (Number.isNaN(los)) {
      this.#inPass = false;
      return;
    }
    this.#close(this.#probe, false);
  }

  /** f ≥ 0 at both ends with a minimum between: the satellite may dip below the horizon briefly. */
  #hiddenValley(k: number, a: Sample, b: Sample): void {
    const valley = this.#interpolantRoot(k, a.tSec, b.tSec, a.fRate, b.fRate, 'fRate');
    const probe = this.#probe;
    this.#interpolated(k, valley, probe);
    if (probe.f > INTERPOLATION_DOUBT_RAD) return;
    if (!this.#exact(valley, probe) || probe.f >= 0) return;
    const los = this.#polish((a.tSec + valley) / 2, a.tSec, valley, false);
    if (Number.isNaN(los)) return;
    this.#close(this.#probe, false);
    const aos = this.#polish((valley + b.tSec) / 2, valley, b.tSec, true);
    if (!Number.isNaN(aos)) this.#open(this.#probe, false);
  }

  get failed(): boolean {
    return this.#failed;
  }
}

/**
 * Finds every pass of every propagator over every station in the window (`undefined` entries,
 * satellites that could not be initialised, are skipped but keep their index). Satellites whose SGP4
 * fails are reported in `problems` (with the time of failure); their passes before it are kept,
 * the last one flagged LOS-truncated.
 */
export function findPasses(
  propagators: readonly (Propagator | undefined)[],
  stations: readonly Station[],
  options: PassSearchOptions,
  satelliteIndexOffset = 0,
): PassSearchResult {
  assert.ok(Number.isInteger(options.window.startMs), 'window start must be a whole millisecond');
  assert.ok(options.window.durationSec > 0, 'window must have a positive length');
  const compiled = stations.map((s, i) => compileStation(s, i, options.defaultMinElevationDeg));
  const table = new PassTable();
  const problems: SatelliteProblem[] = [];
  let sgp4Calls = 0;
  propagators.forEach((propagator, i) => {
    if (propagator === undefined) return;
    const satellite = i + satelliteIndexOffset;
    const source = new ExactStateSource(propagator, options.window);
    const traj = sampleTrajectory(source);
    const search = new SatelliteSearch(source, traj, satellite, table, options.refraction === true);
    for (const station of compiled) search.searchStation(station);
    sgp4Calls += source.sgp4Calls;
    if (traj.failureStatus !== 0) {
      problems.push({
        satellite,
        code: sgp4StatusCode(traj.failureStatus),
        message: `SGP4 stopped at ${traj.failureSec.toFixed(0)} s into the window: ${sgp4StatusText(traj.failureStatus)}`,
        atSec: traj.failureSec,
      });
    }
  });
  return { table, problems, sgp4Calls };
}

/** One-way light time for a range. */
export function owltSecForRangeKm(rangeKm: number): number {
  return rangeKm / SPEED_OF_LIGHT_KM_PER_SEC;
}
