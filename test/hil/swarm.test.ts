// The virtual-time swarm mode (hil/virtual-*.ts, hil/swarm-*.ts): a scenario runs in one process in
// virtual time — real validators, scheduler, ground and orbital agents with their stores on disk,
// over dtn's simulated links, with the simulated workload runtime — and the same invariant checks as
// a real run judge it. Same seed, same trace hash; a set of seeds with random faults all hold; and
// the checks are not blind: an invariant broken behind the federation's back is reported.
// Every test prints its seeds.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/index.ts';
import {
  checkScenario, loadScenarioFile, loadVirtualInputs, parseSeedRange, runSwarm, runVirtualScenario,
  type Scenario, type ScenarioRecord, type VirtualInputs,
} from '../../hil/index.ts';
import { tenantAccountId } from '../../scheduler/index.ts';

const SAMPLE = fileURLToPath(new URL('../../samples/scenarios/validator-and-scheduler-crash.yaml', import.meta.url));
/** Seeds the CI runs with random faults: 10, ~6 s each (~60 s) on this 2-core machine under load 9–15. */
const CI_SEEDS = { first: 1, last: 10 };

/**
 * A shorter scenario on the demo's federation (8 satellites, 6 stations, 4 validators) for the
 * many-seed tests: four jobs, ninety plan minutes; the random faults come from each seed. A sample,
 * so that the replay commands the swarm prints keep working after the test.
 */
const SMALL_PATH = fileURLToPath(new URL('../../samples/scenarios/swarm-small.yaml', import.meta.url));

/**
 * Seeds of the CI set that fail today, with what they find (open findings, see hil/README.md):
 * the set is checked to fail exactly there, so a fix or a new failure both show up here. None now.
 * Seed 2 found the tenant paying twice: a node silent for an hour (a partition, a scheduler crash)
 * while its receipt settled escrow .1, the job re-planned and escrow .2 paid too. The scheduler now
 * keeps a job on a silent node whose receipt already settled it (job-lifecycle.ts).
 */
const KNOWN_FINDINGS: ReadonlyMap<number, RegExp> = new Map();

const SCRATCH = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'orbitfed-swarm-test-'));
let SMALL: Scenario;
let smallInputs: VirtualInputs;
const dirs: string[] = [SCRATCH];
const logger = silentLogger();

beforeAll(async () => {
  SMALL = await loadScenarioFile(SMALL_PATH);
  smallInputs = await loadVirtualInputs(SMALL);
}, 120_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function run(scenario: Scenario, seed: number, randomFaults: boolean, extra: Partial<Parameters<typeof runVirtualScenario>[0]> = {}) {
  const result = await runVirtualScenario({ scenario, seed, randomFaults, logger, ...(scenario === SMALL ? { inputs: smallInputs } : {}), ...extra });
  dirs.push(result.record.dir);
  return result;
}

const failed = (record: ScenarioRecord): string[] => checkScenario(record).filter((c) => !c.ok).map((c) => `${c.id}: ${c.details.join('; ')}`);

describe('orbitfed hil run --virtual', () => {
  it('runs samples/scenarios/validator-and-scheduler-crash.yaml in virtual time to a passing verdict', async () => {
    const scenario = await loadScenarioFile(SAMPLE);
    console.log('swarm test: sample scenario, seed 1, its own faults only');
    const { record, traceHash } = await run(scenario, 1, false);
    expect(failed(record)).toEqual([]);
    // Every job ran in orbit, came down and was settled through the validators' consensus.
    expect(record.submissions.map((s) => s.finalJob?.state)).toEqual(Array(6).fill('succeeded'));
    expect(record.ledger.filter((l) => l.error === undefined)).toHaveLength(4);
    for (const s of record.submissions) {
      const escrowId = (s.finalJob!.placement as { escrowId: string }).escrowId;
      expect(record.ledger.map((l) => l.escrows[escrowId])).toEqual(['posted', 'posted', 'posted', 'posted']);
    }
    // The scenario's faults happened: a validator and the scheduler crashed and came back, the links were cut.
    expect(record.faults.map((f) => `${f.fault.kind} ${'process' in f.fault ? f.fault.process : 'links'}`)).toEqual([
      'crash validator-3', 'crash scheduler', 'start scheduler', 'start validator-3', 'partition links', 'heal links',
    ]);
    expect(record.faults.every((f) => f.error === undefined)).toBe(true);
    expect(traceHash).toMatch(/^[0-9a-f]{64}$/);
  }, 180_000);

  it('gives the same trace hash for the same seed, and another for another seed', async () => {
    console.log('swarm test: seeds 7, 7 and 8 with random faults');
    const first = await run(SMALL, 7, true);
    const again = await run(SMALL, 7, true);
    const other = await run(SMALL, 8, true);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.traceEvents).toBe(first.traceEvents);
    expect(again.swarmFaults).toEqual(first.swarmFaults);
    expect(again.record.submissions.map((s) => s.finalJob?.state)).toEqual(first.record.submissions.map((s) => s.finalJob?.state));
    expect(other.traceHash).not.toBe(first.traceHash);
  }, 240_000);
});

