// The Tendermint consensus algorithm as published: Buchman, Kwon, Milosevic, "The latest gossip on
// BFT consensus", arXiv:1807.04938v3, Algorithm 1 (page 6). Comments cite its line numbers ("L36").
// Sans-IO: inputs are messages, timeouts and catch-up commits, each with the current time; outputs
// are messages to broadcast, timeouts to schedule, decisions, evidence and catch-up requests. The
// core opens no socket, reads no clock and sets no timer. It calls three injected ports
// synchronously, as the paper calls getValue() and valid(): the signer (in production the sign
// guard, which persists before it signs), signature verification, and the application's
// PrepareProposal/ProcessProposal. Executing a decided block (FinalizeBlock, Commit) is the node's:
// it gets a `decide` output and answers with `commitHeight(appHash)`, which is L52–54.
//
// Shape: a class with private mutable state rather than `step(state, input) → state`. The message
// log (every vote of every round of the height) is the bulk of the state and changes on every
// input; copying it per step would cost allocation per message for no gain, since determinism comes
// from having no I/O, not from immutability: the same inputs in the same order give the same
// outputs, which the simulator checks by hashing traces.
//
// Faithful to Algorithm 1, with these choices where the paper leaves room:
// - Upon rules are evaluated after every input until none fires (the paper: "executed atomically"
//   when the message log satisfies them, in any order). Rules marked "for the first time" fire once
//   per round (L34, L36, L47).
// - L49 needs v and 2f + 1 precommits for id(v) in round r; v is taken from whichever proposal of
//   this height carried it. id(v) identifies v, so this is the same value the round-r proposal holds.
// - L55: when several rounds above round_p have f + 1 power, the highest is started.
// - A proposer whose signature is refused (the sign guard, after a restart) schedules
//   OnTimeoutPropose like any other validator, instead of waiting with no timeout (L14–21 assume
//   the broadcast happens).
// - Counting: "2f + 1 ⟨PREVOTE, h, r, id(v)⟩" is the power of the senders of such messages, so an
//   equivocating validator's votes count for each value it voted for (vote-set.ts); each sender
//   counts once for "∗".
// - Gossip: the paper assumes every message a correct process receives reaches all correct ones
//   (§2, "gossip communication"). Over a lossy network that takes retransmission, which the node
//   drives with `gossip-tick` inputs: a core that made no progress since the last tick re-sends the
//   proposal and every vote it holds of its round and of the rounds other validators last spoke in
//   (as CometBFT's gossip sends a peer the votes of the peer's round), and the 2f + 1 prevotes of a
//   proposal's valid round (the proof-of-lock L28 waits for). It asks a validator heard at a higher
//   height for the commit it lacks, and offers commits to validators heard at lower heights; a
//   verified commit for the current height (the block and > 2/3 of its precommits) decides like L49.
// - Restarts: correct processes in the paper never crash. A restarted validator gets back its lock
//   (saved by the sign guard with the precommit that made it), its votes of the last round it
//   signed in (resumed, see #resume) and validValue (stored by the node from `valid-block`
//   outputs). Only the message log is lost, which the gossip above makes up for.
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import type { ProposalApplication } from './abci.ts';
import { BLOCK_LIMITS_DEFAULT, blockIdOf, checkBlockContents, makeBlock, type Block, type BlockLimits } from './block.ts';
import {
  evidenceHeight, evidenceKey, misbehaviorOf, verifyDuplicateVoteEvidence, type DuplicateVoteEvidence, type Misbehavior,
} from './evidence.ts';
import type { ConsensusLock, LastSigned } from './sign-guard.ts';
import {
  checkProposalShape, checkVoteShape, isChainId, parseSignBytes, proposalSignBytes, rejected, verifyCommit, verifyProposalSignature, voteSignBytes,
  type CheckResult, type Commit, type Proposal, type Signer, type VerifySignature, type Vote, type VoteType,
} from './tendermint-messages.ts';
import {
  nextHeightPriorities, proposerIndexForRound, type ProposerPriorities, type ValidatorSet,
} from './validator-set.ts';
import { HeightVoteSet } from './vote-set.ts';

export type Step = 'propose' | 'prevote' | 'precommit';
const STEP_RANK: Readonly<Record<Step, number>> = { propose: 0, prevote: 1, precommit: 2 };

/** timeoutX(r) = initTimeoutX + r · timeoutDelta (the paper, §3; reset every height). */
export interface TimeoutConfig {
  readonly proposeMs: number;
  readonly prevoteMs: number;
  readonly precommitMs: number;
  readonly proposeDeltaMs: number;
  readonly prevoteDeltaMs: number;
  readonly precommitDeltaMs: number;
}

/** The timeouts: 3 s propose, 1 s prevote, 1 s precommit, each 0.5 s longer per round. */
export const TIMEOUTS_DEFAULT: TimeoutConfig = {
  proposeMs: 3000, prevoteMs: 1000, precommitMs: 1000, proposeDeltaMs: 500, prevoteDeltaMs: 500, precommitDeltaMs: 500,
};

export function timeoutMs(config: TimeoutConfig, step: Step, round: number): number {
  switch (step) {
    case 'propose': return config.proposeMs + round * config.proposeDeltaMs;
    case 'prevote': return config.prevoteMs + round * config.prevoteDeltaMs;
    case 'precommit': return config.precommitMs + round * config.precommitDeltaMs;
  }
}

export interface TendermintLimits {
  /** Messages for rounds above round_p + this are dropped (a faulty validator cannot fill memory with far rounds). */
  readonly roundsAheadMax: number;
  /** Messages of the next height held until this one is decided; more are dropped (peers re-send on stalls). */
  readonly futureMessagesMax: number;
  /** Evidence waiting for a block; new evidence beyond this is dropped (other validators hold it too). */
  readonly pendingEvidenceMax: number;
  /** Evidence older than this many heights is no longer committed (CometBFT's MaxAgeNumBlocks). */
  readonly evidenceAgeHeightsMax: number;
  readonly block: BlockLimits;
}

