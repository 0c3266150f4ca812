// Where a job runs: a filter/score pipeline in the manner of the Kubernetes scheduling framework,
// over plain data and an explicit `nowMs` (no I/O, no wall time).
//
// 1. Filters, node by node, first failure wins: orbital policy, affinity and anti-affinity,
//    architecture, runtime, resources (minus load), attestations, reputation floor, currency,
//    sovereignty at rest, processing footprint of ground nodes, price (placement-filters.ts).
// 2. Scores in [0, 1], weighted, higher is better (placement-score.ts): completion (how early before
//    the deadline the result is back), cost, reputation, spread.
// 3. Contact-aware estimates, with the job's sovereignty applied to every contact
//    (placement-search.ts), found best first rather than for every node:
//    - one forward scan from the input's location reads the plan's contacts in time order and
//      settles every node's earliest input arrival, in arrival order;
//    - a node that is settled gets an upper bound of its score — its result taken to arrive the
//      moment it finishes (input arrival or its queue, then its blackouts, plus the execution);
//    - the node with the best bound is evaluated exactly: a satellite's processing footprint (which
//      may delay its start), then the result's earliest arrival at an allowed station (a targeted
//      search, with the input's volume on the contacts it uses), which gives its exact score;
//    - a node not yet settled arrives later than the scan, which bounds its score too; the scan
//      stops as soon as the best exact score beats that bound (Fagin's threshold algorithm), so a
//      placement reads the plan only as far as a better node could still appear.
//    The chosen node is therefore the best of all, while most nodes are neither scanned to nor
//    evaluated; the explanation says how many were. When many evaluations fail on the deadline, one
//    backward search (latest departure towards the allowed stations) prunes the rest in bulk.
// 4. The chosen node's routes: the contact chains the searches found, which follow CGR's hop
//    semantics (contact-plans/cgr.ts) and keep to the job's sovereignty; every hop is re-derived
//    from the plan and checked before it is returned. With `policy.cgrRoutes`, contact-plans' own
//    `bestRoute` (with the bookings) is asked too, for jobs without route rules, and its route taken
//    when it arrives as early (CGR's tie-breaks).
// 5. Every rejected class of nodes is recorded (count, up to 5 examples, why). When nothing fits,
//    the same search runs again with the deadline lifted to the end of the plan and completion as
//    the only score, and the earliest result arrival it finds is `earliestFeasibleMs`.
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';
import { bestRoute, type ContactBookings, type ContactPlan, type ElementSet, type Route, type RouteHop } from '../contact-plans/index.ts';
import type { CountryBorders } from './country-borders.ts';
import type { JobSpec } from './job-spec.ts';
import type { NodeSpec } from './node-spec.ts';
import { NodeCatalog } from './placement-catalog.ts';
import { contactSubsetOf, type ContactSubset } from './placement-contact-subset.ts';
import { filterRange, filterVerdicts, jobFilterOf, priceMinorOf, reputationOf, type FilterContext, type FilterVerdict, type NodeLoad, type RejectionReason } from './placement-filters.ts';
import {
  ACCEPT_FROM_GROUND, ACCEPT_FROM_ORBIT, earliestArrivalAt, firstHopArrivalBoundSec, ForwardScan, hopArrivalSec, hopTxStartSec, latestDepartures, TimedHeap, type ContactRules, type Transfer,
} from './placement-search.ts';
import { scoreOf, SCORE_WEIGHTS_DEFAULT, spreadKeyOf, staticScoreOf, type ScoreWeights } from './placement-score.ts';
import { hasDownlinkRule, mayReceiveDownlink, mayRestAt, restrictsRoutes, routeRulesKey, sovereigntyRulesOf, type SovereigntyRules } from './sovereignty.ts';

export type { NodeLoad, RejectionReason } from './placement-filters.ts';

export interface PlacementPolicy {
  readonly weights: ScoreWeights;
  /** Nodes evaluated exactly at most per decision; past it the best evaluated node wins (said in the explanation). */
  readonly exactEvaluationsMax: number;
  /** Floor for every job, on top of the job's own `minReputationPpm`. */
  readonly reputationFloorPpm: number;
  /** Contacts the forward scan reads between two looks at the nodes it settled (a speed knob: any value ≥ 1 gives the same decisions). */
  readonly scanChunkContacts: number;
  /**
   * Ask contact-plans' CGR `bestRoute` for the chosen node's routes too (jobs without route rules
   * only), and take its route when it arrives as early: CGR's tie-breaks (fewest hops) instead of
   * the scan's. Off by default: the scan's routes already follow CGR's hop semantics exactly (the
   * property test checks them against bestRoute), and on a 5,000-node plan with a meshed ground
   * network two bestRoute calls cost more than the rest of a placement.
   */
  readonly cgrRoutes: boolean;
}

export const PLACEMENT_POLICY_DEFAULT: PlacementPolicy = {
  weights: SCORE_WEIGHTS_DEFAULT, exactEvaluationsMax: 256, reputationFloorPpm: 0, scanChunkContacts: 4096, cgrRoutes: false,
};

export interface PlacementInput {
  readonly job: JobSpec;
  /** The registered nodes, or a NodeCatalog prepared once for them and `plan` (much faster for many placements). */
  readonly nodes: readonly NodeSpec[] | NodeCatalog;
  readonly plan: ContactPlan;
  /** Volume already booked on the plan's contacts; read, never changed. */
  readonly bookings: ContactBookings;
  readonly nowMs: number;
  /** Per node id: what placed and running jobs already ask of it. */
  readonly load?: ReadonlyMap<string, NodeLoad> | undefined;
  /** Jobs per spread key ("operator:<operator>", "country:<country or registry>"), for the spread score. */
  readonly spreadCounts?: ReadonlyMap<string, number> | undefined;
  /** Per node id: reputation from the ledger, over `NodeSpec.reputationPpm`. */
  readonly reputationPpm?: ReadonlyMap<string, number> | undefined;
  /** With a node array only (a NodeCatalog carries its own): see NodeCatalogInput. */
  readonly chainId?: string | undefined;
  readonly auditorKeys?: ReadonlyMap<string, Uint8Array> | undefined;
  readonly elements?: readonly ElementSet[] | undefined;
  readonly borders?: CountryBorders | undefined;
  readonly policy?: Partial<PlacementPolicy> | undefined;
}

export interface Placed {
  readonly nodeId: string;
  /** From the input's location to the node; no hops when the input is already there. Plan seconds. */
  readonly inputRoute: Route;
  /** From the node to `resultStation`; no hops when the node is that station. */
  readonly resultRoute: Route;
  readonly inputArrivalMs: number;
  readonly startMs: number;
  readonly finishMs: number;
  readonly resultArrivalMs: number;
  readonly resultStation: string;
  /** Estimated price: executionHours × (cores × cpu + GiB × memoryGiB + GPUs × gpu), in whole minor units rounded up (decimal string). */
  readonly priceMinor: { readonly currency: string; readonly amount: string };
  readonly score: number;
  readonly scoreParts: Readonly<Record<string, number>>;
}

export interface Rejection {
  readonly reason: RejectionReason;
  readonly nodes: number;
  /** Up to 5 node ids. */
  readonly examples: readonly string[];
  readonly detail: string;
}

export interface PlacementDecision {
  readonly placed: Placed | null;
  readonly rejected: readonly Rejection[];
  /** When refused because of time: the earliest result arrival (Unix ms) any node that passed the filters could make. */
  readonly earliestFeasibleMs?: number;
  readonly explanation: readonly string[];
}

const EXAMPLES_MAX = 5;

