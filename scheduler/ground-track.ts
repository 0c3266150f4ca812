// A satellite's ground track (sub-satellite point) and the country under it, for the processing
// footprint rule: "the satellite's sub-point must stay inside allowed territory for the whole
// execution window".
//
// Best effort, on purpose and documented:
// - The track is sampled every `GROUND_TRACK_STEP_MS` (10 s) on a grid fixed to the Unix epoch; an
//   execution [start, finish] is inside when every grid sample from ⌊start⌋ to ⌈finish⌉ (one step
//   beyond each end, so the window is covered) is inside. A LEO satellite moves about 75 km in
//   10 s, so a territory crossed in less than that between two samples can be missed.
// - Positions come from SGP4 on the node's element set (the scheduler's catalog; the elements'
//   own accuracy, about a kilometre at epoch and growing by kilometres per day, applies). Earth
//   orientation as contact-plans: GMST (IAU-82), UT1 = UTC, no polar motion.
// - The sub-point is the geodetic point under the satellite on WGS84 (NIMA TR8350.2), from
//   Bowring's iteration; the country lookup is country-borders.ts (Natural Earth 1:50m).
// - A sample where SGP4 fails counts as outside.
//
// contact-plans exports no Earth-fixed position, only `PointingSolver` (look angles from a site).
// Seen from a site at the Earth's centre — latitude 0, longitude 0, height −a, where its east,
// north and up axes are the Earth-fixed y, z and x axes — azimuth, elevation and range are the
// satellite's spherical coordinates in the Earth-fixed frame: x = r sin el, y = r cos el sin az,
// z = r cos el cos az. `test/scheduler/ground-track.test.ts` checks the result against an
// independent propagation.
import { PointingSolver, type ElementSet, type Propagator, createPropagator } from '../contact-plans/index.ts';
import type { CountryBorders } from './country-borders.ts';

export const GROUND_TRACK_STEP_MS = 10_000;
/** Samples per cached chunk (one hour). */
const CHUNK_SAMPLES = 360;
/** Chunks kept at most (≈ 720 bytes each); the least recently used is dropped beyond it. */
export const GROUND_TRACK_CHUNKS_MAX = 16_384;
/** Country index of a sample where SGP4 failed. */
const SGP4_FAILED = -2;

const WGS84_A_KM = 6378.137;
const WGS84_F = 1 / 298.257223563;
const WGS84_E2 = WGS84_F * (2 - WGS84_F);
const DEG = 180 / Math.PI;

export interface SubPoint {
  readonly latitudeDeg: number;
  readonly longitudeDeg: number;
  readonly altitudeKm: number;
}

/** The sub-satellite point at `unixMs`, or the SGP4 status code when propagation fails. */
export function subSatellitePoint(propagator: Propagator, unixMs: number): SubPoint | number {
  const fromCentre = new PointingSolver(propagator, { latitudeDeg: 0, longitudeDeg: 0, altitudeM: -WGS84_A_KM * 1000 });
  const look = fromCentre.at(unixMs, 0);
  if (typeof look === 'number') return look;
  const el = look.elevationDeg / DEG;
  const az = look.azimuthDeg / DEG;
  const r = look.rangeKm;
  return geodeticOf(r * Math.sin(el), r * Math.cos(el) * Math.sin(az), r * Math.cos(el) * Math.cos(az));
}

/** Geodetic latitude, longitude and height of an Earth-fixed point (km), by Bowring's iteration. */
export function geodeticOf(xKm: number, yKm: number, zKm: number): SubPoint {
  const p = Math.hypot(xKm, yKm);
  const longitudeDeg = Math.atan2(yKm, xKm) * DEG;
  let lat = Math.atan2(zKm, p * (1 - WGS84_E2));
  let n = WGS84_A_KM;
  for (let i = 0; i < 5; i++) {
    const sinLat = Math.sin(lat);
    n = WGS84_A_KM / Math.sqrt(1 - WGS84_E2 * sinLat * sinLat);
    lat = Math.atan2(zKm + WGS84_E2 * n * sinLat, p);
  }
  const cosLat = Math.cos(lat);
  const altitudeKm = Math.abs(cosLat) > 1e-9 ? p / cosLat - n : Math.abs(zKm) - n * (1 - WGS84_E2);
  return { latitudeDeg: lat * DEG, longitudeDeg, altitudeKm };
}

