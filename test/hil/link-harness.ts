// Real sockets on 127.0.0.1 for the link emulator's tests: far-side servers that record what they
// receive, clients that record what comes back, and a hand-made plan and map.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ContactPlan, type Contact } from '../../contact-plans/index.ts';
import { linkMapFromValue, type LinkMap, type LinkMapJson } from '../../hil/index.ts';

export const GROUND = 1;
export const SATELLITE = 1000025544;

export function contact(from: number, to: number, startSec: number, endSec: number, rateBytesPerSec: number, owltSec: number): Contact {
  return { from, to, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 };
}

export function planOf(contacts: readonly Contact[], epochMs?: number): ContactPlan {
  return new ContactPlan({
    epochMs,
    nodes: [{ ipn: GROUND, id: 'GS', kind: 'ground' }, { ipn: SATELLITE, id: '25544', kind: 'satellite' }],
    contacts,
  });
}

/** A far-side node: accepts connections, records every byte with the time it came, optionally echoes. */
export class FarSide {
  readonly server: Server;
  readonly sockets: Socket[] = [];
  received = Buffer.alloc(0);
  closes = 0;
  resets = 0;
  ends = 0;
  #echo: boolean;

  /** `halfOpen`: keep writing after the peer's FIN (do not answer it with ours). */
  private constructor(echo: boolean, halfOpen: boolean) {
    this.#echo = echo;
    this.server = createServer({ allowHalfOpen: true }, (socket) => {
      this.sockets.push(socket);
      socket.on('data', (chunk: Buffer) => {
        this.received = Buffer.concat([this.received, chunk]);
        if (this.#echo) socket.write(chunk);
      });
      socket.on('end', () => {
        this.ends += 1;
        if (!halfOpen) socket.end();
      });
      socket.on('error', () => { this.resets += 1; });
      socket.on('close', () => { this.closes += 1; });
    });
  }

  static async start(options: { echo?: boolean; halfOpen?: boolean } = {}): Promise<FarSide> {
    const far = new FarSide(options.echo ?? false, options.halfOpen ?? false);
    await new Promise<void>((resolve) => far.server.listen(0, '127.0.0.1', resolve));
    return far;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A client connection through the relay, recording what it receives and how it ended. */
export class Client {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  error: NodeJS.ErrnoException | undefined;
  closed = false;
  ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => { this.received = Buffer.concat([this.received, chunk]); });
    socket.on('error', (error: NodeJS.ErrnoException) => { this.error = error; });
    socket.on('end', () => { this.ended = true; });
    socket.on('close', () => { this.closed = true; });
  }

  /** Connects; resolves once connected, rejects with the socket error (ECONNREFUSED …). */
  static open(address: string): Promise<Client> {
    const colon = address.lastIndexOf(':');
    return new Promise<Client>((resolve, reject) => {
      const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), allowHalfOpen: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new Client(socket));
      });
    });
  }
}

/** The map for one ground ⇄ satellite rig: both directions mapped, listen ports picked at start. */
export function rigMap(far: { ground: string; satellite: string }, extra: Partial<LinkMapJson> = {}): LinkMap {
  const value: LinkMapJson = {
    planEpoch: 'start',
    nodes: [
      { ipn: GROUND, target: far.ground, listen: [{ from: SATELLITE, address: '127.0.0.1:0' }] },
      { ipn: SATELLITE, target: far.satellite, listen: [{ from: GROUND, address: '127.0.0.1:0' }] },
    ],
    ...extra,
  };
  return linkMapFromValue(value, 'test-map.json');
}

/** Polls (real time) until `condition` holds; fails after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets sockets move bytes for a while (real time) without the virtual clock moving. */
export function settle(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
