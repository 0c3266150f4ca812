// orbitfed's own contact plan file: JSON declared once as a TypeBox schema (`ContactPlanJsonSchema`)
// and documented field by field in PLAN-FORMAT.md. Unlike the ION and HDTN formats it keeps
// everything a `ContactPlan` holds: node ids and kinds, the epoch, fractional seconds, confidence.
//
// Decisions:
// - `startSec`/`endSec` (seconds from the epoch, any double) are the contact's times; `start`/`end`
//   (ISO 8601 UTC to the microsecond) are written when the epoch is known, for people and tools
//   that want absolute times, and checked against `startSec`/`endSec` when read.
// - The epoch is kept to the microsecond. `hash` is the SHA-256 of the plan as a reader will build
//   it (`ContactPlan.hash`); a file whose content no longer matches it is refused
//   (`ORBITFED_PLAN_HASH`), so an edited plan cannot pass for the one that was agreed on. A file
//   without `hash` is accepted.
// - What the schema cannot say (unique node numbers, from ≠ to, end ≥ start, ISO dates that exist)
//   is checked after it, so `ContactPlan`'s own assertions never see bad input.
import { Type, type Static } from '@sinclair/typebox';
import { OrbitfedError, isoFromUnixMicros, schemaChecker } from '../common/index.ts';
import { ContactPlan, PLAN_CONTACTS_MAX, PLAN_WRITE_CHUNK_CONTACTS, type Contact, type ContactPlanData, type PlanNode } from './contact-plan.ts';
import { parseJson } from './hdtn-contact-plan.ts';

/** Larger text is refused (`ORBITFED_PLAN_TOO_LARGE`): ~250 bytes a contact, so ~1M contacts. */
export const PLAN_JSON_BYTES_MAX = 256 * 1024 * 1024;

export const CONTACT_PLAN_JSON_FORMAT = 'orbitfed-contact-plan';
export const CONTACT_PLAN_JSON_VERSION = 1;

const ISO_MICROS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z$';
const IsoMicros = (description: string) =>
  Type.String({ pattern: ISO_MICROS_PATTERN, description: `${description} YYYY-MM-DDThh:mm:ss.ffffffZ (UTC, microseconds).` });
const NodeNumber = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });

export const PlanNodeJsonSchema = Type.Object(
  {
    ipn: NodeNumber('The node number (ipn scheme), as ION and HDTN name nodes.'),
    id: Type.String({ minLength: 1, maxLength: 200, description: 'Station id, satellite catalog number, or the decimal ipn number.' }),
    kind: Type.Union([Type.Literal('ground'), Type.Literal('satellite'), Type.Literal('other')]),
  },
  { additionalProperties: false },
);

export const ContactJsonSchema = Type.Object(
  {
    from: NodeNumber('Sending node (ipn number).'),
    to: NodeNumber('Receiving node (ipn number); differs from `from`.'),
    start: Type.Optional(IsoMicros('Start as an absolute time, only when the plan has an epoch:')),
    end: Type.Optional(IsoMicros('End as an absolute time, only when the plan has an epoch:')),
    startSec: Type.Number({ description: 'Start, seconds after the epoch (or time 0 of an abstract plan).' }),
    endSec: Type.Number({ description: 'End, seconds after the epoch; ≥ startSec (equal: an empty contact).' }),
    rateBytesPerSec: Type.Number({ minimum: 0, description: 'Transmission rate, bytes per second.' }),
    owltSec: Type.Number({ minimum: 0, description: 'One-way light time during the contact, seconds.' }),
    confidence: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Probability that the contact happens.' }),
  },
  { additionalProperties: false },
);

export const ContactPlanJsonSchema = Type.Object(
  {
    format: Type.Literal(CONTACT_PLAN_JSON_FORMAT),
    version: Type.Literal(CONTACT_PLAN_JSON_VERSION),
    hash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the plan (ContactPlan.hash), lower-case hex.' })),
    epoch: Type.Union([IsoMicros('Time 0 of the plan:'), Type.Null()], { description: 'null for an abstract time base.' }),
    nodes: Type.Array(PlanNodeJsonSchema, { maxItems: PLAN_CONTACTS_MAX }),
    contacts: Type.Array(ContactJsonSchema, { maxItems: PLAN_CONTACTS_MAX }),
  },
  { additionalProperties: false },
);

