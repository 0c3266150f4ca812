// TCPCLv3 messages (RFC 7242), bytes in and bytes out, no I/O: the contact header (§4.1) and the
// messages of §5: DATA_SEGMENT, ACK_SEGMENT, REFUSE_BUNDLE, KEEPALIVE, SHUTDOWN and LENGTH. Every
// message starts with one byte whose high four bits are the type and low four bits its flags
// (§5.1); lengths are SDNVs (dtn/sdnv.ts).
//
// Reading works on a `ByteQueue` and returns `incomplete` until a whole message is there. Each
// SDNV is bounded as it is read (a segment length above the caller's limit is refused before its
// data arrives), and a message is removed from the queue only when it was read whole.
import assert from 'node:assert/strict';
import { encodeSdnv, readSdnv, SDNV_BYTES_MAX, sdnvByteLength, writeSdnv } from './sdnv.ts';
import type { ByteQueue } from './tcp-connection.ts';

/** §4.1: magic "dtn!", then version 3. */
export const CONTACT_MAGIC: readonly number[] = [0x64, 0x74, 0x6e, 0x21];
export const TCPCL_V3_VERSION = 3;
/** §4.1 Table 1: contact header flags. */
export const CONTACT_FLAG_REQUEST_ACK = 0x01;
export const CONTACT_FLAG_REACTIVE_FRAGMENTATION = 0x02;
export const CONTACT_FLAG_REFUSAL = 0x04;
export const CONTACT_FLAG_LENGTH = 0x08;

/** §5.1 Table 2: message types (the high four bits of the first byte). */
export const MSG_DATA_SEGMENT = 0x1;
export const MSG_ACK_SEGMENT = 0x2;
export const MSG_REFUSE_BUNDLE = 0x3;
export const MSG_KEEPALIVE = 0x4;
export const MSG_SHUTDOWN = 0x5;
export const MSG_LENGTH = 0x6;

/** §5.2: DATA_SEGMENT flags. */
export const DATA_FLAG_START = 0x02;
export const DATA_FLAG_END = 0x01;
/** §6.1: SHUTDOWN flags: a reason code follows; a reconnection delay follows. */
export const SHUTDOWN_FLAG_REASON = 0x02;
export const SHUTDOWN_FLAG_DELAY = 0x01;

/** §6.1 Table 3: SHUTDOWN reason codes. */
export const SHUTDOWN_REASON = { idleTimeout: 0x00, versionMismatch: 0x01, busy: 0x02 } as const;
/** §5.4 Table 4: REFUSE_BUNDLE reason codes (in the flag bits). */
export const REFUSE_REASON = { unknown: 0x0, completed: 0x1, noResources: 0x2, retransmit: 0x3 } as const;

const nameOf = (table: Readonly<Record<string, number>>, code: number): string =>
  Object.entries(table).find(([, value]) => value === code)?.[0] ?? `code 0x${code.toString(16).padStart(2, '0')}`;
export const shutdownReasonName = (code: number): string => nameOf(SHUTDOWN_REASON, code);
export const refuseReasonName = (code: number): string => nameOf(REFUSE_REASON, code);

export interface TcpclV3ContactHeader {
  readonly version: number;
  readonly flags: number;
  /** Seconds between KEEPALIVEs; 0 disables them (§4.3). */
  readonly keepaliveSec: number;
  /** The node's endpoint ID (`ipn:1.0`, `dtn://node`). */
  readonly eid: string;
}

export type TcpclV3Message =
  | { readonly type: 'DATA_SEGMENT'; readonly start: boolean; readonly end: boolean; readonly data: Uint8Array }
  | { readonly type: 'ACK_SEGMENT'; readonly acknowledgedBytes: number }
  | { readonly type: 'REFUSE_BUNDLE'; readonly reason: number }
  | { readonly type: 'KEEPALIVE' }
  | { readonly type: 'SHUTDOWN'; readonly reason?: number; readonly reconnectDelaySec?: number }
  | { readonly type: 'LENGTH'; readonly bundleBytes: number };

export type TcpclV3Read =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'message'; readonly message: TcpclV3Message }
  | { readonly kind: 'unknown-type'; readonly messageType: number }
  /** Malformed, or a length above its limit (`tooLarge`). */
  | { readonly kind: 'invalid'; readonly reason: string; readonly tooLarge?: boolean };

export type TcpclV3ContactRead =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'header'; readonly header: TcpclV3ContactHeader }
  /** The magic matched but the version is not 3: known as soon as its byte arrived (§4.3: answer SHUTDOWN "version mismatch"). */
  | { readonly kind: 'wrong-version'; readonly version: number }
  | { readonly kind: 'invalid'; readonly reason: string; readonly tooLarge?: boolean };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Writing

