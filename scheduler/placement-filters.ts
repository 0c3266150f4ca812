// Placement's node filters (the "filter" extension point of the Kubernetes scheduling framework):
// each looks at one node and the job and says why the node cannot take it, or nothing. They run
// in a fixed order — orbital policy, affinity, architecture, runtime, resources, attestations,
// reputation, currency, sovereignty at rest, processing footprint of ground nodes, price (the
// costliest last) — and the first failure is the node's reason, so every rejected node is counted
// once.
import { OrbitfedError } from '../common/index.ts';
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
export function reputationOf(ctx: Pick<FilterContext, 'reputationPpm' | 'catalog'>, index: number): number {
  const fromLedger = ctx.reputationPpm === undefined ? undefined : ctx.reputationPpm.get(ctx.catalog.ids[index]!);
  return fromLedger ?? ctx.catalog.filterColumns.specReputationPpm[index]!;
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

/**
 * The catalog's nodes as columns for the filters: one typed array per attribute they read, and the
 * strings they compare (architecture, runtimes, currency) as small codes. Built once per catalog;
 * 5,000 nodes' specs, each object of its own shape, cost ~170 ns a node to filter, the columns
 * a tenth of that.
 */
export interface FilterColumns {
  readonly orbital: Uint8Array;
  /**
   * Per node: the index after the last of the consecutive nodes of its kind (orbital or ground)
   * starting there, so a job's orbital policy turns a whole run away at once.
   */
  readonly kindRunEnd: Int32Array;
  readonly architectureCode: Int32Array;
  readonly architectureCodes: ReadonlyMap<string, number>;
  /** Per node: one bit per runtime it offers (`runtimeBits`). */
  readonly runtimeMask: Int32Array;
  readonly runtimeBits: ReadonlyMap<string, number>;
  readonly cpu: Float64Array;
  readonly memoryBytes: Float64Array;
  readonly diskBytes: Float64Array;
  readonly gpu: Float64Array;
  /** The spec's reputation (or the default); the ledger's, when the caller gives it, is looked up instead. */
  readonly specReputationPpm: Float64Array;
  /** The least of each column (NaN when one is NaN): a job asking no more than it fails no node there, and the column is not read. */
  readonly diskBytesMin: number;
  readonly gpuMin: number;
  readonly specReputationPpmMin: number;
  readonly currencyCode: Int32Array;
  readonly currencyCodes: ReadonlyMap<string, number>;
  readonly priceCpu: Float64Array;
  readonly priceMemoryGiB: Float64Array;
  readonly priceGpu: Float64Array;
}

function codesOf(values: readonly string[]): { codes: Int32Array; byName: Map<string, number> } {
  const byName = new Map<string, number>();
  const codes = Int32Array.from(values, (v) => {
    let code = byName.get(v);
    if (code === undefined) byName.set(v, (code = byName.size));
    return code;
  });
  return { codes, byName };
}

export function filterColumnsOf(nodes: readonly NodeSpec[]): FilterColumns {
  const architecture = codesOf(nodes.map((n) => n.architecture));
  const currency = codesOf(nodes.map((n) => n.pricePerHourMinor.currency));
  const runtimeBits = new Map<string, number>();
  const runtimeMask = Int32Array.from(nodes, (n) => {
    let mask = 0;
    for (const r of n.runtimes) {
      let bit = runtimeBits.get(r);
      if (bit === undefined) runtimeBits.set(r, (bit = 1 << runtimeBits.size));
      mask |= bit;
    }
    return mask;
  });
  // NodeSpecSchema allows two runtimes; a 31-bit mask is far from its end.
  if (runtimeBits.size > 30) throw new OrbitfedError('ORBITFED_PLACEMENT_CATALOG', `${runtimeBits.size} distinct runtimes; the filters tell at most 30 apart`, { field: 'nodes' });
  const orbital = Uint8Array.from(nodes, (n) => (n.kind === 'orbital' ? 1 : 0));
  const diskBytes = Float64Array.from(nodes, (n) => n.resources.diskBytes);
  const gpu = Float64Array.from(nodes, (n) => n.resources.gpu);
  const specReputationPpm = Float64Array.from(nodes, (n) => n.reputationPpm ?? REPUTATION_PPM_DEFAULT);
  const min = (column: Float64Array): number => column.reduce((least, v) => Math.min(least, v), Infinity);
  const kindRunEnd = new Int32Array(nodes.length);
  for (let i = nodes.length - 1; i >= 0; i--) kindRunEnd[i] = i + 1 < nodes.length && orbital[i + 1] === orbital[i] ? kindRunEnd[i + 1]! : i + 1;
  return {
    orbital, kindRunEnd,
    architectureCode: architecture.codes, architectureCodes: architecture.byName,
    runtimeMask, runtimeBits,
    cpu: Float64Array.from(nodes, (n) => n.resources.cpu),
    memoryBytes: Float64Array.from(nodes, (n) => n.resources.memoryBytes),
    diskBytes, gpu, specReputationPpm,
    diskBytesMin: min(diskBytes), gpuMin: min(gpu), specReputationPpmMin: min(specReputationPpm),
    currencyCode: currency.codes, currencyCodes: currency.byName,
    priceCpu: Float64Array.from(nodes, (n) => n.pricePerHourMinor.cpu),
    priceMemoryGiB: Float64Array.from(nodes, (n) => n.pricePerHourMinor.memoryGiB),
    priceGpu: Float64Array.from(nodes, (n) => n.pricePerHourMinor.gpu),
  };
}

/** What the filters compare of one job, resolved once per placement. */
export interface JobFilter {
  readonly orbital: 'allowed' | 'required' | 'forbidden';
  readonly affinityNodes: ReadonlySet<string> | undefined;
  readonly affinityOperators: ReadonlySet<string> | undefined;
  readonly antiAffinityNodes: ReadonlySet<string> | undefined;
  readonly antiAffinityOperators: ReadonlySet<string> | undefined;
  /** −2: any architecture; −1: one no node has. */
  readonly architectureCode: number;
  /** 0 when no node offers the job's runtime. */
  readonly runtimeBit: number;
  readonly cpu: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly gpu: number;
  readonly floorPpm: number;
  /** Auditors that must all have attested the node, or undefined. */
  readonly allOf: readonly string[] | undefined;
  /** Auditors of which one must have, or undefined (also for an empty list). */
  readonly anyOf: readonly string[] | undefined;
  /** The catalog's bits (NodeCatalog.auditorBits) of allOf and anyOf; allOfKnown: every allOf auditor has a bit. */
  readonly allOfMask: number;
  readonly allOfKnown: boolean;
  readonly anyOfMask: number;
  readonly currencyCode: number;
  /** The job's factors of the price in floats: cores (whole millicores), GiB of memory, hours of execution. */
  readonly cores: number;
  readonly memoryGiB: number;
  readonly executionHours: number;
}

export function jobFilterOf(job: JobSpec, catalog: NodeCatalog, reputationFloorPpm: number): JobFilter {
  const columns = catalog.filterColumns;
  const set = (list: readonly string[] | undefined): ReadonlySet<string> | undefined => (list === undefined ? undefined : new Set(list));
  const bitOf = (auditor: string): number => catalog.auditorBits?.get(auditor) ?? 0;
  const allOf = job.attestations?.allOf;
  return {
    orbital: job.orbital ?? 'allowed',
    affinityNodes: set(job.affinity?.nodes), affinityOperators: set(job.affinity?.operators),
    antiAffinityNodes: set(job.antiAffinity?.nodes), antiAffinityOperators: set(job.antiAffinity?.operators),
    architectureCode: job.architecture === undefined ? -2 : columns.architectureCodes.get(job.architecture) ?? -1,
    runtimeBit: columns.runtimeBits.get(jobRuntime(job)) ?? 0,
    cpu: job.resources.cpu, memoryBytes: job.resources.memoryBytes, diskBytes: job.resources.diskBytes ?? 0, gpu: job.resources.gpu ?? 0,
    floorPpm: Math.max(reputationFloorPpm, job.minReputationPpm ?? 0),
    allOf,
    allOfMask: (allOf ?? []).reduce((mask, a) => mask | bitOf(a), 0),
    allOfKnown: (allOf ?? []).every((a) => bitOf(a) !== 0),
    anyOfMask: (job.attestations?.anyOf ?? []).reduce((mask, a) => mask | bitOf(a), 0),
    anyOf: job.attestations?.anyOf !== undefined && job.attestations.anyOf.length > 0 ? job.attestations.anyOf : undefined,
    currencyCode: columns.currencyCodes.get(job.maxPriceMinor.currency) ?? -1,
    cores: Math.ceil(job.resources.cpu * 1000 - 1e-9) / 1000,
    memoryGiB: job.resources.memoryBytes / 2 ** 30,
    executionHours: job.executionMs / 3_600_000,
  };
}

/**
 * `priceMinorOf` as a number, from the columns: computed in floats (relative error below 1e-12:
 * executionHours × (cores × cpu + GiB × memoryGiB + GPUs × gpu)) and exactly rounded up; integers are used only when the float lands within 1e-6 of a
 * whole unit (where its rounding could go either way), or beyond 2^50.
 */
export function priceMinorNumberAt(columns: FilterColumns, jf: JobFilter, job: JobSpec, node: NodeSpec, i: number): number {
  const perHour = jf.cores * columns.priceCpu[i]! + jf.memoryGiB * columns.priceMemoryGiB[i]! + jf.gpu * columns.priceGpu[i]!;
  const estimate = jf.executionHours * perHour;
  if (estimate > 2 ** 50 || Math.abs(estimate - Math.round(estimate)) < 1e-6) return Number(priceMinorOf(job, node));
  return Math.ceil(estimate);
}

/**
 * The filters for the nodes `from … to − 1` of the catalog, in index order: `verdictOut[i]` gets the
 * first filter node i fails (undefined when it passes them all), and when it passes, `priceOut[i]`
 * its price (priceMinorNumberAt) and `queueOut[i]` the execution time queued on it (its load's:
 * looked up once per node). One loop over the columns with everything the job compares read once:
 * the filters run for every node of every job, so per node they are a few array reads.
 */
export function filterRange(
  ctx: FilterContext, verdicts: FilterVerdicts, jf: JobFilter, from: number, to: number, verdictOut: (FilterVerdict | undefined)[], priceOut: Float64Array,
  queueOut: Float64Array,
): void {
  const { job, rules, catalog, load, reputationPpm, restOk } = ctx;
  const { nodes, ids, auditorBits: bits, auditors, auditorMask } = catalog;
  const columns = catalog.filterColumns;
  const { orbital: orbitalColumn, architectureCode, runtimeMask, cpu, memoryBytes, diskBytes, gpu, specReputationPpm, currencyCode } = columns;
  const required = jf.orbital === 'required';
  const forbidden = jf.orbital === 'forbidden';
  const { affinityNodes, affinityOperators, antiAffinityNodes, antiAffinityOperators, allOf, anyOf, allOfMask, anyOfMask, runtimeBit, floorPpm } = jf;
  const anyArchitecture = jf.architectureCode === -2;
  const attested = allOf !== undefined || anyOf !== undefined;
  const allOfByMask = bits !== undefined && jf.allOfKnown;
  const maxPrice = job.maxPriceMinor.amount;
  const footprint = rules.footprint !== undefined;
  // With auditor bits, all of allOf present passes at once; otherwise the first missing one, in the job's order, is named.
  const attestationVerdict = (index: number): FilterVerdict | undefined => {
    const mask = auditorMask[index]!;
    if (allOf !== undefined && !(allOfByMask && (mask & allOfMask) === allOfMask)) {
      for (const a of allOf) if (!auditors[index]!.has(a)) return verdicts.allOf.get(a)!;
    }
    if (anyOf !== undefined) {
      let any = bits !== undefined && (mask & anyOfMask) !== 0;
      if (bits === undefined) for (const a of anyOf) any ||= auditors[index]!.has(a);
      if (!any) return verdicts.anyOf;
    }
    return undefined;
  };
  const affinity = affinityNodes !== undefined || affinityOperators !== undefined || antiAffinityNodes !== undefined || antiAffinityOperators !== undefined;
  const affinityVerdict = (index: number): FilterVerdict | undefined => {
    if (affinityNodes !== undefined && !affinityNodes.has(ids[index]!)) return verdicts.affinityNode;
    if (affinityOperators !== undefined && !affinityOperators.has(nodes[index]!.operator)) return verdicts.affinityOperator;
    if (antiAffinityNodes !== undefined && antiAffinityNodes.has(ids[index]!)) return verdicts.antiAffinityNode;
    if (antiAffinityOperators !== undefined && antiAffinityOperators.has(nodes[index]!.operator)) return verdicts.antiAffinityOperator;
    return undefined;
  };
  // The column filters, in filter order, by the bit each sets in `failed` below.
  const columnVerdicts = [verdicts.architecture, verdicts.runtime, verdicts.cpu, verdicts.memory, verdicts.disk, verdicts.gpu];
  const { architectureCode: jobArchitectureCode, cpu: jobCpu, memoryBytes: jobMemoryBytes, diskBytes: jobDiskBytes, gpu: jobGpu } = jf;
  // Columns no node can fail for this job are not read (most jobs ask no disk, no GPU, no reputation floor).
  const checkDisk = !(jobDiskBytes <= columns.diskBytesMin);
  const checkGpu = !(jobGpu <= columns.gpuMin);
  const checkReputation = reputationPpm !== undefined || !(floorPpm <= columns.specReputationPpmMin);
  for (let index = from; index < to; index++) {
    const orbital = orbitalColumn[index] === 1;
    const nodeLoad = load === undefined ? undefined : load.get(ids[index]!);
    // Every column filter at once, then the first that failed (lowest bit): nodes fail them in no
    // particular order, and a branch per filter was mispredicted for many nodes.
    const failed = (anyArchitecture || architectureCode[index] === jobArchitectureCode ? 0 : 1)
      | ((runtimeMask[index]! & runtimeBit) === 0 ? 2 : 0)
      | (cpu[index]! - (nodeLoad?.cpuInUse ?? 0) < jobCpu ? 4 : 0)
      | (memoryBytes[index]! - (nodeLoad?.memoryBytesInUse ?? 0) < jobMemoryBytes ? 8 : 0)
      | (checkDisk && diskBytes[index]! < jobDiskBytes ? 16 : 0)
      | (checkGpu && gpu[index]! < jobGpu ? 32 : 0);
    let verdict: FilterVerdict | undefined;
    if (required && !orbital) verdict = verdicts.orbitalRequired;
    else if (forbidden && orbital) verdict = verdicts.orbitalForbidden;
    else if (affinity && (verdict = affinityVerdict(index)) !== undefined) { /* verdict set */ }
    else if (failed !== 0) verdict = columnVerdicts[31 - Math.clz32(failed & -failed)];
    else if (attested && (verdict = attestationVerdict(index)) !== undefined) { /* verdict set */ }
    else if (checkReputation && (reputationPpm?.get(ids[index]!) ?? specReputationPpm[index]!) < floorPpm) verdict = verdicts.reputation;
    else if (currencyCode[index] !== jf.currencyCode) verdict = verdicts.currency;
    else if (restOk[index] === 0) verdict = orbital ? verdicts.atRestOrbital : verdicts.atRestGround;
    else if (footprint && !orbital && !groundInFootprint(rules, nodes[index]!)) verdict = verdicts.footprint;
    else {
      const price = priceMinorNumberAt(columns, jf, job, nodes[index]!, index);
      if (price > maxPrice) verdict = verdicts.price;
      else {
        priceOut[index] = price;
        queueOut[index] = nodeLoad?.queuedExecutionMs ?? 0;
      }
    }
    verdictOut[index] = verdict;
  }
}
