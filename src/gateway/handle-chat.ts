import type { Admission } from '../budgets/enforcer';
import { responseCachePlan } from '../cache/policy';
import { promptCacheSession, type PromptCacheSession } from '../cache/prompt-caching';
import { CompletionAssembler, replayChunks, replayCompletion } from '../cache/replay';
import type { CachedAnswer, ResponseLookup } from '../cache/response-cache';
import type { ServiceTier } from '../catalog/types';
import type { Config } from '../config';
import { SluiceError, type ErrorCode } from '../errors';
import { attributeCacheHit, attributeCost, usageColumns, type CostAttribution } from '../ledger/attribution';
import { formatUsd, priceUsage } from '../ledger/pricing';
import type { LedgerEvent } from '../ledger/writer';
import { adapterFor } from '../providers';
import { UpstreamStreamError } from '../providers/stream-error';
import { TransportError, type CallerSignal, type UpstreamRequest, type UpstreamResponse } from '../providers/transport';
import { StreamTap } from '../providers/stream-tap';
import type { ChatResult, ChatTarget, NativeRequest, PassthroughAdapter, ProviderAdapter, StreamDecoder, UpstreamFailure } from '../providers/types';
import { enqueueDeferred, type DeferredView } from '../batch/queue';
import { sendAtTier } from '../routing/flex';
import { resolveRoute, type RouteDecision } from '../routing/resolve';
import { chooseTier, type TierDecision, type TierReason } from '../routing/tier';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from './chat';
import { estimateTokens, promptText } from './estimate';
import type { ChatExtras } from './extras';
import { IdleReader } from './idle-read';
import { completeStream, itemsOf, type ItemStream } from './item-stream';
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
  signal: CallerSignal;
  /** The caller's own body, from a front door that does not speak OpenAI (see NativeRequest). */
  native?: NativeRequest;
  /** What that front door knew beyond the canonical request. */
  extras?: ChatExtras;
}

/**
 * A whole (not streamed) answer: its headers, cost included, and its bookkeeping. The front door
 * calls `record` once, right after writing the answer (src/http/raw.ts sendJson), so building the
 * ledger event, settling the budget and updating the metrics do not stand between the upstream's
 * answer and the caller's. Nothing else runs on the thread in between, so no other request sees
 * the gateway before the answer is recorded.
 */
export interface WholeAnswer {
  headers: Record<string, string>;
  /** Writes the request's one ledger event, settles its budget reservation, lets the caches learn. */
  record(): void;
}

export type ChatOutcome =
  | ({ kind: 'completion'; result: ChatResult } & WholeAnswer)
  | {
      kind: 'stream';
      headers: Record<string, string>;
      chunks: ItemStream<ChatCompletionChunk>;
      /** The upstream's usage once reported (exact, unlike the OpenAI-shaped usage chunk, for cache writes). */
      usage(): Usage | undefined;
    }
  /** Queued for the batch tier: answer 202 with the view; the ledger row is written at completion. */
  | { kind: 'deferred'; headers: Record<string, string>; deferred: DeferredView };

/** The answer of a pass-through (caller and upstream speak the same protocol): the upstream's own. */
export type PassthroughOutcome =
  | ({ kind: 'native-completion'; body: string } & WholeAnswer)
  | { kind: 'native-stream'; headers: Record<string, string>; bytes: ItemStream<Uint8Array> };

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

type EventStatus = 'ok' | 'error' | 'aborted' | 'blocked';

interface Attempt {
  call: ChatCall;
  decision: RouteDecision;
  adapter: ProviderAdapter;
  target: ChatTarget;
  /** The response cache's part: `miss` (the answer will be stored) or `bypass`. */
  cache: ResponseLookup;
  promptCache: PromptCacheSession | undefined;
  /** Collects a streamed answer for the response cache (a miss that may be stored). */
  assembler: CompletionAssembler | undefined;
  /** Why the tier asked for is the one it is. */
  tierReason: TierReason;
  /** Upstream calls made (flex retries and fallback included). */
  attempts: number;
  admission: Admission;
}

/** What a ledger event and the response headers are built from (no tier reason when no upstream was asked). */
type Recorded = Pick<Attempt, 'call' | 'decision' | 'cache' | 'attempts' | 'admission'> & { tierReason: TierReason | null };

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

