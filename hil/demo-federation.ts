// The demo (`npm start`): the bundled data (samples/demo/: eight satellites from the element
// snapshot of 2026-06-13, six ground stations at real sites, their node specs), two tenants and
// an operator, and the demo's plan time base.
//
// Plan time base. The element sets are from 2026-06-13, and SGP4 is accurate for days around an
// epoch, not months. So the demo does not put the satellites at today's wall-clock time: it maps
// "now" onto the day after the newest epoch, at the same UTC time of day (started at 14:05:09 UTC,
// the demo's clock reads 2026-06-14T14:05:09Z), and from there plan time runs `timeScale` times
// faster (60× by default: a 90-minute orbit takes 90 s, a 10-minute pass 10 s, the 24 h plan 24 min).
// Every process of the federation reads that same plan time (federation.ts), so the API, the
// ledger and the agents show June 2026 dates.
import { fileURLToPath } from 'node:url';
import { epochUnixMs, type ElementSet } from '../contact-plans/index.ts';
import type { FederationSpec, FederationTenant } from './federation-spec.ts';

const DAY_MS = 86_400_000;

export const DEMO_DATA = {
  elementsPath: fileURLToPath(new URL('../samples/demo/elements.tle', import.meta.url)),
  stationsPath: fileURLToPath(new URL('../samples/demo/stations.yaml', import.meta.url)),
  nodesPath: fileURLToPath(new URL('../samples/demo/nodes.yaml', import.meta.url)),
} as const;

/** The tenant whose key and sample request the demo prints: EU-sovereign, EU-only downlink. */
export const DEMO_EU_TENANT = 'eu-agency';
export const DEMO_GLOBAL_TENANT = 'acme-earth';

export const DEMO_TENANTS: readonly FederationTenant[] = [
  { id: DEMO_EU_TENANT, roles: ['jobs'], description: 'EU-sovereign: results may come down only in the EU (Kiruna)' },
  { id: DEMO_GLOBAL_TENANT, roles: ['jobs'], description: 'no sovereignty rules' },
  { id: 'federation-ops', roles: ['admin'], description: 'registers nodes; the agents forward blackouts with it' },
];

export interface DemoOptions {
  readonly timeScale: number;
  readonly planHours: number;
  readonly validators: number;
  readonly schedulerPort: number;
  readonly mqttPort: number;
  readonly agents: boolean;
  readonly logLevel: FederationSpec['logLevel'];
  /** Run the workloads in Docker with this image (`--docker`); undefined: the process runtime. */
  readonly dockerImage?: string | undefined;
  /** An external MQTT broker (`--mqtt-url`); undefined: the embedded one on `mqttPort`. */
  readonly mqttUrl?: string | undefined;
}

export const DEMO_OPTIONS_DEFAULT: DemoOptions = { timeScale: 60, planHours: 24, validators: 4, schedulerPort: 8080, mqttPort: 1883, agents: true, logLevel: 'info' };

/** The image the demo's Docker workloads run in unless `--docker-image` names another: any image with `sh` and `echo` will do. */
export const DEMO_DOCKER_IMAGE_DEFAULT = 'busybox:1.36';

/**
 * Where the demo's plan time starts: `wallNowMs`'s UTC time of day (whole seconds) on the day after the newest
 * element epoch (all element sets are then at most a few days old at the plan's start).
 */
export function demoPlanStartMs(elements: readonly ElementSet[], wallNowMs: number): number {
  const newestEpochMs = Math.max(...elements.map((e) => epochUnixMs(e.epoch)));
  const planDayMs = Math.floor(newestEpochMs / DAY_MS) * DAY_MS + DAY_MS;
  const timeOfDayMs = ((Math.floor(wallNowMs / 1000) * 1000) % DAY_MS + DAY_MS) % DAY_MS;
  return planDayMs + timeOfDayMs;
}

export function demoFederationSpec(options: DemoOptions, planStartMs: number): FederationSpec {
  return {
    name: 'demo',
    ...DEMO_DATA,
    planStartMs,
    planHours: options.planHours,
    timeScale: options.timeScale,
    validators: options.validators,
    chainId: 'orbitfed-demo',
    currency: 'EUR',
    tenants: DEMO_TENANTS,
    // 10,000.00 EUR each.
    tenantBalanceMinor: 1_000_000n,
    groundMeshBytesPerSec: 125_000_000,
    schedulerPortPreferred: options.schedulerPort,
    mqttPortPreferred: options.mqttPort,
    agents: options.agents,
    logLevel: options.logLevel,
    runtime: options.dockerImage === undefined ? 'process' : 'docker',
    mqttUrl: options.mqttUrl,
  };
}
