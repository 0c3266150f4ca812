// The ground station's MQTT session, one contract suite run against both real brokers: the
// embedded aedes and Debian's Mosquitto (started by the test on a free port). Connections that
// must die go through a TCP proxy that the test cuts, as a lost link or a killed process would.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { unixMs, VirtualClock, type UnixMs } from '../../common/index.ts';
import {
  GroundMqttClient, stationTopics, TELEMETRY_PAYLOAD_BYTES_MAX,
  type BlackoutWindow, type PassEvent, type PassEventPayload, type ScheduledPass, type StatusPayload, type TrackSample,
} from '../../ground/index.ts';
import { HousekeepingReader } from '../../orbital/index.ts';
import { brokerKinds, publishRaw, Recorder, sleep, TcpProxy, type TestBroker } from './brokers.ts';

const START_MS = Date.UTC(2026, 5, 14, 12);
const STATION = 'gs-test-1';
const topics = stationTopics(STATION);

function pass(noradId: string, aosMs: number): ScheduledPass {
  return {
    satellite: `SAT ${noradId}`, noradId, satelliteIndex: 0,
    aosMs: unixMs(aosMs), tcaMs: unixMs(aosMs + 300_000), losMs: unixMs(aosMs + 600_000),
    maxElevationDeg: 42.5, aosAzimuthDeg: 200, losAzimuthDeg: 20, minRangeKm: 600, aosTruncated: false, losTruncated: false,
  };
}
const aosEvent = (noradId: string, aosMs: number): PassEvent => ({ kind: 'aos', timeMs: unixMs(aosMs), pass: pass(noradId, aosMs) });
const trackSample = (timeMs: number): TrackSample => ({
  satellite: 'SAT 1', noradId: '1', timeMs: timeMs as UnixMs, azimuthDeg: 123.4, elevationDeg: 23.4, rangeKm: 900, rangeRateKmPerSec: -3.2,
});

