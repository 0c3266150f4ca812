// Operators' blackout windows (maintenance), received over MQTT (`orbitfed/<station>/blackout`,
// mqtt-client.ts), forwarded to the scheduler, which places nothing on a node during its blackouts
// (scheduler/placement.ts). The scheduler keeps them in the node's registration (NodeSpec
// `blackouts`), so the forwarder updates that: GET /v1/nodes/{id}, add the window, drop windows
// that have ended, POST /v1/nodes with the result (a tenant with the `nodes` role for the station's
// operator, or `admin`; its API key comes from a file or the environment).
//
// - Windows already in the registration (same start and end) are not sent again: a retained
//   blackout, delivered at every reconnect, costs one GET.
// - The scheduler's limit of 200 characters per reason is applied here (the MQTT topic allows
//   500); at its limit of BLACKOUTS_MAX windows the ones ending first are dropped to make room.
// - A window that has ended when it would be sent is dropped (logged).
// - Failures the scheduler may recover from (unreachable, 5xx, 429, 401) are retried with backoff
//   (`retryDelayMs` doubling to `retryDelayMaxMs`); answers that no retry changes (400, 403, 404,
//   409, 422) drop the window with an error in the log and a count.
// - Waiting windows are in memory, at most `queueMax` (the oldest dropped beyond, counted). They
//   are not on disk: a retained MQTT message comes back after a restart; an unretained one sent
//   while the agent was down was never received either. The registry update is read-modify-write:
//   an operator editing the node at the same instant can lose one side's change (the API has no
//   conditional update).
//
// Without a scheduler configured the windows are only logged and counted
// (`orbitfed_ground_blackouts_total{result="not-forwarded"}`).
import { OrbitfedError, type Clock, type CounterMetric, type DurationMs, type Logger, type MetricsRegistry, type TimerHandle } from '../common/index.ts';
import { BLACKOUTS_MAX, NodeSpecSchema, type Blackout } from '../scheduler/index.ts';
import type { BlackoutWindow } from './mqtt-topics.ts';

/** The scheduler's NodeSpec allows this much reason text (scheduler/node-spec.ts BlackoutSchema). */
export const SCHEDULER_REASON_LENGTH_MAX = 200;
/** Largest answer read from the scheduler for one node. */
const NODE_RESPONSE_BYTES_MAX = 1024 * 1024;

export interface BlackoutForwarderLimits {
  /** Windows waiting to be forwarded; the oldest is dropped beyond. Default 256. */
  readonly queueMax: number;
  /** First retry delay after a failure; doubles per failure. Default 1 s. */
  readonly retryDelayMs: number;
  readonly retryDelayMaxMs: number;
  /** Time limit of one HTTP request. Default 10 s. */
  readonly requestTimeoutMs: number;
}

export const BLACKOUT_FORWARDER_LIMITS_DEFAULT: BlackoutForwarderLimits = { queueMax: 256, retryDelayMs: 1_000, retryDelayMaxMs: 60_000, requestTimeoutMs: 10_000 };

export interface BlackoutForwarderOptions {
  /** The scheduler's base URL (`http://127.0.0.1:8080`); undefined: log and count only. */
  readonly schedulerUrl: string | undefined;
  /** An API key of a tenant allowed to register this node (role `nodes` for its operator, or `admin`). */
  readonly apiKey: string | undefined;
  /** The station's id in the scheduler's registry (NodeSpec `id`). */
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
  readonly limits?: Partial<BlackoutForwarderLimits> | undefined;
  /** Called when a window is in the registry (tests, status pages). */
  readonly onForwarded?: ((window: BlackoutWindow) => void) | undefined;
}

export interface BlackoutForwarderStats {
  readonly received: number;
  readonly forwarded: number;
  readonly alreadyKnown: number;
  readonly refused: number;
  readonly expired: number;
  readonly dropped: number;
  readonly notForwarded: number;
  readonly waiting: number;
  readonly lastError: string | undefined;
}

type CountKey = 'received' | 'forwarded' | 'alreadyKnown' | 'refused' | 'expired' | 'dropped' | 'notForwarded';

