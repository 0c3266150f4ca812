// The validator set: who votes, with how much voting power, the two thresholds of Tendermint, and
// who proposes in each round.
//
// Thresholds (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus", arXiv:1807.04938, §2
// and Algorithm 1): with n the total voting power and f the largest faulty power tolerated
// (n > 3f, so f = ⌊(n − 1)/3⌋), "2f + 1" is the quorum and "f + 1" the power that must contain a
// correct process. The paper writes them for n = 3f + 1; for any n we use quorum = n − f, which is
// ⌊2n/3⌋ + 1, i.e. "more than 2/3" as CometBFT counts it: two quorums intersect in n − 2f > f power,
// so in at least one correct validator, and the correct validators alone (n − f) form one. All in
// integers; no fractions anywhere.
//
// Proposer rotation is CometBFT's weighted round robin (spec/consensus/proposer-selection.md and
// types/validator_set.go, IncrementProposerPriority): before each run, priorities are rescaled so
// that max − min ≤ 2·P and centred on their average; then every run adds each validator's power to
// its priority, elects the highest (ties to the smaller address), and takes the total power P from
// the one elected. As in CometBFT, the set of height 1 is the genesis set after one run, each next
// height's set is the previous one after one more run, and the proposer of round r is the one
// elected by r further runs in one call (IncrementProposerPriority(r)) on a copy of the height's set.
// CometBFT's own consensus state adds the runs of each round it passes through to the set it keeps,
// which can make the proposer depend on the rounds a node skipped; computing it from the height's set
// in one call makes proposer(h, r) a function of (h, r) alone, the determinism its spec requires (R1).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { OrbitfedError } from '../common/index.ts';
import { isHex } from './binary-layout.ts';

/** Validators per set: settlement runs on 4–7; the bound keeps vote tallies and messages small. */
export const VALIDATORS_MAX = 128;
/**
 * Total voting power ceiling. CometBFT allows MaxInt64/8 in int64; we keep every priority a safe
 * JavaScript integer: priorities stay within a few multiples of P·n, far below 2^53 at this bound.
 */
export const VOTING_POWER_TOTAL_MAX = 2 ** 40;
/** Address bytes: CometBFT's are 20; tests use the short addresses of CometBFT's own test vectors. */
export const ADDRESS_BYTES_MAX = 64;
export const PUBLIC_KEY_BYTES = 32;
/** CometBFT's PriorityWindowSizeFactor: priorities are rescaled to span at most 2·P. */
const PRIORITY_WINDOW_SIZE_FACTOR = 2;

export interface ValidatorInfo {
  /** Lowercase hex; unique in the set; orders ties in proposer selection. */
  readonly address: string;
  /** Raw 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** A positive integer. */
  readonly votingPower: number;
}

export interface ValidatorSet {
  /** Sorted by address; a validator's index in this list is its index everywhere. */
  readonly validators: readonly ValidatorInfo[];
  readonly totalVotingPower: number;
  /** f: the largest faulty power tolerated, ⌊(n − 1)/3⌋. */
  readonly faultyVotingPowerMax: number;
  /** "2f + 1": n − f, the smallest power that is more than 2/3 of n. */
  readonly quorumVotingPower: number;
  /** "f + 1": the smallest power that contains at least one correct validator. */
  readonly correctVotingPowerMin: number;
  readonly indexByAddress: ReadonlyMap<string, number>;
}

/** Priorities of one height (or round), and the validator the last run elected. */
export interface ProposerPriorities {
  readonly priorities: readonly number[];
  readonly proposerIndex: number;
}

function invalid(message: string, field: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_VALIDATOR_SET_INVALID', message, { field });
}

/** CometBFT's address of an ed25519 key: the first 20 bytes of its SHA-256. */
export function validatorAddress(publicKey: Uint8Array): string {
  assert.equal(publicKey.length, PUBLIC_KEY_BYTES, 'an ed25519 public key is 32 bytes');
  return createHash('sha256').update(publicKey).digest().subarray(0, 20).toString('hex');
}

/** Checks and orders a validator list; throws ORBITFED_VALIDATOR_SET_INVALID naming the field. */
export function validatorSet(validators: readonly ValidatorInfo[]): ValidatorSet {
  if (validators.length === 0) throw invalid('a validator set needs at least one validator', 'validators');
  if (validators.length > VALIDATORS_MAX) throw invalid(`${validators.length} validators; at most ${VALIDATORS_MAX}`, 'validators');
  const keys = new Set<string>();
  let total = 0;
  validators.forEach((v, i) => {
    if (!isHex(v.address) || v.address.length === 0 || v.address.length > 2 * ADDRESS_BYTES_MAX) {
      throw invalid(`address must be 1–${ADDRESS_BYTES_MAX} bytes of lowercase hex`, `validators[${i}].address`);
    }
    if (v.publicKey.length !== PUBLIC_KEY_BYTES) throw invalid('public key must be 32 bytes', `validators[${i}].publicKey`);
    if (!Number.isSafeInteger(v.votingPower) || v.votingPower <= 0) throw invalid('voting power must be a positive integer', `validators[${i}].votingPower`);
    const key = Buffer.from(v.publicKey).toString('hex');
    if (keys.has(key)) throw invalid('public key appears twice', `validators[${i}].publicKey`);
    keys.add(key);
    total += v.votingPower;
    if (total > VOTING_POWER_TOTAL_MAX) throw invalid(`total voting power exceeds ${VOTING_POWER_TOTAL_MAX}`, `validators[${i}].votingPower`);
  });
  const sorted = [...validators].sort((a, b) => compareAddresses(a.address, b.address));
  const indexByAddress = new Map<string, number>();
  sorted.forEach((v, i) => {
    if (indexByAddress.has(v.address)) throw invalid(`address ${v.address} appears twice`, 'validators');
    indexByAddress.set(v.address, i);
  });
  const faulty = Math.floor((total - 1) / 3);
  const quorum = total - faulty;
  // Integer checks of the definitions: quorum is more than 2/3 of n and the smallest such power.
  assert.ok(3 * quorum > 2 * total && 3 * (quorum - 1) <= 2 * total);
  assert.ok(total > 3 * faulty && total <= 3 * (faulty + 1));
  return {
    validators: sorted.map((v) => ({ address: v.address, publicKey: Uint8Array.from(v.publicKey), votingPower: v.votingPower })),
    totalVotingPower: total,
    faultyVotingPowerMax: faulty,
    quorumVotingPower: quorum,
    correctVotingPowerMin: faulty + 1,
    indexByAddress,
  };
}

