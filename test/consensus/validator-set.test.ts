// Voting-power thresholds and CometBFT's weighted round-robin proposer selection, checked against
// CometBFT's own examples and test vectors:
// - spec/consensus/proposer-selection.md, "Stable Set" (p1 = 1, p2 = 3) and "Requirement Fulfillment
//   Claims" (the sequence p2, p1, p2, p2 repeating);
// - types/validator_set_test.go: TestProposerSelection1 (foo 1000, bar 300, baz 330: 99 proposers),
//   TestProposerSelection2 (equal powers go in address order; 400 vs 100 is not enough to propose
//   twice in a row, 401 is; 4/5/3 propose 40/50/30 times in 120 runs) and
//   TestAveragingInIncrementProposerPriorityWithVotingPower (10/1/1 from priorities 0, 1–11 runs).
import { describe, expect, it } from 'vitest';
import {
  containsCorrect, genesisPriorities, incrementProposerPriority, isQuorum, nextHeightPriorities, prioritiesAtHeight,
  proposerIndexForRound, validatorAddress, validatorSet, type ValidatorSet,
} from '../../consensus/validator-set.ts';

/** A set whose addresses are the bytes of `names` (as CometBFT's tests use []byte("foo")). */
function named(entries: readonly (readonly [string, number])[]): ValidatorSet {
  return validatorSet(entries.map(([name, votingPower], i) => ({
    address: Buffer.from(name).toString('hex'), publicKey: new Uint8Array(32).fill(i + 1), votingPower,
  })));
}

function byAddress(entries: readonly (readonly [Uint8Array, number])[]): ValidatorSet {
  return validatorSet(entries.map(([address, votingPower], i) => ({ address: Buffer.from(address).toString('hex'), publicKey: new Uint8Array(32).fill(i + 1), votingPower })));
}

const nameOf = (set: ValidatorSet, index: number): string => Buffer.from(set.validators[index]!.address, 'hex').toString();

/** CometBFT's loop: GetProposer(), then IncrementProposerPriority(1), from NewValidatorSet. */
function proposers(set: ValidatorSet, count: number): string[] {
  const names: string[] = [];
  let current = genesisPriorities(set);
  for (let i = 0; i < count; i++) {
    names.push(nameOf(set, current.proposerIndex));
    current = nextHeightPriorities(set, current);
  }
  return names;
}

describe('voting-power thresholds', () => {
  it('computes f, 2f + 1 (more than 2/3) and f + 1 in integers', () => {
    const cases: [number[], number, number, number][] = [
      // powers, f, quorum, f + 1
      [[1, 1, 1, 1], 1, 3, 2],
      [[1, 1, 1, 1, 1], 1, 4, 2],
      [[1, 1, 1, 1, 1, 1], 1, 5, 2],
      [[1, 1, 1, 1, 1, 1, 1], 2, 5, 3],
      [[10, 1, 1], 3, 9, 4],
      [[1000, 300, 330], 543, 1087, 544],
    ];
    for (const [powers, f, quorum, correct] of cases) {
      const set = validatorSet(powers.map((votingPower, i) => ({ address: (i + 1).toString(16).padStart(2, '0'), publicKey: new Uint8Array(32).fill(i + 1), votingPower })));
      expect([set.faultyVotingPowerMax, set.quorumVotingPower, set.correctVotingPowerMin]).toEqual([f, quorum, correct]);
      expect(isQuorum(set, quorum)).toBe(true);
      expect(isQuorum(set, quorum - 1)).toBe(false);
      expect(3 * quorum > 2 * set.totalVotingPower && 3 * (quorum - 1) <= 2 * set.totalVotingPower).toBe(true);
      expect(containsCorrect(set, correct)).toBe(true);
      expect(containsCorrect(set, correct - 1)).toBe(false);
    }
  });

  it('refuses empty sets, duplicate addresses or keys, and non-positive power', () => {
    expect(() => validatorSet([])).toThrow(expect.objectContaining({ code: 'ORBITFED_VALIDATOR_SET_INVALID' }));
    const key = new Uint8Array(32).fill(7);
    expect(() => validatorSet([{ address: 'aa', publicKey: key, votingPower: 1 }, { address: 'aa', publicKey: new Uint8Array(32), votingPower: 1 }])).toThrow(/twice/);
    expect(() => validatorSet([{ address: 'aa', publicKey: key, votingPower: 1 }, { address: 'bb', publicKey: key, votingPower: 1 }])).toThrow(/twice/);
    expect(() => validatorSet([{ address: 'aa', publicKey: key, votingPower: 0 }])).toThrow(/positive/);
    expect(() => validatorSet([{ address: 'AA', publicKey: key, votingPower: 1 }])).toThrow(/hex/);
  });

  it('derives CometBFT\'s ed25519 address: the first 20 bytes of SHA-256 of the key', () => {
    expect(validatorAddress(new Uint8Array(32))).toBe('66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925'.slice(0, 40));
  });
});

