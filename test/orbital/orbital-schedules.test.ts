// The orbital agent's periodic work on cron schedules (orbital-service.ts, common/cron.ts): the
// whole service wired from a configuration file, driven by a VirtualClock.
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { unixMs, VirtualClock } from '../../common/index.ts';
import { ContactPlan } from '../../contact-plans/index.ts';
import { OrbitalService } from '../../orbital/index.ts';
import { NODE_SEED } from './assignment-fixtures.ts';
import { agentConfigFile, freePort, linkContacts, planText, recordingLogger, scratchDirectory } from './orbital-harness.ts';

const START_MS = unixMs(Date.parse('2026-06-14T10:00:30Z'));
/** Waits (real time, bounded) until the job's run `runs` has finished: file reads and /proc are real I/O. */
const finished = (runs: number): Promise<void> =>
  vi.waitFor(() => expect(service!.scheduleStats()[0]).toMatchObject({ runs, running: false }), { timeout: 10_000, interval: 5 });

let dir = '';
let service: OrbitalService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

async function startService(schedules: Record<string, string>): Promise<{ clock: VirtualClock; lines: ReturnType<typeof recordingLogger>['lines'] }> {
  dir = await scratchDirectory('orbitfed-orbital-schedules-');
  writeFileSync(join(dir, 'plan.json'), planText(new ContactPlan({ epochMs: START_MS - 1_000, nodes: [], contacts: linkContacts(0, 86_400) })));
  writeFileSync(join(dir, 'node.key'), `${Buffer.from(NODE_SEED).toString('hex')}\n`, { mode: 0o600 });
  const config = agentConfigFile(await freePort(), await freePort(), { heartbeatPeriodMs: 0, schedules });
  const configPath = join(dir, 'orbital-agent.json');
  writeFileSync(configPath, JSON.stringify(config));
  const clock = new VirtualClock(START_MS);
  const logger = recordingLogger();
  service = new OrbitalService({ configPath, clock, logger });
  await service.start();
  return { clock, lines: logger.lines };
}

const events = (lines: readonly { fields: Record<string, unknown> }[], event: string): number => lines.filter((l) => l.fields.event === event).length;

describe('the orbital agent on cron schedules', () => {
  it('reads the plan file again at each planRefresh instant and applies it only when it changed', async () => {
    const { clock, lines } = await startService({ planRefresh: '*/10 * * * *', storeCompaction: 'off' });
    expect(service!.scheduleStats().map((s) => [s.name, s.nextMs])).toEqual([['plan-refresh', Date.parse('2026-06-14T10:10:00Z')]]);
    clock.advanceTo(unixMs(Date.parse('2026-06-14T10:10:00Z')));
    await finished(1);
    expect(events(lines, 'orbital.plan-refreshed')).toBe(0);

    // A new plan file (an operator's `orbitfed plan` run): the next instant applies it, once.
    writeFileSync(join(dir, 'plan.json'), planText(new ContactPlan({ epochMs: START_MS - 1_000, nodes: [], contacts: linkContacts(60, 86_400) })));
    clock.advanceTo(unixMs(Date.parse('2026-06-14T10:20:00Z')));
    await finished(2);
    expect(events(lines, 'orbital.plan-refreshed')).toBe(1);
    expect(lines.some((l) => l.fields.event === 'agent.plan-replaced')).toBe(true);
    clock.advanceTo(unixMs(Date.parse('2026-06-14T10:30:00Z')));
    await finished(3);
    expect(events(lines, 'orbital.plan-refreshed')).toBe(1);
    expect(await service!.refreshPlan()).toBe('unchanged');
  });

  it('keeps the plan in use when the plan file has become malformed, and logs why', async () => {
    const { clock, lines } = await startService({ planRefresh: '*/10 * * * *', storeCompaction: 'off' });
    writeFileSync(join(dir, 'plan.json'), '{"contacts": [{"from": "nonsense"');
    clock.advanceTo(unixMs(Date.parse('2026-06-14T10:10:00Z')));
    await finished(1);
    expect(events(lines, 'orbital.plan-refreshed')).toBe(0);
    const failed = lines.filter((l) => l.fields.event === 'cron.run-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.fields).toMatchObject({ job: 'plan-refresh', error: expect.stringContaining('plan.json') });
    expect(service!.scheduleStats()[0]).toMatchObject({ runs: 1, failures: 1 });
    expect(service!.agent!.status().waiting).toBe(0);
  });

  it('sends housekeeping telemetry at each instant of its schedule', async () => {
    const { clock } = await startService({ telemetry: '*/20 * * * * *', planRefresh: 'off', storeCompaction: 'off' });
    const before = service!.agent!.status().storedBundles;
    // 10:00:40, 10:01:00, 10:01:20, 10:01:40, 10:02:00: five telemetry bundles waiting for the contact.
    // (Each reading of /proc is real I/O: the clock moves on once it is done, as real time would.)
    for (const [i, instant] of ['10:00:40', '10:01:00', '10:01:20', '10:01:40', '10:02:00'].entries()) {
      clock.advanceTo(unixMs(Date.parse(`2026-06-14T${instant}Z`)));
      await finished(i + 1);
    }
    expect(service!.scheduleStats()[0]).toMatchObject({ name: 'telemetry', runs: 5, failures: 0, overlapsSkipped: 0 });
    expect(service!.agent!.status().storedBundles - before).toBe(5);
  });

  it('compacts the assignment store at each storeCompaction instant', async () => {
    const { clock, lines } = await startService({ planRefresh: 'off', storeCompaction: '7 * * * *' });
    clock.advanceTo(unixMs(Date.parse('2026-06-14T12:00:00Z')));
    await finished(2);
    const compacted = lines.filter((l) => l.fields.event === 'orbital.store-compacted');
    expect(compacted).toHaveLength(2);
    expect(compacted[0]!.fields).toMatchObject({ walPagesCheckpointed: expect.any(Number), freePages: expect.any(Number), fileBytes: expect.any(Number) });
  });
});
