import type { CatalogModel } from '../catalog/catalog';
import type { ServiceTier } from '../catalog/types';
import { SluiceError } from '../errors';
import { contentText, jsonInstruction, parseToolArguments, type ChatCompletion, type ChatCompletionChunk, type ChatMessage, type ChatRequest, type ContentPart } from '../gateway/chat';
import { breakpointAt, budgetForEffort, effortForBudget, toolsBreakpoint, wholeMessageBreakpoint, type CacheBreakpoint, type ChatExtras } from '../gateway/extras';
import { toOpenAIUsage, type Usage } from '../gateway/usage';
import { EventStreamDecoder, type EventStreamMessage } from './eventstream';
import { parseUpstreamJson } from './json';
import { UpstreamStreamError } from './stream-error';
import type { ChatTarget, StreamDecoder, UpstreamFailure } from './types';

/**
 * The canonical request and answers ⇄ Bedrock's Converse API (one protocol for Nova, Claude,
 * Llama, Mistral and the rest): request body, answer, and ConverseStream events.
 */

export type ConverseBlock = Record<string, unknown>;
export interface ConverseMessage {
  role: 'user' | 'assistant';
  content: ConverseBlock[];
}

export interface ConverseUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
  cacheDetails?: Array<{ ttl?: string; inputTokens?: number }>;
}

/** Converse's inputTokens excludes cache reads and writes, as the ledger counts them. */
export function usageFromConverse(usage: ConverseUsage): Usage {
  const write = usage.cacheWriteInputTokens ?? 0;
  let write1h = 0;
  for (const detail of usage.cacheDetails ?? []) if (detail.ttl === '1h') write1h += detail.inputTokens ?? 0;
  return {
    inputTokens: usage.inputTokens ?? 0,
    cachedInputTokens: usage.cacheReadInputTokens ?? 0,
    cacheWriteTokens: write,
    cacheWrite1hTokens: Math.min(write, write1h),
    outputTokens: usage.outputTokens ?? 0,
    reasoningTokens: 0,
  };
}

export function tierFromConverse(serviceTier: unknown): ServiceTier {
  const type = (serviceTier as { type?: unknown } | undefined)?.type;
  if (type === 'flex') return 'flex';
  if (type === 'priority') return 'priority';
  return 'standard';
}

const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  content_filtered: 'content_filter',
  guardrail_intervened: 'content_filter',
};

export function finishReasonFromConverse(stopReason: unknown): string {
  return (typeof stopReason === 'string' && FINISH_REASONS[stopReason]) || 'stop';
}

function invalid(message: string, param: string): SluiceError {
  return new SluiceError('invalid_request', message, { param });
}

const IMAGE_FORMATS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };
const DOCUMENT_FORMATS: Record<string, string> = {
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'text/html': 'html',
  'text/markdown': 'md',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
};

function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mediaType: (match[1] ?? '').toLowerCase(), data: match[2] ?? '' } : undefined;
}

/** Bedrock document names allow letters, digits, single spaces, hyphens, parentheses and brackets. */
function documentName(filename: string | undefined, used: Set<string>): string {
  const base = (filename ?? '').replace(/\.[A-Za-z0-9]{1,5}$/, '').replace(/[^A-Za-z0-9\s\-()[\]]/g, '-').replace(/\s+/g, ' ').trim() || 'document';
  let name = base;
  for (let n = 2; used.has(name); n++) name = `${base} (${n})`;
  used.add(name);
  return name;
}

function cachePoint(breakpoint: CacheBreakpoint): ConverseBlock {
  return { cachePoint: { type: 'default', ...(breakpoint.ttl === '1h' ? { ttl: '1h' } : {}) } };
}

/** Builds Converse messages and system blocks from canonical messages. */
class ConverseBuilder {
  readonly system: ConverseBlock[] = [];
  readonly messages: ConverseMessage[] = [];
  private readonly documentNames = new Set<string>();

  constructor(
    private readonly extras: ChatExtras | undefined,
    /** Whether the model takes cache points at all. */
    private readonly caching: boolean,
  ) {}

