import Anthropic, { AuthenticationError, BadRequestError, NotFoundError, OverloadedError, RateLimitError } from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type SimServer } from '../../../src/sim/server';
import { countTokens } from '../../../src/sim/tokenizer';
import { MINUTE, manualClock, parseSse, postJson } from './helpers';

const MODEL = 'claude-sonnet-4-6';
const clock = manualClock();
let sim: SimServer;
let client: Anthropic;

beforeAll(async () => {
  sim = await startSim({ now: clock.now });
  client = new Anthropic({ baseURL: sim.url, apiKey: 'sk-ant-test', maxRetries: 0 });
});
afterAll(() => sim.close());
afterEach(() => sim.clearFaults());

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] },
};
const anthropicHeaders = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };

describe('Anthropic messages', () => {
  it('answers deterministically with exact usage', async () => {
    const request = { model: MODEL, max_tokens: 500, messages: [{ role: 'user' as const, content: 'Hello there' }] };
    const message = await client.messages.create(request);
    expect(message.id).toMatch(/^msg_01/);
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.model).toBe(MODEL);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.stop_sequence).toBeNull();
    const text = (message.content[0] as Anthropic.TextBlock).text;
    expect(message.usage).toEqual({
      input_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: countTokens(text),
      service_tier: 'standard',
    });
    expect((await client.messages.create(request)).content).toEqual(message.content);
    const dated = await client.messages.create({ ...request, model: 'claude-haiku-4-5' });
    expect(dated.model).toBe('claude-haiku-4-5-20251001');
  });

  it('streams the exact event sequence, and the SDK helper rebuilds the same message', async () => {
    const request = { model: MODEL, max_tokens: 500, system: 'Be kind.', messages: [{ role: 'user' as const, content: 'Hello there' }] };
    const raw = await postJson(`${sim.url}/v1/messages`, { ...request, stream: true }, anthropicHeaders);
    expect(raw.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(raw.headers.get('request-id')).toMatch(/^req_011/);
    const events = parseSse(raw.text);
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(new Set(names.slice(3, -3))).toEqual(new Set(['content_block_delta']));
    for (const event of events) expect(JSON.parse(event.data).type).toBe(event.event);
    const start = JSON.parse(events[0]!.data);
    expect(start.message.usage).toEqual({
      input_tokens: 3 + 3 + 2,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: 1,
      service_tier: 'standard',
    });
    const delta = JSON.parse(events.at(-2)!.data);
    expect(delta.delta).toEqual({ stop_reason: 'end_turn', stop_sequence: null });

    const plain = await client.messages.create(request);
    expect(delta.usage.output_tokens).toBe(plain.usage.output_tokens);
    const final = await client.messages.stream(request).finalMessage();
    expect(final.content).toEqual(plain.content);
    expect(final.usage).toEqual(plain.usage);
  });

  it('calls tools with tool_use blocks and answers tool results with text', async () => {
    const request = {
      model: MODEL,
      max_tokens: 500,
      tools: [weatherTool],
      messages: [{ role: 'user' as const, content: 'Use get_weather for Paris' }],
    };
    const message = await client.messages.create(request);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
    const use = message.content[1] as Anthropic.ToolUseBlock;
    expect(use.id).toMatch(/^toolu_01/);
    expect(use.name).toBe('get_weather');
    expect(typeof (use.input as { city: unknown }).city).toBe('string');
    const text = (message.content[0] as Anthropic.TextBlock).text;
    expect(message.usage.output_tokens).toBe(countTokens(text) + countTokens('get_weather') + countTokens(JSON.stringify(use.input)));

    const streamed = await client.messages.stream(request).finalMessage();
    expect(streamed.content).toEqual(message.content);

    const forced = await client.messages.create({ ...request, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'hi' }] });
    expect(forced.content.map((b) => b.type)).toEqual(['tool_use']);

    const answer = await client.messages.create({
      ...request,
      messages: [
        ...request.messages,
        { role: 'assistant', content: message.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '21 degrees' }] },
      ],
    });
    expect(answer.stop_reason).toBe('end_turn');
    expect(answer.content[0]!.type).toBe('text');

    const orphan = await client.messages
      .create({ ...request, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_missing', content: 'x' }] }] })
      .catch((e: unknown) => e);
    expect(orphan).toBeInstanceOf(BadRequestError);
    expect((orphan as BadRequestError).message).toMatch(/unexpected `tool_use_id`/);
  });

  it('honours stop sequences and max_tokens', async () => {
    const request = { model: MODEL, max_tokens: 500, messages: [{ role: 'user' as const, content: 'Talk' }] };
    const text = ((await client.messages.create(request)).content[0] as Anthropic.TextBlock).text;
    const word = text.split(' ')[2]!.replace(/[,.]/g, '');
    const stopped = await client.messages.create({ ...request, stop_sequences: [word] });
    expect(stopped.stop_reason).toBe('stop_sequence');
    expect(stopped.stop_sequence).toBe(word);
    expect((stopped.content[0] as Anthropic.TextBlock).text).toBe(text.slice(0, text.indexOf(word)));

    const cut = await client.messages.create({ ...request, max_tokens: 4 });
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.usage.output_tokens).toBe(4);
  });

  it('thinks when asked, with a signed thinking block counted in output tokens', async () => {
    const request = { model: MODEL, max_tokens: 4000, thinking: { type: 'enabled' as const, budget_tokens: 1024 }, messages: [{ role: 'user' as const, content: 'Ponder' }] };
    const message = await client.messages.create(request);
    const [thinking, text] = message.content as [Anthropic.ThinkingBlock, Anthropic.TextBlock];
    expect(thinking.type).toBe('thinking');
    expect(thinking.signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(message.usage.output_tokens).toBe(countTokens(thinking.thinking) + countTokens(text.text));

    const raw = await postJson(`${sim.url}/v1/messages`, { ...request, stream: true }, anthropicHeaders);
    const deltas = parseSse(raw.text).filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data).delta.type);
    expect(new Set(deltas)).toEqual(new Set(['thinking_delta', 'signature_delta', 'text_delta']));
    expect((await client.messages.stream(request).finalMessage()).content).toEqual(message.content);

    await expect(client.messages.create({ ...request, thinking: { type: 'enabled', budget_tokens: 500 } })).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.messages.create({ ...request, max_tokens: 1024 })).rejects.toThrow(/must be greater than `thinking.budget_tokens`/);
  });

  it('counts system blocks, images and documents, and count_tokens agrees', async () => {
    const request = {
      model: MODEL,
      max_tokens: 100,
      system: [{ type: 'text' as const, text: 'You are terse.' }], // 4
      messages: [
        {
          role: 'user' as const,
          content: [
            { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: 'iVBORw0KGgo=' } }, // 765
            { type: 'document' as const, source: { type: 'text' as const, media_type: 'text/plain' as const, data: 'Terms apply.' } }, // 3
            { type: 'document' as const, source: { type: 'base64' as const, media_type: 'application/pdf' as const, data: 'J'.repeat(450) } }, // 5
            { type: 'text' as const, text: 'Summarize' }, // 2 (9 letters)
          ],
        },
      ],
      metadata: { user_id: 'user-1' },
    };
    const expected = 4 + 3 + 765 + 3 + 5 + 2;
    expect((await client.messages.create(request)).usage.input_tokens).toBe(expected);
    const { max_tokens: _unused, metadata: _meta, ...countRequest } = request;
    expect(await client.messages.countTokens(countRequest)).toEqual({ input_tokens: expected });
  });

  it('rejects bad input and bad credentials in Anthropic shapes', async () => {
    const missing = await client.messages.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] } as never).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BadRequestError);
    expect((missing as BadRequestError).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });

    const unknown = await client.messages.create({ model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect((unknown as NotFoundError).error).toMatchObject({ error: { type: 'not_found_error' } });

    const role = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'system' as never, content: 'x' }] }).catch((e: unknown) => e);
    expect((role as BadRequestError).message).toMatch(/messages\.0\.role: Input should be 'user' or 'assistant'/);

    // (The SDK itself refuses such a large non-streaming request, so send it raw.)
    const tooMany = await postJson(`${sim.url}/v1/messages`, { model: MODEL, max_tokens: 100_000, messages: [{ role: 'user', content: 'x' }] }, anthropicHeaders);
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.text).error.message).toBe('max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-6');

    const noVersion = await postJson(`${sim.url}/v1/messages`, { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': 'k' });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });

    const noKey = await postJson(`${sim.url}/v1/messages`, { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { 'anthropic-version': '2023-06-01' });
    expect(noKey.status).toBe(401);
    expect(JSON.parse(noKey.text).error.type).toBe('authentication_error');

    const strict = await startSim({ apiKeys: ['sk-ant-good'] });
    try {
      const bad = new Anthropic({ baseURL: strict.url, apiKey: 'sk-ant-bad', maxRetries: 0 });
      await expect(bad.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(AuthenticationError);
      const bearer = new Anthropic({ baseURL: strict.url, authToken: 'sk-ant-good', apiKey: null, maxRetries: 0 });
      expect((await bearer.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).type).toBe('message');
    } finally {
      await strict.close();
    }
  });

  it('injects 429, 529 and mid-stream errors', async () => {
    sim.injectFault({ fault: '429', times: 1 });
    const limited = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers?.get('retry-after')).toBe('1');

    const overloaded = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x [[sim:fault=529]]' }] }).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(OverloadedError);
    expect((overloaded as OverloadedError).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });

    sim.injectFault({ fault: 'stream-error', times: 1 });
    const raw = await postJson(`${sim.url}/v1/messages`, { model: MODEL, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x' }] }, anthropicHeaders);
    const last = parseSse(raw.text).at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });

    sim.injectFault({ fault: 'stream-error', times: 1 });
    await expect(client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }).finalMessage()).rejects.toThrow(/Overloaded/);

    sim.injectFault({ fault: 'disconnect', times: 1 });
    await expect(client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }).finalMessage()).rejects.toThrow();
  });
});

