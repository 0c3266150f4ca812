// Bundles for the dtn/ tests: a plain sample, a seeded generator of valid bundles of every variant,
// and a raw block writer for crafting bytes that `encodeBundle` would refuse to produce.
import { OrbitfedError } from '../../common/index.ts';
import {
  CRC_16_X25,
  CRC_32C,
  CRC_NONE,
  NO_BLOCK_FLAGS,
  NO_BUNDLE_FLAGS,
  type BlockFlags,
  type Bundle,
  type BundleFlags,
  type CrcType,
  type ExtensionBlock,
  type PrimaryBlock,
} from '../../dtn/bundle.ts';
import { encodeCbor, encodeIndefiniteArray, type CborValue } from '../../dtn/cbor.ts';
import { crc16X25, crc32c } from '../../dtn/crc.ts';
import { DTN_TIME_UNKNOWN, dtnTimeMs } from '../../dtn/dtn-time.ts';
import { dtnEid, eidToCbor, ipnEid, NULL_EID, type Eid } from '../../dtn/eid.ts';

export const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The error code `fn` throws; fails the test with the error itself if it is not an OrbitfedError. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof OrbitfedError) return error.code;
    throw error;
  }
  return 'no error';
}

/** 2025-10-28T…Z as DTN time: a realistic creation time, above 2^32. */
export const CREATED = dtnTimeMs(815_000_000_000);

export function sampleBundle(payload: Uint8Array = new TextEncoder().encode('hello')): Bundle {
  return {
    primary: {
      version: 7,
      flags: NO_BUNDLE_FLAGS,
      crcType: CRC_32C,
      destination: ipnEid(2, 1),
      source: ipnEid(1, 1),
      reportTo: ipnEid(1, 0),
      creation: { dtnTimeMs: CREATED, sequence: 7n },
      lifetimeMs: 86_400_000,
    },
    extensionBlocks: [],
    payload: { flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, data: payload },
  };
}

/** Block bytes with a CRC computed the way RFC 9171 §4.3.2 says, written independently of the codec. */
export function rawBlock(items: readonly CborValue[], crcType: 0 | 1 | 2): Uint8Array {
  if (crcType === CRC_NONE) return encodeCbor(items);
  const length = crcType === CRC_16_X25 ? 2 : 4;
  const bytes = encodeCbor([...items, new Uint8Array(length)]);
  const value = crcType === CRC_16_X25 ? crc16X25(bytes) : crc32c(bytes);
  for (let i = 0; i < length; i++) bytes[bytes.length - 1 - i] = (value >>> (8 * i)) & 0xff;
  return bytes;
}

export const rawBundle = (blocks: readonly Uint8Array[]): Uint8Array => encodeIndefiniteArray(blocks);

/** The items of a sample primary block, without CRC (RFC 9171 §4.3.1 order). */
export function primaryItems(changes: { flags?: number | bigint; crcType?: number; creationMs?: number; source?: Eid; fragment?: readonly [number, number] } = {}): CborValue[] {
  const items: CborValue[] = [
    7,
    changes.flags ?? 0,
    changes.crcType ?? CRC_32C,
    eidToCbor(ipnEid(2, 1)),
    eidToCbor(changes.source ?? ipnEid(1, 1)),
    eidToCbor(ipnEid(1, 0)),
    [changes.creationMs ?? CREATED, 7],
    86_400_000,
  ];
  if (changes.fragment !== undefined) items.push(...changes.fragment);
  return items;
}

export const samplePrimaryBlock = (changes: Parameters<typeof primaryItems>[0] = {}): Uint8Array =>
  rawBlock(primaryItems(changes), (changes.crcType ?? CRC_32C) as 0 | 1 | 2);

export const payloadBlock = (data = new Uint8Array([1, 2, 3]), crcType: 0 | 1 | 2 = CRC_NONE, flags = 0): Uint8Array =>
  rawBlock([1, 1, flags, crcType, data], crcType);

// ---------------------------------------------------------------------------------------------
// A generator of valid bundles of every variant, for round trips and fuzzing.

const RESERVED_BUNDLE_BITS = [0x8n, 0x10n, 0x80n, 0x2000n, 0x8000n, 0x8_0000n, 0x10_0000n, 1n << 40n, 1n << 63n];
const RESERVED_BLOCK_BITS = [0x8n, 0x20n, 0x40n, 1n << 7n, 1n << 63n];

