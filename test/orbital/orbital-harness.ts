// A ground station and an orbital agent on loopback for the orbital tests: both real BundleAgents
// on real stores, talking TCPCLv4 over 127.0.0.1, with a contact plan whose link is open in both
// directions for a day. The ground side plays the scheduler and the result station: it signs
// assignments, sends them as bundles, and records what comes back on each service, decoded.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock, type Clock, type Logger } from '../../common/index.ts';
import { ContactPlan, formatContactPlan, type Contact } from '../../contact-plans/index.ts';
import { decodeSignedReceipt, ed25519Signer, type SignedReceipt } from '../../consensus/index.ts';
import { BundleAgent, TcpclV4ConvergenceLayer, type ConvergenceLayer, type PeerAddress } from '../../dtn/index.ts';
import { OrbitalAgent, type OrbitalAgentSettings } from '../../orbital/index.ts';
import { ProcessRuntime } from '../../runtime/index.ts';
import {
  decodeJobResult, decodeNodeReport, decodeTelemetryPayload, encodeJobAssignment, SERVICE_NUMBERS, signJobAssignment, type JobAssignment,
  type SignedJobResult, type SignedNodeReport, type TelemetryPayload,
} from '../../scheduler/index.ts';
import { CHAIN_ID, NODE_SEED, SCHEDULER_PUBLIC_KEY, SCHEDULER_SEED } from './assignment-fixtures.ts';

export const GROUND = 10;
export const SATELLITE = 1001;
export const DAY_MS = 86_400_000;

export interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A Logger that keeps every line, for tests that check what was logged. */
export function recordingLogger(lines: LogLine[] = []): Logger & { readonly lines: LogLine[] } {
  const make = (bindings: Record<string, unknown>): Logger & { readonly lines: LogLine[] } => {
    const at = (level: string) => (fields: object, message: string): void => {
      lines.push({ level, fields: { ...bindings, ...fields }, message });
    };
    return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: (more) => make({ ...bindings, ...more }) };
  };
  return make({});
}

/** A port nobody listens on now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export async function scratchDirectory(prefix: string): Promise<string> {
  return mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), prefix));
}

/** Both directions between ground and satellite open over [startSec, endSec) of the plan. */
export function linkContacts(startSec: number, endSec: number, rateBytesPerSec = 10_000_000): Contact[] {
  return [
    { from: GROUND, to: SATELLITE, startSec, endSec, rateBytesPerSec, owltSec: 0.001, confidence: 1 },
    { from: SATELLITE, to: GROUND, startSec, endSec, rateBytesPerSec, owltSec: 0.001, confidence: 1 },
  ];
}

export function planText(plan: ContactPlan): string {
  return formatContactPlan(plan, 'json');
}


/**
 * The ground side for tests that run the orbital agent as a real process: a BundleAgent on its own
 * store at `dir/ground.db`, TCPCLv4 listening on `groundPort` and reaching the agent at `agentPort`,
 * whose bundles `GroundRecord` decodes. Started; the caller stops it.
 */
export async function startTcpclGround(options: {
  readonly dir: string; readonly plan: ContactPlan; readonly clock: Clock; readonly agentPort: number; readonly groundPort: number;
  readonly store: { readonly capacityBytes: number; readonly capacityBundles: number };
}): Promise<{ readonly ground: BundleAgent; readonly record: GroundRecord }> {
  const { dir, plan, clock, agentPort, groundPort, store } = options;
  const record = new GroundRecord();
  const ground = new BundleAgent({
    nodeNumber: GROUND, storePath: join(dir, 'ground.db'), store, plan,
    peers: new Map([[SATELLITE, { cl: 'tcpclv4', address: `127.0.0.1:${agentPort}` }]]),
    convergenceLayers: [new TcpclV4ConvergenceLayer({ nodeId: `ipn:${GROUND}.0`, clock, listen: { host: '127.0.0.1', port: groundPort }, contactTimeoutMs: 1_000, responseTimeoutMs: 2_000 })],
    clock, limits: { sendRetryDelayMs: 100, sendRetryDelayMaxMs: 400, contactFailuresMax: 1_000_000, routeRetryDelayMs: 200 },
  });
  record.register(ground);
  await ground.start();
  return { ground, record };
}
/** What the ground side received, decoded. */
export class GroundRecord {
  readonly reports: SignedNodeReport[] = [];
  readonly results: SignedJobResult[] = [];
  readonly receipts: SignedReceipt[] = [];
  readonly telemetry: TelemetryPayload[] = [];
  /** Payload bytes as received, per service, to check that resent messages are identical. */
  readonly raw = new Map<number, Uint8Array[]>();

