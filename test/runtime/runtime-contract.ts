// The contract every WorkloadRuntime keeps (STYLE rule 20: one suite per port, run against every
// implementation). The workloads use only POSIX sh and common utilities (echo, cat, env, sleep, yes,
// head, tail), which the host has and the busybox test image has too, so the same argv runs in both.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationMs, OrbitfedError } from '../../common/index.ts';
import type { WorkloadLimits, WorkloadLogChunk, WorkloadRuntime, WorkloadSpec } from '../../runtime/index.ts';

export interface ContractSubject {
  readonly name: string;
  /** A started runtime whose termination grace is short (about a second). */
  runtime(): WorkloadRuntime;
  /** The spec for `command` (with the image, for Docker). */
  spec(id: string, command: readonly string[], limits?: Partial<WorkloadLimits>, extra?: Partial<WorkloadSpec>): WorkloadSpec;
  /** Whether usage comes from exact counters (cgroups), so peaks and CPU ratios can be checked. */
  readonly usageExact: boolean;
  /** Whether the CPU quota is enforced here (cgroups or Docker). */
  readonly cpuLimited: boolean;
}

export const LIMITS: WorkloadLimits = { cpuCores: 1, memoryBytes: 64 * 1024 * 1024, timeoutMs: durationMs(20_000), outputBytesMax: 64 * 1024 };
const MIB = 1024 * 1024;

let unique = 0;
/** Workload ids unique within the run, so parallel test files never collide. */
export function workloadId(label: string): string {
  return `${label}-${process.pid}-${++unique}`;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OrbitfedError);
    return (error as OrbitfedError).code;
  }
  throw new Error('expected a rejection');
}

