// Signatures verified ahead of time, off the validator's thread. A receipt's ed25519 verification
// (~0.1 ms of CPU here) is most of what executing it costs, and FinalizeBlock runs on consensus's
// critical path: between a decision and the next proposal. Transactions wait in the mempool for a
// while before their block is decided, so the validator hands their signatures to worker threads
// when it admits them (as CometBFT applications do in CheckTx) and FinalizeBlock finds the verdicts
// in its SignatureVerdicts. Each validator still verifies every signature itself, once.
//
// Best effort and bounded: at most `pendingJobsMax` signatures wait for a worker (beyond, `check`
// refuses them at once and FinalizeBlock verifies those inline); a worker that fails is dropped
// with its batch, whose verdicts FinalizeBlock then computes. Verdicts are handed over batch by
// batch, as each comes back, not when a whole submission is done. The queue is kept here, not in the workers' message ports: each
// worker holds one batch of at most `batchJobsMax` signatures at a time, and a job is checked
// against `skip` just before it is sent, so that when a block outruns the workers (at saturation)
// FinalizeBlock verifies its receipts and the workers skip them instead of verifying them again.
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { silentLogger, type Logger } from '../common/index.ts';
import { startWorkerThread } from './worker-thread.ts';

export interface SignatureJob {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * A worker's request (signature-worker.ts): the batch's jobs packed into one transferred buffer,
 * each as public key (32 bytes), signature (64), message length (u16 big-endian) and message. One
 * buffer moves between threads without a copy; an array of jobs was three typed arrays and an
 * object per signature for the structured clone to copy on each side.
 */
export interface SignatureBatch {
  readonly id: number;
  readonly count: number;
  readonly packed: Uint8Array;
}
export interface SignatureBatchVerdicts {
  readonly id: number;
  /** One byte per job: 1 verifies, 0 does not. */
  readonly verdicts: Uint8Array;
}

/** What the caller of `check` hears, job by job, as soon as a worker has answered a batch. */
export interface SignatureCheckHandlers {
  /** Asked just before a job goes to a worker: true when the caller knows its verdict by now (its block came first). */
  readonly skip?: (job: SignatureJob) => boolean;
  readonly verified: (job: SignatureJob, valid: boolean) => void;
}

/** The port a validator node uses: signatures checked elsewhere, ahead of their block. */
export interface SignaturePrecheck {
  /**
   * Queues `jobs`; `handlers.verified` is called for each one a worker verified, batch by batch.
   * False when refused at once (queue full, stopped); a worker lost later answers nothing for its batch.
   */
  check(jobs: readonly SignatureJob[], handlers: SignatureCheckHandlers): boolean;
}

export interface SignatureWorkerPoolOptions {
  /** Worker threads; default 1 (the validators of a machine share its cores). */
  readonly threads?: number;
  /** Signatures queued or in a worker at once; default 50,000 (the mempool's default capacity). */
  readonly pendingJobsMax?: number;
  /**
   * Signatures per message to a worker; default 32 (~4 ms of work). When a block outruns the
   * workers, FinalizeBlock verifies again the batch a worker holds, so a smaller batch wastes
   * less (at most 32 of a block's 2,000 verifications); a packed batch costs little to send.
   */
  readonly batchJobsMax?: number;
  readonly logger?: Logger;
}

/** Part of one `check` call, sent to a worker as one batch. */
interface Chunk {
  readonly jobs: readonly SignatureJob[];
  readonly handlers: SignatureCheckHandlers;
}

interface PoolWorker {
  readonly worker: Worker;
  /** The batch inside the worker: the jobs it verifies and whom to tell. */
  inFlight: { readonly id: number; readonly jobs: readonly SignatureJob[]; readonly handlers: SignatureCheckHandlers } | null;
}

const WORKER_URL = new URL('./signature-worker.ts', import.meta.url);

export class SignatureWorkerPool implements SignaturePrecheck {
  readonly #threads: number;
  readonly #pendingJobsMax: number;
  readonly #batchJobsMax: number;
  readonly #log: Logger;
  /** Chunks waiting for a worker, oldest first (the mempool's order, which is the blocks' order). */
  readonly #queue: Chunk[] = [];
  #queuedJobs = 0;
  #workers: PoolWorker[] = [];
  #nextBatchId = 1;
  #running = false;
  /** Whether the threads were started (at the first `check` after `start`); a lost thread is not replaced. */
  #spawned = false;

