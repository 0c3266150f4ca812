// `orbitfed hil run` with the orbital agents in network namespaces of their own (Linux, root): each
// satellite's agent can reach nothing but the link emulator's relay addresses on the host's end of
// its veth cable, so a job that succeeds went up and came down through the emulator. The namespaces
// are gone after the run. Skipped, loudly, where namespaces cannot be made (not root, no iproute2).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { namespaceSupportProblem } from '../../hil/index.ts';
import { runCli } from '../cli/run-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'orbitfed-scenario-netns-'));
const DEMO = fileURLToPath(new URL('../../samples/demo/', import.meta.url));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const problem = namespaceSupportProblem();
if (problem !== undefined) console.warn(`\n*** ${problem}: the scenario with network namespaces is SKIPPED. ***\n`);

describe.skipIf(problem !== undefined)('orbitfed hil run with orbital agents in network namespaces', () => {
  it('runs jobs through the emulator alone, keeps every invariant and removes its namespaces', async () => {
    const text = readFileSync(join(DEMO, 'nodes.yaml'), 'utf8');
    const kept = text.split(/^(?=- \{)/m).filter((e) => /^- \{ id: (svalbard|kiruna|sentinel-2a|noaa-20),/.test(e));
    expect(kept).toHaveLength(4);
    writeFileSync(join(scratch, 'nodes.yaml'), kept.join(''));
    const path = join(scratch, 'netns.yaml');
    writeFileSync(path, `name: netns-test
elements: ${join(DEMO, 'elements.tle')}
stations: ${join(DEMO, 'stations.yaml')}
nodes: ${join(scratch, 'nodes.yaml')}
validators: 1
timeScale: 120
planStart: 2026-06-14T06:00:00Z
planHours: 16
namespaces: true
tenants:
  - { id: acme-earth, roles: [jobs] }
  - { id: federation-ops, roles: [admin] }
durationSec: 5400
jobs:
  - atSec: 60
    tenant: acme-earth
    count: 2
    everySec: 120
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
expect:
  acceptedMin: 1
  succeededMin: 1
`);
    const dir = join(scratch, 'run');
    const run = await runCli(['hil', 'run', path, '--dir', dir]);
    // On failure: where each job got to, and the ends of the emulator's and a satellite's logs.
    const diagnostics = (): string => {
      const tail = (name: string): string => readFileSync(join(dir, 'logs', `${name}.log`), 'utf8').split('\n').slice(-15).join('\n');
      const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { submissions: { name: string; events: { toState?: string; atMs?: number }[] }[] };
      const jobs = report.submissions.map((s) => `${s.name}: ${s.events.map((e) => e.toState).join(' → ')}`).join('\n');
      return `${run.stdout}\n${run.stderr}\n${jobs}\n--- link-emulator\n${tail('link-emulator')}\n--- orbital-noaa-20\n${tail('orbital-noaa-20')}`;
    };
    expect(run.stdout, diagnostics()).toMatch(/every invariant held/);
    expect(run.code).toBe(0);
    // The satellite listens inside its namespace and reaches the stations at the host's end of its cable.
    const agent = JSON.parse(readFileSync(join(dir, 'agents', 'sentinel-2a', 'orbital-agent.json'), 'utf8')) as {
      convergenceLayers: { tcpclv4: { listen: string } }; peers: { address: string }[]; metricsHost: string;
    };
    const [, n, k] = /^10\.(\d+)\.(\d+)\.2:\d+$/.exec(agent.convergenceLayers.tcpclv4.listen) ?? [];
    expect(n, agent.convergenceLayers.tcpclv4.listen).toBeDefined();
    expect(agent.metricsHost).toBe(`10.${n}.${k}.2`);
    expect(agent.peers.length).toBeGreaterThan(0);
    for (const peer of agent.peers) expect(peer.address).toMatch(new RegExp(`^10\\.${n}\\.${k}\\.1:\\d+$`));
    const map = readFileSync(join(dir, 'link-emulator', 'map.json'), 'utf8');
    expect(map).toContain(`"target": "${agent.convergenceLayers.tcpclv4.listen}"`);
    // Nothing of ours is left on the host.
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(new RegExp(`orbitfed-${n}-`));
    expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toMatch(new RegExp(`of${n}-h`));
  }, 420_000);
});
