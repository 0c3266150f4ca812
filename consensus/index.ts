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

// Identity (one ed25519 rule: ZIP 215), canonical signed bytes, usage receipts and key files: what
// nodes need too, so node.ts (a second public entry, without the validator side) lists them once.
export * from './node.ts';
// The ledger.
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

// The validator process: wire codec, chain store, mempool, the ledger as the ABCI application,
// genesis, the shell around the core, libp2p transport, client RPC, configuration and wiring.
export type { ConsensusCodecLimits, ValidatorMessage } from './consensus-codec.ts';
export { CONSENSUS_CODEC_LIMITS_DEFAULT, decodeValidatorMessage, encodeValidatorMessage } from './consensus-codec.ts';
export type { ChainStoreOptions, StoredBlock, StoredSnapshot } from './chain-store.ts';
export { ChainStore } from './chain-store.ts';
export type { MempoolAdmission, MempoolLimits } from './mempool.ts';
export { Mempool, MEMPOOL_LIMITS_DEFAULT } from './mempool.ts';
export type { LedgerApplicationOptions } from './ledger-application.ts';
export { LedgerApplication, TX_CODE, txHashOf } from './ledger-application.ts';
export type { ChainGenesis, Genesis } from './genesis.ts';
export { checkGenesis, genesisLedger, GenesisSchema, genesisTransactionHex } from './genesis.ts';
export type { CommittedBlockInfo, TxStatus, ValidatorNodeConfig, ValidatorNodeDeps, ValidatorTransport } from './validator-node.ts';
export { ValidatorNode } from './validator-node.ts';
export type { Libp2pValidatorTransportOptions, ValidatorPeer } from './validator-transport.ts';
export { CONSENSUS_PROTOCOL, Libp2pValidatorTransport } from './validator-transport.ts';
export type { ValidatorRpcOptions } from './validator-rpc.ts';
export { decodeTxList, ValidatorRpc } from './validator-rpc.ts';
export type { LoadedValidatorConfig, ValidatorConfig } from './validator-config.ts';
export { loadValidatorConfig, ValidatorConfigSchema } from './validator-config.ts';
export type { ValidatorServiceOptions } from './validator-service.ts';
export { ValidatorService } from './validator-service.ts';
export type { Testnet, TestnetOptions } from './testnet.ts';
export { writeTestnet } from './testnet.ts';
export type { SubmittedTx, ValidatorStatus } from './validator-client.ts';
export { ValidatorClient } from './validator-client.ts';
