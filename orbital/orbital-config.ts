// The orbital agent's configuration file (YAML or JSON), declared once as a TypeBox schema and
// validated by common's loadConfigFile (errors name file, line and field). Paths are relative to the
// configuration file; the node's key comes from a file (never the command line). Every option is
// described here and in orbital/README.md.
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { CRON_EXPRESSION_LENGTH_MAX, LOG_LEVELS, loadConfigFile, OrbitfedError, parseCronExpression, type CronSchedule } from '../common/index.ts';
import { CHAIN_ID_PATTERN, checkPublicKeyForRegistration, ID_PATTERN, readKeyFile, RECEIPT_VALIDITY_MS_MAX } from '../consensus/node.ts';
import { BUNDLE_SIZE_BYTES_MAX_DEFAULT, parseEid, parseHostPort } from '../dtn/index.ts';
import { DOCKER_OWNER_PATTERN, dockerOwnerOf } from '../runtime/index.ts';
import { JOB_PROTOCOL_LIMITS, SERVICE_NUMBERS } from '../scheduler/node-protocol.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MIB = 1024 * 1024;
/** Default schedules: the plan file looked at every 10 minutes (a read and a hash), compaction hourly. */
const SCHEDULE_DEFAULTS = { planRefresh: '*/10 * * * *', storeCompaction: '7 * * * *' } as const;
const SCHEDULE_OFF = 'off';
const HOST_PORT = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$';
const EID = '^ipn:[0-9]+\\.[0-9]+$';

const ListenSchema = Type.Object({
  listen: Type.Optional(Type.String({ pattern: HOST_PORT, description: 'host:port to accept sessions on, e.g. 0.0.0.0:4556; without it the CL only connects out' })),
}, { additionalProperties: false });

