// `orbitfed hil run SCENARIO.yaml --virtual [--seed N]`: the scenario in one process, in virtual
// time, seeded and deterministic (hil/README.md, "Virtual-time swarm mode"). The federation is
// built from the scenario's elements, stations and nodes exactly as the real run builds it
// (federationSpecOf, loadFederationInputs: the same plan and the same hash), its parts wired in
// virtual-federation.ts; the scenario's jobs and faults happen at their plan seconds, plus, with
// `randomFaults`, the faults drawn from the seed (swarm-faults.ts); after `durationSec` every job,
// its events and every validator's ledger are read back into the same ScenarioRecord the real run
// makes, so scenario-checks.ts judges both alike and scenario-report.ts draws both alike.
//
// Nothing here reads the wall clock: the plan starts at the scenario's planStart or, without one,
// at 00:00 UTC of the day after the newest element epoch (the real run takes the wall clock's time
// of day instead). The same scenario and seed give the same trace hash (swarm-trace.ts).
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OrbitfedError, seededRng, type Logger } from '../common/index.ts';
import { loadElementFile } from '../contact-plans/index.ts';
import { eventView, jobSpecRuleProblems, jobView, NodeNames, type JobSpec } from '../scheduler/index.ts';
import { demoPlanStartMs } from './demo-federation.ts';
import { loadFederationInputs, type FederationInputs } from './federation-spec.ts';
import type { Scenario, ScenarioFault } from './scenario-file.ts';
import {
  escrowIdsOf, federationSpecOf, LINK_OUTAGE_RECORDS_MAX, scenarioActions, type AppliedFault, type ExitRecord, type FaultRecord, type LedgerRecord, type LinkOutageRecord, type ScenarioRecord,
  type SubmissionRecord,
} from './scenario-runner.ts';
import { drawSwarmFaults, type SwarmFaultKind } from './swarm-faults.ts';
import { SwarmTrace } from './swarm-trace.ts';
import { settleProcess, SimulationClock } from './virtual-clock.ts';
import { VirtualFederation } from './virtual-federation.ts';
import { VALIDATOR_NETWORK_QUIET, type ValidatorNetworkFaults } from './virtual-validators.ts';

/** Virtual time a client waits for the scheduler's answer (escrow committed) before giving up. */
const SUBMIT_WAIT_MS_MAX = 120_000;
/** Virtual time a fault action (a start: recovery, replay) may take at most. */
const FAULT_WAIT_MS_MAX = 120_000;
/** Event pages read per job, 200 events each (as the real run reads the API). */
const EVENT_PAGES_MAX = 20;
/** Seeds are 32-bit (Mulberry32's state). */
export const SWARM_SEED_MAX = 2 ** 32 - 1;

export interface VirtualRunOptions {
  readonly scenario: Scenario;
  readonly seed: number;
  /** Working directory (new or empty); default a fresh temporary one. */
  readonly dir?: string | undefined;
  /** Draw random faults from the seed (swarm testing) in addition to the scenario's own. */
  readonly randomFaults?: boolean | undefined;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((line: string) => void) | undefined;
  /**
   * Called once the run is over, before anything is read back: how the tests break an invariant
   * behind the federation's back (a second payout on one validator) to show that the checks see it.
   */
  readonly beforeReadBack?: ((federation: VirtualFederation) => void) | undefined;
  /** The federation's inputs when already loaded for this scenario (a swarm loads them once). */
  readonly inputs?: VirtualInputs | undefined;
}

/** What a virtual run derives from the scenario before it starts: the same for every seed. */
export interface VirtualInputs {
  readonly planStartMs: number;
  readonly inputs: FederationInputs;
}

/** Loads the element sets, stations and nodes and computes the plan, as the real run does. */
export async function loadVirtualInputs(scenario: Scenario): Promise<VirtualInputs> {
  const planStartMs = scenario.planStartMs ?? demoPlanStartMs((await loadElementFile(scenario.elementsPath, { checksum: 'strict' })).elements, 0);
  return { planStartMs, inputs: await loadFederationInputs(federationSpecOf(scenario, planStartMs)) };
}

export interface VirtualRunResult {
  readonly record: ScenarioRecord;
  readonly seed: number;
  /** SHA-256 of the ordered event trace. */
  readonly traceHash: string;
  readonly traceEvents: number;
  readonly tracePath: string;
  /** The fault kinds the seed enabled, and the faults drawn (empty without randomFaults). */
  readonly swarmKinds: readonly SwarmFaultKind[];
  readonly swarmFaults: readonly ScenarioFault[];
  readonly validatorNetwork: ValidatorNetworkFaults;
  /** Due instants the simulation ran through. */
  readonly instants: number;
}

