// Ledger transactions decoded once per validator. A transaction's bytes are read when the mempool
// admits them, again when a proposer prepares a block, when every validator processes the proposal
// and when it finalizes the block; a strict decode costs ~13 µs (~30 µs when it still re-encoded
// to prove canonical form), four times per validator. This cache keeps decoded transactions by the
// SHA-256 of their bytes (the same bytes always decode to the same value), bounded, oldest dropped
// first.
import { OrbitfedError } from '../common/index.ts';
import { txHashOf } from './ledger-application-hash.ts';
import { decodeTransaction, type LedgerTransaction } from './ledger-transactions.ts';

export const DECODED_TRANSACTIONS_MAX_DEFAULT = 200_000;

export class DecodedTransactions {
  readonly #entries = new Map<string, LedgerTransaction | null>();
  readonly #max: number;

  constructor(max = DECODED_TRANSACTIONS_MAX_DEFAULT) {
    this.#max = max;
  }

  /** The transaction `tx` encodes, or null when its bytes are not a ledger transaction. */
  decode(tx: Uint8Array, hash: string = txHashOf(tx)): LedgerTransaction | null {
    const cached = this.#entries.get(hash);
    if (cached !== undefined) return cached;
    let decoded: LedgerTransaction | null;
    try {
      decoded = decodeTransaction(tx);
    } catch (error) {
      if (!(error instanceof OrbitfedError)) throw error;
      decoded = null;
    }
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(hash, decoded);
    return decoded;
  }

  /** Forgets transactions that were committed (they will not be read again). */
  forget(hashes: readonly string[]): void {
    for (const hash of hashes) this.#entries.delete(hash);
  }
}
