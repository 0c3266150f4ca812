// What the REST API shows of jobs, placements, routes and contacts, and the TypeBox schemas that
// document those shapes in the OpenAPI document. Times are Unix ms (plan seconds converted with the
// plan's epoch), nodes are named by their registered id (else the plan's name for the ipn number),
// money is a decimal string of minor units (a bigint does not survive JSON numbers).
import { Type } from '@sinclair/typebox';
import type { Contact, ContactPlan, Route } from '../contact-plans/index.ts';
import { planTimeBaseOf, unixMsOfPlanSec, type PlanTimeBase } from '../dtn/index.ts';
import type { JobEvent, JobRecord, NodeRecord } from './job-store.ts';
import type { PlacementRecord } from './job-lifecycle.ts';
import type { PlacementDecision } from './placement.ts';
import type { ResultContentInfo } from './result-content-store.ts';

/** Names of plan nodes: registered node id by ipn, else the plan's id, else "ipn:N". */
export class NodeNames {
  readonly #byIpn: ReadonlyMap<number, string>;
  readonly #plan: ContactPlan;
  readonly timeBase: PlanTimeBase;

  /** `plan` must be on an absolute time base (the service gives relative plans their configured epoch). */
  constructor(plan: ContactPlan, nodes: Iterable<NodeRecord>) {
    this.#plan = plan;
    const byIpn = new Map<number, string>();
    for (const { spec } of nodes) byIpn.set(spec.ipn, spec.id);
    this.#byIpn = byIpn;
    this.timeBase = planTimeBaseOf(plan);
  }

  name(ipn: number): string {
    return this.#byIpn.get(ipn) ?? this.#plan.node(ipn)?.id ?? `ipn:${ipn}`;
  }

  ms(planSec: number): number {
    return Math.round(unixMsOfPlanSec(this.timeBase, planSec));
  }
}

export const RouteHopViewSchema = Type.Object({
  contact: Type.Integer({ description: "Index of the contact in the scheduler's current plan." }),
  from: Type.String(),
  to: Type.String(),
  startMs: Type.Integer(),
  endMs: Type.Integer(),
  txStartMs: Type.Integer({ description: 'When the first byte goes out on this contact.' }),
  arrivalMs: Type.Integer({ description: 'When the last byte reaches `to`.' }),
});

export const RouteViewSchema = Type.Object({ arrivalMs: Type.Integer(), hops: Type.Array(RouteHopViewSchema) });

export function routeView(route: Route, names: NodeNames): Record<string, unknown> {
  return {
    arrivalMs: names.ms(route.arrivalSec),
    hops: route.hops.map((h) => ({
      contact: h.contact, from: names.name(h.from), to: names.name(h.to), startMs: names.ms(h.startSec), endMs: names.ms(h.endSec),
      txStartMs: names.ms(h.txStartSec), arrivalMs: names.ms(h.arrivalSec),
    })),
  };
}

const MoneySchema = Type.Object({ currency: Type.String(), amount: Type.String({ pattern: '^[0-9]+$', description: 'Minor units, decimal.' }) });

export const PlacementViewSchema = Type.Object({
  nodeId: Type.String(),
  resultStation: Type.String(),
  inputArrivalMs: Type.Integer(),
  startMs: Type.Integer(),
  finishMs: Type.Integer(),
  resultArrivalMs: Type.Integer({ description: 'When the result is expected at resultStation.' }),
  priceMinor: MoneySchema,
  score: Type.Number(),
  scoreParts: Type.Record(Type.String(), Type.Number()),
  inputRoute: RouteViewSchema,
  resultRoute: RouteViewSchema,
  escrowId: Type.Optional(Type.String()),
  ledgerJobId: Type.Optional(Type.String()),
  planHash: Type.Optional(Type.String()),
}, { additionalProperties: true });

const RejectedSchema = Type.Object({
  reason: Type.String({ description: "Which filter refused them ('resources', 'sovereignty-downlink', 'deadline', …)." }),
  nodes: Type.Integer(),
  examples: Type.Array(Type.String()),
  detail: Type.String(),
});

