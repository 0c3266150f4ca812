// The ground-station agent's configuration file (YAML or JSON), declared once as a TypeBox schema:
// the descriptions are the documentation (ground/README.md lists them; samples/ground-agent/ has a
// complete file), unknown keys are errors, relative paths are relative to the file. Secrets never
// sit in the file: the identity key is a key file, the scheduler's API key and the MQTT password come
// from files or environment variables.
import { dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { CRON_EXPRESSION_LENGTH_MAX, loadConfigFile, LOG_LEVELS, OrbitfedError, parseCronExpression, readBoundedTextFile, type CronSchedule } from '../common/index.ts';
import { CHAIN_ID_PATTERN } from '../consensus/index.ts';
import { NODE_ID_PATTERN } from '../scheduler/index.ts';
import { DOCKER_OWNER_PATTERN } from '../runtime/index.ts';
import { BLACKOUT_FORWARDER_LIMITS_DEFAULT } from './blackout-forwarder.ts';
import { RECEIPT_GATEWAY_LIMITS_DEFAULT } from './receipt-gateway.ts';
import { TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT } from './terrestrial-executor.ts';

const MiB = 1024 * 1024;
/** A secret read from a file or the environment is at most this long. */
const SECRET_LENGTH_MAX = 1024;
const ENV_NAME = '^[A-Z_][A-Z0-9_]{0,127}$';

const ms = (description: string, defaultValue: number, minimum = 1, maximum = 30 * 86_400_000) =>
  Type.Optional(Type.Integer({ minimum, maximum, default: defaultValue, description }));
const count = (description: string, defaultValue: number, maximum = 100_000_000) => Type.Optional(Type.Integer({ minimum: 1, maximum, default: defaultValue, description }));
const path = (description: string) => Type.String({ minLength: 1, maxLength: 4096, description });
const HostPort = Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$', description: 'host:port' });
const Multiaddr = Type.String({ pattern: '^/(ip4|ip6|dns|dns4|dns6)/', maxLength: 512, description: 'A libp2p multiaddr without /p2p/ (e.g. /ip4/10.0.0.2/tcp/4001).' });

const SecretSchema = (what: string) => Type.Object({
  file: Type.Optional(path(`A file holding the ${what} (keep it 0600).`)),
  env: Type.Optional(Type.String({ pattern: ENV_NAME, description: `An environment variable holding the ${what}.` })),
}, { additionalProperties: false, description: `Where the ${what} comes from: a file or an environment variable (exactly one).` });

export const GroundConfigSchema = Type.Object({
  station: Type.Object({
    stationsFile: path('The stations file (YAML, JSON or CSV; contact-plans/README.md) that defines this station: site, horizon mask, rates, country.'),
    id: Type.String({ minLength: 1, maxLength: 64, description: 'This station\'s id in that file (also its MQTT topic level and its plan node id).' }),
    nodeId: Type.Optional(Type.String({ pattern: NODE_ID_PATTERN, description: 'The station as the scheduler\'s registry and the ledger name it (NodeSpec id); default: the station id in lower case.' })),
    ipn: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'This station\'s ipn node number; default: the plan\'s ground node whose id is the station id.' })),
  }, { additionalProperties: false }),
  elements: Type.Optional(path('Element sets (TLE or OMM) of the satellites this station serves: pass events and antenna tracking on MQTT. Without it no pass events are published.')),
  allowStaleElements: Type.Optional(Type.Boolean({ default: false, description: 'Accept element sets older than 30 days (samples, tests).' })),
  plan: Type.Object({
    path: path('The contact plan (ION ionrc, HDTN JSON or orbitfed JSON, as `orbitfed plan` writes it): when each pass opens the satellite link. SIGHUP reads it again.'),
    format: Type.Optional(Type.Union([Type.Literal('ion'), Type.Literal('hdtn'), Type.Literal('json')], { description: 'Default: detected from the content.' })),
    epochMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Unix ms of the plan\'s second 0, for a plan without an epoch (HDTN JSON, ION without an absolute time).' })),
  }, { additionalProperties: false }),
  identity: Type.Object({
    keyFile: path('The station\'s ed25519 seed (64 hex characters, 0600): its libp2p identity, and the key its reports and receipts are signed with.'),
    keyEpoch: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff_ffff, default: 0, description: 'Which of the node\'s ledger keys this is (0 until a rotation).' })),
  }, { additionalProperties: false }),
  chainId: Type.String({ pattern: CHAIN_ID_PATTERN.source, description: 'The federation\'s chain id: assignments, reports and receipts are bound to it.' }),
  dataDir: path('The bundle store (bundles.sqlite), the receipt queue (receipts.sqlite), the terrestrial job store (jobs.sqlite) and job work directories live here.'),
  store: Type.Optional(Type.Object({
    capacityBytes: count('Bytes of bundles held at most (payloads and metadata); a bundle that does not fit is refused before it is acknowledged.', 1024 * MiB, Number.MAX_SAFE_INTEGER),
    capacityBundles: count('Bundles held at most.', 100_000),
    bundleSizeBytesMax: count('Largest single bundle accepted.', 16 * MiB, 1024 * MiB),
  }, { additionalProperties: false })),
  terrestrial: Type.Object({
    listen: Type.Optional(Type.Array(Type.String({ pattern: '^/ip[46]/', maxLength: 512 }), { minItems: 0, maxItems: 8, default: ['/ip4/0.0.0.0/tcp/4001'], description: 'libp2p multiaddrs the overlay listens on.' })),
    peers: Type.Array(Type.Object({
      name: Type.String({ minLength: 1, maxLength: 64, description: 'For logs: scheduler, gs-kiruna, gateway…' }),
      node: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Its ipn node number.' }),
      address: Multiaddr,
      publicKeyHex: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Its ed25519 public key: its libp2p identity (the gater admits only these keys).' }),
      rateBytesPerSec: count('Rate of the always-on overlay contacts added to the plan between this station and the peer.', 12_500_000, Number.MAX_SAFE_INTEGER),
    }, { additionalProperties: false }), { maxItems: 1000, description: 'The terrestrial federation this station talks to over libp2p: the scheduler, other stations, gateways. Each gets always-on contacts both ways in this station\'s plan.' }),
  }, { additionalProperties: false }),
  space: Type.Object({
    tcpclv4: Type.Optional(Type.Object({
      listen: Type.Optional(HostPort),
      keepaliveSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 600, default: 30 })),
    }, { additionalProperties: false, description: 'TCPCLv4 (RFC 9174) on the satellite link; `listen` accepts sessions opened by the satellite side.' })),
    mtcp: Type.Optional(Type.Object({
      listen: Type.Optional(HostPort),
    }, { additionalProperties: false, description: 'MTCP (no acknowledgements: a bundle lost on the link is lost; dtn/README.md).' })),
    satellites: Type.Array(Type.Object({
      noradId: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Its catalog number: its node number is 1,000,000,000 + this (contact-plans\' numbering).' })),
      node: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Its ipn node number, when the plan numbers it otherwise.' })),
      address: Type.String({ pattern: '^(tcpclv4|mtcp):', maxLength: 300, description: 'How the link reaches it during a pass: tcpclv4:HOST:PORT or mtcp:HOST:PORT (the radio modem or the link emulator).' }),
    }, { additionalProperties: false }), { maxItems: 10_000, description: 'The satellites this station links to during their passes.' }),
  }, { additionalProperties: false }),
  mqtt: Type.Object({
    embedded: Type.Optional(Type.Boolean({ default: false, description: 'Run an embedded MQTT broker (aedes) instead of connecting to `url`.' })),
    host: Type.Optional(Type.String({ minLength: 1, default: '127.0.0.1', description: 'Embedded broker: where it listens.' })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535, default: 1883, description: 'Embedded broker: its port (0 picks one, logged at start).' })),
    url: Type.Optional(Type.String({ pattern: '^mqtts?://', maxLength: 1024, description: 'The broker to connect to (Mosquitto or any MQTT 3.1.1 broker) when not embedded.' })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(SecretSchema('MQTT password')),
    queuedMessagesMax: count('Pass events and telemetry queued while the broker is unreachable (oldest dropped beyond).', 1000, 1_000_000),
    refraction: Type.Optional(Type.Boolean({ default: false, description: 'Pass events with apparent (refracted) elevations.' })),
    defaultMinElevationDeg: Type.Optional(Type.Number({ minimum: -5, maximum: 90, default: 10, description: 'Horizon when the station gives neither minElevationDeg nor a mask.' })),
  }, { additionalProperties: false }),
  scheduler: Type.Optional(Type.Object({
    url: Type.String({ pattern: '^https?://', maxLength: 1024, description: 'The scheduler\'s REST API, where operators\' blackout windows are sent (POST /v1/nodes with the station\'s blackouts).' }),
    apiKey: SecretSchema('scheduler API key (a tenant with the nodes role for this station\'s operator, or admin)'),
    publicKeyHex: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'The scheduler\'s signing key: assignments for terrestrial jobs must verify under it (needed with `jobs`).' })),
    node: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The scheduler\'s DTN node (ipn): refusals of assignments that could not be read or verified are reported to its reports endpoint (otherwise only logged).' })),
    retryDelayMs: ms('First retry delay of a blackout the scheduler did not take; doubles per failure.', BLACKOUT_FORWARDER_LIMITS_DEFAULT.retryDelayMs),
    retryDelayMaxMs: ms('Longest retry delay.', BLACKOUT_FORWARDER_LIMITS_DEFAULT.retryDelayMaxMs),
  }, { additionalProperties: false })),
  validators: Type.Optional(Type.Object({
    rpcUrls: Type.Array(Type.String({ pattern: '^https?://', maxLength: 1024 }), { minItems: 1, maxItems: 100, description: 'The validators\' client RPCs, tried in turn: receipts delivered to this station are submitted there.' }),
    batchMax: count('Receipts per submission.', RECEIPT_GATEWAY_LIMITS_DEFAULT.batchMax, 10_000),
    commitWaitMs: ms('How long a submission waits for the commit.', RECEIPT_GATEWAY_LIMITS_DEFAULT.commitWaitMs, 1, 30_000),
    retryDelayMs: ms('First retry delay while validators are unreachable; doubles per failure.', RECEIPT_GATEWAY_LIMITS_DEFAULT.retryDelayMs),
    retryDelayMaxMs: ms('Longest retry delay.', RECEIPT_GATEWAY_LIMITS_DEFAULT.retryDelayMaxMs),
    receiptsMax: count('Receipts kept on disk awaiting the validators; beyond, receipt bundles wait in the bundle store.', RECEIPT_GATEWAY_LIMITS_DEFAULT.receiptsMax),
  }, { additionalProperties: false, description: 'The receipt gateway. Without it receipt bundles addressed to this station wait in its bundle store.' })),
  jobs: Type.Optional(Type.Object({
    runtimes: Type.Array(Type.Union([Type.Literal('process'), Type.Literal('docker')]), { minItems: 1, maxItems: 2, uniqueItems: true, description: 'Runtimes terrestrial jobs may use here; docker needs a local Docker engine.' }),
    dockerSocket: Type.Optional(path('The Docker engine\'s socket; default /var/run/docker.sock.')),
    dockerOwner: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Names and labels this station\'s containers; at start the Docker runtime removes every container of this owner, so each agent on a host needs its own. 1-64 of a-z 0-9 _ . - ; default orbitfed-<node id> (ids that do not fit: lower-cased, with a hash of the id).' })),
    concurrentMax: count('Jobs running at once.', TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT.concurrentMax, 1024),
    queuedMax: count('Accepted jobs waiting to run; more assignments are refused as busy.', TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT.queuedMax, 100_000),
    heartbeatMs: ms('Heartbeat reports while a job runs.', TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT.heartbeatMs, 1_000),
    clockSkewMsMax: ms('Clock error allowed between the scheduler and this station.', TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT.clockSkewMsMax, 0),
    reportLifetimeMs: ms('Lifetime of report, result and receipt bundles.', TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT.reportLifetimeMs, 60_000),
  }, { additionalProperties: false, description: 'Terrestrial workloads: assignments addressed to this station run here. Without it they wait in its bundle store.' })),
  metrics: Type.Optional(Type.Object({
    host: Type.Optional(Type.String({ minLength: 1, default: '127.0.0.1' })),
    port: Type.Integer({ minimum: 0, maximum: 65_535, description: 'GET /metrics (Prometheus) and /healthz; 0 picks a free port.' }),
  }, { additionalProperties: false })),
  log: Type.Optional(Type.Object({
    level: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info' })),
  }, { additionalProperties: false })),
  schedules: Type.Optional(Type.Object({
    planRefresh: Type.Optional(Type.String({
      minLength: 1, maxLength: CRON_EXPRESSION_LENGTH_MAX,
      description: 'cron (UTC, node-cron syntax): read plan.path again at these instants and route on it when it changed, as SIGHUP does; default: only on SIGHUP',
    })),
  }, { additionalProperties: false, description: 'Periodic work on cron expressions (five fields, or six with seconds first; UTC).' })),
}, { additionalProperties: false });

