// One ed25519 rule for the whole federation (ZIP 215), pinned to reference vectors: RFC 8032 §7.1,
// the 12 edge cases of "Taming the many EdDSAs" (ed25519-speccheck) with the ZIP 215 verdicts of
// its reference implementation, the 8 small-order points in all 14 encodings, and signatures with
// torsion components built here. The contract this file holds @noble/curves and node:crypto to:
// OpenSSL accepting implies ZIP 215 accepting (consensus/ed25519.ts explains why), so the fast path
// can never accept what the rule refuses.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import {
  checkPublicKeyForRegistration, ed25519KeyPairFromSeed, ed25519PublicKeyFromSeed, ed25519SeedFromRng, ed25519Sign, ed25519Verify,
  ED25519_SIGNATURE_BYTES, randomEd25519Seed, verifiesOnOpenSsl, verifiesUnderZip215,
} from '../../consensus/ed25519.ts';
import { ED25519_PUBLIC_KEY_BYTES as DTN_PUBLIC_KEY_BYTES, ED25519_SEED_BYTES as DTN_SEED_BYTES } from '../../dtn/index.ts';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SEED_BYTES } from '../../consensus/ed25519.ts';

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/consensus/${name}`, import.meta.url), 'utf8')) as T;

interface RfcVector { readonly name: string; readonly secret_key: string; readonly public_key: string; readonly message: string; readonly signature: string }
interface SpeccheckCase { readonly case: number; readonly description: string; readonly message: string; readonly pub_key: string; readonly signature: string; readonly zip215: boolean }

const RFC8032 = fixture<{ vectors: RfcVector[] }>('rfc8032-ed25519.json').vectors;
const SPECCHECK = fixture<{ cases: SpeccheckCase[] }>('ed25519-speccheck-cases.json').cases;

// RFC 8032 §5.1: L, the order of the base point.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const leToBigint = (bytes: Uint8Array): bigint => BigInt(`0x${toHex(Uint8Array.from(bytes).reverse()) || '0'}`);
const bigintToLe = (value: bigint): Uint8Array => fromHex(value.toString(16).padStart(64, '0')).reverse();
const hashToScalar = (...parts: Uint8Array[]): bigint => {
  const h = createHash('sha512');
  for (const part of parts) h.update(part);
  return leToBigint(new Uint8Array(h.digest())) % L;
};

// The 8 points of order dividing 8, canonical encodings (ed25519-speccheck src/main.rs, EIGHT_TORSION,
// from curve25519-dalek), then the 6 other encodings of some of them: y ≥ p (y + p for y = 0 and
// y = 1, with either sign bit) and the sign bit set on x = 0 (the identity, and the point of order 2).
const SMALL_ORDER_CANONICAL = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
];
const SMALL_ORDER_NON_CANONICAL = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];
const ORDER_8_POINT = ed25519.Point.fromBytes(fromHex(SMALL_ORDER_CANONICAL[1]!));

describe('ed25519 identities (RFC 8032 §7.1)', () => {
  it.each(RFC8032.map((v) => [v.name, v] as const))('%s: derives the public key and signs exactly the published signature', (_name, v) => {
    const seed = fromHex(v.secret_key);
    const message = fromHex(v.message);
    expect(toHex(ed25519PublicKeyFromSeed(seed))).toBe(v.public_key);
    expect(toHex(ed25519KeyPairFromSeed(seed).publicKey)).toBe(v.public_key);
    expect(toHex(ed25519Sign(seed, message))).toBe(v.signature);
    expect(ed25519Verify(fromHex(v.public_key), message, fromHex(v.signature))).toBe(true);
    expect(verifiesOnOpenSsl(fromHex(v.public_key), message, fromHex(v.signature))).toBe(true);
    expect(verifiesUnderZip215(fromHex(v.public_key), message, fromHex(v.signature))).toBe(true);
  });

  it('refuses a published signature over another message, under another key, or with a flipped bit', () => {
    const [one, two] = RFC8032;
    expect(ed25519Verify(fromHex(one!.public_key), fromHex('00'), fromHex(one!.signature))).toBe(false);
    expect(ed25519Verify(fromHex(two!.public_key), fromHex(one!.message), fromHex(one!.signature))).toBe(false);
    for (const bit of [0, 100, 255, 256, 300, 511]) {
      const signature = fromHex(one!.signature);
      signature[bit >> 3]! ^= 1 << (bit & 7);
      expect(ed25519Verify(fromHex(one!.public_key), fromHex(one!.message), signature), `bit ${bit}`).toBe(false);
    }
  });

  it('refuses S + L (the malleated twin of a valid signature: ZIP 215 wants S < L)', () => {
    const v = RFC8032[0]!;
    const signature = fromHex(v.signature);
    const s = leToBigint(signature.subarray(32));
    signature.set(bigintToLe(s + L), 32);
    expect(verifiesOnOpenSsl(fromHex(v.public_key), new Uint8Array(), signature)).toBe(false);
    expect(ed25519Verify(fromHex(v.public_key), new Uint8Array(), signature)).toBe(false);
  });

  it('refuses inputs of the wrong length instead of throwing', () => {
    const v = RFC8032[0]!;
    expect(ed25519Verify(fromHex(v.public_key).subarray(1), new Uint8Array(), fromHex(v.signature))).toBe(false);
    expect(ed25519Verify(fromHex(v.public_key), new Uint8Array(), fromHex(v.signature).subarray(1))).toBe(false);
    expect(ed25519Verify(fromHex(v.public_key), new Uint8Array(64 * 1024 + 1), fromHex(v.signature))).toBe(false);
  });

  it('derives the same seed from the same seeded generator, and fresh seeds from the CSPRNG', () => {
    expect(toHex(ed25519SeedFromRng(seededRng(7)))).toBe(toHex(ed25519SeedFromRng(seededRng(7))));
    expect(toHex(ed25519SeedFromRng(seededRng(7)))).not.toBe(toHex(ed25519SeedFromRng(seededRng(8))));
    expect(randomEd25519Seed()).toHaveLength(ED25519_SEED_BYTES);
    expect(toHex(randomEd25519Seed())).not.toBe(toHex(randomEd25519Seed()));
    expect([ED25519_SEED_BYTES, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES]).toEqual([DTN_SEED_BYTES, DTN_PUBLIC_KEY_BYTES, 64]);
  });
});

describe('ZIP 215 on the "Taming the many EdDSAs" vectors (ed25519-speccheck)', () => {
  it('has the 12 cases', () => expect(SPECCHECK.map((c) => c.case)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));

  it.each(SPECCHECK.map((c) => [c.case, c.description, c] as const))('case %i (%s): verdict as ZIP 215 gives it', (_case, _description, c) => {
    const [publicKey, message, signature] = [fromHex(c.pub_key), fromHex(c.message), fromHex(c.signature)];
    expect(ed25519Verify(publicKey, message, signature)).toBe(c.zip215);
    expect(verifiesUnderZip215(publicKey, message, signature)).toBe(c.zip215);
    // The fast path never accepts what ZIP 215 refuses.
    if (verifiesOnOpenSsl(publicKey, message, signature)) expect(c.zip215).toBe(true);
  });

  it('accepts the cofactored-only cases (4, 5) and the non-canonical encodings hashed as received (9, 11), which OpenSSL refuses', () => {
    for (const index of [4, 5, 9, 11]) {
      const c = SPECCHECK[index]!;
      expect(verifiesOnOpenSsl(fromHex(c.pub_key), fromHex(c.message), fromHex(c.signature)), `case ${index}`).toBe(false);
      expect(ed25519Verify(fromHex(c.pub_key), fromHex(c.message), fromHex(c.signature)), `case ${index}`).toBe(true);
    }
  });
});

describe('signatures with torsion components (the fallback at work)', () => {
  const rng = seededRng(215);
  const keys = Array.from({ length: 12 }, () => ed25519KeyPairFromSeed(ed25519SeedFromRng(rng)));
  const randomScalar = (): bigint => leToBigint(ed25519SeedFromRng(rng)) % L;

  /** Signs with R' = [r]B + T: valid under the cofactored equation, not under the cofactorless one. */
  function torsionRSignature(seed: Uint8Array, publicKey: Uint8Array, message: Uint8Array): Uint8Array {
    const { scalar } = ed25519.utils.getExtendedPublicKey(seed);
    const r = randomScalar();
    const rBytes = ed25519.Point.BASE.multiply(r).add(ORDER_8_POINT).toBytes();
    const k = hashToScalar(rBytes, publicKey, message);
    return Uint8Array.from([...rBytes, ...bigintToLe((r + k * scalar) % L)]);
  }

  it('accepts a signature whose R has a torsion component (ZIP 215), which OpenSSL refuses', () => {
    for (const [i, key] of keys.entries()) {
      const message = Buffer.from(`receipt ${i}`);
      const signature = torsionRSignature(key.seed, key.publicKey, message);
      expect(verifiesOnOpenSsl(key.publicKey, message, signature)).toBe(false);
      expect(ed25519Verify(key.publicKey, message, signature)).toBe(true);
      expect(ed25519Verify(key.publicKey, Buffer.from('another message'), signature)).toBe(false);
    }
  });

  it('accepts a signature under A + T when [8] cancels the torsion (but such keys are refused at registration)', () => {
    const key = keys[0]!;
    const { scalar } = ed25519.utils.getExtendedPublicKey(key.seed);
    const mixedKey = ed25519.Point.fromBytes(key.publicKey).add(ORDER_8_POINT).toBytes();
    const message = Buffer.from('mixed-order key');
    const r = randomScalar();
    const rBytes = ed25519.Point.BASE.multiply(r).toBytes();
    const signature = Uint8Array.from([...rBytes, ...bigintToLe((r + hashToScalar(rBytes, mixedKey, message) * scalar) % L)]);
    expect(ed25519Verify(mixedKey, message, signature)).toBe(true);
    expect(checkPublicKeyForRegistration(mixedKey)).toMatchObject({ ok: false, reason: 'torsion' });
  });

  it('never has OpenSSL accept what ZIP 215 refuses, over honest, torsion-laden and corrupted signatures', () => {
    let openSslAccepted = 0;
    for (const [i, key] of keys.entries()) {
      const message = Buffer.from(`message ${i}`);
      const honest = ed25519Sign(key.seed, message);
      const candidates = [honest, torsionRSignature(key.seed, key.publicKey, message)];
      for (let flip = 0; flip < 8; flip++) {
        const corrupted = Uint8Array.from(honest);
        const bit = Math.floor(rng() * 512);
        corrupted[bit >> 3]! ^= 1 << (bit & 7);
        candidates.push(corrupted);
      }
      for (const signature of candidates) {
        const fast = verifiesOnOpenSsl(key.publicKey, message, signature);
        const zip215 = verifiesUnderZip215(key.publicKey, message, signature);
        if (fast) openSslAccepted++;
        expect(!fast || zip215).toBe(true);
        expect(ed25519Verify(key.publicKey, message, signature)).toBe(zip215);
      }
    }
    expect(openSslAccepted).toBeGreaterThanOrEqual(keys.length);
  });
});

describe('checkPublicKeyForRegistration', () => {
  it.each(SMALL_ORDER_CANONICAL)('refuses the small-order point %s', (hex) => {
    expect(checkPublicKeyForRegistration(fromHex(hex))).toMatchObject({ ok: false, reason: 'small-order' });
  });

  it.each(SMALL_ORDER_NON_CANONICAL)('refuses the non-canonical encoding %s of a small-order point as small-order', (hex) => {
    expect(ed25519.Point.fromBytes(fromHex(hex), true).isSmallOrder()).toBe(true);
    expect(checkPublicKeyForRegistration(fromHex(hex))).toMatchObject({ ok: false, reason: 'small-order' });
  });

  it('refuses every encoding with y ≥ p of a point that is not small-order as non-canonical', () => {
    let found = 0;
    for (let i = 0; i <= 18; i++) {
      for (const sign of [0x7f, 0xff]) {
        const bytes = fromHex('ff'.repeat(32));
        bytes[0] = 0xed + i;
        bytes[31] = sign;
        let point;
        try {
          point = ed25519.Point.fromBytes(bytes, true);
        } catch {
          expect(checkPublicKeyForRegistration(bytes)).toMatchObject({ ok: false, reason: 'not-on-curve' });
          continue;
        }
        if (point.isSmallOrder()) continue;
        found++;
        expect(checkPublicKeyForRegistration(bytes), toHex(bytes)).toMatchObject({ ok: false, reason: 'non-canonical' });
      }
    }
    expect(found).toBeGreaterThan(0);
  });

  it('refuses a y-coordinate no curve point has, and a key of the wrong length', () => {
    const notOnCurve = fromHex(`02${'00'.repeat(31)}`);
    expect(() => ed25519.Point.fromBytes(notOnCurve, true)).toThrow();
    expect(checkPublicKeyForRegistration(notOnCurve)).toMatchObject({ ok: false, reason: 'not-on-curve' });
    expect(checkPublicKeyForRegistration(new Uint8Array(31))).toMatchObject({ ok: false, reason: 'length' });
  });

  it('accepts honest keys: the RFC 8032 ones and freshly generated ones', () => {
    for (const v of RFC8032) expect(checkPublicKeyForRegistration(fromHex(v.public_key))).toEqual({ ok: true });
    for (let i = 0; i < 20; i++) expect(checkPublicKeyForRegistration(ed25519KeyPairFromSeed(randomEd25519Seed()).publicKey)).toEqual({ ok: true });
  });
});
