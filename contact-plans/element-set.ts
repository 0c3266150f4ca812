// The mean elements of one object, as read from a TLE or an OMM, independent of the encoding.
// Plain readonly data: parsers produce it, `sgp4.ts` turns it into a propagator.

/** An epoch in UTC kept to the microsecond (a JavaScript Date keeps only milliseconds). */
export interface EpochUtc {
  /** ISO 8601 UTC with the microseconds the source gave, e.g. `2026-06-13T20:02:44.240927Z`. */
  readonly iso: string;
  /** Unix milliseconds of 00:00:00 UTC on the epoch's day (an integer). */
  readonly dayStartMs: number;
  /** Milliseconds since `dayStartMs` (a fraction keeps the sub-millisecond part exactly). */
  readonly msOfDay: number;
}

export type ElementFormat = 'tle' | 'omm-json' | 'omm-csv' | 'omm-xml' | 'omm-kvn';

export interface ElementSource {
  readonly file: string;
  /** 1-based line where the record starts (for XML: the line of its `<omm>` element). */
  readonly line: number;
  readonly format: ElementFormat;
}

export interface ElementSet {
  /** NORAD catalog number as decimal digits (Alpha-5 decoded: `T0000` → `270000`); up to 9 digits. */
  readonly catalogNumber: string;
  /** Object name (3LE name line or OBJECT_NAME), or the catalog number when the source has none. */
  readonly name: string;
  /** International designator (`1998-067A`) when known. */
  readonly intlDesignator: string | undefined;
  readonly epoch: EpochUtc;
  readonly meanMotionRevPerDay: number;
  readonly eccentricity: number;
  readonly inclinationDeg: number;
  readonly raanDeg: number;
  readonly argOfPericenterDeg: number;
  readonly meanAnomalyDeg: number;
  /** B* drag term, 1/earth radii. */
  readonly bstarPerEarthRadii: number;
  /** First derivative of mean motion divided by two, rev/day² (TLE line 1 / OMM MEAN_MOTION_DOT). */
  readonly meanMotionDotRevPerDay2: number;
  /** Second derivative of mean motion divided by six, rev/day³ (OMM MEAN_MOTION_DDOT). */
  readonly meanMotionDdotRevPerDay3: number;
  readonly ephemerisType: number;
  readonly classification: string;
  readonly elementSetNumber: number | undefined;
  readonly revAtEpoch: number | undefined;
  /** The two TLE lines when the source was a TLE: SGP4 is then initialised from them exactly. */
  readonly tleLines: readonly [string, string] | undefined;
  readonly source: ElementSource;
}

/** A record that could not be loaded: where it is and why. */
export interface ElementIssue {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly file: string;
  readonly line: number;
  /** Catalog number when it could be read. */
  readonly catalogNumber: string | undefined;
  readonly message: string;
}

export interface ElementLoadResult {
  readonly elements: readonly ElementSet[];
  readonly issues: readonly ElementIssue[];
}

/** Unix milliseconds (with fraction) of an epoch. Loses precision below ~0.25 µs. */
export function epochUnixMs(epoch: EpochUtc): number {
  return epoch.dayStartMs + epoch.msOfDay;
}