export type GroundConfigFile = Static<typeof GroundConfigSchema>;

/** A loaded configuration: paths absolute, secrets read. */
export interface GroundConfig {
  readonly file: GroundConfigFile;
  readonly configPath: string;
  readonly stationsPath: string;
  readonly elementsPath: string | undefined;
  readonly planPath: string;
  readonly keyPath: string;
  readonly dataDir: string;
  readonly schedulerApiKey: string | undefined;
  readonly mqttPassword: string | undefined;
  readonly dockerSocket: string | undefined;
  /** jobs.dockerOwner; undefined: the service derives it from the node id (runtime's `dockerOwnerOf`). */
  readonly dockerOwner: string | undefined;
  /** When the plan file is read again besides SIGHUP (schedules.planRefresh). */
  readonly planRefresh: CronSchedule | undefined;
}

type Secret = { readonly file?: string | undefined; readonly env?: string | undefined };

async function readSecret(secret: Secret, base: string, where: { file: string; field: string }, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if ((secret.file === undefined) === (secret.env === undefined)) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'give exactly one of file and env', where);
  if (secret.env !== undefined) {
    const value = env[secret.env]?.trim();
    if (value === undefined || value === '') throw new OrbitfedError('ORBITFED_CONFIG_SECRET', `the environment variable ${secret.env} is not set`, where);
    if (value.length > SECRET_LENGTH_MAX) throw new OrbitfedError('ORBITFED_CONFIG_SECRET', `${secret.env} holds more than ${SECRET_LENGTH_MAX} characters`, where);
    return value;
  }
  const file = resolve(base, secret.file!);
  const text = (await readBoundedTextFile(file, {
    what: 'secret file', maxBytes: SECRET_LENGTH_MAX + 2, readCode: 'ORBITFED_CONFIG_SECRET', tooLargeCode: 'ORBITFED_CONFIG_SECRET', invalidTextCode: 'ORBITFED_CONFIG_SECRET',
  })).trim();
  if (text === '') throw new OrbitfedError('ORBITFED_CONFIG_SECRET', 'the secret file is empty', { file, field: where.field });
  return text;
}

