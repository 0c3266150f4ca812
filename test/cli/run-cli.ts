// Runs the orbitfed command line in-process with captured output, as the CLI tests use it.
import { PassThrough } from 'node:stream';
import { main } from '../../cli/main.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(args: readonly string[]): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await main(args, { stdout, stderr });
  return { code, stdout: out, stderr: err };
}
