// Runtimes on an agent's plan-time clock: the agents hand runtimes a ScaledClock that runs N×
// faster than the wall (the demo runs at 60×). A workload's own timeout, start and end follow that
// clock; the bounds of I/O (the engine's connect timeout, the grace between SIGTERM and SIGKILL)
// are wall time, or at 60× a 5 s connect timeout is 83 ms and agents die at start. Here at 600×.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { durationMs, ioClockFor, OrbitfedError, RealClock, ScaledClock, unixMs, VirtualClock } from '../../common/index.ts';
import { createDockerRuntime, ProcessRuntime, type WorkloadSpec } from '../../runtime/index.ts';
import { LIMITS, workloadId } from './runtime-contract.ts';

const SCALE = 600;
const wall = new RealClock();
const planClock = (): ScaledClock => ScaledClock.startingNow(Date.UTC(2026, 0, 1), SCALE);
const GRACE_MS = durationMs(1_500);

function spec(id: string, command: readonly string[], limits: Partial<WorkloadSpec['limits']> = {}, extra: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return { id, command, limits: { ...LIMITS, ...limits }, ...extra };
}

/** Runs `body` and says how long it took in wall time. */
async function wallMsOf<T>(body: () => Promise<T>): Promise<{ value: T; wallMs: number }> {
  const startMs = wall.now();
  const value = await body();
  return { value, wallMs: wall.now() - startMs };
}

describe('ioClockFor: the clock of I/O bounds', () => {
  it('is wall time for a scaled clock, and the clock itself for a real or virtual one', () => {
    expect(ioClockFor(planClock())).toBeInstanceOf(RealClock);
    expect(ioClockFor(new ScaledClock(planClock().timeBase, { timers: 'wall' }))).toBeInstanceOf(RealClock);
    const virtual = new VirtualClock(unixMs(0));
    expect(ioClockFor(virtual)).toBe(virtual);
    expect(ioClockFor(wall)).toBe(wall);
  });
});

describe(`the process runtime on a plan clock at ${SCALE}×`, () => {
  const runtime = new ProcessRuntime({ clock: planClock(), cgroups: 'off', terminationGraceMs: GRACE_MS });
  const started = runtime.start();
  afterAll(async () => runtime.stop());

  it('times a workload out on the job\'s clock: 60 s of plan time is 100 ms of wall time', async () => {
    await started;
    const { value: result, wallMs } = await wallMsOf(() => runtime.run(spec(workloadId('plan-timeout'), ['sleep', '20'], { timeoutMs: durationMs(60_000) })));
    expect(result.outcome).toBe('timed-out');
    expect(wallMs).toBeLessThan(10_000);
    // Start and end are plan time: at least the 60 s timeout passed on the job's clock.
    expect(result.wallMs).toBeGreaterThanOrEqual(60_000);
  });

  it('waits the SIGTERM → SIGKILL grace in wall time, not 1/600 of it', async () => {
    await started;
    // The workload ignores SIGTERM (its 300 s of plan time are 500 ms of wall time, time enough to set
    // the trap), so only the SIGKILL after the grace ends it.
    const { value: result, wallMs } = await wallMsOf(() => runtime.run(spec(workloadId('plan-grace'), ['sh', '-c', 'trap "" TERM; while :; do sleep 0.05; done'], { timeoutMs: durationMs(300_000) })));
    expect(result.outcome).toBe('timed-out');
    expect(result.signal).toBe('SIGKILL');
    expect(wallMs).toBeGreaterThanOrEqual(GRACE_MS - 50);
  });

  it('lets a short workload finish whose timeout is long in plan time', async () => {
    await started;
    const result = await runtime.run(spec(workloadId('plan-ok'), ['sh', '-c', 'sleep 0.2; echo done'], { timeoutMs: durationMs(3_600_000) }));
    expect(result.outcome).toBe('succeeded');
    expect(result.stdout.bytes.toString()).toBe('done\n');
    expect(result.wallMs).toBeGreaterThanOrEqual(0.2 * 1000 * SCALE * 0.9);
  });
});

describe(`the Docker runtime's connect timeout on a plan clock at ${SCALE}×`, () => {
  let dir: string;
  let server: Server;
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits its connect timeout in wall time for an engine that accepts and never answers', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orbitfed-mute-engine-'));
    const socketPath = join(dir, 'docker.sock');
    server = createServer((socket) => { sockets.push(socket); });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const runtime = await createDockerRuntime({ clock: planClock(), socketPath, connectTimeoutMs: durationMs(1_000) });
    const { value: error, wallMs } = await wallMsOf(() => runtime.start().then(() => undefined, (e: unknown) => e));
    expect(error).toBeInstanceOf(OrbitfedError);
    expect(error).toMatchObject({ code: 'ORBITFED_RUNTIME_DOCKER_UNREACHABLE' });
    expect(String(error)).toContain('no answer within 1000 ms');
    // On the plan clock it gave up after 1000 / 600 ≈ 2 ms of wall time.
    expect(wallMs).toBeGreaterThanOrEqual(950);
  });
});

// The real engine, when there is one (test/runtime/docker-setup.sh starts dockerd and imports the image).
const run = promisify(execFile);
const SETUP = fileURLToPath(new URL('./docker-setup.sh', import.meta.url));
const IMAGE = 'orbitfed-busybox:test';
const engine = await run('bash', [SETUP], { timeout: 240_000 }).then(({ stdout }) => /^ready /m.test(stdout) ? 'ready' : stdout.trim(), (error: Error) => error.message);
if (engine !== 'ready') {
  console.warn(`\n${'!'.repeat(100)}\n!!! SKIPPING THE DOCKER PLAN-CLOCK TESTS: no Docker engine can run here.\n!!! ${engine.slice(0, 500)}\n${'!'.repeat(100)}\n`);
}

describe.runIf(engine === 'ready')(`the Docker runtime on a real engine, on a plan clock at ${SCALE}×`, () => {
  it('starts with its default connect timeout, times a workload out on plan time, and kills it after the wall-time grace', async () => {
    const runtime = await createDockerRuntime({ clock: planClock(), owner: `test-plan-${process.pid}`, terminationGraceMs: GRACE_MS });
    await runtime.start();
    try {
      // As PID 1 the shell ignores SIGTERM: only the SIGKILL after the grace ends it.
      const { value: result, wallMs } = await wallMsOf(() => runtime.run({ ...spec(workloadId('docker-plan'), ['sh', '-c', 'while :; do sleep 0.05; done'], { timeoutMs: durationMs(60_000) }), image: IMAGE }));
      expect(result.outcome).toBe('timed-out');
      expect(result.wallMs).toBeGreaterThanOrEqual(60_000);
      expect(wallMs).toBeGreaterThanOrEqual(GRACE_MS - 50);
    } finally {
      await runtime.stop();
    }
  });
});
