// TCPCLv4 messages (RFC 9174), bytes in and bytes out, no I/O: the contact header (§4.2), the
// message header (§4.5) and every message type: SESS_INIT (§4.6), SESS_TERM (§6.1), KEEPALIVE
// (§5.1.1), MSG_REJECT (§5.1.2), XFER_SEGMENT (§5.2.2), XFER_ACK (§5.2.3), XFER_REFUSE (§5.2.4),
// with session and transfer extension items (§4.8, §5.2.5). All integers are unsigned big-endian.
//
// Reading works on a `ByteQueue` of received bytes and returns `incomplete` until a whole message is
// there. Every length field is checked against its limit as soon as it has arrived, so a peer
// announcing a 2^64-byte segment is refused after 18 bytes, having cost nothing. A message is
// removed from the queue only when it was read whole; `invalid` leaves the queue as it was (the
// session ends there anyway).
import assert from 'node:assert/strict';
import type { ByteQueue } from './tcp-connection.ts';

/** RFC 9174 §4.2: the contact header is "dtn!", the version (4) and one flag byte. */
export const CONTACT_MAGIC: readonly number[] = [0x64, 0x74, 0x6e, 0x21];
export const TCPCL_V4_VERSION = 4;
export const CONTACT_HEADER_BYTES = 6;
/** §4.2 Table 2: the entity can use TLS for this session. */
export const CONTACT_FLAG_CAN_TLS = 0x01;

/** §4.5 Table 3: message type codes. */
export const MSG_XFER_SEGMENT = 0x01;
export const MSG_XFER_ACK = 0x02;
export const MSG_XFER_REFUSE = 0x03;
export const MSG_KEEPALIVE = 0x04;
export const MSG_SESS_TERM = 0x05;
export const MSG_MSG_REJECT = 0x06;
export const MSG_SESS_INIT = 0x07;

/** §5.2.2 Table 5: XFER_SEGMENT (and XFER_ACK) flags. */
export const SEGMENT_FLAG_END = 0x01;
export const SEGMENT_FLAG_START = 0x02;
/** §6.1 Table 8: this SESS_TERM replies to the peer's. */
export const SESS_TERM_FLAG_REPLY = 0x01;
/** §4.8 Table 4, §5.2.5 Table 6: an item the receiver must understand. */
export const EXTENSION_FLAG_CRITICAL = 0x01;
/** §5.2.5.1: the Transfer Length extension, the total length of the transfer as a u64. */
export const TRANSFER_EXTENSION_LENGTH = 0x0001;

/** §6.1 Table 9: SESS_TERM reason codes. */
export const SESS_TERM_REASON = {
  unknown: 0x00,
  idleTimeout: 0x01,
  versionMismatch: 0x02,
  busy: 0x03,
  contactFailure: 0x04,
  resourceExhaustion: 0x05,
} as const;

/** §5.2.4 Table 7: XFER_REFUSE reason codes. */
export const XFER_REFUSE_REASON = {
  unknown: 0x00,
  completed: 0x01,
  noResources: 0x02,
  retransmit: 0x03,
  notAcceptable: 0x04,
  extensionFailure: 0x05,
  sessionTerminating: 0x06,
} as const;

/** §5.1.2 Table 10: MSG_REJECT reason codes. */
export const MSG_REJECT_REASON = {
  typeUnknown: 0x01,
  unsupported: 0x02,
  unexpected: 0x03,
} as const;

const nameOf = (table: Readonly<Record<string, number>>, code: number): string =>
  Object.entries(table).find(([, value]) => value === code)?.[0] ?? `code 0x${code.toString(16).padStart(2, '0')}`;
export const sessTermReasonName = (code: number): string => nameOf(SESS_TERM_REASON, code);
export const xferRefuseReasonName = (code: number): string => nameOf(XFER_REFUSE_REASON, code);
export const msgRejectReasonName = (code: number): string => nameOf(MSG_REJECT_REASON, code);

/** A session (§4.8) or transfer (§5.2.5) extension item: flags u8, type u16, length u16, value. */
export interface ExtensionItem {
  readonly critical: boolean;
  readonly itemType: number;
  readonly value: Uint8Array;
}

export interface ContactHeader {
  readonly version: number;
  readonly flags: number;
  readonly canTls: boolean;
}

