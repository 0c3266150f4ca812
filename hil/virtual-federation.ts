// The one place the swarm's federation is wired (STYLE rule 14): the same parts as a federation of
// real processes (federation.ts), in one process on one SimulationClock, with only the I/O replaced:
//
//   validators      ValidatorNode × n on an in-process transport with seeded message faults
//                   (virtual-validators.ts); chain stores and sign state on disk
//   scheduler       JobStore (SQLite) + JobLifecycle + placement + Dispatcher on its own BundleAgent
//                   (ipn 900); escrow through ValidatorEscrowLedger on an in-process client, so every
//                   escrow is a transaction in the validators' mempool, committed by consensus
//   ground-<node>   GroundAgent: BundleAgent bridging the overlay and the passes, the receipt
//                   gateway submitting receipts to the validators (no MQTT: nothing in the checks
//                   reads it, and a broker is I/O)
//   orbital-<node>  OrbitalAgent with its BundleAgent and assignment store, on the simulated runtime
//                   (virtual-runtime.ts)
//   links           dtn's SimulatedNetwork: every contact of the plan, plus the scheduler's overlay
//                   contacts to the stations (always on, as libp2p is in the real federation)
//
// Each process lives in an incarnation: its own clock view (`IncarnationClock`), its own CL, its own
// directory. A crash (kill -9) kills the incarnation at once: none of its timers fires again, its
// links drop, its workloads never end, it calls no validator; the files it had committed are what a
// restart finds (copied into the next incarnation's directory, because the dead one still holds
// SQLite's exclusive locks in this process). A graceful stop (SIGTERM) runs the component's own
// stop() first. Names are the real federation's: validator-I, scheduler, ground-<node>, orbital-<node>.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OrbitfedError, sleepOn, type Clock, type DurationMs, type Logger, type TimerHandle, type UnixMs } from '../common/index.ts';
import type { ContactPlan } from '../contact-plans/index.ts';
import { ed25519PublicKeyFromSeed, ed25519SeedFromRng, ed25519Signer, type SubmittedTx } from '../consensus/index.ts';
import { BundleAgent, SimulatedNetwork, simulatedPeerAddress, type BundleAgentLog, type PeerAddress } from '../dtn/index.ts';
import { GroundAgent, ReceiptGateway } from '../ground/index.ts';
import { OrbitalAgent, resolveOrbitalConfig, type OrbitalConfigFile } from '../orbital/index.ts';
import {
  Dispatcher, JOB_LIFECYCLE_OPTIONS_DEFAULT, JobLifecycle, JobStore, loadCountryBorders, placeJob, releasePlacement, reservePlacement, SERVICE_NUMBERS,
  ValidatorEscrowLedger, withOverlayContacts, type EscrowValidatorClient, type NodeSpec, type OverlayPeer,
} from '../scheduler/index.ts';
import type { FederationInputs, FederationSpec } from './federation-spec.ts';
import type { SwarmTrace } from './swarm-trace.ts';
import type { SimulationClock } from './virtual-clock.ts';
import { SimulatedRuntime } from './virtual-runtime.ts';
import { InProcessValidatorClient, virtualGenesis, VirtualValidators, type ValidatorNetworkFaults } from './virtual-validators.ts';

/** The scheduler's DTN node number, as in the real federation (federation-agents.ts). */
export const VIRTUAL_SCHEDULER_IPN = 900;
const MIB = 1024 * 1024;
/** Terrestrial overlay links: 1 Gbit/s, 50 ms, as the real federation's libp2p peers are configured. */
const OVERLAY_RATE_BYTES_PER_SEC = 125_000_000;
const OVERLAY_OWLT_MS = 50;
/** Receipts wait this long for their commit per round (the gateway's own maximum is 30 s). */
const RECEIPT_COMMIT_WAIT_MS = 30_000;

/** The country borders (world-atlas, ~1 s to parse): pure data, read once per process for every scheduler incarnation. */
let borders: ReturnType<typeof loadCountryBorders> | undefined;
const countryBorders = (): ReturnType<typeof loadCountryBorders> => (borders ??= loadCountryBorders());

/**
 * One incarnation's view of the swarm clock: its timers fire until it is killed, never after. A
 * killed process's promise chains may still be pending; they wait for timers that never come.
 */
