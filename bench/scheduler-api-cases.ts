// The scheduler's REST API under load (issue 7: "p99 API latency for POST /v1/jobs under 200
// concurrent clients"). The API of test/scheduler/api-harness.ts — real placement on a 5-node test
// plan, the job store on disk with synchronous=FULL, the in-process ledger, fastify — listens on
// 127.0.0.1; the clients run in a child process (scheduler-api-clients.ts), 200 of them, each
// awaiting its answer before sending the next (keep-alive connections, Node's fetch). Every answer
// must be 201 (or 422 once nodes are full); latency is from request start to last byte, measured by
// the client. One client sending sequentially is measured first: the floor without queueing.
// The issue names no bound and no anchor; the row reports the number.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { removeHarnessFiles, startHarness } from '../test/scheduler/api-harness.ts';
import { formatCount, type BenchSection, type SectionRow } from './report.ts';
import { percentile } from './timing.ts';

const CLIENTS_SCRIPT = fileURLToPath(new URL('./scheduler-api-clients.ts', import.meta.url));
const CLIENTS = 200;
const REQUESTS_PER_CLIENT = 25;
const SEQUENTIAL_REQUESTS = 200;

interface ClientRun {
  readonly latenciesMs: number[];
  readonly statuses: Record<string, number>;
  readonly wallMs: number;
}

function runClients(base: string, key: string, clients: number, perClient: number, first: number): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLIENTS_SCRIPT, base, key, String(clients), String(perClient), String(first)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ClientRun) : reject(new Error(`the clients exited with ${code}`))));
  });
}

function checked(run: ClientRun): ClientRun {
  const unexpected = Object.keys(run.statuses).filter((s) => s !== '201' && s !== '422');
  if (unexpected.length > 0) throw new Error(`unexpected answers: ${JSON.stringify(run.statuses)}`);
  return run;
}

const statusText = (run: ClientRun): string => Object.entries(run.statuses).map(([s, n]) => `${formatCount(n)}× ${s}`).join(', ');

export async function runSchedulerApiCases(options: { progress: (message: string) => void }): Promise<BenchSection> {
  const { progress } = options;
  const h = await startHarness({ limits: { rateLimitRequests: 1_000_000 } });
  try {
    const base = await h.app.listen({ host: '127.0.0.1', port: 0 });
    progress(`scheduler API: ${SEQUENTIAL_REQUESTS} sequential POST /v1/jobs`);
    const sequential = checked(await runClients(base, h.keys.acme, 1, SEQUENTIAL_REQUESTS, 0));
    progress(`scheduler API: ${CLIENTS} concurrent clients × ${REQUESTS_PER_CLIENT} POST /v1/jobs`);
    const loaded = checked(await runClients(base, h.keys.acme, CLIENTS, REQUESTS_PER_CLIENT, SEQUENTIAL_REQUESTS));
    const ms = (run: ClientRun, p: number): string => percentile(run.latenciesMs, p).toFixed(1);
    const rate = (run: ClientRun): string => `${formatCount(run.latenciesMs.length / (run.wallMs / 1000))}/s`;
    const rows: SectionRow[] = [
      {
        caseLabel: 'POST /v1/jobs, 1 client', measure: 'latency p50 / p99 (orbitfed)', result: `${ms(sequential, 50)} / ${ms(sequential, 99)} ms`,
        detail: `${formatCount(sequential.latenciesMs.length)} requests, ${rate(sequential)}; ${statusText(sequential)}`, target: '—', verdict: '—',
      },
      {
        caseLabel: `POST /v1/jobs, ${CLIENTS} clients`, measure: 'latency p50 / p99 (orbitfed)', result: `${ms(loaded, 50)} / ${ms(loaded, 99)} ms`,
        detail: `${formatCount(loaded.latenciesMs.length)} requests, ${rate(loaded)}; ${statusText(loaded)}; max ${ms(loaded, 100)} ms`, target: '— (the issue asks for the number)', verdict: '—',
      },
    ];
    return {
      name: 'scheduler-api',
      heading: 'Scheduler REST API',
      intro: 'POST /v1/jobs over HTTP on loopback: each request placed on a 5-node test plan, committed to SQLite (synchronous=FULL: one fsync per job) and escrowed on the in-process ledger (one block per escrow).',
      rows,
      notes: [
        `The clients run in a child process: ${CLIENTS} of them, each awaiting its answer before sending the next (keep-alive, Node's fetch); latency is request start to last byte.`,
        'Every answer is checked: 201 (placed) or 422 (no node can take it any more); any other status fails the run.',
        'The server is one event loop doing synchronous work per request (placement, the SQLite commit and its fsync, the ledger block), so under 200 clients a request waits for the ones ahead of it: p50 ≈ 200 × the 1-client time.',
      ],
    };
  } finally {
    await h.close();
    removeHarnessFiles();
  }
}
