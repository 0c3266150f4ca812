// Tenants download what their jobs produced (GET /v1/jobs/{id}/result/content), through the real
// path: the scheduler's dispatcher on its own DTN node, ground stations and a satellite as real
// BundleAgents on dtn's SimulatedNetwork in virtual time (as dispatcher.test.ts), the node's signed
// result forwarded by a station, the bytes kept by the job store, and the REST API answering
// app.inject() with the tenants' API keys.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry, OrbitfedError, seededRng, silentLogger } from '../../common/index.ts';
import { ed25519KeyPairFromSeed, sha256 } from '../../consensus/index.ts';
import type { BundleAgent } from '../../dtn/index.ts';
import { Dispatcher } from '../../scheduler/dispatcher.ts';
import {
  decodeJobAssignment, decodeJobResult, encodeJobResult, encodeNodeReport, SERVICE_NUMBERS, signJobResult, signNodeReport,
  type JobAssignment, type NodeReport, type SignedJobAssignment,
} from '../../scheduler/job-assignment.ts';
import type { JobStoreLimits } from '../../scheduler/job-store.ts';
import type { JobSpec } from '../../scheduler/job-spec.ts';
import { SimulationClock } from '../../hil/index.ts';
import { SATELLITE, SCHEDULER, startDispatcherNetwork, STATIONS } from './dispatcher-network.ts';
import { CHAIN_ID, startHarness, type Harness } from './api-harness.ts';
import { HOUR_MS, jobSpec, scratchDirectory, T0_MS } from './job-fixtures.ts';

const SCHEDULER_SEED = new Uint8Array(32).fill(31);
const NODE_SEED = new Uint8Array(32).fill(32);
const nodePublicKey = ed25519KeyPairFromSeed(NODE_SEED).publicKey;
/** sat-a's first pass over Munich ends here; its result is delivered by then. */
const FIRST_PASS_END_MS = T0_MS + 4_200_000;

/** Runs on sat-a (passes over Munich at 1 h): the only node that qualifies. */
const onSatA: JobSpec = jobSpec({
  input: { sizeBytes: 2_000, location: 'gs-munich' }, result: { sizeBytes: 200_000, deliverTo: [] },
  orbital: 'required', sovereignty: { atRest: ['EU'], downlink: { countries: ['DE'] } }, deadlineMs: T0_MS + 12 * HOUR_MS,
});

const scratch = scratchDirectory('result-content');
afterAll(() => scratch.remove());

/** Seeded bytes, so a failure replays; printed seed per STYLE rule 12. */
function resultBytesOf(seed: number, sizeBytes: number): Uint8Array {
  const rng = seededRng(seed);
  const bytes = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i += 1) bytes[i] = Math.floor(rng() * 256);
  return bytes;
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const digestField = (bytes: Uint8Array): string => `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`;

function report(a: JobAssignment, sequence: number, kind: NodeReport['kind'], atMs: number, finished?: NodeReport['finished']): NodeReport {
  return { chainId: a.chainId, nodeId: a.nodeId, sequence, kind, jobId: a.jobId, assignmentId: a.assignmentId, atMs, reasonCode: '', reason: '', finished };
}

type NodeBehaviour = (agent: BundleAgent, signed: SignedJobAssignment, clock: SimulationClock) => void;

/** Accepts, starts, finishes and sends `bytes` as its result to the first station. */
const nodeProducing = (bytes: Uint8Array): NodeBehaviour => (agent, signed, clock) => {
  const a = signed.assignment;
  const now = Math.floor(clock.now());
  const send = (r: NodeReport): void => {
    agent.send({ destination: a.reportTo, payload: encodeNodeReport(signNodeReport(r, NODE_SEED)), lifetimeMs: 86_400_000 });
  };
  send(report(a, 1, 'started', now));
  send(report(a, 2, 'finished', now, {
    outcome: 'succeeded', exitCode: 0, usage: { cpuMs: 900, memoryPeakBytes: 1 << 20, wallMs: 1_000 },
    resultSizeBytes: bytes.length, resultSha256: sha256(bytes), resultSent: true,
  }));
  const result = signJobResult({ chainId: a.chainId, nodeId: a.nodeId, jobId: a.jobId, assignmentId: a.assignmentId, outcome: 'succeeded', tenantEndpoint: a.result.tenantEndpoint, atMs: now, bytes }, NODE_SEED);
  agent.send({ destination: a.result.stations[0]!, payload: encodeJobResult(result), lifetimeMs: 86_400_000 });
};

