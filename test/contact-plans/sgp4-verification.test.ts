// Vallado's verification vectors (AIAA 2006-6753, `tcppver.out`) through our own path: our TLE
// parser, our SGP4 initialisation, and our microsecond-preserving time since epoch.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTle } from '../../contact-plans/tle.ts';
import { createPropagator, minutesSinceEpoch, propagateTeme } from '../../contact-plans/sgp4.ts';

const FIXTURES = new URL('../fixtures/sgp4-verification/', import.meta.url);

interface Case {
  readonly catalogNumber: string;
  readonly line1: string;
  readonly line2: string;
  readonly startMin: number;
  readonly stopMin: number;
  readonly stepMin: number;
}

/** SGP4-VER.TLE: line 2 carries start, stop and step (minutes) after column 69. */
function readCases(): Case[] {
  const lines = readFileSync(new URL('SGP4-VER.TLE', FIXTURES), 'utf8').split(/\r?\n/);
  const cases: Case[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (!line.startsWith('1 ')) continue;
    const line2 = lines[i + 1]!;
    const [startMin, stopMin, stepMin] = line2.slice(69).trim().split(/\s+/).map(Number);
    cases.push({ catalogNumber: String(Number(line.slice(2, 7))), line1: line.slice(0, 69), line2: line2.slice(0, 69), startMin: startMin!, stopMin: stopMin!, stepMin: stepMin! });
  }
  return cases;
}

/**
 * tcppver.out: `NNNNN xx` headers, then rows of tsince x y z vx vy vz (km, km/s), one block per
 * case in the order of SGP4-VER.TLE (20413 appears twice there).
 */
function readExpected(): { catalogNumber: string; rows: number[][] }[] {
  const blocks: { catalogNumber: string; rows: number[][] }[] = [];
  for (const line of readFileSync(new URL('tcppver.out', FIXTURES), 'utf8').split(/\r?\n/)) {
    const header = /^\s*(\d+) xx/.exec(line);
    if (header) blocks.push({ catalogNumber: header[1]!, rows: [] });
    else if (line.trim() !== '') blocks.at(-1)!.rows.push(line.trim().split(/\s+/).slice(0, 7).map(Number));
  }
  return blocks;
}

describe('SGP4 through our propagation path (Vallado verification vectors)', () => {
  const cases = readCases();
  const expected = readExpected();

  it('reads every verification case and its expected states', () => {
    expect(cases.length).toBe(33);
    expect(expected.map((b) => b.catalogNumber)).toEqual(cases.map((c) => c.catalogNumber));
    const rows = expected.reduce((n, b) => n + b.rows.length, 0);
    expect(rows).toBe(667);
  });

  it('reproduces every expected state to within 1 mm and 1 µm/s, and stops where Vallado stops', () => {
    let compared = 0;
    let worstKm = 0;
    let worstKmPerSec = 0;
    const errors: string[] = [];
    for (const [index, c] of cases.entries()) {
      const loaded = parseTle(`${c.line1}\n${c.line2}\n`, 'SGP4-VER.TLE', { checksum: 'lenient' });
      expect(loaded.elements).toHaveLength(1);
      const init = createPropagator(loaded.elements[0]!);
      const rows = expected[index]!.rows;
      if (!init.ok) {
        errors.push(`${c.catalogNumber}@init:${init.status}`);
        continue;
      }
      const p = init.propagator;
      const epoch = p.elements.epoch;
      const out = new Float64Array(6);
      for (const row of rows) {
        // Time as an instant (epoch + tsince), converted back by the same code the pass finder uses.
        const tsince = minutesSinceEpoch(p, epoch.dayStartMs, epoch.msOfDay + row[0]! * 60_000);
        expect(Math.abs(tsince - row[0]!)).toBeLessThan(1e-9);
        const status = propagateTeme(p, tsince, out, 0);
        if (status !== 0) {
          errors.push(`${c.catalogNumber}@${row[0]}:${status}`);
          continue;
        }
        compared += 1;
        const dr = Math.hypot(out[0]! - row[1]!, out[1]! - row[2]!, out[2]! - row[3]!);
        const dv = Math.hypot(out[3]! - row[4]!, out[4]! - row[5]!, out[5]! - row[6]!);
        worstKm = Math.max(worstKm, dr);
        worstKmPerSec = Math.max(worstKmPerSec, dv);
      }
      // Past the last expected row, SGP4 must report an error (decay, or the element set's own
      // failure) unless the run simply ended at its stop time.
      const last = rows.at(-1)?.[0] ?? c.startMin - c.stepMin;
      const nextMin = Math.min(last + c.stepMin, c.stopMin);
      if (nextMin > last) {
        const status = propagateTeme(p, nextMin, out, 0);
        if (status !== 0) errors.push(`${c.catalogNumber}@after:${status}`);
        else expect.soft(nextMin, `case ${c.catalogNumber} should have stopped`).toBe(c.stopMin);
      }
    }
    expect(compared).toBe(666);
    expect(worstKm).toBeLessThan(1e-6);
    expect(worstKmPerSec).toBeLessThan(1e-9);
    // The expected error cases, each surfaced as a status rather than thrown: 33334 fails its
    // initialisation with error 3 (perturbed eccentricity; Vallado's output still prints its t=0
    // state, the one row not compared), decays (6) and drag-driven eccentricity failures (1) end
    // the other runs exactly where Vallado's output ends, and 33333 hits error 4.
    expect(errors).toEqual([
      '22312@after:1', '28350@after:1', '28872@after:6', '29141@after:6', '33333@after:4', '33334@init:3', '20413@after:6',
    ]);
    console.log(`SGP4 verification: ${compared} states, worst ${(worstKm * 1e6).toFixed(3)} mm, errors ${errors.join(' ')}`);
  });
});
