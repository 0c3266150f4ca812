// The bundles of the DTN cases (dtn-cases.ts and its child processes): real BPv7 bundles made and
// encoded by dtn/ as an agent makes them, and the store metadata a receiving agent derives from a
// decoded bundle. Shared by the sending side, the receiving process and the memory probe so that
// all three store exactly the same thing.
import { seededRng, unixMs, type UnixMs } from '../common/index.ts';
import {
  BUNDLE_PRIORITY, bundleKey, type Bundle, type BundleToStore, dtnTimeFromUnixMs, encodeBundle, formatEid, ipnEid, makeBundle,
  unixMsFromDtnTime,
} from '../dtn/index.ts';

/** A day, as the agent's default bundle lifetime: nothing expires during a run. */
const LIFETIME_MS = 86_400_000;
const SOURCE = ipnEid(1, 1);
/** A node beyond the receiver: the receiver stores the bundle to forward it, as a relay does. */
const DESTINATION = ipnEid(3, 1);

/** `bytes` of seeded pseudo-random data: incompressible, and the same on every run. */
export function benchPayload(bytes: number, seed: number): Uint8Array {
  const random = seededRng(seed);
  const payload = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4) {
    const word = Math.floor(random() * 0x1_0000_0000);
    for (let k = 0; k < 4 && i + k < bytes; k += 1) payload[i + k] = (word >>> (8 * k)) & 0xff;
  }
  return payload;
}

/**
 * Makes and encodes bundle number `sequence` of one run: source ipn:1.1, destination ipn:3.1,
 * CRC-32C on the primary block, no CRC on the payload block (makeBundle's defaults). The creation
 * time is fixed per run and the sequence number makes each bundle's identity unique.
 */
export function encodeBenchBundle(payload: Uint8Array, createdAtMs: UnixMs, sequence: number): Uint8Array {
  return encodeBundle(makeBundle({
    destination: DESTINATION,
    source: SOURCE,
    creation: { dtnTimeMs: dtnTimeFromUnixMs(createdAtMs), sequence: BigInt(sequence) },
    lifetimeMs: LIFETIME_MS,
    payload,
  }));
}

/** What a relaying agent stores about a bundle it received: forwarded later, normal priority. */
export function storeEntryOf(bundle: Bundle): BundleToStore {
  const createdAtMs = unixMsFromDtnTime(bundle.primary.creation.dtnTimeMs);
  if (createdAtMs === undefined) throw new Error('bench bundles carry a creation time');
  return {
    key: bundleKey(bundle),
    destination: formatEid(bundle.primary.destination),
    localDelivery: false,
    priority: BUNDLE_PRIORITY.normal,
    expiresAtMs: unixMs(createdAtMs + bundle.primary.lifetimeMs),
  };
}

/** Store capacity for the benchmark stores: far above what any case puts, so nothing is refused as full. */
export const BENCH_STORE_OPTIONS = {
  capacityBytes: 64 * 1024 ** 3,
  capacityBundles: 10_000_000,
} as const;
