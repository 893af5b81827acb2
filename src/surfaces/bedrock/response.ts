import type { ChatCompletion, ChatCompletionChunk } from '../../gateway/chat';
import type { Usage } from '../../gateway/usage';
import type { SluiceError } from '../../errors';
import { encodeEvent, encodeException } from '../../providers/eventstream';
import { answerBlocks, ContentBlockSequencer, stopReasonFor, type BlockEvent } from '../content-blocks';

/**
 * Canonical answers rendered as Bedrock Converse answers, for Bedrock callers served by an
 * upstream that does not speak Converse (a pass-through needs none of this).
 */

function stopReason(finishReason: string | null | undefined): string {
  return stopReasonFor(finishReason, 'content_filtered');
}

/** The ledger's usage in Converse's shape: inputTokens excludes cache reads and writes. */
export function converseUsage(usage: Usage): Record<string, unknown> {
  const cached = usage.cachedInputTokens + usage.cacheWriteTokens;
  return {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    totalTokens: usage.inputTokens + cached + usage.outputTokens,
    ...(cached > 0 ? { cacheReadInputTokens: usage.cachedInputTokens, cacheWriteInputTokens: usage.cacheWriteTokens } : {}),
  };
}

export function converseFromCompletion(completion: ChatCompletion, usage: Usage, latencyMs: number): Record<string, unknown> {
  const content = answerBlocks(completion).map((block) =>
    block.kind === 'text' ? { text: block.text } : { toolUse: { toolUseId: block.id, name: block.name, input: block.input } },
  );
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: stopReason(completion.choices[0]?.finish_reason),
    usage: converseUsage(usage),
    metrics: { latencyMs },
  };
}

/** ConverseStream's modeled in-stream exceptions, by the status Sluice would have answered with. */
export function streamException(error: SluiceError): Uint8Array {
  const type =
    error.status === 429
      ? 'throttlingException'
      : error.status === 503 || error.status === 529
        ? 'serviceUnavailableException'
        : error.status === 400
          ? 'validationException'
          : 'internalServerException';
  return encodeException(type, error.message);
}

/**
 * Turns canonical chunks into ConverseStream events: messageStart, per content block its
 * deltas (tool blocks open with contentBlockStart) and contentBlockStop, messageStop, and
 * metadata with the usage.
 */
export class ConverseEventWriter {
  private readonly blocks = new ContentBlockSequencer();

  constructor(private readonly latencyMs: () => number) {}

  chunk(chunk: ChatCompletionChunk): Uint8Array[] {
    return this.render(this.blocks.chunk(chunk));
  }

  finish(usage: Usage | undefined): Uint8Array[] {
    return this.render(this.blocks.finish(usage));
  }

  private render(events: BlockEvent[]): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (const event of events) {
      switch (event.type) {
        case 'start':
          frames.push(encodeEvent('messageStart', { role: 'assistant' }));
          break;
        case 'text-start':
          // Converse opens only tool blocks explicitly; a text block starts with its first delta.
          break;
        case 'tool-start':
          frames.push(encodeEvent('contentBlockStart', { contentBlockIndex: event.index, start: { toolUse: { toolUseId: event.id, name: event.name } } }));
          break;
        case 'text':
          frames.push(encodeEvent('contentBlockDelta', { contentBlockIndex: event.index, delta: { text: event.text } }));
          break;
        case 'tool-input':
          frames.push(encodeEvent('contentBlockDelta', { contentBlockIndex: event.index, delta: { toolUse: { input: event.json } } }));
          break;
        case 'stop':
          frames.push(encodeEvent('contentBlockStop', { contentBlockIndex: event.index }));
          break;
        case 'end':
          frames.push(encodeEvent('messageStop', { stopReason: stopReason(event.finishReason) }));
          frames.push(
            encodeEvent('metadata', {
              usage: event.usage ? converseUsage(event.usage) : { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
              metrics: { latencyMs: this.latencyMs() },
            }),
          );
          break;
      }
    }
    return frames;
  }
}
