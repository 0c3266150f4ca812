// A small federation on a ledger for the consensus tests: one currency with its fee and escrow
// accounts, tenants with money, nodes with provider and stake accounts, and helpers to open
// escrows and sign receipts. Keys come from fixed labels, so every run is the same.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { UnixMs } from '../../common/index.ts';
import { ed25519KeyPairFromSeed } from '../../consensus/ed25519.ts';
import { Ledger, type BlockResult } from '../../consensus/ledger.ts';
import { registerNodeTransaction } from '../../consensus/ledger-nodes.ts';
import { defaultLedgerParams, type LedgerParams } from '../../consensus/ledger-params.ts';
import type { LedgerTransaction, TransactionResult } from '../../consensus/ledger-transactions.ts';
import { makeReceipt, signReceipt, type NewReceipt, type SignedReceipt } from '../../consensus/receipt.ts';

export const CHAIN_ID = 'orbitfed-test';
export const CURRENCY = 'EUR';
/** 2026-06-14T00:00:00Z. */
export const T0_MS = 1_781_395_200_000;
export const HOUR_MS = 3_600_000;

/** A fixed 32-byte seed per label. */
export const seedOf = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(`orbitfed test key ${label}`).digest());

export const USAGE = { cpuMs: 120_000, memoryByteSeconds: 512n * 1024n * 1024n * 60n, diskByteSeconds: 10n ** 12n, gpuMs: 0, egressBytes: 4_000_000n };

export class LedgerWorld {
  readonly ledger: Ledger;
  nowMs: number;
  /** Each node's current key seed. */
  readonly seeds = new Map<string, Uint8Array>();
  #sequence = 0;

  constructor(params: Partial<LedgerParams> = {}, ledger?: Ledger) {
    this.ledger = ledger ?? Ledger.genesis({ ...defaultLedgerParams(CHAIN_ID), ...params });
    this.nowMs = ledger?.lastBlockTimeMs ?? T0_MS;
  }

  /** Applies a block `stepMs` after the last one. */
  block(txs: readonly LedgerTransaction[], stepMs = 1000): BlockResult {
    this.nowMs += stepMs;
    return this.ledger.applyBlock(txs, this.nowMs);
  }

  /** Applies one transaction in its own block and returns its result. */
  apply(tx: LedgerTransaction, stepMs = 1000): TransactionResult {
    return this.block([tx], stepMs).results[0]!;
  }

  /** Applies transactions that must all be applied. */
  setUp(txs: readonly LedgerTransaction[]): void {
    const results = this.block(txs).results;
    results.forEach((r, i) => expect(r.status, `${txs[i]!.kind}: ${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`).toBe('applied'));
  }

  /** Fee and escrow accounts for the currency. */
  currency(currency = CURRENCY): void {
    this.setUp([
      { kind: 'open-account', accountId: `fee-${currency}`, accountKind: 'fee', currency, ownerId: 'protocol' },
      { kind: 'open-account', accountId: `escrow-${currency}`, accountKind: 'escrow', currency, ownerId: 'protocol' },
    ]);
  }

  tenant(id: string, balanceMinor: bigint, currency = CURRENCY): void {
    this.setUp([
      { kind: 'open-account', accountId: id, accountKind: 'tenant', currency, ownerId: id },
      { kind: 'mint', transferId: `mint-${id}`, accountId: id, amountMinor: balanceMinor },
    ]);
  }

  /** A registered node with a provider account "<id>-earnings" and a stake account "<id>-stake". */
  node(id: string, stakeMinor = 0n, currency = CURRENCY): void {
    const seed = seedOf(id);
    this.seeds.set(id, seed);
    const txs: LedgerTransaction[] = [
      registerNodeTransaction(CHAIN_ID, id, seed),
      { kind: 'open-account', accountId: `${id}-earnings`, accountKind: 'provider', currency, ownerId: id },
      { kind: 'open-account', accountId: `${id}-stake`, accountKind: 'stake', currency, ownerId: id },
    ];
    if (stakeMinor > 0n) txs.push({ kind: 'mint', transferId: `mint-${id}-stake`, accountId: `${id}-stake`, amountMinor: stakeMinor });
    this.setUp(txs);
  }

  publicKeyOf(id: string): Uint8Array {
    return ed25519KeyPairFromSeed(this.seeds.get(id)!).publicKey;
  }

  escrow(escrowId: string, jobId: string, tenantId: string, nodeId: string, amountMinor: bigint, deadlineMs = this.nowMs + 72 * HOUR_MS): void {
    this.setUp([{ kind: 'escrow-open', escrowId, jobId, tenantAccountId: tenantId, providerAccountId: `${nodeId}-earnings`, amountMinor, deadlineMs }]);
  }

  /** A receipt signed by the node's current key, created now unless said otherwise. */
  receipt(nodeId: string, jobId: string, amountMinor: bigint, fields: Partial<NewReceipt> = {}, seed = this.seeds.get(nodeId)!): SignedReceipt {
    const keyEpoch = this.ledger.node(nodeId) === undefined ? 0 : this.ledger.node(nodeId)!.keys.length - 1;
    const receipt = makeReceipt({
      chainId: CHAIN_ID, nodeId, keyEpoch, sequence: ++this.#sequence, jobId, usage: USAGE, amountMinor, currency: CURRENCY,
      createdAtMs: this.nowMs as UnixMs, ...fields,
    });
    return signReceipt(receipt, seed);
  }

  balance(accountId: string): bigint {
    return this.ledger.account(accountId)!.balanceMinor;
  }
}

/** JSON with bigints as strings, for messages. */
export const show = (value: unknown): string => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
