// The effective horizon: max(piecewise-linear mask wrapping through 360°, floor). Masks here are
// small hand-made cases whose values can be checked by hand; the last group uses the hand-made
// Hartebeesthoek mask of fixtures/stations/stations.yaml.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compileHorizon,
  minElevationRadAt,
  minElevationSlopeAt,
  type Horizon,
} from '../../contact-plans/horizon-mask.ts';
import type { HorizonMaskPoint } from '../../contact-plans/station.ts';
import { loadStationsFile } from '../../contact-plans/stations-file.ts';

const RAD_PER_DEG = Math.PI / 180;
const rad = (deg: number): number => deg * RAD_PER_DEG;
/** Elevation in degrees towards an azimuth in degrees. */
const at = (h: Horizon, azimuthDeg: number): number => minElevationRadAt(h, rad(azimuthDeg)) / RAD_PER_DEG;
/** Slope in degrees of elevation per degree of azimuth, which equals rad per rad. */
const slopeAt = (h: Horizon, azimuthDeg: number): number => minElevationSlopeAt(h, rad(azimuthDeg));

/** A masked station with its own floor (default -5°, the lowest allowed, so the mask shows through). */
function masked(mask: HorizonMaskPoint[], minElevationDeg = -5, defaultDeg = 10): Horizon {
  return compileHorizon({ horizonMask: mask, minElevationDeg }, defaultDeg);
}

/** The definition, evaluated directly and slowly: linear between points, wrapping, then the floor. */
function reference(mask: readonly HorizonMaskPoint[], floorDeg: number, azimuthDeg: number): number {
  const az = ((azimuthDeg % 360) + 360) % 360;
  const points = [
    { azimuthDeg: mask[mask.length - 1].azimuthDeg - 360, minElevationDeg: mask[mask.length - 1].minElevationDeg },
    ...mask,
    { azimuthDeg: mask[0].azimuthDeg + 360, minElevationDeg: mask[0].minElevationDeg },
  ];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i];
    const b = points[i + 1];
    if (az >= a.azimuthDeg && az <= b.azimuthDeg && b.azimuthDeg > a.azimuthDeg) {
      const t = (az - a.azimuthDeg) / (b.azimuthDeg - a.azimuthDeg);
      return Math.max(floorDeg, a.minElevationDeg + t * (b.minElevationDeg - a.minElevationDeg));
    }
  }
  throw new Error(`azimuth ${az} outside the reference table`);
}

describe('a station without a mask', () => {
  it('has a constant horizon at its own minimum elevation', () => {
    const h = compileHorizon({ horizonMask: undefined, minElevationDeg: 5 }, 10);
    expect(h).toEqual({ constant: true, minElevationRad: rad(5), lowestElevationRad: rad(5), highestElevationRad: rad(5) });
    expect(minElevationRadAt(h, 1.234)).toBe(rad(5));
    expect(minElevationSlopeAt(h, 1.234)).toBe(0);
  });

  it("uses the caller's default when it gives no minimum elevation", () => {
    const h = compileHorizon({ horizonMask: undefined, minElevationDeg: undefined }, 10);
    expect(h.constant && h.minElevationRad).toBe(rad(10));
  });
});

