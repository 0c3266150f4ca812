// The bundle agent (RFC 9171 §5): one node's bundle protocol agent. It owns the node's durable
// bundle store, its creation-sequence counter, the current contact plan with the volume booked on
// it, and the convergence layers that reach its neighbours; applications send and receive through
// it. Everything happens on the injected Clock (ARCHITECTURE: time is injected), so the same agent
// runs on wall time between real processes and a thousand times faster in a simulation.
//
// Life of a bundle here.
// - Created (`send`) or received from a convergence layer: decoded strictly (garbage is refused with
//   a verdict naming the error code), checked for expiry and hop limit (§5.4, §4.4.3: an expired or
//   exhausted bundle is accepted, so that the peer stops resending it, and deleted), then put into
//   the store. Only once the store committed does `send` return or the CL get `{accepted: true}`
//   (a duplicate is accepted too: it is already safe here, the peer must stop resending it).
// - For this node (ipn:N.S with our N): delivered exactly once to the handler registered for
//   service S, through the store's `takeForDelivery` (the handler runs inside the transaction that
//   records the delivery; see bundle-store.ts); the log event `agent.delivery-committed` names the
//   bundles of each batch once that transaction committed. Service 0 is the administrative
//   endpoint: status reports for bundles we sent are read by the agent itself (`onStatusReport`).
//   A fragment for us waits in the store (under a queue name that no EID can have: "<destination>
//   fragments") until all of its ADU is here; the reassembled bundle is then stored under its own
//   identity and the fragments are marked delivered, in that order, so that a crash in between
//   reassembles again and the store refuses the second copy as a duplicate (§5.9).
// - Otherwise routed: Contact Graph Routing (contact-plans/cgr.ts, via route-choice.ts) from this
//   node at the current plan time to the destination node, for the bundle's encoded size plus what
//   forwarding may add (FORWARDING_GROWTH_BYTES_MAX), by the bundle's expiry, on the volume not yet
//   booked; the route's volume is booked on every hop (ContactBookings), and the bundle joins the
//   queue of its first-hop contact. The route avoids the node the bundle came from (its Previous Node
//   block), as ION's CGR does to keep bundles from bouncing between two nodes that each book only
//   their own traffic; it goes back there only when no other route carries it whole (ION's
//   "return to sender"). Routes live in memory only: after a restart every waiting bundle is routed
//   again from the store.
// - Sent while that contact is open by the Clock, one bundle after another at no more than the
//   contact's rate (contact-pacing.ts), priority first, through the CL that reaches the neighbour
//   (`peers`), with the Previous Node, Bundle Age and Hop Count blocks updated (§5.4 step 4,
//   forwarding-blocks.ts). The CL's send resolving is the hop-by-hop acknowledgement: the store
//   deletes the bundle (`forwarded`), and the bookings of later hops are released (the next node
//   books its own). A send that rejects (the link dropped, the peer refused) puts the bundle back;
//   it is tried again later in the contact with exponential backoff, and after
//   `contactFailuresMax` failures in a row the contact is given up for the rest of its window and
//   its bundles are routed again without it. That is also what happens to a contact that never
//   happens: the peer never answers, the contact is given up, the bundles re-routed. Bundles still
//   queued when their contact ends are routed again from then on.
// - Fragmentation (§5.8): a bundle no route can carry whole (every contact is too short or too
//   booked for it, or it is larger than the CLs take) is split, proactively, into fragments the
//   best route can carry; the fragments replace it in the store (a crash between the two commits
//   leaves both, which costs volume but not correctness: the destination delivers the ADU once).
// - Expiry (§5.5, §5.10): every `expiryIntervalMs` the store removes bundles whose lifetime ended;
//   a bundle that asked for deletion reports gets one (reason "lifetime expired", §6.1.1).
// - Status reports (§6.1): "delivered" when a delivered bundle asked for it, "deleted" when an
//   expired or hop-limited bundle did; both go to the bundle's report-to endpoint as ordinary
//   bundles from our administrative endpoint, and the delivery report is stored in the same
//   transaction as the delivery it reports.
//
// Plan time base: see plan-time.ts (`planEpochMs` is required for plans without an epoch).
// Bounds (STYLE rule 8): the routing working set (`workingSetBundlesMax` bundles in memory; the rest
// wait in the store and are admitted as room frees), in-flight sends per contact, route computations
// per pass, excluded contacts per bundle, fragments per bundle, delivery batches, retries (backoff
// up to `sendRetryDelayMaxMs`, then the contact is given up). Errors never end the agent: they are
// logged and the work is tried again later.
// Priorities are known where a bundle is created: BPv7 has no priority field (RFC 5050's class of
// service is gone, ION's extended class of service block is not in RFC 9171), so bundles received
// from a peer are queued at normal priority.
import assert from 'node:assert/strict';
import { durationMs, OrbitfedError, unixMs, type Clock, type DurationMs, type TimerHandle, type UnixMs } from '../common/index.ts';
import { ContactBookings, type ContactPlan } from '../contact-plans/plan.ts';
import { adminRecordBundle, adminRecordOf, STATUS_REPORT_REASON, statusReportAbout, type BundleStatusReport, type StatusTimes } from './admin-record.ts';
import { bundleKey, CRC_NONE, findBlock, makeBundle, NO_BLOCK_FLAGS, NO_BUNDLE_FLAGS, nextBlockNumber, type Bundle, type HopCountBlock, type PrimaryBlock } from './bundle.ts';
import { decodeBundle, decodeBundleDetailed, encodeBundle, type BundleDecodeLimits } from './bundle-codec.ts';
import { BUNDLE_PRIORITY, BUNDLE_SIZE_BYTES_MAX_DEFAULT, BUNDLE_STORE_BATCH_MAX, BundleStore, type BundlePriority, type BundleStoreOptions, type BundleToStore, type StoredBundle } from './bundle-store.ts';
import { sendOpportunity, type PacedContact } from './contact-pacing.ts';
import type { BundleVerdict, ConvergenceLayer, PeerAddress, ReceivedFrom } from './convergence-layer.ts';
import { CreationSequence } from './creation-sequence.ts';
import { dtnTimeFromUnixMs, unixMsFromDtnTime } from './dtn-time.ts';
import { formatEid, ipnEid, parseEid, type Eid, type IpnEid } from './eid.ts';
import { forwardedCopy, isHopLimitExceeded, withResidenceTime } from './forwarding-blocks.ts';
import { fragmentBundle, Reassembler } from './fragmentation.ts';
import { planSecOf, planTimeBaseOf, unixMsOfPlanSec, type PlanTimeBase } from './plan-time.ts';
import { chooseRoute, type RouteRequest } from './route-choice.ts';

/**
 * Most bytes forwarding adds to a stored bundle: a Previous Node block naming an ipn node (at most
 * 5 head bytes, a 9-byte block number, and a 22-byte EID), a Bundle Age that needs a longer CBOR
 * integer (at most 8 bytes more), a hop count that does (at most 8 more). Routes and pacing count
 * it, so that the copy on the wire never needs more than was booked.
 */
export const FORWARDING_GROWTH_BYTES_MAX = 64;
/** Suffix of the store queue where fragments for a local endpoint wait for the rest of their ADU; no EID contains a space. */
export const FRAGMENT_QUEUE_SUFFIX = ' fragments';
/** Bundles one delivery batch hands to an application; the rest come in the next batch. */
const DELIVERY_BATCH_BUNDLES = 256;
/** Delivery batches one pass makes before yielding to other work. */
const DELIVERY_BATCHES_PER_PASS = 16;
/** Expiry calls one sweep makes at most (each removes up to BUNDLE_STORE_BATCH_MAX bundles). */
const EXPIRY_CALLS_PER_SWEEP = 16;
/** Contacts a route computation may skip because their neighbour has no address, before it gives up for now. */
const UNREACHABLE_FIRST_HOPS_MAX = 8;

export type BundleAgentLog = (event: string, fields: Record<string, unknown>) => void;

