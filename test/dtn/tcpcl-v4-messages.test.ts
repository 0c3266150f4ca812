// TCPCLv4 messages byte for byte: hex written by hand from the layouts of RFC 9174 (§4.2 contact
// header, §4.6 SESS_INIT, §5.1 KEEPALIVE and MSG_REJECT, §5.2 XFER_SEGMENT/ACK/REFUSE, §6.1
// SESS_TERM), and dtn7-go's own test vectors (test/fixtures/dtn/tcpclv4-dtn7-go-messages.json,
// provenance in test/fixtures/PROVENANCE.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../dtn/tcp-connection.ts';
import {
  encodeContactHeader,
  encodeKeepalive,
  encodeMsgReject,
  encodeSessionInit,
  encodeSessTerm,
  encodeXferAck,
  encodeXferRefuse,
  encodeXferSegment,
  MSG_REJECT_REASON,
  readContactHeader,
  readTcpclV4Message,
  SEGMENT_FLAG_END,
  SEGMENT_FLAG_START,
  SESS_TERM_REASON,
  transferLengthExtension,
  XFER_REFUSE_REASON,
  type TcpclV4Read,
  type TcpclV4ReadLimits,
} from '../../dtn/tcpcl-v4-messages.ts';
import { fromHex, toHex } from './sample-bundles.ts';

const LIMITS: TcpclV4ReadLimits = { segmentMruBytes: 1024 * 1024, nodeIdBytesMax: 1024, extensionItemsBytesMax: 65_536 };
const dtn7Go = JSON.parse(readFileSync(new URL('../fixtures/dtn/tcpclv4-dtn7-go-messages.json', import.meta.url), 'utf8')) as Record<string, string>;

const queueOf = (hex: string): ByteQueue => {
  const queue = new ByteQueue();
  queue.push(fromHex(hex));
  return queue;
};
const read = (hex: string, limits = LIMITS): TcpclV4Read => readTcpclV4Message(queueOf(hex), limits);
const messageOf = (hex: string): unknown => {
  const result = read(hex);
  if (result.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  return result.message;
};

/** The hex of each field in order, so a reader can check it against the RFC's figure. */
const fields = (...parts: string[]): string => parts.join('');

describe('TCPCLv4 contact header (RFC 9174 §4.2)', () => {
  it('is "dtn!", version 4 and the CAN_TLS flag', () => {
    expect(toHex(encodeContactHeader(false))).toBe(fields('64746e21', '04', '00'));
    expect(toHex(encodeContactHeader(true))).toBe(fields('64746e21', '04', '01'));
    expect(toHex(encodeContactHeader(false))).toBe(dtn7Go.contactHeader);
    expect(toHex(encodeContactHeader(true))).toBe(dtn7Go.contactHeaderCanTls);
  });

  it('reads dtn7-go\'s headers, ignoring reserved flag bits', () => {
    expect(readContactHeader(queueOf(dtn7Go.contactHeaderCanTls!))).toEqual({ kind: 'header', header: { version: 4, flags: 1, canTls: true } });
    expect(readContactHeader(queueOf(dtn7Go.contactHeaderUnknownFlags!))).toEqual({ kind: 'header', header: { version: 4, flags: 0x23, canTls: true } });
  });

  it('reads a TCPCLv3 header\'s version so that the session can answer "version mismatch"', () => {
    expect(readContactHeader(queueOf('64746e2103010000'))).toMatchObject({ kind: 'header', header: { version: 3 } });
  });

  it('refuses a wrong magic at its first wrong byte, and waits for a partial header', () => {
    expect(readContactHeader(queueOf('47'))).toMatchObject({ kind: 'invalid' });
    expect(readContactHeader(queueOf('64746e3f0400'))).toMatchObject({ kind: 'invalid' });
    const partial = queueOf('64746e2104');
    expect(readContactHeader(partial)).toEqual({ kind: 'incomplete' });
    expect(partial.length).toBe(5);
  });
});

describe('TCPCLv4 SESS_INIT (§4.6)', () => {
  it('writes keepalive, segment MRU, transfer MRU, node ID and an empty extension list', () => {
    const bytes = encodeSessionInit({ keepaliveSec: 30, segmentMruBytes: 0x10_0000n, transferMruBytes: 0x100_0000n, nodeId: 'ipn:2.0', extensions: [] });
    expect(toHex(bytes)).toBe(fields('07', '001e', '0000000000100000', '0000000001000000', '0007', '69706e3a322e30', '00000000'));
    expect(messageOf(toHex(bytes))).toEqual({ type: 'SESS_INIT', keepaliveSec: 30, segmentMruBytes: 0x10_0000n, transferMruBytes: 0x100_0000n, nodeId: 'ipn:2.0', extensions: [] });
  });

  it('writes extension items as flags, u16 type, u16 length and value', () => {
    const bytes = encodeSessionInit({ keepaliveSec: 0, segmentMruBytes: 1n, transferMruBytes: 1n, nodeId: '', extensions: [{ critical: true, itemType: 0xbd1d, value: fromHex('abcd') }] });
    expect(toHex(bytes)).toBe(fields('07', '0000', '0000000000000001', '0000000000000001', '0000', '00000007', '01', 'bd1d', '0002', 'abcd'));
  });

  it.each([
    ['sessInitDtnNone', { keepaliveSec: 0, segmentMruBytes: 0n, transferMruBytes: 0n, nodeId: 'dtn:none' }],
    ['sessInitFooBar', { keepaliveSec: 3600, segmentMruBytes: 4200n, transferMruBytes: 2300n, nodeId: 'dtn://foo/bar' }],
    ['sessInitNoNodeId', { keepaliveSec: 1, segmentMruBytes: 4200n, transferMruBytes: 2300n, nodeId: '' }],
  ])('reads and writes dtn7-go\'s %s byte for byte', (name, init) => {
    expect(messageOf(dtn7Go[name]!)).toEqual({ type: 'SESS_INIT', ...init, extensions: [] });
    expect(toHex(encodeSessionInit({ ...init, extensions: [] }))).toBe(dtn7Go[name]);
  });

  it('refuses a node ID longer than the cap before it arrives', () => {
    const result = read(fields('07', '0000', '0000000000000000', '0000000000000000', 'ffff'));
    expect(result).toMatchObject({ kind: 'invalid', announcedBytes: 65_535n, limitBytes: 1024 });
  });

  it('refuses an extension list that does not hold its items, and a node ID that is not UTF-8', () => {
    expect(read(fields('07', '0000', '0'.repeat(16), '0'.repeat(16), '0000', '00000003', '01ffff'))).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('item head') });
    expect(read(fields('07', '0000', '0'.repeat(16), '0'.repeat(16), '0000', '00000008', 'ffffffffffffffff'))).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('announces 65535 bytes') });
    expect(read(fields('07', '0000', '0'.repeat(16), '0'.repeat(16), '0002', 'c328', '00000000'))).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('UTF-8') });
  });
});

