// Live updates for the dashboard: Server-Sent Events (WHATWG HTML, "Server-sent events") on
// GET /v1/events. The page reads the stream with fetch() so that it can send the tenant's
// Authorization header (EventSource cannot), and after a reconnect it reloads what it shows,
// so events carry no ids and nothing is replayed.
//
// Events (each `data:` is one JSON document):
//   hello  {tenantId, nowMs, planHash, pollMs}        first, once the stream is watched
//   tick   {nowMs, planHash}                          every poll: the scheduler's clock
//   job    the job as GET /v1/jobs/{id} shows it      a job of this tenant appeared or changed
//   links  {nowMs, links, truncated}                  the set of space links open now changed
//   plan   {planHash}                                 the contact plan was replaced
//
// How changes are found: every `eventsPollMs` of the scheduler's Clock (only while a stream is
// open), each watching tenant's newest `watchedJobsPerTenant` jobs are read from the store and
// compared with the previous read (state, attempt, updatedMs); older jobs are not watched. The
// store is the one source of truth whoever moved the job (API, sweeps, dispatcher), at the price of
// one bounded read per tenant per poll.
//
// Limits: `eventStreamsMax` streams in all (503 beyond) and `eventStreamsPerTenantMax` per tenant
// (429); a stream whose socket holds more than `streamBufferBytesMax` unsent bytes is closed (the
// client reconnects and reloads). Closing the API ends every stream first.
import type { ServerResponse } from 'node:http';
import type { Clock, DurationMs, Logger, TimerHandle } from '../common/index.ts';
import { jobView, NodeNames } from './api-views.ts';
import type { DashboardLimits } from './dashboard-config.ts';
import type { DashboardSky } from './dashboard-sky.ts';
import type { JobLifecycle } from './job-lifecycle.ts';
import type { JobStore } from './job-store.ts';
import { ApiProblem } from './problem.ts';

interface Stream {
  readonly tenantId: string;
  readonly raw: ServerResponse;
}

interface TenantWatch {
  readonly streams: Set<Stream>;
  readonly seesJobs: boolean;
  /** Job id → "state|attempt|updatedMs" as last read. */
  fingerprints: Map<string, string>;
}

