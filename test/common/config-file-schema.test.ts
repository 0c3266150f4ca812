// common/config-file.ts checks configuration files and contact plans itself, without TypeBox's Value
// and compiler (orbital/README.md, "Memory and start-up"), and must answer exactly as TypeBox's
// Value.Check / Value.Errors do: same verdict, same problems in the same order, same messages and
// paths. Held to that on the real schemas (the orbital agent's configuration, the contact plan) and
// on one that uses every keyword it supports, over seeded random mutations of valid documents: keys
// dropped, unknown keys added, values replaced by others of every JSON type (and by the NaN and
// Infinity that YAML's .nan and .inf produce).
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { schemaChecker, seededRng } from '../../common/index.ts';
import { ContactPlanJsonSchema } from '../../contact-plans/plan-json.ts';
import { OrbitalConfigSchema } from '../../orbital/orbital-config.ts';

const EVERY_KEYWORD = Type.Object({
  name: Type.String({ minLength: 2, maxLength: 8, pattern: '^[a-z~/]+$', description: 'annotations are ignored' }),
  count: Type.Integer({ minimum: 1, maximum: 10, multipleOf: 1 }),
  ratio: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  step: Type.Optional(Type.Number({ multipleOf: 0.5 })),
  on: Type.Boolean(),
  mode: Type.Union([Type.Literal('a'), Type.Literal(2), Type.Literal(true), Type.Null()]),
  tags: Type.Array(Type.String(), { minItems: 1, maxItems: 3 }),
  'odd/key~': Type.Optional(Type.Object({ deep: Type.Array(Type.Object({ x: Type.Integer() }, { additionalProperties: false })) })),
  anything: Type.Optional(Type.Unknown()),
  missingProperty: Type.Optional(Type.String()),
}, { additionalProperties: false });

const VALID: readonly (readonly [string, TSchema, unknown])[] = [
  ['every supported keyword', EVERY_KEYWORD, {
    name: 'ab~/', count: 3, ratio: 0.5, step: 1.5, on: false, mode: null, tags: ['x'], 'odd/key~': { deep: [{ x: 1 }, { x: 2 }] }, anything: [1],
  }],
  ['the orbital agent\'s configuration', OrbitalConfigSchema, {
    nodeId: 'sat-1', chainId: 'orbitfed-local', ipnNumber: 1001, keyFile: 'node.key', keyEpoch: 0,
    schedulerPublicKey: 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c',
    dataDir: 'data', storageBytesMax: 268_435_456, storageBundlesMax: 12_000, contactPlan: { file: 'plan.json' },
    convergenceLayers: { tcpclv4: { listen: '127.0.0.1:4556' }, mtcp: {} },
    peers: [{ node: 10, cl: 'tcpclv4', address: '127.0.0.1:4557' }],
    runtime: { kind: 'process', cgroups: 'auto' },
    limits: { concurrentJobs: 1, queuedJobsMax: 64, jobTimeMsMax: 3_600_000, memoryBytesMax: 268_435_456, resultBytesMax: 4_194_304 },
    endpoints: { reportsTo: 'ipn:10.2', receiptsTo: 'ipn:10.4', telemetryTo: 'ipn:10.5' },
    telemetryPeriodMs: 60_000, heartbeatPeriodMs: 600_000, logLevel: 'info', metricsPort: 9464,
  }],
  ['the contact plan', ContactPlanJsonSchema, {
    format: 'orbitfed-contact-plan', version: 1, epoch: '2026-06-14T00:00:00.000000Z',
    nodes: [{ ipn: 1, id: 'SVALBARD', kind: 'ground' }],
    contacts: [{ from: 1, to: 2, start: '2026-06-14T00:00:00.000000Z', end: '2026-06-14T00:10:00.000000Z', startSec: 0, endSec: 600, rateBytesPerSec: 1000, owltSec: 0.01, confidence: 1 }],
  }],
];

type Rng = () => number;
const pick = <T,>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

