// The ledger: the application state machine the validators replicate (issue 6, "Ledger"). Pure
// and deterministic: the same genesis and the same blocks (transactions and block times) give the
// same state and the same state hash on every validator; nothing here reads a clock, a file or
// the network. The validator's ABCI-shaped shell calls `applyBlock` in FinalizeBlock and returns
// `stateHash` at Commit.
//
// A block, in order:
//   1. begin: escrows whose deadline is ≤ the block time expire (back to their tenants), and settled
//      receipts whose not-after + grace is before the block time are forgotten;
//   2. each transaction, in block order, applies completely or not at all (its result says which);
//   3. end: the invariants are asserted (Σ balances = supply per currency, no overdraft, escrow
//      accounts hold exactly the pending escrows), the writes are folded into the state hash.
// Block times never go backwards (Tendermint's BFT time is monotonic); a block that breaks that,
// or carries more than `transactionsPerBlockMax` transactions, is a caller's bug and throws.
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import { ed25519Verify } from './ed25519.ts';
import { mint, openAccount, transfer } from './ledger-accounts.ts';
import { registerNode, reportSlaViolation, revokeKey, rotateKey, slashDoubleSign } from './ledger-nodes.ts';
import type { LedgerParams } from './ledger-params.ts';
import { pruneSettledReceipts, settleReceipt } from './ledger-receipts.ts';
import { decodeSnapshot, encodeSnapshot } from './ledger-snapshot.ts';
import { LedgerState, rejected, type Account, type Escrow, type NodeRecord, type Outcome, type SettledReceipt, type Supply } from './ledger-state.ts';
import type { SignatureCheck } from './signature-verdicts.ts';
import { validateTransaction, type LedgerTransaction, type Movement, type TransactionResult } from './ledger-transactions.ts';
import { expireEscrows, openEscrow, postEscrow, voidEscrow } from './ledger-transfers.ts';

export interface BlockResult {
  readonly height: number;
  readonly blockTimeMs: number;
  /** One per transaction, in block order. */
  readonly results: readonly TransactionResult[];
  /** Escrows that expired at the start of the block, and the money that went back. */
  readonly expiredEscrowIds: readonly string[];
  readonly expiryMovements: readonly Movement[];
  /** Settled receipts forgotten at the start of the block (their window has passed). */
  readonly prunedReceipts: number;
  /** The state hash after the block (the app hash of the next block header). */
  readonly stateHash: Uint8Array;
}

function decide(state: LedgerState, tx: LedgerTransaction, blockTimeMs: number, verifySignature: SignatureCheck): Outcome {
  try {
    validateTransaction(tx);
  } catch (error) {
    if (!(error instanceof OrbitfedError)) throw error;
    return rejected('ORBITFED_LEDGER_MALFORMED', error.message);
  }
  switch (tx.kind) {
    case 'open-account': return openAccount(state, tx);
    case 'mint': return mint(state, tx);
    case 'transfer': return transfer(state, tx);
    case 'escrow-open': return openEscrow(state, tx, blockTimeMs);
    case 'escrow-post': return postEscrow(state, tx, blockTimeMs);
    case 'escrow-void': return voidEscrow(state, tx, blockTimeMs);
    case 'settle-receipt': return settleReceipt(state, tx, blockTimeMs, verifySignature);
    case 'register-node': return registerNode(state, tx, blockTimeMs);
    case 'rotate-key': return rotateKey(state, tx, blockTimeMs);
    case 'revoke-key': return revokeKey(state, tx, blockTimeMs);
    case 'sla-violation': return reportSlaViolation(state, tx, blockTimeMs);
    case 'double-sign': return slashDoubleSign(state, tx, blockTimeMs);
  }
}

export class Ledger {
  readonly #state: LedgerState;

  private constructor(state: LedgerState) {
    this.#state = state;
    state.assertInvariants();
  }

  /** An empty ledger at height 0 (accounts, nodes and money come in the first blocks). */
  static genesis(params: LedgerParams): Ledger {
    const state = new LedgerState(params);
    state.commitBlock();
    return new Ledger(state);
  }

