// The passes one ground station will see in a window of time: AOS and LOS events with the
// satellite, its maximum elevation and TCA, and antenna pointing computed on demand for the
// current second. Pure: element sets, a station and a window in, plain data out (no files, no
// timers, no wall time); `pass-publisher.ts` drives it on a Clock.
import assert from 'node:assert/strict';
import { OrbitfedError, unixMs, MS_PER_SECOND, type UnixMs } from '../common/index.ts';
import {
  createPropagator,
  findPasses,
  PassFlags,
  PointingSolver,
  sgp4StatusText,
  type ElementSet,
  type Propagator,
  type Station,
} from '../contact-plans/index.ts';

/** More satellites than this for one station is refused: far beyond what one antenna serves. */
export const SCHEDULE_SATELLITES_MAX = 20_000;
/** Longest window one schedule covers; a publisher computes windows one after another. */
export const SCHEDULE_WINDOW_SEC_MAX = 7 * 86_400;
/** Passes kept in one schedule; more is refused rather than silently cut. */
export const SCHEDULE_PASSES_MAX = 200_000;

/** The satellites a station serves, with SGP4 initialised once and reused for every window. */
export interface ScheduleSatellites {
  readonly elements: readonly ElementSet[];
  /** Parallel to `elements`; `undefined` where SGP4 could not be initialised (see `problems`). */
  readonly propagators: readonly (Propagator | undefined)[];
  readonly problems: readonly ScheduleProblem[];
}

/** A satellite the schedule could not follow, and why (SGP4 initialisation or propagation). */
export interface ScheduleProblem {
  readonly satellite: string;
  readonly noradId: string;
  readonly code: string;
  readonly message: string;
}

export interface ScheduleWindow {
  /** Unix ms, a whole millisecond. */
  readonly startMs: number;
  readonly durationSec: number;
  /** Horizon for a station that states neither `minElevationDeg` nor a mask. */
  readonly defaultMinElevationDeg: number;
  /** Apparent elevations (standard refraction) instead of geometric ones. */
  readonly refraction?: boolean;
}

/** One pass of one satellite over the station. */
export interface ScheduledPass {
  /** Satellite name (3LE name line or OBJECT_NAME). */
  readonly satellite: string;
  /** NORAD catalog number as decimal digits. */
  readonly noradId: string;
  /** Index of the satellite in `ScheduleSatellites.elements`. */
  readonly satelliteIndex: number;
  readonly aosMs: UnixMs;
  /** Time of closest approach: the culmination (highest elevation). */
  readonly tcaMs: UnixMs;
  readonly losMs: UnixMs;
  readonly maxElevationDeg: number;
  readonly aosAzimuthDeg: number;
  readonly losAzimuthDeg: number;
  readonly minRangeKm: number;
  /** The pass was already under way at the window start: `aosMs` is the window start. */
  readonly aosTruncated: boolean;
  /** The pass goes on past the window end: `losMs` is the window end. */
  readonly losTruncated: boolean;
}

export interface PassSchedule {
  readonly stationId: string;
  readonly startMs: UnixMs;
  readonly endMs: UnixMs;
  /** Ordered by AOS, then satellite index. */
  readonly passes: readonly ScheduledPass[];
  /** Satellites whose propagation failed inside the window (their passes before that are kept). */
  readonly problems: readonly ScheduleProblem[];
}

export type PassEventKind = 'aos' | 'los';

/** Acquisition or loss of signal: the moment a pass starts or ends. */
export interface PassEvent {
  readonly kind: PassEventKind;
  readonly timeMs: UnixMs;
  readonly pass: ScheduledPass;
}

/** Where the antenna points at one instant to follow one satellite. */
export interface TrackSample {
  readonly satellite: string;
  readonly noradId: string;
  readonly timeMs: UnixMs;
  /** Degrees clockwise from north. */
  readonly azimuthDeg: number;
  readonly elevationDeg: number;
  readonly rangeKm: number;
  /** Positive when the satellite moves away. */
  readonly rangeRateKmPerSec: number;
}

