// The name of a transaction: the SHA-256 of its bytes, lowercase hex, as the mempool, the RPC, the
// transaction index and the decode cache know it (CometBFT names transactions the same way).
import { createHash } from 'node:crypto';

export function txHashOf(tx: Uint8Array): string {
  return createHash('sha256').update(tx).digest('hex');
}
