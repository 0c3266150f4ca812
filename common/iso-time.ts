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

/** ISO text of `offsetMs` after `baseMs` (Unix ms), rounded to the microsecond. */
export function isoMicros(baseMs: number, offsetMs: number): string {
  const dayStartMs = Math.floor(baseMs / MS_PER_DAY) * MS_PER_DAY;
  return isoFromMicros(dayStartMs, Math.round((baseMs - dayStartMs + offsetMs) * 1000));
}
