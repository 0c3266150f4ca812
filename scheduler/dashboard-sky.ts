// What the dashboard's map and Gantt view show of the federation at an instant: ground stations
// where they stand, satellites at their sub-satellite points with ground tracks and footprints,
// the links open now, and the coming contacts per node. Functions of the plan, the registered
// nodes, the element sets and an explicit `nowMs`; no I/O.
//
// - Positions: SGP4 on the scheduler's element sets (ground-track.ts's sub-satellite point on
//   WGS84). A satellite is matched to its elements by catalog number: a registered orbital node's
//   `noradId`, else the plan's node id (plans built by `orbitfed plan` name satellites by catalog
//   number). A satellite without elements is listed without a position.
// - Ground track: from a quarter of an orbit before now to one orbit after, at most
//   TRACK_POINTS_MAX points, cached per satellite until the clock moves past the next sample.
// - Footprint: the circle on the ground from which the satellite is at least
//   FOOTPRINT_MIN_ELEVATION_DEG above the horizon, on a sphere of the mean Earth radius: central
//   angle λ = acos(R / (R + h) · cos ε) − ε (Wertz, Space Mission Engineering, eq. 8-26).
// - Links and Gantt bars are *space* contacts only (at least one end not a ground station): the
//   terrestrial mesh is always on and would hide everything else. Both directions of a pair and
//   back-to-back contacts of a pair are merged into one link or bar, which lists its contacts.
import { createPropagator, type ContactPlan, type ElementSet, type Propagator, type Station } from '../contact-plans/index.ts';
import { planSecOf } from '../dtn/index.ts';
import type { NodeNames } from './api-views.ts';
import { ISO_3166_NUMERIC_BY_ALPHA2 } from './country-codes.ts';
import { subSatellitePoint } from './ground-track.ts';
import type { NodeRecord } from './job-store.ts';

export const FOOTPRINT_MIN_ELEVATION_DEG = 10;
const EARTH_MEAN_RADIUS_KM = 6371.0088;
const TRACK_POINTS_MAX = 150;
const TRACK_STEP_MS_MIN = 30_000;
const DEG = 180 / Math.PI;

export type SkyNodeKind = 'ground' | 'satellite' | 'other';

export interface StationView {
  readonly id: string;
  readonly ipn: number;
  readonly name: string;
  readonly registered: boolean;
  readonly latitudeDeg?: number;
  readonly longitudeDeg?: number;
  readonly country?: string;
  /** The country's ISO 3166-1 numeric code, three digits (the map's feature id): where to draw a station without coordinates. */
  readonly countryId?: string;
  readonly operator?: string;
}

export interface SatelliteView {
  readonly id: string;
  readonly ipn: number;
  readonly name: string;
  readonly registered: boolean;
  readonly catalogNumber?: string;
  readonly latitudeDeg?: number;
  readonly longitudeDeg?: number;
  readonly altitudeKm?: number;
  readonly footprintRadiusDeg?: number;
  /** [longitude, latitude] pairs, oldest first (GeoJSON order). */
  readonly track?: readonly (readonly [number, number])[];
  /** Why there is no position (no elements, SGP4 failed). */
  readonly problem?: string;
}

export interface LinkView {
  readonly a: string;
  readonly b: string;
  readonly aIpn: number;
  readonly bIpn: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly rateAToBBytesPerSec: number;
  readonly rateBToABytesPerSec: number;
  /** Contact indices in the scheduler's current plan. */
  readonly contacts: readonly number[];
}

export interface GanttBar extends LinkView {
  readonly capacityBytes: number;
  readonly bookedBytes: number;
}

export interface GanttRow {
  readonly id: string;
  readonly ipn: number;
  readonly kind: SkyNodeKind;
  /** What to call it: the id, or for an unregistered satellite its name in the element sets. */
  readonly label: string;
}

/** Space contacts of one plan in start order, and the longest of them (for window queries). */
interface SpaceIndex {
  readonly nodes: ReadonlyMap<string, NodeRecord>;
  readonly contacts: Int32Array;
  readonly startSecs: Float64Array;
  readonly durationSecMax: number;
}

/** The footprint's central angle (degrees) of a satellite at `altitudeKm` for a minimum elevation. */
export function footprintRadiusDeg(altitudeKm: number, minElevationDeg = FOOTPRINT_MIN_ELEVATION_DEG): number {
  const eps = minElevationDeg / DEG;
  const ratio = EARTH_MEAN_RADIUS_KM / (EARTH_MEAN_RADIUS_KM + Math.max(0, altitudeKm));
  return (Math.acos(ratio * Math.cos(eps)) - eps) * DEG;
}

