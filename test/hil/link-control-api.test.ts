// The control API over real HTTP, driving a running emulator on a VirtualClock: faults injected at
// run time, state and metrics read back, malformed requests answered precisely and harmlessly.
import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock, unixMs, durationMs } from '../../common/index.ts';
import { LinkEmulatorService, linkMapFromValue, type LinkStatus } from '../../hil/index.ts';
import { Client, contact, FarSide, GROUND, planOf, SATELLITE, settle, waitFor } from './link-harness.ts';

const T0 = unixMs(Date.UTC(2026, 5, 14));

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: unknown;
}

let service: LinkEmulatorService;
let clock: VirtualClock;
let satellite: FarSide;
let ground: FarSide;
let base: string;

function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' }): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const request = httpRequest(`${base}${path}`, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

const uplinkPath = `/links/${GROUND}/${SATELLITE}`;
const uplink = async (): Promise<LinkStatus> => (await call('GET', uplinkPath)).json as LinkStatus;

beforeEach(async () => {
  ground = await FarSide.start();
  satellite = await FarSide.start();
  clock = new VirtualClock(T0);
  const map = linkMapFromValue({
    planEpoch: 'start',
    nodes: [
      { ipn: GROUND, target: ground.address, listen: [{ from: SATELLITE, address: '127.0.0.1:0' }] },
      { ipn: SATELLITE, target: satellite.address, listen: [{ from: GROUND, address: '127.0.0.1:0' }] },
    ],
    control: { listen: '127.0.0.1:0' },
    metrics: { processMetrics: false },
  }, 'map.json');
  const plan = planOf([contact(GROUND, SATELLITE, 0, 600, 1_000_000, 0.1), contact(SATELLITE, GROUND, 0, 600, 1_000_000, 0.1)]);
  service = new LinkEmulatorService({ plan, map, clock });
  await service.start();
  await service.emulator.settled();
  base = `http://127.0.0.1:${service.controlAddress!.port}`;
});

afterEach(async () => {
  await service.stop();
  await ground.stop();
  await satellite.stop();
});

