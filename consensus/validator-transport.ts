// Validators reach each other over the federation's libp2p overlay (dtn/'s Libp2pNode: TCP, noise,
// yamux, and a connection gater that admits only the registered validator keys, so consensus traffic
// from anyone else never reaches the core). Each validator's libp2p identity is its consensus key,
// so the peer id a noise handshake proves names the validator: a message's sender is authenticated
// by the connection, and the core checks every signature anyway.
//
// One protocol, `/orbitfed/consensus/1.0.0`; one long-lived outbound stream per peer carrying
// frames of a 4-byte big-endian length and one CBOR message (consensus-codec.ts). Sending is best
// effort, as Tendermint assumes of its network before GST: while a stream is being opened frames
// wait in a bounded queue; a frame that does not fit, or a peer that cannot be reached, is dropped
// (the core's gossip re-sends what matters). A failed peer is retried after a back-off.
// Inbound frames larger than the codec's limit, or that do not decode, reset the stream.
import { OrbitfedError, type Clock, type Logger, silentLogger } from '../common/index.ts';
import { createLibp2pNode, libp2pPeerIdOf, type Libp2pNode, type PeerStream } from '../dtn/index.ts';
import {
  CONSENSUS_CODEC_LIMITS_DEFAULT, decodeValidatorMessage, encodeValidatorMessage, type ConsensusCodecLimits, type ValidatorMessage,
} from './consensus-codec.ts';
import type { ValidatorTransport } from './validator-node.ts';

export const CONSENSUS_PROTOCOL = '/orbitfed/consensus/1.0.0';
const FRAME_HEADER_BYTES = 4;

export interface ValidatorPeer {
  readonly address: string;
  readonly publicKey: Uint8Array;
  /** Multiaddr ending in /p2p/<peer id>: every validator dials every other (a full mesh of 4–7). */
  readonly multiaddr: string;
}

export interface Libp2pValidatorTransportOptions {
  readonly identitySeed: Uint8Array;
  readonly listenAddresses: readonly string[];
  readonly peers: readonly ValidatorPeer[];
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly codecLimits?: ConsensusCodecLimits;
  /** Bytes queued per peer while its stream opens; beyond, frames are dropped. Default 64 MiB. */
  readonly queuedBytesMax?: number;
  /** Wait before dialling a peer again after a failure; default 250 ms. */
  readonly redialMs?: number;
}

interface PeerState {
  readonly peer: ValidatorPeer;
  stream: PeerStream | null;
  opening: boolean;
  queue: Uint8Array[];
  queuedBytes: number;
  retryAtMs: number;
}

export class Libp2pValidatorTransport implements ValidatorTransport {
  readonly #options: Libp2pValidatorTransportOptions;
  readonly #log: Logger;
  readonly #limits: ConsensusCodecLimits;
  readonly #peers = new Map<string, PeerState>();
  readonly #addressOfPeerId = new Map<string, string>();
  #node: Libp2pNode | null = null;
  #receiver: ((from: string, message: ValidatorMessage) => void) | null = null;
  #stopped = false;
  readonly stats = { framesSent: 0, framesReceived: 0, framesDropped: 0, streamsReset: 0 };

  constructor(options: Libp2pValidatorTransportOptions) {
    this.#options = options;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'consensus-transport' });
    this.#limits = options.codecLimits ?? CONSENSUS_CODEC_LIMITS_DEFAULT;
    for (const peer of options.peers) {
      this.#peers.set(peer.address, { peer, stream: null, opening: false, queue: [], queuedBytes: 0, retryAtMs: 0 });
      this.#addressOfPeerId.set(libp2pPeerIdOf(peer.publicKey), peer.address);
    }
  }

  /** The addresses peers dial (after `start`). */
  addresses(): string[] {
    return this.#node?.addresses() ?? [];
  }

  async start(): Promise<void> {
    const node = await createLibp2pNode({
      identitySeed: this.#options.identitySeed,
      allowedPublicKeys: this.#options.peers.map((p) => p.publicKey),
      listenAddresses: this.#options.listenAddresses,
    });
    await node.handle(CONSENSUS_PROTOCOL, (stream) => this.#accept(stream), { inboundStreamsMax: 4, outboundStreamsMax: 4 });
    await node.start();
    this.#node = node;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const node = this.#node;
    this.#node = null;
    if (node !== null) await node.stop();
  }

  onMessage(receiver: (from: string, message: ValidatorMessage) => void): void {
    this.#receiver = receiver;
  }

  send(toAddress: string, message: ValidatorMessage): void {
    const state = this.#peers.get(toAddress);
    if (state === undefined) return;
    this.#enqueue(state, frameOf(encodeValidatorMessage(message)));
  }

  broadcast(message: ValidatorMessage): void {
    const frame = frameOf(encodeValidatorMessage(message));
    for (const state of this.#peers.values()) this.#enqueue(state, frame);
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
    if (state.queuedBytes + frame.length > (this.#options.queuedBytesMax ?? 64 * 1024 * 1024)) {
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
    if (state.opening || node === null) return;
    const nowMs = this.#options.clock.now();
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
        state.retryAtMs = this.#options.clock.now() + (this.#options.redialMs ?? 250);
        this.#dropQueue(state);
        this.#log.debug({ peer: state.peer.address, error: (error as Error).message }, 'cannot reach validator');
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
    if (from === undefined) {
      // The gater admits only validator keys; a stream from anyone else cannot happen, but is refused anyway.
      stream.reset(new OrbitfedError('ORBITFED_CONSENSUS_PEER', `peer ${stream.origin.peerId} is not a validator`));
      return;
    }
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
          if (length > this.#limits.messageBytesMax) {
            this.#reset(stream, from, `frame of ${length} bytes is above ${this.#limits.messageBytesMax}`);
            return;
          }
          if (buffer.length - offset - FRAME_HEADER_BYTES < length) break;
          const bytes = buffer.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
          offset += FRAME_HEADER_BYTES + length;
          let message: ValidatorMessage;
          try {
            message = decodeValidatorMessage(bytes, this.#limits);
          } catch (error) {
            this.#reset(stream, from, (error as Error).message);
            return;
          }
          this.stats.framesReceived++;
          this.#receiver?.(from, message);
        }
        buffer = buffer.slice(offset);
      },
      remoteWriteClosed: () => undefined,
      closed: () => undefined,
    });
  }

  #reset(stream: PeerStream, from: string, why: string): void {
    this.stats.streamsReset++;
    this.#log.warn({ peer: from, why }, 'malformed consensus traffic; stream reset');
    stream.reset(new OrbitfedError('ORBITFED_CONSENSUS_DECODE', why));
  }
}

function frameOf(bytes: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + bytes.length);
  new DataView(frame.buffer).setUint32(0, bytes.length);
  frame.set(bytes, FRAME_HEADER_BYTES);
  return frame;
}