/** Kind of a plan node: the registered spec's when there is one, else the plan's. */
export function nodeKindOf(plan: ContactPlan, nodesByIpn: ReadonlyMap<number, NodeRecord>, ipn: number): SkyNodeKind {
  const spec = nodesByIpn.get(ipn)?.spec;
  if (spec !== undefined) return spec.kind === 'orbital' ? 'satellite' : 'ground';
  return plan.node(ipn)?.kind ?? 'other';
}

/** A satellite's catalog number: its registered `noradId`, else the plan's id when it is one (plans by `orbitfed plan`). */
function catalogOf(plan: ContactPlan, byIpn: ReadonlyMap<number, NodeRecord>, ipn: number): number | undefined {
  const planId = plan.node(ipn)?.id;
  return byIpn.get(ipn)?.spec.noradId ?? (planId !== undefined && /^[0-9]{1,9}$/.test(planId) ? Number(planId) : undefined);
}

const byIpnOf = (nodes: ReadonlyMap<string, NodeRecord>): Map<number, NodeRecord> => new Map([...nodes.values()].map((n) => [n.spec.ipn, n]));

export class DashboardSky {
  readonly #elementsByCatalog: ReadonlyMap<number, ElementSet>;
  readonly #stationsById: ReadonlyMap<string, Station>;
  readonly #propagators = new Map<number, Propagator | string>();
  readonly #tracks = new Map<number, { readonly startMs: number; readonly track: readonly (readonly [number, number])[] }>();
  readonly #spaceIndexes = new WeakMap<ContactPlan, SpaceIndex>();

  constructor(elements: readonly ElementSet[], stations: readonly Station[]) {
    this.#elementsByCatalog = new Map(elements.map((e) => [Number(e.catalogNumber), e]));
    const stationsById = new Map<string, Station>();
    for (const s of stations) {
      stationsById.set(s.id, s);
      if (!stationsById.has(s.id.toLowerCase())) stationsById.set(s.id.toLowerCase(), s);
    }
    this.#stationsById = stationsById;
  }

