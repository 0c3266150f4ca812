// ISO 8601 text for instants kept to the microsecond (a JavaScript Date keeps milliseconds only).
import { MS_PER_DAY } from './units.ts';

const MICROS_PER_DAY = 86_400_000_000;

/** `YYYY-MM-DDThh:mm:ss.ffffffZ`; a microsecond count that reaches a whole day rolls over. */
export function isoFromMicros(dayStartMs: number, microsOfDay: number): string {
  const carryDays = Math.floor(microsOfDay / MICROS_PER_DAY);
  const micros = microsOfDay - carryDays * MICROS_PER_DAY;
  const date = new Date(dayStartMs + carryDays * MS_PER_DAY).toISOString().slice(0, 10);
  const seconds = Math.floor(micros / 1_000_000);
  const pad = (value: number, width: number): string => String(value).padStart(width, '0');
  const hh = pad(Math.floor(seconds / 3600), 2);
  const mm = pad(Math.floor(seconds / 60) % 60, 2);
  const ss = pad(seconds % 60, 2);
  return `${date}T${hh}:${mm}:${ss}.${pad(micros % 1_000_000, 6)}Z`;
}

/** Microseconds since the Unix epoch (an integer) of `offsetMs` after `baseMs`; `baseMs` a whole millisecond. */
export function unixMicros(baseMs: number, offsetMs: number): number {
  return baseMs * 1000 + Math.round(offsetMs * 1000);
}

/** ISO text of an instant given in whole microseconds since the Unix epoch. */
export function isoFromUnixMicros(micros: number): string {
  const dayStartMs = Math.floor(micros / 86_400_000_000) * MS_PER_DAY;
  return isoFromMicros(dayStartMs, micros - dayStartMs * 1000);
}

/** `1781395290.468174`: Unix seconds with six decimals, exactly, from whole microseconds. */
export function unixSecondsText(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.${String(micros - seconds * 1_000_000).padStart(6, '0')}`;
}
