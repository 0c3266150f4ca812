// A BPv7 bundle as plain readonly data (RFC 9171 §4): the primary block (§4.3.1), the extension
// blocks in wire order (§4.4), and the payload block (§4.3.2, block type 1, always block number 1
// and always last on the wire). `validateBundle` holds the rules that do not depend on the byte
// encoding; the codec runs it on every bundle it encodes and every bundle it decodes, so both sides
// refuse the same bundles with the same codes:
//   ORBITFED_BUNDLE_VERSION          version is not 7
//   ORBITFED_BUNDLE_CRC_MISSING      the primary block has CRC type 0 (we carry no BPSec BIB, §4.3.1)
//   ORBITFED_BUNDLE_FIELD            a field is out of range (CRC type, EID, time, number too large, …)
//   ORBITFED_BUNDLE_FLAGS            flags that §4.2.3 / §4.2.4 forbid together
//   ORBITFED_BUNDLE_FRAGMENT         fragment offset + payload length beyond the total ADU length
//   ORBITFED_BUNDLE_BLOCK_NUMBER     an extension block numbered 0 or 1, or two blocks with one number
//   ORBITFED_BUNDLE_DUPLICATE_BLOCK  more than one previous-node, bundle-age or hop-count block
//   ORBITFED_BUNDLE_PAYLOAD          a second payload block among the extension blocks
//   ORBITFED_BUNDLE_BLOCK_DATA       a previous-node, bundle-age or hop-count block holds a bad value
//   ORBITFED_BUNDLE_AGE_MISSING      creation time 0 without a bundle-age block (§4.4.2)
import { OrbitfedError } from '../common/index.ts';
import { DTN_TIME_UNKNOWN, type DtnTimeMs } from './dtn-time.ts';
import { eidProblem, formatEid, isSingletonEid, type Eid } from './eid.ts';

/** CRC type codes (§4.2.1). */
export const CRC_NONE = 0;
export const CRC_16_X25 = 1;
export const CRC_32C = 2;
export type CrcType = typeof CRC_NONE | typeof CRC_16_X25 | typeof CRC_32C;

/** Block type codes (§4.3.2, §4.4, §9.1). */
export const BLOCK_TYPE_PAYLOAD = 1;
export const BLOCK_TYPE_PREVIOUS_NODE = 6;
export const BLOCK_TYPE_BUNDLE_AGE = 7;
export const BLOCK_TYPE_HOP_COUNT = 10;

export const BUNDLE_PROTOCOL_VERSION = 7;
/** §4.4.3: "The hop limit MUST be in the range 1 through 255." */
export const HOP_LIMIT_MAX = 255;

/**
 * Bundle processing control flags (§4.2.3). "Bundle is a fragment" is not here: it is set exactly
 * when `PrimaryBlock.fragment` is present. Bits the RFC leaves reserved or unassigned are kept in
 * `unrecognizedBits` untouched: a receiver MUST ignore them, and the primary block is immutable
 * (§4.3.1), so they travel on as they came.
 */
export interface BundleFlags {
  readonly isAdminRecord: boolean;
  readonly mustNotFragment: boolean;
  readonly appAckRequested: boolean;
  readonly statusTimeRequested: boolean;
  readonly reportReception: boolean;
  readonly reportForwarding: boolean;
  readonly reportDelivery: boolean;
  readonly reportDeletion: boolean;
  /** Every set bit outside the nine assigned ones, as a 64-bit field. */
  readonly unrecognizedBits: bigint;
}

/** Block processing control flags (§4.2.4); other bits are kept in `unrecognizedBits`. */
export interface BlockFlags {
  readonly mustReplicate: boolean;
  readonly reportIfUnprocessed: boolean;
  readonly deleteBundleIfUnprocessed: boolean;
  readonly discardIfUnprocessed: boolean;
  readonly unrecognizedBits: bigint;
}

