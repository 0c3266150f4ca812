// The one importer of `mqtt` (STYLE rule 17): the ground station's session with an MQTT broker
// (Mosquitto in production, the embedded aedes by default). It keeps the station's retained
// status with a last will, publishes pass events, antenna tracking and telemetry, and hands
// validated blackout windows from operators to a callback. Topics and payloads: `mqtt-topics.ts`.
//
// Behaviour at the edges (README.md says the same for operators):
// - Pass events and telemetry (QoS 1) wait in a bounded queue while the broker is unreachable;
//   at the bound the OLDEST message is dropped (and counted): after an outage the newest state
//   matters most. At most `inflightMessagesMax` QoS 1 messages are handed to the library at once
//   (the library keeps those until acknowledged and re-sends them after a reconnect).
// - Track samples (QoS 0) are never queued: a stale pointing sent after a reconnect would swing a
//   rotator to where the satellite was. While disconnected, or while `trackWritesMax` samples
//   are still being written, new samples are dropped (and counted).
// - Blackout messages are bounded, decoded and validated before the callback sees them; anything
//   invalid is logged and ignored, and a callback that throws is logged, never fatal.
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { OrbitfedError, silentLogger, type Clock, type Logger } from '../common/index.ts';
import {
  parseBlackoutMessage,
  passEventPayload,
  stationTopics,
  trackPayload,
  type BlackoutWindow,
  type StationTopics,
  type StatusPayload,
  type TelemetryPayload,
  type TelemetryRecord,
} from './mqtt-topics.ts';
import type { PassEvent, TrackSample } from './pass-schedule.ts';

export const QUEUED_MESSAGES_MAX_DEFAULT = 1000;
export const INFLIGHT_MESSAGES_MAX_DEFAULT = 100;
export const TRACK_WRITES_MAX_DEFAULT = 64;
/** A telemetry record larger than this once encoded is refused (`ORBITFED_MQTT_PAYLOAD_TOO_LARGE`). */
export const TELEMETRY_PAYLOAD_BYTES_MAX = 64 * 1024;

export interface GroundMqttOptions {
  /** `mqtt://host:port` (or `mqtts://`). */
  readonly brokerUrl: string;
  readonly stationId: string;
  readonly clock: Clock;
  /** Default `orbitfed-ground-<station>`. */
  readonly clientId?: string;
  readonly username?: string;
  /** From a file or the environment, never the command line (ARCHITECTURE: configuration). */
  readonly password?: string;
  /** QoS 1 messages held while disconnected; the oldest is dropped at the bound. Default 1000. */
  readonly queuedMessagesMax?: number;
  /** QoS 1 messages awaiting the broker's acknowledgement at once. Default 100. */
  readonly inflightMessagesMax?: number;
  /** Track samples being written at once; more are dropped. Default 64. */
  readonly trackWritesMax?: number;
  /** Pause between reconnection attempts. Default 1000 ms. */
  readonly reconnectPeriodMs?: number;
  /** Default 10,000 ms. */
  readonly connectTimeoutMs?: number;
  /** MQTT keepalive; the broker declares us gone (and publishes the will) after 1.5 × this. Default 30 s. */
  readonly keepaliveSec?: number;
  readonly logger?: Logger;
  /** A validated maintenance window from an operator; `retained` when the broker kept it for us. */
  readonly onBlackout?: (blackout: BlackoutWindow, info: { readonly retained: boolean }) => void;
}

export interface GroundMqttStats {
  readonly connected: boolean;
  readonly connects: number;
  readonly queuedMessages: number;
  readonly inflightMessages: number;
  readonly publishedMessages: number;
  /** QoS 1 messages dropped because the queue was full. */
  readonly droppedMessages: number;
  readonly droppedTrackSamples: number;
  readonly blackoutsAccepted: number;
  readonly blackoutsRejected: number;
}

interface Outgoing {
  readonly topic: string;
  readonly payload: string;
}

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 1) {
    throw new OrbitfedError('ORBITFED_MQTT_OPTIONS', `must be a positive integer, got ${chosen}`, { field });
  }
  return chosen;
}

/** A ground station's MQTT session: `start()`, publish, `stop()`. */
export class GroundMqttClient {
  readonly topics: StationTopics;
  readonly #options: GroundMqttOptions;
  readonly #log: Logger;
  readonly #queuedMax: number;
  readonly #inflightMax: number;
  readonly #trackWritesMax: number;
  #client: MqttClient | undefined;
  #connectedMs = 0;
  #queue: Outgoing[] = [];
  #inflight = 0;
  #trackWrites = 0;
  #connects = 0;
  #published = 0;
  #dropped = 0;
  #droppedTrack = 0;
  #blackoutsAccepted = 0;
  #blackoutsRejected = 0;
  #errorLogged = false;
  #stopping = false;
  /** The broker answered this connection's blackout subscription. */
  #subscribed = false;
  #waiters = new Set<() => void>();

