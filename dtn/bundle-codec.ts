// Bundle ⇄ bytes (RFC 9171 §4). A bundle is an indefinite-length CBOR array: the primary block
// (§4.3.1), the extension blocks, the payload block (block number 1) last, then a break (§4.1).
// Each block is a definite-length array; a block with a CRC ends with it, computed over the whole
// block's encoding with the CRC bytes set to zero (§4.2.2, §4.3.1, §4.3.2).
//
// Decoding is strict, in this order: the size cap before any parsing; the CBOR subset of
// dtn/cbor.ts (shortest-form heads, definite-length items inside blocks, no tags); each block's
// item count, field types and CRC; the bundle's layout (one payload block, last, numbered 1; unique
// block numbers); the contents of the blocks we process (§4.4.1–4.4.3); unknown blocks per their
// flags (§5.6 step 4: "delete bundle" refuses the bundle, "discard block" drops the block, otherwise
// the block travels on unchanged); last, the rules of `validateBundle` (dtn/bundle.ts), which also
// guard `encodeBundle`. Decoding only ever throws OrbitfedError.
//
// §4.1 allows indefinite-length items inside blocks as well; we refuse them (ORBITFED_BUNDLE_CBOR).
// Blocks are re-encoded from their values, and the primary block must leave this node exactly as it
// arrived (§4.3.1: immutable); with shortest-form heads and definite lengths only, a decoded bundle
// re-encodes to exactly its input bytes (minus any discarded blocks), which the fuzz test checks.
// Codes, besides those of bundle.ts:
//   ORBITFED_BUNDLE_TOO_LARGE          more bytes than `maxBundleBytes` (checked before parsing)
//   ORBITFED_BUNDLE_TRUNCATED          the input ends inside an item or before the final break
//   ORBITFED_BUNDLE_TRAILING_BYTES     bytes after the break that ends the bundle
//   ORBITFED_BUNDLE_CBOR               not well-formed, or outside the strict CBOR subset
//   ORBITFED_BUNDLE_STRUCTURE          not an indefinite-length array of blocks
//   ORBITFED_BUNDLE_TOO_MANY_BLOCKS    more canonical blocks than `maxBlockCount`
//   ORBITFED_BUNDLE_CRC                a CRC that does not match the block
//   ORBITFED_BUNDLE_UNSUPPORTED_BLOCK  an unknown block whose flags say "delete bundle if it can't be processed"
// A reception that fails with ORBITFED_BUNDLE_UNSUPPORTED_BLOCK maps to status report reason
// "Block unsupported"; every other decoding failure to "Block unintelligible" (§5.6 step 3).
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import {
  BLOCK_TYPE_BUNDLE_AGE,
  BLOCK_TYPE_HOP_COUNT,
  BLOCK_TYPE_PAYLOAD,
  BLOCK_TYPE_PREVIOUS_NODE,
  BUNDLE_PROTOCOL_VERSION,
  CRC_16_X25,
  CRC_32C,
  CRC_NONE,
  HOP_LIMIT_MAX,
  PAYLOAD_BLOCK_NUMBER,
  blockFlagsFromBits,
  blockFlagsToBits,
  blockTypeOf,
  bundleFlagsFromBits,
  bundleFlagsToBits,
  validateBundle,
  type BlockFlags,
  type Bundle,
  type CrcType,
  type ExtensionBlock,
  type FragmentInfo,
  type PrimaryBlock,
} from './bundle.ts';
import { CborReader, encodeCbor, encodeIndefiniteArray, type CborErrorCodes, type CborValue } from './cbor.ts';
import { crc16X25, crc32c } from './crc.ts';
import { dtnTimeMs } from './dtn-time.ts';
import { eidToCbor, readEid } from './eid.ts';