/** §4.1: magic, version, flags, keepalive interval (u16, seconds), EID length (SDNV), EID. */
export function encodeContactHeader(header: Omit<TcpclV3ContactHeader, 'version'>): Uint8Array {
  assert.ok(Number.isInteger(header.flags) && header.flags >= 0 && header.flags <= 0xff, `flags ${header.flags} is not a byte`);
  assert.ok(Number.isInteger(header.keepaliveSec) && header.keepaliveSec >= 0 && header.keepaliveSec <= 0xffff, `keepalive ${header.keepaliveSec} s is not a u16`);
  const eid = utf8Encoder.encode(header.eid);
  const eidLength = encodeSdnv(eid.byteLength);
  const bytes = new Uint8Array(8 + eidLength.byteLength + eid.byteLength);
  bytes.set(CONTACT_MAGIC, 0);
  bytes[4] = TCPCL_V3_VERSION;
  bytes[5] = header.flags;
  bytes[6] = header.keepaliveSec >>> 8;
  bytes[7] = header.keepaliveSec & 0xff;
  bytes.set(eidLength, 8);
  bytes.set(eid, 8 + eidLength.byteLength);
  return bytes;
}

/** §5.2: the type byte (with START/END flags) and the SDNV length; the data follows separately. */
export function encodeDataSegmentHead(start: boolean, end: boolean, dataBytes: number): Uint8Array {
  const head = new Uint8Array(1 + sdnvByteLength(dataBytes));
  head[0] = (MSG_DATA_SEGMENT << 4) | (start ? DATA_FLAG_START : 0) | (end ? DATA_FLAG_END : 0);
  writeSdnv(head, 1, dataBytes);
  return head;
}

export function encodeDataSegment(start: boolean, end: boolean, data: Uint8Array): Uint8Array {
  const head = encodeDataSegmentHead(start, end, data.byteLength);
  const bytes = new Uint8Array(head.byteLength + data.byteLength);
  bytes.set(head);
  bytes.set(data, head.byteLength);
  return bytes;
}

/** §5.3: the bytes of the current bundle received so far, cumulative. */
export function encodeAckSegment(acknowledgedBytes: number): Uint8Array {
  const bytes = new Uint8Array(1 + sdnvByteLength(acknowledgedBytes));
  bytes[0] = MSG_ACK_SEGMENT << 4;
  writeSdnv(bytes, 1, acknowledgedBytes);
  return bytes;
}

/** §5.4: the reason code in the flag bits. */
export function encodeRefuseBundle(reason: number): Uint8Array {
  assert.ok(Number.isInteger(reason) && reason >= 0 && reason <= 0xf, `refusal reason ${reason} does not fit four bits`);
  return new Uint8Array([(MSG_REFUSE_BUNDLE << 4) | reason]);
}

/** §5.6: one byte. */
export const encodeKeepalive = (): Uint8Array => new Uint8Array([MSG_KEEPALIVE << 4]);

/** §6.1: flags say whether a reason byte and a reconnection delay (SDNV, seconds) follow. */
export function encodeShutdown(options: { readonly reason?: number; readonly reconnectDelaySec?: number } = {}): Uint8Array {
  const { reason, reconnectDelaySec } = options;
  const delay = reconnectDelaySec === undefined ? new Uint8Array(0) : encodeSdnv(reconnectDelaySec);
  const bytes = new Uint8Array(1 + (reason === undefined ? 0 : 1) + delay.byteLength);
  bytes[0] = (MSG_SHUTDOWN << 4) | (reason === undefined ? 0 : SHUTDOWN_FLAG_REASON) | (reconnectDelaySec === undefined ? 0 : SHUTDOWN_FLAG_DELAY);
  if (reason !== undefined) bytes[1] = reason;
  bytes.set(delay, bytes.byteLength - delay.byteLength);
  return bytes;
}

