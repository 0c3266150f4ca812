// Issue 8: the orbital agent keeps working for ≥ 72 h without any contact. In virtual time, with
// dtn's SimulatedNetwork carrying bundles only in the plan's windows: assignments go up in a first
// uplink window; the satellite then sees no downlink for 72 h while its jobs finish and telemetry
// accumulates; its bundle store fills to its bound and never past it, telemetry expires and what
// does not fit is dropped, results that find no room wait in the outbox (oldest dropped first when
// that overflows too); when the downlink opens, the queued reports, results and receipts go out.
// Real bundle agents, stores, codec and routing; the real process runtime and housekeeping reader
// (the jobs run in real time while virtual time stands still).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContactPlan, type Contact } from '../../contact-plans/index.ts';
import { ed25519Signer, RECEIPT_VALIDITY_MS_MAX, verifyReceipt } from '../../consensus/index.ts';
import { BundleAgent, SimulatedNetwork, simulatedPeerAddress } from '../../dtn/index.ts';
import { HousekeepingReader, OrbitalAgent, type OrbitalAgentSettings } from '../../orbital/index.ts';
import { ProcessRuntime } from '../../runtime/index.ts';
import { encodeJobAssignment, SERVICE_NUMBERS, signJobAssignment, verifyJobResult } from '../../scheduler/index.ts';
import { SimulationClock } from '../../hil/index.ts';
import { assignmentOf, CHAIN_ID, HOUR_MS, NODE_PUBLIC_KEY, NODE_SEED, SCHEDULER_SEED, T0_MS } from './assignment-fixtures.ts';
import { GroundRecord, GROUND, orbitalSettings, recordingLogger, SATELLITE, scratchDirectory } from './orbital-harness.ts';

const RATE_BYTES_PER_SEC = 100_000;
const GAP_MS = 72 * HOUR_MS;

interface Scenario {
  readonly clock: SimulationClock;
  readonly record: GroundRecord;
  readonly orbital: OrbitalAgent;
  readonly bundles: BundleAgent;
  readonly ground: BundleAgent;
  readonly logger: ReturnType<typeof recordingLogger>;
  readonly dir: string;
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

/** Uplink (ground → satellite) over the first 10 min; downlink (satellite → ground) only from 72 h on, for 10 min. */
function gapPlan(): ContactPlan {
  const contact = (from: number, to: number, startSec: number): Contact => ({ from, to, startSec, endSec: startSec + 600, rateBytesPerSec: RATE_BYTES_PER_SEC, owltSec: 0.01, confidence: 1 });
  return new ContactPlan({ epochMs: T0_MS, nodes: [], contacts: [contact(GROUND, SATELLITE, 0), contact(SATELLITE, GROUND, GAP_MS / 1000)] });
}

async function scenario(capacityBytes: number, settings: Partial<OrbitalAgentSettings>): Promise<Scenario> {
  const dir = await scratchDirectory('orbitfed-no-contact-');
  const clock = new SimulationClock(T0_MS);
  const plan = gapPlan();
  const network = new SimulatedNetwork({ clock });
  network.addContactPlan(plan, T0_MS);
  const peers = (node: number) => new Map([[node, simulatedPeerAddress(node)]]);
  const ground = new BundleAgent({
    nodeNumber: GROUND, storePath: join(dir, 'ground.db'), store: { capacityBytes: 256 * 1024 * 1024, capacityBundles: 100_000 }, plan,
    peers: peers(SATELLITE), convergenceLayers: [network.convergenceLayer(GROUND)], clock,
  });
  const record = new GroundRecord();
  record.register(ground);
  await ground.start();
  const bundles = new BundleAgent({
    nodeNumber: SATELLITE, storePath: join(dir, 'bundles.db'), store: { capacityBytes, capacityBundles: 10_000 }, plan,
    peers: peers(GROUND), convergenceLayers: [network.convergenceLayer(SATELLITE)], clock,
    log: (event, fields) => { if (event === 'agent.error') console.log(event, fields); },
  });
  const logger = recordingLogger();
  const orbital = new OrbitalAgent(orbitalSettings(dir, { bundleStoreBytes: capacityBytes, bundleLifetimeMs: 7 * 24 * HOUR_MS, ...settings }), {
    clock, bundles, runtime: new ProcessRuntime({ clock, cgroups: 'off' }), signer: ed25519Signer(NODE_SEED), logger,
    housekeeping: new HousekeepingReader({ clock, diskPaths: [dir] }),
  });
  await orbital.start();
  cleanup = async () => {
    await orbital.stop();
    await ground.stop();
    await rm(dir, { recursive: true, force: true });
  };
  return { clock, record, orbital, bundles, ground, logger, dir };
}

/** Sends `count` assignments whose jobs print `resultBytes` bytes, from the ground at time 0. */
function sendJobs(s: Scenario, count: number, resultBytes: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const assignmentId = `job-${i}.1`;
    ids.push(assignmentId);
    const assignment = assignmentOf({
      assignmentId, jobId: `job-${i}`, ledgerJobId: assignmentId, issuedAtMs: T0_MS, notAfterMs: T0_MS + HOUR_MS, deadlineMs: T0_MS + 80 * HOUR_MS,
      workload: { ...assignmentOf().workload, command: ['/bin/sh', '-c', `head -c ${resultBytes} /dev/zero | tr '\\0' '${String.fromCharCode(97 + i)}'`], timeoutMs: 60_000 },
    });
    s.ground.send({ destination: `ipn:${SATELLITE}.${SERVICE_NUMBERS.assignments}`, payload: encodeJobAssignment(signJobAssignment(assignment, SCHEDULER_SEED)), lifetimeMs: 2 * HOUR_MS });
  }
  return ids;
}