/**
 * The countries under satellites, per 10 s sample, computed on demand and cached per hour of
 * track (bounded, least recently used dropped). Results never depend on the cache.
 */
export class GroundTracks {
  readonly #borders: CountryBorders;
  readonly #elements: ReadonlyMap<number, ElementSet>;
  readonly #propagators = new Map<number, Propagator | null>();
  readonly #chunks = new Map<string, Int16Array>();
  /** SGP4 evaluations so far (for benchmarks and tests). */
  samplesComputed = 0;

  constructor(borders: CountryBorders, elements: ReadonlyMap<number, ElementSet>) {
    this.#borders = borders;
    this.#elements = elements;
  }

  get borders(): CountryBorders {
    return this.#borders;
  }

  /** Whether the catalog has usable elements for this catalog number. */
  has(noradId: number): boolean {
    return this.#propagator(noradId) !== null;
  }

  /**
   * The earliest start ≥ `fromMs` and ≤ `latestStartMs` at which [start, start + executionMs] stays
   * inside the allowed countries (`allowed[countryIndex] === 1`), or undefined when there is none.
   */
  earliestInside(noradId: number, allowed: Uint8Array, fromMs: number, latestStartMs: number, executionMs: number): number | undefined {
    if (this.#propagator(noradId) === null || latestStartMs < fromMs) return undefined;
    const step = GROUND_TRACK_STEP_MS;
    let k = Math.floor(fromMs / step);
    const kLast = Math.ceil((latestStartMs + executionMs) / step);
    let runStart = -1;
    for (; k <= kLast; k++) {
      if (!this.#insideAt(noradId, k, allowed)) {
        runStart = -1;
        continue;
      }
      if (runStart === -1) runStart = k;
      const startMs = Math.max(fromMs, runStart * step);
      if (startMs > latestStartMs) return undefined;
      if (startMs + executionMs <= k * step) return startMs;
    }
    return undefined;
  }

  #insideAt(noradId: number, k: number, allowed: Uint8Array): boolean {
    const chunk = this.#chunk(noradId, Math.floor(k / CHUNK_SAMPLES));
    const country = chunk[k - Math.floor(k / CHUNK_SAMPLES) * CHUNK_SAMPLES]!;
    return country >= 0 && allowed[country] === 1;
  }

  #chunk(noradId: number, index: number): Int16Array {
    const key = `${noradId}:${index}`;
    const cached = this.#chunks.get(key);
    if (cached !== undefined) {
      this.#chunks.delete(key);
      this.#chunks.set(key, cached);
      return cached;
    }
    const propagator = this.#propagator(noradId)!;
    const chunk = new Int16Array(CHUNK_SAMPLES);
    for (let i = 0; i < CHUNK_SAMPLES; i++) {
      const point = subSatellitePoint(propagator, (index * CHUNK_SAMPLES + i) * GROUND_TRACK_STEP_MS);
      this.samplesComputed += 1;
      chunk[i] = typeof point === 'number' ? SGP4_FAILED : this.#borders.countryIndexAt(point.latitudeDeg, point.longitudeDeg);
    }
    if (this.#chunks.size >= GROUND_TRACK_CHUNKS_MAX) this.#chunks.delete(this.#chunks.keys().next().value!);
    this.#chunks.set(key, chunk);
    return chunk;
  }

  #propagator(noradId: number): Propagator | null {
    let propagator = this.#propagators.get(noradId);
    if (propagator === undefined) {
      const elements = this.#elements.get(noradId);
      const result = elements === undefined ? undefined : createPropagator(elements);
      propagator = result?.ok === true ? result.propagator : null;
      this.#propagators.set(noradId, propagator);
    }
    return propagator;
  }
}
