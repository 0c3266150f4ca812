// `npm run build:agent [-- --out DIR]`: the flight build (orbital/README.md, "Flight build"). Bundles
// bin/orbital-agent-flight.ts with rolldown into DIR (default dist/): orbital-agent.mjs, the chunks it
// imports lazily (libp2p when a libp2p node is made, dockerode for the Docker runtime), and, under
// DIR/node_modules/, one file for each library our code loads synchronously through
// createRequire(import.meta.url) only when it needs it (yaml for a YAML text, @noble/curves for a
// signature node:crypto refuses, TypeBox's Value for a schema our checker does not know): Node
// resolves those from the bundle's folder, so they load from DIR as they do from node_modules.
// Node's built-in modules stay external. Everything the agent needs at run time is in DIR.
import { rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'rolldown';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ENTRY = join(ROOT, 'bin/orbital-agent-flight.ts');
/** The libraries loaded through createRequire, as required (package, then the file under it), and where from. */
const REQUIRED_LAZILY: readonly { readonly specifier: string; readonly packageName: string; readonly file: string }[] = [
  { specifier: 'yaml', packageName: 'yaml', file: 'index.js' },
  { specifier: '@noble/curves/ed25519.js', packageName: '@noble/curves', file: 'ed25519.js' },
  { specifier: '@sinclair/typebox/value', packageName: '@sinclair/typebox', file: 'value.js' },
];
/** The CLI commands other than the agent: the flight entry only ever runs orbital-agent, so they are not bundled. */
const OTHER_COMMANDS = /[\\/]cli[\\/](?!orbital-agent-command\.ts$)[a-z-]+-command\.ts$/;

const notInFlightBuild: Plugin = {
  name: 'orbitfed-flight-commands',
  load(id) {
    if (!OTHER_COMMANDS.test(id)) return null;
    return `throw new Error(${JSON.stringify(`this command is not in the flight build (${relative(ROOT, id)}): run orbitfed from source`)});`;
  },
};

export async function buildFlightAgent(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    input: ENTRY,
    platform: 'node',
    plugins: [notInFlightBuild],
    // Native addons stay out (ARCHITECTURE.md: none on the node): ssh2 under dockerode tries its own
    // and cpu-features' in try/catch and runs without them.
    external: [/\.node$/],
    logLevel: 'warn',
    output: { dir: outDir, format: 'esm', entryFileNames: 'orbital-agent.mjs', chunkFileNames: 'chunks/[name]-[hash].mjs', minify: true },
  });
  for (const library of REQUIRED_LAZILY) {
    const packageDir = join(outDir, 'node_modules', library.packageName);
    await build({
      input: library.specifier,
      cwd: ROOT,
      platform: 'node',
      logLevel: 'warn',
      output: { file: join(packageDir, library.file), format: 'cjs', minify: true, codeSplitting: false },
    });
    // No "exports": `require('pkg/file.js')` then resolves to the file itself, `require('pkg')` to main.
    await writeFile(join(packageDir, 'package.json'), `${JSON.stringify({ name: library.packageName, main: 'index.js', private: true })}\n`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const outDir = resolve(values.out ?? join(ROOT, 'dist'));
  await buildFlightAgent(outDir);
  process.stdout.write(`flight build written to ${outDir} (run: node ${join(outDir, 'orbital-agent.mjs')} --config FILE)\n`);
}
