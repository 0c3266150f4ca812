// The flight build (orbital/README.md, "Flight build"): `npm run build:agent` bundles the orbital
// agent into dist/, which a space partner copies to a flight computer that has a Node 24 binary and no
// node_modules. Built here into a temporary directory with no node_modules above it and run as a user
// runs it: `node orbital-agent.mjs --config FILE`, from that directory.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../common/index.ts';
import { ContactPlan, formatContactPlan } from '../../contact-plans/index.ts';
import { encodeJobAssignment, SERVICE_NUMBERS, signJobAssignment } from '../../scheduler/index.ts';
import { assignmentOf, CHAIN_ID, HOUR_MS, NODE_SEED, OTHER_SEED, SCHEDULER_PUBLIC_KEY } from './assignment-fixtures.ts';
import { agentConfigFile, freePort, GROUND, linkContacts, SATELLITE, scratchDirectory, startTcpclGround } from './orbital-harness.ts';

const BUILD_AGENT = fileURLToPath(new URL('../../bin/build-agent.ts', import.meta.url));
const ORBITFED = fileURLToPath(new URL('../../bin/orbitfed.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

/** No node_modules in `dir` or any folder above it: what the bundle needs must be in dist/. */
function hasNodeModulesAbove(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'node_modules'))) return true;
    if (dirname(at) === at) return false;
  }
}

/** A preloaded hook that records every module a process loads (ES modules and require alike) and writes the list to `listPath` at SIGTERM. */
function recordModulesHook(listPath: string): string {
  const hook = `${listPath}.hook.mjs`;
  writeFileSync(hook, `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const urls = [];
registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
process.on('SIGTERM', () => writeFileSync(${JSON.stringify(listPath)}, urls.join('\\n')));
`);
  return hook;
}

interface Run {
  readonly code: number | null;
  readonly stderr: string;
  readonly cmdline: readonly string[];
  readonly healthStatus: number;
}

