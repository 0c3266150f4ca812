// The element-age rule: stale after 3 days for LEO and 14 days for any orbit, refused after 30 days
// unless allowStale. The two records are copied from test/fixtures/elements/active_20260613.tle.
import { describe, expect, it } from 'vitest';
import { MS_PER_DAY } from '../../common/index.ts';
import { classifyElementAge } from '../../contact-plans/element-age.ts';
import { epochUnixMs, type ElementSet } from '../../contact-plans/element-set.ts';
import { parseTle } from '../../contact-plans/tle.ts';

const TLE = [
  'ISS (ZARYA)',
  '1 25544U 98067A   26164.83523427  .00008738  00000+0  16534-3 0  9990',
  '2 25544  51.6333 316.6832 0004955 182.4672 177.6293 15.49214103571238',
  'LAGEOS 1',
  '1 08820U 76039A   26163.77350779  .00000021  00000+0  00000+0 0  9997',
  '2 08820 109.8023 177.8258 0044668 303.2101 248.1022  6.38664655912852',
].join('\n');

const [iss, lageos] = parseTle(TLE, 'age.tle', { checksum: 'strict' }).elements as [ElementSet, ElementSet];
const daysAfterEpoch = (element: ElementSet, days: number): number => epochUnixMs(element.epoch) + days * MS_PER_DAY;
const strict = { allowStale: false };

describe('classifyElementAge', () => {
  it('says nothing about LEO elements up to 3 days from the reference', () => {
    expect(classifyElementAge([iss], daysAfterEpoch(iss, 2.9), strict)).toEqual([]);
    expect(classifyElementAge([iss], daysAfterEpoch(iss, 3), strict)).toEqual([]);
  });

  it('warns about LEO elements older than 3 days, naming the object, its epoch and the age to one decimal', () => {
    expect(classifyElementAge([iss], daysAfterEpoch(iss, 3.14), strict)).toEqual([
      {
        severity: 'warning',
        code: 'ORBITFED_ELEMENTS_STALE',
        file: 'age.tle',
        line: 1,
        catalogNumber: '25544',
        message:
          'ISS (ZARYA) (25544): epoch 2026-06-13T20:02:44.240928Z is 3.1 days before the reference time: ' +
          'more than 3 days for a LEO object (mean motion > 11.25 rev/day)',
      },
    ]);
  });

  it('warns as well when the epoch lies more than 3 days after the reference', () => {
    const [issue] = classifyElementAge([iss], daysAfterEpoch(iss, -3.5), strict);
    expect(issue?.code).toBe('ORBITFED_ELEMENTS_STALE');
    expect(issue?.message).toContain('is 3.5 days after the reference time');
  });

  it('gives orbits above LEO 14 days before warning', () => {
    expect(classifyElementAge([lageos], daysAfterEpoch(lageos, 10), strict)).toEqual([]);
    const [issue] = classifyElementAge([lageos], daysAfterEpoch(lageos, 14.2), strict);
    expect(issue).toMatchObject({ severity: 'warning', code: 'ORBITFED_ELEMENTS_STALE', catalogNumber: '8820', line: 4 });
    expect(issue?.message).toBe('LAGEOS 1 (8820): epoch 2026-06-12T18:33:51.073056Z is 14.2 days before the reference time: more than 14 days');
  });

  it('counts 11.25 rev/day (a 128-minute period) as the first mean motion that is not LEO', () => {
    const boundary = { ...iss, meanMotionRevPerDay: 11.25 };
    const justLeo = { ...iss, meanMotionRevPerDay: 11.2501 };
    expect(classifyElementAge([boundary], daysAfterEpoch(iss, 5), strict)).toEqual([]);
    expect(classifyElementAge([justLeo], daysAfterEpoch(iss, 5), strict)).toHaveLength(1);
  });

  it('refuses elements more than 30 days from the reference, in either direction', () => {
    const issues = classifyElementAge([iss, lageos], daysAfterEpoch(iss, 31), strict);
    expect(issues.map((i) => [i.catalogNumber, i.severity, i.code])).toEqual([
      ['25544', 'error', 'ORBITFED_ELEMENTS_TOO_OLD'],
      ['8820', 'error', 'ORBITFED_ELEMENTS_TOO_OLD'],
    ]);
    expect(issues[0]?.message).toContain('31.0 days before the reference time: more than 30 days');
    const [future] = classifyElementAge([lageos], daysAfterEpoch(lageos, -30.05), strict);
    expect(future).toMatchObject({ severity: 'error', code: 'ORBITFED_ELEMENTS_TOO_OLD' });
  });

  it('only warns about elements past 30 days when allowStale is set', () => {
    const issues = classifyElementAge([iss], daysAfterEpoch(iss, 45), { allowStale: true });
    expect(issues).toMatchObject([{ severity: 'warning', code: 'ORBITFED_ELEMENTS_STALE' }]);
    expect(issues[0]?.message).toContain('45.0 days before the reference time: more than 30 days; loaded because allowStale is set');
  });

  it('returns one issue per element set that needs one, in input order', () => {
    const referenceMs = daysAfterEpoch(iss, 5);
    expect(classifyElementAge([iss, lageos, iss], referenceMs, strict).map((i) => i.catalogNumber)).toEqual(['25544', '25544']);
  });
});
