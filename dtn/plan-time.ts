// The contact plan's time base against the Clock's. A contact plan counts seconds from its own
// time 0 (contact-plans/contact-plan.ts); the Clock counts Unix milliseconds. An absolute plan
// (one built from passes, or an orbitfed JSON plan) carries `epochMs`, the Unix ms of its second 0.
// A relative plan (HDTN JSON, an ION file without an absolute reference time) does not, and the
// agent cannot guess when its second 0 was: the operator must say, through `planEpochMs`. When a
// plan has an epoch and one is given as well, they must agree: two different answers to "when is
// contact 17 open" would route by one and transmit by the other.
//   planSec = (unixMs − epochMs) / 1000
import { OrbitfedError, type UnixMs } from '../common/index.ts';
import type { ContactPlan } from '../contact-plans/plan.ts';

/** Where a plan's time 0 sits on the Clock. */
export interface PlanTimeBase {
  /** Unix ms of the plan's second 0. */
  readonly epochMs: number;
}

/**
 * The time base of `plan`: its own `epochMs`, or `planEpochMs` for a relative plan. Throws
 * ORBITFED_AGENT_PLAN_EPOCH when neither is given, when the given one is not finite, or when both
 * are given and differ.
 */
export function planTimeBaseOf(plan: ContactPlan, planEpochMs?: number): PlanTimeBase {
  if (planEpochMs !== undefined && !Number.isFinite(planEpochMs)) {
    throw new OrbitfedError('ORBITFED_AGENT_PLAN_EPOCH', `${planEpochMs} is not a finite Unix time in ms`, { field: 'planEpochMs' });
  }
  if (plan.epochMs === undefined) {
    if (planEpochMs === undefined) {
      throw new OrbitfedError('ORBITFED_AGENT_PLAN_EPOCH', 'the contact plan has no epoch (a relative plan): give planEpochMs, the Unix ms of its second 0', { field: 'planEpochMs' });
    }
    return { epochMs: planEpochMs };
  }
  if (planEpochMs !== undefined && planEpochMs !== plan.epochMs) {
    throw new OrbitfedError('ORBITFED_AGENT_PLAN_EPOCH', `planEpochMs ${planEpochMs} disagrees with the plan's own epoch ${plan.epochMs}`, { field: 'planEpochMs' });
  }
  return { epochMs: plan.epochMs };
}

export function planSecOf(base: PlanTimeBase, at: UnixMs | number): number {
  return (at - base.epochMs) / 1000;
}

export function unixMsOfPlanSec(base: PlanTimeBase, planSec: number): number {
  return base.epochMs + planSec * 1000;
}
