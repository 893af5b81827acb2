import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/cache/hash';
import { ByteLru } from '../../src/cache/lru';
import { responseCachePlan } from '../../src/cache/policy';
import { CompletionAssembler, replayChunks } from '../../src/cache/replay';
import { responseCacheKey } from '../../src/cache/response-key';
import type { ChatCompletion, ChatRequest } from '../../src/gateway/chat';
import type { Principal } from '../../src/keys/keys';
import type { KeyPolicy } from '../../src/keys/policy';
import { attributeCacheHit } from '../../src/ledger/attribution';

const principal: Principal = {
  keyId: 'key_a',
  name: 'a',
  user: null,
  team: 'search',
  project: null,
  tags: {},
  allowedModels: [],
  allowedFamilies: [],
  policy: {},
};

const request = (fields: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], ...fields });

describe('response cache policy', () => {
  const plan = (policy: KeyPolicy, fields: Partial<ChatRequest>, hint?: 'use' | 'bypass' | 'refresh', who: Principal = principal) =>
    responseCachePlan(who, policy, request(fields), hint, 3600);

  it('by default caches only deterministic requests (temperature 0 or a seed)', () => {
    expect(plan({}, { temperature: 0 })).toEqual({ lookup: true, scope: 'key:key_a', ttlMs: 3_600_000 });
    expect(plan({}, { seed: 7, temperature: 0.7 })).toBeDefined();
    expect(plan({}, {})).toBeUndefined();
    expect(plan({}, { temperature: 0.2 })).toBeUndefined();
  });

  it('follows the key policy: off, always, and its TTL', () => {
    expect(plan({ response_cache: 'off' }, { temperature: 0 })).toBeUndefined();
    expect(plan({ response_cache: 'always', cache_ttl_s: 60 }, { temperature: 1 })).toEqual({ lookup: true, scope: 'key:key_a', ttlMs: 60_000 });
  });

  it('honours x-sluice-cache: use opts in, bypass opts out, refresh stores without looking', () => {
    expect(plan({}, { temperature: 1 }, 'use')).toMatchObject({ lookup: true });
    expect(plan({ response_cache: 'always' }, { temperature: 0 }, 'bypass')).toBeUndefined();
    expect(plan({}, { temperature: 0 }, 'refresh')).toMatchObject({ lookup: false });
  });

  it('shares within the team only when asked, and never wider', () => {
    expect(plan({ cache_scope: 'team' }, { temperature: 0 })?.scope).toBe('team:search');
    expect(plan({ cache_scope: 'team' }, { temperature: 0 }, undefined, { ...principal, team: null })?.scope).toBe('key:key_a');
  });
});

describe('response cache key', () => {
  it('is the same for the same request whatever the key order or delivery options', async () => {
    const a = await responseCacheKey('key:a', 'gpt-4o-mini', request({ temperature: 0, max_tokens: 50 }));
    const b = await responseCacheKey('key:a', 'gpt-4o-mini', { max_tokens: 50, messages: [{ content: 'Hi', role: 'user' }], temperature: 0, model: 'auto', stream: true, stream_options: { include_usage: true }, user: 'u1', metadata: { a: 'b' }, seed: null });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
  });

  it('differs by scope, served model and anything that changes the answer', async () => {
    const base = await responseCacheKey('key:a', 'gpt-4o-mini', request({ temperature: 0 }));
    expect(await responseCacheKey('key:b', 'gpt-4o-mini', request({ temperature: 0 }))).not.toBe(base);
    expect(await responseCacheKey('key:a', 'gpt-4o', request({ temperature: 0 }))).not.toBe(base);
    expect(await responseCacheKey('key:a', 'gpt-4o-mini', request({ temperature: 0, max_tokens: 5 }))).not.toBe(base);
    expect(await responseCacheKey('key:a', 'gpt-4o-mini', request({ temperature: 0, messages: [{ role: 'user', content: 'Hi!' }] }))).not.toBe(base);
    expect(await responseCacheKey('key:a', 'gpt-4o-mini', { ...request({ temperature: 0 }), some_future_knob: 1 } as ChatRequest)).not.toBe(base);
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
  });
});

const stored: ChatCompletion = {
  id: 'chatcmpl-original',
  object: 'chat.completion',
  created: 1_790_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  system_fingerprint: 'fp_1',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'Let me check.',
        refusal: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 },
};

describe('streamed replay', () => {
  it('replays a stored answer as chunks that reassemble into the same answer', () => {
    const chunks = [...replayChunks(stored, { id: 'chatcmpl-new', created: 1_790_000_100 })];
    expect(chunks.every((c) => c.id === 'chatcmpl-new' && c.object === 'chat.completion.chunk' && c.created === 1_790_000_100)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: stored.usage });
    const assembler = new CompletionAssembler();
    for (const chunk of chunks) assembler.push(chunk);
    expect(assembler.result()).toEqual({ ...stored, id: 'chatcmpl-new', created: 1_790_000_100 });
  });

  it('does not assemble a stream that never finished', () => {
    const assembler = new CompletionAssembler();
    const chunks = [...replayChunks(stored, { id: 'x', created: 1 })];
    for (const chunk of chunks.slice(0, 2)) assembler.push(chunk);
    expect(assembler.result()).toBeUndefined();
  });
});

describe('in-process LRU', () => {
  it('evicts the least recently used beyond its byte bound', () => {
    const lru = new ByteLru<string>(100);
    lru.set('a', 'A', 40);
    lru.set('b', 'B', 40);
    expect(lru.get('a')).toBe('A');
    lru.set('c', 'C', 40);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe('A');
    expect(lru.bytes).toBe(80);
    lru.set('huge', 'H', 101);
    expect(lru.get('huge')).toBeUndefined();
    expect(lru.size).toBe(2);
  });
});

describe('cache hit attribution', () => {
  it('costs nothing and splits the whole baseline so the levers add up', () => {
    const fill = { costNusd: 700, baselineCostNusd: 2000, routingSavingsNusd: 900, cachingSavingsNusd: 300, tierSavingsNusd: 100 };
    const hit = attributeCacheHit(fill);
    expect(hit).toEqual({ costNusd: 0, baselineCostNusd: 2000, routingSavingsNusd: 900, cachingSavingsNusd: 1000, tierSavingsNusd: 100 });
    expect(hit.routingSavingsNusd + hit.cachingSavingsNusd + hit.tierSavingsNusd).toBe(hit.baselineCostNusd - hit.costNusd);
    // What the hit adds over the fill's own caching saving is exactly the fill's cost.
    expect(hit.cachingSavingsNusd - fill.cachingSavingsNusd).toBe(fill.costNusd);
  });
});
