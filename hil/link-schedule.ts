// When each emulated link is up and what it carries, from the contact plan and the map's faults.
// Pure: plan data and times in, answers out; no sockets, no timers (the emulator asks).
//
// - A directed link's contacts (from → to) become elementary segments: between consecutive contact
//   boundaries, the open contact with the highest rate applies (ties: the smaller light time).
//   Contacts that touch or overlap make one window, so a connection survives a hand-over from one
//   contact to the next (a ground mesh that is always on, back-to-back contacts of one pass).
// - Outages (scheduled flaps, random drops) are merged intervals in plan seconds; a link is up when
//   a window is open and no outage is.
// - Plan time runs `timeScale` times faster than the clock, anchored at the emulator's start:
//     planSec(t) = planSecAtStart + (t − startMs) · timeScale / 1000
import assert from 'node:assert/strict';
import { seededRng } from '../common/index.ts';
import type { ContactPlan } from '../contact-plans/plan.ts';
import type { LinkMap, MappedFlap, MappedLink, PlanEpochChoice } from './link-map.ts';

/** Outage intervals of one link at most, after flaps and drops are expanded. */
export const OUTAGES_PER_LINK_MAX = 1_000_000;

/** A span of plan time with one rate and one light time. */
export interface LinkSegment {
  readonly startSec: number;
  readonly endSec: number;
  readonly rateBytesPerSec: number;
  readonly owltSec: number;
}

/** An interval of plan seconds, [startSec, endSec). */
export interface PlanInterval {
  readonly startSec: number;
  readonly endSec: number;
}

/** The plan's side of one direction of a link: its segments in time order, none overlapping. */
export class DirectedSchedule {
  readonly segments: readonly LinkSegment[];
  readonly #starts: Float64Array;

  constructor(segments: readonly LinkSegment[]) {
    for (let i = 1; i < segments.length; i += 1) assert.ok(segments[i]!.startSec >= segments[i - 1]!.endSec, 'segments must not overlap');
    this.segments = segments;
    this.#starts = Float64Array.from(segments, (s) => s.startSec);
  }

  /** The segment open at `planSec` (start ≤ t < end), if any. */
  at(planSec: number): LinkSegment | undefined {
    let lo = 0;
    let hi = this.#starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#starts[mid]! <= planSec) lo = mid + 1;
      else hi = mid;
    }
    const segment = this.segments[lo - 1];
    return segment !== undefined && planSec < segment.endSec ? segment : undefined;
  }

  /** The first segment boundary strictly after `planSec`, or Infinity. */
  nextBoundaryAfter(planSec: number): number {
    return nextBoundary(this.segments, planSec);
  }

  /** Maximal intervals covered by segments (touching segments join). */
  windows(): PlanInterval[] {
    return mergeIntervals(this.segments);
  }
}

/** The segments of the plan's contacts from `from` to `to`. */
export function directedSchedule(plan: ContactPlan, from: number, to: number): DirectedSchedule {
  const contacts = [...plan.outgoingEndingAfter(from, Number.NEGATIVE_INFINITY)]
    .map((i) => plan.contacts[i]!)
    .filter((c) => c.to === to && c.endSec > c.startSec);
  const boundaries = [...new Set(contacts.flatMap((c) => [c.startSec, c.endSec]))].sort((a, b) => a - b);
  contacts.sort((a, b) => a.startSec - b.startSec);
  const segments: LinkSegment[] = [];
  const open: typeof contacts = [];
  let next = 0;
  for (let b = 0; b + 1 < boundaries.length; b += 1) {
    const startSec = boundaries[b]!;
    const endSec = boundaries[b + 1]!;
    while (next < contacts.length && contacts[next]!.startSec <= startSec) open.push(contacts[next++]!);
    for (let i = open.length - 1; i >= 0; i -= 1) if (open[i]!.endSec <= startSec) open.splice(i, 1);
    let best: (typeof contacts)[number] | undefined;
    for (const c of open) {
      if (best === undefined || c.rateBytesPerSec > best.rateBytesPerSec || (c.rateBytesPerSec === best.rateBytesPerSec && c.owltSec < best.owltSec)) best = c;
    }
    if (best === undefined) continue;
    const last = segments.at(-1);
    if (last !== undefined && last.endSec === startSec && last.rateBytesPerSec === best.rateBytesPerSec && last.owltSec === best.owltSec) {
      segments[segments.length - 1] = { ...last, endSec };
    } else {
      segments.push({ startSec, endSec, rateBytesPerSec: best.rateBytesPerSec, owltSec: best.owltSec });
    }
  }
  return new DirectedSchedule(segments.map((s) => Object.freeze(s)));
}

