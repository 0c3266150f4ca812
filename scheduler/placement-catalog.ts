// The registered nodes prepared for placement once, rather than per job: bound to the contact
// plan's nodes through their ipn numbers, attestations verified, orbital elements and country
// borders at hand for processing footprints. Rebuild it when the nodes or the plan change.
import { OrbitfedError } from '../common/index.ts';
import type { ContactPlan, ElementSet } from '../contact-plans/index.ts';
import { verifiedAuditors } from './attestations.ts';
import type { CountryBorders } from './country-borders.ts';
import { GroundTracks } from './ground-track.ts';
import { filterColumnsOf, type FilterColumns } from './placement-filters.ts';
import type { NodeSpec } from './node-spec.ts';
import { placementGraphOf, type PlacementGraph } from './placement-graph.ts';
import { newScanScratch, type ScanScratch, TargetedScratch } from './placement-search.ts';

/** Distinct auditors the filters tell apart by bit masks (more: by sets, slower). */
const AUDITOR_BITS_MAX = 30;

/** Nodes one catalog holds at most. */
export const CATALOG_NODES_MAX = 100_000;
/** Sovereignty rule sets whose derived routing data a catalog keeps (least recently used dropped). */
export const RULE_SETS_CACHED_MAX = 256;
/** Contacts copied into cached subsets at most, over all rule sets (about 56 bytes each, both orders). */
export const SUBSET_CONTACTS_CACHED_MAX = 4_000_000;

export interface NodeCatalogInput {
  readonly nodes: readonly NodeSpec[];
  readonly plan: ContactPlan;
  /** Federation chain id the auditors signed for; needed only to count attestations. */
  readonly chainId?: string | undefined;
  /** Auditor id → ed25519 public key (32 bytes). Attestations by other auditors do not count. */
  readonly auditorKeys?: ReadonlyMap<string, Uint8Array> | undefined;
  /** Element sets of the orbital nodes (matched by `noradId`), for processing footprints. */
  readonly elements?: readonly ElementSet[] | undefined;
  /** Country borders (loadCountryBorders), for processing footprints. */
  readonly borders?: CountryBorders | undefined;
}

export class NodeCatalog {
  readonly plan: ContactPlan;
  readonly graph: PlacementGraph;
  readonly nodes: readonly NodeSpec[];
  /** The nodes' ids, by catalog index. */
  readonly ids: readonly string[];
  /** Catalog index → graph node, or −1 when the node's ipn has no place in the plan. */
  readonly graphNodeOf: Int32Array;
  /** Graph node → catalog index, or −1 for plan nodes nobody registered. */
  readonly catalogIndexOf: Int32Array;
  /** Per graph node: 1 when orbital (registered as orbital, or a plan satellite nobody registered). */
  readonly orbitalByGraphNode: Uint8Array;
  /** Per catalog index: the auditors whose attestations verify and agree with the node. */
  readonly auditors: readonly ReadonlySet<string>[];
  /** Auditor id → one bit of `auditorMask`; undefined when the nodes name more than AUDITOR_BITS_MAX auditors (the filters then ask `auditors`). */
  readonly auditorBits: ReadonlyMap<string, number> | undefined;
  /** Per catalog index: the bits of `auditors`. */
  readonly auditorMask: Int32Array;
  /** The nodes' attributes the filters read, as columns. */
  readonly filterColumns: FilterColumns;
  /** Per catalog index: the end of the node's last blackout (−Infinity without any): a run ready after it needs no blackout check. */
  readonly blackoutsEndMaxMs: Float64Array;
  /** Per catalog index: the start of the node's first blackout (Infinity without any): a run that ends by then needs no blackout check either. */
  readonly blackoutsStartMinMs: Float64Array;
  /** Ground tracks for processing footprints; undefined without borders. */
  readonly groundTracks: GroundTracks | undefined;
  /** Per-node arrays placement reuses from one decision to the next (placement is synchronous: one at a time). */
  readonly scratch: { readonly scan: ScanScratch; readonly targeted: TargetedScratch; readonly isTarget: Uint8Array; readonly survivorOf: Int32Array };
  readonly #indexById: ReadonlyMap<string, number>;
  readonly #byRules = new Map<string, { readonly value: unknown; readonly weight: number }>();
  #byRulesWeight = 0;

