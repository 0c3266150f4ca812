// A job as a tenant submits it: what to run, with what, where its input is, where its result
// must go and by when, what it may cost, and where its data may be (sovereignty). Declared once
// as a TypeBox schema (unknown fields refused everywhere); the REST API validates bodies and
// writes its OpenAPI document from it, and placement codes against its `Static` type.
import { CloneType, Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { isCountryOrRegion, REGIONS } from './country-codes.ts';
import { ArchitectureSchema, CURRENCY_CODE_PATTERN, NodeIdSchema, RuntimeSchema, UnixMsSchema, type Runtime } from './node-spec.ts';
import { schemaProblems, throwIfProblems, type SpecProblem } from './spec-problems.ts';

/** Longest execution a job may ask for (30 days); also the longest `lostAfterMs`. */
export const EXECUTION_MS_MAX = 30 * 86_400_000;
/** Largest input or result (1 TiB): far beyond what a pass moves, small enough for exact arithmetic. */
export const DATA_SIZE_BYTES_MAX = 2 ** 40;
export const PRIORITY_MAX = 1000;
/** Entries per node-id list (deliverTo, stations, affinity) and per code list (countries, regions). */
export const NODE_LIST_MAX = 256;
export const CODE_LIST_MAX = 300;
export const AUDITOR_LIST_MAX = 16;
export const COMMAND_ARGS_MAX = 64;

/** Alpha-2 code or region name ('EU', 'EEA'); whether it is known is checked after the schema. */
const CountryOrRegionSchema = Type.String({ pattern: '^[A-Z]{2,3}$', description: `ISO 3166-1 alpha-2 code or region (${[...REGIONS.keys()].join(', ')}).` });
const CountryListSchema = Type.Array(CountryOrRegionSchema, { maxItems: CODE_LIST_MAX, uniqueItems: true });
const NodeListSchema = Type.Array(NodeIdSchema, { maxItems: NODE_LIST_MAX, uniqueItems: true });
const OperatorListSchema = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: NODE_LIST_MAX, uniqueItems: true });
const AuditorListSchema = Type.Array(NodeIdSchema, { maxItems: AUDITOR_LIST_MAX, uniqueItems: true });

const NodeSelectorSchema = Type.Object(
  { nodes: Type.Optional(NodeListSchema), operators: Type.Optional(OperatorListSchema) },
  { additionalProperties: false },
);

export const OrbitalPolicySchema = Type.Union([Type.Literal('allowed'), Type.Literal('required'), Type.Literal('forbidden')]);
export const SpreadKeySchema = Type.Union([Type.Literal('operator'), Type.Literal('country')]);

export const JobSpecSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Container image (runtime docker).' })),
    command: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { minItems: 1, maxItems: COMMAND_ARGS_MAX, description: 'Program and arguments (runtime process), or the command of the image.' })),
    runtime: Type.Optional(CloneType(RuntimeSchema, { description: 'Default: docker when an image is given, else process.' })),
    resources: Type.Object(
      {
        cpu: Type.Number({ exclusiveMinimum: 0, maximum: 4096, description: 'Cores.' }),
        memoryBytes: Type.Integer({ minimum: 1, maximum: 2 ** 50 }),
        diskBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
        gpu: Type.Optional(Type.Integer({ minimum: 0, maximum: 1024 })),
      },
      { additionalProperties: false },
    ),
    architecture: Type.Optional(ArchitectureSchema),
    executionMs: Type.Integer({ minimum: 1, maximum: EXECUTION_MS_MAX, description: 'Expected run time on the node.' }),
    input: Type.Object(
      {
        sizeBytes: Type.Integer({ minimum: 0, maximum: DATA_SIZE_BYTES_MAX }),
        location: CloneType(NodeIdSchema, { description: 'Node where the input is now (usually a ground station).' }),
      },
      { additionalProperties: false },
    ),
    result: Type.Object(
      {
        sizeBytes: Type.Integer({ minimum: 0, maximum: DATA_SIZE_BYTES_MAX }),
        deliverTo: CloneType(NodeListSchema, { description: 'Ground stations that may receive the result; empty = any that sovereignty allows.' }),
      },
      { additionalProperties: false },
    ),
    deadlineMs: CloneType(UnixMsSchema, { description: 'Unix ms by which the result must be at a deliverTo station.' }),
    maxPriceMinor: Type.Object(
      {
        currency: Type.String({ pattern: CURRENCY_CODE_PATTERN, minLength: 3, maxLength: 3 }),
        amount: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Minor units (cents).' }),
      },
      { additionalProperties: false },
    ),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: PRIORITY_MAX })),
    minReputationPpm: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Only nodes whose ledger reputation is at least this (parts per million).' })),
    lostAfterMs: Type.Optional(Type.Integer({ minimum: 1, maximum: EXECUTION_MS_MAX, description: 'How long a silent node keeps the job before it is rescheduled.' })),
    orbital: Type.Optional(CloneType(OrbitalPolicySchema, { description: 'Default: allowed.' })),
    affinity: Type.Optional(CloneType(NodeSelectorSchema, { description: 'Only these nodes / operators.' })),
    antiAffinity: Type.Optional(CloneType(NodeSelectorSchema, { description: 'Never these nodes / operators.' })),
    spreadKey: Type.Optional(CloneType(SpreadKeySchema, { description: 'Prefer nodes whose operator / country runs fewer jobs (spreadCounts).' })),
    sovereignty: Type.Optional(
      Type.Object(
        {
          atRest: Type.Optional(CloneType(CountryListSchema, { description: 'Where the data may be stored: ground nodes by country, satellites by registry and operator jurisdiction.' })),
          downlink: Type.Optional(
            Type.Object(
              {
                countries: Type.Optional(CloneType(CountryListSchema, { description: 'Ground stations in these countries may receive the data.' })),
                stations: Type.Optional(CloneType(NodeListSchema, { description: 'These ground stations may receive the data.' })),
              },
              { additionalProperties: false },
            ),
          ),
          processingFootprint: Type.Optional(CloneType(CountryListSchema, { description: "Satellites: the sub-point stays inside these countries for the whole execution (best effort, sampled every 10 s)." })),
        },
        { additionalProperties: false },
      ),
    ),
    attestations: Type.Optional(
      Type.Object(
        { allOf: Type.Optional(AuditorListSchema), anyOf: Type.Optional(AuditorListSchema) },
        { additionalProperties: false, description: 'Auditors that must (allOf) / at least one of which must (anyOf) have attested the node.' },
      ),
    ),
  },
  { additionalProperties: false },
);

