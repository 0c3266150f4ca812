// `orbitfed passes`: every pass of every satellite over every station in a window.
import type { Clock } from '../common/index.ts';
import { parseCommandArgs } from './command-args.ts';
import type { Command, CommandContext } from './command.ts';
import { parseChoice } from './flag-values.ts';
import { loadOrbitInputs, ORBIT_INPUT_HELP, ORBIT_INPUT_OPTIONS, orbitInputArgs, searchPassesWithProgress, type OrbitInputArgs } from './orbit-inputs.ts';
import { formatPasses, type PassFormat } from './pass-output.ts';
import { writeChunksToFile, writeChunksToStream } from './write-chunks.ts';

const HELP = `Usage: orbitfed passes --elements FILE --stations FILE [options]

Predicts every pass (AOS, TCA, LOS, maximum elevation, azimuths, minimum range and
one-way light time) of every satellite over every station in a time window.

Options:
${ORBIT_INPUT_HELP}
  --format csv|json     output format (default: csv)
  --out FILE            write to FILE (atomically) instead of standard output
  -h, --help            show this help

Time is UTC with UT1 = UTC; elevations are geometric unless --refraction is given.
Bad records are reported on standard error with file, line and reason; the good ones
are still used. Exit status: 0 on success, 2 on a usage or input error.`;

interface PassesArgs extends OrbitInputArgs {
  readonly format: PassFormat;
  readonly outPath: string | undefined;
}

function parsePassesArgs(args: readonly string[], clock: Clock): PassesArgs | 'help' {
  const v = parseCommandArgs('passes', args, { ...ORBIT_INPUT_OPTIONS, format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (v.help === true) return 'help';
  return {
    ...orbitInputArgs('passes', v, clock),
    format: v.format === undefined ? 'csv' : parseChoice('format', v.format, ['csv', 'json'] as const),
    outPath: v.out,
  };
}

async function runPasses(context: CommandContext): Promise<number> {
  const args = parsePassesArgs(context.args, context.clock);
  if (args === 'help') {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  const inputs = await loadOrbitInputs('passes', context, args);
  if (inputs === undefined) return 2;
  const result = await searchPassesWithProgress(context, args, inputs);
  const chunks = formatPasses({
    startMs: args.startMs, durationSec: args.hours * 3600, defaultMinElevationDeg: args.minElevationDeg, refraction: args.refraction,
    elements: inputs.elements, stations: inputs.stations, table: result.table, problems: result.problems, elementIssues: inputs.issues,
  }, args.format);
  if (args.outPath === undefined) await writeChunksToStream(context.stdout, chunks);
  else await writeChunksToFile(args.outPath, chunks);
  context.stderr.write(`${result.table.length} passes of ${inputs.elements.length} satellites over ${inputs.stations.length} stations\n`);
  return 0;
}

export const passesCommand: Command = {
  name: 'passes',
  summary: 'predict passes of satellites over ground stations',
  help: HELP,
  run: runPasses,
};
