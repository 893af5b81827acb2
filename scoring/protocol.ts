/**
 * The offline protocol of shared/data/EVALUATION.md as pure functions: which rows train,
 * what the training target is, how tier thresholds are calibrated, and every figure of the
 * evaluation report (test splits, RouteLLM exclusions, bootstrap intervals, baselines).
 */
import { DEFAULT_FIT_OPTIONS, fitWeights, type FitOptions, type TrainingExample } from './calibrate';
import type { LabeledExample, Source } from './dataset';
import {
  allIndices,
  apgr,
  auroc,
  binnedCurve,
  bootstrapIntervals,
  callsForPerformanceThreshold,
  confusionMatrix,
  exactCurve,
  type Interval,
  mean,
  pick,
  relativeCost,
  seededRandom,
  shareForQuality,
  sortedQuantile,
  spearman,
} from './evaluate';
import { computeScore, rungFor } from './score';
import type { ScoringRequest } from './types';
import { compileWeights, logit, type ScoringModel, type ScoringWeights } from './weights';

/** A three-rung price ladder (cheapest first), USD per million tokens. */
export type PriceLadder = readonly { readonly model: string; readonly input: number; readonly output: number }[];

/**
 * Claude-family list prices (Haiku 4.5, Sonnet 4.5, Opus 4.5), USD per million tokens: the
 * default when no catalog is at hand (tests). `sluice router eval` passes the catalog's own ladder.
 */
export const CLAUDE_LADDER: PriceLadder = [
  { model: 'claude-haiku-4-5', input: 1, output: 5 },
  { model: 'claude-sonnet-4-5', input: 3, output: 15 },
  { model: 'claude-opus-4-5', input: 5, output: 25 },
];
/** Prices are blended at this many input tokens per output token. */
export const INPUT_TOKENS_PER_OUTPUT_TOKEN = 3;
export const blendedPrice = (price: { input: number; output: number }): number =>
  (INPUT_TOKENS_PER_OUTPUT_TOKEN * price.input + price.output) / (INPUT_TOKENS_PER_OUTPUT_TOKEN + 1);

/** The sources the scorer is fitted on (dev rows only). MT-Bench is never tuned on. */
export const TRAINING_SOURCES: readonly Source[] = ['mmlu', 'gsm8k', 'math500'];
/** Sources with per-prompt weak/strong outcomes, evaluated with RouteLLM's curves. */
export const OUTCOME_SOURCES = ['mtbench', 'mmlu', 'gsm8k'] as const;
export type OutcomeSource = (typeof OUTCOME_SOURCES)[number];

/** The 3-tier target of EVALUATION.md: at most 10% of large on rung 0, at least 60% of small there. */
export const UNDER_ROUTING_LIMIT = 0.1;
export const SMALL_KEPT_FLOOR = 0.6;
export const QUALITY_SHARE_TARGET = 0.95;
const BOOTSTRAP_SAMPLES = 1000;
const RANDOM_SEEDS = 50;

export const requestOf = (prompt: string): ScoringRequest => ({ messages: [{ role: 'user', content: prompt }] });

/**
 * The training target. Where per-model outcomes exist (MMLU, GSM8K) the rank is the quality
 * the strong model adds over the weak one (−1, 0, +1 → ranks 0, 1, 2): that is what routing to
 * the strong model buys, and what APGR rewards. "Both wrong" items gain nothing from the strong
 * model, so they rank with "both right". MATH-500 has only human difficulty: level 1–5.
 */
export function toTrainingExample(example: LabeledExample): TrainingExample {
  const gain = example.source === 'math500' ? (example.level ?? 1) - 1 : (example.strong ?? 0) - (example.weak ?? 0);
  return {
    request: requestOf(example.prompt),
    rank: example.source === 'math500' ? gain : gain + 1,
    group: example.source,
    needsMoreThanSmall: example.tier >= 1,
    lexicalTarget: gain,
  };
}

