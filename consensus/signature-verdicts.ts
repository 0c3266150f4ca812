// Ed25519 verdicts a validator has already reached, so that a receipt's signature is verified once
// per validator. Verification is a pure function of (public key, message, signature) — the ZIP 215
// rule of ed25519.ts — so an answer remembered for exactly those bytes is the answer the rule gives:
// every validator still verifies every signature itself, only not twice. The verdicts come from
// `verify` (a miss computes and remembers) or from `record`, which the validator's signature
// workers feed while transactions wait in the mempool (signature-worker-pool.ts), so that
// FinalizeBlock, on consensus's critical path, mostly finds them ready.
//
// Keyed by the signature, holding the public key and the message, which a lookup compares byte for
// byte: a signature replayed over other bytes or under another key is a miss, verified afresh (and
// then remembered in place of the first). Both verdicts are kept (a forged signature costs the slow
// fallback path, ~1.5 ms, which should not be paid twice either). Bounded: at `entriesMax` the
// oldest entry is dropped, which only costs a later recomputation.
import { ed25519Verify } from './ed25519.ts';

export type SignatureCheck = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/** Twice the mempool's default capacity: verdicts of waiting transactions survive until their block. */
export const SIGNATURE_VERDICTS_MAX_DEFAULT = 100_000;

const keyOf = (signature: Uint8Array): string => Buffer.from(signature.buffer, signature.byteOffset, signature.length).toString('latin1');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

export class SignatureVerdicts {
  readonly #entries = new Map<string, { readonly publicKey: Uint8Array; readonly message: Uint8Array; readonly valid: boolean }>();
  readonly #entriesMax: number;
  #hits = 0;
  #misses = 0;

  constructor(entriesMax = SIGNATURE_VERDICTS_MAX_DEFAULT) {
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 1) throw new RangeError(`entriesMax must be a positive integer, got ${entriesMax}`);
    this.#entriesMax = entriesMax;
  }

  /** ed25519Verify's answer for these bytes: remembered, or computed now and remembered. */
  readonly verify: SignatureCheck = (publicKey, message, signature) => {
    const entry = this.#entries.get(keyOf(signature));
    if (entry !== undefined && sameBytes(entry.publicKey, publicKey) && sameBytes(entry.message, message)) {
      this.#hits++;
      return entry.valid;
    }
    this.#misses++;
    const valid = ed25519Verify(publicKey, message, signature);
    this.record(publicKey, message, signature, valid);
    return valid;
  };

  /** Remembers a verdict that ed25519Verify gave for exactly these bytes (in a worker, say). */
  record(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, valid: boolean): void {
    const key = keyOf(signature);
    this.#entries.delete(key);
    if (this.#entries.size >= this.#entriesMax) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { publicKey, message, valid });
  }

  /** Whether a verdict for these bytes is remembered (it would be a hit). */
  has(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    const entry = this.#entries.get(keyOf(signature));
    return entry !== undefined && sameBytes(entry.publicKey, publicKey) && sameBytes(entry.message, message);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Lookups answered from memory, and those that verified on the spot, since the start. */
  get stats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }
}
