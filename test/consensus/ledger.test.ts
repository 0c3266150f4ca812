// The ledger as a specification: double entry, idempotent ids, two-phase escrow, no overdraft,
// the fee and its rounding, receipts settled exactly once, the key registry, slashing, reputation,
// the state hash and snapshots.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { UnixMs } from '../../common/index.ts';
import { OrbitfedError } from '../../common/index.ts';
import { ed25519KeyPairFromSeed } from '../../consensus/ed25519.ts';
import { Ledger } from '../../consensus/ledger.ts';
import { registerNodeTransaction, revokeKeyTransaction, rotateKeyTransaction } from '../../consensus/ledger-nodes.ts';
import { decodeTransaction, encodeTransaction, type LedgerTransaction, type TransactionResult } from '../../consensus/ledger-transactions.ts';
import { signReceipt } from '../../consensus/receipt.ts';
import {
  protocolFeeMinor, REPUTATION_PPM_INITIAL, REPUTATION_PPM_MAX, reputationAfterSettlement, reputationAfterSlaViolation, slashMinor,
} from '../../consensus/settlement-math.ts';
import { CHAIN_ID, CURRENCY, HOUR_MS, LedgerWorld, seedOf, show } from './ledger-world.ts';

const codeOf = (result: TransactionResult): string => (result.status === 'rejected' ? result.code : result.status);
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A world with EUR, a tenant "acme" holding 1,000,000, node "sat-1" staking 100,000. */
function world(): LedgerWorld {
  const w = new LedgerWorld();
  w.currency();
  w.tenant('acme', 1_000_000n);
  w.node('sat-1', 100_000n);
  return w;
}

describe('double-entry accounts', () => {
  it('moves money by debiting one account and crediting another by the same amount', () => {
    const w = world();
    w.setUp([{ kind: 'open-account', accountId: 'globex', accountKind: 'tenant', currency: CURRENCY, ownerId: 'globex' }]);
    const result = w.apply({ kind: 'transfer', transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'globex', amountMinor: 2_500n });
    expect(result).toEqual({ status: 'applied', movements: [{ transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'globex', amountMinor: 2_500n, currency: CURRENCY }] });
    expect([w.balance('acme'), w.balance('globex')]).toEqual([997_500n, 2_500n]);
    expect(w.ledger.supply(CURRENCY)?.supplyMinor).toBe(1_100_000n);
  });

  it('treats the same id with the same content as a no-op, and with other content as a conflict', () => {
    const w = world();
    w.setUp([{ kind: 'open-account', accountId: 'globex', accountKind: 'tenant', currency: CURRENCY, ownerId: 'globex' }]);
    const tx: LedgerTransaction = { kind: 'transfer', transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'globex', amountMinor: 100n };
    expect(codeOf(w.apply(tx))).toBe('applied');
    expect(codeOf(w.apply(tx))).toBe('no-op');
    expect(codeOf(w.apply({ ...tx, amountMinor: 101n }))).toBe('ORBITFED_LEDGER_ID_CONFLICT');
    expect(codeOf(w.apply({ kind: 'mint', transferId: 't-1', accountId: 'acme', amountMinor: 1n }))).toBe('ORBITFED_LEDGER_ID_CONFLICT');
    expect(w.balance('globex')).toBe(100n);
    expect(codeOf(w.apply({ kind: 'open-account', accountId: 'globex', accountKind: 'tenant', currency: CURRENCY, ownerId: 'globex' }))).toBe('no-op');
    expect(codeOf(w.apply({ kind: 'open-account', accountId: 'globex', accountKind: 'provider', currency: CURRENCY, ownerId: 'globex' }))).toBe('ORBITFED_LEDGER_ID_CONFLICT');
  });

  it('refuses to overdraw a tenant or a stake account, and changes nothing when it refuses', () => {
    const w = world();
    const before = w.ledger.accounts();
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'sat-1-earnings', amountMinor: 1_000_001n }))).toBe('ORBITFED_LEDGER_INSUFFICIENT_FUNDS');
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 't-2', debitAccountId: 'sat-1-stake', creditAccountId: 'acme', amountMinor: 100_001n }))).toBe('ORBITFED_LEDGER_INSUFFICIENT_FUNDS');
    expect(w.ledger.accounts()).toEqual(before);
    // The refused ids were not used up.
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'sat-1-earnings', amountMinor: 1_000_000n }))).toBe('applied');
    expect(w.balance('acme')).toBe(0n);
  });

  it('refuses transfers between currencies, to unknown accounts, or touching an escrow account', () => {
    const w = world();
    w.currency('USD');
    w.tenant('acme-us', 50n, 'USD');
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'acme-us', amountMinor: 1n }))).toBe('ORBITFED_LEDGER_CURRENCY_MISMATCH');
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 't-2', debitAccountId: 'acme', creditAccountId: 'nobody', amountMinor: 1n }))).toBe('ORBITFED_LEDGER_UNKNOWN_ACCOUNT');
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 't-3', debitAccountId: 'acme', creditAccountId: `escrow-${CURRENCY}`, amountMinor: 1n }))).toBe('ORBITFED_LEDGER_ACCOUNT_KIND');
    expect(codeOf(w.apply({ kind: 'mint', transferId: 't-4', accountId: `escrow-${CURRENCY}`, amountMinor: 1n }))).toBe('ORBITFED_LEDGER_ACCOUNT_KIND');
  });

  it('keeps one fee and one escrow account per currency, and opens stake accounts only where slashes can go', () => {
    const w = world();
    expect(codeOf(w.apply({ kind: 'open-account', accountId: 'fee-2', accountKind: 'fee', currency: CURRENCY, ownerId: 'protocol' }))).toBe('ORBITFED_LEDGER_SYSTEM_ACCOUNT_EXISTS');
    expect(codeOf(w.apply({ kind: 'open-account', accountId: 'escrow-2', accountKind: 'escrow', currency: CURRENCY, ownerId: 'protocol' }))).toBe('ORBITFED_LEDGER_SYSTEM_ACCOUNT_EXISTS');
    expect(codeOf(w.apply({ kind: 'open-account', accountId: 'stake-jpy', accountKind: 'stake', currency: 'JPY', ownerId: 'sat-1' }))).toBe('ORBITFED_LEDGER_SYSTEM_ACCOUNT_MISSING');
  });

  it('refuses malformed transactions: zero amounts, a transfer to itself, bad ids', () => {
    const w = world();
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'sat-1-earnings', amountMinor: 0n }))).toBe('ORBITFED_LEDGER_MALFORMED');
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'acme', amountMinor: 1n }))).toBe('ORBITFED_LEDGER_MALFORMED');
    expect(codeOf(w.apply({ kind: 'transfer', transferId: 'a/b', debitAccountId: 'acme', creditAccountId: 'sat-1-earnings', amountMinor: 1n }))).toBe('ORBITFED_LEDGER_MALFORMED');
  });

  it('refuses a mint that would take a currency beyond 2^63 − 1 minor units', () => {
    const w = world();
    const supply = w.ledger.supply(CURRENCY)!.supplyMinor;
    expect(codeOf(w.apply({ kind: 'mint', transferId: 'm-1', accountId: 'acme', amountMinor: 2n ** 63n - supply }))).toBe('ORBITFED_LEDGER_SUPPLY_LIMIT');
    expect(codeOf(w.apply({ kind: 'mint', transferId: 'm-2', accountId: 'acme', amountMinor: 2n ** 63n - 1n - supply }))).toBe('applied');
  });
});