export function transportFailure(error: TransportError, provider: string, timeoutMs: number): UpstreamError {
  if (error.kind === 'timeout') {
    return new UpstreamError('upstream_timeout', `The ${provider} upstream did not answer within ${timeoutMs} ms.`, undefined);
  }
  return new UpstreamError('upstream_error', `The ${provider} upstream could not be reached: ${error.message}`, undefined);
}

/**
 * What the response cache keys on. A native caller's whole body counts too (but for how the answer
 * is delivered): fields the canonical request cannot say (top_k, thinking, ...) may change the answer.
 */
function cacheKeyRequest(call: ChatCall): ChatRequest {
  if (!call.native) return call.request;
  const { stream: _delivery, ...body } = call.native.body;
  return { ...call.request, native: body };
}

/** The upstream takes the caller's body as is when it speaks the caller's protocol. */
function passthroughFor(adapter: ProviderAdapter, native: NativeRequest | undefined): PassthroughAdapter | undefined {
  return native && adapter.passthrough?.protocol === native.protocol ? adapter.passthrough : undefined;
}

/** A translated request must not silently lose what the caller asked for. */
function checkTranslatable(native: NativeRequest | undefined, provider: string, model: string): void {
  if (!native || native.untranslatable.length === 0) return;
  throw new SluiceError(
    'invalid_request',
    `${native.untranslatable.join('; ')}: not supported when "${model}" is served by a ${provider} model. Remove ${native.untranslatable.length > 1 ? 'them' : 'it'}, or ask for a model that speaks this API natively.`,
  );
}

/**
 * The tier to ask for once the budgets have spoken. A tier a budget chose (flex at the bottom of
 * the downgrade ladder, or standard where a cheaper model does not sell the asked tier) has no
 * fallback: standard after flex would cost up to twice what the budget reserved.
 */
function budgetTier(asked: TierDecision, admission: Admission, config: Config): TierDecision {
  if (admission.tier === asked.tier) return asked;
  const timeoutMs = admission.tier === 'flex' ? config.tiers.flexTimeoutMs : config.upstreamTimeoutMs;
  return { tier: admission.tier, reason: 'budget', flexFallback: false, timeoutMs };
}

/**
 * The request path: resolve the model, call the upstream in the adapter's protocol, and record
 * exactly one ledger event whatever happens after this point (success, upstream error, a caller
 * who leaves mid-stream). Validation errors thrown before the upstream call write nothing.
 * A call with a native body may come back as the upstream's own answer (PassthroughOutcome).
 */