/** Runs `promise` to its end while the clock drives the simulation; fails if time runs out first. */
async function drive<T>(clock: SimulationClock, promise: Promise<T>, waitMsMax: number, what: string, signal?: AbortSignal): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  watched.catch(() => {});
  const endMs = clock.now() + waitMsMax;
  await settleProcess();
  while (!settled) {
    const next = clock.nextDueMs();
    if (next === undefined || next > endMs) {
      if (!settled) throw new OrbitfedError('ORBITFED_SWARM_STALLED', `${what} did not finish within ${waitMsMax} ms of virtual time (nothing left to run)`);
      break;
    }
    await clock.runUntil(next, signal);
  }
  return watched;
}

function assertEmptyDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const entries = readdirSync(dir);
  if (entries.length > 0) throw new OrbitfedError('ORBITFED_FEDERATION_DIR_NOT_EMPTY', `${dir} is not empty (${entries.slice(0, 3).join(', ')}); a virtual run starts in a new or empty directory`, { file: dir });
}

export async function runVirtualScenario(options: VirtualRunOptions): Promise<VirtualRunResult> {
  const { scenario, seed, logger } = options;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > SWARM_SEED_MAX) throw new OrbitfedError('ORBITFED_SWARM_SEED', `a seed is an integer from 0 to ${SWARM_SEED_MAX}, got ${seed}`, { field: 'seed' });
  const progress = options.onProgress ?? (() => {});
  // tmpfs when the machine has one: the stores fsync every commit (as they must), which costs
  // nothing there, and a run's durability is what it replays, not what survives a power cut.
  const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = options.dir === undefined ? mkdtempSync(join(scratch, `orbitfed-virtual-${scenario.file.name}-`)) : resolve(options.dir);
  assertEmptyDir(dir);
  const { planStartMs, inputs } = options.inputs ?? await loadVirtualInputs(scenario);
  const spec = { ...federationSpecOf(scenario, planStartMs), logLevel: 'silent' as const };
  const rng = seededRng(seed);
  const clock = new SimulationClock(planStartMs);
  const trace = new SwarmTrace();
  trace.record(clock.now(), 'run.start', { scenario: scenario.file.name, seed, planHash: inputs.plan.hash, randomFaults: options.randomFaults === true });

  // The random faults first, from their own stream of the seed, so that adding a scenario fault
  // does not move them; then the federation (keys, job ids, message faults) from the run's.
  const grounds = scenario.agents ? inputs.nodes.filter((n) => n.kind === 'ground') : [];
  const orbitals = scenario.agents ? inputs.nodes.filter((n) => n.kind === 'orbital') : [];
  const jobActions = scenarioActions(scenario).filter((a) => a.kind === 'job');
  const swarm = options.randomFaults === true
    ? drawSwarmFaults(seededRng(seed ^ 0x5bd1e995), {
      validators: scenario.validators, grounds, orbitals, durationSec: scenario.file.durationSec, submissionsSec: jobActions.map((a) => a.atSec),
    })
    : { kinds: [], faults: [], validatorNetwork: VALIDATOR_NETWORK_QUIET };
  const federation = new VirtualFederation({
    spec, inputs, agents: scenario.agents, dir, clock, rng,
    validatorFaults: swarm.validatorNetwork, trace, logger,
  });
  const processNames = new Set(federation.processNames);
  const allFaults = [...scenario.faults, ...swarm.faults];
  allFaults.forEach((fault, i) => {
    const where = { file: scenario.path, field: i < scenario.faults.length ? `/faults/${i}` : `(random fault ${i - scenario.faults.length} of seed ${seed})` };
    if (fault.kind === 'partition' || fault.kind === 'flap') {
      if (!scenario.agents) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'a partition or flap cuts a space link, which exists only with agents (agents: true)', where);
      if ((fault.from === 'all') !== (fault.to === 'all')) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'a partition cuts one directed link (from and to are nodes) or all of them (both all)', where);
      return;
    }
    if (fault.process === 'link-emulator') return;
    if (!processNames.has(fault.process)) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `no process ${fault.process}; this federation has ${[...processNames].join(', ')}`, where);
  });
  progress(`virtual federation in ${dir}: ${processNames.size} processes, plan ${inputs.plan.hash.slice(0, 12)} (${inputs.plan.contacts.length} contacts), seed ${seed}`
    + (options.randomFaults === true ? `; random faults: ${swarm.faults.length} (${swarm.kinds.join(', ') || 'none'})` : ''));

  const submissions: SubmissionRecord[] = [];
  const faults: FaultRecord[] = [];
  const exits: ExitRecord[] = [];
  try {
    await drive(clock, federation.startAll(), FAULT_WAIT_MS_MAX, 'starting the federation', options.signal);
    // Let the chain make its first blocks before the scenario's second 0, as the real run waits for every process to serve.
    await clock.runUntil(clock.now() + 10_000, options.signal);
    const runningMs = clock.now();
    trace.record(runningMs, 'run.running');
    // The scenario's link faults (`links`): each scheduled outage a `flap` fault, each seeded drop too.
    const linkFaults = linkFaultsOf(scenario, inputs, runningMs);
    const outages: LinkOutageRecord[] = linkFaults.map((f) => ({ link: f.fault.from === 'all' ? 'all' : `${f.fault.from}→${f.fault.to}`, cause: f.cause, startMs: runningMs + f.fault.atSec * 1000, endMs: runningMs + (f.fault.atSec + f.fault.downSec) * 1000 }));
    const scenarioFaultActions = scenarioActions({ ...scenario, jobs: [], faults: [...allFaults, ...linkFaults.map((f) => f.fault)] }).filter((a) => a.kind === 'fault');
    const actions = [...jobActions, ...scenarioFaultActions].sort((a, b) => a.atSec - b.atSec || (a.kind === b.kind ? a.order - b.order : a.kind === 'job' ? -1 : 1));
    const endMs = runningMs + scenario.file.durationSec * 1000;
    const linkEmulatorBackAtMs = (afterMs: number): number => {
      const back = actions.find((a) => a.kind === 'fault' && 'process' in a.fault && a.fault.process === 'link-emulator' && (a.fault.kind === 'start' || a.fault.kind === 'restart') && runningMs + a.atSec * 1000 > afterMs);
      return back === undefined ? endMs : runningMs + back.atSec * 1000;
    };
    for (const action of actions) {
      const plannedMs = runningMs + action.atSec * 1000;
      if (plannedMs > endMs) continue;
      if (plannedMs > clock.now()) await clock.runUntil(plannedMs, options.signal);
      if (action.kind === 'job') {
        const submittedMs = clock.now();
        const jobSpec = { ...action.spec, deadlineMs: submittedMs + Math.round(action.deadlineAfterSec * 1000) } as JobSpec;
        const record = await drive(clock, submit(federation, action.index, action.tenant, jobSpec, plannedMs, submittedMs), SUBMIT_WAIT_MS_MAX, `submission ${action.index}`, options.signal)
          .catch((error: unknown): SubmissionRecord => ({ ...submissionBase(action.index, action.tenant, jobSpec, plannedMs, submittedMs), status: 0, jobId: undefined, problem: { code: (error as OrbitfedError).code ?? 'ORBITFED_SCENARIO_REQUEST', detail: (error as Error).message } }));
        submissions.push(record);
        trace.record(clock.now(), 'job.submitted', { index: action.index, status: record.status, jobId: record.jobId ?? null, code: record.problem?.code ?? null });
        progress(`t+${action.atSec}s job ${record.name}: ${record.status} ${record.jobId ?? record.problem?.code ?? ''}`);
      } else {
        const appliedMs = clock.now();
        let error: string | undefined;
        try {
          await drive(clock, applyFault(federation, action.fault, endMs, linkEmulatorBackAtMs), FAULT_WAIT_MS_MAX, `fault ${action.fault.kind}`, options.signal);
        } catch (cause) {
          error = (cause as Error).message;
        }
        if (action.fault.kind === 'crash' || action.fault.kind === 'stop') {
          exits.push({ atMs: appliedMs, name: action.fault.process, code: null, signal: action.fault.kind === 'crash' ? 'SIGKILL' : 'SIGTERM', expected: true, logTail: '' });
        }
        // The scenario's `links` outages are recorded as outages (links.outages), not as faults.
        if (action.index < allFaults.length) faults.push({ index: action.index, fault: action.fault, plannedMs, appliedMs, doneMs: clock.now(), error });
        const target = 'process' in action.fault ? action.fault.process : `${action.fault.from} → ${action.fault.to}`;
        trace.record(clock.now(), 'fault.applied', { kind: action.fault.kind, target: String(target), error: error ?? null });
        progress(`t+${action.atSec}s ${action.fault.kind} ${target}${error === undefined ? '' : `: ${error}`}`);
      }
    }
    if (endMs > clock.now()) await clock.runUntil(endMs, options.signal);
    progress('run over; reading back jobs and the ledger');
    options.beforeReadBack?.(federation);
    const collected = readBack(federation, submissions);
    const ledger = readLedger(federation, collected, spec.currency);
    for (const s of collected) trace.record(clock.now(), 'job.final', { index: s.index, jobId: s.jobId ?? null, state: String(s.finalJob?.state ?? 'none'), events: s.events.length });
    for (const l of ledger.records) trace.record(clock.now(), 'ledger.final', { validator: l.validator, height: l.height ?? null, appHash: l.appHash ?? null, supplyMinor: l.supplyMinor ?? null });
    const stats = federation.network.stats();
    trace.record(clock.now(), 'network.final', { ...stats, validatorMessages: federation.validators.stats().messages, validatorDropped: federation.validators.stats().dropped });
    const record: ScenarioRecord = {
      scenario, dir, timeBase: { wallOriginMs: 0, originMs: planStartMs, timeScale: scenario.timeScale }, planStartMs, runningMs, endMs: clock.now(),
      planHash: inputs.plan.hash, contacts: planContacts(inputs, planStartMs),
      nodes: inputs.nodes.map((n) => ({ id: n.id, kind: n.kind, ipn: n.ipn })),
      submissions: collected, faults, exits, ledger: ledger.records, commonHeight: ledger.commonHeight, accounts: ledger.accounts,
      federationSpec: spec, inputs,
      ...(outages.length === 0 && scenario.links.flaps.length === 0 ? {} : {
        links: {
          seed: scenario.links.seed, drops: scenario.links.drops,
          flaps: scenario.links.flaps.map((flap, index) => ({ index, flap, startMs: runningMs + flap.atSec * 1000, error: undefined })),
          outages: [...outages, ...faults.filter((f) => f.fault.kind === 'flap').map((f): LinkOutageRecord => {
            const flap = f.fault as Extract<ScenarioFault, { kind: 'flap' }>;
            return { link: flap.from === 'all' ? 'all' : `${flap.from}→${flap.to}`, cause: 'fault', startMs: f.appliedMs, endMs: f.appliedMs + flap.downSec * 1000 };
          })].sort((a, b) => a.startMs - b.startMs).slice(0, LINK_OUTAGE_RECORDS_MAX),
          outagesLeftOff: Math.max(0, outages.length - LINK_OUTAGE_RECORDS_MAX), status: undefined,
          statusError: "a virtual run has no link emulator: its links are dtn's SimulatedNetwork",
        },
      }),
    };
    const instants = clock.instants;
    await federation.stopAll();
    const tracePath = join(dir, 'trace.jsonl');
    const traceHash = trace.digest();
    trace.writeTo(tracePath);
    return {
      record, seed, traceHash, traceEvents: trace.events, tracePath, swarmKinds: swarm.kinds, swarmFaults: swarm.faults, validatorNetwork: swarm.validatorNetwork, instants,
    };
  } finally {
    await federation.stopAll();
  }
}

