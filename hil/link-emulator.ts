// The contact-plan-driven link emulator: a user-space TCP relay per directed link, for rigs where
// Linux netem is not available (containers without NET_ADMIN, macOS, CI) or cannot follow a plan.
//
// For each mapped link (from → to) the emulator listens on the link's address; a connection that
// comes in is relayed to the receiving node's real address, and its bytes cross two `LinkPipe`s
// (link-pipe.ts), one per direction, at the contact's rate and light time. The plan decides when:
// - **Outside a contact the link does not listen**: a connect gets "connection refused" at once.
//   Accepting and then closing would let the sender believe it had a session (a TCPCL contact
//   header could even be written) before it vanished; a refusal is what a DTN convergence layer
//   treats as "peer unreachable, retry at the next contact", as it would a timeout on a real link.
//   (User space cannot drop SYNs to imitate the timeout itself.)
// - **When the contact ends, open connections are reset** (RST both ways) and bytes queued or in
//   flight are lost, as they would be in space. A real link gives no signal at all and the ends
//   find out by timeout; the reset tells them at once, so tests do not wait for keepalives.
// - **Directions.** A connection belongs to the link it came in on: it lives while the
//   initiator's contact (from → to) is open. Its bytes toward `to` use that contact's rate and
//   light time; the reply bytes use the reverse contact (to → from) open at that moment, or, when
//   the plan has none open, the forward contact's rate and light time. A TCP connection needs a
//   return path for its handshake and acknowledgements, and a pass gives both directions anyway.
// - **Time scale.** Plan time runs `timeScale` times faster (link-schedule.ts): contact windows and
//   flaps shrink by that factor. Light times and rates stay as planned unless the map sets
//   `scaleDelaysAndRates` (then OWLT / N and rate × N, keeping each contact's volume). A HIL rig in
//   real time uses 1.
// Every timer is the injected Clock's, so the whole emulator runs on a VirtualClock in tests.
import { createServer, connect, type Server, type Socket } from 'node:net';
import {
  OrbitfedError, seededRng, silentLogger, type Clock, type CounterMetric, type DurationMs, type GaugeMetric, type Logger,
  type MetricsRegistry, type TimerHandle,
} from '../common/index.ts';
import type { ContactPlan } from '../contact-plans/plan.ts';
import { formatHostPort, type HostPort } from '../dtn/tcp-connection.ts';
import { LinkPipe, type PipeConditions } from './link-pipe.ts';
import { FLAP_REPEATS_MAX, type LinkMap, type MappedLink } from './link-map.ts';
import {
  directedSchedule, directionParameters, flapOutages, LinkTimeline, linkTimelines, OUTAGES_PER_LINK_MAX, planClockOf, type DirectedSchedule, type DirectionParameters,
  type LinkAvailability, type PlanClock,
} from './link-schedule.ts';

/** A timer never waits longer than this; past it, the link re-reads its schedule (setTimeout's limit is ~24.8 days). */
const TIMER_MS_MAX = 24 * 3600 * 1000;
/** A listener that could not be reopened tries again after this long. */
const RELISTEN_RETRY_MS = 1000;

export type Direction = 'forward' | 'reverse';
export const DIRECTIONS: readonly Direction[] = ['forward', 'reverse'];

/** One link (`{ from, to }`) or all of them. */
export type LinkSelector = { readonly from: number; readonly to: number } | 'all';

/** Why a connection ended before both sides closed it. */
export type CutReason = 'contact-end' | 'outage' | 'control' | 'target-unreachable' | 'reset' | 'stopped';
export const CUT_REASONS: readonly CutReason[] = ['contact-end', 'outage', 'control', 'target-unreachable', 'reset', 'stopped'];

/** Flap requests one emulator accepts while it runs (each adds outages to the links it names). */
export const RUNTIME_FLAPS_MAX = 10_000;

/**
 * An outage added while the emulator runs (`flap`): from plan second `startSec` (default: now),
 * `downSec` long, `count` times (default 1) `everySec` apart (> downSec).
 */
export interface FlapRequest {
  readonly startSec?: number | undefined;
  readonly downSec: number;
  readonly everySec?: number | undefined;
  readonly count?: number | undefined;
}

