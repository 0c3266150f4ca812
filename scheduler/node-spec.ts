// A compute node as its operator registers it with the scheduler: resources, prices, where it is
// under the law (country for ground nodes; state of registry and operator jurisdiction for
// satellites), what auditors attest about it, and when it is unavailable. Declared once as a
// TypeBox schema: the REST API validates bodies and writes its OpenAPI document from it, and
// placement codes against its `Static` type.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { checkPublicKeyForRegistration } from '../consensus/index.ts';
import { isCountryCode } from './country-codes.ts';
import { schemaProblems, throwIfProblems, type SpecProblem } from './spec-problems.ts';

/** Node ids: lower-case, 1–64 of [a-z0-9._-], starting with a letter or digit (usable as DNS labels and file names). */
export const NODE_ID_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
/** ISO 3166-1 alpha-2 shape; whether the code is assigned is checked after the schema. */
export const ALPHA2_PATTERN = '^[A-Z]{2}$';
/** ISO 4217 alphabetic currency code. */
export const CURRENCY_CODE_PATTERN = '^[A-Z]{3}$';
/** Latest instant a spec may name: year 2999, far beyond any plan, well inside a safe integer. */
export const UNIX_MS_MAX = 32_503_680_000_000;
/** Entries per list (blackouts; attestations per node). */
export const BLACKOUTS_MAX = 256;
export const ATTESTATIONS_PER_NODE_MAX = 16;
export const ATTESTATION_ATTRIBUTES_MAX = 32;
/** Reputation when the ledger has none yet (consensus/README: reputation starts at 500,000 ppm). */
export const REPUTATION_PPM_DEFAULT = 500_000;
export const REPUTATION_PPM_MAX = 1_000_000;

export const NodeKindSchema = Type.Union([Type.Literal('ground'), Type.Literal('orbital')]);
export const ArchitectureSchema = Type.Union([Type.Literal('amd64'), Type.Literal('arm64'), Type.Literal('riscv64')]);
export const RuntimeSchema = Type.Union([Type.Literal('process'), Type.Literal('docker')]);

export const NodeIdSchema = Type.String({ pattern: NODE_ID_PATTERN, maxLength: 64, description: 'Node id: 1–64 of [a-z0-9._-], starting with a letter or digit.' });
/** An ISO 3166-1 alpha-2 code; whether it is assigned is checked after the schema. */
export const countryCodeSchema = (description: string) =>
  Type.String({ pattern: ALPHA2_PATTERN, minLength: 2, maxLength: 2, description: `${description} ISO 3166-1 alpha-2, officially assigned (GB, not UK).` });
export const UnixMsSchema = Type.Integer({ minimum: 0, maximum: UNIX_MS_MAX, description: 'UTC milliseconds since the Unix epoch.' });

export const AttestationSchema = Type.Object(
  {
    auditor: Type.String({ pattern: NODE_ID_PATTERN, maxLength: 64, description: 'Id of the auditor whose key signed this attestation.' }),
    attributes: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }), Type.String({ maxLength: 256 }), {
      maxProperties: ATTESTATION_ATTRIBUTES_MAX,
      description: 'What the auditor attests ("tier": "3"). Keys named country, registry or operatorJurisdiction must agree with the node\'s jurisdiction, or the attestation does not count.',
    }),
    signature: Type.String({ pattern: '^[0-9a-f]{128}$', description: 'ed25519 signature (64 bytes, lower-case hex) over attestationSigningBytes.' }),
  },
  { additionalProperties: false },
);

export const BlackoutSchema = Type.Object(
  {
    startMs: UnixMsSchema,
    endMs: UnixMsSchema,
    reason: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false, description: 'The node runs nothing in [startMs, endMs).' },
);

