// What every CLI command receives and provides. The entry point only dispatches (STYLE rule 14).
import type { Writable } from 'node:stream';
import type { Clock } from '../common/index.ts';

export interface CommandContext {
  readonly args: readonly string[];
  readonly stdout: Writable;
  readonly stderr: Writable & { isTTY?: boolean };
  readonly clock: Clock;
  readonly signal?: AbortSignal;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  /** Resolves to the process exit code. */
  run(context: CommandContext): Promise<number>;
}
