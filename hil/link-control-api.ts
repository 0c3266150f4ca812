// The link emulator's control API: inject faults at run time and read state and metrics. Plain
// node:http (fastify is the scheduler's); small, JSON in and out, errors as RFC 9457 problem
// documents with a stable `code`.
//
//   GET  /healthz                          {"ok":true}
//   GET  /state                            the emulator: plan hash, time scale, plan second, links
//   GET  /links                            every link's status
//   GET  /links/{from}/{to}                one link's status
//   POST /links/{from}/{to}/cut            reset its connections and refuse new ones until restore
//   POST /links/{from}/{to}/restore        follow the plan again
//   POST /links/{from}/{to}/freeze         hold every byte (nothing transmitted or delivered)
//   POST /links/{from}/{to}/unfreeze
//   POST /links/{from}/{to}/delay          {"extraDelayMs": 250, "direction": "both"} (forward, reverse, both)
//   POST /links/{from}/{to}/flap           {"downSec": 30, "startSec"?: plan second (default now), "everySec"?, "count"?}:
//                                          scheduled outages, as the map's flaps (connections reset, reason outage)
//   GET  /metrics                          Prometheus text format
// `all` in place of `{from}/{to}` applies an action to every link (`POST /links/all/freeze`).
// There is no authentication: whoever reaches the port can cut links. It listens where the map
// says, 127.0.0.1 by default in the samples; keep it on loopback or a lab network.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { OrbitfedError, silentLogger, type Logger, type MetricsRegistry } from '../common/index.ts';
import { formatHostPort, type HostPort } from '../dtn/tcp-connection.ts';
import type { Direction, EmulatorStatus, FlapRequest, LinkSelector, LinkStatus } from './link-emulator.ts';
import { FLAP_REPEATS_MAX } from './link-map.ts';

/** Request bodies larger than this are refused (413) before they are parsed. */
export const CONTROL_BODY_BYTES_MAX = 4096;
const CONTROL_CONNECTIONS_MAX = 64;
const NODE_NUMBER = /^\d{1,16}$/;

/** What the control API drives: the emulator's operations (LinkEmulator implements it). */
export interface LinkControl {
  status(): EmulatorStatus;
  linkStatus(selector: LinkSelector): LinkStatus[];
  cut(selector: LinkSelector): LinkStatus[];
  restore(selector: LinkSelector): LinkStatus[];
  freeze(selector: LinkSelector): LinkStatus[];
  unfreeze(selector: LinkSelector): LinkStatus[];
  setExtraDelay(selector: LinkSelector, extraDelayMs: number, directions: readonly Direction[]): LinkStatus[];
  flap(selector: LinkSelector, request: FlapRequest): LinkStatus[];
  refreshMetrics(): void;
}

export const DelayRequestSchema = Type.Object(
  {
    extraDelayMs: Type.Number({ minimum: 0, maximum: 3_600_000, description: 'Delay on top of the light time, ms; 0 removes it.' }),
    direction: Type.Optional(Type.Union([Type.Literal('forward'), Type.Literal('reverse'), Type.Literal('both')], { description: 'Default both.' })),
  },
  { additionalProperties: false },
);
const delayChecker = TypeCompiler.Compile(DelayRequestSchema);

const YEAR_SEC = 366 * 86_400;
export const FlapRequestSchema = Type.Object(
  {
    downSec: Type.Number({ exclusiveMinimum: 0, maximum: YEAR_SEC, description: 'Length of each outage, plan seconds.' }),
    startSec: Type.Optional(Type.Number({ minimum: -100 * YEAR_SEC, maximum: 100 * YEAR_SEC, description: 'Plan second the first outage starts (the emulator\'s plan seconds, GET /state); default now.' })),
    everySec: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: YEAR_SEC, description: 'Period of repeated outages; must exceed downSec.' })),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: FLAP_REPEATS_MAX, description: 'Outages in all (default 1).' })),
  },
  { additionalProperties: false },
);
const flapChecker = TypeCompiler.Compile(FlapRequestSchema);

const ACTIONS = ['cut', 'restore', 'freeze', 'unfreeze', 'delay', 'flap'] as const;
type Action = (typeof ACTIONS)[number];

export interface LinkControlApiOptions {
  readonly control: LinkControl;
  readonly metrics: MetricsRegistry;
  readonly listen: HostPort;
  readonly logger?: Logger;
}

class HttpProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type', 500: 'Internal Server Error',
};

export class LinkControlApi {
  readonly #options: LinkControlApiOptions;
  readonly #log: Logger;
  readonly #server: Server;
  #address: HostPort | undefined;

  constructor(options: LinkControlApiOptions) {
    this.#options = options;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'link-control-api' });
    this.#server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5000 }, (request, response) => {
      void this.#handle(request, response);
    });
    this.#server.maxConnections = CONTROL_CONNECTIONS_MAX;
    this.#server.maxRequestsPerSocket = 1000;
  }

  /** The bound address (the port is the real one when the map asked for 0). */
  get address(): HostPort | undefined {
    return this.#address;
  }

  async start(): Promise<HostPort> {
    const { host, port } = this.#options.listen;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new OrbitfedError('ORBITFED_LINK_CONTROL_LISTEN', `control API cannot listen on ${formatHostPort(this.#options.listen)}: ${error.code ?? error.message}`, { field: 'control.listen' }, { cause: error })));
      this.#server.listen({ host, port }, () => resolve());
    });
    this.#server.removeAllListeners('error');
    this.#server.on('error', (error) => this.#log.error({ error: error.message }, 'control API error'));
    this.#address = { host, port: (this.#server.address() as { port: number }).port };
    this.#log.info({ address: formatHostPort(this.#address) }, 'control API listening');
    return this.#address;
  }

  async stop(): Promise<void> {
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      await this.#route(request, response);
    } catch (error) {
      const problem = error instanceof HttpProblem ? error
        : error instanceof OrbitfedError ? problemOfDomainError(error)
          : new HttpProblem(500, 'ORBITFED_LINK_CONTROL_INTERNAL', 'internal error');
      if (problem.status === 500) this.#log.error({ error: (error as Error).message, url: request.url }, 'control request failed');
      if (!response.headersSent) {
        const body = JSON.stringify({ type: 'about:blank', title: TITLES[problem.status] ?? 'Error', status: problem.status, detail: problem.message, code: problem.code });
        response.writeHead(problem.status, { 'content-type': 'application/problem+json', ...problem.headers });
        response.end(body);
      } else {
        response.destroy();
      }
      // Whatever the client still sends is not read; the connection is not reused.
      if (!request.complete) request.resume();
    }
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0]!;
    const segments = path.split('/').filter((s) => s !== '');
    const method = request.method ?? 'GET';
    const control = this.#options.control;
    if (segments.length === 1 && segments[0] === 'healthz') return this.#get(request, response, () => ({ ok: true }));
    if (segments.length === 1 && segments[0] === 'state') return this.#get(request, response, () => control.status());
    if (segments.length === 1 && segments[0] === 'metrics') {
      allow(method, ['GET', 'HEAD']);
      control.refreshMetrics();
      const text = await this.#options.metrics.render();
      response.writeHead(200, { 'content-type': this.#options.metrics.contentType });
      response.end(method === 'HEAD' ? undefined : text);
      return;
    }
    if (segments[0] !== 'links') throw new HttpProblem(404, 'ORBITFED_LINK_CONTROL_NOT_FOUND', `no resource ${path.slice(0, 200)} (see GET /state, /links, /metrics)`);
    if (segments.length === 1) return this.#get(request, response, () => control.status().links);
    const { selector, rest } = selectorOf(segments.slice(1));
    if (rest.length === 0) {
      if (selector === 'all') return this.#get(request, response, () => control.status().links);
      return this.#get(request, response, () => control.linkStatus(selector)[0]);
    }
    const action = rest[0] as Action;
    if (rest.length !== 1 || !ACTIONS.includes(action)) {
      throw new HttpProblem(404, 'ORBITFED_LINK_CONTROL_NOT_FOUND', `no action '${rest.join('/').slice(0, 80)}' (actions: ${ACTIONS.join(', ')})`);
    }
    allow(method, ['POST']);
    const body = await readBody(request);
    let links: LinkStatus[];
    if (action === 'flap') {
      const value = parseJsonBody(body, request);
      if (!flapChecker.Check(value)) {
        const error = flapChecker.Errors(value).First()!;
        const field = error.path.replace(/^\//, '') || 'body';
        throw new HttpProblem(400, 'ORBITFED_LINK_CONTROL_INVALID', `${field}: ${error.message} (got ${JSON.stringify(error.value)?.slice(0, 60) ?? 'nothing'})`);
      }
      links = control.flap(selector, value);
    } else if (action === 'delay') {
      const value = parseJsonBody(body, request);
      if (!delayChecker.Check(value)) {
        const error = delayChecker.Errors(value).First()!;
        const field = error.path.replace(/^\//, '') || 'body';
        throw new HttpProblem(400, 'ORBITFED_LINK_CONTROL_INVALID', `${field}: ${error.message} (got ${JSON.stringify(error.value)?.slice(0, 60) ?? 'nothing'})`);
      }
      const directions: Direction[] = value.direction === undefined || value.direction === 'both' ? ['forward', 'reverse'] : [value.direction];
      links = control.setExtraDelay(selector, value.extraDelayMs, directions);
    } else {
      if (body.length > 0 && body.toString('utf8').trim() !== '' && body.toString('utf8').trim() !== '{}') {
        throw new HttpProblem(400, 'ORBITFED_LINK_CONTROL_INVALID', `${action} takes no body`);
      }
      links = control[action](selector);
    }
    this.#log.info({ action, selector, ...(action === 'delay' || action === 'flap' ? { body: body.toString('utf8') } : {}) }, 'control action');
    sendJson(response, 200, { action, links });
  }

  #get(request: IncomingMessage, response: ServerResponse, body: () => unknown): void {
    allow(request.method ?? 'GET', ['GET', 'HEAD']);
    const text = JSON.stringify(body());
    if (request.method === 'HEAD') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end();
      return;
    }
    sendJson(response, 200, undefined, text);
  }
}

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) {
    throw new HttpProblem(405, 'ORBITFED_LINK_CONTROL_METHOD', `${method.slice(0, 20)} is not allowed here (allowed: ${methods.join(', ')})`, { allow: methods.join(', ') });
  }
}