  /** Ground stations of the plan and the registry, with their position when the stations file has it. */
  stations(plan: ContactPlan, nodes: ReadonlyMap<string, NodeRecord>, names: NodeNames): StationView[] {
    const byIpn = byIpnOf(nodes);
    const ipns = new Set<number>();
    for (const n of plan.nodes) if (nodeKindOf(plan, byIpn, n.ipn) === 'ground') ipns.add(n.ipn);
    for (const n of nodes.values()) if (n.spec.kind === 'ground') ipns.add(n.spec.ipn);
    return [...ipns].sort((a, b) => a - b).map((ipn) => {
      const spec = byIpn.get(ipn)?.spec;
      const planId = plan.node(ipn)?.id;
      const station = (planId === undefined ? undefined : this.#stationsById.get(planId)) ?? (spec === undefined ? undefined : this.#stationsById.get(spec.id) ?? this.#stationsById.get(spec.id.toLowerCase()));
      const country = spec?.jurisdiction.country ?? station?.country;
      const operator = spec?.operator ?? station?.operator;
      return {
        id: names.name(ipn), ipn, name: station?.name ?? planId ?? names.name(ipn), registered: spec !== undefined,
        ...(station === undefined ? {} : { latitudeDeg: station.latitudeDeg, longitudeDeg: station.longitudeDeg }),
        ...(country === undefined ? {} : { country }),
        ...(country === undefined || !ISO_3166_NUMERIC_BY_ALPHA2.has(country) ? {} : { countryId: String(ISO_3166_NUMERIC_BY_ALPHA2.get(country)).padStart(3, '0') }),
        ...(operator === undefined ? {} : { operator }),
      };
    });
  }

  /** Satellites of the plan and the registry at `nowMs` (registered ones first), at most `max`; tracks for the first `tracksMax`. */
  satellites(plan: ContactPlan, nodes: ReadonlyMap<string, NodeRecord>, names: NodeNames, nowMs: number, max: number, tracksMax: number): { satellites: SatelliteView[]; truncated: boolean } {
    const byIpn = byIpnOf(nodes);
    const ipns = new Set<number>();
    for (const n of nodes.values()) if (n.spec.kind === 'orbital') ipns.add(n.spec.ipn);
    for (const n of plan.nodes) if (nodeKindOf(plan, byIpn, n.ipn) === 'satellite') ipns.add(n.ipn);
    const ordered = [...ipns].sort((a, b) => Number(byIpn.has(b)) - Number(byIpn.has(a)) || a - b);
    const satellites = ordered.slice(0, max).map((ipn, i): SatelliteView => {
      const spec = byIpn.get(ipn)?.spec;
      const catalog = catalogOf(plan, byIpn, ipn);
      const base = { id: names.name(ipn), ipn, registered: spec !== undefined };
      if (catalog === undefined) return { ...base, name: base.id, problem: 'no catalog number (register the node with noradId)' };
      const propagator = this.#propagator(catalog);
      const name = this.#elementsByCatalog.get(catalog)?.name ?? base.id;
      const withCatalog = { ...base, name, catalogNumber: String(catalog) };
      if (typeof propagator === 'string') return { ...withCatalog, problem: propagator };
      const point = subSatellitePoint(propagator, nowMs);
      if (typeof point === 'number') return { ...withCatalog, problem: `SGP4 failed at this time (status ${point})` };
      return {
        ...withCatalog,
        latitudeDeg: round(point.latitudeDeg, 4), longitudeDeg: round(point.longitudeDeg, 4), altitudeKm: round(point.altitudeKm, 1),
        footprintRadiusDeg: round(footprintRadiusDeg(point.altitudeKm), 3),
        ...(i < tracksMax ? { track: this.#track(catalog, propagator, nowMs) } : {}),
      };
    });
    return { satellites, truncated: ordered.length > max };
  }

  /** Space links open at `nowMs`, at most `max` (then `truncated`). */
  openLinks(plan: ContactPlan, nodes: ReadonlyMap<string, NodeRecord>, names: NodeNames, nowMs: number, max: number): { links: LinkView[]; truncated: boolean } {
    const nowSec = planSecOf(names.timeBase, nowMs);
    const open: number[] = [];
    this.#eachSpaceContact(plan, nodes, nowSec, nowSec, (i) => {
      const c = plan.contacts[i]!;
      if (c.startSec <= nowSec && nowSec < c.endSec) open.push(i);
    });
    const links = mergeByPair(plan, open, names, false);
    return { links: links.slice(0, max), truncated: links.length > max };
  }

  /** Rows (ground stations, then satellites) and merged bars of the space contacts overlapping [fromMs, toMs). */
  gantt(plan: ContactPlan, nodes: ReadonlyMap<string, NodeRecord>, names: NodeNames, booked: (contact: number) => number, fromMs: number, toMs: number, barsMax: number):
  { rows: GanttRow[]; bars: GanttBar[]; truncated: boolean } {
    const byIpn = byIpnOf(nodes);
    const fromSec = planSecOf(names.timeBase, fromMs);
    const toSec = planSecOf(names.timeBase, toMs);
    const inWindow: number[] = [];
    this.#eachSpaceContact(plan, nodes, fromSec, toSec, (i) => {
      const c = plan.contacts[i]!;
      if (c.endSec > fromSec && c.startSec < toSec) inWindow.push(i);
    });
    const merged = mergeByPair(plan, inWindow, names, true);
    const bars = merged.slice(0, barsMax).map((bar): GanttBar => ({
      ...bar,
      capacityBytes: bar.contacts.reduce((sum, i) => sum + plan.capacityBytes(i), 0),
      bookedBytes: bar.contacts.reduce((sum, i) => sum + booked(i), 0),
    }));
    const rowIpns = new Set<number>();
    for (const n of plan.nodes) if (nodeKindOf(plan, byIpn, n.ipn) !== 'other') rowIpns.add(n.ipn);
    for (const n of nodes.values()) rowIpns.add(n.spec.ipn);
    for (const bar of bars) rowIpns.add(bar.aIpn).add(bar.bIpn);
    const rank = (kind: SkyNodeKind): number => (kind === 'ground' ? 0 : kind === 'satellite' ? 1 : 2);
    const labelOf = (ipn: number, kind: SkyNodeKind): string => {
      const catalog = kind === 'satellite' && !byIpn.has(ipn) ? catalogOf(plan, byIpn, ipn) : undefined;
      return (catalog === undefined ? undefined : this.#elementsByCatalog.get(catalog)?.name) ?? names.name(ipn);
    };
    const rows = [...rowIpns].map((ipn): GanttRow => {
      const kind = nodeKindOf(plan, byIpn, ipn);
      return { id: names.name(ipn), ipn, kind, label: labelOf(ipn, kind) };
    })
      .sort((a, b) => rank(a.kind) - rank(b.kind) || a.id.localeCompare(b.id));
    return { rows, bars, truncated: merged.length > barsMax };
  }

