/**
 * Pure offline metrics for the router: RouteLLM's quality-vs-cost curves (APGR, CPT), rank
 * agreement (AUROC, Spearman), tier confusion and bootstrap intervals. No I/O, no clock, no
 * Math.random: randomness comes from an explicit seed so every figure is reproducible.
 */

/** Per-item quality of the weak and the strong model (0/1 correctness, or a judge score). */
export type RoutingOutcomes = {
  readonly weak: ArrayLike<number>;
  readonly strong: ArrayLike<number>;
};

/** One point of a quality-vs-cost curve: share of strong calls in [0,1] and the mean quality. */
export type CurvePoint = { readonly strongShare: number; readonly quality: number };

/** A deterministic PRNG (mulberry32) returning floats in [0,1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length === 0 ? Number.NaN : sum / values.length;
}

/** Quantile of already-sorted values with linear interpolation (numpy's and pandas' default). */
export function sortedQuantile(sorted: ArrayLike<number>, p: number): number {
  const position = (sorted.length - 1) * p;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  const fraction = position - lower;
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * fraction;
}

function qualityWhenRouted(
  scores: ArrayLike<number>,
  outcomes: RoutingOutcomes,
  routesToStrong: (score: number) => boolean,
): CurvePoint {
  let strongCalls = 0;
  let quality = 0;
  for (let i = 0; i < scores.length; i++) {
    if (routesToStrong(scores[i]!)) {
      strongCalls++;
      quality += outcomes.strong[i]!;
    } else {
      quality += outcomes.weak[i]!;
    }
  }
  return { strongShare: strongCalls / scores.length, quality: quality / scores.length };
}

/**
 * RouteLLM's curve: thresholds at the bin edges of a `bins`-quantile cut of the scores
 * (pandas.qcut, duplicates included); a prompt goes to strong when score >= threshold, except
 * at the top edge where it is score > threshold (so the last point is 0% strong). Points are
 * returned sorted by strong share, as RouteLLM sorts them before integrating.
 */
export function binnedCurve(scores: ArrayLike<number>, outcomes: RoutingOutcomes, bins = 10): CurvePoint[] {
  const sorted = Float64Array.from(scores).sort();
  const points: CurvePoint[] = [];
  for (let edge = 0; edge <= bins; edge++) {
    const threshold = sortedQuantile(sorted, edge / bins);
    const isTopEdge = edge === bins;
    points.push(
      qualityWhenRouted(scores, outcomes, (score) => (isTopEdge ? score > threshold : score >= threshold)),
    );
  }
  return points.sort((a, b) => a.strongShare - b.strongShare);
}

/**
 * The exact curve: one point per distinct threshold, from 0% strong up to 100%. Tied scores
 * move together, because a threshold cannot separate them.
 */
export function exactCurve(scores: ArrayLike<number>, outcomes: RoutingOutcomes): CurvePoint[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let quality = 0;
  for (let i = 0; i < n; i++) quality += outcomes.weak[i]!;
  const points: CurvePoint[] = [{ strongShare: 0, quality: quality / n }];
  let k = 0;
  while (k < n) {
    const tiedScore = scores[order[k]!]!;
    do {
      const item = order[k]!;
      quality += outcomes.strong[item]! - outcomes.weak[item]!;
      k++;
    } while (k < n && scores[order[k]!]! === tiedScore);
    points.push({ strongShare: k / n, quality: quality / n });
  }
  return points;
}

/** Trapezoidal area under a curve over its strong-share range (numpy.trapz). */
function areaUnder(points: readonly CurvePoint[], quality: (point: CurvePoint) => number): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    area += ((quality(a) + quality(b)) / 2) * (b.strongShare - a.strongShare);
  }
  return area;
}

/**
 * Average performance gap recovered (RouteLLM): the area between the curve and the weak
 * model's quality, over the area between the strong and the weak model's quality.
 */
export function apgr(points: readonly CurvePoint[], weakQuality: number, strongQuality: number): number {
  const routed = areaUnder(points, (p) => p.quality);
  const weak = areaUnder(points, () => weakQuality);
  const strong = areaUnder(points, () => strongQuality);
  return (routed - weak) / (strong - weak);
}

/**
 * The strong share at which the curve first reaches `targetQuality`, walking up the curve and
 * interpolating linearly inside the crossing segment (numpy.interp on a monotone curve, which
 * is what RouteLLM calls). Returns 1 when the curve never reaches the target.
 */
