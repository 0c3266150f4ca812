// The ordered event trace of a virtual run and its hash: what "the same seed replays exactly" is
// checked against. Every part of the simulated federation records what it did, in the order it
// happened (validator commits with their block and app hashes, job state changes, faults, bundles
// delivered, receipts answered); the SHA-256 over the lines in that order is the run's trace hash.
// Two runs of one scenario and seed give the same hash; a run that differs in any recorded event,
// or in the order of two, gives another. Lines are kept in memory up to a bound (the hash always
// covers all of them) and written to `trace.jsonl` for diffing two runs.
import { createHash, type Hash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

/** Lines kept for trace.jsonl; later ones are hashed and counted, not kept. */
export const TRACE_LINES_KEPT_MAX = 200_000;

export class SwarmTrace {
  readonly #hash: Hash = createHash('sha256');
  readonly #lines: string[] = [];
  #count = 0;
  #digest: string | undefined;

  /** Records one event at virtual time `atMs`; `fields` must be JSON (no bigints: give them as strings). */
  record(atMs: number, kind: string, fields: Readonly<Record<string, unknown>> = {}): void {
    if (this.#digest !== undefined) return;
    const line = JSON.stringify({ atMs, kind, ...fields });
    this.#hash.update(line).update('\n');
    this.#count += 1;
    if (this.#lines.length < TRACE_LINES_KEPT_MAX) this.#lines.push(line);
  }

  get events(): number {
    return this.#count;
  }

  /** The hex SHA-256 of every line so far, in order; the trace is closed after this. */
  digest(): string {
    this.#digest ??= this.#hash.digest('hex');
    return this.#digest;
  }

  /** The kept lines (the first TRACE_LINES_KEPT_MAX). */
  lines(): readonly string[] {
    return this.#lines;
  }

  writeTo(path: string): void {
    writeFileSync(path, this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`);
  }
}
