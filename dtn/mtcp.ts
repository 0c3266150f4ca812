// The MTCP convergence layer (draft-ietf-dtn-mtcpcl-01, "Minimal TCP"), as µD3TN and dtn7 speak
// it: each bundle travels as one CBOR byte string (RFC 8949 §3.1, major type 2) on a TCP
// connection, back to back, with no contact header, no acknowledgement and no other message. The
// draft's connections carry bundles one way, from the side that connected; we send only on
// connections we open, and read bundles from any connection (a peer that sends back on our
// connection is delivered too).
//
// NO ACKNOWLEDGEMENT. MTCP has none, so `send()` resolves once the bundle's bytes were written to
// the socket and handed to the operating system (the socket's write callback). That is much weaker
// than the acknowledgement of convergence-layer.ts: the bytes may still be lost with the connection,
// the peer may crash before storing the bundle, and a bundle the peer refuses is refused silently.
// An agent sending over MTCP must rely on end-to-end means (custody, status reports, application
// acknowledgements) for reliability. `send()` rejects with ORBITFED_CL_DISCONNECTED when the
// connection cannot be made or fails before the bytes were handed over; a bundle our handler
// refuses is dropped and logged (`mtcp.refused-unacknowledged`), since the sender cannot be told.
//
// Framing and limits. Only definite-length byte strings are accepted; heads that are not in
// shortest form are read (the draft asks for a byte string, not for deterministic encoding), and we
// always write the shortest. A length above `bundleBytesMax` is refused from the head alone, before
// any allocation: the connection is closed and logged, as is anything that is not a byte string.
// While more than `windowBytes` of received bundles wait for the handler, reading pauses.
// MTCP has no magic number, so garbage is caught only when it is not a byte string head: an HTTP
// request, for one, starts with 'G' (0x47), the head of a 7-byte byte string, and reaches the
// handler as a few short "bundles", which the bundle codec then refuses.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { Clock } from '../common/index.ts';
import { OrbitfedError } from '../common/index.ts';
import type { BundleHandler, BundleVerdict, ReceivedFrom } from './convergence-layer.ts';
import { TcpClHost } from './tcp-cl-host.ts';
import { ByteQueue, connectTcp, endGracefully, formatHostPort, type ClLog, type HostPort, type ListenAddress } from './tcp-connection.ts';
import { disconnected, settle, type SettleableSend } from './pending-send.ts';

/** A send on an MTCP connection: settled once its bytes were handed to the operating system (MTCP has no acknowledgement). */
interface PendingSend extends SettleableSend {
  readonly bundle: Uint8Array;
}

export interface MtcpConvergenceLayerOptions {
  readonly clock: Clock;
  /** Where to accept connections; without it the CL only connects out. */
  readonly listen?: ListenAddress;
  /** Largest bundle accepted, bytes; default 16 MiB. Larger PDU heads close the connection. */
  readonly bundleBytesMax?: number;
  /** A connection must be made within this; default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Bytes of received bundles waiting for the handler before reading pauses; default 32 MiB. */
  readonly windowBytes?: number;
  /** Sends waiting per peer; more reject with ORBITFED_CL_BUSY. Default 10,000. */
  readonly sendsQueuedMax?: number;
  /** Connections accepted at once; more are closed on arrival. Default 64. */
  readonly connectionsMax?: number;
  /** How long `stop()` waits for peers to close their side; default 2 s. */
  readonly lingerMs?: number;
  readonly log?: ClLog;
}

const MIB = 1024 * 1024;
const MAJOR_BYTES = 2;
const U64_BYTES = 8;

/** The head of a definite-length CBOR byte string of `length` bytes, in shortest form (RFC 8949 §3, §4.2.1). */
export function encodeMtcpPduHead(length: number): Uint8Array {
  assert.ok(Number.isSafeInteger(length) && length >= 0, `byte string length ${length}`);
  const initial = MAJOR_BYTES << 5;
  if (length < 24) return new Uint8Array([initial | length]);
  if (length < 0x100) return new Uint8Array([initial | 24, length]);
  if (length < 0x1_0000) return new Uint8Array([initial | 25, length >>> 8, length & 0xff]);
  const wide = length < 0x1_0000_0000;
  const head = new Uint8Array(wide ? 5 : 9);
  const view = new DataView(head.buffer);
  head[0] = initial | (wide ? 26 : 27);
  if (wide) view.setUint32(1, length);
  else view.setBigUint64(1, BigInt(length));
  return head;
}

