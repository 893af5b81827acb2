import type { ChatCompletion, ChatCompletionChunk } from '../../gateway/chat';
import type { Usage } from '../../gateway/usage';
import type { SluiceError } from '../../errors';
import { encodeEvent, encodeException } from '../../providers/eventstream';
import { usageFromOpenAI } from '../../providers/openai';

/**
 * Canonical answers rendered as Bedrock Converse answers, for Bedrock callers served by an
 * upstream that does not speak Converse (a pass-through needs none of this).
 */

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'content_filtered',
};

function stopReason(finishReason: string | null | undefined): string {
  return (finishReason && STOP_REASONS[finishReason]) ?? 'end_turn';
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

function toolInput(args: string): unknown {
  try {
    return JSON.parse(args === '' ? '{}' : args);
  } catch {
    return {};
  }
}

export function converseFromCompletion(completion: ChatCompletion, usage: Usage, latencyMs: number): Record<string, unknown> {
  const choice = completion.choices[0];
  const message = choice?.message;
  const content: Array<Record<string, unknown>> = [];
  const text = (message?.content ?? '') || (message?.refusal ?? '');
  const toolCalls = message?.tool_calls ?? [];
  if (text !== '' || toolCalls.length === 0) content.push({ text });
  for (const call of toolCalls) content.push({ toolUse: { toolUseId: call.id, name: call.function.name, input: toolInput(call.function.arguments) } });
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: stopReason(choice?.finish_reason),
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

type OpenBlock = { kind: 'text' } | { kind: 'tool'; toolIndex: number };

/**
 * Turns canonical chunks into ConverseStream events: messageStart, per content block its
 * deltas (tool blocks open with contentBlockStart) and contentBlockStop, messageStop, and
 * metadata with the usage.
 */
export class ConverseEventWriter {
  private started = false;
  private block: OpenBlock | undefined;
  private blockIndex = -1;
  private finishReason: string | null = null;
  private chunkUsage: Usage | undefined;

  constructor(private readonly latencyMs: () => number) {}

  chunk(chunk: ChatCompletionChunk): Uint8Array[] {
    const out = this.start();
    if (chunk.usage) this.chunkUsage = usageFromOpenAI(chunk.usage);
    const choice = chunk.choices[0];
    if (!choice) return out;
    const text = (choice.delta.content ?? '') + (choice.delta.refusal ?? '');
    if (text !== '') {
      if (this.block?.kind !== 'text') out.push(...this.open({ kind: 'text' }));
      out.push(encodeEvent('contentBlockDelta', { contentBlockIndex: this.blockIndex, delta: { text } }));
    }
    for (const call of choice.delta.tool_calls ?? []) {
      const current = this.block?.kind === 'tool' ? this.block.toolIndex : undefined;
      if (current !== call.index) {
        out.push(...this.open({ kind: 'tool', toolIndex: call.index }));
        out.push(encodeEvent('contentBlockStart', { contentBlockIndex: this.blockIndex, start: { toolUse: { toolUseId: call.id ?? '', name: call.function?.name ?? '' } } }));
      }
      const input = call.function?.arguments;
      if (input) out.push(encodeEvent('contentBlockDelta', { contentBlockIndex: this.blockIndex, delta: { toolUse: { input } } }));
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return out;
  }

  finish(usage: Usage | undefined): Uint8Array[] {
    const out = [...this.start(), ...this.close()];
    out.push(encodeEvent('messageStop', { stopReason: stopReason(this.finishReason) }));
    const final = usage ?? this.chunkUsage;
    out.push(encodeEvent('metadata', { usage: final ? converseUsage(final) : { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, metrics: { latencyMs: this.latencyMs() } }));
    return out;
  }

  private start(): Uint8Array[] {
    if (this.started) return [];
    this.started = true;
    return [encodeEvent('messageStart', { role: 'assistant' })];
  }

  private open(block: OpenBlock): Uint8Array[] {
    const out = this.close();
    this.block = block;
    this.blockIndex++;
    return out;
  }

  private close(): Uint8Array[] {
    if (!this.block) return [];
    this.block = undefined;
    return [encodeEvent('contentBlockStop', { contentBlockIndex: this.blockIndex })];
  }
}
