import { formatUsd } from '../ledger/pricing';

/** Largest budget amount accepted: keeps nano-USD sums far inside the safe-integer range. */
export const MAX_AMOUNT_USD = 1_000_000;

/** A USD amount with at most nine decimals as integer nano-USD (exact: the rounding only removes float noise). */
export function usdToNusd(usd: number): number {
  return Math.round(usd * 1e9);
}

export function hasAtMostNineDecimals(usd: number): boolean {
  return Math.abs(usd * 1e9 - Math.round(usd * 1e9)) < 1e-3;
}

/** nano-USD as a JSON number of USD, via the exact decimal string (for API views and webhook payloads). */
export function nusdToUsd(nusd: number): number {
  return Number(formatUsd(nusd));
}

/** `$12.50` style, for messages people read. */
export function usdLabel(nusd: number): string {
  const cents = Math.round(nusd / 1e7);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const fine = Math.abs(nusd) < 1e7 && nusd !== 0;
  return fine ? `${sign}$${formatUsd(Math.abs(nusd)).replace(/0+$/, '')}` : `${sign}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
