// Accounts, mints and plain transfers (double entry: every transfer debits one account and credits
// another by the same amount, in the same currency). Ids are unique and submission is idempotent:
// the same id with the same content again is a no-op, with other content a conflict.
//
// Account kinds: tenant (pays for jobs), provider (a node's earnings; owner = node id), stake (a
// node's bond, slashable; owner = node id), and the ledger's own fee and escrow accounts, one of each
// per currency. Escrow accounts move only through escrows (a transfer or mint touching one is
// refused), so each always holds exactly its currency's pending escrows. No account may be
// overdrawn: the issue asks it of tenant and stake accounts; no kind needs credit, so it holds for all.
import { bytesEqual, sha256 } from './canonical-bytes.ts';
import { AMOUNT_MINOR_MAX } from './identifiers.ts';
import { applied, NO_OP, rejected, type Account, type LedgerState, type Outcome } from './ledger-state.ts';
import { encodeTransaction, type LedgerTransaction, type MintTx, type Movement, type OpenAccountTx, type TransferTx } from './ledger-transactions.ts';

/** SHA-256 of a transaction's canonical bytes: what idempotency compares. */
export function transactionHash(tx: LedgerTransaction): Uint8Array {
  return sha256(encodeTransaction(tx));
}


export function openAccount(state: LedgerState, tx: OpenAccountTx): Outcome {
  const existing = state.accounts.get(tx.accountId);
  if (existing !== undefined) {
    if (existing.kind === tx.accountKind && existing.currency === tx.currency && existing.ownerId === tx.ownerId) return NO_OP;
    return rejected('ORBITFED_LEDGER_ID_CONFLICT', `account ${tx.accountId} exists with other content`);
  }
  if (state.accounts.isFull) return rejected('ORBITFED_LEDGER_LIMIT', `the ledger holds ${state.accounts.entriesMax} accounts at most`);
  if (tx.accountKind === 'fee' && state.feeAccountByCurrency.has(tx.currency)) {
    return rejected('ORBITFED_LEDGER_SYSTEM_ACCOUNT_EXISTS', `${tx.currency} already has fee account ${state.feeAccountByCurrency.get(tx.currency)}`);
  }
  if (tx.accountKind === 'escrow' && state.escrowAccountByCurrency.has(tx.currency)) {
    return rejected('ORBITFED_LEDGER_SYSTEM_ACCOUNT_EXISTS', `${tx.currency} already has escrow account ${state.escrowAccountByCurrency.get(tx.currency)}`);
  }
  // A stake account needs somewhere for its slashes to go, from the moment it exists.
  if (tx.accountKind === 'stake' && !state.feeAccountByCurrency.has(tx.currency)) {
    return rejected('ORBITFED_LEDGER_SYSTEM_ACCOUNT_MISSING', `${tx.currency} has no fee account to receive slashed stake`);
  }
  const account: Account = { id: tx.accountId, kind: tx.accountKind, currency: tx.currency, ownerId: tx.ownerId, balanceMinor: 0n };
  return applied([], () => {
    state.accounts.set(account.id, account);
    if (!state.supplies.has(account.currency)) state.supplies.set(account.currency, { currency: account.currency, supplyMinor: 0n });
    if (account.kind === 'fee') state.feeAccountByCurrency.set(account.currency, account.id);
    if (account.kind === 'escrow') state.escrowAccountByCurrency.set(account.currency, account.id);
  });
}

/** Idempotency of a client-chosen money id (mints, transfers and escrows share one id space). */
function seenBefore(state: LedgerState, id: string, contentHash: Uint8Array): Outcome | undefined {
  const previous = state.transfers.get(id);
  if (previous !== undefined) {
    return bytesEqual(previous.contentHash, contentHash) ? NO_OP : rejected('ORBITFED_LEDGER_ID_CONFLICT', `id ${id} was used by another transaction`);
  }
  if (state.escrows.has(id)) return rejected('ORBITFED_LEDGER_ID_CONFLICT', `id ${id} names an escrow`);
  if (state.transfers.isFull) return rejected('ORBITFED_LEDGER_LIMIT', `the ledger remembers ${state.transfers.entriesMax} transfer ids at most`);
  return undefined;
}

export function mint(state: LedgerState, tx: MintTx): Outcome {
  const contentHash = transactionHash(tx);
  const seen = seenBefore(state, tx.transferId, contentHash);
  if (seen !== undefined) return seen;
  const account = state.accounts.get(tx.accountId);
  if (account === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_ACCOUNT', `no account ${tx.accountId}`);
  if (account.kind === 'escrow') return rejected('ORBITFED_LEDGER_ACCOUNT_KIND', 'escrow accounts move only through escrows');
  const supply = state.supplies.get(account.currency)!;
  if (supply.supplyMinor + tx.amountMinor > AMOUNT_MINOR_MAX) {
    return rejected('ORBITFED_LEDGER_SUPPLY_LIMIT', `${account.currency} would exceed 2^63 − 1 minor units in existence`);
  }
  return applied([], () => {
    state.transfers.set(tx.transferId, { id: tx.transferId, contentHash });
    state.supplies.set(supply.currency, { ...supply, supplyMinor: supply.supplyMinor + tx.amountMinor });
    const current = state.accounts.get(account.id)!;
    state.accounts.set(account.id, { ...current, balanceMinor: current.balanceMinor + tx.amountMinor });
  });
}

export function transfer(state: LedgerState, tx: TransferTx): Outcome {
  const contentHash = transactionHash(tx);
  const seen = seenBefore(state, tx.transferId, contentHash);
  if (seen !== undefined) return seen;
  const debit = state.accounts.get(tx.debitAccountId);
  const credit = state.accounts.get(tx.creditAccountId);
  if (debit === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_ACCOUNT', `no account ${tx.debitAccountId}`);
  if (credit === undefined) return rejected('ORBITFED_LEDGER_UNKNOWN_ACCOUNT', `no account ${tx.creditAccountId}`);
  if (debit.kind === 'escrow' || credit.kind === 'escrow') return rejected('ORBITFED_LEDGER_ACCOUNT_KIND', 'escrow accounts move only through escrows');
  if (debit.currency !== credit.currency) return rejected('ORBITFED_LEDGER_CURRENCY_MISMATCH', `${debit.id} holds ${debit.currency}, ${credit.id} holds ${credit.currency}`);
  if (debit.balanceMinor < tx.amountMinor) {
    return rejected('ORBITFED_LEDGER_INSUFFICIENT_FUNDS', `${debit.id} holds ${debit.balanceMinor}, the transfer needs ${tx.amountMinor}`);
  }
  const movement: Movement = { transferId: tx.transferId, debitAccountId: debit.id, creditAccountId: credit.id, amountMinor: tx.amountMinor, currency: debit.currency };
  return applied([movement], () => {
    state.transfers.set(tx.transferId, { id: tx.transferId, contentHash });
    state.move(movement);
  });
}
