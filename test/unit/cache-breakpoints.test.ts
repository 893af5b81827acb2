import { describe, expect, it } from 'vitest';
import { placeAnthropicBreakpoints, type AnthropicPrompt } from '../../src/cache/anthropic-breakpoints';
import { MAX_BREAKPOINTS, type BreakpointCandidate } from '../../src/cache/breakpoints';
import { placeConverseCachePoints, type ConversePrompt } from '../../src/cache/converse-cache-points';

/** About `tokens` estimated tokens of text (four characters a token). */
function text(tokens: number, word = 'abc '): string {
  return word.repeat(tokens);
}

const LONG_SYSTEM = text(5000);
const OPTIONS = { minTokens: 1024, seed: 'claude-sonnet-5-5' };

type Block = Record<string, unknown>;

function breakpoints(prompt: AnthropicPrompt): Array<{ where: string; ttl: string }> {
  const found: Array<{ where: string; ttl: string }> = [];
  const note = (where: string, block: Block): void => {
    const control = block.cache_control as { ttl?: string } | undefined;
    if (control) found.push({ where, ttl: control.ttl ?? '5m' });
  };
  (prompt.tools ?? []).forEach((tool, i) => note(`tools.${i}`, tool));
  if (Array.isArray(prompt.system)) prompt.system.forEach((block, i) => note(`system.${i}`, block));
  prompt.messages.forEach((message, m) => {
    if (Array.isArray(message.content)) message.content.forEach((block, b) => note(`messages.${m}.${b}`, block));
  });
  return found;
}

function conversation(turns: number): AnthropicPrompt['messages'] {
  const messages: AnthropicPrompt['messages'] = [];
  for (let i = 0; i < turns; i++) {
    messages.push({ role: 'user', content: `question ${i} ${text(50)}` });
    messages.push({ role: 'assistant', content: [{ type: 'text', text: `answer ${i} ${text(50)}` }] });
  }
  messages.push({ role: 'user', content: 'the newest question' });
  return messages;
}

