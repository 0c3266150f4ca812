// The escrow port's in-process implementation (scheduler/escrow-ledger.ts) over consensus' Ledger:
// money moves as the ledger says, every call is safe to retry, and the state survives a restart
// through its snapshot.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock, unixMs } from '../../common/index.ts';
import { InProcessEscrowLedger, providerAccountId, tenantAccountId, type EscrowRequest } from '../../scheduler/escrow-ledger.ts';
import { HOUR_MS, scratchDirectory, T0_MS } from './job-fixtures.ts';

const scratch = scratchDirectory('escrow');
afterAll(() => scratch.remove());

const request = (overrides: Partial<EscrowRequest> = {}): EscrowRequest => ({
  escrowId: 'job-1.1', ledgerJobId: 'job-1.1', tenantId: 'acme', nodeId: 'gs-svalbard', currency: 'EUR', amountMinor: 250n, deadlineMs: T0_MS + HOUR_MS,
  ...overrides,
});

async function funded(snapshotPath?: string): Promise<{ ledger: InProcessEscrowLedger; clock: VirtualClock }> {
  const clock = new VirtualClock(unixMs(T0_MS));
  const ledger = await InProcessEscrowLedger.open({ chainId: 'orbitfed-test', clock, snapshotPath });
  expect(ledger.fundTenant('acme', 'EUR', 1000n, 'genesis:acme:EUR')).toEqual({ ok: true, status: 'applied' });
  return { ledger, clock };
}

describe('the in-process escrow ledger', () => {
  it('holds the price when an escrow opens, and gives it back when it is voided', async () => {
    const { ledger } = await funded();
    expect(await ledger.openEscrow(request())).toEqual({ ok: true, status: 'applied' });
    expect(await ledger.balanceMinor('acme', 'EUR')).toBe(750n);
    expect(await ledger.escrow('job-1.1')).toMatchObject({ status: 'pending', amountMinor: 250n, currency: 'EUR', ledgerJobId: 'job-1.1' });
    expect((await ledger.pendingEscrows()).map((e) => e.escrowId)).toEqual(['job-1.1']);
    expect(await ledger.voidEscrow('job-1.1')).toEqual({ ok: true, status: 'applied' });
    expect(await ledger.balanceMinor('acme', 'EUR')).toBe(1000n);
    expect(await ledger.pendingEscrows()).toEqual([]);
    expect(ledger.ledger.account(providerAccountId('gs-svalbard', 'EUR'))?.ownerId).toBe('gs-svalbard');
  });

  it('treats the same escrow again as a no-op, and the same id with other content as a conflict', async () => {
    const { ledger } = await funded();
    await ledger.openEscrow(request());
    expect(await ledger.openEscrow(request())).toEqual({ ok: true, status: 'no-op' });
    expect(await ledger.balanceMinor('acme', 'EUR')).toBe(750n);
    expect(await ledger.openEscrow(request({ amountMinor: 300n }))).toMatchObject({ ok: false, code: 'ORBITFED_LEDGER_ID_CONFLICT' });
  });

  it('refuses an escrow the tenant cannot pay, or for a tenant without an account, moving nothing', async () => {
    const { ledger } = await funded();
    expect(await ledger.openEscrow(request({ amountMinor: 5000n }))).toMatchObject({ ok: false, code: 'ORBITFED_LEDGER_INSUFFICIENT_FUNDS' });
    expect(await ledger.openEscrow(request({ tenantId: 'nobody' }))).toMatchObject({ ok: false, code: 'ORBITFED_LEDGER_UNKNOWN_ACCOUNT' });
    expect(await ledger.balanceMinor('acme', 'EUR')).toBe(1000n);
    expect(await ledger.balanceMinor('nobody', 'EUR')).toBeUndefined();
  });

  it('lets an escrow expire back to the tenant at its deadline', async () => {
    const { ledger, clock } = await funded();
    await ledger.openEscrow(request());
    clock.advanceTo(unixMs(T0_MS + HOUR_MS));
    // Expiry happens at the first block at or after the deadline: any operation makes one.
    expect(await ledger.voidEscrow('job-1.1')).toMatchObject({ ok: false, code: 'ORBITFED_LEDGER_ESCROW_RESOLVED' });
    expect((await ledger.escrow('job-1.1'))?.status).toBe('expired');
    expect(await ledger.balanceMinor('acme', 'EUR')).toBe(1000n);
  });

  it('reports an SLA violation only against a node the ledger knows', async () => {
    const { ledger } = await funded();
    await ledger.openEscrow(request());
    expect(await ledger.reportSlaViolation({ reportId: 'sla.job-1.1', ledgerJobId: 'job-1.1', nodeId: 'gs-svalbard' }))
      .toMatchObject({ ok: false, code: 'ORBITFED_LEDGER_UNKNOWN_NODE' });
    expect(await ledger.reputationPpm('gs-svalbard')).toBeUndefined();
  });

  it('keeps its state in a snapshot file, restored on the next open', async () => {
    const path = join(scratch.path, 'ledger.snapshot');
    const { ledger } = await funded(path);
    await ledger.openEscrow(request());
    expect(existsSync(path)).toBe(true);
    const clock = new VirtualClock(unixMs(T0_MS + 1000));
    const again = await InProcessEscrowLedger.open({ chainId: 'orbitfed-test', clock, snapshotPath: path });
    expect(await again.balanceMinor('acme', 'EUR')).toBe(750n);
    expect((await again.escrow('job-1.1'))?.status).toBe('pending');
    expect(again.fundTenant('acme', 'EUR', 1000n, 'genesis:acme:EUR')).toEqual({ ok: true, status: 'no-op' });
    await expect(InProcessEscrowLedger.open({ chainId: 'other-chain', clock, snapshotPath: path })).rejects.toMatchObject({ code: 'ORBITFED_ESCROW_LEDGER_READ' });
  });

  it('refuses a snapshot file that is not one, naming the file', async () => {
    const path = join(scratch.path, 'garbage.snapshot');
    writeFileSync(path, 'not base64 at all!');
    await expect(InProcessEscrowLedger.open({ chainId: 'orbitfed-test', clock: new VirtualClock(unixMs(T0_MS)), snapshotPath: path }))
      .rejects.toMatchObject({ code: 'ORBITFED_ESCROW_LEDGER_READ', location: { file: path } });
    writeFileSync(path, Buffer.from('truncated snapshot').toString('base64'));
    await expect(InProcessEscrowLedger.open({ chainId: 'orbitfed-test', clock: new VirtualClock(unixMs(T0_MS)), snapshotPath: path }))
      .rejects.toMatchObject({ code: expect.stringMatching(/^ORBITFED_LEDGER_SNAPSHOT_/) });
  });

  it('names accounts within the ledger\'s 64-character ids, hashing node ids that would not fit', () => {
    expect(tenantAccountId('acme', 'EUR')).toBe('t:acme:EUR');
    const long = `n${'x'.repeat(63)}`;
    expect(providerAccountId(long, 'EUR')).toMatch(/^p:[0-9a-f]{40}:EUR$/);
  });
});
