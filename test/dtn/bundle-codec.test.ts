// encodeBundle / decodeBundle against RFC 9171 §4: round trips of every variant, bundles written out
// byte by byte by hand, and one malformed input for each rule the decoder enforces.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import {
  CRC_16_X25,
  CRC_32C,
  CRC_NONE,
  NO_BLOCK_FLAGS,
  NO_BUNDLE_FLAGS,
  type Bundle,
  type ExtensionBlock,
} from '../../dtn/bundle.ts';
import { decodeBundle, decodeBundleDetailed, DEFAULT_BUNDLE_DECODE_LIMITS, encodeBundle } from '../../dtn/bundle-codec.ts';
import { encodeCbor } from '../../dtn/cbor.ts';
import { dtnTimeMs } from '../../dtn/dtn-time.ts';
import { dtnEid, eidToCbor, ipnEid, NULL_EID } from '../../dtn/eid.ts';
import {
  codeOf,
  CREATED,
  fromHex,
  payloadBlock,
  primaryItems,
  randomBundle,
  rawBlock,
  rawBundle,
  sampleBundle,
  samplePrimaryBlock,
  toHex,
} from './sample-bundles.ts';

const SEED = 0x9171;

describe('encodeBundle and decodeBundle round trips', () => {
  it(`round-trips 400 random bundles of every variant, byte for byte (seed ${SEED})`, () => {
    console.log(`bundle round-trip seed ${SEED}`);
    const rng = seededRng(SEED);
    for (let i = 0; i < 400; i++) {
      const bundle = randomBundle(rng);
      const bytes = encodeBundle(bundle);
      const decoded = decodeBundle(bytes);
      expect(decoded, `bundle ${i}`).toEqual(bundle);
      expect(toHex(encodeBundle(decoded)), `bundle ${i}`).toBe(toHex(bytes));
    }
  });

  it('round-trips dtn-scheme, null and 64-bit ipn endpoint IDs, fragments and all three forwarding blocks', () => {
    const base = sampleBundle();
    const bundle: Bundle = {
      primary: {
        ...base.primary,
        flags: { ...NO_BUNDLE_FLAGS, statusTimeRequested: true, reportDelivery: true },
        crcType: CRC_16_X25,
        destination: dtnEid('ground-7.example', 'jobs/in'),
        source: ipnEid(2n ** 64n - 1n, 2n ** 63n),
        reportTo: NULL_EID,
        creation: { dtnTimeMs: CREATED, sequence: 2n ** 64n - 1n },
        fragment: { offsetBytes: 1000, totalAduLengthBytes: 5000 },
      },
      extensionBlocks: [
        { kind: 'hop-count', blockNumber: 5, flags: { ...NO_BLOCK_FLAGS, mustReplicate: true }, crcType: CRC_32C, hopLimit: 30, hopCount: 2 },
        { kind: 'previous-node', blockNumber: 2, flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, nodeId: dtnEid('relay', '') },
        { kind: 'bundle-age', blockNumber: 3, flags: NO_BLOCK_FLAGS, crcType: CRC_16_X25, ageMs: 12_345 },
      ],
      payload: { flags: NO_BLOCK_FLAGS, crcType: CRC_32C, data: new Uint8Array(300).fill(7) },
    };
    expect(decodeBundle(encodeBundle(bundle))).toEqual(bundle);
  });

  it('returns payloads that are copies, not views of the input', () => {
    const bytes = Buffer.from(encodeBundle(sampleBundle()));
    const bundle = decodeBundle(bytes);
    bytes.fill(0);
    expect(new TextDecoder().decode(bundle.payload.data)).toBe('hello');
    expect(bundle.payload.data.constructor).toBe(Uint8Array);
  });
});