describe('Anthropic breakpoint placement', () => {
  it('caches a long system prompt and leaves the variable question alone', () => {
    const prompt: AnthropicPrompt = { system: LONG_SYSTEM, messages: [{ role: 'user', content: 'What is new?' }] };
    const { prompt: placed, plan } = placeAnthropicBreakpoints(prompt, OPTIONS);
    expect(breakpoints(placed)).toEqual([{ where: 'system.0', ttl: '5m' }]);
    expect(placed.system).toEqual([{ type: 'text', text: LONG_SYSTEM, cache_control: { type: 'ephemeral' } }]);
    expect(placed.messages).toBe(prompt.messages);
    expect(plan.placed).toHaveLength(1);
    expect(plan.placed[0]).toMatchObject({ slot: 'prefix', tokens: 5000 });
    // The input is not changed.
    expect(prompt.system).toBe(LONG_SYSTEM);
  });

  it('respects the minimum cacheable length', () => {
    const prompt: AnthropicPrompt = { system: text(1000), messages: [{ role: 'user', content: 'Hi' }] };
    const { prompt: placed, plan } = placeAnthropicBreakpoints(prompt, OPTIONS);
    expect(placed).toBe(prompt);
    expect(plan.placed).toEqual([]);
    expect(plan.candidates).toHaveLength(1);
    expect(placeAnthropicBreakpoints(prompt, { ...OPTIONS, minTokens: 1000 }).plan.placed).toHaveLength(1);
  });

  it('caches tools + system together at the end of the system prompt, and the tools alone when there is no system prompt', () => {
    const tools = [
      { name: 'a', description: text(800), input_schema: { type: 'object' } },
      { name: 'b', description: text(800), input_schema: { type: 'object' } },
    ];
    const withSystem = placeAnthropicBreakpoints({ tools, system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: 'Hi' }] }, OPTIONS);
    expect(breakpoints(withSystem.prompt)).toEqual([{ where: 'system.0', ttl: '5m' }]);
    const toolsOnly = placeAnthropicBreakpoints({ tools, messages: [{ role: 'user', content: 'Hi' }] }, OPTIONS);
    expect(breakpoints(toolsOnly.prompt)).toEqual([{ where: 'tools.1', ttl: '5m' }]);
    expect(toolsOnly.prompt.tools?.[0]).toBe(tools[0]);
  });

  it('caches the stable history of a conversation: before the final user turn and one turn earlier', () => {
    const prompt: AnthropicPrompt = { system: LONG_SYSTEM, messages: conversation(3) };
    const { prompt: placed, plan } = placeAnthropicBreakpoints(prompt, OPTIONS);
    expect(breakpoints(placed)).toEqual([
      { where: 'system.0', ttl: '5m' },
      { where: 'messages.3.0', ttl: '5m' },
      { where: 'messages.5.0', ttl: '5m' },
    ]);
    expect(plan.placed.map((p) => p.slot)).toEqual(['prefix', 'turn', 'turn']);
    // Each turn adds to the prefix: digests and sizes grow.
    const [system, previous, latest] = plan.placed;
    expect(previous!.tokens).toBeGreaterThan(system!.tokens);
    expect(latest!.tokens).toBeGreaterThan(previous!.tokens);
  });

  it('places the history breakpoint where the previous request of the conversation placed its newest one', () => {
    const first = placeAnthropicBreakpoints({ system: LONG_SYSTEM, messages: conversation(2) }, OPTIONS).plan;
    const next = placeAnthropicBreakpoints({ system: LONG_SYSTEM, messages: conversation(3) }, OPTIONS).plan;
    const newest = first.placed.at(-1)!;
    expect(next.placed.find((p) => p.slot === 'turn' && p.hash === newest.hash)).toBeDefined();
    // And the system prefix digest is the same across requests that share it.
    expect(next.placed[0]!.hash).toBe(first.placed[0]!.hash);
  });

  it('keeps the caller’s breakpoints and never exceeds four in total', () => {
    const messages = conversation(3);
    messages[0] = { role: 'user', content: [{ type: 'text', text: 'question 0', cache_control: { type: 'ephemeral' } }] };
    messages[2] = { role: 'user', content: [{ type: 'text', text: 'question 1', cache_control: { type: 'ephemeral' } }] };
    messages[6] = { role: 'user', content: [{ type: 'text', text: 'newest', cache_control: { type: 'ephemeral' } }] };
    const prompt: AnthropicPrompt = { system: LONG_SYSTEM, messages };
    const { prompt: placed, plan } = placeAnthropicBreakpoints(prompt, OPTIONS);
    const all = breakpoints(placed);
    expect(all).toHaveLength(MAX_BREAKPOINTS);
    expect(all.map((b) => b.where)).toEqual(['system.0', 'messages.0.0', 'messages.2.0', 'messages.6.0']);
    expect(plan.placed).toHaveLength(1);

    const full = { ...prompt, system: [{ type: 'text', text: LONG_SYSTEM, cache_control: { type: 'ephemeral' } }] };
    const unchanged = placeAnthropicBreakpoints(full, OPTIONS);
    expect(unchanged.prompt).toBe(full);
    expect(breakpoints(unchanged.prompt)).toHaveLength(MAX_BREAKPOINTS);
  });

  it('counts a top-level automatic cache_control as one of the four', () => {
    const messages = conversation(3);
    messages[0] = { role: 'user', content: [{ type: 'text', text: 'q', cache_control: { type: 'ephemeral' } }] };
    messages[2] = { role: 'user', content: [{ type: 'text', text: 'q', cache_control: { type: 'ephemeral' } }] };
    const { plan } = placeAnthropicBreakpoints({ system: LONG_SYSTEM, messages, cache_control: { type: 'ephemeral' } }, OPTIONS);
    expect(plan.placed).toHaveLength(1);
    expect(plan.placed[0]!.slot).toBe('prefix');
  });

  it('does not place a breakpoint where the caller already has one', () => {
    const prompt: AnthropicPrompt = { system: [{ type: 'text', text: LONG_SYSTEM, cache_control: { type: 'ephemeral', ttl: '1h' } }], messages: [{ role: 'user', content: 'Hi' }] };
    const { prompt: placed } = placeAnthropicBreakpoints(prompt, OPTIONS);
    expect(placed).toBe(prompt);
  });

  it('keeps TTLs in the order providers require: 1 hour never after 5 minutes', () => {
    const decideOneHour = (): '1h' => '1h';
    // The caller's 5-minute breakpoint comes first: ours after it are 5 minutes.
    const tools = [{ name: 'a', description: text(10), input_schema: {}, cache_control: { type: 'ephemeral' } }];
    const after5m = placeAnthropicBreakpoints({ tools, system: LONG_SYSTEM, messages: [{ role: 'user', content: 'Hi' }] }, { ...OPTIONS, decide: decideOneHour });
    expect(breakpoints(after5m.prompt)).toEqual([
      { where: 'tools.0', ttl: '5m' },
      { where: 'system.0', ttl: '5m' },
    ]);
    // A caller's 1-hour breakpoint later on: ours before it are 1 hour (no extra cost).
    const messages = conversation(1);
    messages[2] = { role: 'user', content: [{ type: 'text', text: 'newest', cache_control: { type: 'ephemeral', ttl: '1h' } }] };
    const before1h = placeAnthropicBreakpoints({ system: LONG_SYSTEM, messages }, OPTIONS);
    expect(breakpoints(before1h.prompt)).toEqual([
      { where: 'system.0', ttl: '1h' },
      { where: 'messages.1.0', ttl: '1h' },
      { where: 'messages.2.0', ttl: '1h' },
    ]);
  });

  it('asks the decision for every candidate and skips the declined ones', () => {
    const seen: BreakpointCandidate[] = [];
    const decide = (candidate: BreakpointCandidate) => {
      seen.push(candidate);
      return candidate.slot === 'prefix' ? ('1h' as const) : null;
    };
    const { prompt: placed } = placeAnthropicBreakpoints({ system: LONG_SYSTEM, messages: conversation(2) }, { ...OPTIONS, decide });
    expect(seen.map((c) => c.slot)).toEqual(['prefix', 'turn', 'turn']);
    expect(breakpoints(placed)).toEqual([{ where: 'system.0', ttl: '1h' }]);
  });

  it('never marks thinking or empty text blocks', () => {
    const messages: AnthropicPrompt['messages'] = [
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: [{ type: 'text', text: 'a1' }, { type: 'thinking', thinking: 'hmm', signature: 'x' }] },
      { role: 'user', content: 'q2' },
    ];
    const { prompt: placed } = placeAnthropicBreakpoints({ system: LONG_SYSTEM, messages }, OPTIONS);
    expect(breakpoints(placed)).toEqual([
      { where: 'system.0', ttl: '5m' },
      { where: 'messages.1.0', ttl: '5m' },
    ]);
  });
});