/** An answer no retry changes. */
class Refused extends Error {}

const sameWindow = (a: { startMs: number; endMs: number }, b: { startMs: number; endMs: number }): boolean => a.startMs === b.startMs && a.endMs === b.endMs;
const SPEC_FIELDS = Object.keys(NodeSpecSchema.properties).filter((k) => k !== 'reputationPpm');

export class BlackoutForwarder {
  readonly #options: BlackoutForwarderOptions;
  readonly #limits: BlackoutForwarderLimits;
  readonly #log: Logger;
  readonly #waiting: BlackoutWindow[] = [];
  readonly #counts = { received: 0, forwarded: 0, alreadyKnown: 0, refused: 0, expired: 0, dropped: 0, notForwarded: 0 };
  readonly #counter: CounterMetric | undefined;
  #lastError: string | undefined;
  #running = false;
  #abort = new AbortController();
  #timer: TimerHandle | undefined;
  #busy: Promise<void> | undefined;
  #retryDelayMs = 0;

  constructor(options: BlackoutForwarderOptions) {
    this.#options = options;
    this.#limits = { ...BLACKOUT_FORWARDER_LIMITS_DEFAULT, ...options.limits };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new OrbitfedError('ORBITFED_BLACKOUT_LIMIT', `${name} must be a positive integer, got ${value}`, { field: name });
    }
    if (options.schedulerUrl !== undefined && options.apiKey === undefined) {
      throw new OrbitfedError('ORBITFED_BLACKOUT_CONFIG', 'forwarding blackouts to the scheduler needs an API key', { field: 'apiKey' });
    }
    this.#log = options.logger.child({ component: 'blackout-forwarder' });
    this.#counter = options.metrics?.counter('orbitfed_ground_blackouts_total', 'operator blackout windows received over MQTT, by what became of them', ['result']);
  }

  start(): void {
    this.#running = true;
    this.#abort = new AbortController();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#abort.abort(new OrbitfedError('ORBITFED_BLACKOUT_STOPPED', 'the blackout forwarder stopped'));
    await this.#busy;
  }

  stats(): BlackoutForwarderStats {
    return { ...this.#counts, waiting: this.#waiting.length, lastError: this.#lastError };
  }

  /** A window from MQTT (already validated by mqtt-topics.ts); never throws. */
  submit(window: BlackoutWindow): void {
    this.#counts.received += 1;
    if (this.#options.schedulerUrl === undefined) {
      this.#count('notForwarded', 'not-forwarded');
      this.#log.warn({ ...window }, 'blackout received; no scheduler is configured to forward it to');
      return;
    }
    if (this.#waiting.some((w) => sameWindow(w, window))) return;
    if (this.#waiting.length >= this.#limits.queueMax) {
      const dropped = this.#waiting.shift()!;
      this.#count('dropped', 'dropped');
      this.#log.warn({ ...dropped, queueMax: this.#limits.queueMax }, 'blackout queue full; the oldest waiting window was dropped');
    }
    this.#waiting.push(window);
    if (this.#running && this.#busy === undefined && this.#timer === undefined) this.#schedule(0);
  }

  #count(key: CountKey, result: string): void {
    this.#counts[key] += 1;
    this.#counter?.inc({ result });
  }

  #schedule(delayMs: number): void {
    this.#timer = this.#options.clock.setTimer(delayMs as DurationMs, () => {
      this.#timer = undefined;
      this.#busy = this.#forwardAll().finally(() => {
        this.#busy = undefined;
      });
    });
  }

  async #forwardAll(): Promise<void> {
    while (this.#running && this.#waiting.length > 0) {
      const window = this.#waiting[0]!;
      try {
        await this.#forward(window);
        this.#retryDelayMs = 0;
        this.#lastError = undefined;
      } catch (error) {
        if (!this.#running) return;
        if (error instanceof Refused) {
          this.#count('refused', 'refused');
          this.#log.error({ ...window, error: error.message }, 'the scheduler refused the blackout; dropped');
          this.#lastError = error.message;
        } else {
          this.#lastError = (error as Error).message;
          this.#retryDelayMs = this.#retryDelayMs === 0 ? this.#limits.retryDelayMs : Math.min(2 * this.#retryDelayMs, this.#limits.retryDelayMaxMs);
          this.#log.warn({ ...window, error: this.#lastError, retryInMs: this.#retryDelayMs }, 'blackout not forwarded yet; retrying');
          this.#schedule(this.#retryDelayMs);
          return;
        }
      }
      if (this.#waiting[0] === window) this.#waiting.shift();
    }
  }

  async #forward(window: BlackoutWindow): Promise<void> {
    const nowMs = this.#options.clock.now();
    if (window.endMs <= nowMs) {
      this.#count('expired', 'expired');
      this.#log.warn({ ...window }, 'blackout ended before it could be forwarded; dropped');
      return;
    }
    const path = `/v1/nodes/${encodeURIComponent(this.#options.nodeId)}`;
    const view = await this.#request('GET', path, undefined) as Record<string, unknown>;
    const blackouts = (Array.isArray(view['blackouts']) ? view['blackouts'] : []) as Blackout[];
    if (blackouts.some((b) => sameWindow(b, window))) {
      this.#count('alreadyKnown', 'already-known');
      this.#log.info({ ...window }, 'blackout already in the scheduler');
      this.#options.onForwarded?.(window);
      return;
    }
    const kept = blackouts.filter((b) => b.endMs > nowMs);
    const added: Blackout = { startMs: window.startMs, endMs: window.endMs, reason: window.reason.slice(0, SCHEDULER_REASON_LENGTH_MAX) };
    const merged = [...kept, added].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
    while (merged.length > BLACKOUTS_MAX) {
      let first = 0;
      merged.forEach((b, i) => {
        if (b.endMs < merged[first]!.endMs) first = i;
      });
      merged.splice(first, 1);
    }
    const spec: Record<string, unknown> = {};
    for (const key of SPEC_FIELDS) if (view[key] !== undefined) spec[key] = view[key];
    spec['blackouts'] = merged;
    await this.#request('POST', '/v1/nodes', spec);
    this.#count('forwarded', 'forwarded');
    this.#log.info({ ...window, node: this.#options.nodeId }, 'blackout forwarded to the scheduler');
    this.#options.onForwarded?.(window);
  }

  async #request(method: 'GET' | 'POST', path: string, body: unknown): Promise<unknown> {
    const controller = new AbortController();
    const onStop = (): void => controller.abort(this.#abort.signal.reason);
    this.#abort.signal.addEventListener('abort', onStop, { once: true });
    const timer = this.#options.clock.setTimer(this.#limits.requestTimeoutMs as DurationMs, () => controller.abort(new Error(`no answer within ${this.#limits.requestTimeoutMs} ms`)));
    const url = `${this.#options.schedulerUrl!.replace(/\/$/, '')}${path}`;
    try {
      const response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.#options.apiKey!}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: controller.signal,
      });
      const text = await response.text();
      if (text.length > NODE_RESPONSE_BYTES_MAX) throw new Error(`${method} ${path}: answer of ${text.length} characters, more than ${NODE_RESPONSE_BYTES_MAX}`);
      if (!response.ok) {
        let detail = text.slice(0, 300);
        try {
          const problem = JSON.parse(text) as { code?: string; detail?: string };
          detail = `${problem.code ?? ''} ${problem.detail ?? ''}`.trim();
        } catch {
          // not a problem document: keep the text
        }
        const message = `${method} ${path}: ${response.status} ${detail}`;
        const retryable = response.status === 401 || response.status === 429 || response.status >= 500;
        throw retryable ? new Error(message) : new Refused(message);
      }
      return JSON.parse(text) as unknown;
    } catch (error) {
      if (error instanceof Refused) throw error;
      if (error instanceof SyntaxError) throw new Refused(`${method} ${path}: the answer is not JSON`);
      throw new Error(`${url}: ${(error as Error).message}`, { cause: error });
    } finally {
      timer.cancel();
      this.#abort.signal.removeEventListener('abort', onStop);
    }
  }
}