export const devExamples = (examples: readonly LabeledExample[], sources: readonly Source[] = TRAINING_SOURCES) =>
  examples.filter((e) => e.split === 'dev' && sources.includes(e.source));

type ScoredTier = { readonly score: number; readonly tier: number; readonly source: string };

/** Per source, the sorted scores of its small and of its large items. */
function sortedByTier(items: readonly ScoredTier[]): Map<string, { small: number[]; large: number[] }> {
  const bySource = new Map<string, { small: number[]; large: number[] }>();
  for (const item of items) {
    const entry = bySource.get(item.source) ?? { small: [], large: [] };
    if (item.tier === 0) entry.small.push(item.score);
    if (item.tier === 2) entry.large.push(item.score);
    bySource.set(item.source, entry);
  }
  for (const entry of bySource.values()) {
    entry.small.sort((a, b) => a - b);
    entry.large.sort((a, b) => a - b);
  }
  return bySource;
}

/** Share of sorted values strictly below t. */
function shareBelow(sorted: readonly number[], t: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < t) low = middle + 1;
    else high = middle;
  }
  return sorted.length === 0 ? 0 : low / sorted.length;
}

/**
 * The threshold that best meets a two-sided target in every source at once: the worst
 * source's shortfall is minimized, and when several thresholds tie, the middle one is taken.
 */
function minimaxThreshold(candidates: readonly number[], shortfall: (t: number) => number): number {
  let best = Number.POSITIVE_INFINITY;
  let tied: number[] = [];
  for (const t of candidates) {
    const value = shortfall(t);
    if (value < best - 1e-12) {
      best = value;
      tied = [t];
    } else if (value <= best + 1e-12) {
      tied.push(t);
    }
  }
  return tied[Math.floor(tied.length / 2)]!;
}

/**
 * Tier boundaries from scored dev items. small|medium: at most 10% of each source's `large`
 * items below it while at least 60% of its `small` items are (the EVALUATION.md target; when
 * no threshold meets both everywhere, the worst source's shortfall is minimized).
 * medium|large: the top rung is the most expensive, so it takes no more than 10% of any
 * source's `small` items.
 */
export function chooseThresholds(items: readonly ScoredTier[]): ScoringWeights['thresholds'] {
  const bySource = [...sortedByTier(items).values()].filter((e) => e.small.length > 0 && e.large.length > 0);
  const candidates = Array.from({ length: 1999 }, (_, i) => 1 / (1 + Math.exp(-(-8 + (16 * (i + 1)) / 2000))));
  const smallMedium = minimaxThreshold(candidates, (t) =>
    Math.max(
      ...bySource.map(
        (e) =>
          Math.max(0, shareBelow(e.large, t) - UNDER_ROUTING_LIMIT) + Math.max(0, SMALL_KEPT_FLOOR - shareBelow(e.small, t)),
      ),
    ),
  );
  const topRungCap = Math.max(...bySource.map((e) => sortedQuantile(e.small, 1 - UNDER_ROUTING_LIMIT)));
  return { small_medium: smallMedium, medium_large: Math.max(smallMedium, topRungCap) };
}

export type CalibrationResult = { readonly weights: ScoringWeights; readonly devScores: Float64Array };

/**
 * The quality knob's scale: quality 0.9 (0.1) moves the boundaries down (up) by half the
 * spread between the 10th and 90th percentile of the dev scores' log-odds.
 */
export function chooseQualityScale(devScores: ArrayLike<number>): number {
  const logits = Float64Array.from(devScores, logit).sort();
  return (sortedQuantile(logits, 0.9) - sortedQuantile(logits, 0.1)) / (2 * Math.log(9));
}

/**
 * Fits the shipped weights on the dev rows of the training sources and calibrates the tier
 * thresholds on the same rows' cross-fitted scores. Test rows and MT-Bench are never read.
 */