interface RejectionEntry {
  nodes: number;
  readonly examples: string[];
  /** Detail → how many nodes gave it. */
  readonly details: Map<string, { n: number }>;
}
const MS_PER_SEC = 1000;
/** Buckets of static score (cost, reputation, spread) for the bound on the nodes not yet settled. */
const STATIC_BUCKETS = 4096;
/** Contacts the forward scan reads before its first look at the nodes it settled (then doubling up to the policy's chunk). */
const FIRST_SCAN_CHUNK_CONTACTS = 256;
/** Failed exact evaluations after which one backward search prunes the rest in bulk. */
const FAILED_EVALUATIONS_BEFORE_BULK = 16;

/** Why nodes were rejected, grouped by reason in the order first seen. */
class Rejections {
  readonly #byReason = new Map<RejectionReason, RejectionEntry>();
  /** Kinds of detail kept per reason (the rest are counted under the reason only). */
  static readonly DETAILS_MAX = 8;
  // Nodes come in runs that fail alike (the filters share one verdict object): the last reason and
  // detail are kept at hand, so a run costs no Map lookups.
  #lastReason: RejectionReason | undefined;
  #lastEntry: RejectionEntry | undefined;
  #lastDetail: string | undefined;
  #lastDetailCount: { n: number } | undefined;

  add(reason: RejectionReason, nodeId: string, detail: string): void {
    this.#count(reason, detail, 1, nodeId);
  }

  /** `nodes` nodes rejected alike; `examples[0 … exampleCount)` are the first of them (≤ EXAMPLES_MAX). */
  addRun(reason: RejectionReason, detail: string, nodes: number, examples: readonly string[], exampleCount: number): void {
    const entry = this.#count(reason, detail, nodes, undefined);
    for (let i = 0; i < exampleCount && entry.examples.length < EXAMPLES_MAX; i++) entry.examples.push(examples[i]!);
  }

  #count(reason: RejectionReason, detail: string, nodes: number, nodeId: string | undefined): RejectionEntry {
    let entry = reason === this.#lastReason ? this.#lastEntry : this.#byReason.get(reason);
    if (entry === undefined) this.#byReason.set(reason, (entry = { nodes: 0, examples: [], details: new Map() }));
    if (entry !== this.#lastEntry) this.#lastDetail = undefined;
    this.#lastReason = reason;
    this.#lastEntry = entry;
    entry.nodes += nodes;
    if (nodeId !== undefined && entry.examples.length < EXAMPLES_MAX) entry.examples.push(nodeId);
    if (detail === this.#lastDetail) {
      this.#lastDetailCount!.n += nodes;
      return entry;
    }
    let seen = entry.details.get(detail);
    if (seen !== undefined) seen.n += nodes;
    else if (entry.details.size < Rejections.DETAILS_MAX) entry.details.set(detail, (seen = { n: nodes }));
    this.#lastDetail = seen === undefined ? undefined : detail;
    this.#lastDetailCount = seen;
    return entry;
  }

  get size(): number {
    return this.#byReason.size;
  }

  list(): Rejection[] {
    return [...this.#byReason].map(([reason, e]) => ({
      reason,
      nodes: e.nodes,
      examples: e.examples,
      detail: [...e.details].sort((a, b) => b[1].n - a[1].n).map(([d, { n }]) => (e.details.size === 1 ? d : `${d} (${n})`)).join('; '),
    }));
  }
}

/** A node that passed the filters. */
interface Candidate {
  readonly index: number;
  readonly id: string;
  readonly node: NodeSpec;
  readonly graphNode: number;
}

/**
 * What a decision computes per catalog node, by catalog index, overwritten by each decision for
 * the nodes it looks at (placement is synchronous, one decision at a time, as the catalog's scratch
 * arrays; a decision keeps none of it after it returns): the filters' verdict and price, and for
 * the nodes that pass, their queue and static score parts (scoreOf's staticParts). Numbers live in
 * typed arrays rather than in the candidates: thousands of nodes pass a job without sovereignty
 * rules, and a number field of an object is a boxed number elsewhere in the heap, a cache miss
 * each time it is written or read.
 */
interface PlacementScratch {
  /** One candidate object per catalog node, never changed (an object each per decision kept the young-generation collector busy). */
  readonly candidates: readonly Candidate[];
  readonly verdictOf: (FilterVerdict | undefined)[];
  readonly priceOf: Float64Array;
  readonly queueMs: Float64Array;
  readonly cost: Float64Array;
  readonly reputation: Float64Array;
  readonly spread: Float64Array;
  /** The weighted sum of the three above under the decision's policy weights (decide's static score). */
  readonly staticScore: Float64Array;
  /** What `decide` keeps per survivor (index k), sized for every catalog node: reused, as typed arrays made per decision kept the collector busy. */
  readonly decide: DecideScratch;
}

/** `decide`'s per-survivor arrays, overwritten by each call (the two calls of one decision run one after the other). */
interface DecideScratch {
  readonly unsettledInBucket: Int32Array;
  readonly bucketByK: Int32Array;
  readonly staticByK: Float64Array;
  readonly state: Uint8Array;
  readonly heap: EntryHeap;
  readonly waiting: TimedHeap;
}

const placementScratches = new WeakMap<NodeCatalog, PlacementScratch>();

function placementScratchOf(catalog: NodeCatalog): PlacementScratch {
  let scratch = placementScratches.get(catalog);
  if (scratch === undefined) {
    const n = catalog.nodes.length;
    scratch = {
      candidates: catalog.nodes.map((node, index) => ({ index, id: catalog.ids[index]!, node, graphNode: catalog.graphNodeOf[index]! })),
      verdictOf: Array.from({ length: n }, () => undefined),
      priceOf: new Float64Array(n), queueMs: new Float64Array(n), cost: new Float64Array(n), reputation: new Float64Array(n), spread: new Float64Array(n),
      staticScore: new Float64Array(n),
      decide: {
        unsettledInBucket: new Int32Array(STATIC_BUCKETS), bucketByK: new Int32Array(n), staticByK: new Float64Array(n), state: new Uint8Array(n),
        heap: new EntryHeap(n), waiting: new TimedHeap(),
      },
    };
    placementScratches.set(catalog, scratch);
  }
  return scratch;
}

interface Evaluated {
  readonly candidate: Candidate;
  readonly inputArrivalSec: number;
  readonly startMs: number;
  readonly finishMs: number;
  readonly inputContacts: readonly number[];
  readonly resultContacts: readonly number[];
  readonly resultArrivalSec: number;
  /** Catalog index of the station that receives the result. */
  readonly resultStation: number;
  readonly score: number;
  readonly scoreParts: Readonly<Record<string, number>>;
}

/** What does not change between the decision's passes. */
interface Context {
  readonly catalog: NodeCatalog;
  readonly job: JobSpec;
  readonly rules: SovereigntyRules;
  readonly contactRules: ContactRules;
  readonly subset: ContactSubset;
  readonly targets: readonly number[];
  readonly isTarget: Uint8Array;
  readonly bookings: ContactBookings;
  readonly nowMs: number;
  readonly epochMs: number;
  readonly policy: PlacementPolicy;
  readonly locationIndex: number;
  readonly locationNode: number;
  readonly scratch: PlacementScratch;
}

