// Cron schedules (common/cron.ts): node-cron's expressions, read in UTC, run on the injected Clock.
import { createTask } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { type Clock, CRON_JOBS_MAX, CronScheduler, OrbitfedError, parseCronExpression, unixMs, VirtualClock, type UnixMs } from '../../common/index.ts';

const at = (iso: string): UnixMs => unixMs(Date.parse(iso));
const iso = (ms: number): string => new Date(ms).toISOString();
/** Lets the promise chains of runs that a timer started settle. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function cronError(expression: string, field = 'schedules.telemetry'): OrbitfedError {
  try {
    parseCronExpression(expression, field);
  } catch (error) {
    if (error instanceof OrbitfedError) return error;
    throw error;
  }
  throw new Error(`'${expression}' was accepted`);
}

describe('parseCronExpression', () => {
  it('gives the next instant strictly after a time, in UTC', () => {
    const quarter = parseCronExpression('*/15 * * * *', 'f');
    expect(iso(quarter.nextAfterMs(at('2026-06-14T10:07:30Z')))).toBe('2026-06-14T10:15:00.000Z');
    expect(iso(quarter.nextAfterMs(at('2026-06-14T10:15:00Z')))).toBe('2026-06-14T10:30:00.000Z');
    expect(iso(parseCronExpression('0 3 * * *', 'f').nextAfterMs(at('2026-06-14T10:07:30Z')))).toBe('2026-06-15T03:00:00.000Z');
    expect(iso(parseCronExpression('30 2 * * sun', 'f').nextAfterMs(at('2026-06-14T10:00:00Z')))).toBe('2026-06-21T02:30:00.000Z');
  });

  it('accepts six fields with seconds first', () => {
    const everyFive = parseCronExpression('*/5 * * * * *', 'f');
    expect(iso(everyFive.nextAfterMs(at('2026-06-14T10:07:30.500Z')))).toBe('2026-06-14T10:07:35.000Z');
  });

  it("agrees with node-cron's own next-run computation in UTC (contract: node-cron's parse gives the sets we search)", () => {
    const expressions = ['10,40 */7 * * * *', '*/10 * * * *', '7 * * * *', '30 2 * * sun', '0 0 1,15 * mon-fri', '15 4 * feb,aug *', '@hourly', '0 12 29 2 *', '5 0 * * 7'];
    for (const expression of expressions) {
      const ours = parseCronExpression(expression, 'f');
      const task = createTask(expression, () => undefined, { timezone: 'Etc/UTC' });
      const theirs = (task as unknown as { timeMatcher: { getNextMatch(date: Date): Date } }).timeMatcher;
      let fromMs: number = at('2026-12-31T23:58:30Z');
      for (let i = 0; i < 6; i++) {
        const nextMs = ours.nextAfterMs(fromMs);
        expect(iso(nextMs), `${expression} after ${iso(fromMs)}`).toBe(iso(theirs.getNextMatch(new Date(fromMs)).getTime()));
        fromMs = nextMs;
      }
      void task.destroy();
    }
  });

  it('accepts nicknames and names, and finds instants years apart', () => {
    expect(iso(parseCronExpression('@daily', 'f').nextAfterMs(at('2026-06-14T10:00:00Z')))).toBe('2026-06-15T00:00:00.000Z');
    // 29 February on a Monday (node-cron: both day fields must match): 2044.
    expect(iso(parseCronExpression('0 0 29 feb mon', 'f').nextAfterMs(at('2026-06-14T10:00:00Z')))).toBe('2044-02-29T00:00:00.000Z');
  });

  it.each([
    ['* * *', 'expected 5 or 6 fields but got 3'],
    ['61 * * * *', "minute '61'"],
    ['* 24 * * *', "hour '24'"],
    ['0 0 31 2 *', 'impossible day of month'],
    ['every minute', 'expected 5 or 6 fields'],
    ['* * * * * * *', 'got 7'],
    ['', 'it is empty'],
    ['$(reboot) * * * *', 'illegal characters'],
    ['0 0 L * *', "day of month 'L': the L, W and # forms are not supported here"],
    ['0 0 * * 5#2', 'the L, W and # forms are not supported here'],
    ['0 0 30 2 *', 'impossible day of month'],
  ])("refuses '%s' naming the field and what is wrong", (expression, detail) => {
    const error = cronError(expression);
    expect(error.code).toBe('ORBITFED_CRON_INVALID');
    expect(error.message).toContain('schedules.telemetry: ');
    expect(error.message).toContain(detail);
  });

  it('refuses an expression longer than 256 characters before parsing it', () => {
    expect(cronError(`${'1,'.repeat(200)}2 * * * *`).message).toContain('longer than 256 characters');
  });
});