describe('link control API: state', () => {
  it('answers /healthz, /state, /links and one link', async () => {
    expect((await call('GET', '/healthz')).json).toEqual({ ok: true });
    const state = (await call('GET', '/state')).json as { planHash: string; timeScale: number; planSec: number; links: LinkStatus[] };
    expect(state).toMatchObject({ timeScale: 1, planSec: 0 });
    expect(state.planHash).toMatch(/^[0-9a-f]{64}$/);
    expect(state.links).toHaveLength(2);
    expect((await call('GET', '/links')).json).toEqual(state.links);
    expect(await uplink()).toMatchObject({
      from: GROUND, to: SATELLITE, up: true, availability: 'up', frozen: false, target: satellite.address,
      current: { forward: { rateBytesPerSec: 1_000_000, owltMs: 100 }, reverse: { rateBytesPerSec: 1_000_000, owltMs: 100 } },
      nextChangeAt: new Date(T0 + 600_000).toISOString(),
    });
  });

  it('serves Prometheus metrics per link', async () => {
    const client = await Client.open((await uplink()).listen);
    await waitFor('the relay to connect', () => satellite.sockets.length === 1);
    client.socket.write('twelve bytes');
    await waitFor('the relay to read', () => service.emulator.status().links.some((l) => l.bytesQueued.forward === 12));
    clock.advance(durationMs(200));
    await waitFor('delivery', () => satellite.received.length === 12);
    const reply = await call('GET', '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toContain('text/plain');
    expect(reply.text).toContain(`orbitfed_link_up{from="${GROUND}",to="${SATELLITE}"} 1`);
    expect(reply.text).toContain(`orbitfed_link_connections_open{from="${GROUND}",to="${SATELLITE}"} 1`);
    expect(reply.text).toContain(`orbitfed_link_connections_total{from="${GROUND}",to="${SATELLITE}"} 1`);
    expect(reply.text).toContain(`orbitfed_link_bytes_relayed_total{from="${GROUND}",to="${SATELLITE}",direction="forward"} 12`);
    expect(reply.text).toContain(`orbitfed_link_queued_bytes{from="${GROUND}",to="${SATELLITE}",direction="forward"} 0`);
    client.socket.destroy();
  });
});

describe('link control API: faults', () => {
  it('cuts a link, refusing connections, and restores it', async () => {
    const client = await Client.open((await uplink()).listen);
    await waitFor('the relay to connect', () => satellite.sockets.length === 1);
    const reply = await call('POST', `${uplinkPath}/cut`);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ action: 'cut', links: [{ from: GROUND, to: SATELLITE, up: false, availability: 'cut' }] });
    await waitFor('the connection to be reset', () => client.closed);
    await service.emulator.settled();
    await expect(Client.open((await uplink()).listen)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await call('GET', `/links/${SATELLITE}/${GROUND}`)).json).toMatchObject({ up: true });

    expect((await call('POST', `${uplinkPath}/restore`)).json).toMatchObject({ links: [{ up: true, availability: 'up' }] });
    await service.emulator.settled();
    (await Client.open((await uplink()).listen)).socket.destroy();
    expect((await call('GET', '/metrics')).text).toContain(`orbitfed_link_connections_cut_total{from="${GROUND}",to="${SATELLITE}",reason="control"} 1`);
  });

  it('freezes every link and unfreezes them', async () => {
    const client = await Client.open((await uplink()).listen);
    await waitFor('the relay to connect', () => satellite.sockets.length === 1);
    const frozen = await call('POST', '/links/all/freeze', '{}');
    expect((frozen.json as { links: LinkStatus[] }).links.map((l) => l.frozen)).toEqual([true, true]);
    client.socket.write('held');
    await waitFor('the relay to hold the bytes', () => satellite.received.length === 0 && service.emulator.status().links.some((l) => l.bytesQueued.forward === 4));
    clock.advance(durationMs(1000));
    await settle();
    expect(satellite.received.length).toBe(0);
    expect((await call('GET', '/metrics')).text).toContain(`orbitfed_link_frozen{from="${GROUND}",to="${SATELLITE}"} 1`);
    await call('POST', '/links/all/unfreeze');
    clock.advance(durationMs(101));
    await waitFor('the held bytes', () => satellite.received.toString() === 'held');
    client.socket.destroy();
  });

  it('adds delay to one direction', async () => {
    const reply = await call('POST', `${uplinkPath}/delay`, JSON.stringify({ extraDelayMs: 250, direction: 'forward' }));
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ links: [{ extraDelayMs: { forward: 250, reverse: 0 } }] });
    const client = await Client.open((await uplink()).listen);
    await waitFor('the relay to connect', () => satellite.sockets.length === 1);
    client.socket.write('late');
    await waitFor('the relay to read', () => service.emulator.status().links.some((l) => l.bytesQueued.forward === 4));
    clock.advance(durationMs(349));
    await settle();
    expect(satellite.received.length).toBe(0);
    clock.advance(durationMs(2));
    await waitFor('the late bytes', () => satellite.received.toString() === 'late');
    expect((await call('POST', `${uplinkPath}/delay`, JSON.stringify({ extraDelayMs: 0 }))).json).toMatchObject({ links: [{ extraDelayMs: { forward: 0, reverse: 0 } }] });
    client.socket.destroy();
  });
});

describe('link control API: flaps at run time', () => {
  it('takes a link down for a flap that starts now, resets its connections and counts the outage', async () => {
    const client = await Client.open((await uplink()).listen);
    await waitFor('the relay to connect', () => satellite.sockets.length === 1);
    const reply = await call('POST', `${uplinkPath}/flap`, JSON.stringify({ downSec: 30 }));
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ action: 'flap', links: [{ up: false, availability: 'outage', outagesDuringContact: 1 }] });
    await waitFor('the flap to reset the connection', () => client.closed);
    await service.emulator.settled();
    await expect(Client.open((await uplink()).listen)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await call('GET', `/links/${SATELLITE}/${GROUND}`)).json).toMatchObject({ up: true, outagesDuringContact: 0 });
    clock.advance(durationMs(30_000));
    await service.emulator.settled();
    expect(await uplink()).toMatchObject({ up: true, availability: 'up', connectionsCut: { outage: 1, control: 0 } });
    expect((await call('GET', '/metrics')).text).toContain(`orbitfed_link_connections_cut_total{from="${GROUND}",to="${SATELLITE}",reason="outage"} 1`);
  });

  it('schedules repeated flaps on every link at given plan seconds', async () => {
    const reply = await call('POST', '/links/all/flap', JSON.stringify({ startSec: 100, downSec: 10, everySec: 60, count: 3 }));
    expect((reply.json as { links: LinkStatus[] }).links.map((l) => l.up)).toEqual([true, true]);
    const seen: string[] = [];
    for (const atSec of [99, 101, 111, 161, 221, 281]) {
      clock.advance(durationMs(atSec * 1000 - (clock.now() - T0)));
      await service.emulator.settled();
      seen.push(`${atSec}:${(await uplink()).availability}`);
    }
    expect(seen).toEqual(['99:up', '101:outage', '111:up', '161:outage', '221:outage', '281:up']);
    expect((await uplink()).outagesDuringContact).toBe(3);
  });

  it('refuses malformed flaps precisely and changes nothing', async () => {
    const cases: [string, number, string][] = [
      ['{}', 400, 'downSec'],
      ['{"downSec": 0}', 400, 'downSec'],
      ['{"downSec": "long"}', 400, 'downSec'],
      ['{"downSec": 10, "count": 3}', 400, 'everySec'],
      ['{"downSec": 10, "everySec": 5, "count": 2}', 400, 'everySec'],
      ['{"downSec": 10, "count": 0.5}', 400, 'count'],
      ['{"downSec": 10, "when": "now"}', 400, 'when'],
      ['{"downSec": ', 400, 'not JSON'],
    ];
    for (const [body, status, mention] of cases) {
      const reply = await call('POST', `${uplinkPath}/flap`, body);
      expect(reply.status, body).toBe(status);
      expect((reply.json as { detail: string }).detail, body).toContain(mention);
    }
    expect(await uplink()).toMatchObject({ up: true, availability: 'up', outagesDuringContact: 0 });
    expect((await call('POST', '/links/7/8/flap', '{"downSec": 1}')).status).toBe(404);
  });
});