export const OrbitalConfigSchema = Type.Object({
  nodeId: Type.String({ pattern: ID_PATTERN.source, description: 'this node as the scheduler and the ledger name it (assignments for another node are refused; receipts carry it)' }),
  chainId: Type.String({ pattern: CHAIN_ID_PATTERN.source, description: "the federation's chain id: assignments, reports and receipts are signed for it" }),
  ipnNumber: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "this node's ipn node number (its bundles come from ipn:N.0; it is node N of the contact plan)" }),
  keyFile: Type.String({ minLength: 1, description: "path of the node's ed25519 seed, 64 hex characters; keep it 0600" }),
  keyEpoch: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff_ffff, description: 'which of the node\'s ledger keys keyFile is (0 at registration, +1 per rotation); default 0' })),
  schedulerPublicKey: Type.String({ pattern: '^[0-9a-f]{64}$', description: "the scheduler's ed25519 public key, 64 lower-case hex characters: assignments and plan updates must verify under it" }),
  dataDir: Type.String({ minLength: 1, description: 'bundle store, assignment store, contact plan updates and job work directories live here' }),
  storageBytesMax: Type.Integer({ minimum: 4 * MIB, maximum: Number.MAX_SAFE_INTEGER, description: 'bytes of bundles, inputs and waiting results kept at once: 3/4 for the bundle store, 1/8 for input parts, 1/8 for results waiting for room in the bundle store' }),
  storageBundlesMax: Type.Optional(Type.Integer({ minimum: 100, maximum: 10_000_000, description: 'bundles kept at once in the bundle store; default 10,000' })),
  contactPlan: Type.Object({
    file: Type.String({ minLength: 1, description: 'contact plan file (ION, HDTN JSON or orbitfed JSON); an update received as a bundle replaces it (kept in dataDir)' }),
    epochMs: Type.Optional(Type.Integer({ minimum: 0, description: "Unix ms of the plan's second 0, for ION and HDTN plans without an absolute time" })),
  }, { additionalProperties: false }),
  convergenceLayers: Type.Object({
    tcpclv4: Type.Optional(ListenSchema),
    mtcp: Type.Optional(ListenSchema),
  }, { additionalProperties: false, description: 'the space link: TCPCLv4 (RFC 9174; acknowledged) and/or MTCP (no acknowledgement: a bundle lost on the link is lost; dtn/README.md)' }),
  peers: Type.Array(Type.Object({
    node: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "the neighbour's ipn node number in the plan" }),
    cl: Type.Union([Type.Literal('tcpclv4'), Type.Literal('mtcp')]),
    address: Type.String({ pattern: HOST_PORT, description: 'host:port where the neighbour listens' }),
  }, { additionalProperties: false }), { maxItems: 64, description: 'the neighbours bundles go to (usually ground stations)' }),
  runtime: Type.Optional(Type.Object({
    kind: Type.Union([Type.Literal('process'), Type.Literal('docker')], { description: 'process (default) or docker (loaded only when chosen)' }),
    cgroups: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('required'), Type.Literal('off')], { description: 'process runtime: cgroup limits when the host allows (auto, default), always (required), never (off)' })),
    cgroupParent: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "process runtime: cgroup the workloads go under; at start the runtime kills and removes every cgroup under it, so each agent on a host needs its own; default orbitfed/<the Docker owner>" })),
    dockerOwner: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "docker runtime: names and labels this agent's containers; at start the runtime removes every container of this owner, so each agent on a host needs its own; 1-64 of a-z 0-9 _ . - ; default orbitfed-<nodeId> (node ids that do not fit: lower-cased, with a hash of the id)" })),
  }, { additionalProperties: false })),
  limits: Type.Optional(Type.Object({
    concurrentJobs: Type.Optional(Type.Integer({ minimum: 1, maximum: 16, description: 'jobs running at once; default 1' })),
    queuedJobsMax: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'accepted jobs waiting or running; more are refused as busy; default 64' })),
    jobTimeMsMax: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 30 * DAY_MS, description: 'longest timeout a job may ask for; default 1 h' })),
    cpuCoresMax: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024, description: 'most CPU a job may ask for, cores; default: the cores of this computer' })),
    memoryBytesMax: Type.Optional(Type.Integer({ minimum: 6 * MIB, description: 'most memory a job may ask for; default 256 MiB' })),
    resultBytesMax: Type.Optional(Type.Integer({ minimum: 1024, maximum: JOB_PROTOCOL_LIMITS.resultBytesMax, description: "largest result a job may return (stdout or the file $ORBITFED_RESULT); at most 1/8 of storageBytesMax; default 4 MiB" })),
  }, { additionalProperties: false })),
  endpoints: Type.Object({
    reportsTo: Type.String({ pattern: EID, description: `where reports about assignments that could not be read or verified go (service ${SERVICE_NUMBERS.reports}); verified assignments name their own` }),
    receiptsTo: Type.String({ pattern: EID, description: `the receipts gateway that submits receipts to the validators (service ${SERVICE_NUMBERS.receipts})` }),
    telemetryTo: Type.String({ pattern: EID, description: `where housekeeping telemetry goes (service ${SERVICE_NUMBERS.telemetry})` }),
  }, { additionalProperties: false }),
  telemetryPeriodMs: Type.Optional(Type.Integer({ minimum: 0, maximum: DAY_MS, description: 'housekeeping telemetry period; 0 = off; default 60 s' })),
  telemetryLifetimeMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 7 * DAY_MS, description: 'telemetry bundles expire after this; default 6 h' })),
  heartbeatPeriodMs: Type.Optional(Type.Integer({ minimum: 0, maximum: DAY_MS, description: 'heartbeat report per running job; 0 = off; default 10 min (each lives one period)' })),
  bundleLifetimeMs: Type.Optional(Type.Integer({ minimum: HOUR_MS, maximum: 30 * DAY_MS, description: 'lifetime of report and result bundles; default 7 days' })),
  receiptValidityMs: Type.Optional(Type.Integer({ minimum: HOUR_MS, maximum: RECEIPT_VALIDITY_MS_MAX, description: 'receipts are valid (and their bundles live) this long; at most 7 days; default 6 days, so a receipt outlives 72 h without contact' })),
  clockSkewMsMax: Type.Optional(Type.Integer({ minimum: 0, maximum: HOUR_MS, description: "how far in the future an assignment's issuedAtMs may be; default 5 min" })),
  logLevel: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { description: 'default info' })),
  metricsPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535, description: 'Prometheus /metrics port; 0 = off (default)' })),
  metricsHost: Type.Optional(Type.String({ minLength: 1, description: 'address /metrics listens on; default 127.0.0.1' })),
  schedules: Type.Optional(Type.Object({
    planRefresh: Type.Optional(Type.String({ minLength: 1, maxLength: CRON_EXPRESSION_LENGTH_MAX, description: `cron (UTC): read contactPlan.file again and apply its plan when it changed, unless a signed update is in use; "off" = never; default "${SCHEDULE_DEFAULTS.planRefresh}"` })),
    telemetry: Type.Optional(Type.String({ minLength: 1, maxLength: CRON_EXPRESSION_LENGTH_MAX, description: 'cron (UTC): housekeeping telemetry at these instants instead of every telemetryPeriodMs (not both); default: telemetryPeriodMs' })),
    storeCompaction: Type.Optional(Type.String({ minLength: 1, maxLength: CRON_EXPRESSION_LENGTH_MAX, description: `cron (UTC): prune finished assignments, checkpoint the assignment store's WAL and give back SQLite's spare page cache; "off" = never; default "${SCHEDULE_DEFAULTS.storeCompaction}"` })),
  }, { additionalProperties: false, description: 'periodic work on cron expressions (node-cron syntax: five fields, or six with seconds first; read in UTC)' })),
}, { additionalProperties: false });

