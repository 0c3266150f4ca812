// The only place in orbitfed that reads wall time or sets timers (ARCHITECTURE: "Time is injected").
// Everything else receives a Clock, so a virtual clock can run a federation faster than real time.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
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

/**
 * How long before its due time a `PreciseRealClock` timer stops waiting in `setTimeout` and is
 * checked on every turn of the event loop instead. setTimeout counts whole milliseconds of libuv's
 * loop time (read once per turn, so it may be stale) and fires up to about 1 ms before or after the
 * fractional delay it was given (measured here); 1.5 ms covers that with margin.
 */
const PRECISE_FINISH_MS = 1.5;
/**
 * While timers are in that last stretch, each turn sleeps in the kernel (Atomics.wait, which blocks
 * the thread) for at most this long when the earliest is further away than this. A pure
 * turn-by-turn spin cost about 1 ms of CPU per timer here, with these naps about half; and under
 * load the spinning relay woke later, not sooner (median lateness 0.3–1.0 ms against 0.14–0.18 ms,
 * hil/README.md), as a spinner loses the CPU to the scheduler. Sockets wait at most this long to be
 * read.
 */
const PRECISE_NAP_MS = 0.2;
/**
 * Asks Linux to end this process's main-thread timed waits (a PreciseRealClock's naps, the event
 * loop's epoll timeouts) when they are due rather than up to the thread's timer slack later: 50 µs
 * by default, which the kernel uses to batch wake-ups, and which made a PreciseRealClock timer about
 * 0.05 ms later at the median (measured here: 0.10 ms late at the median, 0.05 ms with a slack of
 * 1 ns). A process may change its own slack without privileges (/proc/PID/timerslack_ns, Linux
 * 4.6+); the price is a few more wake-ups. Call it from the main thread. Returns false where it
 * could not (not Linux, an older kernel, /proc not mounted), which costs only those microseconds.
 */
export function tightenTimerSlack(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    writeFileSync('/proc/self/timerslack_ns', '1');
    return true;
  } catch {
    return false;
  }
}
/** The name Node gives the threads of V8's platform pool (`--v8-pool-size`, 4 by default). */
const V8_WORKER_THREAD_NAME = 'V8Worker';
/** The lowest CPU priority Linux has (nice 19: about 1/70 of a nice-0 thread's share when both want the CPU). */
const LOWEST_NICE = 19;
/**
 * Lowers V8's background threads in this process to the lowest CPU priority, so that on a busy or
 * small machine they run in the gaps left by the main thread and the processes it talks to rather
 * than delaying them. Those threads compile hot code (Maglev, TurboFan) and help the garbage
 * collector; in a link emulator that has just started they compile for seconds, and a trace of its
 * late deliveries (hil/README.md) found them holding both vCPUs of the machine while the relay's
 * main thread, or the receiver's, waited 0.4–1.5 ms. The price, under load: hot code tiers up
 * later, and a collection's parallel phase, in which the main thread works beside them, may wait
 * longer for its helpers; on an idle machine nothing changes.
 * Linux only (setpriority on a thread id changes that thread alone); a process may lower its own
 * threads without privileges. Call it once at start, after Node has made its pool. Returns how many
 * threads it lowered (0 elsewhere, or where /proc cannot be read).
 */
