// `orbitfed hil run` for real: a short scenario against real processes (one validator, the
// scheduler; no agents, to keep CI time down) at 600×, with the scheduler killed and started again
// between submissions. Every invariant must hold, and the reports must be written.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'orbitfed-scenario-test-'));
const DEMO = fileURLToPath(new URL('../../samples/demo/', import.meta.url));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const JOB = (name: string, location: string, sovereignty: string) => `
    spec:
      name: ${name}
      command: [sh, -c, "echo hi"]
      runtime: process
      resources: { cpu: 0.5, memoryBytes: 67108864 }
      executionMs: 60000
      input: { sizeBytes: 20000, location: ${location} }
      result: { sizeBytes: 1000, deliverTo: [] }
      maxPriceMinor: { currency: EUR, amount: 5000 }
      orbital: required${sovereignty}`;

describe('orbitfed hil run', () => {
  it('runs a scenario with a scheduler crash, checks every invariant and writes the JSON and HTML reports', async () => {
    const path = join(scratch, 'crash.yaml');
    writeFileSync(path, `name: scheduler-crash
elements: ${join(DEMO, 'elements.tle')}
stations: ${join(DEMO, 'stations.yaml')}
nodes: ${join(DEMO, 'nodes.yaml')}
validators: 1
agents: false
timeScale: 600
planStart: 2026-06-14T06:00:00Z
planHours: 8
tenants:
  - { id: eu-agency, roles: [jobs] }
  - { id: acme-earth, roles: [jobs] }
durationSec: 12000
jobs:
  - atSec: 60
    tenant: eu-agency
    deadlineAfterSec: 7200${JOB('ndvi-eu', 'kiruna', '\n      sovereignty: { downlink: { countries: [EU] } }')}
  - atSec: 90
    tenant: acme-earth
    count: 2
    everySec: 1800
    deadlineAfterSec: 7200${JOB('ships', 'wallops', '')}
faults:
  - { atSec: 600, kind: crash, process: scheduler }
  - { atSec: 900, kind: start, process: scheduler }
expect:
  acceptedMin: 2
`);
    const dir = join(scratch, 'run');
    const run = await runCli(['hil', 'run', path, '--dir', dir]);
    expect(run.stdout, run.stderr).toMatch(/every invariant held/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ok {4}No sovereignty rule broken/);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { ok: boolean; submissions: { status: number; finalJob?: { state: string } }[]; faults: unknown[] };
    expect(report.ok).toBe(true);
    expect(report.submissions).toHaveLength(3);
    expect(report.faults).toHaveLength(2);
    // Nothing runs the jobs (no agents): each accepted one ends explicitly, expired at its deadline.
    for (const s of report.submissions.filter((x) => x.status === 201)) expect(s.finalJob?.state).toBe('expired');
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/scheduler-crash[\s\S]*<svg[\s\S]*crash scheduler/);
    expect(existsSync(join(dir, 'logs', 'scheduler.log'))).toBe(true);
  }, 180_000);

  it('refuses a fault naming a process the federation does not have, before anything starts', async () => {
    const path = join(scratch, 'typo.yaml');
    writeFileSync(path, `name: typo
elements: ${join(DEMO, 'elements.tle')}
stations: ${join(DEMO, 'stations.yaml')}
nodes: ${join(DEMO, 'nodes.yaml')}
validators: 1
agents: false
tenants: [{ id: acme, roles: [jobs] }]
durationSec: 600
faults:
  - { atSec: 60, kind: crash, process: validator-7 }
`);
    const run = await runCli(['hil', 'run', path, '--dir', join(scratch, 'typo-run')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/typo\.yaml: \/faults\/0\/process: no process validator-7; this federation has validator-0, scheduler/);
    expect((await runCli(['hil', 'run'])).stderr).toMatch(/give the scenario file/);
  });
});
