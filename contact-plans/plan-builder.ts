// Builds a ContactPlan from what the federation knows: passes (ground↔satellite, both
// directions), inter-satellite windows and terrestrial links between ground stations.
import { OrbitfedError, SPEED_OF_LIGHT_KM_PER_SEC } from '../common/index.ts';
import { ContactPlan, type Contact, type PlanNode } from './contact-plan.ts';
import { WGS84_A_KM } from './earth-frames.ts';
import type { ElementSet } from './element-set.ts';
import type { PassTable } from './pass-table.ts';
import type { Station } from './station.ts';
import type { TimeWindow } from './trajectory.ts';

/**
 * ipn node numbers: ground stations are numbered 1, 2, … in the order of their file; satellites
 * are 1,000,000,000 + their NORAD catalog number (catalog numbers have at most 9 digits), so the
 * two ranges never meet and a satellite's node number says which object it is.
 */
export const SATELLITE_IPN_BASE = 1_000_000_000;
export const stationIpn = (stationIndex: number): number => stationIndex + 1;
export const satelliteIpn = (catalogNumber: string): number => SATELLITE_IPN_BASE + Number(catalogNumber);

/** Speed of signals in terrestrial fibre, as a fraction of c (refractive index ~1.47). */
const FIBRE_VELOCITY_FACTOR = 0.68;

export interface DefaultRates {
  /** Ground → satellite, for stations that give no `uplinkRateBytesPerSec`. */
  readonly uplinkBytesPerSec: number;
  /** Satellite → ground, for stations that give no `downlinkRateBytesPerSec`. */
  readonly downlinkBytesPerSec: number;
  /** Satellite ↔ satellite. */
  readonly islBytesPerSec: number;
}

/** 64 kbit/s up, 10 Mbit/s down (S/X-band telemetry and payload downlink), 100 Mbit/s optical ISL. */
export const DEFAULT_RATES: DefaultRates = { uplinkBytesPerSec: 8_000, downlinkBytesPerSec: 1_250_000, islBytesPerSec: 12_500_000 };

/** A satellite↔satellite line-of-sight window (satellite indices into `elements`). */
export interface SatelliteWindow {
  readonly satelliteA: number;
  readonly satelliteB: number;
  readonly startSec: number;
  readonly endSec: number;
  /** Largest range during the window, for a conservative light time. */
  readonly maxRangeKm: number;
}

/** A link between two ground stations (by id): always on, or on during the listed intervals. */
export interface TerrestrialLink {
  readonly from: string;
  readonly to: string;
  readonly rateBytesPerSec: number;
  /** Default: great-circle distance over fibre. */
  readonly owltSec?: number;
  /** Seconds after the window start; default: the whole window. */
  readonly intervals?: readonly { readonly startSec: number; readonly endSec: number }[];
  /** One direction only; default both. */
  readonly oneWay?: boolean;
}

/** Satellite windows in columns (an `IslTable` is one): no object per window for millions of them. */
export interface SatelliteWindowColumns {
  readonly length: number;
  readonly columns: {
    readonly satelliteA: Int32Array;
    readonly satelliteB: Int32Array;
    readonly startSec: Float64Array;
    readonly endSec: Float64Array;
    readonly maxRangeKm: Float64Array;
  };
}

export interface PlanBuildInput {
  readonly window: TimeWindow;
  readonly elements: readonly ElementSet[];
  readonly stations: readonly Station[];
  readonly passes: PassTable;
  readonly satelliteWindows?: readonly SatelliteWindow[] | SatelliteWindowColumns;
  readonly terrestrialLinks?: readonly TerrestrialLink[];
  readonly rates?: DefaultRates;
}