export class IncarnationClock implements Clock {
  readonly #base: SimulationClock;
  readonly #timers = new Set<TimerHandle>();
  #alive = true;

  constructor(base: SimulationClock) {
    this.#base = base;
  }

  get alive(): boolean {
    return this.#alive;
  }

  now(): UnixMs {
    return this.#base.now();
  }

  setTimer(delayMs: DurationMs, callback: () => void): TimerHandle {
    if (!this.#alive) return { cancel: () => {} };
    const handle = this.#base.setTimer(delayMs, () => {
      this.#timers.delete(handle);
      if (this.#alive) callback();
    });
    this.#timers.add(handle);
    return {
      cancel: () => {
        this.#timers.delete(handle);
        handle.cancel();
      },
    };
  }

  sleep(delayMs: DurationMs, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }

  kill(): void {
    this.#alive = false;
    for (const handle of this.#timers) handle.cancel();
    this.#timers.clear();
  }
}

/** A validator client that a dead process no longer uses: its calls never answer (the process is gone). */
function clientOf(client: InProcessValidatorClient, clock: IncarnationClock): EscrowValidatorClient & { readonly baseUrl: string } {
  const never = <T>(signal?: AbortSignal): Promise<T> => new Promise<T>((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
  return {
    baseUrl: client.baseUrl,
    submit: (txs, options) => (clock.alive ? client.submit(txs, options) : never<SubmittedTx[]>(options?.signal)),
    account: (id) => (clock.alive ? client.account(id) : never()),
    escrow: (id) => (clock.alive ? client.escrow(id) : never()),
    pendingEscrows: () => (clock.alive ? client.pendingEscrows() : never()),
    node: (id) => (clock.alive ? client.node(id) : never()),
  };
}

export type VirtualProcessKind = 'validator' | 'scheduler' | 'ground' | 'orbital';

interface Incarnation {
  readonly clock: IncarnationClock;
  readonly dir: string;
  readonly stop: () => Promise<void>;
}

interface ProcessSlot {
  readonly name: string;
  readonly kind: VirtualProcessKind;
  readonly node: NodeSpec | undefined;
  readonly validator: number | undefined;
  /** Incarnations so far (the directory of the next one is inc-<count>). */
  count: number;
  current: Incarnation | undefined;
}

export interface VirtualFederationOptions {
  readonly spec: FederationSpec;
  readonly inputs: FederationInputs;
  readonly dir: string;
  /** Run the ground and orbital agents (the scenario's `agents`); without them the scheduler places and escrows but does not dispatch. */
  readonly agents: boolean;
  readonly clock: SimulationClock;
  /** Generator of the run: keys, job ids and validator message faults draw from it, in that order. */
  readonly rng: () => number;
  readonly validatorFaults: ValidatorNetworkFaults;
  readonly trace: SwarmTrace;
  readonly logger: Logger;
}

/** The scheduler's parts of the current incarnation (read back at the end, like the API). */
export interface VirtualScheduler {
  readonly store: JobStore;
  readonly lifecycle: JobLifecycle;
  readonly dispatcher: Dispatcher;
}

export class VirtualFederation {
  readonly options: VirtualFederationOptions;
  readonly network: SimulatedNetwork;
  readonly validators: VirtualValidators;
  readonly nodeSeeds: ReadonlyMap<string, Uint8Array>;
  readonly schedulerSeed: Uint8Array;
  /** Every process, in start order. */
  readonly #slots: ProcessSlot[] = [];
  readonly #newJobId: () => string;
  readonly #planEndMs: number;
  #scheduler: VirtualScheduler | undefined;
  /** The last scheduler store, kept open after a crash for the final read (as its file would be). */
  #lastStore: JobStore | undefined;
  /** Crashed incarnations' stop functions: run only at the very end, to release their files. */
  readonly #dead: (() => Promise<void>)[] = [];

  constructor(options: VirtualFederationOptions) {
    this.options = options;
    const { spec, inputs, clock, rng, trace } = options;
    mkdirSync(options.dir, { recursive: true });
    // Keys from the seed, in a fixed order: validators, nodes, the scheduler.
    const validatorSeeds = Array.from({ length: spec.validators }, () => ed25519SeedFromRng(rng));
    this.nodeSeeds = new Map(inputs.nodes.map((n) => [n.id, ed25519SeedFromRng(rng)]));
    this.schedulerSeed = ed25519SeedFromRng(rng);
    const jobIds = Array.from({ length: 4 }, () => Math.floor(rng() * 2 ** 32));
    let jobCount = 0;
    this.#newJobId = () => `${JOB_LIFECYCLE_OPTIONS_DEFAULT.jobIdPrefix}${jobIds.map((w) => w.toString(16).padStart(8, '0')).join('').slice(0, 16)}${(jobCount++).toString(16).padStart(8, '0')}`;
    const chain = virtualGenesis({
      chainId: spec.chainId, genesisTimeMs: spec.planStartMs - 60_000, currency: spec.currency, tenants: spec.tenants.map((t) => t.id),
      tenantBalanceMinor: spec.tenantBalanceMinor, nodeSeeds: this.nodeSeeds, validatorSeeds,
    });
    this.validators = new VirtualValidators({ clock, dir: join(options.dir, 'validators'), chain, seeds: validatorSeeds, rng, faults: options.validatorFaults, trace });
    this.network = new SimulatedNetwork({
      clock,
      log: (event, fields) => trace.record(clock.now(), event, fields),
    });
    const epochMs = inputs.plan.epochMs ?? spec.planStartMs;
    this.network.addContactPlan(inputs.plan, epochMs);
    this.#planEndMs = spec.planStartMs + spec.planHours * 3_600_000;
    for (const g of this.grounds) {
      for (const [from, to] of [[VIRTUAL_SCHEDULER_IPN, g.ipn], [g.ipn, VIRTUAL_SCHEDULER_IPN]] as const) {
        this.network.addWindow(from, to, { startMs: spec.planStartMs - 86_400_000, endMs: this.#planEndMs + 86_400_000, rateBytesPerSec: OVERLAY_RATE_BYTES_PER_SEC, owltMs: OVERLAY_OWLT_MS });
      }
    }
    for (let i = 0; i < spec.validators; i++) this.#slots.push({ name: `validator-${i}`, kind: 'validator', node: undefined, validator: i, count: 0, current: undefined });
    this.#slots.push({ name: 'scheduler', kind: 'scheduler', node: undefined, validator: undefined, count: 0, current: undefined });
    for (const g of this.grounds) this.#slots.push({ name: `ground-${g.id}`, kind: 'ground', node: g, validator: undefined, count: 0, current: undefined });
    for (const o of this.orbitals) this.#slots.push({ name: `orbital-${o.id}`, kind: 'orbital', node: o, validator: undefined, count: 0, current: undefined });
  }

  get grounds(): NodeSpec[] {
    return this.options.agents ? this.options.inputs.nodes.filter((n) => n.kind === 'ground') : [];
  }

  get orbitals(): NodeSpec[] {
    return this.options.agents ? this.options.inputs.nodes.filter((n) => n.kind === 'orbital') : [];
  }

  get processNames(): string[] {
    return this.#slots.map((s) => s.name);
  }

  /** The running scheduler's parts, or undefined while it is down. */
  get scheduler(): VirtualScheduler | undefined {
    return this.#scheduler;
  }

  /** The job store to read back at the end: the running scheduler's, else the last one's files. */
  get jobStore(): JobStore | undefined {
    return this.#scheduler?.store ?? this.#lastStore;
  }

  isRunning(name: string): boolean {
    return this.#slot(name).current !== undefined;
  }

  /** Starts every process in order: validators, scheduler, stations, satellites. */
  async startAll(): Promise<void> {
    for (const slot of this.#slots) await this.start(slot.name);
  }

  async start(name: string): Promise<void> {
    const slot = this.#slot(name);
    if (slot.current !== undefined) throw new OrbitfedError('ORBITFED_SWARM_FAULT', `${name} is already running`);
    const previous = slot.count === 0 ? undefined : join(this.options.dir, 'processes', name, `inc-${slot.count - 1}`);
    const dir = join(this.options.dir, 'processes', name, `inc-${slot.count}`);
    // The files the last incarnation left (all it had committed) are where the new one starts.
    if (previous !== undefined && existsSync(previous)) cpSync(previous, dir, { recursive: true });
    mkdirSync(dir, { recursive: true });
    slot.count += 1;
    const clock = new IncarnationClock(this.options.clock);
    const stop = await this.#build(slot, clock, dir);
    slot.current = { clock, dir, stop };
    this.options.trace.record(this.options.clock.now(), 'process.started', { name, incarnation: slot.count - 1 });
  }

  /** kill -9. */
  async crash(name: string): Promise<void> {
    this.#kill(name, true);
  }

  #kill(name: string, abrupt: boolean): void {
    const slot = this.#slot(name);
    const current = slot.current;
    if (current === undefined) throw new OrbitfedError('ORBITFED_SWARM_FAULT', `${name} is not running`);
    slot.current = undefined;
    current.clock.kill();
    if (abrupt) this.#dead.push(current.stop);
    if (slot.kind === 'validator') this.validators.crash(slot.validator!);
    else this.network.crash(this.#ipnOf(slot));
    if (slot.kind === 'scheduler') this.#scheduler = undefined;
    this.options.trace.record(this.options.clock.now(), abrupt ? 'process.crashed' : 'process.stopped', { name });
  }

  /** SIGTERM: the component's own stop, then the process is gone. */
  async stop(name: string): Promise<void> {
    const slot = this.#slot(name);
    const current = slot.current;
    if (current === undefined) throw new OrbitfedError('ORBITFED_SWARM_FAULT', `${name} is not running`);
    await current.stop();
    this.#kill(name, false);
  }

  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
  }

  /** Cuts the links between two plan nodes (both directions) until `untilMs`. */
  partition(fromIpn: number | 'all', toIpn: number | 'all', untilMs: number): void {
    const pairs: [number, number][] = [];
    if (fromIpn === 'all' || toIpn === 'all') {
      for (const g of this.grounds) for (const o of this.orbitals) pairs.push([g.ipn, o.ipn]);
    } else {
      pairs.push([fromIpn, toIpn]);
    }
    for (const [a, b] of pairs) this.network.interrupt(a, b, untilMs);
  }

  /** Stops every running process gracefully, in reverse order (the end of a run). */
  async stopAll(): Promise<void> {
    for (const slot of [...this.#slots].reverse()) {
      if (slot.current === undefined) continue;
      await slot.current.stop().catch(() => {});
      slot.current.clock.kill();
      if (slot.kind === 'validator') this.validators.crash(slot.validator!);
      slot.current = undefined;
    }
    this.#scheduler = undefined;
    // The run is over: what crashed incarnations write while closing goes to files nobody reads.
    for (const stop of this.#dead.splice(0)) await stop().catch(() => {});
    this.#lastStore?.close();
    this.#lastStore = undefined;
  }

  /** The newest scheduler store is the one read at the end; older ones are closed with the dead. */
  #replaceLastStore(store: JobStore): void {
    const old = this.#lastStore;
    if (old !== undefined && old !== store) this.#dead.push(async () => old.close());
    this.#lastStore = store;
  }

  #slot(name: string): ProcessSlot {
    const slot = this.#slots.find((s) => s.name === name);
    if (slot === undefined) throw new OrbitfedError('ORBITFED_SWARM_FAULT', `no process ${name}; this federation has ${this.processNames.join(', ')}`);
    return slot;
  }

  #ipnOf(slot: ProcessSlot): number {
    return slot.kind === 'scheduler' ? VIRTUAL_SCHEDULER_IPN : slot.node!.ipn;
  }

  #bundleLog(name: string): BundleAgentLog {
    const { trace, clock } = this.options;
    return (event, fields) => {
      if (event === 'agent.delivery-committed' || event === 'agent.bundle-refused' || event === 'agent.contact-given-up') {
        trace.record(clock.now(), event, { process: name, ...plainFields(fields) });
      }
    };
  }

  #bundleAgent(name: string, ipn: number, plan: ContactPlan, peers: ReadonlyMap<number, PeerAddress>, clock: Clock, dir: string, capacityBytes: number): BundleAgent {
    return new BundleAgent({
      nodeNumber: ipn, storePath: join(dir, 'bundles.db'), store: { capacityBytes, capacityBundles: 100_000 }, plan, peers,
      convergenceLayers: [this.network.convergenceLayer(ipn)], clock, log: this.#bundleLog(name),
    });
  }

  async #build(slot: ProcessSlot, clock: IncarnationClock, dir: string): Promise<() => Promise<void>> {
    switch (slot.kind) {
      case 'validator':
        this.validators.start(slot.validator!);
        return async () => this.validators.node(slot.validator!)?.snapshotNow();
      case 'scheduler':
        return this.#buildScheduler(clock, dir);
      case 'ground':
        return this.#buildGround(slot.node!, clock, dir);
      case 'orbital':
        return this.#buildOrbital(slot.node!, clock, dir);
    }
  }

  async #buildScheduler(clock: IncarnationClock, dir: string): Promise<() => Promise<void>> {
    const { spec, inputs, logger } = this.options;
    const store = JobStore.open(join(dir, 'jobs.db'));
    const nowMs = clock.now();
    for (const tenant of spec.tenants) store.putTenant({ id: tenant.id, roles: [...tenant.roles], operator: tenant.operator, apiKeySha256: undefined, publicKeyHex: undefined }, nowMs);
    for (const node of inputs.nodes) store.putNode(node, 'config', nowMs);
    const escrow = new ValidatorEscrowLedger({ rpcUrl: 'in-process:validator-0', client: clientOf(this.validators.client(0), clock), commitTimeoutMs: 20_000 });
    const lifecycle = new JobLifecycle({
      store, escrow, plan: inputs.plan, clock, logger,
      placement: { placeJob, reservePlacement, releasePlacement },
      options: { tickMs: Math.max(10, Math.round(1000 * spec.timeScale)) },
      catalog: { chainId: spec.chainId, auditorKeys: new Map(), elements: inputs.elements, borders: countryBorders() },
      newJobId: this.#newJobId,
    });
    await lifecycle.refreshNodes();
    const overlay: OverlayPeer[] = this.grounds.map((g) => ({ node: g.ipn, rateBytesPerSec: OVERLAY_RATE_BYTES_PER_SEC, id: g.id }));
    const peers = new Map(this.grounds.map((g) => [g.ipn, simulatedPeerAddress(g.ipn)]));
    const agent = this.#bundleAgent('scheduler', VIRTUAL_SCHEDULER_IPN, withOverlayContacts(lifecycle.plan, VIRTUAL_SCHEDULER_IPN, overlay, 'scheduler'), peers, clock, dir, 256 * MIB);
    // Node keys: the ones registered in the genesis (what the real scheduler reads from the validators).
    const keys = new Map([...this.nodeSeeds].map(([id, seed]) => [id, ed25519PublicKeyFromSeed(seed)]));
    const dispatcher = new Dispatcher({
      lifecycle, jobs: store, agent, clock, logger, chainId: spec.chainId, schedulerKey: ed25519Signer(this.schedulerSeed),
      nodePublicKey: (nodeId) => keys.get(nodeId), overlay, options: { tickMs: Math.max(10, Math.round(1000 * spec.timeScale)) },
    });
    try {
      await lifecycle.start();
      await agent.start();
      dispatcher.start();
    } catch (error) {
      clock.kill();
      this.network.crash(VIRTUAL_SCHEDULER_IPN);
      this.#replaceLastStore(store);
      throw error;
    }
    this.#scheduler = { store, lifecycle, dispatcher };
    this.#replaceLastStore(store);
    return async () => {
      dispatcher.stop();
      lifecycle.stop();
      await agent.stop();
    };
  }

