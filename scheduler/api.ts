// The tenants' REST API (issue 7): fastify 5, one plugin per resource (routes-*.ts), schema-first
// with the TypeBox schemas of the specs. The only importer of fastify and @fastify/* (STYLE rule
// 17): route files get the types they need from here.
//
// What happens to a request, in order:
//   1. the body is bounded before it is read (`bodyBytesMax`, from Content-Length and while
//      streaming: 413) and parsed by our JSON parser (malformed JSON, invalid UTF-8 and
//      "__proto__" keys are a 400 naming the position), which keeps the raw bytes for signatures;
//   2. authentication (/v1 only): `Authorization: Bearer <key>` or a signed request
//      (scheduler/tenants.ts); 401 otherwise, before the body is read;
//   3. the signature is verified over the raw body; then the tenant's rate limit
//      (@fastify/rate-limit keyed by tenant, 429 with Retry-After);
//   4. validation against the route's TypeBox schemas (unknown fields refused; query strings
//      converted to numbers first); every field at fault is listed in the 400;
//   5. the handler, which checks roles and what a schema cannot say.
// Every error is an RFC 9457 problem document (scheduler/problem.ts); nothing a client sends can
// end the process, and a refused request writes nothing to the store.
//
// Public without authentication: /healthz, /metrics (Prometheus scrapes without credentials; put
// it behind the network's access control), /docs (Swagger UI, assets served from
// node_modules, no CDN) and /docs/json (the OpenAPI 3.1 document).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { Clock, HistogramMetric, Logger, MetricsRegistry } from '../common/index.ts';
import type { JobLifecycle } from './job-lifecycle.ts';
import { JobSpecSchema } from './job-spec.ts';
import type { JobStore, TenantRole } from './job-store.ts';
import { NodeSpecSchema } from './node-spec.ts';
import { ApiProblem, PROBLEM_CONTENT_TYPE, problemOf, validationProblem } from './problem.ts';
import { contactsRoutes } from './routes-contacts.ts';
import { Dashboard } from './dashboard.ts';
import type { DashboardSources } from './dashboard-config.ts';
import { healthRoutes } from './routes-health.ts';
import { jobsRoutes } from './routes-jobs.ts';
import { nodesRoutes } from './routes-nodes.ts';
import { placementsRoutes } from './routes-placements.ts';
import { API_LIMITS_DEFAULT, type ApiLimits } from './api-limits.ts';
import { schemaProblems } from './spec-problems.ts';
import type { Principal, TenantDirectory } from './tenants.ts';

export type ApiApp = FastifyInstance;
export type ApiRequest = FastifyRequest;
export type ApiReply = FastifyReply;

// The limits live in api-limits.ts so that the configuration's schema (and through it the agents)
// can use their defaults without loading fastify.
export type { ApiLimits } from './api-limits.ts';
export { API_LIMITS_DEFAULT } from './api-limits.ts';

export interface ApiDeps {
  readonly store: JobStore;
  readonly lifecycle: JobLifecycle;
  readonly tenants: TenantDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Auditor id → ed25519 public key: attestations of registered nodes must verify under these. */
  readonly auditors: ReadonlyMap<string, Uint8Array>;
  /** The ledger chain id (signed requests are bound to it). */
  readonly chainId: string;
  readonly limits?: Partial<ApiLimits> | undefined;
  /** Serve Swagger UI at /docs (the OpenAPI document is always at /docs/json). */
  readonly docs?: boolean | undefined;
  /** The web dashboard's sources (scheduler/dashboard.ts); without them / serves no dashboard. */
  readonly dashboard?: DashboardSources | undefined;
}

/** What every route plugin gets: the dependencies, the limits, and who is calling. */
export interface ApiContext extends ApiDeps {
  readonly limits: ApiLimits;
  /** The authenticated tenant of a /v1 request. */
  principal(request: ApiRequest): Principal;
  /** The principal, if it has one of `roles`; else 403 naming what is needed. */
  requireRole(request: ApiRequest, roles: readonly TenantRole[], doing: string): Principal;
  /** The request body's bytes as received (empty without a body). */
  rawBody(request: ApiRequest): Uint8Array;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Validation codes by schema: a spec's problems carry its own code, other parts a generic one. */
const SPEC_CODES = new Map<unknown, string>([[JobSpecSchema, 'ORBITFED_JOB_SPEC_INVALID'], [NodeSpecSchema, 'ORBITFED_NODE_SPEC_INVALID']]);

/** Deepest nesting of arrays and objects a body may have (a job spec needs 4). */
const JSON_DEPTH_MAX = 32;

/** The deepest nesting in a JSON text, scanning past strings; stops counting past `max`. */
function jsonDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > deepest && (deepest = depth) > max) return deepest;
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  return deepest;
}

