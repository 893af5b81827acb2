import type { AnthropicPrompt } from '../cache/anthropic-breakpoints';
import type { ServiceTier } from '../catalog/types';
import { contentText, jsonInstruction, parseToolArguments, type ChatCompletion, type ChatCompletionChunk, type ChatMessage, type ChatRequest, type ContentPart } from '../gateway/chat';
import { breakpointAt, budgetForEffort, toolsBreakpoint, wholeMessageBreakpoint, type CacheBreakpoint, type ChatExtras } from '../gateway/extras';
import { toOpenAIUsage, type Usage } from '../gateway/usage';
import { SluiceError } from '../errors';
import { SseParser } from './sse';
import type { Config } from '../config';
import { UpstreamStreamError } from './stream-error';
import { parseUpstreamJson } from './json';
import type { UpstreamRequest } from './transport';
import type { ChatTarget, PassthroughAdapter, ProviderAdapter, StreamDecoder, UpstreamFailure } from './types';

/**
 * Anthropic Messages API as an upstream for chat-completions callers: the request and the
 * answer (plain and streamed) are translated both ways.
 */

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
  service_tier?: string | null;
}

type AnthropicBlock = Record<string, unknown> & { type: string };
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicBlock[];
}

/** Anthropic's input_tokens excludes cache reads and writes, which is the ledger's own meaning. */
export function usageFromAnthropic(usage: AnthropicUsage): Usage {
  const write = usage.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: usage.input_tokens ?? 0,
    cachedInputTokens: usage.cache_read_input_tokens ?? 0,
    cacheWriteTokens: write,
    cacheWrite1hTokens: Math.min(write, usage.cache_creation?.ephemeral_1h_input_tokens ?? 0),
    outputTokens: usage.output_tokens ?? 0,
    reasoningTokens: 0,
  };
}

export function tierFromAnthropic(served: unknown): ServiceTier {
  if (served === 'priority') return 'priority';
  if (served === 'batch') return 'batch';
  return 'standard';
}

const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

function invalid(message: string, param: string): SluiceError {
  return new SluiceError('invalid_request', message, { param });
}

