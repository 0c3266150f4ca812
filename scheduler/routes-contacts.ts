// GET /v1/contacts?node=&from=&to= and GET /v1/passes?station=&from=&to=: the scheduler's
// contact plan as tenants need it to understand a placement.
// - A *contact* is a planned, directed link window with a rate (contact-plans/README.md glossary);
//   each comes with the volume the scheduler has booked on it.
// - A *pass* is a satellite's visibility from a station. The scheduler holds the contact plan, not
//   the element sets, so a pass here is what the plan knows of one: the window in which the
//   station has contacts with the satellite (uplink and downlink merged), with their rates and
//   light time; elevation and azimuth are `orbitfed passes`' business.
// Nodes are named by registered node id, the plan's own id, or "ipn:N"; times are Unix ms or
// RFC 3339 in the query and Unix ms in the answer. A window is at most `windowMsMax` (7 days) and
// an answer at most `windowItemsMax` items (then `truncated: true`; ask a narrower window).
import { Type } from '@sinclair/typebox';
import type { ContactPlan } from '../contact-plans/index.ts';
import { planSecOf } from '../dtn/index.ts';
import type { ApiApp, ApiContext } from './api.ts';
import { ContactViewSchema, contactView, NodeNames } from './api-views.ts';
import { ApiProblem, ProblemSchema } from './problem.ts';

const DAY_MS = 86_400_000;
const TIME_PATTERN = '^([0-9]{1,16}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2}))$';
const TimeSchema = (description: string) => Type.String({ pattern: TIME_PATTERN, description: `${description} Unix ms or RFC 3339 (2026-06-14T12:00:00Z).` });
const NodeRefSchema = (description: string) => Type.String({ minLength: 1, maxLength: 80, description: `${description} Registered node id, the plan's node id, or ipn:N.` });

function parseTime(text: string, field: string): number {
  const ms = /^[0-9]+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms)) throw new ApiProblem(400, 'ORBITFED_API_INVALID_QUERYSTRING', `${JSON.stringify(text)} is not a time`, field);
  return ms;
}

interface Window {
  readonly fromMs: number;
  readonly toMs: number;
}

function windowOf(context: ApiContext, query: { from?: string; to?: string }): Window {
  const fromMs = query.from === undefined ? Math.floor(context.clock.now()) : parseTime(query.from, 'from');
  const toMs = query.to === undefined ? fromMs + DAY_MS : parseTime(query.to, 'to');
  if (!(toMs > fromMs)) throw new ApiProblem(400, 'ORBITFED_API_INVALID_QUERYSTRING', `to (${toMs}) must be after from (${fromMs})`, 'to');
  if (toMs - fromMs > context.limits.windowMsMax) {
    throw new ApiProblem(400, 'ORBITFED_API_INVALID_QUERYSTRING', `the window is ${Math.round((toMs - fromMs) / 3_600_000)} h; at most ${context.limits.windowMsMax / 3_600_000} h are answered`, 'to');
  }
  return { fromMs, toMs };
}

/** The plan's ipn number of a node reference; 404 when neither the registry nor the plan knows it. */
function ipnOf(context: ApiContext, plan: ContactPlan, reference: string, field: string): number {
  const registered = context.lifecycle.nodes.get(reference);
  if (registered !== undefined) return registered.spec.ipn;
  const ipnMatch = /^ipn:([0-9]{1,15})$/.exec(reference);
  if (ipnMatch !== null && plan.node(Number(ipnMatch[1])) !== undefined) return Number(ipnMatch[1]);
  const planNode = plan.nodes.find((n) => n.id === reference);
  if (planNode !== undefined) return planNode.ipn;
  throw new ApiProblem(404, 'ORBITFED_NODE_NOT_FOUND', `no node ${JSON.stringify(reference)} in the registry or the contact plan`, field);
}

/** Indices of the contacts from or to `ipn` overlapping the window, by start time. */
function contactsOf(plan: ContactPlan, ipn: number, fromSec: number, toSec: number): number[] {
  const indices = new Set<number>();
  for (const i of plan.outgoingEndingAfter(ipn, fromSec)) if (plan.contacts[i]!.startSec < toSec) indices.add(i);
  for (const i of plan.incoming(ipn)) {
    const c = plan.contacts[i]!;
    if (c.startSec >= toSec) break;
    if (c.endSec > fromSec) indices.add(i);
  }
  return [...indices].sort((a, b) => a - b);
}

const PassViewSchema = Type.Object({
  station: Type.String(),
  satellite: Type.String(),
  satelliteIpn: Type.Integer(),
  startMs: Type.Integer(),
  endMs: Type.Integer(),
  uplinkRateBytesPerSec: Type.Number(),
  downlinkRateBytesPerSec: Type.Number(),
  owltSec: Type.Number(),
});

interface PassBuild {
  satelliteIpn: number;
  startSec: number;
  endSec: number;
  uplinkRateBytesPerSec: number;
  downlinkRateBytesPerSec: number;
  owltSec: number;
}

