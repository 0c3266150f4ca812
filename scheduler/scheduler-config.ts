// The scheduler's configuration file (YAML or JSON), declared once as a TypeBox schema: every
// option is documented here (the descriptions are the documentation; samples/scheduler.yaml uses
// them), unknown keys are errors, and relative paths are relative to the file. Secrets never sit in
// the file: a tenant's API key is given as its SHA-256 (not a secret), or read from a file or an
// environment variable and hashed at once (`apiKeyFile`, `apiKeyEnv`).
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { loadConfigFile, LOG_LEVELS, OrbitfedError } from '../common/index.ts';
import { CHAIN_ID_PATTERN, checkPublicKeyForRegistration } from '../consensus/index.ts';
import { API_LIMITS_DEFAULT } from './api-limits.ts';
import { DashboardConfigSchema } from './dashboard-config.ts';
import { DISPATCHER_OPTIONS_DEFAULT } from './dispatcher.ts';
import { JOB_LIFECYCLE_OPTIONS_DEFAULT } from './job-lifecycle.ts';
import { JOB_STORE_LIMITS_DEFAULT, TENANT_ROLES, type TenantRecord } from './job-store.ts';
import { API_KEY_PREFIX, apiKeySha256, checkTenantPublicKey, TENANT_ID_PATTERN } from './tenants.ts';

/** An API key read from a file or the environment is at most this long (ours are 47 characters). */
const API_KEY_LENGTH_MAX = 256;
const ms = (description: string, defaultValue: number, minimum = 1) => Type.Optional(Type.Integer({ minimum, maximum: 10 * 365 * 86_400_000, default: defaultValue, description }));
const count = (description: string, defaultValue: number, maximum = 100_000_000) => Type.Optional(Type.Integer({ minimum: 1, maximum, default: defaultValue, description }));

const MiB = 1024 * 1024;
/** Defaults of the scheduler's DTN node (`dtn`). */
export const SCHEDULER_DTN_DEFAULTS = {
  listen: ['/ip4/0.0.0.0/tcp/4002'],
  capacityBytes: 1024 * MiB,
  capacityBundles: 100_000,
  overlayRateBytesPerSec: 12_500_000,
  nodeKeyCacheMs: 600_000,
} as const;

/**
 * The scheduler's own DTN node: without it the scheduler places and escrows jobs but nothing is
 * dispatched (scheduler/README.md, "Dispatch").
 */