describe('CronScheduler', () => {
  it('runs a job at each instant of its schedule on a VirtualClock', async () => {
    const clock = new VirtualClock(at('2026-06-14T10:07:30Z'));
    const cron = new CronScheduler({ clock });
    const runs: string[] = [];
    cron.add('telemetry', parseCronExpression('*/15 * * * *', 'f'), (scheduledMs) => {
      runs.push(`${iso(scheduledMs)} at ${iso(clock.now())}`);
    });
    cron.start();
    expect(cron.stats()[0]?.nextMs).toBe(at('2026-06-14T10:15:00Z'));
    clock.advanceTo(at('2026-06-14T10:50:00Z'));
    await settle();
    expect(runs).toEqual([
      '2026-06-14T10:15:00.000Z at 2026-06-14T10:15:00.000Z',
      '2026-06-14T10:30:00.000Z at 2026-06-14T10:30:00.000Z',
      '2026-06-14T10:45:00.000Z at 2026-06-14T10:45:00.000Z',
    ]);
    expect(cron.stats()[0]).toMatchObject({ runs: 3, failures: 0, overlapsSkipped: 0, nextMs: at('2026-06-14T11:00:00Z') });
  });

  it('skips an instant while the previous run is still going, and counts it', async () => {
    const clock = new VirtualClock(at('2026-06-14T10:00:00Z'));
    const cron = new CronScheduler({ clock });
    let release: () => void = () => {};
    let started = 0;
    cron.add('compaction', parseCronExpression('* * * * *', 'f'), () => {
      started++;
      return new Promise<void>((resolve) => { release = resolve; });
    });
    cron.start();
    clock.advanceTo(at('2026-06-14T10:03:00Z'));
    await settle();
    expect(started).toBe(1);
    expect(cron.stats()[0]).toMatchObject({ runs: 1, overlapsSkipped: 2, running: true });
    release();
    await settle();
    clock.advanceTo(at('2026-06-14T10:04:00Z'));
    await settle();
    expect(started).toBe(2);
  });

  it('keeps to its schedule after a run throws', async () => {
    const clock = new VirtualClock(at('2026-06-14T10:00:00Z'));
    const cron = new CronScheduler({ clock });
    let calls = 0;
    cron.add('plan-refresh', parseCronExpression('* * * * *', 'f'), () => {
      calls++;
      throw new Error('the plan file is unreadable');
    });
    cron.start();
    for (let minute = 1; minute <= 3; minute++) {
      clock.advanceTo(at(`2026-06-14T10:0${minute}:00Z`));
      await settle();
    }
    expect(calls).toBe(3);
    expect(cron.stats()[0]).toMatchObject({ runs: 3, failures: 3 });
  });

  it('runs once, not once per missed instant, when its timer fires late (a suspended machine)', async () => {
    // A clock whose timers fire only when the test says, at whatever time it has reached by then.
    let nowMs = at('2026-06-14T10:00:00Z');
    const due: (() => void)[] = [];
    const lateClock: Clock = {
      now: () => nowMs,
      setTimer: (_delayMs, callback) => {
        due.push(callback);
        return { cancel: () => {} };
      },
      sleep: () => Promise.resolve(),
    };
    const cron = new CronScheduler({ clock: lateClock });
    const runs: number[] = [];
    cron.add('telemetry', parseCronExpression('* * * * *', 'f'), (scheduledMs) => { runs.push(scheduledMs); });
    cron.start();
    nowMs = at('2026-06-14T12:00:30Z');
    due.shift()!();
    await settle();
    expect(runs.map(iso)).toEqual(['2026-06-14T10:01:00.000Z']);
    expect(cron.stats()[0]?.nextMs).toBe(at('2026-06-14T12:01:00Z'));
  });

  it('sets no timer before start and none after stop', () => {
    const clock = new VirtualClock(at('2026-06-14T10:00:00Z'));
    const cron = new CronScheduler({ clock });
    cron.add('a', parseCronExpression('* * * * *', 'f'), () => {});
    expect(clock.pendingTimers()).toBe(0);
    cron.start();
    expect(clock.pendingTimers()).toBe(1);
    cron.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('refuses a duplicate name and more than CRON_JOBS_MAX jobs', () => {
    const cron = new CronScheduler({ clock: new VirtualClock(at('2026-06-14T10:00:00Z')) });
    const schedule = parseCronExpression('* * * * *', 'f');
    for (let i = 0; i < CRON_JOBS_MAX; i++) cron.add(`job-${i}`, schedule, () => {});
    expect(() => cron.add('job-0', schedule, () => {})).toThrow(/already scheduled/);
    expect(() => cron.add('one-more', schedule, () => {})).toThrow(/at most 32 jobs/);
  });
});
