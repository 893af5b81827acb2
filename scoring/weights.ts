/**
 * The scorer's weights as data (the shape of weights.json), their validation, and their
 * compiled run-time form.
 */
import { FEATURES, FORMATS, type FeatureName, type PromptFormat } from './features';

/** One format's linear model: logit = bias + Σ features·x + lexical · (mean n-gram value). */
export type FormatWeights = {
  bias: number;
  /** Scale of the prompt's mean lexical bucket value. */
  lexical: number;
  /** Logit per unit of each feature value; a feature missing here weighs 0. */
  features: Partial<Record<FeatureName, number>>;
};

/** The weights file. Scores and thresholds are on the [0,1] score scale. */
export type ScoringWeights = {
  /** Stored on every ledger row, so every routing decision can be traced to its weights. */
  version: string;
  /** How the weights were produced (data, split, objective), for the audit trail. */
  fitted_on: string;
  formats: Record<PromptFormat, FormatWeights>;
  /**
   * Hashed unigram/bigram values: `buckets[i]` (an index below 2^bits) carries `values[i]`;
   * every other bucket is 0. A prompt's lexical value is the mean over all its n-grams.
   */
  lexical: { bits: number; buckets: number[]; values: number[] };
  /** Boundaries between the small|medium and medium|large tiers at the default quality. */
  thresholds: { small_medium: number; medium_large: number };
  /** The quality knob used when the caller sets none, in [0,1]. */
  default_quality: number;
  /**
   * Log-odds the tier boundaries move per unit of ln(q / (1 − q)) of the quality knob q,
   * calibrated so that q from 0.1 to 0.9 spans the bulk of the dev score distribution.
   */
  quality_scale: number;
};

/** Weights compiled for the hot path: dense arrays indexed like FORMATS and FEATURES. */
export type ScoringModel = {
  readonly version: string;
  readonly biases: Float64Array;
  readonly lexicalScales: Float64Array;
  /** Row-major FORMATS.length × FEATURES.length. */
  readonly featureWeights: Float64Array;
  readonly lexicalValues: Float32Array;
  readonly lexicalMask: number;
  /** Tier boundaries in logit space. */
  readonly smallMediumLogit: number;
  readonly mediumLargeLogit: number;
  readonly defaultQuality: number;
  readonly qualityScale: number;
};

const MAX_LEXICAL_BITS = 24;

export const logit = (p: number): number => Math.log(p / (1 - p));

function fail(message: string): never {
  throw new Error(`invalid scoring weights: ${message}`);
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireNumberArray(value: unknown, name: string): number[] {
  if (!Array.isArray(value) || !value.every(isFiniteNumber)) fail(`${name} must be an array of numbers`);
  return value;
}

function requireScore(value: unknown, name: string): number {
  if (!isFiniteNumber(value) || value <= 0 || value >= 1) fail(`${name} must be a number strictly between 0 and 1`);
  return value;
}

function parseFormatWeights(input: unknown, name: string): FormatWeights {
  if (!isObject(input)) fail(`formats.${name} must be an object`);
  if (!isFiniteNumber(input.bias)) fail(`formats.${name}.bias must be a number`);
  if (!isFiniteNumber(input.lexical)) fail(`formats.${name}.lexical must be a number`);
  if (!isObject(input.features)) fail(`formats.${name}.features must be an object`);
  const features: Partial<Record<FeatureName, number>> = {};
  for (const [feature, weight] of Object.entries(input.features)) {
    if (!FEATURES.includes(feature as FeatureName)) fail(`formats.${name} has unknown feature ${feature}`);
    if (!isFiniteNumber(weight)) fail(`formats.${name}.features.${feature} must be a number`);
    features[feature as FeatureName] = weight;
  }
  return { bias: input.bias, lexical: input.lexical, features };
}

/** Checks the shape of a weights object (e.g. parsed from a file) and returns it typed. */
export function parseWeights(input: unknown): ScoringWeights {
  if (!isObject(input)) fail('expected an object');
  if (typeof input.version !== 'string' || input.version === '') fail('version must be a non-empty string');
  if (typeof input.fitted_on !== 'string') fail('fitted_on must be a string');
  if (!isObject(input.formats)) fail('formats must be an object');
  const formatsInput = input.formats;
  const formats = Object.fromEntries(
    FORMATS.map((format) => [format, parseFormatWeights(formatsInput[format], format)]),
  ) as Record<PromptFormat, FormatWeights>;
  const lexical = input.lexical;
  if (!isObject(lexical)) fail('lexical must be an object');
  const bits = lexical.bits;
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > MAX_LEXICAL_BITS) {
    fail(`lexical.bits must be an integer in 1..${MAX_LEXICAL_BITS}`);
  }
  const buckets = requireNumberArray(lexical.buckets, 'lexical.buckets');
  const values = requireNumberArray(lexical.values, 'lexical.values');
  if (buckets.length !== values.length) fail('lexical.buckets and lexical.values differ in length');
  if (buckets.some((b) => !Number.isInteger(b) || b < 0 || b >= 2 ** bits)) fail('a lexical bucket is out of range');
  const thresholds = input.thresholds;
  if (!isObject(thresholds)) fail('thresholds must be an object');
  const smallMedium = requireScore(thresholds.small_medium, 'thresholds.small_medium');
  const mediumLarge = requireScore(thresholds.medium_large, 'thresholds.medium_large');
  if (mediumLarge < smallMedium) fail('thresholds.medium_large is below thresholds.small_medium');
  const defaultQuality = input.default_quality;
  if (!isFiniteNumber(defaultQuality) || defaultQuality < 0 || defaultQuality > 1) {
    fail('default_quality must be in [0,1]');
  }
  const qualityScale = input.quality_scale;
  if (!isFiniteNumber(qualityScale) || qualityScale <= 0) fail('quality_scale must be a positive number');
  return {
    version: input.version,
    fitted_on: input.fitted_on,
    formats,
    lexical: { bits, buckets, values },
    thresholds: { small_medium: smallMedium, medium_large: mediumLarge },
    default_quality: defaultQuality,
    quality_scale: qualityScale,
  };
}

/** Builds the dense run-time form of a weights object. */
export function compileWeights(weights: ScoringWeights): ScoringModel {
  const width = FEATURES.length;
  const featureWeights = new Float64Array(FORMATS.length * width);
  const biases = new Float64Array(FORMATS.length);
  const lexicalScales = new Float64Array(FORMATS.length);
  FORMATS.forEach((format, f) => {
    const formatWeights = weights.formats[format];
    biases[f] = formatWeights.bias;
    lexicalScales[f] = formatWeights.lexical;
    FEATURES.forEach((name, j) => {
      featureWeights[f * width + j] = formatWeights.features[name] ?? 0;
    });
  });
  const lexicalValues = new Float32Array(2 ** weights.lexical.bits);
  weights.lexical.buckets.forEach((bucket, i) => {
    lexicalValues[bucket] = weights.lexical.values[i]!;
  });
  return {
    version: weights.version,
    biases,
    lexicalScales,
    featureWeights,
    lexicalValues,
    lexicalMask: lexicalValues.length - 1,
    smallMediumLogit: logit(weights.thresholds.small_medium),
    mediumLargeLogit: logit(weights.thresholds.medium_large),
    defaultQuality: weights.default_quality,
    qualityScale: weights.quality_scale,
  };
}
