// One process of a federation (a validator, the scheduler, an agent, the link emulator): an
// `orbitfed` command run by the Node that runs us, in its own working directory, with its standard
// output and error appended to one log file. It knows whether an exit was asked for (stop, kill,
// restart) or not, and reports the unexpected ones with the end of the log, so that a federation
// never carries on silently without one of its parts.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrbitfedError, type Clock, type DurationMs } from '../common/index.ts';

/** The orbitfed executable every federation process runs. */
export const ORBITFED_BIN = fileURLToPath(new URL('../bin/orbitfed.ts', import.meta.url));
/** How much of a log's end an exit report quotes. */
export const LOG_TAIL_BYTES_MAX = 4096;
/** Default time between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS_DEFAULT = 10_000;

export type FederationRole = 'validator' | 'scheduler' | 'link-emulator' | 'orbital-agent' | 'ground-agent';

export interface FederationProcessSpec {
  /** Unique in the federation: names the log file (`<name>.log`) and the process in reports. */
  readonly name: string;
  readonly role: FederationRole;
  /** Arguments after the executable (the orbitfed command and its flags), computed at each start. */
  readonly args: () => readonly string[];
  readonly cwd: string;
  readonly logPath: string;
  /** Resolves once the process serves (an RPC, /healthz); rejects with why not. */
  readonly health: (signal: AbortSignal) => Promise<void>;
  /** A command that runs Node (and so orbitfed) on its behalf, such as `ip netns exec NAME`; it must exec, keeping the pid. */
  readonly prefix?: readonly string[] | undefined;
}

export interface ProcessExit {
  readonly name: string;
  readonly role: FederationRole;
  readonly pid: number | undefined;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the federation asked for it (stop, kill, restart). */
  readonly expected: boolean;
  /** The last lines of the process's log. */
  readonly logTail: string;
}

export type ProcessState = 'not-started' | 'running' | 'stopping' | 'exited';

export class FederationProcess {
  readonly spec: FederationProcessSpec;
  readonly #clock: Clock;
  readonly #onExit: (exit: ProcessExit) => void;
  #child: ChildProcess | undefined;
  #exited: Promise<ProcessExit> | undefined;
  #expectExit = false;
  #state: ProcessState = 'not-started';
  #starts = 0;

  constructor(spec: FederationProcessSpec, clock: Clock, onExit: (exit: ProcessExit) => void) {
    this.spec = spec;
    this.#clock = clock;
    this.#onExit = onExit;
  }

  get name(): string {
    return this.spec.name;
  }

  get state(): ProcessState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How many times the process was started (restarts included). */
  get starts(): number {
    return this.#starts;
  }

  /** Spawns the process; its output goes to the end of its log file. */
  start(): void {
    if (this.#state === 'running' || this.#state === 'stopping') {
      throw new OrbitfedError('ORBITFED_FEDERATION_PROCESS_STATE', `${this.name} is already running (pid ${this.pid})`);
    }
    mkdirSync(dirname(this.spec.logPath), { recursive: true });
    mkdirSync(this.spec.cwd, { recursive: true });
    const log = openSync(this.spec.logPath, 'a');
    let child: ChildProcess;
    try {
      const [command, ...args] = [...(this.spec.prefix ?? []), process.execPath, ORBITFED_BIN, ...this.spec.args()];
      child = spawn(command!, args, { cwd: this.spec.cwd, stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.#child = child;
    this.#expectExit = false;
    this.#state = 'running';
    this.#starts += 1;
    this.#exited = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.#state = 'exited';
        const exit: ProcessExit = { name: this.name, role: this.spec.role, pid: child.pid, code, signal, expected: this.#expectExit, logTail: this.logTail() };
        resolve(exit);
        this.#onExit(exit);
      };
      // A spawn failure ('error' without 'exit') is an exit too: the executable could not run.
      child.once('error', () => {
        if (child.exitCode === null && child.signalCode === null && child.pid === undefined) finish(null, null);
      });
      child.once('exit', finish);
    });
  }

  /** Resolves when the process has served (its health check passed), or rejects: it exited first, or `timeoutMs` passed. */
  async waitHealthy(timeoutMs: DurationMs, signal?: AbortSignal): Promise<void> {
    const exited = this.#exited;
    if (exited === undefined) throw new OrbitfedError('ORBITFED_FEDERATION_PROCESS_STATE', `${this.name} was not started`);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = this.#clock.setTimer(timeoutMs, () => controller.abort(new OrbitfedError('ORBITFED_FEDERATION_START_TIMEOUT', `${this.name} did not become healthy within ${timeoutMs} ms; see ${this.spec.logPath}`)));
    try {
      await Promise.race([
        this.#pollHealth(controller.signal),
        exited.then((exit) => {
          throw new OrbitfedError('ORBITFED_FEDERATION_PROCESS_EXITED', `${this.name} exited while starting (${describeExit(exit)}); the end of ${this.spec.logPath}:\n${exit.logTail}`);
        }),
      ]);
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  async #pollHealth(signal: AbortSignal): Promise<void> {
    let lastError: unknown;
    for (;;) {
      if (signal.aborted) {
        const reason = signal.reason as Error;
        throw reason instanceof OrbitfedError && lastError !== undefined
          ? new OrbitfedError(reason.code, `${reason.message} (last check: ${(lastError as Error).message})`)
          : reason;
      }
      try {
        await this.spec.health(signal);
        return;
      } catch (error) {
        lastError = error;
      }
      await this.#clock.sleep(100 as DurationMs, signal).catch(() => undefined);
    }
  }

  /** Sends `signal` and resolves when the process has exited; the exit is an expected one. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit | undefined> {
    const child = this.#child;
    if (child === undefined || this.#state === 'exited' || this.#state === 'not-started') return undefined;
    this.#expectExit = true;
    this.#state = 'stopping';
    child.kill(signal);
    return this.#exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs` if it is still running. */
  async stop(graceMs: DurationMs = STOP_GRACE_MS_DEFAULT as DurationMs): Promise<ProcessExit | undefined> {
    const child = this.#child;
    if (child === undefined || this.#state === 'exited' || this.#state === 'not-started') return undefined;
    const exited = this.kill('SIGTERM');
    const timer = this.#clock.setTimer(graceMs, () => {
      if (this.#state !== 'exited') child.kill('SIGKILL');
    });
    try {
      return await exited;
    } finally {
      timer.cancel();
    }
  }

  /** Kills at once without waiting (for a process that is itself exiting). */
  killNow(): void {
    if (this.#child !== undefined && this.#state !== 'exited') {
      this.#expectExit = true;
      this.#child.kill('SIGKILL');
    }
  }

  /** The last `LOG_TAIL_BYTES_MAX` bytes of the log, from the first whole line. */
  logTail(): string {
    try {
      const fd = openSync(this.spec.logPath, 'r');
      try {
        const size = fstatSync(fd).size;
        const length = Math.min(size, LOG_TAIL_BYTES_MAX);
        const buffer = Buffer.alloc(length);
        readSync(fd, buffer, 0, length, size - length);
        const text = buffer.toString('utf8');
        return (length < size ? text.slice(text.indexOf('\n') + 1) : text).trimEnd();
      } finally {
        closeSync(fd);
      }
    } catch {
      return '';
    }
  }
}

export function describeExit(exit: Pick<ProcessExit, 'code' | 'signal'>): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : exit.code === null ? 'could not be started' : `exit status ${exit.code}`;
}
