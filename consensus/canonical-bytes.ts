// Signed structures are signed as exact canonical bytes (ARCHITECTURE: "Identity"): the
// deterministic CBOR of dtn/cbor.ts (RFC 8949 §4.2.1 shortest-form heads, definite lengths, no
// floats, no maps: fields sit at fixed positions in arrays), framed as
//
//   [domain tag, chain id, body]      e.g. ["orbitfed/usage-receipt/v1", "orbitfed-demo", [...]]
//
// The domain tag keeps a signature over one kind of structure from being replayed as another (a
// receipt body can never verify as a key rotation, whatever its fields); the chain id keeps a
// signature made for one federation (or a test network) from verifying on another. Both sit in
// front of the body inside one CBOR array, so the framing is unambiguous without length prefixes.
//
// Decoding is strict: size cap before parsing, the strict reader, no trailing bytes, and the value
// must re-encode to exactly the input (so a signed structure has one byte form, and what a
// verifier hashes is what the signer signed).
import { hash } from 'node:crypto';
import { OrbitfedError } from '../common/index.ts';
import { CborReader, encodeCbor, type CborErrorCodes, type CborValue } from '../dtn/index.ts';

/** Every domain tag in use, in one place, so that two structures never share one. */
export const SIGNING_DOMAINS = {
  usageReceipt: 'orbitfed/usage-receipt/v1',
  nodeRegistration: 'orbitfed/node-registration/v1',
  keyRotation: 'orbitfed/key-rotation/v1',
  keyRevocation: 'orbitfed/key-revocation/v1',
  nodeAttestation: 'orbitfed/node-attestation/v1',
  // The scheduler ↔ node protocol carried in bundles (scheduler/job-assignment.ts).
  jobAssignment: 'orbitfed/job-assignment/v1',
  nodeReport: 'orbitfed/node-report/v1',
  jobResult: 'orbitfed/job-result/v1',
  contactPlanUpdate: 'orbitfed/contact-plan-update/v1',
} as const;

/**
 * Lower-case letters, digits, dots and dashes, 1–50 bytes ("orbitfed-demo", "testnet-3"); 50 is
 * CometBFT's MaxChainIDLen, so the same chain id works for the consensus messages and the ledger.
 */
export const CHAIN_ID_PATTERN = /^[a-z0-9][a-z0-9.-]{0,49}$/;
/** "orbitfed/<structure>/v<version>". */
export const DOMAIN_TAG_PATTERN = /^orbitfed\/[a-z0-9-]{1,48}\/v[1-9][0-9]{0,3}$/;

export function checkChainId(chainId: string): void {
  if (!CHAIN_ID_PATTERN.test(chainId)) {
    throw new OrbitfedError('ORBITFED_CHAIN_ID', `chain id ${JSON.stringify(chainId)} is not 1–50 of [a-z0-9.-] starting with a letter or digit`, { field: 'chainId' });
  }
}

/** The exact bytes a signer signs: CBOR [domainTag, chainId, body]. */
export function signingBytes(domainTag: string, chainId: string, body: readonly CborValue[]): Uint8Array {
  if (!DOMAIN_TAG_PATTERN.test(domainTag)) {
    throw new OrbitfedError('ORBITFED_DOMAIN_TAG', `domain tag ${JSON.stringify(domainTag)} is not "orbitfed/<structure>/v<n>"`, { field: 'domainTag' });
  }
  checkChainId(chainId);
  return encodeCbor([domainTag, chainId, body]);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha256', bytes, 'buffer'));
}

/** How one canonical format reports its failures. */
export interface CanonicalFormat {
  /** What is decoded, for messages ("usage receipt"). */
  readonly what: string;
  /** Larger inputs are refused before parsing. */
  readonly bytesMax: number;
  readonly codes: CborErrorCodes & {
    /** More than `bytesMax` bytes. */
    readonly tooLarge: string;
    /** Bytes after the value. */
    readonly trailing: string;
  };
}

/**
 * Decodes one canonical value: size cap, `read` over the strict reader, nothing left over, and, when
 * `encode` is given, the value re-encodes to exactly the input. Throws OrbitfedError with the
 * format's codes.
 *
 * The re-encoding may be left out for a format whose `read` takes every item through the strict
 * reader's typed reads (shortest-form heads, definite lengths, valid UTF-8, no tags or floats) and
 * checks every array's item count: then each item has one accepted byte form, the one the writer
 * produces, so the input is the canonical encoding of what was read by construction. Receipts and
 * ledger transactions do so (a validator decodes every transaction, and re-encoding was a third of
 * the cost); test/consensus/receipt.test.ts pins the property on mutated inputs.
 */
export function decodeCanonical<T>(bytes: Uint8Array, format: CanonicalFormat, read: (reader: CborReader) => T, encode?: (value: T) => Uint8Array): T {
  if (bytes.length > format.bytesMax) {
    throw new OrbitfedError(format.codes.tooLarge, `${format.what} of ${bytes.length} bytes is larger than the ${format.bytesMax} accepted`);
  }
  const reader = new CborReader(bytes, format.codes);
  const value = read(reader);
  if (!reader.atEnd) {
    throw new OrbitfedError(format.codes.trailing, `${bytes.length - reader.offset} bytes after the ${format.what} at byte ${reader.offset}`);
  }
  if (encode !== undefined && !bytesEqual(encode(value), bytes)) {
    throw new OrbitfedError(format.codes.malformed, `${format.what} does not re-encode to its own bytes (not in canonical form)`);
  }
  return value;
}