function selectorOf(segments: readonly string[]): { selector: LinkSelector; rest: readonly string[] } {
  if (segments[0] === 'all') return { selector: 'all', rest: segments.slice(1) };
  const [from, to, ...rest] = segments;
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (value === undefined || !NODE_NUMBER.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new HttpProblem(404, 'ORBITFED_LINK_CONTROL_NOT_FOUND', `links are /links/{from}/{to} with ipn node numbers, or /links/all (${name} is ${JSON.stringify(value ?? '')?.slice(0, 40)})`);
    }
  }
  return { selector: { from: Number(from), to: Number(to) }, rest };
}

/** The body, refused past CONTROL_BODY_BYTES_MAX whether or not Content-Length announced it. */
function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > CONTROL_BODY_BYTES_MAX) {
    return Promise.reject(new HttpProblem(413, 'ORBITFED_LINK_CONTROL_TOO_LARGE', `request body is ${declared} bytes; at most ${CONTROL_BODY_BYTES_MAX}`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sizeBytes = 0;
    request.on('data', (chunk: Buffer) => {
      sizeBytes += chunk.length;
      if (sizeBytes > CONTROL_BODY_BYTES_MAX) {
        request.removeAllListeners('data');
        reject(new HttpProblem(413, 'ORBITFED_LINK_CONTROL_TOO_LARGE', `request body is over ${CONTROL_BODY_BYTES_MAX} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseJsonBody(body: Buffer, request: IncomingMessage): unknown {
  const type = (request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpProblem(415, 'ORBITFED_LINK_CONTROL_MEDIA_TYPE', `send the body as application/json (got ${JSON.stringify(type.slice(0, 60)) || 'none'})`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HttpProblem(400, 'ORBITFED_LINK_CONTROL_INVALID', 'the body is not UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpProblem(400, 'ORBITFED_LINK_CONTROL_INVALID', `the body is not JSON: ${(error as Error).message.split('\n', 1)[0]}`);
  }
}

function problemOfDomainError(error: OrbitfedError): HttpProblem {
  if (error.code === 'ORBITFED_LINK_UNKNOWN') return new HttpProblem(404, error.code, error.message);
  if (error.code === 'ORBITFED_LINK_STATE') return new HttpProblem(409, error.code, error.message);
  return new HttpProblem(400, error.code, error.message);
}

function sendJson(response: ServerResponse, status: number, value: unknown, text = JSON.stringify(value)): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(text);
}
