// A whole federation on one machine, as real processes: `Federation.prepare` loads the inputs,
// computes the contact plan, picks ports and writes every configuration (federation-files.ts);
// `start` runs the validators, the embedded MQTT broker, the scheduler (and the agents and link
// emulator when there are any), each waited for until it serves; `stop` stops them in the reverse
// order. `kill`, `stopProcess` and `restart` act on one process (the scenario runner's faults).
//
// Time. Every process runs on one plan time line: `orbitfed hil exec` gives the command it runs a
// ScaledClock built from the federation's time base (plan time `planStartMs` at the wall instant
// of `start`, running `timeScale` times faster). So block times, escrow deadlines, receipts, job
// deadlines and contact windows are all plan time, in every process, and agree with each other.
// The federation itself manages processes on the wall clock it is given (health-check timeouts,
// stop grace), which is not scaled.
//
// A process that exits without being asked to is reported through `onUnexpectedExit` with the end
// of its log; what to do about it (stop everything, restart it) is the caller's decision.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OrbitfedError, ScaledClock, type Clock, type DurationMs, type Logger, type TimeBase } from '../common/index.ts';
import { ed25519PublicKeyFromSeed, randomEd25519Seed, ValidatorClient } from '../consensus/index.ts';
import { EmbeddedMqttBroker, type BrokerAddress } from '../ground/index.ts';
import { prepareFederationDir, writeFederationFiles, writeSchedulerConfig, type FederationLayout } from './federation-files.ts';
import { writeAgentFiles, type AgentFiles } from './federation-agents.ts';
import { createNamespaces, deleteNamespacesNow, inNamespace, namespaceSupportProblem, planNamespaces, type NodeNamespace } from './federation-netns.ts';
import { freeLoopbackPortRange, freeLoopbackPorts, preferredOrFreePort } from './federation-ports.ts';
import { FederationProcess, describeExit, type FederationProcessSpec, type FederationRole, type ProcessExit } from './federation-process.ts';
import { loadFederationInputs, type FederationInputs, type FederationSpec } from './federation-spec.ts';

/** How long one process may take to serve after it was started. */
export const PROCESS_START_TIMEOUT_MS_DEFAULT = 90_000;
/** How long a process may take to stop after SIGTERM before it gets SIGKILL. */
export const PROCESS_STOP_GRACE_MS_DEFAULT = 10_000;
/** How long one health request may take. */
const HEALTH_REQUEST_TIMEOUT_MS = 5_000;

export interface FederationOptions {
  readonly spec: FederationSpec;
  /** The working directory: new or empty. */
  readonly dir: string;
  /** The wall clock the federation manages its processes on. */
  readonly clock: Clock;
  readonly logger: Logger;
  /** A process exited without being asked to. */
  readonly onUnexpectedExit?: (exit: ProcessExit) => void;
  /** Every exit, asked for or not (the scenario runner's record). */
  readonly onProcessExit?: (exit: ProcessExit) => void;
  readonly startTimeoutMs?: number;
  readonly stopGraceMs?: number;
}