export const DecisionViewSchema = Type.Object({
  placed: Type.Union([PlacementViewSchema, Type.Null()]),
  rejected: Type.Array(RejectedSchema),
  earliestFeasibleMs: Type.Optional(Type.Integer()),
  explanation: Type.Array(Type.String()),
});

type Placed = NonNullable<PlacementDecision['placed']>;

/** A placement as the API shows it; routes are shown only on the plan they were made on. */
export function placementView(placed: Placed | PlacementRecord, names: NodeNames, planHash: string): Record<string, unknown> {
  const record = placed as Partial<PlacementRecord> & Placed;
  const samePlan = record.planHash === undefined || record.planHash === planHash;
  const noRoute = { arrivalMs: 0, hops: [] };
  return {
    nodeId: record.nodeId,
    resultStation: record.resultStation,
    inputArrivalMs: Math.round(record.inputArrivalMs),
    startMs: Math.round(record.startMs),
    finishMs: Math.round(record.finishMs),
    resultArrivalMs: Math.round(record.resultArrivalMs),
    priceMinor: { currency: record.priceMinor.currency, amount: String(record.priceMinor.amount) },
    score: record.score,
    scoreParts: record.scoreParts,
    inputRoute: samePlan ? routeView(record.inputRoute, names) : noRoute,
    resultRoute: samePlan ? routeView(record.resultRoute, names) : noRoute,
    ...(record.escrowId === undefined ? {} : { escrowId: record.escrowId }),
    ...(record.ledgerJobId === undefined ? {} : { ledgerJobId: record.ledgerJobId }),
    ...(record.planHash === undefined ? {} : { planHash: record.planHash }),
  };
}

export function decisionView(decision: PlacementDecision, names: NodeNames, planHash: string): Record<string, unknown> {
  return {
    placed: decision.placed === null ? null : placementView(decision.placed, names, planHash),
    rejected: decision.rejected.map((r) => ({ reason: r.reason, nodes: r.nodes, examples: [...r.examples], detail: r.detail })),
    ...(decision.earliestFeasibleMs === undefined ? {} : { earliestFeasibleMs: Math.ceil(decision.earliestFeasibleMs) }),
    explanation: [...decision.explanation],
  };
}

export const JobViewSchema = Type.Object({
  id: Type.String(),
  name: Type.Optional(Type.String()),
  state: Type.String({ description: 'submitted, placed, dispatched, running, succeeded, failed, expired or cancelled.' }),
  attempt: Type.Integer({ description: 'Placements so far (re-planning adds one).' }),
  reason: Type.Optional(Type.String()),
  createdMs: Type.Integer(),
  updatedMs: Type.Integer(),
  deadlineMs: Type.Integer(),
  placement: Type.Optional(PlacementViewSchema),
  spec: Type.Object({}, { additionalProperties: true, description: 'The job spec as submitted.' }),
  links: Type.Object({ self: Type.String(), events: Type.String(), result: Type.String() }),
});

export function jobView(job: JobRecord, names: NodeNames, planHash: string): Record<string, unknown> {
  const self = `/v1/jobs/${job.id}`;
  return {
    id: job.id,
    ...(job.spec.name === undefined ? {} : { name: job.spec.name }),
    state: job.state,
    attempt: job.attempt,
    ...(job.reason === undefined ? {} : { reason: job.reason }),
    createdMs: job.createdMs,
    updatedMs: job.updatedMs,
    deadlineMs: job.deadlineMs,
    ...(job.placement === undefined || job.state === 'submitted' ? {} : { placement: placementView(job.placement, names, planHash) }),
    spec: job.spec,
    links: { self, events: `${self}/events`, result: `${self}/result` },
  };
}

export const JobEventViewSchema = Type.Object({
  seq: Type.Integer(),
  atMs: Type.Integer(),
  type: Type.String(),
  fromState: Type.Optional(Type.String()),
  toState: Type.Optional(Type.String()),
  detail: Type.Object({}, { additionalProperties: true }),
});

