// The ground agent's HTTP endpoint for operators (ARCHITECTURE: Prometheus `/metrics` on every
// long-running process): GET /metrics (the registry in the Prometheus text format) and GET /healthz
// (200 while the agent runs, 503 otherwise). Nothing else is served; request bodies are never read.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrbitfedError, type MetricsRegistry } from '../common/index.ts';

/** Connections held open at once; more are refused by the server. */
const CONNECTIONS_MAX = 64;

export interface MetricsEndpointOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: MetricsRegistry;
  /** Whether the agent is healthy now. */
  readonly healthy: () => boolean;
}

export class MetricsEndpoint {
  readonly #options: MetricsEndpointOptions;
  #server: Server | undefined;

  constructor(options: MetricsEndpointOptions) {
    this.#options = options;
  }

  /** Listens; resolves to the URL it answers on. */
  async start(): Promise<string> {
    const server = createServer((request, response) => void this.#answer(request, response));
    server.maxConnections = CONNECTIONS_MAX;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new OrbitfedError('ORBITFED_METRICS_LISTEN', `cannot listen on ${this.#options.host}:${this.#options.port}: ${error.message}`, { field: 'metrics' })));
      server.listen(this.#options.port, this.#options.host, () => resolve());
    });
    this.#server = server;
    const address = server.address() as AddressInfo;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    try {
      if (request.method !== 'GET') {
        response.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('only GET\n');
      } else if (path === '/metrics') {
        const text = await this.#options.metrics.render();
        response.writeHead(200, { 'content-type': this.#options.metrics.contentType }).end(text);
      } else if (path === '/healthz') {
        const ok = this.#options.healthy();
        response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'stopped' }));
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics or /healthz\n');
      }
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`${(error as Error).message}\n`);
    }
  }
}
