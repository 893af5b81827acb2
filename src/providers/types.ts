import type { PromptCacheHook } from '../cache/prompt-caching';
import type { CatalogModel } from '../catalog/catalog';
import type { ServiceTier } from '../catalog/types';
import type { Config } from '../config';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../gateway/chat';
import type { Usage } from '../gateway/usage';
import type { UpstreamRequest } from './transport';

/** What the pipeline asks an adapter to send: the canonical request, resolved to a model and tier. */
export interface ChatTarget {
  request: ChatRequest;
  model: CatalogModel;
  stream: boolean;
  /** The tier to ask the upstream for; the upstream's answer says which one it served. */
  tier: ServiceTier;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Provider prompt caching to apply while building the body; absent, the prompt goes as the caller sent it. */
  promptCache?: PromptCacheHook;
}

export interface ChatResult {
  completion: ChatCompletion;
  usage: Usage;
  servedTier: ServiceTier;
  /** The upstream body as received, when it already is the canonical shape (no re-serialization). */
  rawBody?: string;
}

/**
 * Turns upstream stream bytes into canonical chunks, keeping the usage it sees. `chunks()` may
 * return several chunks for one upstream event, or none.
 */
export interface StreamDecoder {
  push(text: string): ChatCompletionChunk[];
  end(): ChatCompletionChunk[];
  /** Usage as reported by the upstream; undefined until it has been reported. */
  readonly usage: Usage | undefined;
  /** Input tokens, when the upstream reports them before the end (Anthropic's message_start). */
  readonly reportedInputTokens: number | undefined;
  readonly servedTier: ServiceTier;
  /** Output characters and content events seen so far, to estimate usage of a cut-off stream. */
  readonly outputChars: number;
  readonly outputEvents: number;
}

export interface UpstreamFailure {
  /** The status the upstream answered with. */
  status: number;
  /** The provider's error type, e.g. `rate_limit_error`, `invalid_request_error`. */
  type: string;
  message: string;
  /** Seconds to wait, from the upstream's retry-after header. */
  retryAfter: string | undefined;
}

export interface ProviderAdapter {
  readonly id: CatalogModel['provider'];
  /** Whether this deployment has what it needs to call the provider; otherwise the reason. */
  missingCredentials(config: Config): string | undefined;
  buildChatRequest(target: ChatTarget, config: Config): UpstreamRequest;
  /** Parses a 2xx body; throws SluiceError('upstream_error') on a body that is not the documented shape. */
  parseChatResponse(body: string, target: ChatTarget, nowMs: number): ChatResult;
  createStreamDecoder(target: ChatTarget, nowMs: number): StreamDecoder;
  parseError(status: number, body: string, headers: Record<string, string>): UpstreamFailure;
}