export type OrbitalConfigFile = Static<typeof OrbitalConfigSchema>;

/** The agent's periodic work on cron schedules; `undefined` = not scheduled. */
export interface OrbitalSchedules {
  readonly planRefresh: CronSchedule | undefined;
  readonly telemetry: CronSchedule | undefined;
  readonly storeCompaction: CronSchedule | undefined;
}

/** The configuration with defaults applied, paths resolved and the key read. */
export interface OrbitalConfig {
  readonly file: OrbitalConfigFile;
  readonly nodeId: string;
  readonly chainId: string;
  readonly ipnNumber: number;
  readonly nodeSeed: Uint8Array;
  readonly keyEpoch: number;
  readonly schedulerPublicKey: Uint8Array;
  readonly dataDir: string;
  readonly planFile: string;
  readonly planEpochMs: number | undefined;
  readonly storage: {
    readonly bundleStoreBytes: number;
    readonly bundlesMax: number;
    readonly inputBytesMax: number;
    readonly outboxResultBytesMax: number;
  };
  readonly runtime: { readonly kind: 'process' | 'docker'; readonly cgroups: 'auto' | 'required' | 'off'; readonly cgroupParent: string; readonly dockerOwner: string };
  readonly limits: {
    readonly concurrentJobs: number;
    readonly queuedJobsMax: number;
    readonly jobTimeMsMax: number;
    readonly cpuCoresMax: number;
    readonly memoryBytesMax: number;
    readonly resultBytesMax: number;
  };
  readonly endpoints: { readonly reportsTo: string; readonly receiptsTo: string; readonly telemetryTo: string };
  readonly telemetryPeriodMs: number;
  readonly telemetryLifetimeMs: number;
  readonly heartbeatPeriodMs: number;
  readonly bundleLifetimeMs: number;
  readonly receiptValidityMs: number;
  readonly clockSkewMsMax: number;
  readonly schedules: OrbitalSchedules;
}

function invalid(path: string, field: string, message: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_CONFIG_INVALID', message, { file: path, field });
}

