// Four validators (real ed25519 keys, real ledger, real chain stores on disk) wired through an
// in-memory network on a virtual clock: messages go through the wire codec, are delayed, and may be
// dropped or duplicated by a seeded generator. Validators can be crashed (their objects thrown away)
// and restarted from their files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRng, VirtualClock, type DurationMs, type UnixMs } from '../../common/index.ts';
import { ChainStore } from '../../consensus/chain-store.ts';
import { decodeValidatorMessage, encodeValidatorMessage, type ValidatorMessage } from '../../consensus/consensus-codec.ts';
import { ed25519KeyPairFromSeed, ed25519Signer, ed25519Verify } from '../../consensus/ed25519.ts';
import { checkGenesis, genesisLedger, genesisTransactionHex, type ChainGenesis } from '../../consensus/genesis.ts';
import { registerNodeTransaction } from '../../consensus/ledger-nodes.ts';
import type { LedgerTransaction } from '../../consensus/ledger-transactions.ts';
import { makeReceipt, signReceipt } from '../../consensus/receipt.ts';
import { FileSignStateStore } from '../../consensus/sign-state-file.ts';
import type { SignaturePrecheck } from '../../consensus/signature-worker-pool.ts';
import { ValidatorNode, type ValidatorTransport } from '../../consensus/validator-node.ts';
import { seedOf, USAGE } from './ledger-world.ts';

export const CHAIN = 'orbitfed-harness';
export const GENESIS_MS = 1_781_395_200_000;
export const CURRENCY = 'EUR';

/** Genesis: four validators, a currency, a tenant with money, one orbital node with its accounts. */
export function harnessGenesis(validatorCount = 4): ChainGenesis {
  const txs: LedgerTransaction[] = [
    { kind: 'open-account', accountId: `fee-${CURRENCY}`, accountKind: 'fee', currency: CURRENCY, ownerId: 'protocol' },
    { kind: 'open-account', accountId: `escrow-${CURRENCY}`, accountKind: 'escrow', currency: CURRENCY, ownerId: 'protocol' },
    { kind: 'open-account', accountId: 'tenant-a', accountKind: 'tenant', currency: CURRENCY, ownerId: 'tenant-a' },
    { kind: 'mint', transferId: 'mint-tenant-a', accountId: 'tenant-a', amountMinor: 10n ** 12n },
    registerNodeTransaction(CHAIN, 'sat-1', seedOf('sat-1')),
    { kind: 'open-account', accountId: 'sat-1-earnings', accountKind: 'provider', currency: CURRENCY, ownerId: 'sat-1' },
  ];
  return checkGenesis({
    chainId: CHAIN,
    genesisTimeMs: GENESIS_MS,
    validators: Array.from({ length: validatorCount }, (_, i) => ({
      name: `v${i}`, publicKey: Buffer.from(ed25519KeyPairFromSeed(seedOf(`validator-${i}`)).publicKey).toString('hex'), votingPower: 10,
    })),
    transactions: txs.map(genesisTransactionHex),
  });
}

export function escrowTx(job: number, amountMinor = 1_000n): LedgerTransaction {
  return {
    kind: 'escrow-open', escrowId: `escrow-${job}`, jobId: `job-${job}`, tenantAccountId: 'tenant-a', providerAccountId: 'sat-1-earnings',
    amountMinor, deadlineMs: GENESIS_MS + 72 * 3_600_000,
  };
}

export function receiptTx(job: number, createdAtMs: number, amountMinor = 900n): LedgerTransaction {
  const receipt = makeReceipt({
    chainId: CHAIN, nodeId: 'sat-1', keyEpoch: 0, sequence: job + 1, jobId: `job-${job}`, usage: USAGE, amountMinor, currency: CURRENCY,
    createdAtMs: createdAtMs as UnixMs,
  });
  return { kind: 'settle-receipt', receipt: signReceipt(receipt, seedOf('sat-1')) };
}

export interface NetworkFaults {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  readonly delayMsMax: number;
}

export class ValidatorHarness {
  readonly clock = new VirtualClock(GENESIS_MS + 1000 as UnixMs);
  readonly chain: ChainGenesis;
  readonly dir = mkdtempSync(join(tmpdir(), 'orbitfed-validators-'));
  readonly nodes: (ValidatorNode | null)[];
  readonly stores: (ChainStore | null)[];
  readonly addresses: string[];
  readonly #receivers = new Map<string, (from: string, message: ValidatorMessage) => void>();
  readonly #rng: () => number;
  faults: NetworkFaults;
  /** Validators cut off from everyone (a partition of one). */
  readonly isolated = new Set<number>();
  /** Kinds of message the network loses, every one of them (mempool gossip, say). */
  readonly lostKinds = new Set<ValidatorMessage['kind']>();
  messages = 0;

