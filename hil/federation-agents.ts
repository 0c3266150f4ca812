// The agents of a federation and the link emulator between them, as configuration files: one
// ground agent per ground node, one orbital agent per orbital node, each in its own directory with
// its ledger key, and the emulator's map. Where satellites and stations talk, they talk through the
// emulator: for every station–satellite pair with contacts in the plan, one relay address per
// direction, open only during the pair's passes (hil/README.md, "Link emulator").
//
//   station S ──tcpclv4──▶ emulator listen (from S, to T) ──▶ satellite T's tcpclv4 listen
//   satellite T ──tcpclv4──▶ emulator listen (from T, to S) ──▶ station S's tcpclv4 listen
//
// The stations reach each other and the scheduler's DTN node (ipn 900, which dispatches the
// assignments) over the libp2p overlay directly. Receipts and telemetry from the satellites go to the first station's gateway;
// the bundle agents route them over whichever station a satellite passes next (CGR on the plan,
// whose ground mesh joins the stations).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519PublicKeyFromSeed, readKeyFile } from '../consensus/index.ts';
import type { GroundConfigFile } from '../ground/index.ts';
import type { OrbitalConfigFile } from '../orbital/index.ts';
import type { NodeSpec, SchedulerConfigFile } from '../scheduler/index.ts';
import type { FederationLayout } from './federation-files.ts';
import type { NodeNamespace } from './federation-netns.ts';
import { LOOPBACK_HOST } from './federation-ports.ts';
import type { FederationInputs, FederationSpec } from './federation-spec.ts';

/** The scheduler's DTN node number (it is not a node of the contact plan; the agents address its reports endpoint). */
export const SCHEDULER_IPN = 900;
const MiB = 1024 * 1024;

export interface AgentPorts {
  /** Take the next free port. */
  next(): number;
}

export interface AgentProcessFiles {
  readonly name: string;
  readonly role: 'ground-agent' | 'orbital-agent';
  readonly node: NodeSpec;
  readonly dir: string;
  readonly configPath: string;
  /** GET this to know it serves. */
  readonly healthUrl: string;
  /** The network namespace it runs in (orbital agents with `orbitalNamespaces`). */
  readonly namespace?: NodeNamespace | undefined;
}

export interface AgentFiles {
  readonly agents: readonly AgentProcessFiles[];
  /** The scheduler's DTN node, for its configuration: it dispatches to the stations over the overlay. */
  readonly schedulerDtn: NonNullable<SchedulerConfigFile['dtn']>;
  readonly linkMapPath: string;
  readonly linkControlUrl: string;
  readonly linkEmulatorDir: string;
  /** Directed station–satellite links through the emulator. */
  readonly links: number;
}

