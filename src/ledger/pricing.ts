import type { ModelRates, TierRates } from '../catalog/rates';
import type { ServiceTier } from '../catalog/types';
import type { Usage } from '../gateway/usage';

/** tokens × pUSD-per-token → nano-USD, rounded half up, exact in integers. */
function classCost(tokens: number, picoRate: number): number {
  const product = tokens * picoRate;
  if (Number.isSafeInteger(product)) return Math.floor((product + 500) / 1000);
  const big = BigInt(tokens) * BigInt(picoRate);
  return Number((big + 500n) / 1000n);
}

export function promptTokens(usage: Usage): number {
  return usage.inputTokens + usage.cachedInputTokens + usage.cacheWriteTokens;
}

/** The rates that apply to a request: its tier's, and the long-context rates above the threshold. */
export function ratesFor(rates: ModelRates, tier: ServiceTier, prompt: number): TierRates {
  const table = rates.longContext && prompt > rates.longContext.thresholdTokens ? rates.longContext.tiers : rates.tiers;
  return table[tier] ?? table.standard;
}

/**
 * The exact cost of a usage record in integer nano-USD: each token class is priced and rounded
 * on its own (DESIGN.md: round(tokens × price_per_million × 1e9 / 1e6) per class), then summed.
 * Reasoning tokens are part of output tokens and are not charged twice.
 */
export function priceUsage(rates: ModelRates, tier: ServiceTier, usage: Usage): number {
  const r = ratesFor(rates, tier, promptTokens(usage));
  const cacheWrite5m = usage.cacheWriteTokens - usage.cacheWrite1hTokens;
  return (
    classCost(usage.inputTokens, r.input) +
    classCost(usage.cachedInputTokens, r.cachedInput) +
    classCost(cacheWrite5m, r.cacheWrite) +
    classCost(usage.cacheWrite1hTokens, r.cacheWrite1h) +
    classCost(usage.outputTokens, r.output)
  );
}

/** The same tokens with every prompt token priced as plain input: what no caching would cost. */
export function withoutCaching(usage: Usage): Usage {
  return {
    ...usage,
    inputTokens: promptTokens(usage),
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
  };
}

/** Formats nano-USD as a decimal USD string without floating point (for headers and CSV). */
export function formatUsd(nanoUsd: number): string {
  const negative = nanoUsd < 0;
  const abs = Math.abs(nanoUsd);
  const whole = Math.floor(abs / 1e9);
  const fraction = String(abs % 1e9).padStart(9, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}
