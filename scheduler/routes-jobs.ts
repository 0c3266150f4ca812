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
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { ApiApp, ApiContext, ApiReply } from './api.ts';
import { decisionView, DecisionViewSchema, eventView, JobEventViewSchema, jobView, JobViewSchema, NodeNames } from './api-views.ts';
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

  app.get('/jobs/:id/result', {
    schema: {
      summary: "A finished job's result report",
      description: '409 ORBITFED_JOB_RESULT_NOT_READY while the job has not finished.',
      tags: ['jobs'],
      params: JobParamsSchema,
      response: {
        200: Type.Object({ jobId: Type.String(), state: Type.String(), result: Type.Optional(Type.Object({}, { additionalProperties: true })), reason: Type.Optional(Type.String()) }),
        ...problemResponses(400, 401, 403, 404, 409, 429),
      },
    },
  }, async (request) => {
    const principal = context.requireRole(request, ['jobs'], 'reading a job result');
    const job = ownJob(principal.tenantId, (request.params as { id: string }).id);
    if (!['succeeded', 'failed', 'expired', 'cancelled'].includes(job.state)) {
      throw new ApiProblem(409, 'ORBITFED_JOB_RESULT_NOT_READY', `job ${job.id} is ${job.state}; its result is expected at ${job.placement === undefined ? 'a time not yet known' : new Date(job.placement.resultArrivalMs).toISOString()}`, 'state');
    }
    return { jobId: job.id, state: job.state, ...(job.result === undefined ? {} : { result: job.result }), ...(job.reason === undefined ? {} : { reason: job.reason }) };
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
