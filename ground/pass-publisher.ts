// Drives a station's pass events and antenna tracking on the injected Clock: at each AOS and LOS
// it hands the event to a sink (the MQTT client), and during passes it hands over one pointing
// sample per satellite every whole second (1 Hz). Schedules are computed one window at a time.
//
// How windows join up (`windowSec` W, `lookaheadSec` L, `lookbackSec` B):
// - The first schedule starts B before now, so a pass already under way at start-up is announced
//   at once with its real AOS (flagged `aosTruncated` only when it began more than B ago).
// - Each schedule plans the AOS of passes that begin in its W-long window, but is searched L
//   further, so that their TCA, maximum elevation and LOS are known when the AOS is announced.
// - The next schedule starts where the previous window ended. A pass it finds already under way
//   was planned before and is skipped — unless it outlasted the previous search (longer than L,
//   e.g. a GEO satellite), in which case its LOS, TCA and maximum are completed from the new one.
//
// Timers are callbacks on the Clock, never a sleep loop: a VirtualClock advanced by an hour then
// fires every event and every track second of that hour in order, in one `advance` call.
import { durationMs, MS_PER_SECOND, OrbitfedError, silentLogger, type Clock, type Logger, type TimerHandle } from '../common/index.ts';
import type { Station } from '../contact-plans/index.ts';
import {
  compareEvents,
  computePassSchedule,
  StationPointing,
  trackSecondMs,
  type PassEvent,
  type PassSchedule,
  type ScheduledPass,
  type ScheduleSatellites,
  type TrackSample,
} from './pass-schedule.ts';

/** Where pass events and track samples go; `GroundMqttClient` is one. */
export interface PassEventSink {
  publishPassEvent(event: PassEvent): void;
  publishTrack(sample: TrackSample): void;
}

export interface PassPublisherOptions {
  readonly clock: Clock;
  readonly station: Station;
  readonly satellites: ScheduleSatellites;
  readonly sink: PassEventSink;
  /** Horizon for a station that states neither `minElevationDeg` nor a mask. Default 10°. */
  readonly defaultMinElevationDeg?: number;
  readonly refraction?: boolean;
  /** Passes beginning in one window are planned at a time. Default 3600 s. */
  readonly windowSec?: number;
  /** How far past a window passes are followed for their TCA and LOS. Default 3600 s. */
  readonly lookaheadSec?: number;
  /** How far back the first schedule looks for a pass already under way. Default 3600 s. */
  readonly lookbackSec?: number;
  readonly logger?: Logger;
  /** Each schedule as it is computed (for status pages and tests). */
  readonly onSchedule?: (schedule: PassSchedule) => void;
}

/** Problems listed in one log line; the rest are counted. */
const PROBLEMS_LOGGED_MAX = 10;

export class PassPublisher {
  readonly #clock: Clock;
  readonly #station: Station;
  readonly #satellites: ScheduleSatellites;
  readonly #sink: PassEventSink;
  readonly #pointing: StationPointing;
  readonly #log: Logger;
  readonly #defaultMinElevationDeg: number;
  readonly #refraction: boolean;
  readonly #windowMs: number;
  readonly #lookaheadMs: number;
  readonly #lookbackMs: number;
  readonly #onSchedule: ((schedule: PassSchedule) => void) | undefined;
  /** Planned events, in `compareEvents` order; at most two per pass of one schedule. */
  #pending: PassEvent[] = [];
  /** Passes between AOS and LOS, by satellite index. */
  readonly #active = new Map<number, ScheduledPass>();
  /** Passes whose AOS is before this have been planned. */
  #planEndMs = 0;
  #nextTrackMs = 0;
  #timer: TimerHandle | undefined;
  #running = false;
  #onAbort: (() => void) | undefined;
  #signal: AbortSignal | undefined;

