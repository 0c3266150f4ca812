// The one place the demo is wired (STYLE rule 14): the demo's federation (demo-federation.ts) in a
// working directory, started, its sample jobs submitted over the API, and what people need to use
// it (URLs, an API key, a request to paste) as plain data for the command to print.
//
// A process that dies unexpectedly ends the demo: the session reports it (which process, its exit,
// the end of its log) and the command stops everything and exits 1. We chose that over restarting
// it: a demo that quietly lost a validator or an agent would show something that is not the
// federation, and a process that crashed once usually crashes again.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatLocated, OrbitfedError, type Clock, type DurationMs, type Logger } from '../common/index.ts';
import { loadElementFile } from '../contact-plans/index.ts';
import type { JobSpec } from '../scheduler/index.ts';
import { DEMO_DATA, DEMO_EU_TENANT, DEMO_TENANTS, demoFederationSpec, demoPlanStartMs, type DemoOptions } from './demo-federation.ts';
import { createDockerRuntime } from '../runtime/index.ts';
import { curlCommand, demoJobs, euSovereignJob, inDocker } from './demo-jobs.ts';
import { Federation } from './federation.ts';
import type { ProcessExit } from './federation-process.ts';

/** Largest API answer the demo reads. */
const API_ANSWER_BYTES_MAX = 1024 * 1024;
const API_REQUEST_TIMEOUT_MS = 30_000;
/** How long the checks before start wait for the Docker engine or the external MQTT broker. */
const PREFLIGHT_TIMEOUT_MS = 5_000;

export interface DemoSummary {
  readonly dir: string;
  readonly planStartMs: number;
  /** Plan time when the federation was ready. */
  readonly planNowMs: number;
  readonly planEndMs: number;
  readonly timeScale: number;
  readonly planHash: string;
  readonly contacts: number;
  readonly satellites: readonly string[];
  readonly stations: readonly string[];
  readonly apiUrl: string;
  readonly docsUrl: string;
  readonly dashboardUrl: string;
  readonly mqttUrl: string;
  readonly validatorRpcUrls: readonly string[];
  readonly logsDir: string;
  readonly tenants: readonly { readonly id: string; readonly description: string; readonly apiKeyFile: string }[];
  /** The EU-sovereign tenant's API key, printed for people. */
  readonly apiKeyTenant: string;
  readonly apiKey: string;
  readonly curl: string;
  readonly processes: readonly { readonly name: string; readonly pid: number | undefined }[];
}

export interface SubmittedJob {
  readonly tenant: string;
  readonly name: string;
  readonly status: number;
  /** The job as the API answered (201), or its problem document. */
  readonly body: Record<string, unknown>;
}

/** Jobs the demo follows at most. */
export const FOLLOWED_JOBS_MAX = 100;

/** A followed job changed: its state, or its escrow was resolved on the ledger. */
export interface JobChange {
  readonly name: string;
  readonly jobId: string;
  readonly kind: 'state' | 'escrow';
  /** The job's state, or the escrow's (posted, voided, expired). */
  readonly state: string;
  readonly nodeId?: string | undefined;
  readonly station?: string | undefined;
  readonly reason?: string | undefined;
  readonly postedMinor?: string | undefined;
  readonly feeMinor?: string | undefined;
  readonly currency?: string | undefined;
  readonly settledBy?: string | undefined;
  /** Plan time of the change, when known. */
  readonly atMs?: number | undefined;
}

export interface DemoSessionOptions {
  readonly options: DemoOptions;
  /** The working directory (created, must be empty); a fresh temporary one when undefined. */
  readonly dir: string | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onUnexpectedExit: (exit: ProcessExit) => void;
}

export class DemoSession {
  readonly federation: Federation;
  readonly #clock: Clock;
  readonly #dockerImage: string | undefined;

  private constructor(federation: Federation, clock: Clock, dockerImage: string | undefined) {
    this.federation = federation;
    this.#clock = clock;
    this.#dockerImage = dockerImage;
  }

