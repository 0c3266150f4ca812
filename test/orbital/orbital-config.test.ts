// The orbital agent's configuration file: the sample loads with its defaults applied, and every
// mistake an operator can make is refused naming the file and the field.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrbitalConfig } from '../../orbital/index.ts';
import { scratchDirectory } from './orbital-harness.ts';

const SAMPLE_DIR = fileURLToPath(new URL('../../samples/orbital-agent/', import.meta.url));
const SAMPLE = readFileSync(join(SAMPLE_DIR, 'orbital-agent.yaml'), 'utf8');

let dir = '';
afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

async function configWith(text: string): Promise<string> {
  dir = await scratchDirectory('orbitfed-orbital-config-');
  copyFileSync(join(SAMPLE_DIR, 'plan.json'), join(dir, 'plan.json'));
  writeFileSync(join(dir, 'node.key'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  const path = join(dir, 'orbital-agent.yaml');
  writeFileSync(path, text);
  return path;
}

async function failure(text: string): Promise<{ code: string; message: string }> {
  const path = await configWith(text);
  try {
    await loadOrbitalConfig(path);
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error('the configuration loaded');
}

describe('the orbital agent configuration', () => {
  it('loads the sample, resolving paths against the file and splitting the storage bound', async () => {
    const config = await loadOrbitalConfig(await configWith(SAMPLE));
    expect(config).toMatchObject({
      nodeId: 'sat-1', ipnNumber: 1001, keyEpoch: 0, planFile: join(dir, 'plan.json'), dataDir: '/tmp/orbitfed-sat-1',
      storage: { bundleStoreBytes: 192 * 1024 * 1024, inputBytesMax: 32 * 1024 * 1024, outboxResultBytesMax: 32 * 1024 * 1024, bundlesMax: 10_000 },
      runtime: { kind: 'process', cgroups: 'auto', cgroupParent: 'orbitfed/orbitfed-sat-1', dockerOwner: 'orbitfed-sat-1' },
      limits: { concurrentJobs: 1, resultBytesMax: 4 * 1024 * 1024 },
      receiptValidityMs: 6 * 86_400_000,
    });
    expect(Buffer.from(config.nodeSeed).toString('hex')).toBe('ab'.repeat(32));
  });

  it('names its Docker containers after its node unless told, so agents on one host do not remove each other\'s', async () => {
    const configured = await loadOrbitalConfig(await configWith(`${SAMPLE.replace(/^runtime:.*(\n {2}.*)*\n/m, '')}\nruntime:\n  kind: docker\n  dockerOwner: flight-a.1\n`));
    expect(configured.runtime).toMatchObject({ kind: 'docker', dockerOwner: 'flight-a.1' });
    const upper = await loadOrbitalConfig(await configWith(SAMPLE.replace('nodeId: sat-1', 'nodeId: SAT-1')));
    expect(upper.runtime.dockerOwner).toMatch(/^orbitfed-sat-1-[0-9a-f]{8}$/);
    const refused = await failure(`${SAMPLE.replace(/^runtime:.*(\n {2}.*)*\n/m, '')}\nruntime:\n  kind: docker\n  dockerOwner: "Flight A"\n`);
    expect(refused).toMatchObject({ code: 'ORBITFED_CONFIG_INVALID', message: expect.stringMatching(/runtime\/dockerOwner.*"Flight A" is not a Docker owner/) });
  });

  it('refuses unknown options, naming them with their line', async () => {
    const { code, message } = await failure(`${SAMPLE}\nmaxJobs: 3\n`);
    expect(code).toBe('ORBITFED_CONFIG_INVALID');
    expect(message).toMatch(/orbital-agent\.yaml:\d+/);
    expect(message).toMatch(/maxJobs/);
  });

  it('refuses a scheduler key that is not a usable public key, and endpoints on the wrong service', async () => {
    expect(await failure(SAMPLE.replace(/schedulerPublicKey: .*/, `schedulerPublicKey: "${'0'.repeat(64)}"`))).toMatchObject({ code: 'ORBITFED_CONFIG_INVALID', message: expect.stringMatching(/schedulerPublicKey.*small-order/) });
    expect(await failure(SAMPLE.replace('receiptsTo: ipn:10.4', 'receiptsTo: ipn:10.2'))).toMatchObject({ message: expect.stringMatching(/endpoints\.receiptsTo: ipn:10\.2 is not service 4/) });
  });

  it('refuses peers on a convergence layer that is not configured, and results larger than their share of storage', async () => {
    expect(await failure(SAMPLE.replace('  mtcp: {}                        # outbound only (no acknowledgement: see dtn/README.md)\n', '').replace('cl: tcpclv4', 'cl: mtcp'))).toMatchObject({ message: expect.stringMatching(/peers\/0\/cl: mtcp is not in convergenceLayers/) });
    expect(await failure(SAMPLE.replace('storageBytesMax: 268435456', 'storageBytesMax: 16777216'))).toMatchObject({ message: expect.stringMatching(/limits\/resultBytesMax: 4194304 is more than 1\/8 of storageBytesMax/) });
  });

  it('refuses a missing or malformed key file, naming it', async () => {
    const path = await configWith(SAMPLE.replace('keyFile: node.key', 'keyFile: missing.key'));
    await expect(loadOrbitalConfig(path)).rejects.toMatchObject({ code: 'ORBITFED_KEY_FILE' });
    writeFileSync(join(dir, 'missing.key'), 'not hex\n');
    await expect(loadOrbitalConfig(path)).rejects.toMatchObject({ code: 'ORBITFED_KEY_FILE', message: expect.stringMatching(/missing\.key/) });
  });

  it('schedules plan refresh every 10 minutes and store compaction hourly by default, telemetry by its period (UTC cron)', async () => {
    const config = await loadOrbitalConfig(await configWith(SAMPLE));
    expect(config.schedules.planRefresh?.expression).toBe('*/10 * * * *');
    expect(config.schedules.storeCompaction?.expression).toBe('7 * * * *');
    expect(config.schedules.telemetry).toBeUndefined();
    expect(config.telemetryPeriodMs).toBe(60_000);
    expect(new Date(config.schedules.storeCompaction!.nextAfterMs(Date.parse('2026-06-14T10:30:00Z'))).toISOString()).toBe('2026-06-14T11:07:00.000Z');
  });

  it('takes telemetry on a cron schedule instead of its period, and "off" for the other schedules', async () => {
    const text = `${SAMPLE.replace(/^telemetryPeriodMs: .*\n/m, '')}\nschedules:\n  telemetry: "*/30 * * * * *"\n  planRefresh: "off"\n  storeCompaction: "0 3 * * *"\n`;
    const config = await loadOrbitalConfig(await configWith(text));
    expect(config.telemetryPeriodMs).toBe(0);
    expect(config.schedules.telemetry?.expression).toBe('*/30 * * * * *');
    expect(config.schedules.planRefresh).toBeUndefined();
    expect(config.schedules.storeCompaction?.expression).toBe('0 3 * * *');
  });

  it('refuses a schedule that is not a cron expression, naming the file and the field', async () => {
    const { code, message } = await failure(`${SAMPLE}\nschedules:\n  storeCompaction: "every hour"\n`);
    expect(code).toBe('ORBITFED_CONFIG_INVALID');
    expect(message).toMatch(/orbital-agent\.yaml: schedules\/storeCompaction: 'every hour' is not a cron expression: .*expected 5 or 6 fields but got 2/);
    expect(await failure(`${SAMPLE}\nschedules:\n  planRefresh: "0 25 * * *"\n`)).toMatchObject({ message: expect.stringMatching(/schedules\/planRefresh: '0 25 \* \* \*' is not a cron expression: hour '25'/) });
    expect(await failure(`${SAMPLE}\nschedules:\n  telemetry: "off"\n`)).toMatchObject({ message: expect.stringMatching(/schedules\/telemetry/) });
    expect(await failure(`${SAMPLE}\nschedules:\n  telemetry: "* * * * *"\n`)).toMatchObject({ message: expect.stringMatching(/schedules\/telemetry: set either schedules\/telemetry or telemetryPeriodMs, not both/) });
    expect(await failure(`${SAMPLE}\nschedules:\n  compaction: "* * * * *"\n`)).toMatchObject({ code: 'ORBITFED_CONFIG_INVALID', message: expect.stringMatching(/compaction/) });
  });
});
