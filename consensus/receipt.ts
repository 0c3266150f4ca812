// Usage receipts (issue 6, "Receipts"): an orbital or ground node's signed statement that it ran a
// job, what the job used and what it costs. Receipts travel store-and-forward and may reach the
// validators hours late, more than once, or never; the ledger settles each exactly once, against
// the job's escrow, if it is valid and committed before `notAfterMs` plus a grace.
//
// Bytes. The signature covers `signingBytes("orbitfed/usage-receipt/v1", chainId, body)` with
//   body = [version, nodeId, keyEpoch, sequence, jobId,
//           [cpuMs, memoryByteSeconds, diskByteSeconds, gpuMs, egressBytes],
//           amountMinor, currency, createdAtMs, notAfterMs]
// and the wire form is the CBOR array [version, chainId, …the body after version…, signature], at
// most RECEIPT_BYTES_MAX bytes, decoded strictly (consensus/canonical-bytes.ts). Usage is integers
// only: milliseconds of CPU and GPU time, byte-seconds of memory and disk, bytes of egress.
//
// Verification (`verifyReceipt`) gives one precise reason, checking in this order (cheap checks
// first, the signature last):
//   wrong-chain              the receipt names another chain id
//   invalid-validity-window  notAfterMs ≤ createdAtMs, or the window is longer than allowed
//   created-in-future        createdAtMs is after the block time by more than the allowed clock skew
//   expired                  the block time is after notAfterMs + grace
//   unknown-node             no node has this id
//   unknown-key-epoch        the node has no key of this epoch
//   key-revoked              the key was revoked (whenever the receipt says it was made)
//   key-retired              the key was rotated out before the receipt says it was made
//   bad-signature            the signature does not verify (ZIP 215) over the canonical bytes;
//                            this is also what a receipt signed under another domain tag gets
// Decoding failures throw OrbitfedError:
//   ORBITFED_RECEIPT_TOO_LARGE, _TRUNCATED, _MALFORMED (outside the strict CBOR subset, or not
//   canonical), _INVALID (a field of the wrong type or out of range), _TRAILING_BYTES.
import assert from 'node:assert/strict';
import { OrbitfedError, type UnixMs } from '../common/index.ts';
import { encodeCbor, type CborReader, type CborValue } from '../dtn/index.ts';
import { checkChainId, decodeCanonical, signingBytes, SIGNING_DOMAINS, type CanonicalFormat } from './canonical-bytes.ts';
import { ED25519_SIGNATURE_BYTES, ed25519Sign, ed25519Verify, type Ed25519Signer } from './ed25519.ts';
import { checkAmountMinor, checkCount, checkCurrency, checkId } from './identifiers.ts';

export const RECEIPT_FORMAT_VERSION = 1;
/** Default life of a receipt: not-after is 48 h after creation (issue 6). */
export const RECEIPT_VALIDITY_MS_DEFAULT = 48 * 3_600_000;
/** Longest life a receipt may claim: bounds how long the ledger must remember it (dedup window). */
export const RECEIPT_VALIDITY_MS_MAX = 7 * 86_400_000;
/** Encoded receipts are a few hundred bytes; larger input is refused before parsing. */
export const RECEIPT_BYTES_MAX = 1024;
export const KEY_EPOCH_MAX = 0xffff_ffff;
const TEXT_BYTES_MAX = 64;
const U64_MAX = 2n ** 64n - 1n;
const INVALID = 'ORBITFED_RECEIPT_INVALID';

export interface ResourceUsage {
  /** CPU time, all cores summed. */
  readonly cpuMs: number;
  /** Resident memory integrated over the run. */
  readonly memoryByteSeconds: bigint;
  /** Scratch disk integrated over the run. */
  readonly diskByteSeconds: bigint;
  /** GPU busy time, all devices summed. */
  readonly gpuMs: number;
  /** Bytes the job sent off the node (downlink and inter-satellite links). */
  readonly egressBytes: bigint;
}