export function calibrateOnDev(
  examples: readonly LabeledExample[],
  options: FitOptions,
  sources: readonly Source[] = TRAINING_SOURCES,
): CalibrationResult {
  const dev = devExamples(examples, sources);
  const fitted = fitWeights(dev.map(toTrainingExample), options);
  const thresholds = chooseThresholds(
    dev.map((e, i) => ({ score: fitted.trainingScores[i]!, tier: e.tier, source: e.source })),
  );
  return {
    weights: { ...fitted.weights, thresholds, quality_scale: chooseQualityScale(fitted.trainingScores) },
    devScores: fitted.trainingScores,
  };
}

/** Figures of one router on one benchmark: RouteLLM's 10-bin curve and the exact curve. */
export type RoutingFigures = {
  readonly apgr: number;
  readonly cpt50: number;
  readonly cpt80: number;
  readonly exactApgr: number;
  readonly exactCpt50: number;
  readonly exactCpt80: number;
  /** Strong-call share needed for 95% of the strong model's quality (exact curve). */
  readonly share95: number;
};
const FIGURE_KEYS = ['apgr', 'cpt50', 'cpt80', 'exactApgr', 'exactCpt50', 'exactCpt80', 'share95'] as const;

function routingFigures(scores: ArrayLike<number>, weak: ArrayLike<number>, strong: ArrayLike<number>): RoutingFigures {
  const outcomes = { weak, strong };
  const weakQuality = mean(weak);
  const strongQuality = mean(strong);
  const binned = binnedCurve(scores, outcomes);
  const exact = exactCurve(scores, outcomes);
  return {
    apgr: apgr(binned, weakQuality, strongQuality),
    cpt50: callsForPerformanceThreshold(binned, weakQuality, strongQuality, 0.5),
    cpt80: callsForPerformanceThreshold(binned, weakQuality, strongQuality, 0.8),
    exactApgr: apgr(exact, weakQuality, strongQuality),
    exactCpt50: callsForPerformanceThreshold(exact, weakQuality, strongQuality, 0.5),
    exactCpt80: callsForPerformanceThreshold(exact, weakQuality, strongQuality, 0.8),
    share95: shareForQuality(exact, QUALITY_SHARE_TARGET * strongQuality),
  };
}

export type RouterResult = {
  readonly router: string;
  readonly figures: RoutingFigures;
  /** 95% bootstrap intervals, absent for the random router (a mean over seeds). */
  readonly intervals?: Readonly<Record<keyof RoutingFigures, Interval>>;
};

export type BenchmarkResult = {
  readonly source: OutcomeSource;
  readonly n: number;
  readonly weakQuality: number;
  readonly strongQuality: number;
  readonly routers: readonly RouterResult[];
};

function withIntervals(
  router: string,
  scores: Float64Array,
  weak: Float64Array,
  strong: Float64Array,
  seed: number,
): RouterResult {
  const figures = routingFigures(scores, weak, strong);
  const bounds = bootstrapIntervals(
    [allIndices(scores.length)],
    (indices) => {
      const resampled = routingFigures(pick(scores, indices), pick(weak, indices), pick(strong, indices));
      return FIGURE_KEYS.map((key) => resampled[key]);
    },
    BOOTSTRAP_SAMPLES,
    seed,
  );
  const intervals = Object.fromEntries(FIGURE_KEYS.map((key, j) => [key, bounds[j]!])) as Record<
    keyof RoutingFigures,
    Interval
  >;
  return { router, figures, intervals };
}

function randomRouter(weak: Float64Array, strong: Float64Array): RouterResult {
  const sums = Object.fromEntries(FIGURE_KEYS.map((key) => [key, 0])) as Record<keyof RoutingFigures, number>;
  for (let seed = 1; seed <= RANDOM_SEEDS; seed++) {
    const random = seededRandom(seed);
    const figures = routingFigures(
      Float64Array.from(weak, () => random()),
      weak,
      strong,
    );
    for (const key of FIGURE_KEYS) sums[key] += figures[key] / RANDOM_SEEDS;
  }
  return { router: `random (mean of ${RANDOM_SEEDS} seeds)`, figures: sums };
}

