// The one place a scheduler process is wired (STYLE rule 14): configuration → contact plan, job
// store, tenants, the ledger behind the escrow port, placement, the job lifecycle, and the REST API,
// with one logger and one metrics registry. `start()` recovers the lifecycle and listens; `stop()`
// closes the API (in-flight requests finish), stops the sweeps and closes the store.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Type } from '@sinclair/typebox';
import { loadConfigFile, MetricsRegistry, OrbitfedError, type Clock, type Logger } from '../common/index.ts';
import { ContactPlan, loadContactPlanFile, loadElementFile } from '../contact-plans/index.ts';
import { planTimeBaseOf } from '../dtn/index.ts';
import { buildApi, type ApiApp } from './api.ts';
import { verifyAttestation } from './attestations.ts';
import { loadDashboardSources } from './dashboard-config.ts';
import { loadCountryBorders } from './country-borders.ts';
import { InProcessEscrowLedger, type EscrowLedger } from './escrow-ledger.ts';
import { ValidatorEscrowLedger } from './validator-escrow-ledger.ts';
import { JobLifecycle } from './job-lifecycle.ts';
import { JobStore } from './job-store.ts';
import { nodeSpecRuleProblems, NodeSpecSchema } from './node-spec.ts';
import { placeJob, releasePlacement, reservePlacement } from './placement.ts';
import type { SchedulerConfig } from './scheduler-config.ts';
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

export class SchedulerService {
  readonly app: ApiApp;
  readonly store: JobStore;
  readonly lifecycle: JobLifecycle;
  readonly escrow: EscrowLedger;
  readonly #config: SchedulerConfig;
  readonly #log: Logger;
  readonly #listen: { readonly host: string; readonly port: number };
  #started = false;

  private constructor(config: SchedulerConfig, app: ApiApp, store: JobStore, lifecycle: JobLifecycle, escrow: EscrowLedger, log: Logger, listen: { host: string; port: number }) {
    this.#config = config;
    this.app = app;
    this.store = store;
    this.lifecycle = lifecycle;
    this.escrow = escrow;
    this.#log = log;
    this.#listen = listen;
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
      const listen = { host: options.listen?.host ?? file.listen?.host ?? '127.0.0.1', port: options.listen?.port ?? file.listen?.port ?? 8080 };
      return new SchedulerService(config, app, store, lifecycle, escrow, log, listen);
    } catch (error) {
      store.close();
      throw error;
    }
  }

  get plan(): ContactPlan {
    return this.lifecycle.plan;
  }

  /** Recovers the lifecycle (bookings, orphaned escrows, unplaced jobs) and listens; resolves to the address. */
  async start(): Promise<string> {
    await this.lifecycle.start();
    this.#started = true;
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