  register(agent: BundleAgent): void {
    const keep = (service: number, bytes: Uint8Array): void => {
      this.raw.set(service, [...(this.raw.get(service) ?? []), new Uint8Array(bytes)]);
    };
    agent.register(SERVICE_NUMBERS.reports, (d) => {
      keep(SERVICE_NUMBERS.reports, d.payload);
      this.reports.push(decodeNodeReport(d.payload));
    });
    agent.register(SERVICE_NUMBERS.results, (d) => {
      keep(SERVICE_NUMBERS.results, d.payload);
      this.results.push(decodeJobResult(d.payload));
    });
    agent.register(SERVICE_NUMBERS.receipts, (d) => {
      keep(SERVICE_NUMBERS.receipts, d.payload);
      this.receipts.push(decodeSignedReceipt(d.payload));
    });
    agent.register(SERVICE_NUMBERS.telemetry, (d) => {
      keep(SERVICE_NUMBERS.telemetry, d.payload);
      this.telemetry.push(decodeTelemetryPayload(d.payload));
    });
  }

  reportsOf(assignmentId: string): SignedNodeReport['report'][] {
    return this.reports.map((r) => r.report).filter((r) => r.assignmentId === assignmentId);
  }

  finished(assignmentId: string): SignedNodeReport['report'] | undefined {
    return this.reportsOf(assignmentId).find((r) => r.kind === 'finished');
  }
}

/**
 * The configuration file of `orbitfed orbital-agent --config FILE` (or OrbitalService) for node
 * sat-1 with its key in node.key and its plan in plan.json, listening for TCPCLv4 on `agentPort`
 * and reaching the ground node on `groundPort`; `fields` replace or add top-level fields.
 */
export function agentConfigFile(agentPort: number, groundPort: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    nodeId: 'sat-1', chainId: CHAIN_ID, ipnNumber: SATELLITE, keyFile: 'node.key', schedulerPublicKey: Buffer.from(SCHEDULER_PUBLIC_KEY).toString('hex'),
    dataDir: 'data', storageBytesMax: 64 * 1024 * 1024, contactPlan: { file: 'plan.json' },
    convergenceLayers: { tcpclv4: { listen: `127.0.0.1:${agentPort}` } },
    peers: [{ node: GROUND, cl: 'tcpclv4', address: `127.0.0.1:${groundPort}` }],
    runtime: { kind: 'process', cgroups: 'off' },
    endpoints: { reportsTo: `ipn:${GROUND}.2`, receiptsTo: `ipn:${GROUND}.4`, telemetryTo: `ipn:${GROUND}.5` },
    ...fields,
  };
}

export function orbitalSettings(dir: string, fields: Partial<OrbitalAgentSettings> = {}): OrbitalAgentSettings {
  return {
    nodeId: 'sat-1',
    chainId: CHAIN_ID,
    keyEpoch: 0,
    schedulerPublicKey: SCHEDULER_PUBLIC_KEY,
    runtimeKind: 'process',
    storePath: join(dir, 'assignments.db'),
    storeLimits: {},
    workRoot: join(dir, 'jobs'),
    planStatePath: join(dir, 'contact-plan.json'),
    planIssuedAtMs: 0,
    bundleStoreBytes: 64 * 1024 * 1024,
    limits: { concurrentJobs: 2, queuedJobsMax: 16, jobTimeMsMax: 60_000, cpuCoresMax: 2, memoryBytesMax: 512 * 1024 * 1024, resultBytesMax: 1024 * 1024, inputBytesMax: 8 * 1024 * 1024 },
    endpoints: { reportsTo: `ipn:${GROUND}.${SERVICE_NUMBERS.reports}`, receiptsTo: `ipn:${GROUND}.${SERVICE_NUMBERS.receipts}`, telemetryTo: `ipn:${GROUND}.${SERVICE_NUMBERS.telemetry}` },
    telemetryPeriodMs: 0,
    telemetryLifetimeMs: 3_600_000,
    heartbeatPeriodMs: 0,
    bundleLifetimeMs: DAY_MS,
    receiptValidityMs: 6 * DAY_MS,
    clockSkewMsMax: 300_000,
    ...fields,
  };
}

