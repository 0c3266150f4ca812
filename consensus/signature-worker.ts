// Worker-thread entry of signature-worker-pool.ts: verifies batches of ed25519 signatures with the
// federation's one rule (ed25519.ts, ZIP 215) and answers one verdict byte per signature.
import { parentPort } from 'node:worker_threads';
import { ed25519Verify } from './ed25519.ts';
import { unpackJobs, type SignatureBatch, type SignatureBatchVerdicts } from './signature-worker-pool.ts';

if (parentPort === null) throw new Error('signature-worker.ts must run as a worker thread');
const port = parentPort;
port.on('message', (batch: SignatureBatch) => {
  const verdicts = new Uint8Array(batch.count);
  unpackJobs(batch.packed, batch.count).forEach((job, i) => {
    verdicts[i] = ed25519Verify(job.publicKey, job.message, job.signature) ? 1 : 0;
  });
  const reply: SignatureBatchVerdicts = { id: batch.id, verdicts };
  port.postMessage(reply, [verdicts.buffer]);
});
