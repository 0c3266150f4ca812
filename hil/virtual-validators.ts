// The swarm's validators: real ValidatorNodes (Tendermint core, ledger, chain store and sign state
// on disk) in this process, on the swarm's clock, talking through an in-process transport that
// loses, duplicates, delays and so reorders messages with the run's seeded generator (the fault
// model of consensus-simulation.ts, through the real wire codec). Validators crash (their objects
// dropped, their files left as kill -9 leaves them) and restart from those files. Clients reach them through `InProcessValidatorClient`, which answers as the
// validator RPC does (consensus/validator-rpc.ts): the scheduler's escrow ledger
// (ValidatorEscrowLedger) and the stations' receipt gateways submit to a running validator's
// mempool and wait for the commit, so escrows and settlements are real consensus.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OrbitfedError, type DurationMs } from '../common/index.ts';
import {
  ChainStore, checkGenesis, decodeValidatorMessage, ed25519PublicKeyFromSeed, ed25519Signer, ed25519Verify, encodeValidatorMessage, FileSignStateStore,
  genesisLedger, genesisTransactionHex, registerNodeTransaction, ValidatorNode, type ChainGenesis, type LedgerTransaction, type SubmittedTx,
  type ValidatorClient, type ValidatorMessage, type ValidatorTransport,
} from '../consensus/index.ts';
import { escrowAccountId, feeAccountId, providerAccountId, tenantAccountId, type EscrowValidatorClient } from '../scheduler/index.ts';
import type { SimulationClock } from './virtual-clock.ts';
import type { SwarmTrace } from './swarm-trace.ts';

export interface ValidatorNetworkFaults {
  /** Each message (each copy) is lost with this probability. */
  readonly dropProbability: number;
  /** Each message is delivered twice with this probability. */
  readonly duplicateProbability: number;
  /** Each copy arrives after a delay uniform in [delayMsMin, delayMsMax]: different delays reorder. */
  readonly delayMsMin: number;
  readonly delayMsMax: number;
}

export const VALIDATOR_NETWORK_QUIET: ValidatorNetworkFaults = { dropProbability: 0, duplicateProbability: 0, delayMsMin: 5, delayMsMax: 30 };

/** Messages in flight between validators, at most; more are dropped (a real network's queues are bounded too). */
export const VALIDATOR_MESSAGES_IN_FLIGHT_MAX = 100_000;

export interface VirtualGenesisOptions {
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly currency: string;
  readonly tenants: readonly string[];
  readonly tenantBalanceMinor: bigint;
  /** Node ids registered with their keys and provider accounts named as the scheduler names them. */
  readonly nodeSeeds: ReadonlyMap<string, Uint8Array>;
  readonly validatorSeeds: readonly Uint8Array[];
  readonly validatorStakeMinor?: bigint;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The genesis `writeTestnet` writes for a federation (consensus/testnet.ts), from given keys instead of fresh random ones. */
export function virtualGenesis(options: VirtualGenesisOptions): ChainGenesis {
  const { currency, chainId } = options;
  const txs: LedgerTransaction[] = [
    { kind: 'open-account', accountId: feeAccountId(currency), accountKind: 'fee', currency, ownerId: 'federation' },
    { kind: 'open-account', accountId: escrowAccountId(currency), accountKind: 'escrow', currency, ownerId: 'federation' },
  ];
  for (const tenant of options.tenants) {
    const accountId = tenantAccountId(tenant, currency);
    txs.push({ kind: 'open-account', accountId, accountKind: 'tenant', currency, ownerId: tenant });
    txs.push({ kind: 'mint', transferId: `mint-${tenant}`, accountId, amountMinor: options.tenantBalanceMinor });
  }
  for (const [nodeId, seed] of options.nodeSeeds) {
    txs.push(registerNodeTransaction(chainId, nodeId, seed));
    txs.push({ kind: 'open-account', accountId: providerAccountId(nodeId, currency), accountKind: 'provider', currency, ownerId: nodeId });
  }
  options.validatorSeeds.forEach((seed, i) => {
    const nodeId = `validator-${i}`;
    txs.push(registerNodeTransaction(chainId, nodeId, seed));
    txs.push({ kind: 'open-account', accountId: `${nodeId}-stake`, accountKind: 'stake', currency, ownerId: nodeId });
    txs.push({ kind: 'mint', transferId: `mint-${nodeId}-stake`, accountId: `${nodeId}-stake`, amountMinor: options.validatorStakeMinor ?? 1_000_000n });
  });
  return checkGenesis({
    chainId,
    genesisTimeMs: options.genesisTimeMs,
    validators: options.validatorSeeds.map((seed, i) => ({ name: `v${i}`, publicKey: hex(ed25519PublicKeyFromSeed(seed)), votingPower: 10, nodeId: `validator-${i}` })),
    transactions: txs.map(genesisTransactionHex),
  });
}

export interface VirtualValidatorsOptions {
  readonly clock: SimulationClock;
  readonly dir: string;
  readonly chain: ChainGenesis;
  readonly seeds: readonly Uint8Array[];
  /** The run's generator: message faults draw from it. */
  readonly rng: () => number;
  readonly faults: ValidatorNetworkFaults;
  readonly trace: SwarmTrace;
}

interface Running {
  readonly node: ValidatorNode;
  readonly store: ChainStore;
  /** Client waits on this validator; aborted when it crashes. */
  readonly waits: AbortController;
}

/**
 * Consensus timing for the swarm: a block within 200 ms of a transaction, an empty one every 30 s
 * of virtual time when idle, gossip every 2 s. An idle chain is most of a run's events otherwise
 * (a block per second is ~50 messages, signatures and commits), and it is not what the scenarios test.
 */
const COMMIT_DELAY_MS = 200;
const EMPTY_BLOCK_INTERVAL_MS = 30_000;
const GOSSIP_INTERVAL_MS = 2_000;
/** Message delays are whole multiples of this: messages due together are handled in one instant. */
const DELAY_QUANTUM_MS = 5;
const SNAPSHOT_EVERY_BLOCKS = 50;

export class VirtualValidators {
  readonly #options: VirtualValidatorsOptions;
  readonly addresses: readonly string[];
  readonly #running: (Running | undefined)[];
  readonly #receivers = new Map<string, (from: string, message: ValidatorMessage) => void>();
  #inFlight = 0;
  #messages = 0;
  #dropped = 0;

