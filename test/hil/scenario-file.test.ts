// Scenario files: what a HIL lab writes, checked with a message that names the file, line and field;
// defaults applied; submissions and faults put in the order they happen.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { loadScenarioFile, parseScenarioText, scenarioActions } from '../../hil/index.ts';

const SAMPLE = fileURLToPath(new URL('../../samples/scenarios/validator-and-scheduler-crash.yaml', import.meta.url));

const JOB = `
    spec:
      command: [sh, -c, "echo hi"]
      resources: { cpu: 0.5, memoryBytes: 67108864 }
      executionMs: 60000
      input: { sizeBytes: 1000, location: kiruna }
      result: { sizeBytes: 100, deliverTo: [] }
      maxPriceMinor: { currency: EUR, amount: 5000 }`;

function scenario(body: string): string {
  return `name: test
elements: ../demo/elements.tle
stations: ../demo/stations.yaml
nodes: ../demo/nodes.yaml
tenants:
  - { id: acme, roles: [jobs] }
durationSec: 3600
${body}`;
}

function refusal(text: string): OrbitfedError {
  try {
    parseScenarioText(text, { file: '/lab/scenario.yaml', what: 'scenario' });
  } catch (error) {
    return error as OrbitfedError;
  }
  throw new Error('the scenario was accepted');
}

