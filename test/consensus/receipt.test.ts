// Usage receipts as the node signs them and the validators judge them: canonical bytes that round
// trip, strict decoding with one code per failure, and every reason `verifyReceipt` gives.
import { describe, expect, it } from 'vitest';
import type { UnixMs } from '../../common/index.ts';
import { OrbitfedError } from '../../common/index.ts';
import { signingBytes, SIGNING_DOMAINS } from '../../consensus/canonical-bytes.ts';
import { ed25519KeyPairFromSeed, ed25519Sign } from '../../consensus/ed25519.ts';
import {
  decodeSignedReceipt, encodeSignedReceipt, makeReceipt, RECEIPT_BYTES_MAX, RECEIPT_VALIDITY_MS_DEFAULT, RECEIPT_VALIDITY_MS_MAX,
  receiptKey, receiptSigningBytes, signReceipt, verifyReceipt, type ReceiptCheckContext, type ReceiptSignerKey, type SignedReceipt, type UsageReceipt,
} from '../../consensus/receipt.ts';
import { decodeTransaction, encodeTransaction, type LedgerTransaction } from '../../consensus/ledger-transactions.ts';
import { seededRng } from '../../common/index.ts';
import { CHAIN_ID, HOUR_MS, seedOf, T0_MS, USAGE } from './ledger-world.ts';

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const SEED = seedOf('sat-1');
const KEY = ed25519KeyPairFromSeed(SEED).publicKey;
const GRACE_MS = 10 * 60_000;

const receiptOf = (fields: Partial<UsageReceipt> = {}): UsageReceipt => makeReceipt({
  chainId: CHAIN_ID, nodeId: 'sat-1', keyEpoch: 0, sequence: 41, jobId: 'job-7', usage: USAGE, amountMinor: 1_250n, currency: 'EUR',
  createdAtMs: T0_MS as UnixMs, ...fields,
});

const contextAt = (blockTimeMs: number, key: ReceiptSignerKey = { kind: 'key', publicKey: KEY }): ReceiptCheckContext => ({
  chainId: CHAIN_ID, blockTimeMs, graceMs: GRACE_MS, clockSkewMsMax: 5 * 60_000, validityMsMax: RECEIPT_VALIDITY_MS_MAX, keyOf: () => key,
});

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (error) {
    return error instanceof OrbitfedError ? error.code : `not an OrbitfedError: ${String(error)}`;
  }
  return undefined;
};

