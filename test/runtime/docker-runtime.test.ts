// The Docker runtime against a real engine: test/runtime/docker-setup.sh starts dockerd when it is
// not running and builds a busybox image offline. Skipped, loudly, only when no engine can run.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationMs, OrbitfedError, RealClock } from '../../common/index.ts';
import { createDockerRuntime, dockerOwnerOf, type DockerRuntime, type RuntimeCapabilities, type WorkloadSpec } from '../../runtime/index.ts';
import { parseCgroupMounts } from '../../runtime/cgroup.ts';
import { describeRuntimeContract, LIMITS, workloadId } from './runtime-contract.ts';

const run = promisify(execFile);
const clock = new RealClock();
const GRACE_MS = durationMs(1_000);
const SETUP = fileURLToPath(new URL('./docker-setup.sh', import.meta.url));
const OWNER = `test-${process.pid}`;

async function dockerSetup(): Promise<{ readonly tarball: string } | { readonly missing: string }> {
  try {
    const { stdout } = await run('bash', [SETUP], { timeout: 240_000 });
    const ready = /^ready (.+)$/m.exec(stdout);
    return ready === null ? { missing: stdout.trim() } : { tarball: ready[1]! };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { missing: (e.stdout?.trim() || e.stderr?.trim() || e.message).slice(0, 500) };
  }
}

const setup = await dockerSetup();
if ('missing' in setup) {
  console.warn(`\n${'!'.repeat(100)}\n!!! SKIPPING THE DOCKER RUNTIME TESTS: no Docker engine can run here.\n!!! ${setup.missing}\n!!! (.ci/run installs docker.io and busybox-static; test/runtime/docker-setup.sh starts dockerd)\n${'!'.repeat(100)}\n`);
}
const IMAGE = 'orbitfed-busybox:test';

function spec(id: string, command: readonly string[], limits = {}, extra: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return { id, image: IMAGE, command, limits: { ...LIMITS, ...limits }, ...extra };
}

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args)).stdout.trim();
}

describe('the Docker runtime without a daemon', () => {
  it('says which socket does not answer', async () => {
    const runtime = await createDockerRuntime({ clock, socketPath: '/nonexistent/docker.sock', connectTimeoutMs: durationMs(2_000) });
    const error = await runtime.start().catch((e: OrbitfedError) => e);
    expect(error).toMatchObject({ code: 'ORBITFED_RUNTIME_DOCKER_UNREACHABLE' });
    expect(String(error)).toContain('/nonexistent/docker.sock');
  });

  it('refuses an owner that cannot name containers', async () => {
    await expect(createDockerRuntime({ clock, owner: 'Has Spaces' })).rejects.toThrow(/owner/);
  });
});