// §4.2.3 bit positions.
const BUNDLE_BIT_IS_FRAGMENT = 0x1n;
const BUNDLE_BITS: readonly (readonly [Exclude<keyof BundleFlags, 'unrecognizedBits'>, bigint])[] = [
  ['isAdminRecord', 0x2n],
  ['mustNotFragment', 0x4n],
  ['appAckRequested', 0x20n],
  ['statusTimeRequested', 0x40n],
  ['reportReception', 0x4000n],
  ['reportForwarding', 0x1_0000n],
  ['reportDelivery', 0x2_0000n],
  ['reportDeletion', 0x4_0000n],
];
const BUNDLE_KNOWN_BITS = BUNDLE_BITS.reduce((mask, [, bit]) => mask | bit, BUNDLE_BIT_IS_FRAGMENT);
// §4.2.4 bit positions.
const BLOCK_BITS: readonly (readonly [Exclude<keyof BlockFlags, 'unrecognizedBits'>, bigint])[] = [
  ['mustReplicate', 0x1n],
  ['reportIfUnprocessed', 0x2n],
  ['deleteBundleIfUnprocessed', 0x4n],
  ['discardIfUnprocessed', 0x10n],
];
const BLOCK_KNOWN_BITS = BLOCK_BITS.reduce((mask, [, bit]) => mask | bit, 0n);
const UINT64_MAX = (1n << 64n) - 1n;

export const NO_BUNDLE_FLAGS: BundleFlags = {
  isAdminRecord: false,
  mustNotFragment: false,
  appAckRequested: false,
  statusTimeRequested: false,
  reportReception: false,
  reportForwarding: false,
  reportDelivery: false,
  reportDeletion: false,
  unrecognizedBits: 0n,
};

export const NO_BLOCK_FLAGS: BlockFlags = {
  mustReplicate: false,
  reportIfUnprocessed: false,
  deleteBundleIfUnprocessed: false,
  discardIfUnprocessed: false,
  unrecognizedBits: 0n,
};

/** Splits the wire bit field; the is-fragment bit is returned separately. */
export function bundleFlagsFromBits(bits: bigint): { readonly flags: BundleFlags; readonly isFragment: boolean } {
  const named = Object.fromEntries(BUNDLE_BITS.map(([name, bit]) => [name, (bits & bit) !== 0n]));
  return {
    flags: { ...(named as Omit<BundleFlags, 'unrecognizedBits'>), unrecognizedBits: bits & ~BUNDLE_KNOWN_BITS },
    isFragment: (bits & BUNDLE_BIT_IS_FRAGMENT) !== 0n,
  };
}

export function bundleFlagsToBits(flags: BundleFlags, isFragment: boolean): bigint {
  let bits = flags.unrecognizedBits | (isFragment ? BUNDLE_BIT_IS_FRAGMENT : 0n);
  for (const [name, bit] of BUNDLE_BITS) if (flags[name]) bits |= bit;
  return bits;
}

export function blockFlagsFromBits(bits: bigint): BlockFlags {
  const named = Object.fromEntries(BLOCK_BITS.map(([name, bit]) => [name, (bits & bit) !== 0n]));
  return { ...(named as Omit<BlockFlags, 'unrecognizedBits'>), unrecognizedBits: bits & ~BLOCK_KNOWN_BITS };
}

export function blockFlagsToBits(flags: BlockFlags): bigint {
  let bits = flags.unrecognizedBits;
  for (const [name, bit] of BLOCK_BITS) if (flags[name]) bits |= bit;
  return bits;
}

/** §4.2.7: the DTN time the bundle was created and a sequence number; with the source, its identity. */
export interface CreationTimestamp {
  readonly dtnTimeMs: DtnTimeMs;
  /** A CBOR unsigned integer, so 0 … 2^64-1. */
  readonly sequence: bigint;
}

/** Present exactly when the bundle is a fragment (§4.3.1). */
export interface FragmentInfo {
  /** Where this fragment's payload starts in the original application data unit. */
  readonly offsetBytes: number;
  readonly totalAduLengthBytes: number;
}