export const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/** One SSE message: an event name and one line of JSON. */
export function sseMessage(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface DashboardEventsDeps {
  readonly store: JobStore;
  readonly lifecycle: JobLifecycle;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sky: DashboardSky;
  readonly limits: DashboardLimits;
}

export class DashboardEvents {
  readonly #deps: DashboardEventsDeps;
  readonly #log: Logger;
  readonly #tenants = new Map<string, TenantWatch>();
  #streamCount = 0;
  #timer: TimerHandle | undefined;
  #planHash: string | undefined;
  #linksKey: string | undefined;
  #closed = false;

  constructor(deps: DashboardEventsDeps) {
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'dashboard-events' });
  }

  get streamCount(): number {
    return this.#streamCount;
  }

  /**
   * Checks the limits for a new stream of `tenantId` (throws the problem to answer otherwise).
   * Call before taking the response over.
   */
  admit(tenantId: string): void {
    const { limits } = this.#deps;
    if (this.#closed) throw new ApiProblem(503, 'ORBITFED_API_UNAVAILABLE', 'the scheduler is stopping');
    if (this.#streamCount >= limits.eventStreamsMax) {
      throw new ApiProblem(503, 'ORBITFED_EVENTS_STREAMS_FULL', `${limits.eventStreamsMax} event streams are open, the most this scheduler serves; retry later`);
    }
    const open = this.#tenants.get(tenantId)?.streams.size ?? 0;
    if (open >= limits.eventStreamsPerTenantMax) {
      throw new ApiProblem(429, 'ORBITFED_EVENTS_STREAMS_PER_TENANT', `tenant ${tenantId} has ${open} event streams open, the most allowed; close one (another tab?) first`, undefined, { retryAfterSec: 5 });
    }
  }

  /** Starts streaming to `raw` (headers not yet written); `seesJobs`: the tenant has the jobs role. */
  open(tenantId: string, seesJobs: boolean, raw: ServerResponse): void {
    let watch = this.#tenants.get(tenantId);
    if (watch === undefined) {
      watch = { streams: new Set(), seesJobs, fingerprints: seesJobs ? this.#fingerprints(tenantId) : new Map() };
      this.#tenants.set(tenantId, watch);
    }
    const stream: Stream = { tenantId, raw };
    watch.streams.add(stream);
    this.#streamCount += 1;
    raw.once('close', () => this.#remove(stream));
    raw.writeHead(200, EVENT_STREAM_HEADERS);
    const { lifecycle, clock, limits } = this.#deps;
    this.#write(stream, `retry: 3000\n\n${sseMessage('hello', { tenantId, nowMs: Math.floor(clock.now()), planHash: lifecycle.plan.hash, pollMs: limits.eventsPollMs })}`);
    if (this.#timer === undefined) this.#schedule();
  }

  /** Ends every stream and stops polling (the API is closing). */
  closeAll(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const watch of this.#tenants.values()) for (const stream of watch.streams) stream.raw.end();
  }

  /** One poll now (the timer calls it; tests may too). */
  poll(): void {
    const { lifecycle, clock, sky, limits } = this.#deps;
    const nowMs = Math.floor(clock.now());
    const plan = lifecycle.plan;
    const names = new NodeNames(plan, lifecycle.nodes.values());
    let broadcast = sseMessage('tick', { nowMs, planHash: plan.hash });
    if (this.#planHash !== undefined && this.#planHash !== plan.hash) broadcast += sseMessage('plan', { planHash: plan.hash });
    this.#planHash = plan.hash;
    const { links, truncated } = sky.openLinks(plan, lifecycle.nodes, names, nowMs, limits.openLinksMax);
    const linksKey = links.map((l) => `${l.aIpn}:${l.bIpn}:${l.contacts.join(',')}`).join(' ');
    if (linksKey !== this.#linksKey) broadcast += sseMessage('links', { nowMs, links, truncated });
    this.#linksKey = linksKey;
    for (const [tenantId, watch] of this.#tenants) {
      let message = broadcast;
      if (watch.seesJobs) {
        const jobs = this.#deps.store.jobsOfTenant(tenantId, limits.watchedJobsPerTenant, undefined).items;
        const fingerprints = new Map<string, string>();
        for (const job of jobs) {
          const fingerprint = `${job.state}|${job.attempt}|${job.updatedMs}`;
          fingerprints.set(job.id, fingerprint);
          if (watch.fingerprints.get(job.id) !== fingerprint) message += sseMessage('job', jobView(job, names, plan.hash));
        }
        watch.fingerprints = fingerprints;
      }
      for (const stream of watch.streams) this.#write(stream, message);
    }
  }

  #fingerprints(tenantId: string): Map<string, string> {
    const jobs = this.#deps.store.jobsOfTenant(tenantId, this.#deps.limits.watchedJobsPerTenant, undefined).items;
    return new Map(jobs.map((job) => [job.id, `${job.state}|${job.attempt}|${job.updatedMs}`]));
  }

  #schedule(): void {
    this.#timer = this.#deps.clock.setTimer(this.#deps.limits.eventsPollMs as DurationMs, () => {
      this.#timer = undefined;
      if (this.#closed || this.#streamCount === 0) return;
      try {
        this.poll();
      } catch (error) {
        this.#log.error({ err: error }, 'dashboard event poll failed');
      }
      if (!this.#closed && this.#streamCount > 0) this.#schedule();
    });
  }

  #write(stream: Stream, chunk: string): void {
    const { raw } = stream;
    if (raw.destroyed || raw.writableEnded) return;
    raw.write(chunk);
    if (raw.writableLength > this.#deps.limits.streamBufferBytesMax) {
      this.#log.warn({ tenantId: stream.tenantId, bufferedBytes: raw.writableLength }, 'closing an event stream whose client does not read');
      raw.destroy();
    }
  }

  #remove(stream: Stream): void {
    const watch = this.#tenants.get(stream.tenantId);
    if (watch === undefined || !watch.streams.delete(stream)) return;
    this.#streamCount -= 1;
    if (watch.streams.size === 0) this.#tenants.delete(stream.tenantId);
    if (this.#streamCount === 0) {
      this.#timer?.cancel();
      this.#timer = undefined;
    }
  }
}