/** Refuses every assignment: the job fails without a result. */
const refusingNode: NodeBehaviour = (agent, signed, clock) => {
  const a = signed.assignment;
  const refusal: NodeReport = { ...report(a, 1, 'refused', Math.floor(clock.now())), reasonCode: 'busy', reason: 'no room' };
  agent.send({ destination: a.reportTo, payload: encodeNodeReport(signNodeReport(refusal, NODE_SEED)), lifetimeMs: 86_400_000 });
};

interface World {
  readonly clock: SimulationClock;
  readonly harness: Harness;
  readonly dispatcher: Dispatcher;
  readonly metrics: MetricsRegistry;
  readonly storePath: string;
  close(): Promise<void>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});
let stores = 0;

interface WorldOptions {
  readonly behaviour: NodeBehaviour;
  /** Stations forward each result this many times (a re-sent result: a node that crashed before it knew the first was stored). */
  readonly forwardCopies?: number;
  readonly storeLimits?: Partial<JobStoreLimits>;
}

async function world(options: WorldOptions): Promise<World> {
  const clock = new SimulationClock(T0_MS);
  const storePath = join(scratch.path, `jobs-${stores++}.db`);
  const harness = await startHarness({ clock: clock.virtual, storePath, storeLimits: options.storeLimits });
  const { overlay, agents } = await startDispatcherNetwork(clock, 'orbitfed-result-content-');
  const satellite = agents.get(SATELLITE)!;
  satellite.register(SERVICE_NUMBERS.assignments, (delivery) => options.behaviour(satellite, decodeJobAssignment(delivery.payload), clock));
  for (const station of STATIONS) {
    const agent = agents.get(station)!;
    agent.register(SERVICE_NUMBERS.results, (delivery) => {
      const { result } = decodeJobResult(delivery.payload);
      for (let i = 0; i < (options.forwardCopies ?? 1); i += 1) agent.send({ destination: result.tenantEndpoint, payload: delivery.payload, lifetimeMs: 86_400_000 });
    });
  }
  const metrics = new MetricsRegistry();
  const dispatcher = new Dispatcher({
    lifecycle: harness.lifecycle, jobs: harness.store, agent: agents.get(SCHEDULER)!, clock, logger: silentLogger(), metrics, chainId: CHAIN_ID,
    schedulerKey: SCHEDULER_SEED, nodePublicKey: (id) => (id === 'sat-a' ? nodePublicKey : undefined), overlay,
  });
  let closed = false;
  const w: World = {
    clock, harness, dispatcher, metrics, storePath,
    close: async () => {
      if (closed) return;
      closed = true;
      dispatcher.stop();
      for (const agent of agents.values()) await agent.stop();
      await harness.close();
    },
  };
  worlds.push(w);
  return w;
}

async function placedJob(w: World): Promise<string> {
  const outcome = await w.harness.lifecycle.submit('acme', onSatA);
  if (outcome.kind !== 'placed') throw new Error(`not placed: ${JSON.stringify(outcome)}`);
  return outcome.job.id;
}