// A complete minimal bundle written out by hand from RFC 9171 §4.1, §4.3.1 and §4.3.2:
//   9f                              indefinite-length array: the bundle (§4.1)
//   89                              primary block: array of 9 (not a fragment, has a CRC)
//     07                            version 7
//     00                            bundle processing control flags: none
//     01                            CRC type 1 (CRC-16/X.25)
//     82 02 82 02 01                destination [2, [2, 1]] = ipn:2.1
//     82 02 82 01 01                source node [2, [1, 1]] = ipn:1.1
//     82 02 82 01 01                report-to   [2, [1, 1]] = ipn:1.1
//     82 1b 0000000100000000 00     creation timestamp [2^32 ms after 2000-01-01, sequence 0]
//     1a 0036ee80                   lifetime 3,600,000 ms (one hour)
//     42 8366                       CRC: 2-byte string, CRC-16/X.25 of the block with these bytes 00 00
//   85                              payload block: array of 5 (no CRC)
//     01 01 00 00                   block type 1, block number 1, flags 0, CRC type 0
//     42 6869                       block-type-specific data: the 2 bytes "hi"
//   ff                              break: end of the bundle
// The CRC-32C variant has CRC type 2 and a 4-byte CRC on both blocks (primary 44 3a74af08; payload
// 86 … 02 42 6869 44 1ff585a4). Both CRC values were computed by the bitwise (table-free) CRCs below.
const HAND_CRC16 = '9f 89 07 00 01 8202820201 8202820101 8202820101 82 1b0000000100000000 00 1a0036ee80 42 8366  85 01 01 00 00 42 6869 ff';
const HAND_CRC32C = '9f 89 07 00 02 8202820201 8202820101 8202820101 82 1b0000000100000000 00 1a0036ee80 44 3a74af08  86 01 01 00 02 42 6869 44 1ff585a4 ff';

function handBundle(crcType: typeof CRC_16_X25 | typeof CRC_32C): Bundle {
  return {
    primary: {
      version: 7,
      flags: NO_BUNDLE_FLAGS,
      crcType,
      destination: ipnEid(2, 1),
      source: ipnEid(1, 1),
      reportTo: ipnEid(1, 1),
      creation: { dtnTimeMs: dtnTimeMs(2 ** 32), sequence: 0n },
      lifetimeMs: 3_600_000,
    },
    extensionBlocks: [],
    payload: { flags: NO_BLOCK_FLAGS, crcType: crcType === CRC_32C ? CRC_32C : CRC_NONE, data: new TextEncoder().encode('hi') },
  };
}

function bitwiseCrc(bytes: Uint8Array, reflectedPoly: number, width: 16 | 32): number {
  let crc = width === 16 ? 0xffff : 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc & 1 ? (crc >>> 1) ^ reflectedPoly : crc >>> 1) >>> 0;
  }
  return width === 16 ? crc ^ 0xffff : (crc ^ 0xffffffff) >>> 0;
}

describe('a minimal bundle written out by hand', () => {
  it('is what encodeBundle produces, with a CRC-16 primary block', () => {
    expect(toHex(encodeBundle(handBundle(CRC_16_X25)))).toBe(toHex(fromHex(HAND_CRC16)));
  });

  it('is what encodeBundle produces, with CRC-32C on the primary and payload blocks', () => {
    expect(toHex(encodeBundle(handBundle(CRC_32C)))).toBe(toHex(fromHex(HAND_CRC32C)));
  });

  it('decodes to the fields it was written from', () => {
    expect(decodeBundle(fromHex(HAND_CRC16))).toEqual(handBundle(CRC_16_X25));
    expect(decodeBundle(fromHex(HAND_CRC32C))).toEqual(handBundle(CRC_32C));
  });

  it('carries the CRCs a bitwise CRC computes over the block with its CRC bytes zeroed', () => {
    const primary16 = fromHex('89 07 00 01 8202820201 8202820101 8202820101 82 1b0000000100000000 00 1a0036ee80 42 0000');
    expect(bitwiseCrc(primary16, 0x8408, 16)).toBe(0x8366);
    const primary32 = fromHex('89 07 00 02 8202820201 8202820101 8202820101 82 1b0000000100000000 00 1a0036ee80 44 00000000');
    expect(bitwiseCrc(primary32, 0x82f63b78, 32)).toBe(0x3a74af08);
    expect(bitwiseCrc(fromHex('86 01 01 00 02 42 6869 44 00000000'), 0x82f63b78, 32)).toBe(0x1ff585a4);
  });
});