describe('the flight build: dist/orbital-agent.mjs', () => {
  let dir = '';
  let dist = '';
  let metricsPort = 0;

  /** `node orbital-agent.mjs --config FILE` from dist/: waits for /healthz, reads the command line, stops it with SIGTERM. */
  async function runFlightAgent(configPath: string, env: NodeJS.ProcessEnv = {}, whileUp: () => Promise<void> = async () => {}): Promise<Run> {
    const child = spawn(process.execPath, ['orbital-agent.mjs', '--config', configPath], { cwd: dist, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-20_000);
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const deadlineMs = Date.now() + START_TIMEOUT_MS;
    let healthStatus = 0;
    let cmdline: string[] = [];
    while (child.exitCode === null && Date.now() < deadlineMs) {
      healthStatus = await fetch(`http://127.0.0.1:${metricsPort}/healthz`).then((r) => r.status, () => 0);
      if (healthStatus === 200) {
        cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
        await whileUp();
        break;
      }
      await sleep(20);
    }
    child.kill('SIGTERM');
    return { code: await exited, stderr, cmdline, healthStatus };
  }

  beforeAll(async () => {
    dir = await scratchDirectory('orbitfed-flight-build-');
    dist = join(dir, 'dist');
    const built = spawnSync(process.execPath, [BUILD_AGENT, '--out', dist], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`the flight build failed:\n${built.stderr}`);
    metricsPort = await freePort();
    const [agentPort, groundPort] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'plan.json'), formatContactPlan(new ContactPlan({ epochMs: new RealClock().now(), nodes: [], contacts: linkContacts(86_400, 90_000) }), 'json'));
    writeFileSync(join(dir, 'node.key'), `${Buffer.from(NODE_SEED).toString('hex')}\n`, { mode: 0o600 });
    // YAML, as samples/orbital-agent/ is: the bundle then needs yaml, which it loads from dist/.
    writeFileSync(join(dir, 'orbital-agent.yaml'), `nodeId: sat-1
chainId: ${CHAIN_ID}
ipnNumber: ${SATELLITE}
keyFile: node.key
schedulerPublicKey: ${Buffer.from(SCHEDULER_PUBLIC_KEY).toString('hex')}
dataDir: data
storageBytesMax: 16777216
contactPlan: { file: plan.json }
convergenceLayers:
  tcpclv4: { listen: "127.0.0.1:${agentPort}" }
peers:
  - { node: ${GROUND}, cl: tcpclv4, address: "127.0.0.1:${groundPort}" }
runtime: { kind: process, cgroups: "off" }
endpoints: { reportsTo: "ipn:${GROUND}.2", receiptsTo: "ipn:${GROUND}.4", telemetryTo: "ipn:${GROUND}.5" }
logLevel: warn
metricsPort: ${metricsPort}
`);
  }, 120_000);
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('is built into a folder with no node_modules above it', () => {
    expect(hasNodeModulesAbove(dir)).toBe(false);
    expect(existsSync(join(dist, 'orbital-agent.mjs'))).toBe(true);
  });

  it('runs from dist/ with a YAML configuration, answers /healthz, loads nothing from outside dist/ and stops cleanly on SIGTERM', async () => {
    const listPath = join(dir, 'modules.txt');
    const hook = recordModulesHook(listPath);
    const run = await runFlightAgent(join(dir, 'orbital-agent.yaml'), { NODE_OPTIONS: `--import ${hook}` });
    expect(run.healthStatus, run.stderr).toBe(200);
    expect(run.code, run.stderr).toBe(0);
    // The launcher relaunched it with the agent's Node settings, as `orbitfed orbital-agent` does.
    expect(run.cmdline).toEqual(expect.arrayContaining(['--max-semi-space-size=1', '--no-opt', '--no-maglev', join(dist, 'orbital-agent.mjs')]));
    const files = readFileSync(listPath, 'utf8').split('\n').filter((url) => url.startsWith('file:') && url !== `file://${hook}`).map((url) => fileURLToPath(url));
    expect(files.filter((file) => !file.startsWith(`${dist}/`))).toEqual([]);
    expect(files).toContain(join(dist, 'node_modules/yaml/index.js'));
  }, START_TIMEOUT_MS * 2);

  it('refuses a forged assignment through @noble/curves, which it loads from dist/, and loads no yaml for a JSON configuration', async () => {
    // OpenSSL refuses the signature (signed by another key); ZIP 215's check then runs on
    // @noble/curves (consensus/ed25519.ts), loaded on demand: the path a bundle needs a file for.
    const clock = new RealClock();
    const [agentPort, groundPort] = [await freePort(), await freePort()];
    const plan = new ContactPlan({ epochMs: clock.now() - 1_000, nodes: [], contacts: linkContacts(0, 86_400) });
    writeFileSync(join(dir, 'plan-open.json'), formatContactPlan(plan, 'json'));
    const configPath = join(dir, 'orbital-agent-open.json');
    writeFileSync(configPath, JSON.stringify(agentConfigFile(agentPort, groundPort, {
      dataDir: 'data-open', storageBytesMax: 16 * 1024 * 1024, contactPlan: { file: 'plan-open.json' }, logLevel: 'warn', metricsPort,
    })));
    const { ground, record } = await startTcpclGround({ dir, plan, clock, agentPort, groundPort, store: { capacityBytes: 16 * 1024 * 1024, capacityBundles: 1_000 } });
    const now = clock.now();
    const forged = assignmentOf({ assignmentId: 'forged.1', jobId: 'forged', ledgerJobId: 'forged.1', issuedAtMs: now, notAfterMs: now + HOUR_MS, deadlineMs: now + 2 * HOUR_MS });
    ground.send({ destination: `ipn:${SATELLITE}.${SERVICE_NUMBERS.assignments}`, payload: encodeJobAssignment(signJobAssignment(forged, OTHER_SEED)), lifetimeMs: HOUR_MS });
    const listPath = join(dir, 'modules-forged.txt');
    const hook = recordModulesHook(listPath);
    let run: Run;
    try {
      run = await runFlightAgent(configPath, { NODE_OPTIONS: `--import ${hook}` }, async () => {
        const deadlineMs = Date.now() + START_TIMEOUT_MS;
        while (record.reportsOf('forged.1').length === 0 && Date.now() < deadlineMs) await sleep(20);
      });
    } finally {
      await ground.stop();
    }
    expect(run.code, run.stderr).toBe(0);
    expect(record.reportsOf('forged.1')).toMatchObject([{ kind: 'refused', reasonCode: 'bad-signature' }]);
    const files = readFileSync(listPath, 'utf8').split('\n').filter((url) => url.startsWith('file:') && url !== `file://${hook}`).map((url) => fileURLToPath(url));
    expect(files.filter((file) => !file.startsWith(`${dist}/`))).toEqual([]);
    expect(files).toContain(join(dist, 'node_modules/@noble/curves/ed25519.js'));
    // A JSON configuration without duplicate keys never loads yaml (common/yaml-tree.ts).
    expect(files.filter((file) => file.includes('/node_modules/yaml/'))).toEqual([]);
  }, START_TIMEOUT_MS * 2);

  it('has in dist/ every library the agent loads on demand, resolved from the bundle as the agent resolves them', () => {
    // yaml (a YAML text), @noble/curves (a signature node:crypto refuses: ZIP 215's small-order and
    // non-canonical points) and TypeBox's Value (a schema our checker does not know) are loaded by
    // createRequire(import.meta.url) inside the bundle; run them from a chunk's place in dist/.
    const script = `const { createRequire } = require('node:module');
const requireFromBundle = createRequire(${JSON.stringify(join(dist, 'chunks/any.mjs'))});
const { parseDocument } = requireFromBundle('yaml');
const { ed25519 } = requireFromBundle('@noble/curves/ed25519.js');
const { Value } = requireFromBundle('@sinclair/typebox/value');
const secret = new Uint8Array(32).fill(7), message = new Uint8Array([1, 2, 3]);
const signature = ed25519.sign(message, secret), forged = signature.slice(); forged[0] ^= 1;
process.stdout.write(JSON.stringify({
  yaml: parseDocument('a: [1, 2]').toJS(),
  genuine: ed25519.verify(signature, message, ed25519.getPublicKey(secret), { zip215: true }),
  forged: ed25519.verify(forged, message, ed25519.getPublicKey(secret), { zip215: true }),
  typebox: Value.Check({ [Symbol.for('TypeBox.Kind')]: 'Integer', type: 'integer' }, 3),
  paths: ['yaml', '@noble/curves/ed25519.js', '@sinclair/typebox/value'].map((s) => requireFromBundle.resolve(s)),
}));`;
    const run = spawnSync(process.execPath, ['-e', script], { cwd: dist, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { yaml: unknown; genuine: boolean; forged: boolean; typebox: boolean; paths: string[] };
    expect(result).toMatchObject({ yaml: { a: [1, 2] }, genuine: true, forged: false, typebox: true });
    for (const path of result.paths) expect(path.startsWith(join(dist, 'node_modules/'))).toBe(true);
  });

  it('refuses a bad configuration with the same precise error as `orbitfed orbital-agent` from source', () => {
    const badPath = join(dir, 'bad.yaml');
    writeFileSync(badPath, readFileSync(join(dir, 'orbital-agent.yaml'), 'utf8').replace(`ipnNumber: ${SATELLITE}`, 'ipnNumber: one'));
    const flight = spawnSync(process.execPath, ['orbital-agent.mjs', '--config', badPath], { cwd: dist, encoding: 'utf8' });
    const fromSource = spawnSync(process.execPath, [ORBITFED, 'orbital-agent', '--config', badPath], { encoding: 'utf8' });
    expect(flight.status).toBe(2);
    expect(flight.stderr).toMatch(/^orbitfed orbital-agent: .*bad\.yaml:3: \/ipnNumber: .*Expected integer \[ORBITFED_CONFIG_INVALID\]$/ms);
    expect(flight.stderr).toBe(fromSource.stderr);
    expect(fromSource.status).toBe(2);
  });

  it('refuses a missing --config and a file that is not YAML as the source does', () => {
    const notYaml = join(dir, 'broken.yaml');
    writeFileSync(notYaml, 'nodeId: [sat-1\n  chainId: x\n');
    for (const args of [[], ['--config', notYaml]]) {
      const flight = spawnSync(process.execPath, ['orbital-agent.mjs', ...args], { cwd: dist, encoding: 'utf8' });
      const fromSource = spawnSync(process.execPath, [ORBITFED, 'orbital-agent', ...args], { encoding: 'utf8' });
      expect(flight.status).toBe(2);
      expect(flight.stderr).not.toBe('');
      expect(flight.stderr).toBe(fromSource.stderr);
    }
  });
});
