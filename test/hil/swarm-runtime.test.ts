// The swarm's models, one at a time: the simulated workload runtime (the runtime port in virtual
// time), the clock that settles between instants, and the random faults a seed draws.
import { describe, expect, it } from 'vitest';
import { seededRng, type DurationMs } from '../../common/index.ts';
import { drawSwarmFaults, SimulatedRuntime, simulatedWorkload, SimulationClock } from '../../hil/index.ts';
import type { WorkloadSpec } from '../../runtime/index.ts';

const T0 = Date.UTC(2026, 5, 14);
const spec = (id: string, overrides: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
  id, command: ['sh', '-c', 'echo NDVI'], env: { ORBITFED_JOB_ID: `job-${id}` },
  limits: { cpuCores: 0.5, memoryBytes: 64 * 1024 * 1024, timeoutMs: 120_000 as DurationMs, outputBytesMax: 4096 }, ...overrides,
});

describe('the simulated workload runtime', () => {
  it('runs a workload for a time derived from its job, within its execution time, and prints output derived from it', async () => {
    const clock = new SimulationClock(T0);
    const runtime = new SimulatedRuntime({ clock, concurrentWorkloadsMax: 2 });
    await runtime.start();
    const model = simulatedWorkload(spec('a'));
    expect(model.wallMs).toBeGreaterThanOrEqual(30_000);
    expect(model.wallMs).toBeLessThanOrEqual(60_000);
    expect(simulatedWorkload(spec('a'))).toEqual(model);
    expect(simulatedWorkload(spec('b')).stdout.equals(model.stdout)).toBe(false);
    let result: Awaited<ReturnType<SimulatedRuntime['run']>> | undefined;
    void runtime.run(spec('a')).then((r) => { result = r; });
    await clock.runUntil(T0 + model.wallMs - 1);
    expect(result).toBeUndefined();
    await clock.runUntil(T0 + model.wallMs);
    expect(result).toMatchObject({ outcome: 'succeeded', exitCode: 0, wallMs: model.wallMs, startMs: T0, endMs: T0 + model.wallMs });
    expect(result!.stdout.bytes.toString()).toBe(model.stdout.toString());
    expect(result!.stdout.bytes.toString()).toMatch(/^simulated job-a: [0-9a-f]{64}\n$/);
    expect(result!.usage.cpuMs).toBe(Math.round(model.wallMs * 0.5));
  });

  it('is cancelled by its signal or by stop, refuses past its concurrency and refuses bad specs as the real runtimes do', async () => {
    const clock = new SimulationClock(T0);
    const runtime = new SimulatedRuntime({ clock, concurrentWorkloadsMax: 1 });
    await expect(runtime.run(spec('early'))).rejects.toMatchObject({ code: 'ORBITFED_RUNTIME_STOPPED' });
    await runtime.start();
    const controller = new AbortController();
    const first = runtime.run(spec('a'), controller.signal);
    await expect(runtime.run(spec('b'))).rejects.toMatchObject({ code: 'ORBITFED_RUNTIME_BUSY' });
    await clock.runUntil(T0 + 1_000);
    controller.abort();
    await expect(first).resolves.toMatchObject({ outcome: 'cancelled', wallMs: 1_000 });
    await expect(runtime.run(spec('bad id!'))).rejects.toMatchObject({ code: 'ORBITFED_RUNTIME_SPEC' });
    await expect(runtime.run(spec('c', { image: 'alpine' }))).rejects.toMatchObject({ code: 'ORBITFED_RUNTIME_SPEC' });
    const last = runtime.run(spec('d'));
    await runtime.stop();
    await expect(last).resolves.toMatchObject({ outcome: 'cancelled' });
  });
});

describe('the swarm clock', () => {
  it('fires timers in time order, letting the promise chains one starts finish before the next instant', async () => {
    const clock = new SimulationClock(T0);
    const seen: string[] = [];
    clock.setTimer(10 as DurationMs, () => {
      void Promise.resolve().then(() => Promise.resolve()).then(() => {
        seen.push(`chain at ${clock.now() - T0}`);
        clock.setTimer(0 as DurationMs, () => seen.push(`follow-up at ${clock.now() - T0}`));
      });
    });
    clock.setTimer(11 as DurationMs, () => seen.push(`second at ${clock.now() - T0}`));
    await clock.runUntil(T0 + 100);
    expect(seen).toEqual(['chain at 10', 'follow-up at 10', 'second at 11']);
    expect(clock.now()).toBe(T0 + 100);
  });
});

describe('random faults', () => {
  const inputs = {
    validators: 4, grounds: [{ id: 'kiruna', ipn: 2 }, { id: 'wallops', ipn: 3 }], orbitals: [{ id: 'noaa-20', ipn: 1_000_043_013 }],
    durationSec: 6_000, submissionsSec: [60, 90, 360, 390],
  };

  it('are the same for the same seed, keep the quorum, spare the submissions and end before the run does', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const plan = drawSwarmFaults(seededRng(seed), inputs);
      expect(drawSwarmFaults(seededRng(seed), inputs)).toEqual(plan);
      for (const f of plan.faults) expect(f.atSec).toBeLessThan(inputs.durationSec);
      // At most one validator of four down at any time.
      const down = new Set<string>();
      for (const f of [...plan.faults].sort((a, b) => a.atSec - b.atSec || (a.kind === 'start' ? -1 : 1))) {
        if (!('process' in f) || !f.process.startsWith('validator-')) continue;
        if (f.kind === 'start') down.delete(f.process);
        else down.add(f.process);
        expect(down.size, `seed ${seed}`).toBeLessThanOrEqual(1);
      }
      // The scheduler is never down when a job is submitted.
      const crash = plan.faults.find((f) => f.kind === 'crash' && f.process === 'scheduler');
      const start = plan.faults.find((f) => f.kind === 'start' && 'process' in f && f.process === 'scheduler');
      if (crash !== undefined) expect(inputs.submissionsSec.filter((s) => s >= crash.atSec && s <= start!.atSec), `seed ${seed}`).toEqual([]);
      expect(plan.validatorNetwork.dropProbability).toBeLessThanOrEqual(0.1);
    }
  });
});
