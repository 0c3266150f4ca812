// The command line's dispatcher (cli/main.ts): every command is listed, and only the command that
// runs is loaded, so a long-running process holds only its own code.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMAND_LIST } from '../../cli/main.ts';
import { runCli } from './run-cli.ts';

const MAIN_URL = pathToFileURL(fileURLToPath(new URL('../../cli/main.ts', import.meta.url))).href;

/** The files a fresh Node process loads for `script` (an ES module body that may await). */
function modulesLoadedBy(script: string): string[] {
  const probe = `import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
${script}
process.stdout.write(JSON.stringify(seen));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as string[];
}

const commandModules = (urls: readonly string[]): string[] => urls.filter((u) => /\/cli\/[a-z-]+-command\.ts$/.test(u)).map((u) => u.replace(/.*\/cli\//, ''));
const packagesOf = (urls: readonly string[]): Set<string> =>
  new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));

describe('orbitfed (the dispatcher)', () => {
  it('lists every command with its summary, and exits 2 without a command', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    for (const entry of COMMAND_LIST) expect(run.stdout).toContain(`${entry.name}  `);
    expect(run.stdout).toMatch(/orbital-agent\s+run the orbital agent of a satellite/);
    expect((await runCli(['--help'])).code).toBe(0);
  });

  it("names each command as the command itself does", async () => {
    for (const entry of COMMAND_LIST) expect((await entry.load()).name).toBe(entry.name);
  });

  it("prints a command's help, and refuses an unknown command with the list", async () => {
    const help = await runCli(['help', 'orbital-agent']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: orbitfed orbital-agent --config FILE/);
    const unknown = await runCli(['orbital-agnet']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'orbital-agnet'/);
    expect(unknown.stderr).toContain('Commands:');
  });

  it('loads only the orbital agent command for orbital-agent, and neither libp2p, MQTT nor Docker', () => {
    const loaded = modulesLoadedBy(`const { main } = await import(${JSON.stringify(MAIN_URL)});
const sink = { write: () => true };
await main(['orbital-agent', '--help'], { stdout: sink, stderr: sink });`);
    expect(commandModules(loaded)).toEqual(['orbital-agent-command.ts']);
    const packages = packagesOf(loaded);
    for (const heavy of ['libp2p', '@libp2p/tcp', '@chainsafe/libp2p-noise', 'mqtt', 'aedes', 'dockerode']) expect(packages.has(heavy), heavy).toBe(false);
  });
});