export const TENDERMINT_LIMITS_DEFAULT: TendermintLimits = {
  roundsAheadMax: 64, futureMessagesMax: 4096, pendingEvidenceMax: 256, evidenceAgeHeightsMax: 100_000, block: BLOCK_LIMITS_DEFAULT,
};

export interface TendermintConfig {
  readonly chainId: string;
  readonly validators: ValidatorSet;
  /** This validator's address; null for a node that follows without voting. */
  readonly ownAddress: string | null;
  /** Time of height 0: the first block's time may not be earlier. */
  readonly genesisTimeMs: number;
  readonly timeouts?: TimeoutConfig;
  readonly limits?: TendermintLimits;
}

export interface TendermintDeps {
  readonly signer: Signer;
  readonly verify: VerifySignature;
  readonly application: ProposalApplication;
  /** Transactions waiting in the node's mempool, at most `maxTxBytes` of them. */
  readonly mempool: (maxTxBytes: number) => readonly Uint8Array[];
}

/** What a node knows when it (re)starts consensus at `height`: the end of its stored chain. */
export interface HeightStart {
  readonly height: number;
  readonly previousBlockId: string | null;
  readonly previousAppHash: string;
  /** Time of block height − 1 (the genesis time at height 1). */
  readonly previousTimeMs: number;
  /** Commit of height − 1 (null at height 1), carried by this node's proposals. */
  readonly lastCommit: Commit | null;
  readonly priorities: ProposerPriorities;
  /** The lock the sign guard saved (its last non-nil precommit), if it is for `height`. */
  readonly lock: ConsensusLock | null;
  /** The sign guard's messages of the last round it signed in; votes of `height` are resumed from (see #resume). */
  readonly signed: readonly LastSigned[];
  /** The last `valid-block` output the node stored, if it is of `height`: validValue and validRound (L42–43). */
  readonly validBlock: ValidBlockRecord | null;
  /** Keys and heights of evidence committed in recent blocks, so it is not committed twice. */
  readonly committedEvidence: readonly { readonly key: string; readonly height: number }[];
}

/** validValue and validRound with their proof: the 2f + 1 prevotes of validRound for the block. */
export interface ValidBlockRecord {
  readonly round: number;
  readonly block: Block;
  readonly proofOfLock: readonly Vote[];
}

export interface Timeout {
  readonly step: Step;
  readonly height: number;
  readonly round: number;
}

export type ConsensusMessage = { readonly kind: 'proposal'; readonly proposal: Proposal } | { readonly kind: 'vote'; readonly vote: Vote };

export type CoreInput =
  /** L10: upon start do StartRound(0). */
  | { readonly kind: 'start' }
  | ConsensusMessage
  | { readonly kind: 'timeout'; readonly timeout: Timeout }
  /** A decided block of this height with its commit, from a validator that is ahead. */
  | { readonly kind: 'commit'; readonly block: Block; readonly commit: Commit }
  | { readonly kind: 'evidence'; readonly evidence: DuplicateVoteEvidence }
  | { readonly kind: 'gossip-tick' };

export type CoreOutput =
  | { readonly kind: 'broadcast'; readonly message: ConsensusMessage }
  | { readonly kind: 'schedule-timeout'; readonly timeout: Timeout; readonly delayMs: number }
  /** L49–51: the node executes the block (FinalizeBlock, Commit), stores it with the commit, then calls commitHeight. */
  | { readonly kind: 'decide'; readonly height: number; readonly round: number; readonly blockId: string; readonly block: Block; readonly commit: Commit }
  /**
   * L42–43 set validValue: the node stores the block, the round and the 2f + 1 prevotes that made it
   * valid (durably, before it sends what follows) and passes them back in HeightStart after a
   * restart. Without them a restarted validator locked on a value could neither propose it (L16) nor
   * show others the proof-of-lock they need to accept it (L28), and would refuse everything else.
   */
  | { readonly kind: 'valid-block'; readonly height: number; readonly blockId: string; readonly record: ValidBlockRecord }
  /** Evidence this core found (two conflicting signed votes): gossip it; it is also pending here. */
  | { readonly kind: 'evidence'; readonly evidence: DuplicateVoteEvidence }
  /** A validator is at a lower height: send it the stored block and commit of `height`. */
  | { readonly kind: 'send-commit'; readonly to: string; readonly height: number }
  /** This core is stalled and a validator is ahead: ask it for the block and commit of `height`. */
  | { readonly kind: 'request-commit'; readonly to: string; readonly height: number }
  /** An input was refused (malformed, bad signature, wrong proposer, too far ahead): for logs and metrics. */
  | { readonly kind: 'rejected'; readonly code: string; readonly message: string }
  /** The signer refused (the sign guard: regression or conflict); the message was not sent. */
  | { readonly kind: 'sign-refused'; readonly code: string; readonly message: string };

interface Decision {
  readonly round: number;
  readonly blockId: string;
  readonly block: Block;
  readonly commit: Commit;
}

const RULE_FIRINGS_MAX = 100_000;
const SIGN_REFUSALS = new Set(['ORBITFED_SIGN_REGRESSION', 'ORBITFED_SIGN_CONFLICT', 'ORBITFED_SIGN_WRONG_CHAIN']);

/** One validator's Tendermint state machine; see the header. */
export class TendermintCore {
  readonly #chainId: string;
  readonly #set: ValidatorSet;
  readonly #ownIndex: number;
  readonly #genesisTimeMs: number;
  readonly #timeouts: TimeoutConfig;
  readonly #limits: TendermintLimits;
  readonly #deps: TendermintDeps;

  // Chain state: the end of the decided chain.
  #previousBlockId: string | null;
  #previousAppHash: string;
  #previousTimeMs: number;
  #lastCommit: Commit | null;
  #priorities: ProposerPriorities;
  readonly #committedEvidence = new Map<string, number>();
  readonly #pendingEvidence = new Map<string, DuplicateVoteEvidence>();

