// A federation of real bundle agents (real stores, codec and routing) on simulated links in
// virtual time, for the dtn/ agent tests: one place that builds nodes, records what each
// application received, and crashes and restarts nodes the way a process crash would.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContactPlan } from '../../contact-plans/index.ts';
import { BundleAgent, type BundleAgentLimits } from '../../dtn/bundle-agent.ts';
import { encodeBundle } from '../../dtn/bundle-codec.ts';
import type { BundleStatusReport } from '../../dtn/admin-record.ts';
import { SimulatedNetwork, simulatedPeerAddress } from '../../dtn/simulated-network.ts';
import type { PeerAddress } from '../../dtn/convergence-layer.ts';
import { SimulationClock } from '../../hil/index.ts';

/** 2026-06-14T00:00:00Z: the day after the sample TLEs' epoch. */
export const EPOCH_MS = Date.UTC(2026, 5, 14);
/** The service the test applications listen on. */
export const APP_SERVICE = 1;

export interface Received {
  readonly node: number;
  readonly key: string;
  readonly atMs: number;
  readonly payload: Uint8Array;
  /** The bundle's size as it arrived (our Previous Node block and age included). */
  readonly wireBytes: number;
}

export interface LogLine {
  readonly node: number;
  readonly event: string;
  readonly fields: Record<string, unknown>;
}

export interface HarnessOptions {
  readonly plan: ContactPlan;
  readonly nodes: readonly number[];
  readonly limits?: Partial<BundleAgentLimits>;
  /** Which log events to keep (all by default). */
  readonly keepLog?: (event: string) => boolean;
  /** Start the network's links from the plan (default true). */
  readonly linksFromPlan?: boolean;
}

/**
 * Scratch space for stores: tmpfs when the machine has it. The simulations test durability by
 * reopening files, which tmpfs honours; fsync there costs nothing, so thousands of commits take
 * milliseconds instead of seconds (the store's own crash test covers real disks).
 */
export async function scratchDirectory(prefix: string): Promise<string> {
  return mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix));
}

export class AgentHarness {
  readonly clock = new SimulationClock(EPOCH_MS);
  readonly network: SimulatedNetwork;
  readonly plan: ContactPlan;
  readonly received: Received[] = [];
  readonly statusReports: { readonly node: number; readonly report: BundleStatusReport; readonly atMs: number }[] = [];
  readonly log: LogLine[] = [];
  readonly agents = new Map<number, BundleAgent>();
  readonly #options: HarnessOptions;
  readonly #peers: ReadonlyMap<number, PeerAddress>;
  #dir = '';

  constructor(options: HarnessOptions) {
    this.#options = options;
    this.plan = options.plan;
    this.network = new SimulatedNetwork({ clock: this.clock });
    if (options.linksFromPlan !== false) this.network.addContactPlan(options.plan, EPOCH_MS);
    this.#peers = new Map(options.nodes.map((n) => [n, simulatedPeerAddress(n)]));
  }

  async open(): Promise<void> {
    this.#dir = await scratchDirectory('orbitfed-agent-');
  }

  async close(): Promise<void> {
    for (const agent of this.agents.values()) await agent.stop();
    this.agents.clear();
    if (this.#dir !== '') await rm(this.#dir, { recursive: true, force: true });
  }

  storePath(node: number): string {
    return join(this.#dir, `node-${node}.db`);
  }

  /** Starts the agent of `node` on its store (a fresh one, or the one a crash left), with a listening application. */
  async start(node: number): Promise<BundleAgent> {
    const agent = new BundleAgent({
      nodeNumber: node,
      storePath: this.storePath(node),
      store: { capacityBytes: 512 * 1024 * 1024, capacityBundles: 100_000 },
      plan: this.plan,
      peers: this.#peers,
      convergenceLayers: [this.network.convergenceLayer(node)],
      clock: this.clock,
      limits: this.#options.limits,
      log: (event, fields) => {
        if (this.#options.keepLog?.(event) ?? true) this.log.push({ node, event, fields });
      },
      onStatusReport: (report) => this.statusReports.push({ node, report, atMs: this.clock.now() }),
    });
    await agent.start();
    agent.register(APP_SERVICE, (delivery) => {
      this.received.push({ node, key: delivery.key, atMs: this.clock.now(), payload: delivery.payload, wireBytes: encodeBundle(delivery.bundle).byteLength });
    });
    this.agents.set(node, agent);
    return agent;
  }

  async startAll(): Promise<void> {
    for (const node of this.#options.nodes) await this.start(node);
  }

  /**
   * The node dies as under kill -9: its links drop at once (what was in flight is lost, what it had
   * stored stays), then its agent object is dropped; `stop` only releases the store file, writing
   * nothing (BundleAgent.stop does no flushing), so the file is what a killed process leaves.
   */
  async crash(node: number): Promise<void> {
    this.network.crash(node);
    await this.agents.get(node)?.stop();
    this.agents.delete(node);
  }

  agent(node: number): BundleAgent {
    const agent = this.agents.get(node);
    if (agent === undefined) throw new Error(`node ${node} is not running`);
    return agent;
  }

  events(event: string, node?: number): LogLine[] {
    return this.log.filter((l) => l.event === event && (node === undefined || l.node === node));
  }
}
