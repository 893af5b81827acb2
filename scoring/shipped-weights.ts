/**
 * The shipped weights. Imported as JSON so the file bundles with esbuild/wrangler and scoring
 * needs no file I/O; validated once, at module load.
 */
import shippedWeights from './weights.json' with { type: 'json' };
import { compileWeights, parseWeights, type ScoringModel, type ScoringWeights } from './weights';

export const SHIPPED_WEIGHTS: ScoringWeights = parseWeights(shippedWeights);
export const DEFAULT_MODEL: ScoringModel = compileWeights(SHIPPED_WEIGHTS);
/** The version stored on every ledger row. */
export const SCORER_VERSION: string = SHIPPED_WEIGHTS.version;
