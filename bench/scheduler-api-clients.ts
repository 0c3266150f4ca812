// The clients of the scheduler API bench (scheduler-api-cases.ts), in their own process so that
// their work does not share the server's event loop. Usage:
//   node scheduler-api-clients.ts <base URL> <API key> <clients> <requests per client> <first job number>
// Prints one JSON line: { latenciesMs: number[], statuses: Record<status, count>, wallMs }.
import { performance } from 'node:perf_hooks';
import { jobBody } from './scheduler-api-jobs.ts';

const [base, key, clientsText, perClientText, firstText] = process.argv.slice(2);
const clients = Number(clientsText);
const perClient = Number(perClientText);
const first = Number(firstText);
const latenciesMs: number[] = [];
const statuses: Record<string, number> = {};
const startMs = performance.now();
await Promise.all(Array.from({ length: clients }, async (_, client) => {
  for (let r = 0; r < perClient; r++) {
    const t = performance.now();
    const response = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: jobBody(first + client * perClient + r) });
    await response.arrayBuffer();
    latenciesMs.push(performance.now() - t);
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
  }
}));
process.stdout.write(`${JSON.stringify({ latenciesMs, statuses, wallMs: performance.now() - startMs })}\n`);
