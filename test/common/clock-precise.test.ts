// PreciseRealClock: the wall clock to a fraction of a millisecond, for the link emulator. Only its
// guarantees are checked here (within the wall clock's millisecond, never backwards, never early,
// cancellation); how close its timers land is measured in bench/link-emulator-cases.ts, not
// asserted on a shared machine. Also the two process settings the link emulator makes beside it
// (timer slack, V8's thread priority), by what the kernel then reports.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import process from 'node:process';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { durationMs, PreciseRealClock, tightenTimerSlack, type Clock } from '../../common/index.ts';

/** Resolves with the clock's reading in the callback of a timer of `delayMs`, and the due time. */
function fireAfter(clock: Clock, delayMs: number): Promise<{ dueMs: number; firedMs: number }> {
  return new Promise((resolve) => {
    const dueMs = clock.now() + delayMs;
    clock.setTimer(durationMs(delayMs), () => resolve({ dueMs, firedMs: clock.now() }));
  });
}

describe('PreciseRealClock', () => {
  it('reads Unix time within the wall clock’s millisecond, in fractions of a millisecond, never backwards', () => {
    const clock = new PreciseRealClock();
    let previousMs = Number.NEGATIVE_INFINITY;
    let fractional = 0;
    for (let i = 0; i < 2000; i += 1) {
      const wallBeforeMs = Date.now();
      const readingMs = clock.now();
      const wallAfterMs = Date.now();
      // Date.now() truncates: the true time is in [wallBefore, wallAfter + 1).
      expect(readingMs).toBeGreaterThanOrEqual(wallBeforeMs);
      expect(readingMs).toBeLessThan(wallAfterMs + 1);
      expect(readingMs).toBeGreaterThanOrEqual(previousMs);
      if (!Number.isInteger(readingMs)) fractional += 1;
      previousMs = readingMs;
    }
    expect(fractional).toBeGreaterThan(1000);
  });

  it('does not take a pause between its readings for the wall clock stepping back', () => {
    const clock = new PreciseRealClock();
    const wallNow = Date.now.bind(Date);
    // Held up 5 ms right after reading the wall clock, as by a collection or the kernel.
    const held = vi.spyOn(Date, 'now').mockImplementation(() => {
      const wallMs = wallNow();
      const untilMs = performance.now() + 5;
      while (performance.now() < untilMs);
      return wallMs;
    });
    let readingMs: number;
    try {
      readingMs = clock.now();
    } finally {
      held.mockRestore();
    }
    // The reading is of the moment it returned, not 4 ms before it (the margin: a pause here); and
    // the next readings are not pulled back either.
    expect(readingMs).toBeGreaterThanOrEqual(Date.now() - 1.5);
    for (let i = 0; i < 100; i += 1) {
      const wallBeforeMs = Date.now();
      expect(clock.now()).toBeGreaterThanOrEqual(wallBeforeMs);
    }
  });

  it('never calls a timer back before its due time, for delays below, around and above its last stretch', async () => {
    const clock = new PreciseRealClock();
    const delaysMs = [0, 0.1, 0.3, 0.7, 1.2, 1.5, 1.6, 2.3, 3.9, 7.25, 12.5];
    const fired = await Promise.all(delaysMs.map((delayMs) => fireAfter(clock, delayMs)));
    for (const { dueMs, firedMs } of fired) expect(firedMs).toBeGreaterThanOrEqual(dueMs);
    // One after another, too (each armed from the previous callback, as the link pipes do).
    for (const delayMs of delaysMs) {
      const { dueMs, firedMs } = await fireAfter(clock, delayMs);
      expect(firedMs).toBeGreaterThanOrEqual(dueMs);
    }
  });

  it('calls back on a later turn, never from inside setTimer, even for a zero delay', async () => {
    const clock = new PreciseRealClock();
    let called = false;
    const done = new Promise<void>((resolve) => clock.setTimer(durationMs(0), () => { called = true; resolve(); }));
    expect(called).toBe(false);
    await done;
    expect(called).toBe(true);
  });

  it('never fires a cancelled timer, whether cancelled in setTimeout or in its last stretch', async () => {
    const clock = new PreciseRealClock();
    const fired: string[] = [];
    clock.setTimer(durationMs(5), () => fired.push('in setTimeout')).cancel();
    clock.setTimer(durationMs(0.5), () => fired.push('in its last stretch')).cancel();
    // Cancelled by a callback of the same turn that comes first (due earlier).
    clock.setTimer(durationMs(0.2), () => later.cancel());
    const later = clock.setTimer(durationMs(0.2001), () => fired.push('cancelled by an earlier callback'));
    await clock.sleep(durationMs(10));
    expect(fired).toEqual([]);
  });

  it('calls back timers in due order, also those set together in their last stretch', async () => {
    const clock = new PreciseRealClock();
    const fired: number[] = [];
    const delaysMs = [1.4, 0.3, 0.9, 0, 1.1, 0.6, 4, 2.5];
    await Promise.all(delaysMs.map((delayMs) => new Promise<void>((resolve) => clock.setTimer(durationMs(delayMs), () => { fired.push(delayMs); resolve(); }))));
    expect(fired).toEqual([...delaysMs].sort((a, b) => a - b));
  });

  it('does not fire a timer beyond setTimeout’s 2^31 − 1 ms limit at once', async () => {
    const clock = new PreciseRealClock();
    let fired = false;
    const handle = clock.setTimer(durationMs(2 ** 31 + 1000), () => { fired = true; });
    await clock.sleep(durationMs(20));
    handle.cancel();
    expect(fired).toBe(false);
  });

  it('sleeps, and rejects a sleep that is aborted', async () => {
    const clock = new PreciseRealClock();
    const beforeMs = clock.now();
    await clock.sleep(durationMs(3.5));
    expect(clock.now() - beforeMs).toBeGreaterThanOrEqual(3.5);
    const controller = new AbortController();
    const aborted = clock.sleep(durationMs(1000), controller.signal);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
  });
});

