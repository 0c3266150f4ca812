// The memory probe of the DTN cases, as its own process (forked by dtn-cases.ts with --expose-gc,
// so that each sample follows a full garbage collection). Two modes, each answering with one
// message over the IPC channel:
//   fill <store path> <payload bytes> <bundles per putAll> <sample at bundles>…
//       resident set and JS heap of a process holding an open BundleStore, before and while it puts
//       bundles into it (sampled at each count, ascending), and once more after closing it:
//       a `StoreMemoryReport`;
//   open <store path> <bundles>
//       a new process that opens an existing store of that many bundles (which counts its totals)
//       and holds it open: a `MemorySample`. Opening an empty store the same way gives the
//       baseline, so the difference is what the stored bundles cost a process that holds them,
//       without the garbage of filling the store.
// The parent owns the store's directory.
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import process from 'node:process';
import { RealClock, type UnixMs } from '../common/index.ts';
import { BundleStore, type BundleToPut, decodeBundle } from '../dtn/index.ts';
import { BENCH_STORE_OPTIONS, benchPayload, encodeBenchBundle, storeEntryOf } from './dtn-bundles.ts';

/** Bundles put into a scratch store first, so that code and SQLite are loaded before the baseline. */
const WARMUP_BUNDLES = 1000;

export interface MemorySample {
  readonly storedBundles: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** Memory outside the JS heap that V8 knows about (Buffers, typed arrays). */
  readonly externalBytes: number;
  /** The store's file and its WAL. */
  readonly diskBytes: number;
}

export interface StoreMemoryReport {
  /** After opening the empty store and a full garbage collection. */
  readonly baseline: MemorySample;
  readonly samples: readonly MemorySample[];
  /**
   * After the last sample, the store closed: what of the growth the store held (SQLite's page
   * cache, its statements) and what the process keeps anyway (freed memory the allocator and V8
   * have not returned to the OS).
   */
  readonly closed: MemorySample;
}

const fileBytes = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** Memory after a full garbage collection, with `storedBundles` in the store at `storePath`. */
function sample(storePath: string, storedBundles: number): MemorySample {
  assert.ok(globalThis.gc !== undefined, 'dtn-store-memory.ts runs with --expose-gc');
  // Twice: the first collection's finalizers can free more on the second.
  globalThis.gc();
  globalThis.gc();
  const usage = process.memoryUsage();
  return {
    storedBundles,
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
    diskBytes: fileBytes(storePath) + fileBytes(`${storePath}-wal`),
  };
}

/** Puts bundles `from` … `to` − 1 as a receiving agent would: encoded by the sender, decoded, stored. */
function fill(store: BundleStore, payload: Uint8Array, createdAtMs: UnixMs, batchBundles: number, from: number, to: number): void {
  for (let first = from; first < to; first += batchBundles) {
    const batch: BundleToPut[] = [];
    for (let i = first; i < Math.min(to, first + batchBundles); i += 1) {
      const bytes = encodeBenchBundle(payload, createdAtMs, i);
      batch.push({ bundle: storeEntryOf(decodeBundle(bytes)), bytes });
    }
    for (const result of store.putAll(batch)) assert.ok(result.stored, 'every bundle is stored');
  }
}

function answer(message: StoreMemoryReport | MemorySample): void {
  assert.ok(process.send !== undefined, 'dtn-store-memory.ts runs as a forked child of dtn-cases.ts');
  process.send(message, () => process.disconnect());
}

function fillMode(args: readonly string[]): StoreMemoryReport {
  const [storePath, payloadBytesText, batchBundlesText, ...sampleTexts] = args;
  const payloadBytes = Number(payloadBytesText);
  const batchBundles = Number(batchBundlesText);
  const sampleBundles = sampleTexts.map(Number);
  assert.ok(storePath !== undefined && payloadBytes > 0 && batchBundles > 0 && sampleBundles.length > 0 && sampleBundles.every((n, i) => n > (sampleBundles[i - 1] ?? 0)),
    'usage: dtn-store-memory.ts fill <store path> <payload bytes> <bundles per putAll> <sample at bundles>…');
  const payload = benchPayload(payloadBytes, 1);
  const createdAtMs = new RealClock().now();

  const scratchPath = `${storePath}.warmup`;
  const scratch = BundleStore.open(scratchPath, BENCH_STORE_OPTIONS);
  fill(scratch, payload, createdAtMs, batchBundles, 0, WARMUP_BUNDLES);
  scratch.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${scratchPath}${suffix}`, { force: true });

  const store = BundleStore.open(storePath, BENCH_STORE_OPTIONS);
  const baseline = sample(storePath, 0);
  const samples: MemorySample[] = [];
  let stored = 0;
  for (const target of sampleBundles) {
    fill(store, payload, createdAtMs, batchBundles, stored, target);
    stored = target;
    assert.equal(store.stats().bundles, stored);
    samples.push(sample(storePath, stored));
  }
  store.close();
  return { baseline, samples, closed: sample(storePath, stored) };
}

function openMode(args: readonly string[]): MemorySample {
  const [storePath, bundlesText] = args;
  const bundles = Number(bundlesText);
  assert.ok(storePath !== undefined && Number.isSafeInteger(bundles) && bundles >= 0, 'usage: dtn-store-memory.ts open <store path> <bundles>');
  const store = BundleStore.open(storePath, BENCH_STORE_OPTIONS);
  assert.equal(store.stats().bundles, bundles);
  const opened = sample(storePath, bundles);
  store.close();
  return opened;
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'fill') answer(fillMode(args));
else if (mode === 'open') answer(openMode(args));
else throw new Error(`dtn-store-memory.ts: unknown mode ${mode}; use fill or open`);
