// Bundle fragmentation (RFC 9171 §5.8) and ADU reassembly (§5.9).
//
// `fragmentBundle` splits a bundle into fragments whose *encoded* size each fits a limit (a
// contact's remaining volume, a convergence layer's largest transfer). Per §5.8: every fragment
// has the source and creation timestamp of the original, the is-fragment flag, its offset into the
// original ADU and the ADU's total length (and so a new primary-block CRC); the first fragment
// carries all extension blocks, the others those flagged "replicate in every fragment" and the
// Bundle Age block (see `fragmentBundle`). Fragmenting a fragment works the same way, with offsets
// relative to the original ADU.
//
// `Reassembler` collects fragments by source and creation timestamp and returns the original
// bundle once their "material extents" (§5.9: the bytes not already held) cover the whole ADU, in
// any order, overlapping or duplicated. The result is the original bundle: the primary block and
// extension blocks of the fragment that brought byte 0, without the fragment fields, and the whole
// ADU as payload. Memory is bounded (STYLE rule 8): a partial bundle holds one buffer the size of
// its ADU, allocated with its first fragment. When a new partial bundle would take the held bytes
// above `maxBufferedBytes` or the partial bundles above `maxPartialBundles`, the partial bundles
// updated least recently are dropped whole first (counted in `evictedBundleCount`; their fragments
// must arrive again). A fragment whose ADU alone is above `maxBufferedBytes` is refused, and so is
// one that would leave more than `maxExtentsPerBundle` separate runs of received bytes (runs that
// touch are merged: fragments arriving in order keep one run; only many small fragments far out of
// order come near the bound). Once a bundle is returned its state is gone: a late duplicate starts
// a new partial bundle (duplicates of whole bundles are the bundle store's concern, via bundleKey).
// Errors:
//   ORBITFED_FRAGMENT_FORBIDDEN      the bundle's "must not be fragmented" flag is set
//   ORBITFED_FRAGMENT_TOO_SMALL      the limit leaves no room for payload beside the blocks every fragment carries
//   ORBITFED_FRAGMENT_TOO_MANY       more fragments than `maxFragments` would be needed
//   ORBITFED_REASSEMBLY_NOT_FRAGMENT `add` was given a bundle that is not a fragment
//   ORBITFED_REASSEMBLY_MISMATCH     a fragment's total ADU length differs from earlier fragments of the same ADU
//   ORBITFED_REASSEMBLY_TOO_LARGE    the ADU is longer than `maxBufferedBytes`
//   ORBITFED_REASSEMBLY_TOO_FRAGMENTED  the fragment would leave more than `maxExtentsPerBundle` runs
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import { aduKey, type Bundle, type ExtensionBlock, type PayloadBlock, type PrimaryBlock } from './bundle.ts';
import { encodeBundle } from './bundle-codec.ts';
import { cborHeadBytes } from './cbor.ts';

/** Default cap on the fragments one call may produce. */
export const FRAGMENTS_MAX = 10_000;

function fragmentOf(bundle: Bundle, blocks: readonly ExtensionBlock[], offsetBytes: number, totalAduLengthBytes: number, data: Uint8Array): Bundle {
  return {
    primary: { ...bundle.primary, fragment: { offsetBytes, totalAduLengthBytes } },
    extensionBlocks: blocks,
    payload: { ...bundle.payload, data },
  };
}

/**
 * The bundle itself if its encoding fits `maxEncodedBytes`, otherwise fragments whose encodings
 * each fit, in payload order. Fragment payloads are views of the original payload's bytes.
 */
