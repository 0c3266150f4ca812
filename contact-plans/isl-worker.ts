// Worker-thread entry for `isl.ts`: receives the shared ephemeris once, then searches the row ranges
// it is sent and transfers the window columns back without copying.
import { parentPort } from 'node:worker_threads';
import { OrbitfedError } from '../common/index.ts';
import { IslPairSearch, type IslWorkerInit, type IslWorkerReply, type IslWorkerRows } from './isl.ts';
import { initialisePropagators } from './pass-search.ts';

if (parentPort === null) throw new Error('isl-worker.ts must run as a worker thread');
const port = parentPort;
let search: IslPairSearch | undefined;
let sgp4CallsReported = 0;
port.on('message', (message: IslWorkerInit | IslWorkerRows) => {
  if (message.kind === 'init') {
    search = new IslPairSearch(message.ephemeris, initialisePropagators(message.elements).propagators, message.options);
    return;
  }
  if (search === undefined) throw new Error('isl-worker.ts: rows before init');
  let tooManyWindows = false;
  try {
    search.searchRows(message.rowStart, message.rowEnd);
  } catch (error) {
    // The window bound is an expected outcome, reported as such; anything else is a bug and crashes the worker.
    if (!(error instanceof OrbitfedError && error.code === 'ORBITFED_ISL_TOO_MANY_WINDOWS')) throw error;
    tooManyWindows = true;
    search.table.length = 0;
  }
  const columns = search.table.trimmed();
  const length = search.table.length;
  // Each reply carries only its own rows: the table is emptied (its buffers reused) after copying out.
  search.table.length = 0;
  const sgp4Calls = search.sgp4Calls - sgp4CallsReported;
  sgp4CallsReported += sgp4Calls;
  const reply: IslWorkerReply = { columns, length, sgp4Calls, tooManyWindows };
  port.postMessage(reply, Object.values(columns).map((c) => c.buffer as ArrayBuffer));
});
