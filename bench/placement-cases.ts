// The "Placement" section of the bench: placements per second on the issue's federation — 5,000
// nodes (4,000 orbital, 1,000 ground) on a 24 h contact plan — with sovereignty filters and
// contact-aware scoring on, each placement's volume booked before the next.
//
// The federation (built once; its build time is reported apart from the measurement):
// - 4,000 satellites with real elements: the 1,000 of test/fixtures/passes/leo1000.tle (ISS and
//   999 LEO objects from CelesTrak's active catalog) and the first 3,000 other Starlink satellites
//   of test/fixtures/elements/starlink_20260613.tle. Each is an orbital node (ipn 1,000,000,000 +
//   catalog number). Starlink: registry and operator jurisdiction US; the others get one of twelve
//   registries by catalog number (operator jurisdiction the same for 4 in 5, another for the rest).
// - 1,000 ground nodes at real places: gpredict's 5,563 named sites
//   (test/fixtures/stations/gpredict_locations.dat), those that Natural Earth puts inside a
//   country, shuffled (Mulberry32, fixed seed), the first 1,000. The first 100 are antenna
//   stations (25° minimum elevation, as Ka/Ku gateways; 1 MB/s up, 12.5 MB/s down); the other 900
//   are data centres, each linked to its nearest antenna station by always-on 100 Mbit/s fibre;
//   the antenna stations are meshed by always-on 1 Gbit/s fibre. No inter-satellite links (their
//   windows for 4,000 satellites would dwarf the rest; the routing bench covers ISLs).
// - The window 2026-06-14T00:00Z + 24 h; passes by contact-plans' searchPasses on 2 threads.
// - Node resources, prices, attestations (two auditors sign a fifth of the nodes) and blackouts
//   (a tenth of the nodes, one hour each) are drawn from a fixed seed.
//
// The jobs (fixed seed): input at a random ground node, now uniform in the first 12 h, deadline
// 2–12 h later, 1–30 min of execution, 10 kB–1 MB in, 100 kB–50 MB out; sovereignty: 40 % EU
// (atRest and downlink countries), 20 % the input location's own country, 20 % a Five Eyes + Japan
// list, 20 % none; orbital allowed / required / forbidden 50 / 30 / 20 %; half deliver to any
// allowed station, half to up to three named ones; a fifth require an auditor's attestation.
// A second case adds a processing footprint (the same countries as atRest) to orbital-only jobs.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { OrbitfedError, seededRng } from '../common/index.ts';
import {
  buildContactPlan, ContactBookings, type ContactPlan, type ElementSet, loadElementFile, satelliteIpn, searchPasses, type Station, stationIpn,
  type TerrestrialLink, type TimeWindow, bestRoute,
} from '../contact-plans/index.ts';
import { ed25519PublicKeyFromSeed } from '../consensus/index.ts';
import {
  type CountryBorders, type JobSpec, loadCountryBorders, NodeCatalog, type NodeSpec, placeJob, type PlacementDecision, reservePlacement, signAttestation,
} from '../scheduler/index.ts';
import { formatCount, formatDuration, type BenchSection, type SectionRow } from './report.ts';
import { percentile, startStopwatch } from './timing.ts';

const repoPath = (relative: string): string => fileURLToPath(new URL(`../${relative}`, import.meta.url));
const LEO1000_TLE = repoPath('test/fixtures/passes/leo1000.tle');
const STARLINK_TLE = repoPath('test/fixtures/elements/starlink_20260613.tle');
const GPREDICT_SITES = repoPath('test/fixtures/stations/gpredict_locations.dat');

const WINDOW: TimeWindow = { startMs: Date.parse('2026-06-14T00:00:00Z'), durationSec: 24 * 3600 };
const ORBITAL_NODES = 4000;
const GROUND_NODES = 1000;
const ANTENNA_STATIONS = 100;
const MIN_ELEVATION_DEG = 25;
const UPLINK_BYTES_PER_SEC = 1_000_000;
const DOWNLINK_BYTES_PER_SEC = 12_500_000;
const ACCESS_FIBRE_BYTES_PER_SEC = 12_500_000;
const BACKBONE_BYTES_PER_SEC = 125_000_000;
const WORLD_SEED = 7_000_001;
const JOBS_SEED = 7_000_002;
const CHAIN_ID = 'orbitfed-bench';
const AUDITORS = ['auditor-a', 'auditor-b'] as const;

