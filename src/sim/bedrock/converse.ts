/**
 * Bedrock runtime: `POST /model/{modelId}/converse`, `/converse-stream` (AWS event-stream
 * framing) and `/count-tokens`.
 */

import type { SimCall, StreamAnswer } from '../call';
import type { SimContext } from '../context';
import { invalidRequest } from '../errors';
import { generate, type Generation } from '../generate';
import { Rng, hash53, randomChars } from '../hash';
import { isObject, parseJson } from '../json';
import { uncachedUsage, type BreakpointUsage } from '../prompt-cache';
import { splitTokenPieces } from '../tokenizer';
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent, encodeException, encodeMalformedEvent } from './event-stream';
import { converseBlocks, finalUserText, hasCachePoints } from './prompt';
import { bedrockCaller } from './protocol';
import { validateConverseRequest, type ConverseRequest } from './validate';

const BODY_LIMIT_BYTES = 25 * 1024 * 1024;

interface ConverseResult {
  request: ConverseRequest;
  generation: Generation;
  cache: BreakpointUsage;
  /** Whether the request used cache points, which is when Bedrock reports the cache fields. */
  caching: boolean;
  latencyMs: number;
  seed: number;
}

const STOP_REASONS = { end_turn: 'end_turn', max_tokens: 'max_tokens', stop_sequence: 'stop_sequence', tool_use: 'tool_use' } as const;

function completeConverse(ctx: SimContext, request: ConverseRequest, caller: string): ConverseResult {
  const caching = hasCachePoints(request);
  const blocks = converseBlocks(request, caching);
  const cache =
    caching && request.model.cache
      ? ctx.bedrockPromptCache.apply(`${caller}\u0000${request.model.baseId}`, blocks, request.model.cache.minTokens)
      : uncachedUsage(blocks);
  const seed = hash53(`${request.model.baseId}\n${JSON.stringify(request.system)}\n${JSON.stringify(request.messages)}`);
  const generation = generate({
    seed,
    maxTokens: request.maxTokens,
    lengthRange: ctx.options.outputTokens,
    stopSequences: request.stopSequences,
    tools: request.tools,
    toolMode: request.toolMode,
    parallelToolCalls: true,
    finalUserText: finalUserText(request),
    format: { kind: 'text' },
    thinkingBudget: request.thinkingBudget,
    textBeforeToolCalls: request.model.claude !== null,
  });
  const { fixedLatencyMs, firstTokenMs, perTokenMs } = ctx.options;
  return { request, generation, cache, caching, seed, latencyMs: fixedLatencyMs + firstTokenMs + perTokenMs * generation.outputTokens };
}

function usageOf(result: ConverseResult) {
  const { cache, generation } = result;
  const written = cache.write5mTokens + cache.write1hTokens;
  const usage: Record<string, unknown> = {
    inputTokens: cache.uncachedTokens,
    outputTokens: generation.outputTokens,
    totalTokens: cache.totalTokens + generation.outputTokens,
  };
  if (result.caching) {
    usage.cacheReadInputTokens = cache.readTokens;
    usage.cacheWriteInputTokens = written;
    if (written > 0) {
      usage.cacheDetails = [
        ...(cache.write5mTokens > 0 ? [{ ttl: '5m', inputTokens: cache.write5mTokens }] : []),
        ...(cache.write1hTokens > 0 ? [{ ttl: '1h', inputTokens: cache.write1hTokens }] : []),
      ];
    }
  }
  return usage;
}

/** Echoes of request options that Bedrock reports back. */
function echoes(request: ConverseRequest): Record<string, unknown> {
  return {
    ...(request.serviceTier ? { serviceTier: { type: request.serviceTier } } : {}),
    ...(request.latency ? { performanceConfig: { latency: request.latency } } : {}),
  };
}

type ConverseBlock =
  | { reasoningContent: { reasoningText: { text: string; signature: string } } }
  | { text: string }
  | { toolUse: { toolUseId: string; name: string; input: unknown } };

function contentBlocks(generation: Generation): ConverseBlock[] {
  const blocks: ConverseBlock[] = [];
  if (generation.thinking) blocks.push({ reasoningContent: { reasoningText: { text: generation.thinking.text, signature: generation.thinking.signature } } });
  if (generation.text !== '' || generation.toolCalls.length === 0) blocks.push({ text: generation.text });
  for (const call of generation.toolCalls) blocks.push({ toolUse: { toolUseId: `tooluse_${call.idSuffix.slice(0, 22)}`, name: call.name, input: call.input } });
  return blocks;
}