describe('receipt bytes', () => {
  it('defaults not-after to 48 h after creation, and takes another validity when asked', () => {
    expect(receiptOf().notAfterMs).toBe(T0_MS + RECEIPT_VALIDITY_MS_DEFAULT);
    expect(RECEIPT_VALIDITY_MS_DEFAULT).toBe(48 * HOUR_MS);
    expect(makeReceipt({ ...receiptOf(), notAfterMs: undefined }, 6 * HOUR_MS).notAfterMs).toBe(T0_MS + 6 * HOUR_MS);
  });

  it('signs CBOR ["orbitfed/usage-receipt/v1", chain id, body] with fields in a fixed order', () => {
    const bytes = receiptSigningBytes(receiptOf());
    // 83: array of 3; 78 19: text of 25 bytes, the domain tag; 6d: text of 13 bytes, the chain id; 8a: the 10-item body.
    expect(toHex(bytes.subarray(0, 3))).toBe('837819');
    expect(Buffer.from(bytes.subarray(3, 28)).toString()).toBe('orbitfed/usage-receipt/v1');
    expect(toHex(bytes.subarray(28, 29))).toBe('6d');
    expect(Buffer.from(bytes.subarray(29, 42)).toString()).toBe(CHAIN_ID);
    expect(toHex(bytes.subarray(42, 44))).toBe('8a01');
    expect(toHex(bytes)).toBe(toHex(signingBytes(SIGNING_DOMAINS.usageReceipt, CHAIN_ID, bodyOf(receiptOf()))));
  });

  it('round-trips through its wire bytes, which decode only to themselves', () => {
    const signed = signReceipt(receiptOf(), SEED);
    const bytes = encodeSignedReceipt(signed);
    expect(bytes.length).toBeLessThan(RECEIPT_BYTES_MAX);
    const decoded = decodeSignedReceipt(bytes);
    expect(decoded).toEqual(signed);
    expect(toHex(encodeSignedReceipt(decoded))).toBe(toHex(bytes));
    expect(receiptKey(decoded.receipt)).toBe('sat-1#41');
  });

  it('keeps usage and amounts above 2^53 exact (bigints on the wire)', () => {
    const big = receiptOf({ usage: { ...USAGE, memoryByteSeconds: 2n ** 64n - 1n, egressBytes: 2n ** 60n }, amountMinor: 2n ** 63n - 1n });
    expect(decodeSignedReceipt(encodeSignedReceipt(signReceipt(big, SEED))).receipt).toEqual(big);
  });

  it('refuses bytes that are too large, truncated, followed by more, or not canonical', () => {
    const bytes = encodeSignedReceipt(signReceipt(receiptOf(), SEED));
    expect(codeOf(() => decodeSignedReceipt(new Uint8Array(RECEIPT_BYTES_MAX + 1)))).toBe('ORBITFED_RECEIPT_TOO_LARGE');
    expect(codeOf(() => decodeSignedReceipt(bytes.subarray(0, bytes.length - 1)))).toBe('ORBITFED_RECEIPT_TRUNCATED');
    expect(codeOf(() => decodeSignedReceipt(Uint8Array.from([...bytes, 0])))).toBe('ORBITFED_RECEIPT_TRAILING_BYTES');
    // The version (1) written with a one-byte argument (18 01) instead of in the head: not shortest form.
    const longForm = Uint8Array.from([bytes[0]!, 0x18, 0x01, ...bytes.subarray(2)]);
    expect(codeOf(() => decodeSignedReceipt(longForm))).toBe('ORBITFED_RECEIPT_MALFORMED');
  });

  it('refuses a wrong item count, version, id, currency or signature length as invalid', () => {
    const bytes = encodeSignedReceipt(signReceipt(receiptOf(), SEED));
    expect(codeOf(() => decodeSignedReceipt(Uint8Array.from([0x8b, ...bytes.subarray(1)])))).toBe('ORBITFED_RECEIPT_INVALID');
    expect(codeOf(() => decodeSignedReceipt(Uint8Array.from([bytes[0]!, 0x02, ...bytes.subarray(2)])))).toBe('ORBITFED_RECEIPT_INVALID');
    const withText = (field: 'nodeId' | 'currency', value: string): Uint8Array => {
      const r = receiptOf();
      const encoded = encodeSignedReceipt({ receipt: r, signature: new Uint8Array(64) });
      const from = Buffer.from(encoded).indexOf(Buffer.from(r[field]));
      const copy = Uint8Array.from(encoded);
      copy.set(Buffer.from(value), from);
      return copy;
    };
    expect(codeOf(() => decodeSignedReceipt(withText('nodeId', 'sat/1')))).toBe('ORBITFED_RECEIPT_INVALID');
    expect(codeOf(() => decodeSignedReceipt(withText('currency', 'eur')))).toBe('ORBITFED_RECEIPT_INVALID');
    const shortSignature = encodeSignedReceipt({ receipt: receiptOf(), signature: new Uint8Array(64) });
    const cut = Uint8Array.from([...shortSignature.subarray(0, shortSignature.length - 66), 0x58, 63, ...new Uint8Array(63)]);
    expect(codeOf(() => decodeSignedReceipt(cut))).toBe('ORBITFED_RECEIPT_INVALID');
  });

  it('gives a decoded receipt the same signing bytes as the receipt it was made from (cut from the wire bytes, not encoded again)', () => {
    const rng = seededRng(6);
    const bits = (n: number): bigint => BigInt(Math.floor(rng() * 2 ** 30)) << BigInt(Math.max(0, n - 30));
    for (let i = 0; i < 300; i++) {
      const made = makeReceipt({
        chainId: i % 2 === 0 ? CHAIN_ID : `chain-${'x'.repeat(i % 44)}`, nodeId: `node-${'n'.repeat(i % 60)}`, keyEpoch: Math.floor(rng() * 2 ** 32),
        sequence: Math.floor(rng() * Number.MAX_SAFE_INTEGER), jobId: `job-${i}`,
        usage: { cpuMs: Math.floor(rng() * 2 ** 40), memoryByteSeconds: bits(64), diskByteSeconds: bits(i % 65), gpuMs: i, egressBytes: bits(i % 40) },
        amountMinor: bits(i % 63), currency: i % 3 === 0 ? 'EUR' : 'USDC', createdAtMs: (T0_MS + i * 997) as UnixMs,
      });
      const decoded = decodeSignedReceipt(encodeSignedReceipt(signReceipt(made, SEED)));
      expect(toHex(receiptSigningBytes(decoded.receipt))).toBe(toHex(receiptSigningBytes(made)));
    }
    console.log('seed 6');
  });

  it('decodes to frozen values, so the signing bytes remembered with a receipt stay its own', () => {
    const decoded = decodeSignedReceipt(encodeSignedReceipt(signReceipt(receiptOf(), SEED)));
    expect(Object.isFrozen(decoded) && Object.isFrozen(decoded.receipt) && Object.isFrozen(decoded.receipt.usage)).toBe(true);
    expect(toHex(receiptSigningBytes(decoded.receipt))).toBe(toHex(receiptSigningBytes(receiptOf())));
  });

  it('accepts only bytes that are the canonical encoding of what they decode to (why decoding need not encode again)', () => {
    // Receipts and ledger transactions are decoded without re-encoding (canonical-bytes.ts): the
    // strict reader must accept no second byte form of any value. Mutated encodings of valid ones:
    // whatever decodes must encode back to exactly those bytes.
    const rng = seededRng(11);
    const receipt = encodeSignedReceipt(signReceipt(receiptOf({ usage: { ...USAGE, memoryByteSeconds: 2n ** 40n } }), SEED));
    const txs = [
      encodeTransaction({ kind: 'settle-receipt', receipt: decodeSignedReceipt(receipt) }),
      encodeTransaction({ kind: 'escrow-open', escrowId: 'e-1', jobId: 'j-1', tenantAccountId: 'tenant-a', providerAccountId: 'sat-1-earnings', amountMinor: 70_000n, deadlineMs: T0_MS }),
      encodeTransaction({ kind: 'transfer', transferId: 't-1', debitAccountId: 'tenant-a', creditAccountId: 'tenant-b', amountMinor: 5n }),
    ];
    let decodedMutants = 0;
    for (let i = 0; i < 20_000; i++) {
      const original = i % 4 === 0 ? receipt : txs[i % 3]!;
      const mutant = Uint8Array.from(original);
      for (let k = 1 + Math.floor(rng() * 2); k > 0; k--) mutant[Math.floor(rng() * mutant.length)] = Math.floor(rng() * 256);
      if (i % 4 === 0) {
        let decoded: SignedReceipt;
        try {
          decoded = decodeSignedReceipt(mutant);
        } catch {
          continue;
        }
        decodedMutants++;
        expect(toHex(encodeSignedReceipt(decoded))).toBe(toHex(mutant));
      } else {
        let decoded: LedgerTransaction;
        try {
          decoded = decodeTransaction(mutant);
        } catch {
          continue;
        }
        decodedMutants++;
        expect(toHex(encodeTransaction(decoded))).toBe(toHex(mutant));
      }
    }
    expect(decodedMutants).toBeGreaterThan(1000);
    console.log(`seed 11: ${decodedMutants} mutants decoded, each to its own canonical bytes`);
  });

  it('refuses to make a receipt with a field out of range, naming the field', () => {
    expect(() => receiptOf({ jobId: '' })).toThrow(expect.objectContaining({ code: 'ORBITFED_RECEIPT_INVALID', location: { field: 'jobId' } }));
    expect(() => receiptOf({ amountMinor: -1n })).toThrow(expect.objectContaining({ location: { field: 'amountMinor' } }));
    expect(() => receiptOf({ usage: { ...USAGE, cpuMs: 1.5 } })).toThrow(expect.objectContaining({ location: { field: 'usage.cpuMs' } }));
    expect(() => receiptOf({ chainId: 'Not A Chain' })).toThrow(expect.objectContaining({ location: { field: 'chainId' } }));
  });
});

