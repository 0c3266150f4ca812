// Passes in columns (typed arrays): millions of passes cost no object each, and a table moves
// between worker threads by transferring its buffers.

export const PassFlags = {
  aosTruncated: 1,
  losTruncated: 2,
  /** Visible for the whole window (both ends truncated, e.g. GEO). */
  alwaysVisible: 4,
} as const;

export interface PassColumns {
  satellite: Int32Array;
  station: Int32Array;
  /** Seconds after the window start. */
  aosSec: Float64Array;
  tcaSec: Float64Array;
  losSec: Float64Array;
  maxElevationDeg: Float64Array;
  aosAzimuthDeg: Float64Array;
  losAzimuthDeg: Float64Array;
  minRangeKm: Float64Array;
  /** Largest range during the pass (at AOS or LOS for a LEO pass), for a conservative light time. */
  maxRangeKm: Float64Array;
  flags: Uint8Array;
}

const INITIAL_CAPACITY = 256;

function allocate(capacity: number): PassColumns {
  return {
    satellite: new Int32Array(capacity),
    station: new Int32Array(capacity),
    aosSec: new Float64Array(capacity),
    tcaSec: new Float64Array(capacity),
    losSec: new Float64Array(capacity),
    maxElevationDeg: new Float64Array(capacity),
    aosAzimuthDeg: new Float64Array(capacity),
    losAzimuthDeg: new Float64Array(capacity),
    minRangeKm: new Float64Array(capacity),
    maxRangeKm: new Float64Array(capacity),
    flags: new Uint8Array(capacity),
  };
}

export interface PassRow {
  readonly satellite: number;
  readonly station: number;
  readonly aosSec: number;
  readonly tcaSec: number;
  readonly losSec: number;
  readonly maxElevationDeg: number;
  readonly aosAzimuthDeg: number;
  readonly losAzimuthDeg: number;
  readonly minRangeKm: number;
  readonly maxRangeKm: number;
  readonly flags: number;
}

/** A growable pass table; `length` rows of `columns` are valid. */
export class PassTable {
  columns: PassColumns;
  length = 0;

  constructor(columns: PassColumns = allocate(INITIAL_CAPACITY), length = 0) {
    this.columns = columns;
    this.length = length;
  }

  push(row: PassRow): void {
    if (this.length === this.columns.satellite.length) this.#grow(this.length * 2);
    const c = this.columns;
    const i = this.length;
    c.satellite[i] = row.satellite;
    c.station[i] = row.station;
    c.aosSec[i] = row.aosSec;
    c.tcaSec[i] = row.tcaSec;
    c.losSec[i] = row.losSec;
    c.maxElevationDeg[i] = row.maxElevationDeg;
    c.aosAzimuthDeg[i] = row.aosAzimuthDeg;
    c.losAzimuthDeg[i] = row.losAzimuthDeg;
    c.minRangeKm[i] = row.minRangeKm;
    c.maxRangeKm[i] = row.maxRangeKm;
    c.flags[i] = row.flags;
    this.length = i + 1;
  }

  /** Appends every row of `other`, renumbering satellites by `satelliteOffset`. */
  append(other: PassTable, satelliteOffset: number): void {
    const needed = this.length + other.length;
    if (needed > this.columns.satellite.length) this.#grow(Math.max(needed, this.columns.satellite.length * 2));
    const from = other.columns;
    const to = this.columns;
    const n = other.length;
    for (let i = 0; i < n; i += 1) to.satellite[this.length + i] = from.satellite[i]! + satelliteOffset;
    for (const key of ['station', 'aosSec', 'tcaSec', 'losSec', 'maxElevationDeg', 'aosAzimuthDeg', 'losAzimuthDeg', 'minRangeKm', 'maxRangeKm', 'flags'] as const) {
      (to[key] as Float64Array).set((from[key] as Float64Array).subarray(0, n), this.length);
    }
    this.length = needed;
  }

  row(i: number): PassRow {
    const c = this.columns;
    return {
      satellite: c.satellite[i]!,
      station: c.station[i]!,
      aosSec: c.aosSec[i]!,
      tcaSec: c.tcaSec[i]!,
      losSec: c.losSec[i]!,
      maxElevationDeg: c.maxElevationDeg[i]!,
      aosAzimuthDeg: c.aosAzimuthDeg[i]!,
      losAzimuthDeg: c.losAzimuthDeg[i]!,
      minRangeKm: c.minRangeKm[i]!,
      maxRangeKm: c.maxRangeKm[i]!,
      flags: c.flags[i]!,
    };
  }

  /** Row indices ordered by AOS, then satellite, then station. */
  orderByAos(): Int32Array {
    const order = Int32Array.from({ length: this.length }, (_, i) => i);
    const c = this.columns;
    order.sort((a, b) => c.aosSec[a]! - c.aosSec[b]! || c.satellite[a]! - c.satellite[b]! || c.station[a]! - c.station[b]!);
    return order;
  }

  /** Columns trimmed to `length`, for transfer to another thread. */
  trimmed(): PassColumns {
    const c = this.columns;
    const n = this.length;
    return {
      satellite: c.satellite.slice(0, n),
      station: c.station.slice(0, n),
      aosSec: c.aosSec.slice(0, n),
      tcaSec: c.tcaSec.slice(0, n),
      losSec: c.losSec.slice(0, n),
      maxElevationDeg: c.maxElevationDeg.slice(0, n),
      aosAzimuthDeg: c.aosAzimuthDeg.slice(0, n),
      losAzimuthDeg: c.losAzimuthDeg.slice(0, n),
      minRangeKm: c.minRangeKm.slice(0, n),
      maxRangeKm: c.maxRangeKm.slice(0, n),
      flags: c.flags.slice(0, n),
    };
  }

  #grow(capacity: number): void {
    const next = allocate(capacity);
    const c = this.columns;
    for (const key of Object.keys(c) as (keyof PassColumns)[]) (next[key] as Float64Array).set(c[key] as Float64Array);
    this.columns = next;
  }
}