  async #buildGround(node: NodeSpec, clock: IncarnationClock, dir: string): Promise<() => Promise<void>> {
    const { inputs, logger, trace } = this.options;
    const station = inputs.stations[node.ipn - 1]!;
    const others = this.grounds.filter((g) => g.id !== node.id);
    const overlay: OverlayPeer[] = [
      { node: VIRTUAL_SCHEDULER_IPN, rateBytesPerSec: OVERLAY_RATE_BYTES_PER_SEC, id: 'scheduler' },
      ...others.map((g) => ({ node: g.ipn, rateBytesPerSec: OVERLAY_RATE_BYTES_PER_SEC, id: g.id })),
    ];
    const peers = new Map<number, PeerAddress>([[VIRTUAL_SCHEDULER_IPN, simulatedPeerAddress(VIRTUAL_SCHEDULER_IPN)]]);
    for (const n of inputs.nodes) if (n.id !== node.id) peers.set(n.ipn, simulatedPeerAddress(n.ipn));
    const agent = this.#bundleAgent(`ground-${node.id}`, node.ipn, withOverlayContacts(inputs.plan, node.ipn, overlay, station.id), peers, clock, dir, 256 * MIB);
    const validators = Array.from({ length: this.validators.count }, (_, i) => clientOf(this.validators.client(i), clock));
    const receiptGateway = new ReceiptGateway({
      queuePath: join(dir, 'receipts.sqlite'), validators, clock, logger, limits: { commitWaitMs: RECEIPT_COMMIT_WAIT_MS },
      onAnswered: (answer) => trace.record(clock.now(), 'receipt.answered', { station: node.id, name: answer.name, outcome: answer.outcome, height: answer.height ?? null, code: answer.code ?? null }),
    });
    const ground = new GroundAgent({ station, stationIpn: node.ipn, agent, overlay, clock, logger, receiptGateway, resultsDir: join(dir, 'results') });
    await ground.start();
    return () => ground.stop();
  }

  async #buildOrbital(node: NodeSpec, clock: IncarnationClock, dir: string): Promise<() => Promise<void>> {
    const { spec, inputs, logger } = this.options;
    const gateway = this.grounds[0]?.ipn ?? VIRTUAL_SCHEDULER_IPN;
    // The real federation's configuration file for this node (federation-agents.ts), resolved by the
    // orbital agent's own rules, so limits and defaults are the ones a real agent runs with.
    const file: OrbitalConfigFile = {
      nodeId: node.id, chainId: spec.chainId, ipnNumber: node.ipn, keyFile: 'node.key', schedulerPublicKey: Buffer.from(ed25519PublicKeyFromSeed(this.schedulerSeed)).toString('hex'),
      dataDir: '.', storageBytesMax: 64 * MIB, contactPlan: { file: 'plan.json' },
      convergenceLayers: { tcpclv4: { listen: '127.0.0.1:4556' } }, peers: [],
      runtime: { kind: 'process', cgroups: 'off' },
      endpoints: { reportsTo: `ipn:${VIRTUAL_SCHEDULER_IPN}.${SERVICE_NUMBERS.reports}`, receiptsTo: `ipn:${gateway}.${SERVICE_NUMBERS.receipts}`, telemetryTo: `ipn:${gateway}.${SERVICE_NUMBERS.telemetry}` },
      // A fixed core count: the machine running the swarm must not change what a node accepts.
      limits: { cpuCoresMax: 2 },
      // No housekeeping telemetry: its values are the host's (/proc), which would differ between replays.
      telemetryPeriodMs: 0,
    };
    const config = resolveOrbitalConfig(file, join(dir, 'orbital-agent.json'), this.nodeSeeds.get(node.id)!);
    const peers = new Map(this.grounds.map((g) => [g.ipn, simulatedPeerAddress(g.ipn)]));
    const bundles = this.#bundleAgent(`orbital-${node.id}`, node.ipn, inputs.plan, peers, clock, dir, config.storage.bundleStoreBytes);
    const runtime = new SimulatedRuntime({ clock, concurrentWorkloadsMax: config.limits.concurrentJobs });
    const agent = new OrbitalAgent({
      nodeId: config.nodeId, chainId: config.chainId, keyEpoch: config.keyEpoch, schedulerPublicKey: config.schedulerPublicKey, runtimeKind: 'process',
      storePath: join(dir, 'assignments.db'),
      storeLimits: { assignmentsMax: Math.max(1_000, config.limits.queuedJobsMax * 16), inputBytesMax: config.storage.inputBytesMax, outboxResultBytesMax: config.storage.outboxResultBytesMax },
      workRoot: join(dir, 'jobs'), planStatePath: join(dir, 'plan-state.json'), planIssuedAtMs: 0, bundleStoreBytes: config.storage.bundleStoreBytes,
      limits: { ...config.limits, inputBytesMax: config.storage.inputBytesMax }, endpoints: config.endpoints,
      telemetryPeriodMs: config.telemetryPeriodMs, telemetryLifetimeMs: config.telemetryLifetimeMs, heartbeatPeriodMs: config.heartbeatPeriodMs,
      bundleLifetimeMs: config.bundleLifetimeMs, receiptValidityMs: config.receiptValidityMs, clockSkewMsMax: config.clockSkewMsMax,
    }, { clock, bundles, runtime, signer: ed25519Signer(config.nodeSeed), logger });
    await agent.start();
    return () => agent.stop();
  }
}

/** Log fields as trace JSON: bigints and byte arrays as text, nothing else changed. */
function plainFields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(fields, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))) as Record<string, unknown>;
}