  constructor(options: VirtualValidatorsOptions) {
    this.#options = options;
    this.addresses = options.chain.genesis.validators.map((v) => options.chain.addressOfName.get(v.name)!);
    this.#running = this.addresses.map(() => undefined);
    mkdirSync(options.dir, { recursive: true });
  }

  get count(): number {
    return this.addresses.length;
  }

  isRunning(i: number): boolean {
    return this.#running[i] !== undefined;
  }

  node(i: number): ValidatorNode | undefined {
    return this.#running[i]?.node;
  }

  /** Starts validator i from its files (a new chain the first time, the stored one after a crash). */
  start(i: number): void {
    if (this.#running[i] !== undefined) throw new OrbitfedError('ORBITFED_SWARM_FAULT', `validator-${i} is already running`);
    const { clock, dir, chain, seeds, trace } = this.#options;
    const store = ChainStore.open(join(dir, `v${i}.chain`), { blocksRetained: 100_000 });
    const node = new ValidatorNode(
      {
        chainId: chain.genesis.chainId, validators: chain.validators, ownAddress: this.addresses[i]!, genesisTimeMs: chain.genesis.genesisTimeMs,
        snapshotEveryBlocks: SNAPSHOT_EVERY_BLOCKS, commitDelayMs: COMMIT_DELAY_MS, emptyBlockIntervalMs: EMPTY_BLOCK_INTERVAL_MS,
        gossipIntervalMs: GOSSIP_INTERVAL_MS, nodeOfValidator: chain.nodeOfValidator,
      },
      {
        clock,
        key: ed25519Signer(seeds[i]!),
        verify: ed25519Verify,
        signStateStore: new FileSignStateStore(join(dir, `v${i}.sign`), { createIfMissing: true }),
        chainStore: store,
        transport: this.#transport(i),
        genesisLedger: () => genesisLedger(chain),
      },
    );
    node.onCommitted((info) => trace.record(clock.now(), 'validator.commit', { validator: i, height: info.height, blockId: info.blockId, appHash: info.appHash, txs: info.txs }));
    node.start();
    this.#running[i] = { node, store, waits: new AbortController() };
  }

  /** kill -9: the node's objects are dropped; its chain store and sign state stay as written. */
  crash(i: number): void {
    const running = this.#running[i];
    if (running === undefined) throw new OrbitfedError('ORBITFED_SWARM_FAULT', `validator-${i} is not running`);
    this.#running[i] = undefined;
    this.#receivers.delete(this.addresses[i]!);
    running.waits.abort();
    running.node.stop();
    running.store.close();
  }

  stopAll(): void {
    for (let i = 0; i < this.#running.length; i++) if (this.#running[i] !== undefined) this.crash(i);
  }

  stats(): { readonly messages: number; readonly dropped: number } {
    return { messages: this.#messages, dropped: this.#dropped };
  }

  /** The first running validator from `preferred` on (round robin), or undefined when none runs. */
  pick(preferred: number): number | undefined {
    for (let k = 0; k < this.#running.length; k++) {
      const i = (preferred + k) % this.#running.length;
      if (this.#running[i] !== undefined) return i;
    }
    return undefined;
  }

  /** A client that asks the first running validator from `preferred` on, as a client with several RPC URLs would. */
  client(preferred: number): InProcessValidatorClient {
    return new InProcessValidatorClient(this, preferred);
  }

  /** What the RPC's POST /v1/txs?wait=commit answers, from validator i. */
  async submitTo(i: number, txs: readonly Uint8Array[], options: { waitForCommit?: boolean; timeoutMs?: number; signal?: AbortSignal }): Promise<SubmittedTx[]> {
    const running = this.#running[i];
    if (running === undefined) throw new OrbitfedError('ORBITFED_VALIDATOR_UNREACHABLE', `validator-${i} is down`);
    const admitted = txs.map((tx) => running.node.submit(tx));
    if (options.waitForCommit !== true) return admitted.map(({ hash, admission }) => ({ hash, admission, ...running.node.txStatus(hash) }));
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    running.waits.signal.addEventListener('abort', abort, { once: true });
    options.signal?.addEventListener('abort', abort, { once: true });
    const timer = this.#options.clock.setTimer((options.timeoutMs ?? 30_000) as DurationMs, abort);
    try {
      const statuses = await Promise.all(admitted.map(({ hash, admission }) =>
        admission === 'full' || admission === 'malformed' ? Promise.resolve({ status: 'unknown' as const }) : running.node.waitForTx(hash, controller.signal)));
      // A validator that crashed while the client waited gives no answer, as a dead RPC would not.
      if (running.waits.signal.aborted) throw new OrbitfedError('ORBITFED_VALIDATOR_UNREACHABLE', `validator-${i} went down while the client waited`);
      return admitted.map(({ hash, admission }, k) => ({ hash, admission, ...statuses[k]! }));
    } finally {
      timer.cancel();
      running.waits.signal.removeEventListener('abort', abort);
      options.signal?.removeEventListener('abort', abort);
    }
  }

  #transport(i: number): ValidatorTransport {
    const from = this.addresses[i]!;
    const { clock, rng, faults } = this.#options;
    const deliver = (to: string, bytes: Uint8Array): void => {
      const j = this.addresses.indexOf(to);
      if (j < 0 || j === i) return;
      this.#messages += 1;
      const copies = rng() < faults.duplicateProbability ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        if (rng() < faults.dropProbability || this.#inFlight >= VALIDATOR_MESSAGES_IN_FLIGHT_MAX) {
          this.#dropped += 1;
          continue;
        }
        const rawMs = faults.delayMsMin + Math.floor(rng() * (faults.delayMsMax - faults.delayMsMin + 1));
        const delayMs = Math.max(DELAY_QUANTUM_MS, Math.round(rawMs / DELAY_QUANTUM_MS) * DELAY_QUANTUM_MS);
        this.#inFlight += 1;
        clock.setTimer(delayMs as DurationMs, () => {
          this.#inFlight -= 1;
          // Lost when the receiver is down at delivery time.
          this.#receivers.get(to)?.(from, decodeValidatorMessage(bytes));
        });
      }
    };
    return {
      send: (to, message) => {
        if (this.#running[i] === undefined) return;
        deliver(to, encodeValidatorMessage(message));
      },
      broadcast: (message) => {
        if (this.#running[i] === undefined) return;
        const bytes = encodeValidatorMessage(message);
        for (const to of this.addresses) if (to !== from) deliver(to, bytes);
      },
      onMessage: (receiver) => {
        this.#receivers.set(from, receiver);
      },
    };
  }
}

/** JSON-like records as the validator RPC serves them (amounts as decimal strings). */
function record(value: object | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? hex(v) : v))) as Record<string, unknown>;
}

/**
 * The validator RPC client's shape (consensus/validator-client.ts), answered in process by the first
 * running validator from a preferred one on. Everything the RPC would fail on (no validator up)
 * fails here with the same code.
 */
export class InProcessValidatorClient implements EscrowValidatorClient, Pick<ValidatorClient, 'baseUrl'> {
  readonly #validators: VirtualValidators;
  readonly #preferred: number;

