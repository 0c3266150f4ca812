// The invariants LedgerState asserts after every block, as the validators rely on them: an escrow
// account holds exactly its currency's pending escrows. Between full counts (every
// INVARIANTS_FULL_EVERY_BLOCKS heights, and the first check after a start) the pending amount is
// kept from the block's escrow writes, so the check costs O(escrows written), not O(pending).
import { describe, expect, it } from 'vitest';
import { defaultLedgerParams } from '../../consensus/ledger-params.ts';
import { INVARIANTS_FULL_EVERY_BLOCKS, LedgerState, type Account, type Escrow } from '../../consensus/ledger-state.ts';

const account = (id: string, kind: Account['kind'], balanceMinor: bigint): Account => ({ id, kind, currency: 'EUR', ownerId: id, balanceMinor });
const escrow = (id: string, amountMinor: bigint, status: Escrow['status'] = 'pending'): Escrow => ({
  id, jobId: `job-${id}`, tenantAccountId: 'tenant', providerAccountId: 'provider', currency: 'EUR', amountMinor, deadlineMs: 1e12, openedAtMs: 0,
  contentHash: new Uint8Array(32), status, postedMinor: 0n, feeMinor: 0n, resolvedAtMs: 0, settledBy: '', slaReportId: '',
});

/** A state with a tenant and the EUR escrow account holding `pending` escrows of 100 each (opened as if by the ledger). */
function stateWith(pending: number): LedgerState {
  const state = new LedgerState(defaultLedgerParams('invariants-test'));
  state.accounts.set('tenant', account('tenant', 'tenant', 1_000_000n));
  state.accounts.set('escrow-eur', account('escrow-eur', 'escrow', BigInt(pending) * 100n));
  state.supplies.set('EUR', { currency: 'EUR', supplyMinor: 1_000_000n + BigInt(pending) * 100n });
  state.escrowAccountByCurrency.set('EUR', 'escrow-eur');
  for (let i = 0; i < pending; i++) {
    state.escrows.set(`e-${i}`, escrow(`e-${i}`, 100n));
    state.pendingEscrowIds.add(`e-${i}`);
  }
  return state;
}

/** Posts escrow `id` as the ledger would: the escrow leaves pending and its amount leaves the escrow account. */
function post(state: LedgerState, id: string): void {
  state.escrows.set(id, { ...state.escrows.get(id)!, status: 'posted', postedMinor: 100n });
  state.pendingEscrowIds.delete(id);
  state.move({ transferId: `post-${id}`, debitAccountId: 'escrow-eur', creditAccountId: 'tenant', amountMinor: 100n, currency: 'EUR' });
}

const block = (state: LedgerState, writes: () => void): void => {
  state.height += 1;
  writes();
  state.assertInvariants();
  state.commitBlock();
};

describe('ledger state invariants', () => {
  it('holds through blocks that post escrows, counted in full and from the writes alike', () => {
    const state = stateWith(300);
    for (let h = 0; h < 2 * INVARIANTS_FULL_EVERY_BLOCKS + 5; h++) block(state, () => post(state, `e-${h}`));
    expect(state.pendingEscrowIds.size).toBe(300 - (2 * INVARIANTS_FULL_EVERY_BLOCKS + 5));
  });

  it('refuses an escrow account whose balance moved without an escrow (between full counts too)', () => {
    const state = stateWith(10);
    block(state, () => post(state, 'e-0'));
    state.height += 1;
    expect(state.height % INVARIANTS_FULL_EVERY_BLOCKS).not.toBe(0);
    state.move({ transferId: 'leak', debitAccountId: 'escrow-eur', creditAccountId: 'tenant', amountMinor: 1n, currency: 'EUR' });
    expect(() => state.assertInvariants()).toThrow(/escrow account of EUR does not hold exactly its pending escrows/);
  });

  it('refuses an escrow that left pending without its money, and a pending index that disagrees with the table', () => {
    const state = stateWith(10);
    block(state, () => post(state, 'e-0'));
    state.height += 1;
    state.escrows.set('e-1', { ...state.escrows.get('e-1')!, status: 'voided' });
    state.pendingEscrowIds.delete('e-1');
    expect(() => state.assertInvariants()).toThrow(/does not hold exactly its pending escrows/);

    const other = stateWith(10);
    block(other, () => post(other, 'e-0'));
    other.height += 1;
    other.escrows.set('e-2', { ...other.escrows.get('e-2')!, deadlineMs: 5 });
    other.pendingEscrowIds.delete('e-2');
    expect(() => other.assertInvariants()).toThrow(/escrow e-2: the pending index disagrees with the table/);
  });
});
