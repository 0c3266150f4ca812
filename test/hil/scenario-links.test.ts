// `orbitfed hil run` with link faults, for real: a small federation with agents (one validator, the
// scheduler, the link emulator, two polar ground stations and two polar satellites) at 120×, every
// emulated link flapping (one plan minute down in five), seeded random drops inside every contact,
// and a `flap` fault of every link mid-run. Passes go on while the links flap; every job must still
// end explicitly and every invariant hold, and the emulator's own counters must show that outages
// really hit open contacts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScenarioReport } from '../../hil/index.ts';
import { runCli } from '../cli/run-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'orbitfed-scenario-links-'));
const DEMO = fileURLToPath(new URL('../../samples/demo/', import.meta.url));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The demo's node specs of Svalbard, Kiruna, Sentinel-2A and NOAA-20 only (fewer processes to start). */
function smallNodesFile(): string {
  const text = readFileSync(join(DEMO, 'nodes.yaml'), 'utf8');
  const entries = text.split(/^(?=- \{)/m).filter((e) => e.startsWith('- {'));
  const kept = entries.filter((e) => /id: (svalbard|kiruna|sentinel-2a|noaa-20),/.test(e));
  expect(kept).toHaveLength(4);
  const path = join(scratch, 'nodes.yaml');
  writeFileSync(path, kept.join(''));
  return path;
}

describe('orbitfed hil run with link faults', () => {
  it('keeps every invariant while links flap and drop during passes, and shows the outages really happened', async () => {
    const path = join(scratch, 'flaps.yaml');
    writeFileSync(path, `name: link-flaps-test
elements: ${join(DEMO, 'elements.tle')}
stations: ${join(DEMO, 'stations.yaml')}
nodes: ${smallNodesFile()}
validators: 1
timeScale: 120
planStart: 2026-06-14T06:00:00Z
planHours: 16
tenants:
  - { id: acme-earth, roles: [jobs] }
  - { id: federation-ops, roles: [admin] }
durationSec: 5400
jobs:
  - atSec: 60
    tenant: acme-earth
    count: 2
    everySec: 240
    deadlineAfterSec: 3600
    spec:
      name: ship-detect
      command: [sh, -c, "echo ships: 3"]
      runtime: process
      resources: { cpu: 0.5, memoryBytes: 67108864 }
      executionMs: 60000
      input: { sizeBytes: 20000, location: kiruna }
      result: { sizeBytes: 1000, deliverTo: [] }
      maxPriceMinor: { currency: EUR, amount: 5000 }
      orbital: required
links:
  seed: 42
  flaps:
    - { from: all, to: all, atSec: 30, downSec: 60, everySec: 300, count: 18 }
  drops: { probabilityPerContact: 1, downSec: 20 }
faults:
  - { atSec: 1500, kind: flap, from: all, to: all, downSec: 90 }
expect:
  acceptedMin: 1
`);
    const dir = join(scratch, 'run');
    const run = await runCli(['hil', 'run', path, '--dir', dir]);
    expect(run.stdout, run.stderr).toMatch(/every invariant held/);
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/links: flap all from t\+30s, 60s down, 18 times every 300s/);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ScenarioReport;
    expect(report.ok).toBe(true);
    // Every job ended explicitly (the checks say so; here: each accepted one has a final state).
    for (const s of report.submissions.filter((x) => x.status === 201)) expect(['succeeded', 'failed', 'expired', 'cancelled']).toContain(s.finalJob?.state);
    const links = report.links!;
    expect(links.flaps).toHaveLength(1);
    expect(links.flaps[0]!.error).toBeUndefined();
    expect(report.faults).toHaveLength(1);
    expect(report.faults[0]).toMatchObject({ fault: { kind: 'flap', from: 'all', to: 'all', downSec: 90 } });
    expect(report.faults[0]!.error).toBeUndefined();
    // The timeline has all three kinds: 18 scheduled flaps, the fault's outage, and drops inside passes.
    const causes = new Set(links.outages.map((o) => o.cause));
    expect(links.outages.filter((o) => o.cause === 'flap')).toHaveLength(18);
    expect(causes).toContain('fault');
    expect(links.drops).toEqual({ probabilityPerContact: 1, downSec: 20 });
    // The emulator itself counted outages that hit an open contact: the flaps really happened during passes.
    const hits = links.status!.reduce((n, l) => n + l.outagesDuringContact, 0);
    console.log(`links: ${links.outages.length} outages in the run (${[...causes].join(', ')}); ${hits} hit an open contact; cut by outage: ${links.status!.reduce((n, l) => n + l.connectionsCutByOutage, 0)}`);
    expect(hits).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/<h2>Links<\/h2>[\s\S]*outages hit an open contact/);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/flap all: down/);
  }, 420_000);

  it('refuses a flap of a link the emulator does not have, before anything starts', async () => {
    const path = join(scratch, 'nolink.yaml');
    writeFileSync(path, `name: nolink
elements: ${join(DEMO, 'elements.tle')}
stations: ${join(DEMO, 'stations.yaml')}
nodes: ${smallNodesFile()}
validators: 1
planStart: 2026-06-14T06:00:00Z
planHours: 4
tenants: [{ id: acme, roles: [jobs] }]
durationSec: 600
faults:
  - { atSec: 60, kind: flap, from: 1, to: 2, downSec: 30 }
`);
    const run = await runCli(['hil', 'run', path, '--dir', join(scratch, 'nolink-run')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/nolink\.yaml: \/faults\/0: the link emulator has no link 1→2/);
  });
});
