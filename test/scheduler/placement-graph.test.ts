// The placement graph's search primitive: `segmentLowerBound` looks for a time in one bucket of a
// long segment instead of bisecting it, and must give exactly what a linear search gives on every
// kind of key sequence (spread evenly, bunched, repeated, with the answer at either end or outside).
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import { lowerBound, segmentBucketsOf, segmentLowerBound, type ClassSegments } from '../../scheduler/placement-graph.ts';

/** The specification: the first position in [lo, hi) whose key is ≥ atSec, else hi. */
function firstAtOrAfter(keySec: Float64Array, lo: number, hi: number, atSec: number): number {
  for (let p = lo; p < hi; p++) if (keySec[p]! >= atSec) return p;
  return hi;
}

/** Segments of the given lengths, each with sorted keys drawn by `keyOf`. */
function segmentsOf(lengths: readonly number[], keyOf: (i: number) => number): ClassSegments {
  const segOffset = new Int32Array(lengths.length + 1);
  lengths.forEach((n, s) => (segOffset[s + 1] = segOffset[s]! + n));
  const keySec = new Float64Array(segOffset[lengths.length]!);
  lengths.forEach((n, s) => keySec.set(Float64Array.from({ length: n }, (_, i) => keyOf(i)).sort(), segOffset[s]!));
  return {
    segFirst: Int32Array.of(0, lengths.length), segOffset, segDurationMaxSec: new Float64Array(lengths.length), contacts: new Int32Array(keySec.length), keySec,
    ...segmentBucketsOf(segOffset, keySec),
  };
}

describe('segmentLowerBound', () => {
  it('finds the first key at or after the time in a segment, as a linear search does (1,200 random segments, seed 7400001)', () => {
    const random = seededRng(7_400_001);
    const shapes: ((i: number) => number)[] = [
      () => random() * 86_400,
      () => Math.floor(random() * 20) * 600,
      () => (random() < 0.9 ? random() * 600 : 80_000 + random() * 6400),
      (i) => i * 30,
      () => 1e9 + random() * 1e-3,
    ];
    let bucketed = 0;
    for (let trial = 0; trial < 1200; trial++) {
      const lengths = Array.from({ length: 3 }, () => 1 + Math.floor(random() * (trial % 3 === 0 ? 5000 : 120)));
      const segments = segmentsOf(lengths, shapes[trial % shapes.length]!);
      const { keySec, segOffset } = segments;
      for (let s = 0; s < lengths.length; s++) {
        if (segments.segBucketFirst[s]! >= 0) bucketed += 1;
        const lo = segOffset[s]!;
        const hi = segOffset[s + 1]!;
        const inside = (): number => keySec[lo + Math.floor(random() * (hi - lo))]!;
        const picks = [-1, keySec[lo]!, keySec[hi - 1]!, keySec[hi - 1]! + 1, Infinity, -Infinity, keySec[lo]! + random() * (keySec[hi - 1]! - keySec[lo]!), inside(), inside() - 1e-9];
        for (const atSec of picks) expect(segmentLowerBound(segments, s, atSec)).toBe(firstAtOrAfter(keySec, lo, hi, atSec));
      }
    }
    expect(bucketed).toBeGreaterThan(500);
  });

  it('answers the segment start for a NaN time, as bisection does', () => {
    const segments = segmentsOf([500], (i) => i);
    expect(segmentLowerBound(segments, 0, Number.NaN)).toBe(lowerBound(segments.keySec, 0, 500, Number.NaN));
    expect(segmentLowerBound(segments, 0, Number.NaN)).toBe(0);
  });
});
