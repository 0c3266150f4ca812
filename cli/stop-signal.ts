// How a long-running command stops: on the context's signal (tests), on SIGINT/SIGTERM (people and
// service managers), or by `abort()` (the command decides it is done).
import type { CommandContext } from './command.ts';

export interface StopSignal {
  readonly signal: AbortSignal;
  abort(): void;
  /** Removes the listeners. */
  dispose(): void;
  /** Resolves once stopped. */
  stopped(): Promise<void>;
}

export function stopSignal(context: CommandContext): StopSignal {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  context.signal?.addEventListener('abort', abort, { once: true });
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return {
    signal: controller.signal,
    abort,
    dispose: () => {
      context.signal?.removeEventListener('abort', abort);
      process.removeListener('SIGINT', abort);
      process.removeListener('SIGTERM', abort);
    },
    stopped: () => (controller.signal.aborted ? Promise.resolve() : new Promise((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }))),
  };
}
