// The embedded aedes broker: loopback, a port of the system's choosing, a clean start and stop.
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EmbeddedMqttBroker } from '../../ground/index.ts';
import { publishRaw, Recorder } from './brokers.ts';

describe('the embedded MQTT broker', () => {
  it('listens on 127.0.0.1 at the port the system chose, and relays messages between clients', async () => {
    const broker = new EmbeddedMqttBroker();
    const address = await broker.start();
    expect(address.host).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    expect(address.url).toBe(`mqtt://127.0.0.1:${address.port}`);
    expect(broker.address).toEqual(address);
    const recorder = await Recorder.open(address.url, ['orbitfed/+/status']);
    await publishRaw(address.url, 'orbitfed/KIRUNA/status', '{"state":"online"}', true);
    await recorder.until('the relayed message', () => recorder.messages.length === 1);
    expect(recorder.messages[0]).toMatchObject({ topic: 'orbitfed/KIRUNA/status', text: '{"state":"online"}' });
    await recorder.close();
    await broker.stop();
  });

  it('runs two brokers side by side on different ports', async () => {
    const [a, b] = [new EmbeddedMqttBroker(), new EmbeddedMqttBroker()];
    const [addressA, addressB] = await Promise.all([a.start(), b.start()]);
    expect(addressA.port).not.toBe(addressB.port);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('closes its clients and its port on stop, and can be stopped twice', async () => {
    const broker = new EmbeddedMqttBroker();
    const { url, port } = await broker.start();
    const recorder = await Recorder.open(url, ['#']);
    const closed = new Promise<void>((resolve) => recorder.client.once('close', () => resolve()));
    await broker.stop();
    await closed;
    await broker.stop();
    expect(() => broker.address).toThrow(/not running/);
    // The port is free again.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', resolve);
    });
    expect((probe.address() as AddressInfo).port).toBe(port);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await recorder.close();
  });

  it('refuses a port that is taken with a precise error, and a second start', async () => {
    const first = new EmbeddedMqttBroker();
    const { port } = await first.start();
    await expect(first.start()).rejects.toMatchObject({ code: 'ORBITFED_MQTT_BROKER_STATE' });
    const second = new EmbeddedMqttBroker({ port });
    await expect(second.start()).rejects.toMatchObject({ code: 'ORBITFED_MQTT_BROKER_LISTEN', message: expect.stringMatching(new RegExp(`127.0.0.1:${port}.*EADDRINUSE`)) });
    await first.stop();
  });
});
