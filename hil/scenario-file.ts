// A scenario file (`orbitfed hil run SCENARIO.yaml`): the federation (element sets, stations, nodes,
// validators, tenants, time scale), the jobs to submit and when, the faults to inject and when, and
// how long to run. YAML or JSON through common's loadConfigFile, validated against `ScenarioSchema`
// (unknown keys are errors, every problem reported with file, line and field). Times in a scenario
// are plan seconds after the federation has started and every process serves (`atSec`); paths
// are relative to the file.
//
// Link faults reach the link emulator two ways: `links.drops` (seeded random mid-contact drops) go
// into its map at prepare time, since they follow the plan's contacts, not the scenario's clock;
// `links.flaps` and `flap` faults are scheduled through its control API once the scenario's second
// 0 is known (it depends on how long the start took).
import { dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { loadConfigFile, OrbitfedError, parseConfigText, type ConfigTextOptions } from '../common/index.ts';
import { CHAIN_ID_PATTERN } from '../consensus/index.ts';
import { JobSpecSchema, TENANT_ID_PATTERN, TENANT_ROLES } from '../scheduler/index.ts';
import { FEDERATION_PLAN_HOURS_MAX, FEDERATION_TENANTS_MAX, FEDERATION_VALIDATORS_MAX } from './federation-spec.ts';

export const SCENARIO_JOBS_MAX = 10_000;
export const SCENARIO_FAULTS_MAX = 1_000;
export const SCENARIO_FLAPS_MAX = 1_000;
/** Outages one scheduled flap entry expands to at most (the emulator's own bound per request). */
export const SCENARIO_FLAP_REPEATS_MAX = 100_000;
/** Longest scenario, plan seconds (a week). */
export const SCENARIO_DURATION_SEC_MAX = 7 * 86_400;

const AtSec = Type.Number({ minimum: 0, maximum: SCENARIO_DURATION_SEC_MAX, description: 'Plan seconds after every process of the federation serves.' });
const ProcessName = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,80}$', description: 'A process of the federation: validator-0 …, scheduler, link-emulator, ground-<node>, orbital-<node>.' });
const LinkEnd = Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('all')], { description: 'A plan node number (ipn), or all.' });

export const ScenarioJobSchema = Type.Object({
  atSec: AtSec,
  tenant: Type.String({ pattern: TENANT_ID_PATTERN }),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: SCENARIO_JOBS_MAX, default: 1, description: 'Submit this many copies …' })),
  everySec: Type.Optional(Type.Number({ minimum: 0, maximum: SCENARIO_DURATION_SEC_MAX, default: 0, description: '… this many plan seconds apart.' })),
  deadlineAfterSec: Type.Number({ exclusiveMinimum: 0, maximum: SCENARIO_DURATION_SEC_MAX, description: 'The deadline, plan seconds after submission.' }),
  spec: Type.Omit(JobSpecSchema, ['deadlineMs'], { description: 'The job spec (scheduler/job-spec.ts) without deadlineMs.' }),
}, { additionalProperties: false });

const DownSec = Type.Number({ exclusiveMinimum: 0, maximum: SCENARIO_DURATION_SEC_MAX, description: 'How long the link is down, plan seconds.' });

export const ScenarioFlapSchema = Type.Object({
  from: LinkEnd,
  to: LinkEnd,
  atSec: AtSec,
  downSec: DownSec,
  everySec: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: SCENARIO_DURATION_SEC_MAX, description: 'Period of repeated outages, plan seconds; must exceed downSec.' })),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: SCENARIO_FLAP_REPEATS_MAX, default: 1, description: 'Outages in all (with everySec).' })),
}, { additionalProperties: false, description: 'Scheduled outages of one directed link (from → to, ipn numbers) or of every link (both all).' });

export const ScenarioLinksSchema = Type.Object({
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff, default: 1, description: 'Seed of the random drops (the same seed and plan give the same drops).' })),
  flaps: Type.Optional(Type.Array(ScenarioFlapSchema, { maxItems: SCENARIO_FLAPS_MAX })),
  drops: Type.Optional(Type.Object({
    probabilityPerContact: Type.Number({ minimum: 0, maximum: 1, description: 'Chance that a contact window of a link is broken once.' }),
    downSec: DownSec,
  }, { additionalProperties: false, description: 'Random mid-contact drops, drawn from seed, over every contact of every emulated link.' })),
}, { additionalProperties: false, description: "Faults of the link emulator's links (needs agents)." });

