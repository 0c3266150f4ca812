// Configuration files (ARCHITECTURE: "Configuration is a file (YAML or JSON) validated against a
// schema"): read with a size limit, parsed (JSON by `.json`, YAML otherwise), checked against a
// TypeBox schema, every problem reported with file, line and field. Unknown keys are errors when
// the schema says `additionalProperties: false` (ours do): a misspelt option must not be ignored.
//
// The check itself (`schemaChecker`) is ours for the schema kinds configuration files and the
// contact plan use (objects, arrays, strings, numbers, integers, booleans, null, literals, unions),
// with TypeBox's messages, paths and order of problems (test/common/config-file-schema.test.ts holds
// it to TypeBox's Value.Errors); any other schema is checked by TypeBox's Value, loaded then. Why:
// TypeBox's Value and compiler are ~60 modules, ~1.5 MB resident in the orbital agent, whose budget
// is 64 MB (orbital/README.md, "Memory and start-up").
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import type { Static, TSchema } from '@sinclair/typebox';
import type { Value as TypeBoxValue } from '@sinclair/typebox/value';
import { readBoundedTextFile } from './bounded-file.ts';
import { OrbitfedError, formatLocated } from './errors.ts';
import { parseYamlTree, type TreePath } from './yaml-tree.ts';

export const CONFIG_FILE_BYTES_MAX = 4 * 1024 * 1024;
/** Problems listed in one error message; the rest are counted. */
const PROBLEMS_LISTED_MAX = 10;

export interface ConfigTextOptions {
  /** For messages: the file name, or a label such as "link map". */
  readonly file: string;
  /** Defaults to the file's extension: `.json` is JSON, anything else YAML. */
  readonly format?: 'json' | 'yaml';
  /** What the document is, for messages ("validator configuration"). */
  readonly what: string;
}

/** Parses and validates `text`; throws ORBITFED_CONFIG_SYNTAX or ORBITFED_CONFIG_INVALID naming file, line and field. */
export function parseConfigText<S extends TSchema>(text: string, schema: S, options: ConfigTextOptions): Static<S> {
  const format = options.format ?? (extname(options.file).toLowerCase() === '.json' ? 'json' : 'yaml');
  const tree = parseYamlTree(text);
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new OrbitfedError('ORBITFED_CONFIG_SYNTAX', `${options.what} is not valid JSON: ${(error as Error).message}`, { file: options.file, line: tree.errors[0]?.line });
    }
    const duplicate = tree.errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (duplicate !== undefined) throw new OrbitfedError('ORBITFED_CONFIG_SYNTAX', `${options.what}: duplicate key in one object`, { file: options.file, line: duplicate.line });
  } else {
    const first = tree.errors[0];
    if (first !== undefined) throw new OrbitfedError('ORBITFED_CONFIG_SYNTAX', `${options.what} is not valid YAML: ${first.message.split('\n')[0]}`, { file: options.file, line: first.line });
    value = tree.toJS();
  }
  const checker = schemaChecker(schema);
  if (checker.check(value)) return value;
  const errors = [...checker.problems(value)];
  const problems = errors.slice(0, PROBLEMS_LISTED_MAX).map((e) => {
    const path = pathOf(e.path);
    return formatLocated(e.message, { file: options.file, line: tree.lineOfPath(path), field: e.path || '/' });
  });
  const more = errors.length > PROBLEMS_LISTED_MAX ? `\n  … and ${errors.length - PROBLEMS_LISTED_MAX} more` : '';
  const first = errors[0]!;
  throw new OrbitfedError('ORBITFED_CONFIG_INVALID', `${options.what} does not match its schema:\n  ${problems.join('\n  ')}${more}`, {
    file: options.file, line: tree.lineOfPath(pathOf(first.path)), field: first.path || '/',
  });
}

/** Reads (at most `CONFIG_FILE_BYTES_MAX`), parses and validates a configuration file. */
export async function loadConfigFile<S extends TSchema>(path: string, schema: S, what: string): Promise<Static<S>> {
  const text = await readBoundedTextFile(path, {
    what, maxBytes: CONFIG_FILE_BYTES_MAX, readCode: 'ORBITFED_CONFIG_READ', tooLargeCode: 'ORBITFED_CONFIG_TOO_LARGE', invalidTextCode: 'ORBITFED_CONFIG_SYNTAX',
  });
  return parseConfigText(text, schema, { file: path, what });
}

