// The TCPCLv3 convergence layer over real TCP on 127.0.0.1: our two sides against each other, and
// raw sockets speaking as ION 4.1 does (acknowledgements only when both ask, several per segment,
// no refusals) or misbehaving (RFC 7242).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RealClock, VirtualClock, durationMs, seededRng, unixMs } from '../../common/index.ts';
import type { BundleHandler } from '../../dtn/convergence-layer.ts';
import { encodeAckSegment, encodeContactHeader, encodeDataSegment } from '../../dtn/tcpcl-v3-messages.ts';
import { TcpclV3ConvergenceLayer, type TcpclV3ConvergenceLayerOptions } from '../../dtn/tcpcl-v3.ts';
import { ACCEPT, deferred, hexOf, MINIMAL_BUNDLE_CRC16, MINIMAL_BUNDLE_CRC32C, patterned, rawConnect, rawServer, startPeer, until, type TestPeer } from './tcp-cl-peers.ts';

type Peer = TestPeer<TcpclV3ConvergenceLayer> & { readonly address: string };

async function startV3(node: number, options: Partial<TcpclV3ConvergenceLayerOptions> = {}, handler?: BundleHandler): Promise<Peer> {
  const peer = await startPeer((log) => new TcpclV3ConvergenceLayer({ localEid: `ipn:${node}.0`, clock: new RealClock(), listen: { host: '127.0.0.1', port: 0 }, log, ...options }), handler);
  return { ...peer, address: `127.0.0.1:${peer.cl.listenAddress?.port}` };
}

const to = (peer: { address: string }) => ({ cl: 'tcpclv3', address: peer.address });
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** The contact header ION 4.1's tcpcli.c sends for node 9: acknowledgements requested, keepalive 15 s. */
const ION_HEADER = hexOf(encodeContactHeader({ flags: 0x01, keepaliveSec: 15, eid: 'ipn:9.0' }));
/** Our contact header as node 2 with the default options: acks and refusal (0x05), keepalive 15 s. */
const OUR_HEADER_BYTES = 8 + 1 + 7;
const eventsOf = (peer: { events: { event: string }[] }): string[] => peer.events.map((e) => e.event);