describe('two-phase escrow', () => {
  it('holds the amount in the escrow account while pending', () => {
    const w = world();
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n);
    expect(w.balance('acme')).toBe(990_000n);
    expect(w.balance(`escrow-${CURRENCY}`)).toBe(10_000n);
    expect(w.ledger.escrow('esc-1')).toMatchObject({ status: 'pending', jobId: 'job-1', amountMinor: 10_000n });
    expect(w.ledger.escrowOfJob('job-1')?.id).toBe('esc-1');
  });

  it('posts in full: provider credited the amount less the fee, the fee to the fee account, nothing released', () => {
    const w = world();
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n);
    const result = w.apply({ kind: 'escrow-post', escrowId: 'esc-1', amountMinor: 10_000n });
    expect(result.status === 'applied' && result.movements.map((m) => [m.transferId, m.amountMinor])).toEqual([['esc-1/post', 9_600n], ['esc-1/fee', 400n]]);
    expect([w.balance('sat-1-earnings'), w.balance(`fee-${CURRENCY}`), w.balance(`escrow-${CURRENCY}`), w.balance('acme')]).toEqual([9_600n, 400n, 0n, 990_000n]);
    expect(w.ledger.escrow('esc-1')).toMatchObject({ status: 'posted', postedMinor: 10_000n, feeMinor: 400n });
  });

  it('posts in part and releases the rest to the tenant, in the same transaction', () => {
    const w = world();
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n);
    const result = w.apply({ kind: 'escrow-post', escrowId: 'esc-1', amountMinor: 7_501n });
    // 4 % of 7,501 is 300.04: the fee rounds up to 301.
    expect(result.status === 'applied' && result.movements.map((m) => [m.transferId, m.amountMinor])).toEqual([['esc-1/post', 7_200n], ['esc-1/fee', 301n], ['esc-1/release', 2_499n]]);
    expect([w.balance('sat-1-earnings'), w.balance(`fee-${CURRENCY}`), w.balance('acme')]).toEqual([7_200n, 301n, 992_499n]);
  });

  it('voids: everything back to the tenant; voiding again is a no-op, posting after is refused', () => {
    const w = world();
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n);
    expect(codeOf(w.apply({ kind: 'escrow-void', escrowId: 'esc-1' }))).toBe('applied');
    expect(w.balance('acme')).toBe(1_000_000n);
    expect(codeOf(w.apply({ kind: 'escrow-void', escrowId: 'esc-1' }))).toBe('no-op');
    expect(codeOf(w.apply({ kind: 'escrow-post', escrowId: 'esc-1', amountMinor: 1n }))).toBe('ORBITFED_LEDGER_ESCROW_RESOLVED');
    expect(w.ledger.escrow('esc-1')?.status).toBe('voided');
  });

  it('expires at the first block whose time reaches the deadline, before that block\'s transactions', () => {
    const w = world();
    const deadlineMs = w.nowMs + 10_000;
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n, deadlineMs);
    w.nowMs = deadlineMs - 1 - 1000;
    expect(w.block([]).expiredEscrowIds).toEqual([]);
    const block = w.block([{ kind: 'escrow-post', escrowId: 'esc-1', amountMinor: 10_000n }], 1);
    expect(block.expiredEscrowIds).toEqual(['esc-1']);
    expect(block.expiryMovements).toEqual([{ transferId: 'esc-1/expire', debitAccountId: `escrow-${CURRENCY}`, creditAccountId: 'acme', amountMinor: 10_000n, currency: CURRENCY }]);
    expect(codeOf(block.results[0]!)).toBe('ORBITFED_LEDGER_ESCROW_RESOLVED');
    expect(w.balance('acme')).toBe(1_000_000n);
    expect(w.ledger.escrow('esc-1')).toMatchObject({ status: 'expired', resolvedAtMs: deadlineMs });
  });

  it('remembers a resolved escrow: the same escrow-open again is a no-op, not a second hold', () => {
    const w = world();
    const open: LedgerTransaction = { kind: 'escrow-open', escrowId: 'esc-1', jobId: 'job-1', tenantAccountId: 'acme', providerAccountId: 'sat-1-earnings', amountMinor: 10_000n, deadlineMs: w.nowMs + HOUR_MS };
    expect(codeOf(w.apply(open))).toBe('applied');
    expect(codeOf(w.apply({ kind: 'escrow-void', escrowId: 'esc-1' }))).toBe('applied');
    expect(codeOf(w.apply(open))).toBe('no-op');
    expect(codeOf(w.apply({ ...open, amountMinor: 9n }))).toBe('ORBITFED_LEDGER_ID_CONFLICT');
    expect(codeOf(w.apply({ ...open, escrowId: 'esc-2' }))).toBe('ORBITFED_LEDGER_JOB_HAS_ESCROW');
    expect(w.balance('acme')).toBe(1_000_000n);
  });

  it('refuses to open an escrow the tenant cannot cover, past its deadline, or between the wrong kinds of account', () => {
    const w = world();
    const open = { kind: 'escrow-open', escrowId: 'esc-1', jobId: 'job-1', tenantAccountId: 'acme', providerAccountId: 'sat-1-earnings', amountMinor: 10_000n, deadlineMs: w.nowMs + HOUR_MS } as const;
    expect(codeOf(w.apply({ ...open, amountMinor: 1_000_001n }))).toBe('ORBITFED_LEDGER_INSUFFICIENT_FUNDS');
    expect(codeOf(w.apply({ ...open, deadlineMs: w.nowMs + 1000 }))).toBe('ORBITFED_LEDGER_DEADLINE_PASSED');
    expect(codeOf(w.apply({ ...open, tenantAccountId: 'sat-1-stake' }))).toBe('ORBITFED_LEDGER_ACCOUNT_KIND');
    expect(codeOf(w.apply({ ...open, providerAccountId: 'acme' }))).toBe('ORBITFED_LEDGER_ACCOUNT_KIND');
    expect(codeOf(w.apply({ kind: 'escrow-post', escrowId: 'nope', amountMinor: 1n }))).toBe('ORBITFED_LEDGER_UNKNOWN_ESCROW');
    expect(codeOf(w.apply(open))).toBe('applied');
    expect(codeOf(w.apply({ kind: 'escrow-post', escrowId: 'esc-1', amountMinor: 10_001n }))).toBe('ORBITFED_LEDGER_ESCROW_EXCEEDED');
  });
});

