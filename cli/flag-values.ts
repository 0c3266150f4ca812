// Parsing of flag values, each error naming the flag and what it got.
import { usageError } from './usage-error.ts';

/** An ISO 8601 instant with an explicit zone (`2026-06-14T00:00:00Z`, `…+02:00`) or a date (UTC midnight). */
export function parseInstantMs(flag: string, value: string): number {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const ms = dateOnly || withZone ? Date.parse(dateOnly ? `${value}T00:00:00Z` : value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw usageError(`--${flag} must be an ISO 8601 UTC instant such as 2026-06-14T00:00:00Z (got '${value}')`, flag);
  }
  return ms;
}

export function parseNumberInRange(flag: string, value: string, min: number, max: number): number {
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw usageError(`--${flag} must be a number from ${min} to ${max} (got '${value}')`, flag);
  }
  return n;
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw usageError(`--${flag} must be one of ${choices.join(', ')} (got '${value}')`, flag);
  }
  return value as T;
}
