import type { ChatCompletion, ChatCompletionChunk } from '../../gateway/chat';
import type { Usage } from '../../gateway/usage';
import { usageFromOpenAI } from '../../providers/openai';
import { sseEventText } from '../../providers/sse';

/**
 * Canonical answers rendered as Anthropic Messages answers, for Anthropic callers served by an
 * upstream that does not speak Messages (a pass-through needs none of this).
 */

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

function stopReason(finishReason: string | null | undefined): string {
  return (finishReason && STOP_REASONS[finishReason]) ?? 'end_turn';
}

/** The ledger's usage in Anthropic's shape, where input_tokens excludes cache reads and writes alike. */
export function anthropicUsage(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    cache_creation: {
      ephemeral_5m_input_tokens: usage.cacheWriteTokens - usage.cacheWrite1hTokens,
      ephemeral_1h_input_tokens: usage.cacheWrite1hTokens,
    },
    output_tokens: usage.outputTokens,
  };
}

/** Tool arguments as a tool_use input object (Anthropic requires an object; a model's broken JSON becomes {}). */
function toolInput(args: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(args === '' ? '{}' : args);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function messageFromCompletion(completion: ChatCompletion, usage: Usage, id: string): Record<string, unknown> {
  const choice = completion.choices[0];
  const message = choice?.message;
  const content: Array<Record<string, unknown>> = [];
  const text = (message?.content ?? '') || (message?.refusal ?? '');
  const toolCalls = message?.tool_calls ?? [];
  if (text !== '' || toolCalls.length === 0) content.push({ type: 'text', text });
  for (const call of toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(usage),
  };
}

type OpenBlock = { kind: 'text' } | { kind: 'tool'; toolIndex: number };

/**
 * Turns canonical chunks into the Messages event sequence: message_start, then per content block
 * content_block_start / _delta... / _stop (a ping after the first start, as Anthropic sends it),
 * message_delta with the final usage, message_stop.
 */
export class MessagesEventWriter {
  private started = false;
  private block: OpenBlock | undefined;
  private blockIndex = -1;
  private pinged = false;
  private finishReason: string | null = null;
  private chunkUsage: Usage | undefined;

  constructor(
    private readonly id: string,
    private model: string,
  ) {}

  /** The events for one canonical chunk, as one SSE text. */
  chunk(chunk: ChatCompletionChunk): string {
    let out = this.start(chunk.model);
    if (chunk.usage) this.chunkUsage = usageFromOpenAI(chunk.usage);
    const choice = chunk.choices[0];
    if (!choice) return out;
    const delta = choice.delta;
    const text = (delta.content ?? '') + (delta.refusal ?? '');
    if (text !== '') {
      if (this.block?.kind !== 'text') out += this.open({ kind: 'text' }, { type: 'text', text: '' });
      out += this.event('content_block_delta', { type: 'content_block_delta', index: this.blockIndex, delta: { type: 'text_delta', text } });
    }
    for (const call of delta.tool_calls ?? []) {
      const current = this.block?.kind === 'tool' ? this.block.toolIndex : undefined;
      if (current !== call.index) {
        out += this.open({ kind: 'tool', toolIndex: call.index }, { type: 'tool_use', id: call.id ?? '', name: call.function?.name ?? '', input: {} });
      }
      const partial = call.function?.arguments;
      if (partial) out += this.event('content_block_delta', { type: 'content_block_delta', index: this.blockIndex, delta: { type: 'input_json_delta', partial_json: partial } });
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return out;
  }

  /** The closing events; `usage` is the upstream's exact usage when the pipeline has it. */
  finish(usage: Usage | undefined): string {
    let out = this.start(this.model) + this.close();
    const final = usage ?? this.chunkUsage;
    out += this.event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason(this.finishReason), stop_sequence: null },
      usage: final ? anthropicUsage(final) : { output_tokens: 0 },
    });
    out += this.event('message_stop', { type: 'message_stop' });
    return out;
  }

  private start(model: string): string {
    if (this.started) return '';
    this.started = true;
    this.model = model || this.model;
    return this.event('message_start', {
      type: 'message_start',
      message: {
        id: this.id,
        type: 'message',
        role: 'assistant',
        model: this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        // The upstream reports usage at the end; message_delta carries the whole count.
        usage: { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 },
      },
    });
  }

  private open(block: OpenBlock, contentBlock: Record<string, unknown>): string {
    let out = this.close();
    this.block = block;
    this.blockIndex++;
    out += this.event('content_block_start', { type: 'content_block_start', index: this.blockIndex, content_block: contentBlock });
    if (!this.pinged) {
      this.pinged = true;
      out += this.event('ping', { type: 'ping' });
    }
    return out;
  }

  private close(): string {
    if (!this.block) return '';
    this.block = undefined;
    return this.event('content_block_stop', { type: 'content_block_stop', index: this.blockIndex });
  }

  private event(name: string, data: unknown): string {
    return sseEventText(name, JSON.stringify(data));
  }
}