/**
 * Lets the uplink carry the assignments (virtual time in 1 ms steps until the ground forwarded them
 * all), then waits in real time, virtual time standing still, until the jobs ended: a workload runs
 * in real time, and virtual time racing ahead meanwhile would time it out.
 */
async function runJobs(s: Scenario, count: number): Promise<void> {
  while (s.ground.metrics().bundlesForwarded < count) await s.clock.runUntil(s.clock.now() + 1);
  const deadline = Date.now() + 30_000;
  while (s.orbital.status().finished < count) {
    if (Date.now() > deadline) throw new Error(`jobs did not finish: ${JSON.stringify(s.orbital.status())}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await s.clock.runUntil(s.clock.now());
  }
}

/** Advances virtual time to `untilMs` in steps, checking the store's bound at every step. */
async function advance(s: Scenario, untilMs: number, stepMs: number, capacityBytes: number, outboxResultBytesMax: number): Promise<number> {
  let peakBytes = 0;
  while (s.clock.now() < untilMs) {
    await s.clock.runUntil(Math.min(untilMs, s.clock.now() + stepMs));
    // Telemetry reads /proc through the thread pool: give it a real moment, as a flight computer would.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const status = s.orbital.status();
    peakBytes = Math.max(peakBytes, status.storedBytes);
    expect(status.storedBytes).toBeLessThanOrEqual(capacityBytes);
    expect(status.outboxResultBytes).toBeLessThanOrEqual(outboxResultBytesMax);
  }
  return peakBytes;
}

describe('72 hours without contact, in virtual time', () => {
  it('queues reports, results and receipts in a bounded store, expires telemetry, and sends everything that waited when the downlink opens', async () => {
    const capacityBytes = 160 * 1024;
    const outboxResultBytesMax = 64 * 1024;
    const s = await scenario(capacityBytes, { telemetryPeriodMs: 600_000, telemetryLifetimeMs: 48 * HOUR_MS, storeLimits: { outboxResultBytesMax } });
    console.log('no-contact scenario: deterministic plan, uplink 0–10 min, downlink from 72 h; no random seed');
    const ids = sendJobs(s, 3, 20_000);
    await runJobs(s, 3);
    expect(s.record.reports).toHaveLength(0);

    const peakBytes = await advance(s, T0_MS + GAP_MS - 1_000, 600_000, capacityBytes, outboxResultBytesMax);
    // Nothing came down during the gap; the store reached its bound and stayed within it.
    expect(s.record.reports).toHaveLength(0);
    expect(peakBytes).toBeGreaterThan(capacityBytes * 0.8);
    const metrics = s.bundles.metrics();
    expect(metrics.bundlesExpired).toBeGreaterThan(0);
    expect(s.logger.lines.filter((l) => l.fields.event === 'orbital.telemetry-dropped').length).toBeGreaterThan(0);

    await advance(s, T0_MS + GAP_MS + 600_000, 10_000, capacityBytes, outboxResultBytesMax);
    for (const id of ids) {
      expect(s.record.reportsOf(id).map((r) => r.kind), id).toEqual(['accepted', 'started', 'finished']);
      expect(s.record.finished(id)?.finished?.outcome).toBe('succeeded');
    }
    expect(s.record.results.map((r) => r.result.assignmentId).sort()).toEqual(ids);
    expect(s.record.results.every((r) => verifyJobResult(r, NODE_PUBLIC_KEY) && r.result.bytes.length === 20_000)).toBe(true);
    expect(s.record.receipts).toHaveLength(3);
    const context = {
      chainId: CHAIN_ID, blockTimeMs: s.clock.now(), graceMs: 600_000, clockSkewMsMax: 300_000, validityMsMax: RECEIPT_VALIDITY_MS_MAX,
      keyOf: () => ({ kind: 'key' as const, publicKey: NODE_PUBLIC_KEY }),
    };
    expect(s.record.receipts.map((r) => verifyReceipt(r, context).ok)).toEqual([true, true, true]);
    // Telemetry that arrived is what had not expired: from the last 48 h of the gap.
    expect(s.record.telemetry.length).toBeGreaterThan(0);
    expect(Math.min(...s.record.telemetry.map((t) => t.atMs))).toBeGreaterThanOrEqual(T0_MS + GAP_MS - 48 * HOUR_MS - 600_000);
    expect(s.orbital.status().outboxMessages).toBe(0);
  }, 120_000);

  it('holds results that find no room in the outbox, drops the oldest first when that is full too, and still delivers every report and receipt', async () => {
    const capacityBytes = 64 * 1024;
    const outboxResultBytesMax = 30 * 1024;
    const s = await scenario(capacityBytes, { storeLimits: { outboxResultBytesMax }, limits: { ...orbitalSettings('').limits, concurrentJobs: 1 } });
    const ids = sendJobs(s, 8, 12_000);
    await runJobs(s, 8);
    const dropped = s.logger.lines.filter((l) => l.fields.event === 'orbital.result-dropped').map((l) => l.fields.assignmentId);

    // Four results fit the bundle store beside its reserve; of the four after them, the outbox keeps the newest two.
    expect(dropped).toEqual(['job-4.1', 'job-5.1']);
    await advance(s, T0_MS + GAP_MS + 600_000, 600_000, capacityBytes, outboxResultBytesMax);
    expect(s.record.results.map((r) => r.result.assignmentId).sort()).toEqual(ids.filter((id) => !dropped.includes(id)));
    for (const id of ids) expect(s.record.finished(id)?.finished?.outcome, id).toBe('succeeded');
    expect(s.record.receipts.map((r) => r.receipt.jobId).sort()).toEqual(ids);
    expect(s.orbital.status().outboxMessages).toBe(0);
  }, 120_000);
});
