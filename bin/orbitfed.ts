#!/usr/bin/env node
// The `orbitfed` executable: only dispatches (STYLE rule 14).
import { main } from '../cli/main.ts';

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // A closed pipe (`orbitfed passes … | head`) ends the output, not the program with a stack trace.
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2));
