// The one importer of node-cron (STYLE rule 17): cron expressions for the agents' periodic work
// (plan refresh, telemetry, store compaction). node-cron validates an expression and expands its
// fields (`parse`: the seconds, minutes, hours, days, months and weekdays it allows); the next
// instant is found here from those sets with UTC date arithmetic, and the runs are timers on the
// injected Clock, never node-cron's own (which read the wall clock and set timers), so a
// VirtualClock drives a schedule in tests and simulations exactly as the RealClock does in
// production.
//
// Why not node-cron's own next-run computation: it goes through Intl.DateTimeFormat with a time
// zone, which maps Node's ICU time-zone and locale data into memory: ~8 MB more resident in the
// orbital agent, whose goal is 64 MB (measured with bench/agent-cases.ts' setup).
//
// Expressions are node-cron's: five fields (minute hour day-of-month month day-of-week) or six with
// seconds first, ranges, steps, lists, names and @hourly-style nicknames
// (node_modules/node-cron/README.md, "Cron Syntax"), always read in UTC: a flight computer and our
// timestamps keep UTC, and no daylight-saving shift makes a run happen twice or not at all. As in
// node-cron, day of month and day of week must both match. node-cron's L, W and # day forms are
// refused (ORBITFED_CRON_UNSUPPORTED): none of our schedules needs them.
import { parse, validateDetailed } from 'node-cron';
import type { Clock, TimerHandle } from './clock.ts';
import { OrbitfedError } from './errors.ts';
import type { Logger } from './logger.ts';
import { durationMs, type UnixMs } from './units.ts';

/** Longest expression accepted (a schedule is a short line in a configuration file). */
export const CRON_EXPRESSION_LENGTH_MAX = 256;
/** Most jobs one scheduler runs. */
export const CRON_JOBS_MAX = 32;
/**
 * How far ahead the next instant is looked for. An expression with no instant in it never runs
 * (e.g. 29 February on a Monday is at most 28 years away, so that one is accepted).
 */
export const CRON_HORIZON_YEARS = 30;

/** A validated cron expression: when it next fires after an instant. */
export interface CronSchedule {
  readonly expression: string;
  /** The first instant strictly after `afterMs` (whole seconds, UTC) that the expression matches. */
  nextAfterMs(afterMs: number): UnixMs;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Which values of one field are allowed: `allowed[v] === 1`. */
function allowedSet(values: readonly (number | string)[], size: number, field: string, fail: (why: string) => OrbitfedError): Uint8Array {
  const allowed = new Uint8Array(size);
  for (const value of values) {
    if (typeof value !== 'number') throw fail(`${field} '${value}': the L, W and # forms are not supported here`);
    if (!Number.isInteger(value) || value < 0 || value >= size) throw fail(`${field} ${value} is out of range`);
    allowed[value] = 1;
  }
  return allowed;
}

/** The allowed sets of a parsed expression, and the search over them (UTC). */
class FieldSchedule implements CronSchedule {
  readonly expression: string;
  readonly #seconds: Uint8Array;
  readonly #minutes: Uint8Array;
  readonly #hours: Uint8Array;
  readonly #days: Uint8Array;
  readonly #months: Uint8Array;
  readonly #weekdays: Uint8Array;

  constructor(expression: string, fields: ReturnType<typeof parse>, fail: (why: string) => OrbitfedError) {
    this.expression = expression;
    this.#seconds = allowedSet(fields.second, 60, 'second', fail);
    this.#minutes = allowedSet(fields.minute, 60, 'minute', fail);
    this.#hours = allowedSet(fields.hour, 24, 'hour', fail);
    this.#days = allowedSet(fields.dayOfMonth, 32, 'day of month', fail);
    this.#months = allowedSet(fields.month, 13, 'month', fail);
    this.#weekdays = allowedSet(fields.dayOfWeek, 7, 'day of week', fail);
  }

