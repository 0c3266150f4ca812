import { describe, expect, it } from 'vitest';
import { durationMs, RealClock, unixMs, VirtualClock } from '../../common/index.ts';

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
