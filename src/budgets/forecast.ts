import { linearRegression } from 'simple-statistics';
import type { Period, PeriodBounds } from './periods';

const HOUR_MS = 3_600_000;

/** Buckets the forecast fits over: hours for daily and weekly budgets, days for monthly ones. */
export function forecastBucketMs(period: Period): number | null {
  if (period === 'total') return null;
  return period === 'month' ? 24 * HOUR_MS : HOUR_MS;
}

/** Fewer buckets than this and the trend is noise: no forecast. */
export const MIN_FORECAST_BUCKETS = 2;

/**
 * Projects the period-end spend (nano-USD) from spend per bucket so far: a least-squares line
 * through the cumulative spend gives the spend rate, and the rest of the period is assumed to
 * run at that rate. Null for periods without an end or with too little history. Pure.
 */
export function forecastSpend(bounds: PeriodBounds, nowMs: number, perBucket: readonly number[], bucketMs: number): number | null {
  if (bounds.end === null || nowMs >= bounds.end) return null;
  const elapsed = nowMs - bounds.start;
  if (perBucket.length < MIN_FORECAST_BUCKETS || elapsed < MIN_FORECAST_BUCKETS * bucketMs) return null;
  const points: Array<[number, number]> = [[0, 0]];
  let cumulative = 0;
  perBucket.forEach((spend, i) => {
    cumulative += spend;
    points.push([Math.min((i + 1) * bucketMs, elapsed) / HOUR_MS, cumulative]);
  });
  const { m } = linearRegression(points);
  const remainingHours = (bounds.end - nowMs) / HOUR_MS;
  return cumulative + Math.round(Math.max(0, m) * remainingHours);
}
