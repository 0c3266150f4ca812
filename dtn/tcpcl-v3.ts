// The TCPCLv3 convergence layer (RFC 7242), the one TCP convergence layer that ION 4.1, µD3TN and
// HDTN all speak. The messages are in tcpcl-v3-messages.ts, the SDNVs in sdnv.ts.
//
// Setup (§4). Both sides send their contact header as soon as the connection is up: magic, version
// 3, flags, keepalive interval and the node's EID (`ipn:N.0` as ION writes it). Negotiated (§4.3):
// the keepalive interval is the smaller of both (0 on either side disables it); a peer whose
// version is not 3 is answered with SHUTDOWN "version mismatch".
//
// Acknowledgements (§5.3). Peers disagree on what the "request acknowledgement" flag means: ION
// acknowledges and waits for acknowledgements only when both headers set it (tcpcli.c), HDTN
// acknowledges whenever the peer set it. So we acknowledge whenever the peer set it, and we wait for
// acknowledgements only when both set it; an ACK_SEGMENT we did not ask for is ignored. When we
// acknowledge, intermediate segments are acknowledged at once with the cumulative length, and the
// last one (END) only after the BundleHandler resolved (the contract of convergence-layer.ts).
// TCPCLv3 acknowledgements carry no bundle identifier: they refer to bundles in the order they
// were sent, so ours leave in that order too, the answer to a bundle whose handler is still running
// holding back those behind it. With acknowledgements, `send()` resolves when the peer acknowledged
// the bundle's whole length; bundles are pipelined within `windowBundles` and `windowBytes`, and
// acknowledgements are applied in order (ION sends several per segment; any ascending sequence
// ending at the bundle's length is accepted).
//
// WITHOUT acknowledgements (a peer that does not ask for them, or `requestAcks: false`) there is no
// hop-by-hop acknowledgement at all: `send()` then resolves once the bundle's bytes were written to
// the socket and handed to the operating system. That is much weaker than an acknowledgement: the
// bytes may still be lost with the connection, and the peer may have refused or dropped the bundle;
// the agent must rely on end-to-end means (custody, status reports, application acknowledgements)
// for those bundles, or set `requireAcks`, which shuts such sessions down (and their sends reject).
// Likewise a bundle our handler refuses cannot be refused to such a peer; it is dropped and logged
// (`tcpclv3.refused-unacknowledged`).
//
// Refusal (§5.4). When both headers offer bundle refusal and acknowledgements are on, a bundle our
// handler refuses is answered with REFUSE_BUNDLE in place of its last acknowledgement, and a
// REFUSE_BUNDLE from the peer refers to the oldest unacknowledged bundle, whose send rejects with
// ORBITFED_CL_REFUSED ("completed" counts as acknowledged, "retransmit" rejects as disconnected).
// When acknowledgements are on but refusal is not, a refused bundle cannot be answered truthfully:
// the session is shut down (SHUTDOWN "busy"), so the peer keeps the bundle and tries again later.
//
// Limits: a segment or bundle larger than `bundleBytesMax`, an SDNV longer than 10 bytes or larger
// than its limit, an EID longer than 1024 bytes: each is refused as soon as its length is read,
// before anything is allocated; a bundle outgrowing the limit is refused (REFUSE_BUNDLE "no
// resources") where refusal is negotiated, and otherwise ends the session. Anything that is not
// TCPCLv3 gets a log line and a SHUTDOWN before the connection closes (a wrong magic is closed at
// once). While more than `windowBytes` of received bundles wait for the handler, reading pauses.
//
// Keepalive (§5.6). With an interval K, KEEPALIVE goes out after K seconds without sending; a
// session that hears nothing for 2K is shut down (SHUTDOWN "idle timeout"). Delivery is at least
// once, as for every CL: a send whose acknowledgement was lost rejects with ORBITFED_CL_DISCONNECTED.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { Clock, DurationMs, TimerHandle, UnixMs } from '../common/index.ts';
import { OrbitfedError } from '../common/index.ts';
import type { BundleHandler, BundleVerdict, ReceivedFrom } from './convergence-layer.ts';
import { EID_TEXT_BYTES_MAX } from './eid.ts';
import { TcpClHost } from './tcp-cl-host.ts';
import { ByteQueue, connectTcp, endGracefully, formatHostPort, type ClLog, type HostPort, type ListenAddress } from './tcp-connection.ts';
import {
  CONTACT_FLAG_REFUSAL,
  CONTACT_FLAG_REQUEST_ACK,
  encodeAckSegment,
  encodeContactHeader,
  encodeDataSegmentHead,
  encodeKeepalive,
  encodeRefuseBundle,
  encodeShutdown,
  readContactHeader,
  readTcpclV3Message,
  REFUSE_REASON,
  refuseReasonName,
  SHUTDOWN_REASON,
  shutdownReasonName,
  type TcpclV3ContactHeader,
  type TcpclV3Message,
} from './tcpcl-v3-messages.ts';
import { disconnected, settle, type PendingSend } from './pending-send.ts';

