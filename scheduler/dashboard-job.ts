// A job as the dashboard's detail view explains it: where it may go (the countries of its
// sovereignty rules, as the map's numeric country ids), why it was placed where it is (the
// placement's explanation from its newest placed / re-planned event, or why it waits), and its
// timeline uplink → execution → downlink → settlement, planned times from the placement and what
// actually happened from its events and its escrow. Pure: records in, plain data out.
import type { EscrowDetail } from './dashboard-ledger.ts';
import { expandCountries, ISO_3166_NUMERIC_BY_ALPHA2 } from './country-codes.ts';
import type { JobEvent, JobRecord } from './job-store.ts';

export type StepStatus = 'planned' | 'active' | 'done' | 'failed' | 'skipped';

export interface TimelineStep {
  readonly step: 'uplink' | 'execution' | 'downlink' | 'settlement';
  readonly status: StepStatus;
  /** What the step is, in words ("input to sat-a", "result at svalbard"). */
  readonly label: string;
  /** Planned start and end (Unix ms) where the placement says. */
  readonly plannedStartMs?: number;
  readonly plannedEndMs?: number;
  /** When it actually ended, from the job's events or the ledger. */
  readonly doneMs?: number;
  readonly note?: string;
  /** The settlement step's money, in minor units as decimal strings, for the page to write as amounts. */
  readonly money?: { readonly currency: string; readonly priceMinor: string; readonly paidMinor?: string; readonly feeMinor?: string; readonly settledBy?: string };
}

export interface RegionRule {
  readonly rule: 'atRest' | 'downlink' | 'processingFootprint';
  /** As the tenant wrote them (countries and regions such as EU). */
  readonly codes: readonly string[];
  /** ISO 3166-1 alpha-2 after expanding regions. */
  readonly countries: readonly string[];
  /** ISO 3166-1 numeric codes, three digits (world-atlas feature ids). */
  readonly numericIds: readonly string[];
  /** Stations named by id (downlink only). */
  readonly stations?: readonly string[];
}

export function regionRulesOf(job: JobRecord): RegionRule[] {
  const s = job.spec.sovereignty;
  const rule = (name: RegionRule['rule'], codes: readonly string[] | undefined, stations?: readonly string[]): RegionRule | undefined => {
    if (codes === undefined && stations === undefined) return undefined;
    const countries = [...expandCountries(codes ?? [])].sort();
    const numericIds = countries.map((c) => ISO_3166_NUMERIC_BY_ALPHA2.get(c)).filter((n) => n !== undefined).map((n) => String(n).padStart(3, '0'));
    return { rule: name, codes: codes ?? [], countries, numericIds, ...(stations === undefined ? {} : { stations }) };
  };
  return [
    rule('atRest', s?.atRest),
    rule('downlink', s?.downlink?.countries, s?.downlink?.stations),
    rule('processingFootprint', s?.processingFootprint),
  ].filter((r) => r !== undefined);
}

/** The newest placement explanation and, while the job waits, why no node took it. */
export function explanationOf(events: readonly JobEvent[]): { explanation: readonly string[]; rejected: readonly unknown[]; earliestFeasibleMs?: number } {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if ((e.type === 'placed' || e.type === 'replanned') && Array.isArray(e.detail['explanation'])) {
      return { explanation: (e.detail['explanation'] as unknown[]).map(String), rejected: [] };
    }
    if (e.type === 'unplaced') {
      const earliest = e.detail['earliestFeasibleMs'];
      return {
        explanation: [], rejected: Array.isArray(e.detail['rejected']) ? e.detail['rejected'] : [],
        ...(typeof earliest === 'number' ? { earliestFeasibleMs: earliest } : {}),
      };
    }
  }
  return { explanation: [], rejected: [] };
}

/** When the job last entered `state` (its newest event with that toState), if it did. */
function enteredMs(events: readonly JobEvent[], state: string): number | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.toState === state) return events[i]!.atMs;
  return undefined;
}

/**
 * The four steps; `escrow` is the ledger's record of the job's current escrow, if known;
 * `msOfPlanSec` converts the placement's route times (plan seconds) to Unix ms.
 */