describe('verifyReceipt', () => {
  const signed = signReceipt(receiptOf(), SEED);
  const verdict = (s: SignedReceipt, context: ReceiptCheckContext): string => {
    const v = verifyReceipt(s, context);
    return v.ok ? 'ok' : v.reason;
  };

  it('accepts a receipt signed by its node, from its creation until not-after + grace', () => {
    expect(verdict(signed, contextAt(T0_MS))).toBe('ok');
    expect(verdict(signed, contextAt(signed.receipt.notAfterMs + GRACE_MS))).toBe('ok');
  });

  it('refuses a late receipt: committed after not-after + grace', () => {
    expect(verdict(signed, contextAt(signed.receipt.notAfterMs + GRACE_MS + 1))).toBe('expired');
  });

  it('refuses a receipt for another chain (wrong-chain), even when its signature is right for that chain', () => {
    const other = signReceipt(receiptOf({ chainId: 'orbitfed-other' }), SEED);
    expect(verdict(other, contextAt(T0_MS))).toBe('wrong-chain');
  });

  it('refuses a validity window that is empty, reversed or longer than allowed', () => {
    expect(verdict(signReceipt(receiptOf({ notAfterMs: T0_MS as UnixMs }), SEED), contextAt(T0_MS))).toBe('invalid-validity-window');
    expect(verdict(signReceipt(receiptOf({ notAfterMs: (T0_MS - 1) as UnixMs }), SEED), contextAt(T0_MS))).toBe('invalid-validity-window');
    expect(verdict(signReceipt(receiptOf({ notAfterMs: (T0_MS + RECEIPT_VALIDITY_MS_MAX + 1) as UnixMs }), SEED), contextAt(T0_MS))).toBe('invalid-validity-window');
  });

  it('refuses a receipt created further in the future than the clock skew allowed', () => {
    expect(verdict(signed, contextAt(T0_MS - 5 * 60_000))).toBe('ok');
    expect(verdict(signed, contextAt(T0_MS - 5 * 60_000 - 1))).toBe('created-in-future');
  });

  it('refuses a receipt from an unknown node or key epoch', () => {
    expect(verdict(signed, contextAt(T0_MS, { kind: 'unknown-node' }))).toBe('unknown-node');
    expect(verdict(signed, contextAt(T0_MS, { kind: 'unknown-key-epoch' }))).toBe('unknown-key-epoch');
  });

  it('refuses a receipt under a revoked key, whenever it claims to have been made', () => {
    expect(verdict(signed, contextAt(T0_MS, { kind: 'key', publicKey: KEY, revokedAtMs: T0_MS + HOUR_MS }))).toBe('key-revoked');
  });

  it('accepts a receipt under a rotated-out key made before the rotation, and refuses one made after', () => {
    expect(verdict(signed, contextAt(T0_MS + HOUR_MS, { kind: 'key', publicKey: KEY, retiredAtMs: T0_MS + 1 }))).toBe('ok');
    expect(verdict(signed, contextAt(T0_MS + HOUR_MS, { kind: 'key', publicKey: KEY, retiredAtMs: T0_MS }))).toBe('key-retired');
  });

  it('refuses a tampered receipt: any field changed after signing', () => {
    const tampered: UsageReceipt[] = [
      { ...signed.receipt, amountMinor: signed.receipt.amountMinor + 1n },
      { ...signed.receipt, jobId: 'job-8' },
      { ...signed.receipt, usage: { ...USAGE, gpuMs: 1 } },
      { ...signed.receipt, notAfterMs: (signed.receipt.notAfterMs + 1) as UnixMs },
      { ...signed.receipt, sequence: 42 },
    ];
    for (const receipt of tampered) expect(verdict({ receipt, signature: signed.signature }, contextAt(T0_MS))).toBe('bad-signature');
    const flipped = Uint8Array.from(signed.signature);
    flipped[10]! ^= 0x40;
    expect(verdict({ receipt: signed.receipt, signature: flipped }, contextAt(T0_MS))).toBe('bad-signature');
  });

  it('refuses a receipt signed by another key than the one registered for its epoch', () => {
    expect(verdict(signReceipt(receiptOf(), seedOf('sat-2')), contextAt(T0_MS))).toBe('bad-signature');
  });

  it('refuses the same body signed under another domain tag (a signature is bound to what it signs)', () => {
    const r = receiptOf();
    const body = bodyOf(r);
    const underRotationTag = ed25519Sign(SEED, signingBytes(SIGNING_DOMAINS.keyRotation, CHAIN_ID, body));
    expect(verdict({ receipt: r, signature: underRotationTag }, contextAt(T0_MS))).toBe('bad-signature');
    const underReceiptTag = ed25519Sign(SEED, signingBytes(SIGNING_DOMAINS.usageReceipt, CHAIN_ID, body));
    expect(verdict({ receipt: r, signature: underReceiptTag }, contextAt(T0_MS))).toBe('ok');
  });
});

/** The signed body, field by field, in the order consensus/receipt.ts documents. */
function bodyOf(r: UsageReceipt): (string | number | bigint | (number | bigint)[])[] {
  const u = r.usage;
  return [1, r.nodeId, r.keyEpoch, r.sequence, r.jobId, [u.cpuMs, u.memoryByteSeconds, u.diskByteSeconds, u.gpuMs, u.egressBytes], r.amountMinor, r.currency, r.createdAtMs, r.notAfterMs];
}