export function contactsRoutes(app: ApiApp, context: ApiContext): void {
  const { lifecycle } = context;
  const problems = Object.fromEntries([400, 401, 404, 429].map((s) => [s, ProblemSchema]));

  app.get('/contacts', {
    schema: {
      summary: "A node's contacts in a time window, with booked volume",
      tags: ['plan'],
      querystring: Type.Object({ node: NodeRefSchema('The node.'), from: Type.Optional(TimeSchema('Window start; default now.')), to: Type.Optional(TimeSchema('Window end; default from + 24 h.')) }, { additionalProperties: false }),
      response: { 200: Type.Object({ node: Type.String(), planHash: Type.String(), fromMs: Type.Integer(), toMs: Type.Integer(), contacts: Type.Array(ContactViewSchema), truncated: Type.Boolean() }), ...problems },
    },
  }, async (request) => {
    context.principal(request);
    const query = request.query as { node: string; from?: string; to?: string };
    const plan = lifecycle.plan;
    const bookings = lifecycle.bookings;
    const window = windowOf(context, query);
    const names = new NodeNames(plan, lifecycle.nodes.values());
    const ipn = ipnOf(context, plan, query.node, 'node');
    const indices = contactsOf(plan, ipn, planSecOf(names.timeBase, window.fromMs), planSecOf(names.timeBase, window.toMs));
    const shown = indices.slice(0, context.limits.windowItemsMax);
    return {
      node: names.name(ipn), planHash: plan.hash, ...window,
      contacts: shown.map((i) => contactView(i, plan.contacts[i]!, names, plan.capacityBytes(i), bookings.bookedBytes(i))),
      truncated: shown.length < indices.length,
    };
  });

  app.get('/passes', {
    schema: {
      summary: "A ground station's passes (windows with contacts to a satellite) in a time window",
      tags: ['plan'],
      querystring: Type.Object({ station: NodeRefSchema('The ground station.'), from: Type.Optional(TimeSchema('Window start; default now.')), to: Type.Optional(TimeSchema('Window end; default from + 24 h.')) }, { additionalProperties: false }),
      response: { 200: Type.Object({ station: Type.String(), planHash: Type.String(), fromMs: Type.Integer(), toMs: Type.Integer(), passes: Type.Array(PassViewSchema), truncated: Type.Boolean() }), ...problems },
    },
  }, async (request) => {
    context.principal(request);
    const query = request.query as { station: string; from?: string; to?: string };
    const plan = lifecycle.plan;
    const window = windowOf(context, query);
    const names = new NodeNames(plan, lifecycle.nodes.values());
    const ipn = ipnOf(context, plan, query.station, 'station');
    const registered = lifecycle.nodeByIpn(ipn)?.spec;
    const isGround = registered !== undefined ? registered.kind === 'ground' : plan.node(ipn)?.kind === 'ground';
    if (!isGround) throw new ApiProblem(400, 'ORBITFED_API_INVALID_QUERYSTRING', `${query.station} is not a ground station`, 'station');
    const isSatellite = (peer: number): boolean => {
      const spec = lifecycle.nodeByIpn(peer)?.spec;
      return spec !== undefined ? spec.kind === 'orbital' : plan.node(peer)?.kind === 'satellite';
    };
    const open = new Map<number, PassBuild>();
    const passes: PassBuild[] = [];
    for (const i of contactsOf(plan, ipn, planSecOf(names.timeBase, window.fromMs), planSecOf(names.timeBase, window.toMs))) {
      const c = plan.contacts[i]!;
      const peer = c.from === ipn ? c.to : c.from;
      if (!isSatellite(peer)) continue;
      const current = open.get(peer);
      if (current !== undefined && c.startSec <= current.endSec) {
        current.endSec = Math.max(current.endSec, c.endSec);
      } else {
        const pass: PassBuild = { satelliteIpn: peer, startSec: c.startSec, endSec: c.endSec, uplinkRateBytesPerSec: 0, downlinkRateBytesPerSec: 0, owltSec: c.owltSec };
        open.set(peer, pass);
        passes.push(pass);
      }
      const pass = open.get(peer)!;
      if (c.from === ipn) pass.uplinkRateBytesPerSec = Math.max(pass.uplinkRateBytesPerSec, c.rateBytesPerSec);
      else pass.downlinkRateBytesPerSec = Math.max(pass.downlinkRateBytesPerSec, c.rateBytesPerSec);
      pass.owltSec = Math.max(pass.owltSec, c.owltSec);
    }
    const shown = passes.slice(0, context.limits.windowItemsMax);
    return {
      station: names.name(ipn), planHash: plan.hash, ...window,
      passes: shown.map((p) => ({
        station: names.name(ipn), satellite: names.name(p.satelliteIpn), satelliteIpn: p.satelliteIpn, startMs: names.ms(p.startSec), endMs: names.ms(p.endSec),
        uplinkRateBytesPerSec: p.uplinkRateBytesPerSec, downlinkRateBytesPerSec: p.downlinkRateBytesPerSec, owltSec: p.owltSec,
      })),
      truncated: shown.length < passes.length,
    };
  });
}
