// What a federation on one machine is made of, as plain data (the demo and every scenario give
// one): the element sets and stations its plan comes from, the compute nodes registered with the
// scheduler and the ledger, the tenants, how many validators, and the plan's time base. And the
// inputs loaded and checked against each other: every orbital node's satellite is in the element
// file, every node's ipn is the one `orbitfed plan` gives its satellite or station.
import { Type } from '@sinclair/typebox';
import { loadConfigFile, OrbitfedError, type LogLevel } from '../common/index.ts';
import {
  buildContactPlan, groundMesh, IslTable, loadElementFile, loadStationsFile, satelliteIpn, searchPasses, stationIpn, type ContactPlan,
  type ElementSet, type Station,
} from '../contact-plans/index.ts';
import { nodeSpecRuleProblems, NodeSpecSchema, TENANT_ROLES, type NodeSpec } from '../scheduler/index.ts';

export type TenantRole = (typeof TENANT_ROLES)[number];

export interface FederationTenant {
  readonly id: string;
  readonly roles: readonly TenantRole[];
  /** For the `nodes` role: the operator whose nodes it registers. */
  readonly operator?: string | undefined;
  /** Shown to people (the demo's summary). */
  readonly description?: string | undefined;
}

export interface FederationSpec {
  readonly name: string;
  /** Element sets (TLE or OMM) of the satellites. */
  readonly elementsPath: string;
  /** Ground stations (YAML, JSON or CSV); plan ipn 1, 2, … in file order. */
  readonly stationsPath: string;
  /** A YAML/JSON list of NodeSpecs: the compute nodes (some or all of the stations and satellites). */
  readonly nodesPath: string;
  /** Plan time (Unix ms) when the federation starts: its clock reads this at start. */
  readonly planStartMs: number;
  readonly planHours: number;
  /** Plan time runs this many times faster than wall time, in every process. */
  readonly timeScale: number;
  readonly validators: number;
  readonly chainId: string;
  readonly currency: string;
  readonly tenants: readonly FederationTenant[];
  /** Money minted for each tenant in the chain's genesis, minor units of `currency`. */
  readonly tenantBalanceMinor: bigint;
  /** Always-on links between every pair of stations (the terrestrial network), bytes/s. */
  readonly groundMeshBytesPerSec: number;
  /** The scheduler's port when free (people type it); any free port otherwise. 0: any. */
  readonly schedulerPortPreferred: number;
  /** The embedded MQTT broker's port when free; any free port otherwise. 0: any. */
  readonly mqttPortPreferred: number;
  /** Run a ground agent per ground node and an orbital agent per orbital node, linked through the link emulator. */
  readonly agents: boolean;
  readonly logLevel: LogLevel;
  /**
   * The runtime the agents run workloads with (default process); docker needs an engine on
   * /var/run/docker.sock, and every node then offers only docker to the scheduler.
   */
  readonly runtime?: 'process' | 'docker' | undefined;
  /** An external MQTT broker (`mqtt://host:port`) the ground agents publish to, instead of the embedded one. */
  readonly mqttUrl?: string | undefined;
  /**
   * Run each orbital agent in a network namespace of its own (Linux, root; federation-netns.ts):
   * it reaches the ground only through the link emulator. Default false.
   */
  readonly orbitalNamespaces?: boolean | undefined;
  /** Written into the link emulator's map: the seed, and random mid-contact drops (default: none). */
  readonly linkFaults?: FederationLinkFaults | undefined;
}

export interface FederationLinkFaults {
  readonly seed: number;
  readonly drops: { readonly probabilityPerContact: number; readonly downSec: number } | undefined;
}

export const FEDERATION_VALIDATORS_MAX = 16;
export const FEDERATION_PLAN_HOURS_MAX = 7 * 24;
export const FEDERATION_NODES_MAX = 256;
export const FEDERATION_TENANTS_MAX = 64;

/** The inputs of a federation, loaded and checked against each other. */
export interface FederationInputs {
  readonly elements: readonly ElementSet[];
  readonly stations: readonly Station[];
  readonly nodes: readonly NodeSpec[];
  readonly plan: ContactPlan;
}

export function checkFederationSpec(spec: FederationSpec): void {
  const fail = (field: string, message: string): never => {
    throw new OrbitfedError('ORBITFED_FEDERATION_SPEC', message, { field });
  };
  if (!Number.isInteger(spec.validators) || spec.validators < 1 || spec.validators > FEDERATION_VALIDATORS_MAX) fail('validators', `must be 1 to ${FEDERATION_VALIDATORS_MAX}, got ${spec.validators}`);
  if (!(spec.planHours > 0 && spec.planHours <= FEDERATION_PLAN_HOURS_MAX)) fail('planHours', `must be more than 0 and at most ${FEDERATION_PLAN_HOURS_MAX}, got ${spec.planHours}`);
  if (!(spec.timeScale >= 1 && spec.timeScale <= 10_000)) fail('timeScale', `must be from 1 to 10000, got ${spec.timeScale}`);
  if (!Number.isSafeInteger(spec.planStartMs) || spec.planStartMs < 0) fail('planStartMs', `must be a Unix ms instant, got ${spec.planStartMs}`);
  if (spec.mqttUrl !== undefined && !/^mqtts?:\/\/[^\s/]+(:\d{1,5})?\/?$/.test(spec.mqttUrl)) fail('mqttUrl', `must be mqtt://host:port (got ${JSON.stringify(spec.mqttUrl)})`);
  if (spec.tenantBalanceMinor <= 0n) fail('tenantBalanceMinor', `must be positive, got ${spec.tenantBalanceMinor}`);
  if (spec.tenants.length === 0 || spec.tenants.length > FEDERATION_TENANTS_MAX) fail('tenants', `a federation has 1 to ${FEDERATION_TENANTS_MAX} tenants, got ${spec.tenants.length}`);
  const ids = new Set<string>();
  spec.tenants.forEach((t, i) => {
    if (ids.has(t.id)) fail(`tenants[${i}].id`, `tenant ${t.id} is listed twice`);
    ids.add(t.id);
  });
}