/** TypeBox's JSON pointer ("/peers/0/address") as a tree path. */
function pathOf(pointer: string): TreePath {
  return pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** One way a value does not match its schema, as TypeBox's `Value.Errors` reports it. */
export interface SchemaProblem {
  readonly message: string;
  /** JSON pointer of the offending value ("" for the whole document, "/peers/0/address"). */
  readonly path: string;
  /** What was found there (undefined when missing). */
  readonly value: unknown;
}

export interface SchemaChecker<S extends TSchema> {
  check(value: unknown): value is Static<S>;
  /** The problems, in TypeBox's order; none when `check` passes. */
  problems(value: unknown): Generator<SchemaProblem>;
}

/** TypeBox marks each schema with its kind under this global symbol (`Kind` in @sinclair/typebox). */
const KIND = Symbol.for('TypeBox.Kind');
const requireHere = createRequire(import.meta.url);

type Schema = Record<string, unknown>;
const kindOf = (schema: Schema): unknown => (schema as unknown as Record<symbol, unknown>)[KIND];
type Check = (value: unknown) => boolean;

/** Keywords each supported kind may carry; a schema with any other keyword goes to TypeBox. */
const SUPPORTED_KEYWORDS: Readonly<Record<string, ReadonlySet<string>>> = {
  Object: new Set(['type', 'properties', 'required', 'additionalProperties']),
  Array: new Set(['type', 'items', 'minItems', 'maxItems']),
  String: new Set(['type', 'minLength', 'maxLength', 'pattern']),
  Number: new Set(['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']),
  Integer: new Set(['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']),
  Boolean: new Set(['type']),
  Null: new Set(['type']),
  Literal: new Set(['type', 'const']),
  Union: new Set(['anyOf']),
  Unknown: new Set([]),
};
/** Annotations, ignored by checking. */
const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', '$comment']);

function isSupported(schema: Schema): boolean {
  const keywords = SUPPORTED_KEYWORDS[kindOf(schema) as string];
  if (keywords === undefined) return false;
  if (!Object.keys(schema).every((key) => keywords.has(key) || ANNOTATIONS.has(key))) return false;
  if (schema.additionalProperties !== undefined && schema.additionalProperties !== false && schema.additionalProperties !== true) return false;
  const children = [
    ...Object.values((schema.properties ?? {}) as Record<string, Schema>),
    ...(schema.items === undefined ? [] : [schema.items as Schema]),
    ...((schema.anyOf ?? []) as Schema[]),
  ];
  return children.every(isSupported);
}

const isObjectLike = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const escapeKey = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
const literalText = (value: unknown): string => (typeof value === 'string' ? `'${value}'` : String(value));

/** A check per schema node, compiled once into closures (the contact plan checks up to a million contacts). */
function compile(schema: Schema): Check {
  switch (kindOf(schema)) {
    case 'Object': {
      const required = new Set((schema.required ?? []) as string[]);
      const properties = Object.entries((schema.properties ?? {}) as Record<string, Schema>).map(([key, child]) => ({ key, check: compile(child), required: required.has(key) }));
      const known = new Set(properties.map((p) => p.key));
      const missingRequired = [...required].filter((key) => !known.has(key));
      const closed = schema.additionalProperties === false;
      return (value) => {
        if (!isObjectLike(value)) return false;
        for (const key of missingRequired) if (!Object.hasOwn(value, key)) return false;
        for (const { key, check, required: isRequired } of properties) {
          const property = value[key];
          if (isRequired) {
            if (!Object.hasOwn(value, key) || !check(property)) return false;
          } else if (property !== undefined && !check(property)) {
            return false;
          }
        }
        if (closed) for (const key of Object.getOwnPropertyNames(value)) if (!known.has(key)) return false;
        return true;
      };
    }
    case 'Array': {
      const items = schema.items === undefined ? () => true : compile(schema.items as Schema);
      const minItems = schema.minItems as number | undefined;
      const maxItems = schema.maxItems as number | undefined;
      return (value) => Array.isArray(value) && !(minItems !== undefined && !(value.length >= minItems)) && !(maxItems !== undefined && !(value.length <= maxItems))
        && value.every((item) => items(item));
    }
    case 'String': {
      const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern) : undefined;
      const minLength = schema.minLength as number | undefined;
      const maxLength = schema.maxLength as number | undefined;
      return (value) => typeof value === 'string' && !(minLength !== undefined && !(value.length >= minLength))
        && !(maxLength !== undefined && !(value.length <= maxLength)) && (pattern === undefined || pattern.test(value));
    }
    case 'Number':
    case 'Integer': {
      const isKind = kindOf(schema) === 'Integer' ? Number.isInteger : Number.isFinite;
      const bounds = numberBounds(schema);
      return (value) => isKind(value) && bounds(value as number);
    }
    case 'Boolean':
      return (value) => typeof value === 'boolean';
    case 'Null':
      return (value) => value === null;
    case 'Literal':
      return (value) => value === schema.const;
    case 'Union': {
      const variants = (schema.anyOf as Schema[]).map(compile);
      return (value) => variants.some((check) => check(value));
    }
    default:
      return () => true;
  }
}

