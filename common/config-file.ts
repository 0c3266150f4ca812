// Configuration files (ARCHITECTURE: "Configuration is a file (YAML or JSON) validated against a
// schema"): read with a size limit, parsed (JSON by `.json`, YAML otherwise), checked against a
// TypeBox schema, every problem reported with file, line and field. Unknown keys are errors when
// the schema says `additionalProperties: false` (ours do): a misspelt option must not be ignored.
import { extname } from 'node:path';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
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
  if (Value.Check(schema, value)) return value;
  const errors = [...Value.Errors(schema, value)];
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
