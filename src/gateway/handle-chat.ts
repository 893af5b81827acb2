import { responseCachePlan } from '../cache/policy';
import { promptCacheSession, type PromptCacheSession } from '../cache/prompt-caching';
import { CompletionAssembler, replayChunks, replayCompletion } from '../cache/replay';
import type { CachedAnswer, ResponseLookup } from '../cache/response-cache';
import type { ServiceTier } from '../catalog/types';
import { SluiceError, type ErrorCode } from '../errors';
import { attributeCacheHit, attributeCost, type CostAttribution } from '../ledger/attribution';
import { formatUsd } from '../ledger/pricing';
import type { LedgerEvent } from '../ledger/writer';
import { adapterFor } from '../providers';
import { UpstreamStreamError } from '../providers/stream-error';
import { TransportError, type UpstreamResponse } from '../providers/transport';
import type { ChatResult, ChatTarget, ProviderAdapter, StreamDecoder, UpstreamFailure } from '../providers/types';
import { resolveRoute, type RouteDecision } from '../routing/resolve';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from './chat';
import { estimateTokens, promptText } from './estimate';
import type { RequestHints } from './hints';
import type { Principal } from '../keys/keys';
import { effectivePolicy } from '../keys/policy';
import type { Services } from './services';
import { ZERO_USAGE, type Usage } from './usage';

export type Surface = 'openai' | 'anthropic' | 'bedrock';

/** One validated, authenticated chat request on its way through the pipeline. */
export interface ChatCall {
  requestId: string;
  surface: Surface;
  principal: Principal;
  request: ChatRequest;
  stream: boolean;
  hints: RequestHints;
  /** Epoch ms from the injected clock: the ledger's event time. */
  receivedAt: number;
  /** A monotonic timestamp (performance.now) for latency measurements. */
  startedHr: number;
  /** Fires when the caller goes away. */
  signal: AbortSignal;
}

export type ChatOutcome =
  | { kind: 'completion'; headers: Record<string, string>; result: ChatResult }
  | { kind: 'stream'; headers: Record<string, string>; chunks: AsyncIterable<ChatCompletionChunk> };

/** An upstream failure rendered for the caller, with the ledger already written. */
export class UpstreamError extends SluiceError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly failure: UpstreamFailure | undefined,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(code, message, options);
  }
}

type EventStatus = 'ok' | 'error' | 'aborted';

interface Attempt {
  call: ChatCall;
  decision: RouteDecision;
  adapter: ProviderAdapter;
  target: ChatTarget;
  /** The response cache's part: `miss` (the answer will be stored) or `bypass`. */
  cache: ResponseLookup;
  promptCache: PromptCacheSession | undefined;
}

/** What a ledger event and the response headers are built from. */
type Recorded = Pick<Attempt, 'call' | 'decision' | 'cache'>;

function requestedTier(request: ChatRequest): ServiceTier {
  if (request.service_tier === 'flex') return 'flex';
  if (request.service_tier === 'priority') return 'priority';
  return 'standard';
}

/** Maps an upstream failure to what the caller sees: its own mistakes keep their 4xx, ours become 5xx. */
export function errorForFailure(provider: string, failure: UpstreamFailure): UpstreamError {
  const headers: Record<string, string> = failure.retryAfter ? { 'retry-after': failure.retryAfter } : {};
  const detail = `${provider} upstream answered ${failure.status} (${failure.type}): ${failure.message}`;
  if (failure.status === 401 || failure.status === 403) {
    return new UpstreamError('upstream_auth', `${detail}. Sluice's ${provider} credentials were refused; the operator must check them.`, failure);
  }
  if (failure.status === 429) return new UpstreamError('rate_limited', `${detail}. Retry after a pause.`, failure, { headers });
  if (failure.status === 529 || failure.status === 503) {
    return new UpstreamError('upstream_overloaded', `${detail}. The provider is overloaded; retry shortly.`, failure, { headers });
  }
  if (failure.status === 408 || failure.status === 504) return new UpstreamError('upstream_timeout', detail, failure);
  // A 404 means the deployment's base URL or model id is wrong, which is not the caller's doing.
  if (failure.status >= 400 && failure.status < 500 && failure.status !== 404) {
    return new UpstreamError('invalid_request', detail, failure, { status: failure.status });
  }
  return new UpstreamError('upstream_error', detail, failure, { headers });
}

function transportFailure(error: TransportError, provider: string, timeoutMs: number): UpstreamError {
  if (error.kind === 'timeout') {
    return new UpstreamError('upstream_timeout', `The ${provider} upstream did not answer within ${timeoutMs} ms.`, undefined);
  }
  return new UpstreamError('upstream_error', `The ${provider} upstream could not be reached: ${error.message}`, undefined);
}

