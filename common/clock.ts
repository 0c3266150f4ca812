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

function sleepOn(clock: Clock, delayMs: DurationMs, signal?: AbortSignal): Promise<void> {
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

/** Wall-clock time of this machine. */
export class RealClock implements Clock {
  now(): UnixMs {
    return Date.now() as UnixMs;
  }

  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle {
    assert.ok(delayMs >= 0, `timer delay must be >= 0, got ${delayMs}`);
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
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