  nextAfterMs(afterMs: number): UnixMs {
    if (!Number.isFinite(afterMs)) throw new OrbitfedError('ORBITFED_CRON_TIME', `cannot schedule after ${afterMs}`);
    let t = Math.floor(afterMs / SECOND_MS) * SECOND_MS + SECOND_MS;
    const horizonMs = t + CRON_HORIZON_YEARS * 366 * DAY_MS;
    // Each step moves t to the start of the next month, day, hour, minute or second that could
    // match, so a search takes at most a few steps per day of the horizon.
    while (t <= horizonMs) {
      const d = new Date(t);
      const year = d.getUTCFullYear();
      const month = d.getUTCMonth();
      if (this.#months[month + 1] !== 1) {
        t = Date.UTC(year, month + 1, 1);
        continue;
      }
      if (this.#days[d.getUTCDate()] !== 1 || this.#weekdays[d.getUTCDay()] !== 1) {
        t = Date.UTC(year, month, d.getUTCDate() + 1);
        continue;
      }
      if (this.#hours[d.getUTCHours()] !== 1) {
        t = Math.floor(t / HOUR_MS) * HOUR_MS + HOUR_MS;
        continue;
      }
      if (this.#minutes[d.getUTCMinutes()] !== 1) {
        t = Math.floor(t / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
        continue;
      }
      if (this.#seconds[d.getUTCSeconds()] !== 1) {
        t += SECOND_MS;
        continue;
      }
      return t as UnixMs;
    }
    throw new OrbitfedError('ORBITFED_CRON_NEVER', `'${this.expression}' has no instant within ${CRON_HORIZON_YEARS} years after ${new Date(afterMs).toISOString()}`);
  }
}

/**
 * Validates `expression` (what configuration field `field` holds) and returns its schedule.
 * Throws `ORBITFED_CRON_INVALID` naming the field, the expression and what node-cron found wrong,
 * or what orbitfed does not support.
 */
export function parseCronExpression(expression: string, field: string): CronSchedule {
  const invalid = (why: string): OrbitfedError =>
    new OrbitfedError('ORBITFED_CRON_INVALID', `'${String(expression).slice(0, 80)}' is not a cron expression: ${why} (five fields "minute hour day month weekday", or six with seconds first; UTC)`, { field });
  if (typeof expression !== 'string' || expression.trim() === '') throw invalid('it is empty');
  if (expression.length > CRON_EXPRESSION_LENGTH_MAX) throw invalid(`longer than ${CRON_EXPRESSION_LENGTH_MAX} characters`);
  let fields: ReturnType<typeof parse>;
  try {
    const validation = validateDetailed(expression);
    if (!validation.valid) {
      throw invalid(validation.errors.map((e) => `${e.field}${e.value === undefined ? '' : ` '${e.value}'`}: ${e.message}`).join('; '));
    }
    fields = validation.fields ?? parse(expression);
  } catch (error) {
    if (error instanceof OrbitfedError) throw error;
    throw invalid((error as Error).message);
  }
  const schedule = new FieldSchedule(expression, fields, invalid);
  // An expression that never fires (31 February passes node-cron's check only in some forms) is a
  // configuration error, not a job that silently never runs. 2000-01-01 is only a start for the search.
  try {
    schedule.nextAfterMs(Date.UTC(2000, 0, 1));
  } catch {
    throw invalid(`it matches no instant within ${CRON_HORIZON_YEARS} years`);
  }
  return schedule;
}

/** One job's counters, for logs, metrics and tests. */
export interface CronJobStats {
  readonly name: string;
  readonly expression: string;
  /** Runs started. */
  readonly runs: number;
  /** Runs that threw or rejected (logged; the schedule goes on). */
  readonly failures: number;
  /** Instants skipped because the previous run had not finished. */
  readonly overlapsSkipped: number;
  /** When the next run is due, while started. */
  readonly nextMs: UnixMs | undefined;
  readonly running: boolean;
}

interface Job {
  readonly name: string;
  readonly schedule: CronSchedule;
  readonly work: (scheduledMs: UnixMs) => void | Promise<void>;
  runs: number;
  failures: number;
  overlapsSkipped: number;
  nextMs: UnixMs | undefined;
  running: boolean;
  timer: TimerHandle | undefined;
}

export interface CronSchedulerOptions {
  readonly clock: Clock;
  /** Where failed runs and skipped instants are reported (warn); silent without. */
  readonly logger?: Logger;
}

/**
 * Runs named jobs at their cron schedules on a Clock. A run that is still going when its next
 * instant comes makes that instant skipped (counted), never a second concurrent run; a run that
 * fails is logged and the schedule goes on. Each instant is computed from the clock's time when the
 * previous one fired, so a clock that jumps ahead (a suspended machine, a simulation) gives one run
 * for the instants it jumped over, not a burst.
 */
export class CronScheduler {
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #jobs = new Map<string, Job>();
  #started = false;

