import type { ChatCompletion, ChatCompletionChunk } from '../../gateway/chat';
import type { Usage } from '../../gateway/usage';
import { sseEventText } from '../../providers/sse';
import { answerBlocks, ContentBlockSequencer, stopReasonFor, type BlockEvent } from '../content-blocks';

/**
 * Canonical answers rendered as Anthropic Messages answers, for Anthropic callers served by an
 * upstream that does not speak Messages (a pass-through needs none of this).
 */

function stopReason(finishReason: string | null | undefined): string {
  return stopReasonFor(finishReason, 'refusal');
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

export function messageFromCompletion(completion: ChatCompletion, usage: Usage, id: string): Record<string, unknown> {
  const content = answerBlocks(completion).map((block) =>
    block.kind === 'text' ? { type: 'text', text: block.text } : { type: 'tool_use', id: block.id, name: block.name, input: block.input },
  );
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: stopReason(completion.choices[0]?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(usage),
  };
}

/**
 * Turns canonical chunks into the Messages event sequence: message_start, then per content block
 * content_block_start / _delta... / _stop (a ping after the first start, as Anthropic sends it),
 * message_delta with the final usage, message_stop.
 */
export class MessagesEventWriter {
  private readonly blocks = new ContentBlockSequencer();
  private pinged = false;

  constructor(private readonly id: string) {}

  /** The events for one canonical chunk, as one SSE text. */
  chunk(chunk: ChatCompletionChunk): string {
    return this.render(this.blocks.chunk(chunk));
  }

  /** The closing events; `usage` is the upstream's exact usage when the pipeline has it. */
  finish(usage: Usage | undefined): string {
    return this.render(this.blocks.finish(usage));
  }

  private render(events: BlockEvent[]): string {
    let out = '';
    const emit = (data: { type: string; [k: string]: unknown }): void => {
      out += sseEventText(data.type, JSON.stringify(data));
    };
    for (const event of events) {
      switch (event.type) {
        case 'start':
          emit({
            type: 'message_start',
            message: {
              id: this.id,
              type: 'message',
              role: 'assistant',
              model: event.model,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              // The upstream reports usage at the end; message_delta carries the whole count.
              usage: { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 },
            },
          });
          break;
        case 'text-start':
          emit({ type: 'content_block_start', index: event.index, content_block: { type: 'text', text: '' } });
          break;
        case 'tool-start':
          emit({ type: 'content_block_start', index: event.index, content_block: { type: 'tool_use', id: event.id, name: event.name, input: {} } });
          break;
        case 'text':
          emit({ type: 'content_block_delta', index: event.index, delta: { type: 'text_delta', text: event.text } });
          break;
        case 'tool-input':
          emit({ type: 'content_block_delta', index: event.index, delta: { type: 'input_json_delta', partial_json: event.json } });
          break;
        case 'stop':
          emit({ type: 'content_block_stop', index: event.index });
          break;
        case 'end':
          emit({
            type: 'message_delta',
            delta: { stop_reason: stopReason(event.finishReason), stop_sequence: null },
            usage: event.usage ? anthropicUsage(event.usage) : { output_tokens: 0 },
          });
          emit({ type: 'message_stop' });
          break;
      }
      if ((event.type === 'text-start' || event.type === 'tool-start') && !this.pinged) {
        this.pinged = true;
        emit({ type: 'ping' });
      }
    }
    return out;
  }
}
