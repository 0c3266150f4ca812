// Virtual time for simulations whose parts talk through promises. `VirtualClock.advanceTo` fires
// every due timer in one synchronous loop, so promise callbacks queued by one timer (a convergence
// layer's acknowledgement, a handler's verdict) would only run after the whole advance, at the
// wrong virtual time. This Clock wraps a VirtualClock, keeps the due times of the timers set through
// it, and `runUntil` advances to one due instant at a time, letting every queued microtask run
// (one macrotask turn) before time moves on. Deterministic: the same inputs give the same order.
import { sleepOn, VirtualClock, type Clock, type DurationMs, type TimerHandle, type UnixMs } from '../../common/index.ts';

interface Entry {
  readonly dueMs: number;
  readonly seq: number;
  done: boolean;
}

/** Lets every queued microtask (and the promise chains they start) run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimulationClock implements Clock {
  readonly virtual: VirtualClock;
  readonly #heap: Entry[] = [];
  #seq = 0;

  constructor(startMs: number) {
    this.virtual = new VirtualClock(startMs as UnixMs);
  }

  now(): UnixMs {
    return this.virtual.now();
  }

  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle {
    const entry: Entry = { dueMs: this.virtual.now() + delayMs, seq: this.#seq++, done: false };
    this.#push(entry);
    const handle = this.virtual.setTimer(delayMs, () => {
      entry.done = true;
      callback();
    });
    return {
      cancel: () => {
        entry.done = true;
        handle.cancel();
      },
    };
  }

  sleep(delayMs: DurationMs, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }

  /** When the next live timer is due, if any. */
  nextDueMs(): number | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.done) this.#pop();
    return this.#heap[0]?.dueMs;
  }

  /** Fires the timers due up to `targetMs` one instant at a time, settling promises in between; ends at `targetMs`. */
  async runUntil(targetMs: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.nextDueMs();
      if (next === undefined || next > targetMs) break;
      this.virtual.advanceTo(Math.max(next, this.virtual.now()) as UnixMs);
    }
    if (targetMs > this.virtual.now()) this.virtual.advanceTo(targetMs as UnixMs);
    await settle();
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
}
