// One bundle agent in a process of its own, for bundle-agent-processes.test.ts: a real BundleAgent
// on its own store, the libp2p convergence layer on 127.0.0.1, the wall clock, and a two-node
// contact plan whose contacts (both directions) are the given windows. Its application sends
// `count` bundles to the peer's service 1, one every `sendEveryMs`, and listens on service 1.
// Usage: node agent-process.ts '<JSON of AgentProcessConfig>'
// Without `epochMs` in the configuration it loads, then waits for a line `GO <epochMs>` on stdin
// (so that the test can fix the plan's second 0 once both processes have loaded).
// It reports on stdout, one line per event, each written synchronously (after kill -9 a line is
// whole or absent):
//   READY                      loaded, waiting for the epoch (only without `epochMs`)
//   STARTED                    the agent runs
//   SENT <index> <key> <ms>    send() returned: the bundle is durably stored here
//   TX <key> <ms>              the agent handed the bundle to the convergence layer
//   RECV <key> <index> <ms>    the application's handler got the bundle (inside the delivery transaction)
//   COMMIT                     every delivery reported before is recorded on disk
//   DONE                       stopped on SIGTERM
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { writeSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { createInterface } from 'node:readline';
import { RealClock, type DurationMs } from '../../common/index.ts';
import { ContactPlan, type Contact } from '../../contact-plans/index.ts';
import { BundleAgent } from '../../dtn/bundle-agent.ts';
import { Libp2pConvergenceLayer } from '../../dtn/libp2p-cl.ts';
import { createLibp2pNode, libp2pPeerIdOf } from '../../dtn/libp2p-node.ts';

export interface AgentProcessConfig {
  readonly node: number;
  readonly peer: number;
  readonly storePath: string;
  readonly port: number;
  readonly peerPort: number;
  /** Unix ms of the plan's second 0; read from stdin (`GO <ms>`) when absent. */
  readonly epochMs?: number;
  /** [start, end) of each contact, plan seconds. */
  readonly windows: readonly (readonly [number, number])[];
  readonly rateBytesPerSec: number;
  /** Indices of the bundles this run sends: firstIndex … firstIndex + count − 1. */
  readonly firstIndex: number;
  readonly count: number;
  readonly sendEveryMs: number;
  readonly payloadBytes: number;
}

/** Node n's identity: 32 bytes of n. */
const seedOf = (node: number): Uint8Array => new Uint8Array(32).fill(node);

/** The raw ed25519 public key of a seed, through node:crypto (RFC 8410 PKCS#8 wrapping of the seed). */
function publicKeyOf(seed: Uint8Array): Uint8Array {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const jwk = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

const say = (line: string): void => {
  writeSync(1, `${line}\n`);
};

/** The epoch from the configuration, or from the first `GO <ms>` line on stdin. */
async function epochOf(config: AgentProcessConfig): Promise<number> {
  if (config.epochMs !== undefined) return config.epochMs;
  say('READY');
  for await (const line of createInterface({ input: process.stdin })) {
    const match = /^GO (\d+)$/.exec(line);
    if (match !== null) return Number(match[1]);
  }
  throw new Error('stdin ended before GO <epochMs>');
}

const config = JSON.parse(process.argv[2]!) as AgentProcessConfig;
const clock = new RealClock();
const peerPublicKey = publicKeyOf(seedOf(config.peer));
const libp2p = await createLibp2pNode({ identitySeed: seedOf(config.node), allowedPublicKeys: [peerPublicKey], listenAddresses: [`/ip4/127.0.0.1/tcp/${config.port}`], dialTimeoutMs: 1_000 });
flushCompileCache();
const epochMs = await epochOf(config);
const contacts: Contact[] = config.windows.flatMap(([startSec, endSec]) => [
  { from: config.node, to: config.peer, startSec, endSec, rateBytesPerSec: config.rateBytesPerSec, owltSec: 0.001, confidence: 1 },
  { from: config.peer, to: config.node, startSec, endSec, rateBytesPerSec: config.rateBytesPerSec, owltSec: 0.001, confidence: 1 },
]);
const plan = new ContactPlan({ epochMs, nodes: [], contacts });
const cl = new Libp2pConvergenceLayer({ node: libp2p, clock, responseTimeoutMs: 2_000 });
const agent = new BundleAgent({
  nodeNumber: config.node,
  storePath: config.storePath,
  store: { capacityBytes: 64 * 1024 * 1024, capacityBundles: 10_000 },
  plan,
  peers: new Map([[config.peer, { cl: 'libp2p', address: `/ip4/127.0.0.1/tcp/${config.peerPort}/p2p/${libp2pPeerIdOf(peerPublicKey)}` }]]),
  convergenceLayers: [cl],
  clock,
  limits: { sendRetryDelayMs: 200, sendRetryDelayMaxMs: 1_000, contactFailuresMax: 3, routeRetryDelayMs: 500 },
  log: (event, fields) => {
    if (event === 'agent.sending') say(`TX ${String(fields.key)} ${String(fields.atMs)}`);
    else if (event === 'agent.delivery-committed') say('COMMIT');
    else if (event === 'agent.error') process.stderr.write(`${event} ${JSON.stringify(fields)}\n`);
  },
});
await agent.start();
agent.register(1, (delivery) => {
  const index = new DataView(delivery.payload.buffer, delivery.payload.byteOffset).getUint32(0);
  say(`RECV ${delivery.key} ${index} ${clock.now()}`);
});
say('STARTED');

for (let i = 0; i < config.count; i++) {
  clock.setTimer((i * config.sendEveryMs) as DurationMs, () => {
    const index = config.firstIndex + i;
    const payload = new Uint8Array(config.payloadBytes);
    new DataView(payload.buffer).setUint32(0, index);
    const receipt = agent.send({ destination: `ipn:${config.peer}.1`, payload, lifetimeMs: 3_600_000 });
    say(`SENT ${index} ${receipt.key} ${clock.now()}`);
  });
}

process.on('SIGTERM', () => {
  void agent.stop().then(() => {
    say('DONE');
    process.exit(0);
  });
});
