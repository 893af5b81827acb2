import { estimateTextTokens, planBreakpoints, type BreakpointPlan, type CacheTtl, type PlacementOptions, type PromptUnit, type PromptWalk } from './breakpoints';

/**
 * Bedrock Converse `cachePoint` blocks: a `{cachePoint: {type: "default"}}` block after the
 * content to cache, in `toolConfig.tools`, `system` or a message's `content`. Works on the
 * native Converse shape (ConverseStream is the same), so the Bedrock adapter and a Converse
 * pass-through can both use it; returns a new body (the input is not changed) and the plan.
 */

type Block = Record<string, unknown>;

export interface ConversePrompt {
  system?: Block[] | undefined;
  messages?: Array<{ role: string; content: Block[] } & Record<string, unknown>> | undefined;
  toolConfig?: ({ tools?: Block[] | undefined } & Record<string, unknown>) | undefined;
}

export interface ConversePlacementOptions extends PlacementOptions {
  /** Whether the model accepts cache points among the tools (Claude does, Nova does not). */
  toolsCacheable: boolean;
}

const MEDIA_TOKENS = 1600;

function cachePointTtl(block: Block): CacheTtl | undefined {
  const point = block.cachePoint;
  if (point === undefined || point === null || typeof point !== 'object') return undefined;
  return (point as { ttl?: unknown }).ttl === '1h' ? '1h' : '5m';
}

function blockTokens(block: Block): number {
  if (typeof block.text === 'string') return estimateTextTokens(block.text);
  if ('image' in block || 'document' in block || 'video' in block) return MEDIA_TOKENS;
  if ('reasoningContent' in block) return 0;
  return estimateTextTokens(JSON.stringify(block));
}

type Section = 'tools' | 'system' | 'messages';

interface Location {
  section: Section;
  message: number;
  /** Index of the unit's block in its array (cache points included). */
  block: number;
}

function walkConverse(prompt: ConversePrompt, toolsCacheable: boolean): { walk: PromptWalk; locations: Location[] } {
  const units: PromptUnit[] = [];
  const locations: Location[] = [];
  const addAll = (section: Section, message: number, blocks: readonly Block[], tag: string): number | undefined => {
    let lastCacheable: number | undefined;
    blocks.forEach((block, i) => {
      const ttl = cachePointTtl(block);
      if (ttl !== undefined) {
        // A cache point marks the end of the content before it.
        const previous = units[units.length - 1];
        if (previous) previous.callerTtl = ttl;
        return;
      }
      const isCacheable = section === 'tools' ? toolsCacheable : !('reasoningContent' in block);
      units.push({ tokens: blockTokens(block), identity: () => tag + JSON.stringify(block), callerTtl: null, cacheable: isCacheable });
      locations.push({ section, message, block: i });
      if (isCacheable) lastCacheable = units.length - 1;
    });
    return lastCacheable;
  };
  addAll('tools', -1, prompt.toolConfig?.tools ?? [], 'tool:');
  addAll('system', -1, prompt.system ?? [], 'system:');
  const prefixEnd = units.length > 0 ? units.length - 1 : undefined;
  const turnEnds: number[] = [];
  const messages = prompt.messages ?? [];
  messages.forEach((message, m) => {
    const end = addAll('messages', m, message.content, `${message.role}:`);
    if (m < messages.length - 1 && message.role === 'assistant' && messages[m + 1]?.role === 'user' && end !== undefined) turnEnds.push(end);
  });
  return { walk: { units, prefixEnd, turnEnds, automaticTtl: null }, locations };
}

function cachePoint(ttl: CacheTtl): Block {
  return { cachePoint: ttl === '1h' ? { type: 'default', ttl: '1h' } : { type: 'default' } };
}

function withPoints(blocks: readonly Block[], after: Map<number, CacheTtl>): Block[] {
  const out: Block[] = [];
  blocks.forEach((block, i) => {
    out.push(block);
    const ttl = after.get(i);
    if (ttl) out.push(cachePoint(ttl));
  });
  return out;
}

/** Places cache points (see src/cache/breakpoints.ts) on a Converse body; returns a new body and the plan. */
export function placeConverseCachePoints<P extends ConversePrompt>(prompt: P, options: ConversePlacementOptions): { prompt: P; plan: BreakpointPlan } {
  const { walk, locations } = walkConverse(prompt, options.toolsCacheable);
  const plan = planBreakpoints(walk, options);
  if (plan.placed.length === 0) return { prompt, plan };

  const bySection = new Map<string, Map<number, CacheTtl>>();
  for (const { unit, ttl } of plan.placed) {
    const where = locations[unit] as Location;
    const key = `${where.section}:${where.message}`;
    const points = bySection.get(key) ?? new Map<number, CacheTtl>();
    points.set(where.block, ttl);
    bySection.set(key, points);
  }
  const next: P = { ...prompt };
  const tools = bySection.get('tools:-1');
  if (tools && prompt.toolConfig?.tools) next.toolConfig = { ...prompt.toolConfig, tools: withPoints(prompt.toolConfig.tools, tools) };
  const system = bySection.get('system:-1');
  if (system && prompt.system) next.system = withPoints(prompt.system, system);
  if (prompt.messages) {
    next.messages = prompt.messages.map((message, m) => {
      const points = bySection.get(`messages:${m}`);
      return points ? { ...message, content: withPoints(message.content, points) } : message;
    });
  }
  return { prompt: next, plan };
}