  constructor(input: NodeCatalogInput) {
    if (input.nodes.length > CATALOG_NODES_MAX) {
      throw new OrbitfedError('ORBITFED_PLACEMENT_CATALOG', `${input.nodes.length} nodes exceed the ${CATALOG_NODES_MAX} a catalog holds`, { field: 'nodes' });
    }
    this.plan = input.plan;
    this.graph = placementGraphOf(input.plan);
    this.nodes = input.nodes;
    this.ids = input.nodes.map((node) => node.id);
    const indexById = new Map<string, number>();
    const indexByIpn = new Map<number, number>();
    input.nodes.forEach((node, i) => {
      if (indexById.has(node.id)) throw new OrbitfedError('ORBITFED_PLACEMENT_CATALOG', `node id ${node.id} is registered twice`, { field: `nodes/${i}/id` });
      if (indexByIpn.has(node.ipn)) {
        throw new OrbitfedError('ORBITFED_PLACEMENT_CATALOG', `ipn ${node.ipn} belongs to ${input.nodes[indexByIpn.get(node.ipn)!]!.id} and ${node.id}`, { field: `nodes/${i}/ipn` });
      }
      indexById.set(node.id, i);
      indexByIpn.set(node.ipn, i);
    });
    this.#indexById = indexById;
    const g = this.graph;
    this.graphNodeOf = Int32Array.from(input.nodes, (node) => g.nodeByIpn.get(node.ipn) ?? -1);
    this.catalogIndexOf = new Int32Array(g.nodeCount).fill(-1);
    this.graphNodeOf.forEach((n, i) => {
      if (n >= 0) this.catalogIndexOf[n] = i;
    });
    this.orbitalByGraphNode = Uint8Array.from({ length: g.nodeCount }, (_, n) => {
      const i = this.catalogIndexOf[n]!;
      return (i >= 0 ? input.nodes[i]!.kind === 'orbital' : g.planSatellite[n] === 1) ? 1 : 0;
    });
    const keys = input.auditorKeys ?? new Map<string, Uint8Array>();
    this.auditors = input.nodes.map((node) =>
      input.chainId === undefined || node.attestations.length === 0 ? new Set<string>() : verifiedAuditors(node, keys, input.chainId));
    this.filterColumns = filterColumnsOf(input.nodes);
    this.blackoutsEndMaxMs = Float64Array.from(input.nodes, (node) => node.blackouts.reduce((max, b) => Math.max(max, b.endMs), -Infinity));
    this.blackoutsStartMinMs = Float64Array.from(input.nodes, (node) => node.blackouts.reduce((min, b) => Math.min(min, b.startMs), Infinity));
    const bits = new Map<string, number>();
    for (const set of this.auditors) for (const a of set) if (!bits.has(a)) bits.set(a, bits.size < AUDITOR_BITS_MAX ? 1 << bits.size : 0);
    this.auditorBits = bits.size <= AUDITOR_BITS_MAX ? bits : undefined;
    this.auditorMask = Int32Array.from(this.auditors, (set) => [...set].reduce((mask, a) => mask | bits.get(a)!, 0));
    const elements = new Map<number, ElementSet>();
    for (const e of input.elements ?? []) elements.set(Number(e.catalogNumber), e);
    this.groundTracks = input.borders === undefined ? undefined : new GroundTracks(input.borders, elements);
    this.scratch = { scan: newScanScratch(g.nodeCount), targeted: new TargetedScratch(g.nodeCount), isTarget: new Uint8Array(g.nodeCount), survivorOf: new Int32Array(g.nodeCount) };
  }

  /** Catalog index of a node id, or undefined. */
  indexOf(nodeId: string): number | undefined {
    return this.#indexById.get(nodeId);
  }

  /**
   * Data derived from the catalog for one set of sovereignty rules (`key` names the rules),
   * built on first use and kept for the next jobs with the same rules, within RULE_SETS_CACHED_MAX
   * entries and SUBSET_CONTACTS_CACHED_MAX of total weight. Results never depend on it.
   */
  derivedForRules<T>(key: string, build: () => T, weightOf: (value: T) => number): T {
    const cached = this.#byRules.get(key);
    if (cached !== undefined) {
      this.#byRules.delete(key);
      this.#byRules.set(key, cached);
      return cached.value as T;
    }
    const value = build();
    const weight = weightOf(value);
    this.#byRulesWeight += weight;
    this.#byRules.set(key, { value, weight });
    // Oldest first, but never the one just built.
    while (this.#byRules.size > 1 && (this.#byRules.size > RULE_SETS_CACHED_MAX || this.#byRulesWeight > SUBSET_CONTACTS_CACHED_MAX)) {
      const [oldest, entry] = this.#byRules.entries().next().value!;
      this.#byRules.delete(oldest);
      this.#byRulesWeight -= entry.weight;
    }
    return value;
  }
}
