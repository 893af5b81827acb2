import type { ServiceTier } from '../catalog/types';
import type { ChatCompletion, ChatCompletionChunk, OpenAIUsage } from '../gateway/chat';
import { effortForBudget } from '../gateway/extras';
import type { Usage } from '../gateway/usage';
import { SluiceError } from '../errors';
import { parseUpstreamJson } from './json';
import { SseParser } from './sse';
import { UpstreamStreamError } from './stream-error';
import type { ChatTarget, ProviderAdapter, StreamDecoder, UpstreamFailure } from './types';

/** OpenAI and any OpenAI-compatible server (vLLM, Ollama, Together, ...): the canonical protocol. */

export function usageFromOpenAI(usage: OpenAIUsage): Usage {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    // prompt_tokens includes the cached tokens; the ledger counts them once, as cached.
    inputTokens: Math.max(0, usage.prompt_tokens - cached),
    cachedInputTokens: cached,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: usage.completion_tokens,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

/** The tier OpenAI says it served (`service_tier` in the answer); absent means standard. */
export function tierFromOpenAI(served: unknown): ServiceTier {
  if (served === 'flex') return 'flex';
  if (served === 'priority') return 'priority';
  return 'standard';
}

function serviceTierField(target: ChatTarget): string | null | undefined {
  if (target.tier === 'flex') return 'flex';
  if (target.tier === 'priority') return 'priority';
  const asked = target.request.service_tier;
  return asked === 'flex' || asked === 'priority' ? 'default' : asked;
}

function isUsage(value: unknown): value is OpenAIUsage {
  return typeof value === 'object' && value !== null && typeof (value as OpenAIUsage).prompt_tokens === 'number';
}

function isCompletion(value: unknown): value is ChatCompletion {
  return typeof value === 'object' && value !== null && Array.isArray((value as ChatCompletion).choices);
}

function malformed(what: string): SluiceError {
  return new SluiceError('upstream_error', `The OpenAI-compatible upstream sent ${what}; the request may have been served but could not be read.`);
}

/**
 * The JSON text each decoded chunk arrived as: a caller who speaks OpenAI gets the upstream's own
 * text instead of a re-serialization (as non-streamed answers pass the upstream body through).
 */
const upstreamJson = new WeakMap<ChatCompletionChunk, string>();

/** The chunk's JSON exactly as the OpenAI-compatible upstream sent it, when it came from one. */
export function upstreamJsonOf(chunk: ChatCompletionChunk): string | undefined {
  return upstreamJson.get(chunk);
}

const NULL_USAGE = '"usage":null';

/**
 * The chunk's JSON without its top-level `"usage":null` member (which a caller who did not ask
 * for usage never sees), cut out of the upstream's text; undefined when the text is not in the
 * compact form this can cut safely (then the caller re-serializes the parsed chunk). Inside a
 * JSON string a quote is always escaped, so an unescaped `,"usage":null` is a member; it is the
 * top-level one when the name occurs nowhere else.
 */
export function withoutNullUsage(json: string): string | undefined {
  const at = json.indexOf(NULL_USAGE);
  if (at < 1 || json.charCodeAt(at - 1) !== 44 /* , */) return undefined;
  if (json.indexOf('"usage"') !== at || json.indexOf('"usage"', at + 1) !== -1) return undefined;
  return json.slice(0, at - 1) + json.slice(at + NULL_USAGE.length);
}

class OpenAIStreamDecoder implements StreamDecoder {
  usage: Usage | undefined;
  servedTier: ServiceTier = 'standard';
  readonly reportedInputTokens = undefined;
  outputChars = 0;
  outputEvents = 0;
  private readonly parser = new SseParser();

  push(bytes: Uint8Array): ChatCompletionChunk[] {
    return this.handle(this.parser.push(bytes));
  }

  end(): ChatCompletionChunk[] {
    return this.handle(this.parser.end());
  }

  private handle(messages: ReturnType<SseParser['push']>): ChatCompletionChunk[] {
    const chunks: ChatCompletionChunk[] = [];
    for (const message of messages) {
      if (message.data === '[DONE]') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(message.data);
      } catch {
        throw malformed('a stream event that is not JSON');
      }
      const record = parsed as Record<string, unknown>;
      if (record.error !== undefined && record.choices === undefined) {
        const error = record.error as { message?: string; type?: string };
        throw new UpstreamStreamError({ status: 500, type: error.type ?? 'api_error', message: error.message ?? 'upstream stream error', retryAfter: undefined });
      }
      const chunk = record as ChatCompletionChunk;
      if (isUsage(chunk.usage)) {
        this.usage = usageFromOpenAI(chunk.usage);
      }
      if (chunk.service_tier != null) this.servedTier = tierFromOpenAI(chunk.service_tier);
      upstreamJson.set(chunk, message.data);
      for (const choice of chunk.choices ?? []) {
        const delta = choice.delta;
        if (delta?.content) {
          this.outputChars += delta.content.length;
          this.outputEvents++;
        }
        for (const call of delta?.tool_calls ?? []) {
          this.outputChars += (call.function?.arguments?.length ?? 0) + (call.function?.name?.length ?? 0);
          this.outputEvents++;
        }
      }
      chunks.push(chunk);
    }
    return chunks;
  }
}

