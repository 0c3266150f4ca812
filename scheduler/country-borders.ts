// Which country a point on the Earth lies in, from Natural Earth's 1:50m admin-0 borders as the
// `world-atlas` package bundles them (TopoJSON, countries-50m.json, Natural Earth 5.x via
// world-atlas 2.0.2). The only importer of world-atlas, topojson-client and d3-geo (STYLE rule 17).
//
// Truth is d3-geo's `geoContains`: spherical polygons whose edges are great-circle arcs. It costs
// O(vertices) per polygon (Russia's mainland alone has thousands), so a lookup goes through a
// raster first, built once when the borders are loaded:
// - The sphere is cut into 0.25° × 0.25° cells (1440 × 720). Every polygon edge is sampled along
//   its great circle (d3's `geoInterpolate`) at most 0.05° apart, bisected further wherever two
//   samples fall in cells that are not neighbours (near the poles), and every cell within one cell
//   of a sample is marked *border*, with the countries whose edges came that close. This marking
//   is conservative: an edge passing through a cell always marks it.
// - The other cells are crossed by no edge, so all of each 4-connected region of them lies in one
//   country (or none): one `geoContains` lookup at one cell centre classifies the whole region.
// - A point in a border cell is tested exactly against its candidates: the countries whose edges
//   came close, the countries of the neighbouring non-border cells and, where every neighbour is a
//   border cell, the country holding the cell's centre. A country containing the point but none of
//   those would have to contain the cell and its neighbours without an edge nearby — then one of
//   those is its own cell, or its centre is in it, so the candidates are complete.
//
// Mapping features to ISO 3166-1 alpha-2 codes: world-atlas ids are ISO 3166-1 numeric codes
// (`country-codes.ts` maps them). Five features carry none: Somaliland is given SO and N. Cyprus
// CY (the codes ISO 3166 assigns to that territory); the Indian Ocean Territories are split into
// Cocos (Keeling) Islands CC (polygons west of 100° E) and Christmas Island CX; Kosovo (no
// officially assigned code) and the Siachen Glacier (disputed) map to no country, so a
// processing footprint never counts them as allowed territory.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { geoBounds, geoContains, geoDistance, geoInterpolate } from 'd3-geo';
import type { Feature, FeatureCollection, Polygon, Position } from 'geojson';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { OrbitfedError } from '../common/index.ts';
import { ISO_3166_ALPHA2_BY_NUMERIC } from './country-codes.ts';

/** Raster cell size, degrees. */
export const BORDER_CELL_DEG = 0.25;
/** Longest great-circle step between two samples of an edge when marking border cells, degrees. */
const EDGE_SAMPLE_DEG = 0.05;
const COLUMNS = Math.round(360 / BORDER_CELL_DEG);
const ROWS = Math.round(180 / BORDER_CELL_DEG);
const DEG = Math.PI / 180;
/** Country index of "no country" (sea, Antarctica's ice is a country here: AQ). */
const NONE = -1;
/** Marks a cell whose country is not known from the raster alone. */
const BORDER = -2;
/** Bisections of one edge sample step at most (0.05° / 2^24 is far below a millimetre). */
const BISECTIONS_MAX = 24;

/** Features of countries-50m.json without an id, by their Natural Earth name. */
const UNNUMBERED: Readonly<Record<string, string | ((polygonWestLonDeg: number) => string) | null>> = {
  Somaliland: 'SO',
  'N. Cyprus': 'CY',
  'Indian Ocean Ter.': (westLonDeg) => (westLonDeg < 100 ? 'CC' : 'CX'),
  Kosovo: null,
  'Siachen Glacier': null,
};

interface CountryPolygon {
  readonly country: number;
  readonly feature: Feature<Polygon>;
  readonly edges: PolygonEdges;
  /** Bounds in degrees; `westDeg > eastDeg` when the polygon crosses the antimeridian. */
  readonly westDeg: number;
  readonly eastDeg: number;
  readonly southDeg: number;
  readonly northDeg: number;
}

function cellOf(latDeg: number, lonDeg: number): number {
  const row = Math.min(ROWS - 1, Math.max(0, Math.floor((latDeg + 90) / BORDER_CELL_DEG)));
  let column = Math.floor((lonDeg + 180) / BORDER_CELL_DEG) % COLUMNS;
  if (column < 0) column += COLUMNS;
  return row * COLUMNS + column;
}

