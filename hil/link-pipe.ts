// One direction of a relayed connection: bytes read from the source socket are transmitted at the
// link's rate, travel for the light time (plus jitter and any extra delay), and are written to the
// destination socket. Everything runs on the injected Clock: two timers per pipe, one armed for the
// next transmission, one for the next delivery.
//
// The model is a radio's, not a router's:
// - Transmission serialises frames one after another: a frame of n bytes occupies the transmitter
//   for n / rate seconds from the moment the one before it finished. The schedule is kept in
//   absolute time (`#txFreeAtMs`), so a timer that fires late does not lower the throughput.
// - A frame is delivered one delay after its last byte left: deliverAt = txEnd + owlt + extra +
//   jitter, never before the frame ahead of it (TCP is a byte stream: jitter cannot reorder it).
// - Frames are cut from what the source sent at most FRAME_MS of transmission long (1–64 KiB), so
//   a slow link delivers a long write piece by piece, as a radio would.
// - A frame's times start from the clock's reading when its bytes were read from the source, so a
//   delivery is only as exact as the clock. RealClock counts whole milliseconds (Date.now()), which
//   made deliveries up to 1 ms early, and its setTimeout wakes up to ~1 ms early or 2 ms late on
//   libuv's whole-millisecond loop time; the program therefore gives the pipes common's
//   PreciseRealClock (fractional readings; timers that spend their last 1.5 ms on the event loop's
//   turns: in the relay on the delay bench, 0.05–0.07 ms late at the median). The two socket hops
//   (source → relay → destination) are not subtracted: on loopback they add 0.2–0.35 ms at the
//   median (hil/README.md, "How exact it is").
// Bounds: bytes waiting to be transmitted pause the source above `queueBytesMax` (TCP backpressure
// reaches the sender) and resume it below half; bytes in flight above `inFlightBytesMax` stop the
// transmitter; a destination that does not keep up (write returns false) stops delivery until it
// drains, which in turn fills the flight and then the queue.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { Clock, DurationMs, TimerHandle } from '../common/index.ts';

/** Transmission time a frame is cut to. */
const FRAME_MS = 4;
const FRAME_BYTES_MIN = 1024;
const FRAME_BYTES_MAX = 64 * 1024;
/**
 * A frame due within this much is handled now: a timer that wakes a few microseconds before its
 * due time need not sleep again. The program's clock (common's PreciseRealClock) reads fractions
 * of a millisecond; on a clock that counts whole milliseconds (ScaledClock, RealClock) "now" is up
 * to 1 ms behind the true time, so deliveries are never early there but up to 1 ms late (more when
 * its timer wakes late).
 */
const EARLY_MS = 0.05;

/** What the link offers this direction at the moment a frame starts; undefined: nothing moves. */
export interface PipeConditions {
  readonly rateBytesPerSec: number;
  /** Light time plus any extra delay, ms. */
  readonly delayMs: number;
  /** Bytes are held (neither transmitted nor delivered) while frozen. */
  readonly frozen: boolean;
}

export interface LinkPipeOptions {
  readonly clock: Clock;
  /**
   * The clock for timers that only start a transmission (default `clock`). The transmission
   * schedule is absolute (`#txFreeAtMs`) and a frame's delivery time follows from it, so such a
   * timer may wake late at no cost (unless by more than the light time, ~2 ms at worst on an idle
   * RealClock): a cheaper, coarser clock serves. The program gives deliveries common's
   * PreciseRealClock, whose last stretch before a timer is due costs CPU, and transmissions its
   * RealClock.
   */
  readonly transmitTimerClock?: Clock;
  readonly source: Socket;
  readonly conditions: () => PipeConditions | undefined;
  /** Extra delay of one frame, ms (seeded jitter); 0 without jitter. */
  readonly jitterMs: () => number;
  readonly queueBytesMax: number;
  readonly inFlightBytesMax: number;
  readonly onDelivered: (bytes: number) => void;
  /** Called once when the source ended and every byte was delivered (the destination was ended). */
  readonly onFinished: () => void;
}

/** One of a pipe's two timers: the next transmission's, the next delivery's. */
interface PipeTimer {
  handle: TimerHandle | undefined;
  dueMs: number;
}

interface InFlight {
  readonly bytes: Buffer;
  readonly deliverAtMs: number;
}

