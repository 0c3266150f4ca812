// The one importer of pino (STYLE rule 15 and 17): structured JSON logs, one child logger per
// component. Long-running processes log to stderr so that stdout stays free for CLI output.
import { pino } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** What our code needs from a logger: leveled, structured, with children per component. */
export interface Logger {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
  child(bindings: { readonly component: string } & Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Fields on every line, e.g. `{ node: 'ipn:101' }`. */
  readonly base?: Record<string, unknown>;
  /** Where lines go; stderr (fd 2) by default. */
  readonly destination?: NodeJS.WritableStream | { write(line: string): void };
}

/** A pino logger writing one JSON object per line (synchronously, so nothing is lost on exit). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 2, sync: true });
  return pino({ level: options.level ?? 'info', base: options.base ?? {} }, destination as pino.DestinationStream);
}

/** A logger that drops everything (tests, library callers that did not pass one). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
