import { describe, expect, it } from 'vitest';
import {
  apgr,
  auroc,
  binnedCurve,
  bootstrapIntervals,
  callsForPerformanceThreshold,
  confusionMatrix,
  exactCurve,
  mean,
  pick,
  relativeCost,
  seededRandom,
  shareForQuality,
  sortedQuantile,
  spearman,
} from '../../../scoring/evaluate';

// Four prompts: the strong model fixes #1 and #3, breaks #2; #0 both get right.
const outcomes = { weak: [1, 0, 1, 0], strong: [1, 1, 0, 1] };
const WEAK = 0.5;
const STRONG = 0.75;
const oracle = outcomes.strong.map((s, i) => s - outcomes.weak[i]!);

describe('curves', () => {
  it('builds the exact curve one distinct threshold at a time, ties moving together', () => {
    expect(exactCurve(oracle, outcomes)).toEqual([
      { strongShare: 0, quality: 0.5 },
      { strongShare: 0.5, quality: 1 },
      { strongShare: 0.75, quality: 1 },
      { strongShare: 1, quality: 0.75 },
    ]);
  });

  it('builds RouteLLM’s 10-bin curve from quantile edges, the top edge strict', () => {
    const points = binnedCurve([0.1, 0.9, 0.2, 0.8], outcomes);
    expect(points).toHaveLength(11);
    expect(points[0]).toEqual({ strongShare: 0, quality: 0.5 });
    expect(points[10]).toEqual({ strongShare: 1, quality: 0.75 });
    expect(points).toContainEqual({ strongShare: 0.5, quality: 1 });
    for (let i = 1; i < points.length; i++) expect(points[i]!.strongShare).toBeGreaterThanOrEqual(points[i - 1]!.strongShare);
  });

  it('survives NaN scores without looping', () => {
    expect(exactCurve([Number.NaN, Number.NaN], { weak: [0, 1], strong: [1, 1] }).at(-1)!.strongShare).toBe(1);
  });
});

describe('APGR and CPT', () => {
  it('gives the oracle its hand-computed APGR above 1 (it also dodges the strong model’s misses)', () => {
    // Area 0.375 + 0.25 + 0.21875 = 0.84375; (0.84375 - 0.5) / (0.75 - 0.5) = 1.375.
    expect(apgr(exactCurve(oracle, outcomes), WEAK, STRONG)).toBeCloseTo(1.375, 10);
  });

  it('gives a router that cannot tell prompts apart exactly 0.5', () => {
    expect(apgr(exactCurve([0, 0, 0, 0], outcomes), WEAK, STRONG)).toBeCloseTo(0.5, 10);
  });

  it('averages to about 0.5 for random scores on a larger set', () => {
    const random = seededRandom(3);
    const n = 4000;
    const weak = Array.from({ length: n }, () => (random() < 0.6 ? 1 : 0));
    const strong = Array.from({ length: n }, () => (random() < 0.8 ? 1 : 0));
    const scores = Array.from({ length: n }, () => random());
    const value = apgr(binnedCurve(scores, { weak, strong }), mean(weak), mean(strong));
    expect(value).toBeGreaterThan(0.4);
    expect(value).toBeLessThan(0.6);
  });

  it('interpolates CPT and the 95%-quality share inside the crossing segment', () => {
    const curve = exactCurve(oracle, outcomes);
    // Target 0.5 + 0.5·0.25 = 0.625 on the segment (0, 0.5) → (0.5, 1).
    expect(callsForPerformanceThreshold(curve, WEAK, STRONG, 0.5)).toBeCloseTo(0.125, 10);
    // 0.95 · 0.75 = 0.7125 on the same segment.
    expect(shareForQuality(curve, 0.95 * STRONG)).toBeCloseTo(0.2125, 10);
    expect(shareForQuality(curve, 2)).toBe(1);
    expect(shareForQuality(curve, 0.1)).toBe(0);
  });

  it('prices a router: f + (1 − f)·c', () => {
    expect(relativeCost(0.5, 0.2)).toBeCloseTo(0.6, 12);
    expect(relativeCost(1, 0.2)).toBe(1);
    expect(relativeCost(0, 1 / 3)).toBeCloseTo(1 / 3, 12);
  });
});

describe('rank agreement', () => {
  it('counts a tied positive/negative pair as one half in AUROC', () => {
    // Positives score {1, 3}, negatives {1, 2}: 0.5 + 0 + 1 + 1 over 4 pairs.
    expect(auroc([1, 1, 2, 3], [false, true, false, true])).toBeCloseTo(0.625, 12);
    expect(auroc([1, 2, 3, 4], [false, false, true, true])).toBe(1);
  });

  it('computes Spearman on average ranks', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
  });

  it('tabulates labels against predictions', () => {
    expect(confusionMatrix([0, 0, 1, 2, 2], [0, 1, 1, 0, 2], 3)).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
  });
});

describe('helpers', () => {
  it('interpolates quantiles linearly, like numpy', () => {
    expect(sortedQuantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(sortedQuantile([1, 2, 3, 4], 0)).toBe(1);
    expect(sortedQuantile([1, 2, 3, 4], 1)).toBe(4);
  });

  it('makes the same random stream from the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    for (let i = 0; i < 5; i++) expect(a()).toBe(b());
  });

  it('bootstraps deterministically, resampling within each stratum', () => {
    const values = [1, 2, 3, 4, 5, 6];
    const statistic = (indices: Int32Array) => [mean(pick(values, indices))];
    const first = bootstrapIntervals([[0, 1, 2, 3, 4, 5]], statistic, 200, 9);
    expect(bootstrapIntervals([[0, 1, 2, 3, 4, 5]], statistic, 200, 9)).toEqual(first);
    expect(first[0]!.low).toBeLessThan(3.5);
    expect(first[0]!.high).toBeGreaterThan(3.5);
    // Each stratum keeps its size: the first half always comes from {0, 1, 2}.
    bootstrapIntervals(
      [
        [0, 1, 2],
        [3, 4, 5],
      ],
      (indices) => {
        expect(Math.max(...indices.subarray(0, 3))).toBeLessThanOrEqual(2);
        expect(Math.min(...indices.subarray(3))).toBeGreaterThanOrEqual(3);
        return [0];
      },
      20,
    );
  });
});