/** Decides where `input.job` runs (pure). Throws OrbitfedError for inputs that do not fit together (unknown nodes, bookings of another plan). */
export function placeJob(input: PlacementInput): PlacementDecision {
  const policy: PlacementPolicy = { ...PLACEMENT_POLICY_DEFAULT, ...input.policy };
  const { job, plan, bookings, nowMs } = input;
  const catalog = input.nodes instanceof NodeCatalog
    ? input.nodes
    : new NodeCatalog({ nodes: input.nodes, plan, chainId: input.chainId, auditorKeys: input.auditorKeys, elements: input.elements, borders: input.borders });
  checkInputs(input, catalog);
  const g = catalog.graph;
  const rules = sovereigntyRulesOf(job);
  const rejections = new Rejections();
  const explanation: string[] = [];
  const locationIndex = catalog.indexOf(job.input.location)!;

  // Who may hold the data and who may receive it from space, per plan node, and the contacts that leaves.
  const derived = catalog.derivedForRules(routeRulesKey(rules), () => {
    const contactRules = contactRulesOf(catalog, rules);
    // A node in the plan may hold the data exactly when it accepts any contact (contactRulesOf asked mayRestAt).
    const restOk = new Uint8Array(catalog.nodes.length);
    for (let i = 0; i < restOk.length; i++) {
      const n = catalog.graphNodeOf[i]!;
      restOk[i] = (n >= 0 ? contactRules.accept[n] !== 0 : mayRestAt(rules, catalog.nodes[i])) ? 1 : 0;
    }
    return { contactRules, subset: contactSubsetOf(g, contactRules), anyStation: deliveryTargets(catalog, [], rules), restOk };
  }, (value) => value.subset.copiedContacts);
  const { contactRules, subset } = derived;
  const targets = job.result.deliverTo.length === 0 ? derived.anyStation : deliveryTargets(catalog, job.result.deliverTo, rules);
  const isTarget = catalog.scratch.isTarget.fill(0);
  for (const t of targets) if (catalog.graphNodeOf[t]! >= 0) isTarget[catalog.graphNodeOf[t]!] = 1;

  // 1. Filters.
  const filterContext: FilterContext = {
    job, rules, catalog, restOk: derived.restOk, load: input.load, reputationPpm: input.reputationPpm, reputationFloorPpm: policy.reputationFloorPpm,
  };
  const verdicts = filterVerdicts(job, policy.reputationFloorPpm);
  const jobFilter = jobFilterOf(job, catalog, policy.reputationFloorPpm);
  const survivors: Candidate[] = [];
  const maxPrice = job.maxPriceMinor.amount;
  const { weights } = policy;
  const { nodes, ids } = catalog;
  const scratch = placementScratchOf(catalog);
  const { candidates, verdictOf, priceOf } = scratch;
  // Rejected nodes come in runs with the same verdict (one shared object): counted per run.
  let run: FilterVerdict | undefined;
  let runNodes = 0;
  // addRun copies the examples, so one array serves every run (its first runExampleCount entries).
  const runExamples: string[] = new Array<string>(EXAMPLES_MAX).fill('');
  let runExampleCount = 0;
  const endRun = (): void => {
    if (run !== undefined) rejections.addRun(run.reason, run.detail, runNodes, runExamples, runExampleCount);
    run = undefined;
    runNodes = 0;
    runExampleCount = 0;
  };
  // The orbital policy is the first filter: the nodes of the kind it excludes fail alike, a run at a time.
  const { orbital: orbitalColumn, kindRunEnd } = catalog.filterColumns;
  const excludedKind = jobFilter.orbital === 'required' ? 0 : jobFilter.orbital === 'forbidden' ? 1 : -1;
  const excludedVerdict = excludedKind === 0 ? verdicts.orbitalRequired : verdicts.orbitalForbidden;
  let filteredUntil = 0;
  for (let index = 0; index < nodes.length; index++) {
    if (orbitalColumn[index] === excludedKind) {
      if (excludedVerdict !== run) {
        endRun();
        run = excludedVerdict;
      }
      const runEnd = kindRunEnd[index]!;
      runNodes += runEnd - index;
      for (let i = index; i < runEnd && runExampleCount < EXAMPLES_MAX; i++) runExamples[runExampleCount++] = ids[i]!;
      index = runEnd - 1;
      continue;
    }
    if (index >= filteredUntil) {
      filteredUntil = kindRunEnd[index]!;
      filterRange(filterContext, verdicts, jobFilter, index, filteredUntil, verdictOf, priceOf, scratch.queueMs);
    }
    const verdict = verdictOf[index];
    if (verdict !== undefined) {
      if (verdict !== run) {
        endRun();
        run = verdict;
      }
      runNodes += 1;
      if (runExampleCount < EXAMPLES_MAX) runExamples[runExampleCount++] = ids[index]!;
      continue;
    }
    // (filterRange wrote the queue: one load lookup per node.)
    const spreadKey = job.spreadKey === undefined ? undefined : spreadKeyOf(nodes[index]!, job.spreadKey);
    const costPart = maxPrice === 0 ? 1 : Math.max(0, 1 - priceOf[index]! / maxPrice);
    const reputationPart = reputationOf(filterContext, index) / 1_000_000;
    const spreadPart = spreadKey === undefined ? 1 : 1 / (1 + (input.spreadCounts?.get(spreadKey) ?? 0));
    scratch.cost[index] = costPart;
    scratch.reputation[index] = reputationPart;
    scratch.spread[index] = spreadPart;
    scratch.staticScore[index] = staticScoreOf(weights, costPart, reputationPart, spreadPart);
    survivors.push(candidates[index]!);
  }
  endRun();
  explanation.push(`${catalog.nodes.length} registered nodes; ${survivors.length} passed the filters (orbital policy, affinity, architecture, runtime, resources, attestations, reputation, currency, sovereignty at rest, processing footprint of ground nodes, price).`);
  if (survivors.length === 0) {
    explanation.push('No node passed the filters.');
    return { placed: null, rejected: rejections.list(), explanation };
  }
  if (targets.length === 0) {
    for (const c of survivors) rejections.add('sovereignty-downlink', c.id, 'no registered ground station is in deliverTo, allowed to receive the data and allowed to hold it');
    explanation.push('No ground station may receive the result under the job\'s deliverTo and sovereignty rules.');
    return { placed: null, rejected: rejections.list(), explanation };
  }

  // 2–3. Best first over the contact plan.
  const ctx: Context = {
    catalog, job, rules, contactRules, subset, targets, isTarget, bookings, nowMs, epochMs: plan.epochMs!, policy, locationIndex,
    locationNode: catalog.graphNodeOf[locationIndex]!, scratch,
  };
  const outcome = decide(ctx, survivors, job.deadlineMs, weights, scratch.staticScore, (c, reason, detail) => rejections.add(reason, c.id, detail), undefined);
  if (outcome.winner !== undefined) {
    const placed = placedOf(outcome.winner, ctx, explanation, outcome);
    return { placed, rejected: rejections.list(), explanation };
  }

  // Refused: when was the earliest any of them could have delivered?
  const decision: { placed: null; rejected: Rejection[]; earliestFeasibleMs?: number; explanation: string[] } = { placed: null, rejected: rejections.list(), explanation };
  explanation.push(`${outcome.evaluated} nodes evaluated exactly; none can deliver the result by the deadline ${iso(job.deadlineMs)}.`);
  // Late enough for any run: after the plan's last contact, the queues and the blackouts, a node that holds the input and is a station can still run it.
  let latestMs = Math.max(ctx.epochMs + g.endMaxSec * MS_PER_SEC, nowMs);
  let queueMaxMs = 0;
  for (const c of survivors) {
    queueMaxMs = Math.max(queueMaxMs, scratch.queueMs[c.index]!);
    latestMs = Math.max(latestMs, catalog.blackoutsEndMaxMs[c.index]!);
  }
  const openEndMs = latestMs + queueMaxMs + job.executionMs + MS_PER_SEC;
  // The same scan goes on past the deadline: what it found so far stays valid.
  const relaxed = decide(ctx, survivors, openEndMs, { completion: 1, cost: 0, reputation: 0, spread: 0 }, undefined, () => {}, outcome.scan);
  if (relaxed.winner !== undefined) {
    const earliestMs = ctx.epochMs + relaxed.winner.resultArrivalSec * MS_PER_SEC;
    decision.earliestFeasibleMs = earliestMs;
    explanation.push(`The earliest any of them could deliver is ${iso(earliestMs)} (${relaxed.winner.candidate.node.id}).`);
  } else explanation.push('None of them can receive the input and deliver the result anywhere within the contact plan under the job\'s rules.');
  explanation.push(`Searched: ${relaxed.contactsScanned} contacts read, ${relaxed.nodesDrained} nodes reached, ${outcome.evaluated + relaxed.evaluated} exact evaluations.`);
  return decision;
}

