// The "Contact plans and routing" section of `npm run bench`: inter-satellite windows for 1,000 LEO
// satellites, route queries on HDTN's 100-node plan, and the query rate on plans built from
// leo1000.tle and 50 stations. Called by run.ts after the pass finder's cases; about a minute on a
// 2-core machine.
import { seededRng } from '../common/index.ts';
import { fileURLToPath } from 'node:url';
import { OrbitfedError } from '../common/index.ts';
import {
  buildContactPlan, type ContactPlan, type ElementSet, findRoutes, loadContactPlanFile, type Route, type RouteQuery,
  IslTable, searchIslWindows, searchPasses, type SatelliteWindowColumns, type Station, stationIpn, type TimeWindow,
} from '../contact-plans/index.ts';
import { formatCount, formatDuration, type ContactPlanRow } from './report.ts';
import { median, percentile, startStopwatch, timeMedian } from './timing.ts';

const HDTN_100NODES_JSON = fileURLToPath(new URL('../test/fixtures/contact-plans/hdtn-100nodes.json', import.meta.url));
const HDTN_100NODES_CONTACTS = 28_162;

// The issue's targets.
const ISL_WALL_MS_MAX = 30_000;
const ROUTE_QUERY_MS_MAX = 5;
const QUERIES_PER_SEC_MIN = 200;

// Case 1: inter-satellite windows.
const ISL_MAX_RANGE_KM = 5000;
const ISL_GRAZING_ALTITUDE_KM = 100;
const THREADS = 2;

// Case 2: HDTN's 100-node plan. HDTN's reference query and its answer (HDTN's libcgr tests check
// the next hop: 2374 with `dijkstra`, 1215 with `cmr_dijkstra`; both tie for the earliest arrival).
const REFERENCE = { from: 20, to: 40, atSec: 0, arrivalSec: 2, nextHops: [2374, 1215] } as const;
const REFERENCE_WARM_RUNS = 21;
const RANDOM_QUERIES = 500;
const RANDOM_QUERIES_SEED = 20_260_614;
const K_ROUTES = 7;

// Case 3: queries per second on plans built here.
const THROUGHPUT_SATELLITES_WITH_ISL = [100, 300, 1000] as const;
const THROUGHPUT_QUERIES = 200;
const THROUGHPUT_SECONDS_MAX = 10;
/** Queries start in the first 20 h of the 24 h plan, so that most of them can still be delivered. */
const THROUGHPUT_QUERY_HORIZON_SEC = 20 * 3600;
const THROUGHPUT_SIZE_BYTES = 1_000_000;
const THROUGHPUT_SEED = 734_001;

export interface ContactPlanCasesInput {
  /** leo1000.tle, in file order. */
  readonly elements: readonly ElementSet[];
  /** The first 50 stations of stations100_random.csv. */
  readonly stations: readonly Station[];
  readonly window: TimeWindow;
  readonly minElevationDeg: number;
  readonly progress: (message: string) => void;
}

export interface ContactPlanCasesResult {
  readonly rows: readonly ContactPlanRow[];
  readonly notes: readonly string[];
}


/** Two different entries of `nodes`, uniformly. */
function randomPair(random: () => number, nodes: readonly number[]): [number, number] {
  const a = Math.floor(random() * nodes.length);
  let b = Math.floor(random() * (nodes.length - 1));
  if (b >= a) b += 1;
  return [nodes[a]!, nodes[b]!];
}

interface TimedQuery {
  readonly ms: number;
  readonly routes: readonly Route[];
  /** The query gave up on LABEL_EXPANSIONS_MAX or LABELS_MAX (`ORBITFED_CGR_WORK_LIMIT`). */
  readonly workLimit: boolean;
}

function timeQuery(plan: ContactPlan, query: RouteQuery): TimedQuery {
  const elapsedMs = startStopwatch();
  try {
    const routes = findRoutes(plan, query);
    return { ms: elapsedMs(), routes, workLimit: false };
  } catch (error) {
    if (error instanceof OrbitfedError && error.code === 'ORBITFED_CGR_WORK_LIMIT') return { ms: elapsedMs(), routes: [], workLimit: true };
    throw error;
  }
}

