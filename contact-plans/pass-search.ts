// Runs the pass finder over element sets, on this thread or on worker threads (one per core by
// default), and reports per-satellite problems instead of throwing.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ElementSet } from './element-set.ts';
import { PassTable, type PassColumns } from './pass-table.ts';
import { findPasses, type PassSearchOptions, type SatelliteProblem } from './passes.ts';
import { createPropagator, type Propagator } from './sgp4.ts';
import type { Station } from './station.ts';

export interface PassSearchSummary {
  readonly table: PassTable;
  /** Sorted by satellite index. */
  readonly problems: readonly SatelliteProblem[];
  readonly sgp4Calls: number;
}

export interface ParallelOptions {
  /** Worker threads; 1 searches on the calling thread. Default: the machine's available parallelism. */
  readonly threads?: number;
  /** Called as satellites complete. */
  readonly onProgress?: (satellitesDone: number, satellitesTotal: number) => void;
  readonly signal?: AbortSignal;
}

/** Satellites handed to a worker at a time: small enough to balance two cores, large enough to amortise messages. */
const CHUNK_SATELLITES = 128;
/** Upper bound on worker threads, whatever the machine says. */
export const PASS_THREADS_MAX = 64;

/** Initialises SGP4 for each element set; failures become problems, their slot stays `undefined`. */
export function initialisePropagators(elements: readonly ElementSet[], satelliteIndexOffset = 0): {
  propagators: (Propagator | undefined)[];
  problems: SatelliteProblem[];
} {
  const problems: SatelliteProblem[] = [];
  const propagators = elements.map((e, i) => {
    const result = createPropagator(e);
    if (result.ok) return result.propagator;
    problems.push({ satellite: i + satelliteIndexOffset, code: result.code, message: `SGP4 initialisation: ${result.message}`, atSec: 0 });
    return undefined;
  });
  return { propagators, problems };
}

/** Searches one slice of satellites on the calling thread. */
export function searchPassesHere(
  elements: readonly ElementSet[], stations: readonly Station[], options: PassSearchOptions, satelliteIndexOffset = 0,
): PassSearchSummary {
  const init = initialisePropagators(elements, satelliteIndexOffset);
  const result = findPasses(init.propagators, stations, options, satelliteIndexOffset);
  const problems = [...init.problems, ...result.problems].sort((a, b) => a.satellite - b.satellite);
  return { table: result.table, problems, sgp4Calls: result.sgp4Calls };
}

export interface WorkerRequest {
  readonly elements: readonly ElementSet[];
  readonly stations: readonly Station[];
  readonly options: PassSearchOptions;
  readonly satelliteIndexOffset: number;
}

export interface WorkerReply {
  readonly columns: PassColumns;
  readonly length: number;
  readonly problems: readonly SatelliteProblem[];
  readonly sgp4Calls: number;
}

/** Every pass of every element set over every station, using worker threads when asked. */
export async function searchPasses(
  elements: readonly ElementSet[], stations: readonly Station[], options: PassSearchOptions, parallel: ParallelOptions = {},
): Promise<PassSearchSummary> {
  const threads = Math.min(PASS_THREADS_MAX, Math.max(1, Math.floor(parallel.threads ?? availableParallelism())));
  const total = elements.length;
  if (threads === 1 || total <= CHUNK_SATELLITES) {
    const table = new PassTable();
    const problems: SatelliteProblem[] = [];
    let sgp4Calls = 0;
    for (let start = 0; start < total; start += CHUNK_SATELLITES) {
      parallel.signal?.throwIfAborted();
      const part = searchPassesHere(elements.slice(start, start + CHUNK_SATELLITES), stations, options, start);
      table.append(part.table);
      problems.push(...part.problems);
      sgp4Calls += part.sgp4Calls;
      parallel.onProgress?.(Math.min(total, start + CHUNK_SATELLITES), total);
    }
    return { table, problems, sgp4Calls };
  }
  return searchOnWorkers(elements, stations, options, threads, parallel);
}

async function searchOnWorkers(
  elements: readonly ElementSet[], stations: readonly Station[], options: PassSearchOptions, threads: number, parallel: ParallelOptions,
): Promise<PassSearchSummary> {
  const total = elements.length;
  const chunkStarts: number[] = [];
  for (let start = 0; start < total; start += CHUNK_SATELLITES) chunkStarts.push(start);
  const parts = new Map<number, WorkerReply>();
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: Math.min(threads, chunkStarts.length) }, () =>
    new Worker(new URL('./pass-worker.ts', import.meta.url)));
  const stop = (): void => { for (const w of workers) void w.terminate(); };
  parallel.signal?.addEventListener('abort', stop, { once: true });
  try {
    await Promise.all(workers.map((worker) => new Promise<void>((resolve, reject) => {
      const feed = (): void => {
        if (parallel.signal?.aborted) {
          reject(parallel.signal.reason);
          return;
        }
        const start = chunkStarts[next++];
        if (start === undefined) {
          resolve();
          return;
        }
        const request: WorkerRequest = { elements: elements.slice(start, start + CHUNK_SATELLITES), stations, options, satelliteIndexOffset: start };
        worker.once('message', (reply: WorkerReply) => {
          parts.set(start, reply);
          done += Math.min(CHUNK_SATELLITES, total - start);
          parallel.onProgress?.(done, total);
          feed();
        });
        worker.postMessage(request);
      };
      worker.once('error', reject);
      feed();
    })));
  } finally {
    parallel.signal?.removeEventListener('abort', stop);
    stop();
  }
  const table = new PassTable();
  const problems: SatelliteProblem[] = [];
  let sgp4Calls = 0;
  for (const start of chunkStarts) {
    const reply = parts.get(start)!;
    table.append(new PassTable(reply.columns, reply.length));
    problems.push(...reply.problems);
    sgp4Calls += reply.sgp4Calls;
  }
  return { table, problems, sgp4Calls };
}
