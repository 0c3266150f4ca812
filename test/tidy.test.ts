// Style that is checked stays true (STYLE rule 19): the folders are the architecture, time and
// randomness are injected, and each third-party library sits behind one file of ours.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Which top-level folders each folder may import (ARCHITECTURE.md, "Parts and who may depend on whom"). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  common: [],
  'contact-plans': ['common'],
  dtn: ['common', 'contact-plans'],
  consensus: ['common', 'dtn'],
  scheduler: ['common', 'contact-plans', 'dtn', 'consensus'],
  // Workload runtimes (process, Docker) are shared by both agents, which may not import each other.
  runtime: ['common'],
  orbital: ['common', 'contact-plans', 'dtn', 'consensus', 'scheduler', 'runtime'],
  ground: ['common', 'contact-plans', 'dtn', 'consensus', 'scheduler', 'runtime'],
  hil: ['common', 'contact-plans', 'dtn', 'consensus', 'scheduler', 'runtime', 'orbital', 'ground'],
  cli: ['common', 'contact-plans', 'dtn', 'consensus', 'scheduler', 'runtime', 'orbital', 'ground', 'hil'],
  bin: ['cli'],
};
/**
 * The public entries of each folder: `index.ts`, and for a few folders one more, narrower entry that
 * other folders may import instead (each explained in its header). They exist for the orbital
 * agent's memory (orbital/README.md, "Memory and start-up") and the link emulator's pauses
 * (hil/README.md): an entry loads its whole folder, and a node needs only the protocol.
 */
const EXTRA_PUBLIC_ENTRIES: ReadonlySet<string> = new Set([
  // The scheduler ↔ node protocol without placement, the job store, the REST API and its configuration.
  'scheduler/node-protocol.ts',
  // Receipts, signing, canonical bytes and key files without Tendermint, the ledger and the validator.
  'consensus/node.ts',
  // The plan model, its formats, bookings and CGR without SGP4, element sets and stations.
  'contact-plans/plan.ts',
  // Host-and-port addresses and TCP listening without the bundle layer (for the link emulator).
  'dtn/tcp-connection.ts',
  // The link emulator without the scenario runner, the federation and the simulator.
  'hil/link-emulator-entry.ts',
]);
/** Folders outside the product: they may import anything, internals included. */
const UNCHECKED = new Set(['test', 'bench', 'node_modules', '.git']);
/** The only files allowed to read wall time or set timers. */
const CLOCK_FILES = new Set(['common/clock.ts']);
/** Libraries that are part of the language of the code base rather than adapters. */
const SHARED_LIBRARIES = new Set(['@sinclair/typebox']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return UNCHECKED.has(name) ? [] : sourceFiles(path);
    return name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

const files = sourceFiles(ROOT).filter((f) => f.includes('/'));
const importsOf = (file: string): string[] =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);

describe('the code base is tidy', () => {
  it('finds the product folders', () => {
    expect(files.some((f) => f.startsWith('contact-plans/'))).toBe(true);
    expect(files.some((f) => f.startsWith('common/'))).toBe(true);
  });

  it('has only known top-level folders, each with a README and an index.ts entry', () => {
    const folders = new Set(files.map((f) => f.split('/')[0]!));
    for (const folder of folders) {
      expect(Object.keys(MAY_IMPORT), `unknown top-level folder ${folder}`).toContain(folder);
      if (folder === 'bin' || folder === 'cli') continue;
      expect(statSync(join(ROOT, folder, 'README.md')).isFile(), `${folder}/README.md`).toBe(true);
      expect(statSync(join(ROOT, folder, 'index.ts')).isFile(), `${folder}/index.ts`).toBe(true);
    }
  });

  it('imports other folders only through their index.ts, and only those it may import', () => {
    const violations: string[] = [];
    for (const file of files) {
      const folder = file.split('/')[0]!;
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = relative(ROOT, join(ROOT, file, '..', specifier));
        const targetFolder = target.split('/')[0]!;
        if (targetFolder === folder) continue;
        if (!MAY_IMPORT[folder]?.includes(targetFolder)) violations.push(`${file} imports ${target}: ${folder}/ may not import ${targetFolder}/`);
        else if (target !== `${targetFolder}/index.ts` && !EXTRA_PUBLIC_ENTRIES.has(target) && folder !== 'bin') violations.push(`${file} imports ${target}: use ${targetFolder}/index.ts`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('reads wall time, sets timers and draws random numbers only in the Clock', () => {
    const forbidden = /\bDate\.now\(|new Date\(\)|\bperformance\.now\(|\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(|\bMath\.random\(/;
    const violations = files.filter((f) => !CLOCK_FILES.has(f)).flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8').split('\n')
        .map((line, i) => ({ line, i }))
        .filter(({ line }) => forbidden.test(line) && !line.trim().startsWith('//') && !line.trim().startsWith('*'))
        .map(({ line, i }) => `${file}:${i + 1}: ${line.trim()}`));
    expect(violations).toEqual([]);
  });

  it('keeps each third-party library behind one file of ours', () => {
    const importers = new Map<string, Set<string>>();
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const library = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (SHARED_LIBRARIES.has(library)) continue;
        importers.set(library, (importers.get(library) ?? new Set()).add(file));
      }
    }
    const shared = [...importers].filter(([, by]) => by.size > 1).map(([lib, by]) => `${lib}: ${[...by].join(', ')}`);
    expect(shared).toEqual([]);
    expect([...(importers.get('satellite.js') ?? [])]).toEqual(['contact-plans/sgp4.ts']);
  });

  it('has no grab-bag files', () => {
    expect(files.filter((f) => /(^|\/)(utils?|helpers?|misc)(\.ts|\/)/.test(f))).toEqual([]);
  });
});