export interface BundleAgentLimits {
  /** Waiting bundles routed and queued in memory at once; the others wait in the store. Default 10,000. */
  readonly workingSetBundlesMax: number;
  /** Sends awaiting acknowledgement on one contact. Default 64. */
  readonly inFlightPerContactMax: number;
  /** Delay before the first retry after a failed send on a contact; doubles per failure. Default 1 s. */
  readonly sendRetryDelayMs: number;
  /** Longest delay between retries on a contact. Default 60 s. */
  readonly sendRetryDelayMaxMs: number;
  /** Failed sends in a row after which a contact is given up until it ends. Default 3. */
  readonly contactFailuresMax: number;
  /** How long a bundle without a route waits before the next attempt. Default 60 s. */
  readonly routeRetryDelayMs: number;
  /** Route computations in one pass; more continue in the next. Default 1,000. */
  readonly routesPerPassMax: number;
  /** Interval of the expiry sweep. Default 60 s. */
  readonly expiryIntervalMs: number;
  /** Delay before delivering again after an application handler threw. Default 1 s. */
  readonly deliveryRetryDelayMs: number;
  /** Hop limit of the Hop Count block of bundles created here (RFC 9171 §4.4.3: 1 … 255). Default 64. */
  readonly hopLimit: number;
  /** Lifetime of the status reports this node sends. Default 1 day. */
  readonly statusReportLifetimeMs: number;
  /** Smallest fragment made (encoded bytes). Default 1,024. */
  readonly fragmentBytesMin: number;
  /** Most fragments one bundle is split into. Default 1,000. */
  readonly fragmentsPerBundleMax: number;
  /** Largest bundle handed to a CL (and accepted from one); larger bundles are fragmented. Default 16 MiB. */
  readonly linkBundleBytesMax: number;
  /** Contacts remembered per bundle as unable to take it. Default 32. */
  readonly excludedContactsPerBundleMax: number;
}

export const DEFAULT_BUNDLE_AGENT_LIMITS: BundleAgentLimits = {
  workingSetBundlesMax: 10_000,
  inFlightPerContactMax: 64,
  sendRetryDelayMs: 1_000,
  sendRetryDelayMaxMs: 60_000,
  contactFailuresMax: 3,
  routeRetryDelayMs: 60_000,
  routesPerPassMax: 1_000,
  expiryIntervalMs: 60_000,
  deliveryRetryDelayMs: 1_000,
  hopLimit: 64,
  statusReportLifetimeMs: 86_400_000,
  fragmentBytesMin: 1_024,
  fragmentsPerBundleMax: 1_000,
  linkBundleBytesMax: 16 * 1024 * 1024,
  excludedContactsPerBundleMax: 32,
};

export interface BundleAgentOptions {
  /** This node's ipn node number: its node ID is ipn:N.0, and it is node N of the contact plan. */
  readonly nodeNumber: number;
  /** The bundle store's file; the creation-sequence counter lives beside it (`<storePath>.sequence`). */
  readonly storePath: string;
  readonly store: Omit<BundleStoreOptions, 'clock'>;
  readonly plan: ContactPlan;
  /** Unix ms of the plan's second 0, for plans without an epoch; must agree with the plan's when both exist. */
  readonly planEpochMs?: number;
  /** Which convergence layer and address reach each neighbour, by plan node number. */
  readonly peers: ReadonlyMap<number, PeerAddress>;
  /** Started by `start`, stopped by `stop`; each serves the peer addresses whose `cl` is its name. */
  readonly convergenceLayers: readonly ConvergenceLayer[];
  readonly clock: Clock;
  readonly limits?: Partial<BundleAgentLimits>;
  readonly log?: BundleAgentLog;
  /** Called for each status report addressed to this node's administrative endpoint. */
  readonly onStatusReport?: (report: BundleStatusReport) => void;
}

export interface SendRequest {
  /** An EID or its text (`ipn:7.1`). */
  readonly destination: Eid | string;
  readonly payload: Uint8Array;
  readonly lifetimeMs: number;
  /** Default normal. */
  readonly priority?: BundlePriority;
  /** Ask the destination for a "delivered" status report (RFC 9171 §4.2.3). */
  readonly reportDelivery?: boolean;
  /** Ask for a "deleted" status report from whichever node deletes the bundle undelivered. */
  readonly reportDeletion?: boolean;
  /** Set "must not be fragmented". */
  readonly mustNotFragment?: boolean;
}

export interface SendReceipt {
  /** The bundle's identity (source, creation timestamp): what the destination's delivery reports. */
  readonly key: string;
  /** Its encoded size. */
  readonly sizeBytes: number;
  readonly createdAtMs: UnixMs;
}

export interface Delivery {
  readonly key: string;
  readonly bundle: Bundle;
  readonly payload: Uint8Array;
  readonly source: Eid;
  /** When the bundle (or its last fragment) was stored here. */
  readonly receivedAtMs: UnixMs;
}

/**
 * An application's handler for the bundles of one endpoint. Synchronous: it runs inside the store
 * transaction that records the delivery. Throwing leaves the bundle stored; it is offered again later.
 */
export type DeliveryHandler = (delivery: Delivery) => void;

export interface BundleAgentMetrics {
  readonly bundlesCreated: number;
  readonly bundlesReceived: number;
  readonly bundlesRefused: number;
  readonly duplicatesReceived: number;
  readonly bundlesForwarded: number;
  readonly bundlesDelivered: number;
  readonly bundlesExpired: number;
  /** Deleted for a reason other than expiry: hop limit exceeded, unreadable in the store. */
  readonly bundlesDeleted: number;
  readonly sendFailures: number;
  readonly reroutes: number;
  readonly contactsGivenUp: number;
  readonly fragmentsCreated: number;
  readonly bundlesReassembled: number;
  readonly statusReportsSent: number;
  readonly errors: number;
  /** Bundles routed or waiting for a route in memory. */
  readonly workingSetBundles: number;
  /** Of those, queued on a contact or being sent. */
  readonly queuedBundles: number;
  /** Of those, without a route for now. */
  readonly unroutedBundles: number;
  readonly storedBundles: number;
  readonly storedBytes: number;
  /** Bytes waiting to be forwarded (not in flight, not for local delivery). */
  readonly queuedBytes: number;
  readonly inFlightBundles: number;
  readonly localBundles: number;
}

type Counters = { -readonly [K in keyof BundleAgentMetrics]: number };

/** Volume booked for one bundle on the contacts of one plan's bookings. */
interface Booking {
  readonly bookings: ContactBookings;
  contacts: readonly number[];
  readonly bytes: number;
}

/** A waiting bundle in the working set. */
interface Held {
  readonly id: number;
  readonly key: string;
  /** The store's destination text. */
  readonly destination: string;
  readonly sizeBytes: number;
  readonly priority: BundlePriority;
  readonly receivedAtMs: number;
  readonly expiresAtMs: number;
  /** Destination as a plan node number, when it is an ipn EID with a safe node number. */
  readonly destinationNode: number | undefined;
  /** The node that forwarded it to us (its Previous Node block), which routes avoid if they can. */
  readonly previousNode: number | undefined;
  /** The primary block and payload length, for status reports. */
  readonly primary: PrimaryBlock;
  readonly payloadBytes: number;
  state: 'unrouted' | 'parked' | 'queued' | 'sending';
  /** When a parked bundle may be routed again. */
  routeAfterMs: number;
  booking: Booking | undefined;
  queue: ContactQueue | undefined;
  /** Contacts that could not take this bundle in the time they had left. */
  readonly excluded: number[];
}

/** The bundles waiting for one contact, and its transmitter. */
interface ContactQueue {
  readonly contact: number;
  readonly neighbour: number;
  readonly peer: PeerAddress;
  readonly cl: ConvergenceLayer;
  readonly paced: PacedContact;
  /** By priority, then store id (arrival). */
  readonly waiting: Held[];
  busyUntilMs: number;
  inFlight: number;
  failures: number;
  retryAtMs: number;
  givenUp: boolean;
}

const queueOrder = (a: Held, b: Held): number => b.priority - a.priority || a.id - b.id;

function insertSorted(queue: Held[], held: Held): void {
  let low = 0;
  let high = queue.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (queueOrder(queue[mid]!, held) <= 0) low = mid + 1;
    else high = mid;
  }
  queue.splice(low, 0, held);
}

/** The plan node number of an ipn EID whose node number is a safe integer. */
function planNodeOf(eid: Eid | undefined): number | undefined {
  return eid?.kind === 'ipn' && eid.nodeNumber <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(eid.nodeNumber) : undefined;
}

function errorFields(error: unknown): Record<string, unknown> {
  return error instanceof OrbitfedError ? { code: error.code, error: error.message } : { error: (error as Error)?.message ?? String(error) };
}

