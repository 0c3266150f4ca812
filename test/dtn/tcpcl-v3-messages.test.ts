// TCPCLv3 messages byte for byte, hex written by hand from RFC 7242's layouts (§4.1 contact header,
// §5.2–§5.6, §6.1), and the contact header and SHUTDOWN exactly as ION's tcpcli.c (bpv7/tcp) and
// HDTN's Tcpcl tests build them.
import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../dtn/tcp-connection.ts';
import {
  CONTACT_FLAG_REFUSAL,
  CONTACT_FLAG_REQUEST_ACK,
  encodeAckSegment,
  encodeContactHeader,
  encodeDataSegment,
  encodeKeepalive,
  encodeLength,
  encodeRefuseBundle,
  encodeShutdown,
  readContactHeader,
  readTcpclV3Message,
  REFUSE_REASON,
  SHUTDOWN_REASON,
  type TcpclV3Read,
} from '../../dtn/tcpcl-v3-messages.ts';
import { fromHex, toHex } from './sample-bundles.ts';

const queueOf = (hex: string): ByteQueue => {
  const queue = new ByteQueue();
  queue.push(fromHex(hex));
  return queue;
};
const read = (hex: string, segmentBytesMax = 1024 * 1024): TcpclV3Read => readTcpclV3Message(queueOf(hex), { segmentBytesMax });
const fields = (...parts: string[]): string => parts.join('');

describe('TCPCLv3 contact header (RFC 7242 §4.1)', () => {
  it('writes magic, version 3, flags, keepalive (u16) and the EID with its SDNV length', () => {
    const bytes = encodeContactHeader({ flags: CONTACT_FLAG_REQUEST_ACK | CONTACT_FLAG_REFUSAL, keepaliveSec: 15, eid: 'ipn:2.0' });
    expect(toHex(bytes)).toBe(fields('64746e21', '03', '05', '000f', '07', '69706e3a322e30'));
  });

  it('reads the header ION 4.1 sends (acks requested, keepalive 15 s, ipn:N.0)', () => {
    const ion = fields('64746e21', '03', '01', '000f', '07', '69706e3a312e30');
    const queue = queueOf(ion + '40');
    expect(readContactHeader(queue, 1024)).toEqual({ kind: 'header', header: { version: 3, flags: 1, keepaliveSec: 15, eid: 'ipn:1.0' } });
    expect(queue.length).toBe(1);
  });

  it('reads an EID whose length takes a two-byte SDNV', () => {
    const eid = `dtn://${'n'.repeat(200)}/`;
    const bytes = encodeContactHeader({ flags: 0, keepaliveSec: 0, eid });
    expect(toHex(bytes.subarray(8, 10))).toBe('814f'); // 207 bytes: 1 × 128 + 79
    expect(readContactHeader(queueOf(toHex(bytes)), 1024)).toMatchObject({ kind: 'header', header: { eid } });
  });

  it('reports another version as soon as its byte arrives, and a wrong magic at once', () => {
    expect(readContactHeader(queueOf('64746e2104'), 1024)).toEqual({ kind: 'wrong-version', version: 4 });
    expect(readContactHeader(queueOf('4745'), 1024)).toMatchObject({ kind: 'invalid' });
  });

  it('refuses an EID longer than the cap from its length alone, and waits for a partial header', () => {
    expect(readContactHeader(queueOf(fields('64746e21', '03', '00', '0000', '8fffffff7f')), 1024)).toMatchObject({ kind: 'invalid', tooLarge: true });
    expect(readContactHeader(queueOf(fields('64746e21', '03', '00', '0000', '07', '69706e')), 1024)).toEqual({ kind: 'incomplete' });
  });
});