export interface UsageReceipt {
  readonly chainId: string;
  readonly nodeId: string;
  /** Which of the node's keys signed it (0 for the key it registered with, +1 per rotation). */
  readonly keyEpoch: number;
  /** The node's own counter: (nodeId, sequence) names the receipt. */
  readonly sequence: number;
  readonly jobId: string;
  readonly usage: ResourceUsage;
  /** What the node charges, in minor units of `currency`. */
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly createdAtMs: UnixMs;
  /** Not settled if committed after this (plus the ledger's grace). */
  readonly notAfterMs: UnixMs;
}

export interface SignedReceipt {
  readonly receipt: UsageReceipt;
  readonly signature: Uint8Array;
}

export type NewReceipt = Omit<UsageReceipt, 'notAfterMs'> & { readonly notAfterMs?: UnixMs };

function checkTimeMs(value: number, field: string): void {
  checkCount(value, Number.MAX_SAFE_INTEGER, field, INVALID);
}

/** Field formats and ranges (not the validity window, which `verifyReceipt` judges with a reason). */
export function validateReceipt(receipt: UsageReceipt): void {
  try {
    checkChainId(receipt.chainId);
  } catch (error) {
    throw new OrbitfedError(INVALID, (error as Error).message, { field: 'chainId' });
  }
  checkId(receipt.nodeId, 'nodeId', INVALID);
  checkCount(receipt.keyEpoch, KEY_EPOCH_MAX, 'keyEpoch', INVALID);
  checkCount(receipt.sequence, Number.MAX_SAFE_INTEGER, 'sequence', INVALID);
  checkId(receipt.jobId, 'jobId', INVALID);
  const usage = receipt.usage;
  checkCount(usage.cpuMs, Number.MAX_SAFE_INTEGER, 'usage.cpuMs', INVALID);
  checkCount(usage.gpuMs, Number.MAX_SAFE_INTEGER, 'usage.gpuMs', INVALID);
  for (const field of ['memoryByteSeconds', 'diskByteSeconds', 'egressBytes'] as const) {
    const value = usage[field];
    if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) throw new OrbitfedError(INVALID, `${String(value)} is not a bigint in 0 … 2^64 − 1`, { field: `usage.${field}` });
  }
  checkAmountMinor(receipt.amountMinor, 'amountMinor', INVALID);
  checkCurrency(receipt.currency, 'currency', INVALID);
  checkTimeMs(receipt.createdAtMs, 'createdAtMs');
  checkTimeMs(receipt.notAfterMs, 'notAfterMs');
}

/** A receipt with not-after defaulting to `validityMs` (48 h) after creation; checked. */
export function makeReceipt(fields: NewReceipt, validityMs: number = RECEIPT_VALIDITY_MS_DEFAULT): UsageReceipt {
  assert.ok(Number.isSafeInteger(validityMs) && validityMs > 0 && validityMs <= RECEIPT_VALIDITY_MS_MAX, `receipt validity ${validityMs} ms is outside 1 … ${RECEIPT_VALIDITY_MS_MAX}`);
  const receipt: UsageReceipt = { ...fields, notAfterMs: fields.notAfterMs ?? ((fields.createdAtMs + validityMs) as UnixMs) };
  validateReceipt(receipt);
  return receipt;
}

function usageArray(usage: ResourceUsage): CborValue[] {
  return [usage.cpuMs, usage.memoryByteSeconds, usage.diskByteSeconds, usage.gpuMs, usage.egressBytes];
}

function bodyArray(r: UsageReceipt): CborValue[] {
  return [r.nodeId, r.keyEpoch, r.sequence, r.jobId, usageArray(r.usage), r.amountMinor, r.currency, r.createdAtMs, r.notAfterMs];
}

