// Runs a scenario against a federation of real processes (federation.ts): starts it, submits the
// jobs and injects the faults at their plan times, waits out the run, then collects what happened
// from the outside — every job and its events from the scheduler's API, the ledger from every
// validator (supply, balances, escrows, block hashes), every process exit — and stops everything.
// The checks (scenario-checks.ts) and the report (scenario-report.ts) work on that record alone.
//
// Timing: actions wait on the federation's plan clock (a ScaledClock on the same time base as the
// processes), so "atSec: 600" is ten plan minutes after start whatever the time scale. An action
// that takes wall time (a restart waits until the process serves) delays the ones after it; each
// is recorded with the plan time it was really applied at.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OrbitfedError, type Clock, type DurationMs, type Logger } from '../common/index.ts';
import { loadElementFile } from '../contact-plans/index.ts';
import type { JobSpec } from '../scheduler/index.ts';
import { escrowAccountId, feeAccountId, providerAccountId, tenantAccountId } from '../scheduler/index.ts';
import { demoPlanStartMs } from './demo-federation.ts';
import { apiRequest } from './demo-session.ts';
import { Federation } from './federation.ts';
import type { ProcessExit } from './federation-process.ts';
import type { FederationSpec } from './federation-spec.ts';
import { loadLinkMapFile, type LinkMap } from './link-map.ts';
import { linkTimelines } from './link-schedule.ts';
import type { Scenario, ScenarioFault, ScenarioFlap } from './scenario-file.ts';

/** Pages of job events read at most per job. */
const EVENT_PAGES_MAX = 20;
/** Link outages kept in the record (and drawn in the report) at most; the rest are counted. */
export const LINK_OUTAGE_RECORDS_MAX = 5_000;

export interface SubmissionRecord {
  readonly index: number;
  readonly tenant: string;
  readonly name: string;
  readonly spec: JobSpec;
  readonly plannedMs: number;
  readonly submittedMs: number;
  readonly status: number;
  readonly jobId: string | undefined;
  /** The problem document of a refusal (or of a request that failed: status 0). */
  readonly problem: { readonly code: string; readonly detail: string } | undefined;
  /** The job at the end of the run, as the API shows it. */
  readonly finalJob: Record<string, unknown> | undefined;
  readonly events: readonly Record<string, unknown>[];
  /** Why the job could not be read at the end, if it could not. */
  readonly readError: string | undefined;
}

export interface FaultRecord {
  readonly index: number;
  readonly fault: AppliedFault;
  readonly plannedMs: number;
  readonly appliedMs: number;
  readonly doneMs: number;
  readonly error: string | undefined;
}

/** A scheduled flap of the scenario's `links`, as handed to the link emulator. */
export interface LinkFlapRecord {
  readonly index: number;
  readonly flap: ScenarioFlap;
  /** Plan time of its first outage. */
  readonly startMs: number;
  /** Why the emulator did not take it, if it did not. */
  readonly error: string | undefined;
}

/** One outage of a link in the run: a scheduled flap, a seeded drop, or a `flap` fault. */
export interface LinkOutageRecord {
  /** "from→to" (ipn numbers), or "all". */
  readonly link: string;
  readonly cause: 'flap' | 'drop' | 'fault';
  readonly startMs: number;
  readonly endMs: number;
}

/** What the link emulator counted, read at the end of the run. */
export interface LinkEndStatus {
  readonly from: number;
  readonly to: number;
  /** Times a flap or drop took the link down while its contact was open. */
  readonly outagesDuringContact: number;
  /** Connections reset by those outages. */
  readonly connectionsCutByOutage: number;
}

export interface LinksRecord {
  readonly seed: number;
  readonly drops: Scenario['links']['drops'];
  readonly flaps: readonly LinkFlapRecord[];
  /** In time order, at most LINK_OUTAGE_RECORDS_MAX. */
  readonly outages: readonly LinkOutageRecord[];
  readonly outagesLeftOff: number;
  /** Every emulated link's counters at the end (undefined when the emulator could not be read). */
  readonly status: readonly LinkEndStatus[] | undefined;
  readonly statusError: string | undefined;
}

export interface ExitRecord {
  readonly atMs: number;
  readonly name: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly expected: boolean;
  readonly logTail: string;
}