const DtnConfigSchema = Type.Object({
  ipn: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "The scheduler's ipn node number: assignments leave from ipn:N.0, nodes report to ipn:N.2 and stations forward results to ipn:N.3. Not a registered node; agents name it as their scheduler node." }),
  keyFile: Type.String({ minLength: 1, maxLength: 4096, description: "The scheduler's ed25519 seed (64 hex characters, keep it 0600): it signs assignments (agents verify them under its public key: orbital `schedulerPublicKey`, ground `scheduler.publicKeyHex`) and is the libp2p identity the stations admit." }),
  storePath: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'The bundle store (SQLite) file; default: beside the job store, <storePath>.bundles.' })),
  store: Type.Optional(Type.Object({
    capacityBytes: count('Bytes of bundles held at most; a bundle that does not fit is refused (an assignment is then retried every tick).', SCHEDULER_DTN_DEFAULTS.capacityBytes, Number.MAX_SAFE_INTEGER),
    capacityBundles: count('Bundles held at most.', SCHEDULER_DTN_DEFAULTS.capacityBundles),
    bundleSizeBytesMax: count('Largest single bundle accepted.', 16 * MiB, 1024 * MiB),
  }, { additionalProperties: false })),
  listen: Type.Optional(Type.Array(Type.String({ pattern: '^/ip[46]/', maxLength: 512 }), {
    maxItems: 8, default: SCHEDULER_DTN_DEFAULTS.listen, description: 'libp2p multiaddrs the overlay listens on; [] only dials out.',
  })),
  peers: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 64, description: 'For logs (the station id).' }),
    node: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "The peer's ipn node number (a ground station's `station.ipn`)." }),
    address: Type.String({ pattern: '^/(ip4|ip6|dns|dns4|dns6)/', maxLength: 512, description: "Its libp2p multiaddr without /p2p/ (the ground agent's `terrestrial.listen`)." }),
    publicKeyHex: Type.String({ pattern: '^[0-9a-f]{64}$', description: "Its ed25519 public key (its `identity.keyFile`'s): its libp2p identity; the gater admits only these keys." }),
    rateBytesPerSec: count('Rate of the always-on overlay contacts between the scheduler and this peer.', SCHEDULER_DTN_DEFAULTS.overlayRateBytesPerSec, Number.MAX_SAFE_INTEGER),
  }, { additionalProperties: false }), { minItems: 1, maxItems: 1000, description: "The ground stations (or gateways) the scheduler's node reaches over the libp2p overlay: each gets always-on contacts both ways, so assignments route scheduler → station → (pass) → node." }),
  nodeKeyCacheMs: ms("How long a node's public key read from the validators' registry (nodes without NodeSpec.publicKeyHex) is used before it is read again.", SCHEDULER_DTN_DEFAULTS.nodeKeyCacheMs, 1_000),
  dispatcher: Type.Optional(Type.Object({
    tickMs: ms('How often placed jobs are looked for and their assignments sent.', DISPATCHER_OPTIONS_DEFAULT.tickMs, 10),
    dispatchesPerTickMax: count('Assignments sent per tick at most; the rest at the next.', DISPATCHER_OPTIONS_DEFAULT.dispatchesPerTickMax, 100_000),
    timeoutFactor: Type.Optional(Type.Number({ minimum: 1, maximum: 100, default: DISPATCHER_OPTIONS_DEFAULT.timeoutFactor, description: "A workload's timeout on the node: the job's executionMs times this." })),
  }, { additionalProperties: false })),
}, { additionalProperties: false, description: "The scheduler's DTN node, which dispatches placed jobs as signed assignments and turns nodes' reports and results into job states. Without it nothing is dispatched." });

const TenantConfigSchema = Type.Object({
  id: Type.String({ pattern: TENANT_ID_PATTERN, description: 'Tenant id (1–48 of [a-z0-9._-]); names its ledger accounts.' }),
  roles: Type.Array(Type.Union(TENANT_ROLES.map((r) => Type.Literal(r))), {
    minItems: 1, uniqueItems: true, description: 'jobs: submit and manage its own jobs; nodes: register nodes of its operator; admin: register any node.',
  }),
  operator: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "The operator name this tenant registers nodes for (NodeSpec.operator); needed with the 'nodes' role." })),
  apiKeySha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 (hex) of the API key, as `orbitfed scheduler keygen` prints it.' })),
  apiKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'A file holding the API key itself (mode 0600); hashed at start.' })),
  apiKeyEnv: Type.Optional(Type.String({ pattern: '^[A-Z_][A-Z0-9_]{0,127}$', description: 'An environment variable holding the API key; hashed at start.' })),
  publicKeyHex: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'ed25519 public key (hex) for signed requests.' })),
}, { additionalProperties: false });

