// The benchmark report: the results tables (printed and written to BENCHMARKS.md) and the page around them.
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

/** One row of the "Contact plans and routing" table: one measurement of one case. */
export interface ContactPlanRow {
  readonly caseLabel: string;
  readonly measurement: string;
  /** The number the target applies to. */
  readonly value: string;
  /** The counts behind it. */
  readonly details: string;
  readonly target: string;
  readonly result: string;
}

/** One row of the DTN throughput table: one pipeline on one payload size. */
export interface DtnRow {
  readonly caseLabel: string;
  readonly pipeline: string;
  readonly bundlesPerSec: string;
  readonly megabytesPerSec: string;
  /** Counts, latencies, CPU and where the receiver spent its time. */
  readonly details: string;
}

/** One row of the DTN memory table: a process holding an open store after putting this many bundles. */
export interface DtnMemoryRow {
  readonly storedBundles: string;
  readonly rssGrowth: string;
  readonly heapGrowth: string;
  readonly externalGrowth: string;
  readonly disk: string;
}

type Columns<Row> = readonly (readonly [keyof Row, string])[];

const COLUMNS: Columns<BenchRow> = [
  ['caseLabel', 'Case'],
  ['implementation', 'Implementation'],
  ['threads', 'Threads'],
  ['wallTime', 'Wall time'],
  ['passes', 'Passes'],
  ['sgp4CallsPerSatelliteDay', 'SGP4 calls / sat-day'],
  ['target', 'Target'],
  ['result', 'Result'],
];

const CONTACT_PLAN_COLUMNS: Columns<ContactPlanRow> = [
  ['caseLabel', 'Case'],
  ['measurement', 'Measurement'],
  ['value', 'Value'],
  ['details', 'Details'],
  ['target', 'Target'],
  ['result', 'Result'],
];

const DTN_COLUMNS: Columns<DtnRow> = [
  ['caseLabel', 'Case'],
  ['pipeline', 'Pipeline'],
  ['bundlesPerSec', 'Bundles/s'],
  ['megabytesPerSec', 'MB/s'],
  ['details', 'Details'],
];

const DTN_MEMORY_COLUMNS: Columns<DtnMemoryRow> = [
  ['storedBundles', 'Stored bundles (1 KB payloads)'],
  ['rssGrowth', 'RSS growth'],
  ['heapGrowth', 'JS heap growth'],
  ['externalGrowth', 'External growth'],
  ['disk', 'Disk (file + WAL)'],
];

/** One row of a later part's table (settlement, placement, link emulation…): one measurement beside its anchor and target. */
export interface SectionRow {
  readonly caseLabel: string;
  /** What was measured, and with which implementation (ours or the anchor). */
  readonly measure: string;
  readonly result: string;
  readonly detail: string;
  readonly target: string;
  readonly verdict: string;
}

const SECTION_COLUMNS: Columns<SectionRow> = [
  ['caseLabel', 'case'], ['measure', 'measure'], ['result', 'result'], ['detail', 'detail'], ['target', 'target'], ['verdict', 'result vs target'],
];

/** A section of BENCHMARKS.md for one part of orbitfed: its table and how each row was measured. */
export interface BenchSection {
  /** The `--only` name that runs it alone. */
  readonly name: string;
  readonly heading: string;
  readonly intro: string;
  readonly rows: readonly SectionRow[];
  readonly notes: readonly string[];
}

export const renderSectionTable = (rows: readonly SectionRow[]): string => renderColumns(SECTION_COLUMNS, rows);

export function renderSection(section: BenchSection): string[] {
  return [`## ${section.heading}`, '', section.intro, '', renderSectionTable(section.rows), '', '### How these rows were measured', '', ...section.notes.map((n) => `- ${n}`)];
}

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
  readonly contactPlanRows: readonly ContactPlanRow[];
  /** As `notes`, for the contact plan rows. */
  readonly contactPlanNotes: readonly string[];
  readonly dtn: DtnReport;
  /** The later parts' sections, in order. */
  readonly sections: readonly BenchSection[];
}

