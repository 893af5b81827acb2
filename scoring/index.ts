/**
 * The scorer's public API, bound to the shipped weights (weights.json). The gateway imports
 * this module; offline tools pass their own compiled model to score.ts.
 */
import { computeScore, explainScore, rungFor } from './score';
import { DEFAULT_MODEL, SCORER_VERSION } from './shipped-weights';
import type { ScoreResult, ScoringRequest } from './types';
import type { ScoringModel } from './weights';

export { SCORER_VERSION };
export type { Contribution, ScoreResult, ScoringContentPart, ScoringMessage, ScoringRequest } from './types';
export type { ScoringModel, ScoringWeights } from './weights';
export { compileWeights, parseWeights } from './weights';

/**
 * Scores a chat-completions request: `score` in [0,1] is P(the prompt needs more than the
 * cheapest rung); `contributions` explain it term by term (sorted by |value · weight|);
 * `version` identifies the weights and belongs on the ledger row.
 */
export function scoreRequest(request: ScoringRequest, model: ScoringModel = DEFAULT_MODEL): ScoreResult {
  return explainScore(request, model);
}

/** The score alone (no explanation, no allocation beyond the feature vector): the hot path. */
export function scoreOnly(request: ScoringRequest, model: ScoringModel = DEFAULT_MODEL): number {
  return computeScore(request, model);
}

/**
 * The rung (0 = cheapest) of a ladder of `rungCount` models (2, 3 or 4) for `score`. `quality`
 * in [0,1] (default from the weights, 0.5) moves every boundary monotonically: a higher quality
 * never picks a cheaper rung; 1 always picks the top rung and 0 the bottom one.
 */
export function rungForScore(
  score: number,
  rungCount: number,
  quality: number = DEFAULT_MODEL.defaultQuality,
  model: ScoringModel = DEFAULT_MODEL,
): number {
  return rungFor(score, rungCount, quality, model);
}