function imageBlock(url: string, param: string): AnthropicBlock {
  const dataUrl = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (dataUrl) return { type: 'image', source: { type: 'base64', media_type: dataUrl[1], data: dataUrl[2] } };
  if (/^https?:\/\//.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw invalid('image_url.url must be an http(s) URL or a base64 data URL', param);
}

function fileBlock(part: Extract<ContentPart, { type: 'file' }>, param: string): AnthropicBlock {
  const data = part.file.file_data;
  const dataUrl = data === undefined ? null : /^data:([^;,]+);base64,(.*)$/s.exec(data);
  if (!dataUrl) throw invalid('Anthropic models take files as base64 data URLs in file.file_data (file_id is OpenAI-only)', param);
  const mediaType = dataUrl[1] ?? 'application/pdf';
  if (mediaType === 'text/plain') {
    return { type: 'document', source: { type: 'text', media_type: 'text/plain', data: atob(dataUrl[2] ?? '') } };
  }
  return { type: 'document', source: { type: 'base64', media_type: mediaType, data: dataUrl[2] } };
}

/** A caller's own Anthropic cache breakpoint on a content part (as OpenAI-compatible gateways accept it) is kept. */
function callerCacheControl(part: ContentPart): { cache_control?: unknown } {
  const control = (part as { cache_control?: unknown }).cache_control;
  return control == null ? {} : { cache_control: control };
}

function contentBlocks(content: ChatMessage['content'], param: string): AnthropicBlock[] {
  if (content == null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.map((part, i): AnthropicBlock => {
    const partParam = `${param}[${i}]`;
    switch (part.type) {
      case 'text':
        return { type: 'text', text: part.text, ...callerCacheControl(part) };
      case 'image_url':
        return { ...imageBlock(part.image_url.url, `${partParam}.image_url.url`), ...callerCacheControl(part) };
      case 'file':
        return { ...fileBlock(part, `${partParam}.file`), ...callerCacheControl(part) };
      case 'refusal':
        return { type: 'text', text: part.refusal };
      case 'input_audio':
        throw invalid('Anthropic models do not accept audio input', `${partParam}`);
    }
  });
}

/** Merges consecutive same-role turns, which Anthropic requires to alternate. */
function pushTurn(messages: AnthropicMessage[], role: AnthropicMessage['role'], blocks: AnthropicBlock[]): void {
  const last = messages[messages.length - 1];
  if (last && last.role === role) last.content.push(...blocks);
  else messages.push({ role, content: blocks });
}

function cacheControl(breakpoint: CacheBreakpoint): Record<string, unknown> {
  return { type: 'ephemeral', ...(breakpoint.ttl === '1h' ? { ttl: '1h' } : {}) };
}

/** Puts cache_control on the blocks of canonical message `index` where the caller set breakpoints. */
function markBreakpoints(blocks: AnthropicBlock[], extras: ChatExtras | undefined, index: number, endsMessage: boolean): void {
  blocks.forEach((block, j) => {
    const breakpoint = breakpointAt(extras, index, j, endsMessage && j === blocks.length - 1);
    if (breakpoint) block.cache_control = cacheControl(breakpoint);
  });
}

export function toAnthropicMessages(request: ChatRequest, extras?: ChatExtras): { system: AnthropicBlock[]; messages: AnthropicMessage[] } {
  const system: AnthropicBlock[] = [];
  const messages: AnthropicMessage[] = [];
  request.messages.forEach((message, i) => {
    const param = `messages[${i}].content`;
    switch (message.role) {
      case 'system':
      case 'developer': {
        const parts = typeof message.content === 'string' ? [{ type: 'text' as const, text: message.content }] : message.content;
        parts.forEach((part, j) => {
          if (part.type !== 'text' || !part.text) return;
          const breakpoint = breakpointAt(extras, i, j, j === parts.length - 1);
          system.push({ type: 'text', text: part.text, ...callerCacheControl(part), ...(breakpoint ? { cache_control: cacheControl(breakpoint) } : {}) });
        });
        break;
      }
      case 'user': {
        const blocks = contentBlocks(message.content, param);
        markBreakpoints(blocks, extras, i, true);
        pushTurn(messages, 'user', blocks);
        break;
      }
      case 'assistant': {
        const blocks = contentBlocks(message.content ?? null, param);
        const calls = message.tool_calls ?? [];
        markBreakpoints(blocks, extras, i, calls.length === 0);
        calls.forEach((call, j) => {
          blocks.push({
            type: 'tool_use',
            id: call.id,
            name: call.function.name,
            input: parseToolArguments(call.function.arguments, `messages[${i}].tool_calls[${j}].function.arguments`),
          });
        });
        const whole = calls.length > 0 ? wholeMessageBreakpoint(extras, i) : undefined;
        const last = blocks[blocks.length - 1];
        if (whole && last) last.cache_control = cacheControl(whole);
        pushTurn(messages, 'assistant', blocks);
        break;
      }
      case 'tool': {
        const blocks: AnthropicBlock[] = [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: contentText(message.content) }];
        markBreakpoints(blocks, extras, i, true);
        pushTurn(messages, 'user', blocks);
        break;
      }
      case 'function':
        throw invalid('the deprecated "function" role is not supported for Anthropic models; use tools', `messages[${i}].role`);
    }
  });
  if (messages.length === 0) throw invalid('Anthropic models need at least one user or assistant message', 'messages');
  return { system, messages };
}

function toolChoice(request: ChatRequest): Record<string, unknown> | undefined {
  const choice = request.tool_choice;
  const disableParallel = request.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  if (choice == null) return request.parallel_tool_calls === false ? { type: 'auto', ...disableParallel } : undefined;
  if (choice === 'auto') return { type: 'auto', ...disableParallel };
  if (choice === 'required') return { type: 'any', ...disableParallel };
  if (choice === 'none') return { type: 'none' };
  if (choice.type === 'function') {
    const name = (choice as { function: { name: string } }).function.name;
    return { type: 'tool', name, ...disableParallel };
  }
  throw invalid(`tool_choice type "${choice.type}" is not supported for Anthropic models`, 'tool_choice');
}

/** Builds the Messages API body for a canonical request. */
export function toAnthropicBody(target: ChatTarget): Record<string, unknown> {
  const { request, model } = target;
  if ((request.n ?? 1) > 1) throw invalid('Anthropic models return one choice per request; n must be 1', 'n');
  if (request.logprobs) throw invalid('Anthropic models do not return logprobs', 'logprobs');
  const { system, messages } = toAnthropicMessages(request, target.extras);
  const instruction = jsonInstruction(request);
  if (instruction) system.push({ type: 'text', text: instruction });

  const body: Record<string, unknown> = {
    model: model.upstream_id,
    messages,
    // Anthropic requires max_tokens; OpenAI's default is "as much as the model allows".
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? model.max_output_tokens ?? 4096,
  };
  if (system.length > 0) body.system = system;
  // OpenAI's temperature runs 0..2, Anthropic's 0..1.
  if (request.temperature != null) body.temperature = Math.min(1, request.temperature);
  if (request.top_p != null) body.top_p = request.top_p;
  if (request.stop != null) body.stop_sequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  if (request.tools?.length) {
    body.tools = request.tools.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description ? { description: tool.function.description } : {}),
      input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
    }));
    const breakpoint = toolsBreakpoint(target.extras);
    const last = (body.tools as AnthropicBlock[]).at(-1);
    if (breakpoint && last) last.cache_control = cacheControl(breakpoint);
  }
  if (target.extras?.topK !== undefined) body.top_k = target.extras.topK;
  // Thinking as an Anthropic or Bedrock caller asked for it (OpenAI's reasoning_effort stays OpenAI's).
  const thinking = target.extras?.thinking;
  if (thinking && model.capabilities.reasoning) {
    body.thinking = { type: 'enabled', budget_tokens: thinking.budgetTokens ?? budgetForEffort(thinking.effort ?? 'medium') };
  }
  const choice = toolChoice(request);
  if (choice && request.tools?.length) body.tool_choice = choice;
  if (request.user) body.metadata = { user_id: request.user };
  // Anthropic's priority capacity is a commitment an organization buys; "auto" lets it be used.
  if (target.tier === 'priority') body.service_tier = 'auto';
  if (target.stream) body.stream = true;
  return target.promptCache ? target.promptCache.anthropic(body as Record<string, unknown> & AnthropicPrompt) : body;
}

