// The ledger's formulas, in integer arithmetic only, each stated once here and documented in
// consensus/README.md ("Decisions").
import assert from 'node:assert/strict';

export const BASIS_POINTS_MAX = 10_000;
/** Default protocol fee: 4 % (issue 6). */
export const FEE_BASIS_POINTS_DEFAULT = 400;
/** Default slash for committed double-sign evidence: 5 % of each stake account (Cosmos SDK's default). */
export const DOUBLE_SIGN_SLASH_BASIS_POINTS_DEFAULT = 500;
/** Default slash for an SLA violation (missed deadline) reported by the scheduler: 1 % of each stake account. */
export const SLA_SLASH_BASIS_POINTS_DEFAULT = 100;

function checkBasisPoints(basisPoints: number): void {
  assert.ok(Number.isSafeInteger(basisPoints) && basisPoints >= 0 && basisPoints <= BASIS_POINTS_MAX, `basis points ${basisPoints} outside 0 … ${BASIS_POINTS_MAX}`);
}

/**
 * The protocol fee on a settled amount, rounded UP to a whole minor unit:
 * fee = ⌈amount × feeBasisPoints / 10,000⌉, so exact rate ≤ fee < exact rate + 1 minor unit.
 * Rounding up means splitting a payment into small ones can never avoid the fee (at 4 %, floor
 * would charge nothing on any amount below 25 minor units). The provider is credited
 * amount − fee, so amount = provider credit + fee exactly: conservation never depends on rounding.
 */
export function protocolFeeMinor(amountMinor: bigint, feeBasisPoints: number): bigint {
  assert.ok(amountMinor >= 0n);
  checkBasisPoints(feeBasisPoints);
  const fee = (amountMinor * BigInt(feeBasisPoints) + BigInt(BASIS_POINTS_MAX - 1)) / BigInt(BASIS_POINTS_MAX);
  assert.ok(fee >= 0n && fee <= amountMinor);
  return fee;
}

/** A slash, rounded DOWN: never more than the stated share of the stake. ⌊stake × bp / 10,000⌋. */
export function slashMinor(stakeMinor: bigint, basisPoints: number): bigint {
  assert.ok(stakeMinor >= 0n);
  checkBasisPoints(basisPoints);
  return (stakeMinor * BigInt(basisPoints)) / BigInt(BASIS_POINTS_MAX);
}

/** Reputation is an integer in parts per million: 0 … 1,000,000. */
export const REPUTATION_PPM_MAX = 1_000_000;
/** Where a newly registered node starts: halfway, neither trusted nor distrusted. */
export const REPUTATION_PPM_INITIAL = 500_000;

/**
 * A receipt settled: move 1/20 of the way to the maximum, rounded up (an exponential moving
 * average with α = 5 %), so ~14 successes halve the distance to 1,000,000 and the maximum is
 * reached, never passed.
 */
export function reputationAfterSettlement(reputationPpm: number): number {
  const next = reputationPpm + Math.ceil((REPUTATION_PPM_MAX - reputationPpm) / 20);
  assert.ok(next >= reputationPpm && next <= REPUTATION_PPM_MAX);
  return next;
}

/**
 * An SLA violation: lose 1/5 of the score, rounded up (α = 20 %), so one failure outweighs about
 * four successes and the score reaches 0, never goes below.
 */
export function reputationAfterSlaViolation(reputationPpm: number): number {
  const next = reputationPpm - Math.ceil(reputationPpm / 5);
  assert.ok(next >= 0 && next <= reputationPpm);
  return next;
}

/** Committed double-sign evidence: the score drops to 0. */
export function reputationAfterDoubleSign(): number {
  return 0;
}