describe('a masked station', () => {
  const diamond = [
    { azimuthDeg: 0, minElevationDeg: 10 },
    { azimuthDeg: 90, minElevationDeg: 0 },
    { azimuthDeg: 180, minElevationDeg: 20 },
    { azimuthDeg: 270, minElevationDeg: 0 },
  ];

  it('interpolates linearly between mask points and meets them exactly at the points', () => {
    const h = masked(diamond);
    expect(h.constant).toBe(false);
    expect(at(h, 45)).toBeCloseTo(5, 12);
    expect(at(h, 135)).toBeCloseTo(10, 12);
    expect(at(h, 90)).toBeCloseTo(0, 12);
    expect(at(h, 180)).toBeCloseTo(20, 12);
    expect(at(h, 225)).toBeCloseTo(10, 12);
  });

  it('wraps from the last point through 360° to the first', () => {
    // Points at 90° and 270° only: the wrap segment runs 270° → 450° (= 90°), from 30° down to 10°.
    const h = masked([
      { azimuthDeg: 90, minElevationDeg: 10 },
      { azimuthDeg: 270, minElevationDeg: 30 },
    ]);
    expect(at(h, 315)).toBeCloseTo(25, 12);
    expect(at(h, 0)).toBeCloseTo(20, 12);
    expect(at(h, 45)).toBeCloseTo(15, 12);
    expect(at(h, 180)).toBeCloseTo(20, 12);
  });

  it('takes any azimuth modulo 360°, negative or several turns', () => {
    const h = masked(diamond);
    expect(at(h, -45)).toBeCloseTo(at(h, 315), 12);
    expect(at(h, 720 + 45)).toBeCloseTo(at(h, 45), 12);
    expect(at(h, 360)).toBeCloseTo(at(h, 0), 12);
    expect(minElevationRadAt(h, -1e-17)).toBeCloseTo(minElevationRadAt(h, 0), 12);
    expect(minElevationRadAt(h, 2 * Math.PI - 1e-12)).toBeCloseTo(rad(10), 9);
  });

  it('treats points at 0° and 360° as the same direction, and a lone 360° point as north', () => {
    const closed = masked([
      { azimuthDeg: 0, minElevationDeg: 4 },
      { azimuthDeg: 180, minElevationDeg: 12 },
      { azimuthDeg: 360, minElevationDeg: 4 },
    ]);
    expect(at(closed, 90)).toBeCloseTo(8, 12);
    expect(at(closed, 270)).toBeCloseTo(8, 12);
    const endsAtNorth = masked([
      { azimuthDeg: 90, minElevationDeg: 10 },
      { azimuthDeg: 360, minElevationDeg: 0 },
    ]);
    expect(at(endsAtNorth, 0)).toBeCloseTo(0, 12);
    expect(at(endsAtNorth, 45)).toBeCloseTo(5, 12);
  });

  it('is continuous everywhere, the seam at north included', () => {
    const h = masked(diamond);
    for (const azimuthDeg of [0, 90, 180, 270]) {
      const a = rad(azimuthDeg);
      expect(minElevationRadAt(h, a - 1e-9)).toBeCloseTo(minElevationRadAt(h, a + 1e-9), 7);
    }
  });
});

describe('mask and floor together', () => {
  // On 0°–180° the mask rises as az/9 (0° → 20°); on 180°–360° it falls back to 0°.
  const ramp = [
    { azimuthDeg: 0, minElevationDeg: 0 },
    { azimuthDeg: 180, minElevationDeg: 20 },
  ];

  it('applies the higher of mask and floor, with a corner exactly where they cross', () => {
    const h = masked(ramp, 5);
    expect(at(h, 30)).toBeCloseTo(5, 12); // mask 3.33°, floor wins
    expect(at(h, 45)).toBeCloseTo(5, 12); // the crossing
    expect(at(h, 90)).toBeCloseTo(10, 12); // mask wins
    expect(at(h, 315)).toBeCloseTo(5, 12); // the other crossing
    expect(at(h, 330)).toBeCloseTo(5, 12);
    expect(h.constant || Array.from(h.azimuthRad).map((a) => a / RAD_PER_DEG)).toEqual([
      0,
      expect.closeTo(45, 9),
      180,
      expect.closeTo(315, 9),
      360,
    ]);
  });

  it("takes the caller's default as the floor when the station gives none", () => {
    const ownFloor = masked(ramp, 5, 10);
    const defaultFloor = compileHorizon({ horizonMask: ramp, minElevationDeg: undefined }, 5);
    for (let azimuthDeg = 0; azimuthDeg < 360; azimuthDeg += 7.5) {
      expect(at(defaultFloor, azimuthDeg)).toBe(at(ownFloor, azimuthDeg));
    }
  });

  it('becomes a constant horizon when the mask is everywhere at or below the floor', () => {
    const h = masked(ramp, 25);
    expect(h).toEqual({ constant: true, minElevationRad: rad(25), lowestElevationRad: rad(25), highestElevationRad: rad(25) });
  });

  it('reports the lowest and highest points of the effective horizon', () => {
    const h = masked(ramp, 5);
    expect(h.lowestElevationRad).toBeCloseTo(rad(5), 12);
    expect(h.highestElevationRad).toBeCloseTo(rad(20), 12);
  });

  it('agrees with the definition evaluated directly, every 0.1°, for the sample masks', () => {
    const cases: Array<[HorizonMaskPoint[], number]> = [
      [ramp, 5],
      [ramp, -5],
      [
        [
          { azimuthDeg: 20, minElevationDeg: 9 },
          { azimuthDeg: 70, minElevationDeg: 6 },
          { azimuthDeg: 150, minElevationDeg: 1 },
          { azimuthDeg: 240, minElevationDeg: 2 },
          { azimuthDeg: 330, minElevationDeg: 5 },
        ],
        3,
      ],
      [
        [
          { azimuthDeg: 0.05, minElevationDeg: 30 },
          { azimuthDeg: 0.1, minElevationDeg: -5 },
          { azimuthDeg: 359.95, minElevationDeg: 90 },
        ],
        0,
      ],
    ];
    for (const [mask, floorDeg] of cases) {
      const h = masked(mask, floorDeg);
      for (let tenth = 0; tenth < 3600; tenth++) {
        const azimuthDeg = tenth / 10;
        expect(at(h, azimuthDeg)).toBeCloseTo(reference(mask, floorDeg, azimuthDeg), 9);
      }
    }
  });
});