/** Loads the element sets, stations and nodes, checks them against each other, and computes the plan. */
export async function loadFederationInputs(spec: FederationSpec): Promise<FederationInputs> {
  checkFederationSpec(spec);
  const loaded = await loadElementFile(spec.elementsPath, { checksum: 'strict' });
  const firstError = loaded.issues.find((i) => i.severity === 'error');
  if (firstError !== undefined) throw new OrbitfedError('ORBITFED_FEDERATION_ELEMENTS', `${firstError.message} [${firstError.code}]`, { file: firstError.file, line: firstError.line });
  const stations = await loadStationsFile(spec.stationsPath);
  const nodes = await loadConfigFile(spec.nodesPath, Type.Array(NodeSpecSchema, { maxItems: FEDERATION_NODES_MAX }), 'federation nodes file');
  checkNodes(nodes, loaded.elements, stations, spec.nodesPath);
  // The runtime the agents run is what every node offers: the scheduler places on nothing else.
  const offered = spec.runtime === 'docker' ? nodes.map((n) => ({ ...n, runtimes: ['docker' as const] })) : nodes;
  const window = { startMs: spec.planStartMs, durationSec: spec.planHours * 3600 };
  const passes = await searchPasses(loaded.elements, stations, { window, defaultMinElevationDeg: 10 }, { threads: 1 });
  for (const problem of passes.problems) {
    const satellite = loaded.elements[problem.satellite];
    throw new OrbitfedError('ORBITFED_FEDERATION_ELEMENTS', `${satellite?.name ?? problem.satellite}: ${problem.message} [${problem.code}]`, { file: spec.elementsPath });
  }
  const plan = buildContactPlan({
    window, elements: loaded.elements, stations, passes: passes.table, satelliteWindows: new IslTable(),
    terrestrialLinks: spec.groundMeshBytesPerSec > 0 ? groundMesh(stations, spec.groundMeshBytesPerSec) : [],
  });
  return { elements: loaded.elements, stations, nodes: offered, plan };
}

/** Every node names a satellite of the element file or a station, by the ipn the plan gives it. */
function checkNodes(nodes: readonly NodeSpec[], elements: readonly ElementSet[], stations: readonly Station[], file: string): void {
  const ids = new Set<string>();
  nodes.forEach((node, i) => {
    const problems = nodeSpecRuleProblems(node);
    if (problems.length > 0) throw new OrbitfedError('ORBITFED_FEDERATION_NODES', problems[0]!.message, { file, field: `/${i}${problems[0]!.field}` });
    if (ids.has(node.id)) throw new OrbitfedError('ORBITFED_FEDERATION_NODES', `node ${node.id} is listed twice`, { file, field: `/${i}/id` });
    ids.add(node.id);
    if (node.kind === 'orbital') {
      const satellite = elements.find((e) => node.noradId !== undefined && Number(e.catalogNumber) === node.noradId);
      if (satellite === undefined) throw new OrbitfedError('ORBITFED_FEDERATION_NODES', `no element set with catalog number ${node.noradId ?? '(none given)'} for orbital node ${node.id}`, { file, field: `/${i}/noradId` });
      const ipn = satelliteIpn(satellite.catalogNumber);
      if (node.ipn !== ipn) throw new OrbitfedError('ORBITFED_FEDERATION_NODES', `orbital node ${node.id} must be ipn ${ipn} (1000000000 + catalog number), got ${node.ipn}`, { file, field: `/${i}/ipn` });
    } else {
      const index = node.ipn - 1;
      if (stationIpn(index) !== node.ipn || stations[index] === undefined) {
        throw new OrbitfedError('ORBITFED_FEDERATION_NODES', `ground node ${node.id} has ipn ${node.ipn}, but the stations file has ${stations.length} stations (ipn 1 to ${stations.length})`, { file, field: `/${i}/ipn` });
      }
    }
  });
}

/** The station of a ground node (by its ipn), or the element set of an orbital node. */
export function stationOfNode(inputs: Pick<FederationInputs, 'stations'>, node: NodeSpec): Station | undefined {
  return node.kind === 'ground' ? inputs.stations[node.ipn - 1] : undefined;
}

export function elementsOfNode(inputs: Pick<FederationInputs, 'elements'>, node: NodeSpec): ElementSet | undefined {
  return node.kind === 'orbital' ? inputs.elements.find((e) => Number(e.catalogNumber) === node.noradId) : undefined;
}
