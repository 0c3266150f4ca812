// `orbitfed route`: the best routes through a contact plan (Contact Graph Routing), as JSON.
import { findRoutes, loadContactPlanFile, type ContactPlan } from '../contact-plans/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { parseInstantMs, parseNumberInRange } from './flag-values.ts';
import { usageError } from './usage-error.ts';

const K_MAX = 64;
const HELP = `Usage: orbitfed route --plan FILE --from NODE --to NODE --at T [options]

Finds the earliest-arrival routes through a contact plan (Contact Graph Routing): arrival
accounts for each contact's start, its light time, the transmission time at its rate and
its capacity. Prints {"routes":[{"arrival":T,"hops":[{"from":N,"to":N,"start":T,"end":T}]}]}
best first, with times in the plan's own time base (seconds).

Options:
  --plan FILE       contact plan: ION ionrc, HDTN JSON or orbitfed JSON (detected)
  --from NODE       source: an ipn node number, or a node id of the plan (station id,
                    catalog number)
  --to NODE         destination, likewise
  --at T            when the bundle is ready: seconds in the plan's time base, or an
                    ISO 8601 UTC instant for plans with an absolute time base
  --size BYTES      bundle size (default: 0, the first byte's arrival)
  --deadline T      latest useful arrival, like --at (default: none)
  --k K             how many alternative routes, 1..${K_MAX} (default: 1)
  -h, --help        show this help`;

function nodeOf(plan: ContactPlan, flag: string, value: string): number {
  const byId = plan.nodes.find((n) => n.id === value);
  if (byId !== undefined) return byId.ipn;
  const ipn = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isSafeInteger(ipn) && plan.node(ipn) !== undefined) return ipn;
  throw usageError(`--${flag} '${value}' is not a node of the plan (give an ipn number or a node id)`, flag);
}

function timeOf(plan: ContactPlan, flag: string, value: string): number {
  if (/^[+-]?\d/.test(value) && !/^\d{4}-\d{2}-\d{2}/.test(value)) return parseNumberInRange(flag, value, -1e12, 1e12);
  if (plan.epochMs === undefined) throw usageError(`--${flag}: this plan has no absolute time base; give seconds (got '${value}')`, flag);
  return (parseInstantMs(flag, value) - plan.epochMs) / 1000;
}

async function runRoute(context: CommandContext): Promise<number> {
  const v = parseCommandArgs('route', context.args, {
        plan: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, at: { type: 'string' },
        size: { type: 'string' }, deadline: { type: 'string' }, k: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      });
  if (v.help === true) {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  for (const flag of ['plan', 'from', 'to', 'at'] as const) {
    if (v[flag] === undefined) throw usageError(`--${flag} is required (see orbitfed route --help)`, flag);
  }
  const plan = await loadContactPlanFile(v.plan!);
  const from = nodeOf(plan, 'from', v.from!);
  const to = nodeOf(plan, 'to', v.to!);
  const routes = findRoutes(plan, {
    from,
    to,
    atSec: timeOf(plan, 'at', v.at!),
    sizeBytes: v.size === undefined ? 0 : parseNumberInRange('size', v.size, 0, 1e15),
    deadlineSec: v.deadline === undefined ? undefined : timeOf(plan, 'deadline', v.deadline),
    k: v.k === undefined ? 1 : Math.round(parseNumberInRange('k', v.k, 1, K_MAX)),
  });
  const output = {
    routes: routes.map((r) => ({
      arrival: r.arrivalSec,
      hops: r.hops.map((h) => ({ from: h.from, to: h.to, start: h.startSec, end: h.endSec })),
    })),
  };
  context.stdout.write(`${JSON.stringify(output)}\n`);
  if (routes.length === 0) context.stderr.write(`no route from ${v.from} to ${v.to} after ${v.at}\n`);
  return 0;
}

export const routeCommand: Command = { name: 'route', summary: 'earliest-arrival routes through a contact plan', help: HELP, run: runRoute };
