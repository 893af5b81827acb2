/**
 * Offline fitting of the weights file from labeled examples. Pure and deterministic: the same
 * examples and options give the same weights.
 *
 * 1. Lexical prior: every hashed unigram/bigram bucket gets the shrunken mean of the (within-
 *    group standardized) target over the training examples that contain it; a prompt's lexical
 *    feature is the mean over its n-grams. This is what learns topic priors ("questions worded
 *    like this tend to need the strong model"). The feature is cross-fitted (each example sees
 *    buckets estimated without it), so the next step does not over-trust it.
 * 2. An all-threshold ordinal logistic regression on the hand-built features plus the lexical
 *    feature, by full-batch gradient descent (Adam): one shared score, one cut per boundary
 *    and group, every group weighing the same in the loss. Each prompt format gets its own weights, as shared weights plus a per-format
 *    deviation held near 0 by an L2 penalty, so formats share what they have in common (open
 *    prompts, which no labeled source represents, use the shared weights as they are). The
 *    shared weights are pulled toward hand-set priors (so features the labeled data never
 *    exercises — tools, images, conversation depth, language — keep a sensible weight), under
 *    sign constraints (more code never lowers the score, in any format).
 * 3. Platt scaling, so the score is a calibrated P(needs more than the smallest tier) over the
 *    training mix. (Calibrating each format on its own aligns the formats' levels with their
 *    sources' base rates, but it scrambles the ranking of a source that spans formats: MATH-500
 *    Spearman fell from 0.47 to 0.45 in dev cross-validation.)
 */
import { extractFeatures, FEATURES, FORMATS, type FeatureName, type PromptFormat } from './features';
import type { ScoringRequest } from './types';
import { logit, type FormatWeights, type ScoringWeights } from './weights';

export type TrainingExample = {
  readonly request: ScoringRequest;
  /**
   * Ordinal position within the example's group, 0 = least in need of a stronger model. Each
   * group has its own cut per boundary, so groups whose labels mean different things are never
   * compared with each other: only their orderings inform the weights.
   */
  readonly rank: number;
  readonly group: string;
  /** Whether the example needs more than the smallest tier (the score's calibration target). */
  readonly needsMoreThanSmall: boolean;
  /**
   * What the lexical prior averages, standardized within the group: e.g. the quality gained by
   * the strong model over the weak one, where per-model outcomes exist.
   */
  readonly lexicalTarget: number;
};

/**
 * positive/negative: the weight may not change sign in any format; free: either sign;
 * fixed: stays at the prior, because the labeled data cannot speak to it (it is all English,
 * single-turn text: no tools, images, conversation history or other languages).
 */
type Sign = 'positive' | 'negative' | 'free' | 'fixed';
type Prior = readonly [prior: number, sign: Sign];

/**
 * Hand-set prior weights (logit per unit of feature value) and sign constraints. Positive
 * means "more of this never makes the prompt easier".
 */
export const FEATURE_PRIORS: Readonly<Record<FeatureName, Prior>> = {
  chars: [0.2, 'positive'],
  long_words: [0.1, 'positive'],
  lines: [0, 'positive'],
  sentences: [0, 'positive'],
  questions: [0.1, 'positive'],
  list_items: [0.1, 'positive'],
  choice_options: [0, 'free'],
  system_prompt: [0.05, 'fixed'],
  conversation_depth: [0.2, 'fixed'],
  tools: [0.4, 'fixed'],
  tool_calls: [0.2, 'fixed'],
  structured_output: [0.3, 'fixed'],
  requested_output: [0.1, 'fixed'],
  images: [0.4, 'fixed'],
  files: [0.4, 'fixed'],
  code_fences: [0.4, 'positive'],
  code_symbols: [0.1, 'positive'],
  indented_lines: [0.1, 'positive'],
  identifiers: [0.1, 'positive'],
  digits: [0.1, 'positive'],
  numbers: [0.1, 'positive'],
  quantities_mentioned: [0.1, 'positive'],
  decimals: [0.1, 'positive'],
  fractions: [0.1, 'positive'],
  latex: [0.3, 'positive'],
  variables: [0.1, 'positive'],
  dollars: [0, 'free'],
  operators: [0.1, 'positive'],
  percent_signs: [0.1, 'positive'],
  caps_words: [0.1, 'positive'],
  proper_nouns: [0.05, 'positive'],
  non_latin: [0.5, 'fixed'],
  accented: [0.3, 'fixed'],
  reasoning: [0.3, 'positive'],
  math_words: [0.2, 'positive'],
  code_words: [0.2, 'positive'],
  constraints: [0.15, 'positive'],
  long_output: [0.2, 'positive'],
  short_output: [-0.2, 'negative'],
  simple_task: [-0.3, 'negative'],
  creative: [-0.1, 'free'],
  quantities: [0.1, 'positive'],
  negation: [0.1, 'free'],
  hard_words: [0.3, 'positive'],
  conditionals: [0.1, 'positive'],
  number_words: [0.05, 'positive'],
  comparisons: [0.1, 'positive'],
  extremes: [0.1, 'positive'],
  counting: [0.1, 'positive'],
};

