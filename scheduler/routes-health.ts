// GET /healthz and GET /metrics: public, for load balancers and Prometheus (ARCHITECTURE:
// "Prometheus metrics at /metrics on every long-running process"). Health is "ok" while the store
// is open and answers; 503 otherwise, so a balancer stops sending work to a scheduler that cannot
// commit.
import { Type } from '@sinclair/typebox';
import type { ApiApp, ApiContext } from './api.ts';
import { ApiProblem, ProblemSchema } from './problem.ts';

export function healthRoutes(app: ApiApp, context: ApiContext): void {
  const { store, lifecycle, metrics, clock } = context;

  app.get('/healthz', {
    schema: {
      summary: 'Liveness and readiness',
      tags: ['operations'],
      security: [],
      response: {
        200: Type.Object({ status: Type.Literal('ok'), nowMs: Type.Integer(), planHash: Type.String(), contacts: Type.Integer(), nodes: Type.Integer(), jobs: Type.Integer() }),
        503: ProblemSchema,
      },
    },
  }, async () => {
    if (!store.isOpen) throw new ApiProblem(503, 'ORBITFED_API_UNAVAILABLE', 'the job store is closed');
    return {
      status: 'ok' as const, nowMs: Math.floor(clock.now()), planHash: lifecycle.plan.hash, contacts: lifecycle.plan.contacts.length,
      nodes: lifecycle.nodes.size, jobs: store.jobCount(),
    };
  });

  app.get('/metrics', {
    schema: { summary: 'Prometheus metrics (text exposition format 0.0.4)', tags: ['operations'], security: [], produces: ['text/plain'] },
  }, async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
}
