// What is wrong with a submitted node or job spec, as a list of (field, message) pairs: the
// schema's violations first (TypeBox, from the same declaration the REST API and its OpenAPI
// document use), then the checks a JSON schema cannot express (assigned country codes, time
// windows in order, one of image/command). Fields are JSON pointers ("/resources/cpu"), the form
// RFC 9457 problem documents and TypeBox both use.
import type { TSchema } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { OrbitfedError } from '../common/index.ts';

export interface SpecProblem {
  /** JSON pointer to the offending value ("" for the whole document). */
  readonly field: string;
  readonly message: string;
}

/** Problems listed at most, per spec (the rest are counted in the error message). */
export const SPEC_PROBLEMS_MAX = 50;

/** The schema's violations, one per field, at most `SPEC_PROBLEMS_MAX`. */
export function schemaProblems<T extends TSchema>(checker: TypeCheck<T>, value: unknown): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const seen = new Set<string>();
  for (const error of checker.Errors(value)) {
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    problems.push({ field: error.path, message: `${error.message} (got ${describeValue(error.value)})` });
    if (problems.length >= SPEC_PROBLEMS_MAX) break;
  }
  return problems;
}

/** Throws `code` naming the first problem's field and listing all of them; returns when there are none. */
export function throwIfProblems(code: string, what: string, problems: readonly SpecProblem[]): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 10).map((p) => `${p.field === '' ? '(document)' : p.field}: ${p.message}`);
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
  throw new OrbitfedError(code, `invalid ${what}: ${shown.join('; ')}${more}`, { field: problems[0]!.field });
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? `a list of ${value.length}` : typeof value;
}