describe('TcpclV3ConvergenceLayer', () => {
  it('carries the minimal CRC-16 and CRC-32C bundles byte for byte with acknowledgements, naming the sender by its EID', async () => {
    const a = await startV3(1);
    const b = await startV3(2);

    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC32C);
    await b.cl.send(to(a), MINIMAL_BUNDLE_CRC16);

    expect(b.received.map((r) => hexOf(r.bundle))).toEqual([hexOf(MINIMAL_BUNDLE_CRC16), hexOf(MINIMAL_BUNDLE_CRC32C)]);
    expect(a.received.map((r) => hexOf(r.bundle))).toEqual([hexOf(MINIMAL_BUNDLE_CRC16)]);
    expect(b.received[0]!.from).toMatchObject({ cl: 'tcpclv3', peerId: 'ipn:1.0' });
    expect(a.events).toContainEqual(expect.objectContaining({ event: 'tcpclv3.session-established', fields: expect.objectContaining({ acksFromPeer: true, acksToPeer: true, refusal: true, keepaliveSec: 15 }) }));
  });

  it('splits a bundle into many segments and reassembles it', async () => {
    const a = await startV3(1, { segmentBytesMax: 1000 });
    const b = await startV3(2);
    const bundle = patterned(100_000, 1);

    await a.cl.send(to(b), bundle);

    expect(b.received.map((r) => sha256(r.bundle))).toEqual([sha256(bundle)]);
  });

  it('pipelines bundles and answers them in order even when handlers finish out of order', async () => {
    const seed = 7_242;
    const rng = seededRng(seed);
    const a = await startV3(1, { segmentBytesMax: 4096 });
    const b = await startV3(2, {}, async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(rng() * 5)));
      return ACCEPT;
    });
    const bundles = Array.from({ length: 60 }, (_, i) => patterned(1 + Math.floor(rng() * 20_000), i));

    const results = await Promise.allSettled(bundles.map((bundle) => a.cl.send(to(b), bundle)));

    expect(results.filter((r) => r.status === 'fulfilled'), `seed ${seed}`).toHaveLength(60);
    expect(b.received.map((r) => sha256(r.bundle))).toEqual(bundles.map(sha256));
  });

  it('without acknowledgements, resolves send() once the bytes are written, and only logs a bundle it refuses', async () => {
    const a = await startV3(1, { requestAcks: false });
    const b = await startV3(2, {}, async () => ({ accepted: false, reason: 'not for me' }));

    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
    await until(() => b.received.length === 1, 'the bundle');

    expect(a.events).toContainEqual(expect.objectContaining({ event: 'tcpclv3.session-established', fields: expect.objectContaining({ acksFromPeer: false }) }));
    await until(() => eventsOf(b).includes('tcpclv3.refused-unacknowledged'), 'the refusal log line');
  });

  it('with requireAcks, shuts down a session whose peer asks for no acknowledgements, so that send() never means less than "stored"', async () => {
    const a = await startV3(1, { requireAcks: true });
    const b = await startV3(2, { requestAcks: false });

    await expect(a.cl.send(to(b), MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    expect(eventsOf(a)).toContain('tcpclv3.acks-required');
    expect(b.received).toHaveLength(0);
  });

  it('waits for ION\'s several acknowledgements per bundle and resolves at the one covering the whole bundle', async () => {
    const server = await rawServer();
    const a = await startV3(1, { segmentBytesMax: 1 << 20 });
    let resolved = false;
    const sent = a.cl.send({ cl: 'tcpclv3', address: `127.0.0.1:${server.port}` }, patterned(3000, 1)).then(() => { resolved = true; });
    const raw = await server.accepted;
    raw.write(ION_HEADER);
    await raw.receive(OUR_HEADER_BYTES + 3 + 3000);

    raw.write(encodeAckSegment(1000));
    raw.write(encodeAckSegment(2500));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resolved).toBe(false);
    raw.write(encodeAckSegment(3000));
    await sent;
    expect(hexOf(raw.bytes().subarray(OUR_HEADER_BYTES, OUR_HEADER_BYTES + 3))).toBe('139738'); // START|END, SDNV 3000
  });

  it('acknowledges ION\'s intermediate segments at once and the last only after the handler stored the bundle', async () => {
    const gate = deferred();
    const b = await startV3(2, {}, async () => {
      await gate.promise;
      return ACCEPT;
    });
    const raw = await rawConnect(b.cl.listenAddress!.port);
    raw.write(ION_HEADER);
    await raw.receive(OUR_HEADER_BYTES);

    raw.write(encodeDataSegment(true, false, patterned(300, 1)));
    raw.write(encodeDataSegment(false, true, patterned(200, 2)));
    await raw.receive(OUR_HEADER_BYTES + 3);
    await until(() => b.received.length === 1, 'the bundle at the handler');
    expect(hexOf(raw.bytes().subarray(OUR_HEADER_BYTES))).toBe('20822c'); // ACK 300
    gate.resolve();
    await raw.receive(OUR_HEADER_BYTES + 6);

    expect(hexOf(raw.bytes().subarray(OUR_HEADER_BYTES))).toBe('20822c' + '208374'); // ACK 300, ACK 500
    expect(b.received[0]!.bundle.byteLength).toBe(500);
  });

  it('rejects with ORBITFED_CL_REFUSED when both offer refusal and the handler refuses (REFUSE_BUNDLE)', async () => {
    const a = await startV3(1);
    const b = await startV3(2, {}, async () => ({ accepted: false, reason: 'store full' }));

    await expect(a.cl.send(to(b), MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_REFUSED' });
    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC32C).catch(() => undefined);
    expect(eventsOf(b)).toContain('tcpclv3.bundle-refused');
  });

  it('shuts the session down ("busy") rather than acknowledge a refused bundle to a peer that cannot take refusals', async () => {
    const b = await startV3(2, {}, async () => ({ accepted: false, reason: 'store full' }));
    const raw = await rawConnect(b.cl.listenAddress!.port);
    raw.write(ION_HEADER);
    await raw.receive(OUR_HEADER_BYTES);

    raw.write(encodeDataSegment(true, true, patterned(10, 1)));
    await raw.closed;

    expect(hexOf(raw.bytes().subarray(OUR_HEADER_BYTES))).toBe('5202');
  });

  it('shuts down in the middle of transfers without losing or duplicating a bundle', async () => {
    const gate = deferred();
    let handled = 0;
    const a = await startV3(1, { segmentBytesMax: 8192, windowBundles: 4 });
    const b = await startV3(2, {}, async () => {
      handled += 1;
      if (handled === 2) await gate.promise;
      return ACCEPT;
    });
    const bundles = Array.from({ length: 12 }, (_, i) => patterned(64 * 1024, i));

    const settled = Promise.allSettled(bundles.map((bundle) => a.cl.send(to(b), bundle)));
    await until(() => handled >= 2, 'the second bundle at the handler');
    const stopped = b.cl.stop();
    gate.resolve();
    await stopped;
    const results = await settled;

    const acknowledged = bundles.filter((_, i) => results[i]!.status === 'fulfilled');
    const rejected = bundles.filter((_, i) => results[i]!.status === 'rejected');
    expect(acknowledged.length).toBeGreaterThanOrEqual(2);
    expect(rejected.length).toBeGreaterThan(0);
    expect(b.received.map((r) => sha256(r.bundle)).sort()).toEqual(acknowledged.map(sha256).sort());
    const c = await startV3(3);
    for (const bundle of rejected) await a.cl.send(to(c), bundle);
    expect([...b.received, ...c.received].map((r) => sha256(r.bundle)).sort()).toEqual(bundles.map(sha256).sort());
  });

  it('sends KEEPALIVE after an idle interval and shuts a silent session down after two ("idle timeout")', async () => {
    const clock = new VirtualClock(unixMs(5_000_000));
    const server = await rawServer();
    const a = await startPeer((log) => new TcpclV3ConvergenceLayer({ localEid: 'ipn:1.0', clock, log }));
    const sent = a.cl.send({ cl: 'tcpclv3', address: `127.0.0.1:${server.port}` }, patterned(10, 1)).catch((error: unknown) => error);
    const raw = await server.accepted;
    raw.write(hexOf(encodeContactHeader({ flags: 0x01, keepaliveSec: 3, eid: 'ipn:9.0' })));
    await raw.receive(OUR_HEADER_BYTES + 2 + 10);
    const before = raw.bytes().length;

    clock.advance(durationMs(3000));
    await raw.receive(before + 1);
    clock.advance(durationMs(3000));
    await raw.closed;

    expect(hexOf(raw.bytes().subarray(before))).toBe('40' + '5200');
    expect(await sent).toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    expect(eventsOf(a)).toContain('tcpclv3.idle-timeout');
  });

  it('rejects unacknowledged sends with ORBITFED_CL_DISCONNECTED when the peer shuts down', async () => {
    const server = await rawServer();
    const a = await startV3(1);
    const sent = a.cl.send({ cl: 'tcpclv3', address: `127.0.0.1:${server.port}` }, patterned(10, 1));
    const raw = await server.accepted;
    raw.write(ION_HEADER);
    await raw.receive(OUR_HEADER_BYTES + 12);
    raw.write('530200');

    await expect(sent).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED', message: expect.stringContaining('busy') });
  });

  describe('ends the session cleanly on garbage, logs it, and keeps serving others', () => {
    it.each([
      ['an HTTP request (wrong magic: closed at once)', new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'), '', 'tcpclv3.protocol-violation'],
      ['a TCPCLv4 contact header', '64746e210400', '5201', 'tcpclv3.version-mismatch'],
      ['an EID length of 2^32 - 1', '64746e2103010000' + '8fffffff7f', '50', 'tcpclv3.frame-too-large'],
      ['a segment longer than bundleBytesMax', ION_HEADER + '13' + '8fffffff7f', '5202', 'tcpclv3.frame-too-large'],
      ['an unknown message type', ION_HEADER + '70', '50', 'tcpclv3.protocol-violation'],
      ['a segment without START outside a bundle', ION_HEADER + '1101aa', '50', 'tcpclv3.protocol-violation'],
    ])('%s', async (_what, input, expectedTail, event) => {
      const a = await startV3(1);
      const b = await startV3(2);
      const raw = await rawConnect(b.cl.listenAddress!.port);

      raw.write(input);
      await raw.closed;

      expect(hexOf(raw.bytes()).slice(OUR_HEADER_BYTES * 2)).toBe(expectedTail);
      expect(eventsOf(b)).toContain(event);
      expect(b.received).toHaveLength(0);
      await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
      expect(b.received).toHaveLength(1);
    });
  });

  it('stops with no timer left behind', async () => {
    const clock = new VirtualClock(unixMs(0));
    const a = await startPeer((log) => new TcpclV3ConvergenceLayer({ localEid: 'ipn:1.0', clock, log }));
    const b = await startV3(2);
    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
    await a.cl.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