/** The issue's target. */
const PLACEMENTS_PER_SEC_MIN = 1000;
const WARMUP_PLACEMENTS = 300;
const MEASURED_PLACEMENTS = 3000;
const FOOTPRINT_PLACEMENTS = 300;
/** Placed routes re-checked with CGR `bestRoute` after the timed run. */
const VERIFIED_PLACEMENTS = 100;

const REGISTRIES = ['US', 'GB', 'DE', 'FR', 'LU', 'JP', 'IN', 'CN', 'ES', 'IT', 'FI', 'NL'] as const;
const FIVE_EYES_AND_JAPAN = ['US', 'CA', 'GB', 'AU', 'NZ', 'JP'];

export interface PlacementWorld {
  readonly plan: ContactPlan;
  readonly catalog: NodeCatalog;
  readonly nodes: readonly NodeSpec[];
  readonly borders: CountryBorders;
  readonly groundNodes: readonly NodeSpec[];
  readonly passes: number;
  readonly buildMs: { readonly elements: number; readonly borders: number; readonly passes: number; readonly plan: number; readonly catalog: number };
}

interface Site {
  readonly name: string;
  readonly latitudeDeg: number;
  readonly longitudeDeg: number;
  readonly altitudeM: number;
  readonly country: string;
}

async function loadElements(path: string): Promise<readonly ElementSet[]> {
  const { elements, issues } = await loadElementFile(path, { checksum: 'strict' });
  if (issues.some((i) => i.severity === 'error')) throw new OrbitfedError('ORBITFED_BENCH_INPUT', `${path} has element errors`);
  return elements;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** gpredict's sites ("region;country;city;code;lat;lon;alt m") that the borders put inside a country. */
function sitesOf(borders: CountryBorders): Site[] {
  const seen = new Set<string>();
  const sites: Site[] = [];
  for (const line of readFileSync(GPREDICT_SITES, 'utf8').split('\n')) {
    const fields = line.split(';');
    if (fields.length < 7) continue;
    const latitudeDeg = Number(fields[4]);
    const longitudeDeg = Number(fields[5]);
    const altitudeM = Number(fields[6]);
    if (![latitudeDeg, longitudeDeg, altitudeM].every(Number.isFinite)) continue;
    const key = `${latitudeDeg.toFixed(2)},${longitudeDeg.toFixed(2)}`;
    const country = borders.countryAt(latitudeDeg, longitudeDeg);
    if (country === undefined || seen.has(key)) continue;
    seen.add(key);
    sites.push({ name: fields[2]!.trim(), latitudeDeg, longitudeDeg, altitudeM: Math.max(-400, Math.min(8000, altitudeM)), country });
  }
  return sites;
}

function distanceRad(a: Site, b: Site): number {
  const rad = Math.PI / 180;
  const h = Math.sin(((b.latitudeDeg - a.latitudeDeg) * rad) / 2) ** 2
    + Math.cos(a.latitudeDeg * rad) * Math.cos(b.latitudeDeg * rad) * Math.sin(((b.longitudeDeg - a.longitudeDeg) * rad) / 2) ** 2;
  return 2 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Builds the federation described at the top of this file. */
export async function buildPlacementWorld(progress: (message: string) => void): Promise<PlacementWorld> {
  let elapsed = startStopwatch();
  const leo1000 = await loadElements(LEO1000_TLE);
  const known = new Set(leo1000.map((e) => e.catalogNumber));
  const starlink = (await loadElements(STARLINK_TLE)).filter((e) => !known.has(e.catalogNumber)).slice(0, ORBITAL_NODES - leo1000.length);
  const elements = [...leo1000, ...starlink];
  const starlinkNumbers = new Set(starlink.map((e) => e.catalogNumber));
  const elementsMs = elapsed();

  elapsed = startStopwatch();
  const borders = loadCountryBorders();
  const bordersMs = elapsed();

  const random = seededRng(WORLD_SEED);
  const sites = shuffle(sitesOf(borders), random).slice(0, GROUND_NODES);
  const antennas = sites.slice(0, ANTENNA_STATIONS);
  const station = (site: Site, id: string, antenna: boolean): Station => ({
    id, name: site.name, latitudeDeg: site.latitudeDeg, longitudeDeg: site.longitudeDeg, altitudeM: site.altitudeM,
    minElevationDeg: MIN_ELEVATION_DEG, horizonMask: undefined, country: site.country,
    uplinkRateBytesPerSec: antenna ? UPLINK_BYTES_PER_SEC : undefined, downlinkRateBytesPerSec: antenna ? DOWNLINK_BYTES_PER_SEC : undefined, operator: undefined,
  });
  const stationId = (i: number): string => (i < ANTENNA_STATIONS ? `gs-${String(i).padStart(3, '0')}` : `dc-${String(i).padStart(3, '0')}`);
  const stations = sites.map((site, i) => station(site, stationId(i), i < ANTENNA_STATIONS));

  progress(`placement: passes of ${formatCount(elements.length)} satellites over ${ANTENNA_STATIONS} antenna stations (24 h, ${MIN_ELEVATION_DEG}° mask)`);
  elapsed = startStopwatch();
  const passes = await searchPasses(elements, stations.slice(0, ANTENNA_STATIONS), { window: WINDOW, defaultMinElevationDeg: MIN_ELEVATION_DEG }, { threads: 2 });
  const passesMs = elapsed();

  elapsed = startStopwatch();
  const links: TerrestrialLink[] = [];
  for (let i = 0; i < ANTENNA_STATIONS; i++) {
    for (let j = i + 1; j < ANTENNA_STATIONS; j++) links.push({ from: stations[i]!.id, to: stations[j]!.id, rateBytesPerSec: BACKBONE_BYTES_PER_SEC });
  }
  for (let i = ANTENNA_STATIONS; i < sites.length; i++) {
    let nearest = 0;
    for (let a = 1; a < ANTENNA_STATIONS; a++) if (distanceRad(sites[i]!, antennas[a]!) < distanceRad(sites[i]!, antennas[nearest]!)) nearest = a;
    links.push({ from: stations[i]!.id, to: stations[nearest]!.id, rateBytesPerSec: ACCESS_FIBRE_BYTES_PER_SEC });
  }
  const plan = buildContactPlan({ window: WINDOW, elements, stations, passes: passes.table, terrestrialLinks: links });
  const planMs = elapsed();
  progress(`placement: plan of ${formatCount(plan.contacts.length)} contacts (${formatCount(passes.table.length)} passes) in ${formatDuration(passesMs + planMs)}`);

  // Nodes.
  const auditorSeeds = AUDITORS.map((_, i) => Uint8Array.from({ length: 32 }, (_v, k) => (i * 37 + k * 11 + 1) & 0xff));
  const auditorKeys = new Map(AUDITORS.map((a, i) => [a, ed25519PublicKeyFromSeed(auditorSeeds[i]!)]));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const nodes: NodeSpec[] = [];
  const attest = (node: NodeSpec): NodeSpec => {
    if (random() >= 0.2) return node;
    const auditor = random() < 0.5 ? 0 : 1;
    const country = node.jurisdiction.country ?? node.jurisdiction.registry!;
    return { ...node, attestations: [signAttestation(auditorSeeds[auditor]!, CHAIN_ID, node, AUDITORS[auditor]!, { [node.kind === 'ground' ? 'country' : 'registry']: country, tier: String(1 + Math.floor(random() * 3)) })] };
  };
  const blackouts = (): NodeSpec['blackouts'] => {
    if (random() >= 0.1) return [];
    const startMs = WINDOW.startMs + Math.floor(random() * 20) * 3_600_000;
    return [{ startMs, endMs: startMs + 3_600_000, reason: 'maintenance' }];
  };
  sites.forEach((site, i) => {
    nodes.push(attest({
      id: stations[i]!.id, kind: 'ground', ipn: stationIpn(i), operator: `${site.country.toLowerCase()}-${i < ANTENNA_STATIONS ? 'teleport' : 'cloud'}-${1 + Math.floor(random() * 3)}`,
      resources: { cpu: pick([8, 16, 32, 64]), memoryBytes: pick([16, 32, 64, 256]) * 2 ** 30, diskBytes: 2 ** 40, gpu: random() < 0.2 ? 4 : 0 },
      architecture: random() < 0.8 ? 'amd64' : 'arm64', runtimes: ['process', 'docker'],
      pricePerHourMinor: { currency: 'EUR', cpu: 2 + Math.floor(random() * 4), memoryGiB: 1, gpu: 150 },
      jurisdiction: { country: site.country, operatorJurisdiction: site.country }, attestations: [], blackouts: blackouts(),
      reputationPpm: 300_000 + Math.floor(random() * 700_000),
    }));
  });
  for (const e of elements) {
    const norad = Number(e.catalogNumber);
    const registry = starlinkNumbers.has(e.catalogNumber) ? 'US' : REGISTRIES[norad % REGISTRIES.length]!;
    const operatorJurisdiction = starlinkNumbers.has(e.catalogNumber) || random() < 0.8 ? registry : pick(REGISTRIES);
    nodes.push(attest({
      id: `sat-${norad}`, kind: 'orbital', ipn: satelliteIpn(e.catalogNumber), operator: starlinkNumbers.has(e.catalogNumber) ? 'starlink' : `${registry.toLowerCase()}-space-${norad % 5}`,
      resources: { cpu: pick([1, 2, 4, 8]), memoryBytes: pick([2, 4, 8, 16]) * 2 ** 30, diskBytes: 2 ** 36, gpu: random() < 0.1 ? 1 : 0 },
      architecture: random() < 0.7 ? 'arm64' : 'amd64', runtimes: random() < 0.6 ? ['process'] : ['process', 'docker'],
      pricePerHourMinor: { currency: 'EUR', cpu: 20 + Math.floor(random() * 40), memoryGiB: 5, gpu: 500 },
      jurisdiction: { registry, operatorJurisdiction }, attestations: [], blackouts: blackouts(),
      reputationPpm: 300_000 + Math.floor(random() * 700_000), noradId: norad,
    }));
  }
  elapsed = startStopwatch();
  const catalog = new NodeCatalog({ nodes, plan, chainId: CHAIN_ID, auditorKeys, elements, borders });
  const catalogMs = elapsed();
  return {
    plan, catalog, nodes, borders, groundNodes: nodes.filter((n) => n.kind === 'ground'), passes: passes.table.length,
    buildMs: { elements: elementsMs, borders: bordersMs, passes: passesMs, plan: planMs, catalog: catalogMs },
  };
}

interface BenchJob {
  readonly job: JobSpec;
  readonly nowMs: number;
}

/** The job mix described at the top of this file. */
export function benchJobs(world: PlacementWorld, count: number, seed: number, footprint: boolean): BenchJob[] {
  const random = seededRng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const uniform = (low: number, high: number): number => Math.floor(low + random() * (high - low));
  const jobs: BenchJob[] = [];
  for (let i = 0; i < count; i++) {
    const location = pick(world.groundNodes);
    const nowMs = WINDOW.startMs + uniform(0, 12 * 3_600_000);
    const roll = random();
    const countries = roll < 0.4 ? ['EU'] : roll < 0.6 ? [location.jurisdiction.country!] : roll < 0.8 ? FIVE_EYES_AND_JAPAN : undefined;
    const allowedStations = world.groundNodes.filter((n) => n.id.startsWith('gs-') && (countries === undefined || countries.includes(n.jurisdiction.country!)
      || (countries[0] === 'EU' && EU.has(n.jurisdiction.country!))));
    const deliverTo = random() < 0.5 || allowedStations.length === 0 ? [] : [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(allowedStations).id))];
    const orbitalRoll = random();
    const job: JobSpec = {
      name: `bench-${i}`, command: ['./run'], runtime: 'process',
      resources: { cpu: pick([0.5, 1, 2]), memoryBytes: pick([1, 2, 4]) * 2 ** 30 },
      executionMs: footprint ? uniform(60_000, 180_000) : uniform(60_000, 30 * 60_000),
      input: { sizeBytes: uniform(10_000, 1_000_000), location: location.id },
      result: { sizeBytes: uniform(100_000, 50_000_000), deliverTo },
      deadlineMs: nowMs + uniform(2 * 3_600_000, 12 * 3_600_000),
      maxPriceMinor: { currency: 'EUR', amount: uniform(200, 5000) },
      orbital: footprint ? 'required' : orbitalRoll < 0.5 ? 'allowed' : orbitalRoll < 0.8 ? 'required' : 'forbidden',
      ...(countries === undefined ? {} : {
        sovereignty: { atRest: countries, downlink: { countries }, ...(footprint ? { processingFootprint: countries } : {}) },
      }),
      ...(random() < 0.2 ? { attestations: { anyOf: [pick(AUDITORS)] } } : {}),
    };
    jobs.push({ job, nowMs });
  }
  return jobs;
}