/**
 * Rows of `source` that are evaluated: its test split (MT-Bench: all of it), without RouteLLM's
 * contaminated prompts, so every figure is comparable with RouteLLM's.
 */
export function evaluationRows(examples: readonly LabeledExample[], source: Source): LabeledExample[] {
  return examples.filter((e) => e.source === source && e.split !== 'dev' && !e.excluded);
}

export type ScoreLookup = (example: LabeledExample) => number;

/** Scorer vs baselines on one outcome benchmark's test rows. */
export function benchmarkResult(
  examples: readonly LabeledExample[],
  source: OutcomeSource,
  scoreOf: ScoreLookup,
): BenchmarkResult {
  const rows = evaluationRows(examples, source);
  const weak = Float64Array.from(rows, (e) => e.weak ?? 0);
  const strong = Float64Array.from(rows, (e) => e.strong ?? 0);
  const seed = 7;
  return {
    source,
    n: rows.length,
    weakQuality: mean(weak),
    strongQuality: mean(strong),
    routers: [
      withIntervals('sluice scorer', Float64Array.from(rows, scoreOf), weak, strong, seed),
      withIntervals('prompt length (chars)', Float64Array.from(rows, (e) => e.prompt.length), weak, strong, seed),
      randomRouter(weak, strong),
      // The oracle knows the outcomes: it sends exactly the prompts the strong model improves.
      withIntervals('oracle', Float64Array.from(rows, (e) => (e.strong ?? 0) - (e.weak ?? 0)), weak, strong, seed),
    ],
  };
}

export type WithinSubjectResult = {
  readonly subjects: number;
  readonly routers: readonly { router: string; value: number; interval?: Interval }[];
};

/**
 * MMLU APGR macro-averaged within subject (10-bin curve per subject), over subjects where the
 * strong model beats the weak one; the interval resamples within each subject.
 */
export function withinSubjectResult(examples: readonly LabeledExample[], scoreOf: ScoreLookup): WithinSubjectResult {
  const rows = evaluationRows(examples, 'mmlu');
  const bySubject = new Map<string, number[]>();
  rows.forEach((e, i) => {
    const subject = e.subject ?? '';
    bySubject.set(subject, [...(bySubject.get(subject) ?? []), i]);
  });
  const weak = Float64Array.from(rows, (e) => e.weak ?? 0);
  const strong = Float64Array.from(rows, (e) => e.strong ?? 0);
  const strata = [...bySubject.values()].filter((indices) => mean(pick(strong, Int32Array.from(indices))) > mean(pick(weak, Int32Array.from(indices))));
  const macroApgr = (scores: Float64Array, indices: Int32Array): number => {
    let offset = 0;
    const values: number[] = [];
    for (const stratum of strata) {
      const sample = indices.subarray(offset, offset + stratum.length);
      offset += stratum.length;
      const w = pick(weak, sample);
      const s = pick(strong, sample);
      const weakQuality = mean(w);
      const strongQuality = mean(s);
      if (!(strongQuality > weakQuality)) continue;
      values.push(apgr(binnedCurve(pick(scores, sample), { weak: w, strong: s }), weakQuality, strongQuality));
    }
    return mean(values);
  };
  const identity = Int32Array.from(strata.flat());
  const deterministic = (router: string, scores: Float64Array) => ({
    router,
    value: macroApgr(scores, identity),
    interval: bootstrapIntervals(strata, (indices) => [macroApgr(scores, indices)], BOOTSTRAP_SAMPLES, 11)[0]!,
  });
  let randomSum = 0;
  for (let seed = 1; seed <= RANDOM_SEEDS; seed++) {
    const random = seededRandom(seed);
    randomSum += macroApgr(Float64Array.from(rows, () => random()), identity);
  }
  return {
    subjects: strata.length,
    routers: [
      deterministic('sluice scorer', Float64Array.from(rows, scoreOf)),
      deterministic('prompt length (chars)', Float64Array.from(rows, (e) => e.prompt.length)),
      { router: `random (mean of ${RANDOM_SEEDS} seeds)`, value: randomSum / RANDOM_SEEDS },
    ],
  };
}