describe('Bedrock Converse cache points', () => {
  const system = [{ text: LONG_SYSTEM }];
  const tools = [{ toolSpec: { name: 'a', description: text(2000), inputSchema: { json: { type: 'object' } } } }];

  it('appends a cachePoint block after the system prompt', () => {
    const prompt: ConversePrompt = { system, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] };
    const { prompt: placed } = placeConverseCachePoints(prompt, { ...OPTIONS, toolsCacheable: true });
    expect(placed.system).toEqual([{ text: LONG_SYSTEM }, { cachePoint: { type: 'default' } }]);
    expect(prompt.system).toHaveLength(1);
  });

  it('caches tools only where the model allows it, and history turns in messages', () => {
    const messages = [
      { role: 'user', content: [{ text: 'q1' }] },
      { role: 'assistant', content: [{ text: `a1 ${text(50)}` }] },
      { role: 'user', content: [{ text: 'q2' }] },
    ];
    const claude = placeConverseCachePoints({ toolConfig: { tools }, messages }, { ...OPTIONS, toolsCacheable: true }).prompt;
    expect(claude.toolConfig?.tools).toEqual([...tools, { cachePoint: { type: 'default' } }]);
    expect(claude.messages?.[1]?.content).toEqual([{ text: `a1 ${text(50)}` }, { cachePoint: { type: 'default' } }]);
    const nova = placeConverseCachePoints({ toolConfig: { tools }, messages }, { ...OPTIONS, toolsCacheable: false }).prompt;
    expect(nova.toolConfig?.tools).toBe(tools);
    expect(nova.messages?.[1]?.content).toEqual([{ text: `a1 ${text(50)}` }, { cachePoint: { type: 'default' } }]);
  });

  it('keeps the caller’s cache points, counts them, and writes 1-hour points with a ttl', () => {
    const withPoint = [{ text: LONG_SYSTEM }, { cachePoint: { type: 'default' } }];
    const kept = placeConverseCachePoints({ system: withPoint, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }, { ...OPTIONS, toolsCacheable: true });
    expect(kept.plan.placed).toEqual([]);
    const oneHour = placeConverseCachePoints({ system, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }, { ...OPTIONS, toolsCacheable: true, decide: () => '1h' });
    expect(oneHour.prompt.system).toEqual([{ text: LONG_SYSTEM }, { cachePoint: { type: 'default', ttl: '1h' } }]);
  });
});
