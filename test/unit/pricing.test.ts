import { describe, expect, it } from 'vitest';
import { ratesForModel } from '../../src/catalog/rates';
import type { CatalogModelEntry } from '../../src/catalog/types';
import { attributeCost } from '../../src/ledger/attribution';
import { formatUsd, priceUsage } from '../../src/ledger/pricing';
import type { Usage } from '../../src/gateway/usage';
import type { CatalogModel } from '../../src/catalog/catalog';

function model(prices: CatalogModelEntry['prices'], extra: Partial<CatalogModelEntry> = {}): CatalogModel {
  const entry: CatalogModelEntry = {
    id: 'm',
    provider: 'anthropic',
    upstream_id: 'm',
    aliases: [],
    context_window: 200_000,
    capabilities: { tools: true, vision: false, json_mode: false, reasoning: false, pdf: false, prompt_caching: true },
    tiers: ['standard'],
    prices,
    ...extra,
  };
  return { ...entry, rates: ratesForModel(entry) };
}

const usage = (u: Partial<Usage>): Usage => ({
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  ...u,
});

// A Sonnet-like price sheet, USD per million tokens.
const sonnet = model({
  input: 3,
  cached_input: 0.3,
  cache_write: 3.75,
  cache_write_1h: 6,
  output: 15,
  batch_input: 1.5,
  batch_cached_input: 0.15,
  batch_output: 7.5,
  flex_input: 1.5,
  flex_output: 7.5,
  priority_input: 5,
  priority_output: 25,
});

describe('priceUsage: every price class, hand-computed', () => {
  it('standard input and output: 1,234 × $3/M + 567 × $15/M', () => {
    // 1234 × 3000 nUSD = 3,702,000; 567 × 15,000 = 8,505,000
    expect(priceUsage(sonnet.rates, 'standard', usage({ inputTokens: 1234, outputTokens: 567 }))).toBe(12_207_000);
  });

  it('cached input at $0.30/M', () => {
    expect(priceUsage(sonnet.rates, 'standard', usage({ cachedInputTokens: 10_000 }))).toBe(3_000_000);
  });

  it('5-minute cache writes at $3.75/M and 1-hour writes at $6/M', () => {
    // 4,000 writes of which 1,000 are 1h: 3,000 × 3,750 + 1,000 × 6,000
    expect(priceUsage(sonnet.rates, 'standard', usage({ cacheWriteTokens: 4000, cacheWrite1hTokens: 1000 }))).toBe(11_250_000 + 6_000_000);
  });

  it('batch input, batch cached input and batch output', () => {
    expect(priceUsage(sonnet.rates, 'batch', usage({ inputTokens: 1000, cachedInputTokens: 2000, outputTokens: 300 }))).toBe(
      1000 * 1500 + 2000 * 150 + 300 * 7500,
    );
  });

  it('batch cache writes are discounted like batch input (derived: 3.75 × 1.5/3)', () => {
    expect(priceUsage(sonnet.rates, 'batch', usage({ cacheWriteTokens: 1000 }))).toBe(1000 * 1875);
  });

  it('flex prices, with flex cached input derived from the flex discount when unlisted', () => {
    expect(priceUsage(sonnet.rates, 'flex', usage({ inputTokens: 100, cachedInputTokens: 100, outputTokens: 100 }))).toBe(
      100 * 1500 + 100 * 150 + 100 * 7500,
    );
  });

  it('priority prices', () => {
    expect(priceUsage(sonnet.rates, 'priority', usage({ inputTokens: 100, outputTokens: 100 }))).toBe(100 * 5000 + 100 * 25_000);
  });

  it('a tier the model does not sell falls back to standard rates', () => {
    const plain = model({ input: 1, output: 2 });
    expect(priceUsage(plain.rates, 'flex', usage({ inputTokens: 10, outputTokens: 10 }))).toBe(10 * 1000 + 10 * 2000);
  });

  it('cached input without a cached price is charged as plain input', () => {
    const plain = model({ input: 1, output: 2 });
    expect(priceUsage(plain.rates, 'standard', usage({ cachedInputTokens: 10 }))).toBe(10_000);
  });

  it('rounds each class half up to the nano-dollar: 1 token at $0.0375/M is 37.5 nUSD → 38', () => {
    const cheap = model({ input: 0.0375, cached_input: 0.00375, output: 0.15 });
    expect(priceUsage(cheap.rates, 'standard', usage({ inputTokens: 1 }))).toBe(38);
    expect(priceUsage(cheap.rates, 'standard', usage({ cachedInputTokens: 1 }))).toBe(4);
    expect(priceUsage(cheap.rates, 'standard', usage({ inputTokens: 3, cachedInputTokens: 3 }))).toBe(113 + 11);
  });

  it('long-context rates apply to the whole request above the threshold', () => {
    const long = model({ input: 3, output: 15 }, { long_context: { threshold_tokens: 200_000, prices: { input: 6, output: 22.5 } } });
    expect(priceUsage(long.rates, 'standard', usage({ inputTokens: 200_000, outputTokens: 10 }))).toBe(200_000 * 3000 + 10 * 15_000);
    expect(priceUsage(long.rates, 'standard', usage({ inputTokens: 150_000, cachedInputTokens: 50_001, outputTokens: 10 }))).toBe(
      150_000 * 6000 + 50_001 * 6000 + 10 * 22_500,
    );
  });

  it('stays exact for very large token counts', () => {
    const pricey = model({ input: 150, output: 600 });
    expect(priceUsage(pricey.rates, 'standard', usage({ inputTokens: 3_000_000_000 }))).toBe(450_000_000_000_000);
  });
});

describe('attributeCost: savings split by lever add up exactly', () => {
  const opus = model({ input: 5, cached_input: 0.5, cache_write: 6.25, output: 25, batch_input: 2.5, batch_output: 12.5 });
  const haiku = model({ input: 1, cached_input: 0.1, cache_write: 1.25, output: 5, batch_input: 0.5, batch_output: 2.5 });

  it('routing, caching and tier savings sum to baseline − cost', () => {
    const u = usage({ inputTokens: 1000, cachedInputTokens: 4000, cacheWriteTokens: 500, outputTokens: 200 });
    const a = attributeCost(haiku, opus, 'batch', u);
    expect(a.baselineCostNusd).toBe(5500 * 5000 + 200 * 25_000);
    expect(a.routingSavingsNusd + a.cachingSavingsNusd + a.tierSavingsNusd).toBe(a.baselineCostNusd - a.costNusd);
    expect(a.routingSavingsNusd).toBe(5500 * 4000 + 200 * 20_000);
    expect(a.costNusd).toBe(1000 * 500 + 4000 * 50 + 500 * 625 + 200 * 2500);
  });

  it('a cache write that is never read is a negative caching saving', () => {
    const a = attributeCost(haiku, haiku, 'standard', usage({ cacheWriteTokens: 1000 }));
    expect(a.cachingSavingsNusd).toBe(1000 * 1000 - 1000 * 1250);
  });
});

describe('formatUsd', () => {
  it('formats nano-USD without floating point', () => {
    expect(formatUsd(12_207_000)).toBe('0.012207000');
    expect(formatUsd(1_000_000_001)).toBe('1.000000001');
    expect(formatUsd(0)).toBe('0.000000000');
    expect(formatUsd(-5)).toBe('-0.000000005');
  });
});