/** Byte order of two addresses (as Go's bytes.Compare): hex of whole bytes sorts the same way. */
export function compareAddresses(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Power ≥ 2f + 1 (more than 2/3 of the total). */
export function isQuorum(set: ValidatorSet, votingPower: number): boolean {
  return votingPower >= set.quorumVotingPower;
}

/** Power ≥ f + 1 (contains a correct validator). */
export function containsCorrect(set: ValidatorSet, votingPower: number): boolean {
  return votingPower >= set.correctVotingPowerMin;
}

/** Floor division for integers (Go's big.Int.Div, Euclidean for a positive divisor). */
function floorDiv(a: number, b: number): number {
  const remainder = ((a % b) + b) % b;
  return (a - remainder) / b;
}

/** Division truncated towards zero (Go's `/` on int64). */
function truncDiv(a: number, b: number): number {
  return (a - (a % b)) / b;
}

/**
 * CometBFT's IncrementProposerPriority(times): rescale so max − min ≤ 2·P (dividing by
 * ⌈diff/(2·P)⌉, truncating), centre on the floor of the average, then `times` runs of "add power,
 * elect the highest (ties to the smaller address), take P from it".
 */
export function incrementProposerPriority(set: ValidatorSet, from: readonly number[], times: number): ProposerPriorities {
  assert.equal(from.length, set.validators.length, 'one priority per validator');
  assert.ok(Number.isSafeInteger(times) && times > 0, `times must be a positive integer, got ${times}`);
  const total = set.totalVotingPower;
  const priorities = [...from];
  const diffMax = PRIORITY_WINDOW_SIZE_FACTOR * total;
  const diff = Math.max(...priorities) - Math.min(...priorities);
  if (diff > diffMax) {
    const ratio = truncDiv(diff + diffMax - 1, diffMax);
    for (let i = 0; i < priorities.length; i++) priorities[i] = truncDiv(priorities[i]!, ratio);
  }
  const average = floorDiv(priorities.reduce((sum, p) => sum + p, 0), priorities.length);
  for (let i = 0; i < priorities.length; i++) priorities[i] = priorities[i]! - average;
  let proposerIndex = -1;
  for (let run = 0; run < times; run++) {
    proposerIndex = 0;
    for (let i = 0; i < priorities.length; i++) {
      priorities[i] = priorities[i]! + set.validators[i]!.votingPower;
      // Validators are sorted by address, so on equal priority the earlier index has the smaller address.
      if (priorities[i]! > priorities[proposerIndex]!) proposerIndex = i;
    }
    priorities[proposerIndex] = priorities[proposerIndex]! - total;
  }
  for (const p of priorities) assert.ok(Number.isSafeInteger(p), `proposer priority ${p} left the safe integer range`);
  return { priorities, proposerIndex };
}

/**
 * Priorities of height 1: CometBFT's NewValidatorSet gives every new validator −1.125·P (all equal,
 * so centring brings them to 0) and runs IncrementProposerPriority(1) once.
 */
export function genesisPriorities(set: ValidatorSet): ProposerPriorities {
  return incrementProposerPriority(set, set.validators.map(() => 0), 1);
}

/** Priorities of the height after the one given (CometBFT's state update: one run per height). */
export function nextHeightPriorities(set: ValidatorSet, current: ProposerPriorities): ProposerPriorities {
  return incrementProposerPriority(set, current.priorities, 1);
}

/** Priorities of `height` (≥ 1) from genesis, for a validator that restarts from its stored blocks. */
export function prioritiesAtHeight(set: ValidatorSet, height: number): ProposerPriorities {
  assert.ok(Number.isSafeInteger(height) && height >= 1, `height must be ≥ 1, got ${height}`);
  let current = genesisPriorities(set);
  for (let h = 1; h < height; h++) current = nextHeightPriorities(set, current);
  return current;
}

/** Index of proposer(h, round) given the priorities of height h. */
export function proposerIndexForRound(set: ValidatorSet, height: ProposerPriorities, round: number): number {
  assert.ok(Number.isSafeInteger(round) && round >= 0, `round must be ≥ 0, got ${round}`);
  return round === 0 ? height.proposerIndex : incrementProposerPriority(set, height.priorities, round).proposerIndex;
}