export interface TcpclV3ConvergenceLayerOptions {
  /** This node's EID as sent in the contact header; ION and HDTN expect `ipn:N.0`. */
  readonly localEid: string;
  readonly clock: Clock;
  /** Where to accept sessions; without it the CL only connects out. */
  readonly listen?: ListenAddress;
  /** Keepalive interval offered, seconds (0 disables); default 15, as ION. */
  readonly keepaliveSec?: number;
  /** Ask the peer to acknowledge segments (contact header flag 0x01); default true. */
  readonly requestAcks?: boolean;
  /**
   * Shut down sessions in which our sends would not be acknowledged (the peer does not ask for
   * acknowledgements), so that `send()` always means "stored by the peer"; default false.
   */
  readonly requireAcks?: boolean;
  /** Largest bundle (and segment) accepted, bytes; default 16 MiB. */
  readonly bundleBytesMax?: number;
  /** Largest segment sent, bytes; default 1 MiB. */
  readonly segmentBytesMax?: number;
  /** Bundles sent and not yet acknowledged, per session; default 64. */
  readonly windowBundles?: number;
  /** Bytes sent and not yet acknowledged per session, and bytes waiting for the handler before reading pauses; default 32 MiB. */
  readonly windowBytes?: number;
  /** Connect and contact header exchange must complete within this; default 10 s. */
  readonly contactTimeoutMs?: number;
  /** How long a peer may stay silent while our bundles await its acknowledgement; default 30 s. */
  readonly responseTimeoutMs?: number;
  /** How long `stop()` lets sessions finish what is in progress before SHUTDOWN; default 5 s. */
  readonly terminationTimeoutMs?: number;
  /** Sends waiting per peer; more reject with ORBITFED_CL_BUSY. Default 10,000. */
  readonly sendsQueuedMax?: number;
  /** Sessions accepted at once; more connections are closed on arrival. Default 64. */
  readonly sessionsMax?: number;
  readonly log?: ClLog;
}

const MIB = 1024 * 1024;

interface Settings {
  readonly localEid: string;
  readonly clock: Clock;
  readonly keepaliveSec: number;
  readonly flags: number;
  readonly requireAcks: boolean;
  readonly bundleBytesMax: number;
  readonly segmentBytesMax: number;
  readonly windowBundles: number;
  readonly windowBytes: number;
  readonly contactTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly terminationTimeoutMs: number;
  readonly sendsQueuedMax: number;
  readonly log: ClLog;
}

export class TcpclV3ConvergenceLayer extends TcpClHost<V3Session> {
  constructor(options: TcpclV3ConvergenceLayerOptions) {
    const settings: Settings = {
      localEid: options.localEid,
      clock: options.clock,
      keepaliveSec: options.keepaliveSec ?? 15,
      flags: (options.requestAcks ?? true) ? CONTACT_FLAG_REQUEST_ACK | CONTACT_FLAG_REFUSAL : 0,
      requireAcks: options.requireAcks ?? false,
      bundleBytesMax: options.bundleBytesMax ?? 16 * MIB,
      segmentBytesMax: options.segmentBytesMax ?? MIB,
      windowBundles: options.windowBundles ?? 64,
      windowBytes: options.windowBytes ?? 32 * MIB,
      contactTimeoutMs: options.contactTimeoutMs ?? 10_000,
      responseTimeoutMs: options.responseTimeoutMs ?? 30_000,
      terminationTimeoutMs: options.terminationTimeoutMs ?? 5_000,
      sendsQueuedMax: options.sendsQueuedMax ?? 10_000,
      log: options.log ?? (() => {}),
    };
    const positiveInteger = (name: string, value: number, max = Number.MAX_SAFE_INTEGER): void =>
      assert.ok(Number.isSafeInteger(value) && value >= 1 && value <= max, `${name} must be an integer in 1..${max}, got ${value}`);
    assert.ok(new TextEncoder().encode(settings.localEid).byteLength <= EID_TEXT_BYTES_MAX, `localEid is longer than ${EID_TEXT_BYTES_MAX} bytes`);
    assert.ok(Number.isInteger(settings.keepaliveSec) && settings.keepaliveSec >= 0 && settings.keepaliveSec <= 0xffff, `keepaliveSec must be an integer in 0..65535, got ${settings.keepaliveSec}`);
    assert.ok(!settings.requireAcks || (settings.flags & CONTACT_FLAG_REQUEST_ACK) !== 0, 'requireAcks needs requestAcks');
    positiveInteger('bundleBytesMax', settings.bundleBytesMax);
    positiveInteger('segmentBytesMax', settings.segmentBytesMax);
    positiveInteger('windowBundles', settings.windowBundles, 0xffff);
    positiveInteger('windowBytes', settings.windowBytes);
    positiveInteger('sendsQueuedMax', settings.sendsQueuedMax);
    for (const [name, value] of [['contactTimeoutMs', settings.contactTimeoutMs], ['responseTimeoutMs', settings.responseTimeoutMs], ['terminationTimeoutMs', settings.terminationTimeoutMs]] as const) {
      assert.ok(value > 0, `${name} must be > 0, got ${value}`);
    }
    const sessionsMax = options.sessionsMax ?? 64;
    positiveInteger('sessionsMax', sessionsMax);
    super({
      name: 'tcpclv3', listen: options.listen, connectionsMax: sessionsMax, log: settings.log,
      connect: (target, handler, onEnded) => V3Session.active(target, settings, handler, onEnded),
      accept: (socket, handler, onEnded) => V3Session.passive(socket, settings, handler, onEnded),
      end: (session, why) => session.terminate(why),
    });
  }
}

