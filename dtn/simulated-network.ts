// Simulated links between the nodes of one process, for simulations in virtual time (STYLE: "the
// simulator replaces I/O behind small interfaces", as TigerBeetle's VOPR injects its network). Each
// node gets a convergence layer (`convergenceLayer(node)`) that implements the same port as the real
// ones (convergence-layer.ts), so the agents, stores, codec and routing under simulation are the
// real ones; only the radio is modelled, and only through the injected Clock:
// - A directed link from A to B is up during its windows (`addWindow`, or one per contact of a plan
//   with `addContactPlan`), unless interrupted (`interrupt`) or one of its nodes is down (its CL not
//   started, stopped, or `crash`ed). A send while it is down rejects with ORBITFED_CL_DISCONNECTED.
// - The link transmits one bundle after another at the window's rate: a bundle starts when the one
//   before it on the link finished (bytes / rate each), and reaches B one light time (OWLT) after its
//   last byte left A. B's handler then stores it, and the acknowledgement travels one OWLT back.
// - When the link goes down (window end, interruption, crash) every send not yet acknowledged
//   rejects with ORBITFED_CL_DISCONNECTED at that moment. A bundle whose transmission had not ended is
//   lost whole: B never sees part of a bundle. One already transmitted still arrives (it is in
//   flight through space) and B stores it, but its acknowledgement is lost with the link: the sender
//   keeps the bundle and sends it again later, and the second copy is a duplicate, exactly the
//   at-least-once delivery of the real convergence layers.
// - A crashed node's handler is never called again; a new CL for the node (after a restart) is a new
//   incarnation, and bundles addressed to the old one are dropped on arrival.
// Acknowledgements ride the session of the bundle they acknowledge rather than a reverse contact
// (passes give both directions the same window; a one-way plan contact still needs its CL session).
// Everything is bounded: windows per link, transfers in progress per link, bundle size.
import assert from 'node:assert/strict';
import { OrbitfedError, type Clock, type DurationMs, type TimerHandle } from '../common/index.ts';
import type { ContactPlan } from '../contact-plans/plan.ts';
import type { BundleHandler, BundleVerdict, ConvergenceLayer, PeerAddress, SendOptions } from './convergence-layer.ts';
import { transmissionMs } from './contact-pacing.ts';

/** The name, and peer-address prefix, of simulated convergence layers. */
export const SIMULATED_CL_NAME = 'sim';

/** The address of a simulated node: its ipn node number. */
export function simulatedPeerAddress(node: number): PeerAddress {
  return { cl: SIMULATED_CL_NAME, address: String(node) };
}

/** When a directed link is up, how fast it sends and how far the other end is, on the Clock's time scale. */
export interface SimulatedWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly rateBytesPerSec: number;
  readonly owltMs: number;
}

export type SimulatedNetworkLog = (event: string, fields: Record<string, unknown>) => void;

export interface SimulatedNetworkOptions {
  readonly clock: Clock;
  /** Windows one directed link may have; default 100,000. */
  readonly windowsPerLinkMax?: number;
  /** Sends in progress on one directed link; more reject with ORBITFED_CL_BUSY. Default 10,000. */
  readonly transfersPerLinkMax?: number;
  /** Largest bundle carried; larger sends reject with ORBITFED_CL_TOO_LARGE. Default 16 MiB. */
  readonly bundleBytesMax?: number;
  readonly log?: SimulatedNetworkLog;
}

export interface SimulatedNetworkStats {
  /** Sends accepted onto a link. */
  readonly transfersStarted: number;
  /** Bundles handed to a receiver's handler. */
  readonly bundlesDelivered: number;
  readonly bytesDelivered: number;
  /** Transmissions cut by the link going down, or arriving at a node that had crashed. */
  readonly transfersLost: number;
  /** Bundles the receiver stored whose acknowledgement was lost with the link. */
  readonly acknowledgementsLost: number;
}

