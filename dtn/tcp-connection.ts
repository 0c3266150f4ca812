// The TCP connection under the standard convergence layers (TCPCLv4, TCPCLv3, MTCP): where a peer
// is (`host:port`), opening a connection within a time limit, accepting connections up to a limit,
// closing gracefully (our FIN, then waiting for the peer's), and `ByteQueue`, the received bytes a
// CL parses its messages from. The protocols themselves live in tcpcl-v4.ts, tcpcl-v3.ts and mtcp.ts.
//
// Time comes only from the injected Clock (the connect timeout is a Clock timer, not the socket's).
// A public entry of dtn/ besides index.ts (test/tidy.test.ts): the link emulator reads and writes
// addresses with it without loading the bundle layer.
import assert from 'node:assert/strict';
import { createServer, isIP, Socket, type Server } from 'node:net';
import type { Clock, DurationMs } from '../common/index.ts';
import { OrbitfedError } from '../common/index.ts';

/** Structured log sink of the TCP convergence layers: one event name and its fields per line. */
export type ClLog = (event: string, fields: Record<string, unknown>) => void;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Where a TCP convergence layer listens: a host (`0.0.0.0`, `::`, `127.0.0.1`) and a port (0 picks a free one). */
export type ListenAddress = HostPort;

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/;
const HOST_BYTES_MAX = 253;

/**
 * `host:port` as configured for a TCP CL (`127.0.0.1:4556`, `gs1.example:4556`, `[::1]:4556`).
 * Throws ORBITFED_CL_ADDRESS naming what is wrong.
 */
export function parseHostPort(address: string): HostPort {
  const fail = (why: string): never => {
    throw new OrbitfedError('ORBITFED_CL_ADDRESS', `'${address.slice(0, 80)}' is not host:port: ${why}`);
  };
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return fail('no port');
  let host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
    if (isIP(host) !== 6) fail(`'${host}' is not an IPv6 address`);
  } else if (isIP(host) === 0 && (host.length > HOST_BYTES_MAX || !HOST_NAME.test(host))) {
    fail(`'${host}' is neither an IP address nor a host name (IPv6 addresses go in brackets: [::1]:4556)`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) fail(`port '${portText}' is not a number from 0 to 65535`);
  return { host, port: Number(portText) };
}

/** `host:port` text of an address, with IPv6 hosts in brackets. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Opens a TCP connection to `target`, rejecting with ORBITFED_CL_DISCONNECTED when it fails or
 * takes longer than `timeoutMs` of the clock, and with the signal's reason when it aborts.
 */
export function connectTcp(target: HostPort, clock: Clock, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = new Socket();
    let settled = false;
    const finish = (error: unknown): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      if (error === undefined) {
        resolve(socket);
      } else {
        socket.destroy();
        reject(error);
      }
    };
    const onError = (error: Error): void =>
      finish(new OrbitfedError('ORBITFED_CL_DISCONNECTED', `cannot connect to ${formatHostPort(target)}: ${error.message}`, {}, { cause: error }));
    const onAbort = (): void => finish(signal?.reason);
    const timer = clock.setTimer(timeoutMs as DurationMs, () =>
      finish(new OrbitfedError('ORBITFED_CL_DISCONNECTED', `cannot connect to ${formatHostPort(target)}: no answer within ${timeoutMs} ms`)));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.connect({ host: target.host, port: target.port }, () => {
      socket.setNoDelay(true);
      finish(undefined);
    });
  });
}

/**
 * Closes our side gracefully: what was written goes out, then FIN; the socket keeps reading (and
 * the caller's listeners keep discarding) until the peer closes its side too, or `lingerMs` of the
 * clock passed, then it is destroyed. Destroying at once instead would answer the peer's next bytes
 * with a reset, and a reset makes the peer's kernel drop what it had received from us and not yet
 * read (our last acknowledgements with it). Resolves once the socket is closed.
 */
export function endGracefully(socket: Socket, clock: Clock, lingerMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve();
      return;
    }
    const linger = clock.setTimer(lingerMs as DurationMs, () => socket.destroy());
    socket.once('close', () => {
      linger.cancel();
      resolve();
    });
    socket.resume();
    if (socket.writable) socket.end();
    else socket.destroy();
  });
}

export interface TcpListenerOptions {
  readonly listen: ListenAddress;
  /** Connections open at once; more are closed on arrival (and logged). */
  readonly connectionsMax: number;
  readonly onConnection: (socket: Socket) => void;
  readonly log: ClLog;
  /** The event name prefix of this listener's log lines (`tcpclv4`, `mtcp`). */
  readonly logPrefix: string;
}

