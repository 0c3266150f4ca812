// The libp2p side of the validators' transport (validator-transport.ts), which runs it on a thread
// of its own (validator-transport-worker.ts): dtn/'s Libp2pNode (TCP, noise, yamux, a connection
// gater that admits only the registered validator keys, so traffic from anyone else never reaches
// consensus), one protocol `/orbitfed/consensus/1.0.0`, one long-lived outbound stream per peer
// carrying frames of a 4-byte big-endian length and one message. Frames are opaque bytes here:
// encoding and decoding the messages stays with the consensus core's thread.
//
// Best effort, as Tendermint assumes of its network before GST: while a stream is being opened (or
// the node is still starting) frames wait in a bounded queue; a frame that does not fit, or a peer
// that cannot be reached, is dropped (the core's gossip re-sends what matters). A failed peer is
// retried after a back-off. An inbound frame longer than the limit resets its stream.
import { OrbitfedError, type Clock } from '../common/index.ts';
import { createLibp2pNode, libp2pPeerIdOf, type Libp2pNode, type PeerStream } from '../dtn/index.ts';

export const CONSENSUS_PROTOCOL = '/orbitfed/consensus/1.0.0';
export const FRAME_HEADER_BYTES = 4;

export interface ValidatorPeer {
  readonly address: string;
  readonly publicKey: Uint8Array;
  /** Multiaddr ending in /p2p/<peer id>: every validator dials every other (a full mesh of 4–7). */
  readonly multiaddr: string;
}

/** What the links need; plain data, so that it crosses to the transport's thread as it is. */
export interface ValidatorLinksOptions {
  readonly identitySeed: Uint8Array;
  readonly listenAddresses: readonly string[];
  readonly peers: readonly ValidatorPeer[];
  /** Longest message a frame may carry; a longer inbound frame resets its stream. */
  readonly frameBytesMax: number;
  /** Bytes queued per peer while its stream opens; beyond, frames are dropped. */
  readonly queuedBytesMax: number;
  /** Wait before dialling a peer again after a failure. */
  readonly redialMs: number;
}

/** Where the links report: inbound messages (the bytes of one frame, without its header) and log lines. */
export interface ValidatorLinksEvents {
  message(fromAddress: string, bytes: Uint8Array): void;
  log(level: 'debug' | 'warn', fields: Record<string, unknown>, message: string): void;
}

interface PeerState {
  readonly peer: ValidatorPeer;
  stream: PeerStream | null;
  opening: boolean;
  queue: Uint8Array[];
  queuedBytes: number;
  retryAtMs: number;
  /** Streams this peer opened towards us (reset when its traffic does not decode). */
  readonly inbound: Set<PeerStream>;
}

export class ValidatorLinks {
  readonly #options: ValidatorLinksOptions;
  readonly #clock: Clock;
  readonly #events: ValidatorLinksEvents;
  readonly #peers = new Map<string, PeerState>();
  readonly #addressOfPeerId = new Map<string, string>();
  #node: Libp2pNode | null = null;
  #stopped = false;
  readonly stats = { framesSent: 0, framesReceived: 0, framesDropped: 0, streamsReset: 0 };

  constructor(options: ValidatorLinksOptions, clock: Clock, events: ValidatorLinksEvents) {
    this.#options = options;
    this.#clock = clock;
    this.#events = events;
    for (const peer of options.peers) {
      this.#peers.set(peer.address, { peer, stream: null, opening: false, queue: [], queuedBytes: 0, retryAtMs: 0, inbound: new Set() });
      this.#addressOfPeerId.set(libp2pPeerIdOf(peer.publicKey), peer.address);
    }
  }

  /** The addresses peers dial (after `start`). */
  addresses(): string[] {
    return this.#node?.addresses() ?? [];
  }

