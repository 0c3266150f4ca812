// A federation's working directory, written before anything starts: the plan, the inputs it came
// from, the validators' testnet (keys, genesis with the tenants' money and the nodes' keys), the
// tenants' API keys, and the scheduler's configuration. Every process gets its own directory and
// reads only files; secrets are files of mode 0600, never arguments.
//
//   <dir>/data/        elements, stations, nodes (copies), plan.json (orbitfed JSON)
//   <dir>/validators/  genesis.json, vI.json, vI.key, vI-data/, nodes/<node>.key (the nodes' ed25519 seeds)
//   <dir>/secrets/     <tenant>.key: each tenant's API key
//   <dir>/scheduler/   scheduler.json, jobs.db
//   <dir>/logs/        <process>.log
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { OrbitfedError } from '../common/index.ts';
import { writeTestnet } from '../consensus/index.ts';
import { formatContactPlan } from '../contact-plans/index.ts';
import { apiKeySha256, escrowAccountId, feeAccountId, newApiKey, providerAccountId, tenantAccountId, type SchedulerConfigFile } from '../scheduler/index.ts';
import type { FederationInputs, FederationSpec } from './federation-spec.ts';
import { LOOPBACK_HOST } from './federation-ports.ts';

export interface FederationPorts {
  /** Validator i: libp2p on validatorBase + 2i, RPC on validatorBase + 2i + 1 (writeTestnet's layout). */
  readonly validatorBase: number;
  readonly scheduler: number;
}

export interface FederationLayout {
  readonly dir: string;
  readonly logsDir: string;
  readonly planPath: string;
  readonly elementsPath: string;
  readonly stationsPath: string;
  readonly nodesPath: string;
  readonly validatorConfigPaths: readonly string[];
  readonly validatorRpcUrls: readonly string[];
  readonly validatorsDir: string;
  /** The nodes' ed25519 seed files (registered in the genesis), by node id. */
  readonly nodeKeyPaths: ReadonlyMap<string, string>;
  readonly schedulerConfigPath: string;
  /** What the scheduler's configuration file holds (the agents' wiring adds its DTN node). */
  readonly schedulerConfig: SchedulerConfigFile;
  readonly schedulerDir: string;
  readonly schedulerUrl: string;
  /** Each tenant's API key (also in secrets/<tenant>.key). */
  readonly apiKeys: ReadonlyMap<string, string>;
}

/** The working directory must be new or empty: a federation's chain and jobs belong to one time base. */
export function prepareFederationDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const entries = readdirSync(dir);
  if (entries.length > 0) {
    throw new OrbitfedError('ORBITFED_FEDERATION_DIR_NOT_EMPTY', `${dir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); a federation starts in a new or empty directory, because its chain and jobs live on the time base of one run`, { file: dir });
  }
}

export function writeFederationFiles(spec: FederationSpec, inputs: FederationInputs, dir: string, ports: FederationPorts): FederationLayout {
  const dataDir = join(dir, 'data');
  const logsDir = join(dir, 'logs');
  const secretsDir = join(dir, 'secrets');
  const schedulerDir = join(dir, 'scheduler');
  const validatorsDir = join(dir, 'validators');
  for (const d of [dataDir, logsDir, schedulerDir]) mkdirSync(d, { recursive: true });
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });

  const copy = (from: string): string => {
    const to = join(dataDir, basename(from));
    copyFileSync(from, to);
    return to;
  };
  const elementsPath = copy(spec.elementsPath);
  const stationsPath = copy(spec.stationsPath);
  // The nodes as the federation offers them (with the runtime it runs), for the scheduler.
  const nodesPath = spec.runtime === 'docker' ? join(dataDir, 'nodes.json') : copy(spec.nodesPath);
  if (spec.runtime === 'docker') writeFileSync(nodesPath, `${JSON.stringify(inputs.nodes, null, 2)}\n`);
  const planPath = join(dataDir, 'plan.json');
  writeFileSync(planPath, formatContactPlan(inputs.plan, 'json'));

  // The genesis: fee and escrow accounts, the tenants' money, every node's key and provider account,
  // each validator's stake; accounts named as the scheduler names them.
  const testnet = writeTestnet({
    dir: validatorsDir, validators: spec.validators, basePort: ports.validatorBase, chainId: spec.chainId,
    // Block times are plan time: the chain begins just before the federation's clock starts.
    genesisTimeMs: spec.planStartMs - 60_000,
    currency: spec.currency,
    tenants: spec.tenants.map((t) => t.id),
    tenantBalanceMinor: spec.tenantBalanceMinor,
    nodes: inputs.nodes.map((n) => n.id),
    accountIds: { fee: feeAccountId, escrow: escrowAccountId, tenant: tenantAccountId, provider: providerAccountId },
    // Validators keep wall-clock timers (federation.ts), so their default timeouts stand.
    configExtras: { logLevel: spec.logLevel },
  });

  const apiKeys = new Map<string, string>();
  for (const tenant of spec.tenants) {
    const key = newApiKey();
    apiKeys.set(tenant.id, key);
    writeFileSync(join(secretsDir, `${tenant.id}.key`), `${key}\n`, { mode: 0o600 });
  }
  const schedulerUrl = `http://${LOOPBACK_HOST}:${ports.scheduler}`;
  const scheduler: SchedulerConfigFile = {
    listen: { host: LOOPBACK_HOST, port: ports.scheduler },
    storePath: 'jobs.db',
    plan: { path: planPath, format: 'json' },
    elementsPath,
    nodesFile: nodesPath,
    ledger: { chainId: spec.chainId, validatorRpcUrl: testnet.rpcUrls[0]! },
    tenants: spec.tenants.map((t) => ({
      id: t.id, roles: [...t.roles], ...(t.operator === undefined ? {} : { operator: t.operator }), apiKeySha256: apiKeySha256(apiKeys.get(t.id)!),
    })),
    // Sweeps once a wall-clock second whatever the scale (the scheduler runs on plan time).
    lifecycle: { tickMs: Math.max(10, Math.round(1000 * spec.timeScale)) },
    log: { level: spec.logLevel === 'silent' ? 'warn' : spec.logLevel },
    docs: true,
    // The map draws the stations where they are; live updates look once a wall-clock second.
    dashboard: {
      stationsPath, validatorRpcUrls: [...testnet.rpcUrls],
      eventsPollMs: Math.min(60_000, Math.max(100, Math.round(1000 * spec.timeScale))),
    },
  };
  const schedulerConfigPath = join(schedulerDir, 'scheduler.json');
  writeSchedulerConfig(schedulerConfigPath, scheduler);

  return {
    dir, logsDir, planPath, elementsPath, stationsPath, nodesPath,
    validatorConfigPaths: testnet.configPaths, validatorRpcUrls: testnet.rpcUrls, validatorsDir,
    nodeKeyPaths: new Map(inputs.nodes.map((n) => [n.id, join(validatorsDir, 'nodes', `${n.id}.key`)])),
    schedulerConfigPath, schedulerConfig: scheduler, schedulerDir, schedulerUrl, apiKeys,
  };
}

export function writeSchedulerConfig(path: string, config: SchedulerConfigFile): void {
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
}
