// The ledger behind the ABCI-shaped port (abci.ts): what the validator process runs as its
// application, and what CometBFT would drive through the same five calls.
// - Transactions are the ledger's canonical bytes (encodeTransaction); a proposer keeps those that
//   decode and fit, in mempool order; a block with bytes that do not decode is rejected in
//   ProcessProposal (deterministically: every correct validator decodes the same bytes alike).
// - Whether a transaction applies is decided in FinalizeBlock against the state of that moment and
//   reported per transaction (ABCI code 0 or a stable code), never by rejecting the block: a
//   receipt with a bad signature is the client's problem, not a reason to stall consensus.
// - Committed duplicate-vote evidence becomes a `double-sign` transaction for the node the
//   offending validator belongs to (`nodeOfValidator`), applied before the block's transactions,
//   with the SHA-256 of the evidence's sign bytes and signatures as its hash.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { OrbitfedError } from '../common/index.ts';
import { txHashesOf } from './ledger-application-hash.ts';
import type {
  Application, CommitResponse, ExecTxResult, FinalizeBlockRequest, FinalizeBlockResponse, InfoResponse, PrepareProposalRequest,
  PrepareProposalResponse, ProcessProposalRequest, ProcessProposalResponse,
} from './abci.ts';
import { hexOf } from './binary-layout.ts';
import { evidenceBytes } from './evidence.ts';
import type { Ledger } from './ledger.ts';
import { DecodedTransactions } from './decoded-transactions.ts';
import type { LedgerTransaction, TransactionResult } from './ledger-transactions.ts';
import type { SignatureCheck } from './signature-verdicts.ts';

/** ABCI result codes of our transactions: 0 applied, 1 no-op (already applied), 2 malformed, 3 rejected by the ledger. */
export const TX_CODE = { applied: 0, noOp: 1, malformed: 2, rejected: 3 } as const;

export interface LedgerApplicationOptions {
  readonly chainId: string;
  /** Ledger node id of each validator address (for slashing on committed evidence); absent: not slashable here. */
  readonly nodeOfValidator?: ReadonlyMap<string, string>;
  /** Decoded transactions shared with the mempool (each decoded once per validator). */
  readonly decoded?: DecodedTransactions;
  /** Most transactions a proposal of this validator carries (bounds a block's execution time); default all that fit. */
  readonly proposalTxsMax?: number;
  /** Receipt signature check for FinalizeBlock: ed25519Verify by default; a validator passes its SignatureVerdicts. */
  readonly verifySignature?: SignatureCheck;
}

export { txHashOf, txHashesOf } from './ledger-application-hash.ts';

export class LedgerApplication implements Application {
  readonly #ledger: Ledger;
  readonly #options: LedgerApplicationOptions;
  readonly #decoded: DecodedTransactions;
  #finalized: { readonly height: number } | null = null;

  constructor(ledger: Ledger, options: LedgerApplicationOptions) {
    this.#ledger = ledger;
    this.#options = options;
    this.#decoded = options.decoded ?? new DecodedTransactions();
  }

  get ledger(): Ledger {
    return this.#ledger;
  }

  info(): InfoResponse {
    return { lastBlockHeight: this.#ledger.height, lastBlockAppHash: hexOf(this.#ledger.stateHash()) };
  }

  prepareProposal(request: PrepareProposalRequest): PrepareProposalResponse {
    const txs: Uint8Array[] = [];
    let bytes = 0;
    const txsMax = this.#options.proposalTxsMax ?? Number.POSITIVE_INFINITY;
    for (const tx of request.txs) {
      if (bytes + tx.length > request.maxTxBytes || txs.length >= txsMax) break;
      if (this.#decoded.decode(tx) === null) continue;
      bytes += tx.length;
      txs.push(tx);
    }
    return { txs };
  }

  processProposal(request: ProcessProposalRequest): ProcessProposalResponse {
    const hashes = txHashesOf(request.block.txs);
    for (let i = 0; i < request.block.txs.length; i++) {
      if (this.#decoded.decode(request.block.txs[i]!, hashes[i]) === null) return { status: 'reject', reason: `transaction ${i} is not a ledger transaction` };
    }
    return { status: 'accept' };
  }

  finalizeBlock(request: FinalizeBlockRequest): FinalizeBlockResponse {
    const { block } = request;
    const slashes: LedgerTransaction[] = [];
    for (const evidence of block.evidence) {
      const nodeId = this.#options.nodeOfValidator?.get(evidence.voteA.validatorAddress);
      if (nodeId === undefined) continue;
      const evidenceHash = new Uint8Array(createHash('sha256').update(evidenceBytes(this.#options.chainId, evidence)).digest());
      slashes.push({ kind: 'double-sign', nodeId, height: evidence.voteA.height, evidenceHash });
    }
    const hashes = request.txHashes ?? txHashesOf(block.txs);
    assert.equal(hashes.length, block.txs.length, 'one hash per transaction');
    const decoded = block.txs.map((tx, i) => this.#decoded.decode(tx, hashes[i]));
    const applicable = decoded.filter((tx): tx is LedgerTransaction => tx !== null);
    const result = this.#ledger.applyBlock([...slashes, ...applicable], block.header.timeMs, this.#options.verifySignature);
    const txResults: ExecTxResult[] = [];
    let next = slashes.length;
    for (const tx of decoded) {
      txResults.push(tx === null ? { code: TX_CODE.malformed, log: 'ORBITFED_LEDGER_MALFORMED: not a ledger transaction' } : execResult(result.results[next++]!));
    }
    this.#finalized = { height: result.height };
    this.#decoded.forget(hashes);
    return { txResults, appHash: hexOf(result.stateHash) };
  }

  commit(): CommitResponse {
    if (this.#finalized === null) throw new OrbitfedError('ORBITFED_ABCI_ORDER', 'commit without a finalized block');
    this.#finalized = null;
    return { retainHeight: 0 };
  }
}

function execResult(result: TransactionResult): ExecTxResult {
  switch (result.status) {
    case 'applied': return { code: TX_CODE.applied, log: '' };
    case 'no-op': return { code: TX_CODE.noOp, log: 'already applied' };
    case 'rejected': return { code: TX_CODE.rejected, log: `${result.code}: ${result.detail}` };
  }
}