for (const kind of brokerKinds()) {
  describe.skipIf(!kind.available)(`the ground MQTT client against ${kind.name}`, () => {
    let broker: TestBroker | undefined;
    const cleanups: (() => Promise<void>)[] = [];
    const clock = new VirtualClock(unixMs(START_MS));

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      await broker?.stop();
      broker = undefined;
    });

    async function started(url: string, options: Partial<ConstructorParameters<typeof GroundMqttClient>[0]> = {}): Promise<GroundMqttClient> {
      const client = new GroundMqttClient({ brokerUrl: url, stationId: STATION, clock, reconnectPeriodMs: 100, ...options });
      client.start();
      cleanups.push(() => client.stop());
      await client.whenConnected();
      return client;
    }

    async function recorder(url: string, subscribed: string[]): Promise<Recorder> {
      const r = await Recorder.open(url, subscribed);
      cleanups.push(() => r.close());
      return r;
    }

    it('keeps the station status retained: online while connected, offline "stopped" after stop()', async () => {
      broker = await kind.start();
      const client = await started(broker.url);
      // A subscriber arriving later still learns the state: the status is retained.
      const late = await recorder(broker.url, [topics.status]);
      await late.until('the retained online status', () => late.on(topics.status).length >= 1);
      expect(late.on(topics.status)[0]!.retain).toBe(true);
      expect(late.json<StatusPayload>(topics.status)[0]).toEqual({ station: STATION, state: 'online', timeMs: START_MS });
      await client.stop();
      await late.until('the offline status', () => late.on(topics.status).length >= 2);
      expect(late.json<StatusPayload>(topics.status)[1]).toEqual({ station: STATION, state: 'offline', reason: 'stopped', timeMs: START_MS });
      const after = await recorder(broker.url, [topics.status]);
      await after.until('the retained offline status', () => after.on(topics.status).length >= 1);
      expect(after.on(topics.status)[0]!.retain).toBe(true);
      expect(after.json<StatusPayload>(topics.status)[0]!.state).toBe('offline');
    });

    it('has the broker publish its last will, retained, when its socket dies; then reconnects and is online again', async () => {
      broker = await kind.start();
      const proxy = new TcpProxy(broker.port);
      await proxy.accept();
      cleanups.push(() => proxy.refuse());
      const watcher = await recorder(broker.url, [topics.status]);
      const client = await started(proxy.url, { keepaliveSec: 5 });
      await watcher.until('online', () => watcher.json<StatusPayload>(topics.status).some((s) => s.state === 'online'));
      proxy.cut();
      await watcher.until('the last will', () => watcher.json<StatusPayload>(topics.status).some((s) => s.state === 'offline'));
      const will = watcher.json<StatusPayload>(topics.status).find((s) => s.state === 'offline');
      expect(will).toEqual({ station: STATION, state: 'offline', reason: 'connection-lost', timeMs: START_MS });
      const late = await recorder(broker.url, [topics.status]);
      await late.until('a retained status', () => late.on(topics.status).length >= 1);
      expect(late.on(topics.status)[0]!.retain).toBe(true);
      // The client reconnects on its own and says so.
      await watcher.until('online again', () => watcher.json<StatusPayload>(topics.status).filter((s) => s.state === 'online').length >= 2);
      expect(client.stats().connects).toBeGreaterThanOrEqual(2);
    });

    it('has the broker publish its last will when the station process is killed (SIGKILL)', async () => {
      broker = await kind.start();
      const watcher = await recorder(broker.url, [topics.status]);
      const script = fileURLToPath(new URL('./station-process.ts', import.meta.url));
      const child = spawn(process.execPath, [script, broker.url, STATION], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      cleanups.push(async () => {
        child.kill('SIGKILL');
        await exited;
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('connected')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`station process exited with ${code}`)));
      });
      await watcher.until('online', () => watcher.json<StatusPayload>(topics.status).some((s) => s.state === 'online'));
      child.kill('SIGKILL');
      await exited;
      await watcher.until('the last will', () => watcher.json<StatusPayload>(topics.status).some((s) => s.state === 'offline'));
      expect(watcher.json<StatusPayload>(topics.status).at(-1)).toMatchObject({ station: STATION, state: 'offline', reason: 'connection-lost' });
    });

    it('hands valid blackout windows to its callback and ignores malformed ones, staying connected', async () => {
      broker = await kind.start();
      const received: { blackout: BlackoutWindow; retained: boolean }[] = [];
      const client = await started(broker.url, { onBlackout: (blackout, info) => received.push({ blackout, retained: info.retained }) });
      const malformed: (string | Buffer)[] = [
        'maintenance tomorrow',
        '{"startMs":1781395200000,"endMs":1781398800000}',
        '{"startMs":"soon","endMs":1781398800000,"reason":"x"}',
        '{"startMs":1781398800000,"endMs":1781395200000,"reason":"backwards"}',
        '{"startMs":1781395200000,"endMs":1781398800000,"reason":"x","extra":true}',
        Buffer.from([0xc3, 0x28, 0xa0, 0xa1]),
        Buffer.alloc(5000, 0x7b),
        '[]',
      ];
      for (const payload of malformed) await publishRaw(broker.url, topics.blackout, payload);
      const valid = { startMs: 1781395200000, endMs: 1781398800000, reason: 'feed horn replacement' };
      await publishRaw(broker.url, topics.blackout, JSON.stringify(valid));
      const deadline = Date.now() + 5000;
      while (received.length < 1 && Date.now() < deadline) await sleep(10);
      await sleep(50);
      expect(received).toEqual([{ blackout: valid, retained: false }]);
      expect(client.stats()).toMatchObject({ connected: true, blackoutsAccepted: 1, blackoutsRejected: malformed.length, connects: 1 });
    });

    it('receives a retained blackout window when it connects, flagged as retained', async () => {
      broker = await kind.start();
      const valid = { startMs: 1781395200000, endMs: 1781398800000, reason: 'planned power outage' };
      await publishRaw(broker.url, topics.blackout, JSON.stringify(valid), true);
      const received: { blackout: BlackoutWindow; retained: boolean }[] = [];
      await started(broker.url, { onBlackout: (blackout, info) => received.push({ blackout, retained: info.retained }) });
      const deadline = Date.now() + 5000;
      while (received.length < 1 && Date.now() < deadline) await sleep(10);
      expect(received).toEqual([{ blackout: valid, retained: true }]);
      await publishRaw(broker.url, topics.blackout, '', true); // clear it for other tests
    });

    it('survives a blackout callback that throws', async () => {
      broker = await kind.start();
      const client = await started(broker.url, { onBlackout: () => { throw new Error('scheduler unavailable'); } });
      await publishRaw(broker.url, topics.blackout, JSON.stringify({ startMs: 1, endMs: 2, reason: 'x' }));
      const deadline = Date.now() + 5000;
      while (client.stats().blackoutsAccepted < 1 && Date.now() < deadline) await sleep(10);
      expect(client.stats()).toMatchObject({ blackoutsAccepted: 1, connected: true });
    });

    it('queues pass events while the broker is unreachable, drops the oldest at the bound, and delivers the rest in order', async () => {
      broker = await kind.start();
      const proxy = new TcpProxy(broker.port);
      await proxy.accept();
      cleanups.push(() => proxy.refuse());
      const watcher = await recorder(broker.url, [topics.pass, topics.track]);
      const client = await started(proxy.url, { queuedMessagesMax: 5 });
      client.publishPassEvent(aosEvent('100', START_MS));
      await watcher.until('the first pass event', () => watcher.on(topics.pass).length === 1);
      // QoS 1 is at least once: a cut before the PUBACK arrives would rightly re-send '100'.
      await watcher.until('its acknowledgement', () => client.stats().inflightMessages === 0);
      await proxy.refuse();
      const offlineDeadline = Date.now() + 5000;
      while (client.connected && Date.now() < offlineDeadline) await sleep(10);
      expect(client.connected).toBe(false);
      for (let i = 1; i <= 12; i++) client.publishPassEvent(aosEvent(String(100 + i), START_MS + i * 1000));
      client.publishTrack(trackSample(START_MS));
      expect(client.stats()).toMatchObject({ queuedMessages: 5, droppedMessages: 7, droppedTrackSamples: 1 });
      await proxy.accept();
      await client.whenConnected();
      await watcher.until('the queued pass events', () => watcher.on(topics.pass).length >= 6);
      await sleep(200);
      const ids = watcher.json<PassEventPayload>(topics.pass).map((e) => e.noradId);
      expect(ids).toEqual(['100', '108', '109', '110', '111', '112']);
      expect(watcher.on(topics.track)).toHaveLength(0);
      expect(client.stats().queuedMessages).toBe(0);
    });

    it('publishes pass events, track samples and telemetry with the documented payloads', async () => {
      broker = await kind.start();
      const watcher = await recorder(broker.url, [`orbitfed/${STATION}/#`]);
      const client = await started(broker.url);
      client.publishPassEvent(aosEvent('25544', START_MS + 1234.5));
      client.publishTrack(trackSample(START_MS + 2000));
      client.publishTelemetry({ source: 'satellite', node: '25544', timeMs: unixMs(START_MS + 3000), values: { cpuBusyFraction: 0.25, memAvailableBytes: 1024 } });
      await watcher.until('three messages', () => [topics.pass, topics.track, topics.telemetry].every((t) => watcher.on(t).length === 1));
      expect(watcher.json(topics.pass)[0]).toEqual({
        event: 'aos', station: STATION, satellite: 'SAT 25544', noradId: '25544', timeMs: START_MS + 1234.5,
        aosMs: START_MS + 1234.5, tcaMs: START_MS + 301234.5, losMs: START_MS + 601234.5,
        maxElevationDeg: 42.5, aosAzimuthDeg: 200, losAzimuthDeg: 20, aosTruncated: false, losTruncated: false,
      });
      expect(watcher.json(topics.track)[0]).toEqual({
        station: STATION, satellite: 'SAT 1', noradId: '1', timeMs: START_MS + 2000, azimuthDeg: 123.4, elevationDeg: 23.4, rangeKm: 900, rangeRateKmPerSec: -3.2,
      });
      expect(watcher.json(topics.telemetry)[0]).toEqual({
        station: STATION, source: 'satellite', node: '25544', timeMs: START_MS + 3000, values: { cpuBusyFraction: 0.25, memAvailableBytes: 1024 },
      });
      for (const t of [topics.pass, topics.track, topics.telemetry]) expect(watcher.on(t)[0]!.retain).toBe(false);
      // An orbital housekeeping record, read from this machine, is satellite telemetry as it is.
      const housekeeping = await new HousekeepingReader({ clock, diskPaths: ['/'] }).read();
      client.publishTelemetry({ source: 'satellite', node: '25544', timeMs: housekeeping.timeMs, values: housekeeping });
      await watcher.until('the housekeeping record', () => watcher.on(topics.telemetry).length === 2);
      expect(watcher.json(topics.telemetry)[1]).toEqual({ station: STATION, source: 'satellite', node: '25544', timeMs: START_MS, values: JSON.parse(JSON.stringify(housekeeping)) });
      expect(() => client.publishTelemetry({ source: 'station', node: STATION, timeMs: unixMs(START_MS), values: { blob: 'x'.repeat(TELEMETRY_PAYLOAD_BYTES_MAX) } }))
        .toThrow(/at most 65536/);
    });
  });
}

