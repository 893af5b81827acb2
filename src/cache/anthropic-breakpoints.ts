import { estimateTextTokens, planBreakpoints, type BreakpointPlan, type CacheTtl, type PlacementOptions, type PromptUnit, type PromptWalk } from './breakpoints';

/**
 * Anthropic `cache_control` breakpoints on a Messages body. Works on the native shape, so both
 * the chat-completions translation (src/providers/anthropic.ts) and a Messages pass-through can
 * use it: `placeAnthropicBreakpoints(body, options)` returns a new body (the input is not
 * changed) and what was placed.
 */

type Block = Record<string, unknown>;

/** The parts of a Messages body that caching looks at; other fields are carried through. */
export interface AnthropicPrompt {
  system?: string | Block[] | null | undefined;
  tools?: Block[] | null | undefined;
  messages: Array<{ role: string; content: string | Block[] } & Record<string, unknown>>;
  cache_control?: unknown;
}

/** Images and documents: roughly what Anthropic charges for a typical page or picture. */
const MEDIA_TOKENS = 1600;

function ttlOf(control: unknown): CacheTtl | null {
  if (control === null || typeof control !== 'object') return null;
  return (control as { ttl?: unknown }).ttl === '1h' ? '1h' : '5m';
}

function withoutCacheControl(block: Block): string {
  const { cache_control: _ignored, ...rest } = block;
  return JSON.stringify(rest);
}

function blockTokens(block: Block): number {
  switch (block.type) {
    case 'text':
      return estimateTextTokens(String(block.text ?? ''));
    case 'image':
      return MEDIA_TOKENS;
    case 'document': {
      const source = block.source as { type?: string; data?: unknown } | undefined;
      return source?.type === 'text' ? estimateTextTokens(String(source.data ?? '')) : MEDIA_TOKENS;
    }
    case 'thinking':
    case 'redacted_thinking':
      return 0;
    case 'tool_result':
      if (typeof block.content === 'string') return estimateTextTokens(block.content);
      if (Array.isArray(block.content)) return (block.content as Block[]).reduce((sum, b) => sum + blockTokens(b), 0);
      return 0;
    default:
      return estimateTextTokens(withoutCacheControl(block));
  }
}

function cacheable(block: Block): boolean {
  if (block.type === 'thinking' || block.type === 'redacted_thinking') return false;
  return !(block.type === 'text' && block.text === '');
}

function blocksOf(content: string | Block[] | null | undefined): Block[] {
  if (content == null) return [];
  return typeof content === 'string' ? (content === '' ? [] : [{ type: 'text', text: content }]) : content;
}

interface Location {
  section: 'tools' | 'system' | 'messages';
  message: number;
  block: number;
}

function walkAnthropic(prompt: AnthropicPrompt): { walk: PromptWalk; locations: Location[] } {
  const units: PromptUnit[] = [];
  const locations: Location[] = [];
  const add = (section: Location['section'], message: number, block: number, item: Block, tag: string): void => {
    units.push({
      tokens: section === 'tools' ? estimateTextTokens(withoutCacheControl(item)) : blockTokens(item),
      identity: () => tag + withoutCacheControl(item),
      callerTtl: ttlOf(item.cache_control),
      cacheable: section === 'tools' || cacheable(item),
    });
    locations.push({ section, message, block });
  };
  (prompt.tools ?? []).forEach((tool, i) => add('tools', -1, i, tool, 'tool:'));
  blocksOf(prompt.system).forEach((block, i) => add('system', -1, i, block, 'system:'));
  const prefixEnd = units.length > 0 ? units.length - 1 : undefined;

  const turnEnds: number[] = [];
  const lastMessage = prompt.messages.length - 1;
  prompt.messages.forEach((message, m) => {
    let lastCacheable: number | undefined;
    blocksOf(message.content).forEach((block, b) => {
      add('messages', m, b, block, `${message.role}${b === 0 ? ':start:' : ':'}`);
      if (cacheable(block)) lastCacheable = units.length - 1;
    });
    const next = prompt.messages[m + 1];
    if (m < lastMessage && message.role === 'assistant' && next?.role === 'user' && lastCacheable !== undefined) turnEnds.push(lastCacheable);
  });
  return { walk: { units, prefixEnd, turnEnds, automaticTtl: ttlOf(prompt.cache_control) }, locations };
}

function marked(block: Block, ttl: CacheTtl): Block {
  return { ...block, cache_control: ttl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' } };
}

/** Places breakpoints (see src/cache/breakpoints.ts) on a Messages body; returns a new body and the plan. */
export function placeAnthropicBreakpoints<P extends AnthropicPrompt>(prompt: P, options: PlacementOptions): { prompt: P; plan: BreakpointPlan } {
  const { walk, locations } = walkAnthropic(prompt);
  const plan = planBreakpoints(walk, options);
  if (plan.placed.length === 0) return { prompt, plan };

  const next: P = { ...prompt };
  let tools: Block[] | undefined;
  let system: Block[] | undefined;
  const messages = new Map<number, Block[]>();
  for (const { unit, ttl } of plan.placed) {
    const where = locations[unit] as Location;
    if (where.section === 'tools') {
      tools ??= [...(prompt.tools ?? [])];
      tools[where.block] = marked(tools[where.block] as Block, ttl);
    } else if (where.section === 'system') {
      system ??= [...blocksOf(prompt.system)];
      system[where.block] = marked(system[where.block] as Block, ttl);
    } else {
      const content = messages.get(where.message) ?? [...blocksOf(prompt.messages[where.message]?.content)];
      content[where.block] = marked(content[where.block] as Block, ttl);
      messages.set(where.message, content);
    }
  }
  if (tools) next.tools = tools;
  if (system) next.system = system;
  if (messages.size > 0) next.messages = prompt.messages.map((message, m) => (messages.has(m) ? { ...message, content: messages.get(m) as Block[] } : message));
  return { prompt: next, plan };
}
