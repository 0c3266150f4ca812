// Real MQTT brokers for the ground tests, each started and stopped by the test itself: the
// embedded aedes (ground/mqtt-broker.ts) and Debian's Mosquitto run as a child process on a free
// loopback port. Plus a TCP proxy that can cut or refuse connections (a lost link, a dead socket),
// and a plain subscriber that records what the broker delivers.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { EmbeddedMqttBroker } from '../../ground/index.ts';

export interface TestBroker {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

export async function startAedes(): Promise<TestBroker> {
  const broker = new EmbeddedMqttBroker();
  const address = await broker.start();
  return { name: 'aedes', port: address.port, url: address.url, stop: () => broker.stop() };
}

/** The mosquitto binary on PATH or in /usr/sbin (where Debian installs it), or undefined. */
export function mosquittoBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, 'mosquitto');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`mosquitto did not listen on port ${port} within ${timeoutMs} ms`);
}

/** `mosquitto -c <temporary config>` listening on 127.0.0.1:<free port>; stopped with SIGTERM. */
export async function startMosquitto(binary: string): Promise<TestBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'orbitfed-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  const child = spawn(binary, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString();
  });
  try {
    await waitForPort(port, child, 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${stderr}`, { cause: error });
  }
  return {
    name: 'mosquitto',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy in front of a broker: `cut()` destroys every connection (the broker sees a socket
 * die without DISCONNECT), `refuse()` also stops listening until `accept()`.
 */
export class TcpProxy {
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async accept(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.#targetPort });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async refuse(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.cut();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface Received {
  readonly topic: string;
  readonly text: string;
  readonly retain: boolean;
}

/** A plain mqtt.js subscriber that records every message. */
export class Recorder {
  readonly messages: Received[] = [];
  readonly client: MqttClient;

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, text: payload.toString(), retain: packet.retain }));
  }

  static async open(url: string, topics: string[], clientId?: string): Promise<Recorder> {
    const client = connect(url, { reconnectPeriod: 200, ...(clientId === undefined ? {} : { clientId }) });
    client.on('error', () => undefined);
    const recorder = new Recorder(client);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync(topics, { qos: 1 });
    return recorder;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  json<T>(topic: string): T[] {
    return this.on(topic).map((m) => JSON.parse(m.text) as T);
  }

  /** Waits (real time) until `predicate` holds; fails with `what` after `timeoutMs`. */
  async until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.messages.length} messages: ${this.messages.slice(-5).map((m) => `${m.topic} ${m.text}`).join(' | ')}`);
      await sleep(10);
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Publishes raw bytes as another MQTT client would (an operator's tool). */
export async function publishRaw(url: string, topic: string, payload: string | Buffer, retain = false): Promise<void> {
  const client = connect(url, { reconnectPeriod: 0 });
  client.on('error', () => undefined);
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await client.publishAsync(topic, payload, { qos: 1, retain });
  await client.endAsync();
}

export interface BrokerKind {
  readonly name: 'aedes' | 'mosquitto';
  /** False only when the mosquitto binary is missing: its suite is then skipped, loudly. */
  readonly available: boolean;
  start(): Promise<TestBroker>;
}

/** The brokers every contract test runs against: the embedded aedes and Debian's Mosquitto. */
export function brokerKinds(): BrokerKind[] {
  const binary = mosquittoBinary();
  if (binary === undefined) {
    console.warn('\n*** mosquitto is NOT installed: the MQTT tests against Mosquitto are SKIPPED. Install it with `apt-get install -y mosquitto`. ***\n');
  }
  return [
    { name: 'aedes', available: true, start: startAedes },
    {
      name: 'mosquitto',
      available: binary !== undefined,
      start: () => {
        if (binary === undefined) throw new Error('mosquitto is not installed');
        return startMosquitto(binary);
      },
    },
  ];
}
