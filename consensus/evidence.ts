// Duplicate-vote evidence: two votes of one validator for the same height, round and type but for
// different values (two blocks, or a block and nil). A correct validator signs at most one vote per
// (height, round, type) (Algorithm 1 broadcasts one prevote and one precommit per round, and the
// sign guard enforces it across restarts), so the pair proves misbehaviour by itself: anyone with
// the validator set checks both signatures and needs nothing else. As CometBFT's
// DuplicateVoteEvidence, it is committed in a block and handed to the application as misbehaviour
// (ABCI FinalizeBlock `misbehavior`), which is where slashing happens.
import assert from 'node:assert/strict';
import { ByteWriter } from './binary-layout.ts';
import {
  CHECK_OK, checkVoteShape, rejected, verifyVote, voteSignBytes, type CheckResult, type VerifySignature, type Vote,
} from './tendermint-messages.ts';
import type { ValidatorSet } from './validator-set.ts';

export interface DuplicateVoteEvidence {
  /** The vote for the smaller value (nil sorts first); one order, so one piece of evidence has one form. */
  readonly voteA: Vote;
  readonly voteB: Vote;
}

/** Misbehaviour as ABCI 2.0's FinalizeBlock reports it (type, validator, power, height, total power). */
export interface Misbehavior {
  readonly type: 'duplicate-vote';
  readonly validatorAddress: string;
  readonly validatorPower: number;
  readonly height: number;
  readonly totalVotingPower: number;
}

function valueOrder(vote: Vote): string {
  return vote.blockId ?? '';
}

/** True when two votes are one validator's conflicting votes for one (height, round, type). */
export function votesConflict(a: Vote, b: Vote): boolean {
  return a.validatorAddress === b.validatorAddress && a.type === b.type && a.height === b.height && a.round === b.round && a.blockId !== b.blockId;
}

/** Evidence from two conflicting votes, in canonical order. */
export function duplicateVoteEvidence(first: Vote, second: Vote): DuplicateVoteEvidence {
  assert.ok(votesConflict(first, second), 'evidence needs two votes of one validator for one height, round and type, for different values');
  return valueOrder(first) < valueOrder(second) ? { voteA: first, voteB: second } : { voteA: second, voteB: first };
}

/** One key per (validator, height, round, type): the same misbehaviour is committed, and punished, once. */
export function evidenceKey(evidence: DuplicateVoteEvidence): string {
  const v = evidence.voteA;
  return `${v.validatorAddress}/${v.height}/${v.round}/${v.type}`;
}

export function evidenceHeight(evidence: DuplicateVoteEvidence): number {
  return evidence.voteA.height;
}

/** Checks evidence on its own: shapes, one author and slot, two values in canonical order, both signatures. */
export function verifyDuplicateVoteEvidence(chainId: string, set: ValidatorSet, evidence: DuplicateVoteEvidence, verify: VerifySignature): CheckResult {
  if (typeof evidence !== 'object' || evidence === null) return rejected('ORBITFED_EVIDENCE_MALFORMED', 'evidence is not an object');
  const { voteA, voteB } = evidence;
  for (const vote of [voteA, voteB]) {
    if (typeof vote !== 'object' || vote === null) return rejected('ORBITFED_EVIDENCE_MALFORMED', 'evidence needs two votes');
    const shape = checkVoteShape(vote);
    if (!shape.ok) return rejected('ORBITFED_EVIDENCE_MALFORMED', shape.message);
  }
  if (!votesConflict(voteA, voteB)) return rejected('ORBITFED_EVIDENCE_NOT_CONFLICTING', 'the votes are not one validator\'s votes for different values in one height, round and type');
  if (!(valueOrder(voteA) < valueOrder(voteB))) return rejected('ORBITFED_EVIDENCE_MALFORMED', 'votes must be in canonical order (smaller value first)');
  for (const vote of [voteA, voteB]) {
    const checked = verifyVote(chainId, set, vote, verify);
    if (!checked.ok) return rejected('ORBITFED_EVIDENCE_BAD_SIGNATURE', checked.message);
  }
  return CHECK_OK;
}

/** The misbehaviour a verified piece of evidence reports. */
export function misbehaviorOf(set: ValidatorSet, evidence: DuplicateVoteEvidence): Misbehavior {
  const index = set.indexByAddress.get(evidence.voteA.validatorAddress);
  assert.ok(index !== undefined, 'evidence is verified against the set before it is reported');
  return {
    type: 'duplicate-vote',
    validatorAddress: evidence.voteA.validatorAddress,
    validatorPower: set.validators[index]!.votingPower,
    height: evidence.voteA.height,
    totalVotingPower: set.totalVotingPower,
  };
}

/** Bytes of evidence for the block's evidence hash: both votes' sign bytes and signatures. */
export function evidenceBytes(chainId: string, evidence: DuplicateVoteEvidence): Uint8Array {
  const writer = new ByteWriter(1024);
  for (const vote of [evidence.voteA, evidence.voteB]) writer.shortBytes(voteSignBytes(chainId, vote)).shortBytes(vote.signature);
  return writer.bytes();
}