interface AnthropicResponse {
  id: string;
  model: string;
  content: AnthropicBlock[];
  stop_reason: string | null;
  usage: AnthropicUsage;
}

function isAnthropicResponse(value: unknown): value is AnthropicResponse {
  const v = value as AnthropicResponse;
  return typeof v === 'object' && v !== null && Array.isArray(v.content) && typeof v.usage === 'object' && v.usage !== null;
}

function malformed(what: string): SluiceError {
  return new SluiceError('upstream_error', `The Anthropic upstream sent ${what}; the request may have been served but could not be read.`);
}

class AnthropicStreamDecoder implements StreamDecoder {
  usage: Usage | undefined;
  servedTier: ServiceTier = 'standard';
  reportedInputTokens: number | undefined;
  outputChars = 0;
  outputEvents = 0;
  private readonly parser = new SseParser();
  private id = '';
  private model: string;
  private readonly created: number;
  private rawUsage: AnthropicUsage = {};
  /** Anthropic content-block index → OpenAI tool_calls index. */
  private readonly toolIndex = new Map<number, number>();

  constructor(target: ChatTarget, nowMs: number) {
    this.model = target.model.upstream_id;
    this.created = Math.floor(nowMs / 1000);
  }

  push(bytes: Uint8Array): ChatCompletionChunk[] {
    return this.handle(this.parser.push(bytes));
  }