const decodeCode = (bytes: Uint8Array, limits = DEFAULT_BUNDLE_DECODE_LIMITS): string => codeOf(() => decodeBundle(bytes, limits));
const flipByte = (bytes: Uint8Array, index: number): Uint8Array => {
  const copy = bytes.slice();
  copy[index]! ^= 0x01;
  return copy;
};

describe('decodeBundle refuses malformed bundles', () => {
  const valid = encodeBundle(sampleBundle());

  it('refuses a bundle whose primary block has no CRC (CRC type 0; we carry no BPSec BIB)', () => {
    expect(decodeCode(rawBundle([samplePrimaryBlock({ crcType: CRC_NONE }), payloadBlock()]))).toBe('ORBITFED_BUNDLE_CRC_MISSING');
  });

  it('refuses a bundle whose CRC-32C does not match, in the primary, payload or an extension block', () => {
    const primaryCrcAt = valid.indexOf(0x44) + 1; // the primary block's only 4-byte string is its CRC
    expect(decodeCode(flipByte(valid, primaryCrcAt))).toBe('ORBITFED_BUNDLE_CRC');
    expect(decodeCode(flipByte(valid, 8))).toBe('ORBITFED_BUNDLE_CRC'); // the destination's node number, 2 → 3
    const withCrcs = encodeBundle({
      ...sampleBundle(),
      extensionBlocks: [{ kind: 'bundle-age', blockNumber: 2, flags: NO_BLOCK_FLAGS, crcType: CRC_32C, ageMs: 5 }],
      payload: { flags: NO_BLOCK_FLAGS, crcType: CRC_32C, data: new Uint8Array([1, 2, 3]) },
    });
    expect(decodeCode(flipByte(withCrcs, withCrcs.length - 2))).toBe('ORBITFED_BUNDLE_CRC'); // payload CRC
    const ageCrcAt = Buffer.from(withCrcs).indexOf(fromHex('86 07 02 00 02 41 05 44')) + 8; // [7, 2, 0, 2, h'05', h'crc']
    expect(decodeCode(flipByte(withCrcs, ageCrcAt))).toBe('ORBITFED_BUNDLE_CRC');
  });

  it('refuses a bundle whose CRC-16 does not match', () => {
    expect(decodeCode(flipByte(fromHex(HAND_CRC16), 37))).toBe('ORBITFED_BUNDLE_CRC');
  });

  it('refuses CRC fields of the wrong length and CRC types other than 0, 1 and 2', () => {
    const shortCrc = rawBlock([...primaryItems({ crcType: CRC_32C }), new Uint8Array(2)], CRC_NONE);
    expect(decodeCode(rawBundle([shortCrc, payloadBlock()]))).toBe('ORBITFED_BUNDLE_FIELD');
    expect(decodeCode(rawBundle([rawBlock([...primaryItems({ crcType: 3 }), new Uint8Array(4)], CRC_NONE), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FIELD');
  });

  it('refuses input that ends anywhere before the final break as truncated', () => {
    for (let length = 0; length < valid.length; length++) {
      expect(decodeCode(valid.subarray(0, length)), `first ${length} bytes`).toBe('ORBITFED_BUNDLE_TRUNCATED');
    }
  });

  it('refuses bytes after the break that ends the bundle', () => {
    expect(decodeCode(Uint8Array.of(...valid, 0x00))).toBe('ORBITFED_BUNDLE_TRAILING_BYTES');
    expect(decodeCode(Uint8Array.of(...valid, ...valid))).toBe('ORBITFED_BUNDLE_TRAILING_BYTES');
  });

  it('refuses a bundle larger than maxBundleBytes before parsing it', () => {
    const limits = { ...DEFAULT_BUNDLE_DECODE_LIMITS, maxBundleBytes: valid.length - 1 };
    expect(decodeCode(valid, limits)).toBe('ORBITFED_BUNDLE_TOO_LARGE');
    expect(decodeCode(new Uint8Array(valid.length), limits)).toBe('ORBITFED_BUNDLE_TOO_LARGE');
    expect(decodeCode(valid, { ...limits, maxBundleBytes: valid.length })).toBe('no error');
  });

  it('refuses more canonical blocks than maxBlockCount', () => {
    const blocks = [samplePrimaryBlock(), ...[2, 3, 4].map((n) => rawBlock([200, n, 0, 0, new Uint8Array(0)], CRC_NONE)), payloadBlock()];
    expect(decodeCode(rawBundle(blocks), { ...DEFAULT_BUNDLE_DECODE_LIMITS, maxBlockCount: 3 })).toBe('ORBITFED_BUNDLE_TOO_MANY_BLOCKS');
    expect(decodeCode(rawBundle(blocks), { ...DEFAULT_BUNDLE_DECODE_LIMITS, maxBlockCount: 4 })).toBe('no error');
  });

  it('refuses anything but an indefinite-length array at the top, and an empty one', () => {
    expect(decodeCode(Uint8Array.of(0x82, ...samplePrimaryBlock(), ...payloadBlock()))).toBe('ORBITFED_BUNDLE_STRUCTURE');
    expect(decodeCode(Uint8Array.of(0xd9, 0xd9, 0xf7, ...valid))).toBe('ORBITFED_BUNDLE_STRUCTURE');
    expect(decodeCode(fromHex('9fff'))).toBe('ORBITFED_BUNDLE_STRUCTURE');
  });

  it('refuses duplicate block numbers, extension blocks numbered 0 or 1, and a payload block not numbered 1', () => {
    const ext = (n: number): Uint8Array => rawBlock([200, n, 0, 0, new Uint8Array(0)], CRC_NONE);
    expect(decodeCode(rawBundle([samplePrimaryBlock(), ext(3), ext(3), payloadBlock()]))).toBe('ORBITFED_BUNDLE_BLOCK_NUMBER');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), ext(1), payloadBlock()]))).toBe('ORBITFED_BUNDLE_BLOCK_NUMBER');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), ext(0), payloadBlock()]))).toBe('ORBITFED_BUNDLE_BLOCK_NUMBER');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), rawBlock([1, 2, 0, 0, new Uint8Array(0)], CRC_NONE)]))).toBe('ORBITFED_BUNDLE_BLOCK_NUMBER');
  });

  it('refuses a bundle whose payload block is not last, is missing or is doubled', () => {
    const ext = rawBlock([200, 2, 0, 0, new Uint8Array(0)], CRC_NONE);
    expect(decodeCode(rawBundle([samplePrimaryBlock(), payloadBlock(), ext]))).toBe('ORBITFED_BUNDLE_PAYLOAD');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), ext]))).toBe('ORBITFED_BUNDLE_PAYLOAD');
    expect(decodeCode(rawBundle([samplePrimaryBlock()]))).toBe('ORBITFED_BUNDLE_PAYLOAD');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), payloadBlock(), payloadBlock()]))).toBe('ORBITFED_BUNDLE_PAYLOAD');
  });

  it('refuses a primary block of another Bundle Protocol version', () => {
    const v6 = rawBlock([6, ...primaryItems().slice(1)], CRC_32C);
    expect(decodeCode(rawBundle([v6, payloadBlock()]))).toBe('ORBITFED_BUNDLE_VERSION');
  });

  it('refuses creation time 0 without a bundle-age block, and accepts it with one (§4.4.2)', () => {
    expect(decodeCode(rawBundle([samplePrimaryBlock({ creationMs: 0 }), payloadBlock()]))).toBe('ORBITFED_BUNDLE_AGE_MISSING');
    const age = rawBlock([7, 2, 0, 0, encodeCbor(1500)], CRC_NONE);
    const bundle = decodeBundle(rawBundle([samplePrimaryBlock({ creationMs: 0 }), age, payloadBlock()]));
    expect(bundle.extensionBlocks).toEqual([{ kind: 'bundle-age', blockNumber: 2, flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, ageMs: 1500 }]);
  });

  it('refuses fragment fields without the is-fragment flag, the flag without the fields, and fragments beyond their ADU', () => {
    expect(decodeCode(rawBundle([samplePrimaryBlock({ fragment: [0, 10] }), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FRAGMENT');
    expect(decodeCode(rawBundle([samplePrimaryBlock({ flags: 1 }), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FRAGMENT');
    expect(decodeCode(rawBundle([samplePrimaryBlock({ flags: 1, fragment: [8, 10] }), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FRAGMENT');
    expect(decodeBundle(rawBundle([samplePrimaryBlock({ flags: 1, fragment: [7, 10] }), payloadBlock()])).primary.fragment).toEqual({ offsetBytes: 7, totalAduLengthBytes: 10 });
  });

  it('refuses primary and canonical blocks with the wrong number of items', () => {
    expect(decodeCode(rawBundle([rawBlock(primaryItems().slice(0, 7), CRC_NONE), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FIELD');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), rawBlock([1, 1, 0, 0], CRC_NONE)]))).toBe('ORBITFED_BUNDLE_FIELD');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), rawBlock([1, 1, 0, 0, new Uint8Array(0), new Uint8Array(2)], CRC_NONE)]))).toBe('ORBITFED_BUNDLE_FIELD');
  });

  it('refuses CBOR outside the deterministic subset: long-form integers, indefinite-length blocks, tags', () => {
    const longLifetime = fromHex(toHex(samplePrimaryBlock({ crcType: CRC_NONE })).replace('1a05265c00', '1b0000000005265c00'));
    expect(decodeCode(rawBundle([longLifetime, payloadBlock()]))).toBe('ORBITFED_BUNDLE_CBOR');
    const indefinitePayload = fromHex('9f 01 01 00 00 43 010203 ff');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), indefinitePayload]))).toBe('ORBITFED_BUNDLE_CBOR');
    const taggedData = fromHex('85 01 01 00 00 d8 18 43 010203');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), taggedData]))).toBe('ORBITFED_BUNDLE_FIELD');
  });

  it('refuses flag combinations that §4.2.3 and §4.2.4 forbid', () => {
    const adminWithReports = 0x2 | 0x4000;
    expect(decodeCode(rawBundle([samplePrimaryBlock({ flags: adminWithReports }), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FLAGS');
    expect(decodeCode(rawBundle([samplePrimaryBlock({ source: NULL_EID }), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FLAGS');
    expect(decodeCode(rawBundle([samplePrimaryBlock({ source: NULL_EID, flags: 0x4 }), payloadBlock()]))).toBe('no error');
    expect(decodeCode(rawBundle([samplePrimaryBlock({ flags: 0x2 }), payloadBlock(undefined, CRC_NONE, 0x02)]))).toBe('ORBITFED_BUNDLE_FLAGS');
  });

  it('refuses a second previous-node, bundle-age or hop-count block', () => {
    const hops = (n: number): Uint8Array => rawBlock([10, n, 0, 0, encodeCbor([5, 0])], CRC_NONE);
    expect(decodeCode(rawBundle([samplePrimaryBlock(), hops(2), hops(3), payloadBlock()]))).toBe('ORBITFED_BUNDLE_DUPLICATE_BLOCK');
  });

  it('refuses forwarding blocks whose data is not what §4.4 defines', () => {
    const block = (type: number, data: Uint8Array): Uint8Array => rawBundle([samplePrimaryBlock(), rawBlock([type, 2, 0, 0, data], CRC_NONE), payloadBlock()]);
    expect(decodeCode(block(10, encodeCbor([0, 0])))).toBe('ORBITFED_BUNDLE_BLOCK_DATA'); // hop limit below 1
    expect(decodeCode(block(10, encodeCbor([256, 0])))).toBe('ORBITFED_BUNDLE_BLOCK_DATA'); // above 255
    expect(decodeCode(block(10, encodeCbor([5])))).toBe('ORBITFED_BUNDLE_BLOCK_DATA');
    expect(decodeCode(block(7, encodeCbor('old')))).toBe('ORBITFED_BUNDLE_BLOCK_DATA');
    expect(decodeCode(block(7, fromHex('0500')))).toBe('ORBITFED_BUNDLE_BLOCK_DATA'); // bytes after the age
    expect(decodeCode(block(7, fromHex('1a00')))).toBe('ORBITFED_BUNDLE_BLOCK_DATA'); // truncated inside
    expect(decodeCode(block(6, encodeCbor(eidToCbor(NULL_EID))))).toBe('ORBITFED_BUNDLE_BLOCK_DATA');
    expect(decodeCode(block(6, encodeCbor([3, 0])))).toBe('ORBITFED_BUNDLE_BLOCK_DATA');
  });

  it('refuses endpoint IDs of unknown schemes and non-singleton sources', () => {
    const items = primaryItems();
    items[3] = [3, 'x'];
    expect(decodeCode(rawBundle([rawBlock(items, CRC_32C), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FIELD');
    expect(decodeCode(rawBundle([samplePrimaryBlock({ source: dtnEid('g', '~all') }), payloadBlock()]))).toBe('ORBITFED_BUNDLE_FIELD');
  });

  it('names the block and field in its messages', () => {
    expect(() => decodeBundle(flipByte(valid, valid.indexOf(0x44) + 1))).toThrow(/^primary block: CRC-32C 0x[0-9a-f]{8} does not match the block/);
    expect(() => decodeBundle(rawBundle([samplePrimaryBlock(), rawBlock([10, 4, 0, 0, encodeCbor([0, 0])], CRC_NONE), payloadBlock()]))).toThrow(/block 4 \(type 10\)/);
  });
});

describe('reserved and unassigned flag bits (RFC 9171 §4.2.3, §4.2.4: "MUST be ignored")', () => {
  it('ignores reserved bundle flag bits and carries them on unchanged, up to bit 63', () => {
    const bits = 0x8n | 0x10_0000n | (1n << 63n);
    const bytes = rawBundle([samplePrimaryBlock({ flags: bits }), payloadBlock()]);
    const bundle = decodeBundle(bytes);
    expect(bundle.primary.flags).toEqual({ ...NO_BUNDLE_FLAGS, unrecognizedBits: bits });
    expect(toHex(encodeBundle(bundle))).toBe(toHex(bytes));
  });

  it('ignores reserved block flag bits and carries them on unchanged', () => {
    const bytes = rawBundle([samplePrimaryBlock(), payloadBlock(undefined, CRC_NONE, 0x8 | 0x40 | 0x80)]);
    const bundle = decodeBundle(bytes);
    expect(bundle.payload.flags).toEqual({ ...NO_BLOCK_FLAGS, unrecognizedBits: 0xc8n });
    expect(toHex(encodeBundle(bundle))).toBe(toHex(bytes));
  });
});

describe('extension blocks of unknown types (RFC 9171 §5.6 step 4)', () => {
  const unknown = (flags: number, crcType: 0 | 1 | 2 = CRC_NONE): Uint8Array => rawBlock([192, 9, flags, crcType, fromHex('cafe')], crcType);

  it('keeps an unknown block with no flags, byte for byte, and reports it kept', () => {
    const bytes = rawBundle([samplePrimaryBlock(), unknown(0, CRC_16_X25), payloadBlock()]);
    const { bundle, unprocessedBlocks } = decodeBundleDetailed(bytes);
    const expected: ExtensionBlock = { kind: 'opaque', blockType: 192, blockNumber: 9, flags: NO_BLOCK_FLAGS, crcType: CRC_16_X25, data: fromHex('cafe') };
    expect(bundle.extensionBlocks).toEqual([expected]);
    expect(unprocessedBlocks).toEqual([{ blockType: 192, blockNumber: 9, disposition: 'kept', statusReportRequested: false }]);
    expect(toHex(encodeBundle(bundle))).toBe(toHex(bytes));
  });

  it('drops an unknown block whose "discard block if it can\'t be processed" flag is set', () => {
    const { bundle, unprocessedBlocks } = decodeBundleDetailed(rawBundle([samplePrimaryBlock(), unknown(0x10), payloadBlock()]));
    expect(bundle.extensionBlocks).toEqual([]);
    expect(unprocessedBlocks).toEqual([{ blockType: 192, blockNumber: 9, disposition: 'discarded', statusReportRequested: false }]);
  });

  it('refuses the bundle when the block says "delete bundle if it can\'t be processed", whatever else it says', () => {
    expect(decodeCode(rawBundle([samplePrimaryBlock(), unknown(0x04), payloadBlock()]))).toBe('ORBITFED_BUNDLE_UNSUPPORTED_BLOCK');
    expect(decodeCode(rawBundle([samplePrimaryBlock(), unknown(0x04 | 0x10), payloadBlock()]))).toBe('ORBITFED_BUNDLE_UNSUPPORTED_BLOCK');
  });

  it('records the "transmit status report if block can\'t be processed" flag', () => {
    const { unprocessedBlocks } = decodeBundleDetailed(rawBundle([samplePrimaryBlock(), unknown(0x02 | 0x10), payloadBlock()]));
    expect(unprocessedBlocks).toEqual([{ blockType: 192, blockNumber: 9, disposition: 'discarded', statusReportRequested: true }]);
  });

  it('checks the CRC of a block even when it is discarded', () => {
    const bytes = rawBundle([samplePrimaryBlock(), unknown(0x10, CRC_32C), payloadBlock()]);
    const crcAt = samplePrimaryBlock().length + 1 + 11; // the unknown block's CRC bytes
    expect(decodeCode(bytes)).toBe('no error');
    expect(decodeCode(flipByte(bytes, crcAt))).toBe('ORBITFED_BUNDLE_CRC');
  });
});

describe('encodeBundle refuses bundles the decoder would refuse', () => {
  it('refuses a primary block without CRC, duplicate numbers, repeated forwarding blocks and creation time 0 without age', () => {
    const base = sampleBundle();
    const age = (n: number): ExtensionBlock => ({ kind: 'bundle-age', blockNumber: n, flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, ageMs: 1 });
    expect(codeOf(() => encodeBundle({ ...base, primary: { ...base.primary, crcType: CRC_NONE } }))).toBe('ORBITFED_BUNDLE_CRC_MISSING');
    expect(codeOf(() => encodeBundle({ ...base, extensionBlocks: [age(2), { ...age(2), kind: 'hop-count', hopLimit: 1, hopCount: 0 }] }))).toBe('ORBITFED_BUNDLE_BLOCK_NUMBER');
    expect(codeOf(() => encodeBundle({ ...base, extensionBlocks: [age(2), age(3)] }))).toBe('ORBITFED_BUNDLE_DUPLICATE_BLOCK');
    expect(codeOf(() => encodeBundle({ ...base, primary: { ...base.primary, creation: { dtnTimeMs: dtnTimeMs(0), sequence: 1n } } }))).toBe('ORBITFED_BUNDLE_AGE_MISSING');
    expect(codeOf(() => encodeBundle({ ...base, extensionBlocks: [{ kind: 'opaque', blockType: 1, blockNumber: 2, flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, data: new Uint8Array(0) }] }))).toBe('ORBITFED_BUNDLE_PAYLOAD');
    expect(codeOf(() => encodeBundle({ ...base, primary: { ...base.primary, flags: { ...NO_BUNDLE_FLAGS, unrecognizedBits: 0x4n } } }))).toBe('ORBITFED_BUNDLE_FIELD');
  });
});
