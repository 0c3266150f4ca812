// Ed25519 identities and the one verification rule of the federation (ARCHITECTURE: "Identity"):
// ZIP 215 (https://zips.z.cash/zip-0215), everywhere. The only importer of @noble/curves
// (STYLE rule 17).
//
// ZIP 215 in short: A and R are decoded leniently (a y-coordinate ≥ p and the sign bit set on x = 0
// are accepted, the hash takes the bytes as received, not re-encoded); S must be canonical
// (S < L); the check is the cofactored equation [8][S]B = [8]R + [8][k]A with
// k = SHA-512(R_bytes ‖ A_bytes ‖ M) mod L. Every honest signature passes it and every validator
// gets the same answer for every input, which is what consensus needs: a rule two libraries apply
// differently splits the chain (Chalkias, Garillot, Nikolaenko, "Taming the many EdDSAs", 2020).
//
// Fast path through node:crypto (OpenSSL), fallback to @noble/curves with `zip215: true` only when
// OpenSSL rejects. Why the composition is exactly ZIP 215:
// - OpenSSL accepts ⇒ ZIP 215 accepts. OpenSSL's `ossl_ed25519_verify` (crypto/ec/curve25519.c)
//   returns 1 only if S < L (we check that ourselves first, so the argument does not rest on
//   OpenSSL's version), A decodes, and ENC([S]B − [k]A) equals the 32 R bytes as received, with k
//   hashed from the raw R and A bytes. ENC produces the canonical encoding, so R_bytes is canonical
//   and decodes to R = [S]B − [k]A; then [8]([S]B − R − [k]A) = [8]·0 = 0, the ZIP 215 equation.
//   A decodes to the same point in both: OpenSSL's `ge_frombytes_vartime` reads y mod p (a y ≥ p
//   is reduced, not refused) and only flips x by the sign bit (x = 0 with the bit set stays 0),
//   which is ZIP 215's decoding; k is the same because both hash the same bytes. Any extra
//   refusal a newer OpenSSL adds only sends more inputs to the fallback (Node 24's OpenSSL 3.5
//   refuses speccheck cases 0–2, small-order A or R, which the speccheck table shows OpenSSL 3.0
//   accepting). test/consensus/ed25519.test.ts pins the implication on the speccheck vectors and on
//   signatures with torsion components.
// - OpenSSL rejects ⇒ @noble/curves decides with `zip215: true`, which is ZIP 215 itself (its
//   `verify` decodes with `Point.fromBytes(bytes, true)`, refuses S ≥ L in `multiplyUnsafe`, hashes
//   the raw bytes and checks `(R + [k]A − [S]B)·8 = 0`).
// So the answer is ZIP 215's whichever path gives it. The fallback costs ~1.5 ms (OpenSSL ~0.15 ms,
// measured here): honest signatures from registered keys (canonical, torsion-free, see
// `checkPublicKeyForRegistration`) always take the fast path; forged ones pay the slow one.
//
// @noble/curves is loaded when it is first needed, at the first signature OpenSSL rejects, not when
// this file is: an orbital agent that only sees honest signatures never holds it (14 modules, ~1.5 MB
// resident, orbital/README.md "Memory and start-up"). Verification stays synchronous (the ledger's
// state machine calls it): the package is an ES module without top-level await, which Node ≥ 22.12
// loads synchronously through `require`; the first rejected signature pays that load (~10–20 ms,
// once per process), the verdict is the same. The registration check (which the agent runs on its
// scheduler's key at every start) does its own curve arithmetic, below, held to @noble/curves'
// answers by test/consensus/ed25519-lazy.test.ts.
//
// Importing a raw key into OpenSSL costs about as much as verifying with it, and a validator sees
// the same few hundred node keys all day, so imported public keys are kept in a bounded cache
// (PUBLIC_KEY_CACHE_ENTRIES_MAX, oldest dropped first). It holds no state that matters: every
// answer is the same with or without it. Signing keys are not cached here; a node that signs often
// keeps an `Ed25519Signer`.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ed25519 as NobleEd25519 } from '@noble/curves/ed25519.js';

export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
/** Longest message signed or verified: our signed structures are canonical CBOR of a few hundred bytes. */
export const ED25519_MESSAGE_BYTES_MAX = 64 * 1024;

// RFC 8410 §7 / §10: the DER framing of a raw Ed25519 key, so OpenSSL can import the 32 raw bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// RFC 8032 §5.1: L = 2^252 + 27742317777372353535851937790883648493, the order of the base point.
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

const requireHere = createRequire(import.meta.url);
let nobleEd25519: typeof NobleEd25519 | undefined;

/** @noble/curves' ed25519, loaded at the first call (see the header). */
function noble(): typeof NobleEd25519 {
  nobleEd25519 ??= (requireHere('@noble/curves/ed25519.js') as { ed25519: typeof NobleEd25519 }).ed25519;
  return nobleEd25519;
}

/** Imported public keys kept for reuse; beyond it the oldest is dropped. */
export const PUBLIC_KEY_CACHE_ENTRIES_MAX = 4096;
const publicKeyCache = new Map<string, KeyObject>();

