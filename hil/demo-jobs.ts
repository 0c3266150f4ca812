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

/** Plan time a Docker sample job may take at least: 10 minutes, 5 s of wall time at 120×. */
const DOCKER_EXECUTION_MS_MIN = 600_000;

/**
 * The same job in a Docker image (`orbitfed demo --docker`): its command runs inside the image.
 * Its time limit is plan time like everything else, and creating, starting and removing a
 * container takes a second or more of wall time on a busy machine: at 120× the process job's one
 * plan minute would be half a wall second, so a Docker job asks for at least ten.
 */
export function inDocker(spec: JobSpec, image: string | undefined): JobSpec {
  return image === undefined ? spec : { ...spec, runtime: 'docker', image, executionMs: Math.max(spec.executionMs, DOCKER_EXECUTION_MS_MIN) };
}

/** `count` sample jobs alternating between the two tenants, the EU-sovereign one first (in `dockerImage` when given). */
export function demoJobs(count: number, deadlineMs: number, dockerImage?: string): DemoJob[] {
  return Array.from({ length: count }, (_, i) => (i % 2 === 0
    ? { tenant: DEMO_EU_TENANT, spec: inDocker(euSovereignJob(deadlineMs, i + 1), dockerImage) }
    : { tenant: DEMO_GLOBAL_TENANT, spec: inDocker(globalJob(deadlineMs, i + 1), dockerImage) }));
}

/** A curl command line that submits `spec` with `apiKey` (single-quoted for POSIX shells). */
export function curlCommand(apiUrl: string, apiKey: string, spec: JobSpec): string {
  const body = JSON.stringify(spec).replaceAll("'", "'\\''");
  return `curl -sS -X POST ${apiUrl}/v1/jobs -H 'Authorization: Bearer ${apiKey}' -H 'Content-Type: application/json' -d '${body}'`;
}
