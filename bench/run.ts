// `npm run bench`: the pass finder on the issue's three cases beside its anchors, then the contact
// plan and routing cases (contact-plan-cases.ts), the DTN cases (dtn-cases.ts), then the later
// parts (placement, the scheduler API, settlement, link emulation), in one run; prints the tables
// and regenerates BENCHMARKS.md. Takes about fifteen minutes on a 2-core machine.
// `npm run bench -- --only NAME` (or BENCH_ONLY=NAME; dtn, placement, scheduler-api, consensus, agents,
// link-emulator) runs one section alone and prints it without touching BENCHMARKS.md, whose
// sections all come from one full run.
import assert from 'node:assert/strict';
import os from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ElementSet, loadElementFile, loadStationsFile, type PassSearchOptions, type PassSearchSummary, type PassTable, searchPasses, type Station } from '../contact-plans/index.ts';
import { runAgentCases } from './agent-cases.ts';
import { stepBisectPasses } from './anchors/step-bisect-satjs.ts';
import { runConsensusCases } from './consensus-cases.ts';
import { runContactPlanCases } from './contact-plan-cases.ts';
import { runLinkEmulatorCasesAlone } from './link-emulator-cases.ts';
import { placementBenchCases } from './placement-cases.ts';
import { runSchedulerApiCases } from './scheduler-api-cases.ts';
import { runDtnCases } from './dtn-cases.ts';
import { describeMachine, type MachineDescription } from './machine.ts';
import {
  formatCount, formatDuration, renderContactPlanTable, renderDtnMemoryTable, renderDtnSection, renderDtnTable, renderReport, renderSection, renderTable,
  type BenchRow, type BenchSection,
} from './report.ts';
import { findSkyfieldPython, runSkyfield, SKYFIELD_INSTALL_HINT, type SkyfieldRun } from './skyfield.ts';
import { startStopwatch, timeMedian } from './timing.ts';

const repoPath = (relative: string): string => fileURLToPath(new URL(`../${relative}`, import.meta.url));
const LEO1000_TLE = repoPath('test/fixtures/passes/leo1000.tle');
const STARLINK_TLE = repoPath('test/fixtures/elements/starlink_20260613.tle');
const STATIONS10_CSV = repoPath('test/fixtures/passes/stations.csv');
const STATIONS100_CSV = repoPath('test/fixtures/passes/stations100_random.csv');
const ORACLE_LEO1000_CSV = repoPath('test/fixtures/passes/dense_passes_leo1000_10st_24h_ut1utc.csv');
const BENCHMARKS_MD = repoPath('BENCHMARKS.md');

const WINDOW_START_ISO = '2026-06-14T00:00:00Z';
const WINDOW_HOURS = 24;
const MASK_DEG = 10;
const SEARCH: PassSearchOptions = {
  window: { startMs: Date.parse(WINDOW_START_ISO), durationSec: WINDOW_HOURS * 3600 },
  defaultMinElevationDeg: MASK_DEG,
};
const SATELLITE_DAYS_PER_SATELLITE = WINDOW_HOURS / 24;

// The issue's targets.
const CASE1_WALL_MS_MAX = 1000;
const CASE1_SGP4_CALLS_PER_SATELLITE_DAY_MAX = 1600;
const CASE2_WALL_MS_MAX = 20_000;
const CASE3_WALL_MS_MAX = 40;

// Run counts and subsets, chosen to keep the whole run near two minutes on a 2-core machine.
const CASE1_RUNS = 3;
const CASE2_STATIONS = 50;
/** Case 2 warms up on this many satellites (whole worker chunks) before its one timed run. */
const CASE2_WARMUP_SATELLITES = 512;
const CASE3_RUNS = 20;
const ISS_CATALOG_NUMBER = '25544';
const SATJS_WARMUP_SATELLITES = 10;
const SATJS_CASE2_SATELLITES = 500;
const SATJS_CASE3_RUNS = 5;
/** Skyfield with Debian's pure-Python SGP4 needs ~25 ms per satellite-station-day: 1000 × 10 would take minutes. */
const SKYFIELD_CASE1_SATELLITES = 100;
const SKYFIELD_CASE3_RUNS = 3;

