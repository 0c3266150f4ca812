// POST /v1/placements:dry-run — the placement decision for a job spec, without booking contacts,
// holding money or storing anything: where it would run, when its result would be back, and why
// every other class of nodes was rejected. (The colon is literal: find-my-way reads "::" in a route
// path as one ":" rather than the start of a parameter, Google AIP-136 style custom methods.)
import { Type } from '@sinclair/typebox';
import type { ApiApp, ApiContext } from './api.ts';
import { decisionView, DecisionViewSchema, NodeNames } from './api-views.ts';
import { jobSpecRuleProblems, JobSpecSchema, type JobSpec } from './job-spec.ts';
import { ProblemSchema, validationProblem } from './problem.ts';

export function placementsRoutes(app: ApiApp, context: ApiContext): void {
  const { lifecycle, clock } = context;
  app.post('/placements::dry-run', {
    schema: {
      summary: 'Where a job would run, and why (nothing is committed)',
      tags: ['placements'],
      body: JobSpecSchema,
      response: {
        200: Type.Intersect([DecisionViewSchema, Type.Object({ planHash: Type.String(), nowMs: Type.Integer() })]),
        ...Object.fromEntries([400, 401, 403, 413, 429].map((s) => [s, ProblemSchema])),
      },
    },
  }, async (request) => {
    context.requireRole(request, ['jobs'], 'a placement dry run');
    const spec = request.body as JobSpec;
    const nowMs = clock.now();
    const problems = jobSpecRuleProblems(spec, nowMs);
    if (problems.length > 0) throw validationProblem('ORBITFED_JOB_SPEC_INVALID', 'job spec', problems);
    const decision = lifecycle.dryRun(spec);
    const names = new NodeNames(lifecycle.plan, lifecycle.nodes.values());
    return { ...decisionView(decision, names, lifecycle.plan.hash), planHash: lifecycle.plan.hash, nowMs: Math.floor(nowMs) };
  });
}