function submissionBase(index: number, tenant: string, spec: JobSpec, plannedMs: number, submittedMs: number): Omit<SubmissionRecord, 'status' | 'jobId' | 'problem'> {
  return { index, tenant, name: spec.name ?? `job-${index}`, spec, plannedMs, submittedMs, finalJob: undefined, events: [], readError: undefined };
}

/** What POST /v1/jobs answers (scheduler/routes-jobs.ts), from the lifecycle of the running scheduler. */
async function submit(federation: VirtualFederation, index: number, tenant: string, spec: JobSpec, plannedMs: number, submittedMs: number): Promise<SubmissionRecord> {
  const base = submissionBase(index, tenant, spec, plannedMs, submittedMs);
  const scheduler = federation.scheduler;
  if (scheduler === undefined) return { ...base, status: 0, jobId: undefined, problem: { code: 'ORBITFED_SCENARIO_REQUEST', detail: 'connection refused: the scheduler is down' } };
  const problems = jobSpecRuleProblems(spec, submittedMs);
  if (problems.length > 0) return { ...base, status: 400, jobId: undefined, problem: { code: 'ORBITFED_JOB_SPEC_INVALID', detail: problems.map((p) => `${p.field}: ${p.message}`).join('; ') } };
  try {
    const outcome = await scheduler.lifecycle.submit(tenant, spec);
    if (outcome.kind === 'placed') return { ...base, status: 201, jobId: outcome.job.id, problem: undefined };
    if (outcome.kind === 'escrow-refused') return { ...base, status: 402, jobId: undefined, problem: { code: 'ORBITFED_ESCROW_REFUSED', detail: `${outcome.code}: ${outcome.detail}` } };
    const code = outcome.decision.earliestFeasibleMs === undefined ? 'ORBITFED_JOB_UNPLACEABLE' : 'ORBITFED_JOB_DEADLINE_INFEASIBLE';
    return { ...base, status: 422, jobId: undefined, problem: { code, detail: outcome.decision.rejected.map((r) => `${r.nodes} node(s): ${r.reason}`).join('; ') || 'no node can take this job' } };
  } catch (error) {
    return { ...base, status: 503, jobId: undefined, problem: { code: (error as OrbitfedError).code ?? 'ORBITFED_SCHEDULER_ERROR', detail: (error as Error).message } };
  }
}