export function describeRuntimeContract(subject: ContractSubject): void {
  describe(`the WorkloadRuntime contract: ${subject.name}`, () => {
    const rt = (): WorkloadRuntime => subject.runtime();
    const spec = subject.spec;

    it('runs an argv without a shell and returns stdout and stderr apart', async () => {
      const result = await rt().run(spec(workloadId('echo'), ['echo', 'hello  $HOME', '*']));
      expect(result.outcome).toBe('succeeded');
      expect(result.exitCode).toBe(0);
      expect(result.stdout.bytes.toString()).toBe('hello  $HOME *\n');
      expect(result.stdout.truncated).toBe(false);
      expect(result.stderr.totalBytes).toBe(0);
      expect(result.endMs).toBeGreaterThanOrEqual(result.startMs);
      expect(result.wallMs).toBe(result.endMs - result.startMs);
      const both = await rt().run(spec(workloadId('streams'), ['sh', '-c', 'echo out; echo err >&2']));
      expect([both.stdout.bytes.toString(), both.stderr.bytes.toString()]).toEqual(['out\n', 'err\n']);
    });

    it('reports a non-zero exit as failed, with the code', async () => {
      const result = await rt().run(spec(workloadId('exit'), ['sh', '-c', 'exit 3']));
      expect(result.outcome).toBe('failed');
      expect(result.exitCode).toBe(3);
      expect(result.reason).toContain('code 3');
    });

    it('gives the workload exactly the environment in its spec', async () => {
      process.env.ORBITFED_CONTRACT_SECRET = 'must-not-leak';
      const result = await rt().run(spec(workloadId('env'), ['env'], {}, { env: { GREETING: 'hi there', EMPTY: '' } }));
      const lines = result.stdout.bytes.toString().split('\n');
      expect(lines).toContain('GREETING=hi there');
      expect(lines).toContain('EMPTY=');
      expect(result.stdout.bytes.toString()).not.toContain('must-not-leak');
    });

    describe('with a work directory', () => {
      let workDir: string;
      beforeAll(async () => {
        workDir = await mkdtemp(join(tmpdir(), 'orbitfed-contract-'));
        await writeFile(join(workDir, 'input.txt'), 'input bytes\n');
      });
      afterAll(async () => rm(workDir, { recursive: true, force: true }));

      it('runs in workDir, reads its input files and leaves its output files there', async () => {
        const result = await rt().run(spec(workloadId('files'), ['sh', '-c', 'cat input.txt; echo result > output.txt'], {}, { workDir }));
        expect(result.outcome).toBe('succeeded');
        expect(result.stdout.bytes.toString()).toBe('input bytes\n');
        expect(await readFile(join(workDir, 'output.txt'), 'utf8')).toBe('result\n');
      });

      it('refuses a workDir that is not a directory', async () => {
        expect(await codeOf(rt().run(spec(workloadId('nodir'), ['true'], {}, { workDir: join(workDir, 'input.txt') })))).toBe('ORBITFED_RUNTIME_WORKDIR');
        expect(await codeOf(rt().run(spec(workloadId('nodir'), ['true'], {}, { workDir: join(workDir, 'missing') })))).toBe('ORBITFED_RUNTIME_WORKDIR');
      });
    });

    it('stops a workload still running at its timeout', async () => {
      const result = await rt().run(spec(workloadId('timeout'), ['sleep', '60'], { timeoutMs: durationMs(300) }));
      expect(result.outcome).toBe('timed-out');
      expect(result.reason).toContain('300 ms');
      // Stopped, not left to finish its 60 s.
      expect(result.wallMs).toBeLessThan(30_000);
    });

    it('kills a workload that ignores SIGTERM once the grace has passed', async () => {
      const result = await rt().run(spec(workloadId('stubborn'), ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'], { timeoutMs: durationMs(300) }));
      expect(result.outcome).toBe('timed-out');
      expect(result.signal === 'SIGKILL' || result.exitCode === 137).toBe(true);
      expect(result.stdout.bytes.toString()).toBe('ready\n');
    });

    it('cancels a running workload when its AbortSignal fires, streaming its output until then', async () => {
      const controller = new AbortController();
      const chunks: WorkloadLogChunk[] = [];
      const id = workloadId('cancel');
      const running = rt().run(spec(id, ['sh', '-c', 'echo started; sleep 60'], {}, {
        onLog: (chunk) => {
          chunks.push(chunk);
          controller.abort(new Error('the tenant withdrew the job'));
        },
      }), controller.signal);
      const result = await running;
      expect(result.outcome).toBe('cancelled');
      expect(result.reason).toContain('the tenant withdrew the job');
      expect(chunks.map((c) => [c.workloadId, c.stream, c.bytes.toString()])).toEqual([[id, 'stdout', 'started\n']]);
      expect(result.wallMs).toBeLessThan(30_000);
    });

    it('refuses to start when the signal has already fired', async () => {
      const controller = new AbortController();
      controller.abort();
      expect(await codeOf(rt().run(spec(workloadId('aborted'), ['true']), controller.signal))).toBe('ORBITFED_RUNTIME_CANCELLED');
    });

    it('ends a workload that allocates past its memory limit as killed-memory', async () => {
      // tail keeps every byte of a stream without newlines: it grows until something stops it.
      const result = await rt().run(spec(workloadId('memory'), ['sh', '-c', 'cat /dev/zero | tail'], { memoryBytes: 32 * MIB }));
      expect(result.outcome).toBe('killed-memory');
      expect(result.reason).toContain(String(32 * MIB));
      if (subject.usageExact) {
        expect(result.usage.oomKills).toBeGreaterThan(0);
        expect(result.usage.memoryPeakBytes).toBeGreaterThan(16 * MIB);
        expect(result.usage.memoryPeakBytes).toBeLessThanOrEqual(32 * MIB + MIB);
      }
    });

    it('holds CPU time to the cpuCores limit, measured by the kernel', async (context) => {
      if (!subject.cpuLimited) {
        context.skip();
        return;
      }
      // Two busy loops could use two cores; half a core is allowed.
      const result = await rt().run(spec(workloadId('cpu'), ['sh', '-c', 'while :; do :; done & while :; do :; done'], { cpuCores: 0.5, timeoutMs: durationMs(1_500) }));
      expect(result.outcome).toBe('timed-out');
      const coresUsed = result.usage.cpuMs / result.wallMs;
      expect(coresUsed).toBeGreaterThan(0.05);
      expect(coresUsed).toBeLessThanOrEqual(0.5 + 0.15);
      if (subject.usageExact) expect(result.usage.cpuThrottledMs).not.toBeNull();
    });

    it('keeps outputBytesMax of each stream, counts the rest and says it truncated', async () => {
      const streamed: Buffer[] = [];
      const result = await rt().run(spec(workloadId('flood'), ['sh', '-c', 'yes | head -c 200000; echo tail >&2'], { outputBytesMax: 1000 }, { onLog: (c) => { if (c.stream === 'stdout') streamed.push(c.bytes); } }));
      expect(result.outcome).toBe('succeeded');
      expect(result.stdout.bytes.length).toBe(1000);
      expect(result.stdout.bytes.toString()).toBe('y\n'.repeat(500));
      expect(result.stdout.totalBytes).toBe(200_000);
      expect(result.stdout.truncated).toBe(true);
      expect(Buffer.concat(streamed).equals(result.stdout.bytes)).toBe(true);
      expect(result.stderr).toMatchObject({ totalBytes: 5, truncated: false });
    });

    it('refuses a command that does not exist before starting anything', async () => {
      expect(await codeOf(rt().run(spec(workloadId('missing'), ['no-such-program-orbitfed'])))).toBe('ORBITFED_RUNTIME_COMMAND_NOT_FOUND');
    });

    it('refuses malformed specs, naming the field', async () => {
      const good = spec(workloadId('bad'), ['true']);
      const cases: readonly [string, unknown][] = [
        ['command', { ...good, command: [] }],
        ['command[1]', { ...good, command: ['echo', 'a\0b'] }],
        ['id', { ...good, id: '../escape' }],
        ['limits.timeoutMs', { ...good, limits: { ...good.limits, timeoutMs: -1 } }],
        ['limits.memoryBytes', { ...good, limits: { ...good.limits, memoryBytes: 1024 } }],
        ['limits.cpuCores', { ...good, limits: { ...good.limits, cpuCores: Number.NaN } }],
        ['limits.outputBytesMax', { ...good, limits: { ...good.limits, outputBytesMax: 1.5 } }],
        ['env.A=B', { ...good, env: { 'A=B': 'x' } }],
        ['workDir', { ...good, workDir: 'relative/dir' }],
        ['limits', { ...good, limits: undefined }],
      ];
      for (const [field, bad] of cases) {
        const error = await rt().run(bad as WorkloadSpec).then(() => undefined, (e: unknown) => e);
        expect(error, field).toBeInstanceOf(OrbitfedError);
        expect((error as OrbitfedError).code, field).toBe('ORBITFED_RUNTIME_SPEC');
        expect((error as OrbitfedError).location.field, field).toBe(field);
      }
    });

    it('refuses a second workload with the id of a running one', async () => {
      const controller = new AbortController();
      const id = workloadId('twice');
      let started!: () => void;
      const isRunning = new Promise<void>((resolve) => { started = resolve; });
      const first = rt().run(spec(id, ['sh', '-c', 'echo up; sleep 60'], {}, { onLog: () => started() }), controller.signal);
      await isRunning;
      expect(await codeOf(rt().run(spec(id, ['true'])))).toBe('ORBITFED_RUNTIME_DUPLICATE_ID');
      controller.abort(new Error('done'));
      expect((await first).outcome).toBe('cancelled');
    });
  });
}