export interface LedgerRecord {
  readonly validator: number;
  readonly rpcUrl: string;
  readonly error: string | undefined;
  readonly height: number | undefined;
  readonly appHash: string | undefined;
  readonly supplyMinor: string | undefined;
  /** Balances of every account the federation knows, minor units as decimal strings. */
  readonly balances: Readonly<Record<string, string>>;
  /** Escrow status by escrow id, for every escrow the accepted jobs name. */
  readonly escrows: Readonly<Record<string, string>>;
  /** "blockId/appHash" at the height every reachable validator has (for agreement). */
  readonly commonBlockHash: string | undefined;
}

export interface ScenarioRecord {
  readonly scenario: Scenario;
  readonly dir: string;
  readonly timeBase: { readonly wallOriginMs: number; readonly originMs: number; readonly timeScale: number };
  readonly planStartMs: number;
  /** Plan time when every process served: the scenario's second 0. */
  readonly runningMs: number;
  readonly endMs: number;
  readonly planHash: string;
  readonly contacts: readonly { readonly from: string; readonly to: string; readonly startMs: number; readonly endMs: number }[];
  readonly nodes: readonly { readonly id: string; readonly kind: string; readonly ipn: number }[];
  readonly submissions: readonly SubmissionRecord[];
  readonly faults: readonly FaultRecord[];
  readonly exits: readonly ExitRecord[];
  readonly ledger: readonly LedgerRecord[];
  readonly commonHeight: number | undefined;
  /** Every account the ledger should hold money in (tenants, providers, fees, escrow, stakes). */
  readonly accounts: readonly string[];
  readonly federationSpec: FederationSpec;
  readonly inputs: Federation['inputs'];
  /** The link emulator's faults and counters (federations with agents). */
  readonly links?: LinksRecord | undefined;
}

export interface ScenarioRunOptions {
  readonly scenario: Scenario;
  /** Working directory (new or empty); default a fresh temporary one. */
  readonly dir?: string | undefined;
  /** Wall clock (process management). */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
  /** One line per action, for people watching. */
  readonly onProgress?: (line: string) => void;
}

type Action =
  | { readonly kind: 'job'; readonly atSec: number; readonly order: number; readonly index: number; readonly tenant: string; readonly spec: JobSpec; readonly deadlineAfterSec: number }
  | { readonly kind: 'fault'; readonly atSec: number; readonly order: number; readonly index: number; readonly fault: AppliedFault };

/** A fault of the file, or the heal that ends a partition with a duration. */
export type AppliedFault = ScenarioFault | (Omit<Extract<ScenarioFault, { kind: 'partition' }>, 'kind'> & { readonly kind: 'heal' });

export function federationSpecOf(scenario: Scenario, planStartMs: number): FederationSpec {
  return {
    name: scenario.file.name,
    elementsPath: scenario.elementsPath,
    stationsPath: scenario.stationsPath,
    nodesPath: scenario.nodesPath,
    planStartMs,
    planHours: scenario.planHours,
    timeScale: scenario.timeScale,
    validators: scenario.validators,
    chainId: scenario.chainId,
    currency: scenario.currency,
    tenants: scenario.file.tenants.map((t) => ({ id: t.id, roles: t.roles, operator: t.operator })),
    tenantBalanceMinor: scenario.tenantBalanceMinor,
    groundMeshBytesPerSec: 125_000_000,
    schedulerPortPreferred: 0,
    mqttPortPreferred: 0,
    agents: scenario.agents,
    logLevel: 'info',
    linkFaults: { seed: scenario.links.seed, drops: scenario.links.drops },
    orbitalNamespaces: scenario.namespaces,
  };
}

/** The submissions and faults in the order they happen (file order within one instant). */
export function scenarioActions(scenario: Scenario): Action[] {
  const actions: Action[] = [];
  let order = 0;
  let index = 0;
  for (const job of scenario.jobs) {
    for (let k = 0; k < (job.count ?? 1); k += 1) {
      const spec = { ...job.spec, deadlineMs: 0 } as JobSpec;
      actions.push({ kind: 'job', atSec: job.atSec + k * (job.everySec ?? 0), order: order++, index: index++, tenant: job.tenant, spec, deadlineAfterSec: job.deadlineAfterSec });
    }
  }
  scenario.faults.forEach((fault, i) => {
    actions.push({ kind: 'fault', atSec: fault.atSec, order: order++, index: i, fault });
    // A partition with a duration heals by itself.
    if (fault.kind === 'partition' && fault.durationSec !== undefined) {
      actions.push({ kind: 'fault', atSec: fault.atSec + fault.durationSec, order: order++, index: i, fault: { ...fault, kind: 'heal' } });
    }
  });
  return actions.sort((a, b) => a.atSec - b.atSec || a.order - b.order);
}

