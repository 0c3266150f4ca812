// When an emulated link is up and what it carries: pure functions of the plan and the map.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import { directedSchedule, LinkTimeline, PlanClock, planClockOf } from '../../hil/index.ts';
import { dropOutages, flapOutages, linkTimelines, mergeIntervals } from '../../hil/link-schedule.ts';
import { contact, GROUND, planOf, SATELLITE } from './link-harness.ts';

describe('directed schedules from the plan', () => {
  it('keeps only the contacts of that direction and joins touching ones into one window', () => {
    const plan = planOf([
      contact(GROUND, SATELLITE, 0, 10, 1000, 0.01),
      contact(GROUND, SATELLITE, 10, 20, 1000, 0.01),
      contact(SATELLITE, GROUND, 5, 25, 9000, 0.01),
      contact(GROUND, SATELLITE, 30, 40, 2000, 0.02),
    ]);
    const schedule = directedSchedule(plan, GROUND, SATELLITE);
    expect(schedule.segments).toEqual([
      { startSec: 0, endSec: 20, rateBytesPerSec: 1000, owltSec: 0.01 },
      { startSec: 30, endSec: 40, rateBytesPerSec: 2000, owltSec: 0.02 },
    ]);
    expect(schedule.windows()).toEqual([{ startSec: 0, endSec: 20 }, { startSec: 30, endSec: 40 }]);
    expect(schedule.at(19.999)?.rateBytesPerSec).toBe(1000);
    expect(schedule.at(20)).toBeUndefined();
    expect(schedule.at(-1)).toBeUndefined();
    expect(schedule.nextBoundaryAfter(20)).toBe(30);
    expect(schedule.nextBoundaryAfter(40)).toBe(Number.POSITIVE_INFINITY);
  });

  it('takes the fastest of overlapping contacts (then the shortest light time)', () => {
    const plan = planOf([
      contact(GROUND, SATELLITE, 0, 10, 1000, 0.05),
      contact(GROUND, SATELLITE, 5, 15, 4000, 0.02),
      contact(GROUND, SATELLITE, 5, 8, 4000, 0.01),
    ]);
    expect(directedSchedule(plan, GROUND, SATELLITE).segments).toEqual([
      { startSec: 0, endSec: 5, rateBytesPerSec: 1000, owltSec: 0.05 },
      { startSec: 5, endSec: 8, rateBytesPerSec: 4000, owltSec: 0.01 },
      { startSec: 8, endSec: 15, rateBytesPerSec: 4000, owltSec: 0.02 },
    ]);
  });

  it('ignores empty contacts (HDTN plans have them)', () => {
    expect(directedSchedule(planOf([contact(GROUND, SATELLITE, 5, 5, 1000, 0)]), GROUND, SATELLITE).segments).toEqual([]);
  });
});

describe('outages', () => {
  it('expands periodic flaps, for one link or for every link', () => {
    const flaps = [
      { from: GROUND, to: SATELLITE, startSec: 10, downSec: 2, everySec: 30, count: 3 },
      { from: undefined, to: undefined, startSec: 500, downSec: 1, everySec: 1, count: 1 },
      { from: SATELLITE, to: GROUND, startSec: 0, downSec: 9, everySec: 9, count: 1 },
    ];
    expect(flapOutages(flaps, { from: GROUND, to: SATELLITE })).toEqual([
      { startSec: 10, endSec: 12 }, { startSec: 40, endSec: 42 }, { startSec: 70, endSec: 72 }, { startSec: 500, endSec: 501 },
    ]);
  });

  it('draws random drops inside contact windows, the same ones for the same seed', () => {
    const windows = Array.from({ length: 200 }, (_, i) => ({ startSec: i * 100, endSec: i * 100 + 50 }));
    const drops = { probabilityPerContact: 0.25, downSec: 5 };
    const first = dropOutages(windows, drops, seededRng(7));
    expect(dropOutages(windows, drops, seededRng(7))).toEqual(first);
    expect(dropOutages(windows, drops, seededRng(8))).not.toEqual(first);
    expect(first.length).toBeGreaterThan(25);
    expect(first.length).toBeLessThan(75);
    for (const drop of first) {
      const window = windows[Math.floor(drop.startSec / 100)]!;
      expect(drop.startSec).toBeGreaterThanOrEqual(window.startSec);
      expect(drop.endSec).toBeLessThanOrEqual(window.endSec);
      expect(drop.endSec - drop.startSec).toBe(5);
    }
  });

  it('merges overlapping intervals', () => {
    expect(mergeIntervals([{ startSec: 5, endSec: 8 }, { startSec: 0, endSec: 6 }, { startSec: 8, endSec: 9 }, { startSec: 20, endSec: 20 }]))
      .toEqual([{ startSec: 0, endSec: 9 }]);
  });
});