const download = (h: Harness, jobId: string, tenant: 'acme' | 'globex' = 'acme', headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
  h.app.inject({ method, url: `/v1/jobs/${jobId}/result/content`, headers: { ...h.auth(tenant), ...headers } });

describe('downloading a job result', () => {
  const SEED = 7;
  console.log(`result-content test seed ${SEED}`);
  const produced = resultBytesOf(SEED, 150_000);

  it('gives the tenant exactly the bytes the node produced, with ETag, Content-Digest and Content-Length; /result says where', async () => {
    const w = await world({ behaviour: nodeProducing(produced) });
    const jobId = await placedJob(w);
    w.dispatcher.start();
    await w.clock.runUntil(FIRST_PASS_END_MS);
    expect(w.harness.store.job(jobId)?.state).toBe('succeeded');

    const response = await download(w.harness, jobId);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.headers['content-length']).toBe(String(produced.length));
    expect(response.headers['content-digest']).toBe(digestField(produced));
    expect(response.headers['repr-digest']).toBe(digestField(produced));
    expect(response.headers.etag).toBe(`"sha256-${sha256Hex(produced)}"`);
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(sha256Hex(response.rawPayload)).toBe(sha256Hex(produced));
    expect(Buffer.compare(response.rawPayload, Buffer.from(produced))).toBe(0);

    const report = await w.harness.app.inject({ method: 'GET', url: `/v1/jobs/${jobId}/result`, headers: w.harness.auth('acme') });
    expect(report.statusCode).toBe(200);
    expect(report.json()).toMatchObject({
      state: 'succeeded', result: { resultSha256: sha256Hex(produced), resultSizeBytes: produced.length },
      content: { status: 'available', url: `/v1/jobs/${jobId}/result/content`, sizeBytes: produced.length, sha256: sha256Hex(produced) },
    });
  });

  it('answers 409 while the job runs, 404 to another tenant and for ids that do not exist, 400 for ids that cannot be', async () => {
    const w = await world({ behaviour: nodeProducing(produced) });
    const jobId = await placedJob(w);
    w.dispatcher.start();
    const early = await download(w.harness, jobId);
    expect(early.statusCode).toBe(409);
    expect(early.headers['content-type']).toContain('application/problem+json');
    expect(early.json()).toMatchObject({ code: 'ORBITFED_JOB_RESULT_NOT_READY' });
    await w.clock.runUntil(FIRST_PASS_END_MS);

    const other = await download(w.harness, jobId, 'globex');
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ code: 'ORBITFED_JOB_NOT_FOUND' });
    const missing = await download(w.harness, 'job-does-not-exist');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'ORBITFED_JOB_NOT_FOUND' });
    // The same answer whether or not the id exists: another tenant learns nothing.
    expect({ ...other.json(), instance: undefined }).toEqual({ ...missing.json(), instance: undefined, detail: other.json().detail });
    for (const id of ['..%2F..%2Fetc', '%00', 'a'.repeat(65), '-leading-dash']) {
      const bad = await download(w.harness, id);
      expect(bad.statusCode, id).toBe(400);
      expect(bad.json().code, id).toBe('ORBITFED_API_INVALID_PARAMS');
    }
    const anonymous = await w.harness.app.inject({ method: 'GET', url: `/v1/jobs/${jobId}/result/content` });
    expect(anonymous.statusCode).toBe(401);
  });

  it('answers HEAD with the headers alone, one byte range with 206, If-None-Match with 304, and ignores what it does not serve', async () => {
    const w = await world({ behaviour: nodeProducing(produced) });
    const jobId = await placedJob(w);
    w.dispatcher.start();
    await w.clock.runUntil(FIRST_PASS_END_MS);
    const h = w.harness;
    const etag = `"sha256-${sha256Hex(produced)}"`;

    const head = await download(h, jobId, 'acme', {}, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(produced.length));
    expect(head.headers.etag).toBe(etag);
    expect(head.rawPayload.length).toBe(0);

    const part = await download(h, jobId, 'acme', { range: 'bytes=100-199' });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${produced.length}`);
    expect(Buffer.compare(part.rawPayload, Buffer.from(produced.subarray(100, 200)))).toBe(0);
    expect(part.headers['content-digest']).toBe(digestField(produced.subarray(100, 200)));
    expect(part.headers['repr-digest']).toBe(digestField(produced));

    const tail = await download(h, jobId, 'acme', { range: 'bytes=-10' });
    expect(tail.statusCode).toBe(206);
    expect(Buffer.compare(tail.rawPayload, Buffer.from(produced.subarray(produced.length - 10)))).toBe(0);
    const rest = await download(h, jobId, 'acme', { range: `bytes=${produced.length - 5}-`, 'if-range': etag });
    expect(rest.statusCode).toBe(206);
    expect(rest.rawPayload.length).toBe(5);

    const past = await download(h, jobId, 'acme', { range: `bytes=${produced.length}-` });
    expect(past.statusCode).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${produced.length}`);
    expect(past.json()).toMatchObject({ code: 'ORBITFED_API_RANGE_NOT_SATISFIABLE' });

    for (const ignored of ['bytes=0-1,5-9', 'lines=1-2', 'bytes=9-1', 'bytes=abc', `bytes=${'9'.repeat(200)}-`]) {
      const whole = await download(h, jobId, 'acme', { range: ignored });
      expect(whole.statusCode, ignored).toBe(200);
      expect(whole.rawPayload.length, ignored).toBe(produced.length);
    }
    const staleRange = await download(h, jobId, 'acme', { range: 'bytes=0-9', 'if-range': '"sha256-other"' });
    expect(staleRange.statusCode).toBe(200);
    expect(staleRange.rawPayload.length).toBe(produced.length);

    const cached = await download(h, jobId, 'acme', { 'if-none-match': `"x", ${etag}` });
    expect(cached.statusCode).toBe(304);
    expect(cached.rawPayload.length).toBe(0);
    // Many downloads in a row: the bytes each held are given back once sent.
    for (let i = 0; i < 40; i += 1) expect((await download(h, jobId)).statusCode).toBe(200);
  });

  it('stores a result delivered twice once, and the job succeeds once', async () => {
    const w = await world({ behaviour: nodeProducing(produced), forwardCopies: 2 });
    const jobId = await placedJob(w);
    w.dispatcher.start();
    await w.clock.runUntil(FIRST_PASS_END_MS);
    expect(w.dispatcher.stats()).toMatchObject({ results: 2, duplicateResults: 1, refused: 0 });
    expect(w.harness.store.resultContents.keptBytes).toBe(produced.length);
    const types = w.harness.store.events(jobId, 50, undefined).items.map((e) => e.type);
    expect(types.filter((t) => t === 'succeeded')).toHaveLength(1);
    const response = await download(w.harness, jobId);
    expect(sha256Hex(response.rawPayload)).toBe(sha256Hex(produced));
  });

  it('keeps the bytes when the job store fails between storing them and finishing the job: the result bundle comes again, stored once', async () => {
    const w = await world({ behaviour: nodeProducing(produced) });
    const jobId = await placedJob(w);
    const store = w.harness.store;
    const transition = store.transition.bind(store);
    let failures = 0;
    // What a crash after the bytes' commit looks like to the dispatcher: the transition does not happen.
    store.transition = (id, from, changes, events, nowMs) => {
      if (changes.state === 'succeeded' && failures === 0) {
        failures += 1;
        throw new OrbitfedError('ORBITFED_STORE_IO', 'job store failed (injected)');
      }
      return transition(id, from, changes, events, nowMs);
    };
    w.dispatcher.start();
    await w.clock.runUntil(FIRST_PASS_END_MS);
    expect(failures).toBe(1);
    expect(store.job(jobId)?.state).toBe('succeeded');
    expect(w.dispatcher.stats()).toMatchObject({ results: 2, refused: 0 });
    expect(store.resultContents.keptBytes).toBe(produced.length);
    const response = await download(w.harness, jobId);
    expect(Buffer.compare(response.rawPayload, Buffer.from(produced))).toBe(0);
  });

  it('keeps the bytes across a restart of the scheduler (the store reopened from its files)', async () => {
    const w = await world({ behaviour: nodeProducing(produced) });
    const jobId = await placedJob(w);
    w.dispatcher.start();
    await w.clock.runUntil(FIRST_PASS_END_MS);
    await w.close();
    const again = await startHarness({ storePath: w.storePath });
    try {
      const response = await download(again, jobId);
      expect(response.statusCode).toBe(200);
      expect(Buffer.compare(response.rawPayload, Buffer.from(produced))).toBe(0);
      expect(again.store.resultContents.keptBytes).toBe(produced.length);
    } finally {
      await again.close();
    }
  });

  it('answers 404 ORBITFED_JOB_RESULT_NO_CONTENT for a job that failed without a result', async () => {
    const w = await world({ behaviour: refusingNode });
    const jobId = await placedJob(w);
    w.dispatcher.start();
    await w.clock.runUntil(FIRST_PASS_END_MS);
    expect(w.harness.store.job(jobId)?.state).toBe('failed');
    const response = await download(w.harness, jobId);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'ORBITFED_JOB_RESULT_NO_CONTENT' });
    const report = await w.harness.app.inject({ method: 'GET', url: `/v1/jobs/${jobId}/result`, headers: w.harness.auth('acme') });
    expect(report.json()).toMatchObject({ state: 'failed', content: { status: 'none' } });
  });
});