/** A TCP server that hands each accepted connection to `onConnection`, with a limit on how many are open. */
export class TcpListener {
  readonly #options: TcpListenerOptions;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #address: HostPort | undefined;

  constructor(options: TcpListenerOptions) {
    assert.ok(Number.isInteger(options.connectionsMax) && options.connectionsMax >= 1, `connectionsMax must be an integer >= 1, got ${options.connectionsMax}`);
    this.#options = options;
  }

  /** The address actually bound (the real port when 0 was asked for), once started. */
  get address(): HostPort | undefined {
    return this.#address;
  }

  async start(): Promise<HostPort> {
    assert.ok(this.#server === undefined, 'the listener is already started');
    const server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server = server;
    const { host, port } = this.#options.listen;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(new OrbitfedError('ORBITFED_CL_LISTEN', `cannot listen on ${formatHostPort({ host, port })}: ${error.message}`, {}, { cause: error }));
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.removeListener('error', onError);
        resolve();
      });
    }).catch((error: unknown) => {
      this.#server = undefined;
      throw error;
    });
    server.on('error', (error) => this.#options.log(`${this.#options.logPrefix}.listener-error`, { error: error.message }));
    const bound = server.address();
    assert.ok(bound !== null && typeof bound === 'object', 'a TCP server has an address once listening');
    this.#address = { host: bound.address, port: bound.port };
    return this.#address;
  }

  /** Stops accepting and destroys the connections still open (their sessions should have ended them first). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const { log, logPrefix, connectionsMax } = this.#options;
    if (this.#sockets.size >= connectionsMax) {
      log(`${logPrefix}.connection-refused`, { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, reason: `already ${this.#sockets.size} connections (connectionsMax)` });
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    this.#options.onConnection(socket);
  }
}

/**
 * The bytes received on a connection and not yet parsed. Chunks go in at the back as the socket
 * delivers them; a parser looks at the front (`byteAt`, `contiguous`) and removes what it parsed
 * (`consume`, `take`). The queue holds no more than the caller lets it: each CL checks every
 * announced length against its limit before waiting for (and so buffering) that many bytes.
 */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  /** Bytes of the first chunk already consumed. */
  #headOffset = 0;
  #length = 0;

  /** Bytes waiting. */
  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.byteLength;
  }

  /** The byte at `index` from the front (which must be < length). */
  byteAt(index: number): number {
    assert.ok(index >= 0 && index < this.#length, `byte ${index} of a queue of ${this.#length}`);
    let at = index + this.#headOffset;
    for (const chunk of this.#chunks) {
      if (at < chunk.byteLength) return chunk[at]!;
      at -= chunk.byteLength;
    }
    assert.fail('unreachable: the index was checked against the length');
  }

  /** A view of the first `count` bytes (which must be ≤ length), joined into one chunk if they span several. Nothing is consumed. */
  contiguous(count: number): Uint8Array {
    assert.ok(count >= 0 && count <= this.#length, `${count} bytes of a queue of ${this.#length}`);
    const first = this.#chunks[0];
    if (first === undefined) return new Uint8Array(0);
    if (first.byteLength - this.#headOffset >= count) return first.subarray(this.#headOffset, this.#headOffset + count);
    const joined = new Uint8Array(count);
    let filled = 0;
    let from = this.#headOffset;
    let used = 0;
    let rest: Uint8Array | undefined;
    while (filled < count) {
      const chunk = this.#chunks[used]!;
      const part = Math.min(chunk.byteLength - from, count - filled);
      joined.set(chunk.subarray(from, from + part), filled);
      filled += part;
      if (from + part < chunk.byteLength) rest = chunk.subarray(from + part);
      used += 1;
      from = 0;
    }
    // The joined chunks are replaced by one, so reading the same bytes again does not join them again.
    this.#chunks.splice(0, used, ...(rest === undefined ? [joined] : [joined, rest]));
    this.#headOffset = 0;
    return joined;
  }

  /** Removes the first `count` bytes. */
  consume(count: number): void {
    assert.ok(count >= 0 && count <= this.#length, `consume ${count} bytes of a queue of ${this.#length}`);
    this.#length -= count;
    let rest = count;
    while (rest > 0) {
      const first = this.#chunks[0]!;
      const available = first.byteLength - this.#headOffset;
      if (rest < available) {
        this.#headOffset += rest;
        return;
      }
      rest -= available;
      this.#chunks.shift();
      this.#headOffset = 0;
    }
  }

  /** Removes the first `count` bytes and returns a copy of them. */
  take(count: number): Uint8Array {
    const copy = new Uint8Array(this.contiguous(count));
    this.consume(count);
    return copy;
  }
}
