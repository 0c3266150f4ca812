// The orbital agent's launcher, shared by `orbitfed orbital-agent` (bin/orbitfed.ts) and the flight
// build's entry (bin/orbital-agent-flight.ts): the Node settings that keep the agent small, which can
// only be chosen before Node starts, so the process replaces itself with one that has them.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Node keeps the compiled code of our modules on disk (in the OS temp folder), so that every later
// start of a long-running process (a validator restarting, an agent after a crash) loads faster.
export const COMPILE_CACHE_DIR = join(tmpdir(), 'node-compile-cache');

/**
 * The orbital agent runs on a flight computer, where resident memory is the budget (orbital/README.md,
 * "Memory and start-up", has what each of these measured). These can only be chosen before Node
 * starts, so the process replaces itself (execve: the same pid, the same standard streams) with one
 * that has them:
 * - NODE_COMPILE_CACHE set from the first module on: with the cache warm, Node never loads its
 *   TypeScript stripper (a WebAssembly module of ~17 MB resident), which enableCompileCache() below
 *   cannot avoid because this very file is stripped before it runs;
 * - a young generation of 2 × 1 MiB instead of V8's 2 × 16 MiB (`--max-semi-space-size`): the agent's
 *   allocations are small and short-lived, and its idle heap then stays near what it uses;
 * - no optimising compilers (`--no-opt`: TurboFan, `--no-maglev`): an agent at rest runs little code,
 *   and what the compilers are made of is ~7 MB of the node binary's pages that the process otherwise
 *   touches and keeps; the interpreter and Sparkplug run everything, for more CPU per bundle;
 * - V8's choices that favour size over speed (`--optimize-for-size`, as Chrome on small devices):
 *   ~1.6 MB less at rest, and no slower on the agent's work in our measurements;
 * - one V8 platform worker (`--v8-pool-size=1`) instead of one per core: its concurrent GC and
 *   compile threads have little to do without the optimising compilers;
 * - one glibc malloc arena (MALLOC_ARENA_MAX=1): every thread that allocates otherwise gets its own;
 * - glibc's mmap and trim thresholds fixed at their defaults of 128 KiB, and no padding on top of
 *   the heap (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_): left alone, glibc
 *   raises the mmap threshold each time a large block is freed, so that start-up's large buffers
 *   (compile cache files, code being compiled) end up in the heap and stay resident after they are
 *   freed; ~1.3 MB less at rest;
 * - cbor-x without its native addon (CBOR_NATIVE_ACCELERATION_DISABLED): no native addons on the node
 *   (ARCHITECTURE.md), and dtn/ decodes CBOR itself, so the addon would only be loaded and mapped.
 * Flags given to node by the caller are kept and come later, so they win (`--opt --maglev` turn the
 * compilers back on); variables the caller set are kept. ORBITFED_AGENT_NODE_FLAGS=off turns this off (run in the
 * calling process as it is). Not chosen (measured): `--jitless` / `--lite-mode` (no WebAssembly, so
 * no TypeScript stripper: a cold compile cache could not start), `--max-old-space-size` (no resident
 * gain; with 16 MB starts died), `--single-threaded`, UV_THREADPOOL_SIZE (no gain).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--no-opt', '--no-maglev', '--optimize-for-size', '--v8-pool-size=1'];
export const AGENT_ENV_DEFAULTS: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_TOP_PAD_: '0', CBOR_NATIVE_ACCELERATION_DISABLED: 'true',
};
const RELAUNCHED_ENV = 'ORBITFED_AGENT_RELAUNCHED';

/**
 * Replaces this process (execve) with `node <agent flags> <caller's node flags> entryPath ...args`,
 * unless it already is that process or ORBITFED_AGENT_NODE_FLAGS=off; returns only when it did not.
 */
export function relaunchWithAgentSettings(entryPath: string, args: readonly string[]): void {
  if (process.env[RELAUNCHED_ENV] !== undefined || process.env.ORBITFED_AGENT_NODE_FLAGS === 'off' || typeof process.execve !== 'function') return;
  try {
    process.execve(process.execPath, [process.execPath, ...AGENT_NODE_FLAGS, ...process.execArgv, entryPath, ...args], {
      ...AGENT_ENV_DEFAULTS, ...process.env, [RELAUNCHED_ENV]: '1', NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? COMPILE_CACHE_DIR,
    });
  } catch (error) {
    // execve returns only when it failed: the agent runs here, as it is, rather than not at all.
    process.stderr.write(`orbitfed: running without the agent's Node settings (relaunch failed: ${(error as Error).message})\n`);
  }
}
