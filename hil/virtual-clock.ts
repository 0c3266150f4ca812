// The swarm's time (and every simulation test's): one VirtualClock, run one due instant at a time.
// `VirtualClock.advanceTo` fires every due timer in one synchronous loop, so the promise chains a
// timer starts (a convergence layer's acknowledgement, a store's commit, a workload's end) would run
// only after the whole advance, at the wrong virtual time. `runUntil` therefore moves to the next
// due instant, fires what is due there, and lets the process settle before time moves on: every
// queued microtask, and every file-system request in flight (the orbital agent's work directories
// use node:fs/promises, which completes on libuv's thread pool at a wall-clock moment of its own).
// Waiting for those to finish before the next instant is what keeps a run deterministic: the order
// of events depends on virtual time and creation order only, never on how fast the disk answered.
import assert from 'node:assert/strict';
import { nextEventLoopTurn, sleepOn, VirtualClock, type Clock, type DurationMs, type TimerHandle, type UnixMs } from '../common/index.ts';

interface Entry {
  readonly dueMs: number;
  readonly seq: number;
  done: boolean;
}

/** Event-loop turns one settle may take waiting for file-system requests, at most (each ~µs). */
const SETTLE_TURNS_MAX = 100_000;
/** Resources of libuv that are file-system work in flight (process.getActiveResourcesInfo()). */
const FS_RESOURCE = /^(FSReq|FileHandle|CloseReq|StatWatcher)/;

/** Lets every queued microtask run, and waits until no file-system request is in flight. */
export async function settleProcess(): Promise<void> {
  await nextEventLoopTurn();
  for (let turn = 0; turn < SETTLE_TURNS_MAX && process.getActiveResourcesInfo().some((r) => FS_RESOURCE.test(r)); turn += 1) {
    await nextEventLoopTurn();
  }
  await nextEventLoopTurn();
}

export class SimulationClock implements Clock {
  readonly virtual: VirtualClock;
  readonly #heap: Entry[] = [];
  #seq = 0;
  #instants = 0;

  constructor(startMs: number) {
    this.virtual = new VirtualClock(startMs as UnixMs);
  }

  now(): UnixMs {
    return this.virtual.now();
  }

  /** Due instants run so far (a measure of the simulation's work). */
  get instants(): number {
    return this.#instants;
  }

  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle {
    assert.ok(delayMs >= 0, `timer delay must be >= 0, got ${delayMs}`);
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

  /** Fires the timers due up to `targetMs` one instant at a time, settling in between; ends at `targetMs`. */
  async runUntil(targetMs: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      await settleProcess();
      const next = this.nextDueMs();
      if (next === undefined || next > targetMs) break;
      this.#instants += 1;
      this.virtual.advanceTo(Math.max(next, this.virtual.now()) as UnixMs);
    }
    if (targetMs > this.virtual.now()) this.virtual.advanceTo(targetMs as UnixMs);
    await settleProcess();
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
