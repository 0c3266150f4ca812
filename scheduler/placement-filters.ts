// Placement's node filters (the "filter" extension point of the Kubernetes scheduling framework):
// each looks at one node and the job and says why the node cannot take it, or nothing. They run
// in a fixed order — orbital policy, affinity, architecture, runtime, resources, attestations,
// reputation, currency, sovereignty at rest, processing footprint of ground nodes, price (the
// costliest last) — and the first failure is the node's reason, so every rejected node is counted
// once.
import { jobRuntime, type JobSpec } from './job-spec.ts';
import { REPUTATION_PPM_DEFAULT, type NodeSpec } from './node-spec.ts';
import type { NodeCatalog } from './placement-catalog.ts';
import { groundInFootprint, type SovereigntyRules } from './sovereignty.ts';

export type RejectionReason =
  | 'orbital' | 'affinity' | 'architecture' | 'runtime' | 'resources' | 'attestations' | 'reputation' | 'price'
  | 'sovereignty-at-rest' | 'sovereignty-downlink' | 'processing-footprint' | 'blackout' | 'deadline' | 'no-route';

/** What placed and running jobs already ask of a node. */
export interface NodeLoad {
  /** Execution time of the jobs waiting for the node (placed or dispatched, not yet running). */
  readonly queuedExecutionMs: number;
  readonly cpuInUse: number;
  readonly memoryBytesInUse: number;
}

export interface FilterContext {
  readonly job: JobSpec;
  readonly rules: SovereigntyRules;
  readonly catalog: NodeCatalog;
  /** Per catalog index: 1 when the node may hold the job's data (`mayRestAt`), computed once per set of rules. */
  readonly restOk: Uint8Array;
  readonly load: ReadonlyMap<string, NodeLoad> | undefined;
  readonly reputationPpm: ReadonlyMap<string, number> | undefined;
  readonly reputationFloorPpm: number;
}

export interface FilterVerdict {
  readonly reason: RejectionReason;
  /** Why, in words shared by all nodes failing the same way (so they group). */
  readonly detail: string;
}

const GIB = 2n ** 30n;
const MS_PER_HOUR = 3_600_000n;
const MILLI = 1000n;

/** The node's reputation: the ledger's (input), else the spec's, else the default 500,000 ppm. */
export function reputationOf(ctx: Pick<FilterContext, 'reputationPpm'>, node: NodeSpec): number {
  return ctx.reputationPpm?.get(node.id) ?? node.reputationPpm ?? REPUTATION_PPM_DEFAULT;
}

/**
 * Estimated price in minor units, rounded up: executionHours × (cores × cpu + GiB × memoryGiB +
 * GPUs × gpu) at the node's hourly prices. Exact in integers: cores are counted in millicores
 * (Kubernetes' unit; a request of 0.0005 cores bills as 0.001), memory in bytes.
 */
export function priceMinorOf(job: JobSpec, node: NodeSpec): bigint {
  const price = node.pricePerHourMinor;
  const milliCpu = BigInt(Math.ceil(job.resources.cpu * 1000 - 1e-9));
  const perHourTimesMilliGib = milliCpu * BigInt(price.cpu) * GIB
    + BigInt(job.resources.memoryBytes) * BigInt(price.memoryGiB) * MILLI
    + BigInt(job.resources.gpu ?? 0) * BigInt(price.gpu) * MILLI * GIB;
  const numerator = BigInt(job.executionMs) * perHourTimesMilliGib;
  const denominator = MS_PER_HOUR * MILLI * GIB;
  return (numerator + denominator - 1n) / denominator;
}

/**
 * The same price as a float (relative error below 1e-12): for the cost score, and to decide the
 * price filter without integers unless the price is within a unit of the maximum.
 */
export function priceMinorEstimate(job: JobSpec, node: NodeSpec): number {
  const price = node.pricePerHourMinor;
  const milliCpu = Math.ceil(job.resources.cpu * 1000 - 1e-9);
  const perHour = (milliCpu / 1000) * price.cpu + (job.resources.memoryBytes / 2 ** 30) * price.memoryGiB + (job.resources.gpu ?? 0) * price.gpu;
  return (job.executionMs / 3_600_000) * perHour;
}

/**
 * `priceMinorOf` as a number, computed in floats and exactly rounded up: integers are used only when
 * the float lands within 1e-6 of a whole unit (where its rounding could go either way), or beyond 2^50.
 */
export function priceMinorNumber(job: JobSpec, node: NodeSpec): number {
  const estimate = priceMinorEstimate(job, node);
  if (estimate > 2 ** 50 || Math.abs(estimate - Math.round(estimate)) < 1e-6) return Number(priceMinorOf(job, node));
  return Math.ceil(estimate);
}

/** Whether the node's price exceeds the job's maximum, exactly. */
function overPrice(job: JobSpec, node: NodeSpec): boolean {
  return priceMinorNumber(job, node) > job.maxPriceMinor.amount;
}

/** Every verdict a job's filters can give, built once per placement (nodes failing alike share one object and one text). */
export interface FilterVerdicts {
  readonly orbitalRequired: FilterVerdict;
  readonly orbitalForbidden: FilterVerdict;
  readonly affinityNode: FilterVerdict;
  readonly affinityOperator: FilterVerdict;
  readonly antiAffinityNode: FilterVerdict;
  readonly antiAffinityOperator: FilterVerdict;
  readonly architecture: FilterVerdict;
  readonly runtime: FilterVerdict;
  readonly cpu: FilterVerdict;
  readonly memory: FilterVerdict;
  readonly disk: FilterVerdict;
  readonly gpu: FilterVerdict;
  readonly allOf: ReadonlyMap<string, FilterVerdict>;
  readonly anyOf: FilterVerdict;
  readonly reputation: FilterVerdict;
  readonly currency: FilterVerdict;
  readonly price: FilterVerdict;
  readonly atRestGround: FilterVerdict;
  readonly atRestOrbital: FilterVerdict;
  readonly footprint: FilterVerdict;
}

