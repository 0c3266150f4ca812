// The benchmark report: the results table (printed and written to BENCHMARKS.md) and the page around it.
import type { MachineDescription } from './machine.ts';

export interface BenchRow {
  readonly caseLabel: string;
  readonly implementation: string;
  readonly threads: string;
  readonly wallTime: string;
  readonly passes: string;
  readonly sgp4CallsPerSatelliteDay: string;
  readonly target: string;
  readonly result: string;
}

const COLUMNS: readonly (readonly [keyof BenchRow, string])[] = [
  ['caseLabel', 'Case'],
  ['implementation', 'Implementation'],
  ['threads', 'Threads'],
  ['wallTime', 'Wall time'],
  ['passes', 'Passes'],
  ['sgp4CallsPerSatelliteDay', 'SGP4 calls / sat-day'],
  ['target', 'Target'],
  ['result', 'Result'],
];

export interface BenchReport {
  readonly machine: MachineDescription;
  /** Load average when the last case finished. */
  readonly loadAverageAfter1Min: number;
  readonly command: string;
  readonly dateUtcIso: string;
  readonly totalSec: number;
  readonly rows: readonly BenchRow[];
  /** One markdown bullet each: how each row was measured, interpreters used, anything skipped. */
  readonly notes: readonly string[];
}

export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `18.4 ms`, `757.9 ms`, `11.05 s`, `232 s`: three significant figures or so. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  const sec = ms / 1000;
  return sec < 100 ? `${sec.toFixed(2)} s` : `${formatCount(sec)} s`;
}

/** A markdown table whose columns are padded, so it also reads well on a terminal. */
export function renderTable(rows: readonly BenchRow[]): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...rows.map((r) => escape(r[key]).length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(COLUMNS.map(([, title]) => title)),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map((row) => line(COLUMNS.map(([key]) => escape(row[key])))),
  ].join('\n');
}

const INTRO = `\
orbitfed's pass finder (\`searchPasses\`, contact-plans/pass-search.ts) measured beside two anchors
in one run of \`npm run bench\`, which regenerates this file. Every case searches the window
2026-06-14T00:00:00Z + 24 h with a 10° elevation mask. Each row is one implementation on one case.
**Wall time** is a wall-clock median over the runs listed under "How each row was measured", timed
around the search alone (files are parsed before the clock starts; SGP4 initialisation is inside
it). **Passes** counts intervals above the mask (a pass cut by the window start or end counts
once); for an anchor it is shown beside ours on the same satellites. **SGP4 calls / sat-day** is
ours only. **Target** is the issue's target for the case and **Result** says whether this run met
it; anchors have no target. The anchors are a *10 s step + bisection with satellite.js*
(bench/anchors/step-bisect-satjs.ts: propagate every 10 s, take look angles from every station,
bisect each mask crossing to 1 ms; it can miss a pass that rises and sets between two steps) and
Skyfield's *find_events* (bench/anchors/skyfield_find_events.py). Rows marked **extrapolated** were
measured on the stated subset and scaled linearly by the number of satellites: they are estimates,
not measurements.`;

export function renderReport(report: BenchReport): string {
  const m = report.machine;
  return [
    '# Benchmarks',
    '',
    INTRO,
    '',
    '## Results',
    '',
    renderTable(report.rows),
    '',
    '## How each row was measured',
    '',
    ...report.notes.map((n) => `- ${n}`),
    '',
    '## Machine and run',
    '',
    `- CPU: ${m.cpuModel}, ${m.logicalCores} logical cores`,
    `- Memory: ${m.memoryGiB.toFixed(1)} GiB`,
    `- Node: ${m.nodeVersion}`,
    `- OS: ${m.os}`,
    `- Load average (1 min) before / after: ${m.loadAverage1Min.toFixed(2)} / ${report.loadAverageAfter1Min.toFixed(2)}` +
      ' (other processes on the machine slow the wall times down)',
    `- Command: \`${report.command}\``,
    `- Date (UTC): ${report.dateUtcIso}`,
    `- Whole benchmark: ${formatDuration(report.totalSec * 1000)}`,
    '',
  ].join('\n');
}
