import type { PromptCacheHook } from '../cache/prompt-caching';
import type { CatalogModel } from '../catalog/catalog';
import type { ServiceTier } from '../catalog/types';
import type { Config } from '../config';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../gateway/chat';
import type { ChatExtras } from '../gateway/extras';
import type { Usage } from '../gateway/usage';
import type { CallerSignal, UpstreamRequest } from './transport';

/** The wire protocols that are both a front door and an upstream (OpenAI's is the canonical one). */
export type NativeProtocol = 'anthropic' | 'bedrock';

/**
 * The caller's own body, as a non-OpenAI front door received it. An upstream that speaks the
 * same protocol gets it as it is (only the model replaced); any other gets the canonical request.
 */
export interface NativeRequest {
  protocol: NativeProtocol;
  body: Record<string, unknown>;
  /** Protocol headers the caller sent that a pass-through forwards (`anthropic-version`, `anthropic-beta`). */
  headers: Record<string, string>;
  /** Parts of the body the canonical request cannot carry, named for the caller (`tools[1] (web_search_20250305)`). */
  untranslatable: readonly string[];
}

/** What the pipeline asks an adapter to send: the canonical request, resolved to a model and tier. */
export interface ChatTarget {
  request: ChatRequest;
  model: CatalogModel;
  stream: boolean;
  /**
   * The tier to ask the upstream for; the upstream's answer says which one it served (the
   * adapter reports it as `servedTier`). `flex` is OpenAI's `service_tier: "flex"` and Bedrock's
   * `serviceTier: {type: "flex"}`; src/routing/flex.ts retries capacity refusals and falls back.
   */
  tier: ServiceTier;
  timeoutMs: number;
  signal?: CallerSignal;
  /** Epoch ms from the injected clock when the request is built (request signatures carry it). */
  nowMs: number;
  /** What the caller's front door knew beyond the canonical request, for adapters that can say it. */
  extras?: ChatExtras;
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
 * Turns upstream stream bytes into items for the caller (canonical chunks, or for a pass-through
 * the upstream's own bytes), keeping the usage it sees. `push()` may return several items for one
 * upstream event, or none.
 */
export interface StreamDecoder<T = ChatCompletionChunk> {
  push(bytes: Uint8Array): T[];
  end(): T[];
  /** Usage as reported by the upstream; undefined until it has been reported. */
  readonly usage: Usage | undefined;
  /** Input tokens, when the upstream reports them before the end (Anthropic's message_start). */
  readonly reportedInputTokens: number | undefined;
  readonly servedTier: ServiceTier;
  /** Output characters and content events seen so far, to estimate usage of a cut-off stream. */
  readonly outputChars: number;
  readonly outputEvents: number;
  /** An error the upstream reported in the stream and that reached the caller as it was (pass-through). */
  readonly failure?: UpstreamFailure | undefined;
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
  /** May be async: a request signature (SigV4) is computed with WebCrypto. */
  buildChatRequest(target: ChatTarget, config: Config): UpstreamRequest | Promise<UpstreamRequest>;
  /** Parses a 2xx body; throws SluiceError('upstream_error') on a body that is not the documented shape. */
  parseChatResponse(body: string, target: ChatTarget, nowMs: number): ChatResult;
  createStreamDecoder(target: ChatTarget, nowMs: number): StreamDecoder;
  parseError(status: number, body: string, headers: Record<string, string>): UpstreamFailure;
  /** Present when a front door speaks this upstream's own protocol. */
  readonly passthrough?: PassthroughAdapter;
}

/**
 * The native path, a sibling of the canonical one: the caller's body goes upstream with only the
 * model replaced (and prompt-cache breakpoints placed, unless the key turns that off), and the
 * upstream's answer (body or stream bytes) goes back untouched while the adapter's own parser and
 * stream decoder read it on the side for the ledger and the response cache.
 */
export interface PassthroughAdapter {
  readonly protocol: NativeProtocol;
  buildRequest(target: ChatTarget, native: NativeRequest, config: Config): UpstreamRequest | Promise<UpstreamRequest>;
  /** The upstream's own token counter for a native count-tokens body, where it has one. */
  readonly countTokens?: {
    /** Whether the upstream counts for this model (Bedrock's CountTokens takes Claude models only). */
    counts(model: CatalogModel): boolean;
    buildRequest(target: ChatTarget, native: NativeRequest, config: Config): UpstreamRequest | Promise<UpstreamRequest>;
    /** The field of the 2xx JSON answer that holds the count (`input_tokens`, `inputTokens`). */
    countField: string;
  };
}