function neighbours(cell: number, visit: (neighbour: number) => void): void {
  const row = Math.floor(cell / COLUMNS);
  const column = cell % COLUMNS;
  for (let dr = -1; dr <= 1; dr++) {
    const r = row + dr;
    if (r < 0 || r >= ROWS) continue;
    for (let dc = -1; dc <= 1; dc++) {
      if (dr === 0 && dc === 0) continue;
      visit(r * COLUMNS + ((column + dc + COLUMNS) % COLUMNS));
    }
  }
}

function cellsAdjacent(a: number, b: number): boolean {
  const dr = Math.abs(Math.floor(a / COLUMNS) - Math.floor(b / COLUMNS));
  const dcRaw = Math.abs((a % COLUMNS) - (b % COLUMNS));
  return dr <= 1 && Math.min(dcRaw, COLUMNS - dcRaw) <= 1;
}

/** Country borders with a lookup by point. Immutable after `loadCountryBorders`; share one per process. */
export class CountryBorders {
  /** Alpha-2 code per country index. */
  readonly countries: readonly string[];
  readonly #polygons: readonly CountryPolygon[];
  /** Polygons per country index. */
  readonly #polygonsOf: readonly (readonly CountryPolygon[])[];
  /** Per cell: a country index, NONE, or BORDER. */
  readonly #cells: Int16Array;
  /** Per border cell: the candidate country indices. */
  readonly #candidates: ReadonlyMap<number, readonly number[]>;

  constructor(polygons: readonly CountryPolygon[], countries: readonly string[]) {
    this.countries = countries;
    this.#polygons = polygons;
    this.#polygonsOf = countries.map((_, i) => polygons.filter((p) => p.country === i));
    // Cells holding an edge sample, with the countries of those edges; then each one's neighbours.
    const sampled = new Map<number, number[]>();
    for (const polygon of polygons) {
      for (const ring of polygon.feature.geometry.coordinates) markRing(ring, polygon.country, sampled);
    }
    const touching = new Map<number, number[]>();
    const addNear = (cell: number, near: readonly number[]): void => {
      const list = touching.get(cell);
      if (list === undefined) touching.set(cell, [...near]);
      else for (const country of near) if (!list.includes(country)) list.push(country);
    };
    for (const [cell, near] of sampled) {
      addNear(cell, near);
      neighbours(cell, (n) => addNear(n, near));
    }
    const cells = new Int16Array(ROWS * COLUMNS);
    for (const cell of touching.keys()) cells[cell] = BORDER;
    this.#cells = cells;
    this.#classifyRegions();
    const candidates = new Map<number, readonly number[]>();
    for (const [cell, near] of touching) {
      const set = new Set<number>(near);
      let openNeighbour = false;
      neighbours(cell, (n) => {
        const value = cells[n]!;
        if (value === BORDER) return;
        openNeighbour = true;
        if (value !== NONE) set.add(value);
      });
      if (!openNeighbour) {
        const [lat, lon] = cellCentre(cell);
        const centre = this.#exactCountry(lat, lon, this.#polygons);
        if (centre !== NONE) set.add(centre);
      }
      candidates.set(cell, [...set]);
    }
    this.#candidates = candidates;
  }

  /** Alpha-2 code of the country containing the point (geodetic degrees), or undefined at sea / in unmapped territory. */
  countryAt(latitudeDeg: number, longitudeDeg: number): string | undefined {
    const index = this.countryIndexAt(latitudeDeg, longitudeDeg);
    return index === NONE ? undefined : this.countries[index];
  }

  /** Like `countryAt`, as an index into `countries` (−1 for none): no string per lookup in hot loops. */
  countryIndexAt(latitudeDeg: number, longitudeDeg: number): number {
    if (!(Math.abs(latitudeDeg) <= 90 && Number.isFinite(longitudeDeg))) {
      throw new OrbitfedError('ORBITFED_BORDERS_POINT', `(${latitudeDeg}, ${longitudeDeg}) is not a point on the Earth (latitude −90…90, finite longitude)`);
    }
    const cell = cellOf(latitudeDeg, longitudeDeg);
    const value = this.#cells[cell]!;
    if (value !== BORDER) return value;
    for (const country of this.#candidates.get(cell)!) {
      if (this.#inCountry(country, latitudeDeg, longitudeDeg)) return country;
    }
    return NONE;
  }

  /** Index of an alpha-2 code in `countries`, or −1 when the borders have no polygon for it. */
  indexOf(alpha2: string): number {
    return this.countries.indexOf(alpha2);
  }

  #inCountry(country: number, latDeg: number, lonDeg: number): boolean {
    for (const polygon of this.#polygonsOf[country]!) if (containsPoint(polygon, latDeg, lonDeg)) return true;
    return false;
  }

  #exactCountry(latDeg: number, lonDeg: number, polygons: readonly CountryPolygon[]): number {
    for (const polygon of polygons) if (containsPoint(polygon, latDeg, lonDeg)) return polygon.country;
    return NONE;
  }