export interface SessionInit {
  /** §4.6: seconds between KEEPALIVEs this entity wants; 0 disables them. */
  readonly keepaliveSec: number;
  /** Largest XFER_SEGMENT data this entity accepts. */
  readonly segmentMruBytes: bigint;
  /** Largest whole transfer (bundle) this entity accepts. */
  readonly transferMruBytes: bigint;
  /** The entity's node ID, a URI (`ipn:2.0`, `dtn://gs1/`); empty when it has none. */
  readonly nodeId: string;
  readonly extensions: readonly ExtensionItem[];
}

export type TcpclV4Message =
  | { readonly type: 'XFER_SEGMENT'; readonly flags: number; readonly start: boolean; readonly end: boolean; readonly transferId: bigint; readonly extensions: readonly ExtensionItem[]; readonly data: Uint8Array }
  | { readonly type: 'XFER_ACK'; readonly flags: number; readonly transferId: bigint; readonly acknowledgedBytes: bigint }
  | { readonly type: 'XFER_REFUSE'; readonly reason: number; readonly transferId: bigint }
  | { readonly type: 'KEEPALIVE' }
  | { readonly type: 'SESS_TERM'; readonly reply: boolean; readonly reason: number }
  | { readonly type: 'MSG_REJECT'; readonly reason: number; readonly rejectedHeader: number }
  | ({ readonly type: 'SESS_INIT' } & SessionInit);

export interface TcpclV4ReadLimits {
  /** Largest XFER_SEGMENT data accepted: our Segment MRU. */
  readonly segmentMruBytes: number;
  /** Longest node ID accepted in SESS_INIT. */
  readonly nodeIdBytesMax: number;
  /** Largest extension item list accepted in SESS_INIT or a starting XFER_SEGMENT. */
  readonly extensionItemsBytesMax: number;
}

export type TcpclV4Read =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'message'; readonly message: TcpclV4Message }
  /** §5.1.2: a message type this entity does not know; its length is unknown, so the stream cannot be followed. */
  | { readonly kind: 'unknown-type'; readonly messageType: number }
  /** Malformed, or a length above its limit (`announcedBytes` and `limitBytes` then say which). */
  | { readonly kind: 'invalid'; readonly reason: string; readonly announcedBytes?: bigint; readonly limitBytes?: number };

export type ContactHeaderRead =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'header'; readonly header: ContactHeader }
  /** Not a contact header: the magic does not match (§4.3: close the connection without SESS_TERM). */
  | { readonly kind: 'invalid'; readonly reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();
const U16_MAX = 0xffff;
const U64_MAX = (1n << 64n) - 1n;
const EXTENSION_ITEM_HEAD_BYTES = 5;

// ---------------------------------------------------------------------------------------------
// Writing

/** §4.2: `dtn!`, version 4, flags. */
export function encodeContactHeader(canTls: boolean): Uint8Array {
  return new Uint8Array([...CONTACT_MAGIC, TCPCL_V4_VERSION, canTls ? CONTACT_FLAG_CAN_TLS : 0]);
}

function extensionItemsBytes(items: readonly ExtensionItem[]): number {
  return items.reduce((sum, item) => sum + EXTENSION_ITEM_HEAD_BYTES + item.value.byteLength, 0);
}

function writeExtensionItems(view: DataView, bytes: Uint8Array, offset: number, items: readonly ExtensionItem[]): number {
  let at = offset;
  for (const item of items) {
    assert.ok(Number.isInteger(item.itemType) && item.itemType >= 0 && item.itemType <= U16_MAX, `extension item type ${item.itemType} is not a u16`);
    assert.ok(item.value.byteLength <= U16_MAX, `extension item value of ${item.value.byteLength} bytes exceeds a u16 length`);
    view.setUint8(at, item.critical ? EXTENSION_FLAG_CRITICAL : 0);
    view.setUint16(at + 1, item.itemType);
    view.setUint16(at + 3, item.value.byteLength);
    bytes.set(item.value, at + EXTENSION_ITEM_HEAD_BYTES);
    at += EXTENSION_ITEM_HEAD_BYTES + item.value.byteLength;
  }
  return at;
}

/** §4.6: message header, keepalive u16, segment MRU u64, transfer MRU u64, node ID (u16 length), extension items (u32 length). */
export function encodeSessionInit(init: SessionInit): Uint8Array {
  const nodeId = utf8Encoder.encode(init.nodeId);
  assert.ok(Number.isInteger(init.keepaliveSec) && init.keepaliveSec >= 0 && init.keepaliveSec <= U16_MAX, `keepalive ${init.keepaliveSec} s is not a u16`);
  assert.ok(init.segmentMruBytes >= 0n && init.segmentMruBytes <= U64_MAX && init.transferMruBytes >= 0n && init.transferMruBytes <= U64_MAX, 'MRUs are u64');
  assert.ok(nodeId.byteLength <= U16_MAX, `node ID of ${nodeId.byteLength} bytes exceeds a u16 length`);
  const extensionBytes = extensionItemsBytes(init.extensions);
  const bytes = new Uint8Array(1 + 2 + 8 + 8 + 2 + nodeId.byteLength + 4 + extensionBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, MSG_SESS_INIT);
  view.setUint16(1, init.keepaliveSec);
  view.setBigUint64(3, init.segmentMruBytes);
  view.setBigUint64(11, init.transferMruBytes);
  view.setUint16(19, nodeId.byteLength);
  bytes.set(nodeId, 21);
  view.setUint32(21 + nodeId.byteLength, extensionBytes);
  writeExtensionItems(view, bytes, 25 + nodeId.byteLength, init.extensions);
  return bytes;
}

/**
 * §5.2.2: everything of an XFER_SEGMENT up to its data (header, flags, transfer ID, the extension
 * items when START is set, data length); the data follows separately, so a large bundle is not copied.
 */
export function encodeSegmentHead(flags: number, transferId: bigint, dataBytes: number, extensions: readonly ExtensionItem[] = []): Uint8Array {
  const start = (flags & SEGMENT_FLAG_START) !== 0;
  assert.ok(start || extensions.length === 0, 'transfer extension items go only in the START segment (RFC 9174 §5.2.2)');
  assert.ok(transferId >= 0n && transferId <= U64_MAX, `transfer ID ${transferId} is not a u64`);
  assert.ok(Number.isSafeInteger(dataBytes) && dataBytes >= 0, `data length ${dataBytes}`);
  const extensionBytes = extensionItemsBytes(extensions);
  const bytes = new Uint8Array(1 + 1 + 8 + (start ? 4 + extensionBytes : 0) + 8);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, MSG_XFER_SEGMENT);
  view.setUint8(1, flags);
  view.setBigUint64(2, transferId);
  let at = 10;
  if (start) {
    view.setUint32(at, extensionBytes);
    at = writeExtensionItems(view, bytes, at + 4, extensions);
  }
  view.setBigUint64(at, BigInt(dataBytes));
  return bytes;
}