/** Sorted, merged intervals; empty ones dropped. */
export function mergeIntervals(intervals: readonly PlanInterval[]): PlanInterval[] {
  const sorted = intervals.filter((i) => i.endSec > i.startSec).toSorted((a, b) => a.startSec - b.startSec);
  const merged: PlanInterval[] = [];
  for (const interval of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && interval.startSec <= last.endSec) merged[merged.length - 1] = { startSec: last.startSec, endSec: Math.max(last.endSec, interval.endSec) };
    else merged.push({ startSec: interval.startSec, endSec: interval.endSec });
  }
  return merged;
}

/** Index of the interval containing `planSec`, or -1 (intervals sorted and disjoint). */
function containing(intervals: readonly PlanInterval[], planSec: number): number {
  let lo = 0;
  let hi = intervals.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (intervals[mid]!.startSec <= planSec) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && planSec < intervals[lo - 1]!.endSec ? lo - 1 : -1;
}

/** The first interval boundary strictly after `planSec`, or Infinity. */
function nextBoundary(intervals: readonly PlanInterval[], planSec: number): number {
  let lo = 0;
  let hi = intervals.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (intervals[mid]!.endSec <= planSec) lo = mid + 1;
    else hi = mid;
  }
  const interval = intervals[lo];
  if (interval === undefined) return Number.POSITIVE_INFINITY;
  return interval.startSec > planSec ? interval.startSec : interval.endSec;
}

/** Outages of `link` from the map's flaps (every repeat expanded). */
export function flapOutages(flaps: readonly MappedFlap[], link: Pick<MappedLink, 'from' | 'to'>): PlanInterval[] {
  const outages: PlanInterval[] = [];
  for (const flap of flaps) {
    if (flap.from !== undefined && (flap.from !== link.from || flap.to !== link.to)) continue;
    for (let k = 0; k < flap.count; k += 1) {
      const startSec = flap.startSec + k * flap.everySec;
      outages.push({ startSec, endSec: startSec + flap.downSec });
    }
    assert.ok(outages.length <= OUTAGES_PER_LINK_MAX, `a link has more than ${OUTAGES_PER_LINK_MAX} outages`);
  }
  return outages;
}

/**
 * Random mid-contact drops: each window, with `probabilityPerContact`, loses `downSec` starting at
 * a uniform point that keeps the drop inside the window where it fits. `random` is a seeded Rng.
 */
export function dropOutages(windows: readonly PlanInterval[], drops: { readonly probabilityPerContact: number; readonly downSec: number }, random: () => number): PlanInterval[] {
  const outages: PlanInterval[] = [];
  for (const window of windows) {
    const hit = random() < drops.probabilityPerContact;
    const where = random();
    if (!hit) continue;
    const latestStartSec = Math.max(window.startSec, window.endSec - drops.downSec);
    const startSec = window.startSec + where * (latestStartSec - window.startSec);
    outages.push({ startSec, endSec: startSec + drops.downSec });
  }
  return outages;
}

/** Why a link is down at an instant, or 'up'. */
export type LinkAvailability = 'up' | 'no-contact' | 'outage';

/** One link's up/down timeline: plan windows less outages. */
export class LinkTimeline {
  readonly windows: readonly PlanInterval[];
  readonly outages: readonly PlanInterval[];