export async function runScenario(options: ScenarioRunOptions): Promise<ScenarioRecord> {
  const { scenario, clock, logger } = options;
  const progress = options.onProgress ?? (() => {});
  const dir = options.dir === undefined ? mkdtempSync(join(tmpdir(), `orbitfed-scenario-${scenario.file.name}-`)) : resolve(options.dir);
  const planStartMs = scenario.planStartMs ?? demoPlanStartMs((await loadElementFile(scenario.elementsPath, { checksum: 'strict' })).elements, clock.now());
  const exits: ExitRecord[] = [];
  let planClock: Clock | undefined;
  const federation = await Federation.prepare({
    spec: federationSpecOf(scenario, planStartMs), dir, clock, logger,
    onProcessExit: (exit: ProcessExit) => {
      exits.push({ atMs: planClock?.now() ?? planStartMs, name: exit.name, code: exit.code, signal: exit.signal, expected: exit.expected, logTail: exit.expected ? '' : exit.logTail });
      if (!exit.expected) progress(`${exit.name} exited unexpectedly (${exit.signal ?? exit.code})`);
    },
  });
  const processNames = new Set(federation.processes.map((p) => p.name));
  const linkMap = federation.agentFiles === undefined ? undefined : await loadLinkMapFile(federation.agentFiles.linkMapPath);
  const checkLink = (end: { from: number | 'all'; to: number | 'all' }, field: string): void => {
    if (linkMap === undefined) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'link faults act on the link emulator, which runs only with agents (agents: true)', { file: scenario.path, field });
    if ((end.from === 'all') !== (end.to === 'all')) {
      throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'name one directed link (from and to are nodes) or all of them (both all)', { file: scenario.path, field });
    }
    if (end.from !== 'all' && !linkMap.links.some((l) => l.from === end.from && l.to === end.to)) {
      const pairs = [...new Set(linkMap.links.map((l) => `${l.from}→${l.to}`))];
      throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `the link emulator has no link ${end.from}→${end.to} (a station–satellite pair with contacts in the plan); it has ${pairs.slice(0, 12).join(', ')}${pairs.length > 12 ? ', …' : ''}`, { file: scenario.path, field });
    }
  };
  scenario.links.flaps.forEach((flap, i) => checkLink(flap, `/links/flaps/${i}`));
  scenario.faults.forEach((fault, i) => {
    if (fault.kind === 'partition' || fault.kind === 'flap') {
      checkLink(fault, `/faults/${i}`);
      return;
    }
    if (!processNames.has(fault.process)) {
      throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `no process ${fault.process}; this federation has ${[...processNames].join(', ')}`, { file: scenario.path, field: `/faults/${i}/process` });
    }
  });
  progress(`federation in ${dir}: ${federation.processes.length} processes, plan ${federation.inputs.plan.hash.slice(0, 12)} (${federation.inputs.plan.contacts.length} contacts)`);
  const submissions: SubmissionRecord[] = [];
  const faults: FaultRecord[] = [];
  const flaps: LinkFlapRecord[] = [];
  try {
    await federation.start(options.signal);
    const timeBase = federation.timeBase;
    const plan = federation.planClock();
    planClock = plan;
    // The scenario's second 0 is when every process serves, not when the time base began.
    const runningMs = plan.now();
    progress(`running; plan time ${new Date(runningMs).toISOString()} at ${timeBase.timeScale}×`);
    // Scheduled flaps are plan seconds of the emulator's plan (epoch: the plan's own), known only now.
    const linkEpochMs = federation.inputs.plan.epochMs ?? federation.spec.planStartMs;
    for (const [index, flap] of scenario.links.flaps.entries()) {
      const startMs = runningMs + flap.atSec * 1000;
      let error: string | undefined;
      try {
        await linkControl(federation, linkPath(flap), 'flap', options.signal, {
          startSec: (startMs - linkEpochMs) / 1000, downSec: flap.downSec,
          ...(flap.everySec === undefined ? {} : { everySec: flap.everySec }), ...(flap.count === undefined ? {} : { count: flap.count }),
        });
      } catch (cause) {
        error = (cause as Error).message;
      }
      flaps.push({ index, flap, startMs, error });
      progress(`links: flap ${linkName(flap)} from t+${flap.atSec}s, ${flap.downSec}s down${(flap.count ?? 1) > 1 ? `, ${flap.count} times every ${flap.everySec}s` : ''}${error === undefined ? '' : `: ${error}`}`);
    }
    const waitUntil = async (planMs: number): Promise<void> => {
      const leftMs = planMs - plan.now();
      if (leftMs > 0) await plan.sleep(leftMs as DurationMs, options.signal);
    };
    for (const action of scenarioActions(scenario)) {
      const plannedMs = runningMs + action.atSec * 1000;
      await waitUntil(plannedMs);
      if (action.kind === 'job') {
        const submittedMs = plan.now();
        const spec = { ...action.spec, deadlineMs: submittedMs + Math.round(action.deadlineAfterSec * 1000) };
        const record = await submit(federation, clock, action.index, action.tenant, spec, plannedMs, submittedMs, options.signal);
        submissions.push(record);
        progress(`t+${action.atSec}s job ${record.name}: ${record.status} ${record.jobId ?? record.problem?.code ?? ''}`);
      } else {
        const appliedMs = plan.now();
        let error: string | undefined;
        try {
          await applyFault(federation, action.fault, options.signal);
        } catch (cause) {
          error = (cause as Error).message;
        }
        faults.push({ index: action.index, fault: action.fault, plannedMs, appliedMs, doneMs: plan.now(), error });
        const target = 'process' in action.fault ? action.fault.process : linkName(action.fault);
        progress(`t+${action.atSec}s ${action.fault.kind} ${target}${error === undefined ? '' : `: ${error}`}`);
      }
    }
    await waitUntil(runningMs + scenario.file.durationSec * 1000);
    progress('run over; collecting jobs and the ledger');
    const collected = await Promise.all(submissions.map((s) => readBack(federation, clock, s, options.signal)));
    const ledger = await readLedger(federation, collected);
    const links = linkMap === undefined ? undefined : await readLinks(federation, linkMap, scenario, runningMs, flaps, faults, options.signal);
    const endMs = plan.now();
    return {
      scenario, dir, timeBase, planStartMs, runningMs, endMs, planHash: federation.inputs.plan.hash,
      contacts: planContacts(federation),
      nodes: federation.inputs.nodes.map((n) => ({ id: n.id, kind: n.kind, ipn: n.ipn })),
      submissions: collected, faults, exits, ledger: ledger.records, commonHeight: ledger.commonHeight, accounts: ledger.accounts,
      federationSpec: federation.spec, inputs: federation.inputs, links,
    };
  } finally {
    await federation.stop();
  }
}

