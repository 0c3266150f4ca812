// The name of a transaction: the SHA-256 of its bytes, lowercase hex, as the mempool, the RPC, the
// transaction index and the decode cache know it (CometBFT names transactions the same way).
import { hash } from 'node:crypto';

export function txHashOf(tx: Uint8Array): string {
  // One-shot hashing: for a few hundred bytes the Hash object's setup cost more than the digest.
  return hash('sha256', tx, 'hex');
}

const hashesOfTxLists = new WeakMap<readonly Uint8Array[], readonly string[]>();

/**
 * The names of a block's transactions, remembered per list (a block's transactions never change):
 * ProcessProposal, FinalizeBlock and the node's result index ask for the same block's names.
 */
export function txHashesOf(txs: readonly Uint8Array[]): readonly string[] {
  let hashes = hashesOfTxLists.get(txs);
  if (hashes === undefined) {
    hashes = txs.map(txHashOf);
    hashesOfTxLists.set(txs, hashes);
  }
  return hashes;
}
