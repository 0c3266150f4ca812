// The ground agent's configuration (ground/ground-config.ts): the sample file is valid; malformed
// files are refused with the file, line and field at fault; secrets come only from files or the
// environment; `orbitfed ground-agent` turns every such refusal into exit status 2 and a message.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGroundConfig } from '../../ground/index.ts';
import { runCli } from '../cli/run-cli.ts';

const SAMPLE = fileURLToPath(new URL('../../samples/ground-agent/ground-agent.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'orbitfed-ground-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY = '0'.repeat(64);

const MINIMAL = `station:
  stationsFile: stations.yaml
  id: SVALBARD
plan:
  path: plan.json
identity:
  keyFile: station.key
chainId: orbitfed-test
dataDir: data
terrestrial:
  peers: []
space:
  tcpclv4:
    listen: 127.0.0.1:0
  satellites:
    - noradId: "25544"
      address: tcpclv4:127.0.0.1:4557
mqtt:
  embedded: true
`;

let files = 0;
function configFile(text: string, extension = 'yaml'): string {
  const path = join(dir, `config-${files++}.${extension}`);
  writeFileSync(path, text);
  return path;
}

describe('the ground agent configuration', () => {
  it('accepts the sample, with paths relative to the file and the API key from the environment', async () => {
    const config = await loadGroundConfig(SAMPLE, { ORBITFED_STATION_API_KEY: 'ofk_sample' });
    const base = dirname(SAMPLE);
    expect(config).toMatchObject({
      stationsPath: join(base, '..', 'stations.yaml'), planPath: join(base, 'plan.json'), keyPath: join(base, 'station.key'),
      dataDir: join(base, 'svalbard-data'), schedulerApiKey: 'ofk_sample', mqttPassword: undefined,
    });
    expect(config.file.station).toMatchObject({ id: 'SVALBARD', nodeId: 'gs-svalbard' });
  });

  it('accepts a minimal file', async () => {
    const config = await loadGroundConfig(configFile(MINIMAL), {});
    expect(config.schedulerApiKey).toBeUndefined();
    expect(config.file.space.satellites).toHaveLength(1);
    expect(config.planRefresh).toBeUndefined();
  });

  it('reads the plan file again on a cron schedule (UTC) when schedules.planRefresh is set', async () => {
    const config = await loadGroundConfig(configFile(`${MINIMAL}schedules:\n  planRefresh: "*/15 * * * *"\n`), {});
    expect(config.planRefresh?.expression).toBe('*/15 * * * *');
    expect(new Date(config.planRefresh!.nextAfterMs(Date.parse('2026-06-14T10:07:00Z'))).toISOString()).toBe('2026-06-14T10:15:00.000Z');
  });

  const refusals: [string, string, string, string | RegExp][] = [
    ['a misspelt option', MINIMAL.replace('mqtt:\n  embedded: true', 'mqqt:\n  embedded: true'), 'ORBITFED_CONFIG_INVALID', '/mqqt'],
    ['YAML that does not parse', `${MINIMAL}station: [unclosed\n`, 'ORBITFED_CONFIG_SYNTAX', /not valid YAML/],
    ['a port out of range', MINIMAL.replace('127.0.0.1:0', '127.0.0.1:123456'), 'ORBITFED_CONFIG_INVALID', '/space/tcpclv4/listen'],
    ['a satellite address of an unknown convergence layer', MINIMAL.replace('address: tcpclv4:', 'address: udp:'), 'ORBITFED_CONFIG_INVALID', '/space/satellites/0/address'],
    ['a satellite address of a layer that is not configured', MINIMAL.replace('address: tcpclv4:', 'address: mtcp:'), 'ORBITFED_CONFIG_INVALID', 'space.mtcp'],
    ['a satellite named twice over', MINIMAL.replace('- noradId: "25544"', '- noradId: "25544"\n      node: 7'), 'ORBITFED_CONFIG_INVALID', 'exactly one of noradId and node'],
    ['both an embedded broker and a broker URL', MINIMAL.replace('embedded: true', 'embedded: true\n  url: mqtt://127.0.0.1:1883'), 'ORBITFED_CONFIG_INVALID', 'not both'],
    ['no broker at all', MINIMAL.replace('  embedded: true\n', '  queuedMessagesMax: 10\n'), 'ORBITFED_CONFIG_INVALID', 'give a broker url'],
    ['a Docker owner that cannot name containers', `${MINIMAL}jobs:\n  runtimes: [docker]\n  dockerOwner: "Station A"\n`, 'ORBITFED_CONFIG_INVALID', /\/jobs\/dockerOwner.*"Station A" is not a Docker owner/],
    ['jobs without the scheduler\'s key', `${MINIMAL}jobs:\n  runtimes: [process]\n`, 'ORBITFED_CONFIG_INVALID', 'publicKeyHex'],
    ['an API key on the command line\'s side of the file', `${MINIMAL}scheduler:\n  url: http://127.0.0.1:8080\n  apiKey: ofk_secret\n`, 'ORBITFED_CONFIG_INVALID', '/scheduler/apiKey'],
    ['an API key from an unset variable', `${MINIMAL}scheduler:\n  url: http://127.0.0.1:8080\n  apiKey:\n    env: ORBITFED_NOT_SET\n`, 'ORBITFED_CONFIG_SECRET', 'ORBITFED_NOT_SET is not set'],
    ['an API key file that does not exist', `${MINIMAL}scheduler:\n  url: http://127.0.0.1:8080\n  apiKey:\n    file: missing.key\n`, 'ORBITFED_CONFIG_SECRET', 'missing.key'],
    ['two overlay peers with one ipn', MINIMAL.replace('peers: []', `peers:\n    - { name: a, node: 5, address: /ip4/127.0.0.1/tcp/1, publicKeyHex: "${KEY}" }\n    - { name: b, node: 5, address: /ip4/127.0.0.1/tcp/2, publicKeyHex: "${KEY}" }`), 'ORBITFED_CONFIG_INVALID', '/terrestrial/peers/1/node'],
    ['a plan refresh schedule that is not a cron expression', `${MINIMAL}schedules:\n  planRefresh: "every 10 minutes"\n`, 'ORBITFED_CONFIG_INVALID', /\/schedules\/planRefresh: 'every 10 minutes' is not a cron expression: .*expected 5 or 6 fields but got 3/],
    ['a plan refresh schedule with a minute out of range', `${MINIMAL}schedules:\n  planRefresh: "60 * * * *"\n`, 'ORBITFED_CONFIG_INVALID', /\/schedules\/planRefresh: '60 \* \* \* \*' is not a cron expression: minute '60'/],
    ['a peer key that is not 32 bytes of hex', MINIMAL.replace('peers: []', 'peers:\n    - { name: a, node: 5, address: /ip4/127.0.0.1/tcp/1, publicKeyHex: "abc" }'), 'ORBITFED_CONFIG_INVALID', '/terrestrial/peers/0/publicKeyHex'],
  ];
  for (const [what, text, code, detail] of refusals) {
    it(`refuses ${what}, naming where`, async () => {
      const path = configFile(text);
      const error = await loadGroundConfig(path, {}).catch((e: unknown) => e);
      expect(error).toMatchObject({ code });
      expect(String((error as Error).message)).toMatch(typeof detail === 'string' ? new RegExp(detail.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : detail);
    });
  }

  it('names the line of a schema problem in YAML', async () => {
    const path = configFile(MINIMAL.replace('chainId: orbitfed-test', 'chainId: 42'));
    const error = await loadGroundConfig(path, {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ORBITFED_CONFIG_INVALID', location: { file: path, line: 8, field: '/chainId' } });
  });
});

describe('orbitfed ground-agent', () => {
  it('exits 2 with the usage when --config is missing, and prints its help', async () => {
    const missing = await runCli(['ground-agent']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--config FILE is required');
    const help = await runCli(['ground-agent', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: orbitfed ground-agent --config FILE');
  });

  it('exits 2 naming the file, line and field of a bad configuration, and a station the stations file lacks', async () => {
    const bad = configFile(MINIMAL.replace('chainId: orbitfed-test', 'chainId: 42'));
    const run = await runCli(['ground-agent', '--config', bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${bad}:8: /chainId`);
    expect(run.stderr).toContain('[ORBITFED_CONFIG_INVALID]');
    writeFileSync(join(dir, 'stations.yaml'), 'stations:\n  - { id: KIRUNA, latitudeDeg: 67.9, longitudeDeg: 21, altitudeM: 400, country: SE }\n');
    const unknown = await runCli(['ground-agent', '--config', configFile(MINIMAL)]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no station SVALBARD');
  });
});