export function filterVerdicts(job: JobSpec, reputationFloorPpm: number): FilterVerdicts {
  const floorPpm = Math.max(reputationFloorPpm, job.minReputationPpm ?? 0);
  return {
    orbitalRequired: { reason: 'orbital', detail: 'the job must run in orbit' },
    orbitalForbidden: { reason: 'orbital', detail: 'the job must not run in orbit' },
    affinityNode: { reason: 'affinity', detail: 'not one of affinity.nodes' },
    affinityOperator: { reason: 'affinity', detail: 'operator not in affinity.operators' },
    antiAffinityNode: { reason: 'affinity', detail: 'listed in antiAffinity.nodes' },
    antiAffinityOperator: { reason: 'affinity', detail: 'operator listed in antiAffinity.operators' },
    architecture: { reason: 'architecture', detail: `not ${job.architecture}` },
    runtime: { reason: 'runtime', detail: `no ${jobRuntime(job)} runtime` },
    cpu: { reason: 'resources', detail: `fewer than ${job.resources.cpu} cores free` },
    memory: { reason: 'resources', detail: `less than ${job.resources.memoryBytes} bytes of memory free` },
    disk: { reason: 'resources', detail: `less than ${job.resources.diskBytes} bytes of disk` },
    gpu: { reason: 'resources', detail: `fewer than ${job.resources.gpu} GPUs` },
    allOf: new Map((job.attestations?.allOf ?? []).map((a) => [a, { reason: 'attestations', detail: `no valid attestation by ${a} (allOf)` }])),
    anyOf: { reason: 'attestations', detail: `no valid attestation by any of ${(job.attestations?.anyOf ?? []).join(', ')} (anyOf)` },
    reputation: { reason: 'reputation', detail: `reputation below ${floorPpm} ppm` },
    currency: { reason: 'price', detail: `prices in another currency than ${job.maxPriceMinor.currency}` },
    price: { reason: 'price', detail: `estimated price above ${job.maxPriceMinor.amount} ${job.maxPriceMinor.currency}` },
    atRestGround: { reason: 'sovereignty-at-rest', detail: 'its country is not allowed to hold the data' },
    atRestOrbital: { reason: 'sovereignty-at-rest', detail: 'its state of registry or operator jurisdiction is not allowed to hold the data' },
    footprint: { reason: 'processing-footprint', detail: 'its country is outside the processing footprint' },
  };
}

/** The first filter the node fails, or undefined when it passes them all. */
export function filterNode(ctx: FilterContext, verdicts: FilterVerdicts, node: NodeSpec, index: number): FilterVerdict | undefined {
  const { job, rules } = ctx;
  const orbital = job.orbital ?? 'allowed';
  if (orbital === 'required' && node.kind !== 'orbital') return verdicts.orbitalRequired;
  if (orbital === 'forbidden' && node.kind === 'orbital') return verdicts.orbitalForbidden;
  if (job.affinity?.nodes !== undefined && !job.affinity.nodes.includes(node.id)) return verdicts.affinityNode;
  if (job.affinity?.operators !== undefined && !job.affinity.operators.includes(node.operator)) return verdicts.affinityOperator;
  if (job.antiAffinity?.nodes?.includes(node.id) === true) return verdicts.antiAffinityNode;
  if (job.antiAffinity?.operators?.includes(node.operator) === true) return verdicts.antiAffinityOperator;
  if (job.architecture !== undefined && node.architecture !== job.architecture) return verdicts.architecture;
  if (!node.runtimes.includes(jobRuntime(job))) return verdicts.runtime;
  const load = ctx.load?.get(node.id);
  if (node.resources.cpu - (load?.cpuInUse ?? 0) < job.resources.cpu) return verdicts.cpu;
  if (node.resources.memoryBytes - (load?.memoryBytesInUse ?? 0) < job.resources.memoryBytes) return verdicts.memory;
  if (node.resources.diskBytes < (job.resources.diskBytes ?? 0)) return verdicts.disk;
  if (node.resources.gpu < (job.resources.gpu ?? 0)) return verdicts.gpu;
  const attestations = job.attestations;
  if (attestations !== undefined) {
    const auditors = ctx.catalog.auditors[index]!;
    const missing = attestations.allOf?.find((a) => !auditors.has(a));
    if (missing !== undefined) return verdicts.allOf.get(missing)!;
    const anyOf = attestations.anyOf;
    if (anyOf !== undefined && anyOf.length > 0 && !anyOf.some((a) => auditors.has(a))) return verdicts.anyOf;
  }
  if (reputationOf(ctx, node) < Math.max(ctx.reputationFloorPpm, job.minReputationPpm ?? 0)) return verdicts.reputation;
  if (node.pricePerHourMinor.currency !== job.maxPriceMinor.currency) return verdicts.currency;
  if (ctx.restOk[index] === 0) return node.kind === 'ground' ? verdicts.atRestGround : verdicts.atRestOrbital;
  if (node.kind === 'ground' && !groundInFootprint(rules, node)) return verdicts.footprint;
  if (overPrice(job, node)) return verdicts.price;
  return undefined;
}
