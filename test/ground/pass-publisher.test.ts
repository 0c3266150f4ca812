// The pass publisher on a VirtualClock: AOS/LOS at the instants findPasses gives, 1 Hz tracking
// above the horizon mask during passes, windows that join without gaps or repeats — first into a
// recording sink, then through a real broker (embedded aedes and Mosquitto) to a subscriber.
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { durationMs, unixMs, VirtualClock } from '../../common/index.ts';
import { createPropagator, findPasses, loadElementFile, loadStationsFile, type ElementSet, type Station } from '../../contact-plans/index.ts';
import { compileHorizon, minElevationRadAt } from '../../contact-plans/horizon-mask.ts';
import {
  GroundMqttClient, PassPublisher, prepareSatellites, stationTopics, trackSecondsOf,
  type PassEvent, type PassEventPayload, type PassEventSink, type TrackPayload, type TrackSample,
} from '../../ground/index.ts';
import { brokerKinds, Recorder, sleep, type TestBroker } from './brokers.ts';

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const START_MS = Date.UTC(2026, 5, 14);
const DEG = 180 / Math.PI;
const RAD = Math.PI / 180;

let iss: ElementSet;
let leo: readonly ElementSet[];
let stations: Map<string, Station>;

beforeAll(async () => {
  const loaded = await loadElementFile(fixture('passes/leo1000.tle'), { checksum: 'strict' });
  iss = loaded.elements.find((e) => e.catalogNumber === '25544')!;
  leo = loaded.elements.slice(0, 12);
  stations = new Map((await loadStationsFile(fixture('stations/stations.yaml'))).map((s) => [s.id, s]));
});

/** Passes by findPasses itself, in Unix ms, for one satellite list and station. */
function referencePasses(elements: readonly ElementSet[], station: Station, startMs: number, durationSec: number) {
  const propagators = elements.map((e) => {
    const p = createPropagator(e);
    if (!p.ok) throw new Error(p.message);
    return p.propagator;
  });
  const { table } = findPasses(propagators, [station], { window: { startMs, durationSec }, defaultMinElevationDeg: 10 });
  const c = table.columns;
  return [...table.orderByAos()].map((i) => ({
    noradId: elements[c.satellite[i]!]!.catalogNumber,
    aosMs: startMs + c.aosSec[i]! * 1000,
    tcaMs: startMs + c.tcaSec[i]! * 1000,
    losMs: startMs + c.losSec[i]! * 1000,
    maxElevationDeg: c.maxElevationDeg[i]!,
    aosTruncated: (c.flags[i]! & 1) !== 0,
    losTruncated: (c.flags[i]! & 2) !== 0,
  }));
}

