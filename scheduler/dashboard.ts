// The web dashboard (issue 10), served by the scheduler: the page at / with its files under
// /dashboard/assets/, and the read-only JSON the page needs that the REST API does not already
// give, under /v1/dashboard/, plus live updates on /v1/events (dashboard-events.ts). The page
// reads jobs through the ordinary API (/v1/jobs …).
//
// Authentication: the page and its files are public (they hold no data); every data call is a
// /v1 call and needs the tenant's API key like any other. The page asks for the key, keeps it in
// sessionStorage (this tab only, gone when it closes; never in a URL the server sees) and sends
// it as `Authorization: Bearer`. A link may carry it in the fragment (`/#key=ofk_…`, which
// browsers never send to the server): the page moves it to sessionStorage and drops it from the
// address bar. What a tenant sees: the plan, the registered nodes and the satellites (as any
// tenant may through /v1/contacts and /v1/nodes), and only its own jobs, escrows and balances.
//
// The page itself is sent with a Content-Security-Policy that allows only this origin, so a
// dashboard that tried to load anything from elsewhere would fail in the browser, not just in review.
import { Type } from '@sinclair/typebox';
import type { ApiApp, ApiContext, ApiReply, ApiRequest } from './api.ts';
import { jobView, eventView, NodeNames, resultContentState, resultContentView } from './api-views.ts';
import { ASSET_NAME_PATTERN, loadDashboardAssets, type DashboardAsset } from './dashboard-assets.ts';
import { DASHBOARD_LIMITS_DEFAULT, type DashboardLimits, type DashboardSources } from './dashboard-config.ts';
import { DashboardEvents } from './dashboard-events.ts';
import { explanationOf, regionRulesOf, timelineOf } from './dashboard-job.ts';
import { DashboardLedger } from './dashboard-ledger.ts';
import { DashboardSky, FOOTPRINT_MIN_ELEVATION_DEG } from './dashboard-sky.ts';
import type { JobEvent } from './job-store.ts';
import { ApiProblem, PROBLEM_CONTENT_TYPE, problemOf, ProblemSchema } from './problem.ts';