describe('protocol fee: rounded up, conservation exact', () => {
  it.each([
    [100n, 400, 4n], [1n, 400, 1n], [24n, 400, 1n], [25n, 400, 1n], [26n, 400, 2n], [0n, 400, 0n], [7_501n, 400, 301n],
    [10n ** 18n, 400, 4n * 10n ** 16n], [999n, 0, 0n], [999n, 10_000, 999n], [3n, 3_333, 1n],
  ])('fee on %s at %i bp is %s', (amount, basisPoints, fee) => {
    expect(protocolFeeMinor(amount, basisPoints)).toBe(fee);
  });

  it('never charges less than the exact rate nor a whole unit more', () => {
    for (let amount = 0n; amount < 2_000n; amount += 7n) {
      const fee = protocolFeeMinor(amount, 400);
      expect(fee * 10_000n >= amount * 400n && (fee - 1n) * 10_000n < amount * 400n).toBe(true);
    }
  });

  it('splits every posted amount into provider credit + fee + release = escrow, to the unit', () => {
    const w = world();
    for (let i = 0; i < 40; i++) {
      const escrowMinor = BigInt(1 + i * 37);
      const postMinor = escrowMinor - BigInt(i % 5);
      w.escrow(`esc-${i}`, `job-${i}`, 'acme', 'sat-1', escrowMinor);
      const result = w.apply({ kind: 'escrow-post', escrowId: `esc-${i}`, amountMinor: postMinor > 0n ? postMinor : 1n });
      expect(result.status).toBe('applied');
      if (result.status !== 'applied') continue;
      expect(result.movements.reduce((sum, m) => sum + m.amountMinor, 0n)).toBe(escrowMinor);
    }
    expect(w.balance(`escrow-${CURRENCY}`)).toBe(0n);
    expect(w.ledger.accounts().reduce((sum, a) => sum + a.balanceMinor, 0n)).toBe(w.ledger.supply(CURRENCY)!.supplyMinor);
  });
});