export function handleChat(services: Services, call: ChatCall & { native: NativeRequest }): Promise<ChatOutcome | PassthroughOutcome>;
export function handleChat(services: Services, call: ChatCall): Promise<ChatOutcome>;
export async function handleChat(services: Services, call: ChatCall): Promise<ChatOutcome | PassthroughOutcome> {
  const { deps } = services;
  const policy = effectivePolicy(deps.config.defaultPolicy, call.principal.policy);
  const routed = resolveRoute({
    catalog: services.catalog.current,
    principal: call.principal,
    request: call.request,
    hints: call.hints,
    policy,
    conversations: { memory: services.conversations, now: deps.clock.now() },
  });
  // The tier first: a request contradicting itself (batch on a stream, ...) is refused before anything else.
  const asked = chooseTier({
    policy,
    hint: call.hints.tier,
    deadlineS: call.hints.deadlineS,
    serviceTier: call.request.service_tier,
    model: routed.model,
    stream: call.stream,
    timeouts: { standardMs: deps.config.upstreamTimeoutMs, flexMs: deps.config.tiers.flexTimeoutMs },
  });
  // Budgets (src/budgets) may refuse the request or step it down to the response cache, a cheaper
  // model or flex; the worst-case cost stays reserved until record() settles it (release() if we
  // throw or defer before that).
  const admission = services.budgets.admit(call, routed, asked.tier);
  const { decision } = admission;
  const tier = budgetTier(asked, admission, deps.config);
  const adapter = adapterFor(decision.model.provider);
  if (!adapter) {
    admission.release();
    throw new SluiceError('upstream_not_configured', `Sluice cannot call ${decision.model.provider} models yet (model "${decision.model.id}").`);
  }
  const cachePlan = responseCachePlan(call.principal, policy, call.request, call.hints.cache ?? admission.cacheHint, deps.config.cache.defaultTtlS);
  const cache = await services.cache.responses.lookup(cachePlan, decision.model.id, cacheKeyRequest(call));
  if (cache.status === 'hit') return answerFromCache(services, { call, decision, cache, tierReason: null, attempts: 0, admission }, cache.answer);

  const promptCache = promptCacheSession(services.cache.promptReturns, deps.clock, call.principal, policy, decision.model);
  const target: ChatTarget = {
    request: call.request,
    model: decision.model,
    stream: call.stream,
    tier: tier.tier,
    timeoutMs: tier.timeoutMs,
    signal: call.signal,
    nowMs: deps.clock.now(),
    ...(call.extras ? { extras: call.extras } : {}),
    ...(promptCache ? { promptCache } : {}),
  };
  const passthrough = passthroughFor(adapter, call.native);
  // Building the upstream request validates the translation (bad input for this provider) before anything is recorded.
  const build = (t: ChatTarget): UpstreamRequest | Promise<UpstreamRequest> =>
    passthrough && call.native ? passthrough.buildRequest(t, call.native, deps.config) : adapter.buildChatRequest(t, deps.config);
  let upstreamRequest: UpstreamRequest;
  try {
    // A translated request must carry all the caller asked for; the batch path always translates.
    if (!passthrough || tier.tier === 'batch') checkTranslatable(call.native, adapter.id, call.request.model);
    upstreamRequest = await build(target);
  } catch (error) {
    admission.release();
    throw error;
  }
  // A streamed answer that may be stored is assembled from its chunks as they pass.
  const assembler = cache.status === 'miss' && call.stream ? new CompletionAssembler() : undefined;
  const attempt: Attempt = { call, decision, adapter, target, cache, promptCache, assembler, tierReason: tier.reason, attempts: 0, admission };
  if (admission.refusal) {
    record(services, attempt, { status: 'blocked', usage: ZERO_USAGE, tier: target.tier, httpStatus: admission.refusal.status, errorType: admission.refusal.code });
    throw admission.refusal;
  }

  const missing = adapter.missingCredentials(deps.config);
  if (missing) {
    const error = new UpstreamError('upstream_not_configured', missing, undefined);
    record(services, attempt, { status: 'error', usage: ZERO_USAGE, tier: target.tier, httpStatus: error.status, errorType: error.code });
    throw error;
  }

  if (tier.tier === 'batch') {
    // Its ledger row comes when the batch completes (and is counted then); nothing stays reserved.
    admission.release();
    const deferred = await enqueueDeferred(services, { call, decision, tierReason: tier.reason, tags: eventTags(call) });
    return { kind: 'deferred', headers: sluiceHeaders(attempt, 'batch'), deferred };
  }

  services.metrics.gatewayOverhead.observe((performance.now() - call.startedHr) / 1000);
  let response: UpstreamResponse;
  try {
    response = await sendAtTier(deps, adapter, tier, upstreamRequest, attempt, build);
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    const failure = error.kind === 'aborted' ? undefined : transportFailure(error, adapter.id, attempt.target.timeoutMs);
    const status: EventStatus = failure ? 'error' : 'aborted';
    record(services, attempt, { status, usage: ZERO_USAGE, tier: attempt.target.tier, httpStatus: failure?.status ?? 499, errorType: failure?.code ?? 'client_closed' });
    throw failure ?? new SluiceError('client_closed', 'The caller closed the connection before the upstream answered.');
  }

  if (response.status < 200 || response.status >= 300) {
    const body = await response.text().catch(() => '');
    const failure = adapter.parseError(response.status, body, response.headers);
    const error = errorForFailure(adapter.id, failure);
    services.metrics.upstreamErrors.inc({ provider: adapter.id, type: failure.type });
    record(services, attempt, { status: 'error', usage: ZERO_USAGE, tier: attempt.target.tier, httpStatus: error.status, errorType: failure.type });
    throw error;
  }

  if (!call.stream) return passthrough ? completeNative(services, attempt, response) : completeJson(services, attempt, response);
  const decoder = adapter.createStreamDecoder(target, deps.clock.now());
  if (passthrough) {
    // The upstream's own bytes go to the caller; its decoder reads them on the side.
    const { headers, items } = await startStream(services, attempt, response, new StreamTap(decoder, assembler), undefined);
    return { kind: 'native-stream', headers, bytes: items };
  }
  const { headers, items } = await startStream(services, attempt, response, decoder, assembler && ((chunk) => assembler.push(chunk)));
  return { kind: 'stream', headers, chunks: items, usage: () => decoder.usage };
}