describe('proposer selection (CometBFT weighted round robin)', () => {
  it('reproduces the specification\'s stable-set table: p1 = 1, p2 = 3 elect p2, p1, p2, p2, then repeat', () => {
    const set = named([['p1', 1], ['p2', 3]]);
    // Priorities after each run, from the table: run 1 (p1 1, p2 −1), run 2 (p1 −2, p2 2), run 3 (−1, 1), run 4 (0, 0).
    let current = incrementProposerPriority(set, [0, 0], 1);
    const seen: [string, readonly number[]][] = [[nameOf(set, current.proposerIndex), current.priorities]];
    for (let run = 2; run <= 4; run++) {
      current = incrementProposerPriority(set, current.priorities, 1);
      seen.push([nameOf(set, current.proposerIndex), current.priorities]);
    }
    expect(seen).toEqual([['p2', [1, -1]], ['p1', [-2, 2]], ['p2', [-1, 1]], ['p2', [0, 0]]]);
    expect(proposers(set, 8)).toEqual(['p2', 'p1', 'p2', 'p2', 'p2', 'p1', 'p2', 'p2']);
  });

  it('matches TestProposerSelection1: foo 1000, bar 300, baz 330 over 99 runs', () => {
    const expected = 'foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar'
      + ' foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar'
      + ' foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz'
      + ' foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo'
      + ' foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo';
    expect(proposers(named([['foo', 1000], ['bar', 300], ['baz', 330]]), 99).join(' ')).toBe(expected);
  });

  it('matches TestProposerSelection2: address order on equal power, 400 vs 401, and 40/50/30 of 120', () => {
    const addr = (last: number): Uint8Array => Uint8Array.from({ length: 20 }, (_, i) => (i === 19 ? last : 0));
    const equal = byAddress([[addr(0), 100], [addr(1), 100], [addr(2), 100]]);
    let current = genesisPriorities(equal);
    const order: number[] = [];
    for (let i = 0; i < 15; i++) {
      order.push(current.proposerIndex);
      current = nextHeightPriorities(equal, current);
    }
    expect(order).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);

    const notTwice = byAddress([[addr(0), 100], [addr(1), 100], [addr(2), 400]]);
    expect([genesisPriorities(notTwice).proposerIndex, prioritiesAtHeight(notTwice, 2).proposerIndex]).toEqual([2, 0]);
    const twice = byAddress([[addr(0), 100], [addr(1), 100], [addr(2), 401]]);
    expect([1, 2, 3].map((h) => prioritiesAtHeight(twice, h).proposerIndex)).toEqual([2, 2, 0]);

    const weighted = byAddress([[addr(0), 4], [addr(1), 5], [addr(2), 3]]);
    const counts = [0, 0, 0];
    current = genesisPriorities(weighted);
    for (let i = 0; i < 120; i++) {
      counts[current.proposerIndex]!++;
      current = nextHeightPriorities(weighted, current);
    }
    expect(counts).toEqual([40, 50, 30]);
  });

  it('matches TestAveragingInIncrementProposerPriorityWithVotingPower: 10/1/1 from priorities 0, 1 to 11 runs in one call', () => {
    const set = byAddress([[Uint8Array.of(0), 10], [Uint8Array.of(1), 1], [Uint8Array.of(2), 1]]);
    const total = 12;
    const expected: [number, number[]][] = [
      [0, [10 - total, 1, 1]],
      [0, [2 * (10 - total), 2, 2]],
      [0, [3 * (10 - total), 3, 3]],
      [0, [4 * (10 - total), 4, 4]],
      [1, [4 * (10 - total) + 10, 5 - total, 5]],
      [0, [6 * 10 - 5 * total, 6 - total, 6]],
      [0, [7 * 10 - 6 * total, 7 - total, 7]],
      [0, [8 * 10 - 7 * total, 8 - total, 8]],
      [2, [9 * 10 - 7 * total, 9 - total, 9 - total]],
      [0, [10 * 10 - 8 * total, 10 - total, 10 - total]],
      [0, [11 * 10 - 9 * total, 11 - total, 11 - total]],
    ];
    expected.forEach(([proposer, priorities], i) => {
      const result = incrementProposerPriority(set, [0, 0, 0], i + 1);
      expect([result.proposerIndex, result.priorities]).toEqual([proposer, priorities]);
    });
  });

  it('rescales priorities whose spread exceeds 2·P and centres them on their average (floor division, as Go\'s big.Int)', () => {
    const set = byAddress([[Uint8Array.of(1), 1], [Uint8Array.of(2), 1]]);
    // Spread 100 > 2·P = 4: ratio ⌈100/4⌉ = 25 gives 2 and −2; centred on avg 0; then one run.
    expect(incrementProposerPriority(set, [50, -50], 1)).toEqual({ priorities: [1, -1], proposerIndex: 0 });
    // [−3, 0] has average −1.5, floored to −2 (truncation would give −1 and [−1, 0] at the end):
    // centred [−1, 2], run [0, 3], the second elected: [0, 1].
    expect(incrementProposerPriority(set, [-3, 0], 1).priorities).toEqual([0, 1]);
  });

  it('makes proposer(h, r) a function of height and round, weighted by voting power within a height\'s rounds', () => {
    const set = named([['a', 1], ['b', 2], ['c', 1]]);
    const height = prioritiesAtHeight(set, 5);
    const byRound = Array.from({ length: 8 }, (_, r) => nameOf(set, proposerIndexForRound(set, height, r)));
    expect(byRound).toEqual(Array.from({ length: 8 }, (_, r) => nameOf(set, proposerIndexForRound(set, prioritiesAtHeight(set, 5), r))));
    expect(byRound.filter((n) => n === 'b')).toHaveLength(4);
    expect(byRound.filter((n) => n === 'a')).toHaveLength(2);
  });
});