  /** A ledger from `snapshot()` bytes (codes in consensus/ledger-snapshot.ts). */
  static restore(snapshot: Uint8Array): Ledger {
    return new Ledger(decodeSnapshot(snapshot));
  }

  get params(): LedgerParams {
    return this.#state.params;
  }

  /** Height of the last applied block (0 before the first). */
  get height(): number {
    return this.#state.height;
  }

  get lastBlockTimeMs(): number {
    return this.#state.lastBlockTimeMs;
  }

  /**
   * Applies a block. `verifySignature` checks receipt signatures: ed25519Verify, or anything that
   * gives its answers (a validator passes its SignatureVerdicts, which remembers them).
   */
  applyBlock(transactions: readonly LedgerTransaction[], blockTimeMs: number, verifySignature: SignatureCheck = ed25519Verify): BlockResult {
    const state = this.#state;
    if (!Number.isSafeInteger(blockTimeMs) || blockTimeMs < state.lastBlockTimeMs) {
      throw new OrbitfedError('ORBITFED_LEDGER_BLOCK_TIME', `block time ${blockTimeMs} is not an integer ≥ the last block's ${state.lastBlockTimeMs}`);
    }
    if (transactions.length > state.params.limits.transactionsPerBlockMax) {
      throw new OrbitfedError('ORBITFED_LEDGER_BLOCK_TOO_LARGE', `${transactions.length} transactions, more than ${state.params.limits.transactionsPerBlockMax}`);
    }
    state.height += 1;
    state.lastBlockTimeMs = blockTimeMs;
    const expiry = expireEscrows(state, blockTimeMs);
    const prunedReceipts = pruneSettledReceipts(state, blockTimeMs);
    const results = transactions.map((tx) => {
      const outcome = decide(state, tx, blockTimeMs, verifySignature);
      outcome.apply?.();
      return outcome.result;
    });
    state.assertInvariants();
    const stateHash = state.commitBlock();
    return { height: state.height, blockTimeMs, results, expiredEscrowIds: expiry.expiredEscrowIds, expiryMovements: expiry.movements, prunedReceipts, stateHash };
  }

  /**
   * What a transaction would do if it were the next one applied at `blockTimeMs`, without applying
   * it (mempool admission). Expiries and pruning of the next block are not taken into account.
   */
  checkTransaction(tx: LedgerTransaction, blockTimeMs: number): TransactionResult {
    assert.ok(blockTimeMs >= this.#state.lastBlockTimeMs);
    return decide(this.#state, tx, blockTimeMs, ed25519Verify).result;
  }

  /** The state hash after the last block. */
  stateHash(): Uint8Array {
    return this.#state.stateHash();
  }

  /** The state hash recomputed from every record (slow; tests and audits). */
  recomputeStateHash(): Uint8Array {
    return this.#state.recomputeStateHash();
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.#state);
  }

  account(id: string): Account | undefined {
    return this.#state.accounts.get(id);
  }

  accounts(): Account[] {
    return this.#state.accounts.sortedEntries().map(([, account]) => account);
  }

  supply(currency: string): Supply | undefined {
    return this.#state.supplies.get(currency);
  }

  escrow(id: string): Escrow | undefined {
    return this.#state.escrows.get(id);
  }

  escrowOfJob(jobId: string): Escrow | undefined {
    const id = this.#state.escrowIdByJob.get(jobId);
    return id === undefined ? undefined : this.#state.escrows.get(id);
  }

  escrows(): Escrow[] {
    return this.#state.escrows.sortedEntries().map(([, escrow]) => escrow);
  }

  node(id: string): NodeRecord | undefined {
    return this.#state.nodes.get(id);
  }

  /** A settled receipt still remembered, by "node#sequence". */
  settledReceipt(key: string): SettledReceipt | undefined {
    return this.#state.receipts.get(key);
  }

  get settledReceiptCount(): number {
    return this.#state.receipts.size;
  }
}