  constructor(options: GroundMqttOptions) {
    this.topics = stationTopics(options.stationId);
    this.#options = options;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'ground-mqtt', station: options.stationId });
    this.#queuedMax = positiveInteger(options.queuedMessagesMax, QUEUED_MESSAGES_MAX_DEFAULT, 'queuedMessagesMax');
    this.#inflightMax = positiveInteger(options.inflightMessagesMax, INFLIGHT_MESSAGES_MAX_DEFAULT, 'inflightMessagesMax');
    this.#trackWritesMax = positiveInteger(options.trackWritesMax, TRACK_WRITES_MAX_DEFAULT, 'trackWritesMax');
    if (!/^mqtts?:\/\/[^/]+\/?$/.test(options.brokerUrl)) {
      throw new OrbitfedError('ORBITFED_MQTT_OPTIONS', `broker URL ${JSON.stringify(options.brokerUrl)} is not mqtt://host:port or mqtts://host:port`, { field: 'brokerUrl' });
    }
  }

  get connected(): boolean {
    return this.#client?.connected === true;
  }

  /** Starts connecting (and reconnecting for as long as it runs); returns at once. */
  start(signal?: AbortSignal): void {
    if (this.#client !== undefined) throw new OrbitfedError('ORBITFED_MQTT_STATE', 'the MQTT client is already started');
    signal?.throwIfAborted();
    this.#connectedMs = this.#options.clock.now();
    const will: StatusPayload = { station: this.#options.stationId, state: 'offline', reason: 'connection-lost', timeMs: this.#connectedMs };
    const options: IClientOptions = {
      clientId: this.#options.clientId ?? `orbitfed-ground-${this.#options.stationId}`,
      protocolVersion: 4,
      clean: true,
      keepalive: this.#options.keepaliveSec ?? 30,
      reconnectPeriod: this.#options.reconnectPeriodMs ?? 1000,
      connectTimeout: this.#options.connectTimeoutMs ?? 10_000,
      // We subscribe on every connect ourselves; the library's own offline queue is not used.
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: this.topics.status, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
      ...(this.#options.username === undefined ? {} : { username: this.#options.username }),
      ...(this.#options.password === undefined ? {} : { password: this.#options.password }),
    };
    const client = connect(this.#options.brokerUrl, options);
    this.#client = client;
    client.on('connect', () => this.#onConnect(client));
    client.on('message', (topic, payload, packet) => this.#onMessage(topic, payload, packet));
    client.on('close', () => {
      if (!this.#stopping) this.#log.debug({}, 'connection closed');
    });
    client.on('offline', () => {
      if (!this.#stopping) this.#log.warn({ queuedMessages: this.#queue.length }, 'broker unreachable; queueing pass events and telemetry');
    });
    // Without a listener an 'error' event would end the process; connection errors repeat every
    // reconnect period, so only the first of a run is logged as a warning.
    client.on('error', (error) => {
      if (this.#errorLogged) this.#log.debug({ error: error.message }, 'MQTT error');
      else this.#log.warn({ error: error.message }, 'MQTT error');
      this.#errorLogged = true;
    });
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /**
   * Resolves once connected and subscribed to blackouts (at once if connected now); rejects with
   * the signal's reason on abort.
   */
  whenConnected(signal?: AbortSignal): Promise<void> {
    if (this.connected && this.#subscribed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.#waiters.delete(done);
        reject(signal?.reason);
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** AOS or LOS on `orbitfed/<station>/pass` (QoS 1, queued while disconnected). */
  publishPassEvent(event: PassEvent): void {
    this.#enqueue({ topic: this.topics.pass, payload: JSON.stringify(passEventPayload(this.#options.stationId, event)) });
  }

  /** One pointing sample on `orbitfed/<station>/track` (QoS 0; dropped, not queued, while disconnected). */
  publishTrack(sample: TrackSample): void {
    const client = this.#client;
    if (client === undefined || !client.connected || this.#trackWrites >= this.#trackWritesMax) {
      this.#droppedTrack += 1;
      return;
    }
    this.#trackWrites += 1;
    client.publish(this.topics.track, JSON.stringify(trackPayload(this.#options.stationId, sample)), { qos: 0, retain: false }, () => {
      this.#trackWrites -= 1;
    });
    this.#published += 1;
  }

  /** Station or satellite telemetry on `orbitfed/<station>/telemetry` (QoS 1, queued while disconnected). */
  publishTelemetry(record: TelemetryRecord): void {
    const payload: TelemetryPayload = { station: this.#options.stationId, source: record.source, node: record.node, timeMs: record.timeMs, values: record.values };
    const text = JSON.stringify(payload);
    const sizeBytes = Buffer.byteLength(text);
    if (sizeBytes > TELEMETRY_PAYLOAD_BYTES_MAX) {
      throw new OrbitfedError('ORBITFED_MQTT_PAYLOAD_TOO_LARGE',
        `telemetry from ${record.node} is ${sizeBytes} bytes as JSON; at most ${TELEMETRY_PAYLOAD_BYTES_MAX} are published`, { field: 'values' });
    }
    this.#enqueue({ topic: this.topics.telemetry, payload: text });
  }

  stats(): GroundMqttStats {
    return {
      connected: this.connected,
      connects: this.#connects,
      queuedMessages: this.#queue.length,
      inflightMessages: this.#inflight,
      publishedMessages: this.#published,
      droppedMessages: this.#dropped,
      droppedTrackSamples: this.#droppedTrack,
      blackoutsAccepted: this.#blackoutsAccepted,
      blackoutsRejected: this.#blackoutsRejected,
    };
  }

  /**
   * Publishes the retained `offline` status (when connected), then disconnects cleanly so the
   * broker discards the will. Messages still queued are dropped. Safe to call twice.
   */
  async stop(): Promise<void> {
    const client = this.#client;
    if (client === undefined || this.#stopping) return;
    this.#stopping = true;
    if (client.connected) {
      const status: StatusPayload = { station: this.#options.stationId, state: 'offline', reason: 'stopped', timeMs: this.#options.clock.now() };
      // Waits for the acknowledgement or for the connection to go, whichever comes first: no timer needed.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          client.removeListener('close', done);
          resolve();
        };
        client.once('close', done);
        client.publish(this.topics.status, JSON.stringify(status), { qos: 1, retain: true }, done);
      });
    }
    this.#queue = [];
    await client.endAsync(!client.connected);
    this.#log.info({ published: this.#published, dropped: this.#dropped }, 'MQTT client stopped');
  }

  #enqueue(message: Outgoing): void {
    if (this.#stopping) return;
    if (this.#queue.length >= this.#queuedMax) {
      this.#queue.shift();
      this.#dropped += 1;
      if (this.#dropped === 1 || this.#dropped % 1000 === 0) {
        this.#log.warn({ queuedMessagesMax: this.#queuedMax, dropped: this.#dropped }, 'outgoing MQTT queue full; dropped the oldest message');
      }
    }
    this.#queue.push(message);
    this.#pump();
  }

  /** Hands queued messages to the library while connected and under the in-flight bound. */
  #pump(): void {
    const client = this.#client;
    while (client !== undefined && client.connected && !this.#stopping && this.#inflight < this.#inflightMax && this.#queue.length > 0) {
      const message = this.#queue.shift()!;
      this.#inflight += 1;
      client.publish(message.topic, message.payload, { qos: 1, retain: false }, (error) => {
        this.#inflight -= 1;
        if (error !== undefined && error !== null && !this.#stopping) this.#log.warn({ topic: message.topic, error: error.message }, 'publish failed');
        this.#pump();
      });
      this.#published += 1;
    }
  }

  #onConnect(client: MqttClient): void {
    this.#connects += 1;
    this.#errorLogged = false;
    this.#subscribed = false;
    this.#log.info({ broker: this.#options.brokerUrl, connects: this.#connects, queuedMessages: this.#queue.length }, 'connected to the MQTT broker');
    const status: StatusPayload = { station: this.#options.stationId, state: 'online', timeMs: this.#options.clock.now() };
    client.publish(this.topics.status, JSON.stringify(status), { qos: 1, retain: true }, (error) => {
      if (error) this.#log.warn({ error: error.message }, 'could not publish the online status');
    });
    client.subscribe(this.topics.blackout, { qos: 1 }, (error, granted) => {
      if (error) this.#log.warn({ error: error.message }, 'could not subscribe to blackout windows');
      else if (granted?.some((g) => g.qos === 128)) this.#log.error({ topic: this.topics.blackout }, 'the broker refused the blackout subscription');
      // Ready once the broker has answered the subscription: blackouts published from now on reach us.
      if (client.connected) {
        this.#subscribed = true;
        for (const waiter of [...this.#waiters]) waiter();
        this.#waiters.clear();
      }
    });
    this.#pump();
  }

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (topic !== this.topics.blackout) return;
    // An empty retained message is how an operator clears a retained blackout: nothing to apply.
    if (payload.length === 0) return;
    const parsed = parseBlackoutMessage(payload);
    if (!parsed.ok) {
      this.#blackoutsRejected += 1;
      this.#log.warn({ topic, code: parsed.code, sizeBytes: payload.length }, `ignored a blackout message: ${parsed.message}`);
      return;
    }
    this.#blackoutsAccepted += 1;
    this.#log.info({ ...parsed.blackout }, 'blackout window received');
    try {
      this.#options.onBlackout?.(parsed.blackout, { retained: packet.retain === true });
    } catch (error) {
      this.#log.error({ error: error instanceof Error ? error.message : String(error) }, 'the blackout handler threw');
    }
  }
}