/** One MTCP PDU: the bundle as a CBOR byte string. */
export function encodeMtcpPdu(bundle: Uint8Array): Uint8Array {
  const head = encodeMtcpPduHead(bundle.byteLength);
  const pdu = new Uint8Array(head.byteLength + bundle.byteLength);
  pdu.set(head);
  pdu.set(bundle, head.byteLength);
  return pdu;
}

export type MtcpPduRead =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'bundle'; readonly bundle: Uint8Array }
  /** Not a definite-length byte string, or longer than allowed (`announcedBytes`). */
  | { readonly kind: 'invalid'; readonly reason: string; readonly announcedBytes?: bigint };

/** Reads the PDU at the front of `queue`; consumes it only when whole. */
export function readMtcpPdu(queue: ByteQueue, bundleBytesMax: number): MtcpPduRead {
  if (queue.length < 1) return { kind: 'incomplete' };
  const initial = queue.byteAt(0);
  const major = initial >> 5;
  const additional = initial & 0x1f;
  if (major !== MAJOR_BYTES) return { kind: 'invalid', reason: `PDU starts with 0x${initial.toString(16).padStart(2, '0')}, not a CBOR byte string (major type 2)` };
  if (additional > 27) {
    return { kind: 'invalid', reason: additional === 31 ? 'indefinite-length byte string' : `reserved additional information ${additional}` };
  }
  const argumentBytes = additional < 24 ? 0 : 1 << (additional - 24);
  if (queue.length < 1 + argumentBytes) return { kind: 'incomplete' };
  let length: bigint;
  if (argumentBytes === 0) {
    length = BigInt(additional);
  } else {
    const head = queue.contiguous(1 + argumentBytes);
    const view = new DataView(head.buffer, head.byteOffset + 1, argumentBytes);
    length = argumentBytes === 1 ? BigInt(view.getUint8(0)) : argumentBytes === 2 ? BigInt(view.getUint16(0)) : argumentBytes === 4 ? BigInt(view.getUint32(0)) : view.getBigUint64(0);
    assert.ok(argumentBytes <= U64_BYTES);
  }
  if (length > BigInt(bundleBytesMax)) return { kind: 'invalid', reason: `PDU announces ${length} bytes, more than the ${bundleBytesMax} accepted`, announcedBytes: length };
  const total = 1 + argumentBytes + Number(length);
  if (queue.length < total) return { kind: 'incomplete' };
  queue.consume(1 + argumentBytes);
  return { kind: 'bundle', bundle: queue.take(Number(length)) };
}

interface Settings {
  readonly clock: Clock;
  readonly bundleBytesMax: number;
  readonly connectTimeoutMs: number;
  readonly windowBytes: number;
  readonly sendsQueuedMax: number;
  readonly lingerMs: number;
  readonly log: ClLog;
}

export class MtcpConvergenceLayer extends TcpClHost<MtcpConnection> {
  constructor(options: MtcpConvergenceLayerOptions) {
    const s: Settings = {
      clock: options.clock,
      bundleBytesMax: options.bundleBytesMax ?? 16 * MIB,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      windowBytes: options.windowBytes ?? 32 * MIB,
      sendsQueuedMax: options.sendsQueuedMax ?? 10_000,
      lingerMs: options.lingerMs ?? 2_000,
      log: options.log ?? (() => {}),
    };
    const connectionsMax = options.connectionsMax ?? 64;
    for (const [name, value] of [['bundleBytesMax', s.bundleBytesMax], ['windowBytes', s.windowBytes], ['sendsQueuedMax', s.sendsQueuedMax], ['connectionsMax', connectionsMax]] as const) {
      assert.ok(Number.isSafeInteger(value) && value >= 1, `${name} must be an integer >= 1, got ${value}`);
    }
    assert.ok(s.connectTimeoutMs > 0 && s.lingerMs > 0, 'connectTimeoutMs and lingerMs must be > 0');
    super({
      name: 'mtcp', listen: options.listen, connectionsMax, log: s.log,
      connect: (target, handler, onEnded) => MtcpConnection.outbound(target, s, handler, onEnded),
      accept: (socket, handler, onEnded) => MtcpConnection.inbound(socket, s, handler, onEnded),
      end: (connection, why) => connection.close(disconnected(why), true),
    });
  }
}

