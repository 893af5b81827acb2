import type { ChatCompletion, ChatCompletionChunk } from '../gateway/chat';
import type { Usage } from '../gateway/usage';
import { usageFromOpenAI } from '../providers/openai';

/**
 * A canonical chunk stream seen as content blocks, the shape both the Messages and the
 * ConverseStream event sequences share: the answer starts, blocks (text, or one tool call each)
 * open, take deltas and close one after another, and the answer ends with a reason and usage.
 */
export type BlockEvent =
  | { type: 'start'; model: string }
  | { type: 'text-start'; index: number }
  | { type: 'tool-start'; index: number; id: string; name: string }
  | { type: 'text'; index: number; text: string }
  | { type: 'tool-input'; index: number; json: string }
  | { type: 'stop'; index: number }
  | { type: 'end'; finishReason: string | null; usage: Usage | undefined };

type OpenBlock = { kind: 'text' } | { kind: 'tool'; toolIndex: number };

export class ContentBlockSequencer {
  private started = false;
  private block: OpenBlock | undefined;
  private index = -1;
  private finishReason: string | null = null;
  private chunkUsage: Usage | undefined;

  chunk(chunk: ChatCompletionChunk): BlockEvent[] {
    const events = this.start(chunk.model);
    if (chunk.usage) this.chunkUsage = usageFromOpenAI(chunk.usage);
    const choice = chunk.choices[0];
    if (!choice) return events;
    const text = (choice.delta.content ?? '') + (choice.delta.refusal ?? '');
    if (text !== '') {
      if (this.block?.kind !== 'text') events.push(...this.open({ kind: 'text' }), { type: 'text-start', index: this.index });
      events.push({ type: 'text', index: this.index, text });
    }
    for (const call of choice.delta.tool_calls ?? []) {
      const current = this.block?.kind === 'tool' ? this.block.toolIndex : undefined;
      if (current !== call.index) {
        events.push(...this.open({ kind: 'tool', toolIndex: call.index }));
        events.push({ type: 'tool-start', index: this.index, id: call.id ?? '', name: call.function?.name ?? '' });
      }
      const json = call.function?.arguments;
      if (json) events.push({ type: 'tool-input', index: this.index, json });
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return events;
  }

  /** Closes the answer; `usage` is the upstream's exact usage when the pipeline has it. */
  finish(usage: Usage | undefined): BlockEvent[] {
    return [...this.start(''), ...this.close(), { type: 'end', finishReason: this.finishReason, usage: usage ?? this.chunkUsage }];
  }

  private start(model: string): BlockEvent[] {
    if (this.started) return [];
    this.started = true;
    return [{ type: 'start', model }];
  }

  private open(block: OpenBlock): BlockEvent[] {
    const events = this.close();
    this.block = block;
    this.index++;
    return events;
  }

  private close(): BlockEvent[] {
    if (!this.block) return [];
    this.block = undefined;
    return [{ type: 'stop', index: this.index }];
  }
}

/** A canonical finish reason as Messages and Converse both name it; they differ only on a content filter. */
export function stopReasonFor(finishReason: string | null | undefined, contentFiltered: string): string {
  switch (finishReason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return contentFiltered;
    default:
      return 'end_turn';
  }
}

export type AnswerBlock = { kind: 'text'; text: string } | { kind: 'tool'; id: string; name: string; input: Record<string, unknown> };

/** Tool arguments as an input object (both protocols want an object; a model's broken JSON becomes {}). */
function toolInput(args: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(args === '' ? '{}' : args);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A whole completion as content blocks: its text (present, if empty, when there is nothing else), then its tool calls. */
export function answerBlocks(completion: ChatCompletion): AnswerBlock[] {
  const message = completion.choices[0]?.message;
  const text = (message?.content ?? '') || (message?.refusal ?? '');
  const calls = message?.tool_calls ?? [];
  const blocks: AnswerBlock[] = text !== '' || calls.length === 0 ? [{ kind: 'text', text }] : [];
  for (const call of calls) blocks.push({ kind: 'tool', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  return blocks;
}
