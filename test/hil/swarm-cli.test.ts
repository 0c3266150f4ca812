// `orbitfed hil run --virtual` and `orbitfed hil swarm` as people type them: usage errors with exit
// status 2 that say what was wrong, and a small federation (one validator, no agents, one job that
// nobody can run in time) run to its report, seed and trace hash printed and written alike.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';

const DEMO = fileURLToPath(new URL('../../samples/demo/', import.meta.url));
const scratch = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'orbitfed-swarm-cli-'));
const scenarioPath = join(scratch, 'tiny.yaml');
writeFileSync(scenarioPath, `name: tiny
elements: ${DEMO}elements.tle
stations: ${DEMO}stations.yaml
nodes: ${DEMO}nodes.yaml
validators: 1
agents: false
planHours: 1
tenants: [{ id: acme-earth, roles: [jobs] }]
durationSec: 900
jobs:
  - atSec: 30
    tenant: acme-earth
    deadlineAfterSec: 600
    spec:
      name: needs-a-day
      command: [sh, -c, "echo x"]
      runtime: process
      resources: { cpu: 0.5, memoryBytes: 67108864 }
      executionMs: 86400000
      input: { sizeBytes: 1000, location: wallops }
      result: { sizeBytes: 100, deliverTo: [] }
      maxPriceMinor: { currency: EUR, amount: 5000 }
`);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('orbitfed hil run --virtual / hil swarm on the command line', () => {
  it('refuses what it cannot run, with exit status 2 and the reason', async () => {
    const noSeeds = await runCli(['hil', 'swarm', scenarioPath]);
    expect(noSeeds.code).toBe(2);
    expect(noSeeds.stderr).toMatch(/--seeds A\.\.B is required/);
    const empty = await runCli(['hil', 'swarm', scenarioPath, '--seeds', '9..3']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/empty \(3 < 9\)/);
    const notVirtual = await runCli(['hil', 'run', scenarioPath, '--seed', '3']);
    expect(notVirtual.code).toBe(2);
    expect(notVirtual.stderr).toMatch(/add --virtual/);
    const badSeed = await runCli(['hil', 'run', scenarioPath, '--virtual', '--seed', 'seven']);
    expect(badSeed.code).toBe(2);
    expect(badSeed.stderr).toMatch(/--seed/);
    const badFile = join(scratch, 'bad.yaml');
    writeFileSync(badFile, 'name: bad\nelements: e.tle\n');
    const invalid = await runCli(['hil', 'run', badFile, '--virtual']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/bad\.yaml/);
  });

  it('runs a scenario virtually, prints its seed and trace hash, and writes the same into report.json', async () => {
    const dir = join(scratch, 'run');
    const run = await runCli(['hil', 'run', scenarioPath, '--virtual', '--seed', '11', '--dir', dir]);
    expect(run.stderr).toMatch(/seed 11/);
    expect(run.code).toBe(0);
    const hash = /seed 11, trace hash ([0-9a-f]{64})/.exec(run.stdout)?.[1];
    expect(hash).toBeDefined();
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { ok: boolean; seed: number; traceHash: string; mode: string; replay: string; submissions: { status: number; problem?: { code: string } }[] };
    expect(report).toMatchObject({ ok: true, seed: 11, traceHash: hash, mode: 'virtual' });
    expect(report.replay).toBe(`orbitfed hil run ${scenarioPath} --virtual --seed 11`);
    // A job that needs a day, with ten minutes to its deadline, is refused with the scheduler's code.
    expect(report.submissions[0]).toMatchObject({ status: 422 });
    expect(report.submissions[0]!.problem!.code).toMatch(/^ORBITFED_JOB_(UNPLACEABLE|DEADLINE_INFEASIBLE)$/);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain(`trace hash <code>${hash}</code>`);
    expect(existsSync(join(dir, 'trace.jsonl'))).toBe(true);
  }, 120_000);

  it('runs a range of seeds and says which held', async () => {
    const swarm = await runCli(['hil', 'swarm', scenarioPath, '--seeds', '1..2', '--dir', join(scratch, 'swarm')]);
    expect(swarm.stdout).toMatch(/^seed 1: ok /m);
    expect(swarm.stdout).toMatch(/^seed 2: ok /m);
    expect(swarm.stdout).toMatch(/2 of 2 seeds held every invariant/);
    expect(swarm.code).toBe(0);
    // Passing seeds leave nothing behind.
    expect(existsSync(join(scratch, 'swarm', 'seed-1'))).toBe(false);
  }, 120_000);
});
