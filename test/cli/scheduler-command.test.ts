// `orbitfed scheduler` as an operator runs it: a configuration file, a contact plan and a nodes
// file; the API answers over real HTTP on a free port; Ctrl-C (here: the abort signal) stops it;
// a restart on the same files finds every job again.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { ContactPlan, formatContactPlan } from '../../contact-plans/index.ts';
import { Type } from '@sinclair/typebox';
import { loadConfigFile } from '../../common/index.ts';
import { apiKeySha256, loadSchedulerConfig, newApiKey, nodeSpecRuleProblems, NodeSpecSchema } from '../../scheduler/index.ts';
import { TEST_NODES, testPlan } from '../scheduler/api-harness.ts';
import { jobSpec, scratchDirectory } from '../scheduler/job-fixtures.ts';
import { runCli } from './run-cli.ts';

const scratch = scratchDirectory('scheduler-cli');
afterAll(() => scratch.remove());

const HOUR_MS = 3_600_000;
const epochMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;

function writeFiles(configOverrides = ''): string {
  const plan = new ContactPlan({ ...testPlan().toData(), epochMs });
  writeFileSync(join(scratch.path, 'plan.json'), formatContactPlan(plan, 'json'));
  writeFileSync(join(scratch.path, 'nodes.json'), JSON.stringify(TEST_NODES));
  const config = join(scratch.path, 'scheduler.yaml');
  writeFileSync(config, `# test configuration
listen: { host: 127.0.0.1, port: 0 }
storePath: data/jobs.db
plan: { path: plan.json }
nodesFile: nodes.json
ledger:
  chainId: orbitfed-test
  genesis: [{ tenant: acme, currency: EUR, amountMinor: "1000000" }]
tenants:
  - { id: acme, roles: [jobs], apiKeyEnv: ORBITFED_TEST_ACME_KEY }
log: { level: silent }
${configOverrides}`);
  return config;
}

interface Running {
  readonly done: Promise<number>;
  readonly stop: () => void;
  stderr(): string;
}

function start(args: readonly string[]): Running {
  const controller = new AbortController();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  return { done: main(args, { stdout, stderr, signal: controller.signal }), stop: () => controller.abort(), stderr: () => err };
}

async function address(running: Running): Promise<string> {
  for (let waited = 0; waited < 30_000; waited += 10) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(running.stderr());
    if (match !== null) return match[1]!;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the scheduler did not start: ${running.stderr()}`);
}

describe('orbitfed scheduler', () => {
  it('prints its help, and a new API key with its digest', async () => {
    const help = await runCli(['scheduler', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('orbitfed scheduler --config FILE');
    const keygen = await runCli(['scheduler', 'keygen']);
    expect(keygen.code).toBe(0);
    const { apiKey, apiKeySha256: digest } = JSON.parse(keygen.stdout) as { apiKey: string; apiKeySha256: string };
    expect(apiKey).toMatch(/^ofk_/);
    expect(digest).toBe(apiKeySha256(apiKey));
  });

  it('accepts the sample configuration (samples/scheduler.yaml), keys from the environment', async () => {
    const path = fileURLToPath(new URL('../../samples/scheduler.yaml', import.meta.url));
    const tenantKey = newApiKey();
    const config = await loadSchedulerConfig(path, { ORBITFED_TENANT_KEY: tenantKey, ORBITFED_OPERATOR_KEY: newApiKey() });
    expect(config.tenants.map((t) => t.id)).toEqual(['acme-earth', 'ksat-ops']);
    expect(config.tenants[0]!.apiKeySha256).toBe(apiKeySha256(tenantKey));
    expect(config.planPath).toBe(fileURLToPath(new URL('../../samples/scheduler-plan.json', import.meta.url)));
    await expect(loadSchedulerConfig(path, {})).rejects.toMatchObject({ code: 'ORBITFED_CONFIG_SECRET' });
    const nodes = await loadConfigFile(config.nodesPath!, Type.Array(NodeSpecSchema), 'nodes file');
    expect(nodes).toHaveLength(10);
    for (const node of nodes) expect(nodeSpecRuleProblems(node)).toEqual([]);
  });

  it('refuses to start without a configuration, or with a wrong one, naming file, line and field', async () => {
    const none = await runCli(['scheduler']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--config FILE is required');
    const config = writeFiles('colour: blue\n');
    const wrong = await runCli(['scheduler', '--config', config]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/scheduler\.yaml:\d+: .*\[ORBITFED_CONFIG_INVALID\]/);
    delete process.env.ORBITFED_TEST_ACME_KEY;
    const noKey = await runCli(['scheduler', '--config', writeFiles()]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('ORBITFED_TEST_ACME_KEY is not set');
  });

  it('serves the API over HTTP, stops cleanly, and keeps the jobs across a restart', async () => {
    const config = writeFiles();
    const key = JSON.parse((await runCli(['scheduler', 'keygen'])).stdout).apiKey as string;
    process.env.ORBITFED_TEST_ACME_KEY = key;
    const first = start(['scheduler', '--config', config]);
    const base = await address(first);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const spec = jobSpec({ input: { sizeBytes: 1000, location: 'gs-munich' }, orbital: 'required', deadlineMs: epochMs + 12 * HOUR_MS });
    const created = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(spec) });
    expect(created.status, await created.clone().text()).toBe(201);
    const job = await created.json() as { id: string; placement: { nodeId: string } };
    expect(['sat-a', 'sat-b']).toContain(job.placement.nodeId);
    first.stop();
    expect(await first.done).toBe(0);
    expect(first.stderr()).toContain('orbitfed scheduler: stopped');

    const second = start(['scheduler', '--config', config]);
    const again = await address(second);
    const read = await fetch(`${again}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${key}` } });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: job.id, state: 'placed', placement: { nodeId: job.placement.nodeId } });

    // SIGHUP: the plan file is read again and the placed job re-planned on it.
    const before = (await (await fetch(`${again}/healthz`)).json() as { planHash: string }).planHash;
    const extra = { from: 11, to: 100, startSec: 1800, endSec: 2400, rateBytesPerSec: 1_000_000, owltSec: 0.003, confidence: 1 };
    writeFileSync(join(scratch.path, 'plan.json'), formatContactPlan(new ContactPlan({ ...testPlan([extra, { ...extra, from: 100, to: 11 }]).toData(), epochMs }), 'json'));
    process.kill(process.pid, 'SIGHUP');
    for (let waited = 0; !second.stderr().includes('contact plan reloaded') && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    const after = (await (await fetch(`${again}/healthz`)).json() as { planHash: string }).planHash;
    expect(after).not.toBe(before);
    const replanned = await (await fetch(`${again}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${key}` } })).json() as { attempt: number; placement: { planHash: string } };
    expect(replanned).toMatchObject({ attempt: 2, placement: { planHash: after } });
    second.stop();
    expect(await second.done).toBe(0);
  });
});
