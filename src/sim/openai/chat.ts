/** `POST /v1/chat/completions`: OpenAI chat completions, plain and streamed. */

import type { SimCall, StreamAnswer } from '../call';
import type { SimContext } from '../context';
import { invalidRequest } from '../errors';
import { generate, pickWord, type FinishReason, type Generation } from '../generate';
import { Rng, hash53, randomChars } from '../hash';
import { parseJson } from '../json';
import { isOpenAIReasoningModel, offersFlex, offersPriority, openAISnapshot, type ReasoningEffort } from '../models';
import { OPENAI_CACHE_MIN_TOKENS, PrefixHasher, TokenCounter } from '../prompt-cache';
import { SSE_CONTENT_TYPE, sseData, sseMalformed } from '../sse';
import { countTokens, splitTokenPieces } from '../tokenizer';
import { openAIKey } from './protocol';
import { finalUserText, walkChatPrompt } from './prompt';
import { validateChatRequest, type ChatRequest } from './validate';

const BODY_LIMIT_BYTES = 50 * 1024 * 1024;
/** Completion budget when the request sets none (far above the sim's natural answer lengths). */
const DEFAULT_COMPLETION_LIMIT = 128_000;
const CACHE_IDLE_TTL_MS = 5 * 60_000;
const CACHE_EXTENDED_TTL_MS = 24 * 60 * 60_000;

const EFFORT_FACTOR: Record<ReasoningEffort, number> = { none: 0, minimal: 0.25, low: 0.5, medium: 1, high: 2, xhigh: 4 };

export type ServedTier = 'default' | 'flex' | 'priority';

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

interface ChoiceResult {
  index: number;
  generation: Generation;
  reasoningTokens: number;
  finishReason: 'stop' | 'length' | 'tool_calls';
  seed: number;
}

/** Everything needed to render one completion, plain or streamed. */
export interface ChatCompletionResult {
  id: string;
  created: number;
  model: string;
  serviceTier: ServedTier;
  systemFingerprint: string;
  choices: ChoiceResult[];
  usage: ChatUsage;
  request: ChatRequest;
}

const FINISH: Record<FinishReason, ChoiceResult['finishReason']> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
};

function servedTier(request: ChatRequest): ServedTier {
  if (request.serviceTier === 'flex' && offersFlex(request.model)) return 'flex';
  if (request.serviceTier === 'priority' && offersPriority(request.model)) return 'priority';
  return 'default';
}

/** Hidden reasoning tokens of a reasoning model: 64–256 at medium effort, scaled by effort. */
function reasoningTokensFor(request: ChatRequest, seed: number): number {
  if (!isOpenAIReasoningModel(request.model) || request.reasoningEffort === null) return 0;
  const base = 64 * new Rng(hash53('reasoning', seed)).between(1, 4);
  return Math.round(base * EFFORT_FACTOR[request.reasoningEffort]);
}

/** Runs the model for a validated request. `apiKey` scopes the prompt cache (null: no caching, e.g. batch). */
export function completeChat(ctx: SimContext, request: ChatRequest, apiKey: string | null): ChatCompletionResult {
  const counter = new TokenCounter();
  const audioTokens = walkChatPrompt(request, counter);
  const promptTokens = counter.tokens;

  let cachedTokens = 0;
  if (apiKey !== null && promptTokens >= OPENAI_CACHE_MIN_TOKENS) {
    const hasher = new PrefixHasher();
    walkChatPrompt(request, hasher);
    const scope = `${apiKey}\u0000${request.model}\u0000${request.promptCacheKey ?? ''}`;
    const ttl = request.extendedCacheRetention ? CACHE_EXTENDED_TTL_MS : CACHE_IDLE_TTL_MS;
    cachedTokens = ctx.openaiPromptCache.lookupAndStore(scope, hasher.checkpoints, ttl);
  }

  const promptIdentity = `${request.model}\n${JSON.stringify(request.messages)}\n${request.seed ?? ''}`;
  const limit = request.maxTokens ?? DEFAULT_COMPLETION_LIMIT;
  const lastUserText = finalUserText(request.messages);
  const choices: ChoiceResult[] = [];
  for (let index = 0; index < request.n; index++) {
    const seed = hash53(promptIdentity, index);
    const reasoningTokens = Math.min(limit, reasoningTokensFor(request, seed));
    const generation = generate({
      seed,
      maxTokens: limit - reasoningTokens,
      lengthRange: ctx.options.outputTokens,
      stopSequences: request.stop,
      tools: request.tools,
      toolMode: request.toolMode,
      parallelToolCalls: request.parallelToolCalls,
      finalUserText: lastUserText,
      format: request.format,
      thinkingBudget: 0,
      textBeforeToolCalls: false,
    });
    choices.push({ index, generation, reasoningTokens, finishReason: FINISH[generation.finish], seed });
  }

  const rejectedPrediction = request.predictionText === null ? 0 : countTokens(request.predictionText);
  const completionTokens =
    choices.reduce((sum, c) => sum + c.generation.outputTokens + c.reasoningTokens, 0) + rejectedPrediction;
  return {
    id: ctx.ids.next('chatcmpl-', 29),
    created: ctx.nowSeconds(),
    model: openAISnapshot(request.model),
    serviceTier: servedTier(request),
    systemFingerprint: `fp_${randomChars(new Rng(hash53(request.model)), 10, 'hex')}`,
    choices,
    request,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: audioTokens },
      completion_tokens_details: {
        reasoning_tokens: choices.reduce((sum, c) => sum + c.reasoningTokens, 0),
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: rejectedPrediction,
      },
    },
  };
}

// ---------------------------------------------------------------- rendering

interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

