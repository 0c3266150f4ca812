// Whole-federation consensus simulations (issue 6, "Testing like the best"): n = 4–7 validators
// with mixed voting power run the real Tendermint core, sign guard and block execution in virtual
// time (consensus/consensus-simulation.ts). Each seed draws its own scenario: up to f Byzantine
// voting power equivocating (split-brain or noisy), a fault phase with up to 30 % loss, up to 50 %
// duplication, delays up to 200 ms (so reordering), partitions and crashes of correct validators
// that restart from their sign-guard state and stored blocks, then a healed phase. After every
// decision the simulator checks agreement, validity, identical application hashes and that
// committed evidence names only Byzantine validators; after the heal every correct validator must
// decide three more heights. A run with f + 1 Byzantine validators must be caught.
//
// The sweep prints its first seed. CONSENSUS_SIM_SEED=<seed> replays that one seed (set
// CONSENSUS_SIM_TRACE=1 to print its story); CONSENSUS_SIM_SEEDS=<count> runs a longer sweep, e.g.
//   CONSENSUS_SIM_SEEDS=5000 npx vitest run test/consensus/consensus-simulation.test.ts
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import {
  runConsensusSimulation, type ByzantineStrategy, type ConsensusSimulationOptions, type ConsensusSimulationResult,
} from '../../consensus/consensus-simulation.ts';
import { ed25519Signatures, fastSignatures, KvApplication, kvWorkload } from './consensus-fixtures.ts';

const REPLAY = process.env.CONSENSUS_SIM_SEED === undefined ? undefined : Number(process.env.CONSENSUS_SIM_SEED);
const SEEDS = REPLAY !== undefined ? 1 : Number(process.env.CONSENSUS_SIM_SEEDS ?? 200);
const FIRST_SEED = REPLAY ?? Math.floor(Math.random() * 2 ** 31);
const TRACE = process.env.CONSENSUS_SIM_TRACE === '1';

interface Scenario {
  readonly options: ConsensusSimulationOptions;
  readonly summary: string;
}

/** The seed's scenario: every choice from the seed, so the seed alone replays it. */
function scenario(seed: number, overrides: Partial<ConsensusSimulationOptions> = {}): Scenario {
  const rng = seededRng(seed ^ 0x5eed5eed);
  const n = 4 + Math.floor(rng() * 4);
  const votingPowers = Array.from({ length: n }, () => (rng() < 0.3 ? 1 + Math.floor(rng() * 3) : 1));
  const total = votingPowers.reduce((a, b) => a + b, 0);
  const f = Math.floor((total - 1) / 3);
  const byzantine: number[] = [];
  let byzantinePower = 0;
  for (let i = 0; i < n; i++) {
    if (byzantinePower + votingPowers[i]! <= f && rng() < 0.8) {
      byzantine.push(i);
      byzantinePower += votingPowers[i]!;
    }
  }
  const byzantineStrategy: ByzantineStrategy = rng() < 0.5 ? 'split-brain' : 'noisy';
  const faults = {
    dropProbability: rng() * 0.3, duplicateProbability: rng() * 0.5, delayMsMin: 1, delayMsMax: 200, partitions: rng() < 0.7, crashes: rng() < 0.7,
  };
  const options: ConsensusSimulationOptions = {
    seed, chainId: 'orbitfed-sim', votingPowers, byzantine, byzantineStrategy,
    signatures: fastSignatures(n), createApplication: () => new KvApplication(), workload: kvWorkload, faults,
    faultPhaseMs: 15_000, heightsAfterHeal: 3, healedPhaseMsMax: 120_000,
    onTrace: TRACE ? (line) => process.stdout.write(line) : undefined,
    ...overrides,
  };
  const summary = `powers ${votingPowers.join('/')} byzantine [${byzantine.join(',')}] power ${byzantinePower}/${total} ${byzantineStrategy} `
    + `drop ${faults.dropProbability.toFixed(2)} dup ${faults.duplicateProbability.toFixed(2)} partitions ${faults.partitions} crashes ${faults.crashes}`;
  return { options, summary };
}

function failure(result: ConsensusSimulationResult, summary: string): string {
  return `seed ${result.seed} (${summary}): ${result.violations.join('; ')} — replay with CONSENSUS_SIM_SEED=${result.seed}`;
}

