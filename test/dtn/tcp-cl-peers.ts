// Test helpers for the TCP convergence layers (TCPCLv4, TCPCLv3, MTCP): peers on 127.0.0.1 that
// record what they receive and log, raw sockets that speak bytes we choose, and the minimal
// bundles of test/fixtures/dtn/minimal-ipn-*.hex.
import { readFileSync } from 'node:fs';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterEach } from 'vitest';
import type { BundleHandler, BundleVerdict, ConvergenceLayer, ReceivedFrom } from '../../dtn/convergence-layer.ts';
import { fromHex } from './sample-bundles.ts';

export const ACCEPT: BundleVerdict = { accepted: true };

const stoppers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const stop of stoppers.splice(0).reverse()) await stop();
});

/** Runs `stop` after the current test, newest first. */
export const onCleanup = (stop: () => Promise<void> | void): void => {
  stoppers.push(stop);
};

export interface LogEvent {
  readonly event: string;
  readonly fields: Record<string, unknown>;
}

export interface TestPeer<C extends ConvergenceLayer> {
  readonly cl: C;
  readonly received: { bundle: Uint8Array; from: ReceivedFrom }[];
  readonly events: LogEvent[];
}

/** Starts `cl` with a handler that records each bundle and then answers as `handler` says (accept by default). */
export async function startPeer<C extends ConvergenceLayer>(make: (log: (event: string, fields: Record<string, unknown>) => void) => C, handler?: BundleHandler): Promise<TestPeer<C>> {
  const events: LogEvent[] = [];
  const received: TestPeer<C>['received'] = [];
  const cl = make((event, fields) => events.push({ event, fields }));
  await cl.start(async (bundle, from) => {
    received.push({ bundle, from });
    return handler === undefined ? ACCEPT : handler(bundle, from);
  });
  onCleanup(() => cl.stop());
  return { cl, received, events };
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** Waits (real time, at most 5 s) until `condition` holds. */
export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A raw TCP connection that records every byte it receives. */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything received so far. */
  bytes(): Uint8Array;
  /** Resolves once at least `count` bytes arrived; returns them all. */
  receive(count: number): Promise<Uint8Array>;
  /** Resolves when the peer closed the connection. */
  readonly closed: Promise<void>;
  write(hex: string | Uint8Array): void;
}

function recording(socket: Socket): RawConnection {
  const chunks: Buffer[] = [];
  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => { closedResolve = resolve; });
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.on('close', () => closedResolve());
  const bytes = (): Uint8Array => new Uint8Array(Buffer.concat(chunks));
  onCleanup(() => { socket.destroy(); });
  return {
    socket,
    bytes,
    async receive(count) {
      await until(() => bytes().length >= count || socket.destroyed, `${count} bytes`);
      return bytes();
    },
    closed,
    write: (data) => socket.write(typeof data === 'string' ? fromHex(data) : data),
  };
}

export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect({ host: '127.0.0.1', port }, () => resolve());
  });
  return recording(socket);
}

/** A raw TCP server; `accepted` resolves with its first connection. */
export async function rawServer(): Promise<{ port: number; accepted: Promise<RawConnection> }> {
  const got = deferred<RawConnection>();
  const server: Server = createServer((socket) => got.resolve(recording(socket)));
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, accepted: got.promise };
}

const fixture = (name: string): Uint8Array => fromHex(readFileSync(new URL(`../fixtures/dtn/${name}`, import.meta.url), 'utf8'));
/** ipn:1.1 → ipn:2.1, payload "hello", created 815,000,000,000 ms after 2000, lifetime 1 h; primary block CRC-16. */
export const MINIMAL_BUNDLE_CRC16 = fixture('minimal-ipn-crc16.hex');
/** The same bundle with a CRC-32C primary block. */
export const MINIMAL_BUNDLE_CRC32C = fixture('minimal-ipn-crc32c.hex');

/** A bundle-sized byte pattern (the CLs carry any bytes; bundle validity is the agent's business). */
export function patterned(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let k = 0; k < bytes; k += 1) out[k] = (k * 31 + seed * 7) & 0xff;
  return out;
}

export const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
