// The operator's HTTP endpoint of a long-running process that has no API of its own (the agents):
// GET /metrics (the registry in the Prometheus text format, ARCHITECTURE: Observability) and GET
// /healthz (200 while healthy, 503 otherwise). Nothing else is served; request bodies are never
// read; connections are capped. Gauges that mirror component state can be refreshed just before
// each rendering (`beforeRender`).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrbitfedError } from './errors.ts';
import type { MetricsRegistry } from './metrics.ts';

// node:http through getBuiltinModule, not an ES import: importing it as an ES module reads every
// export, and its lazy WebSocket / EventSource getters then load undici (~7 MB resident in an agent
// that never makes an HTTP request). Types still come from an `import type`.
const { createServer } = process.getBuiltinModule('node:http');

/** Connections held open at once; more are refused by the server. */
const CONNECTIONS_MAX = 64;

export interface MetricsEndpointOptions {
  readonly host: string;
  /** 0 picks a free port (tests); the bound address is in `address` and `start()`'s URL. */
  readonly port: number;
  readonly registry: MetricsRegistry;
  /** Whether the process is healthy now; always, when absent. */
  readonly healthy?: () => boolean;
  readonly beforeRender?: () => void;
}

export class MetricsEndpoint {
  readonly #options: MetricsEndpointOptions;
  #server: Server | undefined;

  constructor(options: MetricsEndpointOptions) {
    this.#options = options;
  }

  /** host:port it listens on, once started. */
  get address(): string | undefined {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (address === null || address === undefined) return undefined;
    return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  }

  /** Listens; resolves to the URL it answers on. */
  async start(): Promise<string> {
    const server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000 }, (request, response) => void this.#answer(request, response));
    server.maxConnections = CONNECTIONS_MAX;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new OrbitfedError('ORBITFED_METRICS_LISTEN', `cannot listen on ${this.#options.host}:${this.#options.port}: ${error.message}`, { field: 'metrics' })));
      server.listen(this.#options.port, this.#options.host, () => resolve());
    });
    this.#server = server;
    return `http://${this.address!}`;
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
        this.#options.beforeRender?.();
        const text = await this.#options.registry.render();
        response.writeHead(200, { 'content-type': this.#options.registry.contentType }).end(text);
      } else if (path === '/healthz') {
        const ok = this.#options.healthy?.() ?? true;
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
