// Worker-thread entry for `pass-search.ts`: searches the satellites it is sent and transfers the
// pass columns back without copying.
import { parentPort } from 'node:worker_threads';
import { searchPassesHere, type WorkerReply, type WorkerRequest } from './pass-search.ts';

if (parentPort === null) throw new Error('pass-worker.ts must run as a worker thread');
const port = parentPort;
port.on('message', (request: WorkerRequest) => {
  const result = searchPassesHere(request.elements, request.stations, request.options, request.satelliteIndexOffset);
  const columns = result.table.trimmed();
  const reply: WorkerReply = { columns, length: result.table.length, problems: result.problems, sgp4Calls: result.sgp4Calls };
  port.postMessage(reply, Object.values(columns).map((c) => c.buffer as ArrayBuffer));
});
