// Loopback ports for a federation's processes. The system picks free ones (bind to port 0), all
// held open together so that no two are the same, then released for the processes to bind. Another
// program could take one in between; the process that loses the race fails its start with a
// message naming the address, and the federation reports it.
import { createServer, type AddressInfo, type Server } from 'node:net';
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

/** `count` distinct free loopback ports. */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  if (!Number.isInteger(count) || count < 0 || count > FEDERATION_PORTS_MAX) {
    throw new OrbitfedError('ORBITFED_FEDERATION_PORTS', `asked for ${count} ports; a federation uses 0 to ${FEDERATION_PORTS_MAX}`);
  }
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) servers.push(await listen(0));
    return servers.map((s) => (s.address() as AddressInfo).port);
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
 * starts from a port the system picks and checks the ones above it, a few times over.
 */
export async function freeLoopbackPortRange(count: number): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count > FEDERATION_PORTS_MAX) {
    throw new OrbitfedError('ORBITFED_FEDERATION_PORTS', `asked for ${count} ports in a row; a federation uses 1 to ${FEDERATION_PORTS_MAX}`);
  }
  for (let attempt = 0; attempt < 64; attempt += 1) {
    const [base] = await freeLoopbackPorts(1);
    if (base! + count - 1 > 65_535) continue;
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
