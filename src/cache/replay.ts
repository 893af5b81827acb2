import type { ChatCompletion, ChatCompletionChunk } from '../gateway/chat';

type Choice = ChatCompletion['choices'][number];
type ChunkChoice = ChatCompletionChunk['choices'][number];
type ToolCall = NonNullable<Choice['message']['tool_calls']>[number];
type LogprobList = { content?: unknown[] | null; refusal?: unknown[] | null };

/** Identity of a replayed answer: a fresh id and time, the rest as stored. */
export interface ReplayIdentity {
  id: string;
  created: number;
}

/** A stored completion as served again: new id and creation time, same content and usage. */
export function replayCompletion(stored: ChatCompletion, identity: ReplayIdentity): ChatCompletion {
  return { ...stored, id: identity.id, created: identity.created };
}

/**
 * A stored completion as the canonical chunks an upstream stream would have produced: for each
 * choice a role chunk, its content (with logprobs), refusal and tool calls, and a finish chunk;
 * then the usage chunk (surfaces drop it for callers who did not ask for usage).
 */
export function* replayChunks(stored: ChatCompletion, identity: ReplayIdentity): Generator<ChatCompletionChunk> {
  const base = {
    id: identity.id,
    object: 'chat.completion.chunk' as const,
    created: identity.created,
    model: stored.model,
    ...(stored.service_tier === undefined ? {} : { service_tier: stored.service_tier }),
    ...(stored.system_fingerprint === undefined ? {} : { system_fingerprint: stored.system_fingerprint }),
  };
  const chunk = (choice: ChunkChoice): ChatCompletionChunk => ({ ...base, choices: [choice] });
  for (const choice of stored.choices) {
    const { index } = choice;
    const { content, refusal, tool_calls: toolCalls } = choice.message;
    yield chunk({ index, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null });
    const logprobs = choice.logprobs as LogprobList | null | undefined;
    if (content) yield chunk({ index, delta: { content }, finish_reason: null, logprobs: logprobs?.content ? { content: logprobs.content, refusal: null } : null });
    if (refusal) yield chunk({ index, delta: { refusal }, finish_reason: null, logprobs: logprobs?.refusal ? { content: null, refusal: logprobs.refusal } : null });
    for (const [position, call] of (toolCalls ?? []).entries()) {
      yield chunk({
        index,
        delta: { tool_calls: [{ index: position, id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments } }] },
        finish_reason: null,
      });
    }
    yield chunk({ index, delta: {}, finish_reason: choice.finish_reason ?? 'stop', logprobs: null });
  }
  yield { ...base, choices: [], usage: stored.usage ?? null };
}

interface ChoiceDraft {
  content: string | null;
  refusal: string | null;
  toolCalls: ToolCall[];
  finishReason: string | null;
  logprobContent: unknown[] | null;
  logprobRefusal: unknown[] | null;
}

/**
 * Rebuilds the completion a stream delivered, so a streamed answer can be stored and later
 * served to streaming and non-streaming callers alike. `result()` is undefined unless every
 * choice finished and usage was reported: a cut-off stream is never stored.
 */
export class CompletionAssembler {
  private readonly choices = new Map<number, ChoiceDraft>();
  private first: ChatCompletionChunk | undefined;
  private usage: ChatCompletionChunk['usage'];

  push(chunk: ChatCompletionChunk): void {
    this.first ??= chunk;
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices) {
      let draft = this.choices.get(choice.index);
      if (!draft) {
        draft = { content: null, refusal: null, toolCalls: [], finishReason: null, logprobContent: null, logprobRefusal: null };
        this.choices.set(choice.index, draft);
      }
      const { delta } = choice;
      if (typeof delta.content === 'string' && delta.content !== '') draft.content = (draft.content ?? '') + delta.content;
      if (typeof delta.refusal === 'string' && delta.refusal !== '') draft.refusal = (draft.refusal ?? '') + delta.refusal;
      for (const call of delta.tool_calls ?? []) {
        const existing = draft.toolCalls[call.index];
        if (existing) existing.function.arguments += call.function?.arguments ?? '';
        else {
          draft.toolCalls[call.index] = {
            id: call.id ?? '',
            type: 'function',
            function: { name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' },
          };
        }
      }
      const logprobs = choice.logprobs as LogprobList | null | undefined;
      if (logprobs?.content) draft.logprobContent = [...(draft.logprobContent ?? []), ...logprobs.content];
      if (logprobs?.refusal) draft.logprobRefusal = [...(draft.logprobRefusal ?? []), ...logprobs.refusal];
      if (choice.finish_reason) draft.finishReason = choice.finish_reason;
    }
  }

  result(): ChatCompletion | undefined {
    const first = this.first;
    if (!first || !this.usage || this.choices.size === 0) return undefined;
    const choices: Choice[] = [];
    for (const [index, draft] of [...this.choices].sort(([a], [b]) => a - b)) {
      if (draft.finishReason === null) return undefined;
      const logprobs = draft.logprobContent || draft.logprobRefusal ? { content: draft.logprobContent, refusal: draft.logprobRefusal } : null;
      choices.push({
        index,
        message: {
          role: 'assistant',
          content: draft.content,
          refusal: draft.refusal,
          ...(draft.toolCalls.length > 0 ? { tool_calls: draft.toolCalls.filter(Boolean) } : {}),
        },
        finish_reason: draft.finishReason,
        logprobs,
      });
    }
    return {
      id: first.id,
      object: 'chat.completion',
      created: first.created,
      model: first.model,
      choices,
      usage: this.usage,
      ...(first.service_tier == null ? {} : { service_tier: first.service_tier }),
      ...(first.system_fingerprint == null ? {} : { system_fingerprint: first.system_fingerprint }),
    };
  }
}