  constructor(options: PassPublisherOptions) {
    this.#clock = options.clock;
    this.#station = options.station;
    this.#satellites = options.satellites;
    this.#sink = options.sink;
    this.#pointing = new StationPointing(options.station, options.satellites);
    this.#log = (options.logger ?? silentLogger()).child({ component: 'pass-publisher', station: options.station.id });
    this.#defaultMinElevationDeg = options.defaultMinElevationDeg ?? 10;
    this.#refraction = options.refraction === true;
    this.#windowMs = seconds(options.windowSec, 3600, 'windowSec') * MS_PER_SECOND;
    this.#lookaheadMs = seconds(options.lookaheadSec, 3600, 'lookaheadSec') * MS_PER_SECOND;
    this.#lookbackMs = seconds(options.lookbackSec, 3600, 'lookbackSec') * MS_PER_SECOND;
    this.#onSchedule = options.onSchedule;
    if (options.satellites.problems.length > 0) {
      this.#log.warn({
        problems: options.satellites.problems.slice(0, PROBLEMS_LOGGED_MAX).map((p) => `${p.satellite} (${p.noradId}): ${p.message}`),
        problemCount: options.satellites.problems.length,
      }, 'satellites that will not be scheduled');
    }
  }

  /** Passes between AOS and LOS now. */
  activePasses(): readonly ScheduledPass[] {
    return [...this.#active.values()];
  }

  /** The next planned events, earliest first. */
  upcomingEvents(countMax = 20): readonly PassEvent[] {
    return this.#pending.slice(0, countMax);
  }

  /** Computes the first schedule, announces passes already under way, and arms the timer. */
  start(signal?: AbortSignal): void {
    if (this.#running) throw new OrbitfedError('ORBITFED_PASS_PUBLISHER_STATE', 'the pass publisher is already running');
    signal?.throwIfAborted();
    this.#running = true;
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => this.stop();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    const nowMs = this.#clock.now();
    const startMs = Math.floor(nowMs - this.#lookbackMs);
    this.#planEndMs = Math.floor(nowMs) + this.#windowMs;
    const schedule = this.#compute(startMs, this.#planEndMs + this.#lookaheadMs - startMs);
    if (schedule !== undefined) {
      for (const pass of schedule.passes) {
        if (pass.aosMs >= this.#planEndMs) continue;
        if (!pass.losTruncated && pass.losMs <= nowMs) continue;
        this.#plan(pass, true);
      }
      this.#pending.sort(compareEvents);
    }
    this.#step(nowMs);
    this.#arm(nowMs);
  }

  /** Cancels the timer; nothing more is published. Safe to call twice. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#onAbort = undefined;
    this.#signal = undefined;
    this.#pending = [];
    this.#active.clear();
  }

  #compute(startMs: number, durationMs: number): PassSchedule | undefined {
    try {
      const schedule = computePassSchedule(this.#station, this.#satellites, {
        startMs,
        durationSec: durationMs / MS_PER_SECOND,
        defaultMinElevationDeg: this.#defaultMinElevationDeg,
        refraction: this.#refraction,
      });
      if (schedule.problems.length > 0) {
        this.#log.warn({
          problems: schedule.problems.slice(0, PROBLEMS_LOGGED_MAX).map((p) => `${p.satellite} (${p.noradId}): ${p.message}`),
          problemCount: schedule.problems.length,
        }, 'satellites that could not be followed through the window');
      }
      this.#log.debug({ startMs, passes: schedule.passes.length }, 'pass schedule computed');
      this.#onSchedule?.(schedule);
      return schedule;
    } catch (error) {
      // A window that cannot be computed is skipped (logged), never a dead publisher.
      this.#log.error({ startMs, error: error instanceof Error ? error.message : String(error) }, 'could not compute the pass schedule');
      return undefined;
    }
  }

  /** Plans the AOS (and the LOS when known) of a pass that begins in the current window. */
  #plan(pass: ScheduledPass, inProgressAllowed: boolean): void {
    if (pass.aosTruncated && !inProgressAllowed) return;
    this.#pending.push({ kind: 'aos', timeMs: pass.aosMs, pass });
    if (!pass.losTruncated) this.#pending.push({ kind: 'los', timeMs: pass.losMs, pass });
  }

  /** The schedule for the next window; completes passes that outlasted the previous search. */
  #loadNext(): void {
    const startMs = this.#planEndMs;
    this.#planEndMs = startMs + this.#windowMs;
    const schedule = this.#compute(startMs, this.#windowMs + this.#lookaheadMs);
    if (schedule === undefined) return;
    for (const pass of schedule.passes) {
      if (pass.aosTruncated) {
        const active = this.#active.get(pass.satelliteIndex);
        if (active === undefined || !active.losTruncated) continue;
        const higher = pass.maxElevationDeg > active.maxElevationDeg;
        const completed: ScheduledPass = {
          ...active,
          losMs: pass.losMs,
          losAzimuthDeg: pass.losAzimuthDeg,
          losTruncated: pass.losTruncated,
          tcaMs: higher ? pass.tcaMs : active.tcaMs,
          maxElevationDeg: higher ? pass.maxElevationDeg : active.maxElevationDeg,
          minRangeKm: Math.min(pass.minRangeKm, active.minRangeKm),
        };
        this.#active.set(pass.satelliteIndex, completed);
        if (!completed.losTruncated) this.#pending.push({ kind: 'los', timeMs: completed.losMs, pass: completed });
        continue;
      }
      if (pass.aosMs < this.#planEndMs) this.#plan(pass, false);
    }
    this.#pending.sort(compareEvents);
  }

  #onTimer(targetMs: number): void {
    this.#timer = undefined;
    if (!this.#running) return;
    // A timer may fire a hair before its target through floating point; it is the target's turn.
    const nowMs = Math.max(this.#clock.now(), targetMs);
    this.#step(nowMs);
    this.#arm(nowMs);
  }

  #step(nowMs: number): void {
    for (;;) {
      while (this.#pending.length > 0 && this.#pending[0]!.timeMs <= nowMs) this.#fire(this.#pending.shift()!);
      if (nowMs < this.#planEndMs) break;
      this.#loadNext();
    }
    if (this.#active.size > 0 && nowMs >= this.#nextTrackMs) {
      const secondMs = trackSecondMs(nowMs);
      for (const pass of this.#active.values()) {
        if (secondMs < pass.aosMs || (!pass.losTruncated && secondMs > pass.losMs)) continue;
        const result = this.#pointing.at(pass.satelliteIndex, secondMs);
        if (result.ok) this.#deliver(() => this.#sink.publishTrack(result.sample));
        else this.#log.warn({ code: result.code, satellite: pass.satellite }, result.message);
      }
      this.#nextTrackMs = secondMs + MS_PER_SECOND;
    }
  }

  #fire(event: PassEvent): void {
    const index = event.pass.satelliteIndex;
    if (event.kind === 'aos') {
      this.#active.set(index, event.pass);
    } else {
      this.#active.delete(index);
    }
    this.#log.info({
      event: event.kind, satellite: event.pass.satellite, noradId: event.pass.noradId, timeMs: event.timeMs, maxElevationDeg: event.pass.maxElevationDeg,
    }, event.kind === 'aos' ? 'acquisition of signal' : 'loss of signal');
    this.#deliver(() => this.#sink.publishPassEvent(event));
  }

  /** A sink that throws loses that one message, never the publisher's timer chain. */
  #deliver(publish: () => void): void {
    try {
      publish();
    } catch (error) {
      this.#log.error({ error: error instanceof Error ? error.message : String(error) }, 'the pass event sink threw');
    }
  }

  #arm(nowMs: number): void {
    if (!this.#running) return;
    let nextMs = this.#planEndMs;
    const event = this.#pending[0];
    if (event !== undefined && event.timeMs < nextMs) nextMs = event.timeMs;
    if (this.#active.size > 0 && this.#nextTrackMs < nextMs) nextMs = this.#nextTrackMs;
    const targetMs = Math.max(nextMs, nowMs);
    this.#timer = this.#clock.setTimer(durationMs(Math.max(0, targetMs - this.#clock.now())), () => this.#onTimer(targetMs));
  }
}

function seconds(value: number | undefined, fallback: number, field: string): number {
  const chosen = value ?? fallback;
  if (!Number.isFinite(chosen) || chosen <= 0 || !Number.isInteger(chosen * MS_PER_SECOND)) {
    throw new OrbitfedError('ORBITFED_PASS_PUBLISHER_OPTIONS', `must be a positive number of seconds (whole milliseconds), got ${chosen}`, { field });
  }
  return chosen;
}