export interface LinkStatus {
  readonly from: number;
  readonly to: number;
  /** The address the link listens on (with the port picked at start when the map said 0). */
  readonly listen: string;
  readonly target: string;
  readonly up: boolean;
  /** 'cut' when the control API cut it; otherwise what the plan and the faults say. */
  readonly availability: LinkAvailability | 'cut';
  readonly frozen: boolean;
  readonly extraDelayMs: Readonly<Record<Direction, number>>;
  /** Rate and light time each direction has now (null: no contact), on the clock's time scale. */
  readonly current: Readonly<Record<Direction, DirectionParameters | null>>;
  readonly planSec: number;
  /** When the plan or a fault next changes the link (ISO 8601), or null when nothing is left. */
  readonly nextChangeAt: string | null;
  readonly connectionsOpen: number;
  readonly connectionsAccepted: number;
  readonly bytesRelayed: Readonly<Record<Direction, number>>;
  readonly bytesQueued: Readonly<Record<Direction, number>>;
  readonly bytesDropped: number;
  /** Times a flap or a drop took the link down while its contact was open (and up). */
  readonly outagesDuringContact: number;
  /** Connections the emulator reset, by reason. */
  readonly connectionsCut: Readonly<Record<CutReason, number>>;
}

export interface EmulatorStatus {
  readonly planHash: string;
  readonly timeScale: number;
  readonly scaleDelaysAndRates: boolean;
  readonly planSec: number;
  readonly now: string;
  readonly links: readonly LinkStatus[];
}

export interface LinkEmulatorOptions {
  readonly plan: ContactPlan;
  readonly map: LinkMap;
  readonly clock: Clock;
  /** The clock for timers that only start a transmission (link-pipe.ts); default `clock`. */
  readonly transmitTimerClock?: Clock;
  readonly logger?: Logger;
  /** Per-link metrics are registered here when given. */
  readonly metrics?: MetricsRegistry;
}

interface LinkMetrics {
  readonly up: GaugeMetric;
  readonly frozen: GaugeMetric;
  readonly extraDelayMs: GaugeMetric;
  readonly connectionsOpen: GaugeMetric;
  readonly queuedBytes: GaugeMetric;
  readonly connectionsAccepted: CounterMetric;
  readonly connectionsRefused: CounterMetric;
  readonly connectionsCut: CounterMetric;
  readonly bytesRelayed: CounterMetric;
  readonly bytesDropped: CounterMetric;
}

function linkMetrics(registry: MetricsRegistry): LinkMetrics {
  const link = ['from', 'to'];
  const directed = ['from', 'to', 'direction'];
  return {
    up: registry.gauge('orbitfed_link_up', '1 while the link accepts and relays connections, else 0.', link),
    frozen: registry.gauge('orbitfed_link_frozen', '1 while the control API holds every byte of the link.', link),
    extraDelayMs: registry.gauge('orbitfed_link_extra_delay_ms', 'Delay added by the control API on top of the light time, ms.', directed),
    connectionsOpen: registry.gauge('orbitfed_link_connections_open', 'Connections relayed now.', link),
    queuedBytes: registry.gauge('orbitfed_link_queued_bytes', 'Bytes waiting to be transmitted or in flight, over all connections.', directed),
    connectionsAccepted: registry.counter('orbitfed_link_connections_total', 'Connections accepted and relayed.', link),
    connectionsRefused: registry.counter('orbitfed_link_connections_refused_total', 'Connections closed on arrival (link going down, or over connectionsPerLinkMax).', link),
    connectionsCut: registry.counter('orbitfed_link_connections_cut_total', 'Connections reset by the emulator, by reason.', [...link, 'reason']),
    bytesRelayed: registry.counter('orbitfed_link_bytes_relayed_total', 'Bytes delivered; forward is from → to, reverse the replies.', directed),
    bytesDropped: registry.counter('orbitfed_link_bytes_dropped_total', 'Bytes lost queued or in flight when a connection was cut.', directed),
  };
}