describe('the bounds on kept results', () => {
  const first = resultBytesOf(11, 6_000);
  const second = resultBytesOf(12, 6_000);

  it('drops the oldest bytes past the size bound: 410 with the reason, the report and digest stay, the drop counted', async () => {
    let n = 0;
    const w = await world({ behaviour: (agent, signed, clock) => nodeProducing(n++ === 0 ? first : second)(agent, signed, clock), storeLimits: { resultContentBytesMax: 10_000 } });
    const a = await placedJob(w);
    const b = await placedJob(w);
    w.dispatcher.start();
    await w.clock.runUntil(FIRST_PASS_END_MS);
    expect(w.harness.store.job(a)?.state).toBe('succeeded');
    expect(w.harness.store.job(b)?.state).toBe('succeeded');
    const [older, newer] = w.harness.store.job(a)!.result!.deliveredAtMs! <= w.harness.store.job(b)!.result!.deliveredAtMs! ? [a, b] : [b, a];

    const gone = await download(w.harness, older);
    expect(gone.statusCode).toBe(410);
    expect(gone.json()).toMatchObject({ code: 'ORBITFED_JOB_RESULT_CONTENT_DROPPED', dropReason: 'store-full' });
    const report = await w.harness.app.inject({ method: 'GET', url: `/v1/jobs/${older}/result`, headers: w.harness.auth('acme') });
    expect(report.json()).toMatchObject({ state: 'succeeded', result: { resultSizeBytes: 6_000 }, content: { status: 'dropped', dropReason: 'store-full', sizeBytes: 6_000 } });
    expect((await download(w.harness, newer)).statusCode).toBe(200);

    const metrics = await w.metrics.render();
    expect(metrics).toContain('orbitfed_scheduler_result_contents_dropped_total{reason="store-full"} 1');
    expect(metrics).toContain('orbitfed_scheduler_result_content_dropped_bytes_total{reason="store-full"} 6000');
    expect(metrics).toContain('orbitfed_scheduler_result_content_kept_bytes 6000');
  });

  it('drops bytes kept past their retention at the next tick', async () => {
    const w = await world({ behaviour: nodeProducing(first), storeLimits: { resultContentRetentionMs: HOUR_MS } });
    const jobId = await placedJob(w);
    w.dispatcher.start();
    await w.clock.runUntil(FIRST_PASS_END_MS);
    expect((await download(w.harness, jobId)).statusCode).toBe(200);
    await w.clock.runUntil(FIRST_PASS_END_MS + HOUR_MS + 5_000);
    const gone = await download(w.harness, jobId);
    expect(gone.statusCode).toBe(410);
    expect(gone.json()).toMatchObject({ dropReason: 'retention' });
    expect(await w.metrics.render()).toContain('orbitfed_scheduler_result_contents_dropped_total{reason="retention"} 1');
  });
});