class RecordingSink implements PassEventSink {
  readonly events: { event: PassEvent; atMs: number }[] = [];
  readonly tracks: { sample: TrackSample; atMs: number }[] = [];
  readonly #clock: VirtualClock;
  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }
  publishPassEvent(event: PassEvent): void {
    this.events.push({ event, atMs: this.#clock.now() });
  }
  publishTrack(sample: TrackSample): void {
    this.tracks.push({ sample, atMs: this.#clock.now() });
  }
}

describe('the pass publisher on a virtual clock', () => {
  it.each([
    ['one-hour windows, one-hour lookahead', 3600, 3600],
    ['ten-minute windows, one-minute lookahead (passes outlast the search)', 600, 60],
    ['a day in one window', 86_400, 3600],
  ])('announces every AOS and LOS of 12 LEO satellites over 24 h at findPasses instants, with %s', (_what, windowSec, lookaheadSec) => {
    const station = stations.get('SVALBARD')!;
    const clock = new VirtualClock(unixMs(START_MS));
    const sink = new RecordingSink(clock);
    const publisher = new PassPublisher({ clock, station, satellites: prepareSatellites(leo), sink, windowSec, lookaheadSec, lookbackSec: 600 });
    publisher.start();
    clock.advance(durationMs(86_400_000));
    publisher.stop();
    const reference = referencePasses(leo, station, START_MS - 600_000, 86_400 + 600 + 7200)
      .filter((p) => p.losMs > START_MS && p.aosMs < START_MS + 86_400_000);
    const aos = sink.events.filter((e) => e.event.kind === 'aos');
    const los = sink.events.filter((e) => e.event.kind === 'los');
    expect(aos.length).toBe(reference.length);
    expect(los.length).toBe(reference.filter((p) => p.losMs <= START_MS + 86_400_000).length);
    const key = (noradId: string, aosMs: number): string => `${noradId}@${Math.round(aosMs)}`;
    const byKey = new Map(reference.map((p) => [key(p.noradId, p.aosMs), p]));
    for (const { event, atMs } of sink.events) {
      const ref = byKey.get(key(event.pass.noradId, event.pass.aosMs));
      expect(ref, `${event.kind} of ${event.pass.noradId} at ${event.pass.aosMs}`).toBeDefined();
      // Windows are searched from different starts: crossings agree to SGP4's polishing (µs).
      expect(Math.abs(event.pass.aosMs - ref!.aosMs)).toBeLessThan(0.01);
      // An AOS announced before the search reached the LOS says so; its LOS event is complete.
      if (!event.pass.losTruncated) {
        expect(Math.abs(event.pass.losMs - ref!.losMs)).toBeLessThan(0.01);
        expect(Math.abs(event.pass.tcaMs - ref!.tcaMs)).toBeLessThan(50);
        expect(Math.abs(event.pass.maxElevationDeg - ref!.maxElevationDeg)).toBeLessThan(1e-6);
      }
      // Published when the clock reached the event (or at once, for a pass already under way at start).
      expect(atMs).toBeCloseTo(Math.max(event.timeMs, START_MS), 3);
      if (event.kind === 'los') expect(event.pass.losTruncated).toBe(false);
    }
    if (lookaheadSec < 600) expect(aos.some((e) => e.event.pass.losTruncated)).toBe(true);
    for (const { sample, atMs } of sink.tracks) {
      expect(sample.timeMs % 1000).toBe(0);
      expect(atMs).toBeCloseTo(sample.timeMs, 3);
    }
  });

  it('tracks at 1 Hz only during passes, every whole second from AOS to LOS, above the horizon mask', () => {
    const station = stations.get('HARTEBEESTHOEK')!;
    const clock = new VirtualClock(unixMs(START_MS));
    const sink = new RecordingSink(clock);
    const publisher = new PassPublisher({ clock, station, satellites: prepareSatellites([iss]), sink });
    publisher.start();
    clock.advance(durationMs(86_400_000));
    publisher.stop();
    const horizon = compileHorizon(station, 10);
    const passes = sink.events.filter((e) => e.event.kind === 'aos').map((e) => e.event.pass);
    expect(passes.length).toBeGreaterThanOrEqual(2);
    let expected = 0;
    for (const pass of passes) {
      const seconds = trackSecondsOf(pass);
      const mine = sink.tracks.filter((t) => t.sample.timeMs >= pass.aosMs && t.sample.timeMs <= pass.losMs);
      expect(mine.map((t) => t.sample.timeMs)).toEqual(Array.from({ length: seconds.count }, (_, i) => seconds.firstMs + i * 1000));
      expected += seconds.count;
    }
    expect(sink.tracks.length).toBe(expected);
    for (const { sample } of sink.tracks) {
      expect(sample.elevationDeg).toBeGreaterThanOrEqual(minElevationRadAt(horizon, sample.azimuthDeg * RAD) * DEG - 1e-9);
    }
  });

  it('announces a pass already under way at start-up at once, with its real AOS', () => {
    const station = stations.get('WALLOPS')!;
    const [pass] = referencePasses([iss], station, START_MS, 86_400);
    const startMs = Math.round(pass!.tcaMs);
    const clock = new VirtualClock(unixMs(startMs));
    const sink = new RecordingSink(clock);
    const publisher = new PassPublisher({ clock, station, satellites: prepareSatellites([iss]), sink });
    publisher.start();
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]!.event.kind).toBe('aos');
    expect(sink.events[0]!.atMs).toBe(startMs);
    expect(Math.abs(sink.events[0]!.event.timeMs - pass!.aosMs)).toBeLessThan(0.01);
    expect(sink.events[0]!.event.pass.aosTruncated).toBe(false);
    expect(sink.tracks).toHaveLength(1);
    expect(publisher.activePasses()).toHaveLength(1);
    clock.advance(durationMs(pass!.losMs - startMs + 1));
    expect(sink.events.map((e) => e.event.kind)).toEqual(['aos', 'los']);
    expect(publisher.activePasses()).toHaveLength(0);
    publisher.stop();
  });

  it('publishes nothing after its signal is aborted, and leaves no timer behind', () => {
    const clock = new VirtualClock(unixMs(START_MS));
    const sink = new RecordingSink(clock);
    const controller = new AbortController();
    const publisher = new PassPublisher({ clock, station: stations.get('WALLOPS')!, satellites: prepareSatellites([iss]), sink });
    publisher.start(controller.signal);
    expect(clock.pendingTimers()).toBe(1);
    controller.abort();
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(durationMs(86_400_000));
    expect(sink.events).toHaveLength(0);
  });

  it('keeps running when its sink throws', () => {
    const clock = new VirtualClock(unixMs(START_MS));
    let calls = 0;
    const sink: PassEventSink = {
      publishPassEvent: () => {
        calls += 1;
        throw new Error('sink broken');
      },
      publishTrack: () => undefined,
    };
    const publisher = new PassPublisher({ clock, station: stations.get('WALLOPS')!, satellites: prepareSatellites([iss]), sink });
    publisher.start();
    clock.advance(durationMs(86_400_000));
    publisher.stop();
    expect(calls).toBeGreaterThanOrEqual(6);
  });
});

for (const kind of brokerKinds()) {
  describe.skipIf(!kind.available)(`the pass publisher through ${kind.name} to a subscriber`, () => {
    let broker: TestBroker | undefined;
    afterEach(async () => {
      await broker?.stop();
      broker = undefined;
    });

    it('delivers AOS/LOS at findPasses instants and 1 Hz track above the mask for 12 h of ISS passes', async () => {
      broker = await kind.start();
      const station = stations.get('HARTEBEESTHOEK')!;
      const topics = stationTopics(station.id);
      const recorder = await Recorder.open(broker.url, [topics.pass, topics.track]);
      const clock = new VirtualClock(unixMs(START_MS));
      const client = new GroundMqttClient({ brokerUrl: broker.url, stationId: station.id, clock, trackWritesMax: 2000 });
      client.start();
      await client.whenConnected();
      const publisher = new PassPublisher({ clock, station, satellites: prepareSatellites([iss]), sink: client });
      publisher.start();
      const durationSec = 12 * 3600;
      // A minute of virtual time per step, with a real pause so the sockets drain between steps.
      for (let s = 0; s < durationSec; s += 60) {
        clock.advance(durationMs(60_000));
        await sleep(0);
      }
      publisher.stop();
      const reference = referencePasses([iss], station, START_MS, durationSec).filter((p) => !p.losTruncated);
      const expectedTrack = reference.reduce((sum, p) => sum + trackSecondsOf({ ...p, aosMs: unixMs(p.aosMs), losMs: unixMs(p.losMs) } as never).count, 0);
      await recorder.until('every pass event and track sample', () => recorder.on(topics.pass).length >= 2 * reference.length && recorder.on(topics.track).length >= expectedTrack);
      const events = recorder.json<PassEventPayload>(topics.pass);
      expect(events.map((e) => e.event)).toEqual(reference.flatMap(() => ['aos', 'los']));
      reference.forEach((pass, i) => {
        const [aos, los] = [events[2 * i]!, events[2 * i + 1]!];
        for (const e of [aos, los]) {
          expect(e).toMatchObject({ station: 'HARTEBEESTHOEK', satellite: 'ISS (ZARYA)', noradId: '25544', aosTruncated: false, losTruncated: false });
          // The publisher searched from an hour before the start, the reference from the start:
          // crossings agree to SGP4's polishing, the culmination to its interpolated search.
          expect(Math.abs(e.aosMs - pass.aosMs)).toBeLessThan(0.01);
          expect(Math.abs(e.losMs - pass.losMs)).toBeLessThan(0.01);
          expect(Math.abs(e.tcaMs - pass.tcaMs)).toBeLessThan(50);
          expect(Math.abs(e.maxElevationDeg - pass.maxElevationDeg)).toBeLessThan(1e-6);
        }
        expect(aos.timeMs).toBe(aos.aosMs);
        expect(los.timeMs).toBe(los.losMs);
      });
      const horizon = compileHorizon(station, 10);
      const track = recorder.json<TrackPayload>(topics.track);
      expect(track).toHaveLength(expectedTrack);
      for (const sample of track) {
        expect(sample.timeMs % 1000).toBe(0);
        expect(reference.some((p) => sample.timeMs >= p.aosMs && sample.timeMs <= p.losMs)).toBe(true);
        expect(sample.elevationDeg).toBeGreaterThanOrEqual(minElevationRadAt(horizon, sample.azimuthDeg * RAD) * DEG - 1e-9);
        expect(sample.rangeKm).toBeGreaterThan(400);
        expect(sample.rangeKm).toBeLessThan(2500);
      }
      expect(client.stats().droppedTrackSamples).toBe(0);
      await client.stop();
      await recorder.close();
    });
  });
}
