import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { minCacheableTokens, promptCacheSession } from '../../src/cache/prompt-caching';
import { ResponseCache } from '../../src/cache/response-cache';
import { responseCache } from '../../src/cache/schema';
import { PromptCacheReturns } from '../../src/cache/write-return';
import { Catalog, SHIPPED_CATALOG } from '../../src/catalog/catalog';
import { parseConfig } from '../../src/config';
import { silentLogger } from '../../src/deps';
import type { ChatCompletion, ChatRequest } from '../../src/gateway/chat';
import type { Principal } from '../../src/keys/keys';
import { Metrics } from '../../src/ops/metrics';
import { anthropicAdapter } from '../../src/providers/anthropic';
import { openaiAdapter } from '../../src/providers/openai';
import type { ChatTarget } from '../../src/providers/types';
import { createTestDatabase } from '../helpers/db';

const catalog = new Catalog(SHIPPED_CATALOG);
const config = parseConfig({});
const clock = { now: () => Date.UTC(2026, 10, 25, 12) };
const principal: Principal = { keyId: 'key_a', name: 'a', user: null, team: 't', project: null, tags: {}, allowedModels: [], allowedFamilies: [], policy: {} };
const LONG = 'lorem ipsum dolor sit amet '.repeat(400);

function target(modelId: string, request: ChatRequest, withCaching = true): ChatTarget {
  const model = catalog.find(modelId)!;
  const session = withCaching ? promptCacheSession(new PromptCacheReturns(null as never, 'writer_test'), clock, principal, {}, model) : undefined;
  return { request, model, stream: false, tier: 'standard', timeoutMs: 1000, nowMs: clock.now(), ...(session ? { promptCache: session } : {}) };
}

function openaiBody(t: ChatTarget): Record<string, unknown> {
  return JSON.parse(openaiAdapter.buildChatRequest(t, config).body as string) as Record<string, unknown>;
}

describe('minimum cacheable length', () => {
  it('comes from the catalog, else from the documented minimum of the model line', () => {
    expect(minCacheableTokens(catalog.find('claude-opus-5')!)).toBe(512);
    expect(minCacheableTokens(catalog.find('claude-sonnet-5-5')!)).toBe(1024);
    expect(minCacheableTokens(catalog.find('claude-opus-5-5')!)).toBe(4096);
    expect(minCacheableTokens(catalog.find('claude-haiku-5-5')!)).toBe(4096);
    expect(minCacheableTokens(catalog.find('nova-lite')!)).toBe(1024);
  });
});

describe('OpenAI prompt_cache_key', () => {
  const request = (system: string, user = 'Question?'): ChatRequest => ({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });

  it('is set for long prompts, the same for requests sharing the stable prefix, and reveals nothing', () => {
    const a = openaiBody(target('gpt-4o-mini', request(LONG, 'One?')));
    const b = openaiBody(target('gpt-4o-mini', request(LONG, 'Two?')));
    expect(a.prompt_cache_key).toMatch(/^sluice-[0-9a-f]{14}$/);
    expect(b.prompt_cache_key).toBe(a.prompt_cache_key);
    expect(openaiBody(target('gpt-4o-mini', request(`${LONG} changed`))).prompt_cache_key).not.toBe(a.prompt_cache_key);
    // The prefix itself stays exactly as the caller sent it.
    expect(a.messages).toEqual(request(LONG, 'One?').messages);
  });

  it('groups a key’s traffic when the stable prefix is short, and leaves short prompts and the caller’s own key alone', () => {
    const longQuestion = openaiBody(target('gpt-4o-mini', request('Be brief.', LONG)));
    expect(longQuestion.prompt_cache_key).toMatch(/^sluice-/);
    expect(openaiBody(target('gpt-4o-mini', request('Be brief.', 'Hi'))).prompt_cache_key).toBeUndefined();
    const own = openaiBody(target('gpt-4o-mini', { ...request(LONG), prompt_cache_key: 'mine' } as ChatRequest));
    expect(own.prompt_cache_key).toBe('mine');
    expect(openaiBody(target('gpt-4o-mini', request(LONG), false)).prompt_cache_key).toBeUndefined();
  });

  it('is off when the key turns prompt caching off', () => {
    const model = catalog.find('gpt-4o-mini')!;
    expect(promptCacheSession(new PromptCacheReturns(null as never, 'writer_test'), clock, principal, { prompt_caching: false }, model)).toBeUndefined();
  });
});

