import { SluiceError } from '../errors';
import type { Principal } from '../keys/keys';
import { adapterFor } from '../providers';
import { TransportError, type CallerSignal, type UpstreamResponse } from '../providers/transport';
import type { ChatTarget, NativeRequest } from '../providers/types';
import { resolveRoute } from '../routing/resolve';
import type { ChatRequest } from './chat';
import { estimateTokens, promptText } from './estimate';
import { errorForFailure, transportFailure } from './handle-chat';
import type { RequestHints } from './hints';
import type { Services } from './services';

export interface CountTokensCall {
  principal: Principal;
  /** The canonical request, for routing and for the local estimate. */
  request: ChatRequest;
  /** The caller's count-tokens body. */
  native: NativeRequest;
  hints: RequestHints;
  signal: CallerSignal;
}

export interface TokenCount {
  inputTokens: number;
  /** `upstream` when the serving provider counted, `estimate` when Sluice did (about four characters a token). */
  source: 'upstream' | 'estimate';
  headers: Record<string, string>;
}

/**
 * Counts a request's input tokens for the model that would serve it: the upstream's own counter
 * when it speaks the caller's protocol and has one (Anthropic count_tokens), otherwise a local
 * estimate. Free at every provider, so it is not a ledger event.
 */
export async function countTokens(services: Services, call: CountTokensCall): Promise<TokenCount> {
  const { deps } = services;
  const decision = resolveRoute({ catalog: services.catalog.current, principal: call.principal, request: call.request, hints: call.hints });
  const headers = { 'x-sluice-model': decision.model.id, 'x-sluice-family': decision.family?.name ?? '' };
  const adapter = adapterFor(decision.model.provider);
  const counter = adapter?.passthrough?.protocol === call.native.protocol ? adapter.passthrough.countTokens : undefined;
  if (!adapter || !counter?.counts(decision.model)) {
    return { inputTokens: estimateTokens(promptText(call.request)), source: 'estimate', headers: { ...headers, 'x-sluice-token-count': 'estimate' } };
  }
  const missing = adapter.missingCredentials(deps.config);
  if (missing) throw new SluiceError('upstream_not_configured', missing);

  const target: ChatTarget = {
    request: call.request,
    model: decision.model,
    stream: false,
    tier: 'standard',
    timeoutMs: deps.config.upstreamTimeoutMs,
    signal: call.signal,
    nowMs: deps.clock.now(),
  };
  let response: UpstreamResponse;
  try {
    response = await deps.transport(await counter.buildRequest(target, call.native, deps.config));
  } catch (error) {
    if (error instanceof TransportError) throw transportFailure(error, adapter.id, target.timeoutMs);
    throw error;
  }
  const body = await response.text();
  if (response.status < 200 || response.status >= 300) throw errorForFailure(adapter.id, adapter.parseError(response.status, body, response.headers));
  return { inputTokens: readCount(body, counter.countField, adapter.id), source: 'upstream', headers: { ...headers, 'x-sluice-token-count': 'upstream' } };
}

function readCount(body: string, field: string, provider: string): number {
  let count: unknown;
  try {
    count = (JSON.parse(body) as Record<string, unknown>)[field];
  } catch {
    // Not JSON: reported below.
  }
  if (typeof count !== 'number') throw new SluiceError('upstream_error', `The ${provider} upstream answered a token count without a numeric ${field}.`);
  return count;
}