export type TrackResult =
  | { readonly ok: true; readonly sample: TrackSample }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Initialises SGP4 for each element set once; a satellite that fails is a problem, not an error. */
export function prepareSatellites(elements: readonly ElementSet[]): ScheduleSatellites {
  if (elements.length > SCHEDULE_SATELLITES_MAX) {
    throw new OrbitfedError('ORBITFED_SCHEDULE_TOO_MANY_SATELLITES',
      `${elements.length} satellites for one station; at most ${SCHEDULE_SATELLITES_MAX} are scheduled`);
  }
  const problems: ScheduleProblem[] = [];
  const propagators = elements.map((element) => {
    const result = createPropagator(element);
    if (result.ok) return result.propagator;
    problems.push({ satellite: element.name, noradId: element.catalogNumber, code: result.code, message: `SGP4 initialisation: ${result.message}` });
    return undefined;
  });
  return { elements, propagators, problems };
}

/** Every pass of `satellites` over `station` inside the window, ordered by AOS. */
export function computePassSchedule(station: Station, satellites: ScheduleSatellites, window: ScheduleWindow): PassSchedule {
  if (!Number.isInteger(window.startMs)) {
    throw new OrbitfedError('ORBITFED_SCHEDULE_WINDOW', `window start must be a whole millisecond, got ${window.startMs}`, { field: 'startMs' });
  }
  if (!(window.durationSec > 0 && window.durationSec <= SCHEDULE_WINDOW_SEC_MAX)) {
    throw new OrbitfedError('ORBITFED_SCHEDULE_WINDOW',
      `window length must be in (0, ${SCHEDULE_WINDOW_SEC_MAX}] s, got ${window.durationSec}`, { field: 'durationSec' });
  }
  const result = findPasses(satellites.propagators, [station], {
    window: { startMs: window.startMs, durationSec: window.durationSec },
    defaultMinElevationDeg: window.defaultMinElevationDeg,
    refraction: window.refraction === true,
  });
  const table = result.table;
  if (table.length > SCHEDULE_PASSES_MAX) {
    throw new OrbitfedError('ORBITFED_SCHEDULE_TOO_MANY_PASSES',
      `${table.length} passes over ${station.id} in ${window.durationSec} s; at most ${SCHEDULE_PASSES_MAX} are kept — use a shorter window`);
  }
  const c = table.columns;
  const atSec = (sec: number): UnixMs => unixMs(window.startMs + sec * MS_PER_SECOND);
  const passes: ScheduledPass[] = [];
  for (const row of table.orderByAos()) {
    const index = c.satellite[row]!;
    const element = satellites.elements[index]!;
    const flags = c.flags[row]!;
    passes.push({
      satellite: element.name,
      noradId: element.catalogNumber,
      satelliteIndex: index,
      aosMs: atSec(c.aosSec[row]!),
      tcaMs: atSec(c.tcaSec[row]!),
      losMs: atSec(c.losSec[row]!),
      maxElevationDeg: c.maxElevationDeg[row]!,
      aosAzimuthDeg: c.aosAzimuthDeg[row]!,
      losAzimuthDeg: c.losAzimuthDeg[row]!,
      minRangeKm: c.minRangeKm[row]!,
      aosTruncated: (flags & PassFlags.aosTruncated) !== 0,
      losTruncated: (flags & PassFlags.losTruncated) !== 0,
    });
  }
  const problems = result.problems.map((p): ScheduleProblem => {
    const element = satellites.elements[p.satellite]!;
    return { satellite: element.name, noradId: element.catalogNumber, code: p.code, message: p.message };
  });
  return {
    stationId: station.id,
    startMs: unixMs(window.startMs),
    endMs: unixMs(window.startMs + window.durationSec * MS_PER_SECOND),
    passes,
    problems,
  };
}

/**
 * AOS and LOS events of a schedule in time order (a LOS before an AOS at the same instant). The
 * window edges of truncated passes are not events: nothing was acquired or lost there.
 */