/** A whole XFER_SEGMENT (head and data in one buffer). */
export function encodeXferSegment(flags: number, transferId: bigint, data: Uint8Array, extensions: readonly ExtensionItem[] = []): Uint8Array {
  const head = encodeSegmentHead(flags, transferId, data.byteLength, extensions);
  const bytes = new Uint8Array(head.byteLength + data.byteLength);
  bytes.set(head);
  bytes.set(data, head.byteLength);
  return bytes;
}

/** §5.2.5.1: the Transfer Length extension item (not critical). */
export function transferLengthExtension(totalBytes: number): ExtensionItem {
  const value = new Uint8Array(8);
  new DataView(value.buffer).setBigUint64(0, BigInt(totalBytes));
  return { critical: false, itemType: TRANSFER_EXTENSION_LENGTH, value };
}

/** §5.2.3: flags (those of the acknowledged segment), transfer ID, acknowledged length (cumulative). */
export function encodeXferAck(flags: number, transferId: bigint, acknowledgedBytes: bigint): Uint8Array {
  const bytes = new Uint8Array(18);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, MSG_XFER_ACK);
  view.setUint8(1, flags);
  view.setBigUint64(2, transferId);
  view.setBigUint64(10, acknowledgedBytes);
  return bytes;
}

/** §5.2.4: reason code, transfer ID. */
export function encodeXferRefuse(reason: number, transferId: bigint): Uint8Array {
  const bytes = new Uint8Array(10);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, MSG_XFER_REFUSE);
  view.setUint8(1, reason);
  view.setBigUint64(2, transferId);
  return bytes;
}

/** §5.1.1: the message header alone. */
export const encodeKeepalive = (): Uint8Array => new Uint8Array([MSG_KEEPALIVE]);

/** §6.1: flags (REPLY), reason code. */
export const encodeSessTerm = (reply: boolean, reason: number): Uint8Array => new Uint8Array([MSG_SESS_TERM, reply ? SESS_TERM_FLAG_REPLY : 0, reason]);

