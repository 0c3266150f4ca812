#!/usr/bin/env node
// The `orbitfed` executable: only dispatches (STYLE rule 14).
import { enableCompileCache } from 'node:module';
import { main } from '../cli/main.ts';

// Node keeps the compiled code of our modules on disk (in the OS temp folder), so that every later
// start of a long-running process (a validator restarting, an agent after a crash) loads faster.
enableCompileCache();

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // A closed pipe (`orbitfed passes … | head`) ends the output, not the program with a stack trace.
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2));
