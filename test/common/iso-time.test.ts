import { describe, expect, it } from 'vitest';
import { isoFromMicros, isoFromUnixMicros, unixMicros, unixSecondsText } from '../../common/index.ts';

describe('instants to the microsecond', () => {
  it('writes ISO 8601 with six fractional digits, rolling a full day over', () => {
    expect(isoFromMicros(Date.UTC(2026, 5, 13), 72_164_240_928)).toBe('2026-06-13T20:02:44.240928Z');
    expect(isoFromMicros(Date.UTC(2026, 11, 31), 86_400_000_000)).toBe('2027-01-01T00:00:00.000000Z');
  });

  it('rounds once, so ISO text and Unix seconds of an instant agree', () => {
    const micros = unixMicros(Date.UTC(2026, 5, 14), 90_468.1735);
    expect(micros).toBe(1_781_395_290_468_174);
    expect(isoFromUnixMicros(micros)).toBe('2026-06-14T00:01:30.468174Z');
    expect(unixSecondsText(micros)).toBe('1781395290.468174');
    expect(unixSecondsText(unixMicros(0, 5))).toBe('0.005000');
  });
});