// Receipts this module decoded are frozen, and their signing bytes, cut out of the wire bytes
// (below), are remembered by object: a validator reads them twice (the signature precheck and
// settlement), and encoding them anew cost ~10 µs each, a tenth of a receipt's CPU beside its
// verification.
const signingBytesOfDecoded = new WeakMap<UsageReceipt, Uint8Array>();
const SIGNING_PREFIX = encodeCbor([SIGNING_DOMAINS.usageReceipt]).subarray(1);
const SIGNING_ARRAY_HEAD = 0x80 | 3;

/**
 * The exact bytes the node signs. For a decoded receipt they are remembered (shared: callers must
 * not modify them).
 */
export function receiptSigningBytes(receipt: UsageReceipt): Uint8Array {
  const remembered = signingBytesOfDecoded.get(receipt);
  if (remembered !== undefined) return remembered;
  validateReceipt(receipt);
  return signingBytes(SIGNING_DOMAINS.usageReceipt, receipt.chainId, [RECEIPT_FORMAT_VERSION, ...bodyArray(receipt)]);
}

/** Signs with the node's key: a 32-byte seed, or a signer that keeps the key imported. */
export function signReceipt(receipt: UsageReceipt, key: Uint8Array | Ed25519Signer): SignedReceipt {
  const bytes = receiptSigningBytes(receipt);
  return { receipt, signature: key instanceof Uint8Array ? ed25519Sign(key, bytes) : key.sign(bytes) };
}

export function encodeSignedReceipt(signed: SignedReceipt): Uint8Array {
  validateReceipt(signed.receipt);
  assert.equal(signed.signature.length, ED25519_SIGNATURE_BYTES, 'a receipt signature has 64 bytes');
  const r = signed.receipt;
  return encodeCbor([RECEIPT_FORMAT_VERSION, r.chainId, ...bodyArray(r), signed.signature]);
}

const RECEIPT_FORMAT: CanonicalFormat = {
  what: 'usage receipt',
  bytesMax: RECEIPT_BYTES_MAX,
  codes: {
    tooLarge: 'ORBITFED_RECEIPT_TOO_LARGE',
    truncated: 'ORBITFED_RECEIPT_TRUNCATED',
    malformed: 'ORBITFED_RECEIPT_MALFORMED',
    invalid: INVALID,
    trailing: 'ORBITFED_RECEIPT_TRAILING_BYTES',
  },
};
const RECEIPT_ITEMS = 12;
const USAGE_ITEMS = 5;

/** Where the items of a receipt's wire bytes start: the version, the chain id, the rest of the body and the signature. */
interface ReceiptSpans {
  versionAt: number;
  chainIdAt: number;
  nodeIdAt: number;
  signatureAt: number;
}

function readSignedReceipt(reader: CborReader, spans: ReceiptSpans): SignedReceipt {
  const count = reader.readArrayHeader('receipt');
  if (count !== RECEIPT_ITEMS) reader.fail('invalid', 'receipt', `a receipt has ${RECEIPT_ITEMS} items, this one ${count}`);
  spans.versionAt = reader.offset;
  const version = reader.readUint('version');
  if (version !== RECEIPT_FORMAT_VERSION) reader.fail('invalid', 'version', `receipt format version ${version} is not ${RECEIPT_FORMAT_VERSION}`);
  spans.chainIdAt = reader.offset;
  const chainId = reader.readText('chainId', TEXT_BYTES_MAX);
  spans.nodeIdAt = reader.offset;
  const nodeId = reader.readText('nodeId', TEXT_BYTES_MAX);
  const keyEpoch = reader.readUint('keyEpoch', KEY_EPOCH_MAX);
  const sequence = reader.readUint('sequence');
  const jobId = reader.readText('jobId', TEXT_BYTES_MAX);
  const usageCount = reader.readArrayHeader('usage');
  if (usageCount !== USAGE_ITEMS) reader.fail('invalid', 'usage', `usage has ${USAGE_ITEMS} items, this one ${usageCount}`);
  const usage: ResourceUsage = {
    cpuMs: reader.readUint('usage.cpuMs'),
    memoryByteSeconds: reader.readBigUint('usage.memoryByteSeconds'),
    diskByteSeconds: reader.readBigUint('usage.diskByteSeconds'),
    gpuMs: reader.readUint('usage.gpuMs'),
    egressBytes: reader.readBigUint('usage.egressBytes'),
  };
  const amountMinor = reader.readBigUint('amountMinor');
  const currency = reader.readText('currency', 8);
  const createdAtMs = reader.readUint('createdAtMs') as UnixMs;
  const notAfterMs = reader.readUint('notAfterMs') as UnixMs;
  spans.signatureAt = reader.offset;
  const signature = reader.readBytes('signature', ED25519_SIGNATURE_BYTES);
  if (signature.length !== ED25519_SIGNATURE_BYTES) reader.fail('invalid', 'signature', `a signature has ${ED25519_SIGNATURE_BYTES} bytes, this one ${signature.length}`);
  const receipt: UsageReceipt = { chainId, nodeId, keyEpoch, sequence, jobId, usage, amountMinor, currency, createdAtMs, notAfterMs };
  validateReceipt(receipt);
  return { receipt, signature };
}