function tokenLogprobs(pieces: readonly string[], seed: number, top: number): TokenLogprob[] {
  const rng = new Rng(hash53('logprobs', seed));
  return pieces.map((token) => {
    const logprob = -Math.round(rng.fraction() ** 3 * 4_000_000) / 1_000_000;
    const alternatives = [{ token, logprob, bytes: [...Buffer.from(token)] }];
    for (let k = 1; k < top; k++) {
      const alternative = ` ${pickWord(rng)}`;
      const altLogprob = Math.round((logprob - k * 1.5 - rng.fraction()) * 1_000_000) / 1_000_000;
      alternatives.push({ token: alternative, logprob: altLogprob, bytes: [...Buffer.from(alternative)] });
    }
    return { token, logprob, bytes: [...Buffer.from(token)], top_logprobs: alternatives.slice(0, top) };
  });
}

function toolCallsOf(choice: ChoiceResult) {
  return choice.generation.toolCalls.map((call) => ({
    id: `call_${call.idSuffix}`,
    type: 'function' as const,
    function: { name: call.name, arguments: call.argumentsJson },
  }));
}

export function renderChatCompletion(result: ChatCompletionResult) {
  return {
    id: result.id,
    object: 'chat.completion',
    created: result.created,
    model: result.model,
    choices: result.choices.map((choice) => {
      const toolCalls = toolCallsOf(choice);
      const text = choice.generation.text;
      return {
        index: choice.index,
        message: {
          role: 'assistant',
          content: toolCalls.length > 0 && text === '' ? null : text,
          refusal: null,
          annotations: [],
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: result.request.logprobs
          ? { content: tokenLogprobs(splitTokenPieces(text), choice.seed, result.request.topLogprobs), refusal: null }
          : null,
        finish_reason: choice.finishReason,
      };
    }),
    usage: result.usage,
    service_tier: result.serviceTier,
    system_fingerprint: result.systemFingerprint,
  };
}

function streamFrames(result: ChatCompletionResult): { frames: string[]; lastChunk: object } {
  const { request } = result;
  const obfuscation = new Rng(hash53('obfuscation', result.choices[0]?.seed ?? 0));
  const chunk = (choices: unknown[], usage?: unknown): object => ({
    id: result.id,
    object: 'chat.completion.chunk',
    created: result.created,
    model: result.model,
    service_tier: result.serviceTier,
    system_fingerprint: result.systemFingerprint,
    choices,
    ...(request.includeUsage ? { usage: usage ?? null } : {}),
    ...(request.includeObfuscation ? { obfuscation: randomChars(obfuscation, obfuscation.between(1, 16)) } : {}),
  });
  const choiceDelta = (index: number, delta: object, finish: string | null = null, logprobs: unknown = null) => ({
    index,
    delta,
    logprobs,
    finish_reason: finish,
  });

  const frames: string[] = [];
  let lastChunk: object = {};
  const push = (value: object): void => {
    lastChunk = value;
    frames.push(sseData(value));
  };
  for (const choice of result.choices) {
    const toolCalls = toolCallsOf(choice);
    const text = choice.generation.text;
    if (toolCalls.length === 0 || text !== '') {
      push(chunk([choiceDelta(choice.index, { role: 'assistant', content: '', refusal: null })]));
      const pieces = splitTokenPieces(text);
      const logprobs = request.logprobs ? tokenLogprobs(pieces, choice.seed, request.topLogprobs) : null;
      pieces.forEach((piece, i) => {
        const lp = logprobs ? { content: [logprobs[i]], refusal: null } : null;
        push(chunk([choiceDelta(choice.index, { content: piece }, null, lp)]));
      });
    }
    toolCalls.forEach((call, k) => {
      const start = { index: k, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } };
      const delta = k === 0 && text === '' ? { role: 'assistant', content: null, tool_calls: [start], refusal: null } : { tool_calls: [start] };
      push(chunk([choiceDelta(choice.index, delta)]));
      for (const piece of splitTokenPieces(call.function.arguments)) {
        push(chunk([choiceDelta(choice.index, { tool_calls: [{ index: k, function: { arguments: piece } }] })]));
      }
    });
    push(chunk([choiceDelta(choice.index, {}, choice.finishReason)]));
  }
  if (request.includeUsage) push(chunk([], result.usage));
  frames.push('data: [DONE]\n\n');
  return { frames, lastChunk };
}

function renderChatStream(result: ChatCompletionResult, errorMessage: string): StreamAnswer {
  const { frames, lastChunk } = streamFrames(result);
  return {
    contentType: SSE_CONTENT_TYPE,
    frames,
    errorFrame: sseData({ error: { message: errorMessage, type: 'server_error', param: null, code: null } }),
    malformedFrame: sseMalformed(null, lastChunk),
  };
}

// ---------------------------------------------------------------- handler

function parseChatBody(text: string): unknown {
  const parsed = parseJson(text);
  if (parsed === undefined) {
    throw invalidRequest(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
    );
  }
  return parsed;
}

export async function handleChatCompletions(call: SimCall): Promise<void> {
  const body = await call.readBody(BODY_LIMIT_BYTES, 'Request body too large: the maximum is 50 MB.');
  call.authenticate(body);
  const text = body.toString('utf8');
  const request = validateChatRequest(parseChatBody(text));
  call.ctx.stats.recordModel(request.model);

  const behaviour = call.takeFault({
    path: '/v1/chat/completions',
    model: request.model,
    body: text,
    flexRequested: request.serviceTier === 'flex',
  });
  if (behaviour === 'held') return;

  const result = completeChat(call.ctx, request, openAIKey(call));
  if (request.stream) {
    await call.answerStream(renderChatStream(result, call.protocol.standardMessage('server')), behaviour);
  } else {
    await call.waitBeforeAnswer(result.usage.completion_tokens);
    call.answerJson(renderChatCompletion(result), behaviour);
  }
}
