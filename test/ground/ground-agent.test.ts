// The ground-station agent (ground/ground-agent.ts) in one process and virtual time: its bundle
// agent bridges the terrestrial overlay (an always-on link to the scheduler's node) and the
// satellite link (open only during the plan's passes), through dtn's SimulatedNetwork; then its
// MQTT side against a real embedded broker (aedes) while the clock runs through a real pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/index.ts';
import { ContactPlan, loadElementFile, loadStationsFile, type Contact, type Station } from '../../contact-plans/index.ts';
import { BundleAgent, SimulatedNetwork, simulatedPeerAddress, type PeerAddress } from '../../dtn/index.ts';
import {
  BlackoutForwarder, computePassSchedule, EmbeddedMqttBroker, GroundAgent, GroundMqttClient, PassPublisher, prepareSatellites, stationTopics,
  type PassEventPayload, type StatusPayload,
} from '../../ground/index.ts';
import { encodeJobResult, encodeTelemetryPayload, SERVICE_NUMBERS, signJobResult, withOverlayContacts } from '../../scheduler/index.ts';
import { SimulationClock } from '../../hil/index.ts';
import { publishRaw, Recorder } from './brokers.ts';

const T0_MS = Date.UTC(2026, 5, 14);
const STATION = 11;
const SATELLITE = 100;
const SCHEDULER = 900;
const APP = 9;
const NODE_SEED = new Uint8Array(32).fill(5);
const sample = (path: string): string => fileURLToPath(new URL(`../../samples/${path}`, import.meta.url));

const MUNICH: Station = {
  id: 'MUNICH', name: 'Munich', latitudeDeg: 48.1, longitudeDeg: 11.6, altitudeM: 500, minElevationDeg: 10, horizonMask: undefined, country: 'DE',
  uplinkRateBytesPerSec: 100_000, downlinkRateBytesPerSec: 1_000_000, operator: 'dlr',
};

/** Two passes of satellite 100 over station 11: 1:00–1:10 and 2:30–2:40. */
function passPlan(): ContactPlan {
  const pass = (startSec: number, endSec: number): Contact[] => [
    { from: STATION, to: SATELLITE, startSec, endSec, rateBytesPerSec: 100_000, owltSec: 0.003, confidence: 1 },
    { from: SATELLITE, to: STATION, startSec, endSec, rateBytesPerSec: 1_000_000, owltSec: 0.003, confidence: 1 },
  ];
  return new ContactPlan({
    epochMs: T0_MS,
    nodes: [{ ipn: STATION, id: 'MUNICH', kind: 'ground' }, { ipn: SATELLITE, id: '90001', kind: 'satellite' }],
    contacts: [...pass(3600, 4200), ...pass(9000, 9600)],
  });
}