/** §5.5: the length of the next bundle (sent only to peers that asked for it). */
export function encodeLength(bundleBytes: number): Uint8Array {
  const bytes = new Uint8Array(1 + sdnvByteLength(bundleBytes));
  bytes[0] = MSG_LENGTH << 4;
  writeSdnv(bytes, 1, bundleBytes);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Reads the peer's contact header; consumes it only when whole and valid. */
export function readContactHeader(queue: ByteQueue, eidBytesMax: number): TcpclV3ContactRead {
  const magicAvailable = Math.min(queue.length, CONTACT_MAGIC.length);
  for (let i = 0; i < magicAvailable; i += 1) {
    if (queue.byteAt(i) !== CONTACT_MAGIC[i]) return { kind: 'invalid', reason: 'the contact header does not start with "dtn!"' };
  }
  if (queue.length < 5) return { kind: 'incomplete' };
  const version = queue.byteAt(4);
  if (version !== TCPCL_V3_VERSION) return { kind: 'wrong-version', version };
  if (queue.length < 9) return { kind: 'incomplete' };
  const head = queue.contiguous(Math.min(queue.length, 8 + SDNV_BYTES_MAX));
  const eidLength = readSdnv(head, 8, eidBytesMax);
  if (eidLength.kind === 'incomplete') return { kind: 'incomplete' };
  if (eidLength.kind === 'invalid') return { kind: 'invalid', reason: `contact header EID length: ${eidLength.reason}`, tooLarge: true };
  const total = 8 + eidLength.byteLength + eidLength.value;
  if (queue.length < total) return { kind: 'incomplete' };
  const bytes = queue.contiguous(total);
  let eid: string;
  try {
    eid = utf8.decode(bytes.subarray(8 + eidLength.byteLength, total));
  } catch {
    return { kind: 'invalid', reason: 'contact header EID is not valid UTF-8' };
  }
  const header: TcpclV3ContactHeader = { version, flags: bytes[5]!, keepaliveSec: (bytes[6]! << 8) | bytes[7]!, eid };
  queue.consume(total);
  return { kind: 'header', header };
}

export interface TcpclV3ReadLimits {
  /** Largest DATA_SEGMENT accepted, bytes. */
  readonly segmentBytesMax: number;
}

/** Reads the message at the front of `queue`; consumes it only when whole and valid. */
export function readTcpclV3Message(queue: ByteQueue, limits: TcpclV3ReadLimits): TcpclV3Read {
  if (queue.length < 1) return { kind: 'incomplete' };
  const first = queue.byteAt(0);
  const type = first >> 4;
  const flags = first & 0x0f;
  const sdnvAt = (offset: number, valueMax: number) => readSdnv(queue.contiguous(Math.min(queue.length, offset + SDNV_BYTES_MAX)), offset, valueMax);
  switch (type) {
    case MSG_KEEPALIVE:
      queue.consume(1);
      return { kind: 'message', message: { type: 'KEEPALIVE' } };
    case MSG_REFUSE_BUNDLE:
      queue.consume(1);
      return { kind: 'message', message: { type: 'REFUSE_BUNDLE', reason: flags } };
    case MSG_ACK_SEGMENT:
    case MSG_LENGTH: {
      const value = sdnvAt(1, Number.MAX_SAFE_INTEGER);
      if (value.kind === 'incomplete') return { kind: 'incomplete' };
      if (value.kind === 'invalid') return { kind: 'invalid', reason: `${type === MSG_ACK_SEGMENT ? 'ACK_SEGMENT' : 'LENGTH'}: ${value.reason}` };
      queue.consume(1 + value.byteLength);
      const message: TcpclV3Message = type === MSG_ACK_SEGMENT ? { type: 'ACK_SEGMENT', acknowledgedBytes: value.value } : { type: 'LENGTH', bundleBytes: value.value };
      return { kind: 'message', message };
    }
    case MSG_DATA_SEGMENT: {
      const length = sdnvAt(1, limits.segmentBytesMax);
      if (length.kind === 'incomplete') return { kind: 'incomplete' };
      if (length.kind === 'invalid') return { kind: 'invalid', reason: `DATA_SEGMENT length: ${length.reason}`, tooLarge: true };
      const headBytes = 1 + length.byteLength;
      if (queue.length < headBytes + length.value) return { kind: 'incomplete' };
      queue.consume(headBytes);
      const data = queue.take(length.value);
      return { kind: 'message', message: { type: 'DATA_SEGMENT', start: (flags & DATA_FLAG_START) !== 0, end: (flags & DATA_FLAG_END) !== 0, data } };
    }
    case MSG_SHUTDOWN: {
      let at = 1;
      let reason: number | undefined;
      let reconnectDelaySec: number | undefined;
      if ((flags & SHUTDOWN_FLAG_REASON) !== 0) {
        if (queue.length < 2) return { kind: 'incomplete' };
        reason = queue.byteAt(1);
        at = 2;
      }
      if ((flags & SHUTDOWN_FLAG_DELAY) !== 0) {
        const delay = sdnvAt(at, Number.MAX_SAFE_INTEGER);
        if (delay.kind === 'incomplete') return { kind: 'incomplete' };
        if (delay.kind === 'invalid') return { kind: 'invalid', reason: `SHUTDOWN reconnection delay: ${delay.reason}` };
        reconnectDelaySec = delay.value;
        at += delay.byteLength;
      }
      queue.consume(at);
      return { kind: 'message', message: { type: 'SHUTDOWN', ...(reason === undefined ? {} : { reason }), ...(reconnectDelaySec === undefined ? {} : { reconnectDelaySec }) } };
    }
    default:
      return { kind: 'unknown-type', messageType: type };
  }
}