export type FitOptions = {
  readonly version: string;
  readonly fittedOn: string;
  /** log2 of the lexical table size; 0 turns the lexical feature off. */
  readonly lexicalBits: number;
  /** A bucket gets a value only if it occurs in at least this many training examples. */
  readonly lexicalMinExamples: number;
  /** Pseudo-count shrinking a bucket's mean target toward 0. */
  readonly lexicalSmoothing: number;
  /** Cross-fitting folds for the lexical feature seen by the regression. */
  readonly lexicalFolds: number;
  /** Pull of the shared weights toward their priors (standardized scale). */
  readonly priorL2: number;
  /**
   * Pull of each format's deviation from the shared weights toward 0 (standardized scale), per
   * format: a format with thousands of rows can afford its own weights, one with hundreds
   * should stay near the shared ones. (Open has no deviation at all.)
   */
  readonly formatL2: Readonly<Record<Exclude<PromptFormat, 'open'>, number>>;
  /**
   * The same for the lexical feature's scale, kept loose: the lexical prior is about each
   * benchmark's topics, so each format learns its own scale (open prompts keep the shared one, 0).
   */
  readonly lexicalFormatL2: number;
  readonly iterations: number;
  readonly learningRate: number;
  readonly defaultQuality: number;
};

export const DEFAULT_FIT_OPTIONS: Omit<FitOptions, 'version' | 'fittedOn'> = {
  lexicalBits: 16,
  lexicalMinExamples: 5,
  lexicalSmoothing: 10,
  lexicalFolds: 5,
  priorL2: 1,
  formatL2: { multiple_choice: 1e-3, word_problem: 1, formal_math: 1e-1 },
  lexicalFormatL2: 1e-3,
  iterations: 400,
  learningRate: 0.05,
  defaultQuality: 0.5,
};

function priorFormatWeights(): FormatWeights {
  const features: Partial<Record<FeatureName, number>> = {};
  for (const name of FEATURES) features[name] = FEATURE_PRIORS[name][0];
  return { bias: -1, lexical: 0, features };
}

/** The prior weights alone: the shipped file before any data has been seen. */
export function priorWeights(version: string): ScoringWeights {
  return {
    version,
    fitted_on: 'hand-set priors, no data',
    formats: Object.fromEntries(FORMATS.map((format) => [format, priorFormatWeights()])) as Record<
      PromptFormat,
      FormatWeights
    >,
    lexical: { bits: 1, buckets: [], values: [] },
    thresholds: { small_medium: 0.4, medium_large: 0.7 },
    default_quality: 0.5,
    quality_scale: 0.5,
  };
}

type ScannedExample = { values: Float64Array; format: number; buckets: Int32Array };

function scanExamples(examples: readonly TrainingExample[], lexicalBits: number): ScannedExample[] {
  const size = 2 ** Math.max(lexicalBits, 1);
  const sink = { values: new Float32Array(size), mask: size - 1 };
  return examples.map((example) => {
    const buckets: number[] = [];
    const vector = extractFeatures(example.request, { ...sink, buckets });
    return { values: vector.values, format: vector.format, buckets: Int32Array.from(lexicalBits > 0 ? buckets : []) };
  });
}

/** Each example's lexical target, standardized within its group. */
function standardizedTargets(examples: readonly TrainingExample[]): Float64Array {
  const stats = new Map<string, { n: number; sum: number; squares: number }>();
  for (const e of examples) {
    const s = stats.get(e.group) ?? { n: 0, sum: 0, squares: 0 };
    s.n++;
    s.sum += e.lexicalTarget;
    s.squares += e.lexicalTarget * e.lexicalTarget;
    stats.set(e.group, s);
  }
  return Float64Array.from(examples, (e) => {
    const s = stats.get(e.group)!;
    const mean = s.sum / s.n;
    const deviation = Math.sqrt(Math.max(s.squares / s.n - mean * mean, 0));
    return deviation === 0 ? 0 : (e.lexicalTarget - mean) / deviation;
  });
}