function checkLimits(limits: BundleAgentLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    assert.ok(Number.isSafeInteger(value) && value > 0, `limits.${name} must be a positive integer, got ${value}`);
  }
  assert.ok(limits.hopLimit <= 255, `limits.hopLimit must be 1 … 255 (RFC 9171 §4.4.3), got ${limits.hopLimit}`);
  assert.ok(limits.fragmentsPerBundleMax <= BUNDLE_STORE_BATCH_MAX, `limits.fragmentsPerBundleMax must be at most ${BUNDLE_STORE_BATCH_MAX}`);
  assert.ok(limits.fragmentBytesMin + FORWARDING_GROWTH_BYTES_MAX <= limits.linkBundleBytesMax, 'limits.fragmentBytesMin must leave room below linkBundleBytesMax');
  assert.ok(limits.sendRetryDelayMs <= limits.sendRetryDelayMaxMs, 'limits.sendRetryDelayMs must not exceed sendRetryDelayMaxMs');
}

/** One node's bundle protocol agent; see the header. */
export class BundleAgent {
  readonly #options: BundleAgentOptions;
  readonly #limits: BundleAgentLimits;
  readonly #clock: Clock;
  readonly #log: BundleAgentLog;
  readonly #nodeId: IpnEid;
  readonly #clByName: ReadonlyMap<string, ConvergenceLayer>;
  readonly #storedLimits: BundleDecodeLimits;
  readonly #receivedLimits: BundleDecodeLimits;
  readonly #endpoints = new Map<string, DeliveryHandler>();
  #plan: ContactPlan;
  #timeBase: PlanTimeBase;
  #bookings: ContactBookings;
  /** Contacts given up until they end: hidden from every route computation. */
  readonly #givenUp = new Set<number>();
  #store: BundleStore | undefined;
  #sequence: CreationSequence | undefined;
  #running = false;
  /** Changes at every start and stop: callbacks of an earlier run find it changed and do nothing. */
  #generation = 0;
  #abort = new AbortController();
  readonly #held = new Map<number, Held>();
  readonly #unrouted = new Set<Held>();
  /** Parked bundles in order of `routeAfterMs` (the retry delay is constant, so appending keeps the order). */
  #parked: Held[] = [];
  readonly #queues = new Map<number, ContactQueue>();
  /** The store has waiting bundles that are not in the working set. */
  #overflow = false;
  #refillWanted = true;
  #passQueued = false;
  #deliveryQueued = false;
  #wakeTimer: TimerHandle | undefined;
  #wakeAtMs = Infinity;
  #expiryTimer: TimerHandle | undefined;
  #deliveryRetryTimer: TimerHandle | undefined;
  readonly #unreachableLogged = new Set<number>();
  readonly #counters: Counters = {
    bundlesCreated: 0, bundlesReceived: 0, bundlesRefused: 0, duplicatesReceived: 0, bundlesForwarded: 0, bundlesDelivered: 0,
    bundlesExpired: 0, bundlesDeleted: 0, sendFailures: 0, reroutes: 0, contactsGivenUp: 0, fragmentsCreated: 0, bundlesReassembled: 0,
    statusReportsSent: 0, errors: 0, workingSetBundles: 0, queuedBundles: 0, unroutedBundles: 0, storedBundles: 0, storedBytes: 0,
    queuedBytes: 0, inFlightBundles: 0, localBundles: 0,
  };

  constructor(options: BundleAgentOptions) {
    assert.ok(Number.isSafeInteger(options.nodeNumber) && options.nodeNumber > 0, `nodeNumber must be a positive ipn node number, got ${options.nodeNumber}`);
    this.#options = options;
    this.#limits = { ...DEFAULT_BUNDLE_AGENT_LIMITS, ...options.limits };
    checkLimits(this.#limits);
    this.#clock = options.clock;
    this.#log = options.log ?? (() => {});
    this.#nodeId = ipnEid(options.nodeNumber, 0);
    const byName = new Map<string, ConvergenceLayer>();
    for (const cl of options.convergenceLayers) {
      assert.ok(!byName.has(cl.name), `two convergence layers are named ${cl.name}`);
      byName.set(cl.name, cl);
    }
    this.#clByName = byName;
    const storedBytesMax = options.store.bundleSizeBytesMax ?? Math.min(options.store.capacityBytes, BUNDLE_SIZE_BYTES_MAX_DEFAULT);
    this.#storedLimits = { maxBundleBytes: storedBytesMax, maxBlockCount: 64 };
    this.#receivedLimits = { maxBundleBytes: Math.min(storedBytesMax, this.#limits.linkBundleBytesMax), maxBlockCount: 64 };
    this.#plan = options.plan;
    this.#timeBase = planTimeBaseOf(options.plan, options.planEpochMs);
    this.#bookings = new ContactBookings(options.plan);
  }

  /** This node's ID, ipn:N.0. */
  get nodeId(): IpnEid {
    return this.#nodeId;
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Opens the store and the sequence counter, starts the convergence layers, and routes what the
   * store holds. Throws what the store throws (ORBITFED_STORE_LOCKED when another agent has it, …).
   */
  async start(): Promise<void> {
    assert.ok(!this.#running, 'the bundle agent is already running');
    const store = BundleStore.open(this.#options.storePath, { ...this.#options.store, clock: this.#clock });
    let sequence: CreationSequence;
    try {
      sequence = CreationSequence.open(`${this.#options.storePath}.sequence`);
    } catch (error) {
      store.close();
      throw error;
    }
    this.#store = store;
    this.#sequence = sequence;
    this.#generation += 1;
    this.#abort = new AbortController();
    this.#running = true;
    const started: ConvergenceLayer[] = [];
    try {
      for (const cl of this.#options.convergenceLayers) {
        await cl.start((bytes, from) => this.#onBundle(bytes, from));
        started.push(cl);
      }
    } catch (error) {
      this.#running = false;
      this.#generation += 1;
      for (const cl of started) await cl.stop().catch(() => {});
      store.close();
      sequence.close();
      this.#store = undefined;
      this.#sequence = undefined;
      throw error;
    }
    this.#refillWanted = true;
    this.#reassembleAll();
    this.#scheduleExpiry();
    this.#log('agent.started', { node: this.#options.nodeNumber, stored: store.stats().bundles, atMs: this.#clock.now() });
    this.#queuePass();
    this.#queueDelivery();
  }

  /**
   * Stops the convergence layers and closes the store. Nothing is flushed, because nothing needs to
   * be: every promise the agent made is on disk already, sends in flight are abandoned (their bundles
   * are waiting again at the next start), routes and bookings are recomputed then. So a stop and a
   * crash leave the same store behind.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#generation += 1;
    this.#abort.abort(new OrbitfedError('ORBITFED_AGENT_STOPPED', 'the bundle agent stopped'));
    for (const timer of [this.#wakeTimer, this.#expiryTimer, this.#deliveryRetryTimer]) timer?.cancel();
    this.#wakeTimer = this.#expiryTimer = this.#deliveryRetryTimer = undefined;
    this.#wakeAtMs = Infinity;
    for (const cl of this.#options.convergenceLayers) {
      try {
        await cl.stop();
      } catch (error) {
        this.#log('agent.cl-stop-failed', { cl: cl.name, ...errorFields(error) });
      }
    }
    this.#held.clear();
    this.#unrouted.clear();
    this.#parked = [];
    this.#queues.clear();
    this.#givenUp.clear();
    this.#bookings = new ContactBookings(this.#plan);
    this.#store?.close();
    this.#sequence?.close();
    this.#store = undefined;
    this.#sequence = undefined;
    this.#log('agent.stopped', { node: this.#options.nodeNumber });
  }

  /**
   * Replaces the contact plan at once: bookings start afresh on the new plan and every bundle not
   * being sent is routed again. Sends in flight finish on the old contacts; if they fail, their
   * bundles are routed on the new plan. Throws ORBITFED_AGENT_PLAN_EPOCH as plan-time.ts says.
   */
  setPlan(plan: ContactPlan, planEpochMs?: number): void {
    const timeBase = planTimeBaseOf(plan, planEpochMs);
    this.#plan = plan;
    this.#timeBase = timeBase;
    this.#bookings = new ContactBookings(plan);
    this.#givenUp.clear();
    this.#queues.clear();
    this.#parked = [];
    for (const held of this.#held.values()) {
      held.booking = undefined;
      held.excluded.length = 0;
      if (held.state === 'sending') continue;
      held.queue = undefined;
      held.state = 'unrouted';
      this.#unrouted.add(held);
    }
    this.#log('agent.plan-replaced', { planHash: plan.hash, epochMs: timeBase.epochMs, contacts: plan.contacts.length });
    this.#queuePass();
  }

  /**
   * Creates a bundle from this node (source and report-to ipn:N.0) and stores it; returns once it is
   * durably stored, which is the promise the agent makes to the application. Throws
   * ORBITFED_AGENT_STOPPED when not running, ORBITFED_AGENT_SEND_REFUSED when the store refuses it
   * (`full`, `too-large`), and the codec's errors for an invalid request.
   */
  send(request: SendRequest): SendReceipt {
    const store = this.#requireStore();
    const destination = typeof request.destination === 'string' ? parseEid(request.destination) : request.destination;
    if (destination.kind === 'null') throw new OrbitfedError('ORBITFED_AGENT_DESTINATION', 'cannot send to dtn:none', { field: 'destination' });
    if (!(request.payload instanceof Uint8Array)) throw new OrbitfedError('ORBITFED_AGENT_PAYLOAD', 'payload must be a Uint8Array', { field: 'payload' });
    if (!Number.isSafeInteger(request.lifetimeMs) || request.lifetimeMs <= 0) {
      throw new OrbitfedError('ORBITFED_AGENT_LIFETIME', `lifetime must be a whole number of ms > 0, got ${request.lifetimeMs}`, { field: 'lifetimeMs' });
    }
    const priority = request.priority ?? BUNDLE_PRIORITY.normal;
    const nowMs = this.#clock.now();
    const bundle = this.#withHopCount(makeBundle({
      destination,
      source: this.#nodeId,
      reportTo: this.#nodeId,
      creation: { dtnTimeMs: dtnTimeFromUnixMs(nowMs), sequence: this.#sequence!.next() },
      lifetimeMs: request.lifetimeMs,
      payload: request.payload,
      flags: {
        ...NO_BUNDLE_FLAGS,
        reportDelivery: request.reportDelivery === true,
        reportDeletion: request.reportDeletion === true,
        mustNotFragment: request.mustNotFragment === true,
      },
    }));
    const bytes = encodeBundle(bundle);
    const meta = this.#metaOf(bundle, nowMs, priority);
    const result = store.put(meta, bytes);
    if (!result.stored) {
      assert.notEqual(result.reason, 'duplicate', `creation timestamp ${meta.key} was used twice`);
      throw new OrbitfedError('ORBITFED_AGENT_SEND_REFUSED', `the bundle store refused the bundle: ${result.reason}`, { field: 'payload' });
    }
    this.#counters.bundlesCreated += 1;
    this.#log('agent.created', { key: meta.key, destination: meta.destination, sizeBytes: bytes.byteLength, atMs: nowMs });
    this.#afterPut(result.id, meta, bundle, bytes.byteLength, nowMs);
    return { key: meta.key, sizeBytes: bytes.byteLength, createdAtMs: nowMs };
  }

  /**
   * Registers the handler of an endpoint of this node: ipn:N.`service`, given by its service number
   * (1 or more: 0 is the agent's own) or as EID text. Bundles stored for it before are delivered
   * now. Returns the function that unregisters it. Throws ORBITFED_AGENT_ENDPOINT for service 0, an
   * endpoint of another node, or one that already has a handler.
   */
  register(service: number | bigint | string, handler: DeliveryHandler): () => void {
    let serviceNumber: bigint;
    if (typeof service === 'string') {
      const eid = parseEid(service);
      if (eid.kind !== 'ipn' || eid.nodeNumber !== this.#nodeId.nodeNumber) {
        throw new OrbitfedError('ORBITFED_AGENT_ENDPOINT', `${service} is not an ipn endpoint of this node (${formatEid(this.#nodeId)})`, { field: 'service' });
      }
      serviceNumber = eid.serviceNumber;
    } else {
      serviceNumber = BigInt(service);
    }
    const endpoint = formatEid(ipnEid(this.#options.nodeNumber, serviceNumber));
    if (serviceNumber === 0n) {
      throw new OrbitfedError('ORBITFED_AGENT_ENDPOINT', 'service 0 is the administrative endpoint; the agent reads it itself', { field: 'service' });
    }
    if (this.#endpoints.has(endpoint)) throw new OrbitfedError('ORBITFED_AGENT_ENDPOINT', `${endpoint} already has a handler`, { field: 'service' });
    this.#endpoints.set(endpoint, handler);
    this.#queueDelivery();
    return () => {
      if (this.#endpoints.get(endpoint) === handler) this.#endpoints.delete(endpoint);
    };
  }

  metrics(): BundleAgentMetrics {
    let queued = 0;
    for (const held of this.#held.values()) if (held.state === 'queued' || held.state === 'sending') queued += 1;
    const stats = this.#store?.stats();
    return {
      ...this.#counters,
      workingSetBundles: this.#held.size,
      queuedBundles: queued,
      unroutedBundles: this.#held.size - queued,
      storedBundles: stats?.bundles ?? 0,
      storedBytes: stats?.bytes ?? 0,
      queuedBytes: stats?.waitingBytes ?? 0,
      inFlightBundles: stats?.inFlight ?? 0,
      localBundles: stats?.local ?? 0,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  #onBundle(bytes: Uint8Array, from: ReceivedFrom): Promise<BundleVerdict> {
    try {
      return Promise.resolve(this.#receive(bytes, from));
    } catch (error) {
      this.#error('receive', error);
      return Promise.resolve({ accepted: false, reason: 'the receiving agent failed to store the bundle' });
    }
  }

  #receive(bytes: Uint8Array, from: ReceivedFrom): BundleVerdict {
    const store = this.#store;
    if (!this.#running || store === undefined) return { accepted: false, reason: 'the bundle agent is not running' };
    let bundle: Bundle;
    let toStore = bytes;
    try {
      const decoded = decodeBundleDetailed(bytes, this.#receivedLimits);
      bundle = decoded.bundle;
      // RFC 9171 §5.6 step 4: blocks flagged "discard if unprocessed" are gone; what we store (and
      // forward) is the bundle without them.
      if (decoded.unprocessedBlocks.some((b) => b.disposition === 'discarded')) toStore = encodeBundle(bundle);
    } catch (error) {
      this.#counters.bundlesRefused += 1;
      const fields = errorFields(error);
      this.#log('agent.bundle-refused', { ...fields, from: from.peerId ?? from.remoteAddress, sizeBytes: bytes.byteLength });
      return { accepted: false, reason: `${String(fields.code ?? 'ORBITFED_BUNDLE')}: ${String(fields.error)}` };
    }
    const nowMs = this.#clock.now();
    const meta = this.#metaOf(bundle, nowMs, BUNDLE_PRIORITY.normal);
    // §5.4: an expired bundle, or one past its hop limit, is deleted; accepted, so the peer stops resending it.
    if (meta.expiresAtMs <= nowMs) {
      this.#deleteBundle(bundle, meta.key, STATUS_REPORT_REASON.lifetimeExpired, 'expired on arrival');
      return { accepted: true };
    }
    if (isHopLimitExceeded(bundle)) {
      this.#deleteBundle(bundle, meta.key, STATUS_REPORT_REASON.hopLimitExceeded, 'hop limit exceeded');
      return { accepted: true };
    }
    const result = store.put(meta, toStore);
    if (!result.stored) {
      switch (result.reason) {
        case 'duplicate':
          this.#counters.duplicatesReceived += 1;
          this.#log('agent.duplicate', { key: meta.key, from: from.peerId });
          return { accepted: true };
        case 'expired':
          return { accepted: true };
        case 'full':
        case 'too-large':
          this.#counters.bundlesRefused += 1;
          this.#log('agent.bundle-refused', { key: meta.key, reason: result.reason, from: from.peerId });
          return { accepted: false, reason: `bundle store: ${result.reason}` };
      }
    }
    this.#counters.bundlesReceived += 1;
    this.#log('agent.received', { key: meta.key, from: from.peerId, sizeBytes: toStore.byteLength, atMs: nowMs });
    this.#afterPut(result.id, meta, bundle, toStore.byteLength, nowMs);
    return { accepted: true };
  }

  /** What the store keeps about a bundle arriving or created now. */
  #metaOf(bundle: Bundle, nowMs: number, priority: BundlePriority): BundleToStore {
    const primary = bundle.primary;
    const local = this.#isLocal(primary.destination);
    const created = unixMsFromDtnTime(primary.creation.dtnTimeMs);
    // §4.3.1: expiry is creation time + lifetime; without a creation time, the Bundle Age block
    // says how much of the lifetime is gone (validateBundle requires one then).
    const ageMs = findBlock(bundle, 'bundle-age')?.ageMs ?? 0;
    const expiresAtMs = created !== undefined ? created + primary.lifetimeMs : nowMs + primary.lifetimeMs - ageMs;
    const destination = formatEid(primary.destination);
    return {
      key: bundleKey(bundle),
      destination: local && primary.fragment !== undefined ? `${destination}${FRAGMENT_QUEUE_SUFFIX}` : destination,
      localDelivery: local,
      priority,
      expiresAtMs: unixMs(expiresAtMs),
    };
  }

  #afterPut(id: number, meta: BundleToStore, bundle: Bundle, sizeBytes: number, nowMs: number): void {
    if (!meta.localDelivery) {
      this.#admit({ id, key: meta.key, destination: meta.destination, sizeBytes, priority: meta.priority, receivedAtMs: unixMs(nowMs), expiresAtMs: meta.expiresAtMs }, bundle);
      this.#queuePass();
    } else if (bundle.primary.fragment !== undefined) {
      this.#reassemble(meta.destination);
    } else {
      this.#queueDelivery();
    }
  }

  #isLocal(eid: Eid): boolean {
    return eid.kind === 'ipn' && eid.nodeNumber === this.#nodeId.nodeNumber;
  }

  #withHopCount(bundle: Bundle): Bundle {
    const block: HopCountBlock = { kind: 'hop-count', blockNumber: nextBlockNumber(bundle), flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, hopLimit: this.#limits.hopLimit, hopCount: 0 };
    return { ...bundle, extensionBlocks: [...bundle.extensionBlocks, block] };
  }

  // -------------------------------------------------------------------------------------------
  // The working set and routing

  #admit(stored: Pick<StoredBundle, 'id' | 'key' | 'destination' | 'sizeBytes' | 'priority' | 'receivedAtMs' | 'expiresAtMs'>, bundle: Bundle): void {
    if (this.#held.has(stored.id)) return;
    if (this.#held.size >= this.#limits.workingSetBundlesMax) {
      this.#overflow = true;
      return;
    }
    const destinationNode = planNodeOf(bundle.primary.destination);
    const previousNode = planNodeOf(findBlock(bundle, 'previous-node')?.nodeId);
    const held: Held = {
      id: stored.id,
      key: stored.key,
      destination: stored.destination,
      sizeBytes: stored.sizeBytes,
      priority: stored.priority,
      receivedAtMs: stored.receivedAtMs,
      expiresAtMs: stored.expiresAtMs,
      destinationNode,
      previousNode: previousNode === destinationNode ? undefined : previousNode,
      primary: bundle.primary,
      payloadBytes: bundle.payload.data.byteLength,
      state: 'unrouted',
      routeAfterMs: 0,
      booking: undefined,
      queue: undefined,
      excluded: [],
    };
    this.#held.set(held.id, held);
    this.#unrouted.add(held);
  }

  /** Admits waiting bundles from the store that are not in the working set yet (after a start, or once room frees). */
  #refill(store: BundleStore): void {
    this.#refillWanted = false;
    const limit = Math.min(BUNDLE_STORE_BATCH_MAX, this.#limits.workingSetBundlesMax);
    const waiting = store.listWaiting({ limit });
    this.#overflow = waiting.length === limit;
    for (const stored of waiting) {
      if (this.#held.has(stored.id)) continue;
      if (this.#held.size >= this.#limits.workingSetBundlesMax) {
        this.#overflow = true;
        break;
      }
      const bundle = this.#readStored(store, stored.id);
      if (bundle !== undefined) this.#admit(stored, bundle);
    }
  }

  /** The stored bundle decoded; a bundle that cannot be read is discarded (logged), and undefined returned. */
  #readStored(store: BundleStore, id: number): Bundle | undefined {
    try {
      const bytes = store.read(id);
      return bytes === undefined ? undefined : decodeBundle(bytes, this.#storedLimits);
    } catch (error) {
      this.#log('agent.bundle-unreadable', { id, ...errorFields(error) });
      store.discard(id);
      this.#counters.bundlesDeleted += 1;
      return undefined;
    }
  }

  /** Removes a bundle from the working set (it left the store, or is about to). */
  #forget(held: Held): void {
    this.#releaseBooking(held);
    if (held.queue !== undefined && held.state === 'queued') {
      const index = held.queue.waiting.indexOf(held);
      if (index >= 0) held.queue.waiting.splice(index, 1);
    }
    held.queue = undefined;
    this.#held.delete(held.id);
    this.#unrouted.delete(held);
    // Room again for what the store holds beyond the working set; refilled once a quarter is free,
    // so that a full working set does not read the store at every bundle that leaves.
    if (this.#overflow && this.#held.size <= this.#limits.workingSetBundlesMax * 0.75) this.#refillWanted = true;
  }

  #releaseBooking(held: Held, keepFirstHop = false): void {
    const booking = held.booking;
    held.booking = undefined;
    if (booking === undefined || booking.bookings !== this.#bookings) return;
    const contacts = keepFirstHop ? booking.contacts.slice(1) : booking.contacts;
    if (contacts.length > 0) booking.bookings.release(contacts, booking.bytes);
  }

  /** Takes a bundle off its contact; it is routed again in the next pass. */
  #reroute(held: Held, why: string): void {
    this.#releaseBooking(held);
    held.queue = undefined;
    held.state = 'unrouted';
    this.#unrouted.add(held);
    this.#counters.reroutes += 1;
    this.#log('agent.rerouted', { key: held.key, why, atMs: this.#clock.now() });
    this.#queuePass();
  }

  #park(held: Held, nowMs: number, why: string): void {
    held.state = 'parked';
    held.routeAfterMs = nowMs + this.#limits.routeRetryDelayMs;
    this.#parked.push(held);
    this.#log('agent.unroutable', { key: held.key, destination: held.destination, why, retryAtMs: held.routeAfterMs });
  }

  #exclude(held: Held, contact: number): void {
    if (held.excluded.includes(contact)) return;
    if (held.excluded.length >= this.#limits.excludedContactsPerBundleMax) held.excluded.shift();
    held.excluded.push(contact);
  }

  #route(store: BundleStore, held: Held, nowMs: number): void {
    this.#unrouted.delete(held);
    if (held.destinationNode === undefined || held.destinationNode === this.#options.nodeNumber) {
      this.#park(held, nowMs, 'the destination is not an ipn node of the plan');
      return;
    }
    const atSec = planSecOf(this.#timeBase, nowMs);
    for (let i = held.excluded.length - 1; i >= 0; i--) {
      if (this.#plan.contacts[held.excluded[i]!]!.endSec <= atSec) held.excluded.splice(i, 1);
    }
    for (const contact of this.#givenUp) if (this.#plan.contacts[contact]!.endSec <= atSec) this.#givenUp.delete(contact);
    const sizeBytes = held.sizeBytes + FORWARDING_GROWTH_BYTES_MAX;
    for (let attempt = 0; attempt < UNREACHABLE_FIRST_HOPS_MAX; attempt++) {
      const request: RouteRequest = {
        fromNode: this.#options.nodeNumber,
        toNode: held.destinationNode,
        atSec,
        sizeBytes,
        deadlineSec: planSecOf(this.#timeBase, held.expiresAtMs),
        excludedContacts: [...held.excluded, ...this.#givenUp],
        mayFragment: !held.primary.flags.mustNotFragment,
        fragmentBytesMin: this.#limits.fragmentBytesMin + FORWARDING_GROWTH_BYTES_MAX,
        bundleBytesMax: this.#limits.linkBundleBytesMax,
      };
      // Not back through the node it came from (see route-choice.ts), unless no other route
      // carries it whole: then backtracking is the way on, as ION's returnToSender.
      let choice = chooseRoute(this.#plan, this.#bookings, { ...request, excludedNodes: held.previousNode === undefined ? [] : [held.previousNode] });
      if (choice.kind !== 'whole' && held.previousNode !== undefined) {
        const back = chooseRoute(this.#plan, this.#bookings, request);
        if (back.kind === 'whole' || choice.kind === 'none') choice = back;
      }
      if (choice.kind === 'none') {
        this.#park(held, nowMs, choice.reason === 'too-large' ? 'larger than the convergence layers take, and must not be fragmented' : 'no route before it expires');
        return;
      }
      if (choice.kind === 'fragment') {
        this.#fragment(store, held, choice.fragmentBytesMax - FORWARDING_GROWTH_BYTES_MAX, nowMs);
        return;
      }
      const route = choice.route;
      const first = route.hops[0]!;
      const queue = this.#queueFor(first.contact);
      if (queue === undefined) {
        // No way to reach that neighbour: no bundle should plan on it.
        this.#givenUp.add(first.contact);
        continue;
      }
      this.#bookings.book(route, sizeBytes);
      held.booking = { bookings: this.#bookings, contacts: route.hops.map((h) => h.contact), bytes: sizeBytes };
      held.queue = queue;
      held.state = 'queued';
      insertSorted(queue.waiting, held);
      this.#log('agent.routed', {
        key: held.key,
        contact: first.contact,
        neighbour: first.to,
        hops: route.hops.length,
        contacts: route.hops.map((h) => h.contact),
        arrivalMs: unixMsOfPlanSec(this.#timeBase, route.arrivalSec),
        atMs: nowMs,
      });
      return;
    }
    this.#park(held, nowMs, 'no reachable first hop');
  }

  #queueFor(contact: number): ContactQueue | undefined {
    const existing = this.#queues.get(contact);
    if (existing !== undefined) return existing;
    const c = this.#plan.contacts[contact]!;
    const peer = this.#options.peers.get(c.to);
    const cl = peer === undefined ? undefined : this.#clByName.get(peer.cl);
    if (peer === undefined || cl === undefined) {
      if (!this.#unreachableLogged.has(c.to)) {
        this.#unreachableLogged.add(c.to);
        this.#log('agent.neighbour-unreachable', { neighbour: c.to, why: peer === undefined ? 'no peer address' : `no convergence layer named ${peer.cl}` });
      }
      return undefined;
    }
    const startMs = unixMsOfPlanSec(this.#timeBase, c.startSec);
    const queue: ContactQueue = {
      contact,
      neighbour: c.to,
      peer,
      cl,
      paced: { startMs, endMs: unixMsOfPlanSec(this.#timeBase, c.endSec), rateBytesPerSec: c.rateBytesPerSec },
      waiting: [],
      busyUntilMs: startMs,
      inFlight: 0,
      failures: 0,
      retryAtMs: -Infinity,
      givenUp: false,
    };
    this.#queues.set(contact, queue);
    return queue;
  }

  /** Replaces a bundle no route carries whole by fragments of at most `maxEncodedBytes` (§5.8). */
  #fragment(store: BundleStore, held: Held, maxEncodedBytes: number, nowMs: number): void {
    const bundle = this.#readStored(store, held.id);
    if (bundle === undefined) {
      this.#forget(held);
      return;
    }
    let pieces: Bundle[];
    try {
      // The fragments restart their residence here: the age they had until now goes into them.
      pieces = fragmentBundle(withResidenceTime(bundle, durationMs(nowMs - held.receivedAtMs)), maxEncodedBytes, this.#limits.fragmentsPerBundleMax);
    } catch (error) {
      this.#park(held, nowMs, `cannot be fragmented: ${(error as Error).message}`);
      return;
    }
    if (pieces.length < 2) {
      this.#park(held, nowMs, 'no route, and fragmenting does not help');
      return;
    }
    const entries = pieces.map((piece) => ({
      bundle: { key: bundleKey(piece), destination: held.destination, localDelivery: false, priority: held.priority, expiresAtMs: unixMs(held.expiresAtMs) },
      bytes: encodeBundle(piece),
    }));
    const results = store.putAll(entries);
    const refused = results.find((r) => !r.stored && r.reason !== 'duplicate');
    if (refused !== undefined) {
      for (const r of results) if (r.stored) store.discard(r.id);
      this.#park(held, nowMs, `its fragments do not fit in the store (${refused.stored ? '' : refused.reason})`);
      return;
    }
    // A crash here leaves the bundle and its fragments: both travel, the destination delivers the ADU once.
    store.discard(held.id);
    this.#forget(held);
    results.forEach((r, i) => {
      if (r.stored) this.#admit({ id: r.id, ...entries[i]!.bundle, sizeBytes: entries[i]!.bytes.byteLength, receivedAtMs: unixMs(nowMs) }, pieces[i]!);
      else this.#refillWanted = true;
    });
    this.#counters.fragmentsCreated += pieces.length;
    this.#log('agent.fragmented', { key: held.key, fragments: pieces.length, maxEncodedBytes, atMs: nowMs });
  }

  // -------------------------------------------------------------------------------------------
  // The forwarding pass: route what waits, serve the open contacts, set the next wake-up

  #queuePass(): void {
    if (this.#passQueued || !this.#running) return;
    this.#passQueued = true;
    queueMicrotask(() => {
      this.#passQueued = false;
      this.#pass();
    });
  }

  #pass(): void {
    const store = this.#store;
    if (!this.#running || store === undefined) return;
    let moreNow = false;
    try {
      const nowMs = this.#clock.now();
      if (this.#refillWanted) this.#refill(store);
      while (this.#parked.length > 0 && this.#parked[0]!.routeAfterMs <= nowMs) {
        const held = this.#parked.shift()!;
        if (held.state !== 'parked' || this.#held.get(held.id) !== held) continue;
        held.state = 'unrouted';
        this.#unrouted.add(held);
      }
      let routed = 0;
      for (const held of [...this.#unrouted]) {
        if (routed >= this.#limits.routesPerPassMax) {
          moreNow = true;
          break;
        }
        routed += 1;
        try {
          this.#route(store, held, nowMs);
        } catch (error) {
          this.#error('route', error, { key: held.key });
          this.#unrouted.delete(held);
          this.#park(held, nowMs, 'routing failed');
        }
      }
      for (const queue of [...this.#queues.values()]) this.#serve(store, queue, nowMs);
    } catch (error) {
      this.#error('pass', error);
      moreNow = false;
      this.#wakeAt(this.#clock.now() + this.#limits.sendRetryDelayMs);
    }
    this.#scheduleWake(moreNow);
  }

  #serve(store: BundleStore, queue: ContactQueue, nowMs: number): void {
    if (nowMs >= queue.paced.endMs || queue.givenUp) {
      for (const held of queue.waiting.splice(0)) this.#reroute(held, queue.givenUp ? 'contact given up' : 'contact ended');
      if (queue.inFlight === 0 && this.#queues.get(queue.contact) === queue) this.#queues.delete(queue.contact);
      return;
    }
    if (nowMs < queue.paced.startMs || nowMs < queue.retryAtMs) return;
    while (queue.waiting.length > 0 && queue.inFlight < this.#limits.inFlightPerContactMax) {
      const held = queue.waiting[0]!;
      const opportunity = sendOpportunity(queue.paced, queue.busyUntilMs, held.sizeBytes + FORWARDING_GROWTH_BYTES_MAX, nowMs);
      if (opportunity.kind === 'wait') break;
      queue.waiting.shift();
      if (opportunity.kind === 'never') {
        this.#exclude(held, queue.contact);
        this.#reroute(held, 'no time left on the contact');
        continue;
      }
      this.#transmit(store, queue, held, nowMs);
    }
  }

  #transmit(store: BundleStore, queue: ContactQueue, held: Held, nowMs: number): void {
    const link = formatEid(ipnEid(queue.neighbour, 0));
    let stored: Uint8Array | undefined;
    try {
      stored = store.startSending(held.id, link);
    } catch (error) {
      if (error instanceof OrbitfedError && error.code === 'ORBITFED_STORE_CORRUPT') {
        this.#log('agent.bundle-unreadable', { id: held.id, key: held.key, ...errorFields(error) });
        store.discard(held.id);
        this.#forget(held);
        this.#counters.bundlesDeleted += 1;
        return;
      }
      queue.waiting.unshift(held);
      queue.retryAtMs = nowMs + this.#limits.sendRetryDelayMs;
      throw error;
    }
    if (stored === undefined) {
      // Gone (expired, discarded) or already in flight elsewhere.
      this.#forget(held);
      return;
    }
    let wire: Uint8Array;
    try {
      const bundle = decodeBundle(stored, this.#storedLimits);
      const copy = forwardedCopy(bundle, { residence: durationMs(nowMs - held.receivedAtMs), previousNodeId: this.#nodeId });
      if (isHopLimitExceeded(copy)) {
        store.sendFailed(held.id);
        store.discard(held.id);
        this.#forget(held);
        this.#deleteBundle(bundle, held.key, STATUS_REPORT_REASON.hopLimitExceeded, 'hop limit exceeded');
        return;
      }
      wire = encodeBundle(copy);
    } catch (error) {
      store.sendFailed(held.id);
      this.#log('agent.bundle-unreadable', { id: held.id, key: held.key, ...errorFields(error) });
      store.discard(held.id);
      this.#forget(held);
      this.#counters.bundlesDeleted += 1;
      return;
    }
    const opportunity = sendOpportunity(queue.paced, queue.busyUntilMs, wire.byteLength, nowMs);
    if (opportunity.kind !== 'now') {
      store.sendFailed(held.id);
      if (opportunity.kind === 'never') {
        this.#exclude(held, queue.contact);
        this.#reroute(held, 'no time left on the contact');
      } else {
        queue.waiting.unshift(held);
      }
      return;
    }
    queue.busyUntilMs = opportunity.endMs;
    queue.inFlight += 1;
    held.state = 'sending';
    const generation = this.#generation;
    this.#log('agent.sending', { key: held.key, neighbour: queue.neighbour, contact: queue.contact, sizeBytes: wire.byteLength, atMs: nowMs });
    let sending: Promise<void>;
    try {
      sending = queue.cl.send(queue.peer, wire, { signal: this.#abort.signal });
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending.then(
      () => this.#sent(generation, store, queue, held),
      (error: unknown) => this.#sendFailed(generation, store, queue, held, error),
    );
  }

  #sent(generation: number, store: BundleStore, queue: ContactQueue, held: Held): void {
    if (generation !== this.#generation) return;
    queue.inFlight -= 1;
    queue.failures = 0;
    try {
      store.forwarded(held.id);
    } catch (error) {
      this.#error('forwarded', error, { key: held.key });
    }
    this.#queuePass();
    // Expired while in flight: the sweep forgot it already.
    if (this.#held.get(held.id) !== held) return;
    // The first hop's volume is spent; the later hops are the next node's to book.
    this.#releaseBooking(held, true);
    this.#forget(held);
    this.#counters.bundlesForwarded += 1;
    this.#log('agent.forwarded', { key: held.key, neighbour: queue.neighbour, atMs: this.#clock.now() });
  }

  #sendFailed(generation: number, store: BundleStore, queue: ContactQueue, held: Held, error: unknown): void {
    if (generation !== this.#generation) return;
    queue.inFlight -= 1;
    try {
      store.sendFailed(held.id);
    } catch (storeError) {
      this.#error('send-failed', storeError, { key: held.key });
    }
    this.#counters.sendFailures += 1;
    const nowMs = this.#clock.now();
    this.#log('agent.send-failed', { key: held.key, neighbour: queue.neighbour, contact: queue.contact, failures: queue.failures + 1, ...errorFields(error), atMs: nowMs });
    if (this.#held.get(held.id) !== held) return;
    const current = this.#queues.get(queue.contact) === queue && held.booking?.bookings === this.#bookings;
    if (!current || queue.givenUp || nowMs >= queue.paced.endMs) {
      this.#reroute(held, 'send failed after its contact ended or the plan changed');
      return;
    }
    if (error instanceof OrbitfedError && error.code === 'ORBITFED_CL_TOO_LARGE') {
      this.#exclude(held, queue.contact);
      this.#reroute(held, 'the convergence layer does not take a bundle this large');
      return;
    }
    queue.failures += 1;
    if (queue.failures >= this.#limits.contactFailuresMax) {
      queue.givenUp = true;
      this.#givenUp.add(queue.contact);
      this.#counters.contactsGivenUp += 1;
      this.#log('agent.contact-given-up', { contact: queue.contact, neighbour: queue.neighbour, failures: queue.failures, atMs: nowMs });
      this.#reroute(held, 'contact given up');
      return;
    }
    const delayMs = Math.min(this.#limits.sendRetryDelayMs * 2 ** (queue.failures - 1), this.#limits.sendRetryDelayMaxMs);
    queue.retryAtMs = Math.max(queue.retryAtMs, nowMs + delayMs);
    held.state = 'queued';
    insertSorted(queue.waiting, held);
    this.#queuePass();
  }

  #scheduleWake(moreNow: boolean): void {
    if (!this.#running) return;
    const nowMs = this.#clock.now();
    let wakeMs = moreNow ? nowMs : Infinity;
    for (const queue of this.#queues.values()) {
      if (queue.waiting.length === 0) continue;
      if (nowMs < queue.paced.startMs) {
        wakeMs = Math.min(wakeMs, queue.paced.startMs);
        continue;
      }
      wakeMs = Math.min(wakeMs, queue.paced.endMs);
      if (queue.inFlight < this.#limits.inFlightPerContactMax) wakeMs = Math.min(wakeMs, Math.max(queue.retryAtMs, queue.busyUntilMs));
    }
    if (this.#parked.length > 0) wakeMs = Math.min(wakeMs, this.#parked[0]!.routeAfterMs);
    if (this.#unrouted.size > 0) wakeMs = Math.min(wakeMs, nowMs);
    if (wakeMs !== Infinity) this.#wakeAt(Math.max(wakeMs, nowMs));
  }

  #wakeAt(atMs: number): void {
    if (this.#wakeTimer !== undefined && this.#wakeAtMs <= atMs) return;
    this.#wakeTimer?.cancel();
    this.#wakeAtMs = atMs;
    const generation = this.#generation;
    this.#wakeTimer = this.#clock.setTimer(Math.max(0, atMs - this.#clock.now()) as DurationMs, () => {
      if (generation !== this.#generation) return;
      this.#wakeTimer = undefined;
      this.#wakeAtMs = Infinity;
      this.#pass();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Expiry, deletion and status reports

  #scheduleExpiry(): void {
    const generation = this.#generation;
    this.#expiryTimer = this.#clock.setTimer(this.#limits.expiryIntervalMs as DurationMs, () => {
      if (generation !== this.#generation) return;
      this.#expire();
      this.#scheduleExpiry();
    });
  }

  #expire(): void {
    const store = this.#store;
    if (store === undefined) return;
    try {
      for (let call = 0; call < EXPIRY_CALLS_PER_SWEEP; call++) {
        const result = store.expire({ limit: BUNDLE_STORE_BATCH_MAX });
        for (const expired of result.expired) {
          this.#counters.bundlesExpired += 1;
          this.#log('agent.expired', { key: expired.key, destination: expired.destination, state: expired.state, atMs: this.#clock.now() });
          const held = this.#held.get(expired.id);
          if (held === undefined) continue;
          // Only bundles in the working set have their primary block at hand for a deletion report.
          if (held.primary.flags.reportDeletion) this.#report(this.#subjectOf(held), { deleted: this.#dtnNow() }, STATUS_REPORT_REASON.lifetimeExpired);
          this.#forget(held);
        }
        if (!result.more) break;
      }
    } catch (error) {
      this.#error('expire', error);
    }
    this.#queuePass();
  }

  /** A bundle deleted before it was stored or sent: counted, logged, reported if it asked. */
  #deleteBundle(bundle: Bundle, key: string, reasonCode: number, why: string): void {
    this.#counters.bundlesDeleted += 1;
    this.#log('agent.deleted', { key, why });
    if (bundle.primary.flags.reportDeletion) this.#report(bundle, { deleted: this.#dtnNow() }, reasonCode);
  }

  #subjectOf(held: Held): Bundle {
    // A status report names a fragment by offset and payload length (§6.1.1): the payload's length is all it reads.
    const data = new Uint8Array(held.primary.fragment === undefined ? 0 : held.payloadBytes);
    return { primary: held.primary, extensionBlocks: [], payload: { flags: NO_BLOCK_FLAGS, crcType: CRC_NONE, data } };
  }

  #dtnNow() {
    return dtnTimeFromUnixMs(this.#clock.now());
  }

  /** Stores a status report about `subject` for its report-to endpoint (§6.1), and routes it. */
  #report(subject: Bundle, times: StatusTimes, reasonCode: number): void {
    const store = this.#store;
    const reportTo = subject.primary.reportTo;
    if (store === undefined || subject.primary.flags.isAdminRecord || reportTo.kind === 'null') return;
    try {
      const nowMs = this.#clock.now();
      const record = statusReportAbout(subject, times, reasonCode);
      const bundle = this.#withHopCount(adminRecordBundle(record, {
        destination: reportTo,
        source: this.#nodeId,
        creation: { dtnTimeMs: dtnTimeFromUnixMs(nowMs), sequence: this.#sequence!.next() },
        lifetimeMs: this.#limits.statusReportLifetimeMs,
      }));
      const bytes = encodeBundle(bundle);
      const meta = this.#metaOf(bundle, nowMs, BUNDLE_PRIORITY.normal);
      const result = store.put(meta, bytes);
      if (!result.stored) {
        this.#log('agent.status-report-dropped', { about: bundleKey(subject), reason: result.reason });
        return;
      }
      this.#counters.statusReportsSent += 1;
      this.#log('agent.status-report-sent', { about: bundleKey(subject), to: meta.destination, reasonCode });
      this.#afterPut(result.id, meta, bundle, bytes.byteLength, nowMs);
    } catch (error) {
      this.#error('status-report', error, { about: bundleKey(subject) });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Local delivery and reassembly

  #queueDelivery(): void {
    if (this.#deliveryQueued || !this.#running) return;
    this.#deliveryQueued = true;
    queueMicrotask(() => {
      this.#deliveryQueued = false;
      this.#deliverAll();
    });
  }

  #deliverAll(): void {
    const store = this.#store;
    if (!this.#running || store === undefined) return;
    const endpoints: [string, DeliveryHandler | undefined][] = [[formatEid(this.#nodeId), undefined], ...this.#endpoints];
    for (const [endpoint, handler] of endpoints) {
      for (let batch = 0; batch < DELIVERY_BATCHES_PER_PASS; batch++) {
        const consumed: string[] = [];
        const handlerFailure: { failed: boolean } = { failed: false };
        let delivered: number;
        try {
          delivered = store.takeForDelivery({ destination: endpoint, limit: DELIVERY_BATCH_BUNDLES }, (stored, bytes) => {
            this.#consume(store, stored, bytes, handler, handlerFailure);
            consumed.push(stored.key);
          });
        } catch (error) {
          // The handler threw: the bundles it took before are delivered, that one waits. Or the
          // store failed: the batch is undone. Either way the rest comes later.
          this.#error('delivery', error, { endpoint });
          this.#retryDeliveryLater(this.#limits.deliveryRetryDelayMs);
          if (handlerFailure.failed) this.#committed(endpoint, consumed);
          break;
        }
        this.#committed(endpoint, consumed);
        if (delivered < DELIVERY_BATCH_BUNDLES) break;
        // More than a pass delivers: the rest after other work had its turn.
        if (batch === DELIVERY_BATCHES_PER_PASS - 1) this.#retryDeliveryLater(0);
      }
    }
  }

  /** Deliveries are on disk: from here on they are never offered again. */
  #committed(endpoint: string, keys: readonly string[]): void {
    if (keys.length === 0) return;
    this.#counters.bundlesDelivered += keys.length;
    this.#log('agent.delivery-committed', { endpoint, keys, atMs: this.#clock.now() });
  }

  #consume(store: BundleStore, stored: StoredBundle, bytes: Uint8Array, handler: DeliveryHandler | undefined, handlerFailure: { failed: boolean }): void {
    let bundle: Bundle;
    try {
      bundle = decodeBundle(bytes, this.#storedLimits);
    } catch (error) {
      this.#log('agent.bundle-unreadable', { id: stored.id, key: stored.key, ...errorFields(error) });
      store.discard(stored.id);
      this.#counters.bundlesDeleted += 1;
      return;
    }
    if (handler === undefined) {
      this.#readAdminRecord(bundle, stored.key);
    } else {
      try {
        handler({ key: stored.key, bundle, payload: bundle.payload.data, source: bundle.primary.source, receivedAtMs: stored.receivedAtMs });
      } catch (error) {
        handlerFailure.failed = true;
        throw error;
      }
    }
    this.#log('agent.delivered', { key: stored.key, destination: stored.destination, atMs: this.#clock.now() });
    // Inside the delivery's transaction: the report is stored if and only if the delivery is
    // recorded. (Were the transaction rolled back after all, the report admitted to the working set
    // is simply not found in the store when its turn comes, and forgotten.)
    if (bundle.primary.flags.reportDelivery) this.#report(bundle, { delivered: this.#dtnNow() }, STATUS_REPORT_REASON.noAdditionalInformation);
  }

  #readAdminRecord(bundle: Bundle, key: string): void {
    try {
      const record = adminRecordOf(bundle);
      if (record.kind !== 'status-report') {
        this.#log('agent.admin-record-ignored', { key, recordType: record.recordType });
        return;
      }
      this.#log('agent.status-report-received', {
        key,
        subjectSource: formatEid(record.subjectSource),
        subjectCreationMs: record.subjectCreation.dtnTimeMs,
        subjectSequence: String(record.subjectCreation.sequence),
        delivered: record.delivered.asserted,
        deleted: record.deleted.asserted,
        reasonCode: record.reasonCode,
      });
      this.#options.onStatusReport?.(record);
    } catch (error) {
      this.#log('agent.admin-record-unreadable', { key, ...errorFields(error) });
    }
  }

  #retryDeliveryLater(delayMs: number): void {
    if (this.#deliveryRetryTimer !== undefined) return;
    const generation = this.#generation;
    this.#deliveryRetryTimer = this.#clock.setTimer(delayMs as DurationMs, () => {
      if (generation !== this.#generation) return;
      this.#deliveryRetryTimer = undefined;
      this.#queueDelivery();
    });
  }

  /** Looks for fragments whose ADU is complete among every local fragment queue (after a start). */
  #reassembleAll(): void {
    const store = this.#store;
    if (store === undefined) return;
    const queues = new Set<string>();
    try {
      for (const stored of store.listDeliverable({ limit: BUNDLE_STORE_BATCH_MAX })) {
        if (stored.destination.endsWith(FRAGMENT_QUEUE_SUFFIX)) queues.add(stored.destination);
      }
    } catch (error) {
      this.#error('reassembly', error);
    }
    for (const queue of queues) this.#reassemble(queue);
  }

  /** Reassembles every ADU whose fragments in `fragmentQueue` cover it (§5.9), then delivers it. */
  #reassemble(fragmentQueue: string): void {
    const store = this.#store;
    if (store === undefined) return;
    try {
      const byAdu = new Map<string, { readonly stored: StoredBundle; readonly offsetBytes: number; readonly lengthBytes: number }[]>();
      for (const stored of store.listDeliverable({ destination: fragmentQueue, limit: BUNDLE_STORE_BATCH_MAX })) {
        // bundleKey of a fragment: "<source> <time> <sequence> <offset> <payload length>" (bundle.ts).
        const parts = stored.key.split(' ');
        if (parts.length !== 5) continue;
        const adu = parts.slice(0, 3).join(' ');
        const list = byAdu.get(adu) ?? [];
        list.push({ stored, offsetBytes: Number(parts[3]), lengthBytes: Number(parts[4]) });
        byAdu.set(adu, list);
      }
      for (const [adu, fragments] of byAdu) this.#reassembleAdu(store, adu, fragments);
    } catch (error) {
      this.#error('reassembly', error, { queue: fragmentQueue });
    }
  }

  #reassembleAdu(store: BundleStore, adu: string, fragments: readonly { readonly stored: StoredBundle; readonly offsetBytes: number; readonly lengthBytes: number }[]): void {
    const first = this.#readStored(store, fragments[0]!.stored.id);
    const totalBytes = first?.primary.fragment?.totalAduLengthBytes;
    if (totalBytes === undefined) return;
    let coveredTo = 0;
    for (const f of [...fragments].sort((a, b) => a.offsetBytes - b.offsetBytes)) {
      if (f.offsetBytes > coveredTo) return;
      coveredTo = Math.max(coveredTo, f.offsetBytes + f.lengthBytes);
    }
    if (coveredTo < totalBytes) return;
    const reassembler = new Reassembler({ maxPartialBundles: 1, maxBufferedBytes: totalBytes, maxExtentsPerBundle: fragments.length + 1 });
    let whole: Bundle | undefined;
    for (const f of fragments) {
      const piece = this.#readStored(store, f.stored.id);
      if (piece === undefined) return;
      whole = reassembler.add(piece) ?? whole;
    }
    assert.ok(whole !== undefined, `fragments of ${adu} cover its ${totalBytes} bytes but did not reassemble`);
    const bytes = encodeBundle(whole);
    const meta: BundleToStore = {
      key: bundleKey(whole),
      destination: formatEid(whole.primary.destination),
      localDelivery: true,
      priority: BUNDLE_PRIORITY.normal,
      expiresAtMs: fragments[0]!.stored.expiresAtMs,
    };
    const result = store.put(meta, bytes);
    if (!result.stored && result.reason !== 'duplicate') {
      this.#log('agent.reassembly-refused', { key: meta.key, reason: result.reason });
      return;
    }
    // Stored (or stored before a crash, or delivered already): the fragments have served.
    for (const f of fragments) store.markDelivered(f.stored.id);
    this.#counters.bundlesReassembled += 1;
    this.#log('agent.reassembled', { key: meta.key, fragments: fragments.length, sizeBytes: bytes.byteLength, atMs: this.#clock.now() });
    this.#queueDelivery();
  }

  // -------------------------------------------------------------------------------------------

  #requireStore(): BundleStore {
    if (!this.#running || this.#store === undefined) throw new OrbitfedError('ORBITFED_AGENT_STOPPED', 'the bundle agent is not running');
    return this.#store;
  }

  #error(where: string, error: unknown, fields: Record<string, unknown> = {}): void {
    this.#counters.errors += 1;
    this.#log('agent.error', { where, ...fields, ...errorFields(error) });
  }
}
