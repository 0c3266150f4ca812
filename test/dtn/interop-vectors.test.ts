// Bundles produced by other BPv7 implementations (provenance in test/fixtures/PROVENANCE.md,
// section "dtn/"): NASA AMMOS BSL's test bundles (its mock BPA re-encodes them byte for byte) and
// Hardy's RFC 9173 Appendix A bundles. Each decodes, and re-encodes to exactly the same bytes,
// which checks our CRC-16 and CRC-32C byte order and our CBOR against theirs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CRC_16_X25, CRC_32C, CRC_NONE, NO_BLOCK_FLAGS } from '../../dtn/bundle.ts';
import { decodeBundleDetailed, encodeBundle } from '../../dtn/bundle-codec.ts';
import { dtnEid, ipnEid } from '../../dtn/eid.ts';
import { codeOf, fromHex, toHex } from './sample-bundles.ts';

const fixture = (name: string): Uint8Array => fromHex(readFileSync(new URL(`../fixtures/dtn/${name}`, import.meta.url), 'utf8'));
const replicate = { ...NO_BLOCK_FLAGS, mustReplicate: true };

describe('bundles from other implementations', () => {
  it('reads BSL\'s CCSDS bundle: ipn EIDs, CRC-16 primary, previous-node, hop-count and bundle-age blocks', () => {
    const bytes = fixture('bsl-ccsds-ipn-crc16.hex');
    const { bundle, unprocessedBlocks } = decodeBundleDetailed(bytes);
    expect(bundle.primary).toMatchObject({ crcType: CRC_16_X25, destination: ipnEid(4, 9), source: ipnEid(1, 1), reportTo: ipnEid(1, 1), lifetimeMs: 8_640_000_000 });
    expect(bundle.primary.creation).toEqual({ dtnTimeMs: 0xbec0f18301, sequence: 0n });
    expect(bundle.extensionBlocks).toEqual([
      { kind: 'previous-node', blockNumber: 4, flags: replicate, crcType: CRC_NONE, nodeId: ipnEid(1, 0) },
      { kind: 'hop-count', blockNumber: 3, flags: replicate, crcType: CRC_NONE, hopLimit: 3, hopCount: 1 },
      { kind: 'bundle-age', blockNumber: 2, flags: replicate, crcType: CRC_NONE, ageMs: 63_000 },
    ]);
    expect(new TextDecoder().decode(bundle.payload.data)).toBe('hello');
    expect(unprocessedBlocks).toEqual([]);
    expect(toHex(encodeBundle(bundle))).toBe(toHex(bytes));
  });

  it('reads BSL\'s COSE-context bundle: dtn EIDs, CRC-32C on the primary and payload blocks', () => {
    const bytes = fixture('bsl-cose-dtn-crc32c.hex');
    const { bundle } = decodeBundleDetailed(bytes);
    expect(bundle.primary).toMatchObject({ crcType: CRC_32C, destination: dtnEid('dst', 'svc'), source: dtnEid('src', 'svc'), reportTo: dtnEid('src', '') });
    expect(bundle.payload.crcType).toBe(CRC_32C);
    expect(toHex(bundle.payload.data)).toBe('6568656c6c6f'); // the CBOR text "hello"
    expect(toHex(encodeBundle(bundle))).toBe(toHex(bytes));
  });

  it('reads Hardy\'s RFC 9173 A.1 bundle and carries its BPSec BIB (type 11) on as an opaque block', () => {
    const bytes = fixture('hardy-rfc9173-a1-bib-crc16.hex');
    const { bundle, unprocessedBlocks } = decodeBundleDetailed(bytes);
    expect(bundle.primary.creation).toEqual({ dtnTimeMs: 1, sequence: 40n });
    expect(bundle.extensionBlocks).toMatchObject([{ kind: 'opaque', blockType: 11, blockNumber: 2, crcType: CRC_NONE }]);
    expect(unprocessedBlocks).toEqual([{ blockType: 11, blockNumber: 2, disposition: 'kept', statusReportRequested: false }]);
    expect(new TextDecoder().decode(bundle.payload.data)).toBe('Ready to generate a 32-byte payload');
    expect(toHex(encodeBundle(bundle))).toBe(toHex(bytes));
  });

  it('refuses RFC 9173 A.3 as published: its primary block relies on a BIB instead of a CRC, and we do not verify BPSec', () => {
    expect(codeOf(() => decodeBundleDetailed(fixture('rfc9173-a3-no-primary-crc.hex')))).toBe('ORBITFED_BUNDLE_CRC_MISSING');
  });
});
