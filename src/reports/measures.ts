import { LATENCY_BUCKETS, latencyColumn, type LatencyHistogram } from './latency';

/**
 * What a report adds up, in one place: each measure's rollup column and its contribution from
 * one ledger event (SQL over a `usage_events` row). Rollups, raw reads and the flush hook are all
 * generated from these lists, so they cannot disagree.
 */
export const COUNT_MEASURES = [
  { column: 'requests', event: '1' },
  { column: 'errors', event: "(status = 'error')" },
  { column: 'cache_hits', event: "(cache = 'hit')" },
  { column: 'cache_misses', event: "(cache = 'miss')" },
  { column: 'input_tokens', event: 'input_tokens' },
  { column: 'cached_input_tokens', event: 'cached_input_tokens' },
  { column: 'cache_write_tokens', event: 'cache_write_tokens' },
  { column: 'output_tokens', event: 'output_tokens' },
  { column: 'reasoning_tokens', event: 'reasoning_tokens' },
  { column: 'latency_ms_sum', event: 'latency_ms' },
] as const;

/** Integer nano-USD; summed exactly and read back as text, because totals may pass 2^53. */
export const MONEY_MEASURES = [
  { column: 'cost_nusd', event: 'cost_nusd' },
  { column: 'baseline_cost_nusd', event: 'baseline_cost_nusd' },
  { column: 'routing_savings_nusd', event: 'routing_savings_nusd' },
  { column: 'caching_savings_nusd', event: 'caching_savings_nusd' },
  { column: 'tier_savings_nusd', event: 'tier_savings_nusd' },
] as const;

export type CountMeasure = (typeof COUNT_MEASURES)[number]['column'];
export type MoneyMeasure = (typeof MONEY_MEASURES)[number]['column'];

/** The summed columns without the latency histogram: counts and money (all a tag rollup keeps). */
export const PLAIN_COLUMNS: readonly string[] = [...COUNT_MEASURES.map((m) => m.column), ...MONEY_MEASURES.map((m) => m.column)];

/** Every summed rollup column: counts, money, then the latency histogram buckets. */
export const ROLLUP_COLUMNS: readonly string[] = [...PLAIN_COLUMNS, ...Array.from({ length: LATENCY_BUCKETS }, (_, i) => latencyColumn(i))];

/** The sums of one report row. */
export interface Measures {
  counts: Record<CountMeasure, number>;
  money: Record<MoneyMeasure, bigint>;
  /** Counts per latency bucket; empty when the report did not read latency (missing buckets are 0). */
  latency: LatencyHistogram;
}

export function emptyMeasures(): Measures {
  return {
    counts: Object.fromEntries(COUNT_MEASURES.map((m) => [m.column, 0])) as Record<CountMeasure, number>,
    money: Object.fromEntries(MONEY_MEASURES.map((m) => [m.column, 0n])) as Record<MoneyMeasure, bigint>,
    latency: [],
  };
}

/** Adds `from` into `into` (or takes it away, with sign -1). */
export function addMeasures(into: Measures, from: Measures, sign: 1 | -1 = 1): void {
  for (const m of COUNT_MEASURES) into.counts[m.column] += sign * from.counts[m.column];
  for (const m of MONEY_MEASURES) into.money[m.column] += BigInt(sign) * from.money[m.column];
  for (let i = 0; i < from.latency.length; i++) into.latency[i] = (into.latency[i] ?? 0) + sign * from.latency[i]!;
}

/** Reads a row of summed columns (as the aggregate queries name them) into Measures. */
export function measuresFromRow(row: Record<string, unknown>): Measures {
  const measures = emptyMeasures();
  for (const m of COUNT_MEASURES) measures.counts[m.column] = Number(row[m.column] ?? 0);
  for (const m of MONEY_MEASURES) measures.money[m.column] = BigInt((row[m.column] as string | number | null) ?? 0);
  if (latencyColumn(0) in row) for (let i = 0; i < LATENCY_BUCKETS; i++) measures.latency[i] = Number(row[latencyColumn(i)] ?? 0);
  return measures;
}