/**
 * Strict decoding of a receipt's wire bytes (codes in the header). The receipt returned is frozen,
 * and its signing bytes are remembered with it.
 */
export function decodeSignedReceipt(bytes: Uint8Array): SignedReceipt {
  const spans: ReceiptSpans = { versionAt: 0, chainIdAt: 0, nodeIdAt: 0, signatureAt: 0 };
  // No re-encoding: readSignedReceipt reads every item strictly and checks both item counts (see decodeCanonical).
  const signed = decodeCanonical(bytes, RECEIPT_FORMAT, (reader) => readSignedReceipt(reader, spans));
  Object.freeze(signed.receipt.usage);
  Object.freeze(signed.receipt);
  Object.freeze(signed);
  signingBytesOfDecoded.set(signed.receipt, signingBytesFromWire(bytes, spans));
  return signed;
}

/**
 * The signing bytes [domain tag, chain id, [version, …body]] cut out of canonical wire bytes
 * [version, chain id, …body, signature]: the same items in the same canonical encoding, rearranged,
 * with the two array heads and the domain tag in front (test/consensus/receipt.test.ts checks them
 * against `signingBytes`).
 */
function signingBytesFromWire(wire: Uint8Array, spans: ReceiptSpans): Uint8Array {
  // Both arrays have fewer than 24 items, so each head is one byte: 0x80 | count.
  assert.ok(wire[0] === (0x80 | RECEIPT_ITEMS) && spans.versionAt === 1 && spans.versionAt < spans.chainIdAt && spans.chainIdAt < spans.nodeIdAt && spans.nodeIdAt < spans.signatureAt);
  const chainId = wire.subarray(spans.chainIdAt, spans.nodeIdAt);
  const version = wire.subarray(spans.versionAt, spans.chainIdAt);
  const body = wire.subarray(spans.nodeIdAt, spans.signatureAt);
  const out = new Uint8Array(1 + SIGNING_PREFIX.length + chainId.length + 1 + version.length + body.length);
  let at = 0;
  out[at++] = SIGNING_ARRAY_HEAD;
  out.set(SIGNING_PREFIX, at);
  at += SIGNING_PREFIX.length;
  out.set(chainId, at);
  at += chainId.length;
  out[at++] = 0x80 | (RECEIPT_ITEMS - 2);
  out.set(version, at);
  at += version.length;
  out.set(body, at);
  return out;
}

/** The name of a receipt among all receipts: its node and that node's sequence number. */
export function receiptKey(receipt: UsageReceipt): string {
  return `${receipt.nodeId}#${receipt.sequence}`;
}