async function submit(
  federation: Federation, clock: Clock, index: number, tenant: string, spec: JobSpec, plannedMs: number, submittedMs: number, signal?: AbortSignal,
): Promise<SubmissionRecord> {
  const base = { index, tenant, name: spec.name ?? `job-${index}`, spec, plannedMs, submittedMs, finalJob: undefined, events: [], readError: undefined };
  try {
    const { status, body } = await apiRequest(clock, 'POST', `${federation.layout.schedulerUrl}/v1/jobs`, federation.layout.apiKeys.get(tenant)!, spec, signal);
    if (status === 201) return { ...base, status, jobId: String(body.id), problem: undefined };
    return { ...base, status, jobId: undefined, problem: { code: String(body.code ?? 'unknown'), detail: String(body.detail ?? '') } };
  } catch (error) {
    return { ...base, status: 0, jobId: undefined, problem: { code: (error as OrbitfedError).code ?? 'ORBITFED_SCENARIO_REQUEST', detail: (error as Error).message } };
  }
}

async function applyFault(federation: Federation, fault: AppliedFault, signal?: AbortSignal): Promise<void> {
  switch (fault.kind) {
    case 'crash':
      await federation.kill(fault.process, 'SIGKILL');
      return;
    case 'stop':
      await federation.stopProcess(fault.process);
      return;
    case 'start':
      await federation.restart(fault.process, signal);
      return;
    case 'restart':
      await federation.restart(fault.process, signal);
      return;
    case 'partition':
      await linkControl(federation, linkPath(fault), 'cut', signal);
      return;
    case 'heal':
      await linkControl(federation, linkPath(fault), 'restore', signal);
      return;
    case 'flap':
      // An outage from now (the emulator's plan time) for downSec: the link comes back by itself.
      await linkControl(federation, linkPath(fault), 'flap', signal, { downSec: fault.downSec });
      return;
  }
}

type LinkEnds = { readonly from: number | 'all'; readonly to: number | 'all' };
const linkPath = (end: LinkEnds): string => (end.from === 'all' ? 'all' : `${end.from}/${end.to}`);
const linkName = (end: LinkEnds): string => (end.from === 'all' ? 'all' : `${end.from}→${end.to}`);

