// The validators' transport as a specification: messages between two validators over libp2p, with
// libp2p on the transport's own thread; what a peer sends that does not decode, or is longer than
// the limit, resets that peer's stream without stopping anything. The misbehaving peer is a bare
// ValidatorLinks (the transport thread's side) in this thread, which sends raw frames.
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../../common/index.ts';
import { libp2pPeerIdOf } from '../../dtn/index.ts';
import { CONSENSUS_CODEC_LIMITS_DEFAULT, encodeValidatorMessage, type ValidatorMessage } from '../../consensus/consensus-codec.ts';
import { ed25519KeyPairFromSeed } from '../../consensus/ed25519.ts';
import { FRAME_HEADER_BYTES, frameOf, ValidatorLinks } from '../../consensus/validator-links.ts';
import { Libp2pValidatorTransport } from '../../consensus/validator-transport.ts';
import { freePortRange } from './validator-cluster.ts';

const seedA = new Uint8Array(32).fill(1);
const seedB = new Uint8Array(32).fill(2);
const publicA = ed25519KeyPairFromSeed(seedA).publicKey;
const publicB = ed25519KeyPairFromSeed(seedB).publicKey;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of cleanup.reverse()) await stop();
  cleanup = [];
});

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const endMs = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > endMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Validator "b" as a Libp2pValidatorTransport (its libp2p on a worker thread), and "a" as bare links in this thread. */
async function pair(): Promise<{ b: Libp2pValidatorTransport; received: [string, ValidatorMessage][]; a: ValidatorLinks }> {
  const port = await freePortRange(2);
  const addressA = `/ip4/127.0.0.1/tcp/${port}`;
  const addressB = `/ip4/127.0.0.1/tcp/${port + 1}`;
  const b = new Libp2pValidatorTransport({
    identitySeed: seedB, listenAddresses: [addressB], peers: [{ address: 'a', publicKey: publicA, multiaddr: `${addressA}/p2p/${libp2pPeerIdOf(publicA)}` }],
    codecLimits: { ...CONSENSUS_CODEC_LIMITS_DEFAULT, messageBytesMax: 4096 },
  });
  const received: [string, ValidatorMessage][] = [];
  b.onMessage((from, message) => received.push([from, message]));
  cleanup.push(() => b.stop());
  await b.start();
  const a = new ValidatorLinks({
    identitySeed: seedA, listenAddresses: [addressA], peers: [{ address: 'b', publicKey: publicB, multiaddr: `${addressB}/p2p/${libp2pPeerIdOf(publicB)}` }],
    frameBytesMax: 1 << 20, queuedBytesMax: 1 << 20, redialMs: 50,
  }, new RealClock(), { message: () => undefined, log: () => undefined });
  cleanup.push(() => a.stop());
  await a.start();
  return { b, received, a };
}

describe('validator transport (libp2p on its own thread)', () => {
  it('delivers what a validator sends, in order, named by the sender the connection proved', async () => {
    const { b, received, a } = await pair();
    for (let height = 1; height <= 3; height++) a.send('b', frameOf(encodeValidatorMessage({ kind: 'commit-request', height })));
    await until(() => received.length === 3, 'three messages');
    expect(received).toEqual([1, 2, 3].map((height) => ['a', { kind: 'commit-request', height }]));
    expect(b.stats.framesReceived).toBe(3);
  });

  it('resets the stream of a peer whose frame does not decode, or is longer than the limit, and goes on', async () => {
    const { b, received, a } = await pair();
    a.send('b', frameOf(new Uint8Array([0xff, 0x00, 0x13])));
    await until(() => b.stats.framesUndecodable === 1, 'the undecodable frame');
    // A frame header announcing more than the limit (4,096 bytes here) resets the stream on the transport's thread.
    const oversized = new Uint8Array(FRAME_HEADER_BYTES + 8);
    new DataView(oversized.buffer).setUint32(0, 1 << 20);
    a.send('b', oversized);
    // The peer opens a new stream after a reset; its next well-formed message is delivered.
    await until(() => {
      a.send('b', frameOf(encodeValidatorMessage({ kind: 'commit-request', height: 7 })));
      return received.some(([, m]) => m.kind === 'commit-request' && m.height === 7);
    }, 'a message after the resets');
    expect(received.every(([from]) => from === 'a')).toBe(true);
  });
});