  private part(part: ContentPart, param: string): ConverseBlock | undefined {
    switch (part.type) {
      case 'text':
        return part.text === '' ? undefined : { text: part.text };
      case 'refusal':
        return { text: part.refusal };
      case 'image_url': {
        const url = part.image_url.url;
        if (url.startsWith('s3://')) return { image: { format: imageFormatFromName(url, param), source: { s3Location: { uri: url } } } };
        const data = parseDataUrl(url);
        if (!data) throw invalid('Bedrock models take images as base64 data URLs or s3:// URIs, not http(s) links', `${param}.image_url.url`);
        const format = IMAGE_FORMATS[data.mediaType];
        if (!format) throw invalid(`Bedrock models take png, jpeg, gif or webp images, not ${data.mediaType}`, `${param}.image_url.url`);
        return { image: { format, source: { bytes: data.data } } };
      }
      case 'file': {
        const data = part.file.file_data === undefined ? undefined : parseDataUrl(part.file.file_data);
        if (!data) throw invalid('Bedrock models take files as base64 data URLs in file.file_data (file_id is OpenAI-only)', `${param}.file`);
        const format = DOCUMENT_FORMATS[data.mediaType];
        if (!format) throw invalid(`Bedrock models take pdf, csv, doc, docx, xls, xlsx, html, txt or md documents, not ${data.mediaType}`, `${param}.file`);
        return { document: { format, name: documentName(part.file.filename, this.documentNames), source: { bytes: data.data } } };
      }
      case 'input_audio':
        return { audio: { format: part.input_audio.format, source: { bytes: part.input_audio.data } } };
    }
  }

  /** Content blocks for message `index`, with a cachePoint after each block the caller marked. */
  private blocks(content: ChatMessage['content'] | null | undefined, index: number, param: string, endsMessage: boolean): ConverseBlock[] {
    if (content == null) return [];
    const parts: ContentPart[] = typeof content === 'string' ? [{ type: 'text', text: content }] : content;
    const blocks: ConverseBlock[] = [];
    parts.forEach((part, j) => {
      const block = this.part(part, `${param}[${j}]`);
      if (block) blocks.push(block);
      const breakpoint = this.breakpoint(part, index, j, endsMessage && j === parts.length - 1);
      if (breakpoint && blocks.length > 0) blocks.push(cachePoint(breakpoint));
    });
    return blocks;
  }

  /**
   * The breakpoint a caller set after a part: from the Anthropic or Bedrock front door (extras), or
   * as `cache_control` on the part itself, as OpenAI-compatible gateways accept it.
   */
  private breakpoint(part: ContentPart, index: number, j: number, lastPart: boolean): CacheBreakpoint | undefined {
    if (!this.caching) return undefined;
    const control = (part as { cache_control?: { ttl?: unknown } | null }).cache_control;
    if (control != null) return control.ttl === '1h' ? { message: index, ttl: '1h' } : { message: index };
    return breakpointAt(this.extras, index, j, lastPart);
  }

  private push(role: ConverseMessage['role'], blocks: ConverseBlock[]): void {
    if (blocks.length === 0) return;
    const last = this.messages[this.messages.length - 1];
    // Converse wants turns to alternate; consecutive same-role turns (tool results, then text) merge.
    if (last && last.role === role) last.content.push(...blocks);
    else this.messages.push({ role, content: blocks });
  }