export type JobSpec = Static<typeof JobSpecSchema>;
export type OrbitalPolicy = Static<typeof OrbitalPolicySchema>;
export type SpreadKey = Static<typeof SpreadKeySchema>;

const jobSpecChecker = TypeCompiler.Compile(JobSpecSchema);

/** The runtime a job runs under: as given, else docker for an image, else process. */
export function jobRuntime(job: JobSpec): Runtime {
  return job.runtime ?? (job.image !== undefined ? 'docker' : 'process');
}

/** What the schema cannot say about a schema-valid job spec, at `nowMs`. */
export function jobSpecRuleProblems(job: JobSpec, nowMs: number): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (job.image === undefined && job.command === undefined) problems.push({ field: '/image', message: 'give an image or a command' });
  if (job.runtime === 'docker' && job.image === undefined) problems.push({ field: '/image', message: 'the docker runtime needs an image' });
  if (job.runtime === 'process' && job.command === undefined) problems.push({ field: '/command', message: 'the process runtime needs a command' });
  if (!(job.deadlineMs > nowMs)) problems.push({ field: '/deadlineMs', message: `${job.deadlineMs} is not in the future (now ${Math.floor(nowMs)})` });
  const codeLists: [string, readonly string[] | undefined][] = [
    ['/sovereignty/atRest', job.sovereignty?.atRest],
    ['/sovereignty/downlink/countries', job.sovereignty?.downlink?.countries],
    ['/sovereignty/processingFootprint', job.sovereignty?.processingFootprint],
  ];
  for (const [field, codes] of codeLists) {
    codes?.forEach((code, i) => {
      if (!isCountryOrRegion(code)) {
        const hint = code === 'UK' ? '; the United Kingdom is "GB"' : '';
        problems.push({ field: `${field}/${i}`, message: `"${code}" is neither an assigned ISO 3166-1 alpha-2 code nor a region (${[...REGIONS.keys()].join(', ')})${hint}` });
      }
    });
  }
  for (const key of ['nodes', 'operators'] as const) {
    const avoided = new Set(job.antiAffinity?.[key] ?? []);
    job.affinity?.[key]?.forEach((name, i) => {
      if (avoided.has(name)) problems.push({ field: `/affinity/${key}/${i}`, message: `"${name}" is also in antiAffinity.${key}` });
    });
  }
  return problems;
}

/** Every problem of an untrusted value as a job spec at `nowMs`: schema first, then the rules (only on a schema-valid value). */
export function jobSpecProblems(value: unknown, nowMs: number): SpecProblem[] {
  const problems = schemaProblems(jobSpecChecker, value);
  return problems.length > 0 ? problems : jobSpecRuleProblems(value as JobSpec, nowMs);
}

/** The value as a JobSpec, or `ORBITFED_JOB_SPEC_INVALID` naming the first offending field and listing the rest. */
export function parseJobSpec(value: unknown, nowMs: number): JobSpec {
  throwIfProblems('ORBITFED_JOB_SPEC_INVALID', 'job spec', jobSpecProblems(value, nowMs));
  return value as JobSpec;
}
