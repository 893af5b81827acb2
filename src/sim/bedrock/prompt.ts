/**
 * A Converse request as cacheable blocks in Bedrock's order (tools, system, messages). A
 * `cachePoint` block is not content: it marks the block before it as a breakpoint.
 */

import { isObject, isString, type JsonObject } from '../json';
import type { CacheBlock, CacheTtl } from '../prompt-cache';
import { IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, REFERENCED_FILE_TOKENS, inlineDataTokens } from '../prompt-rules';
import { countTokens } from '../tokenizer';
import { blockKind, type ConverseRequest } from './validate';

function mediaTokens(media: unknown): number {
  if (!isObject(media) || !isObject(media.source)) return REFERENCED_FILE_TOKENS;
  const { bytes, text, content } = media.source;
  if (isString(bytes)) return inlineDataTokens(bytes);
  if (isString(text)) return countTokens(text);
  if (Array.isArray(content)) return content.reduce((sum: number, part: unknown) => sum + (isObject(part) && isString(part.text) ? countTokens(part.text) : 0), 0);
  return REFERENCED_FILE_TOKENS;
}

/** Tokens of one content block; reasoning from earlier turns is not part of the prompt. */
function converseBlockTokens(block: JsonObject): number {
  const value = block[blockKind(block)];
  switch (blockKind(block)) {
    case 'text':
      return countTokens(String(value));
    case 'image':
      return IMAGE_TOKENS;
    case 'document':
    case 'video':
      return mediaTokens(value);
    case 'toolUse': {
      const use = value as JsonObject;
      return countTokens(String(use.name)) + countTokens(JSON.stringify(use.input ?? {}));
    }
    case 'toolResult': {
      const content = (value as JsonObject).content;
      if (!Array.isArray(content)) return 0;
      return content.reduce((sum: number, part: unknown) => {
        if (!isObject(part)) return sum;
        if (isString(part.text)) return sum + countTokens(part.text);
        if (part.json !== undefined) return sum + countTokens(JSON.stringify(part.json));
        return sum + converseBlockTokens(part);
      }, 0);
    }
    case 'guardContent': {
      const text = isObject(value) && isObject(value.text) ? value.text.text : '';
      return countTokens(String(text ?? ''));
    }
    case 'reasoningContent':
      return 0;
    default:
      return countTokens(JSON.stringify(value ?? null));
  }
}

function ttlOf(point: JsonObject): CacheTtl {
  return isObject(point.cachePoint) && point.cachePoint.ttl === '1h' ? '1h' : '5m';
}

export function hasCachePoints(request: ConverseRequest): boolean {
  const isPoint = (b: JsonObject): boolean => blockKind(b) === 'cachePoint';
  return request.toolEntries.some(isPoint) || request.system.some(isPoint) || request.messages.some((m) => m.content.some(isPoint));
}

export function converseBlocks(request: ConverseRequest, withIdentity: boolean): CacheBlock[] {
  const blocks: CacheBlock[] = [];
  const add = (prefix: string, block: JsonObject, tokens: number): void => {
    if (blockKind(block) === 'cachePoint') {
      const previous = blocks[blocks.length - 1];
      if (previous) previous.breakpoint = ttlOf(block);
      return;
    }
    blocks.push({ tokens, identity: withIdentity ? prefix + JSON.stringify(block) : '', breakpoint: null });
  };
  for (const entry of request.toolEntries) add('tool:', entry, countTokens(JSON.stringify(entry.toolSpec ?? entry)));
  for (const block of request.system) add('system:', block, converseBlockTokens(block));
  for (const message of request.messages) {
    let first = true;
    for (const block of message.content) {
      const framing = first && blockKind(block) !== 'cachePoint' ? MESSAGE_OVERHEAD_TOKENS : 0;
      add(first ? `${message.role}:start:` : `${message.role}:`, block, framing + converseBlockTokens(block));
      if (blockKind(block) !== 'cachePoint') first = false;
    }
  }
  return blocks;
}

/** Text of the final user turn (tool results excluded): in `auto` mode the tools it names get called. */
export function finalUserText(request: ConverseRequest): string {
  const last = request.messages[request.messages.length - 1];
  if (!last || last.role !== 'user') return '';
  return last.content
    .filter((b) => blockKind(b) === 'text')
    .map((b) => String(b.text))
    .join(' ');
}