interface Received {
  readonly node: number;
  readonly atMs: number;
  readonly payload: Uint8Array;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bridgeWorld(options: { mqtt?: GroundMqttClient; passPublisher?: PassPublisher; blackouts?: BlackoutForwarder; station?: Station; clock?: SimulationClock } = {}) {
  const clock = options.clock ?? new SimulationClock(T0_MS);
  const dir = mkdtempSync(join(tmpdir(), 'orbitfed-ground-agent-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const base = passPlan();
  const overlay = [{ node: SCHEDULER, rateBytesPerSec: 12_500_000, id: 'scheduler' }];
  const network = new SimulatedNetwork({ clock });
  network.addContactPlan(withOverlayContacts(base, STATION, overlay), T0_MS);
  const peers = new Map<number, PeerAddress>([STATION, SATELLITE, SCHEDULER].map((n) => [n, simulatedPeerAddress(n)]));
  const received: Received[] = [];
  const agentFor = (node: number, plan: ContactPlan): BundleAgent => new BundleAgent({
    nodeNumber: node, storePath: join(dir, `node-${node}.db`), store: { capacityBytes: 64 << 20, capacityBundles: 10_000 }, plan, peers,
    convergenceLayers: [network.convergenceLayer(node)], clock,
  });
  // Every node routes on the same contacts: the passes plus the station's overlay link.
  const everyone = withOverlayContacts(base, SCHEDULER, [{ node: STATION, rateBytesPerSec: 12_500_000 }]);
  const satellite = agentFor(SATELLITE, everyone);
  const scheduler = agentFor(SCHEDULER, everyone);
  for (const agent of [satellite, scheduler]) {
    await agent.start();
    cleanups.push(() => agent.stop());
    const node = Number(agent.nodeId.nodeNumber);
    agent.register(APP, (d) => void received.push({ node, atMs: clock.now(), payload: d.payload }));
  }
  scheduler.register(SERVICE_NUMBERS.results, (d) => void received.push({ node: SCHEDULER, atMs: clock.now(), payload: d.payload }));
  const ground = new GroundAgent({
    station: options.station ?? MUNICH, stationIpn: STATION, agent: agentFor(STATION, withOverlayContacts(base, STATION, overlay, 'MUNICH')), overlay, clock,
    logger: silentLogger(), resultsDir: join(dir, 'results'), mqtt: options.mqtt, passPublisher: options.passPublisher, blackouts: options.blackouts,
  });
  await ground.start();
  cleanups.push(() => ground.stop());
  return { clock, ground, satellite, scheduler, received };
}

describe('the bridge', () => {
  it('forwards bundles to a satellite only during its passes, holding them in the station outside', async () => {
    const w = await bridgeWorld();
    w.scheduler.send({ destination: `ipn:${SATELLITE}.${APP}`, payload: new TextEncoder().encode('to orbit'), lifetimeMs: 86_400_000 });
    await w.clock.runUntil(T0_MS + 60_000);
    // Over the overlay at once; then held at the station until AOS.
    expect(w.ground.stats().bundles).toMatchObject({ bundlesReceived: 1, storedBundles: 1 });
    await w.clock.runUntil(T0_MS + 3_599_000);
    expect(w.received).toHaveLength(0);
    expect(w.ground.stats().bundles.storedBundles).toBe(1);
    await w.clock.runUntil(T0_MS + 4_200_000);
    expect(w.received).toHaveLength(1);
    expect(w.received[0]).toMatchObject({ node: SATELLITE });
    expect(w.received[0]!.atMs).toBeGreaterThanOrEqual(T0_MS + 3_600_000);
    expect(w.ground.stats().bundles).toMatchObject({ storedBundles: 0, bundlesForwarded: 1 });
  });

  it('brings bundles down from a satellite at its next pass and on over the overlay at once', async () => {
    const w = await bridgeWorld();
    await w.clock.runUntil(T0_MS + 5_000_000);
    // Between the passes: the satellite holds its bundle until 2:30.
    w.satellite.send({ destination: `ipn:${SCHEDULER}.${APP}`, payload: new TextEncoder().encode('to ground'), lifetimeMs: 86_400_000 });
    await w.clock.runUntil(T0_MS + 8_999_000);
    expect(w.received).toHaveLength(0);
    expect(w.ground.stats().bundles.bundlesReceived).toBe(0);
    await w.clock.runUntil(T0_MS + 9_010_000);
    expect(w.received).toHaveLength(1);
    expect(w.received[0]!.node).toBe(SCHEDULER);
    expect(w.received[0]!.atMs).toBeGreaterThanOrEqual(T0_MS + 9_000_000);
    expect(w.received[0]!.atMs).toBeLessThan(T0_MS + 9_001_000);
  });

  it("delivers a node's result to the tenant endpoint it names, and consumes malformed results without passing them on", async () => {
    const w = await bridgeWorld();
    const result = signJobResult({
      chainId: 'orbitfed-test', nodeId: 'sat-a', jobId: 'job-1', assignmentId: 'job-1.1', outcome: 'succeeded', tenantEndpoint: `ipn:${SCHEDULER}.${SERVICE_NUMBERS.results}`,
      atMs: T0_MS, bytes: new TextEncoder().encode('NDVI'),
    }, NODE_SEED);
    const payload = encodeJobResult(result);
    w.satellite.send({ destination: `ipn:${STATION}.${SERVICE_NUMBERS.results}`, payload, lifetimeMs: 86_400_000 });
    w.satellite.send({ destination: `ipn:${STATION}.${SERVICE_NUMBERS.results}`, payload: new Uint8Array([0x8a, 1, 2, 3]), lifetimeMs: 86_400_000 });
    await w.clock.runUntil(T0_MS + 4_200_000);
    expect(w.received.map((r) => r.node)).toEqual([SCHEDULER]);
    expect(w.received[0]!.payload).toEqual(payload);
    expect(w.ground.stats()).toMatchObject({ resultsForwarded: 1, resultsRefused: 1 });
  });
});

describe('MQTT from the running agent, against the embedded broker', () => {
  it('publishes its status, AOS and LOS of a real pass, 1 Hz tracking, satellite telemetry, and hands blackouts to the forwarder', async () => {
    const broker = new EmbeddedMqttBroker({ port: 0 });
    const { url } = await broker.start();
    cleanups.push(() => broker.stop());
    const station = (await loadStationsFile(sample('stations.yaml'))).find((s) => s.id === 'WALLOPS')!;
    const satellites = prepareSatellites((await loadElementFile(sample('elements.tle'), { checksum: 'strict' })).elements);
    const topics = stationTopics(station.id);
    const recorder = await Recorder.open(url, [`${topics.status}`, topics.pass, topics.track, topics.telemetry]);
    cleanups.push(() => recorder.close());
    const clock = new SimulationClock(T0_MS);
    const blackouts = new BlackoutForwarder({ schedulerUrl: undefined, apiKey: undefined, nodeId: 'wallops', clock, logger: silentLogger() });
    const mqtt = new GroundMqttClient({ brokerUrl: url, stationId: station.id, clock, onBlackout: (b) => blackouts.submit(b) });
    const passPublisher = new PassPublisher({ clock, station, satellites, sink: mqtt });
    const w = await bridgeWorld({ clock, station, mqtt, passPublisher, blackouts });
    await mqtt.whenConnected();
    await recorder.until('online status', () => recorder.json<StatusPayload>(topics.status).some((s) => s.state === 'online'));

    // The first pass over Wallops after the start, as the schedule computes it.
    const schedule = computePassSchedule(station, satellites, { startMs: T0_MS, durationSec: 86_400, defaultMinElevationDeg: 10 });
    const first = schedule.passes.find((p) => p.aosMs > T0_MS && !p.losTruncated)!;
    await w.clock.runUntil(first.losMs + 2_000);
    await recorder.until('AOS and LOS', () => recorder.json<PassEventPayload>(topics.pass).filter((e) => e.noradId === first.noradId && e.aosMs === first.aosMs).length === 2);
    const events = recorder.json<PassEventPayload>(topics.pass).filter((e) => e.noradId === first.noradId && e.aosMs === first.aosMs);
    expect(events.map((e) => e.event)).toEqual(['aos', 'los']);
    expect(events[1]).toMatchObject({ station: 'WALLOPS', satellite: first.satellite, losMs: first.losMs, timeMs: first.losMs });
    const trackSeconds = Math.floor(first.losMs / 1000) - Math.ceil(first.aosMs / 1000) + 1;
    await recorder.until('the track samples', () => recorder.on(topics.track).length >= trackSeconds - 2, 20_000);

    // Telemetry a satellite sends down is republished as the station's satellite telemetry.
    const telemetry = encodeTelemetryPayload({ nodeId: 'sat-a', atMs: T0_MS, housekeeping: { cpuBusyFraction: 0.25, memAvailableBytes: 1_000_000 } });
    w.satellite.send({ destination: `ipn:${STATION}.${SERVICE_NUMBERS.telemetry}`, payload: telemetry, lifetimeMs: 86_400_000 });
    await w.clock.runUntil(T0_MS + 9_700_000);
    await recorder.until('telemetry', () => recorder.on(topics.telemetry).length === 1);
    expect(recorder.json(topics.telemetry)[0]).toMatchObject({ station: 'WALLOPS', source: 'satellite', node: 'sat-a', values: { cpuBusyFraction: 0.25 } });

    // An operator's blackout window (valid, then malformed) reaches the forwarder; the malformed one does not.
    await publishRaw(url, topics.blackout, JSON.stringify({ startMs: T0_MS + 86_400_000, endMs: T0_MS + 90_000_000, reason: 'antenna maintenance' }));
    await publishRaw(url, topics.blackout, '{"startMs": "tomorrow"}');
    await recorder.until('the blackout', () => blackouts.stats().received === 1 && mqtt.stats().blackoutsRejected === 1);
    expect(blackouts.stats()).toMatchObject({ received: 1, notForwarded: 1 });

    await w.ground.stop();
    await recorder.until('offline status', () => recorder.json<StatusPayload>(topics.status).some((s) => s.state === 'offline'));
    expect(recorder.json<StatusPayload>(topics.status).at(-1)).toMatchObject({ state: 'offline', reason: 'stopped' });
  }, 60_000);
});