export type ContactPlanJson = Static<typeof ContactPlanJsonSchema>;

// common/'s checker, with TypeBox's messages, rather than TypeBox's compiler: the orbital agent
// reads plans, and the compiler with TypeBox's Value is ~1.5 MB of its memory (orbital/README.md).
const planChecker = schemaChecker(ContactPlanJsonSchema);

/** Reads and checks an orbitfed contact plan file (schema, consistency, then hash if present). */
export function parseContactPlanJson(text: string, file: string): ContactPlanData {
  if (Buffer.byteLength(text, 'utf8') > PLAN_JSON_BYTES_MAX) {
    throw new OrbitfedError('ORBITFED_PLAN_TOO_LARGE', `plan text is larger than ${PLAN_JSON_BYTES_MAX} bytes`, { file });
  }
  const document = parseJson(text, file, 'ORBITFED_PLAN_JSON');
  const fail = (field: string | undefined, message: string): OrbitfedError =>
    new OrbitfedError('ORBITFED_PLAN_JSON', message, { file, field });
  if (typeof document !== 'object' || document === null || Array.isArray(document) || !('format' in document)
    || document.format !== CONTACT_PLAN_JSON_FORMAT) {
    throw fail('format', `not an orbitfed contact plan (expected "format": "${CONTACT_PLAN_JSON_FORMAT}")`);
  }
  if (!('version' in document)) throw fail('version', 'missing field');
  if (document.version !== CONTACT_PLAN_JSON_VERSION) {
    throw fail('version', `version ${JSON.stringify(document.version)} is not one this reader knows (${CONTACT_PLAN_JSON_VERSION})`);
  }
  if (!planChecker.check(document)) {
    const error = planChecker.problems(document).next().value!;
    const got = error.value === undefined ? 'missing' : `got ${JSON.stringify(error.value)?.slice(0, 60)}`;
    throw fail(jsonPath(error.path), `${error.message} (${got})`);
  }
  const plan = document;

  const epochMicros = plan.epoch === null ? undefined : isoMicros(plan.epoch);
  if (plan.epoch !== null && epochMicros === undefined) throw fail('epoch', `${plan.epoch} is not a UTC date and time`);

  const nodes: PlanNode[] = [];
  const nodeIndex = new Map<number, number>();
  plan.nodes.forEach((node, index) => {
    const first = nodeIndex.get(node.ipn);
    if (first !== undefined) throw fail(`nodes[${index}].ipn`, `ipn ${node.ipn} is listed twice (first at nodes[${first}])`);
    nodeIndex.set(node.ipn, index);
    nodes.push({ ipn: node.ipn, id: node.id, kind: node.kind });
  });

  const contacts: Contact[] = plan.contacts.map((c, index) => {
    const path = `contacts[${index}]`;
    if (c.from === c.to) throw fail(`${path}.to`, `a contact joins two different nodes (from and to are both ${c.from})`);
    if (c.endSec < c.startSec) throw fail(`${path}.endSec`, `ends ${c.startSec - c.endSec} s before it starts`);
    for (const [key, sec] of [['start', c.startSec], ['end', c.endSec]] as const) {
      const iso = c[key];
      if (iso === undefined) continue;
      if (epochMicros === undefined) throw fail(`${path}.${key}`, 'absolute times need an epoch; this plan has none ("epoch": null)');
      const expected = isoFromUnixMicros(epochMicros + Math.round(sec * 1e6));
      if (iso !== expected) throw fail(`${path}.${key}`, `${iso} does not match ${key}Sec ${sec} (${expected})`);
    }
    return {
      from: c.from,
      to: c.to,
      startSec: c.startSec,
      endSec: c.endSec,
      rateBytesPerSec: c.rateBytesPerSec,
      owltSec: c.owltSec,
      confidence: c.confidence,
    };
  });

  const data: ContactPlanData = { epochMs: epochMicros === undefined ? undefined : epochMicros / 1000, nodes, contacts };
  if (plan.hash !== undefined) {
    const actual = new ContactPlan(data).hash;
    if (actual !== plan.hash) {
      throw new OrbitfedError(
        'ORBITFED_PLAN_HASH',
        `the plan's content hashes to ${actual}, not to the ${plan.hash} it carries: it was changed after it was written`,
        { file, field: 'hash' },
      );
    }
  }
  return data;
}