export function randomBundle(rng: () => number): Bundle {
  const int = (n: number): number => Math.floor(rng() * n);
  const chance = (p: number): boolean => rng() < p;
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const bits = (choices: readonly bigint[]): bigint => choices.reduce((acc, bit) => (chance(0.15) ? acc | bit : acc), 0n);
  const singleton = (): Eid =>
    pick([
      () => ipnEid(int(1_000_000), int(100)),
      () => ipnEid((1n << 64n) - 1n - BigInt(int(3)), (1n << 64n) - 1n),
      () => ipnEid(2 ** 40 + int(1000), 0),
      () => dtnEid(`node-${int(100)}.example`, pick(['', 'svc', 'a/b/c', 'x~y'])),
    ])();
  const anyEid = (): Eid => (chance(0.15) ? NULL_EID : chance(0.1) ? dtnEid('group', '~all') : singleton());

  const source = chance(0.1) ? NULL_EID : singleton();
  const isAdminRecord = chance(0.15);
  const quiet = source.kind === 'null' || isAdminRecord;
  const flags: BundleFlags = {
    ...NO_BUNDLE_FLAGS,
    isAdminRecord,
    mustNotFragment: source.kind === 'null' || chance(0.3),
    appAckRequested: chance(0.3),
    statusTimeRequested: chance(0.3),
    reportReception: !quiet && chance(0.3),
    reportForwarding: !quiet && chance(0.3),
    reportDelivery: !quiet && chance(0.3),
    reportDeletion: !quiet && chance(0.3),
    unrecognizedBits: bits(RESERVED_BUNDLE_BITS),
  };
  const blockFlags = (): BlockFlags => ({
    ...NO_BLOCK_FLAGS,
    mustReplicate: chance(0.5),
    reportIfUnprocessed: !quiet && chance(0.3),
    unrecognizedBits: bits(RESERVED_BLOCK_BITS),
  });
  const crcType = (): CrcType => pick([CRC_NONE, CRC_16_X25, CRC_32C] as const);

  const numbers = new Set<number>();
  const blockNumber = (): number => {
    let n = 2 + int(chance(0.8) ? 10 : 100_000);
    while (numbers.has(n)) n++;
    numbers.add(n);
    return n;
  };
  const unknownTime = chance(0.1);
  const blocks: ExtensionBlock[] = [];
  if (chance(0.5)) blocks.push({ kind: 'previous-node', blockNumber: blockNumber(), flags: blockFlags(), crcType: crcType(), nodeId: singleton() });
  if (unknownTime || chance(0.4)) blocks.push({ kind: 'bundle-age', blockNumber: blockNumber(), flags: blockFlags(), crcType: crcType(), ageMs: int(2 ** 31) * (chance(0.2) ? 4096 : 1) });
  if (chance(0.4)) blocks.push({ kind: 'hop-count', blockNumber: blockNumber(), flags: blockFlags(), crcType: crcType(), hopLimit: 1 + int(255), hopCount: int(300) });
  for (let i = int(3); i > 0; i--) {
    const data = new Uint8Array(int(40)).map(() => int(256));
    blocks.push({ kind: 'opaque', blockType: pick([0, 11, 12, 192, 255, 70_000]), blockNumber: blockNumber(), flags: blockFlags(), crcType: crcType(), data });
  }
  blocks.sort(() => rng() - 0.5);

  const payloadLength = chance(0.1) ? 0 : chance(0.8) ? int(64) : int(70_000);
  // Large payloads get a cheap pattern; their bytes matter less than their length heads.
  const data = payloadLength < 1000 ? new Uint8Array(payloadLength).map(() => int(256)) : new Uint8Array(payloadLength).map((_, i) => (i * 31) & 0xff);
  const primary: PrimaryBlock = {
    version: 7,
    flags,
    crcType: pick([CRC_16_X25, CRC_32C] as const),
    destination: anyEid(),
    source,
    reportTo: anyEid(),
    creation: { dtnTimeMs: unknownTime ? DTN_TIME_UNKNOWN : dtnTimeMs(chance(0.5) ? CREATED + int(1e9) : 1 + int(1000)), sequence: chance(0.8) ? BigInt(int(1000)) : (1n << 64n) - 1n - BigInt(int(1000)) },
    lifetimeMs: chance(0.9) ? int(1e9) : 2 ** 53 - 1,
  };
  const fragmented = !flags.mustNotFragment && chance(0.3);
  const fragmentAt = (offsetBytes: number, rest: number) => ({ offsetBytes, totalAduLengthBytes: offsetBytes + rest });
  return {
    primary: fragmented ? { ...primary, fragment: fragmentAt(int(100_000), payloadLength + int(100)) } : primary,
    extensionBlocks: blocks,
    payload: { flags: blockFlags(), crcType: crcType(), data },
  };
}