/** A ground station (node 10) and an orbital agent (node 1001) on loopback TCPCLv4. */
export class LoopbackPair {
  readonly clock: Clock = new RealClock();
  readonly record = new GroundRecord();
  readonly logger = recordingLogger();
  readonly dir: string;
  readonly plan: ContactPlan;
  ground!: BundleAgent;
  orbital!: OrbitalAgent;
  orbitalBundles!: BundleAgent;
  #groundPort = 0;
  #orbitalPort = 0;

  private constructor(dir: string, plan: ContactPlan) {
    this.dir = dir;
    this.plan = plan;
  }

  static async open(settings: Partial<OrbitalAgentSettings> = {}): Promise<LoopbackPair> {
    const clock = new RealClock();
    const plan = new ContactPlan({ epochMs: clock.now() - 1_000, nodes: [], contacts: linkContacts(0, 86_400) });
    const pair = new LoopbackPair(await scratchDirectory('orbitfed-orbital-'), plan);
    pair.#groundPort = await freePort();
    pair.#orbitalPort = await freePort();
    pair.ground = new BundleAgent({
      nodeNumber: GROUND, storePath: join(pair.dir, 'ground.db'), store: { capacityBytes: 256 * 1024 * 1024, capacityBundles: 100_000 }, plan,
      peers: new Map<number, PeerAddress>([[SATELLITE, { cl: 'tcpclv4', address: `127.0.0.1:${pair.#orbitalPort}` }]]),
      convergenceLayers: [new TcpclV4ConvergenceLayer({ nodeId: `ipn:${GROUND}.0`, clock, listen: { host: '127.0.0.1', port: pair.#groundPort } })],
      clock, limits: { sendRetryDelayMs: 100, sendRetryDelayMaxMs: 500, routeRetryDelayMs: 200 },
    });
    pair.record.register(pair.ground);
    await pair.ground.start();
    await pair.startOrbital(settings);
    return pair;
  }

  /** Starts (or starts again, on the same files) the orbital agent. */
  async startOrbital(settings: Partial<OrbitalAgentSettings> = {}): Promise<OrbitalAgent> {
    const clock = this.clock;
    const layers: ConvergenceLayer[] = [new TcpclV4ConvergenceLayer({ nodeId: `ipn:${SATELLITE}.0`, clock, listen: { host: '127.0.0.1', port: this.#orbitalPort } })];
    this.orbitalBundles = new BundleAgent({
      nodeNumber: SATELLITE, storePath: join(this.dir, 'bundles.db'), store: { capacityBytes: 64 * 1024 * 1024, capacityBundles: 10_000 }, plan: this.plan,
      peers: new Map<number, PeerAddress>([[GROUND, { cl: 'tcpclv4', address: `127.0.0.1:${this.#groundPort}` }]]),
      convergenceLayers: layers, clock, limits: { sendRetryDelayMs: 100, sendRetryDelayMaxMs: 500, routeRetryDelayMs: 200 },
    });
    this.orbital = new OrbitalAgent(orbitalSettings(this.dir, settings), {
      clock, bundles: this.orbitalBundles, runtime: new ProcessRuntime({ clock, cgroups: 'off' }), signer: ed25519Signer(NODE_SEED), logger: this.logger,
    });
    await this.orbital.start();
    return this.orbital;
  }

  /** Signs `assignment` with the scheduler's key (or `seed`) and sends it to the satellite's assignments service. */
  sendAssignment(assignment: JobAssignment, seed: Uint8Array = SCHEDULER_SEED): void {
    this.sendRaw(SERVICE_NUMBERS.assignments, encodeJobAssignment(signJobAssignment(assignment, seed)));
  }

  sendRaw(service: number, payload: Uint8Array): void {
    this.ground.send({ destination: `ipn:${SATELLITE}.${service}`, payload, lifetimeMs: 3_600_000 });
  }

  events(event: string): LogLine[] {
    return this.logger.lines.filter((l) => l.fields.event === event);
  }

  async close(): Promise<void> {
    await this.orbital?.stop();
    await this.ground?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Waits (real time) until `condition` holds, at most `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
