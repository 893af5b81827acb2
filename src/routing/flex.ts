import type { TierConfig } from '../config';
import type { Deps } from '../deps';
import type { CallerSignal, UpstreamRequest, UpstreamResponse } from '../providers/transport';
import { TransportError } from '../providers/transport';
import type { ChatTarget, ProviderAdapter, UpstreamFailure } from '../providers/types';
import type { TierDecision, TierReason } from './tier';

/**
 * Sends a chat request at its chosen tier. A flex request refused for lack of capacity is
 * retried with exponential backoff; after the retries it is sent once at standard when the key's
 * policy allows (`flex_fallback`, default true), or the refusal is passed on. Every other answer
 * is returned as it came, for the pipeline to handle.
 */

/** Where a tiered call stands; updated as it goes, so a call that throws still reports its attempts. */
export interface TierProgress {
  /** The target of the latest attempt (standard after a fallback). */
  target: ChatTarget;
  /** Upstream calls made so far, retries and fallback included. */
  attempts: number;
  tierReason: TierReason;
}

/**
 * Whether an upstream refusal means "flex has no capacity now" rather than a problem with the
 * request. OpenAI answers 429 with `resource_unavailable` (a plain rate limit is
 * `rate_limit_exceeded` and is not retried here: standard shares those limits). Bedrock's flex
 * tier throttles with ThrottlingException (429) or ServiceUnavailableException (503).
 */
export function isFlexCapacityFailure(provider: ProviderAdapter['id'], failure: UpstreamFailure): boolean {
  switch (provider) {
    case 'openai':
      return failure.status === 429 && (/resource.?unavailable/i.test(failure.type) || /^resource unavailable/i.test(failure.message));
    case 'bedrock':
      return failure.status === 429 || failure.status === 503;
    case 'anthropic':
      return false;
  }
}

/** The backoff before retry number `retry` (1-based): doubling from the base, capped, with ±25% jitter. */
export function flexBackoffMs(config: TierConfig, retry: number, retryAfter: string | undefined, random: number): number {
  const exponential = Math.min(config.flexBackoffMaxMs, config.flexBackoffMs * 2 ** (retry - 1));
  const jittered = Math.round(exponential * (0.75 + random * 0.5));
  // The upstream's own hint wins when it asks for longer, within the same cap.
  const hinted = retryAfter === undefined ? 0 : Math.min(config.flexBackoffMaxMs, Number(retryAfter) * 1000 || 0);
  return Math.max(jittered, hinted);
}

function randomFraction(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
}

function pause(ms: number, signal: CallerSignal | undefined): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new TransportError('aborted', 'request aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new TransportError('aborted', 'request aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A response whose body has been read, replayable for the pipeline's own error handling. */
function replay(response: UpstreamResponse, body: string): UpstreamResponse {
  const bytes = new TextEncoder().encode(body);
  return {
    status: response.status,
    headers: response.headers,
    body: (async function* () {
      yield bytes;
    })(),
    text: () => Promise.resolve(body),
    abort: () => {},
  };
}

/**
 * Calls the upstream for `progress.target` (its first request already built, which validated
 * it) and returns the answer to handle. Transport errors propagate as the transport threw them.
 */
export async function sendAtTier(
  deps: Pick<Deps, 'transport' | 'config'>,
  adapter: ProviderAdapter,
  tier: Pick<TierDecision, 'flexFallback'>,
  first: UpstreamRequest,
  progress: TierProgress,
  /** Builds the fallback's request (a pass-through builds from the caller's own body). */
  build: (target: ChatTarget) => UpstreamRequest | Promise<UpstreamRequest> = (target) => adapter.buildChatRequest(target, deps.config),
): Promise<UpstreamResponse> {
  const target = progress.target;
  progress.attempts++;
  let response = await deps.transport(first);
  if (target.tier !== 'flex') return response;

  const config = deps.config.tiers;
  for (let retry = 1; ; retry++) {
    if (response.status >= 200 && response.status < 300) return response;
    const body = await response.text().catch(() => '');
    const failure = adapter.parseError(response.status, body, response.headers);
    if (!isFlexCapacityFailure(adapter.id, failure)) return replay(response, body);
    if (retry > config.flexRetries) {
      if (!tier.flexFallback) return replay(response, body);
      // A deadline that capped the flex timeout caps the fallback's too.
      const standard: ChatTarget = { ...target, tier: 'standard', timeoutMs: Math.min(deps.config.upstreamTimeoutMs, target.timeoutMs) };
      progress.target = standard;
      progress.tierReason = 'flex_fallback';
      progress.attempts++;
      return deps.transport(await build(standard));
    }
    await pause(flexBackoffMs(config, retry, failure.retryAfter, randomFraction()), target.signal);
    progress.attempts++;
    response = await deps.transport(first);
  }
}
