// The demo's sample jobs, and the request people can paste: small process workloads that must run
// in orbit, one for each kind of tenant. The EU-sovereign one may only come down in the EU, which
// among the demo's stations is Kiruna (SE); Svalbard is Norway (EEA, not EU). Deadlines are plan
// time: the end of the plan, so a printed request stays valid for the whole run.
import type { JobSpec } from '../scheduler/index.ts';
import { DEMO_EU_TENANT, DEMO_GLOBAL_TENANT } from './demo-federation.ts';

export interface DemoJob {
  readonly tenant: string;
  readonly spec: JobSpec;
}

/** The sample job for the EU-sovereign tenant: runs on a satellite, its result downlinked only in the EU. */
export function euSovereignJob(deadlineMs: number, index = 1): JobSpec {
  return {
    name: `ndvi-tile-${index}-eu`,
    command: ['sh', '-c', `echo "NDVI of tile ${index}, computed in orbit"`],
    runtime: 'process',
    resources: { cpu: 0.5, memoryBytes: 64 * 1024 * 1024 },
    executionMs: 60_000,
    input: { sizeBytes: 20_000, location: 'kiruna' },
    result: { sizeBytes: 1_000, deliverTo: [] },
    deadlineMs,
    maxPriceMinor: { currency: 'EUR', amount: 5_000 },
    orbital: 'required',
    sovereignty: { downlink: { countries: ['EU'] } },
  };
}

/** The sample job for the tenant without rules. */
export function globalJob(deadlineMs: number, index = 1): JobSpec {
  return {
    name: `ship-detect-${index}`,
    command: ['sh', '-c', `echo "ships in scene ${index}: 3"`],
    runtime: 'process',
    resources: { cpu: 0.5, memoryBytes: 64 * 1024 * 1024 },
    executionMs: 60_000,
    input: { sizeBytes: 50_000, location: 'wallops' },
    result: { sizeBytes: 2_000, deliverTo: [] },
    deadlineMs,
    maxPriceMinor: { currency: 'EUR', amount: 5_000 },
    orbital: 'required',
  };
}

/** `count` sample jobs alternating between the two tenants, the EU-sovereign one first. */
export function demoJobs(count: number, deadlineMs: number): DemoJob[] {
  return Array.from({ length: count }, (_, i) => (i % 2 === 0
    ? { tenant: DEMO_EU_TENANT, spec: euSovereignJob(deadlineMs, i + 1) }
    : { tenant: DEMO_GLOBAL_TENANT, spec: globalJob(deadlineMs, i + 1) }));
}

/** A curl command line that submits `spec` with `apiKey` (single-quoted for POSIX shells). */
export function curlCommand(apiUrl: string, apiKey: string, spec: JobSpec): string {
  const body = JSON.stringify(spec).replaceAll("'", "'\\''");
  return `curl -sS -X POST ${apiUrl}/v1/jobs -H 'Authorization: Bearer ${apiKey}' -H 'Content-Type: application/json' -d '${body}'`;
}
