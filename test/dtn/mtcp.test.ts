// The MTCP convergence layer (draft-ietf-dtn-mtcpcl-01) over real TCP on 127.0.0.1: PDU framing
// byte for byte (hand-computed CBOR heads, and dtn7-rs's MPDU test vector from
// core/dtn7/tests/mtcp-tests.rs, test/fixtures/dtn/dtn7-rs-mtcp-mpdu.hex), our two sides against
// each other, and raw sockets sending what a broken peer would.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RealClock, VirtualClock, unixMs } from '../../common/index.ts';
import { CRC_16_X25, CRC_32C, makeBundle } from '../../dtn/bundle.ts';
import { decodeBundle, encodeBundle } from '../../dtn/bundle-codec.ts';
import type { BundleHandler } from '../../dtn/convergence-layer.ts';
import { dtnTimeMs } from '../../dtn/dtn-time.ts';
import { ipnEid } from '../../dtn/eid.ts';
import { encodeMtcpPdu, encodeMtcpPduHead, MtcpConvergenceLayer, readMtcpPdu, type MtcpConvergenceLayerOptions } from '../../dtn/mtcp.ts';
import { ByteQueue } from '../../dtn/tcp-connection.ts';
import { fromHex, toHex } from './sample-bundles.ts';
import { hexOf, MINIMAL_BUNDLE_CRC16, MINIMAL_BUNDLE_CRC32C, onCleanup, patterned, rawConnect, rawServer, startPeer, until, type TestPeer } from './tcp-cl-peers.ts';

type Peer = TestPeer<MtcpConvergenceLayer> & { readonly address: string };

async function startMtcp(options: Partial<MtcpConvergenceLayerOptions> = {}, handler?: BundleHandler): Promise<Peer> {
  const peer = await startPeer((log) => new MtcpConvergenceLayer({ clock: new RealClock(), listen: { host: '127.0.0.1', port: 0 }, log, ...options }), handler);
  return { ...peer, address: `127.0.0.1:${peer.cl.listenAddress?.port}` };
}

const to = (peer: { address: string }) => ({ cl: 'mtcp', address: peer.address });
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const DTN7_RS_MPDU = fromHex(readFileSync(new URL('../fixtures/dtn/dtn7-rs-mtcp-mpdu.hex', import.meta.url), 'utf8'));
const eventsOf = (peer: { events: { event: string }[] }): string[] => peer.events.map((e) => e.event);

describe('MTCP PDU framing (a CBOR byte string, RFC 8949 §3.1)', () => {
  it.each([
    [0, '40'],
    [23, '57'],
    [24, '5818'],
    [255, '58ff'],
    [256, '590100'],
    [65_535, '59ffff'],
    [65_536, '5a00010000'],
    [2 ** 32, '5b0000000100000000'],
  ])('writes the head of %i bytes in shortest form as %s', (length, hex) => {
    expect(toHex(encodeMtcpPduHead(length))).toBe(hex);
  });

  it('frames the minimal bundle as 0x58 0x33 and its 51 bytes', () => {
    expect(toHex(encodeMtcpPdu(MINIMAL_BUNDLE_CRC16))).toBe('5833' + hexOf(MINIMAL_BUNDLE_CRC16));
  });

  it('reproduces dtn7-rs\'s MPDU test vector byte for byte and reads it back', () => {
    const bundle = DTN7_RS_MPDU.subarray(2);
    expect(toHex(encodeMtcpPdu(bundle))).toBe(toHex(DTN7_RS_MPDU));
    const queue = new ByteQueue();
    queue.push(DTN7_RS_MPDU);
    expect(readMtcpPdu(queue, 1024)).toEqual({ kind: 'bundle', bundle: new Uint8Array(bundle) });
    expect(queue.length).toBe(0);
  });

  it('reads heads not in shortest form, refuses other major types, indefinite lengths and oversized heads', () => {
    const read = (hex: string, max = 1024) => {
      const queue = new ByteQueue();
      queue.push(fromHex(hex));
      return readMtcpPdu(queue, max);
    };
    expect(read('590003616263')).toEqual({ kind: 'bundle', bundle: fromHex('616263') });
    expect(read('5900036162')).toEqual({ kind: 'incomplete' });
    expect(read('9f')).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('major type 2') });
    expect(read('5f4161ff')).toMatchObject({ kind: 'invalid', reason: 'indefinite-length byte string' });
    expect(read('5bffffffffffffffff')).toMatchObject({ kind: 'invalid', announcedBytes: (1n << 64n) - 1n });
    expect(read('5a00000401', 1024)).toMatchObject({ kind: 'invalid', announcedBytes: 1025n });
  });
});

