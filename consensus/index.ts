// Public entry of consensus/: the only file other folders import.

// Tendermint consensus (arXiv:1807.04938, Algorithm 1): the sans-IO core and what it speaks.
export type {
  Application, CommitResponse, ExecTxResult, FinalizeBlockRequest, FinalizeBlockResponse, InfoResponse, PrepareProposalRequest,
  PrepareProposalResponse, ProcessProposalRequest, ProcessProposalResponse, ProposalApplication,
} from './abci.ts';
export type { Block, BlockContents, BlockHeader, BlockLimits } from './block.ts';
export { APP_HASH_BYTES_MAX, BLOCK_LIMITS_DEFAULT, blockIdOf, checkBlockContents, makeBlock } from './block.ts';
export type { DuplicateVoteEvidence, Misbehavior } from './evidence.ts';
export {
  duplicateVoteEvidence, evidenceHeight, evidenceKey, misbehaviorOf, verifyDuplicateVoteEvidence, votesConflict,
} from './evidence.ts';
export type {
  CheckResult, Commit, CommitSignature, Proposal, SignedFields, SignedMessageType, Signer, UnsignedProposal, UnsignedVote,
  VerifySignature, Vote, VoteType,
} from './tendermint-messages.ts';
export {
  CONSENSUS_DOMAIN_TAG, checkProposalShape, checkVoteShape, commitVotes, isChainId, parseSignBytes, proposalSignBytes,
  SIGNED_MESSAGE_TYPE_CODE, verifyCommit, verifyProposalSignature, verifyVote, voteSignBytes,
} from './tendermint-messages.ts';
export type { ProposerPriorities, ValidatorInfo, ValidatorSet } from './validator-set.ts';
export {
  containsCorrect, genesisPriorities, incrementProposerPriority, isQuorum, nextHeightPriorities, prioritiesAtHeight,
  proposerIndexForRound, validatorAddress, validatorSet, VALIDATORS_MAX, VOTING_POWER_TOTAL_MAX,
} from './validator-set.ts';
export type { ConsensusLock, LastSigned, SignState, SignStateStore, SignStep } from './sign-guard.ts';
export { lastSigned, MemorySignStateStore, SignGuard, SIGN_STATE_EMPTY } from './sign-guard.ts';
export type { FileSignStateStoreOptions } from './sign-state-file.ts';
export { FileSignStateStore, readSignStateFile, writeSignStateFile } from './sign-state-file.ts';
export type {
  ConsensusMessage, CoreInput, CoreOutput, HeightStart, Step, TendermintConfig, TendermintDeps, TendermintLimits, Timeout,
  TimeoutConfig, ValidBlockRecord,
} from './tendermint.ts';
export { TendermintCore, TENDERMINT_LIMITS_DEFAULT, TIMEOUTS_DEFAULT, timeoutMs } from './tendermint.ts';
export type {
  ByzantineStrategy, ConsensusSimulationOptions, ConsensusSimulationResult, ConsensusSimulationStats, NetworkFaults,
  SimulationSignatures, SimulationWorkload,
} from './consensus-simulation.ts';
export { runConsensusSimulation } from './consensus-simulation.ts';

// Identity (one ed25519 rule: ZIP 215), canonical signed bytes, usage receipts and the ledger.
export type { Ed25519KeyPair, Ed25519Signer, PublicKeyCheck, PublicKeyRefusal } from './ed25519.ts';
export {
  checkPublicKeyForRegistration, ed25519KeyPairFromSeed, ed25519PublicKeyFromSeed, ed25519SeedFromRng, ed25519Sign, ed25519Signer,
  ed25519Verify, ED25519_MESSAGE_BYTES_MAX, ED25519_SIGNATURE_BYTES, PUBLIC_KEY_CACHE_ENTRIES_MAX, randomEd25519Seed,
} from './ed25519.ts';
export type { CanonicalFormat } from './canonical-bytes.ts';
export { bytesEqual, CHAIN_ID_PATTERN, checkChainId, decodeCanonical, DOMAIN_TAG_PATTERN, sha256, SIGNING_DOMAINS, signingBytes } from './canonical-bytes.ts';
export { AMOUNT_MINOR_MAX, CURRENCY_PATTERN, ID_PATTERN } from './identifiers.ts';
export type {
  NewReceipt, ReceiptCheckContext, ReceiptRejection, ReceiptSignerKey, ReceiptVerdict, ResourceUsage, SignedReceipt, UsageReceipt,
} from './receipt.ts';
export {
  decodeSignedReceipt, encodeSignedReceipt, KEY_EPOCH_MAX, makeReceipt, RECEIPT_BYTES_MAX, RECEIPT_FORMAT_VERSION, RECEIPT_VALIDITY_MS_DEFAULT,
  RECEIPT_VALIDITY_MS_MAX, receiptKey, receiptSigningBytes, signReceipt, validateReceipt, verifyReceipt,
} from './receipt.ts';
export type { BlockResult } from './ledger.ts';
export { Ledger } from './ledger.ts';
export type { LedgerLimits, LedgerParams } from './ledger-params.ts';
export {
  defaultLedgerParams, LEDGER_LIMITS_DEFAULT, RECEIPT_CLOCK_SKEW_MS_MAX_DEFAULT, RECEIPT_GRACE_MS_DEFAULT, validateLedgerParams,
} from './ledger-params.ts';
export type { Account, Escrow, EscrowStatus, KeyRecord, NodeRecord, SettledReceipt, Supply } from './ledger-state.ts';
export type {
  AccountKind, DoubleSignTx, EscrowOpenTx, EscrowPostTx, EscrowVoidTx, LedgerRejectionCode, LedgerTransaction, MintTx, Movement, OpenAccountTx,
  RegisterNodeTx, RevokeKeyTx, RotateKeyTx, SettleReceiptTx, SlaViolationTx, TransactionResult, TransferTx,
} from './ledger-transactions.ts';
export { ACCOUNT_KINDS, decodeTransaction, encodeTransaction, TRANSACTION_BYTES_MAX, validateTransaction } from './ledger-transactions.ts';
export {
  keyRevocationBytes, keyRotationBytes, nodeRegistrationBytes, registerNodeTransaction, revokeKeyTransaction, rotateKeyTransaction,
} from './ledger-nodes.ts';
export { SNAPSHOT_BYTES_MAX } from './ledger-snapshot.ts';
export {
  BASIS_POINTS_MAX, DOUBLE_SIGN_SLASH_BASIS_POINTS_DEFAULT, FEE_BASIS_POINTS_DEFAULT, protocolFeeMinor, reputationAfterDoubleSign,
  reputationAfterSettlement, reputationAfterSlaViolation, REPUTATION_PPM_INITIAL, REPUTATION_PPM_MAX, SLA_SLASH_BASIS_POINTS_DEFAULT, slashMinor,
} from './settlement-math.ts';