/** What the schema cannot say, then defaults; throws ORBITFED_CONFIG_INVALID naming the field. */
export function resolveOrbitalConfig(file: OrbitalConfigFile, path: string, nodeSeed: Uint8Array): OrbitalConfig {
  const base = dirname(resolve(path));
  const schedulerPublicKey = new Uint8Array(Buffer.from(file.schedulerPublicKey, 'hex'));
  const keyCheck = checkPublicKeyForRegistration(schedulerPublicKey);
  if (!keyCheck.ok) throw invalid(path, 'schedulerPublicKey', `is not a usable ed25519 public key (${keyCheck.reason})`);
  const endpoints = file.endpoints;
  const services = { reportsTo: SERVICE_NUMBERS.reports, receiptsTo: SERVICE_NUMBERS.receipts, telemetryTo: SERVICE_NUMBERS.telemetry } as const;
  for (const key of ['reportsTo', 'receiptsTo', 'telemetryTo'] as const) {
    const eid = parseEid(endpoints[key]);
    if (eid.kind !== 'ipn' || eid.serviceNumber !== BigInt(services[key])) throw invalid(path, `endpoints.${key}`, `${endpoints[key]} is not service ${services[key]} of a node`);
  }
  const hostPort = (text: string, field: string): void => {
    try {
      parseHostPort(text);
    } catch (error) {
      throw invalid(path, field, (error as Error).message);
    }
  };
  for (const name of ['tcpclv4', 'mtcp'] as const) {
    const listen = file.convergenceLayers[name]?.listen;
    if (listen !== undefined) hostPort(listen, `convergenceLayers/${name}/listen`);
  }
  if (file.convergenceLayers.tcpclv4 === undefined && file.convergenceLayers.mtcp === undefined) {
    throw invalid(path, 'convergenceLayers', 'configure tcpclv4, mtcp or both: the node needs a link');
  }
  const seen = new Set<number>();
  file.peers.forEach((peer, i) => {
    if (seen.has(peer.node)) throw invalid(path, `peers/${i}/node`, `node ${peer.node} is listed twice`);
    seen.add(peer.node);
    if (file.convergenceLayers[peer.cl] === undefined) throw invalid(path, `peers/${i}/cl`, `${peer.cl} is not in convergenceLayers`);
    hostPort(peer.address, `peers/${i}/address`);
  });
  const bundleStoreBytes = Math.floor((file.storageBytesMax * 3) / 4);
  const eighth = Math.floor(file.storageBytesMax / 8);
  const resultBytesMax = file.limits?.resultBytesMax ?? Math.min(4 * MIB, eighth);
  if (resultBytesMax > eighth) throw invalid(path, 'limits/resultBytesMax', `${resultBytesMax} is more than 1/8 of storageBytesMax (${eighth})`);
  if (resultBytesMax + JOB_PROTOCOL_LIMITS.tenantEndpointBytesMax + 4096 > Math.min(bundleStoreBytes, BUNDLE_SIZE_BYTES_MAX_DEFAULT)) {
    throw invalid(path, 'limits/resultBytesMax', 'a result bundle of that size does not fit the bundle store');
  }
  const runtime = file.runtime;
  // Per agent: a runtime's start removes everything of its owner (containers, workload cgroups).
  const owner = runtime?.dockerOwner ?? dockerOwnerOf(file.nodeId);
  if (runtime?.dockerOwner !== undefined && !DOCKER_OWNER_PATTERN.test(runtime.dockerOwner)) {
    throw invalid(path, 'runtime/dockerOwner', `${JSON.stringify(runtime.dockerOwner)} is not a Docker owner: 1-64 lower-case letters, digits, '_', '.', '-', starting with a letter or digit`);
  }
  const schedule = (name: keyof OrbitalSchedules, fallback: string | undefined): CronSchedule | undefined => {
    const expression = file.schedules?.[name] ?? fallback;
    // Telemetry is turned off with telemetryPeriodMs: 0; "off" there is not an expression.
    if (expression === undefined || (expression === SCHEDULE_OFF && fallback !== undefined)) return undefined;
    try {
      return parseCronExpression(expression, `schedules/${name}`);
    } catch (error) {
      if (error instanceof OrbitfedError && error.code === 'ORBITFED_CRON_INVALID') throw invalid(path, `schedules/${name}`, error.message.slice(`schedules/${name}: `.length));
      throw error;
    }
  };
  if (file.schedules?.telemetry !== undefined && file.telemetryPeriodMs !== undefined) {
    throw invalid(path, 'schedules/telemetry', 'set either schedules/telemetry or telemetryPeriodMs, not both');
  }
  const schedules: OrbitalSchedules = {
    planRefresh: schedule('planRefresh', SCHEDULE_DEFAULTS.planRefresh),
    telemetry: schedule('telemetry', undefined),
    storeCompaction: schedule('storeCompaction', SCHEDULE_DEFAULTS.storeCompaction),
  };
  return {
    file,
    nodeId: file.nodeId,
    chainId: file.chainId,
    ipnNumber: file.ipnNumber,
    nodeSeed,
    keyEpoch: file.keyEpoch ?? 0,
    schedulerPublicKey,
    dataDir: resolve(base, file.dataDir),
    planFile: resolve(base, file.contactPlan.file),
    planEpochMs: file.contactPlan.epochMs,
    storage: { bundleStoreBytes, bundlesMax: file.storageBundlesMax ?? 10_000, inputBytesMax: eighth, outboxResultBytesMax: eighth },
    runtime: { kind: runtime?.kind ?? 'process', cgroups: runtime?.cgroups ?? 'auto', cgroupParent: runtime?.cgroupParent ?? `orbitfed/${owner}`, dockerOwner: owner },
    limits: {
      concurrentJobs: file.limits?.concurrentJobs ?? 1,
      queuedJobsMax: file.limits?.queuedJobsMax ?? 64,
      jobTimeMsMax: file.limits?.jobTimeMsMax ?? HOUR_MS,
      cpuCoresMax: file.limits?.cpuCoresMax ?? Math.max(1, cpus().length),
      memoryBytesMax: file.limits?.memoryBytesMax ?? 256 * MIB,
      resultBytesMax,
    },
    endpoints,
    telemetryPeriodMs: schedules.telemetry === undefined ? file.telemetryPeriodMs ?? 60_000 : 0,
    telemetryLifetimeMs: file.telemetryLifetimeMs ?? 6 * HOUR_MS,
    heartbeatPeriodMs: file.heartbeatPeriodMs ?? 600_000,
    bundleLifetimeMs: file.bundleLifetimeMs ?? 7 * DAY_MS,
    receiptValidityMs: file.receiptValidityMs ?? 6 * DAY_MS,
    clockSkewMsMax: file.clockSkewMsMax ?? 300_000,
    schedules,
  };
}

/** Reads, validates and resolves a configuration file, and reads the key it names. */
export async function loadOrbitalConfig(path: string): Promise<OrbitalConfig> {
  const file = await loadConfigFile(path, OrbitalConfigSchema, 'orbital agent configuration');
  const nodeSeed = await readKeyFile(resolve(dirname(resolve(path)), file.keyFile));
  return resolveOrbitalConfig(file, path, nodeSeed);
}