describe('the minimal bundles every CL test carries (RFC 9171 §4, CRCs computed by hand)', () => {
  const fields = (...parts: string[]): string => parts.join('');
  // RFC 9171 §4.3.1 primary block: [version 7, flags 0, CRC type, destination ipn:2.1, source ipn:1.1,
  // report-to ipn:1.1, creation [815,000,000,000 ms, 0], lifetime 3,600,000 ms, CRC]; §4.3.2 payload
  // block [type 1, number 1, flags 0, CRC type 0, "hello"]. The CRCs were computed bit by bit
  // (CRC-16/X.25 and CRC-32C, RFC 9171 §4.2.1) over the block with its CRC bytes zero.
  const primaryWithout = (crcType: string): string => fields('89', '07', '00', crcType, '8202820201', '8202820101', '8202820101', '821b000000bdc1c91600' + '00', '1a0036ee80');
  const payload = fields('85', '01', '01', '00', '00', '45', '68656c6c6f');

  it('is, with a CRC-16 primary block, these 51 bytes, which our codec writes and reads alike', () => {
    const hex = fields('9f', primaryWithout('01'), '42', '387f', payload, 'ff');
    expect(hexOf(MINIMAL_BUNDLE_CRC16)).toBe(hex);
    const bundle = makeBundle({ destination: ipnEid(2, 1), source: ipnEid(1, 1), creation: { dtnTimeMs: dtnTimeMs(815_000_000_000), sequence: 0n }, lifetimeMs: 3_600_000, payload: new TextEncoder().encode('hello'), crcType: CRC_16_X25 });
    expect(hexOf(encodeBundle(bundle))).toBe(hex);
    expect(decodeBundle(MINIMAL_BUNDLE_CRC16)).toEqual(bundle);
  });

  it('is, with a CRC-32C primary block, these 53 bytes', () => {
    const hex = fields('9f', primaryWithout('02'), '44', 'ad7a8310', payload, 'ff');
    expect(hexOf(MINIMAL_BUNDLE_CRC32C)).toBe(hex);
    const bundle = makeBundle({ destination: ipnEid(2, 1), source: ipnEid(1, 1), creation: { dtnTimeMs: dtnTimeMs(815_000_000_000), sequence: 0n }, lifetimeMs: 3_600_000, payload: new TextEncoder().encode('hello'), crcType: CRC_32C });
    expect(hexOf(encodeBundle(bundle))).toBe(hex);
  });
});