export const SchedulerConfigSchema = Type.Object({
  listen: Type.Optional(Type.Object({
    host: Type.Optional(Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address to listen on (0.0.0.0 for all interfaces).' })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port; 0 picks a free one (printed at start).' })),
  }, { additionalProperties: false })),
  storePath: Type.String({ minLength: 1, description: 'The job store (SQLite) file; created if missing.' }),
  plan: Type.Object({
    path: Type.String({ minLength: 1, description: 'Contact plan file (ION ionrc, HDTN JSON or orbitfed JSON; `orbitfed plan` writes one).' }),
    format: Type.Optional(Type.Union([Type.Literal('ion'), Type.Literal('hdtn'), Type.Literal('json')], { description: 'Default: detected from the content.' })),
    epochMs: Type.Optional(Type.Integer({ minimum: 0, description: "Unix ms of the plan's second 0, for a relative plan (HDTN JSON, ION without an absolute time)." })),
  }, { additionalProperties: false }),
  elementsPath: Type.Optional(Type.String({ minLength: 1, description: 'Element sets (TLE or OMM) of the orbital nodes, matched by noradId: needed for processing-footprint rules, which also load the bundled country borders (about 3 s at start).' })),
  nodesFile: Type.Optional(Type.String({ minLength: 1, description: 'A YAML/JSON list of node specs registered (or replaced) at start, as by an admin.' })),
  ledger: Type.Object({
    chainId: Type.String({ pattern: CHAIN_ID_PATTERN.source, description: 'The ledger chain id; signed requests are bound to it too.' }),
    validatorRpcUrl: Type.Optional(Type.String({ pattern: '^https?://', description: "A settlement validator's RPC (`orbitfed validator`): escrows go to the validators and are answered once committed. Without it the ledger runs in this process (the embedded default). Tenants' money then comes from the chain's genesis, not from `genesis` below." })),
    snapshotPath: Type.Optional(Type.String({ minLength: 1, description: 'Where the in-process ledger keeps its snapshot; default: beside the store, <storePath>.ledger.' })),
    escrowSettlementWindowMs: ms('How long after a job\'s deadline its escrow stays pending for the usage receipt.', JOB_LIFECYCLE_OPTIONS_DEFAULT.escrowSettlementWindowMs),
    genesis: Type.Optional(Type.Array(Type.Object({
      tenant: Type.String({ pattern: TENANT_ID_PATTERN }),
      currency: Type.String({ pattern: '^[A-Z]{3}$' }),
      amountMinor: Type.String({ pattern: '^[0-9]{1,19}$', description: 'Minor units, decimal (a string: beyond 2^53).' }),
    }, { additionalProperties: false }), { maxItems: 10_000, description: 'Money minted into tenant accounts when the ledger is created (demo and tests; once, by transfer id).' })),
  }, { additionalProperties: false }),
  tenants: Type.Array(TenantConfigSchema, { maxItems: 10_000, description: 'Who may call the API. Tenants removed here lose access at the next start; their jobs stay.' }),
  auditors: Type.Optional(Type.Array(Type.Object({
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
    publicKeyHex: Type.String({ pattern: '^[0-9a-f]{64}$', description: "The auditor's ed25519 public key." }),
  }, { additionalProperties: false }), { maxItems: 1000, description: 'Auditors whose attestations registered nodes may carry.' })),
  limits: Type.Optional(Type.Object({
    bodyBytesMax: count('Largest request body (413 beyond).', API_LIMITS_DEFAULT.bodyBytesMax, 16 * 1024 * 1024),
    rateLimitRequests: count('Requests per tenant per window (429 beyond).', API_LIMITS_DEFAULT.rateLimitRequests),
    rateLimitWindowMs: ms('The rate limit window.', API_LIMITS_DEFAULT.rateLimitWindowMs),
    pageSizeMax: count('Largest page of a listing.', API_LIMITS_DEFAULT.pageSizeMax, 10_000),
    jobsMax: count('Jobs stored at most; finished ones past their retention are pruned first.', JOB_STORE_LIMITS_DEFAULT.jobsMax),
    eventsPerJobMax: count('Events per job.', JOB_STORE_LIMITS_DEFAULT.eventsPerJobMax, 100_000),
    finishedJobRetentionMs: ms('How long finished jobs are kept before they may be pruned.', JOB_STORE_LIMITS_DEFAULT.finishedJobRetentionMs),
    idempotencyKeysMax: count('Idempotency keys remembered; the oldest go first.', JOB_STORE_LIMITS_DEFAULT.idempotencyKeysMax),
    idempotencyKeyTtlMs: ms('How long an Idempotency-Key is remembered.', JOB_STORE_LIMITS_DEFAULT.idempotencyKeyTtlMs),
    nodesMax: count('Registered nodes at most.', JOB_STORE_LIMITS_DEFAULT.nodesMax),
    resultContentBytesMax: count("Bytes of delivered job results kept for download (GET /v1/jobs/{id}/result/content), in all, in <storePath>.results; past it the oldest results' bytes are dropped (their report and SHA-256 stay; the download answers 410). A result larger than this alone is not kept.", JOB_STORE_LIMITS_DEFAULT.resultContentBytesMax, Number.MAX_SAFE_INTEGER),
    resultContentRetentionMs: ms("How long a delivered result's bytes are kept for download after they arrived; then dropped as above.", JOB_STORE_LIMITS_DEFAULT.resultContentRetentionMs),
  }, { additionalProperties: false })),
  lifecycle: Type.Optional(Type.Object({
    tickMs: ms('How often deadlines, silent nodes and unplaced jobs are checked.', JOB_LIFECYCLE_OPTIONS_DEFAULT.tickMs, 10),
    replansMax: count('Re-plans per job before it fails.', JOB_LIFECYCLE_OPTIONS_DEFAULT.replansMax, 200),
    lostAfterMsDefault: ms('How long a silent node keeps a job that gives no lostAfterMs.', JOB_LIFECYCLE_OPTIONS_DEFAULT.lostAfterMsDefault),
  }, { additionalProperties: false })),
  log: Type.Optional(Type.Object({
    level: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info' })),
  }, { additionalProperties: false })),
  dashboard: Type.Optional(DashboardConfigSchema),
  docs: Type.Optional(Type.Boolean({ default: true, description: 'Serve Swagger UI at /docs (the OpenAPI document is at /docs/json either way).' })),
  dtn: Type.Optional(DtnConfigSchema),
}, { additionalProperties: false });

