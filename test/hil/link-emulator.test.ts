// The link emulator on real sockets (127.0.0.1). Its timers run on a VirtualClock, so contact
// boundaries, light times and rates are checked exactly rather than against the wall clock; one
// test at the end runs on the real clock with a generous tolerance.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry, OrbitfedError, PreciseRealClock, RealClock, VirtualClock, unixMs, durationMs, type Clock } from '../../common/index.ts';
import type { ContactPlan } from '../../contact-plans/index.ts';
import { LinkEmulator, linkMapFromValue, type LinkMap, type LinkStatus } from '../../hil/index.ts';
import { Client, contact, FarSide, GROUND, planOf, rigMap, SATELLITE, settle, waitFor } from './link-harness.ts';

const T0 = unixMs(Date.UTC(2026, 5, 14));

interface Rig {
  readonly clock: Clock;
  readonly emulator: LinkEmulator;
  readonly ground: FarSide;
  readonly satellite: FarSide;
  readonly metrics: MetricsRegistry;
  /** Status of the link from the ground station to the satellite (its listen address is the uplink). */
  uplink(): LinkStatus;
  downlink(): LinkStatus;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startRig(plan: ContactPlan, options: { echo?: boolean; halfOpen?: boolean; map?: (far: { ground: string; satellite: string }) => LinkMap; clock?: Clock; transmitTimerClock?: Clock } = {}): Promise<Rig> {
  const ground = await FarSide.start({ echo: options.echo, halfOpen: options.halfOpen });
  const satellite = await FarSide.start({ echo: options.echo, halfOpen: options.halfOpen });
  const far = { ground: ground.address, satellite: satellite.address };
  const clock = options.clock ?? new VirtualClock(T0);
  const metrics = new MetricsRegistry();
  const emulator = new LinkEmulator({ plan, map: options.map?.(far) ?? rigMap(far), clock, transmitTimerClock: options.transmitTimerClock, metrics });
  cleanups.push(async () => {
    await emulator.stop();
    await ground.stop();
    await satellite.stop();
  });
  await emulator.start();
  await emulator.settled();
  const find = (from: number, to: number) => () => emulator.status().links.find((l) => l.from === from && l.to === to)!;
  return { clock, emulator, ground, satellite, metrics, uplink: find(GROUND, SATELLITE), downlink: find(SATELLITE, GROUND) };
}

/** Moves virtual time, then lets the listeners open or close. */
async function advance(rig: Rig, ms: number): Promise<void> {
  if (!(rig.clock instanceof VirtualClock)) throw new Error('only a virtual clock can be advanced');
  rig.clock.advance(durationMs(ms));
  await rig.emulator.settled();
}

/** Sends `bytes` from a client and waits until the relay has read all of them. */
async function sendThrough(rig: Rig, client: Client, bytes: Buffer): Promise<void> {
  const before = rig.uplink().bytesQueued.forward + rig.uplink().bytesRelayed.forward;
  client.socket.write(bytes);
  await waitFor('the relay to read the bytes', () => rig.uplink().bytesQueued.forward + rig.uplink().bytesRelayed.forward >= before + bytes.length);
}

describe('link emulator: up and down with the contact plan', () => {
  it('refuses connections outside contacts and accepts them inside', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 10, 20, 10_000, 0.5)]));
    expect(rig.uplink()).toMatchObject({ up: false, availability: 'no-contact' });
    await expect(Client.open(rig.uplink().listen)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await advance(rig, 10_000);
    expect(rig.uplink()).toMatchObject({ up: true, availability: 'up', current: { forward: { rateBytesPerSec: 10_000, owltMs: 500 } } });
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the connection to be relayed', () => rig.satellite.sockets.length === 1);
    client.socket.destroy();

    await advance(rig, 10_000);
    expect(rig.uplink()).toMatchObject({ up: false, availability: 'no-contact', nextChangeAt: null });
    await expect(Client.open(rig.uplink().listen)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('keeps the same listen address across contacts when the map asked for port 0', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 1, 2, 10_000, 0), contact(GROUND, SATELLITE, 5, 6, 10_000, 0)]));
    const address = rig.uplink().listen;
    expect(address).not.toMatch(/:0$/);
    await advance(rig, 5000);
    expect(rig.uplink().listen).toBe(address);
    const client = await Client.open(address);
    client.socket.destroy();
  });

  it('cuts open connections when the contact ends, losing what was in flight', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 10, 10_000, 2)]));
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await advance(rig, 9000);
    await sendThrough(rig, client, Buffer.alloc(500, 7));
    await advance(rig, 500);
    expect(rig.uplink().bytesQueued.forward).toBe(500);

    await advance(rig, 500);
    await waitFor('the client to see the reset', () => client.closed);
    expect(client.error?.code).toBe('ECONNRESET');
    await waitFor('the far side to see the reset', () => rig.satellite.closes === 1);
    expect(rig.satellite.received.length).toBe(0);
    expect(rig.uplink()).toMatchObject({ up: false, connectionsOpen: 0, bytesDropped: 500 });
    const metrics = await rig.metrics.render();
    expect(metrics).toContain(`orbitfed_link_connections_cut_total{from="${GROUND}",to="${SATELLITE}",reason="contact-end"} 1`);
    expect(metrics).toContain(`orbitfed_link_bytes_dropped_total{from="${GROUND}",to="${SATELLITE}",direction="forward"} 500`);
  });

  it('really closes a connection whose contact ends just after it relayed the sender’s FIN', async () => {
    // Regression: an RST cannot follow a FIN still being sent (libuv refuses it); Node then left the
    // socket open, unseen by the far side, and the handle later hung the process at exit.
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 10, 1_000_000, 0.1)]), { halfOpen: true });
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await advance(rig, 9500);
    await sendThrough(rig, client, Buffer.from('bye'));
    client.socket.end();
    await waitFor('the relay to see the end', () => client.socket.writableFinished);
    await settle();
    // One synchronous step: the last byte and the FIN leave at 9.6 s, the contact ends at 10 s.
    await advance(rig, 1000);
    await waitFor('the client to see the cut', () => client.closed);
    const far = rig.satellite.sockets[0]!;
    await waitFor('the bytes and the FIN', () => rig.satellite.ends === 1);
    expect(rig.satellite.received.toString()).toBe('bye');
    far.write('anyone there?');
    await settle();
    far.write('hello?');
    await waitFor('the far side to find the relay’s end closed', () => far.destroyed);
  });

  it('keeps a connection across back-to-back contacts and takes the new contact’s rate', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 5, 1000, 0), contact(GROUND, SATELLITE, 5, 10, 50_000, 0.1)]));
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await advance(rig, 5000);
    expect(rig.uplink()).toMatchObject({ up: true, connectionsOpen: 1, current: { forward: { rateBytesPerSec: 50_000, owltMs: 100 } } });
    expect(client.closed).toBe(false);
    client.socket.destroy();
  });

  it('runs plan time faster by the time scale: windows shrink, light time stays', async () => {
    const plan = planOf([contact(GROUND, SATELLITE, 100, 200, 10_000, 0.25)]);
    const rig = await startRig(plan, { map: (far) => rigMap(far, { timeScale: 100 }) });
    await advance(rig, 999);
    expect(rig.uplink().up).toBe(false);
    await advance(rig, 2);
    expect(rig.uplink()).toMatchObject({ up: true, current: { forward: { owltMs: 250, rateBytesPerSec: 10_000 } } });
    await advance(rig, 999);
    expect(rig.uplink().up).toBe(false);
  });

  it('scales light time and rate too when the map asks, keeping each contact’s volume', async () => {
    const plan = planOf([contact(GROUND, SATELLITE, 0, 100, 10_000, 0.25)]);
    const rig = await startRig(plan, { map: (far) => rigMap(far, { timeScale: 10, scaleDelaysAndRates: true }) });
    expect(rig.uplink().current.forward).toEqual({ owltMs: 25, rateBytesPerSec: 100_000 });
  });

  it('takes the link down for scheduled flaps', async () => {
    const plan = planOf([contact(GROUND, SATELLITE, 0, 100, 10_000, 0)]);
    const rig = await startRig(plan, { map: (far) => rigMap(far, { flaps: [{ from: GROUND, to: SATELLITE, startSec: 10, downSec: 2, everySec: 20, count: 2 }] }) });
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await advance(rig, 10_000);
    expect(rig.uplink()).toMatchObject({ up: false, availability: 'outage' });
    expect(rig.downlink().up).toBe(false);
    await waitFor('the flap to reset the connection', () => client.closed);
    await advance(rig, 2000);
    expect(rig.uplink().up).toBe(true);
    await advance(rig, 18_000);
    expect(rig.uplink().availability).toBe('outage');
    await advance(rig, 2000);
    expect(rig.uplink().up).toBe(true);
    expect(await rig.metrics.render()).toContain(`orbitfed_link_connections_cut_total{from="${GROUND}",to="${SATELLITE}",reason="outage"} 1`);
  });

  it('resets the incoming connection when the far side cannot be reached', async () => {
    const closed = await FarSide.start();
    const deadAddress = closed.address;
    await closed.stop();
    const plan = planOf([contact(GROUND, SATELLITE, 0, 100, 10_000, 0)]);
    const rig = await startRig(plan, { map: (far) => rigMap({ ...far, satellite: deadAddress }) });
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to give up on the target', () => client.closed);
    expect(client.error?.code).toBe('ECONNRESET');
    expect(await rig.metrics.render()).toContain('reason="target-unreachable"} 1');
  });
});