/** The emulator's side of one mapped link. */
class EmulatedLink {
  readonly mapped: MappedLink;
  readonly labels: Record<string, string>;
  /** Replaced (never edited) when a flap is added at run time. */
  timeline: LinkTimeline;
  readonly forward: DirectedSchedule;
  readonly reverse: DirectedSchedule;
  listen: HostPort;
  server: Server | undefined;
  /** Serialises opening and closing the listener. */
  listening: Promise<void> = Promise.resolve();
  up = false;
  availability: LinkAvailability | 'cut' = 'no-contact';
  cut = false;
  frozen = false;
  readonly extraDelayMs: Record<Direction, number> = { forward: 0, reverse: 0 };
  readonly connections = new Set<RelayConnection>();
  connectionsAccepted = 0;
  readonly bytesRelayed: Record<Direction, number> = { forward: 0, reverse: 0 };
  bytesDropped = 0;
  outagesDuringContact = 0;
  readonly connectionsCut = Object.fromEntries(CUT_REASONS.map((r) => [r, 0])) as Record<CutReason, number>;
  timer: TimerHandle | undefined;
  relistenTimer: TimerHandle | undefined;
  nextChangeMs = Number.POSITIVE_INFINITY;

  constructor(mapped: MappedLink, timeline: LinkTimeline, forward: DirectedSchedule, reverse: DirectedSchedule) {
    this.mapped = mapped;
    this.labels = { from: String(mapped.from), to: String(mapped.to) };
    this.timeline = timeline;
    this.forward = forward;
    this.reverse = reverse;
    this.listen = mapped.listen;
  }

  get name(): string {
    return `${this.mapped.from}→${this.mapped.to}`;
  }
}

export class LinkEmulator {
  readonly #plan: ContactPlan;
  readonly #map: LinkMap;
  readonly #clock: Clock;
  readonly #transmitTimerClock: Clock;
  readonly #log: Logger;
  readonly #metrics: LinkMetrics | undefined;
  readonly #links: EmulatedLink[];
  readonly #jitter: () => number;
  #planClock: PlanClock | undefined;
  #started = false;
  #stopped = false;
  #runtimeFlaps = 0;

