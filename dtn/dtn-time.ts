// DTN time (RFC 9171 §4.2.6): milliseconds since the DTN epoch, 2000-01-01T00:00:00Z, not affected
// by leap seconds. Inside orbitfed every instant is a UnixMs (ARCHITECTURE: "BPv7 DTN time is
// converted at the wire"); this file is that conversion. Unix time ignores leap seconds too, so the
// two scales differ by a constant offset. The value 0 means "time unknown" (§4.2.6), used by nodes
// without an accurate clock, whose bundles then carry a Bundle Age block (§4.3.1, §4.4.2).
import { OrbitfedError, unixMs, type UnixMs } from '../common/index.ts';

declare const dtnTimeBrand: unique symbol;
/** Milliseconds since 2000-01-01T00:00:00Z, a whole number; 0 means "unknown" (RFC 9171 §4.2.6). */
export type DtnTimeMs = number & { readonly [dtnTimeBrand]: 'DtnTimeMs' };

/** 2000-01-01T00:00:00Z as Unix milliseconds (Date.UTC(2000, 0, 1)). */
export const DTN_EPOCH_UNIX_MS = 946_684_800_000;
/** RFC 9171 §4.2.6: "The DTN time value zero indicates that the time is unknown." */
export const DTN_TIME_UNKNOWN = 0 as DtnTimeMs;

/** Brands a whole, non-negative millisecond count as a DTN time. */
export function dtnTimeMs(value: number): DtnTimeMs {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new OrbitfedError('ORBITFED_DTN_TIME_RANGE', `${value} is not a whole number of milliseconds from 0 to 2^53-1`);
  }
  return value as DtnTimeMs;
}

/**
 * The DTN time of a Unix instant, rounded down to the millisecond. Instants before the DTN epoch
 * cannot be expressed (and the epoch itself would read as "unknown"), so they are refused.
 */
export function dtnTimeFromUnixMs(instant: UnixMs): DtnTimeMs {
  const sinceEpochMs = Math.floor(instant - DTN_EPOCH_UNIX_MS);
  if (!(sinceEpochMs > 0) || !Number.isSafeInteger(sinceEpochMs)) {
    throw new OrbitfedError('ORBITFED_DTN_TIME_RANGE', `Unix time ${instant} ms is not after the DTN epoch 2000-01-01T00:00:00Z`);
  }
  return sinceEpochMs as DtnTimeMs;
}

/** The Unix instant of a DTN time, or `undefined` for DTN time 0 ("unknown"). */
export function unixMsFromDtnTime(time: DtnTimeMs): UnixMs | undefined {
  return time === DTN_TIME_UNKNOWN ? undefined : unixMs(DTN_EPOCH_UNIX_MS + time);
}
