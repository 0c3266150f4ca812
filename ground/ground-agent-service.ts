// The one place a ground-station agent process is wired (STYLE rule 14): configuration → station,
// contact plan and identity → the bundle agent with its two sides (libp2p overlay, TCPCLv4/MTCP
// satellite link), MQTT (a broker's client, or an embedded broker), the pass publisher, the receipt
// gateway, the blackout forwarder, terrestrial jobs on the process or Docker runtime, and
// /metrics. `orbitfed ground-agent --config FILE` runs it (cli/ground-agent-command.ts).
//
// start() brings things up in dependency order and, if any step fails, takes down what it started;
// stop() takes them down in reverse. Nothing is flushed at stop: every store commits as it goes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CronScheduler, MetricsEndpoint, MetricsRegistry, OrbitfedError, type Clock, type Logger } from '../common/index.ts';
import {
  classifyElementAge, ContactPlan, loadContactPlanFile, loadElementFile, loadStationsFile, satelliteIpn, type ElementSet, type Station,
} from '../contact-plans/index.ts';
import { ed25519Signer, readKeyFile, ValidatorClient, type Ed25519Signer } from '../consensus/index.ts';
import {
  BundleAgent, createLibp2pNode, formatHostPort, Libp2pConvergenceLayer, libp2pPeerIdOf, MtcpConvergenceLayer, parseHostPort, planTimeBaseOf,
  TcpclV4ConvergenceLayer, type ConvergenceLayer, type PeerAddress,
} from '../dtn/index.ts';
import { createDockerRuntime, dockerOwnerOf, ProcessRuntime, type WorkloadRuntime } from '../runtime/index.ts';
import { SERVICE_NUMBERS, withOverlayContacts, type AssignedRuntime, type OverlayPeer } from '../scheduler/index.ts';
import { BlackoutForwarder } from './blackout-forwarder.ts';
import { GroundAgent } from './ground-agent.ts';
import type { GroundConfig } from './ground-config.ts';
import { EmbeddedMqttBroker } from './mqtt-broker.ts';
import { GroundMqttClient } from './mqtt-client.ts';
import { PassPublisher } from './pass-publisher.ts';
import { prepareSatellites } from './pass-schedule.ts';
import { ReceiptGateway } from './receipt-gateway.ts';
import { TerrestrialExecutor } from './terrestrial-executor.ts';

export interface GroundAgentServiceOptions {
  readonly config: GroundConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Where a running ground agent can be reached. */
export interface GroundAgentEndpoints {
  readonly node: string;
  readonly libp2p: readonly string[];
  readonly tcpclv4: string | undefined;
  readonly mtcp: string | undefined;
  readonly mqtt: string;
  readonly metrics: string | undefined;
}

const hexBytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

/** The station, its plan (with overlay contacts) and what the CLs need, read from the configuration's files. */
interface Loaded {
  readonly station: Station;
  readonly stationIpn: number;
  readonly basePlan: ContactPlan;
  readonly planEpochMs: number | undefined;
  readonly overlay: readonly OverlayPeer[];
  readonly peers: ReadonlyMap<number, PeerAddress>;
  readonly peerKeys: readonly Uint8Array[];
  readonly seed: Uint8Array;
  readonly key: Ed25519Signer;
  readonly elements: readonly ElementSet[];
}

export class GroundAgentService {
  readonly #config: GroundConfig;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #log: Logger;
  readonly metrics = new MetricsRegistry().withProcessMetrics();
  #agent: GroundAgent | undefined;
  #broker: EmbeddedMqttBroker | undefined;
  #endpoint: MetricsEndpoint | undefined;
  #runtimes: WorkloadRuntime[] = [];
  #endpoints: GroundAgentEndpoints | undefined;
  #cls: { tcpclv4?: TcpclV4ConvergenceLayer; mtcp?: MtcpConvergenceLayer; libp2p?: { addresses(): string[] } } = {};
  #loaded: Loaded | undefined;
  /** schedules.planRefresh, while running. */
  #cron: CronScheduler | undefined;
  /** The hash of the plan file's plan last routed on (a scheduled refresh applies only a changed one). */
  #planHash: string | undefined;