export type SchedulerConfigFile = Static<typeof SchedulerConfigSchema>;

/** A loaded configuration: paths absolute, tenants with their key digests resolved. */
export interface SchedulerConfig {
  readonly file: SchedulerConfigFile;
  /** The configuration file itself (for messages). */
  readonly configPath: string;
  readonly storePath: string;
  readonly planPath: string;
  readonly nodesPath: string | undefined;
  readonly elementsPath: string | undefined;
  readonly ledgerSnapshotPath: string;
  readonly tenants: readonly TenantRecord[];
  /** The DTN node's files, when `dtn` is configured. */
  readonly dtn: { readonly keyPath: string; readonly bundleStorePath: string } | undefined;
}

function readSecret(path: string, field: string): string {
  try {
    if (statSync(path).size > API_KEY_LENGTH_MAX + 2) throw new OrbitfedError('ORBITFED_CONFIG_SECRET', `the key file is larger than an API key (${API_KEY_LENGTH_MAX} characters)`, { file: path, field });
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if (error instanceof OrbitfedError) throw error;
    throw new OrbitfedError('ORBITFED_CONFIG_SECRET', `cannot read the API key file: ${(error as Error).message}`, { file: path, field }, { cause: error });
  }
}

function checkApiKey(key: string, where: { file?: string; field: string }): string {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > API_KEY_LENGTH_MAX || !/^[A-Za-z0-9_-]+$/.test(key)) {
    throw new OrbitfedError('ORBITFED_CONFIG_SECRET', `not an orbitfed API key ("${API_KEY_PREFIX}…", base64url); make one with orbitfed scheduler keygen`, where);
  }
  return apiKeySha256(key);
}

