/** `POST /v1/messages` (plain and streamed) and `POST /v1/messages/count_tokens`. */

import type { SimCall, StreamAnswer } from '../call';
import type { SimContext } from '../context';
import { invalidRequest } from '../errors';
import { generate, type Generation } from '../generate';
import { hash53 } from '../hash';
import { parseJson } from '../json';
import { claudeSnapshot, claudeTraits } from '../models';
import { uncachedUsage } from '../prompt-cache';
import { SSE_CONTENT_TYPE, sseEvent, sseMalformed } from '../sse';
import { splitTokenPieces } from '../tokenizer';
import { anthropicErrorObject, anthropicKey } from './protocol';
import { finalUserText, hasBreakpoints, promptBlocks } from './prompt';
import { validateMessagesRequest, type MessagesRequest } from './validate';

const BODY_LIMIT_BYTES = 32 * 1024 * 1024;
const TOO_LARGE_MESSAGE = 'Request exceeds the maximum allowed number of bytes. The maximum request size is 32 MB.';

export type AnthropicServiceTier = 'standard' | 'batch';

export interface AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  output_tokens: number;
  service_tier: AnthropicServiceTier;
  output_tokens_details?: { thinking_tokens: number };
}

export interface MessageResult {
  id: string;
  model: string;
  generation: Generation;
  usage: AnthropicUsage;
}

function parseMessagesBody(text: string): unknown {
  const parsed = parseJson(text);
  if (parsed === undefined) throw invalidRequest('There was an issue with your request body: it is not valid JSON.');
  return parsed;
}

/**
 * Runs the model for a validated request. `cacheScope` keys the prompt cache (the caller's key);
 * null disables prompt caching (batch items).
 */
export function completeMessage(ctx: SimContext, request: MessagesRequest, cacheScope: string | null, tier: AnthropicServiceTier): MessageResult {
  const caching = cacheScope !== null && hasBreakpoints(request);
  const blocks = promptBlocks(request, caching);
  const cache = caching
    ? ctx.anthropicPromptCache.apply(`${cacheScope}\u0000${request.model}`, blocks, claudeTraits(request.model).minCacheableTokens)
    : uncachedUsage(blocks);

  const generation = generate({
    seed: hash53(`${request.model}\n${JSON.stringify(request.system)}\n${JSON.stringify(request.messages)}`),
    maxTokens: request.maxTokens,
    lengthRange: ctx.options.outputTokens,
    stopSequences: request.stopSequences,
    tools: request.tools,
    toolMode: request.toolMode,
    parallelToolCalls: request.parallelToolCalls,
    finalUserText: finalUserText(request),
    format: { kind: 'text' },
    thinkingBudget: request.thinkingBudget,
    textBeforeToolCalls: true,
  });
  const usage: AnthropicUsage = {
    input_tokens: cache.uncachedTokens,
    cache_creation_input_tokens: cache.write5mTokens + cache.write1hTokens,
    cache_read_input_tokens: cache.readTokens,
    cache_creation: { ephemeral_5m_input_tokens: cache.write5mTokens, ephemeral_1h_input_tokens: cache.write1hTokens },
    output_tokens: generation.outputTokens,
    service_tier: tier,
    ...(generation.thinking ? { output_tokens_details: { thinking_tokens: generation.thinking.tokens } } : {}),
  };
  return { id: ctx.ids.next('msg_01', 22), model: claudeSnapshot(request.model), generation, usage };
}

type ContentBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

function contentBlocks(generation: Generation): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  if (generation.thinking) blocks.push({ type: 'thinking', thinking: generation.thinking.text, signature: generation.thinking.signature });
  if (generation.text !== '' || generation.toolCalls.length === 0) blocks.push({ type: 'text', text: generation.text });
  for (const call of generation.toolCalls) blocks.push({ type: 'tool_use', id: `toolu_01${call.idSuffix.slice(0, 22)}`, name: call.name, input: call.input });
  return blocks;
}

export function renderMessage(result: MessageResult) {
  return {
    id: result.id,
    type: 'message',
    role: 'assistant',
    model: result.model,
    content: contentBlocks(result.generation),
    stop_reason: result.generation.finish,
    stop_sequence: result.generation.stopSequence,
    usage: result.usage,
  };
}