describe('TCPCLv3 messages (§5, §6.1)', () => {
  it('writes DATA_SEGMENT as type 1 with START (0x02) and END (0x01) flags, an SDNV length and the data', () => {
    expect(toHex(encodeDataSegment(true, true, new TextEncoder().encode('hello')))).toBe(fields('13', '05', '68656c6c6f'));
    expect(toHex(encodeDataSegment(true, false, new Uint8Array(200))).slice(0, 6)).toBe(fields('12', '8148'));
    expect(toHex(encodeDataSegment(false, false, fromHex('aa')))).toBe(fields('10', '01', 'aa'));
    expect(toHex(encodeDataSegment(false, true, fromHex('bb')))).toBe(fields('11', '01', 'bb'));
  });

  it('writes ACK_SEGMENT with the cumulative length, REFUSE_BUNDLE with its reason in the flags, KEEPALIVE and LENGTH', () => {
    expect(toHex(encodeAckSegment(300))).toBe(fields('20', '822c'));
    expect(toHex(encodeRefuseBundle(REFUSE_REASON.noResources))).toBe('32');
    expect(toHex(encodeKeepalive())).toBe('40');
    expect(toHex(encodeLength(0xdeadbeef))).toBe(fields('60', '8df5b6fd6f'));
  });

  it('writes SHUTDOWN with and without reason and reconnection delay, as ION and HDTN do', () => {
    expect(toHex(encodeShutdown())).toBe('50');
    expect(toHex(encodeShutdown({ reason: SHUTDOWN_REASON.versionMismatch }))).toBe('5201');
    expect(toHex(encodeShutdown({ reason: SHUTDOWN_REASON.busy, reconnectDelaySec: 0 }))).toBe('530200'); // ION: reason, "do not reconnect"
    expect(toHex(encodeShutdown({ reason: SHUTDOWN_REASON.busy, reconnectDelaySec: 0x7654_3210 }))).toBe(fields('53', '02', '87b2d0e410')); // HDTN's test values
    expect(read('530287b2d0e410')).toEqual({ kind: 'message', message: { type: 'SHUTDOWN', reason: 2, reconnectDelaySec: 0x7654_3210 } });
    expect(read('51' + '89c3d9a832')).toEqual({ kind: 'message', message: { type: 'SHUTDOWN', reconnectDelaySec: 0x9876_5432 } }); // HDTN: delay, no reason
  });

  it('reads each message back', () => {
    expect(read('1305' + '68656c6c6f')).toEqual({ kind: 'message', message: { type: 'DATA_SEGMENT', start: true, end: true, data: new TextEncoder().encode('hello') } });
    expect(read('20822c')).toEqual({ kind: 'message', message: { type: 'ACK_SEGMENT', acknowledgedBytes: 300 } });
    expect(read('33')).toEqual({ kind: 'message', message: { type: 'REFUSE_BUNDLE', reason: REFUSE_REASON.retransmit } });
    expect(read('40')).toEqual({ kind: 'message', message: { type: 'KEEPALIVE' } });
    expect(read('608df5b6fd6f')).toEqual({ kind: 'message', message: { type: 'LENGTH', bundleBytes: 0xdeadbeef } });
    expect(read('52')).toEqual({ kind: 'incomplete' });
  });

  it('refuses a segment longer than the limit from its SDNV, before the data arrives', () => {
    expect(read(fields('13', '8fffffff7f'), 1000)).toMatchObject({ kind: 'invalid', tooLarge: true });
    expect(read(fields('13', '8769'), 1000)).toMatchObject({ kind: 'invalid', tooLarge: true }); // 1001
    expect(read(fields('13', '8768'), 1000)).toEqual({ kind: 'incomplete' }); // 1000 fits: wait for the data
  });

  it('reports unknown message types and malformed SDNVs', () => {
    expect(read('70')).toEqual({ kind: 'unknown-type', messageType: 7 });
    expect(read('00')).toEqual({ kind: 'unknown-type', messageType: 0 });
    expect(read('20' + '80'.repeat(10) + '01')).toMatchObject({ kind: 'invalid' });
  });
});
