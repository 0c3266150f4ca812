// Contact plan files in any of the three formats: ION command text (`a contact` / `a range`), HDTN
// JSON, and orbitfed's own JSON (PLAN-FORMAT.md). The format is recognised from the content, since
// plans travel under any name (`global.ionrc`, `contactPlan.json`, `plan.txt`).
import { readBoundedTextFile } from '../common/index.ts';
import { ContactPlan, type ContactPlanData } from './contact-plan.ts';
import { formatHdtnContactPlanChunks, parseHdtnContactPlan } from './hdtn-contact-plan.ts';
import { formatIonContactPlanChunks, parseIonContactPlan, type IonReadOptions } from './ion-contact-plan.ts';
import { CONTACT_PLAN_JSON_FORMAT, formatContactPlanJsonChunks, parseContactPlanJson } from './plan-json.ts';

export type PlanFormat = 'ion' | 'hdtn' | 'json';

/** Larger files are refused before they are read (`ORBITFED_PLAN_TOO_LARGE`); each format's text limit is the same. */
export const PLAN_FILE_BYTES_MAX = 256 * 1024 * 1024;

export interface PlanLoadOptions {
  readonly signal?: AbortSignal;
  /** For ION plans: what a contact that no range covers becomes (default: owltSec 0). */
  readonly ion?: IonReadOptions;
}

const ORBITFED_FORMAT_KEY = new RegExp(`"format"\\s*:\\s*"${CONTACT_PLAN_JSON_FORMAT}"`);

/**
 * The format of plan text: JSON naming `"format": "orbitfed-contact-plan"` is ours, any other JSON
 * (an object or a list first) HDTN's, anything else ION command text.
 */
export function detectPlanFormat(text: string): PlanFormat {
  const first = /\S/.exec(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)?.[0];
  if (first !== '{' && first !== '[') return 'ion';
  return ORBITFED_FORMAT_KEY.test(text) ? 'json' : 'hdtn';
}

/** Parses plan text of the given (or detected) format into plain data; `file` names it in errors. */
export function parseContactPlanText(text: string, file: string, format?: PlanFormat, options: PlanLoadOptions = {}): ContactPlanData {
  switch (format ?? detectPlanFormat(text)) {
    case 'ion':
      return parseIonContactPlan(text, file, options.ion);
    case 'hdtn':
      return parseHdtnContactPlan(text, file);
    case 'json':
      return parseContactPlanJson(text, file);
  }
}

/** Reads a contact plan file (UTF-8, at most PLAN_FILE_BYTES_MAX) of the given or detected format. */
export async function loadContactPlanFile(path: string, format?: PlanFormat, options: PlanLoadOptions = {}): Promise<ContactPlan> {
  const text = await readBoundedTextFile(path, {
    what: 'contact plan', maxBytes: PLAN_FILE_BYTES_MAX, readCode: 'ORBITFED_PLAN_READ', tooLargeCode: 'ORBITFED_PLAN_TOO_LARGE',
    invalidTextCode: 'ORBITFED_PLAN_READ', signal: options.signal,
  });
  return new ContactPlan(parseContactPlanText(text, path, format, options));
}

/** The plan as text of `format` (see each writer for what that format cannot carry). */
export function formatContactPlan(plan: ContactPlan, format: PlanFormat): string {
  return [...formatContactPlanChunks(plan, format)].join('');
}

/** The plan in a format as text pieces, for writing plans too large to hold as one string. */
export function formatContactPlanChunks(plan: ContactPlan, format: PlanFormat): Iterable<string> {
  switch (format) {
    case 'ion':
      return formatIonContactPlanChunks(plan);
    case 'hdtn':
      return formatHdtnContactPlanChunks(plan);
    case 'json':
      return formatContactPlanJsonChunks(plan);
  }
}
