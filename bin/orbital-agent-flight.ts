#!/usr/bin/env node
// The flight build's entry (orbital/README.md, "Flight build"): `node orbital-agent.mjs --config FILE`
// is `orbitfed orbital-agent --config FILE`, as one bundled program that a flight computer runs with
// a Node 24 binary and no node_modules. bin/build-agent.ts bundles it into dist/.
import { fileURLToPath } from 'node:url';
import { relaunchWithAgentSettings } from './agent-launcher.ts';

const args = process.argv.slice(2);
relaunchWithAgentSettings(fileURLToPath(import.meta.url), args);
// After the relaunch, so that the first process loads nothing it would throw away. The same
// dispatcher as `orbitfed`, for the same messages and exit codes; it is only ever given orbital-agent.
const { main } = await import('../cli/main.ts');
process.exitCode = await main(['orbital-agent', ...args]);
