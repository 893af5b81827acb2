/**
 * The prompt of a chat-completions request as a token sequence: tools and the response schema
 * first (OpenAI renders them into the system context), then the messages, then the primed
 * assistant turn. The same walk counts tokens and, for long prompts, hashes prefixes for caching.
 */

import { isObject, isString, type JsonObject } from '../json';
import type { PromptSink } from '../prompt-cache';
import {
  IMAGE_TOKENS,
  IMAGE_TOKENS_LOW_DETAIL,
  MESSAGE_OVERHEAD_TOKENS,
  REFERENCED_FILE_TOKENS,
  REPLY_PRIMING_TOKENS,
  inlineDataTokens,
} from '../prompt-rules';
import type { ChatRequest } from './validate';

/** Feeds the prompt to `sink`; returns the audio tokens it contained (reported separately by OpenAI). */
export function walkChatPrompt(request: ChatRequest, sink: PromptSink): number {
  let audioTokens = 0;
  for (const fn of request.toolFunctions) sink.text(JSON.stringify(fn));
  if (request.formatSchemaText !== null) sink.text(request.formatSchemaText);

  for (const message of request.messages) {
    sink.special(`<|start|>${String(message.role)}`, MESSAGE_OVERHEAD_TOKENS);
    if (isString(message.name)) {
      sink.special('<|name|>', 1);
      sink.text(message.name);
    }
    const content = message.content;
    if (isString(content)) sink.text(content);
    else if (Array.isArray(content)) for (const part of content) audioTokens += walkPart(part as JsonObject, sink);
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        const fn = isObject(call) && isObject(call.function) ? call.function : {};
        sink.text(String(fn.name ?? ''));
        sink.text(String(fn.arguments ?? ''));
      }
    }
  }
  sink.special('<|start|>assistant', REPLY_PRIMING_TOKENS);
  return audioTokens;
}

function walkPart(part: JsonObject, sink: PromptSink): number {
  switch (part.type) {
    case 'text':
      sink.text(String(part.text));
      return 0;
    case 'refusal':
      sink.text(String(part.refusal));
      return 0;
    case 'image_url': {
      const image = part.image_url as JsonObject;
      sink.special(`image:${String(image.url)}`, image.detail === 'low' ? IMAGE_TOKENS_LOW_DETAIL : IMAGE_TOKENS);
      return 0;
    }
    case 'input_audio': {
      const data = String((part.input_audio as JsonObject).data);
      const tokens = inlineDataTokens(data);
      sink.special(`audio:${data.slice(0, 256)}:${data.length}`, tokens);
      return tokens;
    }
    case 'file': {
      const file = part.file as JsonObject;
      if (isString(file.file_data)) sink.special(`file:${file.file_data.slice(0, 256)}:${file.file_data.length}`, inlineDataTokens(file.file_data));
      else sink.special(`file:${String(file.file_id)}`, REFERENCED_FILE_TOKENS);
      return 0;
    }
    default:
      return 0;
  }
}

/** Text of the final message when it is a user message ('' otherwise): tools it names get called. */
export function finalUserText(messages: readonly JsonObject[]): string {
  const last = messages[messages.length - 1];
  if (!last || last.role !== 'user') return '';
  if (isString(last.content)) return last.content;
  if (!Array.isArray(last.content)) return '';
  return last.content.map((p: unknown) => (isObject(p) && isString(p.text) ? p.text : '')).join(' ');
}