describe('tightenTimerSlack', () => {
  it.runIf(process.platform === 'linux')('sets this process’s timer slack to 1 ns on Linux', () => {
    const slackPath = '/proc/self/timerslack_ns';
    const before = readFileSync(slackPath, 'utf8').trim();
    try {
      expect(tightenTimerSlack()).toBe(true);
      expect(readFileSync(slackPath, 'utf8').trim()).toBe('1');
    } finally {
      writeFileSync(slackPath, before);
    }
  });
});

describe('lowerV8WorkerPriority', () => {
  it.runIf(process.platform === 'linux')('lowers every thread of V8’s pool to nice 19 and leaves the main thread alone', async () => {
    // In a child process: a thread lowered cannot be raised again without privileges, and the test
    // runner's own threads should keep their priority. --v8-pool-size fixes how many there are.
    const code = [
      "import { readdirSync, readFileSync } from 'node:fs';",
      "import { getPriority } from 'node:os';",
      `import { lowerV8WorkerPriority } from ${JSON.stringify(new URL('../../common/index.ts', import.meta.url).href)};`,
      'const lowered = lowerV8WorkerPriority();',
      "const threads = readdirSync('/proc/self/task').map((id) => ({ name: readFileSync(`/proc/self/task/${id}/comm`, 'utf8').trim(), nice: getPriority(Number(id)), main: Number(id) === process.pid }));",
      'console.log(JSON.stringify({ lowered, threads }));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--v8-pool-size=3', '--input-type=module', '-e', code]);
    const { lowered, threads } = JSON.parse(stdout) as { lowered: number; threads: { name: string; nice: number; main: boolean }[] };
    expect(lowered).toBe(3);
    expect(threads.filter((thread) => thread.name === 'V8Worker').map((thread) => thread.nice)).toEqual([19, 19, 19]);
    expect(threads.find((thread) => thread.main)?.nice).toBe(getPriority(process.pid));
    expect(threads.filter((thread) => thread.name !== 'V8Worker').every((thread) => thread.nice === getPriority(process.pid))).toBe(true);
  });
});