/** §5.1.2: reason code, the header byte of the rejected message. */
export const encodeMsgReject = (reason: number, rejectedHeader: number): Uint8Array => new Uint8Array([MSG_MSG_REJECT, reason, rejectedHeader]);

// ---------------------------------------------------------------------------------------------
// Reading

/** Reads the contact header; consumes its 6 bytes only when it was read. A wrong magic is reported as soon as its first wrong byte arrived. */
export function readContactHeader(queue: ByteQueue): ContactHeaderRead {
  const magicAvailable = Math.min(queue.length, CONTACT_MAGIC.length);
  for (let i = 0; i < magicAvailable; i += 1) {
    if (queue.byteAt(i) !== CONTACT_MAGIC[i]) return { kind: 'invalid', reason: 'the contact header does not start with "dtn!"' };
  }
  if (queue.length < CONTACT_HEADER_BYTES) return { kind: 'incomplete' };
  const version = queue.byteAt(4);
  const flags = queue.byteAt(5);
  queue.consume(CONTACT_HEADER_BYTES);
  // §4.2: unknown flag bits are reserved and ignored by the receiver.
  return { kind: 'header', header: { version, flags, canTls: (flags & CONTACT_FLAG_CAN_TLS) !== 0 } };
}

const incomplete: TcpclV4Read = { kind: 'incomplete' };

/** Parses extension items filling exactly `bytes`; a string saying what is wrong otherwise. */
function parseExtensionItems(bytes: Uint8Array): ExtensionItem[] | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const items: ExtensionItem[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    if (bytes.byteLength - at < EXTENSION_ITEM_HEAD_BYTES) return `extension items end inside an item head at byte ${at}`;
    const length = view.getUint16(at + 3);
    if (length > bytes.byteLength - at - EXTENSION_ITEM_HEAD_BYTES) return `extension item at byte ${at} announces ${length} bytes, more than the item list holds`;
    items.push({
      critical: (view.getUint8(at) & EXTENSION_FLAG_CRITICAL) !== 0,
      itemType: view.getUint16(at + 1),
      value: new Uint8Array(bytes.subarray(at + EXTENSION_ITEM_HEAD_BYTES, at + EXTENSION_ITEM_HEAD_BYTES + length)),
    });
    at += EXTENSION_ITEM_HEAD_BYTES + length;
  }
  return items;
}

/** Reads a u64 length at `offset` of the queue (which holds it) and checks it against `limit`. */
function lengthWithin(queue: ByteQueue, offset: number, bytes: 4 | 8, limit: number, what: string): number | TcpclV4Read {
  const view = queue.contiguous(offset + bytes);
  const data = new DataView(view.buffer, view.byteOffset + offset, bytes);
  const value = bytes === 4 ? BigInt(data.getUint32(0)) : data.getBigUint64(0);
  if (value > BigInt(limit)) return { kind: 'invalid', reason: `${what} announces ${value} bytes, more than the ${limit} accepted`, announcedBytes: value, limitBytes: limit };
  return Number(value);
}

/**
 * Reads the message at the front of `queue` (a message header and its body, §4.5); consumes it only
 * when it is whole and valid.
 */
export function readTcpclV4Message(queue: ByteQueue, limits: TcpclV4ReadLimits): TcpclV4Read {
  if (queue.length < 1) return incomplete;
  const messageType = queue.byteAt(0);
  switch (messageType) {
    case MSG_KEEPALIVE:
      queue.consume(1);
      return { kind: 'message', message: { type: 'KEEPALIVE' } };
    case MSG_SESS_TERM:
    case MSG_MSG_REJECT: {
      if (queue.length < 3) return incomplete;
      const first = queue.byteAt(1);
      const second = queue.byteAt(2);
      queue.consume(3);
      // §6.1: unknown flag bits are ignored.
      const message: TcpclV4Message = messageType === MSG_SESS_TERM
        ? { type: 'SESS_TERM', reply: (first & SESS_TERM_FLAG_REPLY) !== 0, reason: second }
        : { type: 'MSG_REJECT', reason: first, rejectedHeader: second };
      return { kind: 'message', message };
    }
    case MSG_XFER_REFUSE: {
      if (queue.length < 10) return incomplete;
      const view = queue.contiguous(10);
      const data = new DataView(view.buffer, view.byteOffset, 10);
      const message: TcpclV4Message = { type: 'XFER_REFUSE', reason: data.getUint8(1), transferId: data.getBigUint64(2) };
      queue.consume(10);
      return { kind: 'message', message };
    }
    case MSG_XFER_ACK: {
      if (queue.length < 18) return incomplete;
      const view = queue.contiguous(18);
      const data = new DataView(view.buffer, view.byteOffset, 18);
      const message: TcpclV4Message = { type: 'XFER_ACK', flags: data.getUint8(1), transferId: data.getBigUint64(2), acknowledgedBytes: data.getBigUint64(10) };
      queue.consume(18);
      return { kind: 'message', message };
    }
    case MSG_XFER_SEGMENT:
      return readXferSegment(queue, limits);
    case MSG_SESS_INIT:
      return readSessionInit(queue, limits);
    default:
      return { kind: 'unknown-type', messageType };
  }
}