/**
 * The link emulator's faults act on the simulated network: while it is down every space link is
 * (until the scenario's next `start` or `restart` of it, else the end of the run); a restart
 * drops what was in flight. SimulatedNetwork.interrupt takes its end up front, hence `backAtMs`.
 */
async function applyFault(federation: VirtualFederation, fault: AppliedFault, endMs: number, linkEmulatorBackAtMs: (afterMs: number) => number): Promise<void> {
  const nowMs = (): number => federation.options.clock.now();
  const linkEmulator = 'process' in fault && fault.process === 'link-emulator';
  switch (fault.kind) {
    case 'crash':
    case 'stop':
      if (linkEmulator) return federation.partition('all', 'all', Math.min(endMs, linkEmulatorBackAtMs(nowMs())));
      return fault.kind === 'crash' ? federation.crash(fault.process) : federation.stop(fault.process);
    case 'start':
      // Its outage was given its end when it went down.
      if (linkEmulator) return;
      return federation.start(fault.process);
    case 'restart':
      if (linkEmulator) return federation.partition('all', 'all', nowMs());
      return federation.restart(fault.process);
    case 'partition':
      federation.partition(fault.from, fault.to, fault.durationSec === undefined ? Infinity : nowMs() + fault.durationSec * 1000);
      return;
    case 'flap':
      // An outage of downSec that ends by itself. SimulatedNetwork takes a station–satellite pair
      // down both ways (a pass is one radio link), where the emulator cuts one direction.
      federation.partition(fault.from, fault.to, nowMs() + fault.downSec * 1000);
      return;
    case 'heal':
      // The partition was given its end when it began (SimulatedNetwork.interrupt takes an until).
      return;
  }
}