export function shareForQuality(points: readonly CurvePoint[], targetQuality: number): number {
  const first = points[0];
  if (first === undefined) return Number.NaN;
  if (first.quality >= targetQuality) return first.strongShare;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (b.quality >= targetQuality) {
      const span = b.quality - a.quality;
      const fraction = span === 0 ? 0 : (targetQuality - a.quality) / span;
      return a.strongShare + fraction * (b.strongShare - a.strongShare);
    }
  }
  return 1;
}

/** CPT(x): the strong share needed to recover `gapFraction` of the weak→strong quality gap. */
export function callsForPerformanceThreshold(
  points: readonly CurvePoint[],
  weakQuality: number,
  strongQuality: number,
  gapFraction: number,
): number {
  return shareForQuality(points, weakQuality + gapFraction * (strongQuality - weakQuality));
}

/** Relative cost of a router that sends share f to strong: f + (1 − f)·c, c = weak/strong price. */
export function relativeCost(strongShare: number, weakToStrongPriceRatio: number): number {
  return strongShare + (1 - strongShare) * weakToStrongPriceRatio;
}

/** Average ranks (1-based), ties sharing the mean of their positions. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start;
    while (end + 1 < n && values[order[end + 1]!]! === values[order[start]!]!) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[order[k]!] = rank;
    start = end + 1;
  }
  return ranks;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const meanA = mean(a);
  const meanB = mean(b);
  let covariance = 0;
  let varianceA = 0;
  let varianceB = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - meanA;
    const db = b[i]! - meanB;
    covariance += da * db;
    varianceA += da * da;
    varianceB += db * db;
  }
  return covariance / Math.sqrt(varianceA * varianceB);
}

/** Spearman's rank correlation (Pearson on average ranks, so ties are handled). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * Area under the ROC curve for `positive` items scoring above the others, via the
 * Mann–Whitney statistic (a tie counts one half).
 */
export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const ranks = averageRanks(scores);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < scores.length; i++) {
    if (positive[i]) {
      positives++;
      rankSum += ranks[i]!;
    }
  }
  const negatives = scores.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** counts[trueTier][predictedTier]. */
export function confusionMatrix(
  trueTiers: ArrayLike<number>,
  predictedTiers: ArrayLike<number>,
  tierCount: number,
): number[][] {
  const counts = Array.from({ length: tierCount }, () => new Array<number>(tierCount).fill(0));
  for (let i = 0; i < trueTiers.length; i++) counts[trueTiers[i]!]![predictedTiers[i]!]!++;
  return counts;
}

export type Interval = { readonly low: number; readonly high: number };

/**
 * Percentile bootstrap 95% intervals for several statistics at once: each of `samples`
 * resamples draws, with replacement, as many indices from every stratum as it holds (one
 * stratum of all items is the plain bootstrap; strata by subject keep subjects balanced), and
 * `statistic` maps the resampled indices to one value per statistic. NaN values (e.g. a
 * resample with no positives) are skipped.
 */
export function bootstrapIntervals(
  strata: readonly ArrayLike<number>[],
  statistic: (indices: Int32Array) => readonly number[],
  samples = 1000,
  seed = 1,
): Interval[] {
  const random = seededRandom(seed);
  let total = 0;
  for (const stratum of strata) total += stratum.length;
  const indices = new Int32Array(total);
  const values: number[][] = [];
  for (let s = 0; s < samples; s++) {
    let k = 0;
    for (const stratum of strata) {
      for (let i = 0; i < stratum.length; i++) indices[k++] = stratum[Math.floor(random() * stratum.length)]!;
    }
    statistic(indices).forEach((value, j) => {
      if (!Number.isNaN(value)) (values[j] ??= []).push(value);
    });
  }
  return values.map((column) => {
    column.sort((a, b) => a - b);
    return { low: sortedQuantile(column, 0.025), high: sortedQuantile(column, 0.975) };
  });
}

/** Indices 0..n-1: the single stratum of a plain bootstrap. */
export const allIndices = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** Picks `indices` out of `values` (a bootstrap resample). */
export function pick(values: ArrayLike<number>, indices: Int32Array): Float64Array {
  const picked = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) picked[i] = values[indices[i]!]!;
  return picked;
}