export class LinkPipe {
  readonly #options: LinkPipeOptions;
  readonly #pending: Buffer[] = [];
  #pendingHead = 0;
  #pendingBytes = 0;
  readonly #inFlight: InFlight[] = [];
  #inFlightHead = 0;
  #inFlightBytes = 0;
  #txFreeAtMs = 0;
  /** The transmitter stopped for a reason other than being busy; it restarts from "now". */
  #stalled = true;
  #lastDeliverAtMs = Number.NEGATIVE_INFINITY;
  #destination: Socket | undefined;
  #destinationBlocked = false;
  #sourceEnded = false;
  #sourcePaused = false;
  #finished = false;
  #closed = false;
  readonly #transmitTimer: PipeTimer = { handle: undefined, dueMs: Number.POSITIVE_INFINITY };
  readonly #deliveryTimer: PipeTimer = { handle: undefined, dueMs: Number.POSITIVE_INFINITY };
  #deliveredBytes = 0;
  #droppedBytes = 0;

  constructor(options: LinkPipeOptions) {
    assert.ok(options.queueBytesMax > 0 && options.inFlightBytesMax > 0, 'pipe bounds must be positive');
    this.#options = options;
    options.source.on('data', (chunk: Buffer) => this.#onData(chunk));
    options.source.on('end', () => {
      this.#sourceEnded = true;
      this.pump();
    });
  }

  /** Bytes waiting to be transmitted plus bytes in flight. */
  get queuedBytes(): number {
    return this.#pendingBytes + this.#inFlightBytes;
  }

  get deliveredBytes(): number {
    return this.#deliveredBytes;
  }

  /** Bytes lost when the pipe was closed with them queued or in flight. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** Starts delivery to `destination` (the far side's socket, once connected). */
  attachDestination(destination: Socket): void {
    assert.ok(this.#destination === undefined, 'a pipe has one destination');
    this.#destination = destination;
    this.pump();
  }

  /** Drops everything queued and in flight and stops; the sockets are the caller's to close. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#droppedBytes += this.queuedBytes;
    this.#pending.length = 0;
    this.#inFlight.length = 0;
    this.#pendingBytes = 0;
    this.#inFlightBytes = 0;
    for (const timer of [this.#transmitTimer, this.#deliveryTimer]) {
      timer.handle?.cancel();
      timer.handle = undefined;
    }
  }

  /** Moves whatever may move now and arms the timer for the next step; call after conditions change. */
  pump(): void {
    if (this.#closed) return;
    const nowMs = this.#options.clock.now();
    const conditions = this.#options.conditions();
    this.#transmit(nowMs, conditions);
    this.#deliver(nowMs, conditions);
    this.#applyBackpressure();
    this.#finishIfDone();
    this.#arm(conditions);
  }

  #onData(chunk: Buffer): void {
    if (this.#closed || chunk.length === 0) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    this.pump();
  }

  #transmit(nowMs: number, conditions: PipeConditions | undefined): void {
    const canSend = conditions !== undefined && !conditions.frozen && conditions.rateBytesPerSec > 0;
    if (!canSend || this.#pendingBytes === 0 || this.#inFlightBytes >= this.#options.inFlightBytesMax) {
      // Idle or held: when it starts again, it starts from then (or when the frame on air ends),
      // not from a schedule that fell into the past meanwhile.
      this.#stalled = true;
      return;
    }
    if (this.#stalled) {
      this.#txFreeAtMs = Math.max(this.#txFreeAtMs, nowMs);
      this.#stalled = false;
    }
    const rate = conditions.rateBytesPerSec;
    const frameBytesMax = Math.min(FRAME_BYTES_MAX, Math.max(FRAME_BYTES_MIN, Math.floor((rate * FRAME_MS) / 1000)));
    while (this.#pendingBytes > 0 && this.#txFreeAtMs <= nowMs + EARLY_MS && this.#inFlightBytes < this.#options.inFlightBytesMax) {
      const frame = this.#takeFrame(frameBytesMax);
      const txEndMs = this.#txFreeAtMs + (frame.length * 1000) / rate;
      this.#txFreeAtMs = txEndMs;
      const deliverAtMs = Math.max(this.#lastDeliverAtMs, txEndMs + conditions.delayMs + this.#options.jitterMs());
      this.#lastDeliverAtMs = deliverAtMs;
      this.#inFlight.push({ bytes: frame, deliverAtMs });
      this.#inFlightBytes += frame.length;
    }
    if (this.#pendingBytes === 0 || this.#inFlightBytes >= this.#options.inFlightBytesMax) this.#stalled = true;
  }

  #takeFrame(bytesMax: number): Buffer {
    const head = this.#pending[this.#pendingHead]!;
    let frame: Buffer;
    if (head.length <= bytesMax) {
      frame = head;
      this.#pendingHead += 1;
      if (this.#pendingHead > 1024 && this.#pendingHead * 2 > this.#pending.length) {
        this.#pending.splice(0, this.#pendingHead);
        this.#pendingHead = 0;
      }
      if (this.#pendingHead === this.#pending.length) {
        this.#pending.length = 0;
        this.#pendingHead = 0;
      }
    } else {
      frame = head.subarray(0, bytesMax);
      this.#pending[this.#pendingHead] = head.subarray(bytesMax);
    }
    this.#pendingBytes -= frame.length;
    return frame;
  }

  #deliver(nowMs: number, conditions: PipeConditions | undefined): void {
    const destination = this.#destination;
    if (destination === undefined || this.#destinationBlocked || conditions?.frozen === true) return;
    while (this.#inFlightHead < this.#inFlight.length) {
      const head = this.#inFlight[this.#inFlightHead]!;
      if (head.deliverAtMs > nowMs + EARLY_MS) break;
      this.#inFlightHead += 1;
      this.#inFlightBytes -= head.bytes.length;
      if (destination.destroyed || !destination.writable) {
        this.#droppedBytes += head.bytes.length;
        continue;
      }
      // Written first, counted after: the bytes are late by whatever runs before the write.
      const accepted = destination.write(head.bytes);
      this.#deliveredBytes += head.bytes.length;
      this.#options.onDelivered(head.bytes.length);
      if (!accepted) {
        this.#destinationBlocked = true;
        destination.once('drain', () => {
          this.#destinationBlocked = false;
          this.pump();
        });
        break;
      }
    }
    if (this.#inFlightHead === this.#inFlight.length) {
      this.#inFlight.length = 0;
      this.#inFlightHead = 0;
    } else if (this.#inFlightHead > 1024 && this.#inFlightHead * 2 > this.#inFlight.length) {
      this.#inFlight.splice(0, this.#inFlightHead);
      this.#inFlightHead = 0;
    }
  }

  #applyBackpressure(): void {
    const source = this.#options.source;
    if (!this.#sourcePaused && this.#pendingBytes > this.#options.queueBytesMax) {
      this.#sourcePaused = true;
      source.pause();
    } else if (this.#sourcePaused && this.#pendingBytes <= this.#options.queueBytesMax / 2) {
      this.#sourcePaused = false;
      source.resume();
    }
  }

  #finishIfDone(): void {
    if (this.#finished || !this.#sourceEnded || this.queuedBytes > 0 || this.#destination === undefined) return;
    this.#finished = true;
    if (!this.#destination.destroyed) this.#destination.end();
    this.#options.onFinished();
  }

  #arm(conditions: PipeConditions | undefined): void {
    const frozen = conditions?.frozen === true;
    const canSend = conditions !== undefined && !frozen && conditions.rateBytesPerSec > 0;
    const transmitDueMs = canSend && this.#pendingBytes > 0 && this.#inFlightBytes < this.#options.inFlightBytesMax ? this.#txFreeAtMs : Number.POSITIVE_INFINITY;
    const head = this.#inFlight[this.#inFlightHead];
    const deliveryDueMs = head !== undefined && !frozen && !this.#destinationBlocked && this.#destination !== undefined ? head.deliverAtMs : Number.POSITIVE_INFINITY;
    // Conditions that change with time (contact boundaries) are re-read on every step, so a pipe
    // that waits for nothing but a condition is woken by the link (pump), not by polling.
    this.#armTimer(this.#transmitTimer, transmitDueMs, this.#options.transmitTimerClock ?? this.#options.clock);
    this.#armTimer(this.#deliveryTimer, deliveryDueMs, this.#options.clock);
  }

  #armTimer(timer: PipeTimer, dueMs: number, clock: Clock): void {
    if (dueMs === timer.dueMs && timer.handle !== undefined) return;
    timer.handle?.cancel();
    timer.handle = undefined;
    timer.dueMs = dueMs;
    if (dueMs === Number.POSITIVE_INFINITY) return;
    // From a fresh reading of the pipe's clock, not the step's: the step's writes since then (a
    // socket write takes tens of microseconds) would make the timer that much late.
    timer.handle = clock.setTimer(Math.max(0, dueMs - this.#options.clock.now()) as DurationMs, () => {
      timer.handle = undefined;
      timer.dueMs = Number.POSITIVE_INFINITY;
      this.pump();
    });
  }
}