/** POST /links/{from}/{to}/{action} (or /links/all/{action}) on the link emulator's control API. */
async function linkControl(federation: Federation, link: string, action: 'cut' | 'restore' | 'flap', signal?: AbortSignal, body?: Record<string, number>): Promise<void> {
  const url = `${federation.linkControlUrl}/links/${link}/${action}`;
  const response = await fetch(url, {
    method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }), ...(signal === undefined ? {} : { signal }),
  });
  const text = await response.text();
  if (!response.ok) throw new OrbitfedError('ORBITFED_SCENARIO_LINK_CONTROL', `POST ${url}: ${response.status} ${text.slice(0, 300)}`);
}

/**
 * The run's link outages (the scheduled flaps and `flap` faults as applied; the drops recomputed
 * from the map and the plan exactly as the emulator draws them, link-schedule.ts) and the
 * emulator's own counters, which say whether an outage really hit an open contact.
 */
async function readLinks(
  federation: Federation, map: LinkMap, scenario: Scenario, runningMs: number, flaps: readonly LinkFlapRecord[], faults: readonly FaultRecord[], signal?: AbortSignal,
): Promise<LinksRecord> {
  const runEndMs = runningMs + scenario.file.durationSec * 1000;
  const outages: LinkOutageRecord[] = [];
  let outagesLeftOff = 0;
  const add = (outage: LinkOutageRecord): void => {
    if (outage.endMs <= runningMs || outage.startMs >= runEndMs) return;
    if (outages.length < LINK_OUTAGE_RECORDS_MAX) outages.push(outage);
    else outagesLeftOff += 1;
  };
  for (const f of flaps) {
    if (f.error !== undefined) continue;
    for (let k = 0; k < (f.flap.count ?? 1); k += 1) {
      const startMs = f.startMs + k * (f.flap.everySec ?? 0) * 1000;
      if (startMs >= runEndMs) break;
      add({ link: linkName(f.flap), cause: 'flap', startMs, endMs: startMs + f.flap.downSec * 1000 });
    }
  }
  for (const f of faults) {
    if (f.fault.kind === 'flap' && f.error === undefined) add({ link: linkName(f.fault), cause: 'fault', startMs: f.appliedMs, endMs: f.appliedMs + f.fault.downSec * 1000 });
  }
  if (map.drops !== undefined) {
    const epochMs = federation.inputs.plan.epochMs ?? federation.spec.planStartMs;
    // The map holds no flaps (they went through the control API), so these outages are the drops alone.
    linkTimelines(federation.inputs.plan, { ...map, flaps: [] }).forEach((timeline, i) => {
      const link = map.links[i]!;
      for (const o of timeline.outages) add({ link: `${link.from}→${link.to}`, cause: 'drop', startMs: epochMs + o.startSec * 1000, endMs: epochMs + o.endSec * 1000 });
    });
  }
  outages.sort((a, b) => a.startMs - b.startMs);
  let status: LinkEndStatus[] | undefined;
  let statusError: string | undefined;
  try {
    const response = await fetch(`${federation.linkControlUrl}/links`, signal === undefined ? {} : { signal });
    if (!response.ok) throw new Error(`GET /links: ${response.status}`);
    const links = (await response.json()) as { from: number; to: number; outagesDuringContact: number; connectionsCut: { outage: number } }[];
    status = links.map((l) => ({ from: l.from, to: l.to, outagesDuringContact: l.outagesDuringContact, connectionsCutByOutage: l.connectionsCut.outage }));
  } catch (error) {
    statusError = (error as Error).message;
  }
  return { seed: map.seed, drops: map.drops, flaps, outages, outagesLeftOff, status, statusError };
}

