// The validator's client API over HTTP (node:http), as CometBFT's RPC: submit transactions, wait
// for their commit, read the chain's status and the ledger. Bound to loopback by default: it is
// how the scheduler, agents' gateways and operators on the same host reach their validator; the
// validators themselves talk over libp2p. Errors are RFC 9457 problem documents with a stable code.
//
//   POST /v1/txs[?wait=commit&timeoutMs=N]   body application/cbor: one CBOR array of byte strings
//                                             (ledger transactions); answers one entry per tx
//   GET  /v1/txs/{hash}                       pending, committed (height, code, log) or unknown
//   GET  /v1/status                           chain id, height, round, step, last block, mempool
//   GET  /v1/blocks/{height}                  a stored block: id, app hash after it, time, transactions, round
//   GET  /v1/accounts/{id}  /v1/escrows/{id}  /v1/jobs/{jobId}/escrow  /v1/receipts/{nodeId}/{sequence}  /v1/nodes/{id}
//   GET  /v1/escrows?status=pending           pending escrows (at most 10,000; `truncated` says if more)
//   GET  /v1/supply/{currency}                ledger state (amounts as decimal strings)
//   GET  /healthz  /metrics
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CborReader, type CborErrorCodes } from '../dtn/index.ts';
import { OrbitfedError, type Clock, type DurationMs, type MetricsRegistry } from '../common/index.ts';
import type { ValidatorNode, TxStatus } from './validator-node.ts';

export interface ValidatorRpcOptions {
  readonly host: string;
  readonly port: number;
  readonly chainId: string;
  readonly name: string;
  readonly clock: Clock;
  readonly metrics?: MetricsRegistry;
  /** Largest request body; default 16 MiB. */
  readonly bodyBytesMax?: number;
  /** Longest `wait=commit`; default 30 s. */
  readonly waitMsMax?: number;
}

const CODES: CborErrorCodes = { truncated: 'ORBITFED_RPC_BODY', malformed: 'ORBITFED_RPC_BODY', invalid: 'ORBITFED_RPC_BODY' };
const TXS_PER_REQUEST_MAX = 20_000;
const TX_BYTES_MAX = 64 * 1024;
const PENDING_ESCROWS_LISTED_MAX = 10_000;

class RpcProblem extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, detail: string) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

const json = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));

export class ValidatorRpc {
  readonly #node: ValidatorNode;
  readonly #options: ValidatorRpcOptions;
  readonly #server: Server;

