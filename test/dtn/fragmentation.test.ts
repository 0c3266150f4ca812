// Fragmentation (RFC 9171 §5.8) and reassembly (§5.9): fragments fit their limit when encoded,
// carry the right blocks, and reassemble in any order, overlapping or duplicated, within bounds.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import { aduKey, CRC_16_X25, CRC_NONE, NO_BLOCK_FLAGS, NO_BUNDLE_FLAGS, type Bundle } from '../../dtn/bundle.ts';
import { decodeBundle, encodeBundle } from '../../dtn/bundle-codec.ts';
import { DTN_TIME_UNKNOWN } from '../../dtn/dtn-time.ts';
import { fragmentBundle, Reassembler } from '../../dtn/fragmentation.ts';
import { codeOf, randomBundle, sampleBundle } from './sample-bundles.ts';

const SEED = 0x5eed_f4a6;
const payload = (length: number): Uint8Array => new Uint8Array(length).map((_, i) => (i * 7 + 3) & 0xff);

/** A bundle with a replicated hop-count block and an unreplicated previous-node-like opaque block. */
function bundleWithBlocks(length: number): Bundle {
  const base = sampleBundle(payload(length));
  return {
    ...base,
    extensionBlocks: [
      { kind: 'hop-count', blockNumber: 2, flags: { ...NO_BLOCK_FLAGS, mustReplicate: true }, crcType: CRC_16_X25, hopLimit: 9, hopCount: 1 },
      { kind: 'opaque', blockType: 200, blockNumber: 3, flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, data: new Uint8Array(10) },
    ],
  };
}

/** Limit under which every fragment has room for at least one payload byte. */
function feasibleLimit(bundle: Bundle): number {
  const length = bundle.payload.data.length;
  const shell: Bundle = { ...bundle, primary: { ...bundle.primary, fragment: { offsetBytes: length, totalAduLengthBytes: length } }, payload: { ...bundle.payload, data: new Uint8Array(0) } };
  return encodeBundle(shell).length + 9;
}

const shuffled = <T>(items: readonly T[], rng: () => number): T[] => items.map((item) => ({ item, key: rng() })).sort((a, b) => a.key - b.key).map((e) => e.item);

describe('fragmentBundle', () => {
  it('returns the bundle itself when its encoding fits', () => {
    const bundle = bundleWithBlocks(100);
    expect(fragmentBundle(bundle, encodeBundle(bundle).length)).toEqual([bundle]);
  });

  it('splits so that every fragment\'s encoding fits, and the payloads tile the original', () => {
    const bundle = bundleWithBlocks(5000);
    const fragments = fragmentBundle(bundle, 700);
    expect(fragments.length).toBeGreaterThan(7);
    let offset = 0;
    for (const fragment of fragments) {
      const bytes = encodeBundle(fragment);
      expect(bytes.length).toBeLessThanOrEqual(700);
      expect(decodeBundle(bytes)).toEqual(fragment);
      expect(fragment.primary.fragment).toEqual({ offsetBytes: offset, totalAduLengthBytes: 5000 });
      expect(fragment.primary.creation).toEqual(bundle.primary.creation);
      offset += fragment.payload.data.length;
    }
    expect(offset).toBe(5000);
    expect(Buffer.concat(fragments.map((f) => f.payload.data))).toEqual(Buffer.from(bundle.payload.data));
  });

  it('puts every extension block in the first fragment and only "replicate in every fragment" blocks in the others', () => {
    const [first, ...rest] = fragmentBundle(bundleWithBlocks(3000), 600);
    expect(first!.extensionBlocks.map((b) => b.blockNumber)).toEqual([2, 3]);
    for (const fragment of rest) expect(fragment.extensionBlocks.map((b) => b.blockNumber)).toEqual([2]);
  });

  it('puts the bundle-age block in every fragment, which §4.4.2 requires when the creation time is unknown', () => {
    const base = bundleWithBlocks(3000);
    const ageless: Bundle = {
      ...base,
      primary: { ...base.primary, creation: { dtnTimeMs: DTN_TIME_UNKNOWN, sequence: 3n } },
      extensionBlocks: [...base.extensionBlocks, { kind: 'bundle-age', blockNumber: 4, flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, ageMs: 10 }],
    };
    for (const fragment of fragmentBundle(ageless, 600)) {
      expect(fragment.extensionBlocks.some((b) => b.kind === 'bundle-age')).toBe(true);
      expect(decodeBundle(encodeBundle(fragment))).toEqual(fragment);
    }
  });

  it('fragments a fragment with offsets into the original ADU', () => {
    const [, second] = fragmentBundle(bundleWithBlocks(3000), 1200);
    const start = second!.primary.fragment!.offsetBytes;
    const pieces = fragmentBundle(second!, 400);
    expect(pieces[0]!.primary.fragment).toEqual({ offsetBytes: start, totalAduLengthBytes: 3000 });
    expect(pieces.reduce((sum, p) => sum + p.payload.data.length, 0)).toBe(second!.payload.data.length);
  });

  it('refuses a bundle whose "must not be fragmented" flag is set', () => {
    const bundle = bundleWithBlocks(3000);
    const locked = { ...bundle, primary: { ...bundle.primary, flags: { ...NO_BUNDLE_FLAGS, mustNotFragment: true } } };
    expect(codeOf(() => fragmentBundle(locked, 600))).toBe('ORBITFED_FRAGMENT_FORBIDDEN');
  });

  it('refuses a limit that leaves no room for payload, and more fragments than allowed', () => {
    expect(codeOf(() => fragmentBundle(bundleWithBlocks(3000), 60))).toBe('ORBITFED_FRAGMENT_TOO_SMALL');
    expect(codeOf(() => fragmentBundle(bundleWithBlocks(3000), 600, 3))).toBe('ORBITFED_FRAGMENT_TOO_MANY');
  });
});