  constructor(seed: number, faults: NetworkFaults = { dropProbability: 0, duplicateProbability: 0, delayMsMax: 20 }, validatorCount = 4) {
    this.chain = harnessGenesis(validatorCount);
    this.#rng = seededRng(seed);
    this.faults = faults;
    this.addresses = this.chain.genesis.validators.map((v) => this.chain.addressOfName.get(v.name)!);
    this.nodes = this.addresses.map(() => null);
    this.stores = this.addresses.map(() => null);
  }

  /** Starts validator i; `options` adds a signature precheck (worker threads) or caps its proposals. */
  start(i: number, options: { signaturePrecheck?: SignaturePrecheck; proposalTxsMax?: number; emptyBlockIntervalMs?: number } = {}): ValidatorNode {
    const store = ChainStore.open(join(this.dir, `v${i}.chain`), { blocksRetained: 1000 });
    const node = new ValidatorNode(
      {
        chainId: CHAIN, validators: this.chain.validators, ownAddress: this.addresses[i]!, genesisTimeMs: GENESIS_MS,
        snapshotEveryBlocks: 5, commitDelayMs: 50, emptyBlockIntervalMs: options.emptyBlockIntervalMs ?? 500,
        ...(options.proposalTxsMax !== undefined ? { proposalTxsMax: options.proposalTxsMax } : {}),
      },
      {
        clock: this.clock,
        key: ed25519Signer(seedOf(`validator-${i}`)),
        verify: ed25519Verify,
        signStateStore: new FileSignStateStore(join(this.dir, `v${i}.sign`), { createIfMissing: true }),
        chainStore: store,
        transport: this.#transport(i),
        genesisLedger: () => genesisLedger(this.chain),
        ...(options.signaturePrecheck !== undefined ? { signaturePrecheck: options.signaturePrecheck } : {}),
      },
    );
    node.start();
    this.nodes[i] = node;
    this.stores[i] = store;
    return node;
  }

  crash(i: number): void {
    this.nodes[i]?.stop();
    this.stores[i]?.close();
    this.nodes[i] = null;
    this.stores[i] = null;
    this.#receivers.delete(this.addresses[i]!);
  }

  /** Advances virtual time in small steps (so timers fire in order). */
  run(ms: number): void {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) this.clock.advance(Math.min(5, end - this.clock.now()) as DurationMs);
  }

  /** Runs until every running validator has committed `height`, or fails after `msMax`. */
  runUntilHeight(height: number, msMax = 120_000): void {
    const end = this.clock.now() + msMax;
    while (this.nodes.some((n) => n !== null && n.height <= height)) {
      if (this.clock.now() > end) throw new Error(`validators did not reach height ${height}: ${this.nodes.map((n) => n?.height ?? 'down').join(', ')}`);
      this.clock.advance(5 as DurationMs);
    }
  }

  close(): void {
    for (let i = 0; i < this.nodes.length; i++) this.crash(i);
    rmSync(this.dir, { recursive: true, force: true });
  }

  #transport(i: number): ValidatorTransport {
    const from = this.addresses[i]!;
    const deliver = (to: string, bytes: Uint8Array): void => {
      const j = this.addresses.indexOf(to);
      if (this.isolated.has(i) || this.isolated.has(j)) return;
      if (this.#rng() < this.faults.dropProbability) return;
      const copies = this.#rng() < this.faults.duplicateProbability ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        this.clock.setTimer(Math.floor(this.#rng() * this.faults.delayMsMax) + 1 as DurationMs, () => {
          this.messages++;
          this.#receivers.get(to)?.(from, decodeValidatorMessage(bytes));
        });
      }
    };
    return {
      send: (to, message) => {
        if (!this.lostKinds.has(message.kind)) deliver(to, encodeValidatorMessage(message));
      },
      broadcast: (message) => {
        if (this.lostKinds.has(message.kind)) return;
        const bytes = encodeValidatorMessage(message);
        for (const to of this.addresses) if (to !== from) deliver(to, bytes);
      },
      onMessage: (receiver) => {
        this.#receivers.set(from, receiver);
      },
    };
  }
}