describe('link emulator: light time and rate', () => {
  it('delivers bytes one light time after they were sent', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 60, 1_000_000, 0.5)]));
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await sendThrough(rig, client, Buffer.from('ping'));
    await advance(rig, 499);
    await settle();
    expect(rig.satellite.received.length).toBe(0);
    await advance(rig, 2);
    await waitFor('the bytes to arrive', () => rig.satellite.received.toString() === 'ping');
    client.socket.destroy();
  });

  it('sends replies at the reverse contact’s light time', async () => {
    const plan = planOf([contact(GROUND, SATELLITE, 0, 60, 1_000_000, 0.5), contact(SATELLITE, GROUND, 0, 60, 1_000_000, 0.2)]);
    const rig = await startRig(plan, { echo: true });
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await sendThrough(rig, client, Buffer.from('ping'));
    await advance(rig, 501);
    await waitFor('the echo to enter the reverse pipe', () => rig.uplink().bytesQueued.reverse === 4);
    await advance(rig, 199);
    await settle();
    expect(client.received.length).toBe(0);
    await advance(rig, 2);
    await waitFor('the echo to arrive', () => client.received.toString() === 'ping');
    client.socket.destroy();
  });

  it('sends replies at the forward contact’s light time when the plan has no reverse contact', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 60, 1_000_000, 0.3)]), { echo: true });
    expect(rig.uplink().current.reverse).toEqual(rig.uplink().current.forward);
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await sendThrough(rig, client, Buffer.from('ping'));
    await advance(rig, 301);
    await waitFor('the echo to enter the reverse pipe', () => rig.uplink().bytesQueued.reverse === 4);
    // The echo left at 301 ms and travels the forward contact's 300 ms.
    await advance(rig, 299);
    await settle();
    expect(client.received.length).toBe(0);
    await advance(rig, 2);
    await waitFor('the echo to arrive', () => client.received.toString() === 'ping');
    client.socket.destroy();
  });

  it('delivers no faster than the contact rate', async () => {
    const rateBytesPerSec = 10_000;
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 60, rateBytesPerSec, 0)]));
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await sendThrough(rig, client, Buffer.alloc(50_000, 1));
    for (const elapsedMs of [500, 1000, 2000, 4000]) {
      await advance(rig, elapsedMs - (rig.clock.now() - T0));
      const relayed = rig.uplink().bytesRelayed.forward;
      await waitFor('the far side to receive what was relayed', () => rig.satellite.received.length === relayed);
      const allowedBytes = (rateBytesPerSec * elapsedMs) / 1000;
      // Frames of 1 KiB: at most one frame behind the ideal line, never ahead of it.
      expect(relayed).toBeLessThanOrEqual(allowedBytes);
      expect(relayed).toBeGreaterThanOrEqual(allowedBytes - 1024);
    }
    await advance(rig, 1000);
    await waitFor('every byte to arrive', () => rig.satellite.received.length === 50_000);
    client.socket.destroy();
  });

  it('arms the timers that only start a transmission on the transmit timer clock, deliveries on the main one', async () => {
    // 10,000 B/s: 1 KiB frames of 102.4 ms each; 5,000 B leave by 500 ms and arrive by 1,000 ms.
    const virtual = new VirtualClock(T0);
    const transmitDuesMs: number[] = [];
    const transmitTimerClock: Clock = {
      now: () => virtual.now(),
      setTimer: (delayMs, callback) => {
        transmitDuesMs.push(virtual.now() + delayMs - T0);
        return virtual.setTimer(delayMs, callback);
      },
      sleep: (delayMs, signal) => virtual.sleep(delayMs, signal),
    };
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 60, 10_000, 0.5)]), { clock: virtual, transmitTimerClock });
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await sendThrough(rig, client, Buffer.alloc(5000, 7));
    await advance(rig, 999);
    await settle();
    expect(rig.satellite.received.length).toBeLessThan(5000);
    await advance(rig, 1);
    await waitFor('every byte to arrive', () => rig.satellite.received.length === 5000);
    // Frame boundaries only: every transmit timer was due while the transmitter was still sending.
    expect(transmitDuesMs.length).toBeGreaterThanOrEqual(3);
    for (const dueMs of transmitDuesMs) expect(dueMs).toBeLessThanOrEqual(500);
    client.socket.destroy();
  });

  it('pauses the sender when the queue is full and resumes it as the link drains', async () => {
    const queueBytesMax = 16 * 1024;
    const rateBytesPerSec = 1_000_000;
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 600, rateBytesPerSec, 0)]), { map: (far) => rigMap(far, { queueBytesMax }) });
    const client = await Client.open(rig.uplink().listen);
    // More than the kernel's socket buffers hold on loopback, so that some must wait in the sender.
    const totalBytes = 16 * 1024 * 1024;
    client.socket.write(Buffer.alloc(totalBytes, 3));
    await settle(200);
    // The relay holds its bound plus at most one socket read; the rest waits in the sender's and the kernel's buffers.
    expect(rig.uplink().bytesQueued.forward).toBeLessThanOrEqual(queueBytesMax + 64 * 1024);
    expect(client.socket.writableLength).toBeGreaterThan(0);
    // Small steps: the virtual clock does not wait for the sockets to refill the queue.
    for (let i = 0; i < 20; i += 1) {
      await advance(rig, 100);
      await settle(5);
      expect(rig.uplink().bytesQueued.forward).toBeLessThanOrEqual(queueBytesMax + 64 * 1024);
    }
    // The sender was resumed again and again: far more than one queue's worth went through, never faster than the rate.
    const relayed = rig.uplink().bytesRelayed.forward;
    expect(relayed).toBeGreaterThan(8 * (queueBytesMax + 64 * 1024));
    expect(relayed).toBeLessThanOrEqual(rateBytesPerSec * 2);
    client.socket.destroy();
  });

  it('relays a half-close after the last byte', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 60, 1_000_000, 0.1)]));
    const client = await Client.open(rig.uplink().listen);
    await sendThrough(rig, client, Buffer.from('last words'));
    client.socket.end();
    await advance(rig, 200);
    await waitFor('the far side to get the bytes and the end', () => rig.satellite.closes === 1);
    expect(rig.satellite.received.toString()).toBe('last words');
    await waitFor('the connection to close cleanly', () => client.closed);
    expect(client.error).toBeUndefined();
    expect(rig.uplink().connectionsOpen).toBe(0);
  });
});

