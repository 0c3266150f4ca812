// Loopback ports for a federation's processes, all held open together so that no two are the same,
// then released for the processes to bind. They are drawn below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range, 32768–60999 by default): a port the system picks for
// "port 0" is one it also hands to outgoing connections, and the federation's own processes, dialling
// each other while the others start, could take one before its owner binds it (a demo died of
// EADDRINUSE that way). Another program could still take one in between; the process that loses the
// race fails its start with a message naming the address, and the federation reports it.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { OrbitfedError } from '../common/index.ts';

export const LOOPBACK_HOST = '127.0.0.1';
/** Ports one federation asks for at most. */
export const FEDERATION_PORTS_MAX = 4096;

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: LOOPBACK_HOST, port, exclusive: true }, () => resolve(server));
  });
}

/** Where ports are drawn from: [PORT_FLOOR, the first ephemeral port). */
const PORT_FLOOR = 20_000;

/** The first port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0] ?? '', 10);
    return Number.isInteger(low) && low > PORT_FLOOR + FEDERATION_PORTS_MAX ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Listens on a random free port below the ephemeral range, trying a bounded number of them. */
async function listenBelowEphemeral(): Promise<Server> {
  const ceiling = ephemeralLow();
  for (let attempt = 0; attempt < 256; attempt += 1) {
    try {
      return await listen(randomInt(PORT_FLOOR, ceiling));
    } catch {
      // Taken: draw another.
    }
  }
  throw new OrbitfedError('ORBITFED_FEDERATION_PORTS', `found no free loopback port from ${PORT_FLOOR} to ${ceiling - 1} in 256 tries`);
}

const portOf = (server: Server): number => (server.address() as { port: number }).port;

/** `count` distinct free loopback ports. */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  if (!Number.isInteger(count) || count < 0 || count > FEDERATION_PORTS_MAX) {
    throw new OrbitfedError('ORBITFED_FEDERATION_PORTS', `asked for ${count} ports; a federation uses 0 to ${FEDERATION_PORTS_MAX}`);
  }
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) servers.push(await listenBelowEphemeral());
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** `preferred` when it is free on loopback (e.g. 8080 for the API people type), otherwise (or when 0) a free port. */
export async function preferredOrFreePort(preferred: number): Promise<number> {
  if (preferred === 0) return (await freeLoopbackPorts(1))[0]!;
  try {
    const server = await listen(preferred);
    await new Promise((resolve) => server.close(resolve));
    return preferred;
  } catch {
    const [port] = await freeLoopbackPorts(1);
    return port!;
  }
}

/**
 * `count` consecutive free loopback ports (the validators' testnet layout needs them in a row):
 * starts from a free port below the ephemeral range and checks the ones above it, a few times over.
 */
export async function freeLoopbackPortRange(count: number): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > FEDERATION_PORTS_MAX) {
    throw new OrbitfedError('ORBITFED_FEDERATION_PORTS', `asked for ${count} ports in a row; a federation uses 1 to ${FEDERATION_PORTS_MAX}`);
  }
  for (let attempt = 0; attempt < 64; attempt += 1) {
    const [base] = await freeLoopbackPorts(1);
    if (base! + count - 1 >= ephemeralLow()) continue;
    const servers: Server[] = [];
    try {
      for (let i = 0; i < count; i += 1) servers.push(await listen(base! + i));
      return base!;
    } catch {
      // One of them is taken: try another base.
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  }
  throw new OrbitfedError('ORBITFED_FEDERATION_PORTS', `found no ${count} free loopback ports in a row`);
}