export const ScenarioFaultSchema = Type.Union([
  Type.Object({ atSec: AtSec, kind: Type.Literal('crash'), process: ProcessName }, { additionalProperties: false, description: 'SIGKILL: the process dies at once.' }),
  Type.Object({ atSec: AtSec, kind: Type.Literal('stop'), process: ProcessName }, { additionalProperties: false, description: 'SIGTERM: the process stops gracefully (SIGKILL after the grace period).' }),
  Type.Object({ atSec: AtSec, kind: Type.Literal('start'), process: ProcessName }, { additionalProperties: false, description: 'Start a crashed or stopped process again and wait until it serves.' }),
  Type.Object({ atSec: AtSec, kind: Type.Literal('restart'), process: ProcessName }, { additionalProperties: false, description: 'Stop (SIGTERM) and start again.' }),
  Type.Object({
    atSec: AtSec, kind: Type.Literal('partition'), from: LinkEnd, to: LinkEnd,
    durationSec: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: SCENARIO_DURATION_SEC_MAX, description: 'Restore after this many plan seconds; default: never.' })),
  }, { additionalProperties: false, description: 'Cut a link of the link emulator (from → to); needs a federation with agents.' }),
  Type.Object({
    atSec: AtSec, kind: Type.Literal('flap'), from: LinkEnd, to: LinkEnd, downSec: DownSec,
  }, { additionalProperties: false, description: 'Take a link of the link emulator down for downSec (an outage: its connections reset, it comes back by itself); needs agents.' }),
]);