function numberBounds(schema: Schema): (value: number) => boolean {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = schema as Record<string, number | undefined>;
  return (value) => !(exclusiveMaximum !== undefined && !(value < exclusiveMaximum)) && !(exclusiveMinimum !== undefined && !(value > exclusiveMinimum))
    && !(maximum !== undefined && !(value <= maximum)) && !(minimum !== undefined && !(value >= minimum)) && !(multipleOf !== undefined && !(value % multipleOf === 0));
}

/** TypeBox's errors/errors.mjs, for the supported kinds: the same problems, messages and order. */
function* problemsOf(schema: Schema, path: string, value: unknown): Generator<SchemaProblem> {
  const problem = (message: string): SchemaProblem => ({ message, path, value });
  const problemAt = (message: string, at: string, found: unknown): SchemaProblem => ({ message, path: at, value: found });
  switch (kindOf(schema)) {
    case 'Object': {
      if (!isObjectLike(value)) return yield problem('Expected object');
      const required = (schema.required ?? []) as string[];
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const known = Object.getOwnPropertyNames(properties);
      const present = Object.getOwnPropertyNames(value);
      for (const key of required) if (!present.includes(key)) yield problemAt('Expected required property', `${path}/${escapeKey(key)}`, undefined);
      if (schema.additionalProperties === false) {
        for (const key of present) if (!known.includes(key)) yield problemAt('Unexpected property', `${path}/${escapeKey(key)}`, value[key]);
      }
      for (const key of known) {
        if (required.includes(key) || value[key] !== undefined) yield* problemsOf(properties[key]!, `${path}/${escapeKey(key)}`, value[key]);
      }
      return;
    }
    case 'Array': {
      if (!Array.isArray(value)) return yield problem('Expected array');
      if (schema.minItems !== undefined && !(value.length >= (schema.minItems as number))) yield problem(`Expected array length to be greater or equal to ${schema.minItems as number}`);
      if (schema.maxItems !== undefined && !(value.length <= (schema.maxItems as number))) yield problem(`Expected array length to be less or equal to ${schema.maxItems as number}`);
      if (schema.items !== undefined) for (let i = 0; i < value.length; i++) yield* problemsOf(schema.items as Schema, `${path}/${i}`, value[i]);
      return;
    }
    case 'String': {
      if (typeof value !== 'string') return yield problem('Expected string');
      if (schema.minLength !== undefined && !(value.length >= (schema.minLength as number))) yield problem(`Expected string length greater or equal to ${schema.minLength as number}`);
      if (schema.maxLength !== undefined && !(value.length <= (schema.maxLength as number))) yield problem(`Expected string length less or equal to ${schema.maxLength as number}`);
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) yield problem(`Expected string to match '${schema.pattern}'`);
      return;
    }
    case 'Number':
    case 'Integer': {
      const kind = kindOf(schema) === 'Integer' ? 'integer' : 'number';
      if (!(kind === 'integer' ? Number.isInteger(value) : Number.isFinite(value))) return yield problem(`Expected ${kind}`);
      const n = value as number;
      const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = schema as Record<string, number | undefined>;
      if (exclusiveMaximum !== undefined && !(n < exclusiveMaximum)) yield problem(`Expected ${kind} to be less than ${exclusiveMaximum}`);
      if (exclusiveMinimum !== undefined && !(n > exclusiveMinimum)) yield problem(`Expected ${kind} to be greater than ${exclusiveMinimum}`);
      if (maximum !== undefined && !(n <= maximum)) yield problem(`Expected ${kind} to be less or equal to ${maximum}`);
      if (minimum !== undefined && !(n >= minimum)) yield problem(`Expected ${kind} to be greater or equal to ${minimum}`);
      if (multipleOf !== undefined && !(n % multipleOf === 0)) yield problem(`Expected ${kind} to be a multiple of ${multipleOf}`);
      return;
    }
    case 'Boolean':
      if (typeof value !== 'boolean') yield problem('Expected boolean');
      return;
    case 'Null':
      if (value !== null) yield problem('Expected null');
      return;
    case 'Literal':
      if (value !== schema.const) yield problem(`Expected ${literalText(schema.const)}`);
      return;
    case 'Union':
      if (!(schema.anyOf as Schema[]).some((variant) => problemsOf(variant, path, value).next().done === true)) yield problem('Expected union value');
      return;
    default:
      return;
  }
}

/** A checker for `schema`: ours for the kinds above, TypeBox's Value (loaded at first need) for any other. */
export function schemaChecker<S extends TSchema>(schema: S): SchemaChecker<S> {
  if (isSupported(schema as unknown as Schema)) {
    const check = compile(schema as unknown as Schema);
    return { check: (value): value is Static<S> => check(value), problems: (value) => problemsOf(schema as unknown as Schema, '', value) };
  }
  const { Value } = requireHere('@sinclair/typebox/value') as { Value: typeof TypeBoxValue };
  return {
    check: (value): value is Static<S> => Value.Check(schema, value),
    *problems(value) {
      for (const error of Value.Errors(schema, value)) yield { message: error.message, path: error.path, value: error.value };
    },
  };
}