  add(message: ChatMessage, index: number): void {
    const param = `messages[${index}].content`;
    switch (message.role) {
      case 'system':
      case 'developer': {
        const parts: ContentPart[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
        parts.forEach((part, j) => {
          if (part.type !== 'text' || !part.text) return;
          this.system.push({ text: part.text });
          const breakpoint = this.breakpoint(part, index, j, j === parts.length - 1);
          if (breakpoint) this.system.push(cachePoint(breakpoint));
        });
        break;
      }
      case 'user':
        this.push('user', this.blocks(message.content, index, param, true));
        break;
      case 'assistant': {
        const calls = message.tool_calls ?? [];
        const blocks = this.blocks(message.content, index, param, calls.length === 0);
        calls.forEach((call, j) => {
          blocks.push({ toolUse: { toolUseId: call.id, name: call.function.name, input: parseToolArguments(call.function.arguments, `messages[${index}].tool_calls[${j}].function.arguments`) } });
        });
        // A breakpoint on the message as a whole (no part) goes after its tool calls.
        const breakpoint = calls.length > 0 && this.caching ? wholeMessageBreakpoint(this.extras, index) : undefined;
        if (breakpoint) blocks.push(cachePoint(breakpoint));
        this.push('assistant', blocks);
        break;
      }
      case 'tool': {
        const blocks: ConverseBlock[] = [{ toolResult: { toolUseId: message.tool_call_id, content: [{ text: contentText(message.content) }] } }];
        const breakpoint = this.caching ? breakpointAt(this.extras, index, 0, true) : undefined;
        if (breakpoint) blocks.push(cachePoint(breakpoint));
        this.push('user', blocks);
        break;
      }
      case 'function':
        throw invalid('the deprecated "function" role is not supported for Bedrock models; use tools', `messages[${index}].role`);
    }
  }
}

function imageFormatFromName(url: string, param: string): string {
  const extension = /\.([a-z]+)$/i.exec(url)?.[1]?.toLowerCase();
  const format = extension === 'jpg' ? 'jpeg' : extension;
  if (format && Object.values(IMAGE_FORMATS).includes(format)) return format;
  throw invalid('an s3:// image URI must end in .png, .jpg, .jpeg, .gif or .webp', `${param}.image_url.url`);
}

function toolChoice(request: ChatRequest): Record<string, unknown> | undefined {
  const choice = request.tool_choice;
  if (choice == null || choice === 'none') return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  if (choice.type === 'function') return { tool: { name: (choice as { function: { name: string } }).function.name } };
  throw invalid(`tool_choice type "${choice.type}" is not supported for Bedrock models`, 'tool_choice');
}

export function isClaude(model: CatalogModel): boolean {
  return model.upstream_id.includes('anthropic.');
}

function isNova(model: CatalogModel): boolean {
  return model.upstream_id.includes('amazon.nova');
}

/** Model-specific request fields: thinking and top_k, in each model family's own words. */
function additionalFields(target: ChatTarget): Record<string, unknown> | undefined {
  const { model, extras } = target;
  const fields: Record<string, unknown> = {};
  // Thinking as an Anthropic or Bedrock caller asked for it (OpenAI's reasoning_effort stays OpenAI's).
  const asked = extras?.thinking;
  if (asked && model.capabilities.reasoning) {
    if (isClaude(model)) fields.thinking = { type: 'enabled', budget_tokens: asked.budgetTokens ?? budgetForEffort(asked.effort ?? 'medium') };
    else if (isNova(model)) fields.reasoningConfig = { type: 'enabled', maxReasoningEffort: asked.effort ?? effortForBudget(asked.budgetTokens ?? 0) };
  }
  if (extras?.topK !== undefined) {
    if (isClaude(model)) fields.top_k = extras.topK;
    else if (isNova(model)) fields.inferenceConfig = { topK: extras.topK };
  }
  return Object.keys(fields).length > 0 ? fields : undefined;
}

/** The Converse body for a canonical request (the model id goes in the URL). */
export function toConverseBody(target: ChatTarget): Record<string, unknown> {
  const { request, model, extras } = target;
  if ((request.n ?? 1) > 1) throw invalid('Bedrock models return one choice per request; n must be 1', 'n');
  if (request.logprobs) throw invalid('Bedrock models do not return logprobs', 'logprobs');
  const builder = new ConverseBuilder(extras, model.capabilities.prompt_caching);
  request.messages.forEach((message, i) => builder.add(message, i));
  if (builder.messages.length === 0) throw invalid('Bedrock models need at least one user or assistant message', 'messages');

  const body: Record<string, unknown> = { messages: builder.messages };
  const format = request.response_format;
  if (format?.type === 'json_schema' && model.capabilities.json_mode) {
    const schema = format.json_schema as { name: string; schema?: unknown; description?: string };
    body.outputConfig = { textFormat: { type: 'json_schema', structure: { jsonSchema: { name: schema.name, schema: JSON.stringify(schema.schema ?? {}) } } } };
  } else {
    const instruction = jsonInstruction(request);
    if (instruction) builder.system.push({ text: instruction });
  }
  if (builder.system.length > 0) body.system = builder.system;

  const inference: Record<string, unknown> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens != null) inference.maxTokens = maxTokens;
  // OpenAI's temperature runs 0..2, Bedrock's models take 0..1.
  if (request.temperature != null) inference.temperature = Math.min(1, request.temperature);
  if (request.top_p != null) inference.topP = request.top_p;
  if (request.stop != null) inference.stopSequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;