export function fragmentBundle(bundle: Bundle, maxEncodedBytes: number, maxFragments = FRAGMENTS_MAX): Bundle[] {
  if (encodeBundle(bundle).length <= maxEncodedBytes) return [bundle];
  if (bundle.primary.flags.mustNotFragment) {
    throw new OrbitfedError('ORBITFED_FRAGMENT_FORBIDDEN', 'the bundle\'s "must not be fragmented" flag is set (RFC 9171 §5.8)', { field: 'primary block: flags' });
  }
  const data = bundle.payload.data;
  const baseOffset = bundle.primary.fragment?.offsetBytes ?? 0;
  const totalAduLengthBytes = bundle.primary.fragment?.totalAduLengthBytes ?? data.length;
  // The Bundle Age block goes into every fragment too: each fragment is a bundle that must carry one
  // when the creation time is unknown (§4.4.2), and each is aged separately by the nodes it passes.
  const replicated = bundle.extensionBlocks.filter((b) => b.flags.mustReplicate || b.kind === 'bundle-age');
  const fragments: Bundle[] = [];
  let start = 0;
  do {
    if (fragments.length >= maxFragments) {
      throw new OrbitfedError('ORBITFED_FRAGMENT_TOO_MANY', `${data.length} payload bytes need more than ${maxFragments} fragments of at most ${maxEncodedBytes} bytes`, { field: 'payload block' });
    }
    const blocks = start === 0 ? bundle.extensionBlocks : replicated;
    // Everything but the payload bytes and their byte-string head (1 byte when empty).
    const overheadBytes = encodeBundle(fragmentOf(bundle, blocks, baseOffset + start, totalAduLengthBytes, new Uint8Array(0))).length - 1;
    let payloadBytes = Math.min(maxEncodedBytes - overheadBytes - 1, data.length - start);
    while (payloadBytes > 0 && overheadBytes + cborHeadBytes(payloadBytes) + payloadBytes > maxEncodedBytes) payloadBytes--;
    if (payloadBytes <= 0) {
      throw new OrbitfedError('ORBITFED_FRAGMENT_TOO_SMALL', `a fragment at payload offset ${start} needs ${overheadBytes + 2} bytes for its blocks and one payload byte; the limit is ${maxEncodedBytes}`, { field: 'payload block' });
    }
    const fragment = fragmentOf(bundle, blocks, baseOffset + start, totalAduLengthBytes, data.subarray(start, start + payloadBytes));
    assert(encodeBundle(fragment).length <= maxEncodedBytes);
    fragments.push(fragment);
    start += payloadBytes;
  } while (start < data.length);
  return fragments;
}

export interface ReassemblyLimits {
  readonly maxPartialBundles: number;
  /** Bytes held across all partial bundles: each holds a buffer of its whole ADU. */
  readonly maxBufferedBytes: number;
  /** Separate runs of received bytes one partial bundle may have before further gaps are refused. */
  readonly maxExtentsPerBundle: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = { maxPartialBundles: 256, maxBufferedBytes: 64 * 1024 * 1024, maxExtentsPerBundle: 4096 };

/** A run [startBytes, endBytes) of the ADU already received. */
interface Extent {
  startBytes: number;
  endBytes: number;
}

interface PartialBundle {
  /** The whole ADU, filled in as material extents arrive. */
  readonly adu: Uint8Array;
  /** Sorted, disjoint and not touching (touching runs are merged). */
  readonly extents: Extent[];
  coveredBytes: number;
  /** Blocks of the fragment that brought byte 0, which become the reassembled bundle's. */
  first?: { readonly primary: PrimaryBlock; readonly extensionBlocks: readonly ExtensionBlock[]; readonly payload: Omit<PayloadBlock, 'data'> };
}

/** Collects fragments and returns each original bundle once all of its bytes arrived (see header). */
export class Reassembler {
  readonly #limits: ReassemblyLimits;
  /** In order of last update: the first entry is evicted first. */
  readonly #partials = new Map<string, PartialBundle>();
  #heldBytes = 0;
  #evictedBundleCount = 0;

  constructor(limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS) {
    assert(limits.maxPartialBundles >= 1 && limits.maxBufferedBytes >= 0 && limits.maxExtentsPerBundle >= 1);
    this.#limits = limits;
  }

  get partialBundleCount(): number {
    return this.#partials.size;
  }

  /** Bytes held now (the ADU buffers of the partial bundles); never above `maxBufferedBytes`. */
  get bufferedBytes(): number {
    return this.#heldBytes;
  }

  /** Partial bundles dropped so far to stay within the limits. */
  get evictedBundleCount(): number {
    return this.#evictedBundleCount;
  }

  /** Drops the partial bundle with this `aduKey` (for example when it expired); true if there was one. */
  discard(key: string): boolean {
    const partial = this.#partials.get(key);
    if (partial === undefined) return false;
    this.#heldBytes -= partial.adu.length;
    this.#partials.delete(key);
    return true;
  }