  constructor(options: SignatureWorkerPoolOptions = {}) {
    this.#threads = options.threads ?? 1;
    this.#pendingJobsMax = options.pendingJobsMax ?? 50_000;
    this.#batchJobsMax = options.batchJobsMax ?? 32;
    for (const [name, value] of [['threads', this.#threads], ['pendingJobsMax', this.#pendingJobsMax], ['batchJobsMax', this.#batchJobsMax]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    this.#log = (options.logger ?? silentLogger()).child({ component: 'signature-workers' });
  }

  /** Signatures waiting for or inside a worker. */
  get pendingJobs(): number {
    return this.#queuedJobs + this.#workers.reduce((sum, w) => sum + (w.inFlight?.jobs.length ?? 0), 0);
  }

  /**
   * Accepts jobs from now on. The threads start with the first jobs, not here: a validator starts
   * its pool at its own start, where a starting thread (its modules) would compete for the CPU with
   * the restore and the catch-up while no receipt waits yet.
   */
  start(): void {
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#spawned = false;
    const workers = this.#workers;
    this.#workers = [];
    this.#queue.length = 0;
    this.#queuedJobs = 0;
    for (const w of workers) w.inFlight = null;
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  check(jobs: readonly SignatureJob[], handlers: SignatureCheckHandlers): boolean {
    if (this.#running && !this.#spawned) {
      this.#spawned = true;
      for (let i = 0; i < this.#threads; i++) this.#workers.push(this.#spawn());
    }
    if (!this.#running || this.#workers.length === 0 || this.pendingJobs + jobs.length > this.#pendingJobsMax) return false;
    for (let start = 0; start < jobs.length; start += this.#batchJobsMax) {
      const slice = jobs.slice(start, start + this.#batchJobsMax);
      this.#queue.push({ jobs: slice, handlers });
      this.#queuedJobs += slice.length;
    }
    this.#dispatch();
    return true;
  }

  /** Gives each idle worker the oldest chunk, less the jobs `skip` says are known by now. */
  #dispatch(): void {
    for (const w of this.#workers) {
      while (w.inFlight === null && this.#queue.length > 0) {
        const chunk = this.#queue.shift()!;
        this.#queuedJobs -= chunk.jobs.length;
        const skip = chunk.handlers.skip;
        // A job that does not fit the packed layout is left to FinalizeBlock, like a refused one.
        const jobs = chunk.jobs.filter((job) => fitsPacked(job) && (skip === undefined || !skip(job)));
        if (jobs.length === 0) continue;
        const id = this.#nextBatchId++;
        w.inFlight = { id, jobs, handlers: chunk.handlers };
        const batch: SignatureBatch = { id, count: jobs.length, packed: packJobs(jobs) };
        w.worker.postMessage(batch, [batch.packed.buffer as ArrayBuffer]);
      }
    }
  }

  #spawn(): PoolWorker {
    const worker = startWorkerThread(WORKER_URL);
    // A pool its owner forgot to stop does not keep the process alive.
    worker.unref();
    const entry: PoolWorker = { worker, inFlight: null };
    worker.on('message', (reply: SignatureBatchVerdicts) => {
      const batch = entry.inFlight;
      if (batch === null || batch.id !== reply.id) return;
      entry.inFlight = null;
      if (reply.verdicts.length === batch.jobs.length) batch.jobs.forEach((job, i) => batch.handlers.verified(job, reply.verdicts[i] === 1));
      this.#dispatch();
    });
    worker.on('error', (error) => {
      this.#log.warn({ error: error.message }, 'signature worker failed; its signatures are verified when their block executes');
      this.#workers = this.#workers.filter((w) => w !== entry);
      entry.inFlight = null;
      if (this.#workers.length === 0) {
        this.#queue.length = 0;
        this.#queuedJobs = 0;
      } else {
        this.#dispatch();
      }
    });
    return entry;
  }
}

const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const JOB_HEAD_BYTES = PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 2;
/** Longest message a packed job carries (u16 length); receipts' signing bytes are a few hundred bytes, ed25519.ts allows 64 KiB. */
const PACKED_MESSAGE_BYTES_MAX = 0xffff;

function fitsPacked(job: SignatureJob): boolean {
  return job.publicKey.length === PUBLIC_KEY_BYTES && job.signature.length === SIGNATURE_BYTES && job.message.length <= PACKED_MESSAGE_BYTES_MAX;
}

/** The jobs in SignatureBatch's layout (each must fit it: `fitsPacked`). */
export function packJobs(jobs: readonly SignatureJob[]): Uint8Array {
  let size = 0;
  for (const job of jobs) size += JOB_HEAD_BYTES + job.message.length;
  const packed = new Uint8Array(size);
  const view = new DataView(packed.buffer);
  let at = 0;
  for (const job of jobs) {
    assert.ok(fitsPacked(job), 'a packed job has a 32-byte key, a 64-byte signature and a message of at most 65,535 bytes');
    packed.set(job.publicKey, at);
    packed.set(job.signature, at + PUBLIC_KEY_BYTES);
    view.setUint16(at + PUBLIC_KEY_BYTES + SIGNATURE_BYTES, job.message.length);
    packed.set(job.message, at + JOB_HEAD_BYTES);
    at += JOB_HEAD_BYTES + job.message.length;
  }
  return packed;
}

/** The jobs of a packed batch, as views into it (no copies). */
export function unpackJobs(packed: Uint8Array, count: number): SignatureJob[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const jobs: SignatureJob[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = view.getUint16(at + PUBLIC_KEY_BYTES + SIGNATURE_BYTES);
    jobs.push({
      publicKey: packed.subarray(at, at + PUBLIC_KEY_BYTES),
      signature: packed.subarray(at + PUBLIC_KEY_BYTES, at + PUBLIC_KEY_BYTES + SIGNATURE_BYTES),
      message: packed.subarray(at + JOB_HEAD_BYTES, at + JOB_HEAD_BYTES + length),
    });
    at += JOB_HEAD_BYTES + length;
  }
  return jobs;
}
