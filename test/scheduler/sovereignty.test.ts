// Sovereignty's geography: ISO 3166 codes and regions, which country a point is in (Natural Earth
// 1:50m via world-atlas, checked against d3-geo's geoContains itself), a satellite's sub-point
// (checked against satellite.js's own transforms), and the node rules atRest and downlink.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { geoBounds, geoContains } from 'd3-geo';
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { eciToGeodetic, gstime, propagate, twoline2satrec } from 'satellite.js';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../common/index.ts';
import { createPropagator, loadElementFile, type ElementSet } from '../../contact-plans/index.ts';
import {
  expandCountries, GroundTracks, GROUND_TRACK_STEP_MS, isCountryCode, isCountryOrRegion, ISO_3166_ALPHA2_BY_NUMERIC, loadCountryBorders, mayReceiveDownlink, mayRestAt,
  REGIONS, sovereigntyRulesOf, subSatellitePoint, type CountryBorders,
} from '../../scheduler/index.ts';
import { EPOCH_MS, groundNode, jobAt, orbitalNode } from './placement-world.ts';

const LEO1000_TLE = fileURLToPath(new URL('../fixtures/passes/leo1000.tle', import.meta.url));
const ISS = '25544';

let borders: CountryBorders;
let iss: ElementSet;
beforeAll(async () => {
  borders = loadCountryBorders();
  iss = (await loadElementFile(LEO1000_TLE, { checksum: 'strict' })).elements.find((e) => e.catalogNumber === ISS)!;
}, 60_000);

describe('country codes and regions', () => {
  it('knows the officially assigned ISO 3166-1 alpha-2 codes and their numeric codes (Debian iso-codes 4.15.0)', () => {
    expect(isCountryCode('DE')).toBe(true);
    expect(isCountryCode('GB')).toBe(true);
    expect(isCountryCode('UK')).toBe(false);
    expect(isCountryCode('XK')).toBe(false);
    expect(ISO_3166_ALPHA2_BY_NUMERIC.get(276)).toBe('DE');
    expect(ISO_3166_ALPHA2_BY_NUMERIC.get(840)).toBe('US');
    expect(ISO_3166_ALPHA2_BY_NUMERIC.size).toBe(249);
  });

  it('expands EU to the 27 member states and EEA to them plus Iceland, Liechtenstein and Norway', () => {
    const eu = expandCountries(['EU']);
    expect(eu.size).toBe(27);
    expect(eu.has('DE') && eu.has('HR') && eu.has('CY')).toBe(true);
    expect(eu.has('GB') || eu.has('NO') || eu.has('CH')).toBe(false);
    const eea = expandCountries(['EEA']);
    expect(eea.size).toBe(30);
    expect(['IS', 'LI', 'NO'].every((c) => eea.has(c))).toBe(true);
    expect([...expandCountries(['EU', 'CH', 'NO'])].length).toBe(29);
    expect(isCountryOrRegion('EU') && isCountryOrRegion('EEA') && !isCountryOrRegion('EUROPE')).toBe(true);
    expect([...REGIONS.get('EU')!].every((c) => isCountryCode(c))).toBe(true);
  });
});

