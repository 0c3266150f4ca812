// The process runtime: the contract with cgroups (where this host has them) and with the
// fallback, then what only a process runtime does (process groups, cgroup cleanup, leftovers).
import { spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationMs, OrbitfedError, RealClock } from '../../common/index.ts';
import { dockerOwnerOf, ProcessRuntime, type RuntimeCapabilities, type WorkloadSpec } from '../../runtime/index.ts';
import { CgroupHost } from '../../runtime/cgroup.ts';
import { describeRuntimeContract, LIMITS, workloadId } from './runtime-contract.ts';

const clock = new RealClock();
const GRACE_MS = durationMs(1_000);

function spec(id: string, command: readonly string[], limits = {}, extra: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return { id, command, limits: { ...LIMITS, ...limits }, ...extra };
}

/** Whether `pid` still runs (a zombie waiting for its new parent to reap it does not). */
async function running(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    await clock.sleep(durationMs(20));
  }
  return true;
}

const host = await CgroupHost.detect();
const hasCgroups = host instanceof CgroupHost;
if (!hasCgroups) {
  console.warn(`\n!!! runtime tests: NO USABLE CGROUPS on this host (${host.unavailable}): the process runtime's CPU and memory limits are tested only in their fallback !!!\n`);
}

function runtimeFixture(options: { cgroups: 'auto' | 'off'; parent: string }): { runtime: () => ProcessRuntime; capabilities: () => RuntimeCapabilities } {
  let runtime: ProcessRuntime;
  let capabilities: RuntimeCapabilities;
  beforeAll(async () => {
    runtime = new ProcessRuntime({ clock, cgroups: options.cgroups, cgroupParent: options.parent, terminationGraceMs: GRACE_MS });
    capabilities = await runtime.start();
  });
  afterAll(async () => runtime.stop());
  return { runtime: () => runtime, capabilities: () => capabilities };
}

describe.runIf(hasCgroups)('the process runtime with cgroups', () => {
  const fixture = runtimeFixture({ cgroups: 'auto', parent: `orbitfed-test-${process.pid}` });

  it('finds the cgroups and enforces limits through them', () => {
    expect(fixture.capabilities().enforcement.cpu).toMatch(/^cgroup-v[12]$/);
    expect(fixture.capabilities().usageSource).toMatch(/^cgroup-v[12]$/);
  });

  describeRuntimeContract({ name: 'process runtime, cgroups', runtime: fixture.runtime, spec, usageExact: true, cpuLimited: true });

  it('reports the kernel\'s CPU time of every process of the workload', async () => {
    const result = await fixture.runtime().run(spec(workloadId('usage'), ['sh', '-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'], { cpuCores: 1 }));
    expect(result.outcome).toBe('succeeded');
    expect(result.usage.cpuMs).toBeGreaterThan(10);
    expect(result.usage.memoryPeakBytes).toBeGreaterThan(0);
  });

  it('removes the workload\'s cgroup once the workload ended', async () => {
    const id = workloadId('gone');
    await fixture.runtime().run(spec(id, ['true']));
    expect(await (host as CgroupHost).children(`orbitfed-test-${process.pid}`)).not.toContain(id);
  });

  it('at start, kills what still runs in cgroups a crashed run left behind and removes them', async () => {
    const parent = `orbitfed-test-leftover-${process.pid}`;
    const cgroups = host as CgroupHost;
    await cgroups.prepareParent(parent);
    const leftover = cgroups.workload(`${parent}/job-from-before-the-crash`);
    await leftover.create({ cpuCores: 1, memoryBytes: 64 * 1024 * 1024, pidsMax: 16 });
    const orphan = spawn('sleep', ['300'], { stdio: 'ignore', detached: true });
    await new Promise((resolve) => orphan.once('spawn', resolve));
    await leftover.enter(orphan.pid!);
    const exited = new Promise((resolve) => orphan.once('exit', resolve));

    const runtime = new ProcessRuntime({ clock, cgroupParent: parent, terminationGraceMs: GRACE_MS });
    expect((await runtime.start()).leftoversRemoved).toBe(1);
    await exited;
    expect(await cgroups.children(parent)).toEqual([]);
    await runtime.stop();
  });

  it('leaves other agents\' workloads alone: each agent\'s runtime has its own parent (orbitfed/<owner>)', async () => {
    const root = `orbitfed-test-agents-${process.pid}`;
    const first = new ProcessRuntime({ clock, cgroupParent: `${root}/${dockerOwnerOf('sat-a')}`, terminationGraceMs: GRACE_MS });
    const second = new ProcessRuntime({ clock, cgroupParent: `${root}/${dockerOwnerOf('sat-b')}`, terminationGraceMs: GRACE_MS });
    expect((await first.start()).enforcement.memory).toMatch(/cgroup/);
    const running = first.run(spec(workloadId('owned'), ['sh', '-c', 'sleep 1; echo still here']));
    await clock.sleep(durationMs(200));
    expect((await second.start()).leftoversRemoved).toBe(0);
    const result = await running;
    expect(result.outcome).toBe('succeeded');
    expect(result.stdout.bytes.toString()).toBe('still here\n');
    await Promise.all([first.stop(), second.stop()]);
  });
});

