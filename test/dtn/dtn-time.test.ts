// DTN time (RFC 9171 §4.2.6) ⇄ Unix milliseconds.
import { describe, expect, it } from 'vitest';
import { unixMs } from '../../common/index.ts';
import { DTN_EPOCH_UNIX_MS, DTN_TIME_UNKNOWN, dtnTimeFromUnixMs, dtnTimeMs, unixMsFromDtnTime } from '../../dtn/dtn-time.ts';
import { codeOf } from './sample-bundles.ts';

describe('DTN time', () => {
  it('counts from 2000-01-01T00:00:00Z', () => {
    expect(DTN_EPOCH_UNIX_MS).toBe(Date.UTC(2000, 0, 1));
    expect(dtnTimeFromUnixMs(unixMs(Date.UTC(2000, 0, 1, 0, 0, 1)))).toBe(1000);
  });

  it('converts a 2026 instant both ways', () => {
    const instant = unixMs(Date.UTC(2026, 5, 14, 12, 30, 0, 250));
    const dtn = dtnTimeFromUnixMs(instant);
    expect(dtn).toBe(Date.UTC(2026, 5, 14, 12, 30, 0, 250) - Date.UTC(2000, 0, 1));
    expect(dtn).toBeGreaterThan(2 ** 32);
    expect(unixMsFromDtnTime(dtn)).toBe(instant);
  });

  it('rounds sub-millisecond Unix instants down', () => {
    expect(dtnTimeFromUnixMs(unixMs(DTN_EPOCH_UNIX_MS + 1234.9))).toBe(1234);
  });

  it('reads DTN time 0 as unknown', () => {
    expect(unixMsFromDtnTime(DTN_TIME_UNKNOWN)).toBeUndefined();
  });

  it('refuses Unix instants at or before the DTN epoch, and DTN times that are not whole milliseconds', () => {
    expect(codeOf(() => dtnTimeFromUnixMs(unixMs(DTN_EPOCH_UNIX_MS)))).toBe('ORBITFED_DTN_TIME_RANGE');
    expect(codeOf(() => dtnTimeFromUnixMs(unixMs(0)))).toBe('ORBITFED_DTN_TIME_RANGE');
    expect(codeOf(() => dtnTimeFromUnixMs(unixMs(Number.NaN)))).toBe('ORBITFED_DTN_TIME_RANGE');
    expect(codeOf(() => dtnTimeMs(1.5))).toBe('ORBITFED_DTN_TIME_RANGE');
    expect(codeOf(() => dtnTimeMs(-1))).toBe('ORBITFED_DTN_TIME_RANGE');
  });
});