export interface PrimaryBlock {
  readonly version: typeof BUNDLE_PROTOCOL_VERSION;
  readonly flags: BundleFlags;
  /** Never CRC_NONE: without BPSec the primary block must carry a CRC (§4.3.1). */
  readonly crcType: CrcType;
  readonly destination: Eid;
  /** The null EID for an anonymous bundle. */
  readonly source: Eid;
  readonly reportTo: Eid;
  readonly creation: CreationTimestamp;
  /** Milliseconds after the creation time at which the payload is no longer useful. */
  readonly lifetimeMs: number;
  readonly fragment?: FragmentInfo;
}

/** What every canonical block carries besides its type-specific data (§4.3.2). */
interface BlockHeader {
  /** Unique in the bundle; 0 is the primary block and 1 the payload block, so 2 or more here. */
  readonly blockNumber: number;
  readonly flags: BlockFlags;
  readonly crcType: CrcType;
}

/** §4.4.1: the node that forwarded the bundle to us. */
export interface PreviousNodeBlock extends BlockHeader {
  readonly kind: 'previous-node';
  readonly nodeId: Eid;
}

/** §4.4.2: milliseconds between creation and the most recent forwarding. */
export interface BundleAgeBlock extends BlockHeader {
  readonly kind: 'bundle-age';
  readonly ageMs: number;
}

/** §4.4.3: a bound on the number of hops, and the hops taken so far. */
export interface HopCountBlock extends BlockHeader {
  readonly kind: 'hop-count';
  readonly hopLimit: number;
  readonly hopCount: number;
}

/** A block of a type this node does not process, carried on with its data bytes unchanged (§5.6 step 4). */
export interface OpaqueBlock extends BlockHeader {
  readonly kind: 'opaque';
  readonly blockType: number;
  readonly data: Uint8Array;
}

export type ExtensionBlock = PreviousNodeBlock | BundleAgeBlock | HopCountBlock | OpaqueBlock;

export interface PayloadBlock {
  readonly flags: BlockFlags;
  readonly crcType: CrcType;
  readonly data: Uint8Array;
}

export interface Bundle {
  readonly primary: PrimaryBlock;
  /** In the order they appear on the wire, between the primary block and the payload block. */
  readonly extensionBlocks: readonly ExtensionBlock[];
  readonly payload: PayloadBlock;
}

export const PAYLOAD_BLOCK_NUMBER = 1;

export function blockTypeOf(block: ExtensionBlock): number {
  switch (block.kind) {
    case 'previous-node':
      return BLOCK_TYPE_PREVIOUS_NODE;
    case 'bundle-age':
      return BLOCK_TYPE_BUNDLE_AGE;
    case 'hop-count':
      return BLOCK_TYPE_HOP_COUNT;
    case 'opaque':
      return block.blockType;
  }
}

export function findBlock<K extends ExtensionBlock['kind']>(bundle: Bundle, kind: K): Extract<ExtensionBlock, { kind: K }> | undefined {
  return bundle.extensionBlocks.find((b): b is Extract<ExtensionBlock, { kind: K }> => b.kind === kind);
}

/** The smallest block number not yet used (2 or more), for a block being added. */
export function nextBlockNumber(bundle: Bundle): number {
  return bundle.extensionBlocks.reduce((max, b) => Math.max(max, b.blockNumber), PAYLOAD_BLOCK_NUMBER) + 1;
}

/**
 * The bundle's identity for duplicate detection (§4.3.1 "Creation Timestamp"): source node ID and
 * creation timestamp, plus fragment offset and payload length for a fragment. Parts are joined by
 * spaces, which no EID text contains (dtn demux is VCHAR), so two identities never share a key.
 */
export function bundleKey(bundle: Bundle): string {
  const { source, creation, fragment } = bundle.primary;
  const base = `${formatEid(source)} ${creation.dtnTimeMs} ${creation.sequence}`;
  return fragment === undefined ? base : `${base} ${fragment.offsetBytes} ${bundle.payload.data.length}`;
}

/** The identity of the application data unit: what every fragment of one bundle shares (§5.9). */
export function aduKey(bundle: Bundle): string {
  const { source, creation } = bundle.primary;
  return `${formatEid(source)} ${creation.dtnTimeMs} ${creation.sequence}`;
}

