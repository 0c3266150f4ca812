// The one importer of `aedes` (STYLE rule 17): the embedded MQTT broker that `npm start` runs so
// that a federation on one machine needs no Mosquitto. It listens on loopback by default; port 0
// lets the system choose, and `start()` reports the port it got. Production replaces it with
// Mosquitto or any MQTT 3.1.1 broker: nothing else in orbitfed knows which broker it talks to.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { OrbitfedError, silentLogger, type Logger } from '../common/index.ts';

export const BROKER_CONNECTIONS_MAX_DEFAULT = 1000;
/** Messages queued for one client before its session is set up (aedes' `queueLimit`). */
export const BROKER_CLIENT_QUEUE_MAX = 1000;

export interface EmbeddedBrokerOptions {
  /** Default 127.0.0.1: the embedded broker is for one machine. */
  readonly host?: string;
  /** Default 0: the system picks a free port. */
  readonly port?: number;
  /** Further connections are refused by the socket server. Default 1000. */
  readonly connectionsMax?: number;
  readonly logger?: Logger;
}

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
  /** `mqtt://host:port`, for `GroundMqttClient`. */
  readonly url: string;
}

/** aedes behind a TCP server: `start()` → address, `stop()`. */
export class EmbeddedMqttBroker {
  readonly #options: EmbeddedBrokerOptions;
  readonly #log: Logger;
  #broker: Aedes | undefined;
  #server: Server | undefined;
  #address: BrokerAddress | undefined;

  constructor(options: EmbeddedBrokerOptions = {}) {
    this.#options = options;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'mqtt-broker' });
  }

  /** The listening address; throws before `start()` has finished. */
  get address(): BrokerAddress {
    if (this.#address === undefined) throw new OrbitfedError('ORBITFED_MQTT_BROKER_STATE', 'the embedded MQTT broker is not running');
    return this.#address;
  }

  async start(signal?: AbortSignal): Promise<BrokerAddress> {
    if (this.#broker !== undefined) throw new OrbitfedError('ORBITFED_MQTT_BROKER_STATE', 'the embedded MQTT broker is already started');
    signal?.throwIfAborted();
    const host = this.#options.host ?? '127.0.0.1';
    const broker = await Aedes.createBroker({ queueLimit: BROKER_CLIENT_QUEUE_MAX, maxClientsIdLength: 128 });
    broker.on('clientError', (client, error) => this.#log.debug({ clientId: client.id, error: error.message }, 'client error'));
    broker.on('connectionError', (_client, error) => this.#log.debug({ error: error.message }, 'connection error'));
    const server = createServer((socket) => broker.handle(socket));
    server.maxConnections = this.#options.connectionsMax ?? BROKER_CONNECTIONS_MAX_DEFAULT;
    this.#broker = broker;
    this.#server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: this.#options.port ?? 0, signal }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.#broker = undefined;
      this.#server = undefined;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      throw new OrbitfedError('ORBITFED_MQTT_BROKER_LISTEN', `cannot listen on ${host}:${this.#options.port ?? 0}: ${(error as Error).message}`, {}, { cause: error });
    }
    server.on('error', (error) => this.#log.error({ error: error.message }, 'MQTT server error'));
    const port = (server.address() as AddressInfo).port;
    this.#address = { host, port, url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}` };
    this.#log.info({ host, port }, 'embedded MQTT broker listening');
    return this.#address;
  }

  /** Stops accepting, closes every client connection and the broker. */
  async stop(): Promise<void> {
    const broker = this.#broker;
    const server = this.#server;
    if (broker === undefined || server === undefined) return;
    this.#broker = undefined;
    this.#server = undefined;
    this.#address = undefined;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await serverClosed;
    this.#log.info({}, 'embedded MQTT broker stopped');
  }
}
