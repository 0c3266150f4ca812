// The one place a scheduler process is wired (STYLE rule 14): configuration → contact plan, job
// store, tenants, the ledger behind the escrow port, placement, the job lifecycle, the REST API and,
// with `dtn`, the scheduler's own DTN node (a BundleAgent on the libp2p overlay to the stations)
// with the dispatcher on it, with one logger and one metrics registry. `start()` recovers the
// lifecycle, starts the DTN node and the dispatcher, and listens; `stop()` closes the API (in-flight
// requests finish), stops the dispatcher, the DTN node and the sweeps, and closes the store.
//
// Node keys for the dispatcher (NodeKeyDirectory, below): a node's `publicKeyHex` in its NodeSpec
// when it has one, else the active key of the node in the validators' registry when
// `ledger.validatorRpcUrl` is set (read once, then again after `dtn.nodeKeyCacheMs`), else none
// (its messages are refused).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Type } from '@sinclair/typebox';
import { loadConfigFile, MetricsRegistry, OrbitfedError, type Clock, type Logger } from '../common/index.ts';
import { ContactPlan, loadContactPlanFile, loadElementFile } from '../contact-plans/index.ts';
import { ed25519PublicKeyFromSeed, ed25519Signer, readKeyFile, ValidatorClient } from '../consensus/index.ts';
import {
  BundleAgent, createLibp2pNode, formatEid, Libp2pConvergenceLayer, libp2pPeerIdOf, planTimeBaseOf, type BundleAgentLog, type Libp2pNode, type PeerAddress,
} from '../dtn/index.ts';
import { buildApi, type ApiApp } from './api.ts';
import { verifyAttestation } from './attestations.ts';
import { loadDashboardSources } from './dashboard-config.ts';
import { loadCountryBorders } from './country-borders.ts';
import { Dispatcher, withOverlayContacts, type OverlayPeer } from './dispatcher.ts';
import { InProcessEscrowLedger, type EscrowLedger } from './escrow-ledger.ts';
import { ValidatorEscrowLedger } from './validator-escrow-ledger.ts';
import { JobLifecycle } from './job-lifecycle.ts';
import { JobStore } from './job-store.ts';
import { nodeSpecRuleProblems, NodeSpecSchema } from './node-spec.ts';
import { placeJob, releasePlacement, reservePlacement } from './placement.ts';
import { SCHEDULER_DTN_DEFAULTS, type SchedulerConfig } from './scheduler-config.ts';
import { throwIfProblems } from './spec-problems.ts';
import { TenantDirectory } from './tenants.ts';

/** Who registered the nodes of `nodesFile` (shown as `registeredBy`). */
export const CONFIG_REGISTRANT = 'config';
const NODES_FILE_NODES_MAX = 100_000;

export interface SchedulerServiceOptions {
  readonly config: SchedulerConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A registry with process metrics is made when none is given. */
  readonly metrics?: MetricsRegistry | undefined;
  /** Overrides the configured listen address (tests: port 0). */
  readonly listen?: { readonly host?: string; readonly port?: number } | undefined;
}

/** The scheduler's DTN node and the dispatcher on it (`dtn` in the configuration). */
interface DtnNode {
  readonly agent: BundleAgent;
  readonly libp2p: Libp2pNode;
  readonly dispatcher: Dispatcher;
  readonly publicKeyHex: string;
}

/** Where the scheduler's DTN node can be reached, once started. */
export interface SchedulerDtnEndpoints {
  /** ipn:N.0 */
  readonly node: string;
  readonly reports: string;
  readonly results: string;
  /** The scheduler's signing key: what agents configure as the scheduler's public key. */
  readonly publicKeyHex: string;
  /** libp2p multiaddrs with /p2p/<peer id>. */
  readonly libp2p: readonly string[];
}

export class SchedulerService {
  readonly app: ApiApp;
  readonly store: JobStore;
  readonly lifecycle: JobLifecycle;
  readonly escrow: EscrowLedger;
  readonly #config: SchedulerConfig;
  readonly #log: Logger;
  readonly #listen: { readonly host: string; readonly port: number };
  readonly #dtn: DtnNode | undefined;
  #started = false;
  #dtnStarted = false;

  private constructor(config: SchedulerConfig, parts: { app: ApiApp; store: JobStore; lifecycle: JobLifecycle; escrow: EscrowLedger; dtn: DtnNode | undefined }, log: Logger, listen: { host: string; port: number }) {
    this.#config = config;
    this.app = parts.app;
    this.store = parts.store;
    this.lifecycle = parts.lifecycle;
    this.escrow = parts.escrow;
    this.#dtn = parts.dtn;
    this.#log = log;
    this.#listen = listen;
  }

