import type { KeyLabel } from '../keys/keys';
import type { GroupDimension } from './dimensions';
import { csvRecord, usdFromNusd, type CsvCell } from './format';
import { histogramPercentile } from './latency';
import type { Measures } from './measures';
import type { Report } from './report';
import { isoInstant } from './time';

/** A report row's measures as the API shows them (DESIGN.md `GET /admin/reports/chargeback`). */
export interface MeasuresView {
  requests: number;
  errors: number;
  /** errors / requests */
  error_rate: number;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_nusd: bigint;
  baseline_cost_nusd: bigint;
  /** By lever; they add up to `total` = baseline − cost. */
  savings_nusd: { routing: bigint; caching: bigint; tier: bigint; total: bigint };
  /** Response-cache hits and misses (requests that bypassed the cache count in neither). */
  cache_hits: number;
  cache_misses: number;
  /** hits / (hits + misses); null when no request consulted the response cache. */
  cache_hit_ratio: number | null;
  /** Percentiles from the rollup histogram (within 4.5%, see src/reports/latency.ts); null without requests. */
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; mean: number | null };
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 1e6) / 1e6;
}

export function measuresView(m: Measures): MeasuresView {
  const { counts, money } = m;
  return {
    requests: counts.requests,
    errors: counts.errors,
    error_rate: ratio(counts.errors, counts.requests) ?? 0,
    input_tokens: counts.input_tokens,
    cached_input_tokens: counts.cached_input_tokens,
    cache_write_tokens: counts.cache_write_tokens,
    output_tokens: counts.output_tokens,
    reasoning_tokens: counts.reasoning_tokens,
    cost_nusd: money.cost_nusd,
    baseline_cost_nusd: money.baseline_cost_nusd,
    savings_nusd: {
      routing: money.routing_savings_nusd,
      caching: money.caching_savings_nusd,
      tier: money.tier_savings_nusd,
      total: money.baseline_cost_nusd - money.cost_nusd,
    },
    cache_hits: counts.cache_hits,
    cache_misses: counts.cache_misses,
    cache_hit_ratio: ratio(counts.cache_hits, counts.cache_hits + counts.cache_misses),
    latency_ms: {
      p50: histogramPercentile(m.latency, 0.5),
      p95: histogramPercentile(m.latency, 0.95),
      p99: histogramPercentile(m.latency, 0.99),
      mean: counts.requests === 0 ? null : Math.round((counts.latency_ms_sum / counts.requests) * 10) / 10,
    },
  };
}

export interface ChargebackRowView extends MeasuresView {
  group: Record<string, string | null>;
  /** The key's name, when grouped by key. */
  key_name?: string | null;
}

export interface ChargebackView {
  from: string;
  to: string;
  group_by: GroupDimension[];
  currency: 'USD';
  rows: ChargebackRowView[];
  totals: MeasuresView;
}

/** Keys' names and tags by id (keys that no longer exist are simply absent). */
export type KeyLabels = ReadonlyMap<string, KeyLabel>;

export function chargebackView(report: Report, groupBy: readonly GroupDimension[], keys: KeyLabels): ChargebackView {
  const keyIndex = groupBy.indexOf('key');
  return {
    from: isoInstant(report.query.fromMs),
    to: isoInstant(report.query.toMs),
    group_by: [...groupBy],
    currency: 'USD',
    rows: report.rows.map((row) => ({
      group: Object.fromEntries(groupBy.map((d, i) => [d, row.group[i] ?? null])),
      ...(keyIndex === -1 ? {} : { key_name: keys.get(row.group[keyIndex] ?? '')?.name ?? null }),
      ...measuresView(row.measures),
    })),
    totals: measuresView(report.totals),
  };
}

/**
 * The CSV's measure columns, in this order after `period_start, period_end` and the group_by
 * columns (named as given, `key_name` after `key`). Documented in src/reports/README.md; new
 * columns are only ever appended.
 */
export const CSV_MEASURE_COLUMNS = [
  'requests',
  'errors',
  'error_rate',
  'input_tokens',
  'cached_input_tokens',
  'cache_write_tokens',
  'output_tokens',
  'reasoning_tokens',
  'cost_usd',
  'baseline_cost_usd',
  'savings_usd',
  'routing_savings_usd',
  'caching_savings_usd',
  'tier_savings_usd',
  'cost_nusd',
  'baseline_cost_nusd',
  'routing_savings_nusd',
  'caching_savings_nusd',
  'tier_savings_nusd',
  'cache_hits',
  'cache_misses',
  'cache_hit_ratio',
  'latency_p50_ms',
  'latency_p95_ms',
  'latency_p99_ms',
  'latency_mean_ms',
] as const;

function measureCells(m: MeasuresView): CsvCell[] {
  const s = m.savings_nusd;
  return [
    m.requests,
    m.errors,
    m.error_rate,
    m.input_tokens,
    m.cached_input_tokens,
    m.cache_write_tokens,
    m.output_tokens,
    m.reasoning_tokens,
    usdFromNusd(m.cost_nusd),
    usdFromNusd(m.baseline_cost_nusd),
    usdFromNusd(s.total),
    usdFromNusd(s.routing),
    usdFromNusd(s.caching),
    usdFromNusd(s.tier),
    m.cost_nusd,
    m.baseline_cost_nusd,
    s.routing,
    s.caching,
    s.tier,
    m.cache_hits,
    m.cache_misses,
    m.cache_hit_ratio,
    m.latency_ms.p50,
    m.latency_ms.p95,
    m.latency_ms.p99,
    m.latency_ms.mean,
  ];
}

/** The chargeback CSV (RFC 4180, UTF-8, CRLF), header first, one record per row, no totals row. */
export function* chargebackCsv(view: ChargebackView): Generator<string> {
  const groupColumns = view.group_by.flatMap((d) => (d === 'key' ? ['key', 'key_name'] : [d]));
  yield csvRecord(['period_start', 'period_end', ...groupColumns, ...CSV_MEASURE_COLUMNS]);
  for (const row of view.rows) {
    const groupCells = view.group_by.flatMap((d) => (d === 'key' ? [row.group.key ?? null, row.key_name ?? null] : [row.group[d] ?? null]));
    yield csvRecord([view.from, view.to, ...groupCells, ...measureCells(row)]);
  }
}
