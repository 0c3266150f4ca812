// The libp2p convergence layer between real libp2p nodes on 127.0.0.1 (no mocks): acknowledgement
// contract, limits, the federation gater, and what happens when peers stop or misbehave.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock, seededRng } from '../../common/index.ts';
import type { BundleHandler, BundleVerdict, ReceivedFrom } from '../../dtn/convergence-layer.ts';
import { LIBP2P_BUNDLE_PROTOCOL, Libp2pConvergenceLayer } from '../../dtn/libp2p-cl.ts';
import type { Libp2pConvergenceLayerOptions } from '../../dtn/libp2p-cl.ts';
import { createLibp2pNode, libp2pPeerIdOf } from '../../dtn/libp2p-node.ts';
import type { Libp2pNode, PeerStream } from '../../dtn/libp2p-node.ts';

const ACCEPT: BundleVerdict = { accepted: true };
const MIB = 1024 * 1024;

/** A deterministic identity: seed n is 32 bytes of n. */
const seedOf = (n: number): Uint8Array => new Uint8Array(32).fill(n);

/** The raw ed25519 public key of a seed, through node:crypto (RFC 8410 PKCS#8 wrapping of the seed). */
function publicKeyOf(seed: Uint8Array): Uint8Array {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const jwk = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

const stoppers: (() => Promise<void>)[] = [];

afterEach(async () => {
  // One at a time, oldest (usually the dialling side) first: a node that stops while its peer's
  // close of their connection is still in progress waits out @libp2p/tcp's 500 ms close timeout.
  for (const stop of stoppers.splice(0)) await stop();
});

interface TestPeer {
  readonly cl: Libp2pConvergenceLayer;
  readonly node: Libp2pNode;
  readonly address: string;
  readonly received: { bundle: Uint8Array; from: ReceivedFrom }[];
  readonly events: { event: string; fields: Record<string, unknown> }[];
}

/** Starts a CL on a fresh node with identity `seed` that admits the identities `allowedSeeds`. */
async function startPeer(seed: number, allowedSeeds: number[], handler?: BundleHandler, options: Partial<Libp2pConvergenceLayerOptions> = {}): Promise<TestPeer> {
  const node = await createLibp2pNode({ identitySeed: seedOf(seed), allowedPublicKeys: allowedSeeds.map((s) => publicKeyOf(seedOf(s))) });
  const events: TestPeer['events'] = [];
  const received: TestPeer['received'] = [];
  const cl = new Libp2pConvergenceLayer({ node, clock: new RealClock(), log: (event, fields) => events.push({ event, fields }), ...options });
  await cl.start(async (bundle, from) => {
    received.push({ bundle, from });
    return handler === undefined ? ACCEPT : handler(bundle, from);
  });
  stoppers.push(() => cl.stop());
  return { cl, node, address: node.addresses()[0]!, received, events };
}

/** A bare libp2p node, to speak raw bytes on the bundle protocol. */
async function startRawNode(seed: number, allowedSeeds: number[]): Promise<Libp2pNode> {
  const node = await createLibp2pNode({ identitySeed: seedOf(seed), allowedPublicKeys: allowedSeeds.map((s) => publicKeyOf(seedOf(s))) });
  await node.start();
  stoppers.push(() => node.stop());
  return node;
}

/** Resolves with the error (or undefined) the stream closes with. */
function closedOf(stream: PeerStream): Promise<Error | undefined> {
  return new Promise((resolve) => stream.listen({ data: () => {}, remoteWriteClosed: () => {}, closed: resolve }));
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

const peerAddress = (address: string) => ({ cl: 'libp2p', address });
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);
const until = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
};