/** What the key registry knows of the key a receipt names. */
export type ReceiptSignerKey =
  | { readonly kind: 'unknown-node' }
  | { readonly kind: 'unknown-key-epoch' }
  | { readonly kind: 'key'; readonly publicKey: Uint8Array; readonly retiredAtMs?: number; readonly revokedAtMs?: number };

export interface ReceiptCheckContext {
  readonly chainId: string;
  /** Consensus time of the block the receipt would be committed in. */
  readonly blockTimeMs: number;
  /** Accepted after not-after by at most this much (commit delay, node clock error). */
  readonly graceMs: number;
  /** createdAtMs may be after the block time by at most this much. */
  readonly clockSkewMsMax: number;
  /** notAfterMs − createdAtMs may be at most this much. */
  readonly validityMsMax: number;
  readonly keyOf: (nodeId: string, keyEpoch: number) => ReceiptSignerKey;
  /** The signature check: ed25519Verify, or anything with its answers (SignatureVerdicts remembers them). */
  readonly verifySignature?: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  /** `receiptSigningBytes` of the receipt when the caller already built them (settlement hashes them too). */
  readonly signingBytes?: Uint8Array;
}

export type ReceiptRejection =
  | 'wrong-chain' | 'invalid-validity-window' | 'created-in-future' | 'expired'
  | 'unknown-node' | 'unknown-key-epoch' | 'key-revoked' | 'key-retired' | 'bad-signature';

export type ReceiptVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ReceiptRejection; readonly detail: string };

const reject = (reason: ReceiptRejection, detail: string): ReceiptVerdict => ({ ok: false, reason, detail });

/** Judges a decoded receipt at a block time (reasons and their order in the header). */
export function verifyReceipt(signed: SignedReceipt, context: ReceiptCheckContext): ReceiptVerdict {
  const r = signed.receipt;
  if (r.chainId !== context.chainId) return reject('wrong-chain', `receipt is for chain ${JSON.stringify(r.chainId)}, this is ${JSON.stringify(context.chainId)}`);
  const windowMs = r.notAfterMs - r.createdAtMs;
  if (windowMs <= 0 || windowMs > context.validityMsMax) {
    return reject('invalid-validity-window', `not-after − created-at is ${windowMs} ms, allowed 1 … ${context.validityMsMax}`);
  }
  if (r.createdAtMs > context.blockTimeMs + context.clockSkewMsMax) {
    return reject('created-in-future', `created ${r.createdAtMs - context.blockTimeMs} ms after the block time, more than the ${context.clockSkewMsMax} ms allowed`);
  }
  if (context.blockTimeMs > r.notAfterMs + context.graceMs) {
    return reject('expired', `block time is ${context.blockTimeMs - r.notAfterMs} ms after not-after, more than the ${context.graceMs} ms grace`);
  }
  const key = context.keyOf(r.nodeId, r.keyEpoch);
  if (key.kind === 'unknown-node') return reject('unknown-node', `no node ${r.nodeId} is registered`);
  if (key.kind === 'unknown-key-epoch') return reject('unknown-key-epoch', `node ${r.nodeId} has no key of epoch ${r.keyEpoch}`);
  if (key.revokedAtMs !== undefined) return reject('key-revoked', `key epoch ${r.keyEpoch} of ${r.nodeId} was revoked at ${key.revokedAtMs}`);
  if (key.retiredAtMs !== undefined && r.createdAtMs >= key.retiredAtMs) {
    return reject('key-retired', `key epoch ${r.keyEpoch} of ${r.nodeId} was rotated out at ${key.retiredAtMs}, before the receipt's creation at ${r.createdAtMs}`);
  }
  if (!(context.verifySignature ?? ed25519Verify)(key.publicKey, context.signingBytes ?? receiptSigningBytes(r), signed.signature)) {
    return reject('bad-signature', `the signature does not verify under key epoch ${r.keyEpoch} of ${r.nodeId}`);
  }
  return { ok: true };
}