/** Checks what the schema cannot and resolves paths and secrets. `env` is the process environment by default. */
export function resolveSchedulerConfig(file: SchedulerConfigFile, configPath: string, env: Readonly<Record<string, string | undefined>> = process.env): SchedulerConfig {
  const base = dirname(resolve(configPath));
  const at = (field: string) => ({ file: configPath, field });
  const ids = new Set<string>();
  const tenants = file.tenants.map((t, i): TenantRecord => {
    const field = `/tenants/${i}`;
    if (ids.has(t.id)) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `tenant ${t.id} is listed twice`, at(`${field}/id`));
    ids.add(t.id);
    const sources = [t.apiKeySha256, t.apiKeyFile, t.apiKeyEnv].filter((s) => s !== undefined).length;
    if (sources > 1) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'give one of apiKeySha256, apiKeyFile, apiKeyEnv', at(field));
    if (sources === 0 && t.publicKeyHex === undefined) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'a tenant needs an API key (apiKeySha256, apiKeyFile or apiKeyEnv) or a publicKeyHex', at(field));
    if (t.roles.includes('nodes') && t.operator === undefined) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', "the 'nodes' role needs the operator name the tenant registers nodes for", at(`${field}/operator`));
    let digest = t.apiKeySha256;
    if (t.apiKeyFile !== undefined) digest = checkApiKey(readSecret(resolve(base, t.apiKeyFile), `${field}/apiKeyFile`), { file: resolve(base, t.apiKeyFile), field: `${field}/apiKeyFile` });
    if (t.apiKeyEnv !== undefined) {
      const key = env[t.apiKeyEnv];
      if (key === undefined || key === '') throw new OrbitfedError('ORBITFED_CONFIG_SECRET', `the environment variable ${t.apiKeyEnv} is not set`, at(`${field}/apiKeyEnv`));
      digest = checkApiKey(key.trim(), at(`${field}/apiKeyEnv`));
    }
    if (t.publicKeyHex !== undefined) checkTenantPublicKey(t.publicKeyHex, `${field}/publicKeyHex`);
    return { id: t.id, roles: t.roles, operator: t.operator, apiKeySha256: digest, publicKeyHex: t.publicKeyHex };
  });
  const digests = new Set<string>();
  tenants.forEach((t, i) => {
    if (t.apiKeySha256 === undefined) return;
    if (digests.has(t.apiKeySha256)) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'two tenants share one API key', at(`/tenants/${i}`));
    digests.add(t.apiKeySha256);
  });
  for (const [i, g] of (file.ledger.genesis ?? []).entries()) {
    if (!ids.has(g.tenant)) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `genesis money for ${g.tenant}, who is not a tenant`, at(`/ledger/genesis/${i}/tenant`));
    if (BigInt(g.amountMinor) > 2n ** 63n - 1n) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'more than 2^63 − 1 minor units', at(`/ledger/genesis/${i}/amountMinor`));
  }
  const storePath = resolve(base, file.storePath);
  const dtn = file.dtn;
  if (dtn !== undefined) {
    const nodes = new Set<number>();
    dtn.peers.forEach((peer, i) => {
      const field = `/dtn/peers/${i}`;
      if (peer.node === dtn.ipn) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `peer ${peer.name} has the scheduler's own ipn ${dtn.ipn}`, at(`${field}/node`));
      if (nodes.has(peer.node)) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `ipn ${peer.node} is listed twice`, at(`${field}/node`));
      nodes.add(peer.node);
      if (peer.address.includes('/p2p/')) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', 'give the address without /p2p/: the peer id comes from publicKeyHex', at(`${field}/address`));
      const check = checkPublicKeyForRegistration(new Uint8Array(Buffer.from(peer.publicKeyHex, 'hex')));
      if (!check.ok) throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `public key refused (${check.reason}): ${check.detail}`, at(`${field}/publicKeyHex`));
    });
  }
  return {
    file,
    configPath,
    storePath,
    planPath: resolve(base, file.plan.path),
    nodesPath: file.nodesFile === undefined ? undefined : resolve(base, file.nodesFile),
    elementsPath: file.elementsPath === undefined ? undefined : resolve(base, file.elementsPath),
    ledgerSnapshotPath: file.ledger.snapshotPath === undefined ? `${storePath}.ledger` : resolve(base, file.ledger.snapshotPath),
    tenants,
    dtn: dtn === undefined ? undefined : {
      keyPath: resolve(base, dtn.keyFile),
      bundleStorePath: dtn.storePath === undefined ? `${storePath}.bundles` : resolve(base, dtn.storePath),
    },
  };
}

/** Reads, validates and resolves a scheduler configuration file. */
export async function loadSchedulerConfig(path: string, env?: Readonly<Record<string, string | undefined>>): Promise<SchedulerConfig> {
  return resolveSchedulerConfig(await loadConfigFile(path, SchedulerConfigSchema, 'scheduler configuration'), path, env);
}
