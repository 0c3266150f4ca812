// The dashboard's part of the scheduler configuration (`dashboard:` in the scheduler's file, declared
// here and referenced by SchedulerConfigSchema) and what the dashboard reads besides the API's own
// dependencies: the ledger behind the escrow port, the element sets and ground stations for the
// map, and the validators whose health it shows.
import { dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { loadStationsFile, type ElementSet, type Station } from '../contact-plans/index.ts';
import type { EscrowLedger } from './escrow-ledger.ts';
import type { SchedulerConfig } from './scheduler-config.ts';

export interface DashboardLimits {
  /** How often the event streams look for changed jobs and contacts (of the scheduler's Clock). */
  readonly eventsPollMs: number;
  /** Event streams open at once, all tenants (503 beyond). */
  readonly eventStreamsMax: number;
  /** Event streams one tenant may hold open (429 beyond). */
  readonly eventStreamsPerTenantMax: number;
  /** A tenant's newest jobs the event streams watch for changes. */
  readonly watchedJobsPerTenant: number;
  /** Bytes waiting in one stream's socket beyond which the stream is closed (a client that does not read). */
  readonly streamBufferBytesMax: number;
  /** Satellites on the map at most, and how many of them get a ground track. */
  readonly satellitesMax: number;
  readonly groundTracksMax: number;
  /** Bars in one Gantt answer, and the longest Gantt window. */
  readonly ganttBarsMax: number;
  readonly ganttWindowMsMax: number;
  /** Links drawn on the map at most (contacts open now, both directions of a pair as one link). */
  readonly openLinksMax: number;
  /** A tenant's newest jobs whose escrows the ledger panel shows. */
  readonly ledgerJobsMax: number;
  /** How long a validator may take to answer a status or ledger query: wall time, also on a faster Clock. */
  readonly validatorTimeoutMs: number;
}

export const DASHBOARD_LIMITS_DEFAULT: DashboardLimits = {
  eventsPollMs: 1_000,
  eventStreamsMax: 64,
  eventStreamsPerTenantMax: 8,
  watchedJobsPerTenant: 50,
  streamBufferBytesMax: 256 * 1024,
  satellitesMax: 500,
  groundTracksMax: 100,
  ganttBarsMax: 5_000,
  ganttWindowMsMax: 48 * 3_600_000,
  openLinksMax: 2_000,
  ledgerJobsMax: 20,
  validatorTimeoutMs: 3_000,
};

export const DashboardConfigSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean({ default: true, description: 'Serve the web dashboard at / (the page is public; every data call needs a tenant API key).' })),
  stationsPath: Type.Optional(Type.String({
    minLength: 1,
    description: 'Ground stations (YAML, JSON or CSV, as `orbitfed plan --stations` reads): where the map draws them, matched to plan nodes by station id. Without it stations are drawn at the centre of their country.',
  })),
  validatorRpcUrls: Type.Optional(Type.Array(Type.String({ pattern: '^https?://' }), {
    maxItems: 64, description: "Validators' RPCs whose height and health the dashboard shows; default: ledger.validatorRpcUrl.",
  })),
  eventsPollMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000, default: DASHBOARD_LIMITS_DEFAULT.eventsPollMs, description: 'How often live updates look for changes (Clock time).' })),
  eventStreamsMax: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: DASHBOARD_LIMITS_DEFAULT.eventStreamsMax, description: 'Live-update streams open at once (503 beyond).' })),
}, { additionalProperties: false, description: 'The web dashboard at /.' });

export type DashboardConfig = Static<typeof DashboardConfigSchema>;

/** What the dashboard reads besides the API's dependencies. */
export interface DashboardSources {
  readonly escrow: EscrowLedger;
  /** Element sets of satellites: their positions, ground tracks and footprints. */
  readonly elements: readonly ElementSet[];
  readonly stations: readonly Station[];
  readonly validatorRpcUrls: readonly string[];
  readonly limits?: Partial<DashboardLimits> | undefined;
}

/**
 * The dashboard's sources for a scheduler configuration, or undefined when `dashboard.enabled` is
 * false. `elements` are the ones the service loaded from `elementsPath` (if any).
 */
export async function loadDashboardSources(config: SchedulerConfig, escrow: EscrowLedger, elements: readonly ElementSet[] | undefined): Promise<DashboardSources | undefined> {
  const dashboard: DashboardConfig = config.file.dashboard ?? {};
  if (dashboard.enabled === false) return undefined;
  const stations = dashboard.stationsPath === undefined ? [] : await loadStationsFile(resolve(dirname(resolve(config.configPath)), dashboard.stationsPath));
  const validatorUrl = config.file.ledger.validatorRpcUrl;
  return {
    escrow,
    elements: elements ?? [],
    stations,
    validatorRpcUrls: dashboard.validatorRpcUrls ?? (validatorUrl === undefined ? [] : [validatorUrl]),
    limits: {
      ...(dashboard.eventsPollMs === undefined ? {} : { eventsPollMs: dashboard.eventsPollMs }),
      ...(dashboard.eventStreamsMax === undefined ? {} : { eventStreamsMax: dashboard.eventStreamsMax }),
    },
  };
}