/**
 * JSON.parse, refusing "__proto__" keys (prototype poisoning through later merges) and nesting
 * deeper than JSON_DEPTH_MAX (checked before parsing, so no recursion runs deep), with the position
 * of a syntax error.
 */
function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiProblem(400, 'ORBITFED_API_MALFORMED_JSON', 'the body is not valid UTF-8', '');
  }
  if (text.trim() === '') throw new ApiProblem(400, 'ORBITFED_API_MALFORMED_JSON', 'the body is empty; send a JSON document', '');
  if (jsonDepth(text, JSON_DEPTH_MAX) > JSON_DEPTH_MAX) {
    throw new ApiProblem(400, 'ORBITFED_API_MALFORMED_JSON', `the body nests arrays and objects deeper than ${JSON_DEPTH_MAX} levels`, '');
  }
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new ApiProblem(400, 'ORBITFED_API_MALFORMED_JSON', 'a "__proto__" key is not accepted anywhere in a body', '');
      return value;
    });
  } catch (error) {
    if (error instanceof ApiProblem) throw error;
    throw new ApiProblem(400, 'ORBITFED_API_MALFORMED_JSON', `the body is not JSON: ${(error as Error).message}`, '');
  }
}

/**
 * Builds the API (not listening: call `listen` on the result, or `inject` in tests). The app owns
 * no resources of its own beyond fastify's; closing it leaves the store and lifecycle open.
 */