function greatCircleKm(a: Station, b: Station): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitudeDeg - a.latitudeDeg) * rad;
  const dLon = (b.longitudeDeg - a.longitudeDeg) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitudeDeg * rad) * Math.cos(b.latitudeDeg * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * WGS84_A_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Every ground station connected to every other, always on, at `rateBytesPerSec`. */
export function groundMesh(stations: readonly Station[], rateBytesPerSec: number): TerrestrialLink[] {
  const links: TerrestrialLink[] = [];
  for (let i = 0; i < stations.length; i += 1) {
    for (let j = i + 1; j < stations.length; j += 1) links.push({ from: stations[i]!.id, to: stations[j]!.id, rateBytesPerSec });
  }
  return links;
}

export function buildContactPlan(input: PlanBuildInput): ContactPlan {
  const rates = input.rates ?? DEFAULT_RATES;
  const nodes: PlanNode[] = [
    ...input.stations.map((s, i): PlanNode => ({ ipn: stationIpn(i), id: s.id, kind: 'ground' })),
    ...input.elements.map((e): PlanNode => ({ ipn: satelliteIpn(e.catalogNumber), id: e.catalogNumber, kind: 'satellite' })),
  ];
  const contacts: Contact[] = [];
  const c = input.passes.columns;
  for (let i = 0; i < input.passes.length; i += 1) {
    const station = input.stations[c.station[i]!]!;
    const ground = stationIpn(c.station[i]!);
    const satellite = satelliteIpn(input.elements[c.satellite[i]!]!.catalogNumber);
    const base = { startSec: c.aosSec[i]!, endSec: c.losSec[i]!, owltSec: c.maxRangeKm[i]! / SPEED_OF_LIGHT_KM_PER_SEC, confidence: 1 };
    contacts.push({ ...base, from: ground, to: satellite, rateBytesPerSec: station.uplinkRateBytesPerSec ?? rates.uplinkBytesPerSec });
    contacts.push({ ...base, from: satellite, to: ground, rateBytesPerSec: station.downlinkRateBytesPerSec ?? rates.downlinkBytesPerSec });
  }
  const satelliteIpns = input.elements.map((e) => satelliteIpn(e.catalogNumber));
  const addSatelliteWindow = (satelliteA: number, satelliteB: number, startSec: number, endSec: number, maxRangeKm: number): void => {
    const a = satelliteIpns[satelliteA]!;
    const b = satelliteIpns[satelliteB]!;
    const owltSec = maxRangeKm / SPEED_OF_LIGHT_KM_PER_SEC;
    const rateBytesPerSec = rates.islBytesPerSec;
    contacts.push({ from: a, to: b, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 });
    contacts.push({ from: b, to: a, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 });
  };
  const windows = input.satelliteWindows ?? [];
  if ('columns' in windows) {
    const w = windows.columns;
    for (let i = 0; i < windows.length; i += 1) addSatelliteWindow(w.satelliteA[i]!, w.satelliteB[i]!, w.startSec[i]!, w.endSec[i]!, w.maxRangeKm[i]!);
  } else {
    for (const w of windows) addSatelliteWindow(w.satelliteA, w.satelliteB, w.startSec, w.endSec, w.maxRangeKm);
  }
  const stationIndex = new Map(input.stations.map((s, i) => [s.id, i]));
  for (const link of input.terrestrialLinks ?? []) {
    const from = stationIndex.get(link.from);
    const to = stationIndex.get(link.to);
    if (from === undefined || to === undefined) {
      const unknown = from === undefined ? link.from : link.to;
      throw new OrbitfedError('ORBITFED_PLAN_LINK', `terrestrial link ${link.from}–${link.to}: no station '${unknown}'`, { field: 'terrestrialLinks' });
    }
    const owltSec = link.owltSec ?? greatCircleKm(input.stations[from]!, input.stations[to]!) / (SPEED_OF_LIGHT_KM_PER_SEC * FIBRE_VELOCITY_FACTOR);
    for (const interval of link.intervals ?? [{ startSec: 0, endSec: input.window.durationSec }]) {
      const base = { startSec: interval.startSec, endSec: interval.endSec, owltSec, confidence: 1, rateBytesPerSec: link.rateBytesPerSec };
      contacts.push({ ...base, from: stationIpn(from), to: stationIpn(to) });
      if (link.oneWay !== true) contacts.push({ ...base, from: stationIpn(to), to: stationIpn(from) });
    }
  }
  return new ContactPlan({ epochMs: input.window.startMs, nodes, contacts });
}