export interface NewBundle {
  readonly destination: Eid;
  readonly source: Eid;
  /** Defaults to the source. */
  readonly reportTo?: Eid;
  readonly creation: CreationTimestamp;
  readonly lifetimeMs: number;
  readonly payload: Uint8Array;
  readonly flags?: BundleFlags;
  /** CRC of the primary block; defaults to CRC-32C. The payload block has no CRC unless `payloadCrcType` says so. */
  readonly crcType?: typeof CRC_16_X25 | typeof CRC_32C;
  readonly payloadCrcType?: CrcType;
}

/**
 * A new, unfragmented bundle with no extension blocks, except a Bundle Age block of 0 ms when the
 * creation time is unknown (§4.4.2 requires one then). Validated before it is returned.
 */
export function makeBundle(spec: NewBundle): Bundle {
  const extensionBlocks: ExtensionBlock[] = spec.creation.dtnTimeMs === DTN_TIME_UNKNOWN
    ? [{ kind: 'bundle-age', blockNumber: 2, flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, ageMs: 0 }]
    : [];
  const bundle: Bundle = {
    primary: {
      version: BUNDLE_PROTOCOL_VERSION,
      flags: spec.flags ?? NO_BUNDLE_FLAGS,
      crcType: spec.crcType ?? CRC_32C,
      destination: spec.destination,
      source: spec.source,
      reportTo: spec.reportTo ?? spec.source,
      creation: spec.creation,
      lifetimeMs: spec.lifetimeMs,
    },
    extensionBlocks,
    payload: { flags: NO_BLOCK_FLAGS, crcType: spec.payloadCrcType ?? CRC_NONE, data: spec.payload },
  };
  validateBundle(bundle);
  return bundle;
}

const isUint = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isCrcType = (value: unknown): value is CrcType => value === CRC_NONE || value === CRC_16_X25 || value === CRC_32C;

function fail(code: string, field: string, message: string): never {
  throw new OrbitfedError(code, message, { field });
}

function validateFlagBits(bits: bigint, known: bigint, field: string): void {
  if (typeof bits !== 'bigint' || bits < 0n || bits > UINT64_MAX) fail('ORBITFED_BUNDLE_FIELD', field, 'unrecognized flag bits must be a 64-bit unsigned bigint');
  if ((bits & known) !== 0n) fail('ORBITFED_BUNDLE_FIELD', field, `unrecognizedBits 0x${bits.toString(16)} overlaps the named flags`);
}

function validateEid(eid: Eid, code: string, field: string): void {
  const problem = eidProblem(eid);
  if (problem !== undefined) fail(code, field, problem);
}

