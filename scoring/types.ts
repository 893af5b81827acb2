/**
 * The scorer's own minimal input type: structurally compatible with an OpenAI chat-completions
 * request body, so the gateway passes its canonical request as it is, while this module stays a
 * leaf with no imports from `src/`.
 */

export type ScoringContentPart = { type: string; text?: string; [key: string]: unknown };

export type ScoringMessage = {
  role: string;
  content?: string | null | ScoringContentPart[];
  tool_calls?: unknown[];
  [key: string]: unknown;
};

export type ScoringRequest = {
  messages: ScoringMessage[];
  tools?: unknown[] | null;
  response_format?: unknown;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  [key: string]: unknown;
};

/** One term of the score's logit: `value · weight`. */
export type Contribution = { feature: string; value: number; weight: number };

export type ScoreResult = {
  /** P(the prompt needs more than the smallest rung), in [0,1]. */
  score: number;
  /** Every term of the logit, sorted by |value · weight|, largest first. */
  contributions: Contribution[];
  /** The weights version (SCORER_VERSION), stored on every ledger row. */
  version: string;
};