describe('TCPCLv4 transfer messages (§5.2)', () => {
  it('writes a single-segment transfer: START|END, transfer ID, no extensions, length, data', () => {
    const bytes = encodeXferSegment(SEGMENT_FLAG_START | SEGMENT_FLAG_END, 0n, fromHex('6869'));
    expect(toHex(bytes)).toBe(fields('01', '03', '0000000000000000', '00000000', '0000000000000002', '6869'));
  });

  it('writes a START segment with the Transfer Length extension (§5.2.5.1), a middle and an END segment', () => {
    const start = encodeXferSegment(SEGMENT_FLAG_START, 1n, new Uint8Array(4), [transferLengthExtension(300)]);
    expect(toHex(start)).toBe(fields('01', '02', '0000000000000001', '0000000d', '00', '0001', '0008', '000000000000012c', '0000000000000004', '00000000'));
    expect(toHex(encodeXferSegment(0, 1n, fromHex('aa')))).toBe(fields('01', '00', '0000000000000001', '0000000000000001', 'aa'));
    expect(toHex(encodeXferSegment(SEGMENT_FLAG_END, 1n, fromHex('bb')))).toBe(fields('01', '01', '0000000000000001', '0000000000000001', 'bb'));
    expect(messageOf(toHex(start))).toMatchObject({ type: 'XFER_SEGMENT', start: true, end: false, transferId: 1n, extensions: [{ critical: false, itemType: 1, value: fromHex('000000000000012c') }] });
  });

  it('reads and writes dtn7-go\'s segments, acknowledgement and refusal', () => {
    expect(messageOf(dtn7Go.xferSegmentStart!)).toEqual({ type: 'XFER_SEGMENT', flags: 2, start: true, end: false, transferId: 1n, extensions: [], data: new TextEncoder().encode('uff') });
    expect(toHex(encodeXferSegment(SEGMENT_FLAG_START | SEGMENT_FLAG_END, 1n, new TextEncoder().encode('uff')))).toBe(dtn7Go.xferSegmentStartEnd);
    expect(messageOf(dtn7Go.xferAck!)).toEqual({ type: 'XFER_ACK', flags: 3, transferId: 1n, acknowledgedBytes: 255n });
    expect(toHex(encodeXferAck(3, 1n, 255n))).toBe(dtn7Go.xferAck);
    expect(messageOf(dtn7Go.xferRefuse!)).toEqual({ type: 'XFER_REFUSE', reason: XFER_REFUSE_REASON.unknown, transferId: 1n });
    expect(toHex(encodeXferRefuse(XFER_REFUSE_REASON.unknown, 1n))).toBe(dtn7Go.xferRefuse);
  });

  it('writes XFER_ACK with the segment\'s flags and the cumulative length, XFER_REFUSE with its reason', () => {
    expect(toHex(encodeXferAck(SEGMENT_FLAG_END, 5n, 2n))).toBe(fields('02', '01', '0000000000000005', '0000000000000002'));
    expect(toHex(encodeXferRefuse(XFER_REFUSE_REASON.notAcceptable, 5n))).toBe(fields('03', '04', '0000000000000005'));
    expect(toHex(encodeXferRefuse(XFER_REFUSE_REASON.sessionTerminating, 5n))).toBe(fields('03', '06', '0000000000000005'));
  });

  it('refuses a segment longer than the Segment MRU after reading its 18-byte head, without waiting for the data', () => {
    const result = read(fields('01', '00', '0000000000000001', 'ffffffffffffffff'));
    expect(result).toMatchObject({ kind: 'invalid', announcedBytes: (1n << 64n) - 1n, limitBytes: 1024 * 1024 });
    expect(read(fields('01', '02', '0000000000000001', 'ffffffff'))).toMatchObject({ kind: 'invalid', limitBytes: 65_536 });
  });

  it('waits for a segment byte by byte and consumes it only when whole', () => {
    const whole = fromHex(fields('01', '03', '0000000000000007', '00000000', '0000000000000003', '616263', '04'));
    const queue = new ByteQueue();
    for (let i = 0; i < whole.length - 2; i += 1) {
      queue.push(whole.subarray(i, i + 1));
      expect(readTcpclV4Message(queue, LIMITS)).toEqual({ kind: 'incomplete' });
    }
    queue.push(whole.subarray(whole.length - 2));
    expect(readTcpclV4Message(queue, LIMITS)).toMatchObject({ kind: 'message', message: { type: 'XFER_SEGMENT', transferId: 7n, data: fromHex('616263') } });
    expect(readTcpclV4Message(queue, LIMITS)).toEqual({ kind: 'message', message: { type: 'KEEPALIVE' } });
    expect(queue.length).toBe(0);
  });
});