  constructor(options: LinkEmulatorOptions) {
    this.#plan = options.plan;
    this.#map = options.map;
    this.#clock = options.clock;
    this.#transmitTimerClock = options.transmitTimerClock ?? options.clock;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'link-emulator' });
    this.#metrics = options.metrics === undefined ? undefined : linkMetrics(options.metrics);
    for (const link of options.map.links) {
      for (const [role, ipn] of [['from', link.from], ['to', link.to]] as const) {
        if (options.plan.node(ipn) === undefined) {
          throw new OrbitfedError('ORBITFED_LINK_MAP_UNKNOWN_NODE', `link ${link.from}→${link.to}: node ${ipn} (${role}) is not in the contact plan`, { field: `link ${link.from}→${link.to}` });
        }
      }
    }
    const timelines = linkTimelines(options.plan, options.map);
    this.#links = options.map.links.map((link, i) =>
      new EmulatedLink(link, timelines[i]!, directedSchedule(options.plan, link.from, link.to), directedSchedule(options.plan, link.to, link.from)));
    // Jitter draws from its own stream, so adding jitter does not move the seeded drops.
    const random = seededRng((options.map.seed ^ 0x9e3779b9) >>> 0);
    const jitterMs = options.map.jitterMs;
    this.#jitter = jitterMs > 0 ? () => random() * jitterMs : () => 0;
  }

  /**
   * Binds every link's address (so a wrong or busy address fails here, not at the first contact),
   * then closes those whose link is down and schedules every change. Throws ORBITFED_LINK_PLAN_EPOCH
   * when the plan has no epoch and the map gives none, ORBITFED_LINK_LISTEN when an address cannot
   * be bound.
   */
  async start(): Promise<void> {
    if (this.#started) throw new OrbitfedError('ORBITFED_LINK_STATE', 'the link emulator was already started');
    this.#started = true;
    const startMs = this.#clock.now();
    this.#planClock = planClockOf(this.#map.planEpoch, this.#plan.epochMs, this.#map.timeScale, startMs);
    if (this.#planClock === undefined) {
      throw new OrbitfedError('ORBITFED_LINK_PLAN_EPOCH', 'the contact plan has no epoch (a relative plan, e.g. HDTN JSON): set "planEpoch" in the map ("start" or an ISO 8601 instant)', { field: 'planEpoch' });
    }
    try {
      for (const link of this.#links) {
        if (link.forward.segments.length === 0) this.#log.warn({ link: link.name }, 'the plan has no contact on this link: it stays down');
        link.server = await this.#listen(link);
        link.listen = { host: link.listen.host, port: (link.server.address() as { port: number }).port };
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    for (const link of this.#links) {
      // Every listener is open: the first evaluation closes those of links that are down.
      link.up = true;
      this.#evaluate(link, startMs, true);
    }
    this.#log.info({ links: this.#links.length, planHash: this.#plan.hash, timeScale: this.#map.timeScale, planSec: this.#planClock.planSecAt(startMs) }, 'link emulator started');
  }

  /** Resets every connection, closes every listener, cancels every timer. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const link of this.#links) {
      link.timer?.cancel();
      link.timer = undefined;
      link.relistenTimer?.cancel();
      link.up = false;
      this.#cutAll(link, 'stopped');
      this.#closeListener(link);
    }
    await Promise.all(this.#links.map((l) => l.listening));
    this.#log.info({}, 'link emulator stopped');
  }

  /** Resolves once every listener is open or closed as the latest change of its link asked. */
  async settled(): Promise<void> {
    let pending: Promise<void>[];
    do {
      pending = this.#links.map((l) => l.listening);
      await Promise.all(pending);
    } while (this.#links.some((l, i) => l.listening !== pending[i]));
  }

  /** Cuts links (by the control API): their connections are reset and new ones refused until `restore`. */
  cut(selector: LinkSelector): LinkStatus[] {
    return this.#apply(selector, (link) => {
      link.cut = true;
      this.#evaluate(link, this.#clock.now());
    });
  }

  /** Lifts a cut: the link follows the plan (and its faults) again. */
  restore(selector: LinkSelector): LinkStatus[] {
    return this.#apply(selector, (link) => {
      link.cut = false;
      this.#evaluate(link, this.#clock.now());
    });
  }

  /** Holds every byte of the links: nothing is transmitted or delivered until `unfreeze`. */
  freeze(selector: LinkSelector): LinkStatus[] {
    return this.#apply(selector, (link) => {
      link.frozen = true;
      this.#pumpAll(link);
    });
  }

  unfreeze(selector: LinkSelector): LinkStatus[] {
    return this.#apply(selector, (link) => {
      link.frozen = false;
      this.#pumpAll(link);
    });
  }

  /**
   * Adds scheduled outages to the links (as the map's `flaps` do, but while running): the link goes
   * down at each outage, its connections reset (reason `outage`), and comes back when the plan says.
   * Throws ORBITFED_LINK_CONTROL_INVALID for a malformed request or past RUNTIME_FLAPS_MAX requests.
   */
  flap(selector: LinkSelector, request: FlapRequest): LinkStatus[] {
    const { downSec } = request;
    const count = request.count ?? 1;
    const everySec = request.everySec ?? downSec;
    const invalid = (field: string, message: string): never => {
      throw new OrbitfedError('ORBITFED_LINK_CONTROL_INVALID', `${field}: ${message}`, { field });
    };
    if (!(Number.isFinite(downSec) && downSec > 0)) invalid('downSec', `must be a number of plan seconds > 0 (got ${downSec})`);
    if (!(Number.isInteger(count) && count >= 1 && count <= FLAP_REPEATS_MAX)) invalid('count', `must be a whole number from 1 to ${FLAP_REPEATS_MAX} (got ${count})`);
    if (count > 1 && !(Number.isFinite(everySec) && everySec > downSec)) invalid('everySec', `must exceed downSec (${downSec}) when count > 1 (got ${request.everySec})`);
    if (request.startSec !== undefined && !Number.isFinite(request.startSec)) invalid('startSec', `must be a plan second (got ${request.startSec})`);
    if (this.#runtimeFlaps >= RUNTIME_FLAPS_MAX) invalid('flap', `this emulator already took ${RUNTIME_FLAPS_MAX} flaps`);
    for (const link of this.#select(selector)) {
      if (link.timeline.outages.length + count > OUTAGES_PER_LINK_MAX) invalid('count', `link ${link.name} would have more than ${OUTAGES_PER_LINK_MAX} outages`);
    }
    return this.#apply(selector, (link) => {
      const nowMs = this.#clock.now();
      const startSec = request.startSec ?? this.#planClock!.planSecAt(nowMs);
      const outages = flapOutages([{ from: undefined, to: undefined, startSec, downSec, everySec, count }], link.mapped);
      link.timeline = new LinkTimeline(link.timeline.windows, [...link.timeline.outages, ...outages]);
      this.#runtimeFlaps += 1;
      this.#log.info({ link: link.name, startSec, downSec, everySec, count }, 'flap added');
      this.#evaluate(link, nowMs);
    });
  }

  /** Sets the delay added on top of the light time, for frames sent from now on. */
  setExtraDelay(selector: LinkSelector, extraDelayMs: number, directions: readonly Direction[]): LinkStatus[] {
    if (!(Number.isFinite(extraDelayMs) && extraDelayMs >= 0)) {
      throw new OrbitfedError('ORBITFED_LINK_CONTROL_INVALID', `extra delay must be a finite number of ms ≥ 0 (got ${extraDelayMs})`, { field: 'extraDelayMs' });
    }
    return this.#apply(selector, (link) => {
      for (const direction of directions) link.extraDelayMs[direction] = extraDelayMs;
      this.#pumpAll(link);
    });
  }

  status(): EmulatorStatus {
    const nowMs = this.#clock.now();
    return {
      planHash: this.#plan.hash,
      timeScale: this.#map.timeScale,
      scaleDelaysAndRates: this.#map.scaleDelaysAndRates,
      planSec: this.#planClock?.planSecAt(nowMs) ?? Number.NaN,
      now: new Date(nowMs).toISOString(),
      links: this.#links.map((l) => this.#linkStatus(l, nowMs)),
    };
  }

  /** Status of the links a selector names; ORBITFED_LINK_UNKNOWN when it names none. */
  linkStatus(selector: LinkSelector): LinkStatus[] {
    const nowMs = this.#clock.now();
    return this.#select(selector).map((l) => this.#linkStatus(l, nowMs));
  }

  /** Brings the gauges (queued bytes, open connections) up to date; call before rendering /metrics. */
  refreshMetrics(): void {
    const metrics = this.#metrics;
    if (metrics === undefined) return;
    for (const link of this.#links) {
      metrics.up.set(link.labels, link.up ? 1 : 0);
      metrics.frozen.set(link.labels, link.frozen ? 1 : 0);
      metrics.connectionsOpen.set(link.labels, link.connections.size);
      const queued = this.#queuedBytes(link);
      for (const direction of DIRECTIONS) {
        metrics.queuedBytes.set({ ...link.labels, direction }, queued[direction]);
        metrics.extraDelayMs.set({ ...link.labels, direction }, link.extraDelayMs[direction]);
      }
    }
  }

  #select(selector: LinkSelector): EmulatedLink[] {
    if (selector === 'all') return this.#links;
    const found = this.#links.filter((l) => l.mapped.from === selector.from && l.mapped.to === selector.to);
    if (found.length === 0) {
      throw new OrbitfedError('ORBITFED_LINK_UNKNOWN', `no link ${selector.from}→${selector.to} is mapped (links: ${this.#links.map((l) => l.name).join(', ')})`);
    }
    return found;
  }

  #apply(selector: LinkSelector, action: (link: EmulatedLink) => void): LinkStatus[] {
    if (!this.#started || this.#stopped) throw new OrbitfedError('ORBITFED_LINK_STATE', 'the link emulator is not running');
    const links = this.#select(selector);
    for (const link of links) action(link);
    const nowMs = this.#clock.now();
    return links.map((l) => this.#linkStatus(l, nowMs));
  }

  #linkStatus(link: EmulatedLink, nowMs: number): LinkStatus {
    const planSec = this.#planClock?.planSecAt(nowMs) ?? Number.NaN;
    return {
      from: link.mapped.from,
      to: link.mapped.to,
      listen: formatHostPort(link.listen),
      target: formatHostPort(link.mapped.target),
      up: link.up,
      availability: link.availability,
      frozen: link.frozen,
      extraDelayMs: { ...link.extraDelayMs },
      current: {
        forward: this.#parameters(link, 'forward', planSec) ?? null,
        reverse: this.#parameters(link, 'reverse', planSec) ?? null,
      },
      planSec,
      nextChangeAt: Number.isFinite(link.nextChangeMs) ? new Date(link.nextChangeMs).toISOString() : null,
      connectionsOpen: link.connections.size,
      connectionsAccepted: link.connectionsAccepted,
      bytesRelayed: { ...link.bytesRelayed },
      bytesQueued: this.#queuedBytes(link),
      bytesDropped: link.bytesDropped,
      outagesDuringContact: link.outagesDuringContact,
      connectionsCut: { ...link.connectionsCut },
    };
  }

  #queuedBytes(link: EmulatedLink): Record<Direction, number> {
    const queued = { forward: 0, reverse: 0 };
    for (const connection of link.connections) {
      queued.forward += connection.forward.queuedBytes;
      queued.reverse += connection.reverse?.queuedBytes ?? 0;
    }
    return queued;
  }

  /** The plan's rate and light time for a direction at `planSec`: replies fall back to the forward contact. */
  #parameters(link: EmulatedLink, direction: Direction, planSec: number): DirectionParameters | undefined {
    const forward = link.forward.at(planSec);
    const segment = direction === 'forward' ? forward : (link.reverse.at(planSec) ?? forward);
    return segment === undefined ? undefined : directionParameters(segment, this.#map);
  }

  #conditions(link: EmulatedLink, direction: Direction): PipeConditions | undefined {
    if (!link.up) return undefined;
    const parameters = this.#parameters(link, direction, this.#planClock!.planSecAt(this.#clock.now()));
    if (parameters === undefined) return undefined;
    return { rateBytesPerSec: parameters.rateBytesPerSec, delayMs: parameters.owltMs + link.extraDelayMs[direction], frozen: link.frozen };
  }

  /** Applies the link's state at `atMs` (up or down, with what follows) and schedules the next change. */
  #evaluate(link: EmulatedLink, atMs: number, initial = false): void {
    if (this.#stopped) return;
    const planClock = this.#planClock!;
    const planSec = planClock.planSecAt(atMs);
    const planned = link.timeline.availabilityAt(planSec);
    const availability = link.cut ? 'cut' : planned;
    const up = availability === 'up';
    const wasUp = link.up;
    link.up = up;
    link.availability = availability;
    if (wasUp && !up) {
      if (availability === 'outage') link.outagesDuringContact += 1;
      this.#cutAll(link, availability === 'no-contact' ? 'contact-end' : availability === 'outage' ? 'outage' : 'control');
      this.#closeListener(link);
      this.#log.info({ link: link.name, planSec, reason: availability }, initial ? 'link down at start' : 'link down');
    } else if (!wasUp && up) {
      this.#openListener(link);
      this.#log.info({ link: link.name, planSec, current: this.#parameters(link, 'forward', planSec) }, 'link up');
    } else if (initial && up) {
      this.#log.info({ link: link.name, planSec, current: this.#parameters(link, 'forward', planSec) }, 'link up at start');
    }
    this.#pumpAll(link);
    // Rates and light times change at segment boundaries too: wake the pipes there.
    const nextPlanSec = Math.min(link.timeline.nextChangeAfter(planSec), link.forward.nextBoundaryAfter(planSec), link.reverse.nextBoundaryAfter(planSec));
    link.timer?.cancel();
    link.timer = undefined;
    link.nextChangeMs = Number.isFinite(nextPlanSec) ? planClock.unixMsAt(nextPlanSec) : Number.POSITIVE_INFINITY;
    if (!Number.isFinite(nextPlanSec)) return;
    const dueMs = link.nextChangeMs;
    const delayMs = Math.min(TIMER_MS_MAX, Math.max(0, dueMs - this.#clock.now()));
    link.timer = this.#clock.setTimer(delayMs as DurationMs, () => {
      link.timer = undefined;
      // A clock that counts whole milliseconds may wake a fraction early: the boundary is what came.
      this.#evaluate(link, delayMs < TIMER_MS_MAX ? Math.max(this.#clock.now(), dueMs) : this.#clock.now());
    });
  }

  #pumpAll(link: EmulatedLink): void {
    for (const connection of link.connections) connection.pump();
  }

  #cutAll(link: EmulatedLink, reason: CutReason): void {
    for (const connection of [...link.connections]) connection.cut(reason);
  }

  #listen(link: EmulatedLink): Promise<Server> {
    const server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(link, server, socket));
    server.maxConnections = this.#map.connectionsPerLinkMax;
    server.on('drop', () => this.#metrics?.connectionsRefused.inc(link.labels));
    return new Promise<Server>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(new OrbitfedError('ORBITFED_LINK_LISTEN', `link ${link.name}: cannot listen on ${formatHostPort(link.listen)}: ${error.code ?? error.message}`, { field: `link ${link.name}` }, { cause: error }));
      });
      server.listen({ host: link.listen.host, port: link.listen.port }, () => {
        server.removeAllListeners('error');
        server.on('error', (error) => this.#log.error({ link: link.name, error: error.message }, 'listener error'));
        resolve(server);
      });
    });
  }

  #openListener(link: EmulatedLink): void {
    link.listening = link.listening.then(async () => {
      if (!link.up || link.server !== undefined || this.#stopped) return;
      try {
        link.server = await this.#listen(link);
      } catch (error) {
        // Someone took the port while the link was down: say so and keep trying while it should be up.
        this.#log.error({ link: link.name, error: (error as Error).message }, 'cannot listen again; retrying');
        link.relistenTimer = this.#clock.setTimer(RELISTEN_RETRY_MS as DurationMs, () => this.#openListener(link));
      }
    });
  }

  #closeListener(link: EmulatedLink): void {
    const server = link.server;
    link.server = undefined;
    if (server === undefined) return;
    link.listening = link.listening.then(() => new Promise<void>((resolve) => server.close(() => resolve())));
  }

  #accept(link: EmulatedLink, server: Server, socket: Socket): void {
    if (!link.up || link.server !== server) {
      // The link went down between the kernel's accept and ours.
      this.#metrics?.connectionsRefused.inc(link.labels);
      socket.on('error', () => {});
      socket.resetAndDestroy();
      return;
    }
    link.connectionsAccepted += 1;
    this.#metrics?.connectionsAccepted.inc(link.labels);
    const connection = new RelayConnection(link.mapped.target, socket, {
      clock: this.#clock,
      transmitTimerClock: this.#transmitTimerClock,
      conditions: (direction) => this.#conditions(link, direction),
      jitterMs: this.#jitter,
      queueBytesMax: this.#map.queueBytesMax,
      inFlightBytesMax: this.#map.inFlightBytesMax,
      connectTimeoutMs: this.#map.connectTimeoutMs,
      onDelivered: (direction, bytes) => {
        link.bytesRelayed[direction] += bytes;
        this.#metrics?.bytesRelayed.inc({ ...link.labels, direction }, bytes);
      },
      onClosed: (closed, reason, dropped) => {
        link.connections.delete(closed);
        link.bytesDropped += dropped.forward + dropped.reverse;
        if (reason !== undefined) {
          link.connectionsCut[reason] += 1;
          this.#metrics?.connectionsCut.inc({ ...link.labels, reason });
          for (const direction of DIRECTIONS) if (dropped[direction] > 0) this.#metrics?.bytesDropped.inc({ ...link.labels, direction }, dropped[direction]);
          this.#log.info({ link: link.name, reason, droppedBytes: dropped.forward + dropped.reverse }, 'connection cut');
        }
      },
    });
    link.connections.add(connection);
    connection.start();
  }
}