/** A bundle being sent or awaiting its acknowledgement, in the order sent. */
interface OutgoingBundle {
  readonly send: PendingSend;
  readonly bundle: Uint8Array;
  writtenBytes: number;
  acknowledgedBytes: number;
}

interface IncomingBundle {
  readonly parts: Uint8Array[];
  receivedBytes: number;
  refused: boolean;
}

/** One answer (acknowledgement or refusal) in the order the peer expects them; `bytes` is unset while a handler runs. */
interface Answer {
  bytes: Uint8Array | undefined;
}

interface Negotiated {
  readonly keepaliveMs: number;
  /** We wait for the peer's acknowledgements (both asked for them). */
  readonly acksFromPeer: boolean;
  /** We acknowledge the peer's segments (it asked for it). */
  readonly acksToPeer: boolean;
  /** The peer may refuse our bundles. */
  readonly refusalFromPeer: boolean;
  /** We may refuse the peer's bundles. */
  readonly refusalToPeer: boolean;
  readonly peerEid: string;
}

/** One TCPCLv3 session, either side: exchanges contact headers, carries bundles both ways, shuts down. */
class V3Session {
  readonly #settings: Settings;
  readonly #handler: BundleHandler;
  readonly #onEnded: (session: V3Session) => void;
  readonly #role: 'active' | 'passive';
  readonly #queue = new ByteQueue();
  readonly #sendQueue: PendingSend[] = [];
  /** Bundles written or being written and not yet acknowledged, oldest first (only with acksFromPeer). */
  readonly #unacknowledged: OutgoingBundle[] = [];
  readonly #answers: Answer[] = [];
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  #socket: Socket | undefined;
  #state: 'connecting' | 'contact' | 'established' | 'closed';
  #label: string;
  #negotiated: Negotiated | undefined;
  #unacknowledgedBytes = 0;
  #writing: OutgoingBundle | undefined;
  #awaitingDrain = false;
  #corked = false;
  #incoming: IncomingBundle | undefined;
  #deliveriesPending = 0;
  #deliveryBytesPending = 0;
  #readingPaused = false;
  #ending = false;
  #endedReported = false;
  #lastHeardMs: UnixMs;
  #lastSentMs: UnixMs;
  #setupTimer: TimerHandle | undefined;
  #silenceTimer: TimerHandle | undefined;
  #keepaliveTimer: TimerHandle | undefined;
  #terminationTimer: TimerHandle | undefined;

  static active(target: HostPort, settings: Settings, handler: BundleHandler, onEnded: (session: V3Session) => void): V3Session {
    const session = new V3Session(settings, handler, onEnded, 'active', formatHostPort(target));
    void session.#connect(target);
    return session;
  }

  static passive(socket: Socket, settings: Settings, handler: BundleHandler, onEnded: (session: V3Session) => void): V3Session {
    const session = new V3Session(settings, handler, onEnded, 'passive', `${socket.remoteAddress}:${socket.remotePort}`);
    session.#attach(socket);
    return session;
  }

  private constructor(settings: Settings, handler: BundleHandler, onEnded: (session: V3Session) => void, role: 'active' | 'passive', label: string) {
    this.#settings = settings;
    this.#handler = handler;
    this.#onEnded = onEnded;
    this.#role = role;
    this.#label = label;
    this.#state = role === 'active' ? 'connecting' : 'contact';
    this.#closedPromise = new Promise((resolve) => { this.#resolveClosed = resolve; });
    const now = settings.clock.now();
    this.#lastHeardMs = now;
    this.#lastSentMs = now;
    this.#setupTimer = settings.clock.setTimer(settings.contactTimeoutMs as DurationMs, () => {
      this.#setupTimer = undefined;
      if (this.#state === 'established' || this.#state === 'closed') return;
      this.#log('tcpclv3.setup-timeout', { peer: this.#label, contactTimeoutMs: settings.contactTimeoutMs });
      this.#close(disconnected(`no TCPCLv3 contact header from ${this.#label} within ${settings.contactTimeoutMs} ms`));
    });
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  get acceptsSends(): boolean {
    return this.#state !== 'closed' && !this.#ending;
  }