/**
 * The request path: resolve the model, call the upstream in the adapter's protocol, and record
 * exactly one ledger event whatever happens after this point (success, upstream error, a caller
 * who leaves mid-stream). Validation errors thrown before the upstream call write nothing.
 */
export async function handleChat(services: Services, call: ChatCall): Promise<ChatOutcome> {
  const { deps } = services;
  const decision = resolveRoute({ catalog: services.catalog.current, principal: call.principal, request: call.request, hints: call.hints });
  const adapter = adapterFor(decision.model.provider);
  if (!adapter) {
    throw new SluiceError('upstream_not_configured', `Sluice cannot call ${decision.model.provider} models yet (model "${decision.model.id}").`);
  }
  const policy = effectivePolicy(deps.config.defaultPolicy, call.principal.policy);
  const cachePlan = responseCachePlan(call.principal, policy, call.request, call.hints.cache, deps.config.cache.defaultTtlS);
  const cache = await services.cache.responses.lookup(cachePlan, decision.model.id, call.request);
  if (cache.status === 'hit') return answerFromCache(services, { call, decision, cache }, cache.answer);

  const promptCache = promptCacheSession(services.cache.promptReturns, deps.clock, call.principal, policy, decision.model);
  const target: ChatTarget = {
    request: call.request,
    model: decision.model,
    stream: call.stream,
    tier: requestedTier(call.request),
    timeoutMs: deps.config.upstreamTimeoutMs,
    signal: call.signal,
    ...(promptCache ? { promptCache } : {}),
  };
  // Building the upstream request validates the translation (bad input for this provider) before anything is recorded.
  const upstreamRequest = adapter.buildChatRequest(target, deps.config);
  const attempt: Attempt = { call, decision, adapter, target, cache, promptCache };

  const missing = adapter.missingCredentials(deps.config);
  if (missing) {
    const error = new UpstreamError('upstream_not_configured', missing, undefined);
    record(services, attempt, { status: 'error', usage: ZERO_USAGE, tier: target.tier, httpStatus: error.status, errorType: error.code });
    throw error;
  }

  services.metrics.gatewayOverhead.observe((performance.now() - call.startedHr) / 1000);
  let response: UpstreamResponse;
  try {
    response = await deps.transport(upstreamRequest);
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    const failure = error.kind === 'aborted' ? undefined : transportFailure(error, adapter.id, target.timeoutMs);
    const status: EventStatus = failure ? 'error' : 'aborted';
    record(services, attempt, { status, usage: ZERO_USAGE, tier: target.tier, httpStatus: failure?.status ?? 499, errorType: failure?.code ?? 'client_closed' });
    throw failure ?? new SluiceError('client_closed', 'The caller closed the connection before the upstream answered.');
  }

  if (response.status < 200 || response.status >= 300) {
    const body = await response.text().catch(() => '');
    const failure = adapter.parseError(response.status, body, response.headers);
    const error = errorForFailure(adapter.id, failure);
    services.metrics.upstreamErrors.inc({ provider: adapter.id, type: failure.type });
    record(services, attempt, { status: 'error', usage: ZERO_USAGE, tier: target.tier, httpStatus: error.status, errorType: failure.type });
    throw error;
  }

  if (!call.stream) return completeJson(services, attempt, response);
  return startStream(services, attempt, response);
}

async function completeJson(services: Services, attempt: Attempt, response: UpstreamResponse): Promise<ChatOutcome> {
  let result: ChatResult;
  try {
    result = attempt.adapter.parseChatResponse(await response.text(), attempt.target, services.deps.clock.now());
  } catch (error) {
    const status = error instanceof SluiceError ? error.status : 502;
    record(services, attempt, { status: 'error', usage: ZERO_USAGE, tier: attempt.target.tier, httpStatus: status, errorType: 'upstream_error' });
    throw error instanceof SluiceError ? error : new SluiceError('upstream_error', `The upstream answer could not be read: ${(error as Error).message}`);
  }
  const event = record(services, attempt, { status: 'ok', usage: result.usage, tier: result.servedTier, httpStatus: 200 });
  afterAnswer(services, attempt, { completion: result.completion, usage: result.usage, tier: result.servedTier }, event);
  const headers = sluiceHeaders(attempt, result.servedTier);
  headers['x-sluice-cost-usd'] = formatUsd(event.costNusd);
  headers['x-sluice-baseline-usd'] = formatUsd(event.baselineCostNusd);
  return { kind: 'completion', headers, result };
}

