/**
 * What the Anthropic and Bedrock front doors can say that the canonical (OpenAI) request cannot,
 * kept beside it so an adapter whose protocol can say it too does. Never serialized as is: the
 * canonical request stays a valid OpenAI body for OpenAI-compatible upstreams.
 */
export interface ChatExtras {
  /** Sample from the K most likely tokens (Anthropic `top_k`). */
  topK?: number;
  /** Extended thinking: a token budget (Anthropic, Bedrock Claude) and/or an effort level. */
  thinking?: { budgetTokens?: number; effort?: ThinkingEffort };
  /** Prompt-cache breakpoints the caller set (`cache_control`, Bedrock `cachePoint`). */
  cacheBreakpoints?: CacheBreakpoint[];
}

export type ThinkingEffort = 'low' | 'medium' | 'high';

/**
 * A cache breakpoint in canonical coordinates: the prefix up to and including the tool list, or
 * up to and including part `part` of canonical message `message` (its last part when absent).
 */
export type CacheBreakpoint = { ttl?: '5m' | '1h' } & ({ tools: true } | { message: number; part?: number });

/** The effort level a thinking budget corresponds to, for upstreams that take a level. */
export function effortForBudget(budgetTokens: number): ThinkingEffort {
  if (budgetTokens < 4096) return 'low';
  if (budgetTokens < 16384) return 'medium';
  return 'high';
}

/** A thinking budget for an effort level, for upstreams that take a budget. */
export function budgetForEffort(effort: ThinkingEffort): number {
  return effort === 'low' ? 2048 : effort === 'medium' ? 8192 : 24576;
}

/** The breakpoint that ends at part `part` of message `message`, if the caller set one there. */
export function breakpointAt(extras: ChatExtras | undefined, message: number, part: number, lastPart: boolean): CacheBreakpoint | undefined {
  return extras?.cacheBreakpoints?.find((b) => 'message' in b && b.message === message && (b.part === undefined ? lastPart : b.part === part));
}

/** A breakpoint on message `message` as a whole (after its last block, tool calls included). */
export function wholeMessageBreakpoint(extras: ChatExtras | undefined, message: number): CacheBreakpoint | undefined {
  return extras?.cacheBreakpoints?.find((b) => 'message' in b && b.message === message && b.part === undefined);
}

export function toolsBreakpoint(extras: ChatExtras | undefined): CacheBreakpoint | undefined {
  return extras?.cacheBreakpoints?.find((b) => 'tools' in b);
}