interface Outcome {
  readonly winner: Evaluated | undefined;
  readonly evaluated: number;
  /** Nodes settled by the forward scan but never evaluated: their bound could not beat the winner. */
  readonly outscored: number;
  /** Nodes the scan never reached: their input would have arrived after the winner's bound. */
  readonly unreached: number;
  readonly contactsScanned: number;
  readonly nodesDrained: number;
  readonly stoppedAtLimit: boolean;
  /** The forward scan, for a second look with a later deadline. */
  readonly scan: ForwardScan | undefined;
}

/** Max-heap entry: a candidate with an upper bound of its score, or its exact evaluation. */
interface Entry {
  /** Index of the candidate among the decision's survivors. */
  readonly k: number;
  readonly key: number;
  readonly candidate: Candidate;
  readonly arrivalSec: number;
  readonly startMs: number;
  /** Whether `key` already counts the node's first usable contact after it finishes (see `settle`). */
  readonly refined: boolean;
  readonly exact: Evaluated | undefined;
}

/**
 * Max-heap of entries, at most one per survivor (index k into the survivors: settled once, and
 * popped before it is pushed again, refined or exact). Each entry's fields live in arrays indexed
 * by k and the heap orders the k's: a settled node costs no object (thousands are settled for a
 * job without sovereignty rules, most never looked at again). Order: higher key first, then exact
 * before bound, then the smaller node id.
 */
class EntryHeap {
  #survivors: readonly Candidate[] = [];
  readonly #key: Float64Array;
  readonly #arrivalSec: Float64Array;
  readonly #startMs: Float64Array;
  readonly #refined: Uint8Array;
  readonly #exact: (Evaluated | undefined)[];
  /** The k's whose `#exact` holds an evaluation, cleared by the next `reset`. */
  readonly #exactKs: number[] = [];
  readonly #items: Int32Array;
  #capacity = 0;
  #size = 0;

  /** Room for `capacityMax` survivors; `reset` starts each use. */
  constructor(capacityMax: number) {
    this.#key = new Float64Array(capacityMax);
    this.#arrivalSec = new Float64Array(capacityMax);
    this.#startMs = new Float64Array(capacityMax);
    this.#refined = new Uint8Array(capacityMax);
    this.#exact = new Array<Evaluated | undefined>(capacityMax).fill(undefined);
    this.#items = new Int32Array(capacityMax);
  }

