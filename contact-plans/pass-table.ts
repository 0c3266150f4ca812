// Passes in columns (typed arrays), on the shared growable column table.
import { ColumnTable, type Columns, type RowOf } from './column-table.ts';

export const PassFlags = {
  aosTruncated: 1,
  losTruncated: 2,
  /** Visible for the whole window (both ends truncated, e.g. GEO). */
  alwaysVisible: 4,
} as const;

export interface PassColumns extends Columns {
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

function allocatePassColumns(capacity: number): PassColumns {
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

export type PassRow = RowOf<PassColumns>;

/** A growable pass table; `length` rows of `columns` are valid. */
export class PassTable extends ColumnTable<PassColumns> {
  constructor(columns?: PassColumns, length = 0) {
    super(allocatePassColumns, columns, length);
  }

  /** Row indices ordered by AOS, then satellite, then station. */
  orderByAos(): Int32Array {
    const order = Int32Array.from({ length: this.length }, (_, i) => i);
    const c = this.columns;
    order.sort((a, b) => c.aosSec[a]! - c.aosSec[b]! || c.satellite[a]! - c.satellite[b]! || c.station[a]! - c.station[b]!);
    return order;
  }
}