/** Reads a whole upstream answer; a body that cannot be read is recorded as an error. */
async function readAnswer<T>(services: Services, attempt: Attempt, response: UpstreamResponse, read: (body: string) => T): Promise<T> {
  try {
    return read(await response.text());
  } catch (error) {
    const status = error instanceof SluiceError ? error.status : 502;
    record(services, attempt, { status: 'error', usage: ZERO_USAGE, tier: attempt.target.tier, httpStatus: status, errorType: 'upstream_error' });
    throw error instanceof SluiceError ? error : new SluiceError('upstream_error', `The upstream answer could not be read: ${(error as Error).message}`);
  }
}

/** A completed answer's headers, priced, and what records it and lets the caches learn from it. */
function wholeAnswer(services: Services, attempt: Attempt, result: ChatResult): WholeAnswer {
  const { usage, servedTier: tier } = result;
  const attribution = attributeCost(attempt.decision.model, attempt.decision.baseline, tier, usage);
  const headers = sluiceHeaders(attempt, tier);
  headers['x-sluice-cost-usd'] = formatUsd(attribution.costNusd);
  headers['x-sluice-baseline-usd'] = formatUsd(attribution.baselineCostNusd);
  return {
    headers,
    record() {
      const event = record(services, attempt, { status: 'ok', usage, tier, httpStatus: 200, attribution });
      afterAnswer(services, attempt, { completion: result.completion, usage, tier }, event);
    },
  };
}

function parseAnswer(services: Services, attempt: Attempt, body: string): ChatResult {
  return attempt.adapter.parseChatResponse(body, attempt.target, services.deps.clock.now());
}

async function completeJson(services: Services, attempt: Attempt, response: UpstreamResponse): Promise<ChatOutcome> {
  const result = await readAnswer(services, attempt, response, (body) => parseAnswer(services, attempt, body));
  return { kind: 'completion', ...wholeAnswer(services, attempt, result), result };
}

/** A pass-through answer goes back as the upstream wrote it; its canonical reading prices and caches it. */
async function completeNative(services: Services, attempt: Attempt, response: UpstreamResponse): Promise<PassthroughOutcome> {
  const { body, result } = await readAnswer(services, attempt, response, (text) => ({ body: text, result: parseAnswer(services, attempt, text) }));
  return { kind: 'native-completion', ...wholeAnswer(services, attempt, result), body };
}

/**
 * Reads the upstream stream through the adapter's decoder. The first chunk is read before the
 * answer starts, so the headers carry the tier the upstream says it served and an immediate
 * upstream error is still answered with a proper status.
 */