describe('the ground MQTT client without a broker', () => {
  it('refuses options it cannot use, naming the field', () => {
    const clock = new VirtualClock(unixMs(START_MS));
    expect(() => new GroundMqttClient({ brokerUrl: 'http://localhost:1883', stationId: STATION, clock })).toThrow(/brokerUrl/);
    expect(() => new GroundMqttClient({ brokerUrl: 'mqtt://127.0.0.1:1883', stationId: 'a/b', clock })).toThrow(/topic level/);
    expect(() => new GroundMqttClient({ brokerUrl: 'mqtt://127.0.0.1:1883', stationId: STATION, clock, queuedMessagesMax: 0 })).toThrow(/queuedMessagesMax/);
  });

  it('keeps trying while no broker listens, queueing within its bound, and stops cleanly', async () => {
    const clock = new VirtualClock(unixMs(START_MS));
    const client = new GroundMqttClient({ brokerUrl: 'mqtt://127.0.0.1:1', stationId: STATION, clock, reconnectPeriodMs: 50, queuedMessagesMax: 3 });
    client.start();
    for (let i = 0; i < 10; i++) client.publishPassEvent(aosEvent(String(i), START_MS + i));
    await sleep(200);
    expect(client.stats()).toMatchObject({ connected: false, connects: 0, queuedMessages: 3, droppedMessages: 7 });
    await client.stop();
  });
});