const EU = new Set(['AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU', 'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK']);

export interface PlacementRun {
  readonly placements: number;
  readonly placed: number;
  readonly wallMs: number;
  /** CPU time of this process over the run (user + system), which other work on the machine inflates less than wall time. */
  readonly cpuMs: number;
  readonly latenciesMs: readonly number[];
  readonly decisions: readonly { readonly job: BenchJob; readonly decision: PlacementDecision }[];
  readonly refusals: ReadonlyMap<string, number>;
}

/** Places each job and books its routes before the next, timing each placement alone. */
export function runPlacements(world: PlacementWorld, bookings: ContactBookings, jobs: readonly BenchJob[]): PlacementRun {
  const latenciesMs: number[] = [];
  const decisions: { job: BenchJob; decision: PlacementDecision }[] = [];
  const refusals = new Map<string, number>();
  let placed = 0;
  const wall = startStopwatch();
  const cpuBefore = process.cpuUsage();
  for (const bench of jobs) {
    const elapsed = startStopwatch();
    const decision = placeJob({ job: bench.job, nodes: world.catalog, plan: world.plan, bookings, nowMs: bench.nowMs });
    if (decision.placed !== null) reservePlacement(bookings, decision.placed, bench.job);
    latenciesMs.push(elapsed());
    decisions.push({ job: bench, decision });
    if (decision.placed !== null) placed += 1;
    else {
      const main = [...decision.rejected].sort((a, b) => b.nodes - a.nodes)[0]?.reason ?? 'none';
      refusals.set(main, (refusals.get(main) ?? 0) + 1);
    }
  }
  const wallMs = wall();
  const cpu = process.cpuUsage(cpuBefore);
  return { placements: jobs.length, placed, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, latenciesMs, decisions, refusals };
}