  /** Starts the libp2p node; frames queued meanwhile leave as soon as their streams open. */
  async start(): Promise<void> {
    const node = await createLibp2pNode({
      identitySeed: this.#options.identitySeed,
      allowedPublicKeys: this.#options.peers.map((p) => p.publicKey),
      listenAddresses: this.#options.listenAddresses,
    });
    await node.handle(CONSENSUS_PROTOCOL, (stream) => this.#accept(stream), { inboundStreamsMax: 4, outboundStreamsMax: 4 });
    await node.start();
    this.#node = node;
    for (const state of this.#peers.values()) if (state.queue.length > 0) this.#open(state);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const node = this.#node;
    this.#node = null;
    if (node !== null) await node.stop();
  }

  /** Sends a frame (header included) to one peer, or to every peer when `toAddress` is null. */
  send(toAddress: string | null, frame: Uint8Array): void {
    if (toAddress === null) {
      for (const state of this.#peers.values()) this.#enqueue(state, frame);
      return;
    }
    const state = this.#peers.get(toAddress);
    if (state !== undefined) this.#enqueue(state, frame);
  }

  /** Resets the streams a peer opened towards us (its traffic did not decode). */
  resetInbound(fromAddress: string, why: string): void {
    const state = this.#peers.get(fromAddress);
    if (state === undefined) return;
    for (const stream of state.inbound) this.#reset(stream, fromAddress, why, false);
    state.inbound.clear();
  }

  #enqueue(state: PeerState, frame: Uint8Array): void {
    if (this.#stopped) return;
    if (state.stream !== null) {
      try {
        state.stream.write(frame);
        this.stats.framesSent++;
        return;
      } catch {
        state.stream = null;
      }
    }
    if (state.queuedBytes + frame.length > this.#options.queuedBytesMax) {
      this.stats.framesDropped++;
      return;
    }
    state.queue.push(frame);
    state.queuedBytes += frame.length;
    this.#open(state);
  }

  #open(state: PeerState): void {
    const node = this.#node;
    const multiaddr = state.peer.multiaddr;
    // Before the node runs, frames wait in the queue; `start` opens the streams.
    if (state.opening || node === null) return;
    const nowMs = this.#clock.now();
    if (nowMs < state.retryAtMs) {
      this.#dropQueue(state);
      return;
    }
    state.opening = true;
    node.openStream(multiaddr, CONSENSUS_PROTOCOL).then(
      (stream) => {
        state.opening = false;
        if (this.#stopped) {
          stream.reset(new Error('transport stopped'));
          return;
        }
        this.#listenOutbound(state, stream);
        state.stream = stream;
        const queued = state.queue;
        state.queue = [];
        state.queuedBytes = 0;
        for (const frame of queued) this.#enqueue(state, frame);
      },
      (error: unknown) => {
        state.opening = false;
        state.retryAtMs = this.#clock.now() + this.#options.redialMs;
        this.#dropQueue(state);
        this.#events.log('debug', { peer: state.peer.address, error: (error as Error).message }, 'cannot reach validator');
      },
    );
  }

  #dropQueue(state: PeerState): void {
    this.stats.framesDropped += state.queue.length;
    state.queue = [];
    state.queuedBytes = 0;
  }

  /** Peers answer on their own outbound stream; on ours we only watch for its end. */
  #listenOutbound(state: PeerState, stream: PeerStream): void {
    stream.listen({
      data: () => undefined,
      remoteWriteClosed: () => undefined,
      closed: () => {
        if (state.stream === stream) state.stream = null;
      },
    });
  }

  #accept(stream: PeerStream): void {
    const from = this.#addressOfPeerId.get(stream.origin.peerId);
    const state = from === undefined ? undefined : this.#peers.get(from);
    if (from === undefined || state === undefined) {
      // The gater admits only validator keys; a stream from anyone else cannot happen, but is refused anyway.
      stream.reset(new OrbitfedError('ORBITFED_CONSENSUS_PEER', `peer ${stream.origin.peerId} is not a validator`));
      return;
    }
    state.inbound.add(stream);
    let buffer = new Uint8Array(0);
    stream.listen({
      data: (chunk) => {
        const joined = new Uint8Array(buffer.length + chunk.length);
        joined.set(buffer);
        joined.set(chunk, buffer.length);
        buffer = joined;
        let offset = 0;
        while (buffer.length - offset >= FRAME_HEADER_BYTES) {
          const length = new DataView(buffer.buffer, buffer.byteOffset + offset, FRAME_HEADER_BYTES).getUint32(0);
          if (length > this.#options.frameBytesMax) {
            this.#reset(stream, from, `frame of ${length} bytes is above ${this.#options.frameBytesMax}`);
            return;
          }
          if (buffer.length - offset - FRAME_HEADER_BYTES < length) break;
          const bytes = buffer.slice(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
          offset += FRAME_HEADER_BYTES + length;
          this.stats.framesReceived++;
          this.#events.message(from, bytes);
        }
        buffer = buffer.slice(offset);
      },
      remoteWriteClosed: () => undefined,
      closed: () => {
        state.inbound.delete(stream);
      },
    });
  }

  #reset(stream: PeerStream, from: string, why: string, log = true): void {
    this.stats.streamsReset++;
    if (log) this.#events.log('warn', { peer: from, why }, 'malformed consensus traffic; stream reset');
    stream.reset(new OrbitfedError('ORBITFED_CONSENSUS_DECODE', why));
  }
}

/** A message's bytes behind the 4-byte big-endian length. */
export function frameOf(bytes: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + bytes.length);
  new DataView(frame.buffer).setUint32(0, bytes.length);
  frame.set(bytes, FRAME_HEADER_BYTES);
  return frame;
}

/** What the consensus thread tells the transport's thread (validator-transport-worker.ts); `start` comes first. */
export type ToLinks =
  | {
    readonly kind: 'start';
    readonly options: ValidatorLinksOptions;
    /** One BigInt64 counter the thread adds each handled frame's bytes to (SENT_BYTES_HANDLED): what is still in the port is bounded by its sender. */
    readonly handledBytes: SharedArrayBuffer;
  }
  | { readonly kind: 'send'; readonly to: string | null; readonly frame: Uint8Array }
  | { readonly kind: 'reset'; readonly from: string; readonly why: string }
  | { readonly kind: 'stop' };

/** What the transport's thread tells the consensus thread. */
export type FromLinks =
  | { readonly kind: 'started'; readonly addresses: string[] }
  | { readonly kind: 'start-failed'; readonly message: string; readonly code: string | undefined }
  | { readonly kind: 'frame'; readonly from: string; readonly bytes: Uint8Array }
  | { readonly kind: 'log'; readonly level: 'debug' | 'warn'; readonly fields: Record<string, unknown>; readonly message: string }
  | { readonly kind: 'stopped' };