  /** The dispatcher, when `dtn` is configured. */
  get dispatcher(): Dispatcher | undefined {
    return this.#dtn?.dispatcher;
  }

  /** The DTN node's endpoints, when `dtn` is configured and the service started. */
  dtnEndpoints(): SchedulerDtnEndpoints | undefined {
    const dtn = this.#dtn;
    if (dtn === undefined || !this.#dtnStarted) return undefined;
    return {
      node: formatEid(dtn.agent.nodeId), reports: dtn.dispatcher.reportsEid, results: dtn.dispatcher.resultsEid, publicKeyHex: dtn.publicKeyHex,
      libp2p: dtn.libp2p.addresses(),
    };
  }

  /** Builds every component from the configuration; nothing listens and no sweep runs until `start`. */
  static async create(options: SchedulerServiceOptions): Promise<SchedulerService> {
    const { config, clock } = options;
    const file = config.file;
    const log = options.logger.child({ component: 'scheduler' });
    const metrics = options.metrics ?? new MetricsRegistry().withProcessMetrics();
    const plan = await loadPlan(config);
    const auditors = new Map((file.auditors ?? []).map((a) => [a.id, new Uint8Array(Buffer.from(a.publicKeyHex, 'hex'))]));
    let footprints: { elements: Awaited<ReturnType<typeof loadElementFile>>['elements']; borders: ReturnType<typeof loadCountryBorders> } | undefined;
    if (config.elementsPath !== undefined) {
      const loaded = await loadElementFile(config.elementsPath, { checksum: 'strict' });
      for (const issue of loaded.issues) log.warn({ file: config.elementsPath, issue }, 'element set skipped');
      footprints = { elements: loaded.elements, borders: loadCountryBorders() };
    }
    mkdirSync(dirname(config.storePath), { recursive: true });
    mkdirSync(dirname(config.ledgerSnapshotPath), { recursive: true });
    const store = JobStore.open(config.storePath, { limits: file.limits });
    try {
      const nowMs = clock.now();
      for (const tenant of config.tenants) store.putTenant(tenant, nowMs);
      const removed = store.removeTenantsExcept(config.tenants.map((t) => t.id));
      if (removed > 0) log.warn({ removed }, 'tenants no longer in the configuration were removed');
      const escrow = await openEscrowLedger(config, clock);
      if (config.nodesPath !== undefined) await registerConfiguredNodes(store, config.nodesPath, nowMs, auditors, file.ledger.chainId);
      const lifecycle = new JobLifecycle({
        store, escrow, plan, clock, logger: options.logger, metrics,
        placement: { placeJob, reservePlacement, releasePlacement },
        options: { ...file.lifecycle, ...(file.ledger.escrowSettlementWindowMs === undefined ? {} : { escrowSettlementWindowMs: file.ledger.escrowSettlementWindowMs }) },
        catalog: { chainId: file.ledger.chainId, auditorKeys: auditors, ...footprints },
      });
      await lifecycle.refreshNodes();
      const tenants = new TenantDirectory(store, { chainId: file.ledger.chainId, clock });
      const app = await buildApi({
        store, lifecycle, tenants, clock, logger: options.logger, metrics, auditors, chainId: file.ledger.chainId,
        limits: file.limits, docs: file.docs, dashboard: await loadDashboardSources(config, escrow, footprints?.elements),
      });
      const dtn = config.dtn === undefined ? undefined : await buildDtnNode(config, { store, lifecycle, clock, logger: options.logger, metrics });
      const listen = { host: options.listen?.host ?? file.listen?.host ?? '127.0.0.1', port: options.listen?.port ?? file.listen?.port ?? 8080 };
      return new SchedulerService(config, { app, store, lifecycle, escrow, dtn }, log, listen);
    } catch (error) {
      store.close();
      throw error;
    }
  }

  get plan(): ContactPlan {
    return this.lifecycle.plan;
  }

  /**
   * Recovers the lifecycle (bookings, orphaned escrows, unplaced jobs), starts the DTN node and the
   * dispatcher (which sends the assignments of placed jobs at once), and listens; resolves to the
   * address. After a failure, `stop()` takes down what started.
   */
  async start(): Promise<string> {
    await this.lifecycle.start();
    this.#started = true;
    const dtn = this.#dtn;
    if (dtn !== undefined) {
      await dtn.agent.start();
      this.#dtnStarted = true;
      dtn.dispatcher.start();
      this.#log.info({ ...this.dtnEndpoints() }, 'scheduler DTN node running; dispatching');
    } else {
      this.#log.info({}, 'no dtn configured: jobs are placed and escrowed but not dispatched');
    }
    const address = await this.app.listen({ host: this.#listen.host, port: this.#listen.port });
    this.#log.info({ address, planHash: this.plan.hash, contacts: this.plan.contacts.length, nodes: this.lifecycle.nodes.size, store: this.#config.storePath }, 'scheduler listening');
    return address;
  }

  /** Loads the contact plan file again and re-plans what depended on the old one. */
  async reloadPlan(): Promise<void> {
    await this.lifecycle.replacePlan(await loadPlan(this.#config));
  }

  async stop(): Promise<void> {
    await this.app.close();
    if (this.#dtnStarted) {
      this.#dtn!.dispatcher.stop();
      await this.#dtn!.agent.stop();
    }
    this.#dtnStarted = false;
    if (this.#started) this.lifecycle.stop();
    this.#started = false;
    this.store.close();
    this.#log.info({}, 'scheduler stopped');
  }
}

/** The configured plan, on an absolute time base (placement needs one): a relative plan gets the configured epoch. */
async function loadPlan(config: SchedulerConfig): Promise<ContactPlan> {
  const plan = await loadContactPlanFile(config.planPath, config.file.plan.format);
  const { epochMs } = planTimeBaseOf(plan, config.file.plan.epochMs);
  return plan.epochMs === undefined ? new ContactPlan({ ...plan.toData(), epochMs }) : plan;
}

async function registerConfiguredNodes(store: JobStore, path: string, nowMs: number, auditors: ReadonlyMap<string, Uint8Array>, chainId: string): Promise<void> {
  const specs = await loadConfigFile(path, Type.Array(NodeSpecSchema, { maxItems: NODES_FILE_NODES_MAX }), 'nodes file');
  const ipns = new Map<number, string>();
  specs.forEach((spec, i) => {
    throwIfProblems('ORBITFED_NODE_SPEC_INVALID', `node spec /${i} of ${path}`, nodeSpecRuleProblems(spec));
    const other = ipns.get(spec.ipn);
    if (other !== undefined) throw new OrbitfedError('ORBITFED_NODE_SPEC_INVALID', `nodes ${other} and ${spec.id} share ipn ${spec.ipn}`, { file: path, field: `/${i}/ipn` });
    ipns.set(spec.ipn, spec.id);
    spec.attestations.forEach((attestation, j) => {
      const publicKey = auditors.get(attestation.auditor);
      if (publicKey === undefined || !verifyAttestation(spec, attestation, publicKey, chainId)) {
        throw new OrbitfedError('ORBITFED_NODE_ATTESTATION', `the attestation by ${attestation.auditor} does not verify (unknown auditor or bad signature)`, { file: path, field: `/${i}/attestations/${j}` });
      }
    });
  });
  for (const spec of specs) store.putNode(spec, CONFIG_REGISTRANT, nowMs);
}

/** The validators when `ledger.validatorRpcUrl` is set; otherwise the in-process ledger, funded from `ledger.genesis`. */
async function openEscrowLedger(config: SchedulerConfig, clock: Clock): Promise<EscrowLedger> {
  const { ledger } = config.file;
  if (ledger.validatorRpcUrl !== undefined) {
    if ((ledger.genesis ?? []).length > 0) {
      throw new OrbitfedError('ORBITFED_CONFIG_INVALID', "ledger.genesis funds the in-process ledger only; with validatorRpcUrl tenants' money is in the chain's genesis", { file: config.configPath, field: '/ledger/genesis' });
    }
    return new ValidatorEscrowLedger({ rpcUrl: ledger.validatorRpcUrl });
  }
  const escrow = await InProcessEscrowLedger.open({ chainId: ledger.chainId, clock, snapshotPath: config.ledgerSnapshotPath });
  for (const g of ledger.genesis ?? []) {
    const outcome = escrow.fundTenant(g.tenant, g.currency, BigInt(g.amountMinor), `genesis:${g.tenant}:${g.currency}`);
    if (!outcome.ok) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `genesis money for ${g.tenant} refused by the ledger: ${outcome.detail} (${outcome.code})`, { file: config.configPath, field: '/ledger/genesis' });
  }
  return escrow;
}

/** The scheduler's DTN node (`dtn`): its key, the libp2p overlay to the configured peers, the bundle agent, the dispatcher. */
async function buildDtnNode(
  config: SchedulerConfig,
  parts: { store: JobStore; lifecycle: JobLifecycle; clock: Clock; logger: Logger; metrics: MetricsRegistry },
): Promise<DtnNode> {
  const { store, lifecycle, clock, logger, metrics } = parts;
  const file = config.file;
  const d = file.dtn!;
  const paths = config.dtn!;
  const registered = lifecycle.nodeByIpn(d.ipn);
  if (registered !== undefined) {
    throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `dtn.ipn ${d.ipn} is the ipn of registered node ${registered.spec.id}; the scheduler needs a number of its own`, { file: config.configPath, field: '/dtn/ipn' });
  }
  const seed = await readKeyFile(paths.keyPath);
  const peers = new Map<number, PeerAddress>();
  const peerKeys: Uint8Array[] = [];
  const overlay: OverlayPeer[] = [];
  for (const peer of d.peers) {
    const publicKey = new Uint8Array(Buffer.from(peer.publicKeyHex, 'hex'));
    peerKeys.push(publicKey);
    peers.set(peer.node, { cl: 'libp2p', address: `${peer.address}/p2p/${libp2pPeerIdOf(publicKey)}` });
    overlay.push({ node: peer.node, rateBytesPerSec: peer.rateBytesPerSec ?? SCHEDULER_DTN_DEFAULTS.overlayRateBytesPerSec, id: peer.name });
  }
  mkdirSync(dirname(paths.bundleStorePath), { recursive: true });
  const libp2p = await createLibp2pNode({ identitySeed: seed, allowedPublicKeys: peerKeys, listenAddresses: d.listen ?? SCHEDULER_DTN_DEFAULTS.listen });
  const clLog = logger.child({ component: 'convergence-layer' });
  const agent = new BundleAgent({
    nodeNumber: d.ipn,
    storePath: paths.bundleStorePath,
    store: {
      capacityBytes: d.store?.capacityBytes ?? SCHEDULER_DTN_DEFAULTS.capacityBytes,
      capacityBundles: d.store?.capacityBundles ?? SCHEDULER_DTN_DEFAULTS.capacityBundles,
      ...(d.store?.bundleSizeBytesMax === undefined ? {} : { bundleSizeBytesMax: d.store.bundleSizeBytesMax }),
    },
    plan: withOverlayContacts(lifecycle.plan, d.ipn, overlay, 'scheduler'),
    peers,
    convergenceLayers: [new Libp2pConvergenceLayer({ node: libp2p, clock, log: (event, fields) => clLog.debug(fields, event) })],
    clock,
    log: bundleAgentLog(logger),
  });
  const keys = new NodeKeyDirectory({
    nodes: lifecycle, clock, logger, cacheMs: d.nodeKeyCacheMs ?? SCHEDULER_DTN_DEFAULTS.nodeKeyCacheMs,
    validators: file.ledger.validatorRpcUrl === undefined ? undefined : new ValidatorClient(file.ledger.validatorRpcUrl),
  });
  const dispatcher = new Dispatcher({
    lifecycle, jobs: store, agent, clock, logger, metrics, chainId: file.ledger.chainId, schedulerKey: ed25519Signer(seed),
    nodePublicKey: (nodeId) => keys.publicKeyOf(nodeId), overlay, options: d.dispatcher,
  });
  return { agent, libp2p, dispatcher, publicKeyHex: Buffer.from(ed25519PublicKeyFromSeed(seed)).toString('hex') };
}

/** The bundle agent's events: failures at warn (a node key being fetched at debug: the bundle is simply offered again), the rest at debug. */
function bundleAgentLog(logger: Logger): BundleAgentLog {
  const log = logger.child({ component: 'bundle-agent' });
  return (event, fields) => {
    if (fields.code === 'ORBITFED_NODE_KEY_PENDING') log.debug(fields, event);
    else if (/error|refused|failed|given-up|unreadable|unroutable/.test(event)) log.warn(fields, event);
    else log.debug(fields, event);
  };
}

/** Node keys remembered at most (the oldest go first); also the bound on lookups in flight. */
export const NODE_KEYS_CACHED_MAX = 10_000;
/** A node the validators did not know, or could not be asked about, is asked again after this. */
export const NODE_KEY_RETRY_MS = 5_000;
const NODE_KEY_LOOKUPS_IN_FLIGHT_MAX = 64;

export interface NodeKeyDirectoryOptions {
  /** The registered nodes (the lifecycle's view of the job store). */
  readonly nodes: Pick<JobLifecycle, 'nodes'>;
  /** The validators' registry; without it only NodeSpec keys are known. */
  readonly validators?: Pick<ValidatorClient, 'node'> | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a key read from the validators is used before it is read again (in the background). */
  readonly cacheMs: number;
}

/**
 * The dispatcher's `nodePublicKey`: synchronous, because it runs inside the bundle store's delivery
 * transaction. A registered node's NodeSpec `publicKeyHex` comes first; otherwise the active key
 * (the newest, unless retired or revoked) of the node in the validators' registry. A key not read
 * yet cannot be answered at once: the lookup starts and `ORBITFED_NODE_KEY_PENDING` is thrown, which
 * leaves the message in the bundle store to be delivered again (a second later); once the validators
 * answered that they do not know the node, its messages are refused (`undefined`) for
 * `NODE_KEY_RETRY_MS`. A key older than `cacheMs` is still used while it is read again, so a
 * rotated key is honoured at most `cacheMs` late (reports signed with the new key before that are
 * refused). Unregistered nodes have no key.
 */
export class NodeKeyDirectory {
  readonly #options: NodeKeyDirectoryOptions;
  readonly #log: Logger;
  /** nodeId → the key the validators gave (undefined: they do not know the node), and when. */
  readonly #cache = new Map<string, { readonly publicKey: Uint8Array | undefined; readonly atMs: number }>();
  readonly #failedAtMs = new Map<string, number>();
  readonly #inFlight = new Set<string>();

  constructor(options: NodeKeyDirectoryOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'node-keys' });
  }

  publicKeyOf(nodeId: string): Uint8Array | undefined {
    const spec = this.#options.nodes.nodes.get(nodeId)?.spec;
    if (spec === undefined) return undefined;
    if (spec.publicKeyHex !== undefined) return new Uint8Array(Buffer.from(spec.publicKeyHex, 'hex'));
    if (this.#options.validators === undefined) return undefined;
    const nowMs = this.#options.clock.now();
    const cached = this.#cache.get(nodeId);
    if (cached?.publicKey !== undefined) {
      if (nowMs - cached.atMs >= this.#options.cacheMs) this.#lookUp(nodeId, nowMs);
      return cached.publicKey;
    }
    if (cached !== undefined && nowMs - cached.atMs < NODE_KEY_RETRY_MS) return undefined;
    this.#lookUp(nodeId, nowMs);
    throw new OrbitfedError('ORBITFED_NODE_KEY_PENDING', `the public key of node ${nodeId} is being read from the validators; the message waits and is delivered again`, { field: 'nodeId' });
  }

  #lookUp(nodeId: string, nowMs: number): void {
    const validators = this.#options.validators!;
    if (this.#inFlight.has(nodeId) || this.#inFlight.size >= NODE_KEY_LOOKUPS_IN_FLIGHT_MAX) return;
    const failedAtMs = this.#failedAtMs.get(nodeId);
    if (failedAtMs !== undefined && nowMs - failedAtMs < NODE_KEY_RETRY_MS) return;
    // In flight until the validator answers or the request fails: fetch's own limits (undici: connect
    // 10 s, headers and body 300 s each, wall time) bound a validator that never answers. No Clock
    // timer here: under a scaled clock it would run out long before the network answered.
    this.#inFlight.add(nodeId);
    validators.node(nodeId).then(
      (record) => {
        const publicKey = record === undefined ? undefined : activeKeyOf(record);
        this.#failedAtMs.delete(nodeId);
        this.#cache.delete(nodeId);
        if (this.#cache.size >= NODE_KEYS_CACHED_MAX) this.#cache.delete(this.#cache.keys().next().value!);
        this.#cache.set(nodeId, { publicKey, atMs: this.#options.clock.now() });
        this.#log.info({ nodeId, known: publicKey !== undefined }, publicKey === undefined ? 'the validators have no active key for this node' : 'node key read from the validators');
      },
      (error: unknown) => {
        if (this.#failedAtMs.size >= NODE_KEYS_CACHED_MAX) this.#failedAtMs.clear();
        this.#failedAtMs.set(nodeId, this.#options.clock.now());
        this.#log.warn({ nodeId, code: (error as OrbitfedError).code, error: (error as Error).message }, 'node key not read from the validators; asking again later');
      },
    ).finally(() => this.#inFlight.delete(nodeId));
  }
}

/** The active key of a ledger node record (validator RPC JSON: keys[].publicKey in hex): the newest, unless it was retired or revoked. */
function activeKeyOf(record: Record<string, unknown>): Uint8Array | undefined {
  const keys = Array.isArray(record.keys) ? (record.keys as Record<string, unknown>[]) : [];
  const active = keys.at(-1);
  if (active === undefined || active.retiredAtMs !== undefined || active.revokedAtMs !== undefined) return undefined;
  const hex = active.publicKey;
  return typeof hex === 'string' && /^[0-9a-f]{64}$/.test(hex) ? new Uint8Array(Buffer.from(hex, 'hex')) : undefined;
}