/** Bucket values from the examples `include` accepts: shrunken mean target per bucket. */
function bucketValues(
  scanned: readonly ScannedExample[],
  targets: Float64Array,
  include: (i: number) => boolean,
  options: FitOptions,
): Map<number, number> {
  const sums = new Map<number, number>();
  const counts = new Map<number, number>();
  scanned.forEach((example, i) => {
    if (!include(i)) return;
    for (const bucket of new Set(example.buckets)) {
      sums.set(bucket, (sums.get(bucket) ?? 0) + targets[i]!);
      counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    }
  });
  const values = new Map<number, number>();
  for (const [bucket, count] of counts) {
    if (count >= options.lexicalMinExamples) values.set(bucket, sums.get(bucket)! / (count + options.lexicalSmoothing));
  }
  return values;
}

/** Mean bucket value over an example's n-grams, exactly as the scorer computes it. */
function lexicalFeature(example: ScannedExample, values: ReadonlyMap<number, number>): number {
  if (example.buckets.length === 0) return 0;
  let sum = 0;
  for (const bucket of example.buckets) sum += values.get(bucket) ?? 0;
  return sum / example.buckets.length;
}

/** Per-example loss weights summing to 1: every group gets an equal share, spread evenly inside it. */
function exampleWeights(examples: readonly TrainingExample[]): Float64Array {
  const perGroup = new Map<string, number>();
  for (const example of examples) perGroup.set(example.group, (perGroup.get(example.group) ?? 0) + 1);
  return Float64Array.from(examples, (e) => 1 / (perGroup.size * perGroup.get(e.group)!));
}

/** Adam with bias correction, over one flat parameter vector. */
class Adam {
  private readonly first: Float64Array;
  private readonly second: Float64Array;
  private step = 0;
  constructor(
    size: number,
    private readonly learningRate: number,
  ) {
    this.first = new Float64Array(size);
    this.second = new Float64Array(size);
  }

