/**
 * Latency percentiles from a mergeable histogram, so hourly and daily rollups can answer p50/p95/p99
 * without the raw events. Buckets are log-scale with eight per doubling: bucket 0 holds 0 ms, and
 * bucket j ≥ 1 starts at the j-th distinct value of ceil(2^(i/8)) ms (1, 2, 3, ... 16, 18, 20, 21,
 * 23, ...), up to a last open bucket from 2^21 ms (35 minutes) on. Up to 15 ms every bucket is one
 * millisecond wide, so those latencies are exact.
 *
 * A percentile is the nearest-rank percentile of the histogram (the smallest bucket whose
 * cumulative count reaches ceil(p·n)), reported as the bucket's representative: the geometric mean
 * of the smallest and largest whole millisecond in it, to 0.1 ms. That is within
 * LATENCY_RELATIVE_ERROR of the exact nearest-rank percentile of the underlying latencies (checked
 * for every whole millisecond in test/unit/reports-latency.test.ts), except in the open last
 * bucket, which reports its lower bound (35 minutes).
 */

const STEPS_PER_DOUBLING = 8;
const MAX_DOUBLINGS = 21;

function buildLowerBounds(): number[] {
  const bounds = [0];
  for (let i = 0; i <= STEPS_PER_DOUBLING * MAX_DOUBLINGS; i++) {
    const bound = Math.ceil(2 ** (i / STEPS_PER_DOUBLING));
    if (bound > bounds[bounds.length - 1]!) bounds.push(bound);
  }
  return bounds;
}

/** Inclusive lower bound (ms) of each bucket; bucket j covers [LOWER[j], LOWER[j+1]). */
export const LATENCY_BUCKET_LOWER_MS: readonly number[] = buildLowerBounds();
export const LATENCY_BUCKETS = LATENCY_BUCKET_LOWER_MS.length;
/** Worst relative error of a reported percentile below the open last bucket (see the module comment). */
export const LATENCY_RELATIVE_ERROR = 0.045;

export function latencyColumn(bucket: number): string {
  return `lat_${bucket}`;
}

/** The bucket a latency (ms) falls in. */
export function latencyBucket(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKETS - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (LATENCY_BUCKET_LOWER_MS[mid]! <= ms) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The value reported for a bucket (ms). */
export function bucketRepresentative(bucket: number): number {
  const lo = LATENCY_BUCKET_LOWER_MS[bucket]!;
  const next = LATENCY_BUCKET_LOWER_MS[bucket + 1];
  if (next === undefined) return lo;
  return Math.round(Math.sqrt(lo * (next - 1)) * 10) / 10;
}

/**
 * SQLite expression for the bucket of `column` (integer ms): a balanced tree of comparisons, so
 * each row costs about eight, and the SQL and the TypeScript use the same bounds.
 */
export function latencyBucketSql(column: string): string {
  const build = (lo: number, hi: number): string => {
    if (lo === hi) return String(lo);
    const mid = (lo + hi + 1) >> 1;
    return `CASE WHEN ${column} < ${LATENCY_BUCKET_LOWER_MS[mid]} THEN ${build(lo, mid - 1)} ELSE ${build(mid, hi)} END`;
  };
  return build(0, LATENCY_BUCKETS - 1);
}

/** A latency histogram: counts per bucket. */
export type LatencyHistogram = number[];

export function emptyHistogram(): LatencyHistogram {
  return new Array<number>(LATENCY_BUCKETS).fill(0);
}

/** Nearest-rank percentile (p in (0, 1]) of a histogram, in ms; null when it is empty. */
export function histogramPercentile(histogram: readonly number[], p: number): number | null {
  let total = 0;
  for (const count of histogram) total += count ?? 0;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    seen += histogram[bucket] ?? 0;
    if (seen >= rank) return bucketRepresentative(bucket);
  }
  return bucketRepresentative(histogram.length - 1);
}