/** One MTCP connection: writes our bundles (when we opened it) and reads the peer's. */
class MtcpConnection {
  readonly #settings: Settings;
  readonly #handler: BundleHandler;
  readonly #onClosed: (connection: MtcpConnection) => void;
  readonly #queue = new ByteQueue();
  readonly #sendQueue: PendingSend[] = [];
  /** Written and waiting for the socket's write callback. */
  readonly #written = new Set<PendingSend>();
  #label: string;
  #socket: Socket | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #awaitingDrain = false;
  #deliveryBytesPending = 0;
  #readingPaused = false;

  static outbound(target: HostPort, settings: Settings, handler: BundleHandler, onClosed: (connection: MtcpConnection) => void): MtcpConnection {
    const connection = new MtcpConnection(settings, handler, onClosed, formatHostPort(target));
    void connection.#connect(target);
    return connection;
  }

  static inbound(socket: Socket, settings: Settings, handler: BundleHandler, onClosed: (connection: MtcpConnection) => void): MtcpConnection {
    const connection = new MtcpConnection(settings, handler, onClosed, `${socket.remoteAddress}:${socket.remotePort}`);
    connection.#attach(socket);
    return connection;
  }

  private constructor(settings: Settings, handler: BundleHandler, onClosed: (connection: MtcpConnection) => void, label: string) {
    this.#settings = settings;
    this.#handler = handler;
    this.#onClosed = onClosed;
    this.#label = label;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** MTCP has no session to wind down: a connection takes bundles until it is closed. */
  get acceptsSends(): boolean {
    return !this.#closed;
  }

  submit(bundle: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) return Promise.reject(disconnected(`the MTCP connection to ${this.#label} is closed`));
    if (this.#sendQueue.length >= this.#settings.sendsQueuedMax) {
      return Promise.reject(new OrbitfedError('ORBITFED_CL_BUSY', `${this.#sendQueue.length} sends already wait for ${this.#label} (sendsQueuedMax)`));
    }
    return new Promise<void>((resolve, reject) => {
      const send: PendingSend = { bundle, resolve, reject, settled: false, detach: () => {} };
      if (signal !== undefined) {
        const onAbort = (): void => {
          const queued = this.#sendQueue.indexOf(send);
          if (queued >= 0) this.#sendQueue.splice(queued, 1);
          settle(send, signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        send.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.#sendQueue.push(send);
      this.#pump();
    });
  }

  /** Closes the connection; sends not yet handed to the socket reject with `error`. Resolves once closed. */
  close(error: Error, graceful: boolean): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const send of this.#sendQueue.splice(0)) settle(send, error);
    const socket = this.#socket;
    if (graceful && socket !== undefined) {
      // Written bundles settle through their write callbacks as the socket flushes.
      this.#closing = endGracefully(socket, this.#settings.clock, this.#settings.lingerMs);
    } else {
      socket?.destroy();
      for (const send of this.#written) settle(send, error);
      this.#closing = Promise.resolve();
    }
    if (this.#queue.length > 0) this.#log('mtcp.partial-bundle-dropped', { peer: this.#label, receivedBytes: this.#queue.length, reason: error.message });
    this.#onClosed(this);
    return this.#closing;
  }

  async #connect(target: HostPort): Promise<void> {
    let socket: Socket;
    try {
      socket = await connectTcp(target, this.#settings.clock, this.#settings.connectTimeoutMs);
    } catch (error) {
      void this.close(error instanceof OrbitfedError ? error : disconnected(`cannot connect to ${this.#label}: ${(error as Error).message}`, error), false);
      return;
    }
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#attach(socket);
    this.#pump();
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => void this.close(disconnected(`${this.#label} closed the MTCP connection`), true));
    socket.on('error', (error) => void this.close(disconnected(`the MTCP connection with ${this.#label} failed: ${error.message}`, error), false));
    socket.on('close', () => {
      const error = disconnected(`the MTCP connection with ${this.#label} closed`);
      for (const send of this.#written) settle(send, error);
      void this.close(error, false);
    });
  }

  #pump(): void {
    const socket = this.#socket;
    if (socket === undefined || this.#closed || this.#awaitingDrain || this.#sendQueue.length === 0) return;
    // One system call for the PDUs of one turn (head and bundle each, several bundles), as the TCPCLs do.
    socket.cork();
    queueMicrotask(() => socket.uncork());
    while (this.#sendQueue.length > 0) {
      const send = this.#sendQueue.shift()!;
      if (send.settled) continue;
      socket.write(encodeMtcpPduHead(send.bundle.byteLength));
      this.#written.add(send);
      const flowing = socket.write(send.bundle, (error) => {
        this.#written.delete(send);
        settle(send, error === undefined || error === null ? undefined : disconnected(`writing to ${this.#label} failed: ${error.message}`, error));
      });
      if (!flowing) {
        this.#awaitingDrain = true;
        socket.once('drain', () => {
          this.#awaitingDrain = false;
          this.#pump();
        });
        return;
      }
    }
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(chunk);
    this.#process();
  }

  #process(): void {
    while (!this.#closed && !this.#readingPaused) {
      const read = readMtcpPdu(this.#queue, this.#settings.bundleBytesMax);
      if (read.kind === 'incomplete') return;
      if (read.kind === 'invalid') {
        if (read.announcedBytes !== undefined) {
          this.#log('mtcp.frame-too-large', { peer: this.#label, announcedBytes: String(read.announcedBytes), bundleBytesMax: this.#settings.bundleBytesMax });
        } else {
          this.#log('mtcp.protocol-violation', { peer: this.#label, reason: read.reason });
        }
        this.#queue.consume(this.#queue.length);
        void this.close(disconnected(`${this.#label} broke MTCP: ${read.reason}`), false);
        return;
      }
      void this.#deliver(read.bundle);
    }
  }

  /** Runs the handler; a refusal can only be logged (MTCP has no way to tell the sender). Never rejects. */
  async #deliver(bundle: Uint8Array): Promise<void> {
    this.#deliveryBytesPending += bundle.byteLength;
    if (this.#deliveryBytesPending > this.#settings.windowBytes && !this.#readingPaused) {
      this.#readingPaused = true;
      this.#socket?.pause();
    }
    const from: ReceivedFrom = { cl: 'mtcp', remoteAddress: this.#socket?.remoteAddress === undefined ? this.#label : `${this.#socket.remoteAddress}:${this.#socket.remotePort}` };
    let verdict: BundleVerdict;
    try {
      verdict = await this.#handler(bundle, from);
    } catch (error) {
      this.#log('mtcp.handler-failed', { peer: this.#label, bundleBytes: bundle.byteLength, error: (error as Error)?.message ?? String(error) });
      verdict = { accepted: false, reason: 'the receiving node failed to store the bundle' };
    }
    if (verdict?.accepted !== true) {
      this.#log('mtcp.refused-unacknowledged', { peer: this.#label, bundleBytes: bundle.byteLength, why: verdict?.accepted === false ? verdict.reason : 'refused' });
    }
    this.#deliveryBytesPending -= bundle.byteLength;
    if (this.#readingPaused && this.#deliveryBytesPending <= this.#settings.windowBytes) {
      this.#readingPaused = false;
      this.#socket?.resume();
      this.#process();
    }
  }

  #log(event: string, fields: Record<string, unknown>): void {
    this.#settings.log(event, fields);
  }
}
