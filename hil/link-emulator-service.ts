// The one place that wires the `link-emulator` program (STYLE rule 14): the contact plan and the
// map in; the emulator, its metrics registry and its control API built and started together.
import { lowerV8WorkerPriority, MetricsRegistry, PreciseRealClock, RealClock, silentLogger, tightenTimerSlack, type Clock, type Logger } from '../common/index.ts';
import { loadContactPlanFile, type ContactPlan } from '../contact-plans/plan.ts';
import type { HostPort } from '../dtn/tcp-connection.ts';
import { LinkControlApi } from './link-control-api.ts';
import { LinkEmulator } from './link-emulator.ts';
import { loadLinkMapFile, type LinkMap } from './link-map.ts';

export interface LinkEmulatorServiceOptions {
  readonly plan: ContactPlan;
  readonly map: LinkMap;
  readonly clock: Clock;
  readonly logger?: Logger;
}

/** A running link emulator: relays, control API and /metrics, started and stopped as one. */
export class LinkEmulatorService {
  readonly emulator: LinkEmulator;
  readonly metrics: MetricsRegistry;
  readonly #api: LinkControlApi | undefined;
  readonly #log: Logger;

  constructor(options: LinkEmulatorServiceOptions) {
    this.#log = options.logger ?? silentLogger();
    this.metrics = new MetricsRegistry();
    if (options.map.processMetrics) this.metrics.withProcessMetrics();
    // Light times are promised to 1 ms (issue 9): on the wall clock the pipes' deliveries run on the
    // sub-millisecond clock and only their transmission timers, which may wake late, on the plain
    // one (hil/link-pipe.ts), with the process's timer slack taken down so that their waits end on
    // time and V8's compiler and collector threads below everything else so that they do not hold
    // the CPUs when a delivery falls due. Any other clock (ScaledClock, VirtualClock in tests) is used
    // as given.
    let clock = options.clock;
    if (options.clock instanceof RealClock) {
      clock = new PreciseRealClock();
      this.#log.debug({ tightened: tightenTimerSlack(), loweredV8Workers: lowerV8WorkerPriority() }, 'timer slack and V8 worker priority');
    }
    this.emulator = new LinkEmulator({ plan: options.plan, map: options.map, clock, transmitTimerClock: options.clock, logger: this.#log, metrics: this.metrics });
    const control = options.map.control;
    this.#api = control === undefined ? undefined : new LinkControlApi({ control: this.emulator, metrics: this.metrics, listen: control.listen, logger: this.#log });
  }

  /** The control API's address once started (undefined when the map has no `control`). */
  get controlAddress(): HostPort | undefined {
    return this.#api?.address;
  }

  async start(): Promise<void> {
    await this.emulator.start();
    try {
      await this.#api?.start();
    } catch (error) {
      await this.emulator.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.#api?.stop();
    await this.emulator.stop();
  }
}

/** Loads the plan and the map files and builds the service (not yet started). */
export async function loadLinkEmulatorService(paths: { readonly planPath: string; readonly mapPath: string }, clock: Clock, logger?: Logger, signal?: AbortSignal): Promise<LinkEmulatorService> {
  const map = await loadLinkMapFile(paths.mapPath, signal);
  const plan = await loadContactPlanFile(paths.planPath, undefined, { signal });
  return new LinkEmulatorService({ plan, map, clock, logger });
}
