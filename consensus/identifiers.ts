// The text identifiers and money bounds shared by receipts and the ledger. Ids never contain "/":
// the ledger names the movements it generates "<id>/<what>" (an escrow's "esc-1/fee", a slash's
// "sla-1/slash/sat-1-stake"), so a generated name can never collide with one a client chose.
import { OrbitfedError } from '../common/index.ts';

/** Node, job, account, transfer, escrow and report ids: 1–64 of [A-Za-z0-9._:-], not starting with punctuation. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** ISO 4217 codes ("EUR") and token symbols ("USDC"): 3–8 upper-case letters and digits. */
export const CURRENCY_PATTERN = /^[A-Z][A-Z0-9]{2,7}$/;
/**
 * The largest amount of one currency, in minor units, that may exist at all (2^63 − 1): the ledger
 * refuses a mint beyond it, so every balance, sum and fee fits a signed 64-bit integer elsewhere.
 */
export const AMOUNT_MINOR_MAX = 2n ** 63n - 1n;

export function checkId(value: string, field: string, code: string): void {
  if (!ID_PATTERN.test(value)) throw new OrbitfedError(code, `${JSON.stringify(value)} is not 1–64 of [A-Za-z0-9._:-] starting with a letter or digit`, { field });
}

export function checkCurrency(value: string, field: string, code: string): void {
  if (!CURRENCY_PATTERN.test(value)) throw new OrbitfedError(code, `${JSON.stringify(value)} is not a currency code (3–8 of [A-Z0-9], starting with a letter)`, { field });
}

/** A whole number of minor units, 0 … AMOUNT_MINOR_MAX. */
export function checkAmountMinor(value: bigint, field: string, code: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > AMOUNT_MINOR_MAX) {
    throw new OrbitfedError(code, `${String(value)} is not an amount of minor units (a bigint in 0 … 2^63 − 1)`, { field });
  }
}

/** A safe non-negative integer no larger than `max`. */
export function checkCount(value: number, max: number, field: string, code: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new OrbitfedError(code, `${String(value)} is not an integer in 0 … ${max}`, { field });
  }
}