/** The DTN section: throughput rows, memory rows and how they were measured. */
export interface DtnReport {
  readonly rows: readonly DtnRow[];
  readonly memoryRows: readonly DtnMemoryRow[];
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
function renderColumns<Row extends { readonly [K in keyof Row]: string }>(columns: Columns<Row>, rows: readonly Row[]): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  const widths = columns.map(([key, title]) => Math.max(title.length, ...rows.map((r) => escape(r[key]).length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(columns.map(([, title]) => title)),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map((row) => line(columns.map(([key]) => escape(row[key])))),
  ].join('\n');
}

/** The pass finder's table. */
export const renderTable = (rows: readonly BenchRow[]): string => renderColumns(COLUMNS, rows);

/** The "Contact plans and routing" table. */
export const renderContactPlanTable = (rows: readonly ContactPlanRow[]): string => renderColumns(CONTACT_PLAN_COLUMNS, rows);

/** The DTN throughput table. */
export const renderDtnTable = (rows: readonly DtnRow[]): string => renderColumns(DTN_COLUMNS, rows);

/** The DTN memory table. */
export const renderDtnMemoryTable = (rows: readonly DtnMemoryRow[]): string => renderColumns(DTN_MEMORY_COLUMNS, rows);

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
not measurements. The section *Contact plans and routing* below, measured in the same run, covers
inter-satellite windows, contact plans and route queries; the section *DTN* covers bundles through
the bundle store and the libp2p convergence layer.`;

const CONTACT_PLAN_INTRO = `\
orbitfed's inter-satellite window search (\`searchIslWindows\`, contact-plans/isl.ts), contact plan
builder (\`buildContactPlan\`, contact-plans/plan-builder.ts) and Contact Graph Routing
(\`findRoutes\`, contact-plans/cgr.ts), measured in the same run as the pass finder. Each row is one
measurement of one case: **Value** is the number the **Target** applies to, **Details** the counts
behind it. Times are wall clock; files are parsed before the clock starts. A query's time is the
\`findRoutes\` call alone. The first query on a plan also builds the plan's routing index (its
contacts in typed arrays, per node and ordered by end, kept for later queries), so it is shown
apart. No anchor is named for these cases; for HDTN's reference query HDTN's answer is shown beside
ours. The issue's query-rate target is for a 24 h plan of 1,000 satellites and 50 stations with
inter-satellite links (ISLs); that plan is not built here (see its row), so the rate is measured on
plans of the first 100 and 300 of those satellites with ISLs and on all 1,000 without ISLs, each
against the same target.`;

const DTN_INTRO = `\
Bundles through orbitfed's bundle store (\`BundleStore\`, dtn/bundle-store.ts) and libp2p convergence
layer (\`Libp2pConvergenceLayer\`, dtn/libp2p-cl.ts) on loopback, as issue 4 asks: bundles/s and
MB/s for 1 KB, 100 KB and 10 MB payloads with fsync on, and memory per 10,000 stored bundles,
measured in the same run. The first row of each size is the agent's path: the sender encodes each
bundle and sends it through the CL; the receiver decodes it, stores it durably and only then
acknowledges it. No anchor is named for these cases, so the rows after it take that path apart:
the same path with group commit (bundles that arrive together share one commit), the CL alone, the
store alone (one commit per bundle, and batches) and the codec alone. The issue names no target.`;

/** The DTN section of the page: intro, both tables and the notes, as markdown lines. */
export function renderDtnSection(dtn: DtnReport): string[] {
  return [
    '## DTN: bundles through the store and the libp2p CL',
    '',
    DTN_INTRO,
    '',
    renderDtnTable(dtn.rows),
    '',
    'Memory of a process holding an open store, after putting bundles of 1 KB payloads into it:',
    '',
    renderDtnMemoryTable(dtn.memoryRows),
    '',
    '### How these rows were measured',
    '',
    ...dtn.notes.map((n) => `- ${n}`),
  ];
}

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
    '## Contact plans and routing',
    '',
    CONTACT_PLAN_INTRO,
    '',
    renderContactPlanTable(report.contactPlanRows),
    '',
    '### How these rows were measured',
    '',
    ...report.contactPlanNotes.map((n) => `- ${n}`),
    '',
    ...renderDtnSection(report.dtn),
    '',
    ...report.sections.flatMap((section) => [...renderSection(section), '']),
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
