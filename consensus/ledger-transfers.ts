// Two-phase transfers for jobs (escrow), after TigerBeetle's pending/post/void transfers:
//
//   escrow-open   tenant ──amount──▶ escrow account                         status pending
//   post p        escrow ──p − fee──▶ provider, escrow ──fee──▶ fee account,
//                 escrow ──amount − p──▶ tenant (the rest is released)        status posted
//   void          escrow ──amount──▶ tenant                                  status voided
//   expiry        escrow ──amount──▶ tenant, at the first block whose time
//                 is ≥ the deadline (before that block's transactions)       status expired
//
// An escrow leaves `pending` exactly once, and every movement above is one debit and one credit of
// the same amount, so money is conserved whatever the rounding of the fee
// (consensus/settlement-math.ts). Movements the ledger generates are named "<escrow id>/hold",
// "/post", "/fee", "/release", "/void", "/expire"; zero amounts move nothing and are left out.
import { bytesEqual } from './canonical-bytes.ts';
import { transactionHash } from './ledger-accounts.ts';
import { applied, NO_OP, rejected, type Escrow, type LedgerState, type Outcome } from './ledger-state.ts';
import type { EscrowOpenTx, EscrowPostTx, EscrowVoidTx, Movement } from './ledger-transactions.ts';
import { protocolFeeMinor } from './settlement-math.ts';