export function eventView(event: JobEvent): Record<string, unknown> {
  return {
    seq: event.seq,
    atMs: event.atMs,
    type: event.type,
    ...(event.fromState === undefined ? {} : { fromState: event.fromState }),
    ...(event.toState === undefined ? {} : { toState: event.toState }),
    detail: event.detail,
  };
}

export const ContactViewSchema = Type.Object({
  contact: Type.Integer(),
  from: Type.String(),
  to: Type.String(),
  fromIpn: Type.Integer(),
  toIpn: Type.Integer(),
  startMs: Type.Integer(),
  endMs: Type.Integer(),
  rateBytesPerSec: Type.Number(),
  owltSec: Type.Number(),
  confidence: Type.Number(),
  capacityBytes: Type.Number(),
  bookedBytes: Type.Number({ description: 'Volume the scheduler has booked on it for job inputs and results.' }),
});

export function contactView(index: number, contact: Contact, names: NodeNames, capacityBytes: number, bookedBytes: number): Record<string, unknown> {
  return {
    contact: index,
    from: names.name(contact.from),
    to: names.name(contact.to),
    fromIpn: contact.from,
    toIpn: contact.to,
    startMs: names.ms(contact.startSec),
    endMs: names.ms(contact.endSec),
    rateBytesPerSec: contact.rateBytesPerSec,
    owltSec: contact.owltSec,
    confidence: contact.confidence,
    capacityBytes,
    bookedBytes,
  };
}

/** Whether a finished job's result bytes can be downloaded (GET /v1/jobs/{id}/result/content). */
export type ResultContentState =
  | { readonly status: 'available'; readonly sizeBytes: number; readonly sha256: string }
  | { readonly status: 'dropped'; readonly sizeBytes: number; readonly sha256: string; readonly droppedMs: number; readonly reason: string }
  | { readonly status: 'none'; readonly why: string };

/**
 * A finished job's content, from its record and what the content store holds. Bytes count only when
 * their digest is the one the job's result names (bytes kept for a job that then did not take them
 * are not its result).
 */
export function resultContentState(job: JobRecord, info: ResultContentInfo | undefined): ResultContentState {
  const digest = job.result?.resultSha256;
  if (info === undefined || digest === undefined || info.sha256 !== digest) {
    const why = job.state === 'succeeded' || job.state === 'failed'
      ? (job.result?.deliveredAtMs === undefined ? `job ${job.id} ${job.state} and its node sent no result bytes` : `job ${job.id}'s result bytes were not kept`)
      : `job ${job.id} was ${job.state} before a result arrived`;
    return { status: 'none', why };
  }
  if (info.kind === 'dropped') return { status: 'dropped', sizeBytes: info.sizeBytes, sha256: info.sha256, droppedMs: info.droppedMs, reason: info.reason };
  return { status: 'available', sizeBytes: info.sizeBytes, sha256: info.sha256 };
}

export const ResultContentViewSchema = Type.Object({
  status: Type.Union([Type.Literal('available'), Type.Literal('dropped'), Type.Literal('none')], {
    description: 'available: GET `url` downloads the bytes; dropped: they were kept once but no longer are (retention or the store\'s size bound; 410); none: the job finished without result bytes (404).',
  }),
  url: Type.Optional(Type.String({ description: 'Where the bytes are, while available.' })),
  sizeBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  sha256: Type.Optional(Type.String({ description: 'SHA-256 of the bytes, lower-case hex (also the download\'s ETag and Content-Digest).' })),
  droppedMs: Type.Optional(Type.Integer({ description: 'When the bytes were dropped.' })),
  dropReason: Type.Optional(Type.String({ description: 'retention, store-full or too-large.' })),
});

export function resultContentView(job: JobRecord, state: ResultContentState): Record<string, unknown> {
  switch (state.status) {
    case 'available':
      return { status: 'available', url: `/v1/jobs/${job.id}/result/content`, sizeBytes: state.sizeBytes, sha256: state.sha256 };
    case 'dropped':
      return { status: 'dropped', sizeBytes: state.sizeBytes, sha256: state.sha256, droppedMs: state.droppedMs, dropReason: state.reason };
    case 'none':
      return { status: 'none' };
  }
}