  constructor(validators: VirtualValidators, preferred: number) {
    this.#validators = validators;
    this.#preferred = preferred;
  }

  /** What logs name it by (the RPC client's URL). */
  get baseUrl(): string {
    return `in-process:validator-${this.#preferred}`;
  }

  #up(): ValidatorNode {
    const i = this.#validators.pick(this.#preferred);
    if (i === undefined) throw new OrbitfedError('ORBITFED_VALIDATOR_UNREACHABLE', 'no validator is running');
    return this.#validators.node(i)!;
  }

  async submit(txs: readonly Uint8Array[], options: { waitForCommit?: boolean; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<SubmittedTx[]> {
    const i = this.#validators.pick(this.#preferred);
    if (i === undefined) throw new OrbitfedError('ORBITFED_VALIDATOR_UNREACHABLE', 'no validator is running');
    return this.#validators.submitTo(i, txs, options);
  }

  async account(id: string): Promise<Record<string, unknown> | undefined> {
    return record(this.#up().ledger.account(id));
  }

  async escrow(id: string): Promise<Record<string, unknown> | undefined> {
    return record(this.#up().ledger.escrow(id));
  }

  async pendingEscrows(): Promise<Record<string, unknown>[]> {
    return this.#up().ledger.escrows().filter((e) => e.status === 'pending').slice(0, 10_000).map((e) => record(e)!);
  }

  async node(id: string): Promise<Record<string, unknown> | undefined> {
    return record(this.#up().ledger.node(id));
  }
}