describe('receipts in the ledger', () => {
  function withJob(): LedgerWorld {
    const w = world();
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n);
    return w;
  }

  it('settles a valid receipt once: escrow posted with its amount, fee taken, rest released, reputation up', () => {
    const w = withJob();
    const receipt = w.receipt('sat-1', 'job-1', 7_501n);
    const result = w.apply({ kind: 'settle-receipt', receipt });
    expect(result.status === 'applied' && result.movements.map((m) => m.transferId)).toEqual(['esc-1/post', 'esc-1/fee', 'esc-1/release']);
    expect([w.balance('sat-1-earnings'), w.balance(`fee-${CURRENCY}`), w.balance('acme')]).toEqual([7_200n, 301n, 992_499n]);
    expect(w.ledger.escrow('esc-1')).toMatchObject({ status: 'posted', settledBy: 'sat-1#1' });
    expect(w.ledger.node('sat-1')?.reputationPpm).toBe(reputationAfterSettlement(REPUTATION_PPM_INITIAL));
    expect(w.ledger.settledReceipt('sat-1#1')).toBeDefined();
  });

  it('treats the same receipt again as a no-op, and another one for the settled job as refused', () => {
    const w = withJob();
    const receipt = w.receipt('sat-1', 'job-1', 5_000n);
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt }))).toBe('applied');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt }))).toBe('no-op');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-1', 5_000n) }))).toBe('ORBITFED_LEDGER_ESCROW_RESOLVED');
    const sameSequence = signReceipt({ ...receipt.receipt, amountMinor: 4_000n }, w.seeds.get('sat-1')!);
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: sameSequence }))).toBe('ORBITFED_RECEIPT_SEQUENCE_REUSED');
    expect(w.balance('sat-1-earnings')).toBe(4_800n);
  });

  it('refuses a late receipt, and still refuses it once the dedup window has forgotten it', () => {
    const w = withJob();
    const receipt = w.receipt('sat-1', 'job-1', 5_000n, { notAfterMs: (w.nowMs + 2 * HOUR_MS) as UnixMs });
    const graceMs = w.ledger.params.receiptGraceMs;
    w.nowMs = receipt.receipt.notAfterMs + graceMs;
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt }, 1))).toBe('ORBITFED_RECEIPT_EXPIRED');

    const w2 = withJob();
    const settled = w2.receipt('sat-1', 'job-1', 5_000n, { notAfterMs: (w2.nowMs + 2 * HOUR_MS) as UnixMs });
    expect(codeOf(w2.apply({ kind: 'settle-receipt', receipt: settled }))).toBe('applied');
    w2.nowMs = settled.receipt.notAfterMs + graceMs - 1000;
    expect(w2.block([]).prunedReceipts).toBe(0);
    const after = w2.block([{ kind: 'settle-receipt', receipt: settled }], 1);
    expect(after.prunedReceipts).toBe(1);
    expect(codeOf(after.results[0]!)).toBe('ORBITFED_RECEIPT_EXPIRED');
    expect(w2.ledger.settledReceiptCount).toBe(0);
    expect(w2.balance('sat-1-earnings')).toBe(4_800n);
  });

  it('refuses receipts for another chain, with a bad signature, from the wrong node, for an unknown job or beyond the escrow', () => {
    const w = withJob();
    w.node('sat-2');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-1', 1n, { chainId: 'orbitfed-other' }) }))).toBe('ORBITFED_RECEIPT_WRONG_CHAIN');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-1', 1n, {}, seedOf('intruder')) }))).toBe('ORBITFED_RECEIPT_BAD_SIGNATURE');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('sat-2', 'job-1', 1n) }))).toBe('ORBITFED_LEDGER_WRONG_NODE');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-9', 1n) }))).toBe('ORBITFED_LEDGER_UNKNOWN_JOB');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('ghost', 'job-1', 1n, {}, seedOf('ghost')) }))).toBe('ORBITFED_RECEIPT_UNKNOWN_NODE');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-1', 10_001n) }))).toBe('ORBITFED_LEDGER_ESCROW_EXCEEDED');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-1', 1n, { currency: 'USD' }) }))).toBe('ORBITFED_LEDGER_CURRENCY_MISMATCH');
    expect(w.ledger.escrow('esc-1')?.status).toBe('pending');
  });

  it('after a key rotation: settles receipts made before it under the old key, refuses newer ones under it, settles the new key\'s', () => {
    const w = world();
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 100n);
    w.escrow('esc-2', 'job-2', 'acme', 'sat-1', 100n);
    w.escrow('esc-3', 'job-3', 'acme', 'sat-1', 100n);
    const oldSeed = w.seeds.get('sat-1')!;
    const before = w.receipt('sat-1', 'job-1', 50n);
    const newSeed = seedOf('sat-1 epoch 1');
    expect(codeOf(w.apply(rotateKeyTransaction(CHAIN_ID, 'sat-1', 1, oldSeed, newSeed)))).toBe('applied');
    w.seeds.set('sat-1', newSeed);
    const afterUnderOld = w.receipt('sat-1', 'job-2', 50n, { keyEpoch: 0 }, oldSeed);
    const afterUnderNew = w.receipt('sat-1', 'job-3', 50n);
    expect(afterUnderNew.receipt.keyEpoch).toBe(1);
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: before }))).toBe('applied');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: afterUnderOld }))).toBe('ORBITFED_RECEIPT_KEY_RETIRED');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: afterUnderNew }))).toBe('applied');
  });

  it('after a revocation: refuses every receipt under the revoked key, even one made long before', () => {
    const w = withJob();
    const early = w.receipt('sat-1', 'job-1', 50n);
    expect(codeOf(w.apply(revokeKeyTransaction(CHAIN_ID, 'sat-1', 0, 0, w.seeds.get('sat-1')!)))).toBe('applied');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: early }))).toBe('ORBITFED_RECEIPT_KEY_REVOKED');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-1', 50n, { keyEpoch: 7 }) }))).toBe('ORBITFED_RECEIPT_UNKNOWN_KEY_EPOCH');
  });
});

describe('node key registry', () => {
  it('refuses a small-order key, a key already in use, and a registration not signed by its key', () => {
    const w = world();
    const smallOrder = { ...registerNodeTransaction(CHAIN_ID, 'evil', seedOf('evil')), publicKey: Uint8Array.from(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 'hex')) };
    const refused = w.apply(smallOrder);
    expect(codeOf(refused)).toBe('ORBITFED_LEDGER_PUBLIC_KEY_REFUSED');
    expect(refused.status === 'rejected' && refused.detail).toMatch(/^small-order/);
    expect(codeOf(w.apply({ ...registerNodeTransaction(CHAIN_ID, 'copycat', seedOf('sat-1')) }))).toBe('ORBITFED_LEDGER_PUBLIC_KEY_IN_USE');
    const squatter = { ...registerNodeTransaction(CHAIN_ID, 'squatter', seedOf('squatter')), publicKey: ed25519KeyPairFromSeed(seedOf('victim')).publicKey };
    expect(codeOf(w.apply(squatter))).toBe('ORBITFED_LEDGER_BAD_SIGNATURE');
    expect(codeOf(w.apply(registerNodeTransaction('orbitfed-other', 'sat-9', seedOf('sat-9'))))).toBe('ORBITFED_LEDGER_BAD_SIGNATURE');
    expect(codeOf(w.apply(registerNodeTransaction(CHAIN_ID, 'sat-1', seedOf('sat-1'))))).toBe('no-op');
    expect(codeOf(w.apply(registerNodeTransaction(CHAIN_ID, 'sat-1', seedOf('other'))))).toBe('ORBITFED_LEDGER_ID_CONFLICT');
  });

  it('rotates only to the next epoch, signed by the active key and the new one', () => {
    const w = world();
    const current = w.seeds.get('sat-1')!;
    expect(codeOf(w.apply(rotateKeyTransaction(CHAIN_ID, 'sat-1', 2, current, seedOf('k2'))))).toBe('ORBITFED_LEDGER_KEY_EPOCH');
    expect(codeOf(w.apply(rotateKeyTransaction(CHAIN_ID, 'sat-1', 1, seedOf('thief'), seedOf('k1'))))).toBe('ORBITFED_LEDGER_BAD_SIGNATURE');
    const good = rotateKeyTransaction(CHAIN_ID, 'sat-1', 1, current, seedOf('k1'));
    expect(codeOf(w.apply({ ...good, newKeySignature: good.currentKeySignature }))).toBe('ORBITFED_LEDGER_BAD_SIGNATURE');
    expect(codeOf(w.apply(good))).toBe('applied');
    expect(codeOf(w.apply(good))).toBe('no-op');
    const keys = w.ledger.node('sat-1')!.keys;
    expect(keys.map((k) => [k.epoch, k.retiredAtMs !== undefined, k.revokedAtMs !== undefined])).toEqual([[0, true, false], [1, false, false]]);
  });

  it('revokes a key when the key itself or the active key signs, not a retired one; a node without an active key cannot rotate', () => {
    const w = world();
    const k0 = w.seeds.get('sat-1')!;
    expect(codeOf(w.apply(rotateKeyTransaction(CHAIN_ID, 'sat-1', 1, k0, seedOf('k1'))))).toBe('applied');
    expect(codeOf(w.apply(rotateKeyTransaction(CHAIN_ID, 'sat-1', 2, seedOf('k1'), seedOf('k2'))))).toBe('applied');
    expect(codeOf(w.apply(revokeKeyTransaction(CHAIN_ID, 'sat-1', 1, 0, k0)))).toBe('ORBITFED_LEDGER_KEY_EPOCH');
    expect(codeOf(w.apply(revokeKeyTransaction(CHAIN_ID, 'sat-1', 1, 2, seedOf('k1'))))).toBe('ORBITFED_LEDGER_BAD_SIGNATURE');
    expect(codeOf(w.apply(revokeKeyTransaction(CHAIN_ID, 'sat-1', 1, 2, seedOf('k2'))))).toBe('applied');
    expect(codeOf(w.apply(revokeKeyTransaction(CHAIN_ID, 'sat-1', 1, 2, seedOf('k2'))))).toBe('no-op');
    expect(codeOf(w.apply(revokeKeyTransaction(CHAIN_ID, 'sat-1', 2, 2, seedOf('k2'))))).toBe('applied');
    expect(codeOf(w.apply(rotateKeyTransaction(CHAIN_ID, 'sat-1', 3, seedOf('k2'), seedOf('k3'))))).toBe('ORBITFED_LEDGER_KEY_REVOKED');
  });
});