  /** Calls `visit` with every space contact that may overlap [fromSec, toSec], in start order. */
  #eachSpaceContact(plan: ContactPlan, nodes: ReadonlyMap<string, NodeRecord>, fromSec: number, toSec: number, visit: (contact: number) => void): void {
    const index = this.#spaceIndex(plan, nodes);
    const earliestStartSec = fromSec - index.durationSecMax;
    let lo = 0;
    let hi = index.startSecs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (index.startSecs[mid]! < earliestStartSec) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < index.contacts.length && index.startSecs[k]! <= toSec; k++) visit(index.contacts[k]!);
  }

  #spaceIndex(plan: ContactPlan, nodes: ReadonlyMap<string, NodeRecord>): SpaceIndex {
    const cached = this.#spaceIndexes.get(plan);
    if (cached !== undefined && cached.nodes === nodes) return cached;
    const byIpn = byIpnOf(nodes);
    const kinds = new Map<number, SkyNodeKind>();
    const kind = (ipn: number): SkyNodeKind => {
      let k = kinds.get(ipn);
      if (k === undefined) kinds.set(ipn, (k = nodeKindOf(plan, byIpn, ipn)));
      return k;
    };
    const picked: number[] = [];
    let durationSecMax = 0;
    plan.contacts.forEach((c, i) => {
      if (kind(c.from) === 'ground' && kind(c.to) === 'ground') return;
      picked.push(i);
      durationSecMax = Math.max(durationSecMax, c.endSec - c.startSec);
    });
    // The plan's contacts are sorted by start, so the picked ones are too.
    const index: SpaceIndex = {
      nodes, contacts: Int32Array.from(picked), startSecs: Float64Array.from(picked, (i) => plan.contacts[i]!.startSec), durationSecMax,
    };
    this.#spaceIndexes.set(plan, index);
    return index;
  }

  #propagator(catalog: number): Propagator | string {
    let propagator = this.#propagators.get(catalog);
    if (propagator === undefined) {
      const elements = this.#elementsByCatalog.get(catalog);
      const result = elements === undefined ? undefined : createPropagator(elements);
      propagator = result === undefined ? 'no element set for this catalog number (scheduler elementsPath)' : result.ok ? result.propagator : `SGP4 cannot start: ${result.message}`;
      this.#propagators.set(catalog, propagator);
    }
    return propagator;
  }

  /** The ground track around `nowMs`: samples on a grid of the step, recomputed when `nowMs` moves to the next one. */
  #track(catalog: number, propagator: Propagator, nowMs: number): readonly (readonly [number, number])[] {
    const periodMs = propagator.periodSec * 1000;
    const spanMs = periodMs * 1.25;
    const stepMs = Math.max(TRACK_STEP_MS_MIN, Math.ceil(spanMs / (TRACK_POINTS_MAX - 1)));
    const startMs = Math.floor((nowMs - periodMs / 4) / stepMs) * stepMs;
    const cached = this.#tracks.get(catalog);
    if (cached !== undefined && cached.startMs === startMs) return cached.track;
    const track: (readonly [number, number])[] = [];
    for (let k = 0; k < TRACK_POINTS_MAX && k * stepMs <= spanMs; k++) {
      const point = subSatellitePoint(propagator, startMs + k * stepMs);
      if (typeof point !== 'number') track.push([round(point.longitudeDeg, 3), round(point.latitudeDeg, 3)]);
    }
    this.#tracks.set(catalog, { startMs, track });
    return track;
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Contacts (in start order) merged per unordered node pair: both directions, and — with
 * `adjacent` — a contact starting before the pair's current bar ends extends it.
 */
function mergeByPair(plan: ContactPlan, contacts: readonly number[], names: NodeNames, adjacent: boolean): LinkView[] {
  interface Building { a: number; b: number; startSec: number; endSec: number; ab: number; ba: number; contacts: number[] }
  const open = new Map<string, Building>();
  const all: Building[] = [];
  for (const i of contacts) {
    const c = plan.contacts[i]!;
    const a = Math.min(c.from, c.to);
    const b = Math.max(c.from, c.to);
    const key = `${a}:${b}`;
    let bar = open.get(key);
    if (bar === undefined || (adjacent && c.startSec > bar.endSec)) {
      bar = { a, b, startSec: c.startSec, endSec: c.endSec, ab: 0, ba: 0, contacts: [] };
      open.set(key, bar);
      all.push(bar);
    }
    bar.startSec = Math.min(bar.startSec, c.startSec);
    bar.endSec = Math.max(bar.endSec, c.endSec);
    if (c.from === a) bar.ab = Math.max(bar.ab, c.rateBytesPerSec);
    else bar.ba = Math.max(bar.ba, c.rateBytesPerSec);
    bar.contacts.push(i);
  }
  return all.map((bar) => ({
    a: names.name(bar.a), b: names.name(bar.b), aIpn: bar.a, bIpn: bar.b, startMs: names.ms(bar.startSec), endMs: names.ms(bar.endSec),
    rateAToBBytesPerSec: bar.ab, rateBToABytesPerSec: bar.ba, contacts: bar.contacts,
  }));
}