export function lowerV8WorkerPriority(): number {
  if (process.platform !== 'linux') return 0;
  let lowered = 0;
  let threadIds: string[];
  try {
    threadIds = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  for (const threadId of threadIds) {
    try {
      if (readFileSync(`/proc/self/task/${threadId}/comm`, 'utf8').trim() !== V8_WORKER_THREAD_NAME) continue;
      setPriority(Number(threadId), LOWEST_NICE);
      lowered += 1;
    } catch {
      // The thread ended between the listing and the reading: nothing to lower.
    }
  }
  return lowered;
}
/** What PreciseRealClock's naps wait on; nothing ever notifies it. */
const NAP_CELL = new Int32Array(new SharedArrayBuffer(4));

interface FinishingTimer {
  readonly dueMs: number;
  readonly callback: () => void;
}

/**
 * Wall-clock time to a fraction of a millisecond, and timers that fire within tens of
 * microseconds of their due time on an idle machine — for the link emulator, whose light times are
 * promised to 1 ms (issue 9) and which `RealClock`'s whole milliseconds and setTimeout's whole-ms
 * wake-ups spread over −1…+2 ms.
 *
 * - `now()` is the monotonic `performance.now()` plus an offset to Unix time. Date.now() truncates
 *   to the millisecond, so Date.now() − performance.now() (read in that order) never exceeds the
 *   true offset and reaches it just after the wall clock ticks: the offset is the largest such
 *   difference seen (measured at construction, which waits for one tick of the wall clock, at most
 *   1 ms), and follows the wall clock when it steps or slews by more than its millisecond (a
 *   monotonic reading before Date.now() bounds it from above, so a pause between the readings is
 *   not taken for a step).
 *   Readings never go backwards (a step back holds them, as ScaledClock does) and are fractional.
 * - `setTimer(d)` waits in setTimeout until PRECISE_FINISH_MS before its due time; from there one
 *   check per event-loop turn (setImmediate, shared by all the clock's timers, so sockets are still
 *   served between checks) calls back every timer that is due, in due order, napping at most
 *   PRECISE_NAP_MS per turn, and waiting out the last PRECISE_NAP_MS in the kernel within one turn.
 *   That last stretch costs CPU (about 0.5 ms per timer measured here) and never starts earlier than PRECISE_FINISH_MS before a due time; an idle clock costs nothing.
 *   A callback never runs before `now()` has reached its due time, nor from inside setTimer.
 */
export class PreciseRealClock implements Clock {
  #offsetMs: number;
  #lastMs = Number.NEGATIVE_INFINITY;
  /** Timers in their last stretch (a handful at most: an array, walked without allocating). */
  readonly #finishing: FinishingTimer[] = [];
  #turn: ReturnType<typeof setImmediate> | undefined;

  constructor() {
    // Wait for the wall clock's next tick: just after it, Date.now() − performance.now() is the
    // offset to within microseconds.
    const startWallMs = Date.now();
    let offsetMs = startWallMs - performance.now();
    for (;;) {
      const wallMs = Date.now();
      const monotonicMs = performance.now();
      offsetMs = Math.max(offsetMs, wallMs - monotonicMs);
      if (wallMs !== startWallMs) break;
    }
    this.#offsetMs = offsetMs;
  }

  now(): UnixMs {
    // The wall clock is read between two monotonic readings, so the true offset lies in
    // [wall − after, wall − before + 1) however long the thread was held up in between. Bounding it
    // from one monotonic reading alone took a pause there (a scavenge that the reading's own
    // allocation set off, the kernel running something else) for the wall clock stepping back by
    // the pause, less 1 ms: readings fell behind by that much until the next ticks pulled them up.
    const beforeMs = performance.now();
    const wallMs = Date.now();
    const afterMs = performance.now();
    if (this.#offsetMs < wallMs - afterMs) this.#offsetMs = wallMs - afterMs;
    else if (this.#offsetMs > wallMs - beforeMs + 1) this.#offsetMs = wallMs - beforeMs + 1;
    this.#lastMs = Math.max(this.#lastMs, afterMs + this.#offsetMs);
    return this.#lastMs as UnixMs;
  }

  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle {
    assert.ok(delayMs >= 0, `timer delay must be >= 0, got ${delayMs}`);
    const timer: FinishingTimer = { dueMs: this.now() + delayMs, callback };
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const wait = (): void => {
      timeout = undefined;
      const leftMs = timer.dueMs - this.now();
      if (leftMs > PRECISE_FINISH_MS) {
        timeout = setTimeout(wait, Math.min(REAL_TIMER_MS_MAX, leftMs - PRECISE_FINISH_MS));
        return;
      }
      this.#finishing.push(timer);
      this.#scheduleTurn();
    };
    wait();
    return {
      cancel: () => {
        if (timeout !== undefined) clearTimeout(timeout);
        this.#remove(timer);
      },
    };
  }

  sleep(delayMs: DurationMs, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }

  /** One turn of the last stretch: nap if nothing is close, wait it out if it is, then call back whatever is due. */
  readonly #finishTurn = (): void => {
    this.#turn = undefined;
    const finishing = this.#finishing;
    if (finishing.length === 0) return;
    // Most turns find nothing due: they allocate nothing (garbage makes the collector pause the
    // loop, late).
    let earliestMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < finishing.length; i += 1) earliestMs = Math.min(earliestMs, finishing[i]!.dueMs);
    let nowMs = this.now();
    const leftMs = earliestMs - nowMs;
    if (leftMs > PRECISE_NAP_MS) {
      Atomics.wait(NAP_CELL, 0, 0, Math.min(PRECISE_NAP_MS, leftMs - PRECISE_NAP_MS));
      nowMs = this.now();
    } else if (leftMs > 0) {
      // The last fraction of a millisecond is waited out here, in the kernel, blocking the loop no
      // longer than a nap. Turning the event loop instead — dozens of turns, each allocating its
      // Immediate — made most of the relay's garbage, and its collections, landing on due
      // deliveries, most of the delay bench's late messages (hil/README.md). Reading the clock in
      // a loop for the futex's last 0.05–0.1 ms of timer slack gained that at the median and
      // nothing at the 99th percentile (bench). Counted on the monotonic clock: now() holds still
      // while the wall clock has stepped back.
      const untilMs = performance.now() + leftMs;
      for (let waitMs = leftMs; waitMs > 0; waitMs = untilMs - performance.now()) {
        Atomics.wait(NAP_CELL, 0, 0, waitMs);
      }
      nowMs = this.now();
    }
    if (earliestMs <= nowMs) this.#callDue(nowMs);
    if (finishing.length > 0) this.#scheduleTurn();
  };

  /** Calls back, in due order, every finishing timer due by `nowMs` (apart: its closure would cost every turn a context). */
  #callDue(nowMs: number): void {
    const due = this.#finishing.filter((t) => t.dueMs <= nowMs).sort((a, b) => a.dueMs - b.dueMs);
    for (const timer of due) {
      // An earlier callback may have cancelled it.
      if (this.#remove(timer)) timer.callback();
    }
  }

  /** Takes `timer` out of the last stretch; false if it was not there (fired or cancelled). */
  #remove(timer: FinishingTimer): boolean {
    const index = this.#finishing.indexOf(timer);
    if (index < 0) return false;
    this.#finishing.splice(index, 1);
    return true;
  }

  #scheduleTurn(): void {
    if (this.#turn === undefined) this.#turn = setImmediate(this.#finishTurn);
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
