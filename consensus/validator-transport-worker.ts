// Worker-thread entry of validator-transport.ts: runs the libp2p side of the validators' transport
// (validator-links.ts) and relays frames and log lines to and from the consensus thread. Started
// by worker-thread.ts (with the process's compile cache) as soon as the validator knows it needs
// one, so that these modules load while the consensus thread still reads its genesis document.
import { parentPort } from 'node:worker_threads';
import { RealClock } from '../common/index.ts';
import { ValidatorLinks, type FromLinks, type ToLinks } from './validator-links.ts';

if (parentPort === null) throw new Error('validator-transport-worker.ts must run as a worker thread');
const port = parentPort;
const post = (message: FromLinks, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
let links: ValidatorLinks | null = null;
let handledBytes: BigInt64Array | null = null;

port.on('message', (message: ToLinks) => {
  switch (message.kind) {
    case 'start': {
      if (links !== null) return;
      const started = new ValidatorLinks(message.options, new RealClock(), {
        message: (from, bytes) => post({ kind: 'frame', from, bytes }, [bytes.buffer as ArrayBuffer]),
        log: (level, fields, text) => post({ kind: 'log', level, fields, message: text }),
      });
      links = started;
      handledBytes = new BigInt64Array(message.handledBytes);
      // Sends wait in the links' queues until the node runs.
      started.start().then(
        () => post({ kind: 'started', addresses: started.addresses() }),
        (error: unknown) => post({ kind: 'start-failed', message: (error as Error).message, code: (error as { code?: string }).code }),
      );
      return;
    }
    case 'send':
      links?.send(message.to, message.frame);
      if (handledBytes !== null) Atomics.add(handledBytes, 0, BigInt(message.frame.length));
      return;
    case 'reset':
      links?.resetInbound(message.from, message.why);
      return;
    case 'stop':
      if (links === null) post({ kind: 'stopped' });
      else links.stop().then(() => post({ kind: 'stopped' }), () => post({ kind: 'stopped' }));
      return;
  }
});
