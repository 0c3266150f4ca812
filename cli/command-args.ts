// Strict flag parsing for every command: unknown flags, missing values and positionals become
// usage errors that point at the command's --help.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './usage-error.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<const O extends Options>(command: string, args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], strict: true, allowPositionals: false, options }).values;
  } catch (cause) {
    throw usageError(`${(cause as Error).message} (see orbitfed ${command} --help)`);
  }
}
