// What the three TCP convergence layers (TCPCLv4, TCPCLv3, MTCP) do alike around their
// connections: listen and hand accepted sockets to a passive connection, keep one active
// connection per peer address and open a new one when it ends or stops taking bundles, and end
// them all when the CL stops. Each CL supplies its connection (the protocol) through the options.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { OrbitfedError } from '../common/index.ts';
import type { BundleHandler, ConvergenceLayer, PeerAddress, SendOptions } from './convergence-layer.ts';
import { disconnected } from './pending-send.ts';
import { formatHostPort, parseHostPort, TcpListener, type ClLog, type HostPort, type ListenAddress } from './tcp-connection.ts';

/** What the host asks of a CL's connection (a TCPCL session, an MTCP connection). */
export interface HostedConnection {
  /** It has ended: it takes and delivers nothing more. */
  readonly closed: boolean;
  /** New bundles may be submitted (false once it ends or is ending). */
  readonly acceptsSends: boolean;
  /** Sends `bundle`; resolves once the peer has it (as the protocol defines it). */
  submit(bundle: Uint8Array, signal: AbortSignal | undefined): Promise<void>;
}

export interface TcpClHostOptions<C extends HostedConnection> {
  /** The CL's name, as in peer addresses (`tcpclv4`, `tcpclv3`, `mtcp`). */
  readonly name: string;
  /** Where to accept connections; none: this CL only connects out. */
  readonly listen: ListenAddress | undefined;
  /** Accepted connections open at once at most (more are refused). */
  readonly connectionsMax: number;
  readonly log: ClLog;
  /** Opens a connection to `target`; it calls `onEnded` with itself once, when it ends. */
  readonly connect: (target: HostPort, handler: BundleHandler, onEnded: (connection: C) => void) => C;
  /** Takes a socket a peer opened; it calls `onEnded` with itself once, when it ends. */
  readonly accept: (socket: Socket, handler: BundleHandler, onEnded: (connection: C) => void) => C;
  /** Ends a connection because the CL stops (`why` is said to the peer or logged). */
  readonly end: (connection: C, why: string) => Promise<void>;
}

export class TcpClHost<C extends HostedConnection> implements ConvergenceLayer {
  readonly name: string;
  readonly #options: TcpClHostOptions<C>;
  readonly #outbound = new Map<string, C>();
  readonly #inbound = new Set<C>();
  #listener: TcpListener | undefined;
  #handler: BundleHandler | undefined;
  #running = false;

  constructor(options: TcpClHostOptions<C>) {
    assert.ok(Number.isSafeInteger(options.connectionsMax) && options.connectionsMax >= 1, `the connection limit must be an integer >= 1, got ${options.connectionsMax}`);
    this.name = options.name;
    this.#options = options;
  }

  /** The address accepting connections (with the real port when 0 was configured), once started. */
  get listenAddress(): HostPort | undefined {
    return this.#listener?.address;
  }

  async start(handler: BundleHandler): Promise<void> {
    assert.ok(!this.#running, `the ${this.name} CL is already running`);
    this.#handler = handler;
    const { listen, connectionsMax, log } = this.#options;
    if (listen !== undefined) {
      const listener = new TcpListener({ listen, connectionsMax, log, logPrefix: this.name, onConnection: (socket) => this.#accept(socket) });
      await listener.start();
      this.#listener = listener;
    }
    this.#running = true;
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    const connections = [...this.#outbound.values(), ...this.#inbound];
    this.#outbound.clear();
    await Promise.all(connections.map((connection) => this.#options.end(connection, `the ${this.name} CL stopped`)));
    await this.#listener?.stop();
    this.#listener = undefined;
  }

  async send(peer: PeerAddress, bundle: Uint8Array, options: SendOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (peer.cl !== this.name) throw new OrbitfedError('ORBITFED_CL_ADDRESS', `the ${this.name} CL cannot reach a ${peer.cl} peer (${peer.address})`);
    const target = parseHostPort(peer.address);
    if (!this.#running || this.#handler === undefined) throw disconnected(`the ${this.name} CL is not running`);
    const key = formatHostPort(target);
    let connection = this.#outbound.get(key);
    if (connection === undefined || !connection.acceptsSends) {
      connection = this.#options.connect(target, this.#handler, (ended) => {
        if (this.#outbound.get(key) === ended) this.#outbound.delete(key);
      });
      this.#outbound.set(key, connection);
    }
    return connection.submit(bundle, options.signal);
  }

  #accept(socket: Socket): void {
    const handler = this.#handler;
    if (!this.#running || handler === undefined) {
      socket.destroy();
      return;
    }
    const connection = this.#options.accept(socket, handler, (ended) => this.#inbound.delete(ended));
    if (!connection.closed) this.#inbound.add(connection);
  }
}