const verdict = (met: boolean): string => (met ? 'pass' : 'FAIL');
const formatMs = (ms: number): string => (ms < 1 ? `${ms.toFixed(3)} ms` : formatDuration(ms));
const formatRate = (perSec: number): string => `${perSec < 100 ? perSec.toFixed(1) : formatCount(perSec)} queries/s`;
const path = (route: Route | undefined): string =>
  route === undefined ? 'no route' : [route.hops[0]!.from, ...route.hops.map((h) => h.to)].join('→');

interface BatchStats {
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly routed: number;
  readonly routes: number;
  readonly workLimits: number;
}

function batchStats(timed: readonly TimedQuery[]): BatchStats {
  const ms = timed.map((t) => t.ms);
  return {
    medianMs: median(ms), p99Ms: percentile(ms, 99), maxMs: Math.max(...ms),
    routed: timed.filter((t) => t.routes.length > 0).length,
    routes: timed.reduce((n, t) => n + t.routes.length, 0),
    workLimits: timed.filter((t) => t.workLimit).length,
  };
}

const workLimitText = (n: number): string => (n === 0 ? '' : `, ${n} stopped at the work limit`);

interface Throughput {
  readonly satellites: number;
  readonly withIsl: boolean;
  readonly passes: number;
  readonly islWindows: number;
  readonly contacts: number;
  readonly passSearchMs: number;
  readonly islSearchMs: number;
  readonly planBuildMs: number;
  readonly firstQuery: TimedQuery;
  readonly queries: number;
  readonly queriesMs: number;
  readonly stats: BatchStats;
}

/**
 * Builds the 24 h plan of the first `satellites` of `input.elements` × the stations (passes, then
 * ISL windows if asked, then the plan), then times one query (which builds the routing index) and
 * up to THROUGHPUT_QUERIES more, stopping after THROUGHPUT_SECONDS_MAX.
 */
async function measureThroughput(input: ContactPlanCasesInput, satellites: number, withIsl: boolean): Promise<Throughput> {
  const elements = input.elements.slice(0, satellites);
  const { stations, window } = input;
  let elapsedMs = startStopwatch();
  const passes = await searchPasses(elements, stations, { window, defaultMinElevationDeg: input.minElevationDeg }, { threads: THREADS });
  const passSearchMs = elapsedMs();
  let satelliteWindows: SatelliteWindowColumns = new IslTable();
  elapsedMs = startStopwatch();
  if (withIsl) {
    // Columns, as `orbitfed plan` passes them: no object per window.
    satelliteWindows = (await searchIslWindows(elements, { window, maxRangeKm: ISL_MAX_RANGE_KM, grazingAltitudeKm: ISL_GRAZING_ALTITUDE_KM }, { threads: THREADS })).table;
  }
  const islSearchMs = withIsl ? elapsedMs() : 0;
  elapsedMs = startStopwatch();
  const plan = buildContactPlan({ window, elements, stations, passes: passes.table, satelliteWindows });
  const planBuildMs = elapsedMs();

  const random = seededRng(THROUGHPUT_SEED);
  const stationNodes = stations.map((_, i) => stationIpn(i));
  const nextQuery = (): RouteQuery => {
    const [from, to] = randomPair(random, stationNodes);
    return { from, to, atSec: Math.floor(random() * THROUGHPUT_QUERY_HORIZON_SEC), sizeBytes: THROUGHPUT_SIZE_BYTES, k: 1 };
  };
  const firstQuery = timeQuery(plan, nextQuery());
  const timed: TimedQuery[] = [];
  const loopMs = startStopwatch();
  while (timed.length < THROUGHPUT_QUERIES && loopMs() < THROUGHPUT_SECONDS_MAX * 1000) timed.push(timeQuery(plan, nextQuery()));
  const queriesMs = loopMs();
  return {
    satellites, withIsl, passes: passes.table.length, islWindows: satelliteWindows.length, contacts: plan.contacts.length,
    passSearchMs, islSearchMs, planBuildMs, firstQuery, queries: timed.length, queriesMs, stats: batchStats(timed),
  };
}