describe('orbitfed hil swarm', () => {
  it(`holds every invariant on the CI seeds ${CI_SEEDS.first}..${CI_SEEDS.last}, each with its own random faults`, async () => {
    console.log(`swarm test: CI seeds ${CI_SEEDS.first}..${CI_SEEDS.last}`);
    const outcomes = await runSwarm({ scenario: SMALL, seeds: CI_SEEDS, dir: join(SCRATCH, 'ci'), logger });
    for (const o of outcomes) console.log(`seed ${o.seed}: ${o.ok ? 'ok' : 'FAIL'} ${o.traceHash ?? ''} (${o.randomFaults} random faults)${o.ok ? '' : ` ${o.failures.join(' | ')}\n  ${o.replay}`}`);
    const unexpected = outcomes.filter((o) => !o.ok && !o.failures.some((f) => KNOWN_FINDINGS.get(o.seed)?.test(f)));
    expect(unexpected.map((o) => `seed ${o.seed}: ${o.failures.join(' | ')} — ${o.replay}`)).toEqual([]);
    // A known finding that no longer fails was fixed: take it off the list.
    expect(outcomes.filter((o) => o.ok && KNOWN_FINDINGS.has(o.seed)).map((o) => o.seed)).toEqual([]);
    expect(outcomes).toHaveLength(CI_SEEDS.last - CI_SEEDS.first + 1);
    // Between them the seeds drew faults of most kinds.
    expect(new Set(outcomes.flatMap((o) => o.kinds)).size).toBeGreaterThan(3);
  }, 600_000);

  it('parses seed ranges and refuses bad ones with a precise error', () => {
    expect(parseSeedRange('1..500')).toEqual({ first: 1, last: 500 });
    expect(parseSeedRange('42')).toEqual({ first: 42, last: 42 });
    expect(() => parseSeedRange('9..3')).toThrow(/empty \(3 < 9\)/);
    expect(() => parseSeedRange('1-5')).toThrow(/"A\.\.B" or "N"/);
    expect(() => parseSeedRange('1..99999999999')).toThrow(/"A\.\.B" or "N"|up to/);
  });
});

describe('the checks cannot pass silently', () => {
  it('catches a provider paid twice on one validator behind consensus (a double settlement)', async () => {
    console.log('swarm test: seed 3 with a second payout injected on validator 0');
    const { record } = await run(SMALL, 3, false, {
      beforeReadBack: (federation) => {
        const ledger = federation.validators.node(0)!.ledger;
        const tenant = tenantAccountId('acme-earth', 'EUR');
        const provider = ledger.accounts().find((a) => a.kind === 'provider' && a.balanceMinor > 0n)!;
        const result = ledger.applyBlock([{ kind: 'transfer', transferId: 'double-settle', debitAccountId: tenant, creditAccountId: provider.id, amountMinor: 1_000n }], ledger.lastBlockTimeMs + 1);
        expect(result.results[0]!.status).toBe('applied');
      },
    });
    const failures = failed(record);
    expect(failures.some((f) => f.startsWith('money:') && /validator 0 has/.test(f))).toBe(true);
  }, 180_000);

  it('catches tampered records: an escrow paid out for an expired job, an accepted job lost, a validator that disagrees', async () => {
    const { record } = await run(SMALL, 5, false);
    expect(failed(record)).toEqual([]);
    const [first, ...rest] = record.submissions;
    const escrowId = (first!.finalJob!.placement as { escrowId: string }).escrowId;
    const expired = { ...record, submissions: [{ ...first!, finalJob: { ...first!.finalJob, state: 'expired', reason: 'the deadline passed' } }, ...rest] };
    expect(failed(expired).some((f) => f.startsWith('escrows:') && f.includes(`escrow ${escrowId} was paid out but the job expired`))).toBe(true);
    const lost = { ...record, submissions: [{ ...first!, finalJob: undefined, readError: 'GET /v1/jobs/x: 404' }, ...rest] };
    expect(failed(lost).some((f) => f.startsWith('nothing-lost:'))).toBe(true);
    const [v0, ...others] = record.ledger;
    const diverged = { ...record, ledger: [{ ...v0!, commonBlockHash: 'f'.repeat(64) }, ...others] };
    expect(failed(diverged).some((f) => f.startsWith('validators-agree:'))).toBe(true);
  }, 180_000);
});
