import { describe, expect, it } from 'vitest';
import { durationMs, RealClock, ScaledClock, unixMs, VirtualClock } from '../../common/index.ts';

describe('VirtualClock', () => {
  it('moves only when advanced, firing due timers in time order, ties in creation order', () => {
    const clock = new VirtualClock(unixMs(1_000));
    const fired: string[] = [];
    clock.setTimer(durationMs(30), () => fired.push(`b@${clock.now()}`));
    clock.setTimer(durationMs(10), () => fired.push(`a@${clock.now()}`));
    clock.setTimer(durationMs(30), () => fired.push(`c@${clock.now()}`));
    expect(clock.now()).toBe(1_000);
    clock.advance(durationMs(29));
    expect(fired).toEqual(['a@1010']);
    clock.advance(durationMs(1));
    expect(fired).toEqual(['a@1010', 'b@1030', 'c@1030']);
    expect(clock.now()).toBe(1_030);
  });

  it('fires timers set by timers within the same advance', () => {
    const clock = new VirtualClock(unixMs(0));
    const fired: number[] = [];
    clock.setTimer(durationMs(5), () => {
      fired.push(clock.now());
      clock.setTimer(durationMs(5), () => fired.push(clock.now()));
    });
    clock.advanceTo(unixMs(100));
    expect(fired).toEqual([5, 10]);
  });

  it('never fires a cancelled timer and refuses to go backwards', () => {
    const clock = new VirtualClock(unixMs(0));
    let fired = false;
    clock.setTimer(durationMs(5), () => { fired = true; }).cancel();
    clock.advance(durationMs(10));
    expect(fired).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
    expect(() => clock.advanceTo(unixMs(5))).toThrow(/backwards/);
  });

  it('sleeps in virtual time and rejects a sleep that is aborted', async () => {
    const clock = new VirtualClock(unixMs(0));
    const done = clock.sleep(durationMs(50));
    clock.advance(durationMs(50));
    await expect(done).resolves.toBeUndefined();
    const controller = new AbortController();
    const aborted = clock.sleep(durationMs(50), controller.signal);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('RealClock', () => {
  it('reads wall time and sleeps for real', async () => {
    const clock = new RealClock();
    const before = clock.now();
    await clock.sleep(durationMs(5));
    expect(clock.now()).toBeGreaterThanOrEqual(before + 4);
  });
});

describe('ScaledClock', () => {
  it('reads its origin at the wall origin and runs timeScale times faster from there', async () => {
    const wall = new RealClock();
    const clock = new ScaledClock({ wallOriginMs: wall.now() - 1_000, originMs: Date.UTC(2026, 5, 14), timeScale: 60 });
    // One wall second has passed since the origin: sixty seconds of scaled time.
    const readMs = clock.now() - Date.UTC(2026, 5, 14);
    expect(readMs).toBeGreaterThanOrEqual(60_000);
    expect(readMs).toBeLessThan(60_000 + 60 * 200);
    expect(Number.isInteger(clock.now())).toBe(true);
    expect(clock.wallMsAt(Date.UTC(2026, 5, 14) + 120_000)).toBe(clock.timeBase.wallOriginMs + 2_000);
  });

  it('agrees with another clock built from the same time base (another process)', () => {
    const timeBase = { wallOriginMs: Date.now(), originMs: 1_000_000, timeScale: 500 };
    const a = new ScaledClock(timeBase);
    const b = new ScaledClock(timeBase);
    expect(Math.abs(a.now() - b.now())).toBeLessThanOrEqual(500 * 2);
  });

  it('fires a timer after delay / timeScale of wall time, never before its scaled due time', async () => {
    const clock = ScaledClock.startingNow(0, 100);
    const wallStartMs = Date.now();
    const setAtMs = clock.now();
    const firedAtMs = await new Promise<number>((resolve) => clock.setTimer(durationMs(3_000), () => resolve(clock.now())));
    expect(firedAtMs - setAtMs).toBeGreaterThanOrEqual(3_000);
    // 3 s of scaled time is 30 ms of wall time; allow for a loaded machine, but not 3 s.
    expect(Date.now() - wallStartMs).toBeLessThan(1_500);
  });

  it('cancels timers and aborts sleeps in scaled time', async () => {
    const clock = ScaledClock.startingNow(0, 1000);
    let fired = false;
    clock.setTimer(durationMs(10), () => { fired = true; }).cancel();
    await clock.sleep(durationMs(100));
    expect(fired).toBe(false);
    const controller = new AbortController();
    const sleeping = clock.sleep(durationMs(3_600_000), controller.signal);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
  });

  it('never runs a callback inside setTimer, even for a zero delay', async () => {
    const clock = ScaledClock.startingNow(0, 60);
    let fired = false;
    const done = new Promise<void>((resolve) => clock.setTimer(durationMs(0), () => { fired = true; resolve(); }));
    expect(fired).toBe(false);
    await done;
    expect(fired).toBe(true);
  });

  it('with wall timers, scales only the reading: a timer waits its delay of wall time', async () => {
    const clock = new ScaledClock({ wallOriginMs: Date.now(), originMs: 0, timeScale: 1000 }, { timers: 'wall' });
    const wallStartMs = Date.now();
    const setAtMs = clock.now();
    const firedAtMs = await new Promise<number>((resolve) => clock.setTimer(durationMs(50), () => resolve(clock.now())));
    expect(Date.now() - wallStartMs).toBeGreaterThanOrEqual(49);
    // 50 ms of wall time is 50 s of this clock's time.
    expect(firedAtMs - setAtMs).toBeGreaterThanOrEqual(49_000);
  });

  it('refuses a time scale below 1 or above the maximum, and a non-finite origin', () => {
    expect(() => new ScaledClock({ wallOriginMs: 0, originMs: 0, timeScale: 0.5 })).toThrow(/time scale/);
    expect(() => new ScaledClock({ wallOriginMs: 0, originMs: 0, timeScale: 1e6 })).toThrow(/time scale/);
    expect(() => new ScaledClock({ wallOriginMs: Number.NaN, originMs: 0, timeScale: 2 })).toThrow(/finite/);
  });
});

describe('RealClock timers beyond setTimeout\'s range', () => {
  it('does not fire a timer 25 days away at once (setTimeout would)', async () => {
    const clock = new RealClock();
    let fired = false;
    const handle = clock.setTimer(durationMs(25 * 86_400_000), () => {
      fired = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    handle.cancel();
    expect(fired).toBe(false);
  });
});