describe('TCPCLv4 session messages (§5.1, §6.1)', () => {
  it('writes KEEPALIVE, SESS_TERM and MSG_REJECT as dtn7-go does', () => {
    expect(toHex(encodeKeepalive())).toBe(dtn7Go.keepalive);
    expect(toHex(encodeSessTerm(false, SESS_TERM_REASON.unknown))).toBe(dtn7Go.sessTerm);
    expect(toHex(encodeSessTerm(true, SESS_TERM_REASON.idleTimeout))).toBe(dtn7Go.sessTermReplyIdle);
    expect(toHex(encodeMsgReject(MSG_REJECT_REASON.typeUnknown, 0x01))).toBe(dtn7Go.msgRejectTypeUnknown);
    expect(toHex(encodeMsgReject(MSG_REJECT_REASON.unexpected, 0x01))).toBe(dtn7Go.msgRejectUnexpected);
    expect(messageOf(dtn7Go.sessTermReplyIdle!)).toEqual({ type: 'SESS_TERM', reply: true, reason: SESS_TERM_REASON.idleTimeout });
    expect(messageOf(dtn7Go.msgRejectUnexpected!)).toEqual({ type: 'MSG_REJECT', reason: MSG_REJECT_REASON.unexpected, rejectedHeader: 1 });
  });

  it('reports an unknown message type, whose length it cannot know', () => {
    expect(read('09')).toEqual({ kind: 'unknown-type', messageType: 9 });
    expect(read('ff000000')).toEqual({ kind: 'unknown-type', messageType: 0xff });
  });
});
