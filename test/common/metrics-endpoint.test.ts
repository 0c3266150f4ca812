// The agents' operator endpoint: GET /metrics and GET /healthz and nothing else, on node:http,
// without loading what the process does not use (undici: orbital/README.md, "Memory and start-up").
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsEndpoint, MetricsRegistry, OrbitfedError } from '../../common/index.ts';

const run = promisify(execFile);
const endpoints: MetricsEndpoint[] = [];
afterEach(async () => {
  for (const endpoint of endpoints.splice(0)) await endpoint.stop();
});

async function started(options: Partial<ConstructorParameters<typeof MetricsEndpoint>[0]> = {}): Promise<{ endpoint: MetricsEndpoint; url: string; registry: MetricsRegistry }> {
  const registry = new MetricsRegistry();
  const endpoint = new MetricsEndpoint({ host: '127.0.0.1', port: 0, registry, ...options });
  endpoints.push(endpoint);
  return { endpoint, url: await endpoint.start(), registry };
}

/** A raw request (fetch would refuse the oversized header we want to send). */
function get(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => resolve({ status: response.statusCode!, body, type: response.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the metrics endpoint', () => {
  it('serves the registry in the Prometheus text format at /metrics, refreshing gauges first', async () => {
    let refreshed = 0;
    const { url, registry } = await started({ beforeRender: () => { refreshed++; } });
    registry.counter('orbitfed_test_things_total', 'Things counted by the test.').inc({}, 3);
    const answer = await get(`${url}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.type).toContain('text/plain');
    expect(answer.body).toContain('orbitfed_test_things_total 3');
    expect(refreshed).toBe(1);
  });

  it('answers /healthz 200 while healthy and 503 when not', async () => {
    let healthy = true;
    const { url } = await started({ healthy: () => healthy });
    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    healthy = false;
    expect(await get(`${url}/healthz?verbose=1`)).toMatchObject({ status: 503, body: '{"status":"stopped"}' });
  });

  it('refuses other methods and paths, and headers beyond 8 KiB', async () => {
    const { url } = await started();
    expect(await get(`${url}/metrics`, { method: 'POST' })).toMatchObject({ status: 405 });
    expect(await get(`${url}/admin`)).toMatchObject({ status: 404, body: 'GET /metrics or /healthz\n' });
    expect((await get(`${url}/metrics`, { headers: { 'x-padding': 'a'.repeat(16 * 1024) } })).status).toBe(431);
    expect((await get(`${url}/healthz`)).status).toBe(200);
  });

  it('says which address it cannot listen on', async () => {
    const { endpoint } = await started();
    const port = Number(endpoint.address!.split(':').at(-1));
    const second = new MetricsEndpoint({ host: '127.0.0.1', port, registry: new MetricsRegistry() });
    const error = await second.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrbitfedError);
    expect(error).toMatchObject({ code: 'ORBITFED_METRICS_LISTEN', message: expect.stringContaining(`127.0.0.1:${port}`) });
  });

  it('does not load undici (node:http\'s fetch and WebSocket) to serve', async () => {
    const script = `
      const { MetricsEndpoint, MetricsRegistry } = await import(${JSON.stringify(new URL('../../common/metrics-endpoint.ts', import.meta.url).href)}).then(async (m) => ({ ...m, ...(await import(${JSON.stringify(new URL('../../common/metrics.ts', import.meta.url).href)})) }));
      const endpoint = new MetricsEndpoint({ host: '127.0.0.1', port: 0, registry: new MetricsRegistry() });
      await endpoint.start();
      await endpoint.stop();
      console.log(JSON.stringify(process.moduleLoadList.filter((m) => m.includes('undici'))));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual([]);
  });
});