/** The job and its events as the API shows them at the end (a job accepted earlier must still be there). */
async function readBack(federation: Federation, clock: Clock, submission: SubmissionRecord, signal?: AbortSignal): Promise<SubmissionRecord> {
  if (submission.jobId === undefined) return submission;
  const key = federation.layout.apiKeys.get(submission.tenant)!;
  const url = `${federation.layout.schedulerUrl}/v1/jobs/${encodeURIComponent(submission.jobId)}`;
  try {
    const job = await apiRequest(clock, 'GET', url, key, undefined, signal);
    if (job.status !== 200) return { ...submission, readError: `GET ${url}: ${job.status} ${String(job.body.code ?? '')}` };
    const events: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < EVENT_PAGES_MAX; page += 1) {
      const answer = await apiRequest(clock, 'GET', `${url}/events?limit=200${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, key, undefined, signal);
      if (answer.status !== 200) break;
      events.push(...(answer.body.events as Record<string, unknown>[]));
      cursor = answer.body.nextCursor as string | undefined;
      if (cursor === undefined) break;
    }
    return { ...submission, finalJob: job.body, events };
  } catch (error) {
    return { ...submission, readError: (error as Error).message };
  }
}

/** Every escrow the jobs held: their final placements' and any named in their events (earlier attempts). */
export function escrowIdsOf(submissions: readonly SubmissionRecord[]): Set<string> {
  const escrowIds = new Set<string>();
  for (const s of submissions) {
    const placement = s.finalJob?.placement as { escrowId?: string } | undefined;
    if (placement?.escrowId !== undefined) escrowIds.add(placement.escrowId);
    for (const event of s.events) {
      const escrowId = (event.detail as { escrowId?: unknown } | undefined)?.escrowId;
      if (typeof escrowId === 'string') escrowIds.add(escrowId);
    }
  }
  return escrowIds;
}

/** Every validator's view of the money and of the jobs' escrows, and the block hash at a height they all have. */
async function readLedger(federation: Federation, submissions: readonly SubmissionRecord[]): Promise<{ records: LedgerRecord[]; commonHeight: number | undefined; accounts: string[] }> {
  const { spec, inputs } = federation;
  const accounts = [
    feeAccountId(spec.currency), escrowAccountId(spec.currency),
    ...spec.tenants.map((t) => tenantAccountId(t.id, spec.currency)),
    ...inputs.nodes.map((n) => providerAccountId(n.id, spec.currency)),
    ...Array.from({ length: spec.validators }, (_, i) => `validator-${i}-stake`),
  ];
  const escrowIds = escrowIdsOf(submissions);
  const statuses = await Promise.all(federation.layout.validatorRpcUrls.map(async (_, i) => {
    try {
      return (await federation.validatorClient(i).status()).lastCommitted?.height ?? 0;
    } catch {
      return undefined;
    }
  }));
  const reachable = statuses.filter((h): h is number => h !== undefined);
  const commonHeight = reachable.length === 0 ? undefined : Math.min(...reachable);
  const records = await Promise.all(federation.layout.validatorRpcUrls.map(async (rpcUrl, i): Promise<LedgerRecord> => {
    const client = federation.validatorClient(i);
    try {
      const status = await client.status();
      const supplyAnswer = await fetch(`${rpcUrl}/v1/supply/${spec.currency}`);
      const supplyBody = supplyAnswer.ok ? ((await supplyAnswer.json()) as Record<string, unknown>) : undefined;
      const balances: Record<string, string> = {};
      for (const id of accounts) {
        const account = await client.account(id);
        if (account !== undefined) balances[id] = String(account.balanceMinor);
      }
      const escrows: Record<string, string> = {};
      for (const id of escrowIds) {
        const escrow = await client.escrow(id);
        escrows[id] = escrow === undefined ? 'missing' : String(escrow.status);
      }
      const block = commonHeight === undefined || commonHeight === 0 ? undefined : await client.block(commonHeight);
      return {
        validator: i, rpcUrl, error: undefined, height: status.lastCommitted?.height, appHash: status.lastCommitted?.appHash,
        supplyMinor: supplyBody === undefined ? undefined : String(supplyBody.supplyMinor),
        balances, escrows, commonBlockHash: block?.appHash === undefined ? undefined : `${block.blockId}/${block.appHash}`,
      };
    } catch (error) {
      return { validator: i, rpcUrl, error: (error as Error).message, height: undefined, appHash: undefined, supplyMinor: undefined, balances: {}, escrows: {}, commonBlockHash: undefined };
    }
  }));
  return { records, commonHeight, accounts };
}

function planContacts(federation: Federation): ScenarioRecord['contacts'] {
  const { plan, nodes } = federation.inputs;
  const names = new Map<number, string>(nodes.map((n) => [n.ipn, n.id]));
  const epochMs = plan.epochMs ?? federation.spec.planStartMs;
  return plan.contacts
    .filter((c) => names.has(c.from) && names.has(c.to) && nodes.find((n) => n.ipn === c.from)?.kind === 'orbital')
    .map((c) => ({ from: names.get(c.from)!, to: names.get(c.to)!, startMs: epochMs + c.startSec * 1000, endMs: epochMs + c.endSec * 1000 }));
}
