// The ledger's record writer must give exactly dtn/'s deterministic CBOR (the state digests hash its
// output, and snapshots store it): checked on random records of every type it writes.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import { encodeCborRecord } from '../../consensus/cbor-record-writer.ts';
import { encodeCbor, type CborValue } from '../../dtn/index.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('CBOR record writer', () => {
  it('writes the same bytes as encodeCbor for random records (integers at every head width, bigints to 2^64 − 1, text, bytes, booleans, nested arrays)', () => {
    const seed = 15;
    const rng = seededRng(seed);
    const integer = (): number => Math.floor(rng() * 2 ** Math.floor(rng() * 54)) % (Number.MAX_SAFE_INTEGER + 1);
    const text = (): string => {
      const alphabet = ['a', 'Z', '0', '-', '#', 'é', 'Ω', '€', '😀', ' '];
      return Array.from({ length: Math.floor(rng() * (rng() < 0.1 ? 300 : 30)) }, () => alphabet[Math.floor(rng() * alphabet.length)]).join('');
    };
    const value = (depth: number): CborValue => {
      switch (Math.floor(rng() * (depth < 3 ? 7 : 6))) {
        case 0: return integer();
        case 1: return [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER][Math.floor(rng() * 10)]!;
        case 2: return rng() < 0.5 ? BigInt(integer()) : (1n << 64n) - 1n - BigInt(integer());
        case 3: return text();
        case 4: return Uint8Array.from({ length: Math.floor(rng() * (rng() < 0.1 ? 70_000 : 40)) }, () => Math.floor(rng() * 256));
        case 5: return rng() < 0.5;
        default: return Array.from({ length: Math.floor(rng() * (rng() < 0.05 ? 30 : 6)) }, () => value(depth + 1));
      }
    };
    for (let i = 0; i < 3000; i++) {
      const record = [text(), ...Array.from({ length: Math.floor(rng() * 12) }, () => value(0))];
      expect(hex(encodeCborRecord(record)), `record ${i}`).toBe(hex(encodeCbor(record)));
    }
    console.log(`seed ${seed}`);
  });

  it('refuses what deterministic CBOR of a record cannot hold, as encodeCbor does', () => {
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, -1n, 1n << 64n]) {
      expect(() => encodeCborRecord([bad])).toThrow(/CBOR writer/);
      expect(() => encodeCbor([bad])).toThrow(/CBOR writer/);
    }
    expect(() => encodeCborRecord([{} as unknown as CborValue])).toThrow(/CBOR writer/);
  });
});
