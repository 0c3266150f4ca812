// The message log of one height (Algorithm 1 keeps "a local message log"; its upon rules count the
// voting power of senders): prevotes and precommits per round, each validator's first vote counted
// once per value, and the power of every validator heard from in each round for the f + 1 rule
// (line 55). A second vote of a validator for the same round and type but another value becomes
// duplicate-vote evidence (evidence.ts) and still counts for its value (see AddVoteResult).
// Everything here is bounded by the validator set and VALUES_PER_VALIDATOR_MAX.
import assert from 'node:assert/strict';
import { duplicateVoteEvidence, type DuplicateVoteEvidence } from './evidence.ts';
import type { Vote, VoteType } from './tendermint-messages.ts';
import type { ValidatorSet } from './validator-set.ts';

export type AddVoteResult =
  | { readonly kind: 'added' }
  | { readonly kind: 'duplicate' }
  /**
   * A vote for another value than the validator's first one in this round and type: evidence (made
   * once per validator and slot). It is counted for its value too, as Algorithm 1 counts messages:
   * "2f + 1 ⟨PREVOTE, h, r, id(v)⟩" holds when the senders of prevotes for id(v) have that power,
   * whatever else they sent. Otherwise a Byzantine validator whose other vote arrived first could
   * hide the proof-of-lock of a valid round (L28) from a correct one forever.
   */
  | { readonly kind: 'conflict'; readonly evidence: DuplicateVoteEvidence | null; readonly counted: boolean };

const NIL_KEY = 'nil';
const keyOf = (blockId: string | null): string => blockId ?? NIL_KEY;
/**
 * Values counted per validator, round and type beyond nil and blocks we hold. A correct validator
 * votes for one value; this bound keeps a Byzantine one from filling memory with made-up block ids,
 * while its votes for nil and for blocks actually proposed are always counted.
 */
export const VALUES_PER_VALIDATOR_MAX = 4;

interface ValueTally {
  readonly votes: Map<number, Vote>;
  power: number;
}

/** Votes of one type in one round. */
export class VoteTally {
  readonly #set: ValidatorSet;
  /** Each validator's first vote: the one "any" counts once, and the one evidence pairs others with. */
  readonly #first: (Vote | undefined)[];
  readonly #valuesOf: number[];
  readonly #byValue = new Map<string, ValueTally>();
  readonly #conflicted = new Set<number>();
  #powerAny = 0;

  constructor(set: ValidatorSet) {
    this.#set = set;
    this.#first = new Array<Vote | undefined>(set.validators.length);
    this.#valuesOf = new Array<number>(set.validators.length).fill(0);
  }

  /** Whether adding would change nothing: the validator's vote for this value is already here. */
  isDuplicate(index: number, vote: Vote): boolean {
    return this.#byValue.get(keyOf(vote.blockId))?.votes.has(index) ?? false;
  }

