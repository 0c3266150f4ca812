// The invariants a scenario run must keep, checked on its record (scenario-runner.ts) alone: pure,
// so a record saved as JSON can be checked again. Each check lists every violation it finds.
//
//   jobs-explicit    every submission was refused with a problem code, or its job ended
//                    (succeeded, or failed / expired / cancelled with a reason)
//   sovereignty      placements and routes keep each job's rules: the node it runs on, every node
//                    its data rests at, every station it comes down at (atRest, downlink, orbital)
//   escrows          every accepted job's escrow is on the chain, in the same state on every
//                    validator; a settled one is posted exactly once (an escrow leaves pending once)
//   money            on every validator the currency's supply equals the sum of all balances, and
//                    the validators agree on every balance
//   validators-agree the validators have the same block and app hash at a height they all reached
//   nothing-lost     every job the API accepted (201) is still there at the end, with its escrow
//   processes        no process died unasked, and every fault was applied
//   expectations     the scenario's own `expect` (jobs accepted, succeeded)
import { FINISHED_STATES, mayReceiveDownlink, mayRestAt, sovereigntyRulesOf, type JobState, type NodeSpec } from '../scheduler/index.ts';
import type { ScenarioRecord, SubmissionRecord } from './scenario-runner.ts';

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  /** Violations when not ok; what was checked when ok. */
  readonly details: readonly string[];
}

/** Details kept per check (the count of the rest is given). */
const DETAILS_MAX = 50;

function result(id: string, title: string, violations: string[], summary: string): CheckResult {
  const details = violations.length > DETAILS_MAX ? [...violations.slice(0, DETAILS_MAX), `… and ${violations.length - DETAILS_MAX} more`] : violations;
  return { id, title, ok: violations.length === 0, details: violations.length === 0 ? [summary] : details };
}

const accepted = (s: SubmissionRecord): boolean => s.status === 201 && s.jobId !== undefined;
const label = (s: SubmissionRecord): string => `${s.name} (${s.jobId ?? `submission ${s.index}`})`;

interface RouteHop { readonly from: string; readonly to: string }
interface PlacementView {
  readonly nodeId?: string;
  readonly resultStation?: string;
  readonly escrowId?: string;
  readonly inputRoute?: { readonly hops?: readonly RouteHop[] };
  readonly resultRoute?: { readonly hops?: readonly RouteHop[] };
}

function checkJobsExplicit(record: ScenarioRecord): CheckResult {
  const violations: string[] = [];
  for (const s of record.submissions) {
    if (!accepted(s)) {
      if (s.status === 0 || s.problem === undefined || s.problem.code === '') violations.push(`${label(s)}: the submission got no answer: ${s.problem?.detail ?? 'nothing'}`);
      continue;
    }
    const job = s.finalJob;
    if (job === undefined) continue;
    const state = job.state as JobState;
    if (!FINISHED_STATES.includes(state)) violations.push(`${label(s)}: still ${state} at the end of the run (deadline ${new Date(Number(job.deadlineMs)).toISOString()})`);
    else if (state !== 'succeeded' && (typeof job.reason !== 'string' || job.reason === '')) violations.push(`${label(s)}: ${state} without a reason`);
  }
  const refused = record.submissions.filter((s) => !accepted(s)).length;
  const finished = record.submissions.filter((s) => s.finalJob !== undefined).map((s) => String(s.finalJob!.state));
  const counts = [...new Set(finished)].map((state) => `${finished.filter((f) => f === state).length} ${state}`).join(', ');
  return result('jobs-explicit', 'Every job succeeded or failed explicitly, with a reason', violations, `${record.submissions.length} submissions: ${refused} refused with a code; ${counts || 'none accepted'}`);
}

