// `orbitfed ground-agent --config FILE` as a real process, with real convergence layers on
// loopback and a short contact plan on wall time: the scheduler's node (libp2p, in this test
// process) hands it a bundle for a satellite (TCPCLv4, in this test process), which it holds until
// the satellite's pass opens and forwards during it; a bundle the satellite sends before the pass
// reaches the scheduler only once the pass opens. Its embedded MQTT broker carries its status,
// /metrics and /healthz answer, and SIGTERM stops it cleanly (exit 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../common/index.ts';
import { ContactPlan, formatContactPlanJson, satelliteIpn, type Contact } from '../../contact-plans/index.ts';
import { ed25519KeyPairFromSeed } from '../../consensus/index.ts';
import { BundleAgent, createLibp2pNode, Libp2pConvergenceLayer, libp2pPeerIdOf, TcpclV4ConvergenceLayer } from '../../dtn/index.ts';
import { stationTopics, type StatusPayload } from '../../ground/index.ts';
import { withOverlayContacts } from '../../scheduler/index.ts';
import { freePort, Recorder } from './brokers.ts';

const ORBITFED = fileURLToPath(new URL('../../bin/orbitfed.ts', import.meta.url));
const STATIONS = fileURLToPath(new URL('../../samples/stations.yaml', import.meta.url));
const clock = new RealClock();
const STATION = 1;
const SCHEDULER = 900;
const SATELLITE = satelliteIpn('25544');
const APP = 9;
const STATION_SEED = new Uint8Array(32).fill(41);
const SCHEDULER_SEED = new Uint8Array(32).fill(42);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
/** The pass opens this long after the plan's epoch (the agent's start takes a few seconds), and lasts PASS_SEC. */
const AOS_SEC = 15;
const PASS_SEC = 8;