export const NodeSpecSchema = Type.Object(
  {
    id: NodeIdSchema,
    kind: NodeKindSchema,
    ipn: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "The node's ipn node number in the contact plan." }),
    operator: Type.String({ minLength: 1, maxLength: 128 }),
    resources: Type.Object(
      {
        cpu: Type.Number({ exclusiveMinimum: 0, maximum: 4096, description: 'Cores (fractions allowed).' }),
        memoryBytes: Type.Integer({ minimum: 1, maximum: 2 ** 50 }),
        diskBytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
        gpu: Type.Integer({ minimum: 0, maximum: 1024 }),
      },
      { additionalProperties: false },
    ),
    architecture: ArchitectureSchema,
    runtimes: Type.Array(RuntimeSchema, { minItems: 1, maxItems: 2, uniqueItems: true }),
    pricePerHourMinor: Type.Object(
      {
        currency: Type.String({ pattern: CURRENCY_CODE_PATTERN, minLength: 3, maxLength: 3 }),
        cpu: Type.Integer({ minimum: 0, maximum: 1e12, description: 'Minor units per core-hour.' }),
        memoryGiB: Type.Integer({ minimum: 0, maximum: 1e12, description: 'Minor units per GiB-hour.' }),
        gpu: Type.Integer({ minimum: 0, maximum: 1e12, description: 'Minor units per GPU-hour.' }),
      },
      { additionalProperties: false },
    ),
    jurisdiction: Type.Object(
      {
        country: Type.Optional(countryCodeSchema('Where a ground node stands (required for ground nodes).')),
        registry: Type.Optional(countryCodeSchema("A satellite's state of registry (required for orbital nodes).")),
        operatorJurisdiction: Type.Optional(countryCodeSchema("Where the node's operator is established.")),
      },
      { additionalProperties: false },
    ),
    attestations: Type.Array(AttestationSchema, { maxItems: ATTESTATIONS_PER_NODE_MAX }),
    blackouts: Type.Array(BlackoutSchema, { maxItems: BLACKOUTS_MAX }),
    reputationPpm: Type.Optional(Type.Integer({ minimum: 0, maximum: REPUTATION_PPM_MAX, description: `From the ledger; ${REPUTATION_PPM_DEFAULT} when absent.` })),
    noradId: Type.Optional(Type.Integer({ minimum: 1, maximum: 339_999, description: "Orbital nodes: the satellite's catalog number (Alpha-5 range), for its ground track." })),
    publicKeyHex: Type.Optional(Type.String({
      pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64,
      description: "The node's ed25519 public key (lower-case hex): the scheduler verifies the node's signed reports and results under it. Without it the scheduler asks the validators' node registry (ledger.validatorRpcUrl). Small-order and non-canonical keys are refused.",
    })),
  },
  { additionalProperties: false },
);

export type NodeSpec = Static<typeof NodeSpecSchema>;
export type NodeKind = Static<typeof NodeKindSchema>;
export type Architecture = Static<typeof ArchitectureSchema>;
export type Runtime = Static<typeof RuntimeSchema>;
export type Attestation = Static<typeof AttestationSchema>;
export type Blackout = Static<typeof BlackoutSchema>;

const nodeSpecChecker = TypeCompiler.Compile(NodeSpecSchema);

/** What the schema cannot say about a schema-valid node spec. */
export function nodeSpecRuleProblems(spec: NodeSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const { country, registry, operatorJurisdiction } = spec.jurisdiction;
  if (spec.kind === 'ground' && country === undefined) problems.push({ field: '/jurisdiction/country', message: 'a ground node needs the country it stands in' });
  if (spec.kind === 'orbital' && registry === undefined) problems.push({ field: '/jurisdiction/registry', message: 'an orbital node needs its state of registry' });
  if (spec.kind === 'ground' && spec.noradId !== undefined) problems.push({ field: '/noradId', message: 'only orbital nodes have a catalog number' });
  for (const [key, code] of [['country', country], ['registry', registry], ['operatorJurisdiction', operatorJurisdiction]] as const) {
    if (code !== undefined && !isCountryCode(code)) {
      const hint = code === 'UK' ? '; the United Kingdom is "GB"' : '';
      problems.push({ field: `/jurisdiction/${key}`, message: `"${code}" is not an assigned ISO 3166-1 alpha-2 code${hint}` });
    }
  }
  if (spec.publicKeyHex !== undefined) {
    // consensus/README.md: keys are checked at registration (small order, non-canonical, off the curve, torsion).
    const check = checkPublicKeyForRegistration(new Uint8Array(Buffer.from(spec.publicKeyHex, 'hex')));
    if (!check.ok) problems.push({ field: '/publicKeyHex', message: `public key refused (${check.reason}): ${check.detail}` });
  }
  spec.blackouts.forEach((b, i) => {
    if (!(b.endMs > b.startMs)) problems.push({ field: `/blackouts/${i}/endMs`, message: `must be after startMs (${b.startMs}), got ${b.endMs}` });
  });
  return problems;
}

/** Every problem of an untrusted value as a node spec: schema first, then the rules (only on a schema-valid value). */
export function nodeSpecProblems(value: unknown): SpecProblem[] {
  const problems = schemaProblems(nodeSpecChecker, value);
  return problems.length > 0 ? problems : nodeSpecRuleProblems(value as NodeSpec);
}

/** The value as a NodeSpec, or `ORBITFED_NODE_SPEC_INVALID` naming the first offending field and listing the rest. */
export function parseNodeSpec(value: unknown): NodeSpec {
  throwIfProblems('ORBITFED_NODE_SPEC_INVALID', 'node spec', nodeSpecProblems(value));
  return value as NodeSpec;
}