describe('slashing and reputation', () => {
  it('slashes 5 % of every stake account of a double signer into the fee account, once per height', () => {
    const w = world();
    const evidence = { kind: 'double-sign', nodeId: 'sat-1', height: 42, evidenceHash: new Uint8Array(32).fill(7) } as const;
    const result = w.apply(evidence);
    expect(result.status === 'applied' && result.movements).toEqual([
      { transferId: 'sat-1@42/slash/sat-1-stake', debitAccountId: 'sat-1-stake', creditAccountId: `fee-${CURRENCY}`, amountMinor: 5_000n, currency: CURRENCY },
    ]);
    expect([w.balance('sat-1-stake'), w.balance(`fee-${CURRENCY}`)]).toEqual([95_000n, 5_000n]);
    expect(w.ledger.node('sat-1')?.reputationPpm).toBe(0);
    expect(codeOf(w.apply(evidence))).toBe('no-op');
    expect(codeOf(w.apply({ ...evidence, evidenceHash: new Uint8Array(32).fill(8) }))).toBe('ORBITFED_LEDGER_OFFENSE_CONFLICT');
    expect(codeOf(w.apply({ ...evidence, height: 43 }))).toBe('applied');
    expect(w.balance('sat-1-stake')).toBe(95_000n - 4_750n);
    expect(codeOf(w.apply({ ...evidence, nodeId: 'ghost' }))).toBe('ORBITFED_LEDGER_UNKNOWN_NODE');
  });

  it('on an SLA violation: slashes 1 %, voids the pending escrow back to the tenant, lowers reputation; a late receipt then finds the escrow resolved', () => {
    const w = world();
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n);
    const receipt = w.receipt('sat-1', 'job-1', 10_000n);
    const report = { kind: 'sla-violation', reportId: 'sla-1', jobId: 'job-1', nodeId: 'sat-1' } as const;
    const result = w.apply(report);
    expect(result.status === 'applied' && result.movements.map((m) => [m.transferId, m.amountMinor])).toEqual([['sla-1/slash/sat-1-stake', 1_000n], ['esc-1/void', 10_000n]]);
    expect([w.balance('sat-1-stake'), w.balance('acme')]).toEqual([99_000n, 1_000_000n]);
    expect(w.ledger.node('sat-1')?.reputationPpm).toBe(400_000);
    expect(codeOf(w.apply(report))).toBe('no-op');
    expect(codeOf(w.apply({ ...report, reportId: 'sla-2' }))).toBe('ORBITFED_LEDGER_ALREADY_REPORTED');
    expect(codeOf(w.apply({ kind: 'settle-receipt', receipt }))).toBe('ORBITFED_LEDGER_ESCROW_RESOLVED');
  });

  it('refuses an SLA report against a node the job was not placed on', () => {
    const w = world();
    w.node('sat-2', 10n);
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n);
    expect(codeOf(w.apply({ kind: 'sla-violation', reportId: 'sla-1', jobId: 'job-1', nodeId: 'sat-2' }))).toBe('ORBITFED_LEDGER_WRONG_NODE');
    expect(codeOf(w.apply({ kind: 'sla-violation', reportId: 'sla-1', jobId: 'job-9', nodeId: 'sat-1' }))).toBe('ORBITFED_LEDGER_UNKNOWN_JOB');
  });

  it('slashes round down: a stake of 19 loses nothing at 5 %, 20 loses 1', () => {
    expect([slashMinor(19n, 500), slashMinor(20n, 500), slashMinor(0n, 500)]).toEqual([0n, 1n, 0n]);
  });

  it('keeps reputation within 0 … 1,000,000: successes climb to the top, failures fall to zero', () => {
    let up = REPUTATION_PPM_INITIAL;
    const climb = [up];
    for (let i = 0; i < 400; i++) climb.push((up = reputationAfterSettlement(up)));
    expect(climb.every((v, i) => i === 0 || v >= climb[i - 1]!)).toBe(true);
    expect(up).toBe(REPUTATION_PPM_MAX);
    expect(reputationAfterSettlement(REPUTATION_PPM_MAX)).toBe(REPUTATION_PPM_MAX);
    let down = REPUTATION_PPM_MAX;
    for (let i = 0; i < 100; i++) down = reputationAfterSlaViolation(down);
    expect(down).toBe(0);
    expect(reputationAfterSlaViolation(0)).toBe(0);
    expect([reputationAfterSettlement(500_000), reputationAfterSlaViolation(500_000)]).toEqual([525_000, 400_000]);
  });
});

