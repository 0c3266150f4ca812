// The validator's mempool: transactions waiting for a block, in arrival order, bounded in count and
// bytes (a full mempool refuses, it does not evict: the client learns at once and retries), with
// duplicates and recently committed transactions refused by hash. Admission is structural (the
// bytes decode as a ledger transaction); whether a transaction applies is decided in FinalizeBlock
// against the state of that block, as ABCI's CheckTx leaves the final word to DeliverTx. Who may
// submit is decided before: the RPC listens on loopback and the libp2p gater admits federation keys.
import { DecodedTransactions } from './decoded-transactions.ts';
import { txHashOf } from './ledger-application-hash.ts';

export interface MempoolLimits {
  readonly txsMax: number;
  readonly bytesMax: number;
  /** Hashes of committed transactions remembered to refuse them again (oldest forgotten first). */
  readonly committedRemembered: number;
}

export const MEMPOOL_LIMITS_DEFAULT: MempoolLimits = { txsMax: 50_000, bytesMax: 64 * 1024 * 1024, committedRemembered: 200_000 };

export type MempoolAdmission = 'added' | 'duplicate' | 'committed' | 'full' | 'malformed';

export class Mempool {
  readonly #limits: MempoolLimits;
  /** Waiting transactions by hash, in arrival order (Map keeps insertion order). */
  readonly #txs = new Map<string, Uint8Array>();
  readonly #committed = new Set<string>();
  #bytes = 0;

  readonly #decoded: DecodedTransactions;

  constructor(limits: MempoolLimits = MEMPOOL_LIMITS_DEFAULT, decoded: DecodedTransactions = new DecodedTransactions()) {
    this.#limits = limits;
    this.#decoded = decoded;
  }

  get size(): number {
    return this.#txs.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Admits `tx` (hash `hash`, computed by the caller once) or says why not. */
  add(tx: Uint8Array, hash: string = txHashOf(tx)): MempoolAdmission {
    if (this.#txs.has(hash)) return 'duplicate';
    if (this.#committed.has(hash)) return 'committed';
    if (this.#txs.size >= this.#limits.txsMax || this.#bytes + tx.length > this.#limits.bytesMax) return 'full';
    if (this.#decoded.decode(tx, hash) === null) return 'malformed';
    this.#txs.set(hash, tx);
    this.#bytes += tx.length;
    return 'added';
  }

  /** Transactions from the front whose bytes fit `bytesMax`, without removing them. */
  take(bytesMax: number): Uint8Array[] {
    const taken: Uint8Array[] = [];
    let bytes = 0;
    for (const tx of this.#txs.values()) {
      if (bytes + tx.length > bytesMax) break;
      bytes += tx.length;
      taken.push(tx);
    }
    return taken;
  }

  /** Drops the transactions a committed block carried and remembers their hashes. */
  committed(hashes: readonly string[]): void {
    for (const hash of hashes) {
      const tx = this.#txs.get(hash);
      if (tx !== undefined) {
        this.#txs.delete(hash);
        this.#bytes -= tx.length;
      }
      this.#committed.add(hash);
    }
    const excess = this.#committed.size - this.#limits.committedRemembered;
    if (excess > 0) {
      let dropped = 0;
      for (const hash of this.#committed) {
        if (dropped++ >= excess) break;
        this.#committed.delete(hash);
      }
    }
  }
}