describe('the slope d(min elevation)/d(azimuth)', () => {
  it('is the slope of the segment, in rad per rad', () => {
    const h = masked([
      { azimuthDeg: 0, minElevationDeg: 10 },
      { azimuthDeg: 90, minElevationDeg: 0 },
      { azimuthDeg: 180, minElevationDeg: 20 },
      { azimuthDeg: 270, minElevationDeg: 0 },
    ]);
    expect(slopeAt(h, 45)).toBeCloseTo(-10 / 90, 12);
    expect(slopeAt(h, 135)).toBeCloseTo(20 / 90, 12);
    expect(slopeAt(h, 315)).toBeCloseTo(10 / 90, 12); // the wrap segment 270° → 360°
  });

  it('is the right-hand slope at a vertex (looking clockwise)', () => {
    const h = masked([
      { azimuthDeg: 0, minElevationDeg: 10 },
      { azimuthDeg: 90, minElevationDeg: 0 },
      { azimuthDeg: 180, minElevationDeg: 20 },
      { azimuthDeg: 270, minElevationDeg: 0 },
    ]);
    expect(slopeAt(h, 90)).toBeCloseTo(20 / 90, 12);
  });

  it('is zero where the floor governs', () => {
    const h = masked(
      [
        { azimuthDeg: 0, minElevationDeg: 0 },
        { azimuthDeg: 180, minElevationDeg: 20 },
      ],
      5,
    );
    expect(slopeAt(h, 30)).toBe(0);
    expect(slopeAt(h, 90)).toBeCloseTo(20 / 180, 12);
    expect(slopeAt(h, 330)).toBe(0);
  });

  it('matches a central difference of the elevation away from vertices', () => {
    const h = masked([
      { azimuthDeg: 20, minElevationDeg: 9 },
      { azimuthDeg: 70, minElevationDeg: 6 },
      { azimuthDeg: 150, minElevationDeg: 1 },
      { azimuthDeg: 240, minElevationDeg: 2 },
      { azimuthDeg: 330, minElevationDeg: 5 },
    ], 3);
    const stepRad = 1e-6;
    for (let azimuthDeg = 0.5; azimuthDeg < 360; azimuthDeg += 5) {
      const a = rad(azimuthDeg);
      const difference = (minElevationRadAt(h, a + stepRad) - minElevationRadAt(h, a - stepRad)) / (2 * stepRad);
      expect(minElevationSlopeAt(h, a)).toBeCloseTo(difference, 6);
    }
  });
});

describe('compiling a mask that breaks its rules', () => {
  it('asserts: fewer than two points, azimuths not increasing, 0° and 360° disagreeing', () => {
    expect(() => masked([{ azimuthDeg: 10, minElevationDeg: 1 }])).toThrow(/at least two points/);
    expect(() =>
      masked([
        { azimuthDeg: 10, minElevationDeg: 1 },
        { azimuthDeg: 10, minElevationDeg: 2 },
      ]),
    ).toThrow(/strictly increase/);
    expect(() =>
      masked([
        { azimuthDeg: 0, minElevationDeg: 1 },
        { azimuthDeg: 360, minElevationDeg: 2 },
      ]),
    ).toThrow(/0° and 360°/);
  });
});

describe('the hand-made Hartebeesthoek mask of stations.yaml', () => {
  it('is open to the south at the 3° floor and rises to the north-east hills', async () => {
    const stations = await loadStationsFile(join(new URL('../fixtures/stations/', import.meta.url).pathname, 'stations.yaml'));
    const hartrao = stations.find((s) => s.id === 'HARTEBEESTHOEK');
    expect(hartrao).toBeDefined();
    const h = compileHorizon(hartrao!, 10);
    expect(at(h, 20)).toBeCloseTo(9, 12);
    // North lies on the wrap segment 330° (5°) → 380° (9°): 30/50 of the way.
    expect(at(h, 0)).toBeCloseTo(7.4, 12);
    expect(at(h, 150)).toBeCloseTo(3, 12); // mask 1°, floor 3°
    expect(at(h, 195)).toBeCloseTo(3, 12);
    expect(h.lowestElevationRad).toBeCloseTo(rad(3), 12);
    expect(h.highestElevationRad).toBeCloseTo(rad(9), 12);
  });
});
