// The orbital agent imports runtime/ for the process runtime and must not load dockerode
// (ARCHITECTURE: "loads only what its configuration uses"): only createDockerRuntime loads it.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('../../runtime/index.ts', import.meta.url));

describe('the runtime entry', () => {
  it('loads dockerode only when the Docker runtime is created', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/dockerode/')).length;
      const runtime = await import(${JSON.stringify(ENTRY)});
      const before = loaded();
      await runtime.createDockerRuntime({ clock: { now: () => 0 } });
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    const { before, after } = JSON.parse(stdout) as { before: number; after: number };
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0);
  });
});