export function timelineOf(job: JobRecord, events: readonly JobEvent[], escrow: EscrowDetail | undefined, msOfPlanSec: (planSec: number) => number): TimelineStep[] {
  const p = job.state === 'submitted' ? undefined : job.placement;
  const node = p?.nodeId ?? 'a node';
  // Only this attempt counts: events after the newest placement (a re-plan starts over).
  let first = 0;
  for (let i = events.length - 1; i >= 0; i--) {
    if (events[i]!.toState === 'placed') {
      first = i;
      break;
    }
  }
  const attempt = events.slice(first);
  const dispatchedMs = enteredMs(attempt, 'dispatched');
  const runningMs = enteredMs(attempt, 'running');
  const endedMs = enteredMs(attempt, job.state);
  const stopped = job.state === 'failed' || job.state === 'expired' || job.state === 'cancelled';
  // Steps done: 1 once the node started (the input had arrived), 3 once the result is delivered.
  const reached = job.state === 'succeeded' ? 3 : job.state === 'running' || (stopped && runningMs !== undefined) ? 1 : 0;
  const active = job.state === 'dispatched' ? 0 : job.state === 'running' ? 1 : -1;
  const statusOf = (k: number): StepStatus => {
    if (k < reached) return 'done';
    if (k === active) return 'active';
    if (stopped) return k === reached && job.state !== 'cancelled' ? 'failed' : 'skipped';
    return 'planned';
  };
  const done = (k: number, atMs: number | undefined): { doneMs?: number } => (statusOf(k) === 'done' && atMs !== undefined ? { doneMs: atMs } : {});
  const result = job.result;
  return [
    {
      step: 'uplink', status: statusOf(0), label: `input from ${job.spec.input.location} to ${node}`,
      ...(p === undefined ? {} : { plannedStartMs: p.inputRoute.hops.length > 0 ? msOfPlanSec(p.inputRoute.hops[0]!.txStartSec) : Math.round(p.inputArrivalMs), plannedEndMs: Math.round(p.inputArrivalMs) }),
      ...done(0, runningMs),
      ...(dispatchedMs !== undefined && statusOf(0) !== 'planned' ? { note: `assignment sent ${new Date(dispatchedMs).toISOString()}` } : {}),
    },
    {
      step: 'execution', status: statusOf(1), label: `run on ${node}`,
      ...(p === undefined ? {} : { plannedStartMs: Math.round(p.startMs), plannedEndMs: Math.round(p.finishMs) }),
      ...done(1, endedMs),
      ...(result?.exitCode === undefined ? {} : { note: `exit code ${result.exitCode}` }),
    },
    {
      step: 'downlink', status: statusOf(2), label: `result to ${result?.station ?? p?.resultStation ?? 'a ground station'}`,
      ...(p === undefined ? {} : { plannedEndMs: Math.round(p.resultArrivalMs) }),
      ...done(2, result?.deliveredAtMs ?? endedMs),
    },
    settlementStep(job, escrow),
  ];
}

function settlementStep(job: JobRecord, escrow: EscrowDetail | undefined): TimelineStep {
  const price = job.placement?.priceMinor;
  const label = price === undefined ? 'settlement' : `settlement of ${price.amount} ${price.currency} (minor units)`;
  if (job.placement?.escrowId === undefined) {
    return { step: 'settlement', status: job.state === 'submitted' ? 'planned' : 'skipped', label, note: job.state === 'submitted' ? 'no escrow until placed' : 'free placement: nothing held' };
  }
  if (escrow === undefined) return { step: 'settlement', status: 'planned', label, note: `escrow ${job.placement.escrowId}: the ledger did not say` };
  switch (escrow.status) {
    case 'posted':
      return {
        step: 'settlement', status: 'done', label, ...(escrow.resolvedAtMs === undefined ? {} : { doneMs: escrow.resolvedAtMs }),
        note: `paid ${escrow.postedMinor ?? escrow.amountMinor} (fee ${escrow.feeMinor ?? '0'})${escrow.settledBy === undefined ? '' : ` by receipt ${escrow.settledBy}`}`,
        money: {
          currency: escrow.currency, priceMinor: price === undefined ? escrow.amountMinor : String(price.amount), paidMinor: escrow.postedMinor ?? escrow.amountMinor,
          feeMinor: escrow.feeMinor ?? '0', ...(escrow.settledBy === undefined ? {} : { settledBy: escrow.settledBy }),
        },
      };
    case 'pending': {
      const waiting = job.state === 'succeeded' || job.state === 'failed';
      return { step: 'settlement', status: waiting ? 'active' : 'planned', label, note: `held in escrow ${escrow.escrowId} until ${new Date(escrow.deadlineMs).toISOString()}` };
    }
    default:
      return {
        step: 'settlement', status: 'skipped', label, ...(escrow.resolvedAtMs === undefined ? {} : { doneMs: escrow.resolvedAtMs }),
        note: `escrow ${escrow.status}: refunded to the tenant${escrow.slaReportId === undefined ? '' : `; SLA violation reported (${escrow.slaReportId})`}`,
      };
  }
}