export function passEvents(schedule: PassSchedule): PassEvent[] {
  const events: PassEvent[] = [];
  for (const pass of schedule.passes) {
    if (!pass.aosTruncated) events.push({ kind: 'aos', timeMs: pass.aosMs, pass });
    if (!pass.losTruncated) events.push({ kind: 'los', timeMs: pass.losMs, pass });
  }
  return events.sort(compareEvents);
}

/** Time order; at one instant a LOS comes first, so an antenna is released before it is claimed. */
export function compareEvents(a: PassEvent, b: PassEvent): number {
  return a.timeMs - b.timeMs || (a.kind === b.kind ? 0 : a.kind === 'los' ? -1 : 1) || a.pass.satelliteIndex - b.pass.satelliteIndex;
}

/** The whole second at or before `timeMs`: track samples are taken on whole UTC seconds (1 Hz). */
export function trackSecondMs(timeMs: number): UnixMs {
  return unixMs(Math.floor(timeMs / MS_PER_SECOND) * MS_PER_SECOND);
}

/** Whole seconds at which a pass is tracked: every second from AOS to LOS, both inclusive. */
export function trackSecondsOf(pass: ScheduledPass): { readonly firstMs: UnixMs; readonly lastMs: UnixMs; readonly count: number } {
  const firstMs = Math.ceil(pass.aosMs / MS_PER_SECOND) * MS_PER_SECOND;
  const lastMs = trackSecondMs(pass.losMs);
  return { firstMs: unixMs(firstMs), lastMs, count: Math.max(0, (lastMs - firstMs) / MS_PER_SECOND + 1) };
}

/** Antenna pointing of one station toward its satellites, straight from SGP4, on demand. */
export class StationPointing {
  readonly #satellites: ScheduleSatellites;
  readonly #station: Station;
  /** One solver per satellite, made when first asked for: bounded by the satellite count. */
  readonly #solvers = new Map<number, PointingSolver>();

  constructor(station: Station, satellites: ScheduleSatellites) {
    this.#station = station;
    this.#satellites = satellites;
  }

  /** Where the antenna points at `timeMs` to follow the satellite at `satelliteIndex`. */
  at(satelliteIndex: number, timeMs: number): TrackResult {
    const element = this.#satellites.elements[satelliteIndex];
    assert.ok(element !== undefined, `no satellite at index ${satelliteIndex}`);
    const propagator = this.#satellites.propagators[satelliteIndex];
    if (propagator === undefined) {
      return { ok: false, code: 'ORBITFED_SCHEDULE_NO_PROPAGATOR', message: `${element.name} (${element.catalogNumber}): SGP4 could not be initialised` };
    }
    let solver = this.#solvers.get(satelliteIndex);
    if (solver === undefined) {
      solver = new PointingSolver(propagator, this.#station);
      this.#solvers.set(satelliteIndex, solver);
    }
    const whole = Math.floor(timeMs);
    const pointing = solver.at(whole, timeMs - whole);
    if (typeof pointing === 'number') {
      return { ok: false, code: 'ORBITFED_SCHEDULE_SGP4', message: `${element.name} (${element.catalogNumber}): SGP4 failed: ${sgp4StatusText(pointing)}` };
    }
    return {
      ok: true,
      sample: {
        satellite: element.name,
        noradId: element.catalogNumber,
        timeMs: unixMs(timeMs),
        azimuthDeg: pointing.azimuthDeg,
        elevationDeg: pointing.elevationDeg,
        rangeKm: pointing.rangeKm,
        rangeRateKmPerSec: pointing.rangeRateKmPerSec,
      },
    };
  }

  /** The sample for the current whole second of a pass, or `undefined` outside [AOS, LOS]. */
  forCurrentSecond(pass: ScheduledPass, nowMs: number): TrackResult | undefined {
    const secondMs = trackSecondMs(nowMs);
    if (secondMs < pass.aosMs || secondMs > pass.losMs) return undefined;
    return this.at(pass.satelliteIndex, secondMs);
  }
}