export interface BundleDecodeLimits {
  /** Larger inputs are refused before parsing (ORBITFED_BUNDLE_TOO_LARGE). */
  readonly maxBundleBytes: number;
  /** Most canonical blocks (payload included) accepted in one bundle (ORBITFED_BUNDLE_TOO_MANY_BLOCKS). */
  readonly maxBlockCount: number;
}

export const DEFAULT_BUNDLE_DECODE_LIMITS: BundleDecodeLimits = {
  maxBundleBytes: 16 * 1024 * 1024,
  maxBlockCount: 64,
};

/** An extension block of a type this node does not process, and what decoding did with it. */
export interface UnprocessedBlock {
  readonly blockType: number;
  readonly blockNumber: number;
  /** `kept` travels on as an opaque block; `discarded` was removed (its "discard block" flag). */
  readonly disposition: 'kept' | 'discarded';
  /** Its "transmit status report if block can't be processed" flag (§5.6 step 4: reason "Block unsupported"). */
  readonly statusReportRequested: boolean;
}

export interface DecodedBundle {
  readonly bundle: Bundle;
  readonly unprocessedBlocks: readonly UnprocessedBlock[];
}

const BUNDLE_CODES: CborErrorCodes = { truncated: 'ORBITFED_BUNDLE_TRUNCATED', malformed: 'ORBITFED_BUNDLE_CBOR', invalid: 'ORBITFED_BUNDLE_FIELD' };
/** The CBOR inside a known extension block's data: any problem there makes the block unintelligible. */
const BLOCK_DATA_CODES: CborErrorCodes = { truncated: 'ORBITFED_BUNDLE_BLOCK_DATA', malformed: 'ORBITFED_BUNDLE_BLOCK_DATA', invalid: 'ORBITFED_BUNDLE_BLOCK_DATA' };
const INDEFINITE_ARRAY_START = 0x9f;
const PRIMARY_ITEMS_MIN = 8;
const CANONICAL_ITEMS_MIN = 5;

const crcLengthBytes = (crcType: CrcType): number => (crcType === CRC_16_X25 ? 2 : crcType === CRC_32C ? 4 : 0);
const crcName = (crcType: CrcType): string => (crcType === CRC_16_X25 ? 'CRC-16/X.25' : 'CRC-32C');
const computeCrc = (crcType: CrcType, chunks: readonly Uint8Array[]): number => (crcType === CRC_16_X25 ? crc16X25(chunks) : crc32c(chunks));

// ---------------------------------------------------------------------------------------------
// Encoding

/** The block's encoding, its CRC (if any) computed over the encoding with the CRC bytes zeroed. */
function encodeBlock(items: readonly CborValue[], crcType: CrcType): Uint8Array {
  if (crcType === CRC_NONE) return encodeCbor(items);
  const crcBytes = crcLengthBytes(crcType);
  const bytes = encodeCbor([...items, new Uint8Array(crcBytes)]);
  // The CRC is the block's last item: a byte string head (0x42 or 0x44) and then its bytes.
  assert.equal(bytes[bytes.length - crcBytes - 1], 0x40 + crcBytes);
  const value = computeCrc(crcType, [bytes]);
  const view = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - crcBytes, crcBytes);
  if (crcBytes === 2) view.setUint16(0, value);
  else view.setUint32(0, value);
  return bytes;
}

function encodePrimary(primary: PrimaryBlock): Uint8Array {
  const items: CborValue[] = [
    BUNDLE_PROTOCOL_VERSION,
    bundleFlagsToBits(primary.flags, primary.fragment !== undefined),
    primary.crcType,
    eidToCbor(primary.destination),
    eidToCbor(primary.source),
    eidToCbor(primary.reportTo),
    [primary.creation.dtnTimeMs, primary.creation.sequence],
    primary.lifetimeMs,
  ];
  if (primary.fragment !== undefined) items.push(primary.fragment.offsetBytes, primary.fragment.totalAduLengthBytes);
  return encodeBlock(items, primary.crcType);
}

