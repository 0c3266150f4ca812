// The only importer of satellite.js (STYLE rule 17). It turns an ElementSet into a propagator and
// converts the library's quirks (it returns `null` and sets `satrec.error`) into status codes.
// Vallado's SGP4 as published in "Revisiting Spacetrack Report #3" (AIAA 2006-6753); satellite.js
// follows his C++ code line by line and reproduces his verification vectors.
import { json2satrec, sgp4, twoline2satrec, type SatRec } from 'satellite.js';
import type { ElementSet } from './element-set.ts';

/** Status of one propagation, as Vallado's `satrec.error` (0 = ok). */
export const Sgp4Status = {
  ok: 0,
  meanEccentricityOutOfRange: 1,
  meanMotionBelowZero: 2,
  perturbedEccentricityOutOfRange: 3,
  semiLatusRectumBelowZero: 4,
  decayed: 6,
} as const;
export type Sgp4StatusCode = (typeof Sgp4Status)[keyof typeof Sgp4Status] | number;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  1: 'mean eccentricity out of range (0 ≤ e < 1)',
  2: 'mean motion fell below zero',
  3: 'perturbed eccentricity out of range (0 ≤ e ≤ 1)',
  4: 'semi-latus rectum fell below zero',
  6: 'orbit has decayed (position below the Earth surface)',
};

export function sgp4StatusText(status: number): string {
  return STATUS_TEXT[status] ?? `SGP4 error ${status}`;
}

/** Stable error codes for the statuses, per satellite. */
export function sgp4StatusCode(status: number): string {
  return status === Sgp4Status.decayed ? 'ORBITFED_SGP4_DECAYED' : `ORBITFED_SGP4_ERROR_${status}`;
}

/** WGS-72 Earth radius and gravitational parameter, the constants SGP4 element sets are fitted with. */
export const SGP4_EARTH_RADIUS_KM = 6378.135;
const SGP4_MU_KM3_PER_SEC2 = 398600.8;

export interface Propagator {
  readonly elements: ElementSet;
  /** Opaque Vallado record; only this file looks inside it. */
  readonly satrec: SatRec;
  /** True when SDP4 (period ≥ 225 min) is in use. */
  readonly deepSpace: boolean;
  /** Anomalistic period from the Kozai-corrected mean motion, seconds. */
  readonly periodSec: number;
  /** Perigee and apogee radii from the mean elements (geocentric, km). */
  readonly perigeeRadiusKm: number;
  readonly apogeeRadiusKm: number;
}

export type PropagatorResult =
  | { readonly ok: true; readonly propagator: Propagator }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

function satrecFromElements(elements: ElementSet): SatRec {
  if (elements.tleLines !== undefined) return twoline2satrec(elements.tleLines[0], elements.tleLines[1]);
  // json2satrec reads the epoch through a Date (milliseconds); the exact epoch is used for the
  // time since epoch in `minutesSinceEpoch`, which is what SGP4's accuracy depends on.
  return json2satrec({
    OBJECT_NAME: elements.name,
    OBJECT_ID: elements.intlDesignator ?? '',
    EPOCH: elements.epoch.iso,
    MEAN_MOTION: elements.meanMotionRevPerDay,
    ECCENTRICITY: elements.eccentricity,
    INCLINATION: elements.inclinationDeg,
    RA_OF_ASC_NODE: elements.raanDeg,
    ARG_OF_PERICENTER: elements.argOfPericenterDeg,
    MEAN_ANOMALY: elements.meanAnomalyDeg,
    EPHEMERIS_TYPE: 0,
    CLASSIFICATION_TYPE: 'U',
    NORAD_CAT_ID: Number(elements.catalogNumber),
    ELEMENT_SET_NO: elements.elementSetNumber ?? 999,
    REV_AT_EPOCH: elements.revAtEpoch ?? 0,
    BSTAR: elements.bstarPerEarthRadii,
    MEAN_MOTION_DOT: elements.meanMotionDotRevPerDay2,
    MEAN_MOTION_DDOT: elements.meanMotionDdotRevPerDay3,
  } as Parameters<typeof json2satrec>[0]);
}

/** Initialises SGP4/SDP4 for one element set. Initialisation errors are returned, never thrown. */
export function createPropagator(elements: ElementSet): PropagatorResult {
  let satrec: SatRec;
  try {
    satrec = satrecFromElements(elements);
  } catch (cause) {
    return { ok: false, status: -1, code: 'ORBITFED_SGP4_INIT', message: `SGP4 initialisation failed: ${String(cause)}` };
  }
  if (satrec.error !== 0) {
    return { ok: false, status: satrec.error, code: sgp4StatusCode(satrec.error), message: sgp4StatusText(satrec.error) };
  }
  // satrec.no is the Kozai-corrected (un-Kozai'd) mean motion in rad/min; satrec.a in earth radii.
  const periodSec = ((2 * Math.PI) / satrec.no) * 60;
  const semiMajorKm = Math.cbrt(SGP4_MU_KM3_PER_SEC2 * (periodSec / (2 * Math.PI)) ** 2);
  return {
    ok: true,
    propagator: {
      elements,
      satrec,
      deepSpace: satrec.method === 'd',
      periodSec,
      perigeeRadiusKm: semiMajorKm * (1 - elements.eccentricity),
      apogeeRadiusKm: semiMajorKm * (1 + elements.eccentricity),
    },
  };
}

/**
 * Minutes from the element epoch to `dayOffsetMs` after `dayStartMs` (both Unix ms), computed as
 * a difference of small numbers so no microsecond of the epoch is lost.
 */
export function minutesSinceEpoch(p: Propagator, dayStartMs: number, offsetMs: number): number {
  const epoch = p.elements.epoch;
  return (dayStartMs - epoch.dayStartMs + (offsetMs - epoch.msOfDay)) / 60_000;
}

/**
 * Propagates to `tsinceMin` minutes from epoch and writes the TEME state (km, km/s) into `out`
 * at `offset` (x, y, z, vx, vy, vz). Returns the SGP4 status; `out` is untouched on error.
 */
export function propagateTeme(p: Propagator, tsinceMin: number, out: Float64Array, offset: number): number {
  const result = sgp4(p.satrec, tsinceMin);
  if (result === null) return p.satrec.error === 0 ? -1 : p.satrec.error;
  const r = result.position;
  const v = result.velocity;
  out[offset] = r.x;
  out[offset + 1] = r.y;
  out[offset + 2] = r.z;
  out[offset + 3] = v.x;
  out[offset + 4] = v.y;
  out[offset + 5] = v.z;
  return 0;
}