/** Every job and its events as the API shows them (scheduler/api-views.ts), from the scheduler's store. */
function readBack(federation: VirtualFederation, submissions: readonly SubmissionRecord[]): SubmissionRecord[] {
  const store = federation.jobStore;
  const plan = federation.options.inputs.plan;
  if (store === undefined) return submissions.map((s) => (s.jobId === undefined ? s : { ...s, readError: 'the scheduler never started' }));
  const names = new NodeNames(plan, store.nodes());
  return submissions.map((s) => {
    if (s.jobId === undefined) return s;
    const job = store.job(s.jobId);
    if (job === undefined) return { ...s, readError: `GET /v1/jobs/${s.jobId}: 404 ORBITFED_JOB_NOT_FOUND` };
    const events: Record<string, unknown>[] = [];
    let after: number | undefined;
    for (let page = 0; page < EVENT_PAGES_MAX; page++) {
      const answer = store.events(s.jobId, 200, after);
      events.push(...answer.items.map(eventView));
      if (answer.nextCursor === undefined) break;
      after = answer.nextCursor;
    }
    return { ...s, finalJob: jobView(job, names, plan.hash), events };
  });
}

/** Every validator's view of the money and of the jobs' escrows, as the real run reads them over RPC. */
function readLedger(federation: VirtualFederation, submissions: readonly SubmissionRecord[], currency: string): { records: LedgerRecord[]; commonHeight: number | undefined; accounts: string[] } {
  const validators = federation.validators;
  const escrowIds = escrowIdsOf(submissions);
  const heights = Array.from({ length: validators.count }, (_, i) => validators.node(i)?.lastCommitted?.height);
  const reachable = heights.filter((h): h is number => h !== undefined);
  const commonHeight = reachable.length === 0 ? undefined : Math.min(...reachable);
  const accountIds = new Set<string>();
  for (let i = 0; i < validators.count; i++) for (const account of validators.node(i)?.ledger.accounts() ?? []) if (account.currency === currency) accountIds.add(account.id);
  const accounts = [...accountIds].sort();
  const records = Array.from({ length: validators.count }, (_, i): LedgerRecord => {
    const node = validators.node(i);
    const rpcUrl = `in-process:validator-${i}`;
    if (node === undefined) return { validator: i, rpcUrl, error: `validator-${i} is down at the end`, height: undefined, appHash: undefined, supplyMinor: undefined, balances: {}, escrows: {}, commonBlockHash: undefined };
    const ledger = node.ledger;
    const balances: Record<string, string> = {};
    for (const id of accounts) {
      const account = ledger.account(id);
      if (account !== undefined) balances[id] = String(account.balanceMinor);
    }
    const escrows: Record<string, string> = {};
    for (const id of escrowIds) escrows[id] = ledger.escrow(id)?.status ?? 'missing';
    const block = commonHeight === undefined || commonHeight === 0 ? undefined : node.blockSummary(commonHeight);
    const supply = ledger.supply(currency);
    return {
      validator: i, rpcUrl, error: undefined, height: node.lastCommitted?.height, appHash: node.lastCommitted?.appHash,
      supplyMinor: supply === undefined ? undefined : String(supply.supplyMinor), balances, escrows,
      commonBlockHash: block === undefined ? undefined : `${block.blockId}/${block.appHash}`,
    };
  });
  return { records, commonHeight, accounts };
}