interface RelayConnectionOptions {
  readonly clock: Clock;
  readonly transmitTimerClock: Clock;
  readonly conditions: (direction: Direction) => PipeConditions | undefined;
  readonly jitterMs: () => number;
  readonly queueBytesMax: number;
  readonly inFlightBytesMax: number;
  readonly connectTimeoutMs: number;
  readonly onDelivered: (direction: Direction, bytes: number) => void;
  /** Called once; `reason` is undefined when both sides closed normally. */
  readonly onClosed: (connection: RelayConnection, reason: CutReason | undefined, dropped: Record<Direction, number>) => void;
}

/** One relayed connection: the initiator's socket, the far side's, and a pipe each way. */
class RelayConnection {
  readonly #target: HostPort;
  readonly #options: RelayConnectionOptions;
  readonly #inbound: Socket;
  #outbound: Socket | undefined;
  readonly forward: LinkPipe;
  reverse: LinkPipe | undefined;
  #connectTimer: TimerHandle | undefined;
  #closed = false;

  constructor(target: HostPort, inbound: Socket, options: RelayConnectionOptions) {
    this.#target = target;
    this.#options = options;
    this.#inbound = inbound;
    this.forward = this.#pipe('forward', inbound);
  }

  start(): void {
    const inbound = this.#inbound;
    inbound.setNoDelay(true);
    inbound.on('error', () => {});
    inbound.on('close', (hadError) => this.#onSocketClose(hadError));
    const target = this.#target;
    const outbound = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.#outbound = outbound;
    outbound.on('error', () => {});
    this.#connectTimer = this.#options.clock.setTimer(this.#options.connectTimeoutMs as DurationMs, () => this.cut('target-unreachable'));
    outbound.once('connect', () => {
      this.#connectTimer?.cancel();
      if (this.#closed) return;
      outbound.setNoDelay(true);
      outbound.on('close', (hadError) => this.#onSocketClose(hadError));
      this.reverse = this.#pipe('reverse', outbound);
      this.reverse.attachDestination(inbound);
      this.forward.attachDestination(outbound);
    });
    outbound.once('close', () => {
      if (this.reverse === undefined) this.cut('target-unreachable');
    });
  }

  pump(): void {
    this.forward.pump();
    this.reverse?.pump();
  }

  /** Ends the connection at once: both sockets reset, everything queued or in flight lost. */
  cut(reason: CutReason): void {
    this.#close(reason);
  }

  #pipe(direction: Direction, source: Socket): LinkPipe {
    return new LinkPipe({
      clock: this.#options.clock,
      transmitTimerClock: this.#options.transmitTimerClock,
      source,
      conditions: () => this.#options.conditions(direction),
      jitterMs: this.#options.jitterMs,
      queueBytesMax: this.#options.queueBytesMax,
      inFlightBytesMax: this.#options.inFlightBytesMax,
      onDelivered: (bytes) => this.#options.onDelivered(direction, bytes),
      onFinished: () => {},
    });
  }

  #onSocketClose(hadError: boolean): void {
    if (this.#closed) return;
    if (hadError) {
      this.#close('reset');
      return;
    }
    if (this.#inbound.destroyed && this.#outbound?.destroyed === true) this.#close(undefined);
  }

  #close(reason: CutReason | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connectTimer?.cancel();
    this.forward.close();
    this.reverse?.close();
    const dropped = { forward: this.forward.droppedBytes, reverse: this.reverse?.droppedBytes ?? 0 };
    if (reason !== undefined) {
      reset(this.#inbound);
      if (this.#outbound !== undefined) reset(this.#outbound);
    }
    this.#options.onClosed(this, reason, dropped);
  }
}

/**
 * Closes a socket with RST when connected (an abrupt loss, not an orderly close), else destroys it.
 * Once our FIN is queued (`end()`), libuv refuses the RST (uv_tcp_close_reset: EINVAL while
 * shutting down) and Node drops the handle without closing it, which later hangs the process at
 * exit; such a socket is destroyed instead (its FIN already told the peer).
 */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  const open = socket.readyState === 'open' || socket.readyState === 'writeOnly';
  if (socket.connecting || socket.writableEnded || !open) socket.destroy();
  else socket.resetAndDestroy();
}