describe('link timelines', () => {
  const timeline = new LinkTimeline([{ startSec: 0, endSec: 100 }, { startSec: 200, endSec: 300 }], [{ startSec: 50, endSec: 60 }, { startSec: 250, endSec: 400 }]);

  it('is up in a window outside outages', () => {
    expect(timeline.availabilityAt(-1)).toBe('no-contact');
    expect(timeline.availabilityAt(0)).toBe('up');
    expect(timeline.availabilityAt(50)).toBe('outage');
    expect(timeline.availabilityAt(60)).toBe('up');
    expect(timeline.availabilityAt(100)).toBe('no-contact');
    expect(timeline.availabilityAt(260)).toBe('outage');
    expect(timeline.availabilityAt(350)).toBe('no-contact');
  });

  it('names the next moment anything may change', () => {
    expect(timeline.nextChangeAfter(-10)).toBe(0);
    expect(timeline.nextChangeAfter(0)).toBe(50);
    expect(timeline.nextChangeAfter(55)).toBe(60);
    expect(timeline.nextChangeAfter(150)).toBe(200);
    expect(timeline.nextChangeAfter(300)).toBe(400);
    expect(timeline.nextChangeAfter(400)).toBe(Number.POSITIVE_INFINITY);
  });

  it('builds every mapped link’s timeline from the plan, the flaps and the seeded drops', () => {
    const plan = planOf([contact(GROUND, SATELLITE, 0, 100, 1000, 0), contact(SATELLITE, GROUND, 0, 100, 1000, 0)]);
    const link = { from: GROUND, to: SATELLITE, listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: 1 } };
    const map = { links: [link], flaps: [{ from: GROUND, to: SATELLITE, startSec: 10, downSec: 1, everySec: 1, count: 1 }], drops: { probabilityPerContact: 1, downSec: 3 }, seed: 3 };
    const [timeline] = linkTimelines(plan, map);
    expect(timeline!.windows).toEqual([{ startSec: 0, endSec: 100 }]);
    expect(timeline!.outages).toHaveLength(2);
    expect(linkTimelines(plan, map)[0]!.outages).toEqual(timeline!.outages);
  });
});

describe('plan time against the clock', () => {
  it('runs plan time timeScale times faster from its anchor', () => {
    const clock = new PlanClock(100, 1_000_000, 50);
    expect(clock.planSecAt(1_000_000)).toBe(50);
    expect(clock.planSecAt(1_001_000)).toBe(150);
    expect(clock.unixMsAt(150)).toBe(1_001_000);
  });

  it('anchors at the emulator’s start, at the map’s epoch or at the plan’s own', () => {
    const startMs = Date.UTC(2026, 5, 14, 1);
    expect(planClockOf({ kind: 'start', startAtPlanSec: 25 }, undefined, 1, startMs)?.planSecAt(startMs)).toBe(25);
    expect(planClockOf({ kind: 'instant', epochMs: Date.UTC(2026, 5, 14) }, 0, 1, startMs)?.planSecAt(startMs)).toBe(3600);
    expect(planClockOf({ kind: 'plan' }, Date.UTC(2026, 5, 14), 10, startMs)?.planSecAt(startMs + 1000)).toBe(3610);
    expect(planClockOf({ kind: 'plan' }, undefined, 1, startMs)).toBeUndefined();
  });
});
