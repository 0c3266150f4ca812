// The one place an orbital agent process is wired (STYLE rule 14): configuration → logger, metrics,
// contact plan, convergence layers, bundle agent, workload runtime, housekeeping reader, the
// orbital agent and /metrics. `orbitfed orbital-agent --config FILE` only starts and stops this.
// Only what the configuration uses is created: no libp2p node, the Docker runtime (and dockerode)
// only when `runtime.kind` is docker.
import { mkdirSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { join } from 'node:path';
import { createLogger, CronScheduler, MetricsEndpoint, MetricsRegistry, OrbitfedError, type Clock, type CronJobStats, type Logger } from '../common/index.ts';
import { loadContactPlanFile } from '../contact-plans/plan.ts';
import { ed25519Signer } from '../consensus/node.ts';
import {
  BundleAgent, MtcpConvergenceLayer, parseHostPort, TcpclV4ConvergenceLayer, type BundleAgentLog, type ConvergenceLayer, type PeerAddress,
} from '../dtn/index.ts';
import { createDockerRuntime, ProcessRuntime, type WorkloadRuntime } from '../runtime/index.ts';
import { HousekeepingReader } from './housekeeping.ts';
import { loadOrbitalConfig, type OrbitalConfig } from './orbital-config.ts';
import { OrbitalAgent } from './orbital-agent.ts';
import { loadPlanState, PLAN_STATE_FILE } from './plan-state.ts';

export interface OrbitalServiceOptions {
  readonly configPath: string;
  readonly clock: Clock;
  /** Defaults to JSON lines on stderr at the configured level. */
  readonly logger?: Logger;
}

/**
 * The event loop's lag is sampled once a second on a flight computer: each sample wakes the process,
 * and at the servers' 100 ms it would still be most of what an idle agent does.
 */
const AGENT_EVENT_LOOP_SAMPLE_MS = 1_000;

/** Bundle agent events worth a line at info; the rest go at debug. */
const BUNDLE_EVENTS_INFO = new Set(['agent.started', 'agent.stopped', 'agent.plan-replaced', 'agent.contact-given-up', 'agent.bundle-refused', 'agent.cl-stop-failed']);

function bundleLog(logger: Logger): BundleAgentLog {
  const log = logger.child({ component: 'bundle-agent' });
  return (event, fields) => {
    if (event === 'agent.error') log.warn({ event, ...fields }, event);
    else if (BUNDLE_EVENTS_INFO.has(event)) log.info({ event, ...fields }, event);
    else log.debug({ event, ...fields }, event);
  };
}

export class OrbitalService {
  readonly #options: OrbitalServiceOptions;
  #config: OrbitalConfig | undefined;
  #agent: OrbitalAgent | undefined;
  #metricsEndpoint: MetricsEndpoint | undefined;
  #logger: Logger | undefined;
  #cron: CronScheduler | undefined;
  /** The hash of the configured plan file's plan last applied (plan refresh applies only a changed one). */
  #configuredPlanHash: string | undefined;

  constructor(options: OrbitalServiceOptions) {
    this.#options = options;
  }

  get agent(): OrbitalAgent | undefined {
    return this.#agent;
  }

  async start(): Promise<void> {
    const config = await loadOrbitalConfig(this.#options.configPath);
    this.#config = config;
    const clock = this.#options.clock;
    const logger = this.#options.logger ?? createLogger({ level: config.file.logLevel ?? 'info', base: { node: config.nodeId, ipn: config.ipnNumber } });
    this.#logger = logger;
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const planStatePath = join(config.dataDir, PLAN_STATE_FILE);
    const planState = await loadPlanState(planStatePath, config.planFile, config.planEpochMs);
    const clLog = logger.child({ component: 'convergence-layer' });
    const log = (event: string, fields: Record<string, unknown>): void => clLog.debug({ event, ...fields }, event);
    const layers: ConvergenceLayer[] = [];
    const cls = config.file.convergenceLayers;
    if (cls.tcpclv4 !== undefined) {
      layers.push(new TcpclV4ConvergenceLayer({ nodeId: `ipn:${config.ipnNumber}.0`, clock, log, ...(cls.tcpclv4.listen === undefined ? {} : { listen: parseHostPort(cls.tcpclv4.listen) }) }));
    }
    if (cls.mtcp !== undefined) {
      layers.push(new MtcpConvergenceLayer({ clock, log, ...(cls.mtcp.listen === undefined ? {} : { listen: parseHostPort(cls.mtcp.listen) }) }));
    }
    const peers = new Map<number, PeerAddress>(config.file.peers.map((p) => [p.node, { cl: p.cl, address: p.address }]));
    const bundles = new BundleAgent({
      nodeNumber: config.ipnNumber,
      storePath: join(config.dataDir, 'bundles.db'),
      store: { capacityBytes: config.storage.bundleStoreBytes, capacityBundles: config.storage.bundlesMax },
      plan: planState.plan,
      ...(planState.planEpochMs === undefined ? {} : { planEpochMs: planState.planEpochMs }),
      peers,
      convergenceLayers: layers,
      clock,
      log: bundleLog(logger),
    });
    const runtimeLogger = logger.child({ component: 'runtime' });
    const runtime: WorkloadRuntime = config.runtime.kind === 'docker'
      ? await createDockerRuntime({ clock, logger: runtimeLogger, owner: config.runtime.dockerOwner, concurrentWorkloadsMax: config.limits.concurrentJobs })
      : new ProcessRuntime({
        clock, logger: runtimeLogger, cgroups: config.runtime.cgroups, concurrentWorkloadsMax: config.limits.concurrentJobs,
        cgroupParent: config.runtime.cgroupParent,
      });
    const metrics = config.file.metricsPort !== undefined && config.file.metricsPort > 0 ? new MetricsRegistry().withProcessMetrics('orbitfed_', { eventLoopSampleMs: AGENT_EVENT_LOOP_SAMPLE_MS }) : undefined;
    const agent = new OrbitalAgent({
      nodeId: config.nodeId,
      chainId: config.chainId,
      keyEpoch: config.keyEpoch,
      schedulerPublicKey: config.schedulerPublicKey,
      runtimeKind: config.runtime.kind,
      storePath: join(config.dataDir, 'assignments.db'),
      storeLimits: {
        assignmentsMax: Math.max(1_000, config.limits.queuedJobsMax * 16),
        inputBytesMax: config.storage.inputBytesMax,
        outboxResultBytesMax: config.storage.outboxResultBytesMax,
      },
      workRoot: join(config.dataDir, 'jobs'),
      planStatePath,
      planIssuedAtMs: planState.issuedAtMs,
      bundleStoreBytes: config.storage.bundleStoreBytes,
      limits: { ...config.limits, inputBytesMax: config.storage.inputBytesMax },
      endpoints: config.endpoints,
      telemetryPeriodMs: config.telemetryPeriodMs,
      telemetryLifetimeMs: config.telemetryLifetimeMs,
      heartbeatPeriodMs: config.heartbeatPeriodMs,
      bundleLifetimeMs: config.bundleLifetimeMs,
      receiptValidityMs: config.receiptValidityMs,
      clockSkewMsMax: config.clockSkewMsMax,
    }, {
      clock, bundles, runtime, signer: ed25519Signer(config.nodeSeed), logger,
      housekeeping: new HousekeepingReader({ clock, diskPaths: [config.dataDir] }),
      ...(metrics === undefined ? {} : { metrics }),
    });
    await agent.start();
    this.#agent = agent;
    this.#configuredPlanHash = planState.issuedAtMs === 0 ? planState.plan.hash : undefined;
    if (metrics !== undefined) {
      const endpoint = new MetricsEndpoint({ host: config.file.metricsHost ?? '127.0.0.1', port: config.file.metricsPort!, registry: metrics, beforeRender: () => agent.collectMetrics() });
      try {
        await endpoint.start();
      } catch (error) {
        await agent.stop();
        this.#agent = undefined;
        throw error;
      }
      this.#metricsEndpoint = endpoint;
    }
    this.#startSchedules(config, agent, logger);
    // Node writes its compile cache (bin/orbitfed.ts) when the process exits, and an agent ends by
    // kill -9 or a power cut as often as by SIGTERM: written now that every module is loaded, the next
    // start — after a crash too — finds them compiled and does without the TypeScript stripper
    // (orbital/README.md, "Memory and start-up"). Does nothing when the cache is off.
    flushCompileCache();
  }

  /** The periodic work of the configuration's `schedules` (common/cron.ts: node-cron expressions on the Clock). */
  #startSchedules(config: OrbitalConfig, agent: OrbitalAgent, logger: Logger): void {
    const cron = new CronScheduler({ clock: this.#options.clock, logger: logger.child({ component: 'schedules' }) });
    const { planRefresh, telemetry, storeCompaction } = config.schedules;
    if (planRefresh !== undefined) cron.add('plan-refresh', planRefresh, () => this.refreshPlan().then(() => undefined));
    if (telemetry !== undefined) cron.add('telemetry', telemetry, () => agent.sendTelemetryNow());
    if (storeCompaction !== undefined) cron.add('store-compaction', storeCompaction, () => { agent.compactStores(); });
    cron.start();
    this.#cron = cron;
  }

  /**
   * Reads the configured plan file again and applies its plan if it changed (what the planRefresh
   * schedule runs). A signed plan update in use supersedes the file; a file that cannot be read or
   * parsed leaves the plan in use and is an error (logged by the schedule).
   */
  async refreshPlan(): Promise<'applied' | 'unchanged' | 'superseded'> {
    const config = this.#config;
    const agent = this.#agent;
    if (config === undefined || agent === undefined) throw new OrbitfedError('ORBITFED_ORBITAL_STATE', 'the orbital agent is not running');
    if (agent.status().planIssuedAtMs > 0) return 'superseded';
    const plan = await loadContactPlanFile(config.planFile);
    if (plan.hash === this.#configuredPlanHash) return 'unchanged';
    const outcome = agent.applyConfiguredPlan(plan, config.planEpochMs);
    if (outcome === 'applied') this.#configuredPlanHash = plan.hash;
    return outcome;
  }

  /** The schedules' counters (runs, failures, next instants). */
  scheduleStats(): CronJobStats[] {
    return this.#cron?.stats() ?? [];
  }

  /** Where it listens: the CLs' configured addresses and /metrics. */
  endpoints(): { readonly links: readonly string[]; readonly metrics: string | undefined } {
    const cls = this.#config?.file.convergenceLayers;
    const links = [cls?.tcpclv4?.listen === undefined ? [] : [`tcpclv4 ${cls.tcpclv4.listen}`], cls?.mtcp?.listen === undefined ? [] : [`mtcp ${cls.mtcp.listen}`]].flat();
    return { links, metrics: this.#metricsEndpoint?.address };
  }

  async stop(): Promise<void> {
    this.#cron?.stop();
    this.#cron = undefined;
    await this.#metricsEndpoint?.stop();
    this.#metricsEndpoint = undefined;
    await this.#agent?.stop();
    this.#agent = undefined;
    this.#logger?.info({ event: 'orbital.service-stopped' }, 'orbital agent process stopped');
  }
}