// `satisfies` keeps the synchronous buildChatRequest visible to direct callers.
export const openaiAdapter = {
  id: 'openai',

  missingCredentials(config) {
    const { apiKey, baseUrl } = config.providers.openai;
    // A self-hosted OpenAI-compatible server may need no key; the public API always does.
    if (!apiKey && new URL(baseUrl).hostname === 'api.openai.com') {
      return 'Sluice has no OpenAI credentials: set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server).';
    }
    return undefined;
  },

  buildChatRequest(target, config) {
    const { apiKey, baseUrl, organization } = config.providers.openai;
    const body: Record<string, unknown> = { ...target.request, model: target.model.upstream_id };
    // An Anthropic or Bedrock caller's thinking, for OpenAI's reasoning models.
    const thinking = target.extras?.thinking;
    if (thinking && body.reasoning_effort == null && target.model.capabilities.reasoning) {
      body.reasoning_effort = thinking.effort ?? effortForBudget(thinking.budgetTokens ?? 0);
    }
    const promptCacheKey = target.promptCache?.openaiCacheKey(target.request);
    if (promptCacheKey) body.prompt_cache_key = promptCacheKey;
    const tier = serviceTierField(target);
    if (tier == null) delete body.service_tier;
    else body.service_tier = tier;
    if (target.stream) {
      body.stream = true;
      // Always ask for the usage chunk: it is what the ledger prices. Callers who did not ask
      // for it never see it (the OpenAI front door strips it).
      body.stream_options = { ...(target.request.stream_options ?? {}), include_usage: true };
    } else {
      delete body.stream;
      delete body.stream_options;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: target.stream ? 'text/event-stream' : 'application/json' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    if (organization) headers['openai-organization'] = organization;
    return {
      method: 'POST',
      url: `${baseUrl}/chat/completions`,
      headers,
      body: JSON.stringify(body),
      timeoutMs: target.timeoutMs,
      ...(target.signal ? { signal: target.signal } : {}),
    };
  },

  parseChatResponse(body) {
    const parsed = parseUpstreamJson(body, malformed);
    if (!isCompletion(parsed)) throw malformed('a body without choices');
    if (!isUsage(parsed.usage)) throw malformed('an answer without usage');
    return {
      completion: parsed,
      usage: usageFromOpenAI(parsed.usage),
      servedTier: tierFromOpenAI(parsed.service_tier),
      rawBody: body,
    };
  },

  createStreamDecoder() {
    return new OpenAIStreamDecoder();
  },

  parseError(status, body, headers): UpstreamFailure {
    let type = 'api_error';
    let message = body.slice(0, 500) || `HTTP ${status}`;
    try {
      const parsed = JSON.parse(body) as { error?: { message?: string; type?: string; code?: string } };
      if (parsed.error) {
        type = parsed.error.type ?? parsed.error.code ?? type;
        message = parsed.error.message ?? message;
      }
    } catch {
      // Not JSON: keep the start of the body as the message.
    }
    return { status, type, message, retryAfter: headers['retry-after'] };
  },
} satisfies ProviderAdapter;
