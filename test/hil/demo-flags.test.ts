// `orbitfed demo` with an external broker and with Docker, for real: the demo against a Mosquitto
// the test starts (Debian's /usr/sbin/mosquitto), its stations' pass events read back from that
// broker; and the demo with --docker against the real engine (/var/run/docker.sock, set up by
// test/runtime/docker-setup.sh as .ci/run does), its sample jobs run in containers the engine
// reports. Each suite is skipped, loudly, only when what it needs is missing. The runs are short:
// one validator, a high time scale, a fixed duration.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerOwnerOf } from '../../runtime/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { freePort, mosquittoBinary, Recorder, startMosquitto } from '../ground/brokers.ts';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'orbitfed-demo-flags-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The image test/runtime/docker-setup.sh imports offline (busybox-static). */
const TEST_IMAGE = 'orbitfed-busybox:test';

async function dockerReady(): Promise<string | undefined> {
  try {
    await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 });
  } catch (error) {
    return `the Docker engine does not answer (${(error as Error).message.split('\n')[0]}); .ci/run starts it with test/runtime/docker-setup.sh`;
  }
  try {
    await run('docker', ['image', 'inspect', TEST_IMAGE], { timeout: 10_000 });
  } catch {
    return `the engine has no ${TEST_IMAGE} (bash test/runtime/docker-setup.sh imports it)`;
  }
  return undefined;
}

const mosquitto = mosquittoBinary();
if (mosquitto === undefined) console.warn('\n*** mosquitto is NOT installed: the demo against an external broker is SKIPPED. Install it with `apt-get install -y mosquitto`. ***\n');
const dockerMissing = await dockerReady();
if (dockerMissing !== undefined) console.warn(`\n*** Docker: ${dockerMissing}: the demo with --docker is SKIPPED. ***\n`);

describe('orbitfed demo: flags refused before anything starts', () => {
  it('refuses flags that do not go together, or malformed ones, as usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['--docker-image', 'busybox'], /--docker-image names the image of --docker/],
      [['--docker', '--docker-image', 'no spaces allowed'], /--docker-image must be an image reference/],
      [['--mqtt-url', 'mqtt://127.0.0.1:1883', '--mqtt-port', '1884'], /give one or the other/],
      [['--mqtt-url', 'http://127.0.0.1:1883'], /--mqtt-url must be mqtt:\/\/host:port/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['demo', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('says no broker answers at --mqtt-url, and writes nothing', async () => {
    const port = await freePort();
    const dir = join(scratch, 'no-broker');
    const result = await runCli(['demo', '--dir', dir, '--mqtt-url', `mqtt://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`no MQTT broker answers at mqtt://127.0.0.1:${port}: ECONNREFUSED`));
    expect(() => readFileSync(join(dir, 'time-base.json'))).toThrow();
  });

  it('says the Docker engine does not answer when --docker has none', async () => {
    const before = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${join(scratch, 'no-docker.sock')}`;
    try {
      const result = await runCli(['demo', '--dir', join(scratch, 'no-docker'), '--docker']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/--docker needs a Docker engine: the Docker daemon at .*no-docker\.sock does not answer/);
    } finally {
      if (before === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = before;
    }
  });

  it.skipIf(dockerMissing !== undefined)('says the engine has no such image', async () => {
    const result = await runCli(['demo', '--dir', join(scratch, 'no-image'), '--docker', '--docker-image', 'orbitfed-no-such-image:none']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the Docker engine has no image orbitfed-no-such-image:none: pull it/);
  });
});

describe.skipIf(mosquitto === undefined)('orbitfed demo --mqtt-url (against Mosquitto)', () => {
  it('publishes its stations\' pass events to the external broker, which the demo prints as its MQTT URL', async () => {
    const broker = await startMosquitto(mosquitto!);
    const recorder = await Recorder.open(broker.url, ['orbitfed/+/pass']);
    try {
      const result = await runCli([
        'demo', '--dir', join(scratch, 'mosquitto'), '--port', '0', '--mqtt-url', broker.url, '--validators', '1',
        '--jobs', '0', '--time-scale', '300', '--duration-sec', '45', '--log-level', 'warn',
      ]);
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`MQTT {8}${broker.url.replaceAll('.', '\\.')} `));
      await recorder.until('a pass event', () => recorder.messages.length > 0, 5_000);
      const stations = new Set(recorder.messages.map((m) => m.topic.split('/')[1]));
      console.log(`mosquitto got ${recorder.messages.length} pass events from ${[...stations].join(', ')}`);
      const event = JSON.parse(recorder.messages[0]!.text) as Record<string, unknown>;
      expect(event).toEqual(expect.objectContaining({ station: expect.any(String) }));
    } finally {
      await recorder.close();
      await broker.stop();
    }
  }, 420_000);
});

describe.skipIf(dockerMissing !== undefined)('orbitfed demo --docker (against the real engine)', () => {
  it('runs the sample jobs in Docker containers and settles them', async () => {
    const sinceSec = Math.floor(Date.now() / 1000) - 1;
    const dir = join(scratch, 'docker');
    const result = await runCli([
      'demo', '--dir', dir, '--port', '0', '--mqtt-port', '0', '--validators', '1', '--docker', '--docker-image', TEST_IMAGE,
      // 60×, the demo's default: the runtimes' engine timeouts are wall time whatever the plan clock (common's ioClockFor).
      '--jobs', '2', '--time-scale', '60', '--duration-sec', '180', '--log-level', 'warn',
    ]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    // The printed request is a Docker job too.
    expect(result.stdout).toMatch(/"runtime":"docker".*"image":"orbitfed-busybox:test"/);
    expect(result.stdout, result.stdout).toMatch(/: succeeded, result downlinked at /);
    const agent = JSON.parse(readFileSync(join(dir, 'agents', 'iss', 'orbital-agent.json'), 'utf8')) as { runtime: unknown };
    expect(agent.runtime).toEqual({ kind: 'docker' });
    // The engine's own record: workload containers (each agent its own owner, orbitfed-<node>) started during the run.
    const untilSec = Math.floor(Date.now() / 1000) + 1;
    const events = await run('docker', ['events', '--since', String(sinceSec), '--until', String(untilSec), '--filter', 'type=container', '--filter', 'event=start',
      '--filter', 'label=orbitfed.owner', '--format', '{{index .Actor.Attributes "orbitfed.owner"}} {{.Actor.Attributes.name}}'], { timeout: 30_000 });
    // Only this demo's agents: other tests on the same engine start labelled containers meanwhile.
    const owners = new Set(readdirSync(join(dir, 'agents')).flatMap((name) => ['orbital-agent.json', 'ground-agent.json']
      .filter((file) => existsSync(join(dir, 'agents', name, file)))
      .map((file) => {
        const config = JSON.parse(readFileSync(join(dir, 'agents', name, file), 'utf8')) as { nodeId?: string; station?: { nodeId: string } };
        return dockerOwnerOf(config.nodeId ?? config.station!.nodeId);
      })));
    const started = events.stdout.split('\n').filter((l) => owners.has(l.split(' ')[0]!));
    console.log(`docker started ${started.length} workload containers of the demo's agents (${[...owners].join(', ')}): ${started.join(', ')}`);
    expect(started.length).toBeGreaterThan(0);
    for (const line of started) expect(line, 'an agent of the demo, named for its owner').toMatch(/^(orbitfed-[a-z0-9_.-]+) \1-/);
  }, 780_000);
});