  /** Empties the heap for a decision over `survivors` (an entry's fields are written when it is pushed). */
  reset(survivors: readonly Candidate[]): void {
    assert.ok(survivors.length <= this.#items.length, 'no more survivors than catalog nodes');
    // Drop the last use's evaluations (kept alive otherwise until overwritten). Only pushed entries are ever read.
    for (const k of this.#exactKs) this.#exact[k] = undefined;
    this.#exactKs.length = 0;
    this.#survivors = survivors;
    this.#capacity = survivors.length;
    this.#size = 0;
  }

  get size(): number {
    return this.#size;
  }

  /** The top entry (a fresh object: only the few entries that come to the top are made into one). */
  peek(): Entry {
    const k = this.#items[0]!;
    return {
      k, key: this.#key[k]!, candidate: this.#survivors[k]!, arrivalSec: this.#arrivalSec[k]!, startMs: this.#startMs[k]!, refined: this.#refined[k] === 1,
      exact: this.#exact[k],
    };
  }

  /** Pushes survivor k's entry, given by its fields. */
  pushAt(k: number, key: number, arrivalSec: number, startMs: number, refined: boolean, exact: Evaluated | undefined): void {
    assert.ok(this.#size < this.#capacity, 'one heap entry per survivor');
    this.#key[k] = key;
    this.#arrivalSec[k] = arrivalSec;
    this.#startMs[k] = startMs;
    this.#refined[k] = refined ? 1 : 0;
    this.#exact[k] = exact;
    if (exact !== undefined) this.#exactKs.push(k);
    const items = this.#items;
    let i = this.#size++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.#before(k, items[up]!)) break;
      items[i] = items[up]!;
      i = up;
    }
    items[i] = k;
  }

  pop(): void {
    const items = this.#items;
    const size = --this.#size;
    const last = items[size]!;
    if (size === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && this.#before(items[child + 1]!, items[child]!)) child += 1;
      if (!this.#before(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
  }

  /** Removes the entries `drop` says go (and rebuilds the heap). */
  prune(drop: (entry: Entry) => boolean): void {
    const kept: number[] = [];
    for (let i = 0; i < this.#size; i++) {
      const k = this.#items[i]!;
      const entry: Entry = {
        k, key: this.#key[k]!, candidate: this.#survivors[k]!, arrivalSec: this.#arrivalSec[k]!, startMs: this.#startMs[k]!, refined: this.#refined[k] === 1,
        exact: this.#exact[k],
      };
      if (!drop(entry)) kept.push(k);
    }
    this.#size = 0;
    for (const k of kept) this.pushAt(k, this.#key[k]!, this.#arrivalSec[k]!, this.#startMs[k]!, this.#refined[k] === 1, this.#exact[k]);
  }

  #before(a: number, b: number): boolean {
    const keyA = this.#key[a]!;
    const keyB = this.#key[b]!;
    if (keyA !== keyB) return keyA > keyB;
    const exactA = this.#exact[a] !== undefined;
    if (exactA !== (this.#exact[b] !== undefined)) return exactA;
    return this.#survivors[a]!.id < this.#survivors[b]!.id;
  }
}

/**
 * The best node for a deadline and weights (step 3), or none. Rejections of nodes that cannot make
 * the deadline go to `onReject`. `staticScores`, when given, holds each survivor's static score
 * under `weights` by catalog index (placeJob's survivor loop wrote it); else it is computed here.
 */
function decide(
  ctx: Context, survivors: readonly Candidate[], deadlineMs: number, weights: ScoreWeights, staticScores: Float64Array | undefined,
  onReject: (c: Candidate, reason: RejectionReason, detail: string) => void, earlierScan: ForwardScan | undefined,
): Outcome {
  const { job, catalog, epochMs, nowMs } = ctx;
  const g = catalog.graph;
  const horizonMs = deadlineMs - nowMs;
  const deadlineSec = (deadlineMs - epochMs) / MS_PER_SEC;
  const nowSec = (nowMs - epochMs) / MS_PER_SEC;
  // Written once, when a first node misses the deadline (many decisions reject none that way).
  let timeDetailText: string | undefined;
  const timeDetail = (): string =>
    (timeDetailText ??= `the input cannot reach it and the result an allowed station by the deadline ${iso(deadlineMs)} (contact plan, booked volume, sovereignty rules)`);
  if (horizonMs <= 0) {
    for (const c of survivors) onReject(c, 'deadline', `the deadline ${iso(deadlineMs)} is not after now (${iso(nowMs)})`);
    return { winner: undefined, evaluated: 0, outscored: 0, unreached: 0, contactsScanned: 0, nodesDrained: 0, stoppedAtLimit: false, scan: earlierScan };
  }
  const { cost, reputation, spread, queueMs } = ctx.scratch;
  const staticOf = (c: Candidate): number =>
    (staticScores !== undefined ? staticScores[c.index]! : staticScoreOf(weights, cost[c.index]!, reputation[c.index]!, spread[c.index]!));
  const completionOf = (resultArrivalMs: number): number => Math.min(1, Math.max(0, (deadlineMs - resultArrivalMs) / horizonMs));
  // The best static score among the nodes not settled yet, kept in buckets (an upper edge of the
  // highest non-empty one), so the bound for the nodes still to come falls as the good ones settle.
  const staticTotal = weights.cost + weights.reputation + weights.spread;
  const bucketOf = (staticScore: number): number => (staticTotal > 0 ? Math.min(STATIC_BUCKETS - 1, Math.floor((staticScore / staticTotal) * STATIC_BUCKETS)) : 0);
  const { unsettledInBucket, bucketByK, staticByK, state, heap, waiting } = ctx.scratch.decide;
  unsettledInBucket.fill(0);
  const survivorOf = catalog.scratch.survivorOf.fill(-1);
  for (let k = 0; k < survivors.length; k++) {
    const c = survivors[k]!;
    const staticScore = staticOf(c);
    const bucket = bucketOf(staticScore);
    staticByK[k] = staticScore;
    bucketByK[k] = bucket;
    unsettledInBucket[bucket]! += 1;
    if (c.graphNode >= 0) survivorOf[c.graphNode] = k;
  }
  let topBucket = STATIC_BUCKETS - 1;
  const staticMaxUnsettled = (): number => {
    while (topBucket >= 0 && unsettledInBucket[topBucket] === 0) topBucket -= 1;
    return topBucket < 0 ? -Infinity : ((topBucket + 1) / STATIC_BUCKETS) * staticTotal;
  };
  /** Upper bound of the score of any node not settled yet, all of which get the input after `atSec`. */
  const boundAfter = (atSec: number): number => weights.completion * completionOf(epochMs + atSec * MS_PER_SEC + job.executionMs) + staticMaxUnsettled();

  // 0 unreached, 1 settled (in the heap), 2 done (evaluated or rejected), 3 reached but not settled.
  state.fill(0, 0, survivors.length);
  const leave = (k: number, next: number): void => {
    if (state[k] === 0 || state[k] === 3) unsettledInBucket[bucketByK[k]!]! -= 1;
    state[k] = next;
  };
  heap.reset(survivors);
  let latestDeparture: Float64Array | undefined;
  let bestExact: Evaluated | undefined;
  const settle = (k: number, arrivalSec: number): void => {
    const c = survivors[k]!;
    const readyMs = Math.max(epochMs + arrivalSec * MS_PER_SEC, nowMs + queueMs[c.index]!);
    // No blackout can overlap a run ready after the last one ends or ending before the first starts.
    const startMs = readyMs >= catalog.blackoutsEndMaxMs[c.index]! || readyMs + job.executionMs <= catalog.blackoutsStartMinMs[c.index]!
      ? readyMs
      : afterBlackouts(c.node, readyMs, job.executionMs);
    const finishMs = startMs + job.executionMs;
    leave(k, 2);
    if (finishMs > deadlineMs || (latestDeparture !== undefined && c.graphNode >= 0 && finishMs > epochMs + latestDeparture[c.graphNode]! * MS_PER_SEC)) {
      if (startMs > readyMs && readyMs + job.executionMs <= deadlineMs) onReject(c, 'blackout', `its blackouts push the run past the deadline ${iso(deadlineMs)}`);
      else onReject(c, 'deadline', timeDetail());
      return;
    }
    state[k] = 1;
    // First bound: the result arrives when the job finishes. Refined when it comes to the top (evaluateTop).
    const key = weights.completion * completionOf(finishMs) + staticByK[k]!;
    // Below a score already evaluated exactly it would never come to the top: counted as outscored, not kept.
    if (bestExact !== undefined && key < bestExact.score) return;
    const refined = c.graphNode < 0 || ctx.isTarget[c.graphNode] === 1;
    heap.pushAt(k, key, arrivalSec, startMs, refined, undefined);
  };

  // The input's own node has it now; nodes without contacts can only run it if they hold it.
  for (let k = 0; k < survivors.length; k++) {
    const c = survivors[k]!;
    if (c.index === ctx.locationIndex) settle(k, nowSec);
    else if (c.graphNode < 0) {
      leave(k, 2);
      onReject(c, 'no-route', 'the node has no contacts in the plan');
    }
  }
  const horizonSec = deadlineSec - job.executionMs / MS_PER_SEC;
  let scan = earlierScan;
  if (scan !== undefined) scan.extendHorizon(horizonSec);
  else if (ctx.locationNode >= 0) {
    scan = new ForwardScan(g, ctx.subset, ctx.contactRules, { sizeBytes: job.input.sizeBytes, bookings: ctx.bookings }, ctx.locationNode, nowSec, horizonSec, catalog.scratch.scan);
  }

  let evaluated = 0;
  let failed = 0;
  let stoppedAtLimit = false;
  /** Evaluates heap tops whose bound reaches `limit`; returns the winner when an exact score comes first. */
  const evaluateTop = (limit: number): Evaluated | undefined => {
    while (heap.size > 0) {
      const top = heap.peek();
      if (top.exact !== undefined) return top.key >= limit ? top.exact : undefined;
      if (top.key < limit) return undefined;
      if (evaluated >= ctx.policy.exactEvaluationsMax && bestExact !== undefined) {
        stoppedAtLimit = true;
        return bestExact;
      }
      heap.pop();
      if (!top.refined) {
        // The result arrives no earlier than the node's first usable contact after it finishes.
        const finishMs = top.startMs + job.executionMs;
        const finishSec = (finishMs - epochMs) / MS_PER_SEC;
        const firstHopSec = firstHopArrivalBoundSec(g, ctx.contactRules, top.candidate.graphNode, finishSec);
        if (firstHopSec === Infinity) {
          // Nothing may leave the node after the run: say whether the job's rules are why.
          const anyContactLeaves = firstHopArrivalBoundSec(g, everyContact(g.nodeCount, ctx.contactRules.orbital), top.candidate.graphNode, finishSec) !== Infinity;
          if (anyContactLeaves) onReject(top.candidate, 'sovereignty-downlink', 'after the run its contacts lead only to nodes the job\'s downlink or atRest rules exclude');
          else onReject(top.candidate, 'no-route', 'no contact leaves the node after the run');
          continue;
        }
        const resultBoundMs = Math.max(finishMs, epochMs + firstHopSec * MS_PER_SEC);
        if (resultBoundMs > deadlineMs) {
          onReject(top.candidate, 'deadline', timeDetail());
          continue;
        }
        heap.pushAt(top.k, weights.completion * completionOf(resultBoundMs) + staticByK[top.k]!, top.arrivalSec, top.startMs, true, undefined);
        continue;
      }
      if (failed >= FAILED_EVALUATIONS_BEFORE_BULK && latestDeparture === undefined) {
        const ld = applyLatestDepartures();
        if (top.candidate.graphNode >= 0 && top.startMs + job.executionMs > epochMs + ld[top.candidate.graphNode]! * MS_PER_SEC) {
          onReject(top.candidate, 'deadline', timeDetail());
          continue;
        }
      }
      evaluated += 1;
      const result = evaluate(top, ctx, scan, deadlineMs, weights, onReject, timeDetail);
      if (result === undefined) {
        failed += 1;
        continue;
      }
      if (bestExact === undefined || result.score > bestExact.score) bestExact = result;
      heap.pushAt(top.k, result.score, top.arrivalSec, result.startMs, true, result);
    }
    return undefined;
  };

  /**
   * The backward search, once: nodes whose result could not leave late enough are turned away in
   * bulk, settled or not, and the others get the latest time their input may still arrive.
   */
  const latestInput: { k: number; latestSec: number }[] = [];
  const applyLatestDepartures = (): Float64Array => {
    const ld = bulkLatestDepartures(ctx, survivors, state, deadlineSec, nowSec);
    latestDeparture = ld;
    heap.prune((e) => {
      if (e.exact !== undefined || e.candidate.graphNode < 0 || e.startMs + job.executionMs <= epochMs + ld[e.candidate.graphNode]! * MS_PER_SEC) return false;
      onReject(e.candidate, 'deadline', timeDetail());
      return true;
    });
    survivors.forEach((c, k) => {
      if ((state[k] !== 0 && state[k] !== 3) || c.graphNode < 0) return;
      const latestSec = ld[c.graphNode]! - job.executionMs / MS_PER_SEC;
      if (latestSec < nowSec + queueMs[c.index]! / MS_PER_SEC) {
        leave(k, 2);
        onReject(c, 'deadline', timeDetail());
      } else latestInput.push({ k, latestSec });
    });
    latestInput.sort((a, b) => b.latestSec - a.latestSec);
    return ld;
  };
  /** Turns away the nodes not settled yet whose input can no longer arrive in time (after the backward search). */
  const dropExpired = (finalSec: number): void => {
    while (latestInput.length > 0 && latestInput[latestInput.length - 1]!.latestSec < finalSec) {
      const { k } = latestInput.pop()!;
      if (state[k] !== 0 && state[k] !== 3) continue;
      leave(k, 2);
      onReject(survivors[k]!, 'deadline', timeDetail());
    }
  };

  let winner: Evaluated | undefined;
  // Survivors reached but not final yet, by arrival (an entry per improvement; stale ones skipped).
  waiting.clear();
  // Going on with an earlier scan: the nodes it reached are waiting to be settled again.
  if (earlierScan !== undefined) {
    survivors.forEach((c, k) => {
      if (state[k] === 0 && c.graphNode >= 0 && earlierScan.arrivalSec[c.graphNode]! < Infinity) {
        state[k] = 3;
        waiting.push(k, earlierScan.arrivalSec[c.graphNode]!);
      }
    });
  }
  // Small steps first: when the best node is near (the input's own site, a ground node on fibre), little is read.
  let chunk = Math.min(FIRST_SCAN_CHUNK_CONTACTS, ctx.policy.scanChunkContacts);
  for (;;) {
    const finalSec = scan === undefined ? Infinity : scan.finalUntilSec;
    if (scan !== undefined) {
      for (const v of scan.takeImproved()) {
        const k = survivorOf[v]!;
        if (k >= 0 && (state[k] === 0 || state[k] === 3)) {
          state[k] = 3;
          waiting.push(k, scan.arrivalSec[v]!);
        }
      }
      while (waiting.size > 0 && waiting.minKey() <= finalSec) {
        const k = waiting.pop();
        if (state[k] === 3) settle(k, scan.arrivalSec[survivors[k]!.graphNode]!);
      }
      dropExpired(finalSec);
    }
    // Nothing left to come: every node is settled or turned away.
    const nothingToCome = staticMaxUnsettled() === -Infinity;
    winner = evaluateTop(finalSec === Infinity || nothingToCome ? -Infinity : boundAfter(finalSec));
    if (winner !== undefined || scan === undefined || !scan.more || nothingToCome) break;
    scan.advance(chunk);
    chunk = Math.min(chunk * 2, ctx.policy.scanChunkContacts);
  }
  let outscored = 0;
  let unreached = 0;
  for (let k = 0; k < survivors.length; k++) {
    const kState = state[k]!;
    if (winner !== undefined) {
      if (kState === 1 || kState === 3) outscored += 1;
      else if (kState === 0) unreached += 1;
    } else if (kState === 0 || kState === 3) onReject(survivors[k]!, 'deadline', timeDetail());
  }
  return { winner, evaluated, outscored, unreached, contactsScanned: scan?.contactsScanned ?? 0, nodesDrained: scan?.nodesDrained ?? 0, stoppedAtLimit, scan };
}

/** Rules under which every node accepts everything (for telling "the rules forbid it" from "nothing leaves"). */
function everyContact(nodeCount: number, orbital: Uint8Array): ContactRules {
  return { accept: new Uint8Array(nodeCount).fill(ACCEPT_FROM_GROUND | ACCEPT_FROM_ORBIT), orbital };
}

/** One backward search: the latest time each remaining candidate's result may leave and still arrive by the deadline. */
function bulkLatestDepartures(ctx: Context, survivors: readonly Candidate[], state: Uint8Array, deadlineSec: number, nowSec: number): Float64Array {
  const g = ctx.catalog.graph;
  const open = survivors.filter((c, k) => c.graphNode >= 0 && state[k] !== 2);
  const earliestFinishSec = new Float64Array(g.nodeCount);
  for (const c of open) earliestFinishSec[c.graphNode] = nowSec + (ctx.scratch.queueMs[c.index]! + ctx.job.executionMs) / MS_PER_SEC;
  const targets = ctx.targets.map((t) => ctx.catalog.graphNodeOf[t]!).filter((n) => n >= 0);
  return latestDepartures(g, ctx.subset, ctx.contactRules, { sizeBytes: ctx.job.result.sizeBytes, bookings: ctx.bookings }, targets, deadlineSec,
    Int32Array.from(open, (c) => c.graphNode), earliestFinishSec).departureSec;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(Math.round(ms)).toISOString() : String(ms);
}

function checkInputs(input: PlacementInput, catalog: NodeCatalog): void {
  const { job, plan, bookings } = input;
  if (plan.epochMs === undefined) throw new OrbitfedError('ORBITFED_PLACEMENT_PLAN_EPOCH', 'the contact plan has no absolute time base (epochMs); placement needs one', { field: 'plan' });
  if (catalog.plan !== plan) throw new OrbitfedError('ORBITFED_PLACEMENT_CATALOG_PLAN', 'the node catalog was prepared for another contact plan', { field: 'nodes' });
  if (bookings.planHash !== plan.hash) throw new OrbitfedError('ORBITFED_PLACEMENT_BOOKINGS_PLAN', `the bookings belong to plan ${bookings.planHash.slice(0, 12)}…, not ${plan.hash.slice(0, 12)}…`, { field: 'bookings' });
  if (!Number.isFinite(input.nowMs)) throw new OrbitfedError('ORBITFED_PLACEMENT_NOW', `nowMs must be a finite Unix time (got ${input.nowMs})`, { field: 'nowMs' });
  if (catalog.indexOf(job.input.location) === undefined) {
    throw new OrbitfedError('ORBITFED_PLACEMENT_UNKNOWN_NODE', `input location ${job.input.location} is not a registered node`, { field: '/input/location' });
  }
  job.result.deliverTo.forEach((id, i) => {
    const index = catalog.indexOf(id);
    if (index === undefined) throw new OrbitfedError('ORBITFED_PLACEMENT_UNKNOWN_NODE', `deliverTo station ${id} is not a registered node`, { field: `/result/deliverTo/${i}` });
    if (catalog.nodes[index]!.kind !== 'ground') throw new OrbitfedError('ORBITFED_PLACEMENT_NOT_A_STATION', `deliverTo ${id} is an orbital node, not a ground station`, { field: `/result/deliverTo/${i}` });
  });
}

/**
 * Per plan node: may it receive the job's data from the ground, from orbit (sovereignty)? Any node
 * that may hold the data may receive it from the ground, and orbital nodes from orbit too
 * (inter-satellite links); a node on the ground receives from orbit only under the downlink rule.
 */
function contactRulesOf(catalog: NodeCatalog, rules: SovereigntyRules): ContactRules {
  const g = catalog.graph;
  const accept = new Uint8Array(g.nodeCount);
  const downlinkRule = hasDownlinkRule(rules);
  const orbital = catalog.orbitalByGraphNode;
  for (let n = 0; n < g.nodeCount; n++) {
    const i = catalog.catalogIndexOf[n]!;
    const node = i >= 0 ? catalog.nodes[i] : undefined;
    if (!mayRestAt(rules, node)) continue;
    const fromOrbit = orbital[n] === 1 || !downlinkRule || mayReceiveDownlink(rules, node);
    accept[n] = ACCEPT_FROM_GROUND | (fromOrbit ? ACCEPT_FROM_ORBIT : 0);
  }
  return { accept, orbital };
}

/** Catalog indices of the ground stations the result may be delivered to: those of `deliverTo` (all when empty) that sovereignty allows. */
function deliveryTargets(catalog: NodeCatalog, deliverTo: readonly string[], rules: SovereigntyRules): number[] {
  const indices = deliverTo.length === 0 ? catalog.nodes.map((_, i) => i) : deliverTo.map((id) => catalog.indexOf(id)!);
  return indices.filter((i) => {
    const node = catalog.nodes[i]!;
    return node.kind === 'ground' && mayRestAt(rules, node) && mayReceiveDownlink(rules, node);
  });
}

/** The earliest start ≥ `readyMs` whose run [start, start + executionMs) overlaps none of the node's blackouts. */
export function afterBlackouts(node: NodeSpec, readyMs: number, executionMs: number): number {
  let startMs = readyMs;
  // Each pass either moves past one blackout or finds none overlapping: at most one pass per blackout, plus one.
  for (let pass = 0; pass <= node.blackouts.length; pass++) {
    let moved = false;
    for (const b of node.blackouts) {
      if (startMs < b.endMs && b.startMs < startMs + executionMs) {
        startMs = b.endMs;
        moved = true;
      }
    }
    if (!moved) return startMs;
  }
  return startMs;
}

/** Contact indices from the input's location to graph node `node` along the forward scan's parents. */
function inputContactsOf(ctx: Context, scan: ForwardScan | undefined, c: Candidate): number[] {
  if (c.index === ctx.locationIndex || scan === undefined) return [];
  const g = ctx.catalog.graph;
  const contacts: number[] = [];
  for (let n = c.graphNode; n !== ctx.locationNode; n = g.from[contacts[contacts.length - 1]!]!) {
    const contact = scan.parentContact[n]!;
    assert.ok(contact >= 0 && contacts.length <= g.nodeCount, 'the input route leads back to the input location');
    contacts.push(contact);
  }
  return contacts.reverse();
}

/** Exact evaluation of one settled candidate: footprint (satellites), the result's earliest arrival, the score. */
function evaluate(
  entry: Entry, ctx: Context, scan: ForwardScan | undefined, deadlineMs: number, weights: ScoreWeights,
  onReject: (c: Candidate, reason: RejectionReason, detail: string) => void, timeDetail: () => string,
): Evaluated | undefined {
  const { job, catalog, epochMs } = ctx;
  const c = entry.candidate;
  const g = catalog.graph;
  let startMs = entry.startMs;
  if (ctx.rules.footprint !== undefined && c.node.kind === 'orbital') {
    const tracks = catalog.groundTracks;
    if (tracks === undefined || c.node.noradId === undefined || !tracks.has(c.node.noradId)) {
      onReject(c, 'processing-footprint', tracks === undefined ? 'no country borders loaded: the ground track cannot be checked' : 'no orbital elements for the satellite: its ground track is unknown');
      return undefined;
    }
    const allowed = new Uint8Array(tracks.borders.countries.length);
    tracks.borders.countries.forEach((code, i) => (allowed[i] = ctx.rules.footprint!.has(code) ? 1 : 0));
    // The footprint and the blackouts may each move the start; alternate until both hold (bounded).
    for (let round = 0; ; round++) {
      const inside = tracks.earliestInside(c.node.noradId, allowed, startMs, deadlineMs - job.executionMs, job.executionMs);
      if (inside === undefined || round > c.node.blackouts.length) {
        onReject(c, 'processing-footprint', 'its sub-point does not stay inside the allowed territory for a whole run before the deadline (ground track sampled every 10 s)');
        return undefined;
      }
      const clear = afterBlackouts(c.node, inside, job.executionMs);
      if (clear === inside) {
        startMs = inside;
        break;
      }
      startMs = clear;
    }
  }
  const finishMs = startMs + job.executionMs;
  const inputContacts = inputContactsOf(ctx, scan, c);
  const extra = new Map<number, number>();
  for (const contact of inputContacts) extra.set(contact, job.input.sizeBytes);
  const resultTransfer: Transfer = { sizeBytes: job.result.sizeBytes, bookings: ctx.bookings, extraBookedBytes: extra.size > 0 ? extra : undefined };
  const finishSec = (finishMs - epochMs) / MS_PER_SEC;
  const result = c.graphNode < 0
    ? (ctx.targets.includes(c.index) ? { arrivalSec: finishSec, target: -1, contacts: [] as number[] } : undefined)
    : earliestArrivalAt(g, ctx.contactRules, resultTransfer, c.graphNode, finishSec, ctx.isTarget, (deadlineMs - epochMs) / MS_PER_SEC, catalog.scratch.targeted);
  if (result === undefined) {
    onReject(c, 'deadline', timeDetail());
    return undefined;
  }
  const resultArrivalMs = epochMs + result.arrivalSec * MS_PER_SEC;
  const { cost, reputation, spread } = ctx.scratch;
  const staticParts = { cost: cost[c.index]!, reputation: reputation[c.index]!, spread: spread[c.index]! };
  const { score, parts } = scoreOf(weights, staticParts, resultArrivalMs, deadlineMs, deadlineMs - ctx.nowMs);
  const resultStation = result.target >= 0 ? catalog.catalogIndexOf[result.target]! : c.index;
  return {
    candidate: c, inputArrivalSec: entry.arrivalSec, startMs, finishMs, inputContacts, resultContacts: result.contacts, resultArrivalSec: result.arrivalSec,
    resultStation, score, scoreParts: parts,
  };
}

/** Re-derives every hop of a contact chain from the plan; undefined when a hop cannot carry the data. */
function routeOfContacts(ctx: Context, contacts: readonly number[], readySec: number, transfer: Transfer): Route | undefined {
  const g = ctx.catalog.graph;
  const hops: RouteHop[] = [];
  let atSec = readySec;
  let terminationSec = Infinity;
  for (const c of contacts) {
    const arrivalSec = hopArrivalSec(g, transfer, c, atSec);
    if (Number.isNaN(arrivalSec)) return undefined;
    if (hops.length > 0 && g.ipnOfNode[g.from[c]!] !== hops[hops.length - 1]!.to) return undefined;
    hops.push({ contact: c, from: g.ipnOfNode[g.from[c]!]!, to: g.ipnOfNode[g.to[c]!]!, startSec: g.startSec[c]!, endSec: g.endSec[c]!, txStartSec: hopTxStartSec(g, transfer, c, atSec), arrivalSec });
    terminationSec = Math.min(terminationSec, g.endSec[c]!);
    atSec = arrivalSec;
  }
  // A route without hops (the data is already there) terminates when it arrives.
  return { arrivalSec: atSec, terminationSec: hops.length === 0 ? atSec : terminationSec, hops };
}

/** Whether every hop of a route keeps to the job's contact rules. */
function keepsRules(ctx: Context, route: Route): boolean {
  const g = ctx.catalog.graph;
  return route.hops.every((h) => {
    const from = g.nodeByIpn.get(h.from)!;
    const to = g.nodeByIpn.get(h.to)!;
    return (ctx.contactRules.accept[to]! & (ctx.contactRules.orbital[from] === 1 ? ACCEPT_FROM_ORBIT : ACCEPT_FROM_GROUND)) !== 0;
  });
}

/**
 * The CGR best route when it arrives as early as `ours` and shares no contact with `avoid`; else
 * ours. Only for jobs whose sovereignty leaves every contact usable: contact-plans' RouteQuery
 * cannot exclude nodes, so under atRest or downlink rules CGR would look for routes through nodes
 * the job may not use, and ours (the same hop semantics, restricted) is the route.
 */
function preferCgr(ctx: Context, ours: Route, fromIpn: number, toIpn: number, atSec: number, sizeBytes: number, avoid: readonly number[]): Route {
  if (!ctx.policy.cgrRoutes || ours.hops.length === 0 || restrictsRoutes(ctx.rules)) return ours;
  let cgr: Route | undefined;
  try {
    cgr = bestRoute(ctx.catalog.plan, { from: fromIpn, to: toIpn, atSec, sizeBytes, bookings: ctx.bookings, deadlineSec: ours.arrivalSec });
  } catch (error) {
    // A search past CGR's work bound keeps our route, which is exact too.
    if (error instanceof OrbitfedError && error.code === 'ORBITFED_CGR_WORK_LIMIT') return ours;
    throw error;
  }
  if (cgr === undefined || cgr.arrivalSec > ours.arrivalSec || !keepsRules(ctx, cgr) || cgr.hops.some((h) => avoid.includes(h.contact))) return ours;
  return cgr;
}

/** Step 4: the winner's routes, checked, and what the tenant reads. */
function placedOf(best: Evaluated, ctx: Context, explanation: string[], outcome: Outcome): Placed {
  const { job, catalog, epochMs } = ctx;
  const c = best.candidate;
  const g = catalog.graph;
  const nowSec = (ctx.nowMs - epochMs) / MS_PER_SEC;
  const inputTransfer: Transfer = { sizeBytes: job.input.sizeBytes, bookings: ctx.bookings };
  const oursIn = routeOfContacts(ctx, best.inputContacts, nowSec, inputTransfer);
  assert.ok(oursIn !== undefined && oursIn.arrivalSec === best.inputArrivalSec, 'the input route re-derived from the plan arrives when the search said');
  // The result's arrival counted the input's bytes on contacts the two share: CGR's input route may
  // replace ours only when neither shares a contact with the result's route.
  const resultContacts = new Set(best.resultContacts);
  const cgrIn = c.index === ctx.locationIndex || best.inputContacts.some((x) => resultContacts.has(x))
    ? oursIn
    : preferCgr(ctx, oursIn, g.ipnOfNode[ctx.locationNode]!, c.node.ipn, nowSec, job.input.sizeBytes, best.resultContacts);
  const inputRoute = cgrIn;
  const extra = new Map<number, number>(inputRoute.hops.map((h) => [h.contact, job.input.sizeBytes]));
  const resultTransfer: Transfer = { sizeBytes: job.result.sizeBytes, bookings: ctx.bookings, extraBookedBytes: extra.size > 0 ? extra : undefined };
  const finishSec = (best.finishMs - epochMs) / MS_PER_SEC;
  const oursOut = routeOfContacts(ctx, best.resultContacts, finishSec, resultTransfer);
  assert.ok(oursOut !== undefined && oursOut.arrivalSec === best.resultArrivalSec, 'the result route re-derived from the plan arrives when the search said');
  const station = catalog.nodes[best.resultStation]!;
  const resultRoute = preferCgr(ctx, oursOut, c.node.ipn, station.ipn, finishSec, job.result.sizeBytes, inputRoute.hops.map((h) => h.contact));
  const inputArrivalMs = epochMs + inputRoute.arrivalSec * MS_PER_SEC;
  const resultArrivalMs = epochMs + resultRoute.arrivalSec * MS_PER_SEC;
  assert.ok(resultArrivalMs <= job.deadlineMs, 'the placed result arrives by the deadline');
  const location = job.input.location;
  explanation.push(
    `Chosen ${c.node.id} (${c.node.kind}, operator ${c.node.operator}): score ${best.score.toFixed(4)} (${Object.entries(best.scoreParts).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}).`,
    `${outcome.evaluated} node(s) evaluated exactly; ${outcome.outscored} more were reached but could not score higher, and ${outcome.unreached} could not get the input early enough to score higher (${outcome.contactsScanned} contacts read, ${outcome.nodesDrained} nodes reached).${outcome.stoppedAtLimit ? ' Evaluation stopped at its limit; the best node evaluated was chosen.' : ''}`,
    c.index === ctx.locationIndex
      ? `The input is already at ${location}.`
      : `The input (${job.input.sizeBytes} bytes) leaves ${location} at ${iso(ctx.nowMs)} and reaches ${c.node.id} at ${iso(inputArrivalMs)} over ${inputRoute.hops.length} contact(s).`,
    `It runs from ${iso(best.startMs)} to ${iso(best.finishMs)}${best.startMs > Math.max(inputArrivalMs, ctx.nowMs + ctx.scratch.queueMs[c.index]!) ? ' (the start waits for blackouts or the processing footprint)' : ''}.`,
    resultRoute.hops.length === 0
      ? `The result stays at ${station.id}, an allowed delivery station.`
      : `The result (${job.result.sizeBytes} bytes) reaches ${station.id} at ${iso(resultArrivalMs)} over ${resultRoute.hops.length} contact(s), ${((job.deadlineMs - resultArrivalMs) / 60_000).toFixed(1)} min before the deadline.`,
  );
  return {
    nodeId: c.node.id, inputRoute, resultRoute, inputArrivalMs, startMs: best.startMs, finishMs: best.finishMs, resultArrivalMs, resultStation: station.id,
    priceMinor: { currency: job.maxPriceMinor.currency, amount: priceMinorOf(job, c.node).toString() },
    score: best.score, scoreParts: best.scoreParts,
  };
}

/** Books the input and the result route's volume for a placement, both or neither (ORBITFED_ROUTE_VOLUME when a hop lacks room). */
export function reservePlacement(bookings: ContactBookings, placed: Placed, job: JobSpec): void {
  if (placed.inputRoute.hops.length > 0) bookings.book(placed.inputRoute, job.input.sizeBytes);
  try {
    if (placed.resultRoute.hops.length > 0) bookings.book(placed.resultRoute, job.result.sizeBytes);
  } catch (error) {
    if (placed.inputRoute.hops.length > 0) bookings.release(placed.inputRoute, job.input.sizeBytes);
    throw error;
  }
}

/** Gives back what `reservePlacement` booked (when a placement changes or its job ends). */
export function releasePlacement(bookings: ContactBookings, placed: Placed, job: JobSpec): void {
  if (placed.resultRoute.hops.length > 0) bookings.release(placed.resultRoute, job.result.sizeBytes);
  if (placed.inputRoute.hops.length > 0) bookings.release(placed.inputRoute, job.input.sizeBytes);
}
