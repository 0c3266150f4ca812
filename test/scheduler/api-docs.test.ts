// The API describes itself (OpenAPI 3.1 from the same TypeBox schemas that validate, Swagger UI
// served from this process, no CDN) and reports on itself (/healthz, /metrics).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeHarnessFiles, startHarness, type Harness } from './api-harness.ts';
import { HOUR_MS, jobSpec, T0_MS } from './job-fixtures.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
  removeHarnessFiles();
});

describe('the API documentation', () => {
  it('serves an OpenAPI 3.1 document with every endpoint, the spec schemas and the problem format', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/healthz', '/metrics', '/v1/contacts', '/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/events', '/v1/jobs/{id}/result',
      '/v1/jobs/{id}/result/content', '/v1/nodes', '/v1/nodes/{id}', '/v1/passes', '/v1/placements:dry-run',
    ]);
    // The download: bytes with their media type, every refusal a problem document, the conditional headers named.
    const content = doc.paths['/v1/jobs/{id}/result/content'].get;
    expect(content.responses['200'].content['application/octet-stream'].schema).toMatchObject({ type: 'string', format: 'binary' });
    expect(content.responses['206'].content).toHaveProperty('application/octet-stream');
    for (const status of ['404', '409', '410', '416']) expect(content.responses[status].content['application/json'].schema.properties, status).toHaveProperty('code');
    expect(content.parameters.filter((p: { in: string }) => p.in === 'header').map((p: { name: string }) => p.name).sort()).toEqual(['if-none-match', 'if-range', 'range']);
    expect(doc.paths['/v1/jobs/{id}/result'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('content');
    const submit = doc.paths['/v1/jobs'].post;
    const body = submit.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['deadlineMs', 'sovereignty', 'maxPriceMinor', 'input', 'result']));
    expect(submit.responses['422'].content['application/json'].schema.properties).toHaveProperty('earliestFeasibleMs');
    expect(submit.parameters.find((p: { name: string }) => p.name === 'idempotency-key')).toMatchObject({ in: 'header' });
    expect(doc.components.securitySchemes).toHaveProperty('apiKey');
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });

  it('serves Swagger UI and its assets locally, with no third-party origin', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const html = page.body;
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source, source).not.toMatch(/^(https?:)?\/\//);
    const bundle = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
  });
});

describe('health and metrics', () => {
  it('reports health without credentials', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.json()).toMatchObject({ status: 'ok', nowMs: T0_MS, planHash: h.lifecycle.plan.hash, nodes: 5 });
  });

  it('exposes Prometheus metrics: request durations, transitions and refusals', async () => {
    await h.app.inject({ method: 'POST', url: '/v1/jobs', headers: h.auth('acme'), payload: jobSpec({ input: { sizeBytes: 10, location: 'gs-munich' }, deadlineMs: T0_MS + 6 * HOUR_MS }) });
    await h.app.inject({ method: 'POST', url: '/v1/jobs', headers: h.auth('acme'), payload: jobSpec({ orbital: 'required', input: { sizeBytes: 10, location: 'gs-munich' }, deadlineMs: T0_MS + 60_000 }) });
    const response = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toMatch(/orbitfed_scheduler_http_request_seconds_count\{method="POST",route="\/v1\/jobs",status="201"\} 1/);
    expect(response.body).toMatch(/orbitfed_scheduler_job_transitions_total\{state="placed"\} 1/);
    expect(response.body).toMatch(/orbitfed_scheduler_job_refusals_total\{reason="deadline"\} 1/);
  });
});