  /** Takes one fragment; returns the original bundle when this fragment completed it. */
  add(fragment: Bundle): Bundle | undefined {
    const info = fragment.primary.fragment;
    if (info === undefined) throw new OrbitfedError('ORBITFED_REASSEMBLY_NOT_FRAGMENT', 'the bundle is not a fragment', { field: 'primary block: flags' });
    const { offsetBytes, totalAduLengthBytes } = info;
    const data = fragment.payload.data;
    assert(offsetBytes + data.length <= totalAduLengthBytes, 'validated bundles keep fragments inside their ADU');
    if (totalAduLengthBytes > this.#limits.maxBufferedBytes) {
      throw new OrbitfedError('ORBITFED_REASSEMBLY_TOO_LARGE', `the ADU of ${totalAduLengthBytes} bytes is more than the ${this.#limits.maxBufferedBytes} bytes reassembly may hold`, { field: 'primary block: fragment' });
    }
    const key = aduKey(fragment);
    let partial = this.#partials.get(key);
    if (partial === undefined) {
      this.#makeRoomFor(totalAduLengthBytes);
      partial = { adu: new Uint8Array(totalAduLengthBytes), extents: [], coveredBytes: 0 };
      this.#heldBytes += totalAduLengthBytes;
    } else if (partial.adu.length !== totalAduLengthBytes) {
      throw new OrbitfedError('ORBITFED_REASSEMBLY_MISMATCH', `total ADU length ${totalAduLengthBytes} differs from the ${partial.adu.length} of earlier fragments`, { field: 'primary block: fragment' });
    }
    // Most recently updated last, so eviction takes the stalest first.
    this.#partials.delete(key);
    this.#partials.set(key, partial);

    this.#addMaterialExtents(partial, offsetBytes, data);
    if (offsetBytes === 0 && partial.first === undefined) {
      partial.first = { primary: fragment.primary, extensionBlocks: fragment.extensionBlocks, payload: { flags: fragment.payload.flags, crcType: fragment.payload.crcType } };
    }
    if (partial.coveredBytes < totalAduLengthBytes || partial.first === undefined) return undefined;
    this.discard(key);
    return reassembled(partial.first, partial.adu);
  }

  /** Evicts the stalest partial bundles until a new one of `aduBytes` fits both limits. */
  #makeRoomFor(aduBytes: number): void {
    for (const key of this.#partials.keys()) {
      if (this.#heldBytes + aduBytes <= this.#limits.maxBufferedBytes && this.#partials.size < this.#limits.maxPartialBundles) return;
      this.discard(key);
      this.#evictedBundleCount++;
    }
    assert(this.#heldBytes + aduBytes <= this.#limits.maxBufferedBytes && this.#partials.size < this.#limits.maxPartialBundles);
  }

  /** Copies in the parts of [offset, offset + length) not yet received (§5.9 "material extents"). */
  #addMaterialExtents(partial: PartialBundle, offsetBytes: number, data: Uint8Array): void {
    const start = offsetBytes;
    const end = offsetBytes + data.length;
    if (start === end) return;
    const extents = partial.extents;
    // First run that ends at or after our start (binary search over sorted, disjoint runs).
    let low = 0;
    let high = extents.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (extents[mid]!.endBytes < start) low = mid + 1;
      else high = mid;
    }
    let last = low;
    while (last < extents.length && extents[last]!.startBytes <= end) last++;
    // Runs low … last-1 touch or overlap [start, end): they merge into one.
    if (last === low && extents.length >= this.#limits.maxExtentsPerBundle) {
      throw new OrbitfedError('ORBITFED_REASSEMBLY_TOO_FRAGMENTED', `the ADU already has ${extents.length} separate runs of received bytes, the most accepted`, { field: 'primary block: fragment' });
    }
    let cursor = start;
    for (let i = low; i < last; i++) {
      const run = extents[i]!;
      if (run.startBytes > cursor) this.#copy(partial, data, offsetBytes, cursor, run.startBytes);
      cursor = Math.max(cursor, run.endBytes);
    }
    if (cursor < end) this.#copy(partial, data, offsetBytes, cursor, end);
    const merged: Extent = {
      startBytes: last > low ? Math.min(start, extents[low]!.startBytes) : start,
      endBytes: last > low ? Math.max(end, extents[last - 1]!.endBytes) : end,
    };
    extents.splice(low, last - low, merged);
  }

  #copy(partial: PartialBundle, data: Uint8Array, dataOffsetBytes: number, fromBytes: number, toBytes: number): void {
    partial.adu.set(data.subarray(fromBytes - dataOffsetBytes, toBytes - dataOffsetBytes), fromBytes);
    partial.coveredBytes += toBytes - fromBytes;
  }
}

function reassembled(first: NonNullable<PartialBundle['first']>, adu: Uint8Array): Bundle {
  const { version, flags, crcType, destination, source, reportTo, creation, lifetimeMs } = first.primary;
  return {
    primary: { version, flags, crcType, destination, source, reportTo, creation, lifetimeMs },
    extensionBlocks: first.extensionBlocks,
    payload: { ...first.payload, data: adu },
  };
}