  end(): ChatCompletionChunk[] {
    return this.handle(this.parser.end());
  }

  private chunk(delta: ChatCompletionChunk['choices'][number]['delta'], finishReason: string | null = null): ChatCompletionChunk {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finishReason }] };
  }

  private mergeUsage(usage: AnthropicUsage | undefined): void {
    if (!usage) return;
    for (const [name, value] of Object.entries(usage)) {
      if (value != null) (this.rawUsage as Record<string, unknown>)[name] = value;
    }
  }

  private handle(messages: ReturnType<SseParser['push']>): ChatCompletionChunk[] {
    const chunks: ChatCompletionChunk[] = [];
    for (const message of messages) {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(message.data) as Record<string, unknown>;
      } catch {
        throw malformed('a stream event that is not JSON');
      }
      const type = (event.type as string | undefined) ?? message.event;
      switch (type) {
        case 'message_start': {
          const started = event.message as { id: string; model: string; usage?: AnthropicUsage };
          this.id = started.id;
          this.model = started.model ?? this.model;
          this.mergeUsage(started.usage);
          this.reportedInputTokens = usageFromAnthropic(this.rawUsage).inputTokens;
          this.servedTier = tierFromAnthropic(this.rawUsage.service_tier);
          chunks.push(this.chunk({ role: 'assistant', content: '' }));
          break;
        }
        case 'content_block_start': {
          const block = event.content_block as AnthropicBlock;
          if (block.type === 'tool_use') {
            const index = this.toolIndex.size;
            this.toolIndex.set(event.index as number, index);
            const name = block.name as string;
            this.outputChars += name.length;
            this.outputEvents++;
            chunks.push(this.chunk({ tool_calls: [{ index, id: block.id as string, type: 'function', function: { name, arguments: '' } }] }));
          }
          break;
        }
        case 'content_block_delta': {
          const delta = event.delta as { type: string; text?: string; partial_json?: string };
          if (delta.type === 'text_delta' && delta.text) {
            this.outputChars += delta.text.length;
            this.outputEvents++;
            chunks.push(this.chunk({ content: delta.text }));
          } else if (delta.type === 'input_json_delta' && delta.partial_json !== undefined) {
            const index = this.toolIndex.get(event.index as number) ?? 0;
            this.outputChars += delta.partial_json.length;
            this.outputEvents++;
            chunks.push(this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] }));
          } else if (delta.type === 'thinking_delta') {
            this.outputEvents++;
          }
          break;
        }
        case 'message_delta': {
          const delta = event.delta as { stop_reason?: string | null };
          this.mergeUsage(event.usage as AnthropicUsage | undefined);
          const reason = delta.stop_reason ? (FINISH_REASONS[delta.stop_reason] ?? 'stop') : 'stop';
          chunks.push(this.chunk({}, reason));
          break;
        }
        case 'message_stop': {
          this.usage = usageFromAnthropic(this.rawUsage);
          this.servedTier = tierFromAnthropic(this.rawUsage.service_tier);
          chunks.push({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: toOpenAIUsage(this.usage) });
          break;
        }
        case 'error': {
          const error = event.error as { type?: string; message?: string } | undefined;
          const errorType = error?.type ?? 'api_error';
          throw new UpstreamStreamError({ status: errorType === 'overloaded_error' ? 529 : 500, type: errorType, message: error?.message ?? 'upstream stream error', retryAfter: undefined });
        }
        default:
          // ping, content_block_stop and future event types carry nothing a chat chunk needs.
          break;
      }
    }
    return chunks;
  }
}