/** Re-checks placed routes against CGR's own best route (on the unbooked plan, so CGR may only do as well or better). */
function verifyWithCgr(world: PlacementWorld, run: PlacementRun, count: number): { checked: number; problems: string[] } {
  const problems: string[] = [];
  let checked = 0;
  for (const { job, decision } of run.decisions) {
    if (decision.placed === null || checked >= count) continue;
    checked += 1;
    const p = decision.placed;
    const epochMs = world.plan.epochMs!;
    if (p.resultArrivalMs > job.job.deadlineMs) problems.push(`${job.job.name}: result after the deadline`);
    const node = world.nodes.find((n) => n.id === p.nodeId)!;
    const station = world.nodes.find((n) => n.id === p.resultStation)!;
    if (p.resultRoute.hops.length > 0) {
      const cgr = bestRoute(world.plan, { from: node.ipn, to: station.ipn, atSec: (p.finishMs - epochMs) / 1000, sizeBytes: job.job.result.sizeBytes });
      if (cgr === undefined || cgr.arrivalSec > p.resultRoute.arrivalSec) problems.push(`${job.job.name}: CGR finds no result route as early`);
    }
  }
  return { checked, problems };
}

/** The placement section: builds the federation, then times the two job mixes. */
export async function placementBenchCases(options: { progress: (message: string) => void }): Promise<BenchSection> {
  const { progress } = options;
  const loadBefore = os.loadavg()[0] ?? 0;
  const world = await buildPlacementWorld(progress);
  const bookings = new ContactBookings(world.plan);
  progress(`placement: ${WARMUP_PLACEMENTS} warm-up placements, then ${MEASURED_PLACEMENTS} timed`);
  runPlacements(world, new ContactBookings(world.plan), benchJobs(world, WARMUP_PLACEMENTS, JOBS_SEED + 1, false));
  const main = runPlacements(world, bookings, benchJobs(world, MEASURED_PLACEMENTS, JOBS_SEED, false));
  progress(`placement: ${FOOTPRINT_PLACEMENTS} placements with a processing footprint`);
  const tracksBefore = world.catalog.groundTracks!.samplesComputed;
  const footprint = runPlacements(world, bookings, benchJobs(world, FOOTPRINT_PLACEMENTS, JOBS_SEED + 2, true));
  const trackSamples = world.catalog.groundTracks!.samplesComputed - tracksBefore;
  const verified = verifyWithCgr(world, main, VERIFIED_PLACEMENTS);
  const rate = (run: PlacementRun): number => run.placements / (run.wallMs / 1000);
  const cpuRate = (run: PlacementRun): number => run.placements / (run.cpuMs / 1000);
  const loadAfter = os.loadavg()[0] ?? 0;
  const mainRate = rate(main);
  const caseLabel = `${formatCount(world.nodes.length)} nodes (${formatCount(ORBITAL_NODES)} orbital), 24 h plan of ${formatCount(world.plan.contacts.length)} contacts`;
  const refusalText = (run: PlacementRun): string => [...run.refusals].map(([r, n]) => `${r} ${n}`).join(', ') || 'none';
  const rows: SectionRow[] = [
    {
      caseLabel, measure: 'placements/s, sovereignty + contact-aware scoring, volume booked',
      result: `${formatCount(Math.round(mainRate))}/s`,
      detail: `${formatCount(main.placements)} jobs, ${formatCount(main.placed)} placed; p50 ${percentile(main.latenciesMs, 50).toFixed(2)} ms, p99 ${percentile(main.latenciesMs, 99).toFixed(2)} ms; ${formatCount(Math.round(cpuRate(main)))} per CPU-second; refused: ${refusalText(main)}`,
      target: `≥ ${formatCount(PLACEMENTS_PER_SEC_MIN)}/s`, verdict: mainRate >= PLACEMENTS_PER_SEC_MIN ? 'pass' : 'FAIL',
    },
    {
      caseLabel, measure: 'placements/s, orbital only, with processing footprint (10 s ground track)',
      result: `${formatCount(Math.round(rate(footprint)))}/s`,
      detail: `${formatCount(footprint.placements)} jobs, ${formatCount(footprint.placed)} placed; p50 ${percentile(footprint.latenciesMs, 50).toFixed(2)} ms, p99 ${percentile(footprint.latenciesMs, 99).toFixed(2)} ms; ${formatCount(Math.round(cpuRate(footprint)))} per CPU-second; ${formatCount(trackSamples)} ground-track samples computed; refused: ${refusalText(footprint)}`,
      target: '— (no target)', verdict: '—',
    },
  ];
  return {
    name: 'placement',
    heading: 'Placement',
    intro: 'Placements per second on the issue\'s federation (scheduler/placement.ts), each placement\'s routes booked before the next.',
    rows,
    notes: [
      `Federation: ${formatCount(ORBITAL_NODES)} satellites (leo1000.tle and Starlink, real elements) and ${formatCount(GROUND_NODES)} ground nodes at real places (gpredict sites), ${ANTENNA_STATIONS} of them antenna stations (25° mask), the rest data centres on fibre; 24 h from 2026-06-14T00:00Z; no inter-satellite links; ${formatCount(world.passes)} passes. Built before timing: elements ${formatDuration(world.buildMs.elements)}, borders ${formatDuration(world.buildMs.borders)}, passes ${formatDuration(world.buildMs.passes)}, plan ${formatDuration(world.buildMs.plan)}, catalog ${formatDuration(world.buildMs.catalog)}.`,
      `Jobs: fixed seed; sovereignty on 80 % of them (EU, the input's country, or US/CA/GB/AU/NZ/JP, as atRest and downlink countries); ${WARMUP_PLACEMENTS} warm-up placements (not timed, separate bookings), then ${MEASURED_PLACEMENTS} timed one by one, each booked before the next.`,
      `Routes are the searches' own (policy.cgrRoutes off, the default); checked after the run: ${verified.checked} placed jobs' deadlines, and contact-plans' bestRoute finds no earlier result route on the unbooked plan; ${verified.problems.length === 0 ? 'no problems' : verified.problems.slice(0, 5).join('; ')}.`,
      `Wall-clock rates on a shared 2-core machine: load average ${loadBefore.toFixed(1)} before the build and ${loadAfter.toFixed(1)} after the runs; "per CPU-second" divides by this process's CPU time instead.`,
    ],
  };
}