export async function buildApi(deps: ApiDeps): Promise<ApiApp> {
  const limits: ApiLimits = { ...API_LIMITS_DEFAULT, ...deps.limits };
  const log = deps.logger.child({ component: 'api' });
  const principals = new WeakMap<ApiRequest, Principal>();
  const rawBodies = new WeakMap<ApiRequest, Uint8Array>();
  const claims = new WeakMap<ApiRequest, ReturnType<TenantDirectory['claimSignature']>>();
  const requestSeconds: HistogramMetric = deps.metrics.histogram('orbitfed_scheduler_http_request_seconds', 'REST API request duration, by method, route and status.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], ['method', 'route', 'status']);

  const context: ApiContext = {
    ...deps,
    limits,
    principal(request) {
      const principal = principals.get(request);
      if (principal === undefined) throw new ApiProblem(401, 'ORBITFED_AUTH_REQUIRED', 'this endpoint needs an authenticated tenant', 'authorization');
      return principal;
    },
    requireRole(request, roles, doing) {
      const principal = context.principal(request);
      if (!roles.some((r) => principal.roles.has(r))) {
        throw new ApiProblem(403, 'ORBITFED_AUTH_FORBIDDEN', `${doing} needs the role ${roles.join(' or ')}; tenant ${principal.tenantId} has ${[...principal.roles].join(', ') || 'none'}`);
      }
      return principal;
    },
    rawBody: (request) => rawBodies.get(request) ?? EMPTY,
  };

  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyBytesMax,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 128, ignoreTrailingSlash: false },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });

  // 1. Bodies: our JSON parser, bounded by bodyLimit before a byte is parsed.
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: limits.bodyBytesMax }, (request, body, done) => {
    const bytes = body as Buffer;
    rawBodies.set(request, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    try {
      done(null, parseJson(bytes));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.removeContentTypeParser(['text/plain']);

  // 4. Validation with TypeBox: strict bodies; query strings and path parameters converted first.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const checker = TypeCompiler.Compile(schema as TSchema);
    const code = SPEC_CODES.get(schema) ?? `ORBITFED_API_INVALID_${(httpPart ?? 'body').toUpperCase()}`;
    const what = httpPart === 'body' ? (SPEC_CODES.has(schema) ? (schema === JobSpecSchema ? 'job spec' : 'node spec') : 'body') : httpPart === 'querystring' ? 'query' : (httpPart ?? 'request');
    return (value: unknown) => {
      const converted = httpPart === 'body' ? value : Value.Convert(schema as TSchema, value);
      if (checker.Check(converted)) return { value: converted };
      return { error: validationProblem(code, what, schemaProblems(checker, converted)) };
    };
  });
  // Responses are written with JSON.stringify: the schemas document them (OpenAPI) and never drop a field silently.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = problemOf(error, request.url.split('?')[0]!);
    if (internal) log.error({ err: error, method: request.method, url: request.url }, 'request failed');
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="orbitfed"');
    const retryAfter = (body as { retryAfterSec?: number }).retryAfterSec;
    if (status === 429 && retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const { body } = problemOf(new ApiProblem(404, 'ORBITFED_API_NOT_FOUND', `no endpoint ${request.method} ${path}; the API is described at /docs`), path);
    return reply.code(404).type(PROBLEM_CONTENT_TYPE).send(body);
  });
  app.addHook('onResponse', async (request, reply) => {
    requestSeconds.observe({ method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    log.debug({ method: request.method, url: request.url, status: reply.statusCode, elapsedMs: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'orbitfed scheduler',
        version: '1.0.0',
        description: 'Submit jobs to a federation of ground stations and orbital compute nodes: placement on the contact plan, sovereignty rules, escrow on the ledger. Errors are RFC 9457 problem documents.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
          signedRequest: { type: 'apiKey', in: 'header', name: 'X-Orbitfed-Signature', description: 'ed25519 over CBOR ["orbitfed/api-request/v1", chain id, [method, path?query, X-Orbitfed-Timestamp, SHA-256(body)]], with X-Orbitfed-Tenant and X-Orbitfed-Timestamp.' },
        },
      },
      security: [{ apiKey: [] }, { signedRequest: [] }],
    },
  });
  if (deps.docs !== false) await app.register(swaggerUi, { routePrefix: '/docs' });
  else app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (publicScope) => healthRoutes(publicScope, context));
  const dashboard = deps.dashboard === undefined ? undefined : new Dashboard(context, deps.dashboard);
  if (dashboard !== undefined) await app.register(async (publicScope) => dashboard.publicRoutes(publicScope));

  await app.register(async (v1) => {
    // 2. Authentication, before the body is read.
    v1.addHook('onRequest', async (request) => {
      const authorization = request.headers.authorization;
      if (authorization !== undefined) {
        principals.set(request, deps.tenants.authenticateApiKey(authorization));
        return;
      }
      if (request.headers['x-orbitfed-signature'] !== undefined) {
        claims.set(request, deps.tenants.claimSignature(request.headers));
        return;
      }
      throw new ApiProblem(401, 'ORBITFED_AUTH_REQUIRED', 'send "Authorization: Bearer <API key>", or sign the request (X-Orbitfed-Tenant, X-Orbitfed-Timestamp, X-Orbitfed-Signature)', 'authorization');
    });
    // 3. Signatures over the body as received, then the tenant's rate limit (a route-level hook, so after this one).
    v1.addHook('preValidation', async (request) => {
      const claim = claims.get(request);
      if (claim !== undefined) principals.set(request, deps.tenants.verifySignature(claim, request.method, request.url, context.rawBody(request)));
    });
    await v1.register(rateLimit, {
      hook: 'preValidation',
      max: limits.rateLimitRequests,
      timeWindow: limits.rateLimitWindowMs,
      cache: limits.rateLimitKeysMax,
      keyGenerator: (request) => `tenant:${principals.get(request)?.tenantId ?? request.ip}`,
      errorResponseBuilder: (_request, limit) => new ApiProblem(429, 'ORBITFED_API_RATE_LIMITED',
        `more than ${limit.max} requests in ${Math.round(limits.rateLimitWindowMs / 1000)} s from this tenant; retry in ${Math.ceil(limit.ttl / 1000)} s`,
        undefined, { retryAfterSec: Math.ceil(limit.ttl / 1000) }),
    });
    await v1.register(async (scope) => jobsRoutes(scope, context));
    await v1.register(async (scope) => placementsRoutes(scope, context));
    await v1.register(async (scope) => nodesRoutes(scope, context));
    await v1.register(async (scope) => contactsRoutes(scope, context));
    if (dashboard !== undefined) await v1.register(async (scope) => dashboard.tenantRoutes(scope));
  }, { prefix: '/v1' });

  await app.ready();
  return app;
}
