// Topocentric look angles of an Earth-fixed state from a station, with their time derivatives
// (from the state's velocity) so that root finding can use Newton steps.
import type { Topocentre } from './earth-frames.ts';

const TWO_PI = 2 * Math.PI;

/** Mutable scratch result, reused across calls to avoid allocating in hot loops. */
export interface LookAngles {
  elevationRad: number;
  azimuthRad: number;
  elevationRateRadPerSec: number;
  azimuthRateRadPerSec: number;
  rangeKm: number;
  rangeRateKmPerSec: number;
}

export function newLookAngles(): LookAngles {
  return { elevationRad: 0, azimuthRad: 0, elevationRateRadPerSec: 0, azimuthRateRadPerSec: 0, rangeKm: 0, rangeRateKmPerSec: 0 };
}

/** Look angles of the state at `offset` of `state` (x, y, z km; vx, vy, vz km/s, Earth-fixed). */
export function lookAngles(site: Topocentre, state: Float64Array, offset: number, out: LookAngles): void {
  const rx = state[offset]! - site.xKm;
  const ry = state[offset + 1]! - site.yKm;
  const rz = state[offset + 2]! - site.zKm;
  const vx = state[offset + 3]!;
  const vy = state[offset + 4]!;
  const vz = state[offset + 5]!;
  const E = site.east;
  const N = site.north;
  const U = site.up;
  const e = rx * E[0] + ry * E[1] + rz * E[2];
  const n = rx * N[0] + ry * N[1] + rz * N[2];
  const u = rx * U[0] + ry * U[1] + rz * U[2];
  const de = vx * E[0] + vy * E[1] + vz * E[2];
  const dn = vx * N[0] + vy * N[1] + vz * N[2];
  const du = vx * U[0] + vy * U[1] + vz * U[2];
  const horizontal2 = e * e + n * n;
  const horizontal = Math.sqrt(horizontal2);
  const range2 = horizontal2 + u * u;
  const range = Math.sqrt(range2);
  let azimuth = Math.atan2(e, n);
  if (azimuth < 0) azimuth += TWO_PI;
  out.elevationRad = Math.atan2(u, horizontal);
  out.azimuthRad = azimuth;
  // d/dt atan2(u, h) = (u'·h − u·h') / (h² + u²), with h' = (e·e' + n·n') / h.
  out.elevationRateRadPerSec = (du * horizontal2 - u * (e * de + n * dn)) / (horizontal * range2);
  out.azimuthRateRadPerSec = (de * n - e * dn) / horizontal2;
  out.rangeKm = range;
  out.rangeRateKmPerSec = (rx * vx + ry * vy + rz * vz) / range;
}
