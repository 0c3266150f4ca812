// Worker threads of the validator (the signature workers, the libp2p transport) with this process's
// compile cache. A worker does not inherit it (module.enableCompileCache applies to the thread that
// calls it), so a worker started on a .ts file would load Node's TypeScript stripper (a WebAssembly
// module) and strip every module it imports, on each start: measured at a restart, that was most
// of a second of CPU competing with the ledger restore. Here the worker's first code is a line of
// plain JavaScript that enables the cache, then imports the module, which then loads from the cache.
import { getCompileCacheDir } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Starts the module at `moduleUrl` on a worker thread; `workerData` reaches it as usual. */
export function startWorkerThread(moduleUrl: URL, workerData?: unknown): Worker {
  const cacheDir = getCompileCacheDir();
  if (cacheDir === undefined) return new Worker(moduleUrl, { workerData });
  const source = `require('node:module').enableCompileCache(${JSON.stringify(cacheDir)}); import(${JSON.stringify(moduleUrl.href)});`;
  return new Worker(source, { eval: true, workerData });
}
