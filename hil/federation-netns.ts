// Network namespaces for a federation's orbital agents (Linux, root): each satellite's agent runs
// in a namespace of its own, joined to the host by one veth pair and nothing else, so the only
// addresses it can reach are the link emulator's relay addresses on the host side of its cable.
// Its traffic to the ground cannot bypass the emulator (127.0.0.1 inside the namespace is the
// namespace's own loopback), which is how a flight computer sits behind the emulator on a HIL rig
// (hil/README.md, "A real flight computer on the far side").
//
//   host: 10.N.K.1/30 on ofN-hK  ──veth──  ofN-nK: 10.N.K.2/30 in namespace orbitfed-N-K
//
// N (100–199) is drawn per federation and skipped when the host already has an address in 10.N/16;
// K numbers the namespaces (at most NAMESPACES_MAX). Only namespaces and veth pairs made here are
// touched: creation undoes itself on failure, and `deleteNamespacesNow` removes each cable and
// namespace. Nothing else on the host (routes, firewall, other interfaces) changes.
import { execFile, execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { OrbitfedError } from '../common/index.ts';

/** Namespaces one federation makes at most (one /30 each in a /16). */
export const NAMESPACES_MAX = 250;
const IP_COMMAND_TIMEOUT_MS = 10_000;
const run = promisify(execFile);

export interface NodeNamespace {
  /** `ip netns` name. */
  readonly name: string;
  readonly hostInterface: string;
  readonly nodeInterface: string;
  /** The host's end of the cable: the emulator's relay addresses for this node listen here. */
  readonly hostAddress: string;
  /** The node's own address inside the namespace. */
  readonly nodeAddress: string;
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function namespaceSupportProblem(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore', timeout: IP_COMMAND_TIMEOUT_MS });
  } catch (error) {
    return `the ip command (iproute2) does not work here: ${(error as Error).message.split('\n', 1)[0]}`;
  }
  return undefined;
}

/** Names and addresses for `count` namespaces, in a 10.N/16 the host does not use. Pure apart from reading the host's addresses. */
export function planNamespaces(count: number): NodeNamespace[] {
  if (!Number.isInteger(count) || count < 0 || count > NAMESPACES_MAX) {
    throw new OrbitfedError('ORBITFED_FEDERATION_NAMESPACES', `asked for ${count} namespaces; a federation makes 0 to ${NAMESPACES_MAX}`);
  }
  const used = new Set(Object.values(networkInterfaces()).flat().map((a) => a?.address ?? '').filter((a) => a.startsWith('10.')).map((a) => a.split('.')[1]));
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const n = 100 + randomInt(100);
    if (used.has(String(n))) continue;
    return Array.from({ length: count }, (_, k) => ({
      name: `orbitfed-${n}-${k}`, hostInterface: `of${n}-h${k}`, nodeInterface: `of${n}-n${k}`,
      hostAddress: `10.${n}.${k}.1`, nodeAddress: `10.${n}.${k}.2`,
    }));
  }
  throw new OrbitfedError('ORBITFED_FEDERATION_NAMESPACES', 'found no free 10.N.0.0/16 (N 100–199) for the namespaces\' cables');
}

async function ip(args: readonly string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: IP_COMMAND_TIMEOUT_MS });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new OrbitfedError('ORBITFED_FEDERATION_NAMESPACES', `ip ${args.join(' ')}: ${stderr || (error as Error).message}`, {}, { cause: error });
  }
}

/** Makes the namespaces and their cables; on failure removes the ones it made and throws. */
export async function createNamespaces(namespaces: readonly NodeNamespace[]): Promise<void> {
  const made: NodeNamespace[] = [];
  try {
    for (const ns of namespaces) {
      await ip(['netns', 'add', ns.name]);
      made.push(ns);
      await ip(['link', 'add', ns.hostInterface, 'type', 'veth', 'peer', 'name', ns.nodeInterface, 'netns', ns.name]);
      await ip(['addr', 'add', `${ns.hostAddress}/30`, 'dev', ns.hostInterface]);
      await ip(['link', 'set', ns.hostInterface, 'up']);
      await ip(['-n', ns.name, 'addr', 'add', `${ns.nodeAddress}/30`, 'dev', ns.nodeInterface]);
      await ip(['-n', ns.name, 'link', 'set', ns.nodeInterface, 'up']);
      await ip(['-n', ns.name, 'link', 'set', 'lo', 'up']);
    }
  } catch (error) {
    deleteNamespacesNow(made);
    throw error;
  }
}

/**
 * Removes the veth pairs and the namespaces; ones already gone are skipped. The cable is deleted
 * first and explicitly: the kernel frees a deleted namespace (and the veth in it) asynchronously.
 * Synchronous: it also runs in an exit handler.
 */
export function deleteNamespacesNow(namespaces: readonly NodeNamespace[]): void {
  for (const ns of namespaces) {
    for (const args of [['link', 'del', ns.hostInterface], ['netns', 'del', ns.name]]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore', timeout: IP_COMMAND_TIMEOUT_MS });
      } catch {
        // Already gone (or never made): nothing of ours is left to remove.
      }
    }
  }
}

/** The command prefix that runs a program inside the namespace (`ip netns exec` execs it: the pid is the program's). */
export function inNamespace(ns: NodeNamespace): readonly string[] {
  return ['ip', 'netns', 'exec', ns.name];
}