describe.runIf('tarball' in setup)('the Docker runtime on a real engine', () => {
  let runtime: DockerRuntime;
  let capabilities: RuntimeCapabilities;
  beforeAll(async () => {
    runtime = await createDockerRuntime({ clock, owner: OWNER, terminationGraceMs: GRACE_MS });
    capabilities = await runtime.start();
  });
  afterAll(async () => runtime?.stop());

  it('enforces limits through Docker and says where usage comes from', () => {
    expect(capabilities.enforcement).toEqual({ cpu: 'docker', memory: 'docker' });
    expect(['cgroup-v1', 'cgroup-v2', 'docker-stats']).toContain(capabilities.usageSource);
  });

  describeRuntimeContract({
    name: 'Docker runtime',
    runtime: () => runtime,
    spec,
    // Read when the tests run, after start() chose how usage is measured.
    get usageExact() {
      return capabilities.usageSource !== 'docker-stats';
    },
    cpuLimited: true,
  });

  it('imports an image from a tarball without any registry, and runs it', async () => {
    const reference = `orbitfed-imported:${OWNER}`;
    const id = await runtime.importImage((setup as { tarball: string }).tarball, reference, ['ENV PATH=/bin', 'LABEL origin=test']);
    try {
      expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await runtime.hasImage(reference)).toBe(true);
      const result = await runtime.run({ ...spec(workloadId('imported'), ['sh', '-c', 'echo "$PATH"']), image: reference });
      expect(result.stdout.bytes.toString()).toBe('/bin\n');
    } finally {
      await docker('image', 'rm', '-f', reference);
    }
  });

  it('refuses to import a tarball that is missing or not a root file system', async () => {
    expect(await runtime.importImage('/nonexistent.tar', 'orbitfed-never:1').catch((e: OrbitfedError) => e.code)).toBe('ORBITFED_RUNTIME_IMAGE_IMPORT');
    expect(await runtime.importImage(SETUP, 'orbitfed-never:1').catch((e: OrbitfedError) => e.code)).toBe('ORBITFED_RUNTIME_IMAGE_IMPORT');
    expect(await runtime.hasImage('orbitfed-never:1')).toBe(false);
    expect(await runtime.importImage('/nonexistent.tar', 'Not A Reference').catch((e: OrbitfedError) => e.code)).toBe('ORBITFED_RUNTIME_SPEC');
  });

  it('fails to pull from a registry it cannot reach, with the reason and the way out', async () => {
    // A registry on loopback where nothing listens: no traffic leaves the machine.
    const error = await runtime.pullImage('127.0.0.1:9/orbitfed/absent:1').catch((e: OrbitfedError) => e);
    expect(error).toMatchObject({ code: 'ORBITFED_RUNTIME_IMAGE_PULL' });
    expect(String(error)).toMatch(/connection refused/);
    expect(String(error)).toContain('importImage');
  });

  it('refuses an image that is not on the host instead of pulling it', async () => {
    const error = await runtime.run({ ...spec(workloadId('noimage'), ['true']), image: 'orbitfed-not-here:1' }).catch((e: OrbitfedError) => e);
    expect(error).toMatchObject({ code: 'ORBITFED_RUNTIME_IMAGE_MISSING' });
  });

  it('gives the container no network but loopback', async () => {
    const result = await runtime.run(spec(workloadId('net'), ['cat', '/proc/net/dev']));
    const interfaces = result.stdout.bytes.toString().split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter((n) => n !== '');
    expect(interfaces).toEqual(['lo']);
  });

  it('sets the container\'s limits from the spec', async () => {
    // cgroup v1 and v2 name the files differently; one of each pair exists.
    const result = await runtime.run(spec(workloadId('limits'), ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null; true'], { memoryBytes: 48 * 1024 * 1024, cpuCores: 0.25 }));
    const values = result.stdout.bytes.toString().trim().split(/\s+/);
    expect(values).toContain(String(48 * 1024 * 1024));
    expect(values).toContain('25000');
  });

  it('removes the cgroup parent of a container in every hierarchy once the container is gone', async () => {
    const id = workloadId('cgroup');
    await runtime.run(spec(id, ['true']));
    const mounts = parseCgroupMounts(await readFile('/proc/self/mountinfo', 'utf8'));
    const left = mounts.map((m) => join(m.mountPoint, `orbitfed-docker-${OWNER}`, id)).filter((dir) => existsSync(dir));
    expect(left).toEqual([]);
  });

  it('removes every container it created, whatever the outcome', async () => {
    expect(await docker('ps', '-aq', '--filter', `label=orbitfed.owner=${OWNER}`)).toBe('');
  });

  it('at start, removes containers of its owner that a crashed run left', async () => {
    const owner = `${OWNER}-crashed`;
    await docker('create', '--label', `orbitfed.owner=${owner}`, '--network', 'none', IMAGE, 'sleep', '300');
    await docker('run', '-d', '--label', `orbitfed.owner=${owner}`, '--network', 'none', IMAGE, 'sleep', '300');
    const restarted = await createDockerRuntime({ clock, owner });
    expect((await restarted.start()).leftoversRemoved).toBe(2);
    expect(await docker('ps', '-aq', '--filter', `label=orbitfed.owner=${owner}`)).toBe('');
    await restarted.stop();
  });

  it('leaves other owners\' containers alone: starting a second agent\'s runtime does not kill the first one\'s workload', async () => {
    const first = await createDockerRuntime({ clock, owner: dockerOwnerOf(`sat-a-${process.pid}`), terminationGraceMs: GRACE_MS });
    const second = await createDockerRuntime({ clock, owner: dockerOwnerOf(`sat-b-${process.pid}`), terminationGraceMs: GRACE_MS });
    await first.start();
    const id = workloadId('owned');
    const running = first.run(spec(id, ['sh', '-c', 'sleep 2; echo still here']));
    const firstOwner = `label=orbitfed.owner=${dockerOwnerOf(`sat-a-${process.pid}`)}`;
    for (let i = 0; i < 100 && (await docker('ps', '-q', '--filter', firstOwner)) === ''; i++) await clock.sleep(durationMs(50));
    expect(await docker('ps', '-q', '--filter', firstOwner)).not.toBe('');
    // The second runtime's start removes what its own owner left: nothing of the first's.
    expect((await second.start()).leftoversRemoved).toBe(0);
    const other = await second.run(spec(workloadId('other'), ['echo', 'mine']));
    expect(other.outcome).toBe('succeeded');
    await second.stop();
    const result = await running;
    expect(result.outcome).toBe('succeeded');
    expect(result.stdout.bytes.toString()).toBe('still here\n');
    await first.stop();
  });

  it('can measure usage from Docker\'s stats stream instead (for daemons that do not use cgroupfs here)', async () => {
    const sampled = await createDockerRuntime({ clock, owner: `${OWNER}-stats`, usage: 'stats', terminationGraceMs: GRACE_MS });
    expect((await sampled.start()).usageSource).toBe('docker-stats');
    const result = await sampled.run(spec(workloadId('stats'), ['sh', '-c', 'while :; do :; done'], { cpuCores: 0.5, timeoutMs: durationMs(2_500) }));
    expect(result.outcome).toBe('timed-out');
    expect(result.usage.source).toBe('docker-stats');
    expect(result.usage.cpuMs).toBeGreaterThan(0);
    expect(result.usage.memoryPeakBytes).toBeGreaterThan(0);
    await sampled.stop();
  });
});
