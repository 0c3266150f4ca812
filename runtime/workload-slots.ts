// The workloads a runtime has running, bounded (STYLE rule 8): a slot per workload id, taken
// before the first await of `run` so concurrent calls see it, and a stop request that reaches
// the workload whenever it becomes stoppable (a stop asked for while it is still being created
// is applied the moment it starts).
import { OrbitfedError } from '../common/index.ts';
import type { StopCause } from './workload-outcome.ts';

export class WorkloadSlot {
  readonly id: string;
  #stopRequest: StopCause | undefined;
  #stopHook: ((cause: StopCause) => void) | undefined;
  readonly #released: Promise<void>;
  #release!: () => void;

  constructor(id: string) {
    this.id = id;
    this.#released = new Promise((resolve) => { this.#release = resolve; });
  }

  /** Asks the workload to stop; the first request is the one that counts. */
  stop(cause: StopCause): void {
    this.#stopRequest ??= cause;
    this.#stopHook?.(cause);
  }

  /** Called once the workload runs: `hook` stops it (and is called at once if a stop is pending). */
  stoppable(hook: (cause: StopCause) => void): void {
    this.#stopHook = hook;
    if (this.#stopRequest !== undefined) hook(this.#stopRequest);
  }

  get released(): Promise<void> {
    return this.#released;
  }

  markReleased(): void {
    this.#release();
  }
}

export class WorkloadSlots {
  readonly #max: number;
  readonly #slots = new Map<string, WorkloadSlot>();

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new OrbitfedError('ORBITFED_RUNTIME_CONFIG', `must be an integer >= 1, got ${max}`, { field: 'concurrentWorkloadsMax' });
    this.#max = max;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** A slot for `id`, or `ORBITFED_RUNTIME_DUPLICATE_ID` / `ORBITFED_RUNTIME_BUSY`. */
  claim(id: string): WorkloadSlot {
    if (this.#slots.has(id)) throw new OrbitfedError('ORBITFED_RUNTIME_DUPLICATE_ID', `a workload ${id} is already running`, { field: 'id' });
    if (this.#slots.size >= this.#max) throw new OrbitfedError('ORBITFED_RUNTIME_BUSY', `${this.#slots.size} workloads are running, the most allowed`, { field: 'id' });
    const slot = new WorkloadSlot(id);
    this.#slots.set(id, slot);
    return slot;
  }

  release(slot: WorkloadSlot): void {
    this.#slots.delete(slot.id);
    slot.markReleased();
  }

  /** Stops every running workload and resolves once all have released their slots. */
  async stopAll(cause: StopCause): Promise<void> {
    const slots = [...this.#slots.values()];
    for (const slot of slots) slot.stop(cause);
    await Promise.all(slots.map((s) => s.released));
  }
}
