// The link emulator cases (link-emulator-cases.ts) in a process of their own, forked by
// `runLinkEmulatorCasesAlone`: the sender and the receiver time every message with performance.now()
// on their event loop, and the benchmark's own process has by then built a placement federation and
// a 2-million-contact plan whose heap its garbage collector keeps walking; a fresh process measures
// the relay, not that. Speaks to its parent over the IPC channel: progress lines, then the result.
import process from 'node:process';
import { runLinkEmulatorCases, type LinkEmulatorCasesResult } from './link-emulator-cases.ts';

export type FromLinkEmulatorProbe =
  | { readonly kind: 'progress'; readonly message: string }
  | { readonly kind: 'result'; readonly result: LinkEmulatorCasesResult }
  | { readonly kind: 'failed'; readonly message: string };

const send = (message: FromLinkEmulatorProbe): Promise<void> => new Promise((resolve) => process.send!(message, () => resolve()));

try {
  const result = await runLinkEmulatorCases((message) => void send({ kind: 'progress', message }));
  await send({ kind: 'result', result });
} catch (error) {
  await send({ kind: 'failed', message: error instanceof Error ? error.stack ?? error.message : String(error) });
}
process.disconnect();
