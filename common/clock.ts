// The only place in orbitfed that reads wall time or sets timers (ARCHITECTURE: "Time is injected").
// Everything else receives a Clock, so a virtual clock can run a federation faster than real time.
import assert from 'node:assert/strict';
import type { DurationMs, UnixMs } from './units.ts';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Current time, UTC milliseconds since the Unix epoch. */
  now(): UnixMs;
  /** Runs `callback` once after `delayMs` of this clock's time. */
  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle;
  /** Resolves after `delayMs` of this clock's time; rejects with the signal's reason on abort. */
  sleep(delayMs: DurationMs, signal?: AbortSignal): Promise<void>;
}

/** `Clock.sleep` on any clock's `setTimer`: resolves after `delayMs`, rejects with the signal's reason on abort. */
export function sleepOn(clock: Clock, delayMs: DurationMs, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      handle.cancel();
      reject(signal?.reason);
    };
    const handle = clock.setTimer(delayMs, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Resolves on the event loop's next turn (setImmediate), after every queued microtask and any I/O
 * callback already due: what a simulation on a `VirtualClock` awaits between two instants so that
 * the promise chains one timer started finish before virtual time moves on (hil/virtual-clock.ts).
 */
export function nextEventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** setTimeout's longest delay (2^31 − 1 ms); longer waits are made of several. */
const REAL_TIMER_MS_MAX = 2 ** 31 - 1;

/** Wall-clock time of this machine. */
export class RealClock implements Clock {
  now(): UnixMs {
    return Date.now() as UnixMs;
  }

  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle {
    assert.ok(delayMs >= 0, `timer delay must be >= 0, got ${delayMs}`);
    // setTimeout fires at once for delays above 2^31 − 1 ms (Node's TimeoutOverflowWarning): a
    // contact a month away would open now. Longer waits are chained.
    let timer: ReturnType<typeof setTimeout>;
    const arm = (remainingMs: number): void => {
      const stepMs = Math.min(remainingMs, REAL_TIMER_MS_MAX);
      timer = setTimeout(() => (remainingMs > stepMs ? arm(remainingMs - stepMs) : callback()), stepMs);
    };
    arm(delayMs);
    return { cancel: () => clearTimeout(timer) };
  }

  sleep(delayMs: DurationMs, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }
}

const WALL_TIMERS = new RealClock();

/**
 * The clock for bounds on I/O (a connect timeout, a kill grace, a peer's answer) when work runs on
 * `clock`: wall time (a RealClock) for a ScaledClock, whose readings and timers run faster than the
 * wall (the demo's plan time at 60×, where a 5 s bound would be 83 ms of real time); otherwise the
 * clock itself — a RealClock already is wall time, and a VirtualClock (simulations, tests) drives
 * every timer on purpose.
 */
export function ioClockFor(clock: Clock): Clock {
  return clock instanceof ScaledClock ? WALL_TIMERS : clock;
}

/** Where a scaled clock's time starts and how fast it runs (plain data: it crosses process boundaries). */
export interface TimeBase {
  /** Wall-clock instant (Unix ms) at which the scaled clock reads `originMs`. */
  readonly wallOriginMs: number;
  /** The scaled clock's reading at `wallOriginMs` (Unix ms of the clock's own time line). */
  readonly originMs: number;
  /** The clock runs this many times faster than wall time (≥ 1). */
  readonly timeScale: number;
}

export const TIME_SCALE_MAX = 10_000;

/**
 * Time that runs `timeScale` times faster than the wall clock from an anchor: it reads
 * `originMs + (wall − wallOriginMs) · timeScale`. Timers are scaled too: `setTimer(d)` fires after
 * d / timeScale of wall time. Every process given the same `TimeBase` reads the same time (they
 * share the machine's wall clock), which is how the demo runs a whole federation on the satellites'
 * element day at 60×. Guarantees: readings never go backwards within a process (a wall-clock step
 * back holds the reading until the wall catches up), are whole milliseconds, and a timer's callback
 * never runs before `now()` has reached its due time (a wall timer that fires early is re-armed).
 *
 * With `timers: 'wall'` only the reading is scaled: `setTimer(d)` waits d of wall time (so d·N of
 * this clock's time, later than asked, never earlier). That is for programs whose timers are
 * network parameters rather than instants on the time line — a validator's consensus timeouts
 * and RPC waits — while their timestamps (block times) must be on the federation's time.
 */
export class ScaledClock implements Clock {
  readonly timeBase: TimeBase;
  readonly timers: 'scaled' | 'wall';
  #lastMs = Number.NEGATIVE_INFINITY;

  constructor(timeBase: TimeBase, options: { readonly timers?: 'scaled' | 'wall' } = {}) {
    const { wallOriginMs, originMs, timeScale } = timeBase;
    assert.ok(Number.isFinite(wallOriginMs) && Number.isFinite(originMs), 'scaled clock origins must be finite');
    assert.ok(Number.isFinite(timeScale) && timeScale >= 1 && timeScale <= TIME_SCALE_MAX, `time scale must be from 1 to ${TIME_SCALE_MAX}, got ${timeScale}`);
    this.timeBase = { wallOriginMs, originMs, timeScale };
    this.timers = options.timers ?? 'scaled';
  }

  /** A time base that reads `originMs` now and runs `timeScale` times faster from here. */
  static startingNow(originMs: number, timeScale: number): ScaledClock {
    return new ScaledClock({ wallOriginMs: Date.now(), originMs, timeScale });
  }

  now(): UnixMs {
    const { wallOriginMs, originMs, timeScale } = this.timeBase;
    const readingMs = Math.floor(originMs + (Date.now() - wallOriginMs) * timeScale);
    this.#lastMs = Math.max(this.#lastMs, readingMs);
    return this.#lastMs as UnixMs;
  }

  /** The wall-clock instant at which this clock reads `scaledMs`. */
  wallMsAt(scaledMs: number): number {
    const { wallOriginMs, originMs, timeScale } = this.timeBase;
    return wallOriginMs + (scaledMs - originMs) / timeScale;
  }

  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle {
    assert.ok(delayMs >= 0, `timer delay must be >= 0, got ${delayMs}`);
    if (this.timers === 'wall') return WALL_TIMERS.setTimer(delayMs, callback);
    const dueMs = this.now() + delayMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cancelled = false;
    const wallDelayMs = (leftMs: number): number => Math.min(REAL_TIMER_MS_MAX, Math.ceil(leftMs / this.timeBase.timeScale));
    // The callback always runs from a wall timer, never inside setTimer itself.
    const fire = (): void => {
      const leftMs = dueMs - this.now();
      if (leftMs > 0) {
        timer = setTimeout(fire, Math.max(1, wallDelayMs(leftMs)));
        return;
      }
      timer = undefined;
      if (!cancelled) callback();
    };
    timer = setTimeout(fire, wallDelayMs(delayMs));
    return {
      cancel: () => {
        cancelled = true;
        if (timer !== undefined) clearTimeout(timer);
      },
    };
  }

  sleep(delayMs: DurationMs, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }
}

interface PendingTimer {
  readonly dueMs: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * Deterministic time for tests and simulation: time moves only when `advance`/`advanceTo` is
 * called, and due timers fire in (due time, creation order) order.
 */
export class VirtualClock implements Clock {
  #nowMs: number;
  #seq = 0;
  #timers: PendingTimer[] = [];

  constructor(startMs: UnixMs) {
    assert.ok(Number.isFinite(startMs), 'virtual clock start must be finite');
    this.#nowMs = startMs;
  }

  now(): UnixMs {
    return this.#nowMs as UnixMs;
  }

  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle {
    assert.ok(delayMs >= 0, `timer delay must be >= 0, got ${delayMs}`);
    const timer: PendingTimer = { dueMs: this.#nowMs + delayMs, seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  sleep(delayMs: DurationMs, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }

  /** Number of timers still waiting. */
  pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  advance(deltaMs: DurationMs): void {
    assert.ok(deltaMs >= 0, `cannot move a clock backwards (delta ${deltaMs})`);
    this.advanceTo((this.#nowMs + deltaMs) as UnixMs);
  }

  advanceTo(targetMs: UnixMs): void {
    assert.ok(targetMs >= this.#nowMs, `cannot move a clock backwards (${targetMs} < ${this.#nowMs})`);
    for (;;) {
      const next = this.#nextDue(targetMs);
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#nowMs = next.dueMs;
      next.callback();
    }
    this.#nowMs = targetMs;
  }

  #nextDue(limitMs: number): PendingTimer | undefined {
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    let best: PendingTimer | undefined;
    for (const t of this.#timers) {
      if (t.dueMs > limitMs) continue;
      if (best === undefined || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