/** The plan as orbitfed JSON: one node and one contact per line, keys in schema order. */
export function formatContactPlanJson(plan: ContactPlan): string {
  return [...formatContactPlanJsonChunks(plan)].join('');
}

/** `formatContactPlanJson` in pieces, for plans too large to hold as one string. */
export function* formatContactPlanJsonChunks(plan: ContactPlan): Generator<string> {
  const epochMicros = plan.epochMs === undefined ? undefined : Math.round(plan.epochMs * 1000);
  // The hash must be that of the plan a reader builds, whose epoch is kept to the microsecond.
  const hash = epochMicros === undefined || epochMicros / 1000 === plan.epochMs
    ? plan.hash
    : new ContactPlan({ ...plan.toData(), epochMs: epochMicros / 1000 }).hash;
  const iso = (sec: number): string | undefined =>
    epochMicros === undefined ? undefined : isoFromUnixMicros(epochMicros + Math.round(sec * 1e6));
  const nodes = plan.nodes.map((n) => JSON.stringify({ ipn: n.ipn, id: n.id, kind: n.kind }));
  const list = (items: readonly string[]): string => (items.length === 0 ? '[]' : `[\n    ${items.join(',\n    ')}\n  ]`);
  yield [
    '{',
    `  "format": ${JSON.stringify(CONTACT_PLAN_JSON_FORMAT)},`,
    `  "version": ${CONTACT_PLAN_JSON_VERSION},`,
    `  "hash": ${JSON.stringify(hash)},`,
    `  "epoch": ${epochMicros === undefined ? 'null' : JSON.stringify(isoFromUnixMicros(epochMicros))},`,
    `  "nodes": ${list(nodes)},`,
    '',
  ].join('\n');
  const contacts = plan.contacts;
  if (contacts.length === 0) {
    yield '  "contacts": []\n}\n';
    return;
  }
  yield '  "contacts": [';
  for (let start = 0; start < contacts.length; start += PLAN_WRITE_CHUNK_CONTACTS) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(contacts.length, start + PLAN_WRITE_CHUNK_CONTACTS); i += 1) {
      const c = contacts[i]!;
      lines.push(JSON.stringify({
        from: c.from,
        to: c.to,
        start: iso(c.startSec),
        end: iso(c.endSec),
        startSec: c.startSec,
        endSec: c.endSec,
        rateBytesPerSec: c.rateBytesPerSec,
        owltSec: c.owltSec,
        confidence: c.confidence,
      }));
    }
    yield `${start === 0 ? '' : ','}\n    ${lines.join(',\n    ')}`;
  }
  yield '\n  ]\n}\n';
}

/** Whole microseconds since the Unix epoch of `YYYY-MM-DDThh:mm:ss.ffffffZ`, or undefined for a date that does not exist. */
function isoMicros(iso: string): number | undefined {
  const ms = Date.parse(`${iso.slice(0, 23)}Z`);
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 23) !== iso.slice(0, 23)) return undefined;
  return ms * 1000 + Number(iso.slice(23, 26));
}

/** `/contacts/3/rateBytesPerSec` → `contacts[3].rateBytesPerSec`. */
function jsonPath(pointer: string): string | undefined {
  if (pointer === '') return undefined;
  return pointer.slice(1).split('/').reduce((path, segment) => {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(key)) return `${path}[${key}]`;
    return path === '' ? key : `${path}.${key}`;
  }, '');
}
