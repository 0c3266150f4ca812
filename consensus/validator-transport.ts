// Validators reach each other over the federation's libp2p overlay (validator-links.ts: TCP, noise,
// yamux, and a connection gater that admits only the registered validator keys, so consensus
// traffic from anyone else never reaches the core). Each validator's libp2p identity is its
// consensus key, so the peer id a noise handshake proves names the validator: a message's sender
// is authenticated by the connection, and the core checks every signature anyway.
//
// The libp2p stack runs on a worker thread of its own (validator-transport-worker.ts); this side
// encodes and decodes the messages (consensus-codec.ts) and moves frames across, each as one
// transferred buffer. Why a thread: at a restart, loading and starting libp2p (~0.35 s of CPU
// here) then overlaps the ledger restore on the consensus thread instead of preceding it, and in
// operation the stream encryption (noise, ChaCha20-Poly1305 in JavaScript) and multiplexing are
// off the thread that executes blocks. Sending stays best effort: a frame posted before the thread
// has started waits in its bounded queue (validator-links.ts).
//
// A frame that does not decode resets the sender's inbound streams. A transport thread that fails
// is rethrown here as an uncaught error: a validator without its network must not go on silently.
import type { Worker } from 'node:worker_threads';
import { OrbitfedError, type Logger, silentLogger } from '../common/index.ts';
import {
  CONSENSUS_CODEC_LIMITS_DEFAULT, decodeValidatorMessage, encodeValidatorMessage, type ConsensusCodecLimits, type ValidatorMessage,
} from './consensus-codec.ts';
import { frameOf, type FromLinks, type ToLinks, type ValidatorLinksOptions, type ValidatorPeer } from './validator-links.ts';
import type { ValidatorTransport } from './validator-node.ts';
import { startWorkerThread } from './worker-thread.ts';

export { CONSENSUS_PROTOCOL, type ValidatorPeer } from './validator-links.ts';

export interface Libp2pValidatorTransportOptions {
  readonly identitySeed: Uint8Array;
  readonly listenAddresses: readonly string[];
  readonly peers: readonly ValidatorPeer[];
  readonly logger?: Logger;
  readonly codecLimits?: ConsensusCodecLimits;
  /**
   * Bytes queued per peer while its stream opens, and bytes posted to the transport's thread and not
   * yet handled by it; beyond either, frames are dropped (best effort). Default 64 MiB.
   */
  readonly queuedBytesMax?: number;
  /** Wait before dialling a peer again after a failure (timed on the transport's thread by a RealClock); default 250 ms. */
  readonly redialMs?: number;
  /** The transport's thread, started ahead (`startTransportThread`) so that its modules load early; default: started by `start`. */
  readonly thread?: Worker;
}

const WORKER_URL = new URL('./validator-transport-worker.ts', import.meta.url);
const QUEUED_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/**
 * Starts a transport thread ahead of its transport: it loads the libp2p side's modules while the
 * caller prepares the transport's options. Hand it to one transport (`thread`), or terminate it.
 */
export function startTransportThread(): Worker {
  return startWorkerThread(WORKER_URL);
}

export class Libp2pValidatorTransport implements ValidatorTransport {
  readonly #options: Libp2pValidatorTransportOptions;
  readonly #log: Logger;
  readonly #limits: ConsensusCodecLimits;
  readonly #peerAddresses: ReadonlySet<string>;
  #worker: Worker | null = null;
  #addresses: string[] = [];
  #receiver: ((from: string, message: ValidatorMessage) => void) | null = null;
  #stopped = false;
  #onStopped: (() => void) | null = null;
  #exited = false;
  /** Bytes posted to the transport's thread, and (shared with it) the bytes it has handled. */
  #postedBytes = 0n;
  readonly #handledBytes = new BigInt64Array(new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT));
  readonly stats = { framesSent: 0, framesReceived: 0, framesUndecodable: 0, framesDropped: 0 };

  constructor(options: Libp2pValidatorTransportOptions) {
    this.#options = options;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'consensus-transport' });
    this.#limits = options.codecLimits ?? CONSENSUS_CODEC_LIMITS_DEFAULT;
    this.#peerAddresses = new Set(options.peers.map((p) => p.address));
  }