describe('Reassembler', () => {
  it(`reassembles random bundles split at random sizes, in random order, with overlaps and duplicates (seed ${SEED})`, () => {
    console.log(`fragmentation seed ${SEED}`);
    const rng = seededRng(SEED);
    let checked = 0;
    while (checked < 60) {
      const candidate = randomBundle(rng);
      if (candidate.primary.flags.mustNotFragment || candidate.primary.fragment !== undefined || candidate.payload.data.length < 2) continue;
      const full = encodeBundle(candidate).length;
      const low = feasibleLimit(candidate);
      if (low >= full) continue;
      const limitA = low + Math.floor(rng() * (full - low));
      const limitB = low + Math.floor(rng() * (full - low));
      // Two fragmentation episodes give overlapping extents; a third copy of some gives duplicates.
      const episodeA = fragmentBundle(candidate, limitA);
      const episodeB = fragmentBundle(candidate, limitB);
      for (const f of [...episodeA, ...episodeB]) expect(encodeBundle(f).length).toBeLessThanOrEqual(Math.max(limitA, limitB));
      const arrivals = shuffled([...episodeA, ...episodeB, ...episodeA.filter(() => rng() < 0.3)], rng).map((f) => decodeBundle(encodeBundle(f)));
      const reassembler = new Reassembler();
      const completed = arrivals.map((f) => reassembler.add(f)).filter((b) => b !== undefined);
      expect(completed.length).toBeGreaterThanOrEqual(1);
      for (const bundle of completed) expect(bundle).toEqual(candidate);
      checked++;
    }
  });

  it('returns nothing until the last missing bytes arrive, then the original bundle once', () => {
    const bundle = bundleWithBlocks(2000);
    const [a, b, c] = fragmentBundle(bundle, 900);
    const reassembler = new Reassembler();
    expect(reassembler.add(c!)).toBeUndefined();
    expect(reassembler.add(a!)).toBeUndefined();
    expect(reassembler.add(a!)).toBeUndefined();
    expect(reassembler.partialBundleCount).toBe(1);
    expect(reassembler.add(b!)).toEqual(bundle);
    expect(reassembler.partialBundleCount).toBe(0);
    expect(reassembler.bufferedBytes).toBe(0);
  });

  it('refuses a bundle that is not a fragment, and fragments that disagree on the ADU length', () => {
    const reassembler = new Reassembler();
    expect(codeOf(() => reassembler.add(sampleBundle()))).toBe('ORBITFED_REASSEMBLY_NOT_FRAGMENT');
    const [first] = fragmentBundle(bundleWithBlocks(2000), 900);
    reassembler.add(first!);
    const liar = { ...first!, primary: { ...first!.primary, fragment: { offsetBytes: 0, totalAduLengthBytes: 2001 } } };
    expect(codeOf(() => reassembler.add(liar))).toBe('ORBITFED_REASSEMBLY_MISMATCH');
  });

  it('refuses an ADU larger than it may hold', () => {
    const reassembler = new Reassembler({ maxPartialBundles: 4, maxBufferedBytes: 1000, maxExtentsPerBundle: 16 });
    const [first] = fragmentBundle(bundleWithBlocks(2000), 900);
    expect(codeOf(() => reassembler.add(first!))).toBe('ORBITFED_REASSEMBLY_TOO_LARGE');
  });

  it('at its bounds drops the partial bundles updated least recently, whole', () => {
    const reassembler = new Reassembler({ maxPartialBundles: 2, maxBufferedBytes: 5000, maxExtentsPerBundle: 16 });
    const adu = (sequence: bigint): Bundle[] => {
      const bundle = bundleWithBlocks(2000);
      return fragmentBundle({ ...bundle, primary: { ...bundle.primary, creation: { ...bundle.primary.creation, sequence } } }, 900);
    };
    const [a1, a2, a3] = adu(1n);
    const [b1] = adu(2n);
    const [c1] = adu(3n);
    reassembler.add(a1!);
    reassembler.add(b1!);
    reassembler.add(a2!); // a is now the most recently updated
    reassembler.add(c1!); // over both bounds: b goes
    expect(reassembler.partialBundleCount).toBe(2);
    expect(reassembler.evictedBundleCount).toBe(1);
    expect(reassembler.bufferedBytes).toBeLessThanOrEqual(5000);
    expect(reassembler.discard(aduKey(b1!))).toBe(false);
    expect(reassembler.add(a3!)?.payload.data.length).toBe(2000);
  });

  it('refuses a fragment that would leave more separate runs of bytes than allowed', () => {
    const reassembler = new Reassembler({ maxPartialBundles: 4, maxBufferedBytes: 100_000, maxExtentsPerBundle: 2 });
    const fragments = fragmentBundle(bundleWithBlocks(3000), 400);
    reassembler.add(fragments[0]!);
    reassembler.add(fragments[2]!);
    expect(codeOf(() => reassembler.add(fragments[4]!))).toBe('ORBITFED_REASSEMBLY_TOO_FRAGMENTED');
    reassembler.add(fragments[1]!); // joins the two runs into one
    expect(codeOf(() => reassembler.add(fragments[4]!))).toBe('no error');
  });
});