export async function runContactPlanCases(input: ContactPlanCasesInput): Promise<ContactPlanCasesResult> {
  const { elements, stations, progress } = input;
  const rows: ContactPlanRow[] = [];
  const notes: string[] = [];

  // Case 1: ISL windows of all 1,000 satellites. Only counts are kept, so that the 5 M windows can be collected.
  progress(`routing case 1: searchIslWindows, ${formatCount(elements.length)} LEO, threads ${THREADS}, 1 run`);
  const islRun = await timeMedian(1, 0, async () => {
    const isl = await searchIslWindows(elements, { window: input.window, maxRangeKm: ISL_MAX_RANGE_KM, grazingAltitudeKm: ISL_GRAZING_ALTITUDE_KM }, { threads: THREADS });
    return { windows: isl.table.length, sgp4Calls: isl.sgp4Calls, problems: isl.problems.length };
  });
  const isl = islRun.result;
  const satelliteDays = elements.length * (input.window.durationSec / 86_400);
  rows.push({
    caseLabel: `1 · ISL windows · ${formatCount(elements.length)} LEO × ${input.window.durationSec / 3600} h`,
    measurement: `wall time, searchIslWindows, threads ${THREADS}, 1 run`,
    value: formatDuration(islRun.medianMs),
    details: `${formatCount(isl.windows)} windows; ${formatCount(isl.sgp4Calls)} SGP4 calls (${formatCount(isl.sgp4Calls / satelliteDays)} / sat-day)`,
    target: `≤ ${ISL_WALL_MS_MAX / 1000} s`, result: verdict(islRun.medianMs <= ISL_WALL_MS_MAX),
  });
  notes.push(
    `Case 1: all ${formatCount(elements.length)} satellites of leo1000.tle, window ${new Date(input.window.startMs).toISOString().replace('.000Z', 'Z')} + ` +
      `${input.window.durationSec / 3600} h, max range ${formatCount(ISL_MAX_RANGE_KM)} km, line of sight clearing ${ISL_GRAZING_ALTITUDE_KM} km above the Earth; ` +
      `1 run with ${THREADS} worker threads, no warm-up (the workers start and warm up inside the timed run; SGP4 initialisation and ` +
      `the shared ephemeris are inside it too). A window is one satellite pair's interval in range (both directions count once). ` +
      `Problems reported (SGP4 errors): ${isl.problems}.`,
  );

  // Case 2: route queries on HDTN's 100-node plan.
  progress('routing case 2: findRoutes on hdtn-100nodes.json');
  const loadMs = startStopwatch();
  const hdtn = await loadContactPlanFile(HDTN_100NODES_JSON);
  const hdtnLoadMs = loadMs();
  if (hdtn.contacts.length !== HDTN_100NODES_CONTACTS) throw new Error(`hdtn-100nodes.json has ${hdtn.contacts.length} contacts, expected ${HDTN_100NODES_CONTACTS}`);
  const nodeSet = new Set<number>();
  let spanStartSec = Infinity;
  let spanEndSec = -Infinity;
  for (const c of hdtn.contacts) {
    nodeSet.add(c.from);
    nodeSet.add(c.to);
    spanStartSec = Math.min(spanStartSec, c.startSec);
    spanEndSec = Math.max(spanEndSec, c.endSec);
  }
  const hdtnNodes = [...nodeSet].sort((a, b) => a - b);
  const referenceQuery: RouteQuery = { from: REFERENCE.from, to: REFERENCE.to, atSec: REFERENCE.atSec, sizeBytes: 0, k: 1 };
  const referenceFirst = timeQuery(hdtn, referenceQuery);
  const referenceWarm = await timeMedian(REFERENCE_WARM_RUNS, 0, () => timeQuery(hdtn, referenceQuery));
  const ours = referenceFirst.routes[0];
  const agrees = ours?.arrivalSec === REFERENCE.arrivalSec;

  const random = seededRng(RANDOM_QUERIES_SEED);
  const randomQueries = Array.from({ length: RANDOM_QUERIES }, (): RouteQuery => {
    const [from, to] = randomPair(random, hdtnNodes);
    return { from, to, atSec: spanStartSec + Math.floor(random() * (spanEndSec - spanStartSec)), sizeBytes: 0, k: 1 };
  });
  const k1 = batchStats(randomQueries.map((q) => timeQuery(hdtn, q)));
  const k1Again = batchStats(randomQueries.map((q) => timeQuery(hdtn, q)));
  const kMany = batchStats(randomQueries.map((q) => timeQuery(hdtn, { ...q, k: K_ROUTES })));

  const case2Label = `2 · Route query · HDTN 100 nodes (${formatCount(hdtn.contacts.length)} contacts)`;
  const queryTarget = `≤ ${ROUTE_QUERY_MS_MAX} ms`;
  rows.push(
    {
      caseLabel: case2Label, measurement: `first query: ${REFERENCE.from}→${REFERENCE.to} at t=${REFERENCE.atSec}, k=1 (builds the routing index)`,
      value: formatMs(referenceFirst.ms),
      details: `ours: arrives t=${ours?.arrivalSec ?? '—'} via ${path(ours)}; HDTN: arrives t=${REFERENCE.arrivalSec}, next hop ` +
        `${REFERENCE.nextHops[0]} (dijkstra) or ${REFERENCE.nextHops[1]} (cmr_dijkstra) — ${agrees ? 'same arrival' : '**different arrival**'}`,
      target: '— (index build; shown apart)', result: '—',
    },
    {
      caseLabel: case2Label, measurement: `${REFERENCE.from}→${REFERENCE.to} at t=${REFERENCE.atSec}, k=1, index built: median of ${REFERENCE_WARM_RUNS}`,
      value: formatMs(referenceWarm.medianMs), details: `last run: arrives t=${referenceWarm.result.routes[0]?.arrivalSec ?? '—'} via ${path(referenceWarm.result.routes[0])}`,
      target: queryTarget, result: verdict(referenceWarm.medianMs <= ROUTE_QUERY_MS_MAX),
    },
    {
      caseLabel: case2Label, measurement: `${RANDOM_QUERIES} random queries, k=1, size 0: median`,
      value: formatMs(k1.medianMs), details: `${k1.routed} of ${RANDOM_QUERIES} routed${workLimitText(k1.workLimits)}`,
      target: queryTarget, result: verdict(k1.medianMs <= ROUTE_QUERY_MS_MAX),
    },
    {
      caseLabel: case2Label, measurement: `${RANDOM_QUERIES} random queries, k=1, size 0: p99`,
      value: formatMs(k1.p99Ms),
      details: `max ${formatMs(k1.maxMs)}; the same ${RANDOM_QUERIES} again: median ${formatMs(k1Again.medianMs)}, p99 ${formatMs(k1Again.p99Ms)}`,
      target: queryTarget, result: verdict(k1.p99Ms <= ROUTE_QUERY_MS_MAX),
    },
    {
      caseLabel: case2Label, measurement: `the same ${RANDOM_QUERIES} queries, k=${K_ROUTES}: median`,
      value: formatMs(kMany.medianMs),
      details: `p99 ${formatMs(kMany.p99Ms)}; ${formatCount(kMany.routes)} routes (${(kMany.routes / RANDOM_QUERIES).toFixed(2)} per query)${workLimitText(kMany.workLimits)}`,
      target: '— (the target is for k=1)', result: '—',
    },
  );
  notes.push(
    `Case 2: test/fixtures/contact-plans/hdtn-100nodes.json (HDTN's module/router/contact_plans/100nodes.json), loaded with ` +
      `loadContactPlanFile in ${formatDuration(hdtnLoadMs)} (parse, validation, sort, hash; not in any row), ${hdtnNodes.length} nodes in its contacts, ` +
      `span t=${spanStartSec} … ${spanEndSec} s. The first query on the plan is HDTN's reference query, timed alone; then the same query ` +
      `${REFERENCE_WARM_RUNS} times (median). Then ${RANDOM_QUERIES} random queries (Mulberry32, seed ${RANDOM_QUERIES_SEED}): two different nodes ` +
      `among those in the contacts, a whole-second start time uniform in the span, size 0 (first byte, as HDTN's libcgr), no deadline, ` +
      `each timed alone; the median and p99 (nearest rank) rows are their first pass, right after the reference queries, so they include ` +
      `the JIT warming up the search; the p99 row also gives a second pass over the same queries. Then the same queries with k=${K_ROUTES} ` +
      `(Yen's algorithm). HDTN's answer: its libcgr tests check the next hop of ${REFERENCE.from}→${REFERENCE.to} at t=${REFERENCE.atSec} ` +
      `(${REFERENCE.nextHops[0]} with dijkstra, ${REFERENCE.nextHops[1]} with cmr_dijkstra); both are 2-hop routes arriving at t=${REFERENCE.arrivalSec}, ` +
      `and at equal arrival, hops and last-contact end orbitfed takes the smaller entry node (SABR §3.2.8.1.4 a).`,
  );

  // Case 3: queries per second on plans of leo1000 × 50 stations.
  const throughputs: Throughput[] = [];
  for (const satellites of THROUGHPUT_SATELLITES_WITH_ISL) {
    progress(`routing case 3: plan of ${satellites} LEO × ${stations.length} stations with ISLs, then queries`);
    throughputs.push(await measureThroughput(input, satellites, true));
  }
  progress(`routing case 3: plan of ${formatCount(elements.length)} LEO × ${stations.length} stations without ISLs, then queries`);
  const passesOnly = await measureThroughput(input, elements.length, false);
  throughputs.push(passesOnly);

  const hours = input.window.durationSec / 3600;
  const planLabel = (t: { satellites: number; withIsl: boolean }): string =>
    `3 · Queries/s · ${formatCount(t.satellites)} LEO × ${stations.length} stations × ${hours} h, ${t.withIsl ? 'with ISLs' : 'passes only (no ISLs)'}`;
  const rateTarget = `≥ ${QUERIES_PER_SEC_MIN} queries/s`;
  for (const t of throughputs) {
    const perSec = t.queries / (t.queriesMs / 1000);
    const buildMs = t.passSearchMs + t.islSearchMs + t.planBuildMs;
    rows.push({
      caseLabel: planLabel(t),
      measurement: `${t.queries} random station→station queries, ${formatCount(THROUGHPUT_SIZE_BYTES / 1e6)} MB, k=1`,
      value: formatRate(perSec),
      details: `${formatCount(t.contacts)} contacts (${formatCount(t.passes)} passes${t.withIsl ? `, ${formatCount(t.islWindows)} ISL windows` : ''}); ` +
        `built in ${formatDuration(buildMs)} (passes ${formatDuration(t.passSearchMs)}${t.withIsl ? `, ISL ${formatDuration(t.islSearchMs)}` : ''}, ` +
        `plan ${formatDuration(t.planBuildMs)}); routing index (first query) ${formatMs(t.firstQuery.ms)}; ` +
        `query median ${formatMs(t.stats.medianMs)}, p99 ${formatMs(t.stats.p99Ms)}; ${t.stats.routed} of ${t.queries} routed${workLimitText(t.stats.workLimits)}`,
      target: rateTarget, result: verdict(perSec >= QUERIES_PER_SEC_MIN),
    });
  }
  notes.push(
    `Case 3: 24 h plans of the first N satellites of leo1000.tle × the first ${stations.length} stations of stations100_random.csv, built as ` +
      `\`orbitfed plan\` builds them: searchPasses (${input.minElevationDeg}° mask) and, with ISLs, searchIslWindows (${formatCount(ISL_MAX_RANGE_KM)} km, ` +
      `${ISL_GRAZING_ALTITUDE_KM} km grazing), both with ${THREADS} threads, then buildContactPlan with its default rates (2 contacts per pass, ` +
      `2 per ISL window); each step timed once ("built in"). Then one query, timed alone (it builds the routing index), then random ` +
      `queries until ${THROUGHPUT_QUERIES} are done or ${THROUGHPUT_SECONDS_MAX} s have passed (Mulberry32, seed ${THROUGHPUT_SEED}, the same ` +
      `sequence on every plan): two different stations among the ${stations.length}, a whole-second start in the first ` +
      `${THROUGHPUT_QUERY_HORIZON_SEC / 3600} h, ${formatCount(THROUGHPUT_SIZE_BYTES)} bytes, k=1; queries/s is their number over the wall ` +
      `time of the loop.`,
  );
  return { rows, notes };
}