  submit(bundle: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    if (!this.acceptsSends) return Promise.reject(disconnected(`the TCPCLv3 session with ${this.#label} is ending`));
    if (this.#sendQueue.length >= this.#settings.sendsQueuedMax) {
      return Promise.reject(new OrbitfedError('ORBITFED_CL_BUSY', `${this.#sendQueue.length} sends already wait for ${this.#label} (sendsQueuedMax)`));
    }
    return new Promise<void>((resolve, reject) => {
      const send: PendingSend = { bundleBytes: bundle.byteLength, bundle, resolve, reject, settled: false, detach: () => {} };
      if (signal !== undefined) {
        const onAbort = (): void => {
          const queued = this.#sendQueue.indexOf(send);
          if (queued >= 0) this.#sendQueue.splice(queued, 1);
          send.bundle = undefined;
          settle(send, signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        send.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.#sendQueue.push(send);
      this.#pump();
    });
  }

  /**
   * Ends the session from our side: sends not started reject, bundles in flight and handlers
   * running get up to terminationTimeoutMs to finish, then SHUTDOWN and close.
   */
  terminate(why: string): Promise<void> {
    if (this.#state === 'closed') return this.#closedPromise;
    if (this.#state !== 'established') {
      this.#close(disconnected(`${why} (session with ${this.#label} not yet set up)`));
      return this.#closedPromise;
    }
    this.#ending = true;
    for (const send of this.#sendQueue.splice(0)) settle(send, disconnected(why));
    this.#reportEnded();
    this.#terminationTimer ??= this.#settings.clock.setTimer(this.#settings.terminationTimeoutMs as DurationMs, () => {
      this.#terminationTimer = undefined;
      this.#shutdown(undefined, `${why}; shut down after ${this.#settings.terminationTimeoutMs} ms`);
    });
    this.#maybeFinish(why);
    return this.#closedPromise;
  }

  // -------------------------------------------------------------------------------------------
  // Connection and setup

  async #connect(target: HostPort): Promise<void> {
    let socket: Socket;
    try {
      socket = await connectTcp(target, this.#settings.clock, this.#settings.contactTimeoutMs);
    } catch (error) {
      this.#close(error instanceof OrbitfedError ? error : disconnected(`cannot connect to ${this.#label}: ${(error as Error).message}`, error));
      return;
    }
    if (this.#state === 'closed') {
      socket.destroy();
      return;
    }
    this.#state = 'contact';
    this.#attach(socket);
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // The peer's FIN: what we still have to say (acknowledgements) goes out before we close too.
    socket.on('end', () => this.#close(disconnected(`${this.#label} closed the TCPCLv3 connection`), { graceful: true }));
    socket.on('error', (error) => this.#close(disconnected(`the TCPCLv3 connection with ${this.#label} failed: ${error.message}`, error)));
    socket.on('close', () => this.#close(disconnected(`the TCPCLv3 connection with ${this.#label} closed`)));
    // §4.1: each side sends its contact header as soon as the connection is up.
    const { flags, keepaliveSec, localEid } = this.#settings;
    this.#write(encodeContactHeader({ flags, keepaliveSec, eid: localEid }));
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.#lastHeardMs = this.#settings.clock.now();
    this.#queue.push(chunk);
    this.#process();
  }

  #process(): void {
    while (this.#state !== 'closed' && !this.#readingPaused) {
      if (this.#state === 'contact') {
        if (!this.#readContact()) return;
        continue;
      }
      const read = readTcpclV3Message(this.#queue, { segmentBytesMax: this.#settings.bundleBytesMax });
      if (read.kind === 'incomplete') return;
      if (read.kind === 'unknown-type') {
        this.#violation(`unknown message type 0x${read.messageType.toString(16)}`);
        return;
      }
      if (read.kind === 'invalid') {
        if (read.tooLarge === true) this.#log('tcpclv3.frame-too-large', { peer: this.#label, reason: read.reason, bundleBytesMax: this.#settings.bundleBytesMax });
        this.#violation(read.reason, read.tooLarge === true ? SHUTDOWN_REASON.busy : undefined, read.tooLarge !== true);
        return;
      }
      this.#onMessage(read.message);
    }
  }

  #readContact(): boolean {
    const read = readContactHeader(this.#queue, EID_TEXT_BYTES_MAX);
    if (read.kind === 'incomplete') return false;
    if (read.kind === 'invalid') {
      if (read.tooLarge === true) {
        this.#log('tcpclv3.frame-too-large', { peer: this.#label, reason: read.reason });
        this.#violation(read.reason, undefined, false);
      } else {
        this.#log('tcpclv3.protocol-violation', { peer: this.#label, reason: read.reason });
        this.#close(disconnected(`${this.#label} is not a TCPCL peer: ${read.reason}`), { violation: true });
      }
      return false;
    }
    if (read.kind === 'wrong-version') {
      this.#log('tcpclv3.version-mismatch', { peer: this.#label, peerVersion: read.version });
      this.#write(encodeShutdown({ reason: SHUTDOWN_REASON.versionMismatch }));
      this.#close(disconnected(`${this.#label} speaks TCPCL version ${read.version}, not 3`), { violation: true, graceful: true });
      return false;
    }
    this.#establish(read.header);
    return true;
  }

  #establish(header: TcpclV3ContactHeader): void {
    const ours = this.#settings.flags;
    const theirs = header.flags;
    const acksFromPeer = (ours & CONTACT_FLAG_REQUEST_ACK) !== 0 && (theirs & CONTACT_FLAG_REQUEST_ACK) !== 0;
    const acksToPeer = (theirs & CONTACT_FLAG_REQUEST_ACK) !== 0;
    const bothRefuse = (ours & CONTACT_FLAG_REFUSAL) !== 0 && (theirs & CONTACT_FLAG_REFUSAL) !== 0;
    if (this.#settings.requireAcks && !acksFromPeer) {
      this.#log('tcpclv3.acks-required', { peer: this.#label, peerFlags: theirs });
      this.#shutdown(undefined, `${this.#label} does not ask for acknowledgements, which this node requires`);
      return;
    }
    const keepaliveSec = Math.min(this.#settings.keepaliveSec, header.keepaliveSec);
    this.#negotiated = {
      keepaliveMs: keepaliveSec * 1000,
      acksFromPeer,
      acksToPeer,
      refusalFromPeer: bothRefuse && acksFromPeer,
      refusalToPeer: bothRefuse && acksToPeer,
      peerEid: header.eid,
    };
    this.#state = 'established';
    this.#setupTimer?.cancel();
    this.#setupTimer = undefined;
    if (header.eid !== '') this.#label = `${header.eid} (${this.#label})`;
    this.#log('tcpclv3.session-established', { peer: this.#label, role: this.#role, keepaliveSec, acksFromPeer, acksToPeer, refusal: bothRefuse, peerFlags: theirs });
    this.#scheduleKeepalive();
    this.#pump();
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  #onMessage(message: TcpclV3Message): void {
    switch (message.type) {
      case 'DATA_SEGMENT':
        this.#onSegment(message.start, message.end, message.data);
        return;
      case 'ACK_SEGMENT':
        this.#onAck(message.acknowledgedBytes);
        return;
      case 'REFUSE_BUNDLE':
        this.#onRefuse(message.reason);
        return;
      case 'KEEPALIVE':
      case 'LENGTH':
        // §5.5: LENGTH is advisory (and we never ask for it).
        return;
      case 'SHUTDOWN': {
        const reason = message.reason === undefined ? 'no reason given' : shutdownReasonName(message.reason);
        this.#log('tcpclv3.peer-shutdown', { peer: this.#label, reason, reconnectDelaySec: message.reconnectDelaySec });
        this.#close(disconnected(`${this.#label} shut the TCPCLv3 session down (${reason})`), { graceful: true });
        return;
      }
    }
  }

  #onSegment(start: boolean, end: boolean, data: Uint8Array): void {
    const negotiated = this.#negotiated!;
    if (start) {
      if (this.#incoming !== undefined && !this.#incoming.refused && this.#incoming.receivedBytes > 0) {
        // A new bundle began before the last one ended: the partial one is abandoned, as ION does.
        this.#log('tcpclv3.partial-bundle-dropped', { peer: this.#label, receivedBytes: this.#incoming.receivedBytes, reason: 'a new bundle started' });
      }
      this.#incoming = { parts: [], receivedBytes: 0, refused: false };
    } else if (this.#incoming === undefined) {
      this.#violation('a DATA_SEGMENT without START outside a bundle');
      return;
    }
    const incoming = this.#incoming!;
    if (incoming.refused) {
      if (end) this.#incoming = undefined;
      return;
    }
    // ION ignores empty segments; acknowledging one would repeat the last acknowledged length.
    if (data.byteLength === 0 && !end) return;
    if (incoming.receivedBytes + data.byteLength > this.#settings.bundleBytesMax) {
      this.#log('tcpclv3.bundle-too-large', { peer: this.#label, receivedBytes: incoming.receivedBytes + data.byteLength, bundleBytesMax: this.#settings.bundleBytesMax });
      if (!negotiated.refusalToPeer) {
        this.#violation(`bundle larger than ${this.#settings.bundleBytesMax} bytes`, SHUTDOWN_REASON.busy, false);
        return;
      }
      incoming.refused = true;
      incoming.parts.length = 0;
      this.#answer({ bytes: encodeRefuseBundle(REFUSE_REASON.noResources) });
      if (end) this.#incoming = undefined;
      return;
    }
    incoming.parts.push(data);
    incoming.receivedBytes += data.byteLength;
    if (!end) {
      if (negotiated.acksToPeer) this.#answer({ bytes: encodeAckSegment(incoming.receivedBytes) });
      return;
    }
    this.#incoming = undefined;
    const bundle = incoming.parts.length === 1 ? incoming.parts[0]! : concat(incoming.parts, incoming.receivedBytes);
    const answer: Answer = { bytes: undefined };
    if (negotiated.acksToPeer) this.#answers.push(answer);
    void this.#deliver(bundle, answer);
  }

  /** Runs the handler, then fills in the bundle's answer; never rejects. */
  async #deliver(bundle: Uint8Array, answer: Answer): Promise<void> {
    const negotiated = this.#negotiated!;
    this.#deliveriesPending += 1;
    this.#deliveryBytesPending += bundle.byteLength;
    if (this.#deliveryBytesPending > this.#settings.windowBytes) this.#pauseReading();
    const from: ReceivedFrom = {
      cl: 'tcpclv3',
      ...(negotiated.peerEid === '' ? {} : { peerId: negotiated.peerEid }),
      ...(this.#socket?.remoteAddress === undefined ? {} : { remoteAddress: `${this.#socket.remoteAddress}:${this.#socket.remotePort}` }),
    };
    let verdict: BundleVerdict;
    try {
      verdict = await this.#handler(bundle, from);
    } catch (error) {
      this.#log('tcpclv3.handler-failed', { peer: this.#label, bundleBytes: bundle.byteLength, error: (error as Error)?.message ?? String(error) });
      verdict = { accepted: false, reason: 'the receiving node failed to store the bundle' };
    }
    this.#deliveriesPending -= 1;
    this.#deliveryBytesPending -= bundle.byteLength;
    const accepted = verdict?.accepted === true;
    const why = verdict?.accepted === false && typeof verdict.reason === 'string' ? verdict.reason : accepted ? undefined : 'refused';
    if (this.#state === 'closed') {
      this.#log('tcpclv3.answer-dropped', { peer: this.#label, accepted });
    } else if (!negotiated.acksToPeer) {
      if (!accepted) this.#log('tcpclv3.refused-unacknowledged', { peer: this.#label, bundleBytes: bundle.byteLength, why });
    } else if (accepted) {
      answer.bytes = encodeAckSegment(bundle.byteLength);
      this.#flushAnswers();
    } else if (negotiated.refusalToPeer) {
      this.#log('tcpclv3.bundle-refused', { peer: this.#label, bundleBytes: bundle.byteLength, why });
      answer.bytes = encodeRefuseBundle(REFUSE_REASON.unknown);
      this.#flushAnswers();
    } else {
      // An acknowledgement would claim the bundle was stored; without refusal the only truthful answer is to end the session.
      this.#log('tcpclv3.bundle-refused', { peer: this.#label, bundleBytes: bundle.byteLength, why, action: 'shutdown (the peer did not offer bundle refusal)' });
      this.#shutdown(SHUTDOWN_REASON.busy, `refused a bundle from ${this.#label}, which does not accept refusals`);
      return;
    }
    if (this.#readingPaused && this.#deliveryBytesPending <= this.#settings.windowBytes) this.#resumeReading();
    if (this.#ending) this.#maybeFinish('the tcpclv3 CL stopped');
  }

  /** Queues an answer behind those still waiting for their handler, and writes what is ready. */
  #answer(answer: Answer): void {
    this.#answers.push(answer);
    this.#flushAnswers();
  }

  #flushAnswers(): void {
    while (this.#answers.length > 0 && this.#answers[0]!.bytes !== undefined) this.#write(this.#answers.shift()!.bytes!);
  }

  #pauseReading(): void {
    if (this.#readingPaused) return;
    this.#readingPaused = true;
    this.#socket?.pause();
  }

  #resumeReading(): void {
    this.#readingPaused = false;
    this.#lastHeardMs = this.#settings.clock.now();
    this.#socket?.resume();
    this.#process();
  }

  #onAck(acknowledgedBytes: number): void {
    const negotiated = this.#negotiated!;
    const oldest = this.#unacknowledged[0];
    if (!negotiated.acksFromPeer || oldest === undefined || acknowledgedBytes === 0) return;
    if (acknowledgedBytes < oldest.acknowledgedBytes || acknowledgedBytes > oldest.writtenBytes) {
      this.#violation(`ACK_SEGMENT of ${acknowledgedBytes} bytes for a bundle of ${oldest.send.bundleBytes} bytes, ${oldest.writtenBytes} sent and ${oldest.acknowledgedBytes} acknowledged`);
      return;
    }
    oldest.acknowledgedBytes = acknowledgedBytes;
    if (acknowledgedBytes === oldest.send.bundleBytes) this.#finishOldest(undefined);
  }

  #onRefuse(reason: number): void {
    const negotiated = this.#negotiated!;
    const oldest = this.#unacknowledged[0];
    if (!negotiated.refusalFromPeer || oldest === undefined) {
      this.#log('tcpclv3.refusal-ignored', { peer: this.#label, reason: refuseReasonName(reason) });
      return;
    }
    // §5.4: stop sending the refused bundle; the next one starts with a START segment.
    if (this.#writing === oldest) this.#writing = undefined;
    this.#log('tcpclv3.bundle-refused-by-peer', { peer: this.#label, reason: refuseReasonName(reason) });
    const message = `${this.#label} refused the bundle (REFUSE_BUNDLE ${refuseReasonName(reason)})`;
    this.#finishOldest(reason === REFUSE_REASON.completed ? undefined
      : reason === REFUSE_REASON.retransmit ? disconnected(message)
        : new OrbitfedError('ORBITFED_CL_REFUSED', message));
  }

  #finishOldest(error: Error | undefined): void {
    const oldest = this.#unacknowledged.shift()!;
    this.#unacknowledgedBytes -= oldest.send.bundleBytes;
    settle(oldest.send, error);
    this.#pump();
    if (this.#ending) this.#maybeFinish('the tcpclv3 CL stopped');
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  #pump(): void {
    const negotiated = this.#negotiated;
    if (this.#state !== 'established' || negotiated === undefined || this.#awaitingDrain) return;
    const idle = this.#unacknowledged.length === 0;
    for (;;) {
      if (this.#writing === undefined && !this.#startNext(negotiated)) break;
      const outgoing = this.#writing!;
      const remaining = outgoing.bundle.byteLength - outgoing.writtenBytes;
      const length = Math.min(remaining, this.#settings.segmentBytesMax);
      const first = outgoing.writtenBytes === 0;
      const last = length === remaining;
      this.#write(encodeDataSegmentHead(first, last, length));
      const data = outgoing.bundle.subarray(outgoing.writtenBytes, outgoing.writtenBytes + length);
      // Without acknowledgements, the write callback of the last segment is all the confirmation there is.
      const flowing = last && !negotiated.acksFromPeer
        ? this.#write(data, (error) => settle(outgoing.send, error === undefined || error === null ? undefined : disconnected(`writing to ${this.#label} failed: ${error.message}`, error)))
        : this.#write(data);
      outgoing.writtenBytes += length;
      if (last) this.#writing = undefined;
      if (this.#socket === undefined || this.#socket.destroyed) return;
      if (!flowing) {
        this.#awaitingDrain = true;
        this.#socket.once('drain', () => {
          this.#awaitingDrain = false;
          this.#pump();
        });
        break;
      }
    }
    if (idle && this.#unacknowledged.length > 0) this.#lastHeardMs = this.#settings.clock.now();
    this.#watchSilence();
  }

  #startNext(negotiated: Negotiated): boolean {
    const { windowBundles, windowBytes } = this.#settings;
    while (this.#sendQueue.length > 0 && !this.#ending) {
      const send = this.#sendQueue[0]!;
      if (send.settled || send.bundle === undefined) {
        this.#sendQueue.shift();
        continue;
      }
      const inFlight = this.#unacknowledged.length;
      if (negotiated.acksFromPeer && inFlight > 0 && (inFlight >= windowBundles || this.#unacknowledgedBytes + send.bundleBytes > windowBytes)) return false;
      this.#sendQueue.shift();
      const outgoing: OutgoingBundle = { send, bundle: send.bundle, writtenBytes: 0, acknowledgedBytes: 0 };
      send.bundle = undefined;
      if (negotiated.acksFromPeer) {
        this.#unacknowledged.push(outgoing);
        this.#unacknowledgedBytes += send.bundleBytes;
      }
      this.#writing = outgoing;
      return true;
    }
    return false;
  }

  #write(bytes: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    const socket = this.#socket;
    if (socket === undefined || this.#state === 'closed' || socket.destroyed || !socket.writable) {
      callback?.(new Error('the connection is closed'));
      return true;
    }
    this.#lastSentMs = this.#settings.clock.now();
    this.#corkUntilMicrotask(socket);
    return socket.write(bytes, callback);
  }

  /** Gathers the writes of one turn into one system call (as TCPCLv4 does; see there). */
  #corkUntilMicrotask(socket: Socket): void {
    if (this.#corked) return;
    this.#corked = true;
    socket.cork();
    queueMicrotask(() => {
      this.#corked = false;
      socket.uncork();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Timers and ending

  #watchSilence(): void {
    if (this.#silenceTimer !== undefined || this.#state === 'closed' || this.#unacknowledged.length === 0) return;
    const timeoutMs = this.#settings.responseTimeoutMs;
    const check = (): void => {
      this.#silenceTimer = undefined;
      if (this.#state === 'closed' || this.#unacknowledged.length === 0) return;
      const silentMs = this.#settings.clock.now() - this.#lastHeardMs;
      if (silentMs >= timeoutMs && !this.#readingPaused) {
        this.#log('tcpclv3.peer-silent', { peer: this.#label, silentMs, bundlesInFlight: this.#unacknowledged.length });
        this.#close(disconnected(`${this.#label} did not acknowledge for ${silentMs} ms`));
        return;
      }
      this.#silenceTimer = this.#settings.clock.setTimer(Math.max(1, timeoutMs - silentMs) as DurationMs, check);
    };
    this.#silenceTimer = this.#settings.clock.setTimer(timeoutMs as DurationMs, check);
  }

  /** §5.6: KEEPALIVE after an interval without sending; SHUTDOWN "idle timeout" after two without hearing anything. */
  #scheduleKeepalive(): void {
    const keepaliveMs = this.#negotiated?.keepaliveMs ?? 0;
    if (keepaliveMs === 0 || this.#state !== 'established') return;
    const now = this.#settings.clock.now();
    const delayMs = Math.max(0, Math.min(this.#lastSentMs + keepaliveMs, this.#lastHeardMs + 2 * keepaliveMs) - now);
    this.#keepaliveTimer = this.#settings.clock.setTimer(delayMs as DurationMs, () => {
      this.#keepaliveTimer = undefined;
      if (this.#state !== 'established') return;
      const at = this.#settings.clock.now();
      if (this.#readingPaused) this.#lastHeardMs = at;
      if (at >= this.#lastHeardMs + 2 * keepaliveMs) {
        this.#log('tcpclv3.idle-timeout', { peer: this.#label, silentMs: at - this.#lastHeardMs, keepaliveMs });
        this.#shutdown(SHUTDOWN_REASON.idleTimeout, `${this.#label} sent nothing for ${at - this.#lastHeardMs} ms (twice the keepalive interval)`);
        return;
      }
      if (at >= this.#lastSentMs + keepaliveMs) this.#write(encodeKeepalive());
      this.#scheduleKeepalive();
    });
  }

  /** Shuts an ending session down once nothing is in flight either way. */
  #maybeFinish(why: string): void {
    if (this.#state === 'closed' || this.#writing !== undefined || this.#unacknowledged.length > 0 || this.#deliveriesPending > 0) return;
    this.#shutdown(undefined, why);
  }

  /** Sends SHUTDOWN (§6.1) and closes, flushing what was written. */
  #shutdown(reason: number | undefined, why: string): void {
    if (this.#state === 'closed') return;
    this.#write(encodeShutdown(reason === undefined ? {} : { reason }));
    this.#close(disconnected(why), { graceful: true });
  }

  #violation(reason: string, shutdownReason?: number, logIt = true): void {
    if (logIt) this.#log('tcpclv3.protocol-violation', { peer: this.#label, reason });
    this.#write(encodeShutdown(shutdownReason === undefined ? {} : { reason: shutdownReason }));
    this.#close(disconnected(`${this.#label} broke TCPCLv3: ${reason}`), { violation: true, graceful: true });
  }

  #close(error: Error, how: { graceful?: boolean; violation?: boolean } = {}): void {
    if (this.#state === 'closed') return;
    const wasEstablished = this.#state === 'established';
    this.#state = 'closed';
    for (const timer of [this.#setupTimer, this.#silenceTimer, this.#keepaliveTimer, this.#terminationTimer]) timer?.cancel();
    this.#setupTimer = this.#silenceTimer = this.#keepaliveTimer = this.#terminationTimer = undefined;
    const socket = this.#socket;
    // A graceful close flushes what was written (the last acknowledgements, SESS_TERM or SHUTDOWN) and waits for the peer to close.
    let socketClosed = Promise.resolve();
    if (socket !== undefined && how.graceful === true) socketClosed = endGracefully(socket, this.#settings.clock, this.#settings.terminationTimeoutMs);
    else socket?.destroy();
    for (const send of this.#sendQueue.splice(0)) settle(send, error);
    for (const outgoing of this.#unacknowledged.splice(0)) settle(outgoing.send, error);
    if (this.#writing !== undefined) settle(this.#writing.send, error);
    this.#writing = undefined;
    this.#unacknowledgedBytes = 0;
    this.#answers.length = 0;
    if (this.#incoming !== undefined && this.#incoming.receivedBytes > 0 && how.violation !== true) {
      this.#log('tcpclv3.partial-bundle-dropped', { peer: this.#label, receivedBytes: this.#incoming.receivedBytes, reason: error.message });
    }
    this.#incoming = undefined;
    if (wasEstablished || how.violation !== true) this.#log('tcpclv3.session-closed', { peer: this.#label, role: this.#role, reason: error.message });
    this.#reportEnded();
    void socketClosed.then(() => this.#resolveClosed());
  }

  #reportEnded(): void {
    if (this.#endedReported) return;
    this.#endedReported = true;
    this.#onEnded(this);
  }

  #log(event: string, fields: Record<string, unknown>): void {
    this.#settings.log(event, fields);
  }
}

function concat(parts: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const joined = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}