function checkSovereignty(record: ScenarioRecord): CheckResult {
  const nodes = new Map<string, NodeSpec>(record.inputs.nodes.map((n) => [n.id, n]));
  const violations: string[] = [];
  let placements = 0;
  for (const s of record.submissions) {
    const placement = s.finalJob?.placement as PlacementView | undefined;
    if (placement?.nodeId === undefined) continue;
    placements += 1;
    const rules = sovereigntyRulesOf(s.spec);
    const node = nodes.get(placement.nodeId);
    if (s.spec.orbital === 'required' && node?.kind !== 'orbital') violations.push(`${label(s)}: must run in orbit, placed on ${placement.nodeId}`);
    if (s.spec.orbital === 'forbidden' && node?.kind !== 'ground') violations.push(`${label(s)}: must not run in orbit, placed on ${placement.nodeId}`);
    if (!mayRestAt(rules, node)) violations.push(`${label(s)}: runs on ${placement.nodeId}, outside its atRest countries`);
    if (placement.resultStation !== undefined && !mayReceiveDownlink(rules, nodes.get(placement.resultStation))) {
      violations.push(`${label(s)}: its result comes down at ${placement.resultStation}, not an allowed downlink`);
    }
    for (const [which, route] of [['input', placement.inputRoute], ['result', placement.resultRoute]] as const) {
      for (const hop of route?.hops ?? []) {
        const from = nodes.get(hop.from);
        const to = nodes.get(hop.to);
        if (from?.kind === 'orbital' && to?.kind !== 'orbital' && which === 'result' && !mayReceiveDownlink(rules, to)) {
          violations.push(`${label(s)}: its result route comes down at ${hop.to}, not an allowed downlink`);
        }
        if (hop.to !== s.spec.input.location && !mayRestAt(rules, to)) violations.push(`${label(s)}: its ${which} route stores data at ${hop.to}, outside its atRest countries`);
      }
    }
    for (const event of s.events) {
      const station = (event.detail as { station?: unknown } | undefined)?.station;
      if (typeof station === 'string' && nodes.has(station) && !mayReceiveDownlink(rules, nodes.get(station))) {
        violations.push(`${label(s)}: its result was delivered at ${station}, not an allowed downlink`);
      }
    }
  }
  return result('sovereignty', 'No sovereignty rule broken (placements, routes, deliveries)', violations, `${placements} placements and their routes keep their rules`);
}

function checkEscrows(record: ScenarioRecord): CheckResult {
  const violations: string[] = [];
  const reachable = record.ledger.filter((l) => l.error === undefined);
  let posted = 0;
  let checked = 0;
  for (const s of record.submissions) {
    const placement = s.finalJob?.placement as PlacementView | undefined;
    if (placement?.escrowId === undefined) continue;
    checked += 1;
    const statuses = reachable.map((l) => l.escrows[placement.escrowId!] ?? 'missing');
    if (new Set(statuses).size > 1) violations.push(`${label(s)}: escrow ${placement.escrowId} differs between validators: ${statuses.join(', ')}`);
    if (statuses.includes('missing')) violations.push(`${label(s)}: escrow ${placement.escrowId} is not on the chain`);
    if (statuses[0] === 'posted') posted += 1;
    if (statuses[0] === 'posted' && s.finalJob?.state !== 'succeeded' && s.finalJob?.state !== 'failed' && !slashedForLateResult(s)) {
      violations.push(`${label(s)}: escrow ${placement.escrowId} was paid out but the job ${String(s.finalJob?.state)}`);
    }
  }
  if (reachable.length === 0) violations.push('no validator answered at the end');
  return result('escrows', 'Every escrow on the chain, the same everywhere; each receipt settled at most once', violations, `${checked} escrows agree on ${reachable.length} validators; ${posted} settled by receipts`);
}

/**
 * A receipt pays for the run, so a job whose node ran it (and was paid) but whose result came too
 * late expires with its escrow posted; the scheduler must then have reported the missed deadline and
 * the ledger applied it (the node's stake slashed, consensus/README.md). That is the only way paid
 * and expired may go together.
 */
function slashedForLateResult(s: ScenarioRecord['submissions'][number]): boolean {
  if (s.finalJob?.state !== 'expired') return false;
  const expired = s.events.find((e) => e.type === 'expired')?.detail as { escrow?: unknown; ledger?: unknown } | undefined;
  return expired?.escrow === 'sla-reported' && expired.ledger === 'applied';
}

