// Operators' blackout windows reach the scheduler (ground/blackout-forwarder.ts): against the real
// scheduler API (test/scheduler/api-harness.ts, listening on a loopback port), a window becomes part
// of the station's registration, a window it already has is not sent again, ended windows are
// dropped, an unreachable scheduler is retried until it answers, and refusals are not retried.
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock, silentLogger } from '../../common/index.ts';
import { BlackoutForwarder, type BlackoutWindow } from '../../ground/index.ts';
import { startHarness, type Harness } from '../scheduler/api-harness.ts';
import { freePort } from './brokers.ts';

const clock = new RealClock();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function scheduler(port = 0): Promise<{ harness: Harness; url: string }> {
  const harness = await startHarness();
  const url = await harness.app.listen({ host: '127.0.0.1', port });
  cleanups.push(() => harness.close());
  return { harness, url };
}

function forwarder(url: string, apiKey: string, forwarded: BlackoutWindow[]): BlackoutForwarder {
  const f = new BlackoutForwarder({
    schedulerUrl: url, apiKey, nodeId: 'gs-oslo', clock, logger: silentLogger(), limits: { retryDelayMs: 50, retryDelayMaxMs: 200 },
    onForwarded: (w) => forwarded.push(w),
  });
  f.start();
  cleanups.push(() => f.stop());
  return f;
}

describe('blackout windows to the scheduler', () => {
  it("adds a window to the station's registration, once, and drops windows that have ended", async () => {
    const { harness, url } = await scheduler();
    const forwarded: BlackoutWindow[] = [];
    const f = forwarder(url, harness.keys.root, forwarded);
    const now = Date.now();
    const window = { startMs: now + 3_600_000, endMs: now + 7_200_000, reason: `antenna maintenance ${'x'.repeat(300)}` };
    f.submit(window);
    await until('the window forwarded', () => forwarded.length === 1);
    const blackouts = harness.store.node('gs-oslo')!.spec.blackouts;
    expect(blackouts).toEqual([{ startMs: window.startMs, endMs: window.endMs, reason: window.reason.slice(0, 200) }]);
    // The same window again (a retained message at every reconnect): found, not sent again.
    const updatedMs = harness.store.node('gs-oslo')!.updatedMs;
    f.submit(window);
    await until('the second copy', () => forwarded.length === 2);
    expect(f.stats()).toMatchObject({ forwarded: 1, alreadyKnown: 1 });
    expect(harness.store.node('gs-oslo')!.updatedMs).toBe(updatedMs);
    f.submit({ startMs: now - 7_200_000, endMs: now - 3_600_000, reason: 'over' });
    await until('the ended window dropped', () => f.stats().expired === 1);
    expect(harness.store.node('gs-oslo')!.spec.blackouts).toHaveLength(1);
    // The rest of the registration is unchanged.
    expect(harness.store.node('gs-oslo')!.spec).toMatchObject({ id: 'gs-oslo', ipn: 10, operator: 'ksat', jurisdiction: { country: 'NO' } });
  });

  it('retries while the scheduler is unreachable and forwards once it answers', async () => {
    const port = await freePort();
    const forwarded: BlackoutWindow[] = [];
    const url = `http://127.0.0.1:${port}`;
    const now = Date.now();
    const f = new BlackoutForwarder({
      schedulerUrl: url, apiKey: 'ofk_not_yet', nodeId: 'gs-oslo', clock, logger: silentLogger(), limits: { retryDelayMs: 50, retryDelayMaxMs: 200 },
      onForwarded: (w) => forwarded.push(w),
    });
    f.start();
    cleanups.push(() => f.stop());
    f.submit({ startMs: now + 60_000, endMs: now + 120_000, reason: 'generator test' });
    await until('a failed attempt', () => f.stats().lastError !== undefined);
    expect(f.stats()).toMatchObject({ waiting: 1, forwarded: 0 });
    // The scheduler comes up on that port; the forwarder's key is then unknown to it (401 is retried)…
    const { harness } = await scheduler(port);
    await sleep(300);
    expect(f.stats().forwarded).toBe(0);
    expect(f.stats().lastError).toContain('401');
    await f.stop();
    // …and a forwarder with a valid key gets through.
    const g = forwarder(url, harness.keys.root, forwarded);
    g.submit({ startMs: now + 60_000, endMs: now + 120_000, reason: 'generator test' });
    await until('forwarded', () => forwarded.length === 1);
    expect(harness.store.node('gs-oslo')!.spec.blackouts).toHaveLength(1);
  });

  it('drops a window the scheduler refuses (a tenant that may not register the station), without retrying', async () => {
    const { harness, url } = await scheduler();
    const forwarded: BlackoutWindow[] = [];
    const f = forwarder(url, harness.keys.acme, forwarded);
    const now = Date.now();
    f.submit({ startMs: now + 60_000, endMs: now + 120_000, reason: 'not allowed' });
    await until('the refusal', () => f.stats().refused === 1);
    expect(f.stats()).toMatchObject({ waiting: 0, forwarded: 0 });
    expect(f.stats().lastError).toContain('403');
    expect(harness.store.node('gs-oslo')!.spec.blackouts).toEqual([]);
  });
});