function importedPublicKey(publicKey: Uint8Array): KeyObject {
  const hex = Buffer.from(publicKey).toString('hex');
  let key = publicKeyCache.get(hex);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_ENTRIES_MAX) publicKeyCache.delete(publicKeyCache.keys().next().value!);
    publicKeyCache.set(hex, key);
  }
  return key;
}

export interface Ed25519KeyPair {
  /** The RFC 8032 private key: 32 random bytes. */
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A fresh identity from the operating system's CSPRNG. */
export function randomEd25519Seed(): Uint8Array {
  return new Uint8Array(randomBytes(ED25519_SEED_BYTES));
}

/** A reproducible seed from a seeded generator (simulation and tests only: not secret). */
export function ed25519SeedFromRng(rng: () => number): Uint8Array {
  const seed = new Uint8Array(ED25519_SEED_BYTES);
  for (let i = 0; i < seed.length; i++) seed[i] = Math.floor(rng() * 256);
  return seed;
}

function privateKeyOf(seed: Uint8Array): KeyObject {
  assert.equal(seed.length, ED25519_SEED_BYTES, `an ed25519 seed has ${ED25519_SEED_BYTES} bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function ed25519PublicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyOf(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

export function ed25519KeyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  return { seed: new Uint8Array(seed), publicKey: ed25519PublicKeyFromSeed(seed) };
}

/** RFC 8032 §5.1.6 (deterministic: the same seed and message give the same signature). */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519Signer(seed).sign(message);
}

/** A signing key imported once, for a node that signs many messages. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export function ed25519Signer(seed: Uint8Array): Ed25519Signer {
  const privateKey = privateKeyOf(seed);
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)),
    sign: (message) => {
      if (message.length > ED25519_MESSAGE_BYTES_MAX) assert.fail(`message of ${message.length} bytes is above ${ED25519_MESSAGE_BYTES_MAX}`);
      return new Uint8Array(cryptoSign(null, message, privateKey));
    },
  };
}

function hasShape(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return publicKey.length === ED25519_PUBLIC_KEY_BYTES && signature.length === ED25519_SIGNATURE_BYTES && message.length <= ED25519_MESSAGE_BYTES_MAX;
}

/** S < L (ZIP 215 and RFC 8032 §5.1.7 both require the canonical scalar). */
function isCanonicalScalar(signature: Uint8Array): boolean {
  let s = 0n;
  for (let i = ED25519_SIGNATURE_BYTES - 1; i >= ED25519_PUBLIC_KEY_BYTES; i--) s = (s << 8n) | BigInt(signature[i]!);
  return s < GROUP_ORDER;
}

/** OpenSSL's verdict alone (the fast path). Exposed for the contract test. */
export function verifiesOnOpenSsl(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!hasShape(publicKey, message, signature) || !isCanonicalScalar(signature)) return false;
  try {
    return cryptoVerify(null, message, importedPublicKey(publicKey), signature);
  } catch {
    // A key OpenSSL will not import is decided by the fallback, like any other refusal.
    return false;
  }
}

/** ZIP 215's verdict through @noble/curves alone (the fallback). Exposed for the contract test. */
export function verifiesUnderZip215(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!hasShape(publicKey, message, signature)) return false;
  return noble().verify(signature, message, publicKey, { zip215: true });
}

/** The federation's verification rule: ZIP 215, fast path through OpenSSL (see the header). */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return verifiesOnOpenSsl(publicKey, message, signature) || verifiesUnderZip215(publicKey, message, signature);
}

export type PublicKeyRefusal = 'length' | 'not-on-curve' | 'small-order' | 'non-canonical' | 'torsion';

export type PublicKeyCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: PublicKeyRefusal; readonly detail: string };

/**
 * Whether a public key may be registered (ARCHITECTURE: "Small-order public keys are rejected at
 * registration"). Refused, in this order:
 * - `length`: not 32 bytes;
 * - `not-on-curve`: no point has this y (even read leniently, as ZIP 215 reads);
 * - `small-order`: one of the 8 points of order 1, 2, 4 or 8, in any of their 14 encodings
 *   (canonical or not): with such a key, [8][k]A = 0 and one signature verifies for every message;
 * - `non-canonical`: y ≥ p, or the sign bit set on x = 0 (RFC 8032 §5.1.3 refuses both; ZIP 215
 *   would verify under them, so two byte strings would name one identity);
 * - `torsion`: a point of mixed order (a prime-order point plus a torsion point). Cofactored
 *   verification cannot tell A from A + T, so such a key would be a second name for another key;
 *   honest keys ([a]B) never have one. Stricter than the 8 small-order points the issue asks for.
 */
export function checkPublicKeyForRegistration(publicKey: Uint8Array): PublicKeyCheck {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    return { ok: false, reason: 'length', detail: `a public key has ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${publicKey.length}` };
  }
  const point = decodePointLeniently(publicKey);
  if (point === undefined) return { ok: false, reason: 'not-on-curve', detail: 'no curve point has this y-coordinate' };
  if (isIdentity(double(double(double(point.extended))))) return { ok: false, reason: 'small-order', detail: 'the key is a point of order dividing 8' };
  if (!point.canonical) return { ok: false, reason: 'non-canonical', detail: 'y ≥ p or the sign bit is set on x = 0 (RFC 8032 §5.1.3)' };
  if (!isIdentity(multiply(point.extended, GROUP_ORDER))) return { ok: false, reason: 'torsion', detail: 'the key has a torsion component (order 8·L, not L)' };
  return { ok: true };
}

// The registration check's curve arithmetic, here rather than through @noble/curves so that a
// process checking a configured key at start (the orbital agent checks its scheduler's) does not
// load the library (see the header); test/consensus/ed25519-lazy.test.ts holds it to @noble/curves'
// answers. RFC 8032 §5.1: edwards25519, −x² + y² = 1 + d·x²·y² over GF(p), p = 2^255 − 19.
const FIELD_P = 2n ** 255n - 19n;
const modP = (a: bigint): bigint => {
  const r = a % FIELD_P;
  return r < 0n ? r + FIELD_P : r;
};
function powModP(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = modP(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % FIELD_P;
    b = (b * b) % FIELD_P;
  }
  return result;
}
const CURVE_D = modP(-121665n * powModP(121666n, FIELD_P - 2n));
const SQRT_MINUS_ONE = powModP(2n, (FIELD_P - 1n) / 4n);

/** A point in extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, x·y = T/Z (RFC 8032 §5.1.4). */
interface ExtendedPoint { readonly x: bigint; readonly y: bigint; readonly z: bigint; readonly t: bigint }

/**
 * RFC 8032 §5.1.3 decoding, read as ZIP 215 reads it (a y ≥ p is taken mod p; the sign bit on x = 0
 * is ignored); `canonical` says whether RFC 8032's strict reading would have accepted the bytes.
 */
function decodePointLeniently(bytes: Uint8Array): { extended: ExtendedPoint; canonical: boolean } | undefined {
  let yEncoded = 0n;
  for (let i = ED25519_PUBLIC_KEY_BYTES - 1; i >= 0; i--) yEncoded = (yEncoded << 8n) | BigInt(bytes[i]!);
  const signBit = (yEncoded >> 255n) & 1n;
  yEncoded &= (1n << 255n) - 1n;
  const y = modP(yEncoded);
  // x² = (y² − 1) / (d·y² + 1); the square root of u/v as x = u·v³·(u·v⁷)^((p−5)/8) (§5.1.3 step 3).
  const u = modP(y * y - 1n);
  const v = modP(CURVE_D * y * y + 1n);
  const v3 = (v * v % FIELD_P) * v % FIELD_P;
  let x = (u * v3 % FIELD_P) * powModP(u * (v3 * v3 % FIELD_P) * v % FIELD_P, (FIELD_P - 5n) / 8n) % FIELD_P;
  const vx2 = v * x % FIELD_P * x % FIELD_P;
  if (vx2 === modP(-u)) x = x * SQRT_MINUS_ONE % FIELD_P;
  else if (vx2 !== u) return undefined;
  if ((x & 1n) !== signBit) x = modP(-x);
  return { extended: { x, y, z: 1n, t: x * y % FIELD_P }, canonical: yEncoded < FIELD_P && !(x === 0n && signBit === 1n) };
}

/** RFC 8032 §5.1.4 addition (complete: every pair of points, the identity and torsion points too). */
function add(p: ExtendedPoint, q: ExtendedPoint): ExtendedPoint {
  const a = modP((p.y - p.x) * (q.y - q.x));
  const b = modP((p.y + p.x) * (q.y + q.x));
  const c = modP(2n * p.t * q.t % FIELD_P * CURVE_D);
  const d = modP(2n * p.z * q.z);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return { x: modP(e * f), y: modP(g * h), t: modP(e * h), z: modP(f * g) };
}

/** RFC 8032 §5.1.4 doubling. */
function double(p: ExtendedPoint): ExtendedPoint {
  const a = p.x * p.x % FIELD_P;
  const b = p.y * p.y % FIELD_P;
  const c = 2n * p.z * p.z % FIELD_P;
  const h = a + b;
  const e = modP(h - (p.x + p.y) * (p.x + p.y));
  const g = a - b;
  const f = c + g;
  return { x: modP(e * f), y: modP(g * h), t: modP(e * h), z: modP(f * g) };
}

function multiply(p: ExtendedPoint, scalar: bigint): ExtendedPoint {
  let result: ExtendedPoint = { x: 0n, y: 1n, z: 1n, t: 0n };
  for (let bit = BigInt(scalar.toString(2).length - 1); bit >= 0n; bit--) {
    result = double(result);
    if ((scalar >> bit) & 1n) result = add(result, p);
  }
  return result;
}

const isIdentity = (p: ExtendedPoint): boolean => modP(p.x) === 0n && modP(p.y - p.z) === 0n;