describe('MtcpConvergenceLayer', () => {
  it('carries the minimal CRC-16 and CRC-32C bundles byte for byte', async () => {
    const a = await startMtcp();
    const b = await startMtcp();

    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC32C);
    await until(() => b.received.length === 2, 'two bundles');

    expect(b.received.map((r) => hexOf(r.bundle))).toEqual([hexOf(MINIMAL_BUNDLE_CRC16), hexOf(MINIMAL_BUNDLE_CRC32C)]);
    expect(b.received[0]!.from).toMatchObject({ cl: 'mtcp', remoteAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  it('sends exactly the PDU bytes on the wire, several bundles back to back on one connection', async () => {
    const server = await rawServer();
    const a = await startMtcp();
    const peer = { cl: 'mtcp', address: `127.0.0.1:${server.port}` };

    await a.cl.send(peer, MINIMAL_BUNDLE_CRC16);
    await a.cl.send(peer, DTN7_RS_MPDU.subarray(2));
    const raw = await server.accepted;
    await raw.receive(53 + 53);

    expect(hexOf(raw.bytes())).toBe('5833' + hexOf(MINIMAL_BUNDLE_CRC16) + hexOf(DTN7_RS_MPDU));
  });

  it('delivers dtn7-rs\'s PDU sent by a raw peer, and bundles of every head size', async () => {
    const b = await startMtcp();
    const raw = await rawConnect(b.cl.listenAddress!.port);
    const bundles = [1, 23, 24, 255, 256, 65_535, 65_536, 1 << 20].map((bytes, i) => patterned(bytes, i));

    raw.write(DTN7_RS_MPDU);
    for (const bundle of bundles) raw.write(encodeMtcpPdu(bundle));
    await until(() => b.received.length === 1 + bundles.length, 'all bundles');

    expect(b.received.map((r) => sha256(r.bundle))).toEqual([DTN7_RS_MPDU.subarray(2), ...bundles].map(sha256));
  });

  it('resolves send() once the bytes are handed to the operating system, even though the peer never read them (MTCP has no acknowledgement)', async () => {
    const server = await rawServer();
    const a = await startMtcp();

    await a.cl.send({ cl: 'mtcp', address: `127.0.0.1:${server.port}` }, patterned(1000, 1));
    const raw = await server.accepted;
    raw.socket.pause();
  });

  it('can only log a bundle its handler refuses', async () => {
    const a = await startMtcp();
    const b = await startMtcp({}, async () => ({ accepted: false, reason: 'not for me' }));

    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);

    await until(() => eventsOf(b).includes('mtcp.refused-unacknowledged'), 'the refusal log line');
    expect(b.events.find((e) => e.event === 'mtcp.refused-unacknowledged')!.fields).toMatchObject({ why: 'not for me' });
  });

  it('reconnects for the next send after the peer closed the connection', async () => {
    const connections: Socket[] = [];
    const received: Buffer[] = [];
    const server = createServer((socket) => {
      connections.push(socket);
      socket.on('data', (chunk: Buffer) => received.push(chunk));
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    onCleanup(() => new Promise<void>((resolve) => {
      for (const socket of connections) socket.destroy();
      server.close(() => resolve());
    }));
    const a = await startMtcp();
    const peer = { cl: 'mtcp', address: `127.0.0.1:${(server.address() as AddressInfo).port}` };

    await a.cl.send(peer, MINIMAL_BUNDLE_CRC16);
    await until(() => connections.length === 1, 'the first connection');
    connections[0]!.end();
    await until(() => connections[0]!.closed, 'the first connection to close');
    await new Promise((resolve) => setTimeout(resolve, 10));
    await a.cl.send(peer, MINIMAL_BUNDLE_CRC32C);
    await until(() => Buffer.concat(received).length === 53 + 55, 'both PDUs');

    expect(connections).toHaveLength(2);
    expect(Buffer.concat(received).toString('hex')).toBe('5833' + hexOf(MINIMAL_BUNDLE_CRC16) + '5835' + hexOf(MINIMAL_BUNDLE_CRC32C));
  });

  it('rejects an unreachable peer with ORBITFED_CL_DISCONNECTED and a malformed address with ORBITFED_CL_ADDRESS', async () => {
    const a = await startMtcp();
    await expect(a.cl.send({ cl: 'mtcp', address: '127.0.0.1:1' }, MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    await expect(a.cl.send({ cl: 'mtcp', address: '[::1:4224' }, MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_ADDRESS' });
    await expect(a.cl.send({ cl: 'tcpclv4', address: '127.0.0.1:4224' }, MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_ADDRESS' });
  });

  describe('closes a connection that sends garbage, logs it, and keeps serving others', () => {
    it.each([
      // (An HTTP request would not do: 'G' is 0x47, the head of a 7-byte CBOR byte string.)
      ['text that is not CBOR byte strings', new TextEncoder().encode('hello, is this MTCP?'), 'mtcp.protocol-violation'],
      ['an indefinite-length byte string', fromHex('5f41aaff'), 'mtcp.protocol-violation'],
      ['a PDU head announcing 2^64 - 1 bytes', fromHex('5bffffffffffffffff'), 'mtcp.frame-too-large'],
    ])('%s', async (_what, bytes, event) => {
      const a = await startMtcp();
      const b = await startMtcp({ bundleBytesMax: 1 << 20 });
      const raw = await rawConnect(b.cl.listenAddress!.port);

      raw.write(bytes);
      await raw.closed;

      expect(eventsOf(b)).toContain(event);
      expect(b.received).toHaveLength(0);
      await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
      await until(() => b.received.length === 1, 'a bundle from a well-behaved peer');
    });
  });

  it('drops and logs a PDU cut off by the connection', async () => {
    const b = await startMtcp();
    const raw = await rawConnect(b.cl.listenAddress!.port);
    raw.write(encodeMtcpPdu(patterned(1000, 1)).subarray(0, 500));
    await new Promise((resolve) => setTimeout(resolve, 10));
    raw.socket.destroy();

    await until(() => eventsOf(b).includes('mtcp.partial-bundle-dropped'), 'the log line');
    expect(b.received).toHaveLength(0);
  });

  it('stops with no timer left behind', async () => {
    const clock = new VirtualClock(unixMs(0));
    const a = await startPeer((log) => new MtcpConvergenceLayer({ clock, log }));
    const b = await startMtcp();
    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
    await until(() => b.received.length === 1, 'the bundle');
    await a.cl.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
