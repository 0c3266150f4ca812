// The bundle data model (dtn/bundle.ts): flag bit fields, identity keys, and new bundles.
import { describe, expect, it } from 'vitest';
import {
  blockFlagsFromBits,
  blockFlagsToBits,
  bundleFlagsFromBits,
  bundleFlagsToBits,
  bundleKey,
  CRC_32C,
  makeBundle,
  NO_BLOCK_FLAGS,
  NO_BUNDLE_FLAGS,
  type Bundle,
} from '../../dtn/bundle.ts';
import { decodeBundle, encodeBundle } from '../../dtn/bundle-codec.ts';
import { DTN_TIME_UNKNOWN, dtnTimeMs } from '../../dtn/dtn-time.ts';
import { dtnEid, ipnEid, NULL_EID } from '../../dtn/eid.ts';
import { codeOf, CREATED, sampleBundle } from './sample-bundles.ts';

describe('bundle processing control flags (§4.2.3)', () => {
  it('maps each named flag to its bit', () => {
    const bits: [keyof typeof NO_BUNDLE_FLAGS, bigint][] = [
      ['isAdminRecord', 0x2n], ['mustNotFragment', 0x4n], ['appAckRequested', 0x20n], ['statusTimeRequested', 0x40n],
      ['reportReception', 0x4000n], ['reportForwarding', 0x1_0000n], ['reportDelivery', 0x2_0000n], ['reportDeletion', 0x4_0000n],
    ];
    for (const [name, bit] of bits) {
      expect(bundleFlagsToBits({ ...NO_BUNDLE_FLAGS, [name]: true }, false), name).toBe(bit);
      expect(bundleFlagsFromBits(bit).flags[name], name).toBe(true);
    }
    expect(bundleFlagsToBits(NO_BUNDLE_FLAGS, true)).toBe(0x1n);
    expect(bundleFlagsFromBits(0x1n)).toEqual({ flags: NO_BUNDLE_FLAGS, isFragment: true });
  });

  it('keeps every other bit, reserved or unassigned, as unrecognized', () => {
    const all = (1n << 64n) - 1n;
    const { flags } = bundleFlagsFromBits(all);
    expect(flags.unrecognizedBits).toBe(all & ~0x7_4067n);
    expect(bundleFlagsToBits(flags, true)).toBe(all);
  });
});

describe('block processing control flags (§4.2.4)', () => {
  it('maps each named flag to its bit and keeps the others', () => {
    expect(blockFlagsFromBits(0x1n | 0x2n | 0x4n | 0x10n | 0x8n)).toEqual({ mustReplicate: true, reportIfUnprocessed: true, deleteBundleIfUnprocessed: true, discardIfUnprocessed: true, unrecognizedBits: 0x8n });
    expect(blockFlagsToBits({ ...NO_BLOCK_FLAGS, discardIfUnprocessed: true })).toBe(0x10n);
  });
});

describe('bundleKey', () => {
  it('identifies a bundle by source and creation timestamp, and a fragment also by offset and payload length', () => {
    const bundle = sampleBundle();
    expect(bundleKey(bundle)).toBe(`ipn:1.1 ${CREATED} 7`);
    const fragment: Bundle = { ...bundle, primary: { ...bundle.primary, fragment: { offsetBytes: 10, totalAduLengthBytes: 100 } } };
    expect(bundleKey(fragment)).toBe(`ipn:1.1 ${CREATED} 7 10 5`);
  });

  it('gives different keys to identities that would collide if joined carelessly', () => {
    const at = (source: ReturnType<typeof dtnEid>, time: number, sequence: bigint): string => {
      const b = sampleBundle();
      return bundleKey({ ...b, primary: { ...b.primary, source, creation: { dtnTimeMs: dtnTimeMs(time), sequence } } });
    };
    expect(at(dtnEid('a', 'b|1'), 2, 3n)).not.toBe(at(dtnEid('a', 'b'), 12, 3n));
    expect(at(dtnEid('a', 'b:1'), 2, 3n)).not.toBe(at(dtnEid('a', 'b'), 1, 23n));
  });
});

describe('makeBundle', () => {
  it('makes a valid unfragmented bundle with a CRC-32C primary block', () => {
    const bundle = makeBundle({ destination: ipnEid(2, 1), source: ipnEid(1, 1), creation: { dtnTimeMs: CREATED, sequence: 1n }, lifetimeMs: 1000, payload: new Uint8Array([1]) });
    expect(bundle.primary.crcType).toBe(CRC_32C);
    expect(bundle.primary.reportTo).toEqual(ipnEid(1, 1));
    expect(decodeBundle(encodeBundle(bundle))).toEqual(bundle);
  });

  it('adds a bundle-age block when the creation time is unknown', () => {
    const bundle = makeBundle({ destination: ipnEid(2, 1), source: ipnEid(1, 1), creation: { dtnTimeMs: DTN_TIME_UNKNOWN, sequence: 1n }, lifetimeMs: 1000, payload: new Uint8Array(0) });
    expect(bundle.extensionBlocks).toMatchObject([{ kind: 'bundle-age', ageMs: 0 }]);
  });

  it('refuses what the RFC forbids, such as an anonymous bundle that may be fragmented', () => {
    expect(codeOf(() => makeBundle({ destination: ipnEid(2, 1), source: NULL_EID, creation: { dtnTimeMs: CREATED, sequence: 1n }, lifetimeMs: 1000, payload: new Uint8Array(0) }))).toBe('ORBITFED_BUNDLE_FLAGS');
  });
});