describe('link emulator: faults from the control side', () => {
  it('holds every byte while frozen and delivers them on unfreeze', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 60, 1_000_000, 0.1)]));
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    rig.emulator.freeze({ from: GROUND, to: SATELLITE });
    await sendThrough(rig, client, Buffer.from('held'));
    await advance(rig, 5000);
    await settle();
    expect(rig.satellite.received.length).toBe(0);
    expect(rig.uplink()).toMatchObject({ frozen: true, bytesQueued: { forward: 4 } });
    rig.emulator.unfreeze({ from: GROUND, to: SATELLITE });
    // Nothing was transmitted while frozen: the bytes go now and arrive one light time later.
    await advance(rig, 101);
    await waitFor('the held bytes to arrive', () => rig.satellite.received.toString() === 'held');
    client.socket.destroy();
  });

  it('adds extra delay on top of the light time', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 60, 1_000_000, 0.1)]));
    rig.emulator.setExtraDelay({ from: GROUND, to: SATELLITE }, 400, ['forward']);
    const client = await Client.open(rig.uplink().listen);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    await sendThrough(rig, client, Buffer.from('late'));
    await advance(rig, 499);
    await settle();
    expect(rig.satellite.received.length).toBe(0);
    await advance(rig, 2);
    await waitFor('the late bytes', () => rig.satellite.received.toString() === 'late');
    client.socket.destroy();
  });

  it('cuts a link until it is restored, whatever the plan says', async () => {
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 60, 1_000_000, 0)]));
    const client = await Client.open(rig.uplink().listen);
    rig.emulator.cut({ from: GROUND, to: SATELLITE });
    await rig.emulator.settled();
    await waitFor('the cut to reset the connection', () => client.closed);
    expect(rig.uplink()).toMatchObject({ up: false, availability: 'cut' });
    await expect(Client.open(rig.uplink().listen)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    rig.emulator.restore({ from: GROUND, to: SATELLITE });
    await rig.emulator.settled();
    expect(rig.uplink().up).toBe(true);
    (await Client.open(rig.uplink().listen)).socket.destroy();
    expect(() => rig.emulator.cut({ from: 7, to: 8 })).toThrow(expect.objectContaining({ code: 'ORBITFED_LINK_UNKNOWN' }));
  });
});