  /** `knownValue`: the vote is for a block the caller holds (always counted, like nil). */
  add(index: number, vote: Vote, knownValue: boolean): AddVoteResult {
    const key = keyOf(vote.blockId);
    if (this.#byValue.get(key)?.votes.has(index) === true) return { kind: 'duplicate' };
    const first = this.#first[index];
    const power = this.#set.validators[index]!.votingPower;
    if (first === undefined) {
      this.#first[index] = vote;
      this.#powerAny += power;
      assert.ok(this.#powerAny <= this.#set.totalVotingPower, 'a tally never holds more than the total voting power');
      this.#count(key, index, vote, power);
      return { kind: 'added' };
    }
    let evidence: DuplicateVoteEvidence | null = null;
    if (!this.#conflicted.has(index)) {
      this.#conflicted.add(index);
      evidence = duplicateVoteEvidence(first, vote);
    }
    const counted = vote.blockId === null || knownValue || this.#valuesOf[index]! < VALUES_PER_VALIDATOR_MAX;
    if (counted) this.#count(key, index, vote, power);
    return { kind: 'conflict', evidence, counted };
  }

  #count(key: string, index: number, vote: Vote, power: number): void {
    let tally = this.#byValue.get(key);
    if (tally === undefined) {
      tally = { votes: new Map(), power: 0 };
      this.#byValue.set(key, tally);
    }
    tally.votes.set(index, vote);
    tally.power += power;
    this.#valuesOf[index]!++;
    assert.ok(tally.power <= this.#set.totalVotingPower, 'a value never holds more than the total voting power');
  }

  /** Power of the senders of votes for `blockId` (null: for nil). */
  powerFor(blockId: string | null): number {
    return this.#byValue.get(keyOf(blockId))?.power ?? 0;
  }

  /** Power of all senders, each once, whatever their value ("2f + 1 ⟨PREVOTE, h, r, ∗⟩"). */
  powerAny(): number {
    return this.#powerAny;
  }

  /** Block ids (not nil) whose votes hold at least `power`. */
  blockIdsWithPower(power: number): string[] {
    const ids: string[] = [];
    for (const [key, tally] of this.#byValue) if (key !== NIL_KEY && tally.power >= power) ids.push(key);
    return ids;
  }

  /** Votes for `blockId`, in validator order. */
  votesFor(blockId: string | null): Vote[] {
    const votes = this.#byValue.get(keyOf(blockId))?.votes;
    return votes === undefined ? [] : [...votes].sort(([a], [b]) => a - b).map(([, v]) => v);
  }

  /** Each validator's first vote, in validator order. */
  firstVotes(): Vote[] {
    return this.#first.filter((v): v is Vote => v !== undefined);
  }

  /** A validator's first vote. */
  voteOf(index: number): Vote | undefined {
    return this.#first[index];
  }
}

interface RoundLog {
  readonly prevotes: VoteTally;
  readonly precommits: VoteTally;
  /** Validators heard from in this round (any message), for line 55. */
  readonly senders: Set<number>;
  senderPower: number;
}

/** The log of one height: tallies per round and type, and who spoke in each round. */
export class HeightVoteSet {
  readonly #set: ValidatorSet;
  readonly height: number;
  readonly #rounds = new Map<number, RoundLog>();

  constructor(set: ValidatorSet, height: number) {
    this.#set = set;
    this.height = height;
  }

  #round(round: number): RoundLog {
    let log = this.#rounds.get(round);
    if (log === undefined) {
      log = { prevotes: new VoteTally(this.#set), precommits: new VoteTally(this.#set), senders: new Set(), senderPower: 0 };
      this.#rounds.set(round, log);
    }
    return log;
  }

  tally(type: VoteType, round: number): VoteTally | undefined {
    const log = this.#rounds.get(round);
    return log === undefined ? undefined : type === 'prevote' ? log.prevotes : log.precommits;
  }

  isDuplicate(index: number, vote: Vote): boolean {
    return this.tally(vote.type, vote.round)?.isDuplicate(index, vote) ?? false;
  }

  /** Adds a vote whose signature the caller verified; `knownValue`: its block is one the caller holds. */
  add(index: number, vote: Vote, knownValue: boolean): AddVoteResult {
    assert.equal(vote.height, this.height, 'votes of another height go to that height\'s log');
    const log = this.#round(vote.round);
    const result = (vote.type === 'prevote' ? log.prevotes : log.precommits).add(index, vote, knownValue);
    this.noteSender(vote.round, index);
    return result;
  }

  /** Records that validator `index` sent a message in `round` (a proposal counts too: ⟨∗, h_p, round, ∗, ∗⟩). */
  noteSender(round: number, index: number): void {
    const log = this.#round(round);
    if (!log.senders.has(index)) {
      log.senders.add(index);
      log.senderPower += this.#set.validators[index]!.votingPower;
    }
  }

  /** Power of the validators heard from in `round`. */
  senderPower(round: number): number {
    return this.#rounds.get(round)?.senderPower ?? 0;
  }

  /** Rounds with any message, ascending. */
  rounds(): number[] {
    return [...this.#rounds.keys()].sort((a, b) => a - b);
  }
}
