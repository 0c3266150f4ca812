// What `passes` and `plan` share: the flags that name element sets, stations and a window, and
// loading them with every bad record reported by file and line.
import { formatLocated, type Clock } from '../common/index.ts';
import {
  classifyElementAge, loadElementFile, loadStationsFile, PASS_THREADS_MAX, searchPasses,
  type ElementIssue, type ElementSet, type PassSearchSummary, type Station,
} from '../contact-plans/index.ts';
import type { CommandContext } from './command.ts';
import { parseInstantMs, parseNumberInRange } from './flag-values.ts';
import { ProgressBar } from './progress-bar.ts';
import { usageError } from './usage-error.ts';

/** SGP4 element sets are good for days to weeks; a month-long window is the useful limit. */
export const WINDOW_HOURS_MAX = 744;
const ISSUE_LINES_MAX = 50;

/** `node:util` parseArgs declarations of the shared flags. */
export const ORBIT_INPUT_OPTIONS = {
  elements: { type: 'string' },
  stations: { type: 'string' },
  start: { type: 'string' },
  hours: { type: 'string' },
  'min-elevation': { type: 'string' },
  refraction: { type: 'boolean' },
  lenient: { type: 'boolean' },
  'allow-stale': { type: 'boolean' },
  threads: { type: 'string' },
} as const;

export const ORBIT_INPUT_HELP = `  --elements FILE       TLE (2- or 3-line) or OMM (CelesTrak/Space-Track JSON, CSV,
                        CCSDS XML or KVN); the format is detected from the content
  --stations FILE       stations as YAML, JSON or CSV (station,lat_deg,lon_deg,alt_m
                        [,min_el_deg,country])
  --start ISO8601       window start, UTC (default: now, to the second)
  --hours H             window length in hours, up to ${WINDOW_HOURS_MAX} (default: 24)
  --min-elevation DEG   horizon for stations that set none of their own (default: 10)
  --refraction          apparent elevation with standard refraction (default: geometric)
  --lenient             load TLEs with a bad checksum, with a warning (default: refuse them)
  --allow-stale         use element sets more than 30 days from the window (with a warning)
  --threads N           worker threads, 1..${PASS_THREADS_MAX} (default: one per core)`;

export interface OrbitInputArgs {
  readonly elementsPath: string;
  readonly stationsPath: string;
  readonly startMs: number;
  readonly hours: number;
  readonly minElevationDeg: number;
  readonly refraction: boolean;
  readonly lenient: boolean;
  readonly allowStale: boolean;
  readonly threads: number | undefined;
}

type OrbitInputValues = { [K in keyof typeof ORBIT_INPUT_OPTIONS]?: (typeof ORBIT_INPUT_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

export function orbitInputArgs(command: string, v: OrbitInputValues, clock: Clock): OrbitInputArgs {
  if (v.elements === undefined) throw usageError(`--elements FILE is required (see orbitfed ${command} --help)`, 'elements');
  if (v.stations === undefined) throw usageError(`--stations FILE is required (see orbitfed ${command} --help)`, 'stations');
  const startMs = v.start === undefined ? Math.floor(clock.now() / 1000) * 1000 : parseInstantMs('start', v.start);
  if (!Number.isInteger(startMs)) throw usageError('--start must be a whole millisecond', 'start');
  return {
    elementsPath: v.elements,
    stationsPath: v.stations,
    startMs,
    hours: v.hours === undefined ? 24 : parseNumberInRange('hours', v.hours, 1 / 3600, WINDOW_HOURS_MAX),
    minElevationDeg: v['min-elevation'] === undefined ? 10 : parseNumberInRange('min-elevation', v['min-elevation'], -5, 90),
    refraction: v.refraction === true,
    lenient: v.lenient === true,
    allowStale: v['allow-stale'] === true,
    threads: v.threads === undefined ? undefined : Math.round(parseNumberInRange('threads', v.threads, 1, PASS_THREADS_MAX)),
  };
}

/** Prints issues as `file:line: severity CODE: message`, at most 50 lines. */
export function reportIssues(context: CommandContext, issues: readonly ElementIssue[]): void {
  const shown = issues.slice(0, ISSUE_LINES_MAX);
  for (const issue of shown) {
    context.stderr.write(`${formatLocated(`${issue.severity} ${issue.code}: ${issue.message}`, { file: issue.file, line: issue.line })}\n`);
  }
  if (issues.length > shown.length) context.stderr.write(`… and ${issues.length - shown.length} more issues (use --format json to see all)\n`);
}

export interface OrbitInputs {
  readonly elements: readonly ElementSet[];
  readonly stations: readonly Station[];
  readonly issues: readonly ElementIssue[];
}

/** Loads element sets and stations, refusing element sets too far from the window; undefined when none is usable. */
export async function loadOrbitInputs(command: string, context: CommandContext, args: OrbitInputArgs): Promise<OrbitInputs | undefined> {
  const loaded = await loadElementFile(args.elementsPath, { checksum: args.lenient ? 'lenient' : 'strict', signal: context.signal });
  const stations = await loadStationsFile(args.stationsPath, { signal: context.signal });
  const ageIssues = classifyElementAge(loaded.elements, args.startMs, { allowStale: args.allowStale });
  const refused = new Set(ageIssues.filter((i) => i.severity === 'error').map((i) => `${i.file}:${i.line}`));
  const elements = loaded.elements.filter((e) => !refused.has(`${e.source.file}:${e.source.line}`));
  const issues = [...loaded.issues, ...ageIssues];
  reportIssues(context, issues);
  if (elements.length === 0) {
    context.stderr.write(`orbitfed ${command}: no usable element set in ${args.elementsPath}\n`);
    return undefined;
  }
  return { elements, stations, issues };
}

/** The pass search with a progress bar; SGP4 problems reported like element issues. */
export async function searchPassesWithProgress(context: CommandContext, args: OrbitInputArgs, inputs: OrbitInputs): Promise<PassSearchSummary> {
  const progress = new ProgressBar(context.stderr, context.clock, 'passes');
  let result: PassSearchSummary;
  try {
    result = await searchPasses(
      inputs.elements, inputs.stations,
      { window: { startMs: args.startMs, durationSec: args.hours * 3600 }, defaultMinElevationDeg: args.minElevationDeg, refraction: args.refraction },
      { threads: args.threads, onProgress: (done, total) => progress.update(done, total), signal: context.signal },
    );
  } finally {
    progress.finish();
  }
  reportIssues(context, result.problems.map((p) => {
    const e = inputs.elements[p.satellite]!;
    return { severity: 'warning', code: p.code, file: e.source.file, line: e.source.line, catalogNumber: e.catalogNumber, message: `${e.name} (${e.catalogNumber}): ${p.message}` };
  }));
  return result;
}