describe('scenario files', () => {
  it('loads the bundled sample with its paths resolved against the file and defaults applied', async () => {
    const loaded = await loadScenarioFile(SAMPLE);
    expect(loaded.elementsPath).toBe(fileURLToPath(new URL('../../samples/demo/elements.tle', import.meta.url)));
    expect(loaded).toMatchObject({ validators: 4, agents: true, timeScale: 120, planHours: 12, chainId: 'orbitfed-scenario', currency: 'EUR', tenantBalanceMinor: 1_000_000n });
    expect(loaded.faults.map((f) => f.kind)).toEqual(['crash', 'crash', 'start', 'start', 'partition']);
  });

  it('loads the bundled link-faults sample: scheduled flaps, seeded drops and a flap fault', async () => {
    const loaded = await loadScenarioFile(fileURLToPath(new URL('../../samples/scenarios/flapping-links.yaml', import.meta.url)));
    expect(loaded.links.seed).toBe(7);
    expect(loaded.links.flaps.map((f) => `${f.from}→${f.to}`)).toEqual(['all→all', '2→1000040697']);
    expect(loaded.links.drops).toEqual({ probabilityPerContact: 1, downSec: 30 });
    expect(loaded.faults.map((f) => f.kind)).toEqual(['flap']);
  });

  it('puts submissions (count × everySec) and faults in time order, file order at the same instant', () => {
    const parsed = parseScenarioText(scenario(`jobs:
  - atSec: 100
    tenant: acme
    count: 3
    everySec: 50
    deadlineAfterSec: 600
${JOB}
faults:
  - { atSec: 150, kind: crash, process: scheduler }
  - { atSec: 10, kind: stop, process: validator-1 }
  - { atSec: 120, kind: partition, from: 2, to: 1000043013, durationSec: 60 }
`), { file: '/lab/s.yaml', what: 'scenario' });
    const actions = scenarioActions(parsed).map((a) => `${a.atSec}:${a.kind === 'job' ? 'job' : a.fault.kind}`);
    // A partition with a duration heals by itself.
    expect(actions).toEqual(['10:stop', '100:job', '120:partition', '150:job', '150:crash', '180:heal', '200:job']);
  });

  it('refuses unknown keys, naming the line and field', () => {
    const error = refusal(scenario('speed: 3\n'));
    expect(error.code).toBe('ORBITFED_CONFIG_INVALID');
    expect(error.message).toMatch(/\/lab\/scenario\.yaml:8/);
    expect(error.message).toMatch(/speed/);
  });

  it('refuses a fault of an unknown kind and a job spec with a bad field, saying where', () => {
    expect(refusal(scenario('faults:\n  - { atSec: 5, kind: explode, process: scheduler }\n')).message).toMatch(/\/faults\/0/);
    const badJob = refusal(scenario(`jobs:
  - atSec: 5
    tenant: acme
    deadlineAfterSec: 600
    spec:
      command: [sh]
      resources: { cpu: -1, memoryBytes: 1 }
      executionMs: 60000
      input: { sizeBytes: 1, location: kiruna }
      result: { sizeBytes: 1, deliverTo: [] }
      maxPriceMinor: { currency: EUR, amount: 1 }
`));
    expect(badJob.code).toBe('ORBITFED_CONFIG_INVALID');
    expect(badJob.message).toMatch(/\/jobs\/0\/spec\/resources\/cpu/);
  });

  it('refuses a job of a tenant it does not list, and actions after the end of the run', () => {
    const unknownTenant = refusal(scenario(`jobs:\n  - atSec: 5\n    tenant: nobody\n    deadlineAfterSec: 600\n${JOB}\n`));
    expect(unknownTenant).toMatchObject({ code: 'ORBITFED_SCENARIO_INVALID', location: { field: '/jobs/0/tenant' } });
    const late = refusal(scenario(`jobs:\n  - atSec: 3500\n    tenant: acme\n    count: 3\n    everySec: 60\n    deadlineAfterSec: 600\n${JOB}\n`));
    expect(late.message).toMatch(/the last submission \(3620 s\) is after the end of the run/);
    expect(refusal(scenario('faults:\n  - { atSec: 4000, kind: crash, process: scheduler }\n')).location.field).toBe('/faults/0/atSec');
  });

  it('reads link faults: scheduled flaps, seeded drops and a flap fault in time order', () => {
    const parsed = parseScenarioText(scenario(`links:
  seed: 7
  flaps:
    - { from: all, to: all, atSec: 300, downSec: 30, everySec: 600, count: 4 }
    - { from: 2, to: 1000043013, atSec: 100, downSec: 20 }
  drops: { probabilityPerContact: 0.5, downSec: 15 }
faults:
  - { atSec: 200, kind: flap, from: 1000025544, to: 1, downSec: 45 }
`), { file: '/lab/s.yaml', what: 'scenario' });
    expect(parsed.links).toEqual({
      seed: 7,
      flaps: [{ from: 'all', to: 'all', atSec: 300, downSec: 30, everySec: 600, count: 4 }, { from: 2, to: 1000043013, atSec: 100, downSec: 20 }],
      drops: { probabilityPerContact: 0.5, downSec: 15 },
    });
    expect(scenarioActions(parsed).map((a) => `${a.atSec}:${a.kind === 'job' ? 'job' : a.fault.kind}`)).toEqual(['200:flap']);
    expect(parseScenarioText(scenario(''), { file: '/lab/s.yaml', what: 'scenario' }).links).toEqual({ seed: 1, flaps: [], drops: undefined });
  });

  it('refuses link faults that cannot be applied, saying which and where', () => {
    const cases: [string, string | RegExp, string][] = [
      ['links:\n  flaps:\n    - { from: all, to: 3, atSec: 5, downSec: 10 }\n', /one directed link .* or every link/, '/links/flaps/0'],
      ['links:\n  flaps:\n    - { from: 1, to: 2, atSec: 5, downSec: 10, count: 3 }\n', 'need everySec', '/links/flaps/0/everySec'],
      ['links:\n  flaps:\n    - { from: 1, to: 2, atSec: 5, downSec: 10, everySec: 10, count: 3 }\n', 'must exceed downSec', '/links/flaps/0/everySec'],
      ['links:\n  flaps:\n    - { from: 1, to: 2, atSec: 4000, downSec: 10 }\n', 'after the end of the run', '/links/flaps/0/atSec'],
      ['faults:\n  - { atSec: 5, kind: flap, from: 1, to: all, downSec: 10 }\n', /one directed link/, '/faults/0'],
      ['agents: false\nlinks:\n  drops: { probabilityPerContact: 1, downSec: 10 }\n', 'runs only with agents', '/links'],
      ['agents: false\nfaults:\n  - { atSec: 5, kind: flap, from: 1, to: 2, downSec: 10 }\n', 'runs only with agents', '/faults'],
    ];
    for (const [body, message, field] of cases) {
      const error = refusal(scenario(body));
      expect(error.code, body).toBe('ORBITFED_SCENARIO_INVALID');
      expect(error.message, body).toMatch(message);
      expect(error.location.field, body).toBe(field);
    }
    expect(refusal(scenario('links:\n  drops: { probabilityPerContact: 1.5, downSec: 10 }\n')).message).toMatch(/\/links\/drops\/probabilityPerContact/);
    expect(refusal(scenario('faults:\n  - { atSec: 5, kind: flap, from: 1, to: 2 }\n')).message).toMatch(/\/faults\/0/);
  });

  it('refuses a file that is not YAML, with its line', () => {
    const error = refusal('name: [unclosed\n');
    expect(error.code).toBe('ORBITFED_CONFIG_SYNTAX');
    expect(error.location.file).toBe('/lab/scenario.yaml');
  });
});