describe('link control API: bad requests', () => {
  const problem = (reply: Reply) => reply.json as { status: number; code: string; detail: string; title: string };

  it('answers unknown paths, unknown links and unknown actions with 404', async () => {
    expect(problem(await call('GET', '/nothing'))).toMatchObject({ status: 404, code: 'ORBITFED_LINK_CONTROL_NOT_FOUND' });
    expect(problem(await call('POST', '/links/7/8/cut'))).toMatchObject({ status: 404, code: 'ORBITFED_LINK_UNKNOWN', detail: expect.stringContaining('no link 7→8') });
    expect(problem(await call('POST', `${uplinkPath}/explode`))).toMatchObject({ status: 404, detail: expect.stringContaining("no action 'explode'") });
    expect(problem(await call('GET', '/links/one/two'))).toMatchObject({ status: 404, detail: expect.stringContaining('ipn node numbers') });
    const reply = await call('GET', '/links/7/8');
    expect(reply.headers['content-type']).toBe('application/problem+json');
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const reply = await call('GET', `${uplinkPath}/cut`);
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('POST');
    expect((await call('DELETE', '/state')).status).toBe(405);
  });

  it('refuses malformed delay bodies precisely and changes nothing', async () => {
    const before = await uplink();
    const cases: [string | Buffer, Record<string, string> | undefined, number, string][] = [
      ['{"extraDelayMs": ', undefined, 400, 'not JSON'],
      ['{"extraDelayMs": -5}', undefined, 400, 'extraDelayMs'],
      ['{"extraDelayMs": "soon"}', undefined, 400, 'extraDelayMs'],
      ['{"extraDelayMs": 10, "direction": "sideways"}', undefined, 400, 'direction'],
      ['{"extraDelayMs": 10, "jitter": 3}', undefined, 400, 'jitter'],
      ['{}', undefined, 400, 'extraDelayMs'],
      ['[]', undefined, 400, 'body'],
      ['extraDelayMs=10', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'application/json'],
      [Buffer.from([0x7b, 0xff, 0x7d]), undefined, 400, 'UTF-8'],
    ];
    for (const [body, headers, status, mention] of cases) {
      const reply = await call('POST', `${uplinkPath}/delay`, body, headers);
      expect(reply.status, String(body)).toBe(status);
      expect(problem(reply).detail, String(body)).toContain(mention);
    }
    expect(problem(await call('POST', `${uplinkPath}/cut`, '{"now": true}'))).toMatchObject({ status: 400, detail: 'cut takes no body' });
    expect(await uplink()).toMatchObject({ up: true, extraDelayMs: before.extraDelayMs, frozen: false });
  });

  it('refuses bodies over the limit with 413 and stays up', async () => {
    const reply = await call('POST', `${uplinkPath}/delay`, JSON.stringify({ extraDelayMs: 1, pad: 'x'.repeat(10_000) }));
    expect(reply.status).toBe(413);
    expect(problem(reply).code).toBe('ORBITFED_LINK_CONTROL_TOO_LARGE');
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});