  /** Each 4-connected region of non-border cells gets the country of one of its cell centres. */
  #classifyRegions(): void {
    const cells = this.#cells;
    const seen = new Uint8Array(cells.length);
    const queue = new Int32Array(cells.length);
    for (let start = 0; start < cells.length; start++) {
      if (seen[start] === 1 || cells[start] === BORDER) continue;
      const [lat, lon] = cellCentre(start);
      const country = this.#exactCountry(lat, lon, this.#polygons);
      let head = 0;
      let tail = 0;
      queue[tail++] = start;
      seen[start] = 1;
      while (head < tail) {
        const cell = queue[head++]!;
        cells[cell] = country;
        const row = Math.floor(cell / COLUMNS);
        const column = cell % COLUMNS;
        const next = [
          row > 0 ? cell - COLUMNS : -1,
          row < ROWS - 1 ? cell + COLUMNS : -1,
          row * COLUMNS + ((column + 1) % COLUMNS),
          row * COLUMNS + ((column + COLUMNS - 1) % COLUMNS),
        ];
        for (const n of next) {
          if (n < 0 || seen[n] === 1 || cells[n] === BORDER) continue;
          seen[n] = 1;
          queue[tail++] = n;
        }
      }
    }
  }
}

function cellCentre(cell: number): [number, number] {
  const row = Math.floor(cell / COLUMNS);
  const column = cell % COLUMNS;
  return [-90 + (row + 0.5) * BORDER_CELL_DEG, -180 + (column + 0.5) * BORDER_CELL_DEG];
}

/**
 * Point in spherical polygon, d3-geo's algorithm (`polygonContains` behind `geoContains`) split in
 * two: whether the South Pole is inside depends on the polygon alone and is asked of `geoContains`
 * once; the parity of the edges crossing the meridian between the point and the South Pole is
 * counted over only the edges whose longitudes span the point's, found through a longitude index.
 * The crossing test is d3's (great-circle arcs); `test/scheduler/country-borders.test.ts` checks
 * the answers against `geoContains` itself.
 */
class PolygonEdges {
  readonly #southPoleInside: boolean;
  /** Per edge: λ0, λ1 (radians), the arc's unit normal (x, y, z), and flags. */
  readonly #edges: Float64Array;
  /** Edges whose longitude span meets bin b: #binEdges[#binStart[b] … #binStart[b + 1]). */
  readonly #binStart: Int32Array;
  readonly #binEdges: Int32Array;