export type RankAgreement = {
  readonly name: string;
  readonly n: number;
  readonly scorer: number;
  readonly scorerInterval: Interval;
  readonly length: number;
};

function rankAgreement(
  name: string,
  rows: readonly LabeledExample[],
  scoreOf: ScoreLookup,
  statistic: (scores: Float64Array, rows: readonly LabeledExample[]) => number,
): RankAgreement {
  const scores = Float64Array.from(rows, scoreOf);
  const lengths = Float64Array.from(rows, (e) => e.prompt.length);
  return {
    name,
    n: rows.length,
    scorer: statistic(scores, rows),
    scorerInterval: bootstrapIntervals(
      [allIndices(rows.length)],
      (indices) => [statistic(pick(scores, indices), Array.from(indices, (i) => rows[i]!))],
      BOOTSTRAP_SAMPLES,
      13,
    )[0]!,
    length: statistic(lengths, rows),
  };
}

/** Agreement with difficulty labels on the test splits. */
export function agreementResults(examples: readonly LabeledExample[], scoreOf: ScoreLookup): RankAgreement[] {
  const math = evaluationRows(examples, 'math500');
  const mathExtremes = math.filter((e) => e.level !== 3);
  const gsm8k = evaluationRows(examples, 'gsm8k');
  const needsMore = (scores: Float64Array, rows: readonly LabeledExample[]) =>
    auroc(scores, rows.map((e) => e.tier >= 1));
  return [
    rankAgreement('MATH-500 Spearman(score, level)', math, scoreOf, (s, rows) => spearman(s, rows.map((e) => e.level ?? 0))),
    rankAgreement('MATH-500 AUROC level 4–5 vs 1–2', mathExtremes, scoreOf, (s, rows) =>
      auroc(s, rows.map((e) => (e.level ?? 0) >= 4)),
    ),
    rankAgreement('GSM8K Spearman(score, reference steps)', gsm8k, scoreOf, (s, rows) =>
      spearman(s, rows.map((e) => e.steps ?? 0)),
    ),
    ...(
      [
        ['mmlu', 'MMLU'],
        ['gsm8k', 'GSM8K'],
        ['math500', 'MATH-500'],
        ['mtbench', 'MT-Bench'],
      ] as const
    ).map(([source, name]) =>
      rankAgreement(`${name} AUROC(needs more than small)`, evaluationRows(examples, source), scoreOf, needsMore),
    ),
  ];
}

export type TierResult = {
  readonly source: Source;
  readonly n: number;
  /** counts[label][rung], rungs of a 3-model ladder at the given quality. */
  readonly counts: number[][];
  readonly underRouting: number;
  readonly smallKept: number;
};

export function tierResults(
  examples: readonly LabeledExample[],
  scoreOf: ScoreLookup,
  model: ScoringModel,
  quality: number,
): TierResult[] {
  return (['mmlu', 'gsm8k', 'math500', 'mtbench'] as const).map((source) => {
    const rows = evaluationRows(examples, source);
    const rungs = rows.map((e) => rungFor(scoreOf(e), 3, quality, model));
    const counts = confusionMatrix(
      rows.map((e) => e.tier),
      rungs,
      3,
    );
    const total = (tier: number) => counts[tier]!.reduce((a, b) => a + b, 0);
    return {
      source,
      n: rows.length,
      counts,
      underRouting: counts[2]![0]! / total(2),
      smallKept: counts[0]![0]! / total(0),
    };
  });
}

export type SweepRow = {
  readonly source: Source;
  readonly quality: number;
  /** Share of prompts on each rung of the Claude ladder. */
  readonly rungShares: readonly number[];
  /** Cost relative to sending everything to the top rung (blended Claude prices). */
  readonly relativeCost: number;
  readonly largeToSmall: number;
  readonly smallToLarge: number;
  /** Share of prompts whose rung equals their label's tier. */
  readonly agreement: number;
};