interface Transfer {
  readonly link: DirectedLink;
  readonly bytes: Uint8Array;
  readonly sessionEpoch: number;
  readonly windowEndMs: number;
  readonly txEndMs: number;
  readonly receiverIncarnation: number;
  readonly senderIncarnation: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  /** Its transmission was cut: it never arrives. */
  cut: boolean;
  deadline: TimerHandle | undefined;
  detachAbort: () => void;
}

interface DirectedLink {
  readonly from: number;
  readonly to: number;
  /** Sorted by start, not overlapping. */
  readonly windows: SimulatedWindow[];
  busyUntilMs: number;
  downUntilMs: number;
  /** Changes whenever the link goes down: a transfer acknowledged in another epoch lost its session. */
  epoch: number;
  /** Transfers not yet arrived or cut. */
  readonly transfers: Set<Transfer>;
}

interface Attachment {
  readonly cl: SimulatedConvergenceLayer;
  readonly handler: BundleHandler;
  readonly incarnation: number;
}

/** What a simulated CL needs from its network. */
interface NetworkPort {
  attach(cl: SimulatedConvergenceLayer, handler: BundleHandler): void;
  detach(cl: SimulatedConvergenceLayer): void;
  send(cl: SimulatedConvergenceLayer, peer: PeerAddress, bundle: Uint8Array, options: SendOptions): Promise<void>;
}

const MIB = 1024 * 1024;

function disconnected(message: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_CL_DISCONNECTED', message);
}

/** A node's end of the simulated network; see the header. */
class SimulatedConvergenceLayer implements ConvergenceLayer {
  readonly name = SIMULATED_CL_NAME;
  readonly node: number;
  readonly #port: NetworkPort;

  constructor(node: number, port: NetworkPort) {
    this.node = node;
    this.#port = port;
  }

  async start(handler: BundleHandler): Promise<void> {
    this.#port.attach(this, handler);
  }

  async stop(): Promise<void> {
    this.#port.detach(this);
  }

  send(peer: PeerAddress, bundle: Uint8Array, options: SendOptions = {}): Promise<void> {
    return this.#port.send(this, peer, bundle, options);
  }
}

export class SimulatedNetwork {
  readonly #clock: Clock;
  readonly #windowsPerLinkMax: number;
  readonly #transfersPerLinkMax: number;
  readonly #bundleBytesMax: number;
  readonly #log: SimulatedNetworkLog;
  readonly #links = new Map<string, DirectedLink>();
  readonly #attached = new Map<number, Attachment>();
  #incarnations = 0;
  #stats = { transfersStarted: 0, bundlesDelivered: 0, bytesDelivered: 0, transfersLost: 0, acknowledgementsLost: 0 };
  readonly #port: NetworkPort = {
    attach: (cl, handler) => this.#attach(cl, handler),
    detach: (cl) => {
      if (this.#attached.get(cl.node)?.cl === cl) this.crash(cl.node);
    },
    send: (cl, peer, bundle, options) => this.#send(cl, peer, bundle, options),
  };

