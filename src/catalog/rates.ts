import type { CatalogModelEntry, Prices, ServiceTier } from './types';

/**
 * Per-token rates in pico-USD (1e-12 USD) per token: a price of P USD per million tokens is
 * P × 1e6 pUSD per token, an exact integer for any published price with up to six decimals.
 * Money math then stays in integers: cost_nusd = round(tokens × rate / 1000).
 */
export interface TierRates {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  cacheWrite1h: number;
  output: number;
}

export interface ModelRates {
  tiers: Partial<Record<ServiceTier, TierRates>> & { standard: TierRates };
  longContext?: { thresholdTokens: number; tiers: Partial<Record<ServiceTier, TierRates>> & { standard: TierRates } };
}

export function picoPerToken(usdPerMillion: number): number {
  return Math.round(usdPerMillion * 1_000_000);
}

/**
 * Rates for one tier. A class the provider does not list for a discounted tier is derived from
 * the standard class by the tier's own input discount (e.g. Anthropic batch cache writes are
 * 50% like batch input), because providers apply tier discounts across the board.
 */
function tierRates(prices: Prices, standard: TierRates, tier: ServiceTier): TierRates | undefined {
  if (tier === 'standard') return standard;
  const input = prices[`${tier}_input`];
  const output = prices[`${tier}_output`];
  if (input === undefined || output === undefined) return undefined;
  const inputRate = picoPerToken(input);
  const scale = (rate: number): number => (standard.input === 0 ? rate : Math.round((rate * inputRate) / standard.input));
  const cached = prices[`${tier}_cached_input`];
  return {
    input: inputRate,
    cachedInput: cached === undefined ? scale(standard.cachedInput) : picoPerToken(cached),
    cacheWrite: scale(standard.cacheWrite),
    cacheWrite1h: scale(standard.cacheWrite1h),
    output: picoPerToken(output),
  };
}

function ratesForPrices(prices: Prices): ModelRates['tiers'] {
  const input = picoPerToken(prices.input);
  const standard: TierRates = {
    input,
    // A provider that does not discount cached input charges it as plain input.
    cachedInput: prices.cached_input === undefined ? input : picoPerToken(prices.cached_input),
    cacheWrite: prices.cache_write === undefined ? input : picoPerToken(prices.cache_write),
    cacheWrite1h:
      prices.cache_write_1h === undefined
        ? prices.cache_write === undefined
          ? input
          : picoPerToken(prices.cache_write)
        : picoPerToken(prices.cache_write_1h),
    output: picoPerToken(prices.output),
  };
  const tiers: ModelRates['tiers'] = { standard };
  for (const tier of ['batch', 'flex', 'priority'] as const) {
    const rates = tierRates(prices, standard, tier);
    if (rates) tiers[tier] = rates;
  }
  return tiers;
}

export function ratesForModel(entry: CatalogModelEntry): ModelRates {
  const rates: ModelRates = { tiers: ratesForPrices(entry.prices) };
  if (entry.long_context) {
    rates.longContext = {
      thresholdTokens: entry.long_context.threshold_tokens,
      tiers: ratesForPrices({ ...entry.prices, ...entry.long_context.prices }),
    };
  }
  return rates;
}
