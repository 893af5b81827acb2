import type { CatalogModel } from '../catalog/catalog';
import type { ServiceTier } from '../catalog/types';
import type { Usage } from '../gateway/usage';
import { priceUsage, withoutCaching } from './pricing';
import type { LedgerEvent } from './writer';

export interface CostAttribution {
  costNusd: number;
  baselineCostNusd: number;
  routingSavingsNusd: number;
  cachingSavingsNusd: number;
  tierSavingsNusd: number;
}

/**
 * Prices a request and splits the saving against the counterfactual by lever. The same tokens
 * are priced four ways: at the baseline model with no caching at standard rates, at the served
 * model the same way, at the served model with its caching, and as actually served (its tier).
 * Each lever gets the difference between consecutive steps, so the three savings add up to
 * baseline − cost exactly. A lever can be negative (a cache write that was never read costs
 * more than plain input), and is reported as such.
 */
export function attributeCost(served: CatalogModel, baseline: CatalogModel, servedTier: ServiceTier, usage: Usage): CostAttribution {
  const uncached = withoutCaching(usage);
  const baselineCost = priceUsage(baseline.rates, 'standard', uncached);
  const routedCost = priceUsage(served.rates, 'standard', uncached);
  const cachedCost = priceUsage(served.rates, 'standard', usage);
  const cost = priceUsage(served.rates, servedTier, usage);
  return {
    costNusd: cost,
    baselineCostNusd: baselineCost,
    routingSavingsNusd: baselineCost - routedCost,
    cachingSavingsNusd: routedCost - cachedCost,
    tierSavingsNusd: cachedCost - cost,
  };
}

/** A usage record as the ledger's token columns. */
export function usageColumns(usage: Usage): Pick<LedgerEvent, 'inputTokens' | 'cachedInputTokens' | 'cacheWriteTokens' | 'cacheWrite1hTokens' | 'outputTokens' | 'reasoningTokens'> {
  return {
    inputTokens: usage.inputTokens,
    cachedInputTokens: usage.cachedInputTokens,
    cacheWriteTokens: usage.cacheWriteTokens,
    cacheWrite1hTokens: usage.cacheWrite1hTokens,
    outputTokens: usage.outputTokens,
    reasoningTokens: usage.reasoningTokens,
  };
}

/**
 * A response-cache hit costs nothing. Against the same baseline as the call that filled the
 * entry, routing and tier keep the shares they had then, and caching takes the rest: the fill's
 * whole cost (what the hit saved) plus what prompt caching had already saved on it. The savings
 * still add up to baseline − cost exactly.
 */
export function attributeCacheHit(fill: CostAttribution): CostAttribution {
  return {
    costNusd: 0,
    baselineCostNusd: fill.baselineCostNusd,
    routingSavingsNusd: fill.routingSavingsNusd,
    cachingSavingsNusd: fill.baselineCostNusd - fill.routingSavingsNusd - fill.tierSavingsNusd,
    tierSavingsNusd: fill.tierSavingsNusd,
  };
}