function checkMoney(record: ScenarioRecord): CheckResult {
  const violations: string[] = [];
  const reachable = record.ledger.filter((l) => l.error === undefined);
  for (const l of reachable) {
    if (l.supplyMinor === undefined) {
      violations.push(`validator ${l.validator}: no supply of ${record.federationSpec.currency}`);
      continue;
    }
    const sum = Object.values(l.balances).reduce((acc, b) => acc + BigInt(b), 0n);
    if (sum !== BigInt(l.supplyMinor)) violations.push(`validator ${l.validator}: the balances add up to ${sum}, the supply is ${l.supplyMinor}`);
  }
  const first = reachable[0];
  for (const l of reachable.slice(1)) {
    for (const account of record.accounts) {
      if (l.balances[account] !== first!.balances[account]) violations.push(`account ${account}: validator ${first!.validator} has ${first!.balances[account]}, validator ${l.validator} has ${l.balances[account]}`);
    }
  }
  return result('money', 'Money conserved: supply = Σ balances, on every validator', violations, `supply ${first?.supplyMinor ?? '?'} ${record.federationSpec.currency} = Σ of ${Object.keys(first?.balances ?? {}).length} balances on ${reachable.length} validators`);
}

function checkValidatorsAgree(record: ScenarioRecord): CheckResult {
  const hashes = record.ledger.filter((l) => l.commonBlockHash !== undefined).map((l) => `${l.validator}: ${l.commonBlockHash}`);
  const distinct = new Set(record.ledger.filter((l) => l.commonBlockHash !== undefined).map((l) => l.commonBlockHash));
  const violations = distinct.size > 1 ? [`different blocks at height ${record.commonHeight}: ${hashes.join('; ')}`] : [];
  if (hashes.length === 0) violations.push('no validator had a block to compare');
  return result('validators-agree', 'Validators agree (same block and app hash)', violations, `${hashes.length} validators have the same block at height ${record.commonHeight}`);
}

function checkNothingLost(record: ScenarioRecord): CheckResult {
  const violations: string[] = [];
  const acceptedJobs = record.submissions.filter(accepted);
  for (const s of acceptedJobs) {
    if (s.finalJob === undefined) violations.push(`${label(s)}: accepted, then not found: ${s.readError ?? 'no answer'}`);
    else if (s.finalJob.id !== s.jobId) violations.push(`${label(s)}: the API answers with another job (${String(s.finalJob.id)})`);
  }
  return result('nothing-lost', 'Nothing acknowledged was lost', violations, `${acceptedJobs.length} accepted jobs are all still known at the end`);
}

function checkProcesses(record: ScenarioRecord): CheckResult {
  const violations = [
    ...record.exits.filter((e) => !e.expected).map((e) => `${e.name} died unasked at ${new Date(e.atMs).toISOString()} (${e.signal ?? `exit ${e.code}`}): ${e.logTail.split('\n').slice(-3).join(' | ')}`),
    ...record.faults.filter((f) => f.error !== undefined).map((f) => `fault ${f.index} (${f.fault.kind}) was not applied: ${f.error}`),
    ...(record.links?.flaps ?? []).filter((f) => f.error !== undefined).map((f) => `links.flaps[${f.index}] was not applied: ${f.error}`),
  ];
  return result('processes', 'No process died unasked; every fault applied', violations, `${record.faults.length} faults applied; ${record.exits.length} exits, all asked for`);
}

function checkExpectations(record: ScenarioRecord): CheckResult {
  const expect = record.scenario.file.expect ?? {};
  const violations: string[] = [];
  const acceptedCount = record.submissions.filter(accepted).length;
  const succeeded = record.submissions.filter((s) => s.finalJob?.state === 'succeeded').length;
  if (expect.acceptedMin !== undefined && acceptedCount < expect.acceptedMin) violations.push(`${acceptedCount} jobs accepted, expected at least ${expect.acceptedMin}`);
  if (expect.succeededMin !== undefined && succeeded < expect.succeededMin) violations.push(`${succeeded} jobs succeeded, expected at least ${expect.succeededMin}`);
  return result('expectations', "The scenario's expectations", violations, `${acceptedCount} accepted, ${succeeded} succeeded`);
}

export function checkScenario(record: ScenarioRecord): CheckResult[] {
  return [
    checkJobsExplicit(record), checkSovereignty(record), checkEscrows(record), checkMoney(record), checkValidatorsAgree(record),
    checkNothingLost(record), checkProcesses(record), checkExpectations(record),
  ];
}