async function startStream<T>(
  services: Services,
  attempt: Attempt,
  response: UpstreamResponse,
  decoder: StreamDecoder<T>,
  collect: ((item: T) => void) | undefined,
): Promise<{ headers: Record<string, string>; items: ItemStream<T> }> {
  const { deps } = services;
  const upstream = new IdleReader(response.body[Symbol.asyncIterator](), deps.config.streamIdleTimeoutMs);
  let pending: T[] = [];
  let upstreamDone = false;
  let finished = false;
  let ttftMs: number | null = null;

  const finish = (status: EventStatus, httpStatus: number, errorType?: string): void => {
    if (finished) return;
    finished = true;
    upstream.stop();
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
    if (status === 'ok' && decoder.usage) afterAnswer(services, attempt, { completion: attempt.assembler?.result(), usage: decoder.usage, tier: decoder.servedTier }, event);
  };

  /** Fills `pending` with the next decoded chunks; false when the upstream has ended. */
  const fill = async (): Promise<boolean> => {
    while (pending.length === 0) {
      if (upstreamDone) return false;
      const next = await upstream.next();
      if (next.done) {
        upstreamDone = true;
        pending = decoder.end();
      } else {
        pending = decoder.push(next.value);
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

  /** The next batch of decoded items; the request is recorded when the stream ends, fails or is cancelled. */
  const nextBatch = async (): Promise<readonly T[] | undefined> => {
    if (finished) return undefined;
    try {
      if (!(await fill())) {
        // A pass-through hands an in-band upstream error to the caller as it came; it is still an error.
        const inBand = decoder.failure;
        if (inBand) finish('error', errorForFailure(attempt.adapter.id, inBand).status, inBand.type);
        else finish('ok', 200);
        return undefined;
      }
      const cut = attempt.admission.cutStream(decoder.outputChars);
      if (cut) throw cut;
      const batch = pending;
      pending = [];
      if (collect) for (const item of batch) collect(item);
      return batch;
    } catch (error) {
      const failure = failureFor(error);
      const status: EventStatus = attempt.call.signal.aborted ? 'aborted' : failure.code === 'budget_exceeded' ? 'blocked' : 'error';
      finish(status, status === 'aborted' ? 499 : failure.status, status === 'aborted' ? 'client_closed' : failure.code);
      if (status !== 'aborted') throw failure;
      return undefined;
    }
  };
  // A caller who stops reading (the writer cancels, or an item loop is left early).
  const cancel = (): void => finish('aborted', 499, 'client_closed');
  const items: ItemStream<T> = { nextBatch, cancel, [Symbol.asyncIterator]: () => itemsOf({ nextBatch, cancel }) };

  return { headers: sluiceHeaders(attempt, decoder.servedTier), items };
}

/** Counts tokens locally when the upstream never reported usage (a stream cut off early). */
function estimateUsage(request: ChatRequest, decoder: StreamDecoder<unknown>): Usage {
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
  const attribution = attributeCacheHit(answer.fill);
  const headers = sluiceHeaders(recorded, answer.tier);
  headers['x-sluice-cost-usd'] = formatUsd(attribution.costNusd);
  headers['x-sluice-baseline-usd'] = formatUsd(attribution.baselineCostNusd);
  headers['x-sluice-cache-saved-usd'] = formatUsd(answer.fill.costNusd);
  const recordHit = (ttftMs: number | null): void => void record(services, recorded, { status: 'ok', usage: ZERO_USAGE, tier: answer.tier, httpStatus: 200, ttftMs, attribution });
  const identity = { id: `chatcmpl-${call.requestId.slice(4)}`, created: Math.floor(call.receivedAt / 1000) };
  if (!call.stream) {
    const result = { completion: replayCompletion(answer.completion, identity), usage: ZERO_USAGE, servedTier: answer.tier };
    return { kind: 'completion', headers, record: () => recordHit(null), result };
  }
  recordHit(Math.round(performance.now() - call.startedHr));
  // The replayed chunks carry the stored usage; there is no upstream usage to report.
  return { kind: 'stream', headers, chunks: completeStream([...replayChunks(answer.completion, identity)]), usage: () => undefined };
}

function sluiceHeaders(attempt: Recorded, servedTier: ServiceTier): Record<string, string> {
  const { call, decision } = attempt;
  return {
    'x-sluice-request-id': call.requestId,
    'x-sluice-model': decision.model.id,
    'x-sluice-family': decision.family?.name ?? '',
    'x-sluice-tier': servedTier,
    'x-sluice-tier-reason': attempt.tierReason ?? '',
    'x-sluice-cache': attempt.cache.status,
    'x-sluice-complexity': decision.complexity === null ? '' : decision.complexity.toFixed(3),
    'x-sluice-route-reason': decision.reason,
    ...attempt.admission.headers,
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

/** The ledger's tags for a call: the key's tags win over request detail tags, so attribution cannot be forged. */
export function callTags(call: ChatCall): Record<string, string> {
  return { ...call.hints.tags, ...(call.request.user ? { end_user: call.request.user } : {}), ...call.principal.tags };
}

/** `callTags` as the ledger stores them (JSON). */
export function eventTags(call: ChatCall): string {
  return JSON.stringify(callTags(call));
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
    tags: eventTags(call),
    surface: call.surface,
    requestedModel: decision.requestedModel,
    servedModel: decision.model.id,
    provider: decision.model.provider,
    family: decision.family?.name ?? null,
    tier: input.tier,
    tierReason: attempt.tierReason,
    attempts: attempt.attempts,
    stream: call.stream,
    ...usageColumns(input.usage),
    ...cost,
    cache: attempt.cache.status,
    complexity: decision.complexity,
    scorerVersion: decision.scorerVersion,
    routeReason: decision.reason,
    shadowModel: decision.shadow?.id ?? null,
    // What the shadow decision would have cost for the same tokens (an estimate: another model's answer differs).
    shadowCostNusd: decision.shadow && input.status === 'ok' ? priceUsage(decision.shadow.rates, input.tier, input.usage) : null,
    latencyMs,
    ttftMs: input.ttftMs ?? null,
    status: input.status,
    httpStatus: input.httpStatus,
    errorType: input.errorType ?? null,
    usageEstimated: input.estimated ?? false,
  };
  services.ledger.add(event);
  attempt.admission.settle(event);
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