/** Pairs (from ipn → to ipn) that have at least one contact in the plan. */
function linkedPairs(inputs: FederationInputs): Set<string> {
  const pairs = new Set<string>();
  for (const c of inputs.plan.contacts) pairs.add(`${c.from}>${c.to}`);
  return pairs;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export interface SchedulerIdentity {
  readonly keyPath: string;
  readonly publicKeyHex: string;
}

/**
 * `namespaces` (by orbital node ipn): that agent listens on its namespace's address, and reaches
 * the stations through relay addresses on the host's end of its cable, the only ones it can reach.
 */
export async function writeAgentFiles(
  spec: FederationSpec, inputs: FederationInputs, layout: FederationLayout, ports: AgentPorts, mqttUrl: string, scheduler: SchedulerIdentity,
  namespaces: ReadonlyMap<number, NodeNamespace> = new Map(),
): Promise<AgentFiles> {
  const schedulerPublicKeyHex = scheduler.publicKeyHex;
  const grounds = inputs.nodes.filter((n) => n.kind === 'ground');
  const orbitals = inputs.nodes.filter((n) => n.kind === 'orbital');
  const pairs = linkedPairs(inputs);
  const tcpcl = new Map<number, string>();
  for (const node of inputs.nodes) tcpcl.set(node.ipn, `${namespaces.get(node.ipn)?.nodeAddress ?? LOOPBACK_HOST}:${ports.next()}`);
  // The emulator's listen address for each directed link that has contacts.
  const relay = new Map<string, string>();
  for (const g of grounds) {
    for (const o of orbitals) {
      for (const [from, to] of [[g.ipn, o.ipn], [o.ipn, g.ipn]] as const) {
        // A satellite in a namespace sends to the host's end of its cable.
        if (pairs.has(`${from}>${to}`)) relay.set(`${from}>${to}`, `${namespaces.get(from)?.hostAddress ?? LOOPBACK_HOST}:${ports.next()}`);
      }
    }
  }
  const linkEmulatorDir = join(layout.dir, 'link-emulator');
  mkdirSync(linkEmulatorDir, { recursive: true });
  const controlAddress = `${LOOPBACK_HOST}:${ports.next()}`;
  const map = {
    // Plan time is the clock's own (the emulator runs on the federation's scaled clock), so the
    // plan's epoch and a scale of 1 put every contact where the other processes see it.
    timeScale: 1,
    nodes: inputs.nodes.filter((n) => [...relay.keys()].some((k) => k.endsWith(`>${n.ipn}`))).map((n) => ({
      ipn: n.ipn,
      target: tcpcl.get(n.ipn)!,
      listen: [...relay.entries()].filter(([k]) => k.endsWith(`>${n.ipn}`)).map(([k, address]) => ({ from: Number(k.split('>')[0]), address })),
    })),
    control: { listen: controlAddress },
    ...(spec.linkFaults === undefined ? {} : { seed: spec.linkFaults.seed, ...(spec.linkFaults.drops === undefined ? {} : { drops: spec.linkFaults.drops }) }),
  };
  const linkMapPath = join(linkEmulatorDir, 'map.json');
  writeFileSync(linkMapPath, `${JSON.stringify(map, null, 2)}\n`);

  const gatewayIpn = grounds[0]?.ipn;
  const opsTenant = spec.tenants.find((t) => t.roles.includes('admin'));
  const publicKeys = new Map<string, string>();
  for (const node of inputs.nodes) publicKeys.set(node.id, hex(ed25519PublicKeyFromSeed(await readKeyFile(layout.nodeKeyPaths.get(node.id)!))));
  const agents: AgentProcessFiles[] = [];
  const overlay = new Map(grounds.map((g) => [g.id, `/ip4/${LOOPBACK_HOST}/tcp/${ports.next()}`]));
  const schedulerOverlay = `/ip4/${LOOPBACK_HOST}/tcp/${ports.next()}`;
  const schedulerPeer = { name: 'scheduler', node: SCHEDULER_IPN, address: schedulerOverlay, publicKeyHex: schedulerPublicKeyHex, rateBytesPerSec: 125_000_000 };

  for (const g of grounds) {
    const dir = join(layout.dir, 'agents', g.id);
    mkdirSync(dir, { recursive: true });
    const station = inputs.stations[g.ipn - 1]!;
    const metricsPort = ports.next();
    const config: GroundConfigFile = {
      station: { stationsFile: layout.stationsPath, id: station.id, nodeId: g.id, ipn: g.ipn },
      elements: layout.elementsPath,
      plan: { path: layout.planPath, format: 'json' },
      identity: { keyFile: layout.nodeKeyPaths.get(g.id)! },
      chainId: spec.chainId,
      dataDir: 'data',
      store: { capacityBytes: 256 * MiB, capacityBundles: 100_000 },
      terrestrial: {
        listen: [overlay.get(g.id)!],
        peers: [
          schedulerPeer,
          ...grounds.filter((p) => p.id !== g.id).map((p) => ({ name: p.id, node: p.ipn, address: overlay.get(p.id)!, publicKeyHex: publicKeys.get(p.id)!, rateBytesPerSec: 125_000_000 })),
        ],
      },
      space: {
        tcpclv4: { listen: tcpcl.get(g.ipn)! },
        satellites: orbitals.filter((o) => relay.has(`${g.ipn}>${o.ipn}`)).map((o) => ({ node: o.ipn, address: `tcpclv4:${relay.get(`${g.ipn}>${o.ipn}`)!}` })),
      },
      mqtt: { url: mqttUrl },
      ...(opsTenant === undefined ? {} : {
        scheduler: { url: layout.schedulerUrl, apiKey: { file: join(layout.dir, 'secrets', `${opsTenant.id}.key`) }, publicKeyHex: schedulerPublicKeyHex, node: SCHEDULER_IPN },
        jobs: { runtimes: [spec.runtime ?? 'process'] },
      }),
      // The gateway hands the wait to the validator, whose timers are wall-clock: the longest allowed.
      validators: { rpcUrls: [...layout.validatorRpcUrls], commitWaitMs: 30_000 },
      metrics: { host: LOOPBACK_HOST, port: metricsPort },
      log: { level: spec.logLevel === 'silent' ? 'warn' : spec.logLevel },
    };
    const configPath = join(dir, 'ground-agent.json');
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    agents.push({ name: `ground-${g.id}`, role: 'ground-agent', node: g, dir, configPath, healthUrl: `http://${LOOPBACK_HOST}:${metricsPort}/healthz` });
  }

  for (const o of orbitals) {
    const dir = join(layout.dir, 'agents', o.id);
    mkdirSync(dir, { recursive: true });
    const metricsPort = ports.next();
    const gateway = gatewayIpn ?? SCHEDULER_IPN;
    const namespace = namespaces.get(o.ipn);
    const host = namespace?.nodeAddress ?? LOOPBACK_HOST;
    const config: OrbitalConfigFile = {
      nodeId: o.id,
      chainId: spec.chainId,
      ipnNumber: o.ipn,
      keyFile: layout.nodeKeyPaths.get(o.id)!,
      schedulerPublicKey: schedulerPublicKeyHex,
      dataDir: 'data',
      storageBytesMax: 64 * MiB,
      contactPlan: { file: layout.planPath },
      convergenceLayers: { tcpclv4: { listen: tcpcl.get(o.ipn)! } },
      peers: grounds.filter((g) => relay.has(`${o.ipn}>${g.ipn}`)).map((g) => ({ node: g.ipn, cl: 'tcpclv4' as const, address: relay.get(`${o.ipn}>${g.ipn}`)! })),
      // Off: on one machine every agent would probe the same cgroup at start (they race on it), and
      // the demo's workloads are tiny; a flight computer keeps the default (auto).
      runtime: spec.runtime === 'docker' ? { kind: 'docker' } : { kind: 'process', cgroups: 'off' },
      endpoints: { reportsTo: `ipn:${SCHEDULER_IPN}.2`, receiptsTo: `ipn:${gateway}.4`, telemetryTo: `ipn:${gateway}.5` },
      // Every ten plan minutes: with plan time running fast, the default minute would flood the passes.
      telemetryPeriodMs: 600_000,
      logLevel: spec.logLevel,
      metricsPort,
      metricsHost: host,
    };
    const configPath = join(dir, 'orbital-agent.json');
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    agents.push({ name: `orbital-${o.id}`, role: 'orbital-agent', node: o, dir, configPath, healthUrl: `http://${host}:${metricsPort}/metrics`, namespace });
  }
  const schedulerDtn: AgentFiles['schedulerDtn'] = {
    ipn: SCHEDULER_IPN,
    keyFile: scheduler.keyPath,
    listen: [schedulerOverlay],
    peers: grounds.map((g) => ({ name: g.id, node: g.ipn, address: overlay.get(g.id)!, publicKeyHex: publicKeys.get(g.id)!, rateBytesPerSec: 125_000_000 })),
    // Once a wall-clock second whatever the scale (the scheduler runs on plan time).
    dispatcher: { tickMs: Math.max(10, Math.round(1000 * spec.timeScale)) },
  };
  return { agents, schedulerDtn, linkMapPath, linkControlUrl: `http://${controlAddress}`, linkEmulatorDir, links: relay.size };
}