const benchElapsedMs = startStopwatch();
function progress(message: string): void {
  process.stderr.write(`[${(benchElapsedMs() / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
}

/** Passes in `table` of the satellites with index below `satellites` (the first ones of the file). */
function passesOfFirst(table: PassTable, satellites: number): number {
  let count = 0;
  for (let i = 0; i < table.length; i++) if (table.columns.satellite[i]! < satellites) count++;
  return count;
}

async function loadElements(path: string): Promise<readonly ElementSet[]> {
  const { elements, issues } = await loadElementFile(path, { checksum: 'strict' });
  assert.equal(issues.filter((i) => i.severity === 'error').length, 0, `${path} has element errors`);
  return elements;
}

const tleLinesOf = (elements: readonly ElementSet[]): (readonly [string, string])[] =>
  elements.map((e) => {
    assert.ok(e.tleLines !== undefined, `${e.catalogNumber} has no TLE lines`);
    return e.tleLines;
  });

/** Seconds Skyfield spent per satellite-station pair over the window. */
const skyfieldPerPairSec = (run: SkyfieldRun): number => run.seconds / (run.satellites * run.stations);

const search = (elements: readonly ElementSet[], stations: readonly Station[], threads: number): Promise<PassSearchSummary> =>
  searchPasses(elements, stations, SEARCH, { threads });

const sgp4PerSatelliteDay = (summary: PassSearchSummary, satellites: number): number =>
  summary.sgp4Calls / (satellites * SATELLITE_DAYS_PER_SATELLITE);

const verdict = (met: boolean, failed = ''): string => (met ? 'pass' : `FAIL${failed}`);

const ANCHOR_TARGET = '— (anchor)';
const SATJS = '10 s step + bisection (satellite.js)';
const SKYFIELD = 'Skyfield find_events';
const OURS = 'orbitfed searchPasses';

/** The later parts' sections, in the order they run (after the DTN cases) and appear. */
const SECTIONS: readonly { readonly name: string; readonly run: () => Promise<BenchSection> }[] = [
  { name: 'placement', run: () => placementBenchCases({ progress }) },
  { name: 'scheduler-api', run: () => runSchedulerApiCases({ progress }) },
  { name: 'consensus', run: () => runConsensusCases({ progress }) },
  { name: 'link-emulator', run: () => linkEmulatorSection() },
  { name: 'agents', run: () => runAgentCases({ progress }) },
];

/** The link emulator's rows (measured beside a direct connection) as a section. */
async function linkEmulatorSection(): Promise<BenchSection> {
  const { rows, notes } = await runLinkEmulatorCasesAlone(progress);
  return {
    name: 'link-emulator',
    heading: 'Link emulation (hil/)',
    intro: 'The contact-plan-driven relay (`orbitfed link-emulator`) on loopback: one-way delay against the configured light time and sustained throughput against the contact rate. The issue asks for delay within 1 ms of the OWLT and throughput within 5 % of the rate.',
    rows: rows.map((r) => ({ caseLabel: r.caseLabel, measure: r.measurement, result: r.value, detail: r.details, target: r.target, verdict: r.result })),
    notes,
  };
}

/** The sections `--only` (or BENCH_ONLY) may name; without it every section runs. */
const ONLY_SECTIONS = ['dtn', ...SECTIONS.map((s) => s.name)] as const;
type OnlySection = string;

function onlySection(): OnlySection | undefined {
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const only = values.only ?? process.env.BENCH_ONLY;
  if (only === undefined || only === '') return undefined;
  if (!(ONLY_SECTIONS as readonly string[]).includes(only)) {
    throw new Error(`--only ${only}: the sections that run alone are ${ONLY_SECTIONS.join(', ')}; without --only every section runs`);
  }
  return only as OnlySection;
}

const machineLines = (machine: MachineDescription, loadAverageAfter1Min: number): string[] => [
  `- CPU: ${machine.cpuModel}, ${machine.logicalCores} logical cores; memory ${machine.memoryGiB.toFixed(1)} GiB; Node ${machine.nodeVersion}; ${machine.os}`,
  `- Load average (1 min) before / after: ${machine.loadAverage1Min.toFixed(2)} / ${loadAverageAfter1Min.toFixed(2)}`,
];

/** `--only dtn`: the DTN section alone, printed as markdown; BENCHMARKS.md is left as it is. */
async function runOnlyDtn(machine: MachineDescription, dateUtcIso: string): Promise<void> {
  const dtn = await runDtnCases({ progress });
  const loadAverageAfter1Min = os.loadavg()[0] ?? 0;
  console.log(renderDtnSection(dtn).join('\n'));
  console.log(['', `Run alone (--only dtn) on ${dateUtcIso}; not written to BENCHMARKS.md.`, ...machineLines(machine, loadAverageAfter1Min)].join('\n'));
  console.log(`\n${formatDuration(benchElapsedMs())} in all`);
}

async function main(): Promise<void> {
  const only = onlySection();
  const machine = await describeMachine();
  // The date of the run for the report; wall time is what a benchmark is about.
  const dateUtcIso = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const command = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench (node bench/run.ts)' : `node bench/run.ts`;
  if (only === 'dtn') {
    await runOnlyDtn(machine, dateUtcIso);
    return;
  }
  const alone = SECTIONS.find((s) => s.name === only);
  if (alone !== undefined) {
    const section = await alone.run();
    const loadAverageAfter1Min = os.loadavg()[0] ?? 0;
    console.log(renderSection(section).join('\n'));
    console.log(['', `Run alone (--only ${alone.name}) on ${dateUtcIso}; not written to BENCHMARKS.md.`, ...machineLines(machine, loadAverageAfter1Min)].join('\n'));
    console.log(`\n${formatDuration(benchElapsedMs())} in all`);
    return;
  }

  const leo1000 = await loadElements(LEO1000_TLE);
  const starlink = await loadElements(STARLINK_TLE);
  const stations10 = await loadStationsFile(STATIONS10_CSV);
  const stations100 = await loadStationsFile(STATIONS100_CSV);
  const stations50 = stations100.slice(0, CASE2_STATIONS);
  const iss = leo1000.slice(0, 1);
  assert.equal(iss[0]?.catalogNumber, ISS_CATALOG_NUMBER, 'the first record of leo1000.tle is the ISS');
  const oracleText = await readFile(ORACLE_LEO1000_CSV, 'utf8');
  const oraclePasses = oracleText.split('\n').filter((l) => l.trim() !== '').length - 1;

  const case1Label = `1 · ${formatCount(leo1000.length)} LEO × ${stations10.length} stations`;
  const case2Label = `2 · ${formatCount(starlink.length)} Starlink × ${stations50.length} stations`;
  const case3Label = `3 · ISS × ${stations100.length} sites`;
  const notes: string[] = [];

  // orbitfed
  progress(`case 1: ${OURS}, 1 warm-up + ${CASE1_RUNS} runs`);
  const ours1 = await timeMedian(CASE1_RUNS, 1, () => search(leo1000, stations10, 1));
  const ours1PerSatDay = sgp4PerSatelliteDay(ours1.result, leo1000.length);
  const ours1Met = { time: ours1.medianMs <= CASE1_WALL_MS_MAX, sgp4: ours1PerSatDay <= CASE1_SGP4_CALLS_PER_SATELLITE_DAY_MAX };

  progress(`case 3: ${OURS}, 1 warm-up + ${CASE3_RUNS} runs`);
  const ours3 = await timeMedian(CASE3_RUNS, 1, () => search(iss, stations100, 1));

  progress(`case 2: ${OURS}, threads 2, warm-up on ${CASE2_WARMUP_SATELLITES} satellites + 1 run`);
  await search(starlink.slice(0, CASE2_WARMUP_SATELLITES), stations50, 2);
  const ours2Threads2 = await timeMedian(1, 0, () => search(starlink, stations50, 2));
  progress(`case 2: ${OURS}, threads 1, 1 run`);
  const ours2Threads1 = await timeMedian(1, 0, () => search(starlink, stations50, 1));
  assert.equal(ours2Threads1.result.table.length, ours2Threads2.result.table.length, 'threads 1 and 2 find the same passes');

  // Anchor: 10 s step + bisection with satellite.js
  const leo1000Tles = tleLinesOf(leo1000);
  progress(`case 1: ${SATJS}, warm-up on ${SATJS_WARMUP_SATELLITES} satellites + 1 run`);
  stepBisectPasses(leo1000Tles.slice(0, SATJS_WARMUP_SATELLITES), stations10, SEARCH.window, MASK_DEG);
  const satjs1 = await timeMedian(1, 0, () => stepBisectPasses(leo1000Tles, stations10, SEARCH.window, MASK_DEG));
  progress(`case 2: ${SATJS}, first ${SATJS_CASE2_SATELLITES} satellites, 1 run`);
  const starlinkSubsetTles = tleLinesOf(starlink.slice(0, SATJS_CASE2_SATELLITES));
  const satjs2 = await timeMedian(1, 0, () => stepBisectPasses(starlinkSubsetTles, stations50, SEARCH.window, MASK_DEG));
  progress(`case 3: ${SATJS}, 1 warm-up + ${SATJS_CASE3_RUNS} runs`);
  const issTles = tleLinesOf(iss);
  const satjs3 = await timeMedian(SATJS_CASE3_RUNS, 1, () => stepBisectPasses(issTles, stations100, SEARCH.window, MASK_DEG));

  // Anchor: Skyfield
  const python = await findSkyfieldPython();
  let skyfield1: SkyfieldRun | undefined;
  let skyfield3: SkyfieldRun | undefined;
  if (python !== undefined) {
    const common = { startIso: WINDOW_START_ISO, durationHours: WINDOW_HOURS, maskDeg: MASK_DEG };
    progress(`case 1: ${SKYFIELD}, first ${SKYFIELD_CASE1_SATELLITES} satellites, 1 run (${python})`);
    skyfield1 = await runSkyfield(python, { ...common, tlePath: LEO1000_TLE, stationsPath: STATIONS10_CSV, satellites: SKYFIELD_CASE1_SATELLITES });
    progress(`case 3: ${SKYFIELD}, ${SKYFIELD_CASE3_RUNS} runs`);
    skyfield3 = await runSkyfield(python, { ...common, tlePath: LEO1000_TLE, stationsPath: STATIONS100_CSV, satellites: 1, runs: SKYFIELD_CASE3_RUNS });
  } else {
    progress(`Skyfield: not run, ${SKYFIELD_INSTALL_HINT}`);
  }

  const satjsFailures = [satjs1, satjs2, satjs3].reduce((n, t) => n + t.result.failedSatellites, 0);
  const anchorPasses = (found: number, ours: number): string => `${formatCount(found)} (ours: ${formatCount(ours)})`;
  const skyfieldNotRun = `not run: ${SKYFIELD_INSTALL_HINT}`;
  const extrapolated = (measuredMs: number, measuredSatellites: number, totalSatellites: number): string =>
    `${formatDuration(measuredMs)} on first ${formatCount(measuredSatellites)} sats → ` +
    `**extrapolated** ${formatDuration((measuredMs * totalSatellites) / measuredSatellites)} for ${formatCount(totalSatellites)}`;

  const rows: BenchRow[] = [
    {
      caseLabel: case1Label, implementation: OURS, threads: '1', wallTime: formatDuration(ours1.medianMs),
      passes: `${formatCount(ours1.result.table.length)} (oracle: ${formatCount(oraclePasses)})`,
      sgp4CallsPerSatelliteDay: formatCount(ours1PerSatDay),
      target: `≤ ${CASE1_WALL_MS_MAX / 1000} s, ≤ ${formatCount(CASE1_SGP4_CALLS_PER_SATELLITE_DAY_MAX)} SGP4/sat-day`,
      result: verdict(ours1Met.time && ours1Met.sgp4, ` (${[ours1Met.time ? '' : 'time', ours1Met.sgp4 ? '' : 'SGP4 calls'].filter((s) => s !== '').join(', ')})`),
    },
    {
      caseLabel: case1Label, implementation: SATJS, threads: '1', wallTime: formatDuration(satjs1.medianMs),
      passes: anchorPasses(satjs1.result.passes.length, ours1.result.table.length), sgp4CallsPerSatelliteDay: '—', target: ANCHOR_TARGET, result: '—',
    },
    {
      caseLabel: case1Label, implementation: SKYFIELD, threads: '1',
      wallTime: skyfield1 === undefined ? skyfieldNotRun
        : extrapolated(skyfield1.seconds * 1000, skyfield1.satellites, leo1000.length),
      passes: skyfield1 === undefined ? '—'
        : `${anchorPasses(skyfield1.passes, passesOfFirst(ours1.result.table, skyfield1.satellites))} on first ${skyfield1.satellites}`,
      sgp4CallsPerSatelliteDay: '—', target: ANCHOR_TARGET, result: '—',
    },
    {
      caseLabel: case2Label, implementation: OURS, threads: '2', wallTime: formatDuration(ours2Threads2.medianMs),
      passes: formatCount(ours2Threads2.result.table.length),
      sgp4CallsPerSatelliteDay: formatCount(sgp4PerSatelliteDay(ours2Threads2.result, starlink.length)),
      target: `≤ ${CASE2_WALL_MS_MAX / 1000} s`, result: verdict(ours2Threads2.medianMs <= CASE2_WALL_MS_MAX),
    },
    {
      caseLabel: case2Label, implementation: OURS, threads: '1', wallTime: formatDuration(ours2Threads1.medianMs),
      passes: formatCount(ours2Threads1.result.table.length),
      sgp4CallsPerSatelliteDay: formatCount(sgp4PerSatelliteDay(ours2Threads1.result, starlink.length)),
      target: '— (comparison; the target is for 2 threads)', result: '—',
    },
    {
      caseLabel: case2Label, implementation: SATJS, threads: '1',
      wallTime: extrapolated(satjs2.medianMs, SATJS_CASE2_SATELLITES, starlink.length),
      passes: `${anchorPasses(satjs2.result.passes.length, passesOfFirst(ours2Threads2.result.table, SATJS_CASE2_SATELLITES))} on first ${SATJS_CASE2_SATELLITES}`,
      sgp4CallsPerSatelliteDay: '—', target: ANCHOR_TARGET, result: '—',
    },
    {
      caseLabel: case2Label, implementation: SKYFIELD, threads: '1',
      wallTime: skyfield1 === undefined ? skyfieldNotRun
        : `not run: would take ~${formatCount(skyfieldPerPairSec(skyfield1) * starlink.length * stations50.length / 60)} min (estimated)`,
      passes: '—', sgp4CallsPerSatelliteDay: '—', target: ANCHOR_TARGET, result: '—',
    },
    {
      caseLabel: case3Label, implementation: OURS, threads: '1', wallTime: formatDuration(ours3.medianMs),
      passes: formatCount(ours3.result.table.length), sgp4CallsPerSatelliteDay: formatCount(sgp4PerSatelliteDay(ours3.result, 1)),
      target: `≤ ${CASE3_WALL_MS_MAX} ms`, result: verdict(ours3.medianMs <= CASE3_WALL_MS_MAX),
    },
    {
      caseLabel: case3Label, implementation: SATJS, threads: '1', wallTime: formatDuration(satjs3.medianMs),
      passes: anchorPasses(satjs3.result.passes.length, ours3.result.table.length), sgp4CallsPerSatelliteDay: '—', target: ANCHOR_TARGET, result: '—',
    },
    {
      caseLabel: case3Label, implementation: SKYFIELD, threads: '1',
      wallTime: skyfield3 === undefined ? skyfieldNotRun : formatDuration(skyfield3.seconds * 1000),
      passes: skyfield3 === undefined ? '—' : anchorPasses(skyfield3.passes, ours3.result.table.length),
      sgp4CallsPerSatelliteDay: '—', target: ANCHOR_TARGET, result: '—',
    },
  ];

  const runs = (ms: readonly number[]): string => ms.map((m) => formatDuration(m)).join(', ');
  const problems = ours1.result.problems.length + ours2Threads2.result.problems.length + ours3.result.problems.length;
  notes.push(
    `Case 1, orbitfed: 1 warm-up, then median of ${CASE1_RUNS} runs (${runs(ours1.runsMs)}). ` +
      `Oracle: test/fixtures/passes/dense_passes_leo1000_10st_24h_ut1utc.csv (independent; Vallado's C++ SGP4 in Skyfield, every crossing refined).`,
    `Case 2, orbitfed: stations are the first ${stations50.length} of stations100_random.csv; a warm-up on the first ${CASE2_WARMUP_SATELLITES} satellites, ` +
      `then 1 run with 2 worker threads and 1 run on the calling thread. Each call starts its own workers, so their ` +
      `start-up and JIT warm-up are inside the timed run. Both runs find the same passes.`,
    `Case 3, orbitfed: ISS (catalog ${ISS_CATALOG_NUMBER}, first record of leo1000.tle) × all ${stations100.length} sites of stations100_random.csv; ` +
      `1 warm-up, then median of ${CASE3_RUNS} runs (fastest ${formatDuration(Math.min(...ours3.runsMs))}, slowest ${formatDuration(Math.max(...ours3.runsMs))}).`,
    `${SATJS}: warm-up on ${SATJS_WARMUP_SATELLITES} satellites, then 1 run for case 1, 1 run on the first ${SATJS_CASE2_SATELLITES} Starlink satellites × ${stations50.length} stations ` +
      `for case 2 (extrapolated ×${(starlink.length / SATJS_CASE2_SATELLITES).toFixed(2)}), median of ${SATJS_CASE3_RUNS} runs after a warm-up for case 3 ` +
      `(${runs(satjs3.runsMs)}). One propagation per step per satellite, look angles per station, ~14 more propagations per bisected crossing.` +
      (satjsFailures > 0 ? ` ${satjsFailures} satellite(s) failed to propagate.` : ''),
    python === undefined || skyfield1 === undefined || skyfield3 === undefined
      ? `${SKYFIELD}: not run, ${SKYFIELD_INSTALL_HINT}.`
      : `${SKYFIELD}: Skyfield ${skyfield1.skyfield} on Python ${skyfield1.python} (\`${python}\`), python-sgp4 ` +
        `${skyfield1.sgp4Accelerated ? 'with its C++ extension' : '**without** its C++ extension (pure Python, much slower)'}. ` +
        `Case 1 on the first ${skyfield1.satellites} satellites × ${skyfield1.stations} stations, 1 run ` +
        `(extrapolated ×${(leo1000.length / skyfield1.satellites).toFixed(0)}: the full case would take ` +
        `~${formatCount(skyfieldPerPairSec(skyfield1) * leo1000.length * stations10.length / 60)} min here); ` +
        `case 3 median of ${skyfield3.runSeconds.length} runs in one process (${runs(skyfield3.runSeconds.map((s) => s * 1000))}); ` +
        `case 2 estimated from case 1's time per satellite-station pair. Times exclude Python start-up, imports and file reading.`,
    `Problems reported by orbitfed's search (SGP4 errors): ${problems}.`,
  );

  // Contact plans and routing, after the pass finder so that its wall times are as before.
  const contactPlans = await runContactPlanCases({ elements: leo1000, stations: stations50, window: SEARCH.window, minElevationDeg: MASK_DEG, progress });

  // DTN last: it uses the disk and a second process, and the cases above keep their wall times.
  const dtn = await runDtnCases({ progress });

  // The later parts, each its own processes and sockets, after everything above.
  const sections: BenchSection[] = [];
  for (const section of SECTIONS) sections.push(await section.run());

  const loadAverageAfter1Min = os.loadavg()[0] ?? 0;
  const totalSec = benchElapsedMs() / 1000;
  const markdown = renderReport({
    machine, loadAverageAfter1Min, command, dateUtcIso, totalSec, rows, notes,
    contactPlanRows: contactPlans.rows, contactPlanNotes: contactPlans.notes, dtn, sections,
  });
  await writeFile(BENCHMARKS_MD, markdown, 'utf8');
  console.log(renderTable(rows));
  console.log(`\n${renderContactPlanTable(contactPlans.rows)}`);
  console.log(`\n${renderDtnTable(dtn.rows)}`);
  console.log(`\n${renderDtnMemoryTable(dtn.memoryRows)}`);
  for (const section of sections) console.log(`\n${renderSection(section).join('\n')}`);
  console.log(`\n${formatDuration(totalSec * 1000)} in all; written to ${BENCHMARKS_MD}`);
}

await main();