export function openEscrow(state: LedgerState, tx: EscrowOpenTx, blockTimeMs: number): Outcome {
  const contentHash = transactionHash(tx);
  const existing = state.escrows.get(tx.escrowId);
  if (existing !== undefined) {
    return bytesEqual(existing.contentHash, contentHash) ? NO_OP : rejected('ORBITFED_LEDGER_ID_CONFLICT', `escrow ${tx.escrowId} exists with other content`);
  }
  if (state.transfers.has(tx.escrowId)) return rejected('ORBITFED_LEDGER_ID_CONFLICT', `id ${tx.escrowId} names a transfer`);
  if (state.escrows.isFull) return rejected('ORBITFED_LEDGER_LIMIT', `the ledger remembers ${state.escrows.entriesMax} escrows at most`);
  if (state.pendingEscrowIds.size >= state.params.limits.pendingEscrowsMax) {
    return rejected('ORBITFED_LEDGER_LIMIT', `${state.params.limits.pendingEscrowsMax} escrows are pending, the most allowed`);
  }
  const jobEscrow = state.escrowIdByJob.get(tx.jobId);
  if (jobEscrow !== undefined) return rejected('ORBITFED_LEDGER_JOB_HAS_ESCROW', `job ${tx.jobId} already has escrow ${jobEscrow}`);
  if (tx.deadlineMs <= blockTimeMs) return rejected('ORBITFED_LEDGER_DEADLINE_PASSED', `deadline ${tx.deadlineMs} is not after the block time ${blockTimeMs}`);
  const tenant = state.accounts.get(tx.tenantAccountId);
  const provider = state.accounts.get(tx.providerAccountId);
  if (tenant === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_ACCOUNT', `no account ${tx.tenantAccountId}`);
  if (provider === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_ACCOUNT', `no account ${tx.providerAccountId}`);
  if (tenant.kind !== 'tenant') return rejected('ORBITFED_LEDGER_ACCOUNT_KIND', `${tenant.id} is a ${tenant.kind} account, not a tenant account`);
  if (provider.kind !== 'provider') return rejected('ORBITFED_LEDGER_ACCOUNT_KIND', `${provider.id} is a ${provider.kind} account, not a provider account`);
  if (tenant.currency !== provider.currency) return rejected('ORBITFED_LEDGER_CURRENCY_MISMATCH', `${tenant.id} holds ${tenant.currency}, ${provider.id} holds ${provider.currency}`);
  const escrowAccountId = state.escrowAccountByCurrency.get(tenant.currency);
  if (escrowAccountId === undefined || !state.feeAccountByCurrency.has(tenant.currency)) {
    return rejected('ORBITFED_LEDGER_SYSTEM_ACCOUNT_MISSING', `${tenant.currency} needs an escrow account and a fee account`);
  }
  if (tenant.balanceMinor < tx.amountMinor) {
    return rejected('ORBITFED_LEDGER_INSUFFICIENT_FUNDS', `${tenant.id} holds ${tenant.balanceMinor}, the escrow needs ${tx.amountMinor}`);
  }
  const escrow: Escrow = {
    id: tx.escrowId, jobId: tx.jobId, tenantAccountId: tenant.id, providerAccountId: provider.id, currency: tenant.currency,
    amountMinor: tx.amountMinor, deadlineMs: tx.deadlineMs, openedAtMs: blockTimeMs, contentHash,
    status: 'pending', postedMinor: 0n, feeMinor: 0n, resolvedAtMs: 0, settledBy: '', slaReportId: '',
  };
  const hold: Movement = { transferId: `${escrow.id}/hold`, debitAccountId: tenant.id, creditAccountId: escrowAccountId, amountMinor: escrow.amountMinor, currency: escrow.currency };
  return applied([hold], () => {
    state.escrows.set(escrow.id, escrow);
    state.escrowIdByJob.set(escrow.jobId, escrow.id);
    state.pendingEscrowIds.add(escrow.id);
    state.escrowExpiryDueMs = Math.min(state.escrowExpiryDueMs, escrow.deadlineMs);
    state.move(hold);
  });
}

function movement(escrow: Escrow, what: string, debitAccountId: string, creditAccountId: string, amountMinor: bigint): Movement[] {
  return amountMinor === 0n ? [] : [{ transferId: `${escrow.id}/${what}`, debitAccountId, creditAccountId, amountMinor, currency: escrow.currency }];
}

/**
 * Posts `amountMinor` (≤ the escrow) of a pending escrow: provider credit, protocol fee and release
 * of the rest, at once. `settledBy` names the receipt that caused it ("" for a direct post);
 * `alsoApply` runs in the same commit (the receipt handler records the receipt and the reputation).
 */
export function postPendingEscrow(state: LedgerState, escrow: Escrow, amountMinor: bigint, blockTimeMs: number, settledBy: string, alsoApply: () => void = () => {}): Outcome {
  if (escrow.status !== 'pending') return rejected('ORBITFED_LEDGER_ESCROW_RESOLVED', `escrow ${escrow.id} is ${escrow.status}`);
  if (amountMinor > escrow.amountMinor) return rejected('ORBITFED_LEDGER_ESCROW_EXCEEDED', `posting ${amountMinor} from an escrow of ${escrow.amountMinor}`);
  const escrowAccountId = state.escrowAccountByCurrency.get(escrow.currency)!;
  const feeAccountId = state.feeAccountByCurrency.get(escrow.currency)!;
  const feeMinor = protocolFeeMinor(amountMinor, state.params.feeBasisPoints);
  const movements = [
    ...movement(escrow, 'post', escrowAccountId, escrow.providerAccountId, amountMinor - feeMinor),
    ...movement(escrow, 'fee', escrowAccountId, feeAccountId, feeMinor),
    ...movement(escrow, 'release', escrowAccountId, escrow.tenantAccountId, escrow.amountMinor - amountMinor),
  ];
  return applied(movements, () => {
    for (const m of movements) state.move(m);
    state.escrows.set(escrow.id, { ...escrow, status: 'posted', postedMinor: amountMinor, feeMinor, resolvedAtMs: blockTimeMs, settledBy });
    state.pendingEscrowIds.delete(escrow.id);
    alsoApply();
  });
}

export function postEscrow(state: LedgerState, tx: EscrowPostTx, blockTimeMs: number): Outcome {
  const escrow = state.escrows.get(tx.escrowId);
  if (escrow === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_ESCROW', `no escrow ${tx.escrowId}`);
  if (escrow.status === 'posted' && escrow.settledBy === '' && escrow.postedMinor === tx.amountMinor) return NO_OP;
  return postPendingEscrow(state, escrow, tx.amountMinor, blockTimeMs, '');
}

/** Returns a pending escrow to its tenant, as `void` or `expire`. */
export function releasePendingEscrow(state: LedgerState, escrow: Escrow, blockTimeMs: number, how: 'voided' | 'expired'): { readonly movements: Movement[]; readonly apply: () => void } {
  const escrowAccountId = state.escrowAccountByCurrency.get(escrow.currency)!;
  const movements = movement(escrow, how === 'voided' ? 'void' : 'expire', escrowAccountId, escrow.tenantAccountId, escrow.amountMinor);
  return {
    movements,
    apply: () => {
      for (const m of movements) state.move(m);
      state.escrows.set(escrow.id, { ...escrow, status: how, resolvedAtMs: blockTimeMs });
      state.pendingEscrowIds.delete(escrow.id);
    },
  };
}

export function voidEscrow(state: LedgerState, tx: EscrowVoidTx, blockTimeMs: number): Outcome {
  const escrow = state.escrows.get(tx.escrowId);
  if (escrow === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_ESCROW', `no escrow ${tx.escrowId}`);
  if (escrow.status === 'voided') return NO_OP;
  if (escrow.status !== 'pending') return rejected('ORBITFED_LEDGER_ESCROW_RESOLVED', `escrow ${escrow.id} is ${escrow.status}`);
  const release = releasePendingEscrow(state, escrow, blockTimeMs, 'voided');
  return applied(release.movements, release.apply);
}

/** Expires every pending escrow whose deadline is ≤ the block time, in (deadline, id) order. */
export function expireEscrows(state: LedgerState, blockTimeMs: number): { readonly expiredEscrowIds: string[]; readonly movements: Movement[] } {
  if (blockTimeMs < state.escrowExpiryDueMs) return { expiredEscrowIds: [], movements: [] };
  const due: Escrow[] = [];
  let nextDueMs = Number.POSITIVE_INFINITY;
  for (const id of state.pendingEscrowIds) {
    const escrow = state.escrows.get(id)!;
    if (escrow.deadlineMs <= blockTimeMs) due.push(escrow);
    else nextDueMs = Math.min(nextDueMs, escrow.deadlineMs);
  }
  due.sort((a, b) => a.deadlineMs - b.deadlineMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const movements: Movement[] = [];
  for (const escrow of due) {
    const release = releasePendingEscrow(state, escrow, blockTimeMs, 'expired');
    release.apply();
    movements.push(...release.movements);
  }
  state.escrowExpiryDueMs = nextDueMs;
  return { expiredEscrowIds: due.map((e) => e.id), movements };
}