describe('the process runtime without cgroups (the fallback)', () => {
  const fixture = runtimeFixture({ cgroups: 'off', parent: 'unused' });

  it('says that CPU is not limited and memory is watched by polling', () => {
    expect(fixture.capabilities()).toMatchObject({ enforcement: { cpu: 'none', memory: 'rss-polling' }, usageSource: 'proc-sampled' });
    expect(fixture.capabilities().notes.join()).toContain('turned off');
  });

  describeRuntimeContract({ name: 'process runtime, fallback', runtime: fixture.runtime, spec, usageExact: false, cpuLimited: false });

  it('samples the CPU time of a busy workload from /proc', async () => {
    const result = await fixture.runtime().run(spec(workloadId('busy'), ['sh', '-c', 'while :; do :; done'], { timeoutMs: durationMs(1_000) }));
    expect(result.usage.source).toBe('proc-sampled');
    expect(result.usage.cpuMs).toBeGreaterThan(0);
  });
});

describe('the process runtime as a process supervisor', () => {
  const fixture = runtimeFixture({ cgroups: 'auto', parent: `orbitfed-test-supervisor-${process.pid}` });

  it('ends background processes the workload left running when its main process exits', async () => {
    const result = await fixture.runtime().run(spec(workloadId('straggler'), ['sh', '-c', 'sleep 300 & echo $!']));
    expect(result.outcome).toBe('succeeded');
    const straggler = Number(result.stdout.bytes.toString().trim());
    expect(straggler).toBeGreaterThan(0);
    expect(await running(straggler)).toBe(false);
    expect(result.wallMs).toBeLessThan(30_000);
  });

  it('looks the command up in the workload\'s own PATH', async () => {
    const dir = join('/tmp', `orbitfed-path-${process.pid}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'orbitfed-hello'), '#!/bin/sh\necho "hello from $0"\n', { mode: 0o755 });
    const result = await fixture.runtime().run(spec(workloadId('path'), ['orbitfed-hello'], {}, { env: { PATH: `${dir}:/usr/bin:/bin` } }));
    expect(result.stdout.bytes.toString()).toBe(`hello from ${dir}/orbitfed-hello\n`);
    expect(await fixture.runtime().run(spec(workloadId('path'), ['orbitfed-hello'])).catch((e: OrbitfedError) => e.code)).toBe('ORBITFED_RUNTIME_COMMAND_NOT_FOUND');
    await access(join(dir, 'orbitfed-hello'));
  });

  it('refuses more workloads than it may run at once', async () => {
    const runtime = new ProcessRuntime({ clock, cgroups: 'off', concurrentWorkloadsMax: 1, terminationGraceMs: GRACE_MS });
    await runtime.start();
    let started!: () => void;
    const up = new Promise<void>((resolve) => { started = resolve; });
    const first = runtime.run(spec(workloadId('one'), ['sh', '-c', 'echo up; sleep 60'], {}, { onLog: () => started() }));
    await up;
    const second = await runtime.run(spec(workloadId('two'), ['true'])).catch((e: OrbitfedError) => e.code);
    expect(second).toBe('ORBITFED_RUNTIME_BUSY');
    await runtime.stop();
    expect((await first).outcome).toBe('cancelled');
  });

  it('cancels its running workloads when stopped, and refuses new ones after', async () => {
    const runtime = new ProcessRuntime({ clock, cgroups: 'auto', cgroupParent: `orbitfed-test-stop-${process.pid}`, terminationGraceMs: GRACE_MS });
    await runtime.start();
    let started!: () => void;
    const up = new Promise<void>((resolve) => { started = resolve; });
    const running = runtime.run(spec(workloadId('long'), ['sh', '-c', 'echo up; sleep 60'], {}, { onLog: () => started() }));
    await up;
    await runtime.stop();
    const result = await running;
    expect(result.outcome).toBe('cancelled');
    expect(result.reason).toContain('the runtime is stopping');
    expect(await runtime.run(spec(workloadId('late'), ['true'])).catch((e: OrbitfedError) => e.code)).toBe('ORBITFED_RUNTIME_STOPPED');
  });

  it('refuses to run before start', async () => {
    const runtime = new ProcessRuntime({ clock });
    expect(await runtime.run(spec(workloadId('early'), ['true'])).catch((e: OrbitfedError) => e.code)).toBe('ORBITFED_RUNTIME_NOT_STARTED');
  });

  it('refuses a cgroup parent that is not a plain relative path', () => {
    expect(() => new ProcessRuntime({ clock, cgroupParent: '../../escape' })).toThrow(OrbitfedError);
    expect(() => new ProcessRuntime({ clock, cgroupParent: '/abs' })).toThrow(/relative cgroup path/);
  });

  it('refuses an image, which only the Docker runtime runs', async () => {
    const error = await fixture.runtime().run(spec(workloadId('image'), ['true'], {}, { image: 'busybox' })).catch((e: OrbitfedError) => e);
    expect(error).toMatchObject({ code: 'ORBITFED_RUNTIME_SPEC', location: { field: 'image' } });
  });
});
