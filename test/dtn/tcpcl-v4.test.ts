// The TCPCLv4 convergence layer over real TCP on 127.0.0.1: our active side against our passive
// side, and raw sockets playing a misbehaving or silent peer byte by byte (RFC 9174).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RealClock, seededRng, VirtualClock, unixMs, durationMs } from '../../common/index.ts';
import type { BundleHandler } from '../../dtn/convergence-layer.ts';
import { encodeSessionInit, encodeXferSegment, SEGMENT_FLAG_END, SEGMENT_FLAG_START, transferLengthExtension } from '../../dtn/tcpcl-v4-messages.ts';
import { TcpclV4ConvergenceLayer, type TcpclV4ConvergenceLayerOptions } from '../../dtn/tcpcl-v4.ts';
import { ACCEPT, deferred, hexOf, MINIMAL_BUNDLE_CRC16, MINIMAL_BUNDLE_CRC32C, patterned, rawConnect, rawServer, startPeer, until, type TestPeer } from './tcp-cl-peers.ts';

const MIB = 1024 * 1024;
const tlsFile = (name: string): string => readFileSync(new URL(`../fixtures/dtn/tls/${name}`, import.meta.url), 'utf8');
const TLS_1 = { key: tlsFile('node1.key'), cert: tlsFile('node1.crt'), ca: tlsFile('ca.crt') };
const TLS_2 = { key: tlsFile('node2.key'), cert: tlsFile('node2.crt'), ca: tlsFile('ca.crt') };

type Peer = TestPeer<TcpclV4ConvergenceLayer> & { readonly address: string };

async function startV4(node: number, options: Partial<TcpclV4ConvergenceLayerOptions> = {}, handler?: BundleHandler): Promise<Peer> {
  const peer = await startPeer((log) => new TcpclV4ConvergenceLayer({ nodeId: `ipn:${node}.0`, clock: new RealClock(), listen: { host: '127.0.0.1', port: 0 }, log, ...options }), handler);
  return { ...peer, address: `127.0.0.1:${peer.cl.listenAddress?.port}` };
}

const to = (peer: { address: string }) => ({ cl: 'tcpclv4', address: peer.address });
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const sessInit = (keepaliveSec: number, nodeId: string, segmentMru = MIB, transferMru = 16 * MIB): string =>
  hexOf(encodeSessionInit({ keepaliveSec, segmentMruBytes: BigInt(segmentMru), transferMruBytes: BigInt(transferMru), nodeId, extensions: [] }));
const CONTACT = '64746e210400';
const eventsOf = (peer: Peer): string[] => peer.events.map((e) => e.event);