export const ScenarioSchema = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
  description: Type.Optional(Type.String({ maxLength: 4000 })),
  elements: Type.String({ minLength: 1, description: 'Element sets (TLE or OMM) of the satellites.' }),
  stations: Type.String({ minLength: 1, description: 'The ground stations (YAML, JSON or CSV).' }),
  nodes: Type.String({ minLength: 1, description: 'The compute nodes: a YAML/JSON list of NodeSpecs (samples/demo/nodes.yaml).' }),
  validators: Type.Optional(Type.Integer({ minimum: 1, maximum: FEDERATION_VALIDATORS_MAX, default: 4 })),
  agents: Type.Optional(Type.Boolean({ default: true, description: 'Run the ground and orbital agents (and the link emulator between them); false: validators and scheduler only.' })),
  timeScale: Type.Optional(Type.Number({ minimum: 1, maximum: 10_000, default: 60, description: 'Plan time runs this many times faster than the wall clock.' })),
  planStart: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$', description: "Plan time at start; default: the wall clock's UTC time of day on the day after the newest element epoch (as the demo)." })),
  planHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: FEDERATION_PLAN_HOURS_MAX, default: 24 })),
  chainId: Type.Optional(Type.String({ pattern: CHAIN_ID_PATTERN.source, default: 'orbitfed-scenario' })),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', default: 'EUR' })),
  tenants: Type.Array(Type.Object({
    id: Type.String({ pattern: TENANT_ID_PATTERN }),
    roles: Type.Array(Type.Union(TENANT_ROLES.map((r) => Type.Literal(r))), { minItems: 1, uniqueItems: true }),
    operator: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  }, { additionalProperties: false }), { minItems: 1, maxItems: FEDERATION_TENANTS_MAX }),
  tenantBalanceMinor: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,17}$', default: '1000000', description: "Each tenant's money in the genesis, minor units." })),
  durationSec: Type.Number({ exclusiveMinimum: 0, maximum: SCENARIO_DURATION_SEC_MAX, description: 'How long the scenario runs, plan seconds after start; then the checks.' }),
  jobs: Type.Optional(Type.Array(ScenarioJobSchema, { maxItems: SCENARIO_JOBS_MAX })),
  faults: Type.Optional(Type.Array(ScenarioFaultSchema, { maxItems: SCENARIO_FAULTS_MAX })),
  links: Type.Optional(ScenarioLinksSchema),
  namespaces: Type.Optional(Type.Boolean({ default: false, description: 'Run each orbital agent in a network namespace of its own (Linux, root; needs agents): it reaches the ground only through the link emulator.' })),
  expect: Type.Optional(Type.Object({
    succeededMin: Type.Optional(Type.Integer({ minimum: 0, description: 'At least this many jobs succeed.' })),
    acceptedMin: Type.Optional(Type.Integer({ minimum: 0, description: 'At least this many submissions are accepted (placed).' })),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

export type ScenarioFile = Static<typeof ScenarioSchema>;
export type ScenarioJob = Static<typeof ScenarioJobSchema>;
export type ScenarioFault = Static<typeof ScenarioFaultSchema>;
export type ScenarioFlap = Static<typeof ScenarioFlapSchema>;

/** The link faults with their defaults applied. */
export interface ScenarioLinks {
  readonly seed: number;
  readonly flaps: readonly ScenarioFlap[];
  readonly drops: { readonly probabilityPerContact: number; readonly downSec: number } | undefined;
}

/** A scenario with its paths absolute and its defaults applied. */
export interface Scenario {
  readonly file: ScenarioFile;
  readonly path: string;
  readonly elementsPath: string;
  readonly stationsPath: string;
  readonly nodesPath: string;
  readonly validators: number;
  readonly agents: boolean;
  readonly timeScale: number;
  readonly planStartMs: number | undefined;
  readonly planHours: number;
  readonly chainId: string;
  readonly currency: string;
  readonly tenantBalanceMinor: bigint;
  readonly jobs: readonly ScenarioJob[];
  readonly faults: readonly ScenarioFault[];
  readonly links: ScenarioLinks;
  /** Orbital agents in network namespaces of their own. */
  readonly namespaces: boolean;
}

/** What the schema cannot say: tenants known, times inside the run, job counts bounded. */
export function resolveScenario(file: ScenarioFile, path: string): Scenario {
  const at = (field: string) => ({ file: path, field });
  const tenants = new Set(file.tenants.map((t) => t.id));
  if (tenants.size !== file.tenants.length) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'a tenant is listed twice', at('/tenants'));
  let submissions = 0;
  (file.jobs ?? []).forEach((job, i) => {
    if (!tenants.has(job.tenant)) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `tenant ${job.tenant} is not in tenants`, at(`/jobs/${i}/tenant`));
    const lastSec = job.atSec + ((job.count ?? 1) - 1) * (job.everySec ?? 0);
    if (lastSec > file.durationSec) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `the last submission (${lastSec} s) is after the end of the run (durationSec ${file.durationSec})`, at(`/jobs/${i}`));
    submissions += job.count ?? 1;
  });
  if (submissions > SCENARIO_JOBS_MAX) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `${submissions} submissions; a scenario makes at most ${SCENARIO_JOBS_MAX}`, at('/jobs'));
  const oneOrAll = (end: { from: number | 'all'; to: number | 'all' }, field: string): void => {
    if ((end.from === 'all') !== (end.to === 'all')) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'name one directed link (from and to are ipn numbers) or every link (both all)', at(field));
  };
  (file.faults ?? []).forEach((fault, i) => {
    if (fault.atSec > file.durationSec) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `at ${fault.atSec} s, after the end of the run (durationSec ${file.durationSec})`, at(`/faults/${i}/atSec`));
    if (fault.kind === 'flap' || fault.kind === 'partition') oneOrAll(fault, `/faults/${i}`);
  });
  (file.links?.flaps ?? []).forEach((flap, i) => {
    const field = `/links/flaps/${i}`;
    oneOrAll(flap, field);
    if (flap.atSec > file.durationSec) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `at ${flap.atSec} s, after the end of the run (durationSec ${file.durationSec})`, at(`${field}/atSec`));
    if ((flap.count ?? 1) > 1 && flap.everySec === undefined) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'repeated outages (count > 1) need everySec', at(`${field}/everySec`));
    if (flap.everySec !== undefined && !(flap.everySec > flap.downSec)) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `everySec (${flap.everySec}) must exceed downSec (${flap.downSec}), or the outages merge into one`, at(`${field}/everySec`));
  });
  const linkFaults = (file.links?.flaps?.length ?? 0) > 0 || file.links?.drops !== undefined || (file.faults ?? []).some((f) => f.kind === 'flap' || f.kind === 'partition');
  if (file.namespaces === true && file.agents === false) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'namespaces hold the orbital agents, which run only with agents (agents: true)', at('/namespaces'));
  if (linkFaults && file.agents === false) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', 'link faults (links, partition, flap) act on the link emulator, which runs only with agents (agents: true)', at(file.links === undefined ? '/faults' : '/links'));
  const base = dirname(resolve(path));
  const planStartMs = file.planStart === undefined ? undefined : Date.parse(file.planStart);
  if (planStartMs !== undefined && !Number.isFinite(planStartMs)) throw new OrbitfedError('ORBITFED_SCENARIO_INVALID', `${file.planStart} is not an instant`, at('/planStart'));
  return {
    file,
    path,
    elementsPath: resolve(base, file.elements),
    stationsPath: resolve(base, file.stations),
    nodesPath: resolve(base, file.nodes),
    validators: file.validators ?? 4,
    agents: file.agents ?? true,
    timeScale: file.timeScale ?? 60,
    planStartMs,
    planHours: file.planHours ?? 24,
    chainId: file.chainId ?? 'orbitfed-scenario',
    currency: file.currency ?? 'EUR',
    tenantBalanceMinor: BigInt(file.tenantBalanceMinor ?? '1000000'),
    jobs: file.jobs ?? [],
    faults: file.faults ?? [],
    links: { seed: file.links?.seed ?? 1, flaps: file.links?.flaps ?? [], drops: file.links?.drops },
    namespaces: file.namespaces ?? false,
  };
}

export async function loadScenarioFile(path: string): Promise<Scenario> {
  return resolveScenario(await loadConfigFile(path, ScenarioSchema, 'scenario'), path);
}

export function parseScenarioText(text: string, options: ConfigTextOptions): Scenario {
  return resolveScenario(parseConfigText(text, ScenarioSchema, options), options.file);
}