function extensionData(block: ExtensionBlock): Uint8Array {
  switch (block.kind) {
    case 'previous-node':
      return encodeCbor(eidToCbor(block.nodeId));
    case 'bundle-age':
      return encodeCbor(block.ageMs);
    case 'hop-count':
      return encodeCbor([block.hopLimit, block.hopCount]);
    case 'opaque':
      return block.data;
  }
}

const encodeCanonical = (blockType: number, blockNumber: number, flags: BlockFlags, crcType: CrcType, data: Uint8Array): Uint8Array =>
  encodeBlock([blockType, blockNumber, blockFlagsToBits(flags), crcType, data], crcType);

/** The bundle's bytes, after `validateBundle` (its errors are thrown as they are). */
export function encodeBundle(bundle: Bundle): Uint8Array {
  validateBundle(bundle);
  const blocks = [encodePrimary(bundle.primary)];
  for (const block of bundle.extensionBlocks) {
    blocks.push(encodeCanonical(blockTypeOf(block), block.blockNumber, block.flags, block.crcType, extensionData(block)));
  }
  const { payload } = bundle;
  blocks.push(encodeCanonical(BLOCK_TYPE_PAYLOAD, PAYLOAD_BLOCK_NUMBER, payload.flags, payload.crcType, payload.data));
  return encodeIndefiniteArray(blocks);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** A canonical block as read, before its data is interpreted. */
interface RawBlock {
  readonly field: string;
  readonly blockType: number;
  readonly blockNumber: number;
  readonly flagsBits: bigint;
  readonly crcType: CrcType;
  /** Where the block-type-specific data sits in the input. */
  readonly dataAt: number;
  readonly dataLength: number;
}

function readCrcType(reader: CborReader, field: string): CrcType {
  const value = reader.readUint(field);
  if (value !== CRC_NONE && value !== CRC_16_X25 && value !== CRC_32C) reader.fail('invalid', field, `CRC type ${value} is not 0 (none), 1 (CRC-16) or 2 (CRC-32C) (RFC 9171 §4.2.1)`);
  return value;
}

/** Reads the CRC item that ends a block starting at `blockStart` and checks it against the block's bytes. */
function readAndCheckCrc(reader: CborReader, crcType: CrcType, blockStart: number, field: string): void {
  const crcBytes = crcLengthBytes(crcType);
  const span = reader.readBytesSpan(`${field}: CRC`, crcBytes);
  if (span.length !== crcBytes) {
    reader.fail('invalid', `${field}: CRC`, `a ${crcName(crcType)} is a ${crcBytes}-byte string, found ${span.length} bytes (RFC 9171 §4.2.2)`);
  }
  const received = reader.view(span.dataAt, span.dataAt + crcBytes);
  const receivedValue = crcBytes === 2 ? (received[0]! << 8) | received[1]! : new DataView(received.buffer, received.byteOffset, 4).getUint32(0);
  const computed = computeCrc(crcType, [reader.view(blockStart, span.dataAt), new Uint8Array(crcBytes)]);
  if (computed !== receivedValue) {
    const hex = (n: number): string => `0x${n.toString(16).padStart(crcBytes * 2, '0')}`;
    throw new OrbitfedError('ORBITFED_BUNDLE_CRC', `${crcName(crcType)} ${hex(receivedValue)} does not match the block, whose ${crcName(crcType)} is ${hex(computed)}`, { field });
  }
}

function readPrimary(reader: CborReader): PrimaryBlock {
  const field = 'primary block';
  const start = reader.offset;
  const count = reader.readArrayHeader(field);
  if (count < PRIMARY_ITEMS_MIN || count > PRIMARY_ITEMS_MIN + 3) reader.fail('invalid', field, `has ${count} items; RFC 9171 §4.3.1 allows 8 to 11`);
  const version = reader.readUint(`${field}: version`);
  if (version !== BUNDLE_PROTOCOL_VERSION) {
    throw new OrbitfedError('ORBITFED_BUNDLE_VERSION', `version ${version} is not 7; only BPv7 (RFC 9171) is supported`, { field: `${field}: version` });
  }
  const { flags, isFragment } = bundleFlagsFromBits(reader.readBigUint(`${field}: bundle processing control flags`));
  const crcType = readCrcType(reader, `${field}: CRC type`);
  const fragmentItems = count - PRIMARY_ITEMS_MIN - (crcType === CRC_NONE ? 0 : 1);
  if (fragmentItems !== (isFragment ? 2 : 0)) {
    if (fragmentItems === 0 || fragmentItems === 2) {
      throw new OrbitfedError('ORBITFED_BUNDLE_FRAGMENT', `fragment offset and total ADU length are present if and only if the is-fragment flag is set (RFC 9171 §4.3.1); the flag is ${isFragment ? 'set' : 'clear'} and the block has ${count} items`, { field });
    }
    reader.fail('invalid', field, `has ${count} items, which does not fit CRC type ${crcType} and is-fragment ${isFragment} (RFC 9171 §4.3.1)`);
  }
  const destination = readEid(reader, `${field}: destination`);
  const source = readEid(reader, `${field}: source node ID`);
  const reportTo = readEid(reader, `${field}: report-to`);
  const timestampItems = reader.readArrayHeader(`${field}: creation timestamp`);
  if (timestampItems !== 2) reader.fail('invalid', `${field}: creation timestamp`, `is [DTN time, sequence number] (RFC 9171 §4.2.7), found ${timestampItems} items`);
  const creationTime = dtnTimeMs(reader.readUint(`${field}: creation time`));
  const sequence = reader.readBigUint(`${field}: sequence number`);
  const lifetimeMs = reader.readUint(`${field}: lifetime`);
  let fragment: FragmentInfo | undefined;
  if (isFragment) {
    const offsetBytes = reader.readUint(`${field}: fragment offset`);
    const totalAduLengthBytes = reader.readUint(`${field}: total ADU length`);
    fragment = { offsetBytes, totalAduLengthBytes };
  }
  if (crcType !== CRC_NONE) readAndCheckCrc(reader, crcType, start, field);
  const primary: PrimaryBlock = {
    version: BUNDLE_PROTOCOL_VERSION,
    flags,
    crcType,
    destination,
    source,
    reportTo,
    creation: { dtnTimeMs: creationTime, sequence },
    lifetimeMs,
  };
  return fragment === undefined ? primary : { ...primary, fragment };
}

function readCanonical(reader: CborReader, ordinal: number): RawBlock {
  const start = reader.offset;
  let field = `block ${ordinal} (at byte ${start})`;
  const count = reader.readArrayHeader(field);
  if (count !== CANONICAL_ITEMS_MIN && count !== CANONICAL_ITEMS_MIN + 1) reader.fail('invalid', field, `has ${count} items; RFC 9171 §4.3.2 allows 5 or 6`);
  const blockType = reader.readUint(`${field}: block type`);
  const blockNumber = reader.readUint(`${field}: block number`);
  field = `block ${blockNumber} (type ${blockType})`;
  const flagsBits = reader.readBigUint(`${field}: block processing control flags`);
  const crcType = readCrcType(reader, `${field}: CRC type`);
  if (count !== CANONICAL_ITEMS_MIN + (crcType === CRC_NONE ? 0 : 1)) {
    reader.fail('invalid', field, `has ${count} items but CRC type ${crcType}: a CRC is present if and only if the CRC type is not 0 (RFC 9171 §4.2.2)`);
  }
  const data = reader.readBytesSpan(`${field}: block-type-specific data`);
  if (crcType !== CRC_NONE) readAndCheckCrc(reader, crcType, start, field);
  return { field, blockType, blockNumber, flagsBits, crcType, dataAt: data.dataAt, dataLength: data.length };
}

/** Reads a known extension block's data, which must be exactly one CBOR item. */
function interpretKnown(input: Uint8Array, raw: RawBlock): ExtensionBlock | undefined {
  const data = input.subarray(raw.dataAt, raw.dataAt + raw.dataLength);
  const reader = new CborReader(data, BLOCK_DATA_CODES);
  const header = { blockNumber: raw.blockNumber, flags: blockFlagsFromBits(raw.flagsBits), crcType: raw.crcType };
  let block: ExtensionBlock;
  switch (raw.blockType) {
    case BLOCK_TYPE_PREVIOUS_NODE:
      block = { kind: 'previous-node', ...header, nodeId: readEid(reader, `${raw.field}: previous node ID`) };
      break;
    case BLOCK_TYPE_BUNDLE_AGE:
      block = { kind: 'bundle-age', ...header, ageMs: reader.readUint(`${raw.field}: bundle age`) };
      break;
    case BLOCK_TYPE_HOP_COUNT: {
      const items = reader.readArrayHeader(`${raw.field}: hop count`);
      if (items !== 2) reader.fail('invalid', `${raw.field}: hop count`, `is [hop limit, hop count] (RFC 9171 §4.4.3), found ${items} items`);
      const hopLimit = reader.readUint(`${raw.field}: hop limit`, HOP_LIMIT_MAX);
      const hopCount = reader.readUint(`${raw.field}: hop count`);
      block = { kind: 'hop-count', ...header, hopLimit, hopCount };
      break;
    }
    default:
      return undefined;
  }
  if (!reader.atEnd) reader.fail('invalid', raw.field, `block data has ${data.length - reader.offset} bytes after its value`);
  return block;
}

function checkLayout(raws: readonly RawBlock[]): void {
  const payloads = raws.filter((b) => b.blockType === BLOCK_TYPE_PAYLOAD);
  if (payloads.length !== 1) {
    throw new OrbitfedError('ORBITFED_BUNDLE_PAYLOAD', `a bundle has exactly one payload block (RFC 9171 §4.1), found ${payloads.length}`, { field: 'bundle' });
  }
  const last = raws[raws.length - 1]!;
  if (last.blockType !== BLOCK_TYPE_PAYLOAD) {
    throw new OrbitfedError('ORBITFED_BUNDLE_PAYLOAD', `the payload block must be the last block (RFC 9171 §4.1); the last is ${last.field}`, { field: 'bundle' });
  }
  if (last.blockNumber !== PAYLOAD_BLOCK_NUMBER) {
    throw new OrbitfedError('ORBITFED_BUNDLE_BLOCK_NUMBER', `the payload block is numbered ${last.blockNumber}; it is always 1 (RFC 9171 §4.1)`, { field: last.field });
  }
  const seen = new Set<number>();
  for (const raw of raws) {
    if (raw.blockType !== BLOCK_TYPE_PAYLOAD && raw.blockNumber <= PAYLOAD_BLOCK_NUMBER) {
      throw new OrbitfedError('ORBITFED_BUNDLE_BLOCK_NUMBER', 'extension blocks are numbered 2 or more: 0 is the primary block and 1 the payload block (RFC 9171 §4.1)', { field: raw.field });
    }
    if (seen.has(raw.blockNumber)) throw new OrbitfedError('ORBITFED_BUNDLE_BLOCK_NUMBER', `block number ${raw.blockNumber} is used twice (RFC 9171 §4.1)`, { field: raw.field });
    seen.add(raw.blockNumber);
  }
}

/** Decodes and validates a bundle, and reports the extension blocks it could not process. */
export function decodeBundleDetailed(bytes: Uint8Array, limits: BundleDecodeLimits = DEFAULT_BUNDLE_DECODE_LIMITS): DecodedBundle {
  if (bytes.length > limits.maxBundleBytes) {
    throw new OrbitfedError('ORBITFED_BUNDLE_TOO_LARGE', `${bytes.length} bytes is more than the ${limits.maxBundleBytes} accepted`, { field: 'bundle' });
  }
  if (bytes.length === 0) throw new OrbitfedError('ORBITFED_BUNDLE_TRUNCATED', 'no bytes', { field: 'bundle' });
  if (bytes[0] !== INDEFINITE_ARRAY_START) {
    throw new OrbitfedError('ORBITFED_BUNDLE_STRUCTURE', `a bundle is a CBOR indefinite-length array (first byte 0x9f, RFC 9171 §4.1); first byte is 0x${bytes[0]!.toString(16).padStart(2, '0')}`, { field: 'bundle' });
  }
  const reader = new CborReader(bytes, BUNDLE_CODES);
  reader.readIndefiniteArrayStart('bundle');
  if (reader.peekBreak('bundle')) throw new OrbitfedError('ORBITFED_BUNDLE_STRUCTURE', 'the bundle array is empty; it starts with a primary block', { field: 'bundle' });
  const primary = readPrimary(reader);

  const raws: RawBlock[] = [];
  while (!reader.peekBreak('bundle')) {
    if (raws.length >= limits.maxBlockCount) {
      throw new OrbitfedError('ORBITFED_BUNDLE_TOO_MANY_BLOCKS', `more than ${limits.maxBlockCount} canonical blocks`, { field: 'bundle' });
    }
    raws.push(readCanonical(reader, raws.length + 1));
  }
  reader.readBreak('bundle');
  if (!reader.atEnd) {
    throw new OrbitfedError('ORBITFED_BUNDLE_TRAILING_BYTES', `${bytes.length - reader.offset} bytes follow the break that ends the bundle at byte ${reader.offset - 1}`, { field: 'bundle' });
  }
  checkLayout(raws);

  const extensionBlocks: ExtensionBlock[] = [];
  const unprocessedBlocks: UnprocessedBlock[] = [];
  for (const raw of raws.slice(0, -1)) {
    const known = interpretKnown(bytes, raw);
    if (known !== undefined) {
      extensionBlocks.push(known);
      continue;
    }
    // RFC 9171 §5.6 step 4: a block we cannot process is handled as its flags say.
    const flags = blockFlagsFromBits(raw.flagsBits);
    if (flags.deleteBundleIfUnprocessed) {
      throw new OrbitfedError('ORBITFED_BUNDLE_UNSUPPORTED_BLOCK', 'block type is not supported and its flags say to delete the bundle if the block cannot be processed (RFC 9171 §5.6 step 4)', { field: raw.field });
    }
    const disposition = flags.discardIfUnprocessed ? 'discarded' : 'kept';
    unprocessedBlocks.push({ blockType: raw.blockType, blockNumber: raw.blockNumber, disposition, statusReportRequested: flags.reportIfUnprocessed });
    if (disposition === 'kept') {
      extensionBlocks.push({
        kind: 'opaque',
        blockType: raw.blockType,
        blockNumber: raw.blockNumber,
        flags,
        crcType: raw.crcType,
        data: reader.copy(raw.dataAt, raw.dataAt + raw.dataLength),
      });
    }
  }
  const payloadRaw = raws[raws.length - 1]!;
  const bundle: Bundle = {
    primary,
    extensionBlocks,
    payload: {
      flags: blockFlagsFromBits(payloadRaw.flagsBits),
      crcType: payloadRaw.crcType,
      data: reader.copy(payloadRaw.dataAt, payloadRaw.dataAt + payloadRaw.dataLength),
    },
  };
  validateBundle(bundle);
  return { bundle, unprocessedBlocks };
}

/** Decodes and validates a bundle; extension blocks it cannot process are kept or dropped as their flags say. */
export function decodeBundle(bytes: Uint8Array, limits: BundleDecodeLimits = DEFAULT_BUNDLE_DECODE_LIMITS): Bundle {
  return decodeBundleDetailed(bytes, limits).bundle;
}