/** Races one read of the upstream body against the stream idle timeout. */
function nextWithin<T>(iterator: AsyncIterator<T>, ms: number): Promise<IteratorResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError('timeout', `the upstream stream was silent for ${ms} ms`)), ms);
  });
  return Promise.race([iterator.next(), timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/**
 * Reads the upstream stream through the adapter's decoder. The first chunk is read before the
 * answer starts, so the headers carry the tier the upstream says it served and an immediate
 * upstream error is still answered with a proper status.
 */
async function startStream(services: Services, attempt: Attempt, response: UpstreamResponse): Promise<ChatOutcome> {
  const { deps } = services;
  const decoder = attempt.adapter.createStreamDecoder(attempt.target, deps.clock.now());
  const assembler = attempt.cache.status === 'miss' ? new CompletionAssembler() : undefined;
  const upstream = response.body[Symbol.asyncIterator]();
  const text = new TextDecoder();
  let pending: ChatCompletionChunk[] = [];
  let upstreamDone = false;
  let finished = false;
  let ttftMs: number | null = null;

  const finish = (status: EventStatus, httpStatus: number, errorType?: string): void => {
    if (finished) return;
    finished = true;
    if (!upstreamDone) response.abort();
    const usage = decoder.usage ?? estimateUsage(attempt.call.request, decoder);
    const event = record(services, attempt, {
      status,
      usage,
      tier: decoder.servedTier,
      httpStatus,
      ...(errorType === undefined ? {} : { errorType }),
      ttftMs,
      estimated: decoder.usage === undefined,
    });
    if (status === 'ok' && decoder.usage) afterAnswer(services, attempt, { completion: assembler?.result(), usage: decoder.usage, tier: decoder.servedTier }, event);
  };

  /** Fills `pending` with the next decoded chunks; false when the upstream has ended. */
  const fill = async (): Promise<boolean> => {
    while (pending.length === 0) {
      if (upstreamDone) return false;
      const next = await nextWithin(upstream, deps.config.streamIdleTimeoutMs);
      if (next.done) {
        upstreamDone = true;
        pending = decoder.end();
      } else {
        pending = decoder.push(text.decode(next.value, { stream: true }));
      }
    }
    if (ttftMs === null) ttftMs = Math.round(performance.now() - attempt.call.startedHr);
    return true;
  };

  const failureFor = (error: unknown): SluiceError => {
    if (error instanceof UpstreamStreamError) return errorForFailure(attempt.adapter.id, error.failure);
    if (error instanceof TransportError) return transportFailure(error, attempt.adapter.id, deps.config.streamIdleTimeoutMs);
    if (error instanceof SluiceError) return error;
    return new SluiceError('upstream_error', `The ${attempt.adapter.id} stream broke off: ${(error as Error).message}`);
  };

  try {
    await fill();
  } catch (error) {
    const failure = failureFor(error);
    finish('error', failure.status, failure.code);
    throw failure;
  }

  async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
    let status: EventStatus = 'aborted';
    let httpStatus = 499;
    let errorType: string | undefined = 'client_closed';
    try {
      for (;;) {
        if (!(await fill())) break;
        const batch = pending;
        pending = [];
        for (const chunk of batch) {
          assembler?.push(chunk);
          yield chunk;
        }
      }
      status = 'ok';
      httpStatus = 200;
      errorType = undefined;
    } catch (error) {
      const failure = failureFor(error);
      status = attempt.call.signal.aborted ? 'aborted' : 'error';
      httpStatus = status === 'aborted' ? 499 : failure.status;
      errorType = status === 'aborted' ? 'client_closed' : failure.code;
      if (status === 'error') throw failure;
    } finally {
      // Runs on completion, on error, and when the caller stops reading (the generator is returned).
      finish(status, httpStatus, errorType);
    }
  }

  const headers = sluiceHeaders(attempt, decoder.servedTier);
  return { kind: 'stream', headers, chunks: chunks() };
}

/** Counts tokens locally when the upstream never reported usage (a stream cut off early). */
function estimateUsage(request: ChatRequest, decoder: StreamDecoder): Usage {
  return {
    ...ZERO_USAGE,
    inputTokens: decoder.reportedInputTokens ?? estimateTokens(promptText(request)),
    outputTokens: Math.max(decoder.outputEvents, Math.ceil(decoder.outputChars / 4)),
  };
}

/** After a successful answer: prompt caching learns from the usage; a cache miss stores the answer. */
function afterAnswer(services: Services, attempt: Attempt, answer: { completion: ChatCompletion | undefined; usage: Usage; tier: ServiceTier }, event: CostAttribution): void {
  attempt.promptCache?.settle(answer.usage);
  const { completion, tier } = answer;
  if (attempt.cache.status === 'miss' && completion) services.cache.responses.store(attempt.cache, completion, tier, event);
}

/** A stored answer, served without calling the upstream: zero cost, replayed in the caller's mode. */
function answerFromCache(services: Services, recorded: Recorded & { cache: { status: 'hit' } }, answer: CachedAnswer): ChatOutcome {
  const { call } = recorded;
  const event = record(services, recorded, {
    status: 'ok',
    usage: ZERO_USAGE,
    tier: answer.tier,
    httpStatus: 200,
    ttftMs: call.stream ? Math.round(performance.now() - call.startedHr) : null,
    attribution: attributeCacheHit(answer.fill),
  });
  const headers = sluiceHeaders(recorded, answer.tier);
  headers['x-sluice-cost-usd'] = formatUsd(event.costNusd);
  headers['x-sluice-baseline-usd'] = formatUsd(event.baselineCostNusd);
  headers['x-sluice-cache-saved-usd'] = formatUsd(answer.fill.costNusd);
  const identity = { id: `chatcmpl-${call.requestId.slice(4)}`, created: Math.floor(call.receivedAt / 1000) };
  if (!call.stream) {
    return { kind: 'completion', headers, result: { completion: replayCompletion(answer.completion, identity), usage: ZERO_USAGE, servedTier: answer.tier } };
  }
  async function* replay(): AsyncGenerator<ChatCompletionChunk> {
    yield* replayChunks(answer.completion, identity);
  }
  return { kind: 'stream', headers, chunks: replay() };
}

function sluiceHeaders(attempt: Recorded, servedTier: ServiceTier): Record<string, string> {
  const { call, decision } = attempt;
  return {
    'x-sluice-request-id': call.requestId,
    'x-sluice-model': decision.model.id,
    'x-sluice-family': decision.family?.name ?? '',
    'x-sluice-tier': servedTier,
    'x-sluice-cache': attempt.cache.status,
    'x-sluice-complexity': decision.complexity === null ? '' : decision.complexity.toFixed(3),
    'x-sluice-route-reason': decision.reason,
  };
}

interface RecordInput {
  status: EventStatus;
  usage: Usage;
  tier: ServiceTier;
  httpStatus: number;
  errorType?: string;
  ttftMs?: number | null;
  estimated?: boolean;
  /** Overrides pricing the usage (a cache hit costs nothing). */
  attribution?: CostAttribution;
}

/** Builds the request's one ledger event, hands it to the buffered writer, and updates metrics. */
function record(services: Services, attempt: Recorded, input: RecordInput): LedgerEvent {
  const { call, decision } = attempt;
  const cost = input.attribution ?? attributeCost(decision.model, decision.baseline, input.tier, input.usage);
  const latencyMs = Math.round(performance.now() - call.startedHr);
  const event: LedgerEvent = {
    id: `evt_${call.requestId.slice(4)}`,
    time: call.receivedAt,
    requestId: call.requestId,
    keyId: call.principal.keyId,
    user: call.principal.user,
    team: call.principal.team,
    project: call.principal.project,
    // The key's tags win over request detail tags: attribution cannot be forged.
    tags: JSON.stringify({ ...call.hints.tags, ...(call.request.user ? { end_user: call.request.user } : {}), ...call.principal.tags }),
    surface: call.surface,
    requestedModel: decision.requestedModel,
    servedModel: decision.model.id,
    provider: decision.model.provider,
    family: decision.family?.name ?? null,
    tier: input.tier,
    stream: call.stream,
    inputTokens: input.usage.inputTokens,
    cachedInputTokens: input.usage.cachedInputTokens,
    cacheWriteTokens: input.usage.cacheWriteTokens,
    cacheWrite1hTokens: input.usage.cacheWrite1hTokens,
    outputTokens: input.usage.outputTokens,
    reasoningTokens: input.usage.reasoningTokens,
    ...cost,
    cache: attempt.cache.status,
    complexity: decision.complexity,
    scorerVersion: decision.scorerVersion,
    routeReason: decision.reason,
    latencyMs,
    ttftMs: input.ttftMs ?? null,
    status: input.status,
    httpStatus: input.httpStatus,
    errorType: input.errorType ?? null,
    usageEstimated: input.estimated ?? false,
  };
  services.ledger.add(event);
  const m = services.metrics;
  const model = decision.model.id;
  m.requests.inc({ surface: call.surface, provider: decision.model.provider, model, tier: input.tier, status: input.status });
  m.requestDuration.observe(latencyMs / 1000, { surface: call.surface, stream: String(call.stream) });
  if (input.ttftMs != null) m.timeToFirstToken.observe(input.ttftMs / 1000, { provider: decision.model.provider });
  const u = input.usage;
  if (u.inputTokens) m.tokens.inc({ model, class: 'input' }, u.inputTokens);
  if (u.cachedInputTokens) m.tokens.inc({ model, class: 'cached_input' }, u.cachedInputTokens);
  if (u.cacheWriteTokens) m.tokens.inc({ model, class: 'cache_write' }, u.cacheWriteTokens);
  if (u.outputTokens) m.tokens.inc({ model, class: 'output' }, u.outputTokens);
  if (event.costNusd) m.cost.inc({ model }, event.costNusd);
  if (event.baselineCostNusd) m.baselineCost.inc({ model }, event.baselineCostNusd);
  return event;
}