  update(parameters: Float64Array, gradient: Float64Array): void {
    this.step++;
    const correction1 = 1 - 0.9 ** this.step;
    const correction2 = 1 - 0.999 ** this.step;
    for (let k = 0; k < parameters.length; k++) {
      const g = gradient[k]!;
      this.first[k] = 0.9 * this.first[k]! + 0.1 * g;
      this.second[k] = 0.999 * this.second[k]! + 0.001 * g * g;
      const m = this.first[k]! / correction1;
      const v = this.second[k]! / correction2;
      parameters[k] = parameters[k]! - (this.learningRate * m) / (Math.sqrt(v) + 1e-8);
    }
  }
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

const round = (value: number, digits: number): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

/** Column statistics for standardization; a constant column has deviation 0. */
function columnStats(rows: readonly Float64Array[], width: number): { means: Float64Array; deviations: Float64Array } {
  const means = new Float64Array(width);
  const deviations = new Float64Array(width);
  for (let j = 0; j < width; j++) {
    let sum = 0;
    for (const row of rows) sum += row[j]!;
    const mean = sum / rows.length;
    let squares = 0;
    for (const row of rows) squares += (row[j]! - mean) ** 2;
    means[j] = mean;
    deviations[j] = Math.sqrt(squares / rows.length);
  }
  return { means, deviations };
}

/** One cut per (group, boundary): boundary k separates ranks < k from ranks >= k. */
function cutLayout(examples: readonly TrainingExample[]): Map<string, { first: number; count: number }> {
  const topRank = new Map<string, number>();
  for (const e of examples) topRank.set(e.group, Math.max(topRank.get(e.group) ?? 0, e.rank));
  const layout = new Map<string, { first: number; count: number }>();
  let next = 0;
  for (const group of [...topRank.keys()].sort()) {
    const count = topRank.get(group)!;
    layout.set(group, { first: next, count });
    next += count;
  }
  return layout;
}

/**
 * Platt scaling: the slope and intercept that turn a raw logit into a calibrated
 * P(needs more than small) on the (group-weighted) training examples, by Newton's method.
 */
function plattScale(rawLogits: Float64Array, targets: readonly boolean[], weights: Float64Array): [number, number] {
  let slope = 1;
  let intercept = 0;
  for (let iteration = 0; iteration < 50; iteration++) {
    let gSlope = 0;
    let gIntercept = 0;
    let hSS = 0;
    let hSI = 0;
    let hII = 1e-9;
    for (let i = 0; i < rawLogits.length; i++) {
      const x = rawLogits[i]!;
      const p = sigmoid(slope * x + intercept);
      const error = weights[i]! * (p - (targets[i] ? 1 : 0));
      const curvature = weights[i]! * p * (1 - p);
      gSlope += error * x;
      gIntercept += error;
      hSS += curvature * x * x;
      hSI += curvature * x;
      hII += curvature;
    }
    const determinant = hSS * hII - hSI * hSI;
    if (!(Math.abs(determinant) > 1e-12)) break;
    const stepSlope = (hII * gSlope - hSI * gIntercept) / determinant;
    const stepIntercept = (hSS * gIntercept - hSI * gSlope) / determinant;
    slope -= stepSlope;
    intercept -= stepIntercept;
    if (Math.abs(stepSlope) + Math.abs(stepIntercept) < 1e-10) break;
  }
  return [slope, intercept];
}

export type FittedScorer = {
  /** The weights; thresholds and quality scale are placeholders (see protocol.calibrateOnDev). */
  readonly weights: ScoringWeights;
  /** The training examples' scores, with the cross-fitted lexical feature. */
  readonly trainingScores: Float64Array;
};

/**
 * Fits the weights. Regression columns are the hand-built features followed by the lexical
 * feature. Parameters: [cuts | shared column weights | per-format deviations]; the logit of
 * "rank >= k" for an example of group g and format f is x · (shared + deviation_f) + cut(g, k).
 */
export function fitWeights(examples: readonly TrainingExample[], options: FitOptions): FittedScorer {
  const n = examples.length;
  const scanned = scanExamples(examples, options.lexicalBits);
  const targets = standardizedTargets(examples);
  const folds = Math.max(2, options.lexicalFolds);
  const outOfFold = new Float64Array(n);
  if (options.lexicalBits > 0) {
    for (let fold = 0; fold < folds; fold++) {
      const values = bucketValues(scanned, targets, (i) => i % folds !== fold, options);
      for (let i = fold; i < n; i += folds) outOfFold[i] = lexicalFeature(scanned[i]!, values);
    }
  }
  const finalBucketValues =
    options.lexicalBits > 0 ? bucketValues(scanned, targets, () => true, options) : new Map<number, number>();

  const lexicalColumn = FEATURES.length;
  const width = FEATURES.length + 1;
  const rows = scanned.map((example, i) => {
    const row = new Float64Array(width);
    row.set(example.values);
    row[lexicalColumn] = outOfFold[i]!;
    return row;
  });
  const { means, deviations } = columnStats(rows, width);
  const sign: Sign[] = [...FEATURES.map((name) => FEATURE_PRIORS[name][1]), 'positive'];
  // A column is learned when the data varies it and it is not fixed at its prior.
  const learned = Array.from({ length: width }, (_, j) => deviations[j]! > 0 && sign[j] !== 'fixed');
  const standardized = new Float64Array(n * width);
  rows.forEach((row, i) => {
    for (let j = 0; j < width; j++) {
      if (learned[j]) standardized[i * width + j] = (row[j]! - means[j]!) / deviations[j]!;
    }
  });

  const sampleWeights = exampleWeights(examples);
  const layout = cutLayout(examples);
  let cutCount = 0;
  for (const { count } of layout.values()) cutCount += count;
  const sharedOffset = cutCount;
  const deviationOffset = cutCount + width;
  const parameters = new Float64Array(deviationOffset + FORMATS.length * width);
  for (const [group, { first, count }] of layout) {
    const ofGroup = examples.filter((e) => e.group === group);
    for (let k = 1; k <= count; k++) {
      // Start each cut at its boundary's log-odds, so early steps go into the weights.
      const above = ofGroup.filter((e) => e.rank >= k).length / ofGroup.length;
      parameters[first + k - 1] = logit(Math.min(0.99, Math.max(0.01, above)));
    }
  }
  const prior = new Float64Array(width);
  FEATURES.forEach((name, j) => {
    prior[j] = FEATURE_PRIORS[name][0] * deviations[j]!;
  });
  parameters.set(prior, sharedOffset);
  const firstCut = Int32Array.from(examples, (e) => layout.get(e.group)!.first);
  const cutsOfExample = Int32Array.from(examples, (e) => layout.get(e.group)!.count);
  const formatOffset = Int32Array.from(scanned, (e) => deviationOffset + e.format * width);
  const openDeviation = deviationOffset + FORMATS.indexOf('open') * width;
  // The L2 strength of every deviation parameter: its format's, or the looser lexical one.
  const deviationPenalty = Float64Array.from({ length: FORMATS.length * width }, (_, k) => {
    const format = FORMATS[Math.floor(k / width)]!;
    if (format === 'open') return 0;
    return k % width === lexicalColumn ? options.lexicalFormatL2 : options.formatL2[format];
  });
  const gradient = new Float64Array(parameters.length);
  const optimizer = new Adam(parameters.length, options.learningRate);
  const rawLogits = new Float64Array(n);

  const computeRawLogits = (): void => {
    for (let i = 0; i < n; i++) {
      let z = 0;
      const deviation = formatOffset[i]!;
      for (let j = 0; j < width; j++) {
        z += standardized[i * width + j]! * (parameters[sharedOffset + j]! + parameters[deviation + j]!);
      }
      rawLogits[i] = z;
    }
  };

  for (let iteration = 0; iteration < options.iterations; iteration++) {
    computeRawLogits();
    gradient.fill(0);
    for (let i = 0; i < n; i++) {
      const rank = examples[i]!.rank;
      const z = rawLogits[i]!;
      let g = 0;
      for (let k = 1; k <= cutsOfExample[i]!; k++) {
        const cut = firstCut[i]! + k - 1;
        const error = sampleWeights[i]! * (sigmoid(z + parameters[cut]!) - (rank >= k ? 1 : 0));
        gradient[cut]! += error;
        g += error;
      }
      const deviation = formatOffset[i]!;
      for (let j = 0; j < width; j++) {
        const step = g * standardized[i * width + j]!;
        gradient[sharedOffset + j]! += step;
        gradient[deviation + j]! += step;
      }
    }
    for (let j = 0; j < width; j++) {
      gradient[sharedOffset + j]! += options.priorL2 * (parameters[sharedOffset + j]! - prior[j]!);
    }
    for (let k = 0; k < deviationPenalty.length; k++) {
      gradient[deviationOffset + k]! += deviationPenalty[k]! * parameters[deviationOffset + k]!;
    }
    // Open prompts (chat, code, writing) have no labeled data of their own: they use the shared
    // weights, not a deviation fitted to the few benchmark rows that happen to look open.
    gradient.fill(0, openDeviation, openDeviation + width);
    optimizer.update(parameters, gradient);
    // Project onto the sign constraints: the shared weight and every format's total weight.
    for (let j = 0; j < width; j++) {
      if (sign[j] === 'free' || sign[j] === 'fixed') continue;
      const direction = sign[j] === 'positive' ? 1 : -1;
      if (direction * parameters[sharedOffset + j]! < 0) parameters[sharedOffset + j] = 0;
      for (let f = 0; f < FORMATS.length; f++) {
        const k = deviationOffset + f * width + j;
        if (direction * (parameters[sharedOffset + j]! + parameters[k]!) < 0) parameters[k] = -parameters[sharedOffset + j]!;
      }
    }
  }
  computeRawLogits();
  const [slope, intercept] = plattScale(
    rawLogits,
    examples.map((e) => e.needsMoreThanSmall),
    sampleWeights,
  );

  // Undo the standardization (w = slope · v / sd) and fold the means into each format's bias.
  // A column that was not learned keeps its prior (priors live on the regression's scale, so
  // Platt's slope applies to them too), and the bias absorbs its constant part.
  const formats = Object.fromEntries(
    FORMATS.map((format, f) => {
      const weightOf = (j: number): number =>
        learned[j]
          ? (slope * (parameters[sharedOffset + j]! + parameters[deviationOffset + f * width + j]!)) / deviations[j]!
          : j < FEATURES.length
            ? slope * FEATURE_PRIORS[FEATURES[j]!][0]
            : 0;
      let bias = intercept;
      const features: Partial<Record<FeatureName, number>> = {};
      FEATURES.forEach((name, j) => {
        const weight = weightOf(j);
        bias -= weight * means[j]!;
        features[name] = round(weight, 6);
      });
      const lexical = weightOf(lexicalColumn);
      bias -= lexical * means[lexicalColumn]!;
      return [format, { bias: round(bias, 6), lexical: round(lexical, 6), features }];
    }),
  ) as Record<PromptFormat, FormatWeights>;
  const buckets: number[] = [];
  const values: number[] = [];
  for (const bucket of [...finalBucketValues.keys()].sort((a, b) => a - b)) {
    const value = round(finalBucketValues.get(bucket)!, 4);
    if (value === 0) continue;
    buckets.push(bucket);
    values.push(value);
  }
  return {
    weights: {
      version: options.version,
      fitted_on: options.fittedOn,
      formats,
      lexical: { bits: Math.max(options.lexicalBits, 1), buckets, values },
      thresholds: { small_medium: 0.4, medium_large: 0.7 },
      default_quality: options.defaultQuality,
      quality_scale: 0.5,
    },
    trainingScores: Float64Array.from(rawLogits, (z) => sigmoid(slope * z + intercept)),
  };
}