  if (request.tools?.length) {
    const tools: ConverseBlock[] = request.tools.map((tool) => ({
      toolSpec: {
        name: tool.function.name,
        ...(tool.function.description ? { description: tool.function.description } : {}),
        inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
        ...(tool.function.strict != null ? { strict: tool.function.strict } : {}),
      },
    }));
    // Of Bedrock's models only Claude caches the tool list (Nova caches system and messages).
    const breakpoint = model.capabilities.prompt_caching && isClaude(model) ? toolsBreakpoint(extras) : undefined;
    if (breakpoint) tools.push(cachePoint(breakpoint));
    const choice = toolChoice(request);
    body.toolConfig = { tools, ...(choice ? { toolChoice: choice } : {}) };
  }
  const additional = additionalFields(target);
  if (additional) body.additionalModelRequestFields = additional;
  if (target.tier === 'flex' || target.tier === 'priority') body.serviceTier = { type: target.tier };
  return body;
}

interface ConverseResponse {
  output?: { message?: { content?: ConverseBlock[] } };
  stopReason?: string;
  usage?: ConverseUsage;
  serviceTier?: unknown;
}

export function parseConverseResponse(body: string, malformed: (what: string) => SluiceError): ConverseResponse & { usage: ConverseUsage } {
  const response = parseUpstreamJson(body, malformed) as ConverseResponse;
  if (typeof response !== 'object' || response === null || typeof response.usage !== 'object' || response.usage === null) {
    throw malformed('an answer without usage');
  }
  return response as ConverseResponse & { usage: ConverseUsage };
}

export function completionFromConverse(response: ConverseResponse & { usage: ConverseUsage }, id: string, model: string, nowMs: number): { completion: ChatCompletion; usage: Usage } {
  const usage = usageFromConverse(response.usage);
  let text: string | null = null;
  const toolCalls: NonNullable<ChatCompletion['choices'][number]['message']['tool_calls']> = [];
  for (const block of response.output?.message?.content ?? []) {
    if (typeof block.text === 'string') text = (text ?? '') + block.text;
    const use = block.toolUse as { toolUseId: string; name: string; input?: unknown } | undefined;
    if (use) toolCalls.push({ id: use.toolUseId, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
  }
  const completion: ChatCompletion = {
    id,
    object: 'chat.completion',
    created: Math.floor(nowMs / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}), refusal: null },
        finish_reason: finishReasonFromConverse(response.stopReason),
        logprobs: null,
      },
    ],
    usage: toOpenAIUsage(usage),
  };
  return { completion, usage };
}

/** HTTP statuses of Bedrock's exceptions, for in-stream exceptions that have no status of their own. */
const EXCEPTION_STATUS: Record<string, number> = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  ServiceQuotaExceededException: 429,
  InternalServerException: 500,
  ModelStreamErrorException: 424,
  ServiceUnavailableException: 503,
};

/** `throttlingException` (a stream member) and `ThrottlingException` (a header value) name the same error. */
export function exceptionName(type: string): string {
  return type.charAt(0).toUpperCase() + type.slice(1);
}

export function statusOfException(type: string): number {
  return EXCEPTION_STATUS[exceptionName(type)] ?? 500;
}

