// Our peer ids without libp2p (dtn/libp2p-peer-id.ts) are libp2p's own.
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { libp2pPeerIdOf } from '../../dtn/index.ts';
import { seededRng } from '../../common/index.ts';

describe('libp2p peer ids computed without libp2p', () => {
  it('match @libp2p/peer-id for 50 seeded keys', async () => {
    const rng = seededRng(4242);
    for (let i = 0; i < 50; i++) {
      const seed = Uint8Array.from({ length: 32 }, () => Math.floor(rng() * 256));
      const key = await generateKeyPairFromSeed('Ed25519', seed);
      expect(libp2pPeerIdOf(key.publicKey.raw)).toBe(peerIdFromPublicKey(key.publicKey).toString());
    }
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => libp2pPeerIdOf(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});