const dir = mkdtempSync(join(tmpdir(), 'orbitfed-ground-process-'));
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('orbitfed ground-agent, a real process', () => {
  it('bridges the libp2p overlay and a TCPCLv4 satellite link only during the pass, serves MQTT status and metrics, and stops on SIGTERM', async () => {
    const [schedulerPort, stationP2pPort, stationTcpclPort, satellitePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const epochMs = Date.now();
    const pass = (from: number, to: number): Contact => ({ from, to, startSec: AOS_SEC, endSec: AOS_SEC + PASS_SEC, rateBytesPerSec: 100_000, owltSec: 0.01, confidence: 1 });
    const base = new ContactPlan({
      epochMs, nodes: [{ ipn: STATION, id: 'SVALBARD', kind: 'ground' }, { ipn: SATELLITE, id: '25544', kind: 'satellite' }],
      contacts: [pass(STATION, SATELLITE), pass(SATELLITE, STATION)],
    });
    writeFileSync(join(dir, 'plan.json'), formatContactPlanJson(base));
    writeFileSync(join(dir, 'station.key'), `${hex(STATION_SEED)}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'ground.yaml'), `station:
  stationsFile: ${STATIONS}
  id: SVALBARD
plan:
  path: plan.json
identity:
  keyFile: station.key
chainId: orbitfed-test
dataDir: data
terrestrial:
  listen: [/ip4/127.0.0.1/tcp/${stationP2pPort}]
  peers:
    - { name: scheduler, node: ${SCHEDULER}, address: /ip4/127.0.0.1/tcp/${schedulerPort}, publicKeyHex: ${hex(ed25519KeyPairFromSeed(SCHEDULER_SEED).publicKey)} }
space:
  tcpclv4: { listen: "127.0.0.1:${stationTcpclPort}", keepaliveSec: 5 }
  satellites:
    - { node: ${SATELLITE}, address: "tcpclv4:127.0.0.1:${satellitePort}" }
mqtt:
  embedded: true
  port: 0
metrics:
  port: 0
log:
  level: warn
`);

    // Everyone routes on the same contacts: the pass and the station's overlay link to the scheduler.
    const plan = withOverlayContacts(base, STATION, [{ node: SCHEDULER, rateBytesPerSec: 12_500_000 }]);
    const received: { node: number; atMs: number; text: string }[] = [];
    const schedulerNode = await createLibp2pNode({ identitySeed: SCHEDULER_SEED, allowedPublicKeys: [ed25519KeyPairFromSeed(STATION_SEED).publicKey], listenAddresses: [`/ip4/127.0.0.1/tcp/${schedulerPort}`] });
    const stationPeerId = libp2pPeerIdOf(ed25519KeyPairFromSeed(STATION_SEED).publicKey);
    const scheduler = new BundleAgent({
      nodeNumber: SCHEDULER, storePath: join(dir, 'scheduler.db'), store: { capacityBytes: 16 << 20, capacityBundles: 1000 }, plan,
      peers: new Map([[STATION, { cl: 'libp2p', address: `/ip4/127.0.0.1/tcp/${stationP2pPort}/p2p/${stationPeerId}` }]]),
      convergenceLayers: [new Libp2pConvergenceLayer({ node: schedulerNode, clock })], clock,
    });
    const satellite = new BundleAgent({
      nodeNumber: SATELLITE, storePath: join(dir, 'satellite.db'), store: { capacityBytes: 16 << 20, capacityBundles: 1000 }, plan,
      peers: new Map([[STATION, { cl: 'tcpclv4', address: `127.0.0.1:${stationTcpclPort}` }]]),
      convergenceLayers: [new TcpclV4ConvergenceLayer({ nodeId: `ipn:${SATELLITE}.0`, clock, listen: { host: '127.0.0.1', port: satellitePort } })], clock,
    });
    for (const agent of [scheduler, satellite]) {
      await agent.start();
      cleanups.push(() => agent.stop());
      const node = Number(agent.nodeId.nodeNumber);
      agent.register(APP, (d) => void received.push({ node, atMs: Date.now(), text: new TextDecoder().decode(d.payload) }));
    }

    const child: ChildProcess = spawn(process.execPath, [ORBITFED, 'ground-agent', '--config', join(dir, 'ground.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 256 * 1024) stderr += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await until('the agent running', () => /running as ipn:1\.0/.test(stderr) || child.exitCode !== null, 30_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${stderr}`);
    });
    expect(child.exitCode, stderr).toBeNull();
    const mqttUrl = /mqtt (mqtt:\/\/\S+);/.exec(stderr)![1]!;
    const metricsUrl = /metrics (http:\/\/\S+)/.exec(stderr)![1]!;
    const topics = stationTopics('SVALBARD');
    const recorder = await Recorder.open(mqttUrl, [topics.status]);
    cleanups.push(() => recorder.close().catch(() => undefined));
    await recorder.until('online', () => recorder.json<StatusPayload>(topics.status).some((s) => s.state === 'online'));

    // Both bundles leave before the pass.
    expect(Date.now()).toBeLessThan(epochMs + AOS_SEC * 1000 - 2_000);
    scheduler.send({ destination: `ipn:${SATELLITE}.${APP}`, payload: new TextEncoder().encode('uplink'), lifetimeMs: 600_000 });
    satellite.send({ destination: `ipn:${SCHEDULER}.${APP}`, payload: new TextEncoder().encode('downlink'), lifetimeMs: 600_000 });
    // The station holds the uplink bundle until AOS (its metrics refresh every 5 s).
    let metricsText = '';
    for (let i = 0; i < 100 && !/orbitfed_ground_bundle_stored_bundles 1\b/.test(metricsText); i++) {
      metricsText = await (await fetch(`${metricsUrl}/metrics`)).text();
      await sleep(100);
    }
    expect(metricsText).toMatch(/orbitfed_ground_bundle_stored_bundles 1\b/);
    expect(received).toEqual([]);
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(200);

    await until('both bundles delivered during the pass', () => received.length === 2, (AOS_SEC + PASS_SEC) * 1000 + 5_000);
    for (const r of received) {
      expect(r.atMs).toBeGreaterThanOrEqual(epochMs + AOS_SEC * 1000);
      expect(r.atMs).toBeLessThanOrEqual(epochMs + (AOS_SEC + PASS_SEC) * 1000 + 1_000);
    }
    expect(received.map((r) => [r.node, r.text]).sort()).toEqual([[SATELLITE, 'uplink'], [SCHEDULER, 'downlink']].sort());

    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toContain('orbitfed ground-agent: stopped');
  }, 90_000);
});