  constructor(node: ValidatorNode, options: ValidatorRpcOptions) {
    this.#node = node;
    this.#options = options;
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => this.#fail(response, error));
    });
    this.#server.requestTimeout = 60_000;
    this.#server.headersTimeout = 10_000;
    // Longer than clients keep idle sockets (undici: 4 s), so a client does not reuse a socket the
    // server is closing at that moment ("other side closed").
    this.#server.keepAliveTimeout = 65_000;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  /** The bound address (port 0 in the options becomes the real port). */
  address(): { host: string; port: number } {
    const info = this.#server.address() as AddressInfo;
    return { host: info.address, port: info.port };
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://validator');
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
    const method = request.method ?? 'GET';
    const route = `${method} /${parts.map((p, i) => (i >= 2 ? ':' : p)).join('/')}`;
    switch (true) {
      case method === 'POST' && url.pathname === '/v1/txs':
        return this.#submit(request, response, url);
      case method === 'GET' && parts.length === 3 && parts[0] === 'v1' && parts[1] === 'txs':
        return this.#send(response, 200, { hash: parts[2], ...this.#node.txStatus(parts[2]!) });
      case method === 'GET' && url.pathname === '/v1/status':
        return this.#send(response, 200, { chainId: this.#options.chainId, name: this.#options.name, ...this.#node.status() });
      case method === 'GET' && parts[0] === 'v1' && parts[1] === 'blocks' && parts.length === 3:
        return this.#found(response, this.#node.blockSummary(Number(parts[2])), `stored block ${parts[2]}`);
      case method === 'GET' && parts[0] === 'v1' && parts[1] === 'accounts' && parts.length === 3:
        return this.#found(response, this.#node.ledger.account(parts[2]!), `account ${parts[2]}`);
      case method === 'GET' && url.pathname === '/v1/escrows': {
        if (url.searchParams.get('status') !== 'pending') throw new RpcProblem(400, 'ORBITFED_RPC_QUERY', 'GET /v1/escrows lists pending escrows: add ?status=pending');
        const pending = this.#node.ledger.escrows().filter((e) => e.status === 'pending');
        return this.#send(response, 200, { escrows: pending.slice(0, PENDING_ESCROWS_LISTED_MAX), truncated: pending.length > PENDING_ESCROWS_LISTED_MAX });
      }
      case method === 'GET' && parts[0] === 'v1' && parts[1] === 'nodes' && parts.length === 3:
        return this.#found(response, this.#node.ledger.node(parts[2]!), `node ${parts[2]}`);
      case method === 'GET' && parts[0] === 'v1' && parts[1] === 'escrows' && parts.length === 3:
        return this.#found(response, this.#node.ledger.escrow(parts[2]!), `escrow ${parts[2]}`);
      case method === 'GET' && parts[0] === 'v1' && parts[1] === 'jobs' && parts.length === 4 && parts[3] === 'escrow':
        return this.#found(response, this.#node.ledger.escrowOfJob(parts[2]!), `escrow of job ${parts[2]}`);
      case method === 'GET' && parts[0] === 'v1' && parts[1] === 'receipts' && parts.length === 4:
        return this.#found(response, this.#node.ledger.settledReceipt(`${parts[2]}#${parts[3]}`), `settled receipt ${parts[2]}#${parts[3]}`);
      case method === 'GET' && parts[0] === 'v1' && parts[1] === 'supply' && parts.length === 3:
        return this.#found(response, this.#node.ledger.supply(parts[2]!), `currency ${parts[2]}`);
      case method === 'GET' && url.pathname === '/healthz':
        return this.#send(response, 200, { ok: true, height: this.#node.height });
      case method === 'GET' && url.pathname === '/metrics': {
        const metrics = this.#options.metrics;
        if (metrics === undefined) throw new RpcProblem(404, 'ORBITFED_RPC_NOT_FOUND', 'metrics are not enabled');
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(await metrics.render());
        return;
      }
      default:
        throw new RpcProblem(404, 'ORBITFED_RPC_NOT_FOUND', `no route ${route}`);
    }
  }

  async #submit(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const type = request.headers['content-type'] ?? '';
    if (!type.startsWith('application/cbor')) throw new RpcProblem(415, 'ORBITFED_RPC_CONTENT_TYPE', `POST /v1/txs takes application/cbor, not ${type || 'nothing'}`);
    const wait = url.searchParams.get('wait');
    if (wait !== null && wait !== 'commit') throw new RpcProblem(400, 'ORBITFED_RPC_QUERY', `wait must be "commit", not ${JSON.stringify(wait)}`);
    const waitMsMax = this.#options.waitMsMax ?? 30_000;
    const timeoutText = url.searchParams.get('timeoutMs');
    const timeoutMs = timeoutText === null ? waitMsMax : Number(timeoutText);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > waitMsMax) {
      throw new RpcProblem(400, 'ORBITFED_RPC_QUERY', `timeoutMs must be an integer from 0 to ${waitMsMax}`);
    }
    const body = await this.#body(request);
    const txs = decodeTxList(body);
    const admitted = txs.map((tx) => this.#node.submit(tx));
    if (wait === null) {
      this.#send(response, 202, { txs: admitted.map(({ hash, admission }) => ({ hash, admission, ...this.#node.txStatus(hash) })) });
      return;
    }
    const controller = new AbortController();
    const timer = this.#options.clock.setTimer(timeoutMs as DurationMs, () => controller.abort());
    response.once('close', () => controller.abort());
    try {
      const statuses: TxStatus[] = await Promise.all(admitted.map(({ hash, admission }) =>
        admission === 'full' || admission === 'malformed' ? Promise.resolve({ status: 'unknown' } as TxStatus) : this.#node.waitForTx(hash, controller.signal)));
      this.#send(response, 200, { txs: admitted.map(({ hash, admission }, i) => ({ hash, admission, ...statuses[i]! })) });
    } finally {
      timer.cancel();
    }
  }

  #body(request: IncomingMessage): Promise<Uint8Array> {
    const max = this.#options.bodyBytesMax ?? 16 * 1024 * 1024;
    const declared = Number(request.headers['content-length'] ?? '0');
    if (declared > max) return Promise.reject(new RpcProblem(413, 'ORBITFED_RPC_BODY_TOO_LARGE', `body of ${declared} bytes; at most ${max}`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      request.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > max) {
          reject(new RpcProblem(413, 'ORBITFED_RPC_BODY_TOO_LARGE', `body above ${max} bytes`));
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      request.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
      request.on('error', reject);
    });
  }

  #found(response: ServerResponse, value: unknown, what: string): void {
    if (value === undefined) throw new RpcProblem(404, 'ORBITFED_RPC_NOT_FOUND', `no ${what}`);
    this.#send(response, 200, value);
  }

  #send(response: ServerResponse, status: number, value: unknown): void {
    if (response.headersSent || response.destroyed) return;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(json(value));
  }

  #fail(response: ServerResponse, error: unknown): void {
    const problem = error instanceof RpcProblem ? error
      : error instanceof OrbitfedError ? new RpcProblem(400, error.code, error.message)
        : new RpcProblem(500, 'ORBITFED_RPC_INTERNAL', (error as Error).message);
    if (response.headersSent || response.destroyed) return;
    response.writeHead(problem.status, { 'content-type': 'application/problem+json' });
    response.end(JSON.stringify({ type: 'about:blank', title: problem.code, status: problem.status, detail: problem.message, code: problem.code }));
  }
}

/** A CBOR array of byte strings, strictly (what POST /v1/txs takes). */
export function decodeTxList(body: Uint8Array): Uint8Array[] {
  const reader = new CborReader(body, CODES);
  const count = reader.readArrayHeader('txs');
  if (count > TXS_PER_REQUEST_MAX) throw new OrbitfedError('ORBITFED_RPC_BODY', `${count} transactions; at most ${TXS_PER_REQUEST_MAX} per request`, { field: 'txs' });
  const txs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) txs.push(reader.readBytes(`txs[${i}]`, TX_BYTES_MAX));
  if (reader.offset !== body.length) throw new OrbitfedError('ORBITFED_RPC_BODY', `${body.length - reader.offset} bytes after the transaction list`, { field: 'txs' });
  return txs;
}
