// /v1/jobs: submit (with Idempotency-Key), list, read, events, result, cancel. A tenant sees and
// touches only its own jobs: another tenant's job answers 404 exactly as a job that does not exist,
// so ids leak nothing.
//
// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the first response to a POST with a
// key is stored with the SHA-256 of the body bytes, in the same commit as the job; the same key
// with the same body gets that response again (with `Idempotent-Replayed: true`), the same key with
// another body 422 ORBITFED_IDEMPOTENCY_KEY_REUSED, and a retry while the first is still being
// answered 409 ORBITFED_IDEMPOTENCY_IN_PROGRESS. Refusals (no placement, deadline) are remembered
// too; 4xx for bad input are not (nothing happened). Keys live `idempotencyKeyTtlMs` (24 h).
//
// Result bytes (GET /jobs/{id}/result/content): the bytes the node produced, as the dispatcher kept
// them (result-content-store.ts), with `ETag` (the SHA-256), `Repr-Digest` and `Content-Digest`
// (RFC 9530: sha-256, base64 between colons; Content-Digest covers the bytes of this message, so a
// part's own digest on a 206). HEAD (fastify answers it from the GET handler, without the body),
// `If-None-Match` (304) and one byte range (`Range`, `If-Range`: http-range.ts) are honoured, so a
// download cut by a flaky link resumes. Bytes being sent are bounded in all
// (`RESULT_DOWNLOAD_BYTES_IN_FLIGHT_MAX`; 503 with Retry-After beyond), since each download holds
// its bytes in memory until the socket has taken them.
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { ApiApp, ApiContext, ApiReply } from './api.ts';
import {
  decisionView, DecisionViewSchema, eventView, JobEventViewSchema, jobView, JobViewSchema, NodeNames, resultContentState, resultContentView, ResultContentViewSchema,
} from './api-views.ts';
import { parseByteRange } from './http-range.ts';
import { JOB_STATES, type JobState } from './job-lifecycle.ts';
import { jobSpecRuleProblems, JobSpecSchema, type JobSpec } from './job-spec.ts';
import type { IdempotencyEntry, JobRecord } from './job-store.ts';
import type { PlacementDecision } from './placement.ts';
import { ApiProblem, PROBLEM_CONTENT_TYPE, problemOf, ProblemSchema, validationProblem } from './problem.ts';

const JOB_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const CURSOR_PATTERN = '^[A-Za-z0-9_-]{1,24}$';
const JobParamsSchema = Type.Object({ id: Type.String({ pattern: JOB_ID_PATTERN }) }, { additionalProperties: false });

/** Cursors are opaque to clients: the store's sequence number in base64url. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`c${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('latin1');
  if (!/^c[0-9]{1,15}$/.test(text)) throw new ApiProblem(400, 'ORBITFED_API_CURSOR', 'not a cursor this API gave out; start again without one', 'cursor');
  return Number(text.slice(1));
}

/** Result bytes held by downloads not yet written to their sockets, in all. */
export const RESULT_DOWNLOAD_BYTES_IN_FLIGHT_MAX = 256 * 1024 * 1024;
const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'expired', 'cancelled'];