  constructor(feature: Feature<Polygon>) {
    this.#southPoleInside = geoContains(feature, [0, -90]);
    const edges: number[] = [];
    const binsOf: number[][] = Array.from({ length: LONGITUDE_BINS }, () => []);
    for (const ring of feature.geometry.coordinates) {
      // GeoJSON rings repeat their first point at the end; d3 drops it and closes the ring itself.
      const m = ring.length - 1;
      for (let j = 0; j < m; j++) {
        const p0 = ring[j === 0 ? m - 1 : j - 1]!;
        const p1 = ring[j]!;
        const lambda0 = wrapLongitude(p0[0]! * DEG);
        const lambda1 = wrapLongitude(p1[0]! * DEG);
        const phi0 = p0[1]! * DEG;
        const phi1 = p1[1]! * DEG;
        const a = [Math.cos(phi0) * Math.cos(lambda0), Math.cos(phi0) * Math.sin(lambda0), Math.sin(phi0)];
        const b = [Math.cos(phi1) * Math.cos(lambda1), Math.cos(phi1) * Math.sin(lambda1), Math.sin(phi1)];
        let nx = a[1]! * b[2]! - a[2]! * b[1]!;
        let ny = a[2]! * b[0]! - a[0]! * b[2]!;
        let nz = a[0]! * b[1]! - a[1]! * b[0]!;
        const norm = Math.hypot(nx, ny, nz);
        if (norm > 0) {
          nx /= norm;
          ny /= norm;
          nz /= norm;
        }
        const delta = lambda1 - lambda0;
        const antimeridian = Math.abs(delta) > Math.PI;
        const index = edges.length / EDGE_STRIDE;
        edges.push(lambda0, lambda1, nx, ny, nz, (antimeridian ? 1 : 0) | (delta >= 0 ? 2 : 0));
        // The longitudes λ for which antimeridian ^ (λ0 ≥ λ) ^ (λ1 ≥ λ) can hold.
        const low = Math.min(lambda0, lambda1);
        const high = Math.max(lambda0, lambda1);
        const spans: [number, number][] = antimeridian ? [[-Math.PI, low], [high, Math.PI]] : [[low, high]];
        for (const [from, to] of spans) {
          for (let bin = binOf(from), last = binOf(to); bin <= last; bin++) binsOf[bin]!.push(index);
        }
      }
    }
    this.#edges = Float64Array.from(edges);
    this.#binStart = new Int32Array(LONGITUDE_BINS + 1);
    binsOf.forEach((list, bin) => (this.#binStart[bin + 1] = this.#binStart[bin]! + list.length));
    this.#binEdges = Int32Array.from(binsOf.flat());
  }

  contains(latDeg: number, lonDeg: number): boolean {
    const lambda = wrapLongitude(lonDeg * DEG);
    let phi = latDeg * DEG;
    // d3: a point exactly at a pole is nudged just past it.
    if (Math.sin(phi) === 1) phi = Math.PI / 2 + 1e-6;
    else if (Math.sin(phi) === -1) phi = -Math.PI / 2 - 1e-6;
    const sinLambda = Math.sin(lambda);
    const cosLambda = Math.cos(lambda);
    const edges = this.#edges;
    const bin = binOf(lambda);
    let winding = 0;
    for (let k = this.#binStart[bin]!, end = this.#binStart[bin + 1]!; k < end; k++) {
      const e = this.#binEdges[k]! * EDGE_STRIDE;
      const flags = edges[e + 5]!;
      const antimeridian = (flags & 1) === 1;
      const ascending = (flags & 2) === 2;
      if (!(antimeridian !== (edges[e]! >= lambda) !== (edges[e + 1]! >= lambda))) continue;
      const ax = edges[e + 2]!;
      const ay = edges[e + 3]!;
      const az = edges[e + 4]!;
      // intersection = normalise(normal × arc), normal = (sin λ, −cos λ, 0)
      const ix = -cosLambda * az;
      const iy = -sinLambda * az;
      const iz = sinLambda * ay + cosLambda * ax;
      const iNorm = Math.hypot(ix, iy, iz);
      const phiArc = (antimeridian !== ascending ? -1 : 1) * Math.asin(iNorm > 0 ? iz / iNorm : 0);
      if (phi > phiArc || (phi === phiArc && (ax !== 0 || ay !== 0))) winding += antimeridian !== ascending ? 1 : -1;
    }
    return this.#southPoleInside !== ((winding & 1) === 1);
  }
}

const EDGE_STRIDE = 6;
/** Longitude bins of the edge index (1° each). */
const LONGITUDE_BINS = 360;

function binOf(lambdaRad: number): number {
  return Math.min(LONGITUDE_BINS - 1, Math.max(0, Math.floor(((lambdaRad + Math.PI) / (2 * Math.PI)) * LONGITUDE_BINS)));
}

/** d3-geo's `longitude`: radians into [−π, π]. */
function wrapLongitude(lambdaRad: number): number {
  if (Math.abs(lambdaRad) <= Math.PI) return lambdaRad;
  return Math.sign(lambdaRad) * ((Math.abs(lambdaRad) + Math.PI) % (2 * Math.PI) - Math.PI);
}

function containsPoint(polygon: CountryPolygon, latDeg: number, lonDeg: number): boolean {
  if (latDeg < polygon.southDeg || latDeg > polygon.northDeg) return false;
  const inLongitude = polygon.westDeg <= polygon.eastDeg
    ? lonDeg >= polygon.westDeg && lonDeg <= polygon.eastDeg
    : lonDeg >= polygon.westDeg || lonDeg <= polygon.eastDeg;
  return inLongitude && polygon.edges.contains(latDeg, lonDeg);
}

/** Records, for the cell of every sample of the ring's great-circle edges, the ring's country. */
function markRing(ring: readonly Position[], country: number, sampled: Map<number, number[]>): void {
  const mark = (lonDeg: number, latDeg: number): number => {
    const cell = cellOf(latDeg, lonDeg);
    const list = sampled.get(cell);
    if (list === undefined) sampled.set(cell, [country]);
    else if (!list.includes(country)) list.push(country);
    return cell;
  };
  for (let i = 0; i + 1 < ring.length; i++) {
    const a = ring[i] as [number, number];
    const b = ring[i + 1] as [number, number];
    const interpolate = geoInterpolate(a, b);
    const steps = Math.max(1, Math.ceil(geoDistance(a, b) / (EDGE_SAMPLE_DEG * DEG)));
    let previousCell = mark(a[0], a[1]);
    for (let s = 1; s <= steps; s++) {
      const t = s / steps;
      const point = interpolate(t);
      const cell = mark(point[0], point[1]);
      if (!cellsAdjacent(previousCell, cell)) bisect(interpolate, (s - 1) / steps, t, previousCell, cell, mark, 0);
      previousCell = cell;
    }
  }
}

function bisect(
  interpolate: (t: number) => [number, number], t0: number, t1: number, cell0: number, cell1: number,
  mark: (lonDeg: number, latDeg: number) => number, depth: number,
): void {
  if (depth >= BISECTIONS_MAX) return;
  const tm = (t0 + t1) / 2;
  const point = interpolate(tm);
  const cell = mark(point[0], point[1]);
  if (!cellsAdjacent(cell0, cell)) bisect(interpolate, t0, tm, cell0, cell, mark, depth + 1);
  if (!cellsAdjacent(cell, cell1)) bisect(interpolate, tm, t1, cell, cell1, mark, depth + 1);
}

/**
 * Loads the bundled Natural Earth 1:50m countries and builds the lookup raster (about a second;
 * once per process). Throws `ORBITFED_BORDERS_DATA` when the bundled file is not what it should be.
 */
export function loadCountryBorders(): CountryBorders {
  const path = createRequire(import.meta.url).resolve('world-atlas/countries-50m.json');
  let topology: Topology<{ countries: GeometryCollection<{ name: string }> }>;
  try {
    topology = JSON.parse(readFileSync(path, 'utf8')) as typeof topology;
  } catch (cause) {
    throw new OrbitfedError('ORBITFED_BORDERS_DATA', `cannot read the country borders: ${String(cause)}`, { file: path }, { cause });
  }
  if (topology.objects?.countries?.type !== 'GeometryCollection') {
    throw new OrbitfedError('ORBITFED_BORDERS_DATA', 'the country borders have no "countries" geometry collection', { file: path });
  }
  const collection = feature(topology, topology.objects.countries) as FeatureCollection<Polygon | import('geojson').MultiPolygon, { name: string }>;
  const countries: string[] = [];
  const indexOf = new Map<string, number>();
  const polygons: CountryPolygon[] = [];
  for (const f of collection.features) {
    const rings = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    for (const coordinates of rings) {
      const polygonFeature: Feature<Polygon> = { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates } };
      const [[westDeg, southDeg], [eastDeg, northDeg]] = geoBounds(polygonFeature);
      const alpha2 = alpha2Of(f.id, f.properties.name, westDeg);
      if (alpha2 === null) continue;
      let index = indexOf.get(alpha2);
      if (index === undefined) {
        index = countries.length;
        countries.push(alpha2);
        indexOf.set(alpha2, index);
      }
      polygons.push({ country: index, feature: polygonFeature, edges: new PolygonEdges(polygonFeature), westDeg, eastDeg, southDeg, northDeg });
    }
  }
  return new CountryBorders(polygons, countries);
}

function alpha2Of(id: string | number | undefined, name: string, westLonDeg: number): string | null {
  if (id === undefined) {
    const mapped = UNNUMBERED[name];
    if (mapped === undefined) throw new OrbitfedError('ORBITFED_BORDERS_DATA', `country feature "${name}" has no id and no mapping`);
    return typeof mapped === 'function' ? mapped(westLonDeg) : mapped;
  }
  const alpha2 = ISO_3166_ALPHA2_BY_NUMERIC.get(Number(id));
  if (alpha2 === undefined) throw new OrbitfedError('ORBITFED_BORDERS_DATA', `country feature "${name}" has id ${String(id)}, not an ISO 3166-1 numeric code`);
  return alpha2;
}
