// Settlement of usage receipts: exactly once, against the job's escrow, with the protocol fee and
// the provider credit posted in the same transaction (consensus/ledger-transfers.ts).
//
// A receipt settles if, at the block time: it verifies (consensus/receipt.ts: chain, validity
// window, not after not-after + grace, key registered and usable, ZIP 215 signature); it was not
// settled before; its job has an escrow, still pending, whose provider account the signing node
// owns, in the receipt's currency, holding at least the receipt's amount. The escrow is then
// posted with the receipt's amount (the rest goes back to the tenant), the receipt is remembered
// as "node#sequence", and the node's reputation rises.
//
// Exactly once: the same receipt again is a no-op while remembered; it is remembered until its
// not-after + grace has passed, after which verification alone refuses it as expired, so the
// dedup table can forget it (pruned at the start of each block) without a second settlement ever
// being possible. The job's escrow, which resolves once, is a second guard: a node that signs a
// new receipt for a settled job gets ESCROW_RESOLVED.
import { bytesEqual, sha256 } from './canonical-bytes.ts';
import { ed25519Verify } from './ed25519.ts';
import { receiptSignerKey } from './ledger-nodes.ts';
import { NO_OP, rejected, type LedgerState, type Outcome } from './ledger-state.ts';
import type { LedgerRejectionCode, SettleReceiptTx } from './ledger-transactions.ts';
import { postPendingEscrow } from './ledger-transfers.ts';
import { receiptKey, receiptSigningBytes, verifyReceipt, type ReceiptRejection } from './receipt.ts';
import { reputationAfterSettlement } from './settlement-math.ts';
import type { SignatureCheck } from './signature-verdicts.ts';

export const receiptRejectionCode = (reason: ReceiptRejection): LedgerRejectionCode =>
  `ORBITFED_RECEIPT_${reason.toUpperCase().replaceAll('-', '_')}` as LedgerRejectionCode;

export function settleReceipt(state: LedgerState, tx: SettleReceiptTx, blockTimeMs: number, verifySignature: SignatureCheck = ed25519Verify): Outcome {
  const receipt = tx.receipt.receipt;
  const key = receiptKey(receipt);
  const signingBytes = receiptSigningBytes(receipt);
  const contentHash = sha256(signingBytes);
  const settled = state.receipts.get(key);
  // The same content again (store-and-forward duplicates are the common case): nothing to verify.
  if (settled !== undefined && bytesEqual(settled.contentHash, contentHash)) return NO_OP;
  const verdict = verifyReceipt(tx.receipt, {
    chainId: state.params.chainId,
    blockTimeMs,
    graceMs: state.params.receiptGraceMs,
    clockSkewMsMax: state.params.receiptClockSkewMsMax,
    validityMsMax: state.params.receiptValidityMsMax,
    keyOf: (nodeId, keyEpoch) => receiptSignerKey(state, nodeId, keyEpoch),
    verifySignature,
    signingBytes,
  });
  if (!verdict.ok) return rejected(receiptRejectionCode(verdict.reason), verdict.detail);
  if (settled !== undefined) return rejected('ORBITFED_RECEIPT_SEQUENCE_REUSED', `${key} was settled with other content`);
  const escrowId = state.escrowIdByJob.get(receipt.jobId);
  if (escrowId === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_JOB', `no escrow for job ${receipt.jobId}`);
  const escrow = state.escrows.get(escrowId)!;
  const providerOwner = state.accounts.get(escrow.providerAccountId)!.ownerId;
  if (providerOwner !== receipt.nodeId) return rejected('ORBITFED_LEDGER_WRONG_NODE', `job ${receipt.jobId} was placed on ${providerOwner}, not ${receipt.nodeId}`);
  if (escrow.currency !== receipt.currency) return rejected('ORBITFED_LEDGER_CURRENCY_MISMATCH', `the escrow holds ${escrow.currency}, the receipt charges ${receipt.currency}`);
  if (state.receipts.isFull) return rejected('ORBITFED_LEDGER_LIMIT', `the ledger remembers ${state.receipts.entriesMax} settled receipts at most`);
  return postPendingEscrow(state, escrow, receipt.amountMinor, blockTimeMs, key, () => {
    const remembered = { key, contentHash, notAfterMs: receipt.notAfterMs };
    state.receipts.set(key, remembered);
    state.receiptPruneDueMs = Math.min(state.receiptPruneDueMs, state.receiptForgetAfterMs(remembered));
    const node = state.nodes.get(receipt.nodeId)!;
    state.nodes.set(node.id, { ...node, reputationPpm: reputationAfterSettlement(node.reputationPpm) });
  });
}

/** Forgets settled receipts whose not-after + grace is before the block time; returns how many. */
export function pruneSettledReceipts(state: LedgerState, blockTimeMs: number): number {
  if (blockTimeMs <= state.receiptPruneDueMs) return 0;
  const forget: string[] = [];
  let nextDueMs = Number.POSITIVE_INFINITY;
  for (const receipt of state.receipts.values()) {
    const forgetAfterMs = state.receiptForgetAfterMs(receipt);
    if (blockTimeMs > forgetAfterMs) forget.push(receipt.key);
    else nextDueMs = Math.min(nextDueMs, forgetAfterMs);
  }
  for (const key of forget) state.receipts.delete(key);
  state.receiptPruneDueMs = nextDueMs;
  return forget.length;
}