/** Checks what the schema cannot, resolves paths against the file's folder and reads the secrets. */
export async function resolveGroundConfig(file: GroundConfigFile, configPath: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<GroundConfig> {
  const base = dirname(resolve(configPath));
  const at = (field: string) => ({ file: configPath, field });
  if (file.jobs?.dockerOwner !== undefined && !DOCKER_OWNER_PATTERN.test(file.jobs.dockerOwner)) {
    throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `${JSON.stringify(file.jobs.dockerOwner)} is not a Docker owner: 1-64 lower-case letters, digits, '_', '.', '-', starting with a letter or digit`, at('/jobs/dockerOwner'));
  }
  const mqtt = file.mqtt;
  if (mqtt.embedded === true && mqtt.url !== undefined) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'give either embedded: true or a broker url, not both', at('/mqtt'));
  if (mqtt.embedded !== true && mqtt.url === undefined) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'give a broker url, or embedded: true for a broker in this process', at('/mqtt'));
  file.space.satellites.forEach((s, i) => {
    if ((s.noradId === undefined) === (s.node === undefined)) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'give exactly one of noradId and node', at(`/space/satellites/${i}`));
    const cl = s.address.split(':')[0]!;
    if (file.space[cl as 'tcpclv4' | 'mtcp'] === undefined) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `the address uses ${cl}, which space.${cl} does not configure`, at(`/space/satellites/${i}/address`));
  });
  const nodes = new Set<number>();
  file.terrestrial.peers.forEach((p, i) => {
    if (nodes.has(p.node)) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `ipn ${p.node} is listed twice`, at(`/terrestrial/peers/${i}/node`));
    nodes.add(p.node);
  });
  if (file.jobs !== undefined && file.scheduler?.publicKeyHex === undefined) {
    throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'terrestrial jobs need the scheduler\'s publicKeyHex: assignments are verified under it', at('/scheduler/publicKeyHex'));
  }
  let planRefresh: CronSchedule | undefined;
  if (file.schedules?.planRefresh !== undefined) {
    try {
      planRefresh = parseCronExpression(file.schedules.planRefresh, '/schedules/planRefresh');
    } catch (error) {
      if (!(error instanceof OrbitfedError)) throw error;
      throw new OrbitfedError('ORBITFED_CONFIG_INVALID', error.message.slice('/schedules/planRefresh: '.length), at('/schedules/planRefresh'));
    }
  }
  const schedulerApiKey = file.scheduler === undefined ? undefined : await readSecret(file.scheduler.apiKey, base, at('/scheduler/apiKey'), env);
  const mqttPassword = mqtt.password === undefined ? undefined : await readSecret(mqtt.password, base, at('/mqtt/password'), env);
  return {
    file,
    configPath,
    stationsPath: resolve(base, file.station.stationsFile),
    elementsPath: file.elements === undefined ? undefined : resolve(base, file.elements),
    planPath: resolve(base, file.plan.path),
    keyPath: resolve(base, file.identity.keyFile),
    dataDir: resolve(base, file.dataDir),
    schedulerApiKey,
    mqttPassword,
    dockerSocket: file.jobs?.dockerSocket === undefined ? undefined : resolve(base, file.jobs.dockerSocket),
    dockerOwner: file.jobs?.dockerOwner,
    planRefresh,
  };
}

/** Reads, validates and resolves a ground agent configuration file. */
export async function loadGroundConfig(path: string, env?: Readonly<Record<string, string | undefined>>): Promise<GroundConfig> {
  return resolveGroundConfig(await loadConfigFile(path, GroundConfigSchema, 'ground agent configuration'), path, env);
}