describe('link emulator: configuration against the plan', () => {
  it('refuses a relative plan when the map gives no epoch', async () => {
    const map = linkMapFromValue({ nodes: [{ ipn: SATELLITE, target: '127.0.0.1:9', listen: [{ from: GROUND, address: '127.0.0.1:0' }] }] }, 'm.json');
    const emulator = new LinkEmulator({ plan: planOf([contact(GROUND, SATELLITE, 0, 10, 1, 0)]), map, clock: new VirtualClock(T0) });
    await expect(emulator.start()).rejects.toMatchObject({ code: 'ORBITFED_LINK_PLAN_EPOCH' });
  });

  it('refuses a map that names a node the plan does not have', () => {
    const map = linkMapFromValue({ planEpoch: 'start', nodes: [{ ipn: 42, target: '127.0.0.1:9', listen: [{ from: GROUND, address: '127.0.0.1:0' }] }] }, 'm.json');
    expect(() => new LinkEmulator({ plan: planOf([contact(GROUND, SATELLITE, 0, 10, 1, 0)]), map, clock: new VirtualClock(T0) }))
      .toThrow(expect.objectContaining({ code: 'ORBITFED_LINK_MAP_UNKNOWN_NODE', message: expect.stringContaining('node 42 (to)') }));
  });

  it('fails to start, naming the link, when a listen address is taken', async () => {
    const busy = await FarSide.start();
    cleanups.push(() => busy.stop());
    const map = linkMapFromValue({ planEpoch: 'start', nodes: [{ ipn: SATELLITE, target: '127.0.0.1:9', listen: [{ from: GROUND, address: busy.address }] }] }, 'm.json');
    const emulator = new LinkEmulator({ plan: planOf([contact(GROUND, SATELLITE, 0, 10, 1, 0)]), map, clock: new VirtualClock(T0) });
    const error = await emulator.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrbitfedError);
    expect(error).toMatchObject({ code: 'ORBITFED_LINK_LISTEN', message: expect.stringContaining(`cannot listen on ${busy.address}: EADDRINUSE`) });
  });

  it('takes an absolute plan’s epoch from the plan: plan time follows the clock', async () => {
    const plan = planOf([contact(GROUND, SATELLITE, 3600, 3700, 1000, 0)], T0);
    const clock = new VirtualClock(unixMs(T0 + 3650_000));
    const ground = await FarSide.start();
    const satellite = await FarSide.start();
    const map = linkMapFromValue({ nodes: [{ ipn: SATELLITE, target: satellite.address, listen: [{ from: GROUND, address: '127.0.0.1:0' }] }] }, 'm.json');
    const emulator = new LinkEmulator({ plan, map, clock });
    cleanups.push(async () => { await emulator.stop(); await ground.stop(); await satellite.stop(); });
    await emulator.start();
    expect(emulator.status()).toMatchObject({ planSec: 3650, links: [{ up: true, nextChangeAt: new Date(T0 + 3700_000).toISOString() }] });
  });
});

