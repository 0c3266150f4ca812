// Double-sign protection. A correct validator signs at most one proposal, one prevote and one
// precommit per (height, round), and never goes back (Algorithm 1 only moves forward in height,
// round and step). A validator that crashes forgets what it signed, and after a restart could sign
// a second, conflicting vote: exactly the equivocation that is evidence and gets it slashed. So,
// as CometBFT's FilePV (privval/file.go: LastSignState.CheckHRS, signVote), every signature goes
// through a guard that
// - reads height, round and step from the sign bytes (their fixed layout, tendermint-messages.ts);
// - refuses anything below the last signed (height, round, step): ORBITFED_SIGN_REGRESSION;
// - at the same (height, round, step), returns the saved signature for the same bytes and refuses
//   other bytes: ORBITFED_SIGN_CONFLICT;
// - persists the new last-signed state, signature included, BEFORE releasing the signature, through
//   an injected SignStateStore whose `save` returns only once the state is durable. A crash after
//   the save and before the send only loses a message; a crash before the save loses the signature
//   too. Either way nothing conflicting can be signed later.
// The same record keeps the validator's lock, its last non-nil precommit (lockedValue/lockedRound of
// Algorithm 1, lines 38–39). CometBFT restores locks from its consensus WAL; without one, a restarted
// validator that forgot its lock could prevote another value in a later round (lines 23, 29), which
// is how agreement breaks if more than f validators crash and restart. Saving the lock with the
// precommit that creates it, in one atomic write, restores it exactly.
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import { parseSignBytes, type Signer } from './tendermint-messages.ts';

export type SignStep = 'propose' | 'prevote' | 'precommit';

/** CometBFT privval's stepPropose / stepPrevote / stepPrecommit. */
const STEP_ORDER: Readonly<Record<SignStep, number>> = { propose: 1, prevote: 2, precommit: 3 };

export interface LastSigned {
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly signBytes: Uint8Array;
  readonly signature: Uint8Array;
}

/** The last non-nil precommit: Algorithm 1's lockedValue (by id) and lockedRound for `height`. */
export interface ConsensusLock {
  readonly height: number;
  readonly round: number;
  readonly blockId: string;
}

export interface SignState {
  /**
   * Everything signed at the highest (height, round) signed so far, one message per step, in step
   * order; the last is the highest slot, the one new signatures are compared with. Keeping the
   * round's earlier messages too (a prevote before the precommit) lets a restarted validator send
   * its whole round again rather than only its last message.
   */
  readonly signed: readonly LastSigned[];
  readonly lock: ConsensusLock | null;
}

export const SIGN_STATE_EMPTY: SignState = { signed: [], lock: null };

/** The highest slot signed, or null for a validator that never signed. */
export function lastSigned(state: SignState): LastSigned | null {
  return state.signed[state.signed.length - 1] ?? null;
}

/** Where the guard keeps its state. `save` must not return before the state survives a crash. */
export interface SignStateStore {
  load(): SignState;
  save(state: SignState): void;
}

/** A store in memory: for tests and simulations, where the object itself plays the disk that survives a crash. */
export class MemorySignStateStore implements SignStateStore {
  #state: SignState = SIGN_STATE_EMPTY;
  saves = 0;

  load(): SignState {
    return this.#state;
  }

  save(state: SignState): void {
    this.#state = state;
    this.saves++;
  }
}

function compareSlots(a: { height: number; round: number; step: SignStep }, b: { height: number; round: number; step: SignStep }): number {
  return a.height - b.height || a.round - b.round || STEP_ORDER[a.step] - STEP_ORDER[b.step];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The signer consensus uses: a key behind the double-sign check. */
export class SignGuard implements Signer {
  readonly #store: SignStateStore;
  readonly #key: Signer;
  readonly #chainId: string;
  #state: SignState;

  /** Loads the saved state once; the guard is then the only writer of the store. */
  constructor(store: SignStateStore, key: Signer, chainId: string) {
    this.#store = store;
    this.#key = key;
    this.#chainId = chainId;
    this.#state = store.load();
  }

  state(): SignState {
    return this.#state;
  }

  /** The messages of the last signed round, to resume from if they are of `height`. */
  signedAt(height: number): readonly LastSigned[] {
    return this.#state.signed.filter((m) => m.height === height);
  }

  /** The lock to restore for `height`, if the last non-nil precommit was at that height. */
  lockFor(height: number): ConsensusLock | null {
    const lock = this.#state.lock;
    return lock !== null && lock.height === height ? lock : null;
  }

  sign(bytes: Uint8Array): Uint8Array {
    const fields = parseSignBytes(bytes);
    if (fields.chainId !== this.#chainId) {
      throw new OrbitfedError('ORBITFED_SIGN_WRONG_CHAIN', `refusing to sign for chain ${fields.chainId}; this key signs for ${this.#chainId}`);
    }
    const slot = { height: fields.height, round: fields.round, step: (fields.type === 'proposal' ? 'propose' : fields.type) as SignStep };
    const last = lastSigned(this.#state);
    if (last !== null) {
      const order = compareSlots(slot, last);
      const where = `height ${slot.height} round ${slot.round} ${slot.step}`;
      if (order < 0) {
        throw new OrbitfedError('ORBITFED_SIGN_REGRESSION', `refusing to sign at ${where}: already signed at height ${last.height} round ${last.round} ${last.step}`);
      }
      if (order === 0) {
        if (sameBytes(bytes, last.signBytes)) return last.signature;
        throw new OrbitfedError('ORBITFED_SIGN_CONFLICT', `refusing to sign different data at ${where}: that would be a double sign`);
      }
    }
    const signature = this.#key.sign(bytes);
    const lock = slot.step === 'precommit' && fields.blockId !== null
      ? { height: slot.height, round: slot.round, blockId: fields.blockId }
      : this.#state.lock !== null && this.#state.lock.height === slot.height ? this.#state.lock : null;
    const signed = { ...slot, signBytes: Uint8Array.from(bytes), signature: Uint8Array.from(signature) };
    const sameRound = last !== null && last.height === slot.height && last.round === slot.round ? this.#state.signed : [];
    const next: SignState = { signed: [...sameRound, signed], lock };
    assert.ok(next.signed.length <= 3 && next.signed.every((m, i) => i === 0 || compareSlots(next.signed[i - 1]!, m) < 0), 'one message per step, in step order');
    this.#store.save(next);
    this.#state = next;
    return signature;
  }
}
