// schedules.planRefresh (ground-agent-service.ts, common/cron.ts): the ground agent reads its plan
// file again at each instant of the schedule, on the injected Clock, and routes on the new plan
// only when the file changed, as SIGHUP does. The whole service (libp2p, TCPCLv4, embedded MQTT)
// in this process, driven by a VirtualClock.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { unixMs, VirtualClock } from '../../common/index.ts';
import { ContactPlan, formatContactPlanJson, satelliteIpn, type Contact } from '../../contact-plans/index.ts';
import { GroundAgentService, loadGroundConfig } from '../../ground/index.ts';
import { recordingLogger } from '../orbital/orbital-harness.ts';

const STATIONS = fileURLToPath(new URL('../../samples/stations.yaml', import.meta.url));
const START_MS = unixMs(Date.parse('2026-06-14T10:00:30Z'));
const STATION = 1;
const SATELLITE = satelliteIpn('25544');

const dir = mkdtempSync(join(tmpdir(), 'orbitfed-ground-refresh-'));
let service: GroundAgentService | undefined;
afterAll(async () => {
  await service?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function writePlan(passStartSec: number): void {
  const pass = (from: number, to: number): Contact => ({ from, to, startSec: passStartSec, endSec: passStartSec + 600, rateBytesPerSec: 100_000, owltSec: 0.01, confidence: 1 });
  const plan = new ContactPlan({
    epochMs: START_MS, nodes: [{ ipn: STATION, id: 'SVALBARD', kind: 'ground' }, { ipn: SATELLITE, id: '25544', kind: 'satellite' }],
    contacts: [pass(STATION, SATELLITE), pass(SATELLITE, STATION)],
  });
  writeFileSync(join(dir, 'plan.json'), formatContactPlanJson(plan));
}

describe('the ground agent on a plan refresh schedule', () => {
  it('routes on a changed plan file at the next instant, and leaves an unchanged or malformed one alone', async () => {
    writePlan(3_600);
    writeFileSync(join(dir, 'station.key'), `${'2a'.repeat(32)}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'ground.yaml'), `station: { stationsFile: ${STATIONS}, id: SVALBARD }
plan: { path: plan.json }
identity: { keyFile: station.key }
chainId: orbitfed-test
dataDir: data
terrestrial: { listen: [/ip4/127.0.0.1/tcp/0], peers: [] }
space:
  tcpclv4: { listen: "127.0.0.1:0" }
  satellites: [{ node: ${SATELLITE}, address: "tcpclv4:127.0.0.1:1" }]
mqtt: { embedded: true, port: 0 }
schedules: { planRefresh: "*/15 * * * *" }
`);
    const clock = new VirtualClock(START_MS);
    const logger = recordingLogger();
    service = new GroundAgentService({ config: await loadGroundConfig(join(dir, 'ground.yaml'), {}), clock, logger });
    await service.start();
    const refreshed = (): number => logger.lines.filter((l) => l.fields.event === 'ground.plan-refreshed').length;
    const failed = (): number => logger.lines.filter((l) => l.fields.event === 'cron.run-failed').length;
    const unchanged = (): number => logger.lines.filter((l) => l.fields.event === 'ground.plan-unchanged').length;
    /** Moves to `iso` and waits (real time, bounded) until the plan refresh it starts has read the file. */
    const reach = async (iso: string, expected: () => void): Promise<void> => {
      clock.advanceTo(unixMs(Date.parse(iso)));
      await vi.waitFor(expected, { timeout: 10_000, interval: 5 });
    };

    // 10:15: the file is as it was at the start: nothing to do.
    const readsBefore = logger.lines.length;
    await reach('2026-06-14T10:15:00Z', () => expect(unchanged()).toBe(1));
    expect(refreshed()).toBe(0);
    expect(logger.lines.slice(readsBefore).some((l) => l.fields.event === 'cron.run-failed')).toBe(false);

    // The operator writes a new plan (the pass an hour later): routed on at 10:30, once.
    writePlan(7_200);
    await reach('2026-06-14T10:30:00Z', () => expect(refreshed()).toBe(1));
    // (Each run is waited for: a run still reading the file when the next instant comes skips it.)
    await reach('2026-06-14T10:45:00Z', () => expect(unchanged()).toBe(2));
    expect(refreshed()).toBe(1);
    expect(await service.refreshPlan()).toBe('unchanged');

    // A half-written file: the refresh fails (logged, naming the file), the plan in use stays.
    writeFileSync(join(dir, 'plan.json'), '{"contacts": [');
    await reach('2026-06-14T11:00:00Z', () => expect(failed()).toBe(1));
    expect(logger.lines.find((l) => l.fields.event === 'cron.run-failed')!.fields).toMatchObject({ job: 'plan-refresh', error: expect.stringContaining('plan.json') });
    expect(refreshed()).toBe(1);
  });
});
