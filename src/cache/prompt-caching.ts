import type { CatalogModel } from '../catalog/catalog';
import type { Clock } from '../deps';
import { contentText, type ChatRequest } from '../gateway/chat';
import { promptText } from '../gateway/estimate';
import type { Usage } from '../gateway/usage';
import type { Principal } from '../keys/keys';
import type { KeyPolicy } from '../keys/policy';
import { placeAnthropicBreakpoints, type AnthropicPrompt } from './anthropic-breakpoints';
import { estimateTextTokens, type BreakpointPlan, type PlacementOptions } from './breakpoints';
import { placeConverseCachePoints, type ConversePrompt } from './converse-cache-points';
import { PrefixHash } from './hash';
import { cacheScope } from './policy';
import type { CacheOwner, CacheRates, PromptCacheReturns } from './write-return';

/**
 * Provider prompt caching applied where a request body is built. Adapters call the hook that
 * fits their wire format; the pipeline settles the session with the usage the answer reported.
 */
export interface PromptCacheHook {
  /** Anthropic Messages: the prompt with `cache_control` breakpoints placed. */
  anthropic<P extends AnthropicPrompt>(prompt: P): P;
  /** Bedrock Converse: the body with `cachePoint` blocks placed. */
  converse<P extends ConversePrompt>(prompt: P): P;
  /** OpenAI: the `prompt_cache_key` to send, when the caller sent none and the prompt is long enough to be cached. */
  openaiCacheKey(request: ChatRequest): string | undefined;
}

/**
 * Anthropic's documented minimum cacheable prompt length for the newest documented model of
 * each line (prompt-caching docs as quoted in anthropics/anthropic-sdk-python#1194: Opus 4.5/4.6
 * and Haiku 4.5 4,096; Sonnet 4.5/4.6 1,024), used where the catalog has no
 * `capabilities.min_cacheable_tokens`. Other models: 1,024, the most common documented minimum
 * (also OpenAI's automatic caching threshold and Nova's cache checkpoint minimum on Bedrock).
 */
const LINE_MINIMUMS: ReadonlyArray<[RegExp, number]> = [
  [/opus/, 4096],
  [/haiku/, 4096],
  [/sonnet/, 1024],
];
const DEFAULT_MINIMUM = 1024;

export function minCacheableTokens(model: CatalogModel): number {
  const fromCatalog = model.capabilities.min_cacheable_tokens;
  if (fromCatalog !== undefined) return fromCatalog;
  return LINE_MINIMUMS.find(([pattern]) => pattern.test(model.id))?.[1] ?? DEFAULT_MINIMUM;
}

export function cacheRates(model: CatalogModel): CacheRates {
  const standard = model.rates.tiers.standard;
  return {
    input: standard.input,
    cachedInput: standard.cachedInput,
    write5m: standard.cacheWrite,
    write1h: model.prices.cache_write_1h === undefined ? undefined : standard.cacheWrite1h,
  };
}

/** Caching for one request: places breakpoints as the body is built, then learns from the usage. */
export class PromptCacheSession implements PromptCacheHook {
  private plan: BreakpointPlan | undefined;
  private readonly owner: CacheOwner;
  private readonly rates: CacheRates;

  constructor(
    private readonly returns: PromptCacheReturns,
    private readonly clock: Clock,
    private readonly model: CatalogModel,
    principal: Principal,
    private readonly scope: string,
  ) {
    this.owner = { keyId: principal.keyId, team: principal.team, model: model.id };
    this.rates = cacheRates(model);
  }

  private options(): PlacementOptions {
    const now = this.clock.now();
    return {
      minTokens: minCacheableTokens(this.model),
      seed: this.model.id,
      decide: (candidate) => this.returns.decide(this.owner, candidate, this.rates, now),
    };
  }

  anthropic<P extends AnthropicPrompt>(prompt: P): P {
    const placed = placeAnthropicBreakpoints(prompt, this.options());
    this.plan = placed.plan;
    return placed.prompt;
  }

  converse<P extends ConversePrompt>(prompt: P): P {
    // Nova models take cache points in system and messages, not among the tools.
    const placed = placeConverseCachePoints(prompt, { ...this.options(), toolsCacheable: !this.model.id.includes('nova') });
    this.plan = placed.plan;
    return placed.prompt;
  }

  /**
   * A stable prompt prefix (tools and system prompt) long enough to be cached gets a key of its
   * own, so requests that share it are routed to the same cache; otherwise the key (or team)
   * groups its own traffic. The key is a digest: it reveals neither the prompt nor the key.
   */
  openaiCacheKey(request: ChatRequest): string | undefined {
    if ((request as Record<string, unknown>).prompt_cache_key != null) return undefined;
    const minimum = minCacheableTokens(this.model);
    if (estimateTextTokens(promptText(request)) < minimum) return undefined;
    let stable = request.tools?.length ? JSON.stringify(request.tools) : '';
    for (const message of request.messages) {
      if (message.role !== 'system' && message.role !== 'developer') break;
      stable += `\u0000${contentText(message.content)}`;
    }
    const grouping = estimateTextTokens(stable) >= minimum ? `prefix\u0000${stable}` : `scope\u0000${this.scope}`;
    return `sluice-${new PrefixHash(this.model.id).update(grouping).digest()}`;
  }

  /** Records what became of the breakpoints, from the usage the answer reported. */
  settle(usage: Usage): void {
    if (!this.plan) return;
    this.returns.settle(this.owner, this.plan.placed, this.plan.totalTokens, usage, this.rates, this.clock.now());
  }
}

/** Whether a request gets provider prompt caching: on by default (policy `prompt_caching`), for models that support it. */
export function promptCacheSession(
  returns: PromptCacheReturns,
  clock: Clock,
  principal: Principal,
  policy: KeyPolicy,
  model: CatalogModel,
): PromptCacheSession | undefined {
  if (policy.prompt_caching === false || !model.capabilities.prompt_caching) return undefined;
  return new PromptCacheSession(returns, clock, model, principal, cacheScope(principal, policy));
}