  constructor(options: GroundAgentServiceOptions) {
    this.#config = options.config;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#log = options.logger.child({ component: 'ground-agent-service' });
  }

  get agent(): GroundAgent {
    if (this.#agent === undefined) throw new OrbitfedError('ORBITFED_GROUND_STOPPED', 'the ground agent is not running');
    return this.#agent;
  }

  endpoints(): GroundAgentEndpoints {
    if (this.#endpoints === undefined) throw new OrbitfedError('ORBITFED_GROUND_STOPPED', 'the ground agent is not running');
    return this.#endpoints;
  }

  async #load(): Promise<Loaded> {
    const config = this.#config;
    const file = config.file;
    const at = (field: string) => ({ file: config.configPath, field });
    const stations = await loadStationsFile(config.stationsPath);
    const station = stations.find((s) => s.id === file.station.id);
    if (station === undefined) {
      throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `no station ${file.station.id} in ${config.stationsPath} (it has ${stations.slice(0, 10).map((s) => s.id).join(', ')}${stations.length > 10 ? ', …' : ''})`, at('/station/id'));
    }
    const basePlan = await loadContactPlanFile(config.planPath, file.plan.format);
    planTimeBaseOf(basePlan, file.plan.epochMs);
    const stationIpn = file.station.ipn ?? basePlan.nodes.find((n) => n.id === station.id)?.ipn;
    if (stationIpn === undefined) {
      throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `the plan ${config.planPath} has no node with id ${station.id}; give station.ipn`, at('/station/ipn'));
    }
    const seed = await readKeyFile(config.keyPath);
    const peers = new Map<number, PeerAddress>();
    const peerKeys: Uint8Array[] = [];
    const overlay: OverlayPeer[] = [];
    file.terrestrial.peers.forEach((peer, i) => {
      if (peer.node === stationIpn) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `ipn ${peer.node} is this station`, at(`/terrestrial/peers/${i}/node`));
      const publicKey = hexBytes(peer.publicKeyHex);
      peerKeys.push(publicKey);
      peers.set(peer.node, { cl: 'libp2p', address: `${peer.address}/p2p/${libp2pPeerIdOf(publicKey)}` });
      overlay.push({ node: peer.node, rateBytesPerSec: peer.rateBytesPerSec ?? 12_500_000, id: peer.name });
    });
    file.space.satellites.forEach((s, i) => {
      const node = s.node ?? satelliteIpn(s.noradId!);
      if (peers.has(node)) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `ipn ${node} has two addresses`, at(`/space/satellites/${i}`));
      const [cl, ...rest] = s.address.split(':');
      const address = rest.join(':');
      parseHostPort(address);
      peers.set(node, { cl: cl!, address });
    });
    let elements: ElementSet[] = [];
    if (config.elementsPath !== undefined) {
      const loaded = await loadElementFile(config.elementsPath, { checksum: 'strict' });
      const refused = new Set<string>();
      for (const issue of [...loaded.issues, ...classifyElementAge(loaded.elements, this.#clock.now(), { allowStale: file.allowStaleElements === true })]) {
        if (issue.severity === 'error' && issue.catalogNumber !== undefined) refused.add(issue.catalogNumber);
        this.#log.warn({ file: config.elementsPath, code: issue.code, message: issue.message }, 'element set issue');
      }
      elements = loaded.elements.filter((e) => !refused.has(e.catalogNumber));
    }
    return { station, stationIpn, basePlan, planEpochMs: file.plan.epochMs, overlay, peers, peerKeys, seed, key: ed25519Signer(seed), elements };
  }

  /** Loads the files, starts every part; resolves to where the agent can be reached. */
  async start(): Promise<GroundAgentEndpoints> {
    if (this.#agent !== undefined) throw new OrbitfedError('ORBITFED_GROUND_RUNNING', 'the ground agent is already running');
    const config = this.#config;
    const file = config.file;
    const clock = this.#clock;
    const logger = this.#logger;
    const loaded = await this.#load();
    this.#loaded = loaded;
    const { station, stationIpn } = loaded;
    const nodeId = file.station.nodeId ?? station.id.toLowerCase();
    mkdirSync(config.dataDir, { recursive: true });
    try {
      // MQTT first: an embedded broker gives the URL the client needs.
      let brokerUrl = file.mqtt.url;
      if (file.mqtt.embedded === true) {
        this.#broker = new EmbeddedMqttBroker({ host: file.mqtt.host ?? '127.0.0.1', port: file.mqtt.port ?? 1883, logger });
        brokerUrl = (await this.#broker.start()).url;
      }
      const blackouts = new BlackoutForwarder({
        schedulerUrl: file.scheduler?.url, apiKey: config.schedulerApiKey, nodeId, clock, logger, metrics: this.metrics,
        limits: { ...(file.scheduler?.retryDelayMs === undefined ? {} : { retryDelayMs: file.scheduler.retryDelayMs }), ...(file.scheduler?.retryDelayMaxMs === undefined ? {} : { retryDelayMaxMs: file.scheduler.retryDelayMaxMs }) },
      });
      const mqtt = new GroundMqttClient({
        brokerUrl: brokerUrl!, stationId: station.id, clock, logger, queuedMessagesMax: file.mqtt.queuedMessagesMax,
        ...(file.mqtt.username === undefined ? {} : { username: file.mqtt.username }),
        ...(config.mqttPassword === undefined ? {} : { password: config.mqttPassword }),
        onBlackout: (window) => blackouts.submit(window),
      });
      const passPublisher = loaded.elements.length === 0 ? undefined : new PassPublisher({
        clock, station, satellites: prepareSatellites(loaded.elements), sink: mqtt, logger,
        refraction: file.mqtt.refraction === true, defaultMinElevationDeg: file.mqtt.defaultMinElevationDeg ?? 10,
      });

      // The bundle agent's two sides.
      const libp2pNode = await createLibp2pNode({ identitySeed: loaded.seed, allowedPublicKeys: loaded.peerKeys, listenAddresses: file.terrestrial.listen ?? ['/ip4/0.0.0.0/tcp/4001'] });
      const clLog = logger.child({ component: 'convergence-layer' });
      const log = (event: string, fields: Record<string, unknown>): void => clLog.debug(fields, event);
      const libp2p = new Libp2pConvergenceLayer({ node: libp2pNode, clock, log });
      const layers: ConvergenceLayer[] = [libp2p];
      this.#cls = { libp2p: libp2pNode };
      if (file.space.tcpclv4 !== undefined) {
        const tcpcl = new TcpclV4ConvergenceLayer({
          nodeId: `ipn:${stationIpn}.0`, clock, log, keepaliveSec: file.space.tcpclv4.keepaliveSec ?? 30,
          ...(file.space.tcpclv4.listen === undefined ? {} : { listen: parseHostPort(file.space.tcpclv4.listen) }),
        });
        layers.push(tcpcl);
        this.#cls.tcpclv4 = tcpcl;
      }
      if (file.space.mtcp !== undefined) {
        const mtcp = new MtcpConvergenceLayer({ clock, log, ...(file.space.mtcp.listen === undefined ? {} : { listen: parseHostPort(file.space.mtcp.listen) }) });
        layers.push(mtcp);
        this.#cls.mtcp = mtcp;
      }
      const agentLog = logger.child({ component: 'bundle-agent' });
      const agent = new BundleAgent({
        nodeNumber: stationIpn,
        storePath: join(config.dataDir, 'bundles.sqlite'),
        store: {
          capacityBytes: file.store?.capacityBytes ?? 1024 * 1024 * 1024,
          capacityBundles: file.store?.capacityBundles ?? 100_000,
          ...(file.store?.bundleSizeBytesMax === undefined ? {} : { bundleSizeBytesMax: file.store.bundleSizeBytesMax }),
        },
        plan: withOverlayContacts(loaded.basePlan, stationIpn, loaded.overlay, station.id),
        ...(loaded.planEpochMs === undefined ? {} : { planEpochMs: loaded.planEpochMs }),
        peers: loaded.peers,
        convergenceLayers: layers,
        clock,
        log: (event, fields) => {
          if (/error|refused|failed|given-up|unreadable/.test(event)) agentLog.warn(fields, event);
          else agentLog.debug(fields, event);
        },
      });

      const receiptGateway = file.validators === undefined ? undefined : new ReceiptGateway({
        queuePath: join(config.dataDir, 'receipts.sqlite'), validators: file.validators.rpcUrls.map((url) => new ValidatorClient(url)), clock, logger, metrics: this.metrics,
        limits: {
          ...(file.validators.batchMax === undefined ? {} : { batchMax: file.validators.batchMax }),
          ...(file.validators.commitWaitMs === undefined ? {} : { commitWaitMs: file.validators.commitWaitMs }),
          ...(file.validators.retryDelayMs === undefined ? {} : { retryDelayMs: file.validators.retryDelayMs }),
          ...(file.validators.retryDelayMaxMs === undefined ? {} : { retryDelayMaxMs: file.validators.retryDelayMaxMs }),
          ...(file.validators.receiptsMax === undefined ? {} : { receiptsMax: file.validators.receiptsMax }),
        },
      });

      let executor: TerrestrialExecutor | undefined;
      if (file.jobs !== undefined) {
        const runtimes = new Map<AssignedRuntime, WorkloadRuntime>();
        for (const kind of file.jobs.runtimes) {
          // Per agent: a runtime's start removes everything of its owner (containers, workload cgroups).
          const owner = config.dockerOwner ?? dockerOwnerOf(nodeId);
          const runtime = kind === 'process'
            ? new ProcessRuntime({ clock, logger, cgroupParent: `orbitfed/${owner}` })
            : await createDockerRuntime({ clock, logger, owner, ...(config.dockerSocket === undefined ? {} : { socketPath: config.dockerSocket }) });
          const capabilities = await runtime.start();
          this.#runtimes.push(runtime);
          runtimes.set(kind, runtime);
          this.#log.info({ runtime: kind, enforcement: capabilities.enforcement, notes: capabilities.notes }, 'workload runtime ready');
        }
        const j = file.jobs;
        executor = new TerrestrialExecutor({
          agent, runtimes, storePath: join(config.dataDir, 'jobs.sqlite'), workRoot: join(config.dataDir, 'work'), chainId: file.chainId, nodeId,
          key: loaded.key, keyEpoch: file.identity.keyEpoch ?? 0, schedulerPublicKey: hexBytes(file.scheduler!.publicKeyHex!), clock, logger, metrics: this.metrics,
          defaultReportTo: file.scheduler?.node === undefined ? undefined : `ipn:${file.scheduler.node}.${SERVICE_NUMBERS.reports}`,
          limits: {
            ...(j.concurrentMax === undefined ? {} : { concurrentMax: j.concurrentMax }), ...(j.queuedMax === undefined ? {} : { queuedMax: j.queuedMax }),
            ...(j.heartbeatMs === undefined ? {} : { heartbeatMs: j.heartbeatMs }), ...(j.clockSkewMsMax === undefined ? {} : { clockSkewMsMax: j.clockSkewMsMax }),
            ...(j.reportLifetimeMs === undefined ? {} : { reportLifetimeMs: j.reportLifetimeMs }),
          },
        });
      }

      const ground = new GroundAgent({
        station, stationIpn, agent, overlay: loaded.overlay, clock, logger, metrics: this.metrics, mqtt, passPublisher, receiptGateway, blackouts, executor,
        resultsDir: join(config.dataDir, 'results'),
      });
      await ground.start();
      this.#agent = ground;
      let metricsUrl: string | undefined;
      if (file.metrics !== undefined) {
        this.#endpoint = new MetricsEndpoint({ host: file.metrics.host ?? '127.0.0.1', port: file.metrics.port, registry: this.metrics, healthy: () => ground.running });
        metricsUrl = await this.#endpoint.start();
      }
      const tcpclAddress = this.#cls.tcpclv4?.listenAddress;
      const mtcpAddress = this.#cls.mtcp?.listenAddress;
      this.#endpoints = {
        node: ground.nodeEid,
        libp2p: libp2pNode.addresses(),
        tcpclv4: tcpclAddress === undefined ? undefined : formatHostPort(tcpclAddress),
        mtcp: mtcpAddress === undefined ? undefined : formatHostPort(mtcpAddress),
        mqtt: brokerUrl!,
        metrics: metricsUrl,
      };
      this.#log.info({ station: station.id, nodeId, ...this.#endpoints, planHash: loaded.basePlan.hash, satellites: loaded.elements.length }, 'ground agent started');
      this.#planHash = loaded.basePlan.hash;
      if (this.#config.planRefresh !== undefined) {
        const cron = new CronScheduler({ clock: this.#clock, logger: this.#log.child({ component: 'schedules' }) });
        cron.add('plan-refresh', this.#config.planRefresh, () => this.refreshPlan().then(() => undefined));
        cron.start();
        this.#cron = cron;
      }
      return this.#endpoints;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Reads the contact plan file again and routes everything on it (SIGHUP). */
  async reloadPlan(): Promise<string> {
    const loaded = this.#loaded;
    if (loaded === undefined || this.#agent === undefined) throw new OrbitfedError('ORBITFED_GROUND_STOPPED', 'the ground agent is not running');
    const plan = await loadContactPlanFile(this.#config.planPath, this.#config.file.plan.format);
    this.#agent.setPlan(plan, this.#config.file.plan.epochMs);
    this.#planHash = plan.hash;
    this.#log.info({ planHash: plan.hash, contacts: plan.contacts.length }, 'contact plan reloaded');
    return plan.hash;
  }

  /** What schedules.planRefresh runs: reloadPlan when the file's plan differs from the one in use. */
  async refreshPlan(): Promise<'reloaded' | 'unchanged'> {
    if (this.#agent === undefined) throw new OrbitfedError('ORBITFED_GROUND_STOPPED', 'the ground agent is not running');
    const plan = await loadContactPlanFile(this.#config.planPath, this.#config.file.plan.format);
    if (plan.hash === this.#planHash) {
      this.#log.debug({ event: 'ground.plan-unchanged', planHash: plan.hash }, 'contact plan file unchanged');
      return 'unchanged';
    }
    this.#agent.setPlan(plan, this.#config.file.plan.epochMs);
    this.#planHash = plan.hash;
    this.#log.info({ event: 'ground.plan-refreshed', planHash: plan.hash, contacts: plan.contacts.length }, 'contact plan file changed; routing on it');
    return 'reloaded';
  }

  async stop(): Promise<void> {
    this.#cron?.stop();
    this.#cron = undefined;
    await this.#endpoint?.stop();
    this.#endpoint = undefined;
    await this.#agent?.stop();
    this.#agent = undefined;
    for (const runtime of this.#runtimes.splice(0)) {
      try {
        await runtime.stop();
      } catch (error) {
        this.#log.warn({ runtime: runtime.kind, error: (error as Error).message }, 'runtime did not stop cleanly');
      }
    }
    await this.#broker?.stop();
    this.#broker = undefined;
    this.#endpoints = undefined;
  }
}
