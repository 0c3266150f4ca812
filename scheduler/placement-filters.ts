// Placement's node filters (the "filter" extension point of the Kubernetes scheduling framework):
// each looks at one node and the job and says why the node cannot take it, or nothing. They run
// in a fixed order and the first failure is the node's reason, so every rejected node is counted
// once, under the filter that a tenant can most easily act on first.
import { jobRuntime, type JobSpec } from './job-spec.ts';
import { REPUTATION_PPM_DEFAULT, type NodeSpec } from './node-spec.ts';
import type { NodeCatalog } from './placement-catalog.ts';
import { groundInFootprint, mayRestAt, type SovereigntyRules } from './sovereignty.ts';

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

/** Whether the node's price exceeds the job's maximum, exactly (integers only when the float estimate is too close to tell). */
function overPrice(job: JobSpec, node: NodeSpec): boolean {
  const estimate = priceMinorEstimate(job, node);
  const max = job.maxPriceMinor.amount;
  if (estimate < max - 1 - max * 1e-9) return false;
  if (estimate > max + 1 + max * 1e-9) return true;
  return priceMinorOf(job, node) > BigInt(max);
}

/** The first filter the node fails, or undefined when it passes them all. */
export function filterNode(ctx: FilterContext, node: NodeSpec, index: number): FilterVerdict | undefined {
  const { job, rules } = ctx;
  const orbital = job.orbital ?? 'allowed';
  if (orbital === 'required' && node.kind !== 'orbital') return { reason: 'orbital', detail: 'the job must run in orbit' };
  if (orbital === 'forbidden' && node.kind === 'orbital') return { reason: 'orbital', detail: 'the job must not run in orbit' };
  if (job.affinity?.nodes !== undefined && !job.affinity.nodes.includes(node.id)) return { reason: 'affinity', detail: 'not one of affinity.nodes' };
  if (job.affinity?.operators !== undefined && !job.affinity.operators.includes(node.operator)) return { reason: 'affinity', detail: 'operator not in affinity.operators' };
  if (job.antiAffinity?.nodes?.includes(node.id) === true) return { reason: 'affinity', detail: 'listed in antiAffinity.nodes' };
  if (job.antiAffinity?.operators?.includes(node.operator) === true) return { reason: 'affinity', detail: 'operator listed in antiAffinity.operators' };
  if (job.architecture !== undefined && node.architecture !== job.architecture) return { reason: 'architecture', detail: `not ${job.architecture}` };
  const runtime = jobRuntime(job);
  if (!node.runtimes.includes(runtime)) return { reason: 'runtime', detail: `no ${runtime} runtime` };
  const load = ctx.load?.get(node.id);
  if (node.resources.cpu - (load?.cpuInUse ?? 0) < job.resources.cpu) return { reason: 'resources', detail: `fewer than ${job.resources.cpu} cores free` };
  if (node.resources.memoryBytes - (load?.memoryBytesInUse ?? 0) < job.resources.memoryBytes) return { reason: 'resources', detail: `less than ${job.resources.memoryBytes} bytes of memory free` };
  if (node.resources.diskBytes < (job.resources.diskBytes ?? 0)) return { reason: 'resources', detail: `less than ${job.resources.diskBytes} bytes of disk` };
  if (node.resources.gpu < (job.resources.gpu ?? 0)) return { reason: 'resources', detail: `fewer than ${job.resources.gpu} GPUs` };
  const auditors = ctx.catalog.auditors[index]!;
  const missing = job.attestations?.allOf?.find((a) => !auditors.has(a));
  if (missing !== undefined) return { reason: 'attestations', detail: `no valid attestation by ${missing} (allOf)` };
  const anyOf = job.attestations?.anyOf;
  if (anyOf !== undefined && anyOf.length > 0 && !anyOf.some((a) => auditors.has(a))) return { reason: 'attestations', detail: `no valid attestation by any of ${anyOf.join(', ')} (anyOf)` };
  const floorPpm = Math.max(ctx.reputationFloorPpm, job.minReputationPpm ?? 0);
  if (reputationOf(ctx, node) < floorPpm) return { reason: 'reputation', detail: `reputation below ${floorPpm} ppm` };
  if (node.pricePerHourMinor.currency !== job.maxPriceMinor.currency) return { reason: 'price', detail: `prices in another currency than ${job.maxPriceMinor.currency}` };
  if (overPrice(job, node)) return { reason: 'price', detail: `estimated price above ${job.maxPriceMinor.amount} ${job.maxPriceMinor.currency}` };
  if (!mayRestAt(rules, node)) {
    return { reason: 'sovereignty-at-rest', detail: node.kind === 'ground' ? 'its country is not allowed to hold the data' : 'its state of registry or operator jurisdiction is not allowed to hold the data' };
  }
  if (node.kind === 'ground' && !groundInFootprint(rules, node)) return { reason: 'processing-footprint', detail: 'its country is outside the processing footprint' };
  return undefined;
}
