import { eq } from 'drizzle-orm';
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cacheCleanupJob } from '../../src/cache/jobs';
import { responseCache } from '../../src/cache/schema';
import type { CachingReport } from '../../src/cache/report';
import { nusd, startHarness, type Harness } from '../helpers/harness';

const MINUTE = 60_000;
const clock = { t: Date.UTC(2026, 10, 25, 9, 0, 0), now: () => clock.t };

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ clock, sim: { now: () => clock.t } });
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.sim.reset();
  clock.t += 2 * 60 * MINUTE;
});

async function client(input: Record<string, unknown> = {}): Promise<{ id: string; client: OpenAI }> {
  const created = await h.createKey({ name: 'caching', ...input });
  return { id: created.id, client: h.openai(created.key) };
}

const QUESTION: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming = {
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [
    { role: 'system', content: 'Answer in one sentence.' },
    { role: 'user', content: 'Why is the sky blue?' },
  ],
};

/**
 * The ledger row of the request that got this response (found by request id: rows written in the
 * same millisecond of the test clock have no order). Streams record when they end, so it waits.
 */
async function eventOf(response: Response) {
  const requestId = response.headers.get('x-sluice-request-id');
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = (await h.events()).find((e) => e.request_id === requestId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ledger row for ${requestId}`);
}

async function ask(c: OpenAI, headers: Record<string, string> = {}, body = QUESTION) {
  const { data, response } = await c.chat.completions.create(body, { headers }).withResponse();
  return { data, cache: response.headers.get('x-sluice-cache'), headers: response.headers, event: () => eventOf(response) };
}

describe('response cache', () => {
  it('serves a repeated deterministic request from the cache at zero cost, saving what the first call cost', async () => {
    const { client: c, id } = await client();
    const first = await ask(c);
    expect(first.cache).toBe('miss');
    const filled = await first.event();
    const usage = first.data.usage!;
    const fillCost = nusd(usage.prompt_tokens, 0.15) + nusd(usage.completion_tokens, 0.6);
    expect(filled).toMatchObject({ cache: 'miss', cost_nusd: fillCost, baseline_cost_nusd: fillCost });

    clock.t += 1000;
    const second = await ask(c);
    expect(second.cache).toBe('hit');
    expect(h.sim.stats().requests).toBe(1);
    expect(second.data.choices).toEqual(first.data.choices);
    expect(second.data.usage).toEqual(first.data.usage);
    expect(second.data.id).not.toBe(first.data.id);
    expect(second.headers.get('x-sluice-cost-usd')).toBe('0.000000000');
    expect(second.headers.get('x-sluice-cache-saved-usd')).toBe((fillCost / 1e9).toFixed(9));
    expect(second.headers.get('x-sluice-model')).toBe('gpt-4o-mini');

    const hit = await second.event();
    expect(hit).toMatchObject({
      cache: 'hit',
      status: 'ok',
      served_model: 'gpt-4o-mini',
      cost_nusd: 0,
      baseline_cost_nusd: fillCost,
      savings_nusd: { routing: 0, caching: fillCost, tier: 0 },
      input_tokens: 0,
      output_tokens: 0,
    });
    // The time of the hit reaches the table with the ledger's batch (eviction goes by it).
    const [entry] = await h.gateway.sluice.services.deps.db.select().from(responseCache).where(eq(responseCache.scope, `key:${id}`));
    expect(entry).toMatchObject({ lastUsedAt: clock.t, model: 'gpt-4o-mini', fillCostNusd: fillCost });
  });

  it('replays a cached answer as a well-formed stream through the official client', async () => {
    const { client: c } = await client();
    const body = { ...QUESTION, messages: [{ role: 'user' as const, content: 'Tell me a short story.' }] };
    // Filled by a streamed answer...
    const filling = await c.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }).withResponse();
    let filledText = '';
    let filledUsage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of filling.data) {
      filledText += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) filledUsage = chunk.usage;
    }
    expect((await eventOf(filling.response)).cache).toBe('miss');

    // ...replayed to a streaming caller who asked for usage,
    const { data: replay, response } = await c.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }).withResponse();
    expect(response.headers.get('x-sluice-cache')).toBe('hit');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    let role: string | undefined;
    for await (const chunk of replay) {
      expect(chunk.object).toBe('chat.completion.chunk');
      role ??= chunk.choices[0]?.delta.role;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(role).toBe('assistant');
    expect(text).toBe(filledText);
    expect(finish).toBe('stop');
    expect(usage).toEqual(filledUsage);

    // ...to one who did not (no usage chunk),
    let sawUsage = false;
    const quiet = await c.chat.completions.create({ ...body, stream: true }).withResponse();
    for await (const chunk of quiet.data) if (chunk.usage) sawUsage = true;
    expect(sawUsage).toBe(false);

    // ...and to a non-streaming caller.
    const plain = await ask(c, {}, body);
    expect(plain.cache).toBe('hit');
    expect(plain.data.choices[0]?.message.content).toBe(filledText);
    expect(h.sim.stats().requests).toBe(1);
    const events = [await eventOf(response), await eventOf(quiet.response), await plain.event()];
    expect(events.map((e) => [e.cache, e.stream, e.cost_nusd])).toEqual([
      ['hit', true, 0],
      ['hit', true, 0],
      ['hit', false, 0],
    ]);
  });

  it('replays tool calls in a stream', async () => {
    const { client: c } = await client();
    const body: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming = {
      model: 'gpt-4o-mini',
      temperature: 0,
      messages: [{ role: 'user', content: 'What is the weather in Paris and in Rome?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: 'required',
    };
    const filled = await ask(c, {}, body);
    const expected = filled.data.choices[0]!.message.tool_calls!;
    const stream = c.chat.completions.stream({ ...body, stream: true });
    const replayed = await stream.finalChatCompletion();
    expect(replayed.choices[0]?.finish_reason).toBe('tool_calls');
    expect(replayed.choices[0]?.message.tool_calls?.map((t) => (t.type === 'function' ? [t.id, t.function.name, t.function.arguments] : []))).toEqual(
      expected.map((t) => (t.type === 'function' ? [t.id, t.function.name, t.function.arguments] : [])),
    );
    expect(h.sim.stats().requests).toBe(1);
  });

  it('never serves one key’s answer to another; team scope shares within the team only', async () => {
    const a = await client({ team: 'red' });
    const b = await client({ team: 'red' });
    await ask(a.client);
    expect((await ask(b.client)).cache).toBe('miss');
    expect(h.sim.stats().requests).toBe(2);

    const teamBody = { ...QUESTION, messages: [{ role: 'user' as const, content: 'Shared within the team?' }] };
    const red1 = await client({ team: 'red', policy: { cache_scope: 'team' } });
    const red2 = await client({ team: 'red', policy: { cache_scope: 'team' } });
    const redOwn = await client({ team: 'red' });
    const blue = await client({ team: 'blue', policy: { cache_scope: 'team' } });
    const loner = await client({ policy: { cache_scope: 'team' } });
    expect((await ask(red1.client, {}, teamBody)).cache).toBe('miss');
    expect((await ask(red2.client, {}, teamBody)).cache).toBe('hit');
    expect((await ask(redOwn.client, {}, teamBody)).cache).toBe('miss');
    expect((await ask(blue.client, {}, teamBody)).cache).toBe('miss');
    expect((await ask(loner.client, {}, teamBody)).cache).toBe('miss');
    const hit = (await h.events()).find((e) => e.key_id === red2.id)!;
    expect(hit).toMatchObject({ cache: 'hit', team: 'red', cost_nusd: 0 });
  });

  it('honours x-sluice-cache: bypass (neither read nor stored) and refresh (stored again, not read)', async () => {
    const { client: c, id } = await client();
    const bypassed = await ask(c, { 'x-sluice-cache': 'bypass' });
    expect(bypassed.cache).toBe('bypass');
    expect((await bypassed.event()).cache).toBe('bypass');
    const db = h.gateway.sluice.services.deps.db;
    expect(await db.select().from(responseCache).where(eq(responseCache.scope, `key:${id}`))).toHaveLength(0);

    expect((await ask(c)).cache).toBe('miss');
    expect((await ask(c, { 'x-sluice-cache': 'bypass' })).cache).toBe('bypass');
    expect(h.sim.stats().requests).toBe(3);
    await h.events();
    const [stored] = await db.select().from(responseCache).where(eq(responseCache.scope, `key:${id}`));
    expect(stored?.createdAt).toBe(clock.t);

    clock.t += MINUTE;
    expect((await ask(c, { 'x-sluice-cache': 'refresh' })).cache).toBe('miss');
    expect(h.sim.stats().requests).toBe(4);
    await h.events();
    const [refreshed] = await db.select().from(responseCache).where(eq(responseCache.scope, `key:${id}`));
    expect(refreshed?.createdAt).toBe(clock.t);
    expect((await ask(c)).cache).toBe('hit');
    expect(h.sim.stats().requests).toBe(4);
  });

  it('never stores a request that opts out, by header or by policy', async () => {
    const { client: c, id } = await client({ policy: { response_cache: 'off' } });
    expect((await ask(c)).cache).toBe('bypass');
    expect((await ask(c)).cache).toBe('bypass');
    const db = h.gateway.sluice.services.deps.db;
    await h.events();
    expect(await db.select().from(responseCache).where(eq(responseCache.scope, `key:${id}`))).toHaveLength(0);
    expect(h.sim.stats().requests).toBe(2);
  });

  it('does not cache non-deterministic requests unless asked to', async () => {
    const { client: c } = await client();
    const creative = { ...QUESTION, temperature: 0.8 };
    expect((await ask(c, {}, creative)).cache).toBe('bypass');
    expect((await ask(c, {}, creative)).cache).toBe('bypass');
    expect((await ask(c, { 'x-sluice-cache': 'use' }, creative)).cache).toBe('miss');
    expect((await ask(c, { 'x-sluice-cache': 'use' }, creative)).cache).toBe('hit');
    const always = await client({ policy: { response_cache: 'always' } });
    expect((await ask(always.client, {}, creative)).cache).toBe('miss');
    expect((await ask(always.client, {}, creative)).cache).toBe('hit');
    // A seed makes a request deterministic too.
    expect((await ask(c, {}, { ...creative, seed: 42 })).cache).toBe('miss');
    expect((await ask(c, {}, { ...creative, seed: 42 })).cache).toBe('hit');
  });

  it('expires entries after the policy TTL, and the cache job deletes them', async () => {
    const { client: c, id } = await client({ policy: { cache_ttl_s: 60 } });
    expect((await ask(c)).cache).toBe('miss');
    clock.t += 59_000;
    expect((await ask(c)).cache).toBe('hit');
    clock.t += 2_000;
    expect((await ask(c)).cache).toBe('miss');
    await h.events();
    clock.t += 61_000;
    const summary = await cacheCleanupJob.run(h.gateway.sluice.services, clock.t);
    expect(summary).toMatch(/^[1-9]\d* expired/);
    const db = h.gateway.sluice.services.deps.db;
    expect(await db.select().from(responseCache).where(eq(responseCache.scope, `key:${id}`))).toHaveLength(0);
  });

  it('rejects an unknown x-sluice-cache value in the caller’s protocol', async () => {
    const { client: c } = await client();
    await expect(c.chat.completions.create(QUESTION, { headers: { 'x-sluice-cache': 'sometimes' } })).rejects.toMatchObject({
      status: 400,
      error: { type: 'invalid_request_error', param: 'x-sluice-cache' },
    });
  });
});

/** Exactly `tokens` tokens under the sim's tokenizer (one token per short word). */
function prompt(tokens: number, word: string): string {
  return Array.from({ length: tokens }, () => word).join(' ');
}

describe('Anthropic prompt caching through the OpenAI front door', () => {
  const SONNET = { input: 2, read: 0.1, write5m: 2.5, write1h: 4, output: 10 };

  function expectedCost(e: { input_tokens: number; cached_input_tokens: number; cache_write_tokens: number; cache_write_1h_tokens: number; output_tokens: number }): number {
    return (
      nusd(e.input_tokens, SONNET.input) +
      nusd(e.cached_input_tokens, SONNET.read) +
      nusd(e.cache_write_tokens - e.cache_write_1h_tokens, SONNET.write5m) +
      nusd(e.cache_write_1h_tokens, SONNET.write1h) +
      nusd(e.output_tokens, SONNET.output)
    );
  }

  it('writes the 5,000-token system prompt once, then reads it, and caches the conversation as it grows', async () => {
    const { client: c } = await client();
    const system = prompt(5000, 'alpha');
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'system', content: system }];
    const rows = [];
    for (const question of ['First question?', 'Second question?', 'Third question?']) {
      messages.push({ role: 'user', content: question });
      const { data: completion, response } = await c.chat.completions.create({ model: 'claude-sonnet-5-5', messages, max_tokens: 50 }).withResponse();
      messages.push({ role: 'assistant', content: completion.choices[0]!.message.content });
      const row = await eventOf(response);
      expect(row.input_tokens + row.cached_input_tokens + row.cache_write_tokens).toBe(completion.usage!.prompt_tokens);
      expect(row.cached_input_tokens).toBe(completion.usage!.prompt_tokens_details?.cached_tokens);
      rows.push(row);
      clock.t += MINUTE;
    }
    const [first, second, third] = rows;
    // Turn 1 writes the system prompt; turn 2 reads it and writes turn 1; turn 3 reads through turn 2.
    expect(first).toMatchObject({ cache_write_tokens: 5000, cached_input_tokens: 0, cache_write_1h_tokens: 0 });
    expect(second!.cached_input_tokens).toBe(5000);
    expect(second!.cache_write_tokens).toBeGreaterThan(0);
    expect(third!.cached_input_tokens).toBe(5000 + second!.cache_write_tokens);
    for (const row of rows) {
      const cost = expectedCost(row);
      const baseline = nusd(row.input_tokens + row.cached_input_tokens + row.cache_write_tokens, SONNET.input) + nusd(row.output_tokens, SONNET.output);
      expect(row).toMatchObject({ cost_nusd: cost, baseline_cost_nusd: baseline, savings_nusd: { routing: 0, caching: baseline - cost, tier: 0 } });
    }
    // Hand-computed: writing 5,000 tokens costs 5,000 × $2.50/M = $0.0125; reading them, $0.0005.
    expect(nusd(first!.cache_write_tokens, SONNET.write5m)).toBe(12_500_000);
    expect(nusd(second!.cached_input_tokens, SONNET.read)).toBe(500_000);
    expect(first!.savings_nusd.caching).toBe(-nusd(5000, 0.5));
  });

  it('moves a prefix reused every 10 minutes to the 1-hour cache, priced at the 1-hour write rate', async () => {
    const { client: c, id } = await client();
    const system = prompt(5000, 'bravo');
    const rows = [];
    for (let i = 0; i < 6; i++) {
      const { response } = await c.chat.completions
        .create({ model: 'claude-sonnet-5-5', messages: [{ role: 'system', content: system }, { role: 'user', content: `Question number ${i}?` }], max_tokens: 20 })
        .withResponse();
      rows.push(await eventOf(response));
      clock.t += 10 * MINUTE;
    }
    // Three 5-minute writes expire unread; the evidence then moves the prefix to the 1-hour cache.
    expect(rows.map((r) => [r.cache_write_tokens, r.cache_write_1h_tokens, r.cached_input_tokens])).toEqual([
      [5000, 0, 0],
      [5000, 0, 0],
      [5000, 0, 0],
      [5000, 5000, 0],
      [0, 0, 5000],
      [0, 0, 5000],
    ]);
    for (const row of rows) expect(row.cost_nusd).toBe(expectedCost(row));
    // Hand-computed: the 1-hour write of 5,000 tokens costs 5,000 × $4/M = $0.02.
    expect(nusd(rows[3]!.cache_write_1h_tokens, SONNET.write1h)).toBe(20_000_000);

    const report = (await (await h.admin(`/admin/usage/caching?from=${new Date(clock.t - 2 * 60 * MINUTE).toISOString()}&to=${new Date(clock.t).toISOString()}`)).json()) as CachingReport;
    const mine = report.rows.find((r) => 'key_id' in r.group && r.group.key_id === id)!;
    expect(mine.prompt_cache).toMatchObject({
      writes: 4,
      writes_1h: 1,
      writes_paid_back: 1,
      writes_not_paid_back: 3,
      writes_never_read: 3,
      writes_open: 0,
      reads: 2,
      cache_write_tokens: 20_000,
      cache_write_1h_tokens: 5000,
      cached_input_tokens: 10_000,
    });
    expect(mine.prompt_cache.savings_nusd).toBe(rows.reduce((sum, r) => sum + r.savings_nusd.caching, 0));
  });

  it('caches streamed requests too, and replays a streamed Claude answer from the response cache', async () => {
    const { client: c } = await client();
    const system = prompt(5000, 'foxtrot');
    const rows = [];
    for (const question of ['Streamed one?', 'Streamed two?']) {
      const { data: stream, response } = await c.chat.completions
        .create({ model: 'claude-sonnet-5-5', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: system }, { role: 'user', content: question }], max_tokens: 30 })
        .withResponse();
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
      const row = await eventOf(response);
      expect(row.cached_input_tokens).toBe(usage!.prompt_tokens_details?.cached_tokens);
      expect(row.cost_nusd).toBe(expectedCost(row));
      rows.push(row);
    }
    expect(rows.map((r) => [r.cache_write_tokens, r.cached_input_tokens])).toEqual([
      [5000, 0],
      [0, 5000],
    ]);

    const body = { model: 'claude-sonnet-5-5', temperature: 0, stream: true as const, messages: [{ role: 'system' as const, content: system }, { role: 'user' as const, content: 'Deterministic?' }], max_tokens: 30 };
    const texts: string[] = [];
    for (const expected of ['miss', 'hit']) {
      const { data: stream, response } = await c.chat.completions.create(body).withResponse();
      expect(response.headers.get('x-sluice-cache')).toBe(expected);
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      texts.push(text);
    }
    expect(texts[1]).toBe(texts[0]);
    expect(texts[0]!.length).toBeGreaterThan(0);
  });

  it('keeps the caller’s own breakpoints and adds none when prompt caching is off for the key', async () => {
    const off = await client({ policy: { prompt_caching: false } });
    const system = prompt(5000, 'charlie');
    const events = [];
    for (const question of ['Hi', 'Hi again']) {
      const { response } = await off.client.chat.completions.create({ model: 'claude-sonnet-5-5', messages: [{ role: 'system', content: system }, { role: 'user', content: question }], max_tokens: 20 }).withResponse();
      events.push(await eventOf(response));
    }
    expect(events.map((e) => [e.cache_write_tokens, e.cached_input_tokens])).toEqual([
      [0, 0],
      [0, 0],
    ]);

    // The caller's own breakpoint (on a system content part) is carried to Anthropic as is.
    const own = await client({ policy: { prompt_caching: false } });
    const parts = [{ type: 'text', text: prompt(3000, 'delta'), cache_control: { type: 'ephemeral' } }] as unknown as OpenAI.Chat.Completions.ChatCompletionContentPartText[];
    const { response } = await own.client.chat.completions.create({ model: 'claude-sonnet-5-5', messages: [{ role: 'system', content: parts }, { role: 'user', content: 'Hi' }], max_tokens: 20 }).withResponse();
    expect((await eventOf(response)).cache_write_tokens).toBe(3000);
  });
});

describe('OpenAI prompt caching', () => {
  it('prices cached_tokens at the model’s cached-input rate', async () => {
    const { client: c } = await client();
    const system = prompt(2000, 'echo');
    const first = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: system }, { role: 'user', content: 'One?' }] });
    const { data: second, response } = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: system }, { role: 'user', content: 'Two?' }] }).withResponse();
    expect(first.usage?.prompt_tokens_details?.cached_tokens ?? 0).toBe(0);
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).toBeGreaterThanOrEqual(1024);
    const row = await eventOf(response);
    expect(row).toMatchObject({ cached_input_tokens: cached, input_tokens: second.usage!.prompt_tokens - cached });
    const cost = nusd(second.usage!.prompt_tokens - cached, 0.15) + nusd(cached, 0.075) + nusd(second.usage!.completion_tokens, 0.6);
    expect(row.cost_nusd).toBe(cost);
    expect(row.savings_nusd.caching).toBe(nusd(second.usage!.prompt_tokens, 0.15) + nusd(second.usage!.completion_tokens, 0.6) - cost);
  });
});

describe('GET /admin/usage/caching', () => {
  it('reports hits, savings and cached tokens per key and per team, adding up to the ledger exactly', async () => {
    const from = new Date(clock.t).toISOString();
    const a = await client({ team: 'green' });
    const b = await client({ team: 'green' });
    await ask(a.client);
    await ask(a.client);
    await ask(a.client);
    await ask(b.client, {}, { ...QUESTION, temperature: 0.5 });
    clock.t += MINUTE;
    const to = new Date(clock.t).toISOString();
    const events = (await h.events()).filter((e) => e.key_id === a.id || e.key_id === b.id);

    const byKey = (await (await h.admin(`/admin/usage/caching?from=${from}&to=${to}&group_by=key`)).json()) as CachingReport;
    const rowA = byKey.rows.find((r) => 'key_id' in r.group && r.group.key_id === a.id)!;
    const fillCost = events.find((e) => e.key_id === a.id && e.cache === 'miss')!.cost_nusd;
    expect(rowA).toMatchObject({
      requests: 3,
      response_cache: { hits: 2, misses: 1, bypassed: 0, savings_nusd: 2 * fillCost },
      cost_nusd: fillCost,
      caching_savings_nusd: 2 * fillCost,
    });
    expect(rowA.response_cache.hit_ratio).toBeCloseTo(2 / 3, 12);
    expect(byKey.totals.cost_nusd).toBe(events.reduce((sum, e) => sum + e.cost_nusd, 0));
    expect(byKey.totals.baseline_cost_nusd).toBe(events.reduce((sum, e) => sum + e.baseline_cost_nusd, 0));

    const byTeam = (await (await h.admin(`/admin/usage/caching?from=${from}&to=${to}&group_by=team`)).json()) as CachingReport;
    expect(byTeam.rows).toHaveLength(1);
    expect(byTeam.rows[0]).toMatchObject({ group: { team: 'green' }, requests: 4, response_cache: { hits: 2, misses: 1, bypassed: 1 } });
  });

  it('rejects a bad grouping or range with a clear admin error', async () => {
    const bad = await h.admin('/admin/usage/caching?group_by=model');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/group_by/);
    const backwards = await h.admin('/admin/usage/caching?from=2026-11-02&to=2026-11-01');
    expect(backwards.status).toBe(400);
    const unauthorized = await fetch(`${h.url}/admin/usage/caching`);
    expect(unauthorized.status).toBe(401);
  });
});