describe('Anthropic prompt caching', () => {
  const longText = (words: number) => 'policy '.repeat(words);
  const question = { role: 'user' as const, content: 'What now?' }; // 3 + 3
  const cachedSystem = (ttl?: '5m' | '1h') => [
    { type: 'text' as const, text: longText(2000), cache_control: ttl ? { type: 'ephemeral' as const, ttl } : { type: 'ephemeral' as const } },
  ];

  it('writes a breakpoint prefix, reads it within 5 minutes, and forgets it after', async () => {
    sim.reset();
    const ask = () => client.messages.create({ model: MODEL, max_tokens: 50, system: cachedSystem(), messages: [question] });
    expect((await ask()).usage).toMatchObject({
      input_tokens: 6,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 2000, ephemeral_1h_input_tokens: 0 },
    });
    clock.advance(4 * MINUTE);
    expect((await ask()).usage).toMatchObject({ input_tokens: 6, cache_creation_input_tokens: 0, cache_read_input_tokens: 2000 });
    clock.advance(4 * MINUTE); // 8 minutes after the write, but the read refreshed the TTL
    expect((await ask()).usage).toMatchObject({ cache_read_input_tokens: 2000 });
    clock.advance(5 * MINUTE + 1);
    expect((await ask()).usage).toMatchObject({ cache_creation_input_tokens: 2000, cache_read_input_tokens: 0 });
  });

  it('keeps 1-hour entries past 5 minutes and splits writes by TTL', async () => {
    sim.reset();
    const system = [
      ...cachedSystem('1h'),
      { type: 'text' as const, text: longText(1500), cache_control: { type: 'ephemeral' as const, ttl: '5m' as const } },
    ];
    const ask = () => client.messages.create({ model: MODEL, max_tokens: 50, system, messages: [question] });
    expect((await ask()).usage).toMatchObject({
      input_tokens: 6,
      cache_creation_input_tokens: 3500,
      cache_creation: { ephemeral_1h_input_tokens: 2000, ephemeral_5m_input_tokens: 1500 },
    });
    clock.advance(30 * MINUTE);
    expect((await ask()).usage).toMatchObject({
      input_tokens: 6,
      cache_read_input_tokens: 2000,
      cache_creation_input_tokens: 1500,
      cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 1500 },
    });
    clock.advance(61 * MINUTE);
    expect((await ask()).usage).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: 3500 });
  });

  it('reads an earlier breakpoint and writes the extension as a conversation grows', async () => {
    sim.reset();
    const first = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      system: cachedSystem(),
      messages: [{ role: 'user', content: [{ type: 'text', text: 'First question', cache_control: { type: 'ephemeral' } }] }],
    });
    expect(first.usage).toMatchObject({ input_tokens: 0, cache_creation_input_tokens: 2005, cache_read_input_tokens: 0 });
    const reply = (first.content[0] as Anthropic.TextBlock).text;
    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      system: cachedSystem(),
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'First question' }] },
        { role: 'assistant', content: reply },
        { role: 'user', content: [{ type: 'text', text: 'And then?', cache_control: { type: 'ephemeral' } }] },
      ],
    });
    const extension = 3 + countTokens(reply) + 3 + 3;
    expect(second.usage).toMatchObject({ input_tokens: 0, cache_read_input_tokens: 2005, cache_creation_input_tokens: extension });
  });

  it('looks back at most 20 blocks from a breakpoint', async () => {
    sim.reset();
    const blocks = (breakpointAt: number) =>
      Array.from({ length: 30 }, (_, i) => ({ type: 'text' as const, text: `part ${i}`, ...(i === breakpointAt ? { cache_control: { type: 'ephemeral' as const } } : {}) }));
    const ask = (breakpointAt: number) =>
      client.messages.create({ model: MODEL, max_tokens: 20, system: longText(2000), messages: [{ role: 'user', content: blocks(breakpointAt) }] });
    const written = await ask(2);
    expect(written.usage.cache_creation_input_tokens).toBe(2000 + 3 + 3 * 2);
    expect((await ask(29)).usage.cache_read_input_tokens).toBe(0); // block 30 is 27 blocks after block 3
    sim.reset();
    await ask(2);
    expect((await ask(22)).usage.cache_read_input_tokens).toBe(2000 + 3 + 3 * 2); // 20 blocks back
  });

  it('caches tool definitions, ignores short prefixes, and enforces the breakpoint rules', async () => {
    sim.reset();
    const tools = [{ ...weatherTool, description: longText(1100), cache_control: { type: 'ephemeral' as const } }];
    const toolTokens = countTokens(JSON.stringify({ name: weatherTool.name, description: longText(1100), input_schema: weatherTool.input_schema }));
    const withTools = () => client.messages.create({ model: MODEL, max_tokens: 20, tools, messages: [question] });
    expect((await withTools()).usage).toMatchObject({ cache_creation_input_tokens: toolTokens, input_tokens: 6 });
    expect((await withTools()).usage).toMatchObject({ cache_read_input_tokens: toolTokens, input_tokens: 6 });

    // Haiku 4.5 needs 4096 tokens: a 2000-token breakpoint is silently ignored.
    const haiku = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, system: cachedSystem(), messages: [question] });
    expect(haiku.usage).toMatchObject({ input_tokens: 2006, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });

    const five = Array.from({ length: 5 }, () => ({ type: 'text' as const, text: 'x', cache_control: { type: 'ephemeral' as const } }));
    await expect(client.messages.create({ model: MODEL, max_tokens: 20, system: five, messages: [question] })).rejects.toThrow(
      /A maximum of 4 blocks with cache_control may be provided. Found 5/,
    );
    const disordered = [
      { type: 'text' as const, text: 'a', cache_control: { type: 'ephemeral' as const, ttl: '5m' as const } },
      { type: 'text' as const, text: 'b', cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } },
    ];
    await expect(client.messages.create({ model: MODEL, max_tokens: 20, system: disordered, messages: [question] })).rejects.toBeInstanceOf(BadRequestError);
  });
});