  constructor(options: SimulatedNetworkOptions) {
    this.#clock = options.clock;
    this.#windowsPerLinkMax = options.windowsPerLinkMax ?? 100_000;
    this.#transfersPerLinkMax = options.transfersPerLinkMax ?? 10_000;
    this.#bundleBytesMax = options.bundleBytesMax ?? 16 * MIB;
    this.#log = options.log ?? (() => {});
    assert.ok(Number.isSafeInteger(this.#windowsPerLinkMax) && this.#windowsPerLinkMax >= 1, 'windowsPerLinkMax must be a positive integer');
    assert.ok(Number.isSafeInteger(this.#transfersPerLinkMax) && this.#transfersPerLinkMax >= 1, 'transfersPerLinkMax must be a positive integer');
    assert.ok(Number.isSafeInteger(this.#bundleBytesMax) && this.#bundleBytesMax >= 1, 'bundleBytesMax must be a positive integer');
  }

  /** The link from `fromNode` to `toNode` is up during `window`; windows of one link must not overlap. */
  addWindow(fromNode: number, toNode: number, window: SimulatedWindow): void {
    assert.ok(fromNode !== toNode, 'a link joins two different nodes');
    assert.ok(Number.isFinite(window.startMs) && Number.isFinite(window.endMs) && window.endMs >= window.startMs, 'a window needs finite start ≤ end');
    assert.ok(Number.isFinite(window.rateBytesPerSec) && window.rateBytesPerSec >= 0, 'a window rate must be ≥ 0');
    assert.ok(Number.isFinite(window.owltMs) && window.owltMs >= 0, 'a window light time must be ≥ 0');
    const link = this.#link(fromNode, toNode, true)!;
    assert.ok(link.windows.length < this.#windowsPerLinkMax, `link ${fromNode}→${toNode} already has ${this.#windowsPerLinkMax} windows (windowsPerLinkMax)`);
    const at = link.windows.findIndex((w) => w.startMs > window.startMs);
    const index = at < 0 ? link.windows.length : at;
    const before = link.windows[index - 1];
    const after = link.windows[index];
    assert.ok(before === undefined || before.endMs <= window.startMs, `window ${window.startMs}–${window.endMs} of link ${fromNode}→${toNode} overlaps ${before?.startMs}–${before?.endMs}`);
    assert.ok(after === undefined || window.endMs <= after.startMs, `window ${window.startMs}–${window.endMs} of link ${fromNode}→${toNode} overlaps ${after?.startMs}–${after?.endMs}`);
    link.windows.splice(index, 0, { ...window });
  }

  /** One window per contact of `plan`, its second 0 at Unix ms `epochMs`. */
  addContactPlan(plan: ContactPlan, epochMs: number): void {
    assert.ok(Number.isFinite(epochMs), 'plan epoch must be finite');
    for (const c of plan.contacts) {
      if (c.endSec <= c.startSec) continue;
      this.addWindow(c.from, c.to, { startMs: epochMs + c.startSec * 1000, endMs: epochMs + c.endSec * 1000, rateBytesPerSec: c.rateBytesPerSec, owltMs: c.owltSec * 1000 });
    }
  }

  /** A new convergence layer for `node` (one per agent incarnation); it joins the network when started. */
  convergenceLayer(node: number): ConvergenceLayer {
    assert.ok(Number.isSafeInteger(node) && node >= 0, `node must be an ipn node number, got ${node}`);
    return new SimulatedConvergenceLayer(node, this.#port);
  }

  /** Whether bundles can start from `fromNode` to `toNode` now. */
  isUp(fromNode: number, toNode: number): boolean {
    const link = this.#link(fromNode, toNode, false);
    return link !== undefined && this.#openWindow(link) !== undefined && this.#attached.has(fromNode) && this.#attached.has(toNode);
  }

  /** Takes the link between `nodeA` and `nodeB` down, both directions, until `untilMs`, dropping what is in flight. */
  interrupt(nodeA: number, nodeB: number, untilMs: number): void {
    for (const link of [this.#link(nodeA, nodeB, false), this.#link(nodeB, nodeA, false)]) {
      if (link === undefined) continue;
      link.downUntilMs = Math.max(link.downUntilMs, untilMs);
      this.#cut(link, `the link ${link.from}→${link.to} was interrupted`);
    }
  }

  /** The node is gone at once, as under kill -9: everything in flight to or from it is lost. */
  crash(node: number): void {
    if (!this.#attached.delete(node)) return;
    for (const link of this.#links.values()) {
      if (link.from === node || link.to === node) this.#cut(link, `node ${node} went down`);
    }
    this.#log('sim.node-down', { node, atMs: this.#clock.now() });
  }

  stats(): SimulatedNetworkStats {
    return { ...this.#stats };
  }

  #link(fromNode: number, toNode: number, create: boolean): DirectedLink | undefined {
    const key = `${fromNode}>${toNode}`;
    let link = this.#links.get(key);
    if (link === undefined && create) {
      link = { from: fromNode, to: toNode, windows: [], busyUntilMs: -Infinity, downUntilMs: -Infinity, epoch: 0, transfers: new Set() };
      this.#links.set(key, link);
    }
    return link;
  }

  /** The window open now, unless the link is interrupted. */
  #openWindow(link: DirectedLink): SimulatedWindow | undefined {
    const nowMs = this.#clock.now();
    if (nowMs < link.downUntilMs) return undefined;
    let low = 0;
    let high = link.windows.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (link.windows[mid]!.startMs <= nowMs) low = mid + 1;
      else high = mid;
    }
    const window = link.windows[low - 1];
    return window !== undefined && nowMs < window.endMs ? window : undefined;
  }

  #attach(cl: SimulatedConvergenceLayer, handler: BundleHandler): void {
    const current = this.#attached.get(cl.node);
    assert.ok(current === undefined, `node ${cl.node} already has a running simulated CL`);
    this.#incarnations += 1;
    this.#attached.set(cl.node, { cl, handler, incarnation: this.#incarnations });
    this.#log('sim.node-up', { node: cl.node, atMs: this.#clock.now() });
  }

  /** The link went down: a new session epoch, an idle transmitter, every unacknowledged send rejected. */
  #cut(link: DirectedLink, reason: string): void {
    link.epoch += 1;
    const nowMs = this.#clock.now();
    link.busyUntilMs = nowMs;
    for (const transfer of [...link.transfers]) {
      if (nowMs < transfer.txEndMs) {
        transfer.cut = true;
        link.transfers.delete(transfer);
        this.#stats.transfersLost += 1;
      }
      this.#settle(transfer, disconnected(reason));
    }
  }

  #settle(transfer: Transfer, error?: unknown): void {
    if (transfer.settled) return;
    transfer.settled = true;
    transfer.deadline?.cancel();
    transfer.detachAbort();
    if (error === undefined) transfer.resolve();
    else transfer.reject(error);
  }

  #send(cl: SimulatedConvergenceLayer, peer: PeerAddress, bundle: Uint8Array, options: SendOptions): Promise<void> {
    const fail = (error: unknown): Promise<void> => Promise.reject(error);
    if (options.signal?.aborted) return fail(options.signal.reason);
    if (peer.cl !== SIMULATED_CL_NAME || !/^\d{1,16}$/.test(peer.address)) {
      return fail(new OrbitfedError('ORBITFED_CL_ADDRESS', `the simulated CL cannot reach ${peer.cl}:${peer.address}`));
    }
    if (bundle.byteLength > this.#bundleBytesMax) {
      return fail(new OrbitfedError('ORBITFED_CL_TOO_LARGE', `bundle of ${bundle.byteLength} bytes exceeds the simulated links' ${this.#bundleBytesMax}`));
    }
    const sender = this.#attached.get(cl.node);
    if (sender?.cl !== cl) return fail(disconnected(`the simulated CL of node ${cl.node} is not running`));
    const toNode = Number(peer.address);
    const link = this.#link(cl.node, toNode, false);
    const window = link === undefined ? undefined : this.#openWindow(link);
    if (link === undefined || window === undefined) return fail(disconnected(`no link from ${cl.node} to ${toNode} now`));
    const receiver = this.#attached.get(toNode);
    if (receiver === undefined) return fail(disconnected(`node ${toNode} does not answer`));
    if (link.transfers.size >= this.#transfersPerLinkMax) {
      return fail(new OrbitfedError('ORBITFED_CL_BUSY', `${link.transfers.size} sends already in progress from ${cl.node} to ${toNode} (transfersPerLinkMax)`));
    }
    if (!(window.rateBytesPerSec > 0)) return fail(disconnected(`the link from ${cl.node} to ${toNode} has rate 0`));
    const nowMs = this.#clock.now();
    const txStartMs = Math.max(nowMs, link.busyUntilMs);
    const txEndMs = txStartMs + transmissionMs(bundle.byteLength, window.rateBytesPerSec);
    link.busyUntilMs = txEndMs;
    this.#stats.transfersStarted += 1;
    return new Promise<void>((resolve, reject) => {
      const transfer: Transfer = {
        link,
        bytes: bundle.slice(),
        sessionEpoch: link.epoch,
        windowEndMs: window.endMs,
        txEndMs,
        receiverIncarnation: receiver.incarnation,
        senderIncarnation: sender.incarnation,
        resolve,
        reject,
        settled: false,
        cut: false,
        deadline: undefined,
        detachAbort: () => {},
      };
      link.transfers.add(transfer);
      const signal = options.signal;
      if (signal !== undefined) {
        // An aborted send settles at once; bytes already on the link still travel (as on a real CL).
        const onAbort = (): void => this.#settle(transfer, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        transfer.detachAbort = () => signal.removeEventListener('abort', onAbort);
      }
      const after = (atMs: number, callback: () => void): TimerHandle =>
        this.#clock.setTimer(Math.max(0, atMs - this.#clock.now()) as DurationMs, callback);
      // The end of the window ends the session: what is not acknowledged by then never will be.
      transfer.deadline = after(window.endMs, () => {
        if (transfer.settled) return;
        if (this.#clock.now() < transfer.txEndMs) {
          transfer.cut = true;
          link.transfers.delete(transfer);
          this.#stats.transfersLost += 1;
        }
        this.#settle(transfer, disconnected(`the contact from ${link.from} to ${link.to} ended before the acknowledgement`));
      });
      if (txEndMs <= window.endMs) after(txEndMs + window.owltMs, () => this.#arrive(transfer, window.owltMs));
    });
  }

  #arrive(transfer: Transfer, owltMs: number): void {
    const link = transfer.link;
    if (transfer.cut) return;
    link.transfers.delete(transfer);
    const receiver = this.#attached.get(link.to);
    if (receiver === undefined || receiver.incarnation !== transfer.receiverIncarnation) {
      this.#stats.transfersLost += 1;
      this.#settle(transfer, disconnected(`node ${link.to} went down before the bundle arrived`));
      return;
    }
    this.#stats.bundlesDelivered += 1;
    this.#stats.bytesDelivered += transfer.bytes.byteLength;
    let verdict: Promise<BundleVerdict>;
    try {
      verdict = Promise.resolve(receiver.handler(transfer.bytes, { cl: SIMULATED_CL_NAME, peerId: String(link.from) }));
    } catch (error) {
      verdict = Promise.reject(error);
    }
    const answer = (result: BundleVerdict): void => {
      this.#clock.setTimer(owltMs as DurationMs, () => this.#acknowledge(transfer, result));
    };
    verdict.then(answer, (error: unknown) => answer({ accepted: false, reason: `the receiving node failed: ${(error as Error)?.message ?? String(error)}` }));
  }

  #acknowledge(transfer: Transfer, verdict: BundleVerdict): void {
    const link = transfer.link;
    const sender = this.#attached.get(link.from);
    const sessionLost = link.epoch !== transfer.sessionEpoch || this.#clock.now() >= transfer.windowEndMs || sender?.incarnation !== transfer.senderIncarnation;
    if (sessionLost) {
      if (verdict.accepted) this.#stats.acknowledgementsLost += 1;
      this.#settle(transfer, disconnected(`the session from ${link.from} to ${link.to} ended before the acknowledgement`));
      return;
    }
    if (verdict.accepted) this.#settle(transfer);
    else this.#settle(transfer, new OrbitfedError('ORBITFED_CL_REFUSED', `node ${link.to} refused the bundle: ${verdict.reason}`));
  }
}
