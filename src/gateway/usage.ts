import type { OpenAIUsage } from './chat';

/**
 * Token usage normalized across providers so the input classes add up to the prompt exactly
 * once: OpenAI's prompt_tokens includes cached tokens, Anthropic's input_tokens excludes cache
 * reads and writes; here `inputTokens` is always the uncached, unwritten part.
 */
export interface Usage {
  inputTokens: number;
  cachedInputTokens: number;
  /** All cache-write tokens (5-minute and 1-hour); `cacheWrite1hTokens` is the 1-hour share. */
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
  /** Output tokens including reasoning tokens, as every provider bills them. */
  outputTokens: number;
  reasoningTokens: number;
}

export const ZERO_USAGE: Usage = Object.freeze({
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
});

/** The OpenAI usage block for a normalized usage: prompt_tokens counts every input class. */
export function toOpenAIUsage(usage: Usage): OpenAIUsage {
  const prompt = usage.inputTokens + usage.cachedInputTokens + usage.cacheWriteTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.outputTokens,
    total_tokens: prompt + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}
