/**
 * A Messages request as the cacheable sequence of blocks Anthropic documents: tools, then system
 * blocks, then message content blocks. Each block's token count follows the sim's prompt rules
 * (a message's framing is charged to its first block, so blocks add up to the whole prompt).
 */

import { isObject, isString, stringifyWithoutCacheControl, type JsonObject } from '../json';
import type { CacheBlock, CacheTtl } from '../prompt-cache';
import { IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, REFERENCED_FILE_TOKENS, inlineDataTokens } from '../prompt-rules';
import { countTokens } from '../tokenizer';
import type { MessagesRequest } from './validate';

function sourceTokens(source: unknown): number {
  if (!isObject(source)) return 0;
  switch (source.type) {
    case 'base64':
      return inlineDataTokens(String(source.data ?? ''));
    case 'text':
      return countTokens(String(source.data ?? ''));
    case 'content':
      return Array.isArray(source.content) ? source.content.reduce((sum: number, b: unknown) => sum + contentBlockTokens(b), 0) : 0;
    default:
      return REFERENCED_FILE_TOKENS;
  }
}

/** Tokens of one content block. Thinking from earlier turns is stripped from the context, as the API does. */
function contentBlockTokens(block: unknown): number {
  if (!isObject(block)) return 0;
  switch (block.type) {
    case 'text':
      return countTokens(String(block.text));
    case 'image':
      return IMAGE_TOKENS;
    case 'document':
      return sourceTokens(block.source);
    case 'tool_use':
      return countTokens(String(block.name)) + countTokens(JSON.stringify(block.input ?? {}));
    case 'tool_result':
      if (isString(block.content)) return countTokens(block.content);
      return Array.isArray(block.content) ? block.content.reduce((sum: number, b: unknown) => sum + contentBlockTokens(b), 0) : 0;
    case 'thinking':
    case 'redacted_thinking':
      return 0;
    default:
      return countTokens(stringifyWithoutCacheControl(block));
  }
}

function breakpointOf(block: JsonObject): CacheTtl | null {
  const control = block.cache_control;
  if (!isObject(control)) return null;
  return control.ttl === '1h' ? '1h' : '5m';
}

/**
 * The prompt's blocks in cache order. Identities (canonical JSON) are only computed when
 * `withIdentity` is set, i.e. when the request has breakpoints and the cache will look at them.
 */
export function promptBlocks(request: MessagesRequest, withIdentity: boolean): CacheBlock[] {
  const blocks: CacheBlock[] = [];
  const identity = (prefix: string, block: JsonObject): string => (withIdentity ? prefix + stringifyWithoutCacheControl(block) : '');
  for (const tool of request.rawTools) {
    blocks.push({ tokens: countTokens(stringifyWithoutCacheControl(tool)), identity: identity('tool:', tool), breakpoint: breakpointOf(tool) });
  }
  for (const block of request.system) {
    blocks.push({ tokens: countTokens(String(block.text)), identity: identity('system:', block), breakpoint: breakpointOf(block) });
  }
  for (const message of request.messages) {
    message.content.forEach((block, j) => {
      const framing = j === 0 ? MESSAGE_OVERHEAD_TOKENS : 0;
      const prefix = j === 0 ? `${message.role}:start:` : `${message.role}:`;
      blocks.push({ tokens: framing + contentBlockTokens(block), identity: identity(prefix, block), breakpoint: breakpointOf(block) });
    });
  }
  if (request.automaticCacheTtl) {
    const last = blocks[blocks.length - 1];
    if (last && !last.breakpoint) last.breakpoint = request.automaticCacheTtl;
  }
  return blocks;
}

export function hasBreakpoints(request: MessagesRequest): boolean {
  if (request.automaticCacheTtl) return true;
  if (request.rawTools.some((t) => t.cache_control) || request.system.some((b) => b.cache_control)) return true;
  return request.messages.some((m) => m.content.some((b) => b.cache_control));
}

/** Text of the final user turn (tool results excluded): in `auto` mode the tools it names get called. */
export function finalUserText(request: MessagesRequest): string {
  const last = request.messages[request.messages.length - 1];
  if (!last || last.role !== 'user') return '';
  return last.content
    .filter((b) => b.type === 'text')
    .map((b) => String(b.text))
    .join(' ');
}