describe('link emulator on the real clock', () => {
  it('never delivers before the light time on the sub-millisecond clock the program uses', async () => {
    const owltSec = 0.02;
    const rig = await startRig(planOf([contact(GROUND, SATELLITE, 0, 3600, 1_000_000, owltSec)]), { clock: new PreciseRealClock(), transmitTimerClock: new RealClock() });
    const client = await Client.open(rig.uplink().listen);
    client.socket.setNoDelay(true);
    await waitFor('the relay to connect', () => rig.satellite.sockets.length === 1);
    let arrivedMs = 0;
    rig.satellite.sockets[0]!.on('data', () => { arrivedMs = performance.now(); });
    for (let i = 0; i < 20; i += 1) {
      const before = rig.satellite.received.length;
      const sentMs = performance.now();
      client.socket.write('ping');
      await waitFor('the bytes to arrive', () => rig.satellite.received.length === before + 4, 10_000);
      // The relay reads the bytes after they were sent, so light time (less the pipe's 0.05 ms
      // early margin) is a lower bound even on a busy machine.
      expect(arrivedMs - sentMs).toBeGreaterThanOrEqual(owltSec * 1000 - 0.05);
    }
    client.socket.destroy();
  });


  it('delivers about one light time later (generous tolerance: the machine is shared)', async () => {
    const owltSec = 0.1;
    const real = await startRig(planOf([contact(GROUND, SATELLITE, 0, 3600, 1_000_000, owltSec)]), { clock: new RealClock() });
    const client = await Client.open(real.uplink().listen);
    await waitFor('the relay to connect', () => real.satellite.sockets.length === 1);
    const sentMs = performance.now();
    client.socket.write('ping');
    await waitFor('the bytes to arrive', () => real.satellite.received.length === 4, 10_000);
    const delayMs = performance.now() - sentMs;
    expect(delayMs).toBeGreaterThanOrEqual(owltSec * 1000 - 2);
    expect(delayMs).toBeLessThan(owltSec * 1000 + 500);
    client.socket.destroy();
  });
});