function renderConverse(result: ConverseResult) {
  return {
    output: { message: { role: 'assistant', content: contentBlocks(result.generation) } },
    stopReason: STOP_REASONS[result.generation.finish],
    usage: usageOf(result),
    metrics: { latencyMs: result.latencyMs },
    ...echoes(result.request),
  };
}

/** Bedrock pads every stream event with a random `p` field so that sizes do not reveal content. */
function padded(rng: Rng, payload: Record<string, unknown>): Record<string, unknown> {
  return { ...payload, p: randomChars(rng, rng.between(1, 32)) };
}

function renderConverseStream(result: ConverseResult, errorMessage: string): StreamAnswer {
  const rng = new Rng(hash53('padding', result.seed));
  const frames: Buffer[] = [];
  const event = (type: string, payload: Record<string, unknown>): void => {
    frames.push(encodeEvent(type, padded(rng, payload)));
  };
  event('messageStart', { role: 'assistant' });
  contentBlocks(result.generation).forEach((block, contentBlockIndex) => {
    if ('reasoningContent' in block) {
      const { text, signature } = block.reasoningContent.reasoningText;
      for (const piece of splitTokenPieces(text)) event('contentBlockDelta', { contentBlockIndex, delta: { reasoningContent: { text: piece } } });
      event('contentBlockDelta', { contentBlockIndex, delta: { reasoningContent: { signature } } });
    } else if ('text' in block) {
      for (const piece of splitTokenPieces(block.text)) event('contentBlockDelta', { contentBlockIndex, delta: { text: piece } });
    } else {
      const { toolUseId, name, input } = block.toolUse;
      event('contentBlockStart', { contentBlockIndex, start: { toolUse: { toolUseId, name } } });
      for (const piece of splitTokenPieces(JSON.stringify(input))) event('contentBlockDelta', { contentBlockIndex, delta: { toolUse: { input: piece } } });
    }
    event('contentBlockStop', { contentBlockIndex });
  });
  event('messageStop', { stopReason: STOP_REASONS[result.generation.finish] });
  const metadata = { usage: usageOf(result), metrics: { latencyMs: result.latencyMs }, ...echoes(result.request) };
  event('metadata', metadata);
  return {
    contentType: EVENT_STREAM_CONTENT_TYPE,
    frames,
    errorFrame: encodeException('modelStreamErrorException', { message: errorMessage, originalStatusCode: 500, originalMessage: errorMessage }),
    malformedFrame: encodeMalformedEvent('metadata', metadata),
  };
}

async function acceptConverseCall(call: SimCall, operation: string) {
  const body = await call.readBody(BODY_LIMIT_BYTES, 'Input is too long for requested model.');
  call.authenticate(body);
  const modelId = call.params[0] ?? '';
  call.ctx.stats.recordModel(modelId);
  const text = body.toString('utf8');
  const parsed = parseJson(text);
  if (parsed === undefined) throw invalidRequest('Malformed input request: the body is not valid JSON, please reformat your input and try again.');
  const input = operation === 'count-tokens' && isObject(parsed) && isObject(parsed.input) ? parsed.input.converse : parsed;
  const request = validateConverseRequest(modelId, input);
  const behaviour = call.takeFault({ path: call.rawPath, model: modelId, body: text, flexRequested: request.serviceTier === 'flex' });
  return { request, behaviour };
}

export async function handleConverse(call: SimCall): Promise<void> {
  const { request, behaviour } = await acceptConverseCall(call, 'converse');
  if (behaviour === 'held') return;
  const result = completeConverse(call.ctx, request, bedrockCaller(call));
  await call.waitBeforeAnswer(result.generation.outputTokens);
  call.answerJson(renderConverse(result), behaviour);
}

export async function handleConverseStream(call: SimCall): Promise<void> {
  const { request, behaviour } = await acceptConverseCall(call, 'converse-stream');
  if (behaviour === 'held') return;
  const result = completeConverse(call.ctx, request, bedrockCaller(call));
  await call.answerStream(renderConverseStream(result, call.protocol.standardMessage('server')), behaviour);
}

export async function handleBedrockCountTokens(call: SimCall): Promise<void> {
  const { request, behaviour } = await acceptConverseCall(call, 'count-tokens');
  if (behaviour === 'held') return;
  await call.waitBeforeAnswer(null);
  call.answerJson({ inputTokens: uncachedUsage(converseBlocks(request, false)).totalTokens }, behaviour);
}
