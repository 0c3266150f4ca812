// Real validator processes on loopback: a testnet written by `writeTestnet`, each validator started
// as `orbitfed validator --config vI.json` in its own process (the Node that runs the tests), with
// its standard error kept in a log file. Used by the process tests and the bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidatorClient, writeTestnet, type Testnet, type TestnetOptions } from '../../consensus/index.ts';

const ORBITFED = fileURLToPath(new URL('../../bin/orbitfed.ts', import.meta.url));

/** A base port with `count` free ports above it (probed by binding each). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.abs(Math.sin(process.pid * 7919 + attempt * 104_729)) * 30_000);
    const ok = await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export class ValidatorCluster {
  readonly dir: string;
  readonly testnet: Testnet;
  readonly clients: ValidatorClient[];
  readonly processes: (ChildProcess | null)[];

  private constructor(dir: string, testnet: Testnet) {
    this.dir = dir;
    this.testnet = testnet;
    this.clients = testnet.rpcUrls.map((url) => new ValidatorClient(url));
    this.processes = testnet.configPaths.map(() => null);
  }

  static async create(options: Partial<TestnetOptions> & { validators: number }): Promise<ValidatorCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'orbitfed-cluster-'));
    const basePort = await freePortRange(2 * options.validators);
    const testnet = writeTestnet({
      dir, basePort, chainId: 'orbitfed-cluster', genesisTimeMs: Date.now() - 1000, tenants: ['tenant-a'], nodes: ['sat-1'], ...options,
    });
    return new ValidatorCluster(dir, testnet);
  }

  start(i: number): ChildProcess {
    const log = openSync(join(this.dir, `v${i}.log`), 'a');
    // VALIDATOR_NODE_ARGS adds node flags to every validator (e.g. `--cpu-prof --cpu-prof-dir=DIR`), for looking closer.
    const nodeArgs = process.env.VALIDATOR_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
    const child = spawn(process.execPath, [...nodeArgs, ORBITFED, 'validator', '--config', this.testnet.configPaths[i]!], { stdio: ['ignore', 'ignore', log] });
    closeSync(log);
    this.processes[i] = child;
    return child;
  }

  /** Resolves when validator i answers its RPC. */
  async waitForRpc(i: number, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.clients[i]!.status();
        return;
      } catch (error) {
        if (Date.now() > end) throw new Error(`validator ${i} did not answer within ${timeoutMs} ms: ${(error as Error).message}`, { cause: error });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Resolves when validator i has committed `height`. */
  async waitForHeight(i: number, height: number, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.clients[i]!.status().catch(() => null);
      if (status !== null && (status.lastCommitted?.height ?? 0) >= height) return;
      if (Date.now() > end) throw new Error(`validator ${i} did not reach height ${height} within ${timeoutMs} ms (at ${status?.lastCommitted?.height ?? 'unreachable'})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops validator i: SIGTERM (graceful: snapshot) or SIGKILL (a crash); resolves with its exit code or signal. */
  async stop(i: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.processes[i];
    if (child === null || child === undefined) return { code: null, signal: null };
    this.processes[i] = null;
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
    child.kill(signal);
    return exited;
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((_, i) => this.stop(i, 'SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
