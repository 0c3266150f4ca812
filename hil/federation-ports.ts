// Loopback ports for a federation's processes, all held open together so that no two are the same,
// then released for the processes to bind. They are drawn below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range, 32768–60999 by default): a port the system picks for
// "port 0" is one it also hands to outgoing connections, and the federation's own processes, dialling
// each other while the others start, could take one before its owner binds it (a demo died of
// EADDRINUSE that way). Two federations started at once on one machine (the test suite's workers, two
// demos) would still draw the same free port for different processes about as often as not — a
// federation with agents asks for ~140 of ~12,800 — so each drawn port is also claimed in a directory
// all orbitfed processes share (see claimLoopbackPort) and another process's live claim is skipped.
// A program outside orbitfed could still take a port in between; the process that loses the race
// fails its start with a message naming the address, and the federation reports it.
import { randomInt } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrbitfedError, RealClock } from '../common/index.ts';

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

/**
 * Where orbitfed processes on this machine claim the ports they drew (one file per port, holding the
 * claiming pid); ORBITFED_PORT_CLAIMS_DIR moves it (processes that use different directories do not
 * see each other's claims).
 */
export const PORT_CLAIMS_DIR = process.env.ORBITFED_PORT_CLAIMS_DIR ?? join(tmpdir(), 'orbitfed-port-claims');
/**
 * How long a claim holds: long enough for a federation's processes to start and bind (seconds, tens
 * of seconds on a loaded machine), short enough that claims of a long-lived process (a test worker
 * starting federation after federation) do not pile up over the range.
 */
export const PORT_CLAIM_TTL_MS = 120_000;
const CLAIM_CLOCK = new RealClock();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists and belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the claim file at `path` is held: made less than the TTL ago by a process that still runs. */
function claimHeld(path: string, nowMs: number): boolean {
  try {
    const pid = Number.parseInt(readFileSync(path, 'latin1'), 10);
    const ageMs = nowMs - statSync(path).mtimeMs;
    return ageMs < PORT_CLAIM_TTL_MS && Number.isInteger(pid) && pid > 0 && processAlive(pid);
  } catch {
    return false;
  }
}

/**
 * Claims `port` for this process among the orbitfed processes of this machine: false when another
 * one claimed it less than PORT_CLAIM_TTL_MS ago and still runs (it drew the port for one of its
 * processes, which may not have bound it yet), true otherwise — the claim is then this process's,
 * and ours too stay held for the TTL (two federations of one process are kept apart as well).
 * Claims are advisory: where the directory cannot be written (a read-only temporary folder, another
 * user's directory), every port counts as claimed by us and only the listen check guards.
 */
export function claimLoopbackPort(port: number, dir: string = PORT_CLAIMS_DIR): boolean {
  const path = join(dir, String(port));
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        try {
          mkdirSync(dir, { recursive: true });
          // Shared by the machine's users, as /tmp is: anyone may claim, only the owner removes.
          chmodSync(dir, 0o1777);
        } catch {
          // Another user's directory, or a read-only one: the write below fails and says so.
        }
        continue;
      }
      if (code !== 'EEXIST') return true;
      if (claimHeld(path, CLAIM_CLOCK.now())) return false;
      // Expired, or its process is gone: take it over (another process may win the new file).
      try {
        rmSync(path, { force: true });
      } catch {
        return true;
      }
    }
  }
  return false;
}

/** Listens on a random free port below the ephemeral range that no other orbitfed process claimed, trying a bounded number of them. */
async function listenBelowEphemeral(): Promise<Server> {
  const ceiling = ephemeralLow();
  for (let attempt = 0; attempt < 256; attempt += 1) {
    let server: Server;
    const port = randomInt(PORT_FLOOR, ceiling);
    try {
      server = await listen(port);
    } catch {
      continue; // Taken: draw another.
    }
    if (claimLoopbackPort(port)) return server;
    await new Promise((resolve) => server.close(resolve));
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
    if (claimLoopbackPort(preferred)) return preferred;
    return (await freeLoopbackPorts(1))[0]!;
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
      // The base is claimed already; the rest must be unclaimed too (claims left behind expire).
      let claimed = true;
      for (let i = 1; i < count && claimed; i += 1) claimed = claimLoopbackPort(base! + i);
      if (claimed) return base!;
    } catch {
      // One of them is taken: try another base.
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  }
  throw new OrbitfedError('ORBITFED_FEDERATION_PORTS', `found no ${count} free loopback ports in a row`);
}
