// `orbitfed passes`: every pass of every satellite over every station in a window.
import { parseArgs } from 'node:util';
import { formatLocated, type Clock } from '../common/index.ts';
import { classifyElementAge, type ElementIssue, type ElementSet, loadElementFile, loadStationsFile, PASS_THREADS_MAX, searchPasses } from '../contact-plans/index.ts';
import type { Command, CommandContext } from './command.ts';
import { parseChoice, parseInstantMs, parseNumberInRange } from './flag-values.ts';
import { formatPasses, type PassFormat } from './pass-output.ts';
import { ProgressBar } from './progress-bar.ts';
import { usageError } from './usage-error.ts';
import { writeChunksToFile, writeChunksToStream } from './write-chunks.ts';

/** SGP4 element sets are good for days to weeks; a month-long window is the useful limit. */
export const WINDOW_HOURS_MAX = 744;
const ISSUE_LINES_MAX = 50;

const HELP = `Usage: orbitfed passes --elements FILE --stations FILE [options]

Predicts every pass (AOS, TCA, LOS, maximum elevation, azimuths, minimum range and
one-way light time) of every satellite over every station in a time window.

Required:
  --elements FILE       TLE (2- or 3-line) or OMM (CelesTrak/Space-Track JSON, CSV,
                        CCSDS XML or KVN); the format is detected from the content
  --stations FILE       stations as YAML, JSON or CSV (station,lat_deg,lon_deg,alt_m
                        [,min_el_deg,country])

Options:
  --start ISO8601       window start, UTC (default: now, to the second)
  --hours H             window length in hours, up to ${WINDOW_HOURS_MAX} (default: 24)
  --min-elevation DEG   horizon for stations that set none of their own (default: 10)
  --refraction          apparent elevation with standard refraction (default: geometric)
  --format csv|json     output format (default: csv)
  --out FILE            write to FILE (atomically) instead of standard output
  --lenient             load TLEs with a bad checksum, with a warning (default: refuse them)
  --allow-stale         use element sets more than 30 days from the window (with a warning)
  --threads N           worker threads, 1..${PASS_THREADS_MAX} (default: one per core)
  -h, --help            show this help

Time is UTC with UT1 = UTC; elevations are geometric unless --refraction is given.
Bad records are reported on standard error with file, line and reason; the good ones
are still used. Exit status: 0 on success, 2 on a usage or input error.`;

interface PassesArgs {
  readonly elementsPath: string;
  readonly stationsPath: string;
  readonly startMs: number;
  readonly hours: number;
  readonly minElevationDeg: number;
  readonly refraction: boolean;
  readonly format: PassFormat;
  readonly outPath: string | undefined;
  readonly lenient: boolean;
  readonly allowStale: boolean;
  readonly threads: number | undefined;
}

function parsePassesArgs(args: readonly string[], clock: Clock): PassesArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        elements: { type: 'string' },
        stations: { type: 'string' },
        start: { type: 'string' },
        hours: { type: 'string' },
        'min-elevation': { type: 'string' },
        refraction: { type: 'boolean' },
        format: { type: 'string' },
        out: { type: 'string' },
        lenient: { type: 'boolean' },
        'allow-stale': { type: 'boolean' },
        threads: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (cause) {
    throw usageError(`${(cause as Error).message} (see orbitfed passes --help)`);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (v.elements === undefined) throw usageError('--elements FILE is required (see orbitfed passes --help)', 'elements');
  if (v.stations === undefined) throw usageError('--stations FILE is required (see orbitfed passes --help)', 'stations');
  const startMs = v.start === undefined ? Math.floor(clock.now() / 1000) * 1000 : parseInstantMs('start', v.start);
  if (!Number.isInteger(startMs)) throw usageError('--start must be a whole millisecond', 'start');
  return {
    elementsPath: v.elements,
    stationsPath: v.stations,
    startMs,
    hours: v.hours === undefined ? 24 : parseNumberInRange('hours', v.hours, 1 / 3600, WINDOW_HOURS_MAX),
    minElevationDeg: v['min-elevation'] === undefined ? 10 : parseNumberInRange('min-elevation', v['min-elevation'], -5, 90),
    refraction: v.refraction === true,
    format: v.format === undefined ? 'csv' : parseChoice('format', v.format, ['csv', 'json'] as const),
    outPath: v.out,
    lenient: v.lenient === true,
    allowStale: v['allow-stale'] === true,
    threads: v.threads === undefined ? undefined : Math.round(parseNumberInRange('threads', v.threads, 1, PASS_THREADS_MAX)),
  };
}

function reportIssues(context: CommandContext, issues: readonly ElementIssue[]): void {
  const shown = issues.slice(0, ISSUE_LINES_MAX);
  for (const issue of shown) {
    context.stderr.write(`${formatLocated(`${issue.severity} ${issue.code}: ${issue.message}`, { file: issue.file, line: issue.line })}\n`);
  }
  if (issues.length > shown.length) context.stderr.write(`… and ${issues.length - shown.length} more issues (use --format json to see all)\n`);
}

async function runPasses(context: CommandContext): Promise<number> {
  const args = parsePassesArgs(context.args, context.clock);
  if (args === 'help') {
    context.stdout.write(`${HELP}\n`);
    return 0;
  }
  const loaded = await loadElementFile(args.elementsPath, { checksum: args.lenient ? 'lenient' : 'strict', signal: context.signal });
  const stations = await loadStationsFile(args.stationsPath, { signal: context.signal });
  const ageIssues = classifyElementAge(loaded.elements, args.startMs, { allowStale: args.allowStale });
  const refused = new Set(ageIssues.filter((i) => i.severity === 'error').map((i) => `${i.file}:${i.line}`));
  const elements: ElementSet[] = loaded.elements.filter((e) => !refused.has(`${e.source.file}:${e.source.line}`));
  const issues = [...loaded.issues, ...ageIssues];
  reportIssues(context, issues);
  if (elements.length === 0) {
    context.stderr.write(`orbitfed passes: no usable element set in ${args.elementsPath}\n`);
    return 2;
  }
  const progress = new ProgressBar(context.stderr, context.clock, 'passes');
  const durationSec = args.hours * 3600;
  let result;
  try {
    result = await searchPasses(
      elements, stations,
      { window: { startMs: args.startMs, durationSec }, defaultMinElevationDeg: args.minElevationDeg, refraction: args.refraction },
      { threads: args.threads, onProgress: (done, total) => progress.update(done, total), signal: context.signal },
    );
  } finally {
    progress.finish();
  }
  reportIssues(context, result.problems.map((p) => {
    const e = elements[p.satellite]!;
    return { severity: 'warning', code: p.code, file: e.source.file, line: e.source.line, catalogNumber: e.catalogNumber, message: `${e.name} (${e.catalogNumber}): ${p.message}` };
  }));
  const chunks = formatPasses({
    startMs: args.startMs, durationSec, defaultMinElevationDeg: args.minElevationDeg, refraction: args.refraction,
    elements, stations, table: result.table, problems: result.problems, elementIssues: issues,
  }, args.format);
  if (args.outPath === undefined) await writeChunksToStream(context.stdout, chunks);
  else await writeChunksToFile(args.outPath, chunks);
  context.stderr.write(`${result.table.length} passes of ${elements.length} satellites over ${stations.length} stations\n`);
  return 0;
}

export const passesCommand: Command = {
  name: 'passes',
  summary: 'predict passes of satellites over ground stations',
  help: HELP,
  run: runPasses,
};