export const SWEEP_QUALITIES = [0.1, 0.3, 0.5, 0.7, 0.9] as const;

export function qualitySweep(examples: readonly LabeledExample[], scoreOf: ScoreLookup, model: ScoringModel, ladder: PriceLadder): SweepRow[] {
  const prices = ladder.map(blendedPrice);
  const top = prices[prices.length - 1]!;
  return (['mmlu', 'gsm8k', 'math500', 'mtbench'] as const).flatMap((source) => {
    const rows = evaluationRows(examples, source);
    const scores = rows.map(scoreOf);
    return SWEEP_QUALITIES.map((quality) => {
      const rungs = scores.map((score) => rungFor(score, 3, quality, model));
      const counts = confusionMatrix(
        rows.map((e) => e.tier),
        rungs,
        3,
      );
      const shares = [0, 1, 2].map((rung) => rungs.filter((r) => r === rung).length / rows.length);
      const total = (tier: number) => counts[tier]!.reduce((a, b) => a + b, 0);
      return {
        source,
        quality,
        rungShares: shares,
        relativeCost: shares.reduce((sum, share, rung) => sum + share * prices[rung]!, 0) / top,
        largeToSmall: counts[2]![0]! / total(2),
        smallToLarge: counts[0]![2]! / total(0),
        agreement: (counts[0]![0]! + counts[1]![1]! + counts[2]![2]!) / rows.length,
      };
    });
  });
}

export type StabilityResult = {
  readonly targetShare: number;
  readonly threshold: number;
  readonly realized: readonly { source: Source; share: number }[];
};

/** Threshold for 30% strong calls on MMLU-dev; the strong share it yields on each test source. */
export function calibrationStability(
  examples: readonly LabeledExample[],
  devScoreOf: ScoreLookup,
  scoreOf: ScoreLookup,
): StabilityResult {
  const targetShare = 0.3;
  const devScores = devExamples(examples, ['mmlu'])
    .map(devScoreOf)
    .sort((a, b) => a - b);
  const threshold = sortedQuantile(devScores, 1 - targetShare);
  return {
    targetShare,
    threshold,
    realized: (['mmlu', 'gsm8k', 'math500', 'mtbench'] as const).map((source) => {
      const rows = evaluationRows(examples, source);
      return { source, share: rows.filter((e) => scoreOf(e) >= threshold).length / rows.length };
    }),
  };
}

/** Strong share at 95% quality → savings against the pair's strong model, per Claude pair. */
export type CostResult = {
  readonly source: OutcomeSource;
  readonly router: string;
  readonly share95: number;
  readonly savings: readonly { pair: string; saving: number }[];
};

/** The saving is read for the cheapest rung against the middle one and against the top one. */
function ladderPairs(ladder: PriceLadder): { pair: string; weak: number; strong: number }[] {
  const top = ladder.length - 1;
  return [1, top].filter((strong, i, all) => strong > 0 && all.indexOf(strong) === i).map((strong) => ({ pair: `${ladder[0]!.model} → ${ladder[strong]!.model}`, weak: 0, strong }));
}

export function costResults(benchmarks: readonly BenchmarkResult[], ladder: PriceLadder): CostResult[] {
  const prices = ladder.map(blendedPrice);
  const pairs = ladderPairs(ladder);
  return benchmarks.flatMap((benchmark) =>
    benchmark.routers.map((router) => ({
      source: benchmark.source,
      router: router.router,
      share95: router.figures.share95,
      savings: pairs.map(({ pair, weak, strong }) => ({
        pair,
        saving: 1 - relativeCost(router.figures.share95, prices[weak]! / prices[strong]!),
      })),
    })),
  );
}