/** RFC 9530 §4: `sha-256=:<base64>:`, a Structured Field byte sequence. */
const digestField = (sha256Hex: string): string => `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
const etagOf = (sha256Hex: string): string => `"sha256-${sha256Hex}"`;

/** Whether an If-None-Match header names this ETag (weak comparison, RFC 9110 §13.1.2), or is `*`. */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

const problemResponses = (...statuses: number[]): Record<number, typeof ProblemSchema> => Object.fromEntries(statuses.map((s) => [s, ProblemSchema]));

/** A refusal of a job that cannot be placed, as the problem a client gets. */
function refusalProblem(decision: PlacementDecision, deadlineMs: number, names: NodeNames, planHash: string): ApiProblem {
  const view = decisionView(decision, names, planHash);
  const extra = { rejected: view['rejected'], explanation: view['explanation'] };
  if (decision.earliestFeasibleMs !== undefined) {
    const earliest = Math.ceil(decision.earliestFeasibleMs);
    return new ApiProblem(422, 'ORBITFED_JOB_DEADLINE_INFEASIBLE',
      `the deadline ${new Date(deadlineMs).toISOString()} cannot be met: the earliest the result can reach an allowed station is ${new Date(earliest).toISOString()} (${earliest})`,
      '/deadlineMs', { ...extra, earliestFeasibleMs: earliest });
  }
  const reasons = decision.rejected.map((r) => `${r.nodes} node(s): ${r.reason}`).join('; ');
  return new ApiProblem(422, 'ORBITFED_JOB_UNPLACEABLE', `no node can take this job${reasons === '' ? ' (no nodes are registered)' : ` (${reasons})`}`, undefined, extra);
}

function idempotencyKeyOf(context: ApiContext, header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header[0]! : header;
  if (key.length === 0 || key.length > context.limits.idempotencyKeyLengthMax || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ApiProblem(400, 'ORBITFED_API_IDEMPOTENCY_KEY', `Idempotency-Key must be 1–${context.limits.idempotencyKeyLengthMax} visible ASCII characters`, 'idempotency-key');
  }
  return key;
}

function sendRemembered(reply: ApiReply, statusCode: number, body: unknown): ApiReply {
  void reply.code(statusCode).header('idempotent-replayed', 'true');
  if (statusCode >= 400) void reply.type(PROBLEM_CONTENT_TYPE);
  return reply.send(body);
}

export function jobsRoutes(app: ApiApp, context: ApiContext): void {
  const { store, lifecycle, clock } = context;
  const inFlight = new Set<string>();
  const names = (): NodeNames => new NodeNames(lifecycle.plan, lifecycle.nodes.values());
  const ownJob = (tenantId: string, id: string): JobRecord => {
    const job = store.jobOfTenant(tenantId, id);
    if (job === undefined) throw new ApiProblem(404, 'ORBITFED_JOB_NOT_FOUND', `no job ${id}`, 'id');
    return job;
  };

  app.post('/jobs', {
    schema: {
      summary: 'Submit a job',
      description: 'Places the job on the contact plan (see POST /v1/placements:dry-run for the same decision without commitment), holds its price in escrow and stores it. 201 with where it will run and when its result will be back; 422 when no node can take it, with the earliest feasible result time when only the deadline is in the way.',
      tags: ['jobs'],
      headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ description: 'Retry-safe submission: same key and body, same answer.' })) }),
      body: JobSpecSchema,
      response: { 201: Type.Intersect([JobViewSchema, Type.Object({ decision: DecisionViewSchema })]), ...problemResponses(400, 401, 402, 403, 409, 413, 422, 429) },
    },
  }, async (request, reply) => {
    const principal = context.requireRole(request, ['jobs'], 'submitting a job');
    const spec = request.body as JobSpec;
    const problems = jobSpecRuleProblems(spec, clock.now());
    if (problems.length > 0) throw validationProblem('ORBITFED_JOB_SPEC_INVALID', 'job spec', problems);
    const key = idempotencyKeyOf(context, request.headers['idempotency-key']);
    const bodySha256 = createHash('sha256').update(context.rawBody(request)).digest('hex');
    const flightKey = `${principal.tenantId}\n${key}`;
    if (key !== undefined) {
      const remembered = store.idempotentResponse(principal.tenantId, key, clock.now());
      if (remembered !== undefined) {
        if (remembered.bodySha256 !== bodySha256) {
          throw new ApiProblem(422, 'ORBITFED_IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with another body; use a new key for a new job', 'idempotency-key');
        }
        return sendRemembered(reply, remembered.statusCode, remembered.body);
      }
      if (inFlight.has(flightKey)) throw new ApiProblem(409, 'ORBITFED_IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still being answered; retry later', 'idempotency-key');
      inFlight.add(flightKey);
    }
    try {
      const nodeNames = names();
      const remember = (statusCode: number, body: unknown): IdempotencyEntry => ({ tenantId: principal.tenantId, key: key!, bodySha256, statusCode, body });
      const created = (job: JobRecord, decision: PlacementDecision): Record<string, unknown> =>
        ({ ...jobView(job, nodeNames, lifecycle.plan.hash), decision: decisionView(decision, nodeNames, lifecycle.plan.hash) });
      const outcome = await lifecycle.submit(principal.tenantId, spec, key === undefined ? undefined : (job, decision) => remember(201, created(job, decision)));
      if (outcome.kind === 'placed') {
        return reply.code(201).header('location', `/v1/jobs/${outcome.job.id}`).send(created(outcome.job, outcome.decision));
      }
      const problem = outcome.kind === 'refused'
        ? refusalProblem(outcome.decision, spec.deadlineMs, nodeNames, lifecycle.plan.hash)
        : new ApiProblem(402, 'ORBITFED_ESCROW_REFUSED', `the ledger refused to hold the price in escrow: ${outcome.detail}`, '/maxPriceMinor', { ledgerCode: outcome.code });
      if (key !== undefined) {
        const { status, body } = problemOf(problem, request.url.split('?')[0]!);
        store.putIdempotentResponse(remember(status, body), clock.now());
      }
      throw problem;
    } finally {
      if (key !== undefined) inFlight.delete(flightKey);
    }
  });

  app.get('/jobs', {
    schema: {
      summary: "List the tenant's jobs, newest first",
      tags: ['jobs'],
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: context.limits.pageSizeMax, default: 20 })),
        cursor: Type.Optional(Type.String({ pattern: CURSOR_PATTERN, description: 'nextCursor of the previous page.' })),
        state: Type.Optional(Type.Union(JOB_STATES.map((s) => Type.Literal(s)))),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ jobs: Type.Array(JobViewSchema), nextCursor: Type.Optional(Type.String()) }), ...problemResponses(400, 401, 403, 429) },
    },
  }, async (request) => {
    const principal = context.requireRole(request, ['jobs'], 'listing jobs');
    const query = request.query as { limit?: number; cursor?: string; state?: JobState };
    const page = store.jobsOfTenant(principal.tenantId, query.limit ?? 20, decodeCursor(query.cursor), query.state);
    const nodeNames = names();
    return {
      jobs: page.items.map((job) => jobView(job, nodeNames, lifecycle.plan.hash)),
      ...(page.nextCursor === undefined ? {} : { nextCursor: encodeCursor(page.nextCursor) }),
    };
  });

  app.get('/jobs/:id', {
    schema: { summary: 'A job: state, placement, routes and times', tags: ['jobs'], params: JobParamsSchema, response: { 200: JobViewSchema, ...problemResponses(400, 401, 403, 404, 429) } },
  }, async (request) => {
    const principal = context.requireRole(request, ['jobs'], 'reading a job');
    return jobView(ownJob(principal.tenantId, (request.params as { id: string }).id), names(), lifecycle.plan.hash);
  });

  app.get('/jobs/:id/events', {
    schema: {
      summary: "A job's timestamped events, oldest first",
      tags: ['jobs'],
      params: JobParamsSchema,
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: context.limits.pageSizeMax, default: 100 })),
        cursor: Type.Optional(Type.String({ pattern: CURSOR_PATTERN })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ events: Type.Array(JobEventViewSchema), nextCursor: Type.Optional(Type.String()) }), ...problemResponses(400, 401, 403, 404, 429) },
    },
  }, async (request) => {
    const principal = context.requireRole(request, ['jobs'], 'reading job events');
    const job = ownJob(principal.tenantId, (request.params as { id: string }).id);
    const query = request.query as { limit?: number; cursor?: string };
    const page = store.events(job.id, query.limit ?? 100, decodeCursor(query.cursor));
    return { events: page.items.map(eventView), ...(page.nextCursor === undefined ? {} : { nextCursor: encodeCursor(page.nextCursor) }) };
  });

  const finishedJob = (tenantId: string, id: string): JobRecord => {
    const job = ownJob(tenantId, id);
    if (!FINISHED_STATES.includes(job.state)) {
      throw new ApiProblem(409, 'ORBITFED_JOB_RESULT_NOT_READY', `job ${job.id} is ${job.state}; its result is expected at ${job.placement === undefined ? 'a time not yet known' : new Date(job.placement.resultArrivalMs).toISOString()}`, 'state');
    }
    return job;
  };

  app.get('/jobs/:id/result', {
    schema: {
      summary: "A finished job's result report",
      description: '409 ORBITFED_JOB_RESULT_NOT_READY while the job has not finished. `content` says whether the result bytes can be downloaded, and where.',
      tags: ['jobs'],
      params: JobParamsSchema,
      response: {
        200: Type.Object({
          jobId: Type.String(), state: Type.String(), result: Type.Optional(Type.Object({}, { additionalProperties: true })), reason: Type.Optional(Type.String()),
          content: ResultContentViewSchema,
        }),
        ...problemResponses(400, 401, 403, 404, 409, 429),
      },
    },
  }, async (request) => {
    const principal = context.requireRole(request, ['jobs'], 'reading a job result');
    const job = finishedJob(principal.tenantId, (request.params as { id: string }).id);
    const content = resultContentView(job, resultContentState(job, store.resultContents.info(job.id)));
    return { jobId: job.id, state: job.state, ...(job.result === undefined ? {} : { result: job.result }), ...(job.reason === undefined ? {} : { reason: job.reason }), content };
  });

  let downloadBytesInFlight = 0;
  app.get('/jobs/:id/result/content', {
    schema: {
      summary: "Download a finished job's result bytes",
      description: 'The bytes the node produced, with ETag and Content-Digest (RFC 9530) from their SHA-256. One byte range (Range, If-Range) gives 206; If-None-Match 304; HEAD the headers alone. '
        + '409 ORBITFED_JOB_RESULT_NOT_READY while the job has not finished; 404 ORBITFED_JOB_RESULT_NO_CONTENT when it finished without result bytes; 410 ORBITFED_JOB_RESULT_CONTENT_DROPPED when they were kept but dropped (retention or the store\'s size bound; the report at /result stays); 416 for a range past the end.',
      tags: ['jobs'],
      params: JobParamsSchema,
      headers: Type.Object({
        range: Type.Optional(Type.String({ description: 'bytes=first-last, bytes=first- or bytes=-suffix; other forms are ignored (200 with everything).' })),
        'if-range': Type.Optional(Type.String({ description: 'The ETag the range is of; another gives 200 with everything.' })),
        'if-none-match': Type.Optional(Type.String({ description: 'ETags the client holds; a match gives 304.' })),
      }),
      response: {
        200: { description: 'The result bytes.', content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } },
        206: { description: 'One range of the result bytes (Content-Range).', content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } },
        304: { description: 'The client holds these bytes (If-None-Match).', type: 'null' },
        ...problemResponses(400, 401, 403, 404, 409, 410, 416, 429, 503),
      },
    },
  }, async (request, reply) => {
    const principal = context.requireRole(request, ['jobs'], 'downloading a job result');
    const job = finishedJob(principal.tenantId, (request.params as { id: string }).id);
    const state = resultContentState(job, store.resultContents.info(job.id));
    if (state.status === 'none') throw new ApiProblem(404, 'ORBITFED_JOB_RESULT_NO_CONTENT', `${state.why}; GET /v1/jobs/${job.id}/result has its report`, 'id');
    if (state.status === 'dropped') {
      throw new ApiProblem(410, 'ORBITFED_JOB_RESULT_CONTENT_DROPPED',
        `job ${job.id}'s ${state.sizeBytes} result bytes were dropped at ${new Date(state.droppedMs).toISOString()} (${state.reason}); their SHA-256 ${state.sha256} and the report stay at /v1/jobs/${job.id}/result`, 'id',
        { dropReason: state.reason, droppedMs: state.droppedMs });
    }
    const etag = etagOf(state.sha256);
    void reply.header('etag', etag).header('accept-ranges', 'bytes').header('repr-digest', digestField(state.sha256)).header('cache-control', 'private, no-cache');
    if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
    const ifRange = request.headers['if-range'];
    const range = ifRange === undefined || ifRange === etag ? parseByteRange(request.headers.range, state.sizeBytes) : { kind: 'whole' as const };
    if (range.kind === 'unsatisfiable') {
      void reply.header('content-range', `bytes */${state.sizeBytes}`);
      throw new ApiProblem(416, 'ORBITFED_API_RANGE_NOT_SATISFIABLE', `the range ${request.headers.range} starts past the ${state.sizeBytes} bytes of the result`, 'range');
    }
    // A result larger than the bound alone is still served when nothing else is being sent.
    if (downloadBytesInFlight + state.sizeBytes > RESULT_DOWNLOAD_BYTES_IN_FLIGHT_MAX && downloadBytesInFlight > 0) {
      void reply.header('retry-after', '1');
      throw new ApiProblem(503, 'ORBITFED_API_DOWNLOADS_BUSY', `${downloadBytesInFlight} bytes of results are being sent; retry in a second`, undefined, { retryAfterSec: 1 });
    }
    const content = store.resultContents.content(job.id);
    // Dropped or replaced between the two reads: answer as the next request would.
    if (content?.kind !== 'available' || content.sha256 !== state.sha256) throw new ApiProblem(409, 'ORBITFED_JOB_RESULT_CHANGED', `job ${job.id}'s result content changed while it was read; ask again`, 'id');
    const whole = Buffer.from(content.bytes.buffer, content.bytes.byteOffset, content.bytes.byteLength);
    const body = range.kind === 'range' ? whole.subarray(range.start, range.endInclusive + 1) : whole;
    const heldBytes = whole.byteLength;
    downloadBytesInFlight += heldBytes;
    reply.raw.once('close', () => { downloadBytesInFlight -= heldBytes; });
    if (range.kind === 'range') {
      void reply.code(206).header('content-range', `bytes ${range.start}-${range.endInclusive}/${state.sizeBytes}`)
        .header('content-digest', digestField(createHash('sha256').update(body).digest('hex')));
    } else {
      void reply.header('content-digest', digestField(state.sha256));
    }
    return reply.type('application/octet-stream').header('content-length', String(body.byteLength)).send(body);
  });

  app.delete('/jobs/:id', {
    schema: {
      summary: 'Cancel a job',
      description: 'Voids its escrow and releases its contact volume. 409 when the job has already finished.',
      tags: ['jobs'],
      params: JobParamsSchema,
      response: { 200: JobViewSchema, ...problemResponses(400, 401, 403, 404, 409, 429) },
    },
  }, async (request) => {
    const principal = context.requireRole(request, ['jobs'], 'cancelling a job');
    const job = ownJob(principal.tenantId, (request.params as { id: string }).id);
    return jobView(await lifecycle.cancel(principal.tenantId, job.id), names(), lifecycle.plan.hash);
  });
}