describe('which country a point is in (Natural Earth 1:50m)', () => {
  it('puts real places in their countries and the open sea in none', () => {
    const places: [string, number, number, string | undefined][] = [
      ['Berlin', 52.52, 13.405, 'DE'],
      ['Paris', 48.8566, 2.3522, 'FR'],
      ['Strasbourg, west bank of the Rhine', 48.5734, 7.7521, 'FR'],
      ['Kehl, east bank of the Rhine', 48.5716, 7.8152, 'DE'],
      ['Basel', 47.5596, 7.5886, 'CH'],
      ['Lörrach', 47.6156, 7.6614, 'DE'],
      ['Kaliningrad (exclave)', 54.71, 20.51, 'RU'],
      ['Maseru (Lesotho, inside South Africa)', -29.31, 27.48, 'LS'],
      ['Chukotka, west of the antimeridian by longitude sign', 66, -175, 'RU'],
      ['Fiji (crosses the antimeridian)', -17.8, 178, 'FJ'],
      ['Hargeisa (Somaliland, mapped to SO)', 9.56, 44.065, 'SO'],
      ['North Nicosia (N. Cyprus, mapped to CY)', 35.2, 33.36, 'CY'],
      ['Christmas Island (Indian Ocean Ter., east)', -10.49, 105.62, 'CX'],
      ['Pristina (Kosovo: no assigned code)', 42.6629, 21.1655, undefined],
      ['mid-Atlantic', 30, -40, undefined],
      ['Pacific, Point Nemo', -48.8767, -123.3933, undefined],
    ];
    for (const [name, lat, lon, country] of places) expect(borders.countryAt(lat, lon), name).toBe(country);
  });

  it('refuses points that are not on the Earth', () => {
    expect(() => borders.countryAt(91, 0)).toThrow(/ORBITFED_BORDERS_POINT|not a point/);
    expect(() => borders.countryAt(0, Number.NaN)).toThrow(/not a point/);
  });

  it("agrees with d3-geo's geoContains on random points and on points next to every border", () => {
    const path = fileURLToPath(new URL('../../node_modules/world-atlas/countries-50m.json', import.meta.url));
    const topology = JSON.parse(readFileSync(path, 'utf8')) as Topology<{ countries: GeometryCollection<{ name: string }> }>;
    const collection = feature(topology, topology.objects.countries) as FeatureCollection<Polygon | MultiPolygon, { name: string }>;
    // The truth for features with an ISO numeric id (the five without one are mapped by name and checked above).
    const numbered = collection.features.filter((f) => f.id !== undefined) as Feature<Polygon | MultiPolygon, { name: string }>[];
    // geoContains on every feature is the truth; its bounds only skip the features that cannot contain the point.
    const bounds = numbered.map((f) => geoBounds(f));
    const mayContain = (i: number, lat: number, lon: number): boolean => {
      const [[west, south], [east, north]] = bounds[i]!;
      return lat >= south - 1 && lat <= north + 1 && (west <= east ? lon >= west - 1 && lon <= east + 1 : lon >= west - 1 || lon <= east + 1);
    };
    const truth = (lat: number, lon: number): string | undefined => {
      const hit = numbered.find((f, i) => mayContain(i, lat, lon) && geoContains(f, [lon, lat]));
      return hit === undefined ? undefined : ISO_3166_ALPHA2_BY_NUMERIC.get(Number(hit.id));
    };
    const unnumbered = collection.features.filter((f) => f.id === undefined);
    const inUnnumbered = (lat: number, lon: number): boolean => unnumbered.some((f) => geoContains(f, [lon, lat]));
    const seed = 20_260_614;
    const random = seededRng(seed);
    const points: [number, number][] = [];
    for (let i = 0; i < 2000; i++) points.push([Math.asin(2 * random() - 1) * (180 / Math.PI), 360 * random() - 180]);
    // Next to borders: vertices of random rings, moved by up to 0.02° (about 2 km).
    for (let i = 0; i < 3000; i++) {
      const f = numbered[Math.floor(random() * numbered.length)]!;
      const rings = f.geometry.type === 'Polygon' ? f.geometry.coordinates : f.geometry.coordinates.flat();
      const ring = rings[Math.floor(random() * rings.length)]!;
      const [lon, lat] = ring[Math.floor(random() * ring.length)]!;
      points.push([Math.max(-90, Math.min(90, lat! + (random() - 0.5) * 0.04)), lon! + (random() - 0.5) * 0.04]);
    }
    const disagreements = points.filter(([lat, lon]) => !inUnnumbered(lat, lon) && borders.countryAt(lat, lon) !== truth(lat, lon));
    expect(disagreements, `seed ${seed}`).toEqual([]);
  }, 120_000);
});

