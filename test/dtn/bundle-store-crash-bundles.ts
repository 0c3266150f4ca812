// What the crash test's writer stores and how its output is read, shared by the writer process
// (bundle-store-crash-writer.ts) and the checking test (bundle-store-crash.test.ts). A bundle is
// a pure function of (seed, key), so a key printed by the writer is enough for the parent to know
// the exact bytes and metadata that must be in the store.
import { seededRng, unixMs } from '../../common/index.ts';
import type { BundleStoreOptions, BundleToStore } from '../../dtn/bundle-store.ts';

/** The node the writer runs on: bundles to it are for local delivery. */
export const CRASH_LOCAL_NODE = 'ipn:100.1';
/** Small on purpose, so the store is often full and `full` refusals are exercised too. */
export const CRASH_STORE_OPTIONS: Omit<BundleStoreOptions, 'clock'> = { capacityBytes: 400_000, capacityBundles: 300, deliveredKeysMax: 2_000 };
/** Virtual time given to each writer's lifetime; writer `w` starts at CRASH_EPOCH_MS + w × this. */
export const CRASH_WRITER_SPAN_MS = 60_000;
export const CRASH_EPOCH_MS = 1_780_000_000_000;
/** Virtual time one writer operation takes. */
export const CRASH_STEP_MS = 5;
/** A writer stops by itself after this many operations (it is normally killed long before). */
export const CRASH_WRITER_OPS_MAX = CRASH_WRITER_SPAN_MS / CRASH_STEP_MS - 10;
/** The link name the writer sends on. */
export const CRASH_LINK = 'link-A';

/** FNV-1a, 32 bits: a stable hash of a key for deriving its bundle. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The key of the `seq`-th bundle created by writer `writer` at `creationMs`, shaped like a BPv7 identity. */
export function crashKey(writer: number, creationMs: number, seq: number): string {
  return `ipn:${1000 + writer}.0/${creationMs}/${seq}/0`;
}

/** The bundle (metadata and bytes) a key stands for; lifetimes start at the creation time in the key. */
export function crashBundle(seed: number, key: string): { readonly bundle: BundleToStore; readonly bytes: Uint8Array } {
  const creationMs = Number(key.split('/')[1]);
  const rng = seededRng((seed ^ fnv1a(key)) >>> 0);
  const local = rng() < 0.35;
  const priority = Math.floor(rng() * 3) as 0 | 1 | 2;
  const lifetimeMs = 20_000 + Math.floor(rng() * 400_000);
  const sizeBytes = 16 + Math.floor(rng() ** 3 * 3_000);
  const bytes = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i += 1) bytes[i] = Math.floor(rng() * 256);
  return {
    bundle: {
      key,
      destination: local ? CRASH_LOCAL_NODE : `ipn:${2 + Math.floor(rng() * 3)}.1`,
      localDelivery: local,
      priority,
      expiresAtMs: unixMs(creationMs + lifetimeMs),
    },
    bytes,
  };
}