  // Algorithm 1, lines 2–9 (decision_p is the `decide` output and #decision).
  #height: number;
  #round = 0;
  #step: Step = 'propose';
  #lockedBlockId: string | null = null;
  #lockedRound = -1;
  #validBlock: Block | null = null;
  #validRound = -1;
  #decision: Decision | null = null;
  #started = false;

  // The message log of this height and what has been derived from it.
  #votes: HeightVoteSet;
  #proposals = new Map<number, { readonly proposal: Proposal; readonly blockId: string }>();
  #blocks = new Map<string, Block>();
  #validity = new Map<string, boolean>();
  #proposerByRound = new Map<number, number>();
  #firedPrevoteTimeout = new Set<number>();
  #firedLock = new Set<number>();
  #firedPrecommitTimeout = new Set<number>();
  #future: ConsensusMessage[] = [];

  // Gossip bookkeeping: the last round each validator spoke in at this height, and catch-up between ticks.
  #peerRounds = new Map<number, number>();
  #peersBehind = new Map<string, number>();
  #peerAhead: { readonly address: string; readonly height: number } | null = null;
  #progressAtLastTick = '';

  #nowMs = 0;
  #out: CoreOutput[] = [];
  #resumable: readonly LastSigned[];

  constructor(config: TendermintConfig, deps: TendermintDeps, start: HeightStart) {
    if (!isChainId(config.chainId)) throw new OrbitfedError('ORBITFED_CONSENSUS_CONFIG', 'chain id must be 1–50 lowercase letters, digits, dots or dashes', { field: 'chainId' });
    this.#chainId = config.chainId;
    this.#set = config.validators;
    this.#ownIndex = config.ownAddress === null ? -1 : (this.#set.indexByAddress.get(config.ownAddress) ?? -2);
    if (this.#ownIndex === -2) throw new OrbitfedError('ORBITFED_CONSENSUS_CONFIG', `${config.ownAddress} is not in the validator set`, { field: 'ownAddress' });
    this.#genesisTimeMs = config.genesisTimeMs;
    this.#timeouts = config.timeouts ?? TIMEOUTS_DEFAULT;
    this.#limits = config.limits ?? TENDERMINT_LIMITS_DEFAULT;
    this.#deps = deps;
    assert.ok(Number.isSafeInteger(start.height) && start.height >= 1, 'heights start at 1');
    assert.equal(start.priorities.priorities.length, this.#set.validators.length, 'one proposer priority per validator');
    this.#height = start.height;
    this.#previousBlockId = start.previousBlockId;
    this.#previousAppHash = start.previousAppHash;
    this.#previousTimeMs = start.previousTimeMs;
    this.#lastCommit = start.lastCommit;
    this.#priorities = start.priorities;
    for (const { key, height } of start.committedEvidence) this.#committedEvidence.set(key, height);
    this.#votes = new HeightVoteSet(this.#set, this.#height);
    if (start.lock !== null && start.lock.height === start.height) {
      this.#lockedBlockId = start.lock.blockId;
      this.#lockedRound = start.lock.round;
    }
    this.#resumable = start.signed.filter((m) => m.height === start.height && m.step !== 'propose');
    const valid = start.validBlock;
    if (valid !== null && valid.block.header.height === start.height) {
      const blockId = blockIdOf(valid.block);
      this.#blocks.set(blockId, valid.block);
      this.#validBlock = valid.block;
      this.#validRound = valid.round;
      for (const vote of valid.proofOfLock) {
        // Our own disk: the votes were verified when they arrived; check they are what they claim to be.
        const index = this.#set.indexByAddress.get(vote.validatorAddress);
        assert.ok(index !== undefined && vote.type === 'prevote' && vote.height === start.height && vote.round === valid.round && vote.blockId === blockId, 'a stored proof-of-lock holds prevotes for its block and round');
        this.#votes.add(index, vote, true);
      }
    }
  }

  get height(): number {
    return this.#height;
  }

  get round(): number {
    return this.#round;
  }

  get step(): Step {
    return this.#step;
  }

  /** lockedValue (by id) and lockedRound (L6–7). */
  get lock(): { readonly blockId: string | null; readonly round: number } {
    return { blockId: this.#lockedBlockId, round: this.#lockedRound };
  }

  /** validValue (by id) and validRound (L8–9). */
  get valid(): { readonly blockId: string | null; readonly round: number } {
    return { blockId: this.#validBlock === null ? null : blockIdOf(this.#validBlock), round: this.#validRound };
  }

  /** True between a `decide` output and the node's `commitHeight`. */
  get awaitingCommit(): boolean {
    return this.#decision !== null;
  }

  get pendingEvidence(): readonly DuplicateVoteEvidence[] {
    return [...this.#pendingEvidence.values()];
  }

  /** Address of proposer(h_p, round). */
  proposerAddress(round: number): string {
    return this.#set.validators[this.#proposerIndex(round)]!.address;
  }

  handle(input: CoreInput, nowMs: number): CoreOutput[] {
    assert.ok(Number.isFinite(nowMs), 'now must be finite');
    this.#nowMs = nowMs;
    this.#out = [];
    switch (input.kind) {
      case 'start':
        assert.ok(!this.#started, 'a core starts once');
        this.#started = true;
        if (!this.#resume()) this.#startRound(0);
        break;
      case 'proposal':
        this.#onProposal(input.proposal);
        break;
      case 'vote':
        this.#onVote(input.vote);
        break;
      case 'timeout':
        this.#onTimeout(input.timeout);
        break;
      case 'commit':
        this.#onCommit(input.block, input.commit);
        break;
      case 'evidence':
        this.#onEvidence(input.evidence, false);
        break;
      case 'gossip-tick':
        this.#onGossipTick();
        break;
    }
    this.#runRules();
    return this.#out;
  }

  /**
   * L52–54, once the node has executed and stored the decided block: h_p ← h_p + 1, reset the locked
   * and valid values and the message log, StartRound(0). `appHash` is FinalizeBlock's.
   */
  commitHeight(appHash: string, nowMs: number): CoreOutput[] {
    const decision = this.#decision;
    assert.ok(decision !== null, 'commitHeight follows a decide output');
    this.#nowMs = nowMs;
    this.#out = [];
    const decidedHeight = this.#height;
    this.#previousBlockId = decision.blockId;
    this.#previousAppHash = appHash;
    this.#previousTimeMs = decision.block.header.timeMs;
    this.#lastCommit = decision.commit;
    this.#priorities = nextHeightPriorities(this.#set, this.#priorities);
    for (const evidence of decision.block.evidence) {
      const key = evidenceKey(evidence);
      this.#committedEvidence.set(key, evidenceHeight(evidence));
      this.#pendingEvidence.delete(key);
    }
    this.#height = decidedHeight + 1;
    const oldest = this.#height - this.#limits.evidenceAgeHeightsMax;
    for (const [key, height] of this.#committedEvidence) if (height < oldest) this.#committedEvidence.delete(key);
    for (const [key, evidence] of this.#pendingEvidence) if (evidenceHeight(evidence) < oldest) this.#pendingEvidence.delete(key);
    this.#lockedBlockId = null;
    this.#lockedRound = -1;
    this.#validBlock = null;
    this.#validRound = -1;
    this.#decision = null;
    this.#votes = new HeightVoteSet(this.#set, this.#height);
    this.#proposals = new Map();
    this.#blocks = new Map();
    this.#validity = new Map();
    this.#proposerByRound = new Map();
    this.#firedPrevoteTimeout = new Set();
    this.#firedLock = new Set();
    this.#firedPrecommitTimeout = new Set();
    this.#peerRounds = new Map();
    for (const [peer, height] of this.#peersBehind) if (height >= this.#height) this.#peersBehind.delete(peer);
    this.#startRound(0);
    const buffered = this.#future;
    this.#future = [];
    for (const message of buffered) {
      if (message.kind === 'proposal') this.#onProposal(message.proposal);
      else this.#onVote(message.vote);
    }
    this.#runRules();
    return this.#out;
  }

  // ——— Algorithm 1 ———

  /** L11–21. */
  #startRound(round: number): void {
    assert.ok(round >= this.#round || round === 0, 'rounds only move forward within a height');
    this.#round = round;
    this.#step = 'propose';
    if (this.#proposerIndex(round) === this.#ownIndex) {
      // L15–18: re-propose validValue if there is one, otherwise getValue().
      const block = this.#validBlock ?? this.#getValue();
      if (this.#broadcastProposal(block, this.#validRound)) return;
    }
    // L21 (and the refused-proposer path, see the header).
    this.#scheduleTimeout('propose');
  }

  /**
   * After a restart in the middle of a height: if the last round this validator signed in is of
   * this height, continue from where its votes left it (that round; step prevote or precommit) with
   * the votes back in the log and sent again. The crashed process was in that state when it signed
   * (L24–27, L30–33, L40–41, L45–46, L59–60, L63–64), and the sign guard would refuse any other vote
   * for those steps anyway; without this, a validator whose votes were lost with the crash could no
   * longer vote in that round, and a round with too few voters stalls every validator in it.
   * Starting at a round above 0 is what L55 does on f + 1 messages of that round.
   */
  #resume(): boolean {
    const signed = this.#resumable;
    this.#resumable = [];
    if (signed.length === 0 || this.#ownIndex < 0) return false;
    const own = this.#set.validators[this.#ownIndex]!.address;
    const votes: Vote[] = [];
    for (const message of signed) {
      const fields = parseSignBytes(message.signBytes);
      if (fields.chainId !== this.#chainId || fields.address !== own || fields.type === 'proposal' || fields.height !== this.#height) return false;
      votes.push({ type: fields.type, height: fields.height, round: fields.round, blockId: fields.blockId, validatorAddress: own, signature: message.signature });
    }
    const last = votes[votes.length - 1]!;
    this.#round = last.round;
    this.#step = last.type;
    for (const vote of votes) {
      assert.equal(vote.round, last.round, 'the guard keeps one round');
      this.#votes.add(this.#ownIndex, vote, true);
      this.#out.push({ kind: 'broadcast', message: { kind: 'vote', vote } });
    }
    return true;
  }

  /** Evaluates the upon rules until none fires. */
  #runRules(): void {
    if (!this.#started) return;
    for (let firings = 0; ; firings++) {
      assert.ok(firings < RULE_FIRINGS_MAX, 'upon rules must reach a fixed point');
      if (this.#decision !== null || !this.#fireOneRule()) return;
    }
  }

  #fireOneRule(): boolean {
    return this.#ruleDecide() || this.#ruleSkipRound() || this.#ruleProposal() || this.#ruleProposalWithValidRound()
      || this.#rulePrevoteTimeout() || this.#ruleLock() || this.#rulePrecommitNil() || this.#rulePrecommitTimeout();
  }

  /** L22–27: ⟨PROPOSAL, h_p, round_p, v, −1⟩ from proposer(h_p, round_p) while step_p = propose. */
  #ruleProposal(): boolean {
    if (this.#step !== 'propose') return false;
    const held = this.#proposals.get(this.#round);
    if (held === undefined || held.proposal.validRound !== -1) return false;
    const { blockId } = held;
    // L23: valid(v) ∧ (lockedRound_p = −1 ∨ lockedValue_p = v).
    const accept = this.#isValid(blockId) && (this.#lockedRound === -1 || this.#lockedBlockId === blockId);
    this.#castVote('prevote', accept ? blockId : null); // L24 / L26
    this.#step = 'prevote'; // L27
    return true;
  }

  /** L28–33: ⟨PROPOSAL, h_p, round_p, v, vr⟩ AND 2f + 1 ⟨PREVOTE, h_p, vr, id(v)⟩ while step_p = propose ∧ 0 ≤ vr < round_p. */
  #ruleProposalWithValidRound(): boolean {
    if (this.#step !== 'propose') return false;
    const held = this.#proposals.get(this.#round);
    if (held === undefined) return false;
    const vr = held.proposal.validRound;
    if (!(vr >= 0 && vr < this.#round)) return false;
    const { blockId } = held;
    if ((this.#votes.tally('prevote', vr)?.powerFor(blockId) ?? 0) < this.#set.quorumVotingPower) return false;
    // L29: valid(v) ∧ (lockedRound_p ≤ vr ∨ lockedValue_p = v).
    const accept = this.#isValid(blockId) && (this.#lockedRound <= vr || this.#lockedBlockId === blockId);
    this.#castVote('prevote', accept ? blockId : null); // L30 / L32
    this.#step = 'prevote'; // L33
    return true;
  }

  /** L34–35: 2f + 1 ⟨PREVOTE, h_p, round_p, ∗⟩ while step_p = prevote, for the first time. */
  #rulePrevoteTimeout(): boolean {
    if (this.#step !== 'prevote' || this.#firedPrevoteTimeout.has(this.#round)) return false;
    if ((this.#votes.tally('prevote', this.#round)?.powerAny() ?? 0) < this.#set.quorumVotingPower) return false;
    this.#firedPrevoteTimeout.add(this.#round);
    this.#scheduleTimeout('prevote');
    return true;
  }

  /**
   * L36–43: ⟨PROPOSAL, h_p, round_p, v, ∗⟩ AND 2f + 1 ⟨PREVOTE, h_p, round_p, id(v)⟩ while
   * valid(v) ∧ step_p ≥ prevote, for the first time.
   */
  #ruleLock(): boolean {
    if (STEP_RANK[this.#step] < STEP_RANK.prevote || this.#firedLock.has(this.#round)) return false;
    const held = this.#proposals.get(this.#round);
    if (held === undefined) return false;
    const { blockId } = held;
    if ((this.#votes.tally('prevote', this.#round)?.powerFor(blockId) ?? 0) < this.#set.quorumVotingPower) return false;
    if (!this.#isValid(blockId)) return false;
    this.#firedLock.add(this.#round);
    const block = this.#blocks.get(blockId)!;
    // Before the precommit goes out, so that a restart finds the value it locks on (see CoreOutput).
    const proofOfLock = this.#votes.tally('prevote', this.#round)!.votesFor(blockId);
    this.#out.push({ kind: 'valid-block', height: this.#height, blockId, record: { round: this.#round, block, proofOfLock } });
    if (this.#step === 'prevote') {
      this.#lockedBlockId = blockId; // L38
      this.#lockedRound = this.#round; // L39
      this.#castVote('precommit', blockId); // L40
      this.#step = 'precommit'; // L41
    }
    this.#validBlock = block; // L42
    this.#validRound = this.#round; // L43
    return true;
  }

  /** L44–46: 2f + 1 ⟨PREVOTE, h_p, round_p, nil⟩ while step_p = prevote. */
  #rulePrecommitNil(): boolean {
    if (this.#step !== 'prevote') return false;
    if ((this.#votes.tally('prevote', this.#round)?.powerFor(null) ?? 0) < this.#set.quorumVotingPower) return false;
    this.#castVote('precommit', null); // L45
    this.#step = 'precommit'; // L46
    return true;
  }

  /** L47–48: 2f + 1 ⟨PRECOMMIT, h_p, round_p, ∗⟩ for the first time. */
  #rulePrecommitTimeout(): boolean {
    if (this.#firedPrecommitTimeout.has(this.#round)) return false;
    if ((this.#votes.tally('precommit', this.#round)?.powerAny() ?? 0) < this.#set.quorumVotingPower) return false;
    this.#firedPrecommitTimeout.add(this.#round);
    this.#scheduleTimeout('precommit');
    return true;
  }

  /** L49–51: ⟨PROPOSAL, h_p, r, v, ∗⟩ AND 2f + 1 ⟨PRECOMMIT, h_p, r, id(v)⟩ while decision_p[h_p] = nil, in any round r. */
  #ruleDecide(): boolean {
    for (const round of this.#votes.rounds()) {
      const precommits = this.#votes.tally('precommit', round);
      if (precommits === undefined) continue;
      for (const blockId of precommits.blockIdsWithPower(this.#set.quorumVotingPower)) {
        // L50: if valid(v). Without the block we wait for it (a proposal or a commit from a peer).
        if (!this.#blocks.has(blockId) || !this.#isValid(blockId)) continue;
        const signatures = precommits.votesFor(blockId).map((v) => ({ validatorAddress: v.validatorAddress, signature: v.signature }));
        this.#decide({ round, blockId, block: this.#blocks.get(blockId)!, commit: { height: this.#height, round, blockId, signatures } });
        return true;
      }
    }
    return false;
  }

  /** L55–56: f + 1 ⟨∗, h_p, round, ∗, ∗⟩ with round > round_p. */
  #ruleSkipRound(): boolean {
    let target = -1;
    for (const round of this.#votes.rounds()) {
      if (round > this.#round && this.#votes.senderPower(round) >= this.#set.correctVotingPowerMin) target = round;
    }
    if (target < 0) return false;
    this.#startRound(target);
    return true;
  }

  /** L57–67. */
  #onTimeout(timeout: Timeout): void {
    if (this.#decision !== null || timeout.height !== this.#height || timeout.round !== this.#round) return;
    switch (timeout.step) {
      case 'propose': // L57–60
        if (this.#step !== 'propose') return;
        this.#castVote('prevote', null);
        this.#step = 'prevote';
        return;
      case 'prevote': // L61–64
        if (this.#step !== 'prevote') return;
        this.#castVote('precommit', null);
        this.#step = 'precommit';
        return;
      case 'precommit': // L65–67
        this.#startRound(this.#round + 1);
        return;
    }
  }

  /** L49–51 (and a verified catch-up commit): decision_p[h_p] = v; the node executes it and calls commitHeight. */
  #decide(decision: Decision): void {
    assert.equal(this.#decision, null, 'one decision per height');
    assert.equal(decision.commit.height, this.#height);
    this.#decision = decision;
    this.#out.push({ kind: 'decide', height: this.#height, round: decision.round, blockId: decision.blockId, block: decision.block, commit: decision.commit });
  }

  // ——— valid(v) and getValue() ———

  /** valid(v): the block extends our chain, its contents and evidence check out, and the application accepts it. */
  #isValid(blockId: string): boolean {
    let valid = this.#validity.get(blockId);
    if (valid === undefined) {
      const block = this.#blocks.get(blockId);
      assert.ok(block !== undefined, 'validity is asked of blocks we hold');
      const checked = this.#checkBlock(block, blockId);
      if (!checked.ok) this.#out.push({ kind: 'rejected', code: checked.code, message: `block ${blockId.slice(0, 12)}: ${checked.message}` });
      valid = checked.ok;
      this.#validity.set(blockId, valid);
    }
    return valid;
  }

  #checkBlock(block: Block, blockId: string): CheckResult {
    const contents = checkBlockContents(block, this.#limits.block);
    if (!contents.ok) return contents;
    const h = block.header;
    if (h.chainId !== this.#chainId) return rejected('ORBITFED_BLOCK_WRONG_CHAIN', `chain ${h.chainId}, expected ${this.#chainId}`);
    if (h.height !== this.#height) return rejected('ORBITFED_BLOCK_WRONG_HEIGHT', `height ${h.height}, expected ${this.#height}`);
    if (h.previousBlockId !== this.#previousBlockId) return rejected('ORBITFED_BLOCK_WRONG_PARENT', 'previous block id is not our last decided block');
    if (h.previousAppHash !== this.#previousAppHash) return rejected('ORBITFED_BLOCK_WRONG_APP_HASH', 'previous app hash is not the state after our last decided block');
    const earliestMs = this.#height === 1 ? this.#genesisTimeMs : this.#previousTimeMs + 1;
    if (h.timeMs < earliestMs) return rejected('ORBITFED_BLOCK_TIME', `time ${h.timeMs} is not after the previous block's ${this.#previousTimeMs}`);
    if (!this.#set.indexByAddress.has(h.proposerAddress)) return rejected('ORBITFED_BLOCK_PROPOSER', `${h.proposerAddress} is not a validator`);
    if (this.#height === 1) {
      if (block.lastCommit !== null) return rejected('ORBITFED_BLOCK_LAST_COMMIT', 'the first block has no last commit');
    } else {
      const commit = block.lastCommit;
      if (commit === null) return rejected('ORBITFED_BLOCK_LAST_COMMIT', 'the block lacks the commit of the previous height');
      if (commit.height !== this.#height - 1 || commit.blockId !== this.#previousBlockId) return rejected('ORBITFED_BLOCK_LAST_COMMIT', 'last commit is not for our previous block');
      const verified = verifyCommit(this.#chainId, this.#set, commit, this.#deps.verify);
      if (!verified.ok) return rejected('ORBITFED_BLOCK_LAST_COMMIT', verified.message);
    }
    const keys = new Set<string>();
    for (const evidence of block.evidence) {
      const checked = this.#checkEvidenceForBlock(evidence);
      if (!checked.ok) return checked;
      const key = evidenceKey(evidence);
      if (keys.has(key)) return rejected('ORBITFED_BLOCK_EVIDENCE', 'the same evidence appears twice');
      keys.add(key);
    }
    const response = this.#deps.application.processProposal({ block, blockId, misbehavior: this.#misbehaviorOf(block.evidence) });
    if (response.status !== 'accept') return rejected('ORBITFED_BLOCK_REJECTED_BY_APPLICATION', response.reason);
    return { ok: true };
  }

  /** Evidence a block at this height may commit: verified, of an earlier height within the age limit, not yet committed. */
  #checkEvidenceForBlock(evidence: DuplicateVoteEvidence): CheckResult {
    const verified = verifyDuplicateVoteEvidence(this.#chainId, this.#set, evidence, this.#deps.verify);
    if (!verified.ok) return verified;
    const height = evidenceHeight(evidence);
    if (height >= this.#height) return rejected('ORBITFED_EVIDENCE_TOO_NEW', `evidence of height ${height} waits for a later block`);
    if (height < this.#height - this.#limits.evidenceAgeHeightsMax) return rejected('ORBITFED_EVIDENCE_TOO_OLD', `evidence of height ${height} is too old`);
    if (this.#committedEvidence.has(evidenceKey(evidence))) return rejected('ORBITFED_EVIDENCE_ALREADY_COMMITTED', 'evidence was committed before');
    return { ok: true };
  }

  #misbehaviorOf(evidence: readonly DuplicateVoteEvidence[]): Misbehavior[] {
    return evidence.map((e) => misbehaviorOf(this.#set, e));
  }

  /** L18 getValue(): a new block on top of our chain (PrepareProposal chooses its transactions). */
  #getValue(): Block {
    const own = this.#set.validators[this.#ownIndex]!;
    const timeMs = Math.max(Math.floor(this.#nowMs), this.#height === 1 ? this.#genesisTimeMs : this.#previousTimeMs + 1);
    const evidence = [...this.#pendingEvidence.entries()]
      .filter(([, e]) => this.#checkEvidenceForBlock(e).ok)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, this.#limits.block.evidenceMax)
      .map(([, e]) => e);
    const maxTxBytes = this.#limits.block.txsBytesMax;
    const prepared = this.#deps.application.prepareProposal({
      txs: this.#deps.mempool(maxTxBytes), maxTxBytes, height: this.#height, timeMs, misbehavior: this.#misbehaviorOf(evidence), proposerAddress: own.address,
    });
    const bytes = prepared.txs.reduce((sum, tx) => sum + tx.length, 0);
    if (bytes > maxTxBytes || prepared.txs.length > this.#limits.block.txsMax) {
      // ABCI 2.0: PrepareProposal must respect max_tx_bytes; an application that does not has a bug.
      throw new OrbitfedError('ORBITFED_ABCI_PREPARE_TOO_LARGE', `PrepareProposal returned ${prepared.txs.length} transactions of ${bytes} bytes; at most ${this.#limits.block.txsMax} of ${maxTxBytes}`);
    }
    const block = makeBlock({
      chainId: this.#chainId, height: this.#height, timeMs, previousBlockId: this.#previousBlockId, previousAppHash: this.#previousAppHash,
      proposerAddress: own.address, txs: prepared.txs, evidence, lastCommit: this.#lastCommit,
    });
    return block;
  }

  // ——— Sending ———

  #broadcastProposal(block: Block, validRound: number): boolean {
    const blockId = blockIdOf(block);
    const unsigned = { height: this.#height, round: this.#round, validRound, blockId, proposerAddress: this.#set.validators[this.#ownIndex]!.address };
    const signature = this.#sign(proposalSignBytes(this.#chainId, unsigned));
    if (signature === null) return false;
    const proposal: Proposal = { ...unsigned, block, signature };
    this.#storeProposal(proposal, blockId, this.#ownIndex);
    this.#out.push({ kind: 'broadcast', message: { kind: 'proposal', proposal } });
    return true;
  }

  /** broadcast ⟨PREVOTE/PRECOMMIT, h_p, round_p, id⟩; the message reaches this core too (it is in the log at once). */
  #castVote(type: VoteType, blockId: string | null): void {
    if (this.#ownIndex < 0) return;
    const unsigned = { type, height: this.#height, round: this.#round, blockId, validatorAddress: this.#set.validators[this.#ownIndex]!.address };
    const signature = this.#sign(voteSignBytes(this.#chainId, unsigned));
    if (signature === null) return;
    const vote: Vote = { ...unsigned, signature };
    this.#votes.add(this.#ownIndex, vote, true);
    this.#out.push({ kind: 'broadcast', message: { kind: 'vote', vote } });
  }

  #sign(bytes: Uint8Array): Uint8Array | null {
    try {
      return this.#deps.signer.sign(bytes);
    } catch (error) {
      // A refusal only means the message is not sent. Anything else (the guard cannot persist) must
      // stop the validator: it must not go on without knowing what it signed.
      if (error instanceof OrbitfedError && SIGN_REFUSALS.has(error.code)) {
        this.#out.push({ kind: 'sign-refused', code: error.code, message: error.message });
        return null;
      }
      throw error;
    }
  }

  #scheduleTimeout(step: Step): void {
    this.#out.push({ kind: 'schedule-timeout', timeout: { step, height: this.#height, round: this.#round }, delayMs: timeoutMs(this.#timeouts, step, this.#round) });
  }

  // ——— Receiving ———

  #reject(code: string, message: string): void {
    this.#out.push({ kind: 'rejected', code, message });
  }

  /** Routes a message by height; true when it belongs to the current, undecided height. */
  #routeByHeight(message: ConsensusMessage, height: number, author: string): boolean {
    const known = this.#set.indexByAddress.has(author);
    if (height < this.#height) {
      const behind = this.#peersBehind.get(author);
      if (known && (behind === undefined || height < behind)) this.#peersBehind.set(author, height);
      return false;
    }
    if (height > this.#height) {
      if (known && (this.#peerAhead === null || height > this.#peerAhead.height)) this.#peerAhead = { address: author, height };
      // Messages of the next height wait for this one's decision (bounded); later heights are dropped.
      if (height === this.#height + 1 && this.#future.length < this.#limits.futureMessagesMax) this.#future.push(message);
      return false;
    }
    return this.#decision === null;
  }

  #roundTooFar(round: number): boolean {
    if (round <= this.#round + this.#limits.roundsAheadMax) return false;
    this.#reject('ORBITFED_CONSENSUS_ROUND_TOO_FAR', `round ${round} is more than ${this.#limits.roundsAheadMax} rounds ahead of ${this.#round}`);
    return true;
  }

  #onProposal(proposal: Proposal): void {
    const shape = checkProposalShape(proposal);
    if (!shape.ok) return this.#reject(shape.code, shape.message);
    if (!this.#routeByHeight({ kind: 'proposal', proposal }, proposal.height, proposal.proposerAddress)) return;
    if (this.#roundTooFar(proposal.round)) return;
    const proposerIndex = this.#proposerIndex(proposal.round);
    if (this.#set.validators[proposerIndex]!.address !== proposal.proposerAddress) {
      return this.#reject('ORBITFED_CONSENSUS_NOT_PROPOSER', `${proposal.proposerAddress} is not the proposer of height ${proposal.height} round ${proposal.round}`);
    }
    const held = this.#proposals.get(proposal.round);
    if (held !== undefined && held.proposal.blockId === proposal.blockId && held.proposal.validRound === proposal.validRound) return;
    let blockId: string;
    try {
      blockId = blockIdOf(proposal.block);
    } catch (error) {
      return this.#reject('ORBITFED_BLOCK_MALFORMED', `cannot hash the proposed block's header: ${(error as Error).message}`);
    }
    if (blockId !== proposal.blockId) return this.#reject('ORBITFED_CONSENSUS_BLOCK_ID_MISMATCH', 'the proposal\'s block id is not the id of its block');
    const signed = verifyProposalSignature(this.#chainId, this.#set, proposal, this.#deps.verify);
    if (!signed.ok) return this.#reject(signed.code, signed.message);
    if (held !== undefined) {
      // A second, different signed proposal for one round: the proposer equivocates. The first one stands.
      return this.#reject('ORBITFED_CONSENSUS_CONFLICTING_PROPOSAL', `${proposal.proposerAddress} proposed twice in round ${proposal.round}`);
    }
    this.#storeProposal(proposal, blockId, proposerIndex);
  }

  #storeProposal(proposal: Proposal, blockId: string, proposerIndex: number): void {
    this.#notePeerRound(proposerIndex, proposal.round);
    this.#proposals.set(proposal.round, { proposal, blockId });
    if (!this.#blocks.has(blockId)) this.#blocks.set(blockId, proposal.block);
    this.#votes.noteSender(proposal.round, proposerIndex);
  }

  #onVote(vote: Vote): void {
    const shape = checkVoteShape(vote);
    if (!shape.ok) return this.#reject(shape.code, shape.message);
    if (!this.#routeByHeight({ kind: 'vote', vote }, vote.height, vote.validatorAddress)) return;
    if (this.#roundTooFar(vote.round)) return;
    const index = this.#set.indexByAddress.get(vote.validatorAddress);
    if (index === undefined) return this.#reject('ORBITFED_CONSENSUS_UNKNOWN_VALIDATOR', `${vote.validatorAddress} is not in the validator set`);
    // A copy of a vote we hold changes nothing: skip it before paying for a signature check.
    if (this.#votes.isDuplicate(index, vote)) return;
    if (!this.#deps.verify(this.#set.validators[index]!.publicKey, voteSignBytes(this.#chainId, vote), vote.signature)) {
      return this.#reject('ORBITFED_CONSENSUS_BAD_SIGNATURE', `vote signature of ${vote.validatorAddress} does not verify`);
    }
    this.#notePeerRound(index, vote.round);
    const added = this.#votes.add(index, vote, vote.blockId !== null && this.#blocks.has(vote.blockId));
    if (added.kind === 'conflict' && added.evidence !== null) this.#onEvidence(added.evidence, true);
  }

  /** A block and commit for the current height from a validator that is ahead. */
  #onCommit(block: Block, commit: Commit): void {
    if (this.#decision !== null || commit.height !== this.#height) return;
    const verified = verifyCommit(this.#chainId, this.#set, commit, this.#deps.verify);
    if (!verified.ok) return this.#reject(verified.code, verified.message);
    let blockId: string;
    try {
      blockId = blockIdOf(block);
    } catch (error) {
      return this.#reject('ORBITFED_BLOCK_MALFORMED', `cannot hash the block's header: ${(error as Error).message}`);
    }
    if (blockId !== commit.blockId) return this.#reject('ORBITFED_CONSENSUS_BLOCK_ID_MISMATCH', 'the commit is not for this block');
    if (!this.#blocks.has(blockId)) this.#blocks.set(blockId, block);
    if (!this.#isValid(blockId)) return;
    this.#decide({ round: commit.round, blockId, block: this.#blocks.get(blockId)!, commit });
  }

  #notePeerRound(index: number, round: number): void {
    if (index !== this.#ownIndex && round > (this.#peerRounds.get(index) ?? -1)) this.#peerRounds.set(index, round);
  }

  #onEvidence(evidence: DuplicateVoteEvidence, foundHere: boolean): void {
    const shape = typeof evidence === 'object' && evidence !== null && typeof evidence.voteA === 'object' && evidence.voteA !== null ? checkVoteShape(evidence.voteA) : null;
    if (shape === null || !shape.ok) return this.#reject('ORBITFED_EVIDENCE_MALFORMED', 'evidence needs two votes');
    // Copies of evidence we hold are dropped before their signatures are checked.
    const key = evidenceKey(evidence);
    if (this.#pendingEvidence.has(key) || this.#committedEvidence.has(key)) return;
    if (!foundHere) {
      const verified = verifyDuplicateVoteEvidence(this.#chainId, this.#set, evidence, this.#deps.verify);
      if (!verified.ok) return this.#reject(verified.code, verified.message);
      if (evidenceHeight(evidence) < this.#height - this.#limits.evidenceAgeHeightsMax || evidenceHeight(evidence) > this.#height) return;
    }
    if (this.#pendingEvidence.size >= this.#limits.pendingEvidenceMax) {
      return this.#reject('ORBITFED_EVIDENCE_POOL_FULL', `${this.#limits.pendingEvidenceMax} pieces of evidence are already waiting`);
    }
    this.#pendingEvidence.set(key, evidence);
    if (foundHere) this.#out.push({ kind: 'evidence', evidence });
  }

  // ——— Gossip ———

  #progressKey(): string {
    return `${this.#height}/${this.#round}/${this.#step}/${this.#decision === null ? '' : 'decided'}`;
  }

  #onGossipTick(): void {
    const progress = this.#progressKey();
    const stalled = progress === this.#progressAtLastTick;
    this.#progressAtLastTick = progress;
    for (const [peer, height] of this.#peersBehind) this.#out.push({ kind: 'send-commit', to: peer, height });
    this.#peersBehind.clear();
    const ahead = this.#peerAhead;
    this.#peerAhead = null;
    if (!this.#started || this.#decision !== null) return;
    // Ask for the commit we lack when stalled, or at once when a validator is two heights ahead.
    if (ahead !== null && (stalled || ahead.height >= this.#height + 2)) this.#out.push({ kind: 'request-commit', to: ahead.address, height: this.#height });
    if (!stalled) return;
    // The current round, and the rounds validators heard at this height last spoke in below it
    // (as CometBFT's gossip sends a peer the votes of the peer's round): a validator left behind
    // in a round needs that round's messages, which the others no longer send once they moved on.
    const rounds = new Set([this.#round]);
    for (const round of this.#peerRounds.values()) if (round < this.#round) rounds.add(round);
    for (const round of [...rounds].sort((a, b) => b - a)) {
      const held = this.#proposals.get(round);
      if (held !== undefined) this.#out.push({ kind: 'broadcast', message: { kind: 'proposal', proposal: held.proposal } });
      // The round's votes we hold, our own and relayed: what a correct validator lacks after losses or a restart.
      for (const type of ['prevote', 'precommit'] as const) {
        for (const vote of this.#votes.tally(type, round)?.firstVotes() ?? []) this.#out.push({ kind: 'broadcast', message: { kind: 'vote', vote } });
      }
      // The proof-of-lock of the proposal's valid round, which L28 waits for.
      if (held !== undefined && held.proposal.validRound >= 0) {
        for (const vote of this.#votes.tally('prevote', held.proposal.validRound)?.votesFor(held.blockId) ?? []) {
          this.#out.push({ kind: 'broadcast', message: { kind: 'vote', vote } });
        }
      }
    }
  }

  #proposerIndex(round: number): number {
    let index = this.#proposerByRound.get(round);
    if (index === undefined) {
      index = proposerIndexForRound(this.#set, this.#priorities, round);
      this.#proposerByRound.set(round, index);
    }
    return index;
  }
}