function planContacts(inputs: FederationInputs, planStartMs: number): ScenarioRecord['contacts'] {
  const { plan, nodes } = inputs;
  const byIpn = new Map(nodes.map((n) => [n.ipn, n]));
  const epochMs = plan.epochMs ?? planStartMs;
  return plan.contacts
    .filter((c) => byIpn.has(c.from) && byIpn.has(c.to) && byIpn.get(c.from)!.kind === 'orbital')
    .map((c) => ({ from: byIpn.get(c.from)!.id, to: byIpn.get(c.to)!.id, startMs: epochMs + c.startSec * 1000, endMs: epochMs + c.endSec * 1000 }));
}

type FlapFault = Extract<ScenarioFault, { kind: 'flap' }>;

/** Scheduled outages of `links.flaps`, and seeded drops of `links.drops` inside station–satellite contacts, as flap faults (plan seconds after `runningMs`). */
function linkFaultsOf(scenario: Scenario, inputs: FederationInputs, runningMs: number): { readonly fault: FlapFault; readonly cause: 'flap' | 'drop' }[] {
  const out: { fault: FlapFault; cause: 'flap' | 'drop' }[] = [];
  const endSec = scenario.file.durationSec;
  for (const flap of scenario.links.flaps) {
    for (let n = 0; n < (flap.count ?? 1) && out.length < LINK_OUTAGE_RECORDS_MAX; n++) {
      const atSec = flap.atSec + n * (flap.everySec ?? 0);
      if (atSec > endSec) break;
      out.push({ fault: { atSec, kind: 'flap', from: flap.from, to: flap.to, downSec: flap.downSec }, cause: 'flap' });
    }
  }
  const drops = scenario.links.drops;
  if (drops !== undefined && drops.probabilityPerContact > 0) {
    const rng = seededRng(scenario.links.seed);
    const kinds = new Map(inputs.nodes.map((n) => [n.ipn, n.kind]));
    const epochMs = inputs.plan.epochMs ?? runningMs;
    for (const c of inputs.plan.contacts) {
      if (kinds.get(c.from) === undefined || kinds.get(c.to) === undefined || kinds.get(c.from) === kinds.get(c.to)) continue;
      if (rng() >= drops.probabilityPerContact) continue;
      const atMs = epochMs + (c.startSec + rng() * (c.endSec - c.startSec)) * 1000;
      const atSec = Math.round(atMs - runningMs) / 1000;
      if (atSec < 0 || atSec > endSec || out.length >= LINK_OUTAGE_RECORDS_MAX) continue;
      out.push({ fault: { atSec, kind: 'flap', from: c.from, to: c.to, downSec: drops.downSec }, cause: 'drop' });
    }
  }
  return out;
}