function readXferSegment(queue: ByteQueue, limits: TcpclV4ReadLimits): TcpclV4Read {
  if (queue.length < 10) return incomplete;
  const flags = queue.byteAt(1);
  const start = (flags & SEGMENT_FLAG_START) !== 0;
  let at = 10;
  let extensionBytes = 0;
  if (start) {
    if (queue.length < at + 4) return incomplete;
    const announced = lengthWithin(queue, at, 4, limits.extensionItemsBytesMax, 'XFER_SEGMENT transfer extension items length');
    if (typeof announced !== 'number') return announced;
    extensionBytes = announced;
    at += 4 + extensionBytes;
  }
  if (queue.length < at + 8) return incomplete;
  const dataBytes = lengthWithin(queue, at, 8, limits.segmentMruBytes, 'XFER_SEGMENT data length');
  if (typeof dataBytes !== 'number') return dataBytes;
  const total = at + 8 + dataBytes;
  if (queue.length < total) return incomplete;
  const head = queue.contiguous(at + 8);
  const headView = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const transferId = headView.getBigUint64(2);
  let extensions: ExtensionItem[] = [];
  if (start) {
    const parsed = parseExtensionItems(head.subarray(14, 14 + extensionBytes));
    if (typeof parsed === 'string') return { kind: 'invalid', reason: `XFER_SEGMENT: ${parsed}` };
    extensions = parsed;
  }
  queue.consume(at + 8);
  const data = queue.take(dataBytes);
  // §5.2.2: reserved flag bits are ignored by the receiver.
  return { kind: 'message', message: { type: 'XFER_SEGMENT', flags, start, end: (flags & SEGMENT_FLAG_END) !== 0, transferId, extensions, data } };
}

function readSessionInit(queue: ByteQueue, limits: TcpclV4ReadLimits): TcpclV4Read {
  const FIXED = 21;
  if (queue.length < FIXED) return incomplete;
  const fixed = queue.contiguous(FIXED);
  const fixedView = new DataView(fixed.buffer, fixed.byteOffset, FIXED);
  const nodeIdBytes = fixedView.getUint16(19);
  if (nodeIdBytes > limits.nodeIdBytesMax) {
    return { kind: 'invalid', reason: `SESS_INIT node ID of ${nodeIdBytes} bytes is longer than the ${limits.nodeIdBytesMax} accepted`, announcedBytes: BigInt(nodeIdBytes), limitBytes: limits.nodeIdBytesMax };
  }
  const extensionLengthAt = FIXED + nodeIdBytes;
  if (queue.length < extensionLengthAt + 4) return incomplete;
  const extensionBytes = lengthWithin(queue, extensionLengthAt, 4, limits.extensionItemsBytesMax, 'SESS_INIT session extension items length');
  if (typeof extensionBytes !== 'number') return extensionBytes;
  const total = extensionLengthAt + 4 + extensionBytes;
  if (queue.length < total) return incomplete;
  const bytes = queue.contiguous(total);
  const view = new DataView(bytes.buffer, bytes.byteOffset, total);
  let nodeId: string;
  try {
    nodeId = utf8.decode(bytes.subarray(FIXED, FIXED + nodeIdBytes));
  } catch {
    return { kind: 'invalid', reason: 'SESS_INIT node ID is not valid UTF-8' };
  }
  const extensions = parseExtensionItems(bytes.subarray(extensionLengthAt + 4, total));
  if (typeof extensions === 'string') return { kind: 'invalid', reason: `SESS_INIT: ${extensions}` };
  const message: TcpclV4Message = {
    type: 'SESS_INIT',
    keepaliveSec: view.getUint16(1),
    segmentMruBytes: view.getBigUint64(3),
    transferMruBytes: view.getBigUint64(11),
    nodeId,
    extensions,
  };
  queue.consume(total);
  return { kind: 'message', message };
}