  /** The addresses peers dial (after `start`). */
  addresses(): string[] {
    return [...this.#addresses];
  }

  /**
   * Starts the transport's thread and resolves once its libp2p node listens. Frames sent before
   * that wait in the thread's queues, so the caller may go on (restore its ledger) meanwhile.
   */
  start(): Promise<void> {
    if (this.#worker !== null) throw new OrbitfedError('ORBITFED_TRANSPORT_STARTED', 'the validator transport is started once');
    const options: ValidatorLinksOptions = {
      identitySeed: this.#options.identitySeed,
      listenAddresses: this.#options.listenAddresses,
      peers: this.#options.peers,
      frameBytesMax: this.#limits.messageBytesMax,
      queuedBytesMax: this.#options.queuedBytesMax ?? QUEUED_BYTES_MAX_DEFAULT,
      redialMs: this.#options.redialMs ?? 250,
    };
    const worker = this.#options.thread ?? startTransportThread();
    this.#worker = worker;
    if (worker.threadId < 0) return Promise.reject(new OrbitfedError('ORBITFED_TRANSPORT_START', 'the validator transport\'s thread ended before it started'));
    this.#post(worker, { kind: 'start', options, handledBytes: this.#handledBytes.buffer as SharedArrayBuffer });
    return new Promise((resolve, reject) => {
      let started = false;
      worker.once('exit', (exitCode) => {
        this.#exited = true;
        this.#onStopped?.();
        if (!started) reject(new OrbitfedError('ORBITFED_TRANSPORT_START', `the validator transport's thread ended (exit code ${exitCode}) before it started`));
      });
      worker.on('message', (message: FromLinks) => {
        switch (message.kind) {
          case 'started':
            started = true;
            this.#addresses = message.addresses;
            resolve();
            return;
          case 'start-failed':
            reject(new OrbitfedError(message.code?.startsWith('ORBITFED_') ? message.code : 'ORBITFED_TRANSPORT_START', `the validator transport did not start: ${message.message}`));
            return;
          case 'frame':
            this.#deliver(message.from, message.bytes);
            return;
          case 'log':
            if (message.level === 'warn') this.#log.warn(message.fields, message.message);
            else this.#log.debug(message.fields, message.message);
            return;
          case 'stopped':
            this.#onStopped?.();
            return;
        }
      });
      worker.on('error', (error) => {
        if (!started) {
          reject(new OrbitfedError('ORBITFED_TRANSPORT_START', `the validator transport did not start: ${error.message}`));
          return;
        }
        if (this.#stopped) return;
        this.#log.error({ error: error.message }, 'the validator transport failed');
        queueMicrotask(() => {
          throw error;
        });
      });
    });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const worker = this.#worker;
    this.#worker = null;
    if (worker === null) return;
    if (!this.#exited) {
      // The thread stops its libp2p node (closing the connections politely), then it is ended.
      const stopped = new Promise<void>((resolve) => {
        this.#onStopped = resolve;
      });
      this.#post(worker, { kind: 'stop' });
      await stopped;
    }
    await worker.terminate();
  }

  onMessage(receiver: (from: string, message: ValidatorMessage) => void): void {
    this.#receiver = receiver;
  }

  send(toAddress: string, message: ValidatorMessage): void {
    if (!this.#peerAddresses.has(toAddress)) return;
    this.#sendFrame(toAddress, frameOf(encodeValidatorMessage(message)));
  }

  broadcast(message: ValidatorMessage): void {
    this.#sendFrame(null, frameOf(encodeValidatorMessage(message)));
  }

  #sendFrame(to: string | null, frame: Uint8Array): void {
    const worker = this.#worker;
    if (worker === null || this.#stopped) return;
    // The port to the thread is not bounded by itself: a thread that falls behind makes frames drop here, as a full peer queue does there.
    const pendingBytes = this.#postedBytes - Atomics.load(this.#handledBytes, 0);
    if (pendingBytes + BigInt(frame.length) > BigInt(this.#options.queuedBytesMax ?? QUEUED_BYTES_MAX_DEFAULT)) {
      this.stats.framesDropped++;
      return;
    }
    this.#postedBytes += BigInt(frame.length);
    this.stats.framesSent++;
    this.#post(worker, { kind: 'send', to, frame }, [frame.buffer as ArrayBuffer]);
  }

  #post(worker: Worker, message: ToLinks, transfer: ArrayBuffer[] = []): void {
    worker.postMessage(message, transfer);
  }

  #deliver(from: string, bytes: Uint8Array): void {
    if (this.#stopped || !this.#peerAddresses.has(from)) return;
    let message: ValidatorMessage;
    try {
      message = decodeValidatorMessage(bytes, this.#limits);
    } catch (error) {
      this.stats.framesUndecodable++;
      const why = (error as Error).message;
      this.#log.warn({ peer: from, why }, 'malformed consensus traffic; stream reset');
      if (this.#worker !== null) this.#post(this.#worker, { kind: 'reset', from, why });
      return;
    }
    this.stats.framesReceived++;
    this.#receiver?.(from, message);
  }
}