  constructor(options: CronSchedulerOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** Adds a job (before or after start). Names are unique; at most CRON_JOBS_MAX jobs. */
  add(name: string, schedule: CronSchedule, work: (scheduledMs: UnixMs) => void | Promise<void>): void {
    if (this.#jobs.has(name)) throw new OrbitfedError('ORBITFED_CRON_DUPLICATE', `a job named '${name}' is already scheduled`);
    if (this.#jobs.size >= CRON_JOBS_MAX) throw new OrbitfedError('ORBITFED_CRON_TOO_MANY', `at most ${CRON_JOBS_MAX} jobs per scheduler`);
    const job: Job = { name, schedule, work, runs: 0, failures: 0, overlapsSkipped: 0, nextMs: undefined, running: false, timer: undefined };
    this.#jobs.set(name, job);
    if (this.#started) this.#arm(job);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const job of this.#jobs.values()) this.#arm(job);
  }

  /** Cancels the timers; a run in progress finishes on its own. */
  stop(): void {
    this.#started = false;
    for (const job of this.#jobs.values()) {
      job.timer?.cancel();
      job.timer = undefined;
      job.nextMs = undefined;
    }
  }

  stats(): CronJobStats[] {
    return [...this.#jobs.values()].map((j) => ({
      name: j.name, expression: j.schedule.expression, runs: j.runs, failures: j.failures, overlapsSkipped: j.overlapsSkipped, nextMs: j.nextMs, running: j.running,
    }));
  }

  #arm(job: Job): void {
    const nowMs = this.#clock.now();
    const nextMs = job.schedule.nextAfterMs(nowMs);
    job.nextMs = nextMs;
    job.timer = this.#clock.setTimer(durationMs(Math.max(0, nextMs - nowMs)), () => this.#fire(job, nextMs));
  }

  #fire(job: Job, scheduledMs: UnixMs): void {
    job.timer = undefined;
    if (!this.#started) return;
    if (job.running) {
      job.overlapsSkipped++;
      this.#logger?.warn({ event: 'cron.overlap-skipped', job: job.name, scheduledMs }, `${job.name}: the previous run has not finished; this run is skipped`);
    } else {
      job.runs++;
      // The work starts at its instant, synchronously: on a VirtualClock that is advanced past
      // several instants at once, each run starts at its own instant.
      let result: void | Promise<void>;
      try {
        result = job.work(scheduledMs);
      } catch (error) {
        this.#failed(job, scheduledMs, error);
        result = undefined;
      }
      if (result instanceof Promise) {
        job.running = true;
        result.catch((error: unknown) => this.#failed(job, scheduledMs, error)).finally(() => {
          job.running = false;
        });
      }
    }
    this.#arm(job);
  }

  #failed(job: Job, scheduledMs: UnixMs, error: unknown): void {
    job.failures++;
    this.#logger?.warn({ event: 'cron.run-failed', job: job.name, scheduledMs, error: error instanceof Error ? error.message : String(error) }, `${job.name} failed`);
  }
}
