// Creation-timestamp sequence numbers: never repeated by a node, across restarts and crashes.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import { CreationSequence } from '../../dtn/creation-sequence.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orbitfed-sequence-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CreationSequence', () => {
  it('continues after a reopen past every number it handed out, skipping at most one block', () => {
    const path = join(dir, 'reopen.sequence');
    const first = CreationSequence.open(path, 4);
    expect(Array.from({ length: 6 }, () => first.next())).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    first.close();
    const second = CreationSequence.open(path, 4);
    expect(second.next()).toBe(8n);
    expect(readdirSync(dir).filter((f) => f.startsWith('reopen'))).toEqual(['reopen.sequence']);
  });

  it('never repeats a number over runs that end at any point, as crashes do', () => {
    const path = join(dir, 'runs.sequence');
    const rng = seededRng(2026);
    const seen: bigint[] = [];
    for (let run = 0; run < 50; run++) {
      const sequence = CreationSequence.open(path, 16);
      for (let n = Math.floor(rng() * 40); n > 0; n--) seen.push(sequence.next());
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('refuses a damaged file rather than guess low', () => {
    const path = join(dir, 'damaged.sequence');
    CreationSequence.open(path, 1000).next();
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(' 1000 ', ' 9000 '));
    expect(() => CreationSequence.open(path)).toThrow(expect.objectContaining({ code: 'ORBITFED_SEQUENCE_CORRUPT' }));
    writeFileSync(path, 'not a sequence file\n');
    expect(() => CreationSequence.open(path)).toThrow(expect.objectContaining({ code: 'ORBITFED_SEQUENCE_CORRUPT' }));
  });
});
