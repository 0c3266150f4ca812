// The chain store's snapshots: the newest two are kept, listed without their bytes (tens of MB each
// at 100,000 settled receipts), and read one at a time, so a restart reads only the one it restores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainStore } from '../../consensus/chain-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function openStore(): ChainStore {
  const dir = mkdtempSync(join(tmpdir(), 'orbitfed-chain-store-'));
  dirs.push(dir);
  return ChainStore.open(join(dir, 'chain.sqlite'));
}

describe('chain store snapshots', () => {
  it('keeps the newest two, lists them newest first without bytes, and reads each by height', () => {
    const store = openStore();
    try {
      for (const height of [10, 20, 30]) store.saveSnapshot({ height, appHash: `hash-${height}`, bytes: new Uint8Array(1000).fill(height) });
      expect(store.snapshotHeads()).toEqual([{ height: 30, appHash: 'hash-30' }, { height: 20, appHash: 'hash-20' }]);
      const newest = store.snapshot(30);
      expect(newest?.appHash).toBe('hash-30');
      expect(newest?.bytes).toEqual(new Uint8Array(1000).fill(30));
      expect(store.snapshot(10)).toBeUndefined();
    } finally {
      store.close();
    }
  });
});