describe('consensus simulation', () => {
  it(`keeps agreement, validity and identical state over ${SEEDS} seeded fault scenarios, and every correct validator decides after the heal`, () => {
    console.log(`consensus simulation: ${SEEDS} seeds from ${FIRST_SEED} (replay one with CONSENSUS_SIM_SEED=<seed>)`);
    const failures: string[] = [];
    let heights = 0;
    let roundMax = 0;
    let evidence = 0;
    let crashes = 0;
    const startMs = performance.now();
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      const { options, summary } = scenario(seed);
      const result = runConsensusSimulation(options);
      if (result.violations.length > 0) failures.push(failure(result, summary));
      heights += Math.min(...result.heights);
      roundMax = Math.max(roundMax, result.stats.roundMax);
      evidence += result.evidenceCommittedAgainst.length;
      crashes += result.stats.crashes;
      if (REPLAY !== undefined) console.log(summary, result);
    }
    console.log(`consensus simulation: ${SEEDS} seeds, ${heights} heights decided by every correct validator, highest deciding round ${roundMax}, `
      + `${crashes} crashes, evidence committed against ${evidence} Byzantine validators, ${((performance.now() - startMs) / 1000).toFixed(1)} s`);
    expect(failures).toEqual([]);
  });

  it('gives the same trace hash for the same seed, and a different one for another seed', () => {
    const hashes = [FIRST_SEED, FIRST_SEED + 1].map((seed) => {
      const first = runConsensusSimulation(scenario(seed).options);
      const again = runConsensusSimulation(scenario(seed).options);
      expect(again.traceHash).toBe(first.traceHash);
      expect(again.heights).toEqual(first.heights);
      return first.traceHash;
    });
    expect(hashes[0]).not.toBe(hashes[1]);
  });

  it('holds with real ed25519 signatures through node:crypto', () => {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + 3; seed++) {
      const { options, summary } = scenario(seed);
      const result = runConsensusSimulation({ ...options, signatures: ed25519Signatures(options.votingPowers.length) });
      // No violation includes liveness: every correct validator reached the target height.
      expect(result.violations, failure(result, summary)).toEqual([]);
      expect(result.targetHeight).toBeGreaterThanOrEqual(3);
    }
  });

  it('commits duplicate-vote evidence against every validator that equivocates to correct ones, and against no one else', () => {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + 5; seed++) {
      const options = scenario(seed, {
        votingPowers: [1, 1, 1, 1, 1, 1, 1], byzantine: [1, 4], byzantineStrategy: 'noisy', signatures: fastSignatures(7), heightsAfterHeal: 5,
      }).options;
      const result = runConsensusSimulation(options);
      expect(result.violations, failure(result, 'noisy 2 of 7')).toEqual([]);
      expect(result.evidenceCommittedAgainst).toEqual(['02', '05']);
    }
  });

  it('catches a designed attack by f + 1 Byzantine validators: the checker is not vacuous', () => {
    let caught = 0;
    const seeds = 10;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + seeds; seed++) {
      const n = seed % 2 === 0 ? 4 : 7;
      const f = Math.floor((n - 1) / 3);
      // Split-brain with f + 1: each side of the correct validators gets its own block from a
      // Byzantine proposer and 2f + 1 prevotes and precommits for it. A clean network lets it land.
      const result = runConsensusSimulation(scenario(seed, {
        votingPowers: Array<number>(n).fill(1), byzantine: Array.from({ length: f + 1 }, (_, i) => i), byzantineStrategy: 'split-brain',
        signatures: fastSignatures(n), invalidForkProbability: 0,
        faults: { dropProbability: 0, duplicateProbability: 0, delayMsMin: 5, delayMsMax: 50, partitions: false, crashes: false },
        faultPhaseMs: 10_000, healedPhaseMsMax: 30_000,
      }).options);
      if (result.violations.some((v) => v.startsWith('agreement'))) caught++;
    }
    console.log(`consensus simulation: f + 1 attack caught in ${caught} of ${seeds} seeds from ${FIRST_SEED}`);
    expect(caught).toBeGreaterThan(0);
  });
});