describe('Anthropic translation with prompt caching', () => {
  it('marks the system prompt of a canonical request in the Messages body', () => {
    const upstream = anthropicAdapter.buildChatRequest(target('claude-sonnet-5-5', { model: 'claude-sonnet-5-5', messages: [{ role: 'system', content: LONG }, { role: 'user', content: 'Hi' }] }), config);
    const body = JSON.parse(upstream.body as string) as { system: Array<Record<string, unknown>>; messages: unknown[] };
    expect(body.system).toEqual([{ type: 'text', text: LONG, cache_control: { type: 'ephemeral' } }]);
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]);
  });
});

describe('response cache table bounds', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(() => database.cleanup());

  const completion = (text: string): ChatCompletion => ({
    id: 'c',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });

  it('answers a lookup as a miss when the table cannot be read', async () => {
    const broken = new Proxy(database.db, {
      get(target, prop, receiver) {
        if (prop === 'select') return () => { throw new Error('database is locked'); };
        return Reflect.get(target, prop, receiver);
      },
    });
    const cache = new ResponseCache(broken, clock, silentLogger, () => {}, { memoryBytes: 0, maxEntryBytes: 1000, maxTotalBytes: 1000 }, new Metrics());
    const lookup = await cache.lookup({ lookup: true, scope: 'key:a', ttlMs: 1000 }, 'gpt-4o-mini', { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: 'q' }] });
    expect(lookup.status).toBe('miss');
  });

  it('deletes expired entries and the least recently used beyond the size cap; skips oversized answers', async () => {
    let now = 1_000_000;
    const pending: Promise<unknown>[] = [];
    const cache = new ResponseCache(database.db, { now: () => now }, silentLogger, (p) => pending.push(p), { memoryBytes: 0, maxEntryBytes: 400, maxTotalBytes: 500 }, new Metrics());
    const fill = { costNusd: 10, baselineCostNusd: 10, routingSavingsNusd: 0, cachingSavingsNusd: 0, tierSavingsNusd: 0 };
    const plan = (ttlMs: number) => ({ lookup: true, scope: 'key:a', ttlMs });
    const request = (n: number): ChatRequest => ({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: `q${n}` }] });

    const keys: string[] = [];
    for (const [n, ttl] of [[1, 1000], [2, 60_000], [3, 60_000], [4, 60_000]] as const) {
      const lookup = await cache.lookup(plan(ttl), 'gpt-4o-mini', request(n));
      if (lookup.status !== 'miss') throw new Error('expected a miss');
      cache.store(lookup, completion(`answer ${n}`), 'standard', fill);
      keys.push(lookup.key);
      now += 10;
    }
    const oversized = await cache.lookup(plan(60_000), 'gpt-4o-mini', request(5));
    if (oversized.status !== 'miss') throw new Error('expected a miss');
    cache.store(oversized, completion('x'.repeat(500)), 'standard', fill);
    await Promise.all(pending);
    expect(await database.db.select().from(responseCache)).toHaveLength(4);

    // Time passes beyond entry 1's TTL; entries 2 and 4 were used recently, entry 3 longest ago.
    now += 2000;
    await database.db.update(responseCache).set({ lastUsedAt: now });
    await database.db.update(responseCache).set({ lastUsedAt: now - 500 }).where(eq(responseCache.key, keys[2]!));
    const sizes = (await database.db.select().from(responseCache)).map((r) => r.sizeBytes);
    expect(sizes.every((s) => s < 250)).toBe(true);
    const result = await cache.cleanup(now);
    expect(result.expired).toBe(1);
    // 3 live entries of ~200 bytes against a 500-byte cap: the least recently used one goes.
    expect(result.evicted).toBe(1);
    const left = (await database.db.select().from(responseCache)).map((r) => r.key).sort();
    expect(left).toEqual([keys[1], keys[3]].sort());
  });
});