/** Throws the first rule (listed in the header comment) that the bundle breaks. */
export function validateBundle(bundle: Bundle): void {
  const { primary, extensionBlocks, payload } = bundle;
  if (primary.version !== BUNDLE_PROTOCOL_VERSION) fail('ORBITFED_BUNDLE_VERSION', 'primary block: version', `version ${String(primary.version)} is not 7`);
  validateFlagBits(primary.flags.unrecognizedBits, BUNDLE_KNOWN_BITS, 'primary block: flags');
  if (primary.crcType === CRC_NONE) {
    fail('ORBITFED_BUNDLE_CRC_MISSING', 'primary block: CRC type', 'the primary block must carry a CRC unless a BPSec BIB protects it (RFC 9171 §4.3.1); BPSec is not supported');
  }
  if (!isCrcType(primary.crcType)) fail('ORBITFED_BUNDLE_FIELD', 'primary block: CRC type', `CRC type ${String(primary.crcType)} is not 0, 1 or 2 (§4.2.1)`);
  validateEid(primary.destination, 'ORBITFED_BUNDLE_FIELD', 'primary block: destination');
  validateEid(primary.source, 'ORBITFED_BUNDLE_FIELD', 'primary block: source node ID');
  validateEid(primary.reportTo, 'ORBITFED_BUNDLE_FIELD', 'primary block: report-to');
  if (primary.source.kind !== 'null' && !isSingletonEid(primary.source)) {
    fail('ORBITFED_BUNDLE_FIELD', 'primary block: source node ID', `${formatEid(primary.source)} is not a singleton endpoint (RFC 9171 §5.2)`);
  }
  if (!isUint(primary.creation.dtnTimeMs)) fail('ORBITFED_BUNDLE_FIELD', 'primary block: creation time', `${String(primary.creation.dtnTimeMs)} is not a whole number of ms up to 2^53-1`);
  const sequence = primary.creation.sequence;
  if (typeof sequence !== 'bigint' || sequence < 0n || sequence > UINT64_MAX) fail('ORBITFED_BUNDLE_FIELD', 'primary block: sequence number', `${String(sequence)} is not a bigint from 0 to 2^64-1`);
  if (!isUint(primary.lifetimeMs)) fail('ORBITFED_BUNDLE_FIELD', 'primary block: lifetime', `${String(primary.lifetimeMs)} is not a whole number of ms up to 2^53-1`);

  const flags = primary.flags;
  const reportsRequested = flags.reportReception || flags.reportForwarding || flags.reportDelivery || flags.reportDeletion;
  // §4.2.3: an administrative record requests no status reports.
  if (flags.isAdminRecord && reportsRequested) fail('ORBITFED_BUNDLE_FLAGS', 'primary block: flags', 'an administrative record must not request status reports (RFC 9171 §4.2.3)');
  // §4.2.3: an anonymous bundle has no identity, so it must not be fragmented and requests no reports.
  if (primary.source.kind === 'null' && (!flags.mustNotFragment || reportsRequested)) {
    fail('ORBITFED_BUNDLE_FLAGS', 'primary block: flags', 'a bundle from dtn:none must set "must not be fragmented" and request no status reports (RFC 9171 §4.2.3)');
  }

  if (!(payload.data instanceof Uint8Array)) fail('ORBITFED_BUNDLE_FIELD', 'payload block: data', 'payload must be a Uint8Array');
  if (primary.fragment !== undefined) {
    const { offsetBytes, totalAduLengthBytes } = primary.fragment;
    if (!isUint(offsetBytes) || !isUint(totalAduLengthBytes)) fail('ORBITFED_BUNDLE_FIELD', 'primary block: fragment', 'fragment offset and total ADU length must be whole numbers up to 2^53-1');
    if (offsetBytes + payload.data.length > totalAduLengthBytes) {
      fail('ORBITFED_BUNDLE_FRAGMENT', 'primary block: fragment', `payload bytes ${offsetBytes} … ${offsetBytes + payload.data.length} lie beyond the total ADU length ${totalAduLengthBytes}`);
    }
  }

  if (!isCrcType(payload.crcType)) fail('ORBITFED_BUNDLE_FIELD', 'payload block: CRC type', `CRC type ${String(payload.crcType)} is not 0, 1 or 2`);
  validateFlagBits(payload.flags.unrecognizedBits, BLOCK_KNOWN_BITS, 'payload block: flags');

  // §4.2.4: no block of an administrative record or an anonymous bundle asks for status reports.
  const noBlockReports = flags.isAdminRecord || primary.source.kind === 'null';
  if (noBlockReports && payload.flags.reportIfUnprocessed) fail('ORBITFED_BUNDLE_FLAGS', 'payload block: flags', 'blocks of administrative records and anonymous bundles must not request status reports (RFC 9171 §4.2.4)');

  const numbers = new Set<number>([PAYLOAD_BLOCK_NUMBER]);
  const seenKinds = new Set<string>();
  for (const block of extensionBlocks) {
    const field = `block ${String(block.blockNumber)} (type ${blockTypeOf(block)})`;
    if (!isUint(block.blockNumber)) fail('ORBITFED_BUNDLE_FIELD', field, 'block number must be a whole number up to 2^53-1');
    if (block.blockNumber <= PAYLOAD_BLOCK_NUMBER) fail('ORBITFED_BUNDLE_BLOCK_NUMBER', field, 'extension blocks are numbered 2 or more: 0 is the primary block and 1 the payload block (RFC 9171 §4.1)');
    if (numbers.has(block.blockNumber)) fail('ORBITFED_BUNDLE_BLOCK_NUMBER', field, `block number ${block.blockNumber} is used twice (RFC 9171 §4.1)`);
    numbers.add(block.blockNumber);
    if (!isCrcType(block.crcType)) fail('ORBITFED_BUNDLE_FIELD', `${field}: CRC type`, `CRC type ${String(block.crcType)} is not 0, 1 or 2`);
    validateFlagBits(block.flags.unrecognizedBits, BLOCK_KNOWN_BITS, `${field}: flags`);
    if (noBlockReports && block.flags.reportIfUnprocessed) fail('ORBITFED_BUNDLE_FLAGS', `${field}: flags`, 'blocks of administrative records and anonymous bundles must not request status reports (RFC 9171 §4.2.4)');
    if (block.kind !== 'opaque') {
      // §4.4.1–4.4.3: at most one of each.
      if (seenKinds.has(block.kind)) fail('ORBITFED_BUNDLE_DUPLICATE_BLOCK', field, `a bundle carries at most one ${block.kind} block (RFC 9171 §4.4)`);
      seenKinds.add(block.kind);
    }
    validateBlockContent(block, field);
  }
  // §4.4.2: with no creation time, the age block is how anyone knows when the bundle expires.
  if (primary.creation.dtnTimeMs === DTN_TIME_UNKNOWN && !seenKinds.has('bundle-age')) {
    fail('ORBITFED_BUNDLE_AGE_MISSING', 'primary block: creation time', 'creation time 0 (unknown) requires a bundle-age block (RFC 9171 §4.4.2)');
  }
}

