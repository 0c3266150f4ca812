#!/usr/bin/env node
// The `orbitfed` executable: only dispatches (STYLE rule 14).
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
import { COMPILE_CACHE_DIR, relaunchWithAgentSettings } from './agent-launcher.ts';

// `orbitfed orbital-agent` replaces this process with one that has the agent's Node settings
// (bin/agent-launcher.ts says which and why); the flight build's entry does the same.
if (process.argv[2] === 'orbital-agent') relaunchWithAgentSettings(fileURLToPath(import.meta.url), process.argv.slice(2));
// Before the first of our modules loads (the dynamic import below), so that all of them are cached.
enableCompileCache(COMPILE_CACHE_DIR);
const { main } = await import('../cli/main.ts');

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // A closed pipe (`orbitfed passes … | head`) ends the output, not the program with a stack trace.
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2));