export type EvaluationReport = {
  readonly version: string;
  /** The prices the cost figures use. */
  readonly ladder: PriceLadder;
  readonly rows: Readonly<Record<Source, { dev: number; test: number }>>;
  readonly thresholds: ScoringWeights['thresholds'];
  readonly defaultQuality: number;
  readonly benchmarks: readonly BenchmarkResult[];
  readonly withinSubject: WithinSubjectResult;
  readonly costs: readonly CostResult[];
  readonly agreement: readonly RankAgreement[];
  readonly tiers: readonly TierResult[];
  readonly sweep: readonly SweepRow[];
  readonly stability: StabilityResult;
  /** The same fit on MMLU-dev only, evaluated out of distribution. */
  readonly transfer: readonly BenchmarkResult[];
  /** The same fit without the lexical feature: does it pay for itself? */
  readonly withoutLexical: readonly BenchmarkResult[];
  readonly withoutLexicalAgreement: readonly RankAgreement[];
};

/** Scores every example once, keyed by id. */
function scoreTable(examples: readonly LabeledExample[], model: ScoringModel): ScoreLookup {
  const scores = new Map(examples.map((e) => [e.id, computeScore(requestOf(e.prompt), model)]));
  return (e) => scores.get(e.id)!;
}

/**
 * The whole protocol for shipped `weights`: every figure on the test splits (MT-Bench whole),
 * plus the transfer and no-lexical refits with `options`, which touch dev rows only.
 */
export function evaluateProtocol(
  examples: readonly LabeledExample[],
  weights: ScoringWeights,
  options: Omit<FitOptions, 'version' | 'fittedOn'> = DEFAULT_FIT_OPTIONS,
  ladder: PriceLadder = CLAUDE_LADDER,
): EvaluationReport {
  const model = compileWeights(weights);
  const scoreOf = scoreTable(examples, model);
  const benchmarks = OUTCOME_SOURCES.map((source) => benchmarkResult(examples, source, scoreOf));
  const rows = Object.fromEntries(
    (['mmlu', 'gsm8k', 'math500', 'mtbench'] as const).map((source) => [
      source,
      {
        dev: examples.filter((e) => e.source === source && e.split === 'dev').length,
        test: examples.filter((e) => e.source === source && e.split !== 'dev').length,
      },
    ]),
  ) as Record<Source, { dev: number; test: number }>;

  // The 30%-on-MMLU-dev threshold uses the dev rows' cross-fitted scores, as calibration does.
  const refit = calibrateOnDev(examples, { ...options, version: weights.version, fittedOn: weights.fitted_on });
  const devRows = devExamples(examples);
  const devScores = new Map(devRows.map((e, i) => [e.id, refit.devScores[i]!]));

  const transferWeights = calibrateOnDev(examples, { ...options, version: 'transfer', fittedOn: 'mmlu dev' }, ['mmlu']);
  const transferScoreOf = scoreTable(examples, compileWeights(transferWeights.weights));
  const plainWeights = calibrateOnDev(examples, { ...options, lexicalBits: 0, version: 'no-lexical', fittedOn: 'dev' });
  const plainScoreOf = scoreTable(examples, compileWeights(plainWeights.weights));
  const scorerOnly = (result: BenchmarkResult): BenchmarkResult => ({ ...result, routers: result.routers.slice(0, 1) });

  return {
    version: weights.version,
    ladder,
    rows,
    thresholds: weights.thresholds,
    defaultQuality: weights.default_quality,
    benchmarks,
    withinSubject: withinSubjectResult(examples, scoreOf),
    costs: costResults(benchmarks, ladder),
    agreement: agreementResults(examples, scoreOf),
    tiers: tierResults(examples, scoreOf, model, weights.default_quality),
    sweep: qualitySweep(examples, scoreOf, model, ladder),
    stability: calibrationStability(examples, (e) => devScores.get(e.id)!, scoreOf),
    transfer: OUTCOME_SOURCES.filter((s) => s !== 'mmlu').map((source) =>
      scorerOnly(benchmarkResult(examples, source, transferScoreOf)),
    ),
    withoutLexical: OUTCOME_SOURCES.map((source) => scorerOnly(benchmarkResult(examples, source, plainScoreOf))),
    withoutLexicalAgreement: agreementResults(examples, plainScoreOf).slice(0, 2),
  };
}
