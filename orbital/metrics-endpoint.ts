// Prometheus /metrics over node:http (ARCHITECTURE: Observability), only when the operator gives a
// port: on a flight computer it is usually off, or on loopback for a local exporter. GET /metrics
// only; anything else is 404 or 405. Gauges that mirror component state are refreshed just before
// each rendering (`beforeRender`).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrbitfedError, type MetricsRegistry } from '../common/index.ts';

export interface MetricsEndpointOptions {
  readonly host: string;
  /** 0 picks a free port (tests); the bound port is in `address`. */
  readonly port: number;
  readonly registry: MetricsRegistry;
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

  async start(): Promise<void> {
    const server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000 }, (request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (path !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: only /metrics is served here\n');
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      try {
        this.#options.beforeRender?.();
      } catch {
        // A component that cannot report right now leaves its gauges as they were.
      }
      this.#options.registry.render().then(
        (text) => response.writeHead(200, { 'content-type': this.#options.registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
        () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be rendered\n'),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new OrbitfedError('ORBITFED_METRICS_LISTEN', `cannot listen on ${this.#options.host}:${this.#options.port}: ${error.message}`, { field: 'metricsPort' })));
      server.listen(this.#options.port, this.#options.host, () => resolve());
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