function validateBlockContent(block: ExtensionBlock, field: string): void {
  switch (block.kind) {
    case 'previous-node':
      validateEid(block.nodeId, 'ORBITFED_BUNDLE_BLOCK_DATA', field);
      if (!isSingletonEid(block.nodeId)) fail('ORBITFED_BUNDLE_BLOCK_DATA', field, `previous node ${formatEid(block.nodeId)} is not a node ID (RFC 9171 §4.2.5.2)`);
      return;
    case 'bundle-age':
      if (!isUint(block.ageMs)) fail('ORBITFED_BUNDLE_BLOCK_DATA', field, `bundle age ${String(block.ageMs)} is not a whole number of ms up to 2^53-1`);
      return;
    case 'hop-count':
      if (!isUint(block.hopLimit) || block.hopLimit < 1 || block.hopLimit > HOP_LIMIT_MAX) fail('ORBITFED_BUNDLE_BLOCK_DATA', field, `hop limit ${String(block.hopLimit)} is outside 1 … 255 (RFC 9171 §4.4.3)`);
      if (!isUint(block.hopCount)) fail('ORBITFED_BUNDLE_BLOCK_DATA', field, `hop count ${String(block.hopCount)} is not a whole number up to 2^53-1`);
      return;
    case 'opaque':
      if (!isUint(block.blockType)) fail('ORBITFED_BUNDLE_FIELD', field, 'block type must be a whole number up to 2^53-1');
      if (block.blockType === BLOCK_TYPE_PAYLOAD) fail('ORBITFED_BUNDLE_PAYLOAD', field, 'a bundle has exactly one payload block, and it comes last (RFC 9171 §4.1)');
      if (block.blockType === BLOCK_TYPE_PREVIOUS_NODE || block.blockType === BLOCK_TYPE_BUNDLE_AGE || block.blockType === BLOCK_TYPE_HOP_COUNT) {
        fail('ORBITFED_BUNDLE_FIELD', field, `block type ${block.blockType} is processed by this node and must not be opaque`);
      }
      if (!(block.data instanceof Uint8Array)) fail('ORBITFED_BUNDLE_FIELD', field, 'block data must be a Uint8Array');
      return;
  }
}
