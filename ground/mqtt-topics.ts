// The ground station's MQTT topics and their payloads, declared once (README.md has the table).
// Pure: topic names, payload builders and the validation of what operators publish to us. The
// MQTT session itself is `mqtt-client.ts`.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { OrbitfedError, type UnixMs } from '../common/index.ts';
import type { PassEvent, TrackSample } from './pass-schedule.ts';

/** Station ids become one topic level: the station file's id rule, which excludes `/`, `+` and `#`. */
const STATION_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const TOPIC_ROOT = 'orbitfed';

export interface StationTopics {
  /** Retained `online`/`offline` state; the broker publishes the last-will `offline` when we vanish. */
  readonly status: string;
  readonly pass: string;
  readonly track: string;
  readonly telemetry: string;
  /** Operators publish maintenance windows here; we subscribe. */
  readonly blackout: string;
}

export function stationTopics(stationId: string): StationTopics {
  if (!STATION_ID_PATTERN.test(stationId)) {
    throw new OrbitfedError('ORBITFED_MQTT_STATION_ID',
      `station id ${JSON.stringify(stationId)} cannot be a topic level: use 1–64 characters from A–Z, a–z, 0–9, "_", "." and "-"`,
      { field: 'stationId' });
  }
  const base = `${TOPIC_ROOT}/${stationId}`;
  return { status: `${base}/status`, pass: `${base}/pass`, track: `${base}/track`, telemetry: `${base}/telemetry`, blackout: `${base}/blackout` };
}

export type StationState = 'online' | 'offline';

export interface StatusPayload {
  readonly station: string;
  readonly state: StationState;
  /** Why the station is offline: it stopped cleanly, or the broker lost it (last will). */
  readonly reason?: 'stopped' | 'connection-lost';
  /** When the state was entered; for the last will, when the will was registered (the connection's start). */
  readonly timeMs: number;
}

export interface PassEventPayload {
  readonly event: 'aos' | 'los';
  readonly station: string;
  readonly satellite: string;
  readonly noradId: string;
  /** The instant of the event itself (AOS or LOS), Unix ms. */
  readonly timeMs: number;
  readonly aosMs: number;
  readonly tcaMs: number;
  readonly losMs: number;
  readonly maxElevationDeg: number;
  readonly aosAzimuthDeg: number;
  readonly losAzimuthDeg: number;
  /** AOS lies before the computed window (the station started mid-pass): `aosMs` is the window start. */
  readonly aosTruncated: boolean;
  /** LOS lies past the computed window (a pass of hours): `losMs`, `tcaMs` and the maximum are provisional. */
  readonly losTruncated: boolean;
}

export interface TrackPayload {
  readonly station: string;
  readonly satellite: string;
  readonly noradId: string;
  /** A whole UTC second, Unix ms. */
  readonly timeMs: number;
  readonly azimuthDeg: number;
  readonly elevationDeg: number;
  readonly rangeKm: number;
  readonly rangeRateKmPerSec: number;
}

export type TelemetrySource = 'station' | 'satellite';

/** Telemetry of the station itself or relayed from a satellite: one record of named values. */
export interface TelemetryRecord {
  readonly source: TelemetrySource;
  /** Who measured it: the station id, or the satellite (name or NORAD id). */
  readonly node: string;
  readonly timeMs: UnixMs;
  /**
   * A plain object of JSON values with units in their names (`cpuBusyFraction`,
   * `memAvailableBytes`); an orbital `HousekeepingRecord` as it is, for instance.
   */
  readonly values: object;
}

export interface TelemetryPayload extends TelemetryRecord {
  readonly station: string;
}

export function passEventPayload(stationId: string, event: PassEvent): PassEventPayload {
  const p = event.pass;
  return {
    event: event.kind,
    station: stationId,
    satellite: p.satellite,
    noradId: p.noradId,
    timeMs: event.timeMs,
    aosMs: p.aosMs,
    tcaMs: p.tcaMs,
    losMs: p.losMs,
    maxElevationDeg: p.maxElevationDeg,
    aosAzimuthDeg: p.aosAzimuthDeg,
    losAzimuthDeg: p.losAzimuthDeg,
    aosTruncated: p.aosTruncated,
    losTruncated: p.losTruncated,
  };
}

export function trackPayload(stationId: string, sample: TrackSample): TrackPayload {
  return {
    station: stationId,
    satellite: sample.satellite,
    noradId: sample.noradId,
    timeMs: sample.timeMs,
    azimuthDeg: sample.azimuthDeg,
    elevationDeg: sample.elevationDeg,
    rangeKm: sample.rangeKm,
    rangeRateKmPerSec: sample.rangeRateKmPerSec,
  };
}

/** Larger blackout messages are refused before they are decoded. */
export const BLACKOUT_PAYLOAD_BYTES_MAX = 4096;
/** A maintenance window longer than this is refused as a likely mistake (a year and a day). */
export const BLACKOUT_DURATION_MS_MAX = 366 * 86_400_000;
/** The largest time a JavaScript Date can hold, Unix ms. */
const TIME_MS_MAX = 8.64e15;

/** What an operator publishes to `orbitfed/<station>/blackout`. */
export const BlackoutWindowSchema = Type.Object(
  {
    startMs: Type.Integer({ minimum: 0, maximum: TIME_MS_MAX, description: 'Start of the maintenance window, Unix ms (UTC).' }),
    endMs: Type.Integer({ minimum: 0, maximum: TIME_MS_MAX, description: 'End of the window, Unix ms (UTC), after startMs.' }),
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why the station is unavailable, for people.' }),
  },
  { additionalProperties: false },
);

export type BlackoutWindow = Static<typeof BlackoutWindowSchema>;

const blackoutChecker = TypeCompiler.Compile(BlackoutWindowSchema);

export type BlackoutParse =
  | { readonly ok: true; readonly blackout: BlackoutWindow }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Validates one blackout message: size, UTF-8, JSON, the schema, then endMs after startMs. */
export function parseBlackoutMessage(payload: Uint8Array): BlackoutParse {
  if (payload.length > BLACKOUT_PAYLOAD_BYTES_MAX) {
    return { ok: false, code: 'ORBITFED_BLACKOUT_TOO_LARGE', message: `${payload.length} bytes; at most ${BLACKOUT_PAYLOAD_BYTES_MAX} are read` };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { ok: false, code: 'ORBITFED_BLACKOUT_NOT_UTF8', message: 'payload is not valid UTF-8 text' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, code: 'ORBITFED_BLACKOUT_NOT_JSON', message: `payload is not JSON: ${(error as Error).message}` };
  }
  const first = blackoutChecker.Errors(value).First();
  if (first !== undefined) {
    const where = first.path === '' ? 'payload' : first.path.slice(1);
    return { ok: false, code: 'ORBITFED_BLACKOUT_INVALID', message: `${where}: ${first.message} (got ${describe(first.value)})` };
  }
  const blackout = value as BlackoutWindow;
  if (blackout.endMs <= blackout.startMs) {
    return { ok: false, code: 'ORBITFED_BLACKOUT_INVALID', message: `endMs ${blackout.endMs} must be after startMs ${blackout.startMs}` };
  }
  if (blackout.endMs - blackout.startMs > BLACKOUT_DURATION_MS_MAX) {
    return { ok: false, code: 'ORBITFED_BLACKOUT_INVALID', message: `window of ${blackout.endMs - blackout.startMs} ms is longer than the ${BLACKOUT_DURATION_MS_MAX} ms allowed` };
  }
  return { ok: true, blackout: { startMs: blackout.startMs, endMs: blackout.endMs, reason: blackout.reason } };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
