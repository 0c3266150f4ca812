import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as consensusIndex from '../../consensus/index.ts';
import { readKeyFile } from '../../consensus/node.ts';

const KEY_FILE = fileURLToPath(new URL('../../consensus/key-file.ts', import.meta.url));
const VALIDATOR_CONFIG = fileURLToPath(new URL('../../consensus/validator-config.ts', import.meta.url));

/** How many of TypeBox's modules a fresh Node process loads when it imports `entry` (ES modules and CommonJS alike). */
function typeBoxModulesLoadedBy(entry: string): number {
  const script = `import { registerHooks } from 'node:module';
let count = 0;
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); if (r.url.includes('/@sinclair/typebox/')) count++; return r; } });
await import(${JSON.stringify(entry)});
process.stdout.write(String(count));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  return Number(run.stdout);
}

const dir = mkdtempSync(join(tmpdir(), 'orbitfed-key-file-'));
const write = (name: string, text: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('key files', () => {
  it('reads a 32-byte seed written as 64 hex characters, surrounding whitespace ignored', async () => {
    const seed = await readKeyFile(write('node.key', `\n  ${'0f'.repeat(32)}\n`));
    expect(seed).toEqual(new Uint8Array(32).fill(0x0f));
  });

  it('is the same reader from consensus/index.ts and consensus/node.ts', () => {
    expect(consensusIndex.readKeyFile).toBe(readKeyFile);
  });

  it.each([
    ['a short seed', 'ab'.repeat(31)],
    ['upper-case hex', 'AB'.repeat(32)],
    ['two seeds', `${'ab'.repeat(32)}\n${'cd'.repeat(32)}`],
    ['not text', new Uint8Array([0xff, 0xfe, 0x00, 0x01])],
    ['more than a key file holds', 'a'.repeat(2048)],
  ])('refuses %s with ORBITFED_KEY_FILE naming the file', async (_label, content) => {
    const path = write('bad.key', content);
    await expect(readKeyFile(path)).rejects.toMatchObject({ code: 'ORBITFED_KEY_FILE' });
  });

  it('refuses a missing file with ORBITFED_KEY_FILE', async () => {
    await expect(readKeyFile(join(dir, 'missing.key'))).rejects.toMatchObject({ code: 'ORBITFED_KEY_FILE' });
  });

  it('loads no TypeBox to read a key (the validator configuration with its schema does)', () => {
    expect(typeBoxModulesLoadedBy(KEY_FILE)).toBe(0);
    expect(typeBoxModulesLoadedBy(VALIDATOR_CONFIG)).toBeGreaterThan(0);
  });
});