describe("a satellite's ground track", () => {
  it("puts the ISS's sub-point where satellite.js's own SGP4 and geodetic transform put it (within 0.01°)", () => {
    const propagator = createPropagator(iss);
    if (!propagator.ok) throw new Error(propagator.message);
    const satrec = twoline2satrec(iss.tleLines![0], iss.tleLines![1]);
    for (let minute = 0; minute < 24 * 60; minute += 37) {
      const unixMs = EPOCH_MS + minute * 60_000;
      const ours = subSatellitePoint(propagator.propagator, unixMs);
      if (typeof ours === 'number') throw new Error(`SGP4 status ${ours}`);
      const date = new Date(unixMs);
      const state = propagate(satrec, date)!;
      const reference = eciToGeodetic(state.position as never, gstime(date));
      expect(ours.latitudeDeg).toBeCloseTo((reference.latitude * 180) / Math.PI, 2);
      const dLon = ((ours.longitudeDeg - (reference.longitude * 180) / Math.PI + 540) % 360) - 180;
      expect(Math.abs(dLon)).toBeLessThan(0.01);
      expect(ours.altitudeKm).toBeGreaterThan(370);
      expect(ours.altitudeKm).toBeLessThan(440);
    }
  });

  it('finds the earliest start at which a run stays over the allowed countries, sampled every 10 s', () => {
    const tracks = new GroundTracks(borders, new Map([[Number(ISS), iss]]));
    const us = new Uint8Array(borders.countries.length);
    us[borders.indexOf('US')] = 1;
    const executionMs = 3 * 60_000;
    const fromMs = EPOCH_MS + 1234;
    const startMs = tracks.earliestInside(Number(ISS), us, fromMs, EPOCH_MS + 24 * 3_600_000, executionMs)!;
    expect(startMs).toBeGreaterThanOrEqual(fromMs);
    const propagator = createPropagator(iss);
    if (!propagator.ok) throw new Error(propagator.message);
    const countryAt = (ms: number): string | undefined => {
      const p = subSatellitePoint(propagator.propagator, ms);
      return typeof p === 'number' ? undefined : borders.countryAt(p.latitudeDeg, p.longitudeDeg);
    };
    const step = GROUND_TRACK_STEP_MS;
    // Every grid sample covering the run is over the US …
    for (let k = Math.floor(startMs / step); k <= Math.ceil((startMs + executionMs) / step); k++) expect(countryAt(k * step)).toBe('US');
    // … and no earlier start on the grid works: before it, each window of samples has one outside.
    for (let k0 = Math.ceil(fromMs / step); k0 * step < startMs; k0++) {
      const samples = Math.ceil(executionMs / step);
      const inside = Array.from({ length: samples + 1 }, (_, i) => countryAt((k0 + i) * step) === 'US').every(Boolean);
      expect(inside, `start ${new Date(k0 * step).toISOString()}`).toBe(false);
    }
    // A run too long to fit inside any pass over Luxembourg is never found.
    const lu = new Uint8Array(borders.countries.length);
    lu[borders.indexOf('LU')] = 1;
    expect(tracks.earliestInside(Number(ISS), lu, fromMs, EPOCH_MS + 24 * 3_600_000, 10 * 60_000)).toBeUndefined();
  }, 120_000);
});

describe('where data may rest and who may receive it', () => {
  const berlin = groundNode('gs-berlin', 1, 'DE');
  const svalbard = groundNode('gs-svalbard', 2, 'NO');
  const eagle = orbitalNode('sat-de', 3, 'DE', 'DE');
  const mixed = orbitalNode('sat-de-us', 4, 'DE', 'US');
  const undeclared = orbitalNode('sat-lu', 5, 'LU', undefined);

  it('holds ground nodes to their country and satellites to both registry and operator jurisdiction', () => {
    const rules = sovereigntyRulesOf(jobAt('gs-berlin', EPOCH_MS, 2, { sovereignty: { atRest: ['EU'] } }));
    expect(mayRestAt(rules, berlin)).toBe(true);
    expect(mayRestAt(rules, svalbard)).toBe(false);
    expect(mayRestAt(rules, eagle)).toBe(true);
    expect(mayRestAt(rules, mixed)).toBe(false);
    expect(mayRestAt(rules, undeclared)).toBe(false);
    expect(mayRestAt(rules, undefined)).toBe(false);
    expect(mayRestAt(sovereigntyRulesOf(jobAt('gs-berlin', EPOCH_MS, 2)), undefined)).toBe(true);
  });

  it('lets a station receive from space when its country or its id is listed', () => {
    const byCountry = sovereigntyRulesOf(jobAt('gs-berlin', EPOCH_MS, 2, { sovereignty: { downlink: { countries: ['DE'] } } }));
    expect(mayReceiveDownlink(byCountry, berlin)).toBe(true);
    expect(mayReceiveDownlink(byCountry, svalbard)).toBe(false);
    expect(mayReceiveDownlink(byCountry, eagle)).toBe(false);
    const either = sovereigntyRulesOf(jobAt('gs-berlin', EPOCH_MS, 2, { sovereignty: { downlink: { countries: ['DE'], stations: ['gs-svalbard'] } } }));
    expect(mayReceiveDownlink(either, svalbard)).toBe(true);
    expect(mayReceiveDownlink(sovereigntyRulesOf(jobAt('gs-berlin', EPOCH_MS, 2)), svalbard)).toBe(true);
  });
});