function streamEvents(result: MessageResult): Array<[string, object]> {
  const { generation, usage } = result;
  const events: Array<[string, object]> = [];
  events.push([
    'message_start',
    {
      type: 'message_start',
      message: {
        id: result.id,
        type: 'message',
        role: 'assistant',
        model: result.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        // Output is not known yet when the stream starts: Anthropic reports a token or so here.
        usage: {
          input_tokens: usage.input_tokens,
          cache_creation_input_tokens: usage.cache_creation_input_tokens,
          cache_read_input_tokens: usage.cache_read_input_tokens,
          cache_creation: usage.cache_creation,
          output_tokens: 1,
          service_tier: usage.service_tier,
        },
      },
    },
  ]);
  contentBlocks(generation).forEach((block, index) => {
    let opening: object;
    let deltas: object[];
    switch (block.type) {
      case 'thinking':
        opening = { type: 'thinking', thinking: '', signature: '' };
        deltas = splitTokenPieces(block.thinking).map((piece) => ({ type: 'thinking_delta', thinking: piece }));
        deltas.push({ type: 'signature_delta', signature: block.signature });
        break;
      case 'text':
        opening = { type: 'text', text: '' };
        deltas = splitTokenPieces(block.text).map((piece) => ({ type: 'text_delta', text: piece }));
        break;
      case 'tool_use':
        opening = { type: 'tool_use', id: block.id, name: block.name, input: {} };
        deltas = splitTokenPieces(JSON.stringify(block.input)).map((piece) => ({ type: 'input_json_delta', partial_json: piece }));
        break;
    }
    events.push(['content_block_start', { type: 'content_block_start', index, content_block: opening }]);
    if (index === 0) events.push(['ping', { type: 'ping' }]);
    for (const delta of deltas) events.push(['content_block_delta', { type: 'content_block_delta', index, delta }]);
    events.push(['content_block_stop', { type: 'content_block_stop', index }]);
  });
  events.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: generation.finish, stop_sequence: generation.stopSequence },
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        output_tokens: usage.output_tokens,
        ...(usage.output_tokens_details ? { output_tokens_details: usage.output_tokens_details } : {}),
      },
    },
  ]);
  events.push(['message_stop', { type: 'message_stop' }]);
  return events;
}

function renderMessageStream(result: MessageResult, overloadedMessage: string): StreamAnswer {
  const events = streamEvents(result);
  const [lastName, lastValue] = events[events.length - 2] as [string, object];
  return {
    contentType: SSE_CONTENT_TYPE,
    frames: events.map(([name, value]) => sseEvent(name, value)),
    errorFrame: sseEvent('error', { type: 'error', error: anthropicErrorObject('overloaded', overloadedMessage) }),
    malformedFrame: sseMalformed(lastName, lastValue),
  };
}

/** Reads, authenticates, parses and validates a Messages body; consults faults. */
async function acceptMessagesCall(call: SimCall, path: string, requireMaxTokens: boolean) {
  const body = await call.readBody(BODY_LIMIT_BYTES, TOO_LARGE_MESSAGE);
  call.authenticate(body);
  const text = body.toString('utf8');
  const request = validateMessagesRequest(parseMessagesBody(text), requireMaxTokens);
  call.ctx.stats.recordModel(request.model);
  const behaviour = call.takeFault({ path, model: request.model, body: text, flexRequested: false });
  return { request, behaviour };
}

export async function handleMessages(call: SimCall): Promise<void> {
  const { request, behaviour } = await acceptMessagesCall(call, '/v1/messages', true);
  if (behaviour === 'held') return;
  const result = completeMessage(call.ctx, request, anthropicKey(call), 'standard');
  if (request.stream) {
    await call.answerStream(renderMessageStream(result, call.protocol.standardMessage('overloaded')), behaviour);
  } else {
    await call.waitBeforeAnswer(result.usage.output_tokens);
    call.answerJson(renderMessage(result), behaviour);
  }
}

export async function handleCountTokens(call: SimCall): Promise<void> {
  const { request, behaviour } = await acceptMessagesCall(call, '/v1/messages/count_tokens', false);
  if (behaviour === 'held') return;
  const inputTokens = uncachedUsage(promptBlocks(request, false)).totalTokens;
  await call.waitBeforeAnswer(null);
  call.answerJson({ input_tokens: inputTokens }, behaviour);
}
