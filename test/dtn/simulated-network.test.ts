// The simulated links under the agent simulations: up only in their windows, one bundle after
// another at the window's rate, delivered one light time after the last byte and acknowledged one
// light time later; a link that goes down loses what was in transmission and every acknowledgement
// still to come, and a receiver never sees part of a bundle.
import { describe, expect, it } from 'vitest';
import type { BundleVerdict, ConvergenceLayer, ReceivedFrom } from '../../dtn/convergence-layer.ts';
import { SimulatedNetwork, simulatedPeerAddress } from '../../dtn/simulated-network.ts';
import { SimulationClock } from '../../hil/index.ts';

const T0 = 1_000_000;

async function pair(verdict: BundleVerdict = { accepted: true }) {
  const clock = new SimulationClock(T0);
  const network = new SimulatedNetwork({ clock });
  network.addWindow(1, 2, { startMs: T0 + 1000, endMs: T0 + 5000, rateBytesPerSec: 1000, owltMs: 100 });
  const received: { bytes: number; atMs: number; from: ReceivedFrom }[] = [];
  const a = network.convergenceLayer(1);
  const b = network.convergenceLayer(2);
  await a.start(async () => ({ accepted: true }));
  await b.start(async (bundle, from) => {
    received.push({ bytes: bundle.byteLength, atMs: clock.now(), from });
    return verdict;
  });
  return { clock, network, a, b, received };
}

/** Sends and records when (and how) the send settled. */
function track(cl: ConvergenceLayer, clock: SimulationClock, bytes: number) {
  const outcome: { atMs?: number; error?: string } = {};
  cl.send(simulatedPeerAddress(2), new Uint8Array(bytes)).then(
    () => { outcome.atMs = clock.now(); },
    (error: { code?: string }) => { outcome.atMs = clock.now(); outcome.error = error.code; },
  );
  return outcome;
}

describe('SimulatedNetwork', () => {
  it('delivers one bundle after another at the rate, a light time after the last byte, and acknowledges a light time later', async () => {
    const { clock, a, received } = await pair();
    await clock.runUntil(T0 + 1000);
    const first = track(a, clock, 500);
    const second = track(a, clock, 300);
    await clock.runUntil(T0 + 4000);

    expect(received.map((r) => [r.bytes, r.atMs - T0])).toEqual([[500, 1600], [300, 1900]]);
    expect(received[0]!.from).toEqual({ cl: 'sim', peerId: '1' });
    expect([first.atMs! - T0, second.atMs! - T0]).toEqual([1700, 2000]);
    expect([first.error, second.error]).toEqual([undefined, undefined]);
  });

  it('rejects a send at once while the link is down', async () => {
    const { clock, a, network } = await pair();
    const early = track(a, clock, 10);
    await clock.runUntil(T0 + 1);
    expect(early).toEqual({ atMs: T0, error: 'ORBITFED_CL_DISCONNECTED' });
    expect(network.isUp(1, 2)).toBe(false);
    await clock.runUntil(T0 + 1000);
    expect(network.isUp(1, 2)).toBe(true);
    expect(network.isUp(2, 1)).toBe(false);
  });

  it('loses a bundle whose transmission the end of the window cuts: the receiver never sees part of it', async () => {
    const { clock, a, network, received } = await pair();
    await clock.runUntil(T0 + 4000);
    const cut = track(a, clock, 1500);
    await clock.runUntil(T0 + 10_000);
    expect(cut).toEqual({ atMs: T0 + 5000, error: 'ORBITFED_CL_DISCONNECTED' });
    expect(received).toEqual([]);
    expect(network.stats()).toMatchObject({ transfersLost: 1, bundlesDelivered: 0 });
  });

  it('delivers a bundle transmitted just before the window ends, but its acknowledgement is lost with the link', async () => {
    const { clock, a, network, received } = await pair();
    await clock.runUntil(T0 + 4000);
    const late = track(a, clock, 950);
    await clock.runUntil(T0 + 10_000);
    expect(received.map((r) => r.atMs - T0)).toEqual([5050]);
    expect(late).toEqual({ atMs: T0 + 5000, error: 'ORBITFED_CL_DISCONNECTED' });
    expect(network.stats().acknowledgementsLost).toBe(1);
  });

  it('drops everything in flight when a node crashes, and a new CL for it is a new incarnation', async () => {
    const { clock, a, network, received } = await pair();
    await clock.runUntil(T0 + 1000);
    const lost = track(a, clock, 500);
    await clock.runUntil(T0 + 1200);
    network.crash(2);
    await clock.runUntil(T0 + 2000);
    expect(lost).toEqual({ atMs: T0 + 1200, error: 'ORBITFED_CL_DISCONNECTED' });
    expect(track(a, clock, 10)).toEqual({});
    await clock.runUntil(T0 + 2001);
    const restarted = network.convergenceLayer(2);
    await restarted.start(async (bundle) => {
      received.push({ bytes: bundle.byteLength, atMs: clock.now(), from: { cl: 'sim' } });
      return { accepted: true };
    });
    const after = track(a, clock, 100);
    await clock.runUntil(T0 + 3000);
    expect(received.map((r) => r.bytes)).toEqual([100]);
    expect(after.error).toBeUndefined();
  });

  it('interrupts a link for a while, and passes on the receiver\'s refusal', async () => {
    const refusing = await pair({ accepted: false, reason: 'store full' });
    await refusing.clock.runUntil(T0 + 1000);
    const refused = track(refusing.a, refusing.clock, 10);
    await refusing.clock.runUntil(T0 + 1500);
    expect(refused.error).toBe('ORBITFED_CL_REFUSED');

    refusing.network.interrupt(1, 2, T0 + 2000);
    const during = track(refusing.a, refusing.clock, 10);
    await refusing.clock.runUntil(T0 + 2000);
    expect(during.error).toBe('ORBITFED_CL_DISCONNECTED');
    expect(refusing.network.isUp(1, 2)).toBe(true);
  });

  it('refuses addresses of other CLs and bundles over its size limit', async () => {
    const clock = new SimulationClock(T0);
    const network = new SimulatedNetwork({ clock, bundleBytesMax: 100 });
    const a = network.convergenceLayer(1);
    await a.start(async () => ({ accepted: true }));
    await expect(a.send({ cl: 'libp2p', address: '2' }, new Uint8Array(1))).rejects.toMatchObject({ code: 'ORBITFED_CL_ADDRESS' });
    await expect(a.send(simulatedPeerAddress(2), new Uint8Array(101))).rejects.toMatchObject({ code: 'ORBITFED_CL_TOO_LARGE' });
    expect(() => network.addWindow(1, 2, { startMs: 0, endMs: 10, rateBytesPerSec: 1, owltMs: 0 })).not.toThrow();
    expect(() => network.addWindow(1, 2, { startMs: 5, endMs: 20, rateBytesPerSec: 1, owltMs: 0 })).toThrow(/overlaps/);
  });
});
