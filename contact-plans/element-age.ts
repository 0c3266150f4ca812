// Flags element sets whose epoch is too far from the time they will be used. SGP4 errors grow with
// the distance from epoch in either direction, and fastest for low orbits, where the drag model
// (B*) dominates, so the limit depends on the orbit. `referenceMs` is the start of the window the
// elements will serve (a pure function: the caller's Clock decides it, never wall time here).
//
// The rule (orbitfed's element-age policy):
//   |epoch − reference| >  3 days for LEO (mean motion > 11.25 rev/day, period < 128 min)  → warning
//   |epoch − reference| > 14 days for any orbit                                            → warning
//   |epoch − reference| > 30 days                                → error (a warning when allowStale)
import { MS_PER_DAY } from '../common/index.ts';
import { epochUnixMs, type ElementIssue, type ElementSet } from './element-set.ts';

export interface ElementAgeOptions {
  /** Load elements older than the hard limit anyway (with a warning instead of an error). */
  readonly allowStale: boolean;
}

/** 1440 min / 128 min = 11.25 rev/day: the conventional LEO boundary (period under 128 minutes). */
export const LEO_MEAN_MOTION_MIN_REV_PER_DAY = 11.25;
export const LEO_STALE_AFTER_DAYS = 3;
export const STALE_AFTER_DAYS = 14;
export const TOO_OLD_AFTER_DAYS = 30;

/** One issue per element set whose epoch is too far from `referenceMs`; none for fresh ones. */
export function classifyElementAge(
  elements: readonly ElementSet[],
  referenceMs: number,
  options: ElementAgeOptions,
): ElementIssue[] {
  const issues: ElementIssue[] = [];
  for (const element of elements) {
    const offsetMs = epochUnixMs(element.epoch) - referenceMs;
    const ageDays = Math.abs(offsetMs) / MS_PER_DAY;
    const isLeo = element.meanMotionRevPerDay > LEO_MEAN_MOTION_MIN_REV_PER_DAY;
    const staleAfterDays = isLeo ? LEO_STALE_AFTER_DAYS : STALE_AFTER_DAYS;
    if (!(ageDays > staleAfterDays)) continue;

    const tooOld = ageDays > TOO_OLD_AFTER_DAYS;
    const direction = offsetMs < 0 ? 'before' : 'after';
    const subject =
      `${element.name} (${element.catalogNumber}): epoch ${element.epoch.iso} is ` +
      `${ageDays.toFixed(1)} days ${direction} the reference time`;
    let severity: ElementIssue['severity'] = 'warning';
    let code = 'ORBITFED_ELEMENTS_STALE';
    let reason: string;
    if (tooOld && !options.allowStale) {
      severity = 'error';
      code = 'ORBITFED_ELEMENTS_TOO_OLD';
      reason = `more than ${TOO_OLD_AFTER_DAYS} days; refusing it (allowStale loads it anyway)`;
    } else if (tooOld) {
      reason = `more than ${TOO_OLD_AFTER_DAYS} days; loaded because allowStale is set`;
    } else {
      reason = isLeo
        ? `more than ${LEO_STALE_AFTER_DAYS} days for a LEO object (mean motion > ${LEO_MEAN_MOTION_MIN_REV_PER_DAY} rev/day)`
        : `more than ${STALE_AFTER_DAYS} days`;
    }
    issues.push({
      severity,
      code,
      file: element.source.file,
      line: element.source.line,
      catalogNumber: element.catalogNumber,
      message: `${subject}: ${reason}`,
    });
  }
  return issues;
}