function streamFailure(message: EventStreamMessage): UpstreamFailure {
  const headers = message.headers;
  const text = new TextDecoder().decode(message.payload);
  let detail = text;
  try {
    detail = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    // Not JSON: the payload is the message.
  }
  if (headers[':message-type'] === 'exception') {
    const type = exceptionName(String(headers[':exception-type'] ?? 'InternalServerException'));
    return { status: statusOfException(type), type, message: detail, retryAfter: undefined };
  }
  const code = String(headers[':error-code'] ?? 'InternalServerException');
  return { status: statusOfException(code), type: code, message: String(headers[':error-message'] ?? detail), retryAfter: undefined };
}

/** ConverseStream (AWS event-stream frames of JSON events) → canonical chunks. */
export class ConverseStreamDecoder implements StreamDecoder {
  usage: Usage | undefined;
  servedTier: ServiceTier = 'standard';
  readonly reportedInputTokens = undefined;
  outputChars = 0;
  outputEvents = 0;
  private readonly frames = new EventStreamDecoder();
  private readonly utf8 = new TextDecoder();
  private readonly created: number;
  /** Converse content-block index → OpenAI tool_calls index. */
  private readonly toolIndex = new Map<number, number>();

  constructor(
    private readonly id: string,
    private readonly model: string,
    nowMs: number,
    private readonly malformed: (what: string) => SluiceError,
  ) {
    this.created = Math.floor(nowMs / 1000);
  }

  push(bytes: Uint8Array): ChatCompletionChunk[] {
    let messages: EventStreamMessage[];
    try {
      messages = this.frames.push(bytes);
    } catch (error) {
      throw this.malformed(`a stream frame that could not be decoded (${(error as Error).message})`);
    }
    const chunks: ChatCompletionChunk[] = [];
    for (const message of messages) this.handle(message, chunks);
    return chunks;
  }

  end(): ChatCompletionChunk[] {
    return [];
  }

  private chunk(delta: ChatCompletionChunk['choices'][number]['delta'], finishReason: string | null = null): ChatCompletionChunk {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finishReason }] };
  }

  private handle(message: EventStreamMessage, chunks: ChatCompletionChunk[]): void {
    if (message.headers[':message-type'] !== 'event') throw new UpstreamStreamError(streamFailure(message));
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(this.utf8.decode(message.payload)) as Record<string, unknown>;
    } catch {
      throw this.malformed('a stream event that is not JSON');
    }
    switch (message.headers[':event-type']) {
      case 'messageStart':
        chunks.push(this.chunk({ role: 'assistant', content: '' }));
        break;
      case 'contentBlockStart': {
        const start = event.start as { toolUse?: { toolUseId: string; name: string } } | undefined;
        if (start?.toolUse) {
          const index = this.toolIndex.size;
          this.toolIndex.set(event.contentBlockIndex as number, index);
          this.outputChars += start.toolUse.name.length;
          this.outputEvents++;
          chunks.push(this.chunk({ tool_calls: [{ index, id: start.toolUse.toolUseId, type: 'function', function: { name: start.toolUse.name, arguments: '' } }] }));
        }
        break;
      }
      case 'contentBlockDelta': {
        const delta = event.delta as { text?: string; toolUse?: { input?: string }; reasoningContent?: unknown } | undefined;
        if (typeof delta?.text === 'string' && delta.text !== '') {
          this.outputChars += delta.text.length;
          this.outputEvents++;
          chunks.push(this.chunk({ content: delta.text }));
        } else if (delta?.toolUse?.input !== undefined) {
          const index = this.toolIndex.get(event.contentBlockIndex as number) ?? 0;
          this.outputChars += delta.toolUse.input.length;
          this.outputEvents++;
          chunks.push(this.chunk({ tool_calls: [{ index, function: { arguments: delta.toolUse.input } }] }));
        } else if (delta?.reasoningContent !== undefined) {
          this.outputEvents++;
        }
        break;
      }
      case 'messageStop':
        chunks.push(this.chunk({}, finishReasonFromConverse(event.stopReason)));
        break;
      case 'metadata': {
        this.usage = usageFromConverse((event.usage ?? {}) as ConverseUsage);
        this.servedTier = tierFromConverse(event.serviceTier);
        chunks.push({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: toOpenAIUsage(this.usage) });
        break;
      }
      default:
        // contentBlockStop and future event types carry nothing a chat chunk needs.
        break;
    }
  }
}
