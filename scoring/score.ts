/**
 * The complexity score, its explanation, and the choice of a rung on a family ladder, for an
 * explicit compiled model (scoring/index.ts binds the shipped one). Pure, synchronous and
 * deterministic: the same request and weights give the same answer.
 */
import { extractFeatures, FEATURES, FORMATS, type FeatureVector } from './features';
import type { Contribution, ScoreResult, ScoringRequest } from './types';
import type { ScoringModel } from './weights';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The mean learned value of the prompt's n-grams, reported as one contribution. */
export const LEXICAL_FEATURE = 'lexical';

function featuresOf(request: ScoringRequest, model: ScoringModel, into?: Float64Array): FeatureVector {
  return extractFeatures(request, { values: model.lexicalValues, mask: model.lexicalMask, buckets: null }, into);
}

/**
 * computeScore's feature values. Scoring is synchronous and the values are dead once the logit
 * is summed, so one array serves every call: a fresh typed array this size lives outside the JS
 * heap (malloc, then the array-buffer sweeper to free it), ~0.45 µs a call.
 */
const SCORE_SCRATCH = new Float64Array(FEATURES.length);

const meanLexicalValue = (vector: FeatureVector): number =>
  vector.lexicalTerms === 0 ? 0 : vector.lexicalSum / vector.lexicalTerms;

function logitOf(vector: FeatureVector, model: ScoringModel): number {
  const { values, format } = vector;
  const offset = format * values.length;
  const weights = model.featureWeights;
  let z = model.biases[format]! + model.lexicalScales[format]! * meanLexicalValue(vector);
  for (let i = 0; i < values.length; i++) z += values[i]! * weights[offset + i]!;
  return z;
}

/** The score alone, for the hot path: P(needs more than the smallest rung), in [0,1]. */
export function computeScore(request: ScoringRequest, model: ScoringModel): number {
  return sigmoid(logitOf(featuresOf(request, model, SCORE_SCRATCH), model));
}

/**
 * The score with its explanation. The logit is exactly the sum of `value · weight` over the
 * contributions: one per feature that fired (weighted for the prompt's format), the n-grams as
 * one `lexical` term, and the format's bias, named `bias:<format>`.
 */
export function explainScore(request: ScoringRequest, model: ScoringModel): ScoreResult {
  const vector = featuresOf(request, model);
  const offset = vector.format * FEATURES.length;
  const contributions: Contribution[] = [];
  FEATURES.forEach((feature, i) => {
    const value = vector.values[i]!;
    const weight = model.featureWeights[offset + i]!;
    if (value !== 0 && weight !== 0) contributions.push({ feature, value, weight });
  });
  const lexicalValue = meanLexicalValue(vector);
  const lexicalScale = model.lexicalScales[vector.format]!;
  if (lexicalValue !== 0 && lexicalScale !== 0) {
    contributions.push({ feature: LEXICAL_FEATURE, value: lexicalValue, weight: lexicalScale });
  }
  contributions.push({ feature: `bias:${FORMATS[vector.format]!}`, value: 1, weight: model.biases[vector.format]! });
  contributions.sort((a, b) => Math.abs(b.value * b.weight) - Math.abs(a.value * a.weight));
  return { score: sigmoid(logitOf(vector, model)), contributions, version: model.version };
}

/**
 * The quality knob as a shift of the score's log-odds: scale · ln(q / (1 − q)). 0.5 leaves
 * the calibrated thresholds as they are; towards 1 everything moves up the ladder, towards 0
 * down.
 */
function qualityShift(quality: number, model: ScoringModel): number {
  return Number.isNaN(quality) ? 0 : model.qualityScale * Math.log(quality / (1 - quality));
}

/**
 * The rung (0 = cheapest) of a family ladder with `rungCount` models for a score. Tier
 * boundaries are calibrated for three tiers: with 2 rungs, medium and large share the strong
 * rung; with 3, small/medium/large map to the rungs in order; with 4, the medium tier is
 * split at the midpoint of its two boundaries (in log-odds). A higher `quality` never picks a
 * cheaper rung; quality 1 always picks the top rung and 0 the bottom one.
 */
export function rungFor(score: number, rungCount: number, quality: number, model: ScoringModel): number {
  if (rungCount <= 1 || quality <= 0) return 0;
  if (quality >= 1) return rungCount - 1;
  const clamped = Math.min(1, Math.max(0, score));
  const z = Math.log(clamped / (1 - clamped)) + qualityShift(quality, model);
  const low = model.smallMediumLogit;
  const high = model.mediumLargeLogit;
  const boundaries = rungCount === 2 ? [low] : rungCount === 3 ? [low, high] : [low, (low + high) / 2, high];
  let rung = 0;
  for (const boundary of boundaries) if (z >= boundary) rung++;
  // Ladders longer than four rungs are stretched: the top tier maps to the top rung.
  return rungCount > 4 ? Math.round((rung * (rungCount - 1)) / 3) : rung;
}
