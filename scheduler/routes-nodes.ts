// /v1/nodes: the registry of compute nodes. Every tenant may read it (placement explanations name
// nodes); registering is for operators:
// - a tenant with the `nodes` role registers nodes whose `operator` is its own operator name, and
//   may replace (re-register) only nodes it registered;
// - a tenant with the `admin` role registers or replaces any node.
// Reputation is the ledger's, never the operator's word: a spec carrying `reputationPpm` is refused.
// Attestations must name a configured auditor and verify under its key (`verifyAttestation`);
// an ipn number may belong to one node only. A node whose ipn is not in the current plan is
// accepted with a warning: it has no contacts, so nothing is placed on it until a plan includes it.
import { Type } from '@sinclair/typebox';
import type { ApiApp, ApiContext } from './api.ts';
import type { NodeRecord } from './job-store.ts';
import { nodeSpecRuleProblems, NodeSpecSchema, REPUTATION_PPM_DEFAULT, type NodeSpec } from './node-spec.ts';
import { verifyAttestation } from './attestations.ts';
import { ApiProblem, ProblemSchema, validationProblem } from './problem.ts';

const NodeViewSchema = Type.Intersect([
  NodeSpecSchema,
  Type.Object({
    registeredBy: Type.String(),
    registeredMs: Type.Integer(),
    updatedMs: Type.Integer(),
    lastHeardMs: Type.Optional(Type.Integer()),
    inPlan: Type.Boolean({ description: "Whether the node's ipn number has contacts in the current plan." }),
  }),
]);

const problemResponses = (...statuses: number[]): Record<number, typeof ProblemSchema> => Object.fromEntries(statuses.map((s) => [s, ProblemSchema]));

export function nodesRoutes(app: ApiApp, context: ApiContext): void {
  const { store, lifecycle, clock } = context;

  const view = (record: NodeRecord): Record<string, unknown> => ({
    ...record.spec,
    reputationPpm: lifecycle.reputationOf(record.spec.id) ?? REPUTATION_PPM_DEFAULT,
    registeredBy: record.registeredBy,
    registeredMs: record.registeredMs,
    updatedMs: record.updatedMs,
    ...(record.lastHeardMs === undefined ? {} : { lastHeardMs: record.lastHeardMs }),
    inPlan: lifecycle.plan.node(record.spec.ipn) !== undefined,
  });

  app.get('/nodes', {
    schema: {
      summary: 'Registered nodes, by id',
      tags: ['nodes'],
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: context.limits.pageSizeMax, default: 100 })),
        cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,96}$', description: 'nextCursor of the previous page.' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ nodes: Type.Array(NodeViewSchema), nextCursor: Type.Optional(Type.String()) }), ...problemResponses(400, 401, 429) },
    },
  }, async (request) => {
    context.principal(request);
    const query = request.query as { limit?: number; cursor?: string };
    const limit = query.limit ?? 100;
    const afterId = query.cursor === undefined ? undefined : Buffer.from(query.cursor, 'base64url').toString('utf8');
    const page = store.nodesPage(limit + 1, afterId);
    const nodes = page.slice(0, limit);
    return {
      nodes: nodes.map(view),
      ...(page.length > limit ? { nextCursor: Buffer.from(nodes.at(-1)!.spec.id, 'utf8').toString('base64url') } : {}),
    };
  });

  app.get('/nodes/:id', {
    schema: {
      summary: 'One registered node',
      tags: ['nodes'],
      params: Type.Object({ id: NodeSpecSchema.properties.id }, { additionalProperties: false }),
      response: { 200: NodeViewSchema, ...problemResponses(400, 401, 404, 429) },
    },
  }, async (request) => {
    context.principal(request);
    const id = (request.params as { id: string }).id;
    const record = store.node(id);
    if (record === undefined) throw new ApiProblem(404, 'ORBITFED_NODE_NOT_FOUND', `no node ${id}`, 'id');
    return view(record);
  });

  app.post('/nodes', {
    schema: {
      summary: 'Register or replace a node (operators and admins)',
      description: 'Role `nodes`: only nodes whose operator is the tenant\'s operator name, and only nodes it registered; role `admin`: any node. 201 when created, 200 when replaced.',
      tags: ['nodes'],
      body: NodeSpecSchema,
      response: {
        200: Type.Intersect([NodeViewSchema, Type.Object({ warnings: Type.Array(Type.String()) })]),
        201: Type.Intersect([NodeViewSchema, Type.Object({ warnings: Type.Array(Type.String()) })]),
        ...problemResponses(400, 401, 403, 409, 413, 422, 429, 503),
      },
    },
  }, async (request, reply) => {
    const principal = context.requireRole(request, ['nodes', 'admin'], 'registering a node');
    const spec = request.body as NodeSpec;
    const isAdmin = principal.roles.has('admin');
    if (!isAdmin && spec.operator !== principal.operator) {
      throw new ApiProblem(403, 'ORBITFED_AUTH_FORBIDDEN', `tenant ${principal.tenantId} registers nodes of operator ${JSON.stringify(principal.operator ?? '(none)')}, not ${JSON.stringify(spec.operator)}`, '/operator');
    }
    if (spec.reputationPpm !== undefined) {
      throw validationProblem('ORBITFED_NODE_SPEC_INVALID', 'node spec', [{ field: '/reputationPpm', message: 'reputation comes from the ledger; leave it out' }]);
    }
    const problems = nodeSpecRuleProblems(spec);
    if (problems.length > 0) throw validationProblem('ORBITFED_NODE_SPEC_INVALID', 'node spec', problems);
    spec.attestations.forEach((attestation, i) => {
      const publicKey = context.auditors.get(attestation.auditor);
      if (publicKey === undefined) {
        throw new ApiProblem(422, 'ORBITFED_NODE_ATTESTATION', `auditor ${attestation.auditor} is not one this scheduler knows (${[...context.auditors.keys()].join(', ') || 'none configured'})`, `/attestations/${i}/auditor`);
      }
      if (!verifyAttestation(spec, attestation, publicKey, context.chainId)) {
        throw new ApiProblem(422, 'ORBITFED_NODE_ATTESTATION', `the signature of auditor ${attestation.auditor} does not verify over this node's attestation`, `/attestations/${i}/signature`);
      }
    });
    const existing = store.node(spec.id);
    if (existing !== undefined && !isAdmin && existing.registeredBy !== principal.tenantId) {
      throw new ApiProblem(409, 'ORBITFED_NODE_OWNED', `node ${spec.id} was registered by another tenant`, '/id');
    }
    const sameIpn = lifecycle.nodeByIpn(spec.ipn);
    if (sameIpn !== undefined && sameIpn.spec.id !== spec.id) throw new ApiProblem(409, 'ORBITFED_NODE_IPN_TAKEN', `ipn ${spec.ipn} belongs to node ${sameIpn.spec.id}`, '/ipn');
    const { created } = store.putNode(spec, existing?.registeredBy ?? principal.tenantId, clock.now());
    await lifecycle.refreshNodes();
    const warnings = lifecycle.plan.node(spec.ipn) === undefined
      ? [`ipn ${spec.ipn} has no contacts in the current plan (${lifecycle.plan.hash.slice(0, 12)}…): nothing will be placed on ${spec.id} until a plan includes it`]
      : [];
    void reply.code(created ? 201 : 200);
    if (created) void reply.header('location', `/v1/nodes/${spec.id}`);
    return { ...view(store.node(spec.id)!), warnings };
  });
}
