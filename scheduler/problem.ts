// Errors of the REST API as RFC 9457 problem details (application/problem+json): `type` (a URI
// naming the kind of problem), `title` (the same for every occurrence of that type), `status`,
// `detail` (this occurrence, in words), `instance` (the request path), plus our extension members
// `code` (the stable ORBITFED_… code clients match on), `field` (a JSON pointer or the name of the
// header or query parameter at fault) and, where they help, `problems` (every field at fault),
// `earliestFeasibleMs` and `rejected` (why no node could take a job).
//
// Every error a route throws becomes one of these: an `ApiProblem` as it is; an OrbitfedError by
// its code (the table below); anything else as a 500 whose detail says nothing of the internals
// (the log has them).
import { Type, type Static } from '@sinclair/typebox';
import { OrbitfedError } from '../common/index.ts';
import type { SpecProblem } from './spec-problems.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI of the problem type: urn:orbitfed:problem:<code>.' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    code: Type.String({ description: 'Stable ORBITFED_… code.' }),
    instance: Type.Optional(Type.String({ description: 'The request path.' })),
    field: Type.Optional(Type.String({ description: 'JSON pointer into the body, or the header / query parameter at fault.' })),
    problems: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    earliestFeasibleMs: Type.Optional(Type.Integer({ description: 'When a deadline cannot be met: the earliest result arrival any otherwise feasible node could make.' })),
    rejected: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
    retryAfterSec: Type.Optional(Type.Integer()),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details.' },
);
export type Problem = Static<typeof ProblemSchema>;

/** Titles by status (the same for every occurrence of a problem type, as RFC 9457 §3.1.3 asks). */
const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Not authenticated',
  402: 'Payment refused by the ledger',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict with the current state',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Cannot be done as asked',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Unavailable',
};

/** An error the API answers with exactly this status and these members. */
export class ApiProblem extends OrbitfedError {
  readonly statusCode: number;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(statusCode: number, code: string, detail: string, field?: string, extra: Readonly<Record<string, unknown>> = {}) {
    super(code, detail, field === undefined ? {} : { field });
    this.name = 'ApiProblem';
    this.statusCode = statusCode;
    this.extra = extra;
  }
}

/** HTTP status of the OrbitfedError codes routes let through. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ORBITFED_JOB_SPEC_INVALID: 400,
  ORBITFED_NODE_SPEC_INVALID: 400,
  ORBITFED_AUTH_INVALID: 401,
  ORBITFED_AUTH_REQUIRED: 401,
  ORBITFED_AUTH_FORBIDDEN: 403,
  ORBITFED_JOB_NOT_FOUND: 404,
  ORBITFED_JOB_TRANSITION: 409,
  ORBITFED_JOB_STATE_CHANGED: 409,
  ORBITFED_JOB_WRONG_NODE: 409,
  ORBITFED_JOB_STORE_FULL: 503,
  ORBITFED_JOB_STORE_CLOSED: 503,
  ORBITFED_JOB_STORE_ROW_TOO_LARGE: 413,
  // The spec names nodes placement cannot use as such (scheduler/placement.ts checkInputs).
  ORBITFED_PLACEMENT_UNKNOWN_NODE: 422,
  ORBITFED_PLACEMENT_NOT_A_STATION: 422,
};

/** The problem document and status for any error thrown while answering `instance`. */
export function problemOf(error: unknown, instance: string): { readonly status: number; readonly body: Problem; readonly internal: boolean } {
  if (error instanceof ApiProblem) return { status: error.statusCode, body: document(error.statusCode, error.code, bareMessage(error), instance, error.location.field, error.extra), internal: false };
  if (error instanceof OrbitfedError && STATUS_BY_CODE[error.code] !== undefined) {
    const status = STATUS_BY_CODE[error.code]!;
    return { status, body: document(status, error.code, bareMessage(error), instance, error.location.field, {}), internal: false };
  }
  const fastify = fastifyProblem(error);
  if (fastify !== undefined) return { ...fastify, body: document(fastify.status, fastify.code, fastify.detail, instance, fastify.field, {}), internal: false };
  return { status: 500, body: document(500, 'ORBITFED_API_INTERNAL', 'the scheduler failed to answer this request; the failure is in its log', instance, undefined, {}), internal: true };
}

/** A 400 listing every field of a body, query or path that is not as the schema says. */
export function validationProblem(code: string, what: string, problems: readonly SpecProblem[]): ApiProblem {
  const shown = problems.slice(0, 10).map((p) => `${p.field === '' ? '(whole)' : p.field}: ${p.message}`).join('; ');
  const more = problems.length > 10 ? `; and ${problems.length - 10} more` : '';
  return new ApiProblem(400, code, `invalid ${what}: ${shown}${more}`, problems[0]?.field, { problems });
}

function document(status: number, code: string, detail: string, instance: string, field: string | undefined, extra: Readonly<Record<string, unknown>>): Problem {
  return {
    type: `urn:orbitfed:problem:${code.toLowerCase().replace(/^orbitfed_/, '').replaceAll('_', '-')}`,
    title: TITLES[status] ?? (status >= 500 ? 'Server error' : 'Client error'),
    status,
    detail,
    code,
    instance,
    ...(field === undefined ? {} : { field }),
    ...extra,
  };
}

/** The message without the "field: " prefix OrbitfedError puts in front (the field is its own member). */
function bareMessage(error: OrbitfedError): string {
  const field = error.location.field;
  return field !== undefined && error.message.startsWith(`${field}: `) ? error.message.slice(field.length + 2) : error.message;
}

/** fastify's own errors (FST_ERR_…) for what happens before a route runs: body size, media type, JSON. */
function fastifyProblem(error: unknown): { status: number; code: string; detail: string; field?: string } | undefined {
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof e?.code !== 'string' || !e.code.startsWith('FST_')) return undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'ORBITFED_API_BODY_TOO_LARGE', detail: 'the request body is larger than this endpoint accepts', field: 'content-length' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'ORBITFED_API_MEDIA_TYPE', detail: `${message}; send application/json`, field: 'content-type' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'ORBITFED_API_CONTENT_LENGTH', detail: 'the Content-Length header does not match the body', field: 'content-length' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'ORBITFED_API_MALFORMED_JSON', detail: 'the body is empty; send a JSON document', field: '' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'ORBITFED_API_MALFORMED_JSON', detail: message, field: '' };
    default: {
      const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : undefined;
      return status === undefined ? undefined : { status, code: 'ORBITFED_API_REQUEST', detail: message };
    }
  }
}