describe('state hash and snapshots', () => {
  /** A few blocks touching every table. */
  function busy(): LedgerWorld {
    const w = world();
    w.node('sat-2', 50_000n);
    w.escrow('esc-1', 'job-1', 'acme', 'sat-1', 10_000n);
    w.escrow('esc-2', 'job-2', 'acme', 'sat-2', 10_000n);
    w.escrow('esc-3', 'job-3', 'acme', 'sat-2', 10_000n, w.nowMs + 2 * HOUR_MS);
    w.block([
      { kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-1', 3_333n) },
      { kind: 'sla-violation', reportId: 'sla-1', jobId: 'job-2', nodeId: 'sat-2' },
      { kind: 'double-sign', nodeId: 'sat-2', height: 3, evidenceHash: new Uint8Array(32).fill(1) },
      rotateKeyTransaction(CHAIN_ID, 'sat-1', 1, w.seeds.get('sat-1')!, seedOf('sat-1 k1')),
    ]);
    return w;
  }

  it('is the same on two ledgers fed the same blocks, and differs when one transaction differs', () => {
    const [a, b] = [busy(), busy()];
    expect(toHex(a.ledger.stateHash())).toBe(toHex(b.ledger.stateHash()));
    a.apply({ kind: 'transfer', transferId: 'x', debitAccountId: 'acme', creditAccountId: 'sat-1-earnings', amountMinor: 1n });
    b.apply({ kind: 'transfer', transferId: 'x', debitAccountId: 'acme', creditAccountId: 'sat-1-earnings', amountMinor: 2n });
    expect(toHex(a.ledger.stateHash())).not.toBe(toHex(b.ledger.stateHash()));
  });

  it('kept incrementally equals the hash recomputed from every record', () => {
    const w = busy();
    expect(toHex(w.ledger.stateHash())).toBe(toHex(w.ledger.recomputeStateHash()));
  });

  it('restores from a snapshot to the identical state hash, and both copies stay identical afterwards', () => {
    const w = busy();
    const restored = Ledger.restore(w.ledger.snapshot());
    expect(toHex(restored.stateHash())).toBe(toHex(w.ledger.stateHash()));
    expect(toHex(restored.recomputeStateHash())).toBe(toHex(w.ledger.stateHash()));
    expect(restored.accounts()).toEqual(w.ledger.accounts());
    expect(restored.escrows()).toEqual(w.ledger.escrows());
    expect(toHex(restored.snapshot())).toBe(toHex(w.ledger.snapshot()));
    // Restored hashes and keys are their own 32 bytes, not views keeping the whole snapshot alive
    // (a public key posted to the signature worker would clone the buffer it views).
    expect(restored.escrow('esc-1')!.contentHash.buffer.byteLength).toBe(32);
    expect(restored.node('sat-1')!.keys[0]!.publicKey.buffer.byteLength).toBe(32);
    const twin = new LedgerWorld({}, restored);
    w.seeds.set('sat-1', seedOf('sat-1 k1'));
    const next: LedgerTransaction[] = [
      { kind: 'settle-receipt', receipt: w.receipt('sat-1', 'job-1', 10n) },
      { kind: 'transfer', transferId: 'after-restore', debitAccountId: 'acme', creditAccountId: 'sat-2-earnings', amountMinor: 77n },
    ];
    for (const x of [w, twin]) x.block(next, 3 * HOUR_MS);
    expect([w.ledger.escrow('esc-3')?.status, twin.ledger.escrow('esc-3')?.status]).toEqual(['expired', 'expired']);
    expect(twin.balance('sat-2-earnings')).toBe(77n);
    expect(toHex(twin.ledger.stateHash())).toBe(toHex(w.ledger.stateHash()));
  });

  it('restores settled receipts unread, and still settles each exactly once, forgets them on time and snapshots the same bytes', () => {
    const w = world();
    const receipts = Array.from({ length: 40 }, (_, i) => {
      w.escrow(`esc-${i}`, `job-${i}`, 'acme', 'sat-1', 1_000n);
      return w.receipt('sat-1', `job-${i}`, 900n, { notAfterMs: (w.nowMs + (2 + (i % 3)) * HOUR_MS) as UnixMs });
    });
    w.block(receipts.slice(0, 30).map((receipt): LedgerTransaction => ({ kind: 'settle-receipt', receipt })));
    const restored = Ledger.restore(w.ledger.snapshot());
    expect(restored.settledReceiptCount).toBe(30);
    const twin = new LedgerWorld({}, restored);
    // A settled receipt again (a no-op), one of them with other content under its name, and new ones.
    const reused = signReceipt({ ...receipts[3]!.receipt, amountMinor: 800n }, w.seeds.get('sat-1')!);
    const next: LedgerTransaction[] = [
      ...[0, 17, 29].map((i): LedgerTransaction => ({ kind: 'settle-receipt', receipt: receipts[i]! })),
      { kind: 'settle-receipt', receipt: reused },
      ...receipts.slice(30).map((receipt): LedgerTransaction => ({ kind: 'settle-receipt', receipt })),
    ];
    const [original, again] = [w, twin].map((x) => x.block(next).results.map(codeOf));
    expect(again).toEqual(['no-op', 'no-op', 'no-op', 'ORBITFED_RECEIPT_SEQUENCE_REUSED', ...Array(10).fill('applied')]);
    expect(again).toEqual(original);
    expect(restored.settledReceiptCount).toBe(40);
    expect(toHex(restored.snapshot())).toBe(toHex(w.ledger.snapshot()));
    expect(toHex(restored.recomputeStateHash())).toBe(toHex(w.ledger.stateHash()));
    // Past the first not-afters + grace both forget the same receipts, restored unread or not.
    const second = Ledger.restore(w.ledger.snapshot());
    const third = new LedgerWorld({}, second);
    const pruned = [w, third].map((x) => x.block([], 2 * HOUR_MS + w.ledger.params.receiptGraceMs + 1).prunedReceipts);
    expect(pruned[0]).toBeGreaterThan(0);
    expect(pruned[1]).toBe(pruned[0]);
    expect(toHex(second.stateHash())).toBe(toHex(w.ledger.stateHash()));
    expect(second.settledReceiptCount).toBe(w.ledger.settledReceiptCount);
  });

  const codeOfRestore = (bytes: Uint8Array): string | undefined => {
    try {
      Ledger.restore(bytes);
    } catch (error) {
      return error instanceof OrbitfedError ? error.code : String(error);
    }
    return undefined;
  };
  /** The snapshot with its checksum (SHA-256 of every byte before the last 34: a 2-byte head and 32 bytes) written again. */
  const rechecksummed = (bytes: Uint8Array): Uint8Array => {
    const copy = Uint8Array.from(bytes);
    copy.set(createHash('sha256').update(copy.subarray(0, copy.length - 34)).digest(), copy.length - 32);
    return copy;
  };
  /** `snapshot` with the byte at `at` set to `value`, its checksum written again (so that only the tables' reader can tell). */
  const tamperedAt = (snapshot: Uint8Array, at: number, value: number): Uint8Array => {
    const copy = Uint8Array.from(snapshot);
    copy[at] = value;
    return rechecksummed(copy);
  };
  /** Where `text` is written the `nth` time (0 first) in the snapshot (its u8 length is the byte before). */
  const offsetOf = (bytes: Uint8Array, text: string, nth = 0): number => {
    let at = -1;
    for (let i = 0; i <= nth; i++) at = Buffer.from(bytes).indexOf(Buffer.from(text), at + 1);
    expect(at).toBeGreaterThan(0);
    return at;
  };

  it('refuses a truncated snapshot, bytes after it, and any damaged byte, each with a snapshot code', () => {
    const snapshot = busy().ledger.snapshot();
    expect(codeOfRestore(snapshot.subarray(0, snapshot.length - 10))).toBe('ORBITFED_LEDGER_SNAPSHOT_TRUNCATED');
    expect(codeOfRestore(Uint8Array.from([...snapshot, 0]))).toBe('ORBITFED_LEDGER_SNAPSHOT_TRAILING_BYTES');
    const codes = new Set<string | undefined>();
    for (let i = 0; i < snapshot.length; i++) {
      const damaged = Uint8Array.from(snapshot);
      damaged[i]! ^= 0x10;
      codes.add(codeOfRestore(damaged));
    }
    expect([...codes].every((code) => code?.startsWith('ORBITFED_LEDGER_SNAPSHOT_'))).toBe(true);
    // The tables and both hashes are covered by the checksum.
    const balance = Uint8Array.from(snapshot);
    balance[offsetOf(snapshot, 'acme', 1) + 4 + 7]! ^= 1;
    expect(codeOfRestore(balance)).toBe('ORBITFED_LEDGER_SNAPSHOT_CHECKSUM');
  });

  it('refuses a snapshot whose stored state hash is not the one its table heads give, even with a valid checksum', () => {
    const snapshot = busy().ledger.snapshot();
    const wrongHash = Uint8Array.from(snapshot);
    wrongHash[wrongHash.length - 34 - 1]! ^= 1;
    expect(codeOfRestore(rechecksummed(wrongHash))).toBe('ORBITFED_LEDGER_SNAPSHOT_HASH');
  });

  it('reads the tables strictly even when the checksum holds: balances that do not add up, bad text, unknown kinds, key order', () => {
    const snapshot = busy().ledger.snapshot();
    const tampered = (at: number, value: number): Uint8Array => tamperedAt(snapshot, at, value);
    // acme: key "acme", kind (u8), currency "EUR", owner "acme", balance (u64).
    const key = offsetOf(snapshot, 'acme');
    const owner = offsetOf(snapshot, 'acme', 1);
    expect(codeOfRestore(tampered(owner + 4 + 7, snapshot[owner + 4 + 7]! ^ 1))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVARIANT');
    expect(codeOfRestore(tampered(key, 0xff))).toBe('ORBITFED_LEDGER_SNAPSHOT_MALFORMED');
    expect(codeOfRestore(tampered(key, 'z'.charCodeAt(0)))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
    expect(codeOfRestore(tampered(key + 4, 99))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
    expect(codeOfRestore(tampered(key - 1, 200))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
  });

  it('reads escrows as strictly, though it leaves them unread: status, deadline range, key order, UTF-8', () => {
    const snapshot = busy().ledger.snapshot();
    const tampered = (at: number, value: number): Uint8Array => tamperedAt(snapshot, at, value);
    // An escrow: key, job id, tenant, provider, currency (u8 length, then the text each), amount
    // (u64), deadline (u64), opened at (u64), content hash (32 bytes), status (u8), …
    const job = offsetOf(snapshot, 'job-1');
    const deadline = job + 5 + 5 + 15 + 4 + 8;
    expect(codeOfRestore(tampered(deadline + 8 + 8 + 32, 9))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
    expect(codeOfRestore(tampered(deadline, 0xff))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
    expect(codeOfRestore(tampered(offsetOf(snapshot, 'esc-2') + 4, '0'.charCodeAt(0)))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
    expect(codeOfRestore(tampered(job + 5 + 1, 0xff))).toBe('ORBITFED_LEDGER_SNAPSHOT_MALFORMED');
    expect(codeOfRestore(tampered(job - 1, 65))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
  });

  it('reads settled receipts as strictly, though it leaves them unread: key order, lengths, the range of not-after, the end', () => {
    const w = world();
    for (const job of ['job-1', 'job-2']) w.escrow(`esc-${job}`, job, 'acme', 'sat-1', 1_000n);
    w.block(['job-1', 'job-2'].map((job): LedgerTransaction => ({ kind: 'settle-receipt', receipt: w.receipt('sat-1', job, 900n) })));
    const snapshot = w.ledger.snapshot();
    const tampered = (at: number, value: number): Uint8Array => tamperedAt(snapshot, at, value);
    // A receipt: key "sat-1#N" (u8 length first), content hash (32 bytes), not-after (u64); the
    // escrows before them name the receipts that settled them.
    const first = offsetOf(snapshot, 'sat-1#1', 1);
    const second = offsetOf(snapshot, 'sat-1#2', 1);
    expect(codeOfRestore(tampered(second + 6, '0'.charCodeAt(0)))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
    expect(codeOfRestore(tampered(first - 1, 200))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
    expect(codeOfRestore(tampered(first + 7 + 32, 0xff))).toBe('ORBITFED_LEDGER_SNAPSHOT_INVALID');
    expect(codeOfRestore(tampered(second - 1, 250))).toMatch(/^ORBITFED_LEDGER_SNAPSHOT_(INVALID|TRUNCATED)$/);
    // A non-ASCII key is read the eager way, as strictly.
    expect(codeOfRestore(tampered(second + 6, 0xc3))).toBe('ORBITFED_LEDGER_SNAPSHOT_MALFORMED');
  });

  it('still restores a version 1 snapshot (CBOR entries, digests recomputed), to the state hash it was written with', () => {
    const fixture = JSON.parse(readFileSync(new URL('./ledger-snapshot-v1.fixture.json', import.meta.url), 'utf8')) as { stateHash: string; height: number; settledReceipts: number; snapshotHex: string };
    const bytes = new Uint8Array(Buffer.from(fixture.snapshotHex, 'hex'));
    expect(bytes[0]).toBe(0x87);
    const restored = Ledger.restore(bytes);
    expect([restored.height, restored.settledReceiptCount]).toEqual([fixture.height, fixture.settledReceipts]);
    expect(toHex(restored.stateHash())).toBe(fixture.stateHash);
    expect(toHex(restored.recomputeStateHash())).toBe(fixture.stateHash);
    // Written again, it is a version 2 snapshot of the same state.
    const again = Ledger.restore(restored.snapshot());
    expect(toHex(again.recomputeStateHash())).toBe(fixture.stateHash);
    const tampered = Uint8Array.from(bytes);
    tampered[tampered.length - 1]! ^= 1;
    expect(codeOfRestore(tampered)).toBe('ORBITFED_LEDGER_SNAPSHOT_HASH');
  });

  it('refuses a block whose time goes backwards, or one with too many transactions', () => {
    const w = new LedgerWorld({ limits: { ...Ledger.genesis({ ...world().ledger.params }).params.limits, transactionsPerBlockMax: 2 } });
    w.block([]);
    expect(() => w.ledger.applyBlock([], w.nowMs - 1)).toThrow(expect.objectContaining({ code: 'ORBITFED_LEDGER_BLOCK_TIME' }));
    const tx: LedgerTransaction = { kind: 'escrow-void', escrowId: 'x' };
    expect(() => w.ledger.applyBlock([tx, tx, tx], w.nowMs)).toThrow(expect.objectContaining({ code: 'ORBITFED_LEDGER_BLOCK_TOO_LARGE' }));
  });

  it('answers a dry run without changing anything', () => {
    const w = world();
    const hash = toHex(w.ledger.stateHash());
    const tx: LedgerTransaction = { kind: 'transfer', transferId: 't-1', debitAccountId: 'acme', creditAccountId: 'sat-1-earnings', amountMinor: 5n };
    expect(codeOf(w.ledger.checkTransaction(tx, w.nowMs))).toBe('applied');
    expect(codeOf(w.ledger.checkTransaction({ ...tx, amountMinor: 10n ** 9n }, w.nowMs))).toBe('ORBITFED_LEDGER_INSUFFICIENT_FUNDS');
    expect(toHex(w.ledger.stateHash())).toBe(hash);
    expect(w.balance('acme')).toBe(1_000_000n);
  });
});

describe('transaction bytes', () => {
  it('round-trips every kind of transaction through canonical bytes', () => {
    const w = world();
    const txs: LedgerTransaction[] = [
      { kind: 'open-account', accountId: 'a', accountKind: 'tenant', currency: 'EUR', ownerId: 'o' },
      { kind: 'mint', transferId: 'm', accountId: 'a', amountMinor: 2n ** 62n },
      { kind: 'transfer', transferId: 't', debitAccountId: 'a', creditAccountId: 'b', amountMinor: 5n },
      { kind: 'escrow-open', escrowId: 'e', jobId: 'j', tenantAccountId: 'a', providerAccountId: 'p', amountMinor: 9n, deadlineMs: w.nowMs },
      { kind: 'escrow-post', escrowId: 'e', amountMinor: 3n },
      { kind: 'escrow-void', escrowId: 'e' },
      { kind: 'settle-receipt', receipt: w.receipt('sat-1', 'j', 3n) },
      registerNodeTransaction(CHAIN_ID, 'n', seedOf('n')),
      rotateKeyTransaction(CHAIN_ID, 'n', 1, seedOf('n'), seedOf('n1')),
      revokeKeyTransaction(CHAIN_ID, 'n', 0, 1, seedOf('n1')),
      { kind: 'sla-violation', reportId: 'r', jobId: 'j', nodeId: 'n' },
      { kind: 'double-sign', nodeId: 'n', height: 7, evidenceHash: new Uint8Array(32).fill(3) },
    ];
    for (const tx of txs) {
      const bytes = encodeTransaction(tx);
      expect(show(decodeTransaction(bytes)), tx.kind).toBe(show(tx));
      expect(toHex(encodeTransaction(decodeTransaction(bytes)))).toBe(toHex(bytes));
    }
  });

  it('refuses bytes of an unknown kind, a wrong field count or a bad field', () => {
    const code = (bytes: Uint8Array): string | undefined => {
      try {
        decodeTransaction(bytes);
      } catch (error) {
        return (error as OrbitfedError).code;
      }
      return undefined;
    };
    const voidTx = encodeTransaction({ kind: 'escrow-void', escrowId: 'e' });
    expect(code(Uint8Array.from([0x82, 0x63, ...Buffer.from('foo'), 0x61, 0x65]))).toBe('ORBITFED_TX_INVALID');
    expect(code(Uint8Array.from([0x83, ...voidTx.subarray(1), 0x00]))).toBe('ORBITFED_TX_INVALID');
    expect(code(encodeTransactionUnchecked(['transfer', 't', 'a', 'a', 5]))).toBe('ORBITFED_TX_INVALID');
    expect(code(Uint8Array.from([...voidTx, 0]))).toBe('ORBITFED_TX_TRAILING_BYTES');
  });
});

/** CBOR of an array of short texts and small integers, without the encoder's checks. */
function encodeTransactionUnchecked(items: readonly (string | number)[]): Uint8Array {
  const out = [0x80 + items.length];
  for (const item of items) {
    if (typeof item === 'number') out.push(item);
    else out.push(0x60 + item.length, ...Buffer.from(item));
  }
  return Uint8Array.from(out);
}
