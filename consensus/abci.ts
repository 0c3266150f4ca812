// The application behind consensus, shaped after ABCI 2.0 (CometBFT v0.38+, spec/abci/abci++_methods.md)
// so that an operator can later run CometBFT as the engine in front of the same application:
// - Info: where the application is (last committed height and app hash), for the restart handshake;
// - PrepareProposal: the proposer's chance to reorder, drop or add transactions (line 18's getValue());
// - ProcessProposal: accept or reject a proposed block (part of line 23's valid(v)); must be
//   deterministic, or correct validators disagree on validity and liveness suffers;
// - FinalizeBlock: execute a decided block, returning per-transaction results and the app hash
//   that the next block's header carries;
// - Commit: make the finalized state durable.
// Methods are synchronous: our application (the ledger) is a pure state machine in the same process,
// and the consensus core calls PrepareProposal and ProcessProposal in the middle of an upon rule.
// Left out until needed: CheckTx (the validator shell's mempool), vote extensions
// (ExtendVote/VerifyVoteExtension), validator and consensus-parameter updates (the set is fixed
// per chain here), snapshots and Query.
import type { Block } from './block.ts';
import type { Misbehavior } from './evidence.ts';

export interface InfoResponse {
  /** 0 before the first block. */
  readonly lastBlockHeight: number;
  /** App hash after `lastBlockHeight` (the genesis app hash at 0); lowercase hex. */
  readonly lastBlockAppHash: string;
}

export interface PrepareProposalRequest {
  /** Transactions offered by the mempool, in its order; the response must fit `maxTxBytes`. */
  readonly txs: readonly Uint8Array[];
  readonly maxTxBytes: number;
  readonly height: number;
  readonly timeMs: number;
  readonly misbehavior: readonly Misbehavior[];
  readonly proposerAddress: string;
}

export interface PrepareProposalResponse {
  readonly txs: readonly Uint8Array[];
}

export interface ProcessProposalRequest {
  readonly block: Block;
  readonly blockId: string;
  readonly misbehavior: readonly Misbehavior[];
}

export type ProcessProposalResponse = { readonly status: 'accept' } | { readonly status: 'reject'; readonly reason: string };

export interface FinalizeBlockRequest {
  readonly block: Block;
  readonly blockId: string;
  /** Committed evidence, as misbehaviour: the only grounds for slashing. */
  readonly misbehavior: readonly Misbehavior[];
  /** The SHA-256 names of `block.txs` (consensus/ledger-application-hash.ts) when the caller has them, so they are computed once. */
  readonly txHashes?: readonly string[];
}

export interface ExecTxResult {
  /** 0 is success (ABCI's convention); anything else a stable application error code. */
  readonly code: number;
  readonly log: string;
}

export interface FinalizeBlockResponse {
  /** One per transaction of the block, in order. */
  readonly txResults: readonly ExecTxResult[];
  /** The state after this block; lowercase hex, at most 64 bytes; the next block's `previousAppHash`. */
  readonly appHash: string;
}

export interface CommitResponse {
  /** Blocks below this height may be pruned by the node (0: keep all). */
  readonly retainHeight: number;
}

export interface Application {
  info(): InfoResponse;
  prepareProposal(request: PrepareProposalRequest): PrepareProposalResponse;
  processProposal(request: ProcessProposalRequest): ProcessProposalResponse;
  finalizeBlock(request: FinalizeBlockRequest): FinalizeBlockResponse;
  commit(): CommitResponse;
}

/** The part of the application the consensus core calls while deciding (the rest is the node's, after a decision). */
export type ProposalApplication = Pick<Application, 'prepareProposal' | 'processProposal'>;