describe('Libp2pConvergenceLayer', () => {
  it('derives the peer id from the ed25519 public key of the identity seed', async () => {
    const node = await createLibp2pNode({ identitySeed: seedOf(1), allowedPublicKeys: [] });
    expect(node.publicKey).toEqual(publicKeyOf(seedOf(1)));
    expect(node.peerId).toBe(libp2pPeerIdOf(publicKeyOf(seedOf(1))));
    expect(node.peerId).toMatch(/^12D3KooW/);
    await expect(createLibp2pNode({ identitySeed: new Uint8Array(64), allowedPublicKeys: [] })).rejects.toMatchObject({ code: 'ORBITFED_LIBP2P_KEY' });
  });

  it('exchanges bundles both ways between two federation nodes, telling each side who sent', async () => {
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1]);
    expect(a.address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/);

    await Promise.all([a.cl.send(peerAddress(b.address), bytesOf('a to b')), b.cl.send(peerAddress(a.address), bytesOf('b to a'))]);

    expect(b.received.map((r) => new TextDecoder().decode(r.bundle))).toEqual(['a to b']);
    expect(a.received.map((r) => new TextDecoder().decode(r.bundle))).toEqual(['b to a']);
    expect(b.received[0]!.from).toMatchObject({ cl: 'libp2p', peerId: a.node.peerId });
    expect(a.received[0]!.from).toMatchObject({ cl: 'libp2p', peerId: b.node.peerId });
  });

  it('delivers 200 bundles of 1 B to 1 MiB intact, each acknowledged once', async () => {
    const seed = 20_240_601;
    const rng = seededRng(seed);
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1]);
    const bundles = Array.from({ length: 200 }, (_, i) => {
      const bytes = i === 0 ? 1 : i === 1 ? MIB : Math.max(1, Math.round(Math.exp(rng() * Math.log(MIB))));
      const bundle = new Uint8Array(bytes);
      for (let k = 0; k < bytes; k += 1) bundle[k] = (k * 31 + i) & 0xff;
      return bundle;
    });

    const acknowledged = await Promise.allSettled(bundles.map((bundle) => a.cl.send(peerAddress(b.address), bundle)));

    expect(acknowledged.filter((r) => r.status === 'fulfilled'), `seed ${seed}`).toHaveLength(200);
    expect(b.received.map((r) => sha256(r.bundle)).sort()).toEqual(bundles.map(sha256).sort());
  });

  it('rejects with ORBITFED_CL_REFUSED and the reason when the handler refuses', async () => {
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1], async () => ({ accepted: false, reason: 'store full' }));

    await expect(a.cl.send(peerAddress(b.address), bytesOf('x'))).rejects.toMatchObject({ code: 'ORBITFED_CL_REFUSED', message: expect.stringContaining('store full') });
  });

  it('treats a throwing handler as a refusal, logs it and keeps serving', async () => {
    let calls = 0;
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1], async () => {
      calls += 1;
      if (calls === 1) throw new Error('disk on fire');
      return ACCEPT;
    });

    await expect(a.cl.send(peerAddress(b.address), bytesOf('first'))).rejects.toMatchObject({ code: 'ORBITFED_CL_REFUSED' });
    await a.cl.send(peerAddress(b.address), bytesOf('second'));

    expect(b.events).toContainEqual(expect.objectContaining({ event: 'libp2p-cl.handler-failed', fields: expect.objectContaining({ error: 'disk on fire' }) }));
  });

  it('rejects a bundle above its own frameBytesMax with ORBITFED_CL_TOO_LARGE before sending', async () => {
    const a = await startPeer(1, [2], undefined, { frameBytesMax: 1024 });
    const b = await startPeer(2, [1]);

    await expect(a.cl.send(peerAddress(b.address), new Uint8Array(1025))).rejects.toMatchObject({ code: 'ORBITFED_CL_TOO_LARGE' });
    await a.cl.send(peerAddress(b.address), new Uint8Array(1024));

    expect(b.received.map((r) => r.bundle.byteLength)).toEqual([1024]);
  });

  it("rejects a bundle above the receiver's announced frameBytesMax with ORBITFED_CL_TOO_LARGE, without sending it", async () => {
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1], undefined, { frameBytesMax: 1000 });

    await expect(a.cl.send(peerAddress(b.address), new Uint8Array(2000))).rejects.toMatchObject({ code: 'ORBITFED_CL_TOO_LARGE' });
    await a.cl.send(peerAddress(b.address), new Uint8Array(1000));

    expect(b.received.map((r) => r.bundle.byteLength)).toEqual([1000]);
  });

  it.each([
    ['a length header far above the cap', [0xff, 0xff, 0xff, 0xff, 0x01], 'libp2p-cl.frame-too-large'],
    ['an HTTP request', [...bytesOf('GET / HTTP/1.1\r\nHost: b\r\n\r\n')], 'libp2p-cl.protocol-violation'],
    ['an unknown frame type', [0, 0, 0, 1, 0x09], 'libp2p-cl.protocol-violation'],
    ['a zero-length frame', [0, 0, 0, 0, 0x01], 'libp2p-cl.protocol-violation'],
    ['a sequence gap', [0, 0, 0, 6, 0x01, 0, 0, 0, 7, 0x42], 'libp2p-cl.protocol-violation'],
  ])('resets a session that sends %s, logs it, and keeps serving others', async (_what, bytes, event) => {
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1, 3]);
    const raw = await startRawNode(3, [2]);
    const stream = await raw.openStream(b.address, LIBP2P_BUNDLE_PROTOCOL);
    const closed = closedOf(stream);

    stream.write(new Uint8Array(bytes));

    expect(await closed).toBeInstanceOf(Error);
    expect(b.events.map((e) => e.event).filter((e) => e !== 'libp2p-cl.session-closed')).toEqual([event]);
    expect(b.received).toHaveLength(0);
    await a.cl.send(peerAddress(b.address), bytesOf('still serving'));
    expect(b.received).toHaveLength(1);
  });

  it.each([
    ['an unknown frame type instead of HELLO', [0, 0, 0, 1, 0x07], 'unknown frame type 7'],
    ['an acknowledgement before HELLO', [0, 0, 0, 5, 0x02, 0, 0, 0, 0], 'before HELLO'],
    // HELLO (1 MiB frames, 64 bundles, 1 MiB window), then ACK for sequence number 9.
    ['an acknowledgement for a bundle never sent', [0, 0, 0, 13, 0x00, 0, 0x10, 0, 0, 0, 0, 0, 0x40, 0, 0x10, 0, 0, 0, 0, 0, 5, 0x02, 0, 0, 0, 9], 'sequence number 9'],
  ])('rejects with ORBITFED_CL_DISCONNECTED when the receiver answers with %s', async (_what, bytes, reason) => {
    const a = await startPeer(1, [2]);
    const fake = await startRawNode(2, [1]);
    await fake.handle(LIBP2P_BUNDLE_PROTOCOL, (stream) => {
      void closedOf(stream);
      stream.write(new Uint8Array(bytes));
    }, { inboundStreamsMax: 4, outboundStreamsMax: 4 });

    await expect(a.cl.send(peerAddress(fake.addresses()[0]!), bytesOf('x'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED', message: expect.stringContaining('broke the bundle protocol') });
    expect(a.events).toContainEqual(expect.objectContaining({ event: 'libp2p-cl.protocol-violation', fields: expect.objectContaining({ reason: expect.stringContaining(reason) }) }));
  });

  it('never hands the handler a bundle whose session was cut mid-frame', async () => {
    const b = await startPeer(2, [3]);
    const raw = await startRawNode(3, [2]);
    const stream = await raw.openStream(b.address, LIBP2P_BUNDLE_PROTOCOL);
    void closedOf(stream);
    // BUNDLE, seq 0, announcing 1,000 bundle bytes, of which 500 arrive.
    stream.write(new Uint8Array([0, 0, 0x03, 0xed, 0x01, 0, 0, 0, 0]));
    stream.write(new Uint8Array(500));
    await new Promise((resolve) => setTimeout(resolve, 50));
    stream.reset(new Error('sender crashed'));

    await until(() => b.events.some((e) => e.event === 'libp2p-cl.partial-bundle-dropped'));
    expect(b.received).toHaveLength(0);
  });

  it('admits only peers whose keys are allowed, both ways, and sends to others fail cleanly', async () => {
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1]);
    const outsider = await startPeer(3, [1, 2]);

    await expect(outsider.cl.send(peerAddress(b.address), bytesOf('let me in'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    await expect(a.cl.send(peerAddress(outsider.address), bytesOf('not for you'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED', message: expect.stringContaining('not in the allowed keys') });

    expect(b.received).toHaveLength(0);
    expect(outsider.received).toHaveLength(0);
    await a.cl.send(peerAddress(b.address), bytesOf('members only'));
    expect(b.received).toHaveLength(1);
  });

  it('closes sessions of a peer whose key is taken off the allowed list, and admits it no more', async () => {
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1]);
    await a.cl.send(peerAddress(b.address), bytesOf('while a member'));

    await b.node.setAllowedPublicKeys([]);

    await expect(a.cl.send(peerAddress(b.address), bytesOf('after removal'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    expect(b.received.map((r) => new TextDecoder().decode(r.bundle))).toEqual(['while a member']);
  });

  it('rejects with ORBITFED_CL_DISCONNECTED when the peer is not reachable, and ORBITFED_CL_ADDRESS on a malformed address', async () => {
    const a = await startPeer(1, [2]);
    const gone = await startRawNode(2, [1]);
    const goneAddress = gone.addresses()[0]!;
    await gone.stop();

    await expect(a.cl.send(peerAddress(goneAddress), bytesOf('anyone?'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    await expect(a.cl.send(peerAddress('/ip4/127.0.0.1/tcp/1'), bytesOf('x'))).rejects.toMatchObject({ code: 'ORBITFED_CL_ADDRESS' });
    await expect(a.cl.send({ cl: 'tcpclv4', address: '127.0.0.1:4556' }, bytesOf('x'))).rejects.toMatchObject({ code: 'ORBITFED_CL_ADDRESS' });
  });

  it('rejects a pending send with ORBITFED_CL_DISCONNECTED when the receiver stops mid-transfer; the resend may deliver the bundle twice', async () => {
    const handlerEntered = deferred();
    const releaseHandler = deferred<BundleVerdict>();
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1], () => {
      handlerEntered.resolve();
      return releaseHandler.promise;
    });

    const pending = expect(a.cl.send(peerAddress(b.address), bytesOf('job 7'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    await handlerEntered.promise;
    await b.cl.stop();
    await pending;

    // The same node identity back on a new port; the sender keeps the bundle and tries again.
    const bAgain = await startPeer(2, [1]);
    await a.cl.send(peerAddress(bAgain.address), bytesOf('job 7'));
    releaseHandler.resolve(ACCEPT);

    expect(b.received.map((r) => new TextDecoder().decode(r.bundle))).toEqual(['job 7']);
    expect(bAgain.received.map((r) => new TextDecoder().decode(r.bundle))).toEqual(['job 7']);
  });

  it('rejects pending sends with ORBITFED_CL_DISCONNECTED when the sender stops, and refuses new ones', async () => {
    const handlerEntered = deferred();
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1], () => {
      handlerEntered.resolve();
      return new Promise<BundleVerdict>(() => {});
    });

    const pending = expect(a.cl.send(peerAddress(b.address), bytesOf('late'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
    await handlerEntered.promise;
    await a.cl.stop();

    await pending;
    await expect(a.cl.send(peerAddress(b.address), bytesOf('later'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED' });
  });

  it('rejects with ORBITFED_CL_DISCONNECTED when the peer stays silent past responseTimeoutMs', async () => {
    const a = await startPeer(1, [2], undefined, { responseTimeoutMs: 200 });
    const b = await startPeer(2, [1], () => new Promise<BundleVerdict>(() => {}));

    await expect(a.cl.send(peerAddress(b.address), bytesOf('hello?'))).rejects.toMatchObject({ code: 'ORBITFED_CL_DISCONNECTED', message: expect.stringContaining('did not answer') });
    expect(a.events.map((e) => e.event)).toContain('libp2p-cl.peer-silent');
  });

  it("rejects with the signal's reason on abort, and the session carries on", async () => {
    const handlerEntered = deferred();
    const releaseHandler = deferred<BundleVerdict>();
    let calls = 0;
    const a = await startPeer(1, [2]);
    const b = await startPeer(2, [1], () => {
      calls += 1;
      if (calls > 1) return Promise.resolve(ACCEPT);
      handlerEntered.resolve();
      return releaseHandler.promise;
    });
    const reason = new Error('contact window closed');

    const controller = new AbortController();
    const pending = expect(a.cl.send(peerAddress(b.address), bytesOf('in flight'), { signal: controller.signal })).rejects.toBe(reason);
    await handlerEntered.promise;
    controller.abort(reason);
    await pending;
    await expect(a.cl.send(peerAddress(b.address), bytesOf('never'), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);

    releaseHandler.resolve(ACCEPT);
    await a.cl.send(peerAddress(b.address), bytesOf('after abort'));
    expect(b.received.map((r) => new TextDecoder().decode(r.bundle))).toEqual(['in flight', 'after abort']);
  });
});