  /**
   * What the demo's options need from outside, checked before anything is written or started: the
   * Docker engine answers and has the image (ORBITFED_DEMO_DOCKER), the external MQTT broker
   * accepts connections (ORBITFED_DEMO_MQTT). Each error says what is missing and what to do.
   */
  static async preflight(options: DemoOptions, clock: Clock, logger: Logger): Promise<void> {
    if (options.dockerImage !== undefined && options.agents) {
      const image = options.dockerImage;
      let runtime: Awaited<ReturnType<typeof createDockerRuntime>> | undefined;
      try {
        runtime = await createDockerRuntime({ clock, logger, owner: 'orbitfed-demo-check', connectTimeoutMs: PREFLIGHT_TIMEOUT_MS as DurationMs });
        await runtime.start();
        if (!(await runtime.hasImage(image))) {
          throw new OrbitfedError('ORBITFED_DEMO_DOCKER', `the Docker engine has no image ${image}: pull it (docker pull ${image}), or name an image you have with --docker-image (any image with sh and echo)`);
        }
      } catch (error) {
        if ((error as OrbitfedError).code === 'ORBITFED_DEMO_DOCKER') throw error;
        // The runtime's message without its location prefix (the socket path, which it names anyway).
        const why = error instanceof OrbitfedError ? error.message.slice(formatLocated('', error.location).length) : (error as Error).message;
        throw new OrbitfedError('ORBITFED_DEMO_DOCKER', `--docker needs a Docker engine: ${why}. Start Docker (or set DOCKER_HOST=unix:///path/to/docker.sock), or run the demo without --docker`, {}, { cause: error });
      } finally {
        await runtime?.stop();
      }
    }
    if (options.mqttUrl !== undefined) await checkBroker(options.mqttUrl, clock);
  }

  /** Writes the working directory: plan, testnet, keys, configurations. Starts nothing. */
  static async prepare(session: DemoSessionOptions): Promise<DemoSession> {
    const dir = session.dir === undefined ? mkdtempSync(join(tmpdir(), 'orbitfed-demo-')) : resolve(session.dir);
    const elements = await loadElementFile(DEMO_DATA.elementsPath, { checksum: 'strict' });
    const planStartMs = demoPlanStartMs(elements.elements, session.clock.now());
    const federation = await Federation.prepare({
      spec: demoFederationSpec(session.options, planStartMs), dir, clock: session.clock, logger: session.logger, onUnexpectedExit: session.onUnexpectedExit,
    });
    return new DemoSession(federation, session.clock, session.options.dockerImage);
  }

  async start(signal?: AbortSignal): Promise<DemoSummary> {
    await this.federation.start(signal);
    return this.summary();
  }

