// Earth orientation and the ground station frame, as SGP4 users conventionally do it:
// TEME → pseudo-Earth-fixed by a rotation of GMST (IAU-82, Vallado 2004 eq. 3-45, the formula of
// satellite.js's `gstime` and Skyfield's `theta_GMST1982`), no polar motion, and UT1 = UTC.
// Station positions on the WGS84 ellipsoid.

/** Unix ms of J2000.0 (2000-01-01T12:00:00 UTC, taken as UT1). */
const J2000_UNIX_MS = 946_728_000_000;
const MS_PER_DAY = 86_400_000;
const SEC_PER_DAY = 86_400;
const DAYS_PER_CENTURY = 36_525;
const TWO_PI = 2 * Math.PI;

/** WGS84 ellipsoid (NIMA TR8350.2). */
export const WGS84_A_KM = 6378.137;
export const WGS84_F = 1 / 298.257223563;
const WGS84_E2 = WGS84_F * (2 - WGS84_F);

export interface EarthRotation {
  /** Greenwich mean sidereal angle, radians in [0, 2π). */
  readonly thetaRad: number;
  /** Its rate, rad/s. */
  readonly thetaDotRadPerSec: number;
}

/**
 * GMST (IAU-82) at a UT1 instant given as a day start plus an offset (both Unix ms), so the
 * fraction of the day is kept to the nanosecond. Written in turns like Skyfield's
 * `theta_GMST1982`: the (876600 h·3600 s) T term of Vallado's form is exactly the day fraction.
 */
export function gmst(dayStartMs: number, offsetMs: number): EarthRotation {
  const wholeDays = (dayStartMs - J2000_UNIX_MS) / MS_PER_DAY;
  const fractionDays = offsetMs / MS_PER_DAY;
  const t = (wholeDays + fractionDays) / DAYS_PER_CENTURY;
  const gSec = 67310.54841 + (8640184.812866 + (0.093104 + -6.2e-6 * t) * t) * t;
  const dgSecPerCentury = 8640184.812866 + (0.093104 * 2 + -6.2e-6 * 3 * t) * t;
  let turns = (wholeDays % 1) + fractionDays + gSec / SEC_PER_DAY;
  turns -= Math.floor(turns);
  return {
    thetaRad: turns * TWO_PI,
    thetaDotRadPerSec: ((1 + dgSecPerCentury / (SEC_PER_DAY * DAYS_PER_CENTURY)) * TWO_PI) / SEC_PER_DAY,
  };
}

/**
 * Rotates a TEME state (km, km/s) at `inOffset` of `teme` into the Earth-fixed frame at `outOffset`
 * of `ecef`: position R·r and velocity R·v − ω × (R·r), the velocity as seen on the ground.
 */
export function temeToEcef(
  teme: Float64Array, inOffset: number, rotation: EarthRotation, ecef: Float64Array, outOffset: number,
): void {
  const c = Math.cos(rotation.thetaRad);
  const s = Math.sin(rotation.thetaRad);
  const w = rotation.thetaDotRadPerSec;
  const x = c * teme[inOffset]! + s * teme[inOffset + 1]!;
  const y = -s * teme[inOffset]! + c * teme[inOffset + 1]!;
  const z = teme[inOffset + 2]!;
  ecef[outOffset] = x;
  ecef[outOffset + 1] = y;
  ecef[outOffset + 2] = z;
  ecef[outOffset + 3] = c * teme[inOffset + 3]! + s * teme[inOffset + 4]! + w * y;
  ecef[outOffset + 4] = -s * teme[inOffset + 3]! + c * teme[inOffset + 4]! - w * x;
  ecef[outOffset + 5] = teme[inOffset + 5]!;
}

/** A ground site with its local East-North-Up basis (geodetic normal), Earth-fixed km. */
export interface Topocentre {
  readonly xKm: number;
  readonly yKm: number;
  readonly zKm: number;
  readonly east: readonly [number, number, number];
  readonly north: readonly [number, number, number];
  readonly up: readonly [number, number, number];
  /** Geocentric radius, km. */
  readonly radiusKm: number;
}

export function topocentre(latitudeDeg: number, longitudeDeg: number, altitudeM: number): Topocentre {
  const lat = (latitudeDeg * Math.PI) / 180;
  const lon = (longitudeDeg * Math.PI) / 180;
  const sinLat = Math.sin(lat);
  const cosLat = Math.cos(lat);
  const sinLon = Math.sin(lon);
  const cosLon = Math.cos(lon);
  const hKm = altitudeM / 1000;
  const n = WGS84_A_KM / Math.sqrt(1 - WGS84_E2 * sinLat * sinLat);
  const xKm = (n + hKm) * cosLat * cosLon;
  const yKm = (n + hKm) * cosLat * sinLon;
  const zKm = (n * (1 - WGS84_E2) + hKm) * sinLat;
  return {
    xKm,
    yKm,
    zKm,
    east: [-sinLon, cosLon, 0],
    north: [-sinLat * cosLon, -sinLat * sinLon, cosLat],
    up: [cosLat * cosLon, cosLat * sinLon, sinLat],
    radiusKm: Math.hypot(xKm, yKm, zKm),
  };
}
