// The launcher's settings for the orbital agent (bin/orbitfed.ts; orbital/README.md, "Memory and
// start-up"), checked on the real process from the outside, through /proc: `orbitfed orbital-agent`
// replaces itself (same pid) with a Node that has the memory flags, one malloc arena and cbor-x
// without its native addon; flags and variables the caller gives are kept and win; and
// ORBITFED_AGENT_NODE_FLAGS=off runs the agent as it was started; and the libraries an agent at rest
// does not use are not loaded. The numbers these settings buy are measured by
// `npm run bench -- --only agents`, not here.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../common/index.ts';
import { ContactPlan, formatContactPlan } from '../../contact-plans/index.ts';
import { NODE_SEED } from './assignment-fixtures.ts';
import { agentConfigFile, freePort, linkContacts, scratchDirectory } from './orbital-harness.ts';

const ORBITFED = fileURLToPath(new URL('../../bin/orbitfed.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

interface Started {
  readonly child: ChildProcess;
  readonly cmdline: readonly string[];
  readonly environ: ReadonlyMap<string, string>;
  readonly maps: string;
}

/** Starts the agent, waits until /healthz answers, reads its /proc files, stops it with SIGTERM (or `stopSignal`). */
async function startAndInspect(
  configPath: string, metricsPort: number, options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; stopSignal?: NodeJS.Signals } = {},
): Promise<Started> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ORBITFED, 'orbital-agent', '--config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let inspected: Started;
  try {
    const deadlineMs = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the agent exited while starting:\n${stderr}`);
      if (Date.now() > deadlineMs) throw new Error(`the agent did not answer /healthz in ${START_TIMEOUT_MS} ms:\n${stderr}`);
      const up = await fetch(`http://127.0.0.1:${metricsPort}/healthz`).then((r) => r.status === 200, () => false);
      if (up) break;
      await sleep(20);
    }
    const pid = child.pid!;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
    const environ = new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((entry) => entry.includes('='))
      .map((entry): [string, string] => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    inspected = { child, cmdline, environ, maps };
  } finally {
    child.kill(options.stopSignal ?? 'SIGTERM');
    await exited;
  }
  if (options.stopSignal === 'SIGKILL') return inspected;
  // SIGTERM is a graceful stop: exit code 0.
  if (child.exitCode !== 0) throw new Error(`the agent stopped with exit code ${child.exitCode} (signal ${child.signalCode}):\n${stderr}`);
  return inspected;
}

describe.runIf(existsSync('/proc/self/environ'))('orbitfed orbital-agent: the launcher\'s Node settings', () => {
  let dir = '';
  let configPath = '';
  let metricsPort = 0;
  beforeAll(async () => {
    dir = await scratchDirectory('orbitfed-orbital-launcher-');
    const clock = new RealClock();
    const [agentPort, groundPort] = [await freePort(), await freePort()];
    metricsPort = await freePort();
    writeFileSync(join(dir, 'plan.json'), formatContactPlan(new ContactPlan({ epochMs: clock.now(), nodes: [], contacts: linkContacts(86_400, 90_000) }), 'json'));
    writeFileSync(join(dir, 'node.key'), `${Buffer.from(NODE_SEED).toString('hex')}\n`, { mode: 0o600 });
    configPath = join(dir, 'orbital-agent.json');
    writeFileSync(configPath, JSON.stringify(agentConfigFile(agentPort, groundPort, { storageBytesMax: 16 * 1024 * 1024, logLevel: 'warn', metricsPort })));
  });
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('runs the agent with the memory flags, one malloc arena with fixed thresholds and cbor-x without its native addon', async () => {
    const { environ, cmdline, maps } = await startAndInspect(configPath, metricsPort, { env: { MALLOC_ARENA_MAX: undefined, CBOR_NATIVE_ACCELERATION_DISABLED: undefined } });
    expect(cmdline).toEqual(expect.arrayContaining(['--max-semi-space-size=1', '--no-opt', '--no-maglev', '--optimize-for-size', '--v8-pool-size=1']));
    expect(environ.get('MALLOC_ARENA_MAX')).toBe('1');
    expect([environ.get('MALLOC_MMAP_THRESHOLD_'), environ.get('MALLOC_TRIM_THRESHOLD_'), environ.get('MALLOC_TOP_PAD_')]).toEqual(['131072', '131072', '0']);
    expect(environ.get('CBOR_NATIVE_ACCELERATION_DISABLED')).toBe('true');
    expect(environ.get('NODE_COMPILE_CACHE')).toBeTruthy();
    // No native addon mapped (ARCHITECTURE.md: none on the flight computer): cbor-extract is the one
    // the agent's libraries would otherwise load.
    expect(maps).not.toMatch(/\.node$/m);
  }, START_TIMEOUT_MS * 2);

  it('keeps what the caller chose: its own flags come later and win, its variables stay', async () => {
    const { environ, cmdline } = await startAndInspect(configPath, metricsPort, { env: { MALLOC_ARENA_MAX: '2' }, nodeArgs: ['--max-semi-space-size=4'] });
    expect(environ.get('MALLOC_ARENA_MAX')).toBe('2');
    expect(cmdline.lastIndexOf('--max-semi-space-size=4')).toBeGreaterThan(cmdline.indexOf('--max-semi-space-size=1'));
  }, START_TIMEOUT_MS * 2);

  it('writes its compile cache once started, so that a start after kill -9 finds its modules compiled', async () => {
    const cacheDir = join(dir, 'compile-cache');
    await startAndInspect(configPath, metricsPort, { env: { NODE_COMPILE_CACHE: cacheDir }, stopSignal: 'SIGKILL' });
    // Node keeps one folder per Node version and flag set, with a file per compiled module.
    const entries = readdirSync(cacheDir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(entries.length).toBeGreaterThan(100);
  }, START_TIMEOUT_MS * 2);

  it('loads none of the libraries an agent at rest does not use: prom-client, @noble/curves, TypeBox\'s Value and compiler', async () => {
    // A preloaded hook records every module the agent loads and writes the list when SIGTERM arrives.
    const hook = join(dir, 'record-modules.mjs');
    const listPath = join(dir, 'modules.txt');
    writeFileSync(hook, `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const urls = [];
registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
process.on('SIGTERM', () => writeFileSync(${JSON.stringify(listPath)}, urls.join('\\n')));
`);
    await startAndInspect(configPath, metricsPort, { env: { NODE_OPTIONS: `--import ${hook}` } });
    const loaded = readFileSync(listPath, 'utf8').split('\n');
    expect(loaded.some((url) => url.endsWith('/orbital/orbital-service.ts'))).toBe(true);
    expect(loaded.filter((url) => /\/node_modules\/(prom-client|@noble\/curves|@opentelemetry)\/|\/typebox\/build\/esm\/(value\/(value|check)|compiler|errors)\//.test(url))).toEqual([]);
  }, START_TIMEOUT_MS * 2);

  it('runs the agent as started when ORBITFED_AGENT_NODE_FLAGS=off', async () => {
    const { environ, cmdline } = await startAndInspect(configPath, metricsPort, {
      env: { ORBITFED_AGENT_NODE_FLAGS: 'off', MALLOC_ARENA_MAX: undefined, CBOR_NATIVE_ACCELERATION_DISABLED: undefined },
    });
    expect(cmdline).not.toContain('--no-opt');
    expect(environ.has('MALLOC_ARENA_MAX')).toBe(false);
    expect(environ.has('ORBITFED_AGENT_RELAUNCHED')).toBe(false);
  }, START_TIMEOUT_MS * 2);
});
