// The escrow port backed by a real `orbitfed validator` process: the same behaviours as the
// in-process ledger's (holds, voids, no-ops, conflicts, refusals), each answered once committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escrowAccountId, feeAccountId, providerAccountId, tenantAccountId, type EscrowRequest } from '../../scheduler/escrow-ledger.ts';
import { ValidatorEscrowLedger } from '../../scheduler/validator-escrow-ledger.ts';
import { ValidatorCluster } from '../consensus/validator-cluster.ts';

let cluster: ValidatorCluster;
let ledger: ValidatorEscrowLedger;
const DEADLINE_MS = Date.now() + 3_600_000;

const request = (overrides: Partial<EscrowRequest> = {}): EscrowRequest => ({
  escrowId: 'job-1.1', ledgerJobId: 'job-1.1', tenantId: 'acme', nodeId: 'gs-svalbard', currency: 'EUR', amountMinor: 250n, deadlineMs: DEADLINE_MS,
  ...overrides,
});

beforeAll(async () => {
  cluster = await ValidatorCluster.create({
    validators: 1, tenants: ['acme'], tenantBalanceMinor: 1000n, nodes: ['gs-svalbard'], configExtras: { emptyBlockIntervalMs: 200, commitDelayMs: 20 },
    accountIds: { fee: feeAccountId, escrow: escrowAccountId, tenant: tenantAccountId, provider: providerAccountId },
  });
  cluster.start(0);
  await cluster.waitForRpc(0);
  ledger = new ValidatorEscrowLedger({ rpcUrl: cluster.testnet.rpcUrls[0]! });
});

afterAll(async () => {
  await cluster?.close();
});

describe('the validator-backed escrow ledger', () => {
  it('holds the price on the chain, treats a retry as a no-op, and gives it back when voided', async () => {
    expect(await ledger.balanceMinor('acme', 'EUR')).toBe(1000n);
    expect(await ledger.openEscrow(request())).toEqual({ ok: true, status: 'applied' });
    // The same transaction again is answered with its committed result: the escrow is held once.
    expect(await ledger.openEscrow(request())).toMatchObject({ ok: true });
    expect(await ledger.balanceMinor('acme', 'EUR')).toBe(750n);
    expect(await ledger.escrow('job-1.1')).toMatchObject({ status: 'pending', amountMinor: 250n, currency: 'EUR', ledgerJobId: 'job-1.1' });
    expect((await ledger.pendingEscrows()).map((e) => e.escrowId)).toEqual(['job-1.1']);
    expect(await ledger.openEscrow(request({ amountMinor: 300n }))).toMatchObject({ ok: false, code: 'ORBITFED_LEDGER_ID_CONFLICT' });
    expect(await ledger.voidEscrow('job-1.1')).toEqual({ ok: true, status: 'applied' });
    expect(await ledger.balanceMinor('acme', 'EUR')).toBe(1000n);
    expect(await ledger.pendingEscrows()).toEqual([]);
  });

  it('refuses what the tenant cannot pay, and a tenant without an account, moving nothing', async () => {
    expect(await ledger.openEscrow(request({ escrowId: 'job-2.1', ledgerJobId: 'job-2.1', amountMinor: 5000n }))).toMatchObject({ ok: false, code: 'ORBITFED_LEDGER_INSUFFICIENT_FUNDS' });
    expect(await ledger.openEscrow(request({ escrowId: 'job-3.1', ledgerJobId: 'job-3.1', tenantId: 'nobody' }))).toMatchObject({ ok: false, code: 'ORBITFED_LEDGER_UNKNOWN_ACCOUNT' });
    expect(await ledger.balanceMinor('nobody', 'EUR')).toBeUndefined();
    expect(await ledger.reputationPpm('gs-svalbard')).toBe(500_000);
    expect(await ledger.reputationPpm('nobody')).toBeUndefined();
  });
});
