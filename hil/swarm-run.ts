// `orbitfed hil swarm SCENARIO.yaml --seeds A..B`: the scenario in virtual time once per seed, each
// with the random faults its seed draws (swarm-faults.ts), judged by the same checks as a real run.
// Seeds run one after another in this process, each in its own directory; a passing seed's
// directory is removed (unless kept), a failing one's stays with its report and trace, and its
// replay command is printed.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { OrbitfedError, type Logger } from '../common/index.ts';
import { checkScenario, type CheckResult } from './scenario-checks.ts';
import type { Scenario } from './scenario-file.ts';
import type { SwarmFaultKind } from './swarm-faults.ts';
import { replayCommand, writeVirtualReport } from './swarm-report.ts';
import { loadVirtualInputs, runVirtualScenario, SWARM_SEED_MAX } from './virtual-run.ts';

/** Seeds one swarm command runs at most. */
export const SWARM_SEEDS_MAX = 1_000_000;

export interface SeedRange {
  readonly first: number;
  readonly last: number;
}

/** "A..B" (inclusive) or "N". */
export function parseSeedRange(text: string): SeedRange {
  const match = /^(\d{1,10})(?:\.\.(\d{1,10}))?$/.exec(text.trim());
  if (match === null) throw new OrbitfedError('ORBITFED_SWARM_SEEDS', `seeds are "A..B" or "N" (integers), got ${JSON.stringify(text)}`, { field: 'seeds' });
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (first > SWARM_SEED_MAX || last > SWARM_SEED_MAX) throw new OrbitfedError('ORBITFED_SWARM_SEEDS', `seeds go up to ${SWARM_SEED_MAX}`, { field: 'seeds' });
  if (last < first) throw new OrbitfedError('ORBITFED_SWARM_SEEDS', `the range ${text} is empty (${last} < ${first})`, { field: 'seeds' });
  if (last - first + 1 > SWARM_SEEDS_MAX) throw new OrbitfedError('ORBITFED_SWARM_SEEDS', `${last - first + 1} seeds; one command runs at most ${SWARM_SEEDS_MAX}`, { field: 'seeds' });
  return { first, last };
}

export interface SeedOutcome {
  readonly seed: number;
  readonly ok: boolean;
  readonly traceHash: string | undefined;
  /** The checks that failed (titles with their first details), or the error that stopped the run. */
  readonly failures: readonly string[];
  readonly dir: string;
  readonly replay: string;
  readonly randomFaults: number;
  /** The fault kinds the seed enabled. */
  readonly kinds: readonly SwarmFaultKind[];
}

export interface SwarmOptions {
  readonly scenario: Scenario;
  readonly seeds: SeedRange;
  /** Each seed runs in <dir>/seed-<N>. */
  readonly dir: string;
  readonly keepPassing?: boolean | undefined;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
  readonly onSeed?: ((outcome: SeedOutcome) => void) | undefined;
}

function failuresOf(checks: readonly CheckResult[]): string[] {
  return checks.filter((c) => !c.ok).map((c) => `${c.title}: ${c.details.slice(0, 3).join('; ')}`);
}

export async function runSwarm(options: SwarmOptions): Promise<SeedOutcome[]> {
  const outcomes: SeedOutcome[] = [];
  const inputs = await loadVirtualInputs(options.scenario);
  for (let seed = options.seeds.first; seed <= options.seeds.last; seed++) {
    options.signal?.throwIfAborted();
    const dir = join(options.dir, `seed-${seed}`);
    const replay = replayCommand(options.scenario.path, seed, true);
    let outcome: SeedOutcome;
    try {
      const result = await runVirtualScenario({ scenario: options.scenario, seed, dir, randomFaults: true, logger: options.logger, signal: options.signal, inputs });
      const checks = checkScenario(result.record);
      writeVirtualReport(result, checks, true);
      const failures = failuresOf(checks);
      outcome = { seed, ok: failures.length === 0, traceHash: result.traceHash, failures, dir, replay, randomFaults: result.swarmFaults.length, kinds: result.swarmKinds };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      outcome = { seed, ok: false, traceHash: undefined, failures: [`the run stopped: ${(error as OrbitfedError).code ?? 'error'}: ${(error as Error).message}`], dir, replay, randomFaults: 0, kinds: [] };
    }
    if (outcome.ok && options.keepPassing !== true) rmSync(dir, { recursive: true, force: true });
    outcomes.push(outcome);
    options.onSeed?.(outcome);
  }
  return outcomes;
}
