// `orbitfed plan`: a contact plan from orbits and stations, in ION, HDTN or orbitfed JSON form.
import type { Clock } from '../common/index.ts';
import { buildContactPlan, formatContactPlanChunks, groundMesh, IslTable, searchIslWindows, type PlanFormat, type SatelliteWindowColumns } from '../contact-plans/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { ProgressBar } from './progress-bar.ts';
import { parseChoice, parseNumberInRange } from './flag-values.ts';
import { loadOrbitInputs, ORBIT_INPUT_HELP, ORBIT_INPUT_OPTIONS, orbitInputArgs, searchPassesWithProgress, type OrbitInputArgs } from './orbit-inputs.ts';
import { writeChunksToFile, writeChunksToStream } from './write-chunks.ts';

const HELP = `Usage: orbitfed plan --elements FILE --stations FILE [options]

Computes a contact plan: an uplink and a downlink contact for every pass (rates from the
station file, light time from the largest range), optionally inter-satellite contacts and
terrestrial links between the ground stations, and writes it for ION, HDTN or orbitfed.

Options:
${ORBIT_INPUT_HELP}
  --isl                 add satellite-to-satellite contacts (line of sight clearing the
                        Earth plus --isl-grazing, within --isl-max-range)
  --isl-max-range KM    longest inter-satellite link (default: 5000)
  --isl-grazing KM      height above the Earth a link's ray must clear (default: 100)
  --isl-rate B/S        inter-satellite rate, bytes/s (default: 12500000)
  --uplink-rate B/S     uplink rate for stations that give none (default: 8000)
  --downlink-rate B/S   downlink rate for stations that give none (default: 1250000)
  --ground-mesh B/S     connect every pair of stations, always on, at this rate
  --format ion|hdtn|json  output format (default: json, orbitfed's own; see
                        contact-plans/PLAN-FORMAT.md)
  --out FILE            write to FILE (atomically) instead of standard output
  -h, --help            show this help

Node numbers: stations are ipn 1, 2, … in file order; satellites are 1000000000 + their
NORAD catalog number. Times in ION and HDTN output are seconds from the window start
(ION output also carries the window start as its @ reference time).`;

interface PlanArgs extends OrbitInputArgs {
  readonly isl: boolean;
  readonly islMaxRangeKm: number;
  readonly islGrazingKm: number;
  readonly islRateBytesPerSec: number;
  readonly uplinkRateBytesPerSec: number;
  readonly downlinkRateBytesPerSec: number;
  readonly groundMeshBytesPerSec: number | undefined;
  readonly format: PlanFormat;
  readonly outPath: string | undefined;
}

const RATE_MAX = 1e12;
/**
 * Contacts one `orbitfed plan` run builds at most. The plan is held in memory whole (~300 bytes a
 * contact; the output is streamed): measured, 10.4 M contacts (1,000 LEO satellites × 50 stations
 * × 24 h with 5,000 km links) peak at 3.3 GB, under Node's default 4.5 GB heap here. Past this
 * bound the run stops with a clear message instead of running out of memory.
 */
export const PLAN_COMMAND_CONTACTS_MAX = 12_000_000;

function parsePlanArgs(args: readonly string[], clock: Clock): PlanArgs | 'help' {
  const v = parseCommandArgs('plan', args, {
        ...ORBIT_INPUT_OPTIONS,
        isl: { type: 'boolean' },
        'isl-max-range': { type: 'string' },
        'isl-grazing': { type: 'string' },
        'isl-rate': { type: 'string' },
        'uplink-rate': { type: 'string' },
        'downlink-rate': { type: 'string' },
        'ground-mesh': { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      });
  if (v.help === true) return 'help';
  const rate = (flag: string, value: string | undefined, fallback: number): number =>
    value === undefined ? fallback : parseNumberInRange(flag, value, Number.MIN_VALUE, RATE_MAX);
  return {
    ...orbitInputArgs('plan', v, clock),
    isl: v.isl === true,
    islMaxRangeKm: v['isl-max-range'] === undefined ? 5000 : parseNumberInRange('isl-max-range', v['isl-max-range'], 1, 100_000),
    islGrazingKm: v['isl-grazing'] === undefined ? 100 : parseNumberInRange('isl-grazing', v['isl-grazing'], 0, 2000),
    islRateBytesPerSec: rate('isl-rate', v['isl-rate'], 12_500_000),
    uplinkRateBytesPerSec: rate('uplink-rate', v['uplink-rate'], 8_000),
    downlinkRateBytesPerSec: rate('downlink-rate', v['downlink-rate'], 1_250_000),
    groundMeshBytesPerSec: v['ground-mesh'] === undefined ? undefined : rate('ground-mesh', v['ground-mesh'], 0),
    format: v.format === undefined ? 'json' : parseChoice('format', v.format, ['ion', 'hdtn', 'json'] as const),
    outPath: v.out,
  };
}

async function runPlan(context: CommandContext): Promise<number> {
  const args = parsePlanArgs(context.args, context.clock);
  if (args === 'help') {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  const inputs = await loadOrbitInputs('plan', context, args);
  if (inputs === undefined) return 2;
  const window = { startMs: args.startMs, durationSec: args.hours * 3600 };
  const passes = await searchPassesWithProgress(context, args, inputs);
  let satelliteWindows: SatelliteWindowColumns = new IslTable();
  if (args.isl) {
    const progress = new ProgressBar(context.stderr, context.clock, 'inter-satellite windows');
    try {
      const isl = await searchIslWindows(
        inputs.elements, { window, maxRangeKm: args.islMaxRangeKm, grazingAltitudeKm: args.islGrazingKm },
        { threads: args.threads, signal: context.signal, onProgress: (done, total) => progress.update(done, total) },
      );
      satelliteWindows = isl.table;
    } finally {
      progress.finish();
    }
  }
  const contactCount = 2 * passes.table.length + 2 * satelliteWindows.length
    + (args.groundMeshBytesPerSec === undefined ? 0 : inputs.stations.length * (inputs.stations.length - 1));
  if (contactCount > PLAN_COMMAND_CONTACTS_MAX) {
    context.stderr.write(`orbitfed plan: the plan would have ${contactCount} contacts (${passes.table.length} passes, `
      + `${satelliteWindows.length} inter-satellite windows), more than the ${PLAN_COMMAND_CONTACTS_MAX} this command builds in memory; `
      + 'use fewer satellites, a shorter window or a shorter --isl-max-range [ORBITFED_PLAN_TOO_LARGE]\n');
    return 2;
  }
  const plan = buildContactPlan({
    window, elements: inputs.elements, stations: inputs.stations, passes: passes.table, satelliteWindows,
    terrestrialLinks: args.groundMeshBytesPerSec === undefined ? [] : groundMesh(inputs.stations, args.groundMeshBytesPerSec),
    rates: { uplinkBytesPerSec: args.uplinkRateBytesPerSec, downlinkBytesPerSec: args.downlinkRateBytesPerSec, islBytesPerSec: args.islRateBytesPerSec },
  });
  const chunks = formatContactPlanChunks(plan, args.format);
  if (args.outPath === undefined) await writeChunksToStream(context.stdout, chunks);
  else await writeChunksToFile(args.outPath, chunks);
  context.stderr.write(`plan ${plan.hash.slice(0, 12)}: ${plan.contacts.length} contacts between ${plan.nodes.length} nodes `
    + `(${passes.table.length} passes, ${satelliteWindows.length} inter-satellite windows)\n`);
  return 0;
}

export const planCommand: Command = { name: 'plan', summary: 'compute a contact plan (ION, HDTN or JSON)', help: HELP, run: runPlan };
