// Where a station sees a satellite at one instant, straight from SGP4 (no interpolation): for
// antenna pointing, for spot checks, and as the independent reference in tests.
import { topocentre, type Topocentre } from './earth-frames.ts';
import { lookAngles, newLookAngles } from './look-angles.ts';
import type { Propagator } from './sgp4.ts';
import type { Station } from './station.ts';
import { ExactStateSource } from './trajectory.ts';

const DEG = 180 / Math.PI;

export interface Pointing {
  readonly azimuthDeg: number;
  readonly elevationDeg: number;
  readonly rangeKm: number;
  readonly rangeRateKmPerSec: number;
}

/** A station's view of one satellite, reusable for many instants. */
export class PointingSolver {
  readonly #site: Topocentre;
  readonly #state = new Float64Array(6);
  readonly #look = newLookAngles();
  readonly #propagator: Propagator;

  constructor(propagator: Propagator, station: Pick<Station, 'latitudeDeg' | 'longitudeDeg' | 'altitudeM'>) {
    this.#propagator = propagator;
    this.#site = topocentre(station.latitudeDeg, station.longitudeDeg, station.altitudeM);
  }

  /**
   * Geometric look angles at `offsetMs` after `baseMs` (Unix ms; split so sub-millisecond
   * offsets keep their precision). Returns the SGP4 status code instead when propagation fails.
   */
  at(baseMs: number, offsetMs: number): Pointing | number {
    const source = new ExactStateSource(this.#propagator, { startMs: baseMs, durationSec: 1 });
    const status = source.stateAt(offsetMs / 1000, this.#state, 0);
    if (status !== 0) return status;
    lookAngles(this.#site, this.#state, 0, this.#look);
    return {
      azimuthDeg: this.#look.azimuthRad * DEG,
      elevationDeg: this.#look.elevationRad * DEG,
      rangeKm: this.#look.rangeKm,
      rangeRateKmPerSec: this.#look.rangeRateKmPerSec,
    };
  }
}