export type FederationState = 'prepared' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Federation {
  readonly spec: FederationSpec;
  readonly inputs: FederationInputs;
  readonly layout: FederationLayout;
  readonly #options: FederationOptions;
  readonly #log: Logger;
  readonly #processes = new Map<string, FederationProcess>();
  #timeBase: TimeBase | undefined;
  #broker: EmbeddedMqttBroker | undefined;
  #mqtt: BrokerAddress | undefined;
  #mqttPortPreferred: number;
  #state: FederationState = 'prepared';
  #namespacesMade = false;
  readonly #killOnExit = (): void => {
    for (const p of this.#processes.values()) p.killNow();
    if (this.#namespacesMade) deleteNamespacesNow(this.namespaces);
  };

  readonly agentFiles: AgentFiles | undefined;

  private constructor(options: FederationOptions, inputs: FederationInputs, layout: FederationLayout, mqttPort: number, agentFiles: AgentFiles | undefined) {
    this.#options = options;
    this.spec = options.spec;
    this.inputs = inputs;
    this.layout = layout;
    this.#mqttPortPreferred = mqttPort;
    this.agentFiles = agentFiles;
    this.#log = options.logger.child({ component: 'federation' });
  }

  /** Loads and checks the inputs, computes the plan, picks ports and writes every file; starts nothing. */
  static async prepare(options: FederationOptions): Promise<Federation> {
    prepareFederationDir(options.dir);
    const inputs = await loadFederationInputs(options.spec);
    const validatorBase = await freeLoopbackPortRange(2 * options.spec.validators);
    const scheduler = await preferredOrFreePort(options.spec.schedulerPortPreferred);
    const layout = writeFederationFiles(options.spec, inputs, options.dir, { validatorBase, scheduler });
    // The broker's port is fixed now: the agents' configurations name it (an external broker: its URL).
    const mqttPort = options.spec.mqttUrl === undefined ? await preferredOrFreePort(options.spec.mqttPortPreferred) : 0;
    const mqttUrl = options.spec.mqttUrl ?? `mqtt://127.0.0.1:${mqttPort}`;
    let agentFiles: AgentFiles | undefined;
    if (options.spec.agents) {
      // The scheduler's signing key: agents verify assignments under it.
      const schedulerSeed = randomEd25519Seed();
      const keyPath = join(layout.schedulerDir, 'scheduler.key');
      writeFileSync(keyPath, `${Buffer.from(schedulerSeed).toString('hex')}\n`, { mode: 0o600 });
      const grounds = inputs.nodes.filter((n) => n.kind === 'ground').length;
      const orbitals = inputs.nodes.length - grounds;
      const free = await freeLoopbackPorts(inputs.nodes.length * 2 + grounds * 2 + 2 * grounds * orbitals + 2);
      const ports = { next: (): number => free.pop()! };
      const identity = { keyPath, publicKeyHex: Buffer.from(ed25519PublicKeyFromSeed(schedulerSeed)).toString('hex') };
      const namespaces = new Map<number, NodeNamespace>();
      if (options.spec.orbitalNamespaces === true) {
        const problem = namespaceSupportProblem();
        if (problem !== undefined) throw new OrbitfedError('ORBITFED_FEDERATION_NAMESPACES', `orbital agents in network namespaces: ${problem}`);
        const orbitalNodes = inputs.nodes.filter((n) => n.kind === 'orbital');
        planNamespaces(orbitalNodes.length).forEach((ns, k) => namespaces.set(orbitalNodes[k]!.ipn, ns));
      }
      agentFiles = await writeAgentFiles(options.spec, inputs, layout, ports, mqttUrl, identity, namespaces);
      writeSchedulerConfig(layout.schedulerConfigPath, { ...layout.schedulerConfig, dtn: agentFiles.schedulerDtn });
    }
    const federation = new Federation(options, inputs, layout, mqttPort, agentFiles);
    federation.#defineProcesses();
    return federation;
  }

  get state(): FederationState {
    return this.#state;
  }

  /** The plan time line every process shares; defined once `start` began. */
  get timeBase(): TimeBase {
    if (this.#timeBase === undefined) throw new OrbitfedError('ORBITFED_FEDERATION_STATE', 'the federation has not started: it has no time base yet');
    return this.#timeBase;
  }

  /** A clock on the federation's plan time (for submitting jobs, reading deadlines). */
  planClock(): ScaledClock {
    return new ScaledClock(this.timeBase);
  }

  get mqtt(): BrokerAddress {
    if (this.#mqtt === undefined) throw new OrbitfedError('ORBITFED_FEDERATION_STATE', 'the MQTT broker is not running');
    return this.#mqtt;
  }

  /** The network namespaces of the orbital agents (none unless the spec asks for them). */
  get namespaces(): readonly NodeNamespace[] {
    return (this.agentFiles?.agents ?? []).flatMap((a) => (a.namespace === undefined ? [] : [a.namespace]));
  }

  get processes(): readonly FederationProcess[] {
    return [...this.#processes.values()];
  }

  process(name: string): FederationProcess {
    const found = this.#processes.get(name);
    if (found === undefined) throw new OrbitfedError('ORBITFED_FEDERATION_UNKNOWN_PROCESS', `no process named ${name}; the federation has ${[...this.#processes.keys()].join(', ')}`);
    return found;
  }

  validatorClient(index: number): ValidatorClient {
    const url = this.layout.validatorRpcUrls[index];
    if (url === undefined) throw new OrbitfedError('ORBITFED_FEDERATION_UNKNOWN_PROCESS', `no validator ${index}; the federation has ${this.layout.validatorRpcUrls.length}`);
    return new ValidatorClient(url);
  }

  /**
   * Starts everything in dependency order and resolves once each process serves: validators, the
   * MQTT broker, the scheduler, then agents and the link emulator. A process that exits or does
   * not serve in time fails the start; what was started is then stopped again.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'prepared') throw new OrbitfedError('ORBITFED_FEDERATION_STATE', `cannot start a federation that is ${this.#state}`);
    this.#state = 'starting';
    process.on('exit', this.#killOnExit);
    this.#timeBase = ScaledClock.startingNow(this.spec.planStartMs, this.spec.timeScale).timeBase;
    writeFileSync(join(this.layout.dir, 'time-base.json'), `${JSON.stringify(this.#timeBase, null, 2)}\n`);
    this.#log.info({ dir: this.layout.dir, ...this.#timeBase }, 'federation starting');
    try {
      if (this.namespaces.length > 0) {
        // Before the link emulator: its relay addresses for those agents are on the cables.
        this.#namespacesMade = true;
        await createNamespaces(this.namespaces);
        this.#log.info({ namespaces: this.namespaces.map((n) => n.name) }, 'network namespaces made');
      }
      await this.#startGroup(['validator'], signal);
      await this.#startBroker();
      await this.#startGroup(['scheduler'], signal);
      await this.#startGroup(['link-emulator'], signal);
      await this.#startGroup(['ground-agent', 'orbital-agent'], signal);
      this.#state = 'running';
      this.#log.info({ processes: this.#processes.size }, 'federation running');
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops every process (SIGTERM, then SIGKILL after the grace period) in the reverse order of start, then the broker. */
  async stop(): Promise<ProcessExit[]> {
    if (this.#state === 'stopped') return [];
    this.#state = 'stopping';
    const exits: ProcessExit[] = [];
    const grace = (this.#options.stopGraceMs ?? PROCESS_STOP_GRACE_MS_DEFAULT) as DurationMs;
    for (const roles of [['ground-agent', 'orbital-agent'], ['link-emulator'], ['scheduler'], ['validator']] as FederationRole[][]) {
      const group = this.processes.filter((p) => roles.includes(p.spec.role));
      for (const exit of await Promise.all(group.map((p) => p.stop(grace)))) if (exit !== undefined) exits.push(exit);
    }
    await this.#broker?.stop();
    this.#broker = undefined;
    this.#mqtt = undefined;
    if (this.#namespacesMade) {
      deleteNamespacesNow(this.namespaces);
      this.#namespacesMade = false;
    }
    process.removeListener('exit', this.#killOnExit);
    this.#state = 'stopped';
    this.#log.info({ exits: exits.map((e) => `${e.name}: ${describeExit(e)}`) }, 'federation stopped');
    return exits;
  }

  /** Sends a signal to one process (a crash with SIGKILL) and resolves once it has exited; not reported as unexpected. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit | undefined> {
    return this.process(name).kill(signal);
  }

  /** Stops one process gracefully (SIGTERM, then SIGKILL after the grace period). */
  async stopProcess(name: string): Promise<ProcessExit | undefined> {
    return this.process(name).stop((this.#options.stopGraceMs ?? PROCESS_STOP_GRACE_MS_DEFAULT) as DurationMs);
  }

  /** Starts one process again (stopping it first if it runs) and waits until it serves. */
  async restart(name: string, signal?: AbortSignal): Promise<void> {
    const p = this.process(name);
    if (p.state === 'running') await this.stopProcess(name);
    p.start();
    await p.waitHealthy((this.#options.startTimeoutMs ?? PROCESS_START_TIMEOUT_MS_DEFAULT) as DurationMs, signal);
  }

  async #startGroup(roles: readonly FederationRole[], signal?: AbortSignal): Promise<void> {
    const group = this.processes.filter((p) => roles.includes(p.spec.role));
    for (const p of group) p.start();
    const timeoutMs = (this.#options.startTimeoutMs ?? PROCESS_START_TIMEOUT_MS_DEFAULT) as DurationMs;
    await Promise.all(group.map((p) => p.waitHealthy(timeoutMs, signal)));
    for (const p of group) this.#log.info({ process: p.name, pid: p.pid }, 'process serving');
  }

  async #startBroker(): Promise<void> {
    const external = this.spec.mqttUrl;
    if (external !== undefined) {
      // Mosquitto or any broker: the agents connect to it themselves (and retry); we only name it.
      const url = new URL(external);
      this.#mqtt = { host: url.hostname, port: url.port === '' ? 1883 : Number(url.port), url: external };
      return;
    }
    const logger = this.#options.logger;
    try {
      this.#broker = new EmbeddedMqttBroker({ port: this.#mqttPortPreferred, logger });
      this.#mqtt = await this.#broker.start();
    } catch (error) {
      if (this.#mqttPortPreferred === 0 || (error as OrbitfedError).code !== 'ORBITFED_MQTT_BROKER_LISTEN') throw error;
      if (this.agentFiles !== undefined) throw new OrbitfedError('ORBITFED_FEDERATION_PORTS', `the MQTT port ${this.#mqttPortPreferred} chosen for the agents was taken before the broker started: ${(error as Error).message}`);
      this.#log.warn({ port: this.#mqttPortPreferred }, 'the preferred MQTT port is taken; using a free one');
      this.#mqttPortPreferred = 0;
      this.#broker = new EmbeddedMqttBroker({ port: 0, logger });
      this.#mqtt = await this.#broker.start();
    }
  }

  /**
   * The arguments that run an orbitfed command on the federation's plan time. Validators keep wall
   * timers: their timeouts (propose 3 s, RPC commit waits) are network durations, and scaled by 60
   * they would be shorter than a round trip under load; only their block times are plan time.
   */
  #onPlanTime(role: FederationRole, command: readonly string[]): readonly string[] {
    const { wallOriginMs, originMs, timeScale } = this.timeBase;
    const timers = role === 'validator' ? ['--timers', 'wall'] : [];
    return ['hil', 'exec', '--time-scale', String(timeScale), '--origin-ms', String(originMs), '--wall-origin-ms', String(wallOriginMs), ...timers, '--', ...command];
  }

  #add(spec: Omit<FederationProcessSpec, 'args' | 'logPath'> & { readonly command: readonly string[] }): void {
    const { command, ...rest } = spec;
    // The time base is fixed at start, so the arguments are made when the process is spawned.
    const processSpec: FederationProcessSpec = { ...rest, args: () => this.#onPlanTime(spec.role, command), logPath: join(this.layout.logsDir, `${spec.name}.log`) };
    this.#processes.set(spec.name, new FederationProcess(processSpec, this.#options.clock, (exit) => this.#exited(exit)));
  }

  #exited(exit: ProcessExit): void {
    this.#options.onProcessExit?.(exit);
    if (exit.expected || this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#log.error({ process: exit.name, pid: exit.pid, code: exit.code, signal: exit.signal }, 'process exited unexpectedly');
    this.#options.onUnexpectedExit?.(exit);
  }

  #defineProcesses(): void {
    const { layout } = this;
    layout.validatorConfigPaths.forEach((configPath, i) => {
      const client = new ValidatorClient(layout.validatorRpcUrls[i]!);
      this.#add({
        name: `validator-${i}`, role: 'validator', cwd: layout.validatorsDir, command: ['validator', '--config', configPath],
        health: async () => {
          await client.status();
        },
      });
    });
    this.#add({
      name: 'scheduler', role: 'scheduler', cwd: layout.schedulerDir, command: ['scheduler', '--config', layout.schedulerConfigPath],
      health: (signal) => httpOk(`${layout.schedulerUrl}/healthz`, signal, this.#options.clock),
    });
    const agents = this.agentFiles;
    if (agents === undefined) return;
    const clock = this.#options.clock;
    this.#add({
      name: 'link-emulator', role: 'link-emulator', cwd: agents.linkEmulatorDir,
      command: ['link-emulator', '--plan', layout.planPath, '--map', agents.linkMapPath, '--log-level', this.spec.logLevel],
      health: (signal) => httpOk(`${agents.linkControlUrl}/healthz`, signal, clock),
    });
    for (const agent of agents.agents) {
      this.#add({
        name: agent.name, role: agent.role, cwd: agent.dir, command: [agent.role, '--config', agent.configPath],
        health: (signal) => httpOk(agent.healthUrl, signal, clock),
        prefix: agent.namespace === undefined ? undefined : inNamespace(agent.namespace),
      });
    }
  }

  /** The link emulator's control API (cut, restore, freeze, delay; /state, /metrics), when the federation runs agents. */
  get linkControlUrl(): string | undefined {
    return this.agentFiles?.linkControlUrl;
  }
}

/** Resolves when GET `url` answers 2xx; rejects otherwise (or after HEALTH_REQUEST_TIMEOUT_MS). */
export async function httpOk(url: string, signal: AbortSignal, clock: Clock): Promise<void> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const timer = clock.setTimer(HEALTH_REQUEST_TIMEOUT_MS as DurationMs, () => controller.abort(new Error(`no answer within ${HEALTH_REQUEST_TIMEOUT_MS} ms`)));
  try {
    const response = await fetch(url, { signal: controller.signal });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  } finally {
    timer.cancel();
    signal.removeEventListener('abort', onAbort);
  }
}