  constructor(windows: readonly PlanInterval[], outages: readonly PlanInterval[]) {
    this.windows = mergeIntervals(windows);
    this.outages = mergeIntervals(outages);
    assert.ok(this.outages.length <= OUTAGES_PER_LINK_MAX, `a link has more than ${OUTAGES_PER_LINK_MAX} outages`);
  }

  availabilityAt(planSec: number): LinkAvailability {
    if (containing(this.windows, planSec) < 0) return 'no-contact';
    return containing(this.outages, planSec) < 0 ? 'up' : 'outage';
  }

  /** The next plan second after `planSec` at which availability may change, or Infinity. */
  nextChangeAfter(planSec: number): number {
    return Math.min(nextBoundary(this.windows, planSec), nextBoundary(this.outages, planSec));
  }
}

/** Plan seconds against the clock: plan time runs `timeScale` times faster, anchored at start. */
export class PlanClock {
  readonly timeScale: number;
  readonly startMs: number;
  readonly planSecAtStart: number;

  constructor(timeScale: number, startMs: number, planSecAtStart: number) {
    assert.ok(timeScale >= 1 && Number.isFinite(timeScale), `time scale must be ≥ 1, got ${timeScale}`);
    assert.ok(Number.isFinite(startMs) && Number.isFinite(planSecAtStart), 'plan clock anchor must be finite');
    this.timeScale = timeScale;
    this.startMs = startMs;
    this.planSecAtStart = planSecAtStart;
  }

  planSecAt(unixMs: number): number {
    return this.planSecAtStart + ((unixMs - this.startMs) * this.timeScale) / 1000;
  }

  unixMsAt(planSec: number): number {
    return this.startMs + ((planSec - this.planSecAtStart) * 1000) / this.timeScale;
  }
}

/**
 * The plan clock for a map's epoch choice, started at `startMs`. An absolute epoch (the plan's own
 * or the map's) puts plan second (startMs − epoch)/1000 at start; "start" puts `startAtPlanSec`.
 * Returns undefined when the plan has no epoch and the map gives none.
 */
export function planClockOf(choice: PlanEpochChoice, planEpochMs: number | undefined, timeScale: number, startMs: number): PlanClock | undefined {
  if (choice.kind === 'start') return new PlanClock(timeScale, startMs, choice.startAtPlanSec);
  const epochMs = choice.kind === 'instant' ? choice.epochMs : planEpochMs;
  if (epochMs === undefined) return undefined;
  return new PlanClock(timeScale, startMs, (startMs - epochMs) / 1000);
}

/** What one direction carries at an instant: its rate and delay on the clock's time scale. */
export interface DirectionParameters {
  readonly rateBytesPerSec: number;
  readonly owltMs: number;
}

/** The plan's segment as clock-time parameters: light time and rate scaled only when asked to. */
export function directionParameters(segment: LinkSegment, map: Pick<LinkMap, 'timeScale' | 'scaleDelaysAndRates'>): DirectionParameters {
  const scale = map.scaleDelaysAndRates ? map.timeScale : 1;
  return { rateBytesPerSec: segment.rateBytesPerSec * scale, owltMs: (segment.owltSec * 1000) / scale };
}

/** Timelines of every mapped link: windows from the plan, outages from flaps and seeded drops. */
export function linkTimelines(plan: ContactPlan, map: Pick<LinkMap, 'links' | 'flaps' | 'drops' | 'seed'>): LinkTimeline[] {
  // One generator for all links in map order, so one seed gives the same drops on every run.
  const random = seededRng(map.seed);
  return map.links.map((link) => {
    const windows = directedSchedule(plan, link.from, link.to).windows();
    const outages = flapOutages(map.flaps, link);
    if (map.drops !== undefined) outages.push(...dropOutages(windows, map.drops, random));
    return new LinkTimeline(windows, outages);
  });
}