function randomValue(rng: Rng, depth = 0): unknown {
  const choices: (() => unknown)[] = [
    () => null, () => true, () => false, () => '', () => 'a', () => 'ab~/', () => 'x'.repeat(9), () => 'tcpclv4', () => 'ipn:10.2',
    () => 0, () => -1, () => 1, () => 2, () => 0.5, () => 1.5, () => 10, () => 11, () => 2 ** 60, () => Number.NaN, () => Number.POSITIVE_INFINITY,
    () => [], () => ['x', 'y', 'z', 'w'], () => ({}),
  ];
  if (depth < 2) choices.push(() => [randomValue(rng, depth + 1)], () => ({ [pick(rng, ['x', 'deep', 'file', 'listen'])]: randomValue(rng, depth + 1) }));
  return pick(rng, choices)();
}

/** Every [container, key] inside `document`. */
function slots(document: unknown): [Record<string | number, unknown>, string | number][] {
  if (typeof document !== 'object' || document === null) return [];
  const container = document as Record<string | number, unknown>;
  return Object.keys(container).flatMap((key) => [[container, Array.isArray(document) ? Number(key) : key] as [Record<string | number, unknown>, string | number], ...slots(container[key])]);
}

function mutate(rng: Rng, valid: unknown): unknown {
  const document = structuredClone(valid);
  for (let n = 1 + Math.floor(rng() * 3); n > 0; n--) {
    const all = slots(document);
    if (all.length === 0) break;
    const [container, key] = pick(rng, all);
    const action = rng();
    if (action < 0.3 && !Array.isArray(container)) delete container[key];
    else if (action < 0.45 && !Array.isArray(container)) container[pick(rng, ['unknown', 'nodeid', 'x', 'odd/key~'])] = randomValue(rng);
    else container[key] = randomValue(rng);
  }
  return rng() < 0.03 ? randomValue(rng) : document;
}

const typeBoxAnswer = (schema: TSchema, value: unknown) => ({
  check: Value.Check(schema, value),
  problems: [...Value.Errors(schema, value)].map((e) => ({ message: e.message, path: e.path, value: e.value })),
});
const ourAnswer = (schema: TSchema, value: unknown) => {
  const checker = schemaChecker(schema);
  return { check: checker.check(value), problems: [...checker.problems(value)] };
};

describe('the configuration schema check', () => {
  for (const [name, schema, valid] of VALID) {
    it(`answers as TypeBox's Value does on ${name}, valid and mutated 1,500 ways (seed 8)`, () => {
      expect(ourAnswer(schema, valid)).toEqual({ check: true, problems: [] });
      expect(typeBoxAnswer(schema, valid).check).toBe(true);
      const rng = seededRng(8);
      let refused = 0;
      const messages = new Set<string>();
      for (let i = 0; i < 1_500; i++) {
        const document = mutate(rng, valid);
        const ours = ourAnswer(schema, document);
        expect(ours, JSON.stringify(document)).toEqual(typeBoxAnswer(schema, document));
        if (!ours.check) refused++;
        for (const problem of ours.problems) messages.add(problem.message.replace(/\d+(\.\d+)?/g, 'N'));
      }
      expect(refused).toBeGreaterThan(1_000);
      // The corpus reaches most kinds of problem: type, bounds, lengths, patterns, unions, missing and unknown keys.
      expect(messages.size).toBeGreaterThanOrEqual(14);
    });
  }

  it('leaves schemas with keywords it does not know to TypeBox, with the same answers', () => {
    const schema = Type.Object({ email: Type.String({ format: 'email' }), ids: Type.Array(Type.Integer(), { uniqueItems: true }), map: Type.Record(Type.String(), Type.Integer()) });
    for (const value of [{ email: 'x', ids: [1, 1], map: { a: 'b' } }, { email: 'x', ids: [1], map: {} }, 7]) {
      expect(ourAnswer(schema, value)).toEqual(typeBoxAnswer(schema, value));
    }
  });
});