/** A Messages API call; `callerHeaders` (a pass-through's anthropic-version and -beta) win over the defaults. */
function messagesRequest(target: ChatTarget, config: Config, body: Record<string, unknown>, callerHeaders: Record<string, string>, path = '/v1/messages'): UpstreamRequest {
  const { apiKey, baseUrl, version } = config.providers.anthropic;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': version,
    accept: target.stream ? 'text/event-stream' : 'application/json',
    ...callerHeaders,
  };
  if (apiKey) headers['x-api-key'] = apiKey;
  return {
    method: 'POST',
    url: `${baseUrl}${path}`,
    headers,
    body: JSON.stringify(body),
    timeoutMs: target.timeoutMs,
    ...(target.signal ? { signal: target.signal } : {}),
  };
}

function parseMessage(body: string): AnthropicResponse {
  const parsed = parseUpstreamJson(body, malformed);
  if (!isAnthropicResponse(parsed)) throw malformed('an answer without content or usage');
  return parsed;
}

/** Anthropic callers: their body with only the model replaced; the answer is theirs untouched. */
const anthropicPassthrough: PassthroughAdapter = {
  protocol: 'anthropic',

  buildRequest(target, native, config) {
    const body: Record<string, unknown> = { ...native.body, model: target.model.upstream_id };
    // As for translated requests: Anthropic's priority capacity is used when Sluice chose priority.
    if (target.tier === 'priority' && body.service_tier === undefined) body.service_tier = 'auto';
    return messagesRequest(target, config, target.promptCache ? target.promptCache.anthropic(body as Record<string, unknown> & AnthropicPrompt) : body, native.headers);
  },

  countTokens: {
    counts: () => true,
    buildRequest(target, native, config) {
      return messagesRequest(target, config, { ...native.body, model: target.model.upstream_id }, native.headers, '/v1/messages/count_tokens');
    },
    countField: 'input_tokens',
  },
};

// `satisfies` keeps the synchronous buildChatRequest visible to direct callers.
export const anthropicAdapter = {
  id: 'anthropic',

  missingCredentials(config) {
    const { apiKey, baseUrl } = config.providers.anthropic;
    if (!apiKey && new URL(baseUrl).hostname === 'api.anthropic.com') {
      return 'Sluice has no Anthropic credentials: set ANTHROPIC_API_KEY.';
    }
    return undefined;
  },

  buildChatRequest(target, config) {
    return messagesRequest(target, config, toAnthropicBody(target), {});
  },

  parseChatResponse(body, _target, nowMs) {
    const parsed = parseMessage(body);
    const usage = usageFromAnthropic(parsed.usage);
    let text: string | null = null;
    const toolCalls: NonNullable<ChatCompletion['choices'][number]['message']['tool_calls']> = [];
    for (const block of parsed.content) {
      if (block.type === 'text') text = (text ?? '') + (block.text as string);
      else if (block.type === 'tool_use') {
        toolCalls.push({ id: block.id as string, type: 'function', function: { name: block.name as string, arguments: JSON.stringify(block.input ?? {}) } });
      }
    }
    const completion: ChatCompletion = {
      id: parsed.id,
      object: 'chat.completion',
      created: Math.floor(nowMs / 1000),
      model: parsed.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}), refusal: null },
          finish_reason: parsed.stop_reason ? (FINISH_REASONS[parsed.stop_reason] ?? 'stop') : 'stop',
          logprobs: null,
        },
      ],
      usage: toOpenAIUsage(usage),
    };
    return { completion, usage, servedTier: tierFromAnthropic(parsed.usage.service_tier) };
  },

  createStreamDecoder(target, nowMs) {
    return new AnthropicStreamDecoder(target, nowMs);
  },

  parseError(status, body, headers): UpstreamFailure {
    let type = 'api_error';
    let message = body.slice(0, 500) || `HTTP ${status}`;
    try {
      const parsed = JSON.parse(body) as { error?: { type?: string; message?: string } };
      if (parsed.error) {
        type = parsed.error.type ?? type;
        message = parsed.error.message ?? message;
      }
    } catch {
      // Not JSON: keep the start of the body as the message.
    }
    return { status, type, message, retryAfter: headers['retry-after'] };
  },

  passthrough: anthropicPassthrough,
} satisfies ProviderAdapter;