describe('TcpclV4ConvergenceLayer', () => {
  it('carries the minimal CRC-16 and CRC-32C bundles byte for byte, naming the sender by its node ID', async () => {
    const a = await startV4(1);
    const b = await startV4(2);

    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC32C);
    await b.cl.send(to(a), MINIMAL_BUNDLE_CRC32C);

    expect(b.received.map((r) => hexOf(r.bundle))).toEqual([hexOf(MINIMAL_BUNDLE_CRC16), hexOf(MINIMAL_BUNDLE_CRC32C)]);
    expect(a.received.map((r) => hexOf(r.bundle))).toEqual([hexOf(MINIMAL_BUNDLE_CRC32C)]);
    expect(b.received[0]!.from).toMatchObject({ cl: 'tcpclv4', peerId: 'ipn:1.0', remoteAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(b.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.session-established', fields: expect.objectContaining({ role: 'passive', tls: false, keepaliveSec: 30 }) }));
  });

  it('splits a bundle into segments of at most the receiver\'s Segment MRU and reassembles it', async () => {
    const a = await startV4(1, { segmentBytesMax: 4096 });
    const b = await startV4(2, { segmentMruBytes: 1000 });
    const bundle = patterned(100_000, 1);

    await a.cl.send(to(b), bundle);

    expect(b.received.map((r) => sha256(r.bundle))).toEqual([sha256(bundle)]);
    expect(a.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.session-established', fields: expect.objectContaining({ segmentBytes: 1000 }) }));
  });

  it('pipelines 200 bundles of 1 B to 1 MiB over one session, each delivered and acknowledged once', async () => {
    const seed = 20_260_614;
    const rng = seededRng(seed);
    const a = await startV4(1, { segmentBytesMax: 64 * 1024 });
    const b = await startV4(2);
    const bundles = Array.from({ length: 200 }, (_, i) => patterned(i === 0 ? 1 : i === 1 ? MIB : Math.max(1, Math.round(Math.exp(rng() * Math.log(MIB)))), i));

    const results = await Promise.allSettled(bundles.map((bundle) => a.cl.send(to(b), bundle)));

    expect(results.filter((r) => r.status === 'fulfilled'), `seed ${seed}`).toHaveLength(200);
    expect(b.received.map((r) => sha256(r.bundle)).sort()).toEqual(bundles.map(sha256).sort());
    expect(eventsOf(a).filter((e) => e === 'tcpclv4.session-established')).toHaveLength(1);
  });

  it('rejects with ORBITFED_CL_REFUSED when the receiver\'s handler refuses (XFER_REFUSE "Not Acceptable")', async () => {
    const a = await startV4(1);
    const b = await startV4(2, {}, async () => ({ accepted: false, reason: 'store full' }));

    await expect(a.cl.send(to(b), MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_REFUSED', message: expect.stringContaining('notAcceptable') });
    expect(b.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.transfer-refused', fields: expect.objectContaining({ why: 'store full' }) }));
  });

  it('treats a throwing handler as a refusal, logs it, and keeps the session', async () => {
    let calls = 0;
    const a = await startV4(1);
    const b = await startV4(2, {}, async () => {
      calls += 1;
      if (calls === 1) throw new Error('disk on fire');
      return ACCEPT;
    });

    await expect(a.cl.send(to(b), MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_REFUSED' });
    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC32C);

    expect(b.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.handler-failed', fields: expect.objectContaining({ error: 'disk on fire' }) }));
    expect(eventsOf(a).filter((e) => e === 'tcpclv4.session-established')).toHaveLength(1);
  });

  it('does not send a bundle above the peer\'s Transfer MRU (ORBITFED_CL_TOO_LARGE), and sends the next one', async () => {
    const a = await startV4(1);
    const b = await startV4(2, { transferMruBytes: 1000 });

    await expect(a.cl.send(to(b), patterned(1001, 1))).rejects.toMatchObject({ code: 'ORBITFED_CL_TOO_LARGE' });
    await a.cl.send(to(b), patterned(1000, 2));

    expect(b.received.map((r) => r.bundle.byteLength)).toEqual([1000]);
  });

  it('refuses a transfer that outgrows its Transfer MRU ("No Resources"), drops the rest of it, and takes the next', async () => {
    const b = await startV4(2, { transferMruBytes: 100 });
    const raw = await rawConnect(b.cl.listenAddress!.port);
    raw.write(CONTACT + sessInit(0, 'ipn:9.0'));
    await raw.receive(6 + 32);
    const before = raw.bytes().length;

    raw.write(encodeXferSegment(SEGMENT_FLAG_START, 0n, patterned(80, 1)));
    raw.write(encodeXferSegment(0, 0n, patterned(80, 2)));
    raw.write(encodeXferSegment(SEGMENT_FLAG_END, 0n, patterned(80, 3)));
    raw.write(encodeXferSegment(SEGMENT_FLAG_START | SEGMENT_FLAG_END, 1n, patterned(50, 4)));
    await raw.receive(before + 18 + 10 + 18);

    expect(hexOf(raw.bytes().subarray(before))).toBe(
      '0202' + '0000000000000000' + '0000000000000050' // XFER_ACK of the first segment (80 bytes)
      + '0302' + '0000000000000000' // XFER_REFUSE "No Resources" for transfer 0
      + '0203' + '0000000000000001' + '0000000000000032'); // final XFER_ACK of transfer 1 (50 bytes)
    expect(b.received.map((r) => r.bundle.byteLength)).toEqual([50]);
  });

  it('refuses at once a transfer whose Transfer Length extension exceeds the Transfer MRU', async () => {
    const b = await startV4(2, { transferMruBytes: 100 });
    const raw = await rawConnect(b.cl.listenAddress!.port);
    raw.write(CONTACT + sessInit(0, 'ipn:9.0'));
    await raw.receive(6 + 32);
    const before = raw.bytes().length;

    raw.write(encodeXferSegment(SEGMENT_FLAG_START, 7n, patterned(10, 1), [transferLengthExtension(5000)]));
    await raw.receive(before + 10);

    expect(hexOf(raw.bytes().subarray(before))).toBe('0302' + '0000000000000007');
  });

  it('terminates a session in the middle of transfers without losing or duplicating a bundle', async () => {
    const handlerGate = deferred();
    let handled = 0;
    const a = await startV4(1, { segmentBytesMax: 8192, windowBundles: 4 });
    const b = await startV4(2, {}, async () => {
      handled += 1;
      if (handled === 2) await handlerGate.promise;
      return ACCEPT;
    });
    const bundles = Array.from({ length: 12 }, (_, i) => patterned(64 * 1024, i));

    const settled = Promise.allSettled(bundles.map((bundle) => a.cl.send(to(b), bundle)));
    await until(() => handled >= 2, 'the second bundle at the handler');
    const stopped = b.cl.stop();
    handlerGate.resolve();
    await stopped;
    const results = await settled;

    const acknowledged = bundles.filter((_, i) => results[i]!.status === 'fulfilled');
    const rejected = bundles.filter((_, i) => results[i]!.status === 'rejected');
    expect(acknowledged.length).toBeGreaterThanOrEqual(2);
    expect(rejected.length).toBeGreaterThan(0);
    for (const result of results) if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    // Every bundle the receiver got is whole and was acknowledged; none twice.
    expect(b.received.map((r) => sha256(r.bundle)).sort()).toEqual(acknowledged.map(sha256).sort());

    // The sender retries what was not acknowledged on a new session: each bundle arrives exactly once.
    const c = await startV4(3);
    for (const bundle of rejected) await a.cl.send(to(c), bundle);
    expect([...b.received, ...c.received].map((r) => sha256(r.bundle)).sort()).toEqual(bundles.map(sha256).sort());
    expect(b.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.session-closed' }));
  });

  it('answers the peer\'s SESS_TERM with a REPLY of the same reason, then closes', async () => {
    const b = await startV4(2);
    const raw = await rawConnect(b.cl.listenAddress!.port);
    raw.write(CONTACT + sessInit(0, 'ipn:9.0'));
    await raw.receive(6 + 32);
    const before = raw.bytes().length;

    raw.write('050003'); // SESS_TERM, reason "Busy"
    await raw.closed;

    expect(hexOf(raw.bytes().subarray(before))).toBe('050103');
  });

  it('while ending, refuses a transfer the peer starts ("Session Terminating") and closes after the peer\'s reply', async () => {
    const b = await startV4(2);
    const raw = await rawConnect(b.cl.listenAddress!.port);
    raw.write(CONTACT + sessInit(0, 'ipn:9.0'));
    await raw.receive(6 + 32);
    const before = raw.bytes().length;

    const stopping = b.cl.stop();
    await raw.receive(before + 3);
    raw.write(encodeXferSegment(SEGMENT_FLAG_START | SEGMENT_FLAG_END, 0n, patterned(10, 1)));
    await raw.receive(before + 3 + 10);
    raw.write('050100'); // SESS_TERM REPLY
    await stopping;
    await raw.closed;

    expect(hexOf(raw.bytes().subarray(before))).toBe('050000' + '0306' + '0000000000000000');
    expect(b.received).toHaveLength(0);
  });

  it('sends KEEPALIVE after an idle interval and ends a silent session after two (SESS_TERM "Idle timeout")', async () => {
    const clock = new VirtualClock(unixMs(1_000_000));
    const server = await rawServer();
    const a = await startPeer((log) => new TcpclV4ConvergenceLayer({ nodeId: 'ipn:1.0', clock, keepaliveSec: 5, log }));
    const sent = a.cl.send({ cl: 'tcpclv4', address: `127.0.0.1:${server.port}` }, patterned(10, 1)).catch((error: unknown) => error);
    const raw = await server.accepted;
    await raw.receive(6);
    raw.write(CONTACT);
    await raw.receive(6 + 32);
    raw.write(sessInit(2, 'ipn:9.0'));
    await raw.receive(6 + 32 + 32);
    const before = raw.bytes().length;

    clock.advance(durationMs(2000)); // 2 s without sending: KEEPALIVE
    await raw.receive(before + 1);
    expect(hexOf(raw.bytes().subarray(before))).toBe('04');
    clock.advance(durationMs(2000)); // 4 s without hearing anything: idle timeout
    await raw.closed;

    expect(hexOf(raw.bytes().subarray(before))).toBe('04' + '050001');
    expect(await sent).toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    expect(a.events.map((e) => e.event)).toContain('tcpclv4.idle-timeout');
  });

  it('closes a session whose peer does not answer an unacknowledged transfer within responseTimeoutMs', async () => {
    const clock = new VirtualClock(unixMs(1_000_000));
    const server = await rawServer();
    const a = await startPeer((log) => new TcpclV4ConvergenceLayer({ nodeId: 'ipn:1.0', clock, keepaliveSec: 0, responseTimeoutMs: 10_000, log }));
    const sent = a.cl.send({ cl: 'tcpclv4', address: `127.0.0.1:${server.port}` }, patterned(10, 1)).catch((error: unknown) => error);
    const raw = await server.accepted;
    await raw.receive(6);
    raw.write(CONTACT);
    await raw.receive(6 + 32);
    raw.write(sessInit(0, 'ipn:9.0'));
    await raw.receive(6 + 32 + 32);

    clock.advance(durationMs(10_000));

    expect(await sent).toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED', message: expect.stringContaining('did not answer') });
  });

  describe('ends the session cleanly on garbage, logs it, and keeps serving others', () => {
    it.each([
      ['an HTTP request (wrong magic: closed without SESS_TERM)', 'GET / HTTP/1.1\r\n\r\n', '', 'tcpclv4.protocol-violation'],
      ['a segment longer than the Segment MRU', CONTACT + sessInit(0, 'ipn:9.0') + '0103' + '0000000000000000' + '00000000' + 'ffffffffffffffff', '050005', 'tcpclv4.frame-too-large'],
      ['an unknown message type', CONTACT + sessInit(0, 'ipn:9.0') + '09', '060109' + '050000', 'tcpclv4.protocol-violation'],
      ['a SESS_INIT with an oversized node ID', CONTACT + '07' + '0000' + '0000000000000000' + '0000000000000000' + 'ffff', '050005', 'tcpclv4.frame-too-large'],
      ['a critical session extension it does not know', CONTACT + hexOf(encodeSessionInit({ keepaliveSec: 0, segmentMruBytes: 100n, transferMruBytes: 100n, nodeId: 'x:y', extensions: [{ critical: true, itemType: 0xbd1d, value: new Uint8Array(2) }] })), '050004', 'tcpclv4.protocol-violation'],
      ['a contact header of TCPCL version 3', '64746e2103010000' + '07' + '69706e3a392e30', '050002', 'tcpclv4.version-mismatch'],
    ])('%s', async (_what, input, expectedTail, event) => {
      const a = await startV4(1);
      const b = await startV4(2);
      const raw = await rawConnect(b.cl.listenAddress!.port);

      raw.write(input.startsWith('GET') ? new TextEncoder().encode(input) : input);
      await raw.closed;

      const got = hexOf(raw.bytes());
      expect(got.endsWith(expectedTail)).toBe(true);
      if (!input.startsWith('GET')) expect(got.startsWith(CONTACT)).toBe(true);
      expect(eventsOf(b)).toContain(event);
      expect(b.received).toHaveLength(0);
      await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
      expect(b.received).toHaveLength(1);
    });
  });

  it('rejects an unreachable peer with ORBITFED_CL_DISCONNECTED and a malformed address with ORBITFED_CL_ADDRESS', async () => {
    const a = await startV4(1);

    await expect(a.cl.send({ cl: 'tcpclv4', address: '127.0.0.1:1' }, MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    await expect(a.cl.send({ cl: 'tcpclv4', address: 'no-port' }, MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_ADDRESS' });
    await expect(a.cl.send({ cl: 'mtcp', address: '127.0.0.1:4224' }, MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_ADDRESS' });
  });

  it('rejects an aborted send with the signal\'s reason', async () => {
    const a = await startV4(1);
    const b = await startV4(2);
    const controller = new AbortController();
    const sent = a.cl.send(to(b), MINIMAL_BUNDLE_CRC16, { signal: controller.signal });
    controller.abort(new Error('changed my mind'));
    await expect(sent).rejects.toThrow('changed my mind');
  });

  describe('TLS (RFC 9174 §4.4)', () => {
    it('uses TLS 1.3 when both offer it, and delivers', async () => {
      const a = await startV4(1, { tls: TLS_1 });
      const b = await startV4(2, { tls: TLS_2 });

      await a.cl.send(to(b), MINIMAL_BUNDLE_CRC32C);

      expect(b.received.map((r) => hexOf(r.bundle))).toEqual([hexOf(MINIMAL_BUNDLE_CRC32C)]);
      expect(a.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.tls-established', fields: expect.objectContaining({ protocol: 'TLSv1.3' }) }));
      expect(b.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.session-established', fields: expect.objectContaining({ tls: true }) }));
    });

    it('frees its connection slot when a TLS session ends (sessionsMax counts open connections only)', async () => {
      const b = await startV4(2, { tls: TLS_2, sessionsMax: 1 });
      for (let session = 0; session < 3; session += 1) {
        const a = await startV4(1, { tls: TLS_1 });
        // The slot frees when the listener sees the previous connection close, a moment after the sender did.
        for (let attempt = 0; ; attempt += 1) {
          const sent = await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16).then(() => true, () => false);
          if (sent) break;
          expect(attempt).toBeLessThan(100);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await a.cl.stop();
      }
      expect(b.received).toHaveLength(3);
    });

    it('falls back to plain TCP when only one side offers it, unless TLS is required', async () => {
      const a = await startV4(1, { tls: TLS_1 });
      const b = await startV4(2);
      await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
      expect(b.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.session-established', fields: expect.objectContaining({ tls: false }) }));

      const strict = await startV4(3, { tls: { ...TLS_1, required: true } });
      await expect(strict.cl.send(to(b), MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
      expect(eventsOf(strict)).toContain('tcpclv4.tls-required');
    });

    it('ends the session when the node ID is not one the peer\'s certificate names', async () => {
      const a = await startV4(1, { tls: TLS_2 }); // claims ipn:1.0 with the certificate of ipn:2.0
      const b = await startV4(2, { tls: TLS_2 });

      await expect(a.cl.send(to(b), MINIMAL_BUNDLE_CRC16)).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
      expect(b.events).toContainEqual(expect.objectContaining({ event: 'tcpclv4.protocol-violation', fields: expect.objectContaining({ reason: expect.stringContaining("'ipn:1.0' is not among") }) }));
      expect(b.received).toHaveLength(0);
    });
  });

  it('stops with no session or timer left behind', async () => {
    const clock = new VirtualClock(unixMs(0));
    const a = await startPeer((log) => new TcpclV4ConvergenceLayer({ nodeId: 'ipn:1.0', clock, log }));
    const b = await startV4(2);
    await a.cl.send(to(b), MINIMAL_BUNDLE_CRC16);
    await a.cl.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