/** Everything the page may load or connect to is this origin (and inline data: images for the favicon). */
export const DASHBOARD_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const PAGE_HEADERS = {
  'content-security-policy': DASHBOARD_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
/** Currencies the ledger panel shows at most. */
const LEDGER_CURRENCIES_MAX = 16;
/** Providers (registered nodes) whose reputation the ledger panel lists at most. */
const LEDGER_PROVIDERS_MAX = 200;
/** The Gantt window when the query gives none: from a quarter of an hour ago to six hours ahead. */
const GANTT_BEFORE_MS_DEFAULT = 15 * 60_000;
const GANTT_AFTER_MS_DEFAULT = 6 * 3_600_000;

const problems = (...statuses: number[]): Record<number, typeof ProblemSchema> => Object.fromEntries(statuses.map((s) => [s, ProblemSchema]));
const Loose = (description: string) => Type.Object({}, { additionalProperties: true, description });

/** The dashboard's parts, built once per API. */
export class Dashboard {
  readonly limits: DashboardLimits;
  readonly assets: ReadonlyMap<string, DashboardAsset>;
  readonly sky: DashboardSky;
  readonly ledger: DashboardLedger;
  readonly events: DashboardEvents;
  readonly #context: ApiContext;

  constructor(context: ApiContext, sources: DashboardSources) {
    this.#context = context;
    this.limits = { ...DASHBOARD_LIMITS_DEFAULT, ...sources.limits };
    this.assets = loadDashboardAssets();
    this.sky = new DashboardSky(sources.elements, sources.stations);
    this.ledger = new DashboardLedger(sources.escrow, sources.validatorRpcUrls, context.clock, this.limits.validatorTimeoutMs);
    this.events = new DashboardEvents({ store: context.store, lifecycle: context.lifecycle, clock: context.clock, logger: context.logger, sky: this.sky, limits: this.limits });
  }

  /** `/` and `/dashboard/assets/:file`: public. */
  publicRoutes(app: ApiApp): void {
    const send = (request: ApiRequest, reply: ApiReply, name: string, headers: Record<string, string>): ApiReply => {
      const asset = this.assets.get(name);
      if (asset === undefined) {
        const path = request.url.split('?')[0]!;
        const { body } = problemOf(new ApiProblem(404, 'ORBITFED_DASHBOARD_NOT_FOUND', `the dashboard has no file ${name}`, 'file'), path);
        return reply.code(404).type(PROBLEM_CONTENT_TYPE).send(body);
      }
      void reply.headers({ ...headers, etag: asset.etag, 'x-content-type-options': 'nosniff' }).type(asset.contentType);
      if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
      return reply.send(asset.bytes);
    };
    app.get('/', { schema: { summary: 'The web dashboard (HTML; its data calls need a tenant API key)', tags: ['dashboard'], security: [], produces: ['text/html'] } },
      async (request, reply) => send(request, reply, 'index.html', PAGE_HEADERS));
    app.get('/dashboard/assets/:file', {
      schema: {
        summary: "The dashboard's scripts, styles and map data (served from this process, no CDN)",
        tags: ['dashboard'], security: [],
        params: Type.Object({ file: Type.String({ pattern: ASSET_NAME_PATTERN }) }, { additionalProperties: false }),
      },
    }, async (request, reply) => send(request, reply, (request.params as { file: string }).file, { 'cache-control': 'no-cache' }));
    app.addHook('preClose', async () => this.events.closeAll());
  }

  /** The JSON under /v1/dashboard and the event stream at /v1/events (registered in the /v1 scope). */
  tenantRoutes(app: ApiApp): void {
    const context = this.#context;
    const { lifecycle, store, clock } = context;
    const names = (): NodeNames => new NodeNames(lifecycle.plan, lifecycle.nodes.values());
    const nowMs = (): number => Math.floor(clock.now());

    app.get('/dashboard/map', {
      schema: {
        summary: 'The federation now: stations, satellites (positions, ground tracks, footprints) and the space links open now',
        tags: ['dashboard'],
        response: {
          200: Type.Object({
            nowMs: Type.Integer(), planHash: Type.String(),
            footprintMinElevationDeg: Type.Number({ description: 'Footprints are where the satellite is at least this high above the horizon.' }),
            stations: Type.Array(Loose('A ground station: id, ipn, name, registered, latitudeDeg/longitudeDeg when the stations file has it, country, operator.')),
            satellites: Type.Array(Loose('A satellite: id, ipn, name, catalogNumber, latitudeDeg, longitudeDeg, altitudeKm, footprintRadiusDeg, track ([lon, lat] pairs), or problem.')),
            satellitesTruncated: Type.Boolean(),
            links: Type.Array(Loose('Contacts of a node pair open now (both directions): a, b, startMs, endMs, rates, contact indices.')),
            linksTruncated: Type.Boolean(),
          }),
          ...problems(401, 429),
        },
      },
    }, async (request) => {
      context.principal(request);
      const at = nowMs();
      const plan = lifecycle.plan;
      const nodeNames = names();
      const { satellites, truncated } = this.sky.satellites(plan, lifecycle.nodes, nodeNames, at, this.limits.satellitesMax, this.limits.groundTracksMax);
      const links = this.sky.openLinks(plan, lifecycle.nodes, nodeNames, at, this.limits.openLinksMax);
      return {
        nowMs: at, planHash: plan.hash, footprintMinElevationDeg: FOOTPRINT_MIN_ELEVATION_DEG,
        stations: this.sky.stations(plan, lifecycle.nodes, nodeNames), satellites, satellitesTruncated: truncated, links: links.links, linksTruncated: links.truncated,
      };
    });

    app.get('/dashboard/gantt', {
      schema: {
        summary: 'Space contacts per station and satellite in a window (both directions and back-to-back contacts merged into bars), with booked volume',
        tags: ['dashboard'],
        querystring: Type.Object({
          from: Type.Optional(Type.Integer({ minimum: 0, maximum: 32_503_680_000_000, description: 'Window start, Unix ms; default a quarter of an hour ago.' })),
          to: Type.Optional(Type.Integer({ minimum: 0, maximum: 32_503_680_000_000, description: 'Window end, Unix ms; default six hours after now.' })),
        }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            nowMs: Type.Integer(), planHash: Type.String(), fromMs: Type.Integer(), toMs: Type.Integer(),
            rows: Type.Array(Type.Object({ id: Type.String(), ipn: Type.Integer(), kind: Type.String(), label: Type.String({ description: 'The id, or for an unregistered satellite its name in the element sets.' }) })),
            bars: Type.Array(Loose('a, b (node ids), aIpn, bIpn, startMs, endMs, rateAToBBytesPerSec, rateBToABytesPerSec, contacts (indices), capacityBytes, bookedBytes')),
            truncated: Type.Boolean(),
          }),
          ...problems(400, 401, 429),
        },
      },
    }, async (request) => {
      context.principal(request);
      const query = request.query as { from?: number; to?: number };
      const at = nowMs();
      const fromMs = query.from ?? at - GANTT_BEFORE_MS_DEFAULT;
      const toMs = query.to ?? Math.max(fromMs, at) + GANTT_AFTER_MS_DEFAULT;
      if (toMs <= fromMs) throw new ApiProblem(400, 'ORBITFED_API_INVALID_QUERYSTRING', `the window ends (${toMs}) before it starts (${fromMs})`, 'to');
      if (toMs - fromMs > this.limits.ganttWindowMsMax) {
        throw new ApiProblem(400, 'ORBITFED_API_INVALID_QUERYSTRING', `a window of at most ${this.limits.ganttWindowMsMax / 3_600_000} h; asked ${((toMs - fromMs) / 3_600_000).toFixed(1)} h`, 'to');
      }
      const plan = lifecycle.plan;
      const bookings = lifecycle.bookings;
      const gantt = this.sky.gantt(plan, lifecycle.nodes, names(), (i) => bookings.bookedBytes(i), fromMs, toMs, this.limits.ganttBarsMax);
      return { nowMs: at, planHash: plan.hash, fromMs, toMs, ...gantt };
    });

    app.get('/dashboard/jobs/:id', {
      schema: {
        summary: 'A job explained: placement explanation, timeline (uplink, execution, downlink, settlement), sovereignty regions, escrow and events',
        tags: ['dashboard'],
        params: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            job: Loose('As GET /v1/jobs/{id}.'),
            result: Type.Optional(Loose("The node's report of how the job ended (as GET /v1/jobs/{id}/result).")),
            content: Type.Optional(Loose("A finished job's result bytes: status (available, dropped, none) and url (as `content` of GET /v1/jobs/{id}/result).")),
            events: Type.Array(Loose('As GET /v1/jobs/{id}/events.')),
            explanation: Type.Array(Type.String(), { description: "Why the job's node was chosen (the placement's explanation)." }),
            rejected: Type.Array(Loose('While the job waits for a placement: which filters refused how many nodes.')),
            earliestFeasibleMs: Type.Optional(Type.Integer()),
            timeline: Type.Array(Loose('step, status (planned, active, done, failed, skipped), label, plannedStartMs, plannedEndMs, doneMs, note')),
            regions: Type.Array(Loose('rule (atRest, downlink, processingFootprint), codes, countries, numericIds (world-atlas ids), stations')),
            bookedContacts: Type.Array(Type.Integer(), { description: "Contacts of the current plan the job's routes use." }),
            escrow: Type.Optional(Loose("The job's escrow as the ledger has it.")),
            ledgerProblem: Type.Optional(Type.String()),
          }),
          ...problems(400, 401, 403, 404, 429),
        },
      },
    }, async (request) => {
      const principal = context.requireRole(request, ['jobs'], 'reading a job');
      const id = (request.params as { id: string }).id;
      const job = store.jobOfTenant(principal.tenantId, id);
      if (job === undefined) throw new ApiProblem(404, 'ORBITFED_JOB_NOT_FOUND', `no job ${id}`, 'id');
      const events = store.events(job.id, store.limits.eventsPerJobMax, undefined).items as JobEvent[];
      const escrowId = job.placement?.escrowId;
      const ledger = escrowId === undefined ? {} : await this.ledger.escrow(escrowId);
      const plan = lifecycle.plan;
      const nodeNames = names();
      const placement = job.state === 'submitted' ? undefined : job.placement;
      const samePlan = placement !== undefined && placement.planHash === plan.hash;
      const bookedContacts = samePlan ? [...new Set([...placement.inputRoute.hops, ...placement.resultRoute.hops].map((h) => h.contact))] : [];
      const { explanation, rejected, earliestFeasibleMs } = explanationOf(events);
      return {
        job: jobView(job, nodeNames, plan.hash),
        ...(job.result === undefined ? {} : { result: job.result }),
        ...(['succeeded', 'failed', 'expired', 'cancelled'].includes(job.state) ? { content: resultContentView(job, resultContentState(job, store.resultContents.info(job.id))) } : {}),
        events: events.map(eventView),
        explanation, rejected, ...(earliestFeasibleMs === undefined ? {} : { earliestFeasibleMs: Math.ceil(earliestFeasibleMs) }),
        timeline: timelineOf(job, events, ledger.escrow, (planSec) => nodeNames.ms(planSec)),
        regions: regionRulesOf(job),
        bookedContacts,
        ...(ledger.escrow === undefined ? {} : { escrow: ledger.escrow }),
        ...(ledger.problem === undefined ? {} : { ledgerProblem: ledger.problem }),
      };
    });

    app.get('/dashboard/ledger', {
      schema: {
        summary: "The tenant's money: balances, its newest jobs' escrows (held, settled with fees, refunded), fee accounts, providers' reputations, validators' health",
        tags: ['dashboard'],
        response: {
          200: Type.Object({
            source: Type.String({ description: 'in-process, validators, or escrow-port (balances and escrow status only).' }),
            height: Type.Optional(Type.Integer()), lastBlockTimeMs: Type.Optional(Type.Integer()),
            balances: Type.Array(Type.Object({ currency: Type.String(), balanceMinor: Type.String() })),
            escrows: Type.Array(Loose('jobId, escrowId, ledgerJobId, status, currency, amountMinor, postedMinor, feeMinor, resolvedAtMs, settledBy, slaReportId')),
            totals: Type.Array(Type.Object({ currency: Type.String(), heldMinor: Type.String(), settledMinor: Type.String(), feesMinor: Type.String(), refundedMinor: Type.String() })),
            feeAccounts: Type.Array(Type.Object({ currency: Type.String(), balanceMinor: Type.String() })),
            providers: Type.Array(Type.Object({ nodeId: Type.String(), reputationPpm: Type.Optional(Type.Integer()) })),
            validators: Type.Array(Loose('url, healthy, name, chainId, height, round, step, mempoolTxs, lastBlockTimeMs, error')),
            problems: Type.Array(Type.String()),
          }),
          ...problems(401, 429),
        },
      },
    }, async (request) => {
      const principal = context.principal(request);
      const jobs = store.jobsOfTenant(principal.tenantId, this.limits.ledgerJobsMax, undefined).items;
      const currencies = new Set<string>();
      for (const job of jobs) currencies.add(job.spec.maxPriceMinor.currency);
      for (const node of lifecycle.nodes.values()) if (currencies.size < LEDGER_CURRENCIES_MAX) currencies.add(node.spec.pricePerHourMinor.currency);
      const providers = [...lifecycle.nodes.keys()].sort().slice(0, LEDGER_PROVIDERS_MAX);
      return this.ledger.summary({
        tenantId: principal.tenantId,
        currencies: [...currencies].sort().slice(0, LEDGER_CURRENCIES_MAX),
        escrows: jobs.filter((j) => j.placement?.escrowId !== undefined).map((j) => ({ jobId: j.id, escrowId: j.placement!.escrowId! })),
        reputations: providers.map((nodeId) => ({ nodeId, reputationPpm: lifecycle.reputationOf(nodeId) })),
      });
    });

    app.get('/events', {
      schema: {
        summary: 'Live updates (text/event-stream): hello, tick, job, links and plan events; see the dashboard documentation',
        tags: ['dashboard'],
        produces: ['text/event-stream'],
        response: { ...problems(401, 429, 503) },
      },
    }, async (request, reply) => {
      const principal = context.principal(request);
      this.events.admit(principal.tenantId);
      void reply.hijack();
      this.events.open(principal.tenantId, principal.roles.has('jobs'), reply.raw);
    });
  }
}