  summary(): DemoSummary {
    const { federation } = this;
    const { layout, spec, inputs } = federation;
    const planEndMs = spec.planStartMs + spec.planHours * 3_600_000;
    const apiKey = layout.apiKeys.get(DEMO_EU_TENANT)!;
    return {
      dir: layout.dir,
      planStartMs: spec.planStartMs,
      planNowMs: federation.planClock().now(),
      planEndMs,
      timeScale: spec.timeScale,
      planHash: inputs.plan.hash,
      contacts: inputs.plan.contacts.length,
      satellites: inputs.nodes.filter((n) => n.kind === 'orbital').map((n) => n.id),
      stations: inputs.nodes.filter((n) => n.kind === 'ground').map((n) => n.id),
      apiUrl: layout.schedulerUrl,
      docsUrl: `${layout.schedulerUrl}/docs`,
      // The key after "#" never reaches the server; the page keeps it for this tab (scheduler/dashboard/README.md).
      dashboardUrl: `${layout.schedulerUrl}/#key=${apiKey}`,
      mqttUrl: federation.mqtt.url,
      validatorRpcUrls: layout.validatorRpcUrls,
      logsDir: layout.logsDir,
      tenants: DEMO_TENANTS.map((t) => ({ id: t.id, description: t.description ?? '', apiKeyFile: join(layout.dir, 'secrets', `${t.id}.key`) })),
      apiKeyTenant: DEMO_EU_TENANT,
      apiKey,
      curl: curlCommand(layout.schedulerUrl, apiKey, inDocker(euSovereignJob(planEndMs - 60_000), this.#dockerImage)),
      processes: federation.processes.map((p) => ({ name: p.name, pid: p.pid })),
    };
  }

  /** Submits `count` sample jobs (the tenants take turns) and returns the API's answers. */
  async submitSampleJobs(count: number, signal?: AbortSignal): Promise<SubmittedJob[]> {
    const deadlineMs = this.federation.spec.planStartMs + this.federation.spec.planHours * 3_600_000 - 60_000;
    const answers: SubmittedJob[] = [];
    for (const job of demoJobs(count, deadlineMs, this.#dockerImage)) answers.push(await this.submitJob(job.tenant, job.spec, signal));
    return answers;
  }

  async submitJob(tenant: string, spec: JobSpec, signal?: AbortSignal): Promise<SubmittedJob> {
    const apiKey = this.federation.layout.apiKeys.get(tenant);
    if (apiKey === undefined) throw new OrbitfedError('ORBITFED_DEMO_TENANT', `no tenant ${tenant} in the demo`);
    const { status, body } = await apiRequest(this.#clock, 'POST', `${this.federation.layout.schedulerUrl}/v1/jobs`, apiKey, spec, signal);
    return { tenant, name: spec.name ?? '', status, body };
  }

  /**
   * Follows jobs until each has ended and its escrow is resolved on the ledger (or `signal`
   * aborts), reporting every change once: its state (and where its result came down), then its
   * settlement. Polls the API and validator 0 every `periodMs` of wall time.
   */
  async followJobs(jobs: readonly SubmittedJob[], onChange: (change: JobChange) => void, signal: AbortSignal, periodMs = 2_000): Promise<void> {
    const followed = jobs.filter((j) => j.status === 201).slice(0, FOLLOWED_JOBS_MAX).map((j) => ({ job: j, state: String(j.body.state), done: false }));
    const validator = this.federation.validatorClient(0);
    while (!signal.aborted && followed.some((f) => !f.done)) {
      await this.#clock.sleep(periodMs as DurationMs, signal).catch(() => undefined);
      for (const f of followed.filter((x) => !x.done && !signal.aborted)) {
        const id = String(f.job.body.id);
        const apiKey = this.federation.layout.apiKeys.get(f.job.tenant)!;
        const answer = await apiRequest(this.#clock, 'GET', `${this.federation.layout.schedulerUrl}/v1/jobs/${encodeURIComponent(id)}`, apiKey, undefined, signal).catch(() => undefined);
        if (answer?.status !== 200) continue;
        const state = String(answer.body.state);
        const placement = answer.body.placement as { escrowId?: string; nodeId?: string; resultStation?: string } | undefined;
        if (state !== f.state) {
          f.state = state;
          onChange({ name: f.job.name, jobId: id, kind: 'state', state, nodeId: placement?.nodeId, station: placement?.resultStation, reason: answer.body.reason as string | undefined, atMs: Number(answer.body.updatedMs) });
        }
        if (!['succeeded', 'failed', 'expired', 'cancelled'].includes(state)) continue;
        const escrow = placement?.escrowId === undefined ? undefined : await validator.escrow(placement.escrowId).catch(() => undefined);
        const status = escrow?.status as string | undefined;
        if (status === 'pending' && state === 'succeeded') continue;
        f.done = true;
        if (escrow !== undefined) {
          onChange({
            name: f.job.name, jobId: id, kind: 'escrow', state: status ?? 'unknown', postedMinor: escrow.postedMinor as string | undefined, feeMinor: escrow.feeMinor as string | undefined,
            currency: escrow.currency as string | undefined, settledBy: escrow.settledBy as string | undefined, atMs: escrow.resolvedAtMs as number | undefined,
          });
        }
      }
    }
  }

  stop(): Promise<ProcessExit[]> {
    return this.federation.stop();
  }
}

/** Resolves once a TCP connection to the broker of `url` (mqtt://host:port) opens; ORBITFED_DEMO_MQTT otherwise. */
async function checkBroker(url: string, clock: Clock): Promise<void> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'mqtt:' || parsed.hostname === '') throw new Error('not mqtt://host:port');
    host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    port = parsed.port === '' ? 1883 : Number(parsed.port);
  } catch {
    throw new OrbitfedError('ORBITFED_DEMO_MQTT', `--mqtt-url must be mqtt://host:port (got ${JSON.stringify(url)})`);
  }
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (why: string): void => {
      timer.cancel();
      socket.destroy();
      reject(new OrbitfedError('ORBITFED_DEMO_MQTT', `no MQTT broker answers at ${url}: ${why}. Start it (mosquitto -p ${port}), or leave out --mqtt-url for the embedded broker`));
    };
    const timer = clock.setTimer(PREFLIGHT_TIMEOUT_MS as DurationMs, () => fail(`no connection within ${PREFLIGHT_TIMEOUT_MS} ms`));
    socket.once('connect', () => {
      timer.cancel();
      socket.end();
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
  });
}

/** One JSON request to the scheduler's API; the answer's body as an object (a problem document on errors). */
export async function apiRequest(
  clock: Clock, method: string, url: string, apiKey: string, body?: unknown, signal?: AbortSignal,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = clock.setTimer(API_REQUEST_TIMEOUT_MS as DurationMs, () => controller.abort(new OrbitfedError('ORBITFED_DEMO_API', `${method} ${url}: no answer within ${API_REQUEST_TIMEOUT_MS} ms`)));
  try {
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: controller.signal,
    });
    const text = await response.text();
    if (text.length > API_ANSWER_BYTES_MAX) throw new OrbitfedError('ORBITFED_DEMO_API', `${method} ${url}: the answer is larger than ${API_ANSWER_BYTES_MAX} bytes`);
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new OrbitfedError('ORBITFED_DEMO_API', `${method} ${url}: ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    return { status: response.status, body: (typeof parsed === 'object' && parsed !== null ? parsed : { value: parsed }) as Record<string, unknown> };
  } catch (error) {
    if (error instanceof OrbitfedError) throw error;
    throw new OrbitfedError('ORBITFED_DEMO_API', `${method} ${url}: ${(error as Error).message}`, {}, { cause: error });
  } finally {
    timer.cancel();
    signal?.removeEventListener('abort', onAbort);
  }
}
