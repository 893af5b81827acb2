import OpenAI, {
  APIConnectionTimeoutError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type SimServer } from '../../../src/sim/server';
import { countTokens } from '../../../src/sim/tokenizer';
import { MINUTE, manualClock, parseSse, postJson } from './helpers';

const clock = manualClock();
let sim: SimServer;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSim({ now: clock.now });
  client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-test-openai', maxRetries: 0 });
});
afterAll(() => sim.close());
afterEach(() => sim.clearFaults());

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer', minimum: 1, maximum: 5 } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const timeTool = {
  type: 'function' as const,
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } },
};

describe('OpenAI chat completions', () => {
  it('answers deterministically with exact usage', async () => {
    const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hello there' }] };
    const first = await client.chat.completions.create(request);
    const second = await client.chat.completions.create(request);
    expect(first.object).toBe('chat.completion');
    expect(first.id).toMatch(/^chatcmpl-/);
    expect(first.model).toBe('gpt-4o-mini-2024-07-18');
    expect(first.service_tier).toBe('default');
    expect(first.created).toBe(Math.floor(clock.now() / 1000));
    const content = first.choices[0]!.message.content!;
    expect(content).toBe(second.choices[0]!.message.content);
    expect(first.choices[0]!.finish_reason).toBe('stop');
    // 3 framing + "Hello there" (2) + 3 reply priming.
    expect(first.usage).toEqual({
      prompt_tokens: 8,
      completion_tokens: countTokens(content),
      total_tokens: 8 + countTokens(content),
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    expect(countTokens(content)).toBeGreaterThanOrEqual(20);
    expect(countTokens(content)).toBeLessThanOrEqual(60);
    expect(first._request_id).toMatch(/^req_/);
  });

  it('counts every role and content part', async () => {
    const audio = 'A'.repeat(250); // 3 tokens of inline data
    const result = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' }, // 3 + 3
        { role: 'developer', content: [{ type: 'text', text: 'No lists' }] }, // 3 + 2
        {
          role: 'user',
          name: 'ann', // 1 + 1
          content: [
            { type: 'text', text: 'Look:' }, // 2
            { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } }, // 85
            { type: 'image_url', image_url: { url: 'https://example.com/b.png' } }, // 765
            { type: 'input_audio', input_audio: { data: audio, format: 'wav' } }, // 3
            { type: 'file', file: { file_id: 'file-abc' } }, // 256
          ],
        }, // + 3
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }, // 3 + 1 + 2
        { role: 'tool', tool_call_id: 'call_1', content: 'noon' }, // 3 + 1
      ],
    });
    expect(result.usage!.prompt_tokens).toBe(6 + 5 + (3 + 2 + 2 + 85 + 765 + 3 + 256) + 6 + 4 + 3);
    expect(result.usage!.prompt_tokens_details!.audio_tokens).toBe(3);
  });

  it('streams chunks like OpenAI, with usage and obfuscation', async () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }], stream: true, stream_options: { include_usage: true } };
    const raw = await postJson(`${sim.url}/v1/chat/completions`, body, { authorization: 'Bearer sk-test' });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = parseSse(raw.text);
    expect(events.at(-1)!.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    for (const chunk of chunks) {
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(typeof chunk.obfuscation).toBe('string');
    }
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
    const finish = chunks.at(-2);
    expect(finish.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(last.usage.completion_tokens).toBe(countTokens(text));
    expect(chunks.length - 3).toBe(countTokens(text)); // one chunk per token

    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] });
    expect(text).toBe(plain.choices[0]!.message.content);

    const quiet = await postJson(`${sim.url}/v1/chat/completions`, { ...body, stream_options: { include_obfuscation: false } }, { authorization: 'Bearer k' });
    const quietChunks = parseSse(quiet.text).slice(0, -1).map((e) => JSON.parse(e.data));
    expect(quietChunks.some((c) => 'obfuscation' in c || 'usage' in c)).toBe(false);
  });

  it('streams through the SDK helper to the same completion', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Tell me more' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    const plain = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Tell me more' }] });
    expect(text).toBe(plain.choices[0]!.message.content);
  });

  it('returns n choices, and varies with seed', async () => {
    const result = await client.chat.completions.create({ model: 'gpt-4o', n: 3, messages: [{ role: 'user', content: 'Pick a word' }] });
    expect(result.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(result.choices.map((c) => c.message.content)).size).toBe(3);
    const sum = result.choices.reduce((total, c) => total + countTokens(c.message.content!), 0);
    expect(result.usage!.completion_tokens).toBe(sum);

    const seeded = (seed: number) => client.chat.completions.create({ model: 'gpt-4o', seed, messages: [{ role: 'user', content: 'Pick a word' }] });
    const [a, b, again] = await Promise.all([seeded(1), seeded(2), seeded(1)]);
    expect(a.choices[0]!.message.content).not.toBe(b.choices[0]!.message.content);
    expect(a.choices[0]!.message.content).toBe(again.choices[0]!.message.content);

    const stream = client.chat.completions.stream({ model: 'gpt-4o', n: 3, messages: [{ role: 'user', content: 'Pick a word' }] });
    const final = await stream.finalChatCompletion();
    expect(final.choices.map((c) => c.message.content)).toEqual(result.choices.map((c) => c.message.content));
  });

  it('calls a tool named in the last user message, with arguments that follow its schema', async () => {
    const result = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Please use get_weather for Paris' }],
      tools: [weatherTool, timeTool],
    });
    const choice = result.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    const args = JSON.parse(call.function.arguments);
    expect(typeof args.city).toBe('string');
    expect(['celsius', 'fahrenheit']).toContain(args.unit);
    expect(args.days).toBeGreaterThanOrEqual(1);
    expect(result.usage!.completion_tokens).toBe(countTokens('get_weather') + countTokens(call.function.arguments));

    // The answer to the tool result is text.
    const followUp = await client.chat.completions.create({
      model: 'gpt-4o',
      tools: [weatherTool, timeTool],
      messages: [
        { role: 'user', content: 'Please use get_weather for Paris' },
        choice.message,
        { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' },
      ],
    });
    expect(followUp.choices[0]!.finish_reason).toBe('stop');
    expect(followUp.choices[0]!.message.content).toBeTruthy();
  });

  it('honours tool_choice and parallel_tool_calls', async () => {
    const noMention = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Hi!' }], tools: [weatherTool, timeTool] };
    expect((await client.chat.completions.create(noMention)).choices[0]!.finish_reason).toBe('stop');
    const required = await client.chat.completions.create({ ...noMention, tool_choice: 'required' });
    expect(required.choices[0]!.message.tool_calls!.map((c) => (c.type === 'function' ? c.function.name : ''))).toEqual(['get_weather']);
    const named = await client.chat.completions.create({ ...noMention, tool_choice: { type: 'function', function: { name: 'get_time' } } });
    expect(named.choices[0]!.message.tool_calls!.map((c) => (c.type === 'function' ? c.function.name : ''))).toEqual(['get_time']);
    const both = { ...noMention, messages: [{ role: 'user' as const, content: 'use get_weather and get_time' }] };
    expect((await client.chat.completions.create(both)).choices[0]!.message.tool_calls).toHaveLength(2);
    expect((await client.chat.completions.create({ ...both, parallel_tool_calls: false })).choices[0]!.message.tool_calls).toHaveLength(1);
    const none = await client.chat.completions.create({ ...both, tool_choice: 'none' });
    expect(none.choices[0]!.message.tool_calls).toBeUndefined();
  });

  it('streams tool calls as indexed deltas', async () => {
    const request = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'use get_weather and get_time' }], tools: [weatherTool, timeTool] };
    const final = await client.chat.completions.stream(request).finalChatCompletion();
    const plain = await client.chat.completions.create(request);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.choices[0]!.message.tool_calls).toEqual(plain.choices[0]!.message.tool_calls);

    const raw = await postJson(`${sim.url}/v1/chat/completions`, { ...request, stream: true }, { authorization: 'Bearer k' });
    const chunks = parseSse(raw.text).slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: null, tool_calls: [{ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } }] });
    expect(chunks.some((c) => c.choices[0]?.delta.tool_calls?.[0]?.index === 1 && c.choices[0].delta.tool_calls[0].id)).toBe(true);
  });

  it('emits valid JSON for json_object and json_schema response formats', async () => {
    const object = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'Reply in JSON' }],
    });
    expect(typeof JSON.parse(object.choices[0]!.message.content!).answer).toBe('string');

    const schema = { type: 'object', properties: { name: { type: 'string' }, score: { type: 'number', minimum: 0, maximum: 1 }, tags: { type: 'array', items: { type: 'string' } } }, required: ['name', 'score', 'tags'], additionalProperties: false };
    const structured = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      response_format: { type: 'json_schema', json_schema: { name: 'rating', schema, strict: true } },
      messages: [{ role: 'user', content: 'Rate this' }],
    });
    const parsed = JSON.parse(structured.choices[0]!.message.content!);
    expect(Object.keys(parsed).sort()).toEqual(['name', 'score', 'tags']);
    expect(parsed.score).toBeGreaterThanOrEqual(0);
    expect(parsed.score).toBeLessThanOrEqual(1);
    // The schema is part of the prompt.
    expect(structured.usage!.prompt_tokens).toBe(countTokens(JSON.stringify(schema)) + 3 + 2 + 3);

    await expect(
      client.chat.completions.create({ model: 'gpt-4o-mini', response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'Hi' }] }),
    ).rejects.toMatchObject({ status: 400, param: 'messages' });
  });

  it('returns logprobs with top alternatives', async () => {
    const result = await client.chat.completions.create({ model: 'gpt-4o', logprobs: true, top_logprobs: 3, messages: [{ role: 'user', content: 'Hi' }] });
    const { content, logprobs } = { content: result.choices[0]!.message.content!, logprobs: result.choices[0]!.logprobs!.content! };
    expect(logprobs.map((l) => l.token).join('')).toBe(content);
    for (const entry of logprobs) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs).toHaveLength(3);
      expect(entry.top_logprobs[0]!.token).toBe(entry.token);
      expect(entry.bytes).toEqual([...Buffer.from(entry.token)]);
    }
  });

  it('honours stop sequences and max_completion_tokens', async () => {
    const plain = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say things' }] });
    const text = plain.choices[0]!.message.content!;
    const word = text.split(' ')[3]!.replace(/[,.]/g, '');
    const stopped = await client.chat.completions.create({ model: 'gpt-4o', stop: [word], messages: [{ role: 'user', content: 'Say things' }] });
    expect(stopped.choices[0]!.message.content).toBe(text.slice(0, text.indexOf(word)));
    expect(stopped.choices[0]!.finish_reason).toBe('stop');

    const cut = await client.chat.completions.create({ model: 'gpt-4o', max_completion_tokens: 5, messages: [{ role: 'user', content: 'Say things' }] });
    expect(cut.choices[0]!.finish_reason).toBe('length');
    expect(cut.usage!.completion_tokens).toBe(5);
    expect(countTokens(cut.choices[0]!.message.content!)).toBe(5);
  });

  it('reports reasoning tokens inside completion tokens for reasoning models', async () => {
    const medium = await client.chat.completions.create({ model: 'o4-mini', messages: [{ role: 'user', content: 'Think' }] });
    const reasoning = medium.usage!.completion_tokens_details!.reasoning_tokens!;
    expect(reasoning).toBeGreaterThan(0);
    expect(reasoning % 64).toBe(0);
    expect(medium.usage!.completion_tokens).toBe(reasoning + countTokens(medium.choices[0]!.message.content!));
    const high = await client.chat.completions.create({ model: 'o4-mini', reasoning_effort: 'high', messages: [{ role: 'user', content: 'Think' }] });
    expect(high.usage!.completion_tokens_details!.reasoning_tokens).toBe(2 * reasoning);
    expect((await client.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: 'Think' }] })).usage!.completion_tokens_details!.reasoning_tokens).toBe(0);

    // Reasoning spends the budget first: a tiny budget yields an empty answer cut for length.
    const starved = await client.chat.completions.create({ model: 'o3', max_completion_tokens: 10, messages: [{ role: 'user', content: 'Think' }] });
    expect(starved.choices[0]!.message.content).toBe('');
    expect(starved.choices[0]!.finish_reason).toBe('length');
    expect(starved.usage!.completion_tokens_details!.reasoning_tokens).toBe(10);

    await expect(client.chat.completions.create({ model: 'o3', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 400,
      param: 'max_tokens',
      code: 'unsupported_parameter',
    });
  });

  it('echoes the service tier it served', async () => {
    const tier = async (model: string, service_tier?: 'flex' | 'priority' | 'auto') =>
      (await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], ...(service_tier ? { service_tier } : {}) })).service_tier;
    expect(await tier('o3', 'flex')).toBe('flex');
    expect(await tier('gpt-5-mini', 'flex')).toBe('flex');
    expect(await tier('gpt-4o-mini', 'flex')).toBe('default');
    expect(await tier('gpt-5', 'priority')).toBe('priority');
    expect(await tier('gpt-5-nano', 'priority')).toBe('default');
    expect(await tier('gpt-5', 'auto')).toBe('default');
    expect(await tier('gpt-5')).toBe('default');
  });

  it('rejects bad input with OpenAI-shaped errors', async () => {
    const cases: Array<[unknown, string | null, string | null]> = [
      [{ model: 'gpt-4o', messages: [] }, 'messages', 'empty_array'],
      [{ model: 'gpt-4o' }, 'messages', 'missing_required_parameter'],
      [{ model: 'gpt-4o', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', 'invalid_value'],
      [{ model: 'gpt-4o', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content', 'invalid_type'],
      [{ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'x', content: 'x' }] }, 'messages.[0].role', null],
      [{ model: 'gpt-4o', temperature: 3, messages: [{ role: 'user', content: 'x' }] }, 'temperature', 'decimal_above_max_value'],
      [{ model: 'gpt-4o', n: 0, messages: [{ role: 'user', content: 'x' }] }, 'n', 'integer_below_min_value'],
      [{ model: 'gpt-4o', tool_choice: 'required', messages: [{ role: 'user', content: 'x' }] }, 'tool_choice', null],
      [{ model: 'gpt-4o', stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }] }, 'stream_options', null],
    ];
    for (const [body, param, code] of cases) {
      const error = await client.chat.completions.create(body as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(body)).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).param).toBe(param);
      expect((error as BadRequestError).code).toBe(code);
      expect((error as BadRequestError).type).toBe('invalid_request_error');
    }
    const raw = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: '{"model":' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { message: string } }).error.message).toMatch(/could not parse the JSON body/);

    const missing = await client.chat.completions.create({ model: 'gpt-nonexistent-model'.replace('gpt-', 'xyz-'), messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).code).toBe('model_not_found');
  });

  it('checks the bearer key', async () => {
    const strict = await startSim({ apiKeys: ['sk-good'] });
    try {
      const bad = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: 'sk-bad-key-123456', maxRetries: 0 });
      const error = await bad.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).code).toBe('invalid_api_key');
      const good = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: 'sk-good', maxRetries: 0 });
      expect((await good.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })).choices).toHaveLength(1);
      const none = await fetch(`${strict.url}/v1/models`);
      expect(none.status).toBe(401);
    } finally {
      await strict.close();
    }
  });

  it('lists models', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(expect.arrayContaining(['gpt-4o', 'gpt-4o-mini', 'o3', 'o4-mini', 'gpt-5']));
    expect((await client.models.retrieve('gpt-5')).object).toBe('model');
  });
});

describe('OpenAI prompt caching', () => {
  const system = 'policy '.repeat(1500); // 1500 tokens
  const ask = (question: string, extra: Record<string, unknown> = {}) =>
    client.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'system', content: system }, { role: 'user', content: question }], ...extra });

  it('reports the longest cached prefix in 128-token steps from 1024', async () => {
    sim.reset();
    const first = await ask('What is the policy?');
    expect(first.usage!.prompt_tokens).toBe(3 + 1500 + 3 + 5 + 3);
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    const second = await ask('What is the policy?');
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBe(1408); // 1024 + 3 × 128 ≤ 1514
    const other = await ask('Something else entirely');
    expect(other.usage!.prompt_tokens_details!.cached_tokens).toBe(1408); // shared prefix: 1506 tokens

    const streamed = await client.chat.completions.create({
      model: 'gpt-4.1-mini',
      messages: [{ role: 'system', content: system }, { role: 'user', content: 'What is the policy?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of streamed) usage = chunk.usage ?? usage;
    expect(usage!.prompt_tokens_details!.cached_tokens).toBe(1408);
  });

  it('scopes by model and prompt_cache_key, and expires after inactivity', async () => {
    sim.reset();
    await ask('q');
    expect((await ask('q', { prompt_cache_key: 'tenant-a' })).usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    expect((await ask('q', { prompt_cache_key: 'tenant-a' })).usage!.prompt_tokens_details!.cached_tokens).toBe(1408);
    const otherModel = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'system', content: system }, { role: 'user', content: 'q' }] });
    expect(otherModel.usage!.prompt_tokens_details!.cached_tokens).toBe(0);

    clock.advance(4 * MINUTE);
    expect((await ask('q')).usage!.prompt_tokens_details!.cached_tokens).toBe(1408); // a hit refreshes
    clock.advance(4 * MINUTE);
    expect((await ask('q')).usage!.prompt_tokens_details!.cached_tokens).toBe(1408);
    clock.advance(5 * MINUTE + 1);
    expect((await ask('q')).usage!.prompt_tokens_details!.cached_tokens).toBe(0);
  });

  it('does not cache prompts under 1024 tokens', async () => {
    const short = () => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'word '.repeat(1000) }] });
    await short();
    expect((await short()).usage!.prompt_tokens_details!.cached_tokens).toBe(0);
  });
});

describe('OpenAI faults', () => {
  const ask = (content = 'Hello') => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

  it('answers 429 with retry-after, then lets requests through after `times`', async () => {
    sim.injectFault({ fault: '429', times: 1, match: { model: 'gpt-4o-mini' } });
    const error = await ask().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).headers.get('retry-after')).toBe('1');
    expect((error as RateLimitError).code).toBe('rate_limit_exceeded');
    expect((await ask()).choices).toHaveLength(1);
  });

  it('lets the SDK retry through a transient 500', async () => {
    sim.reset();
    sim.injectFault({ fault: '500', times: 2, retryAfterSeconds: 0 });
    const retrying = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-test', maxRetries: 2 });
    const result = await retrying.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] });
    expect(result.choices).toHaveLength(1);
    expect(sim.stats().byRoute['POST /v1/chat/completions']).toBe(3);
    expect(sim.stats().byModel['gpt-4o-mini']).toBe(3);
  });

  it('fails on prompt markers, through any client', async () => {
    const error = await ask('Hi [[sim:fault=503]]').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).status).toBe(503);
    expect(await ask('Hi [[sim:fault=500]]').catch((e: unknown) => (e as InternalServerError).status)).toBe(500);
    const once = 'Hi [[sim:fault=429,times=1,id=marker-once]]';
    await expect(ask(once)).rejects.toBeInstanceOf(RateLimitError);
    expect((await ask(once)).choices).toHaveLength(1);
  });

  it('refuses flex requests only, with resource_unavailable', async () => {
    const prompt = 'Summarize [[sim:fault=flex-capacity]]';
    const error = await client.chat.completions.create({ model: 'o3', service_tier: 'flex', messages: [{ role: 'user', content: prompt }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).code).toBe('resource_unavailable');
    const standard = await client.chat.completions.create({ model: 'o3', messages: [{ role: 'user', content: prompt }] });
    expect(standard.service_tier).toBe('default');
  });

  it('holds the request until the client times out', async () => {
    sim.injectFault({ fault: 'timeout', times: 1 });
    const impatient = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-test', maxRetries: 0, timeout: 300 });
    await expect(impatient.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('drops the connection mid-stream, and breaks JSON on demand', async () => {
    sim.injectFault({ fault: 'disconnect', times: 1 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true });
    const received: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(received.length).toBeGreaterThan(0);

    sim.injectFault({ fault: 'bad-json', times: 1 });
    await expect(ask()).rejects.toThrow();

    sim.injectFault({ fault: 'stream-error', times: 1 });
    const failing = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true });
    await expect(
      (async () => {
        for await (const chunk of failing) void chunk;
      })(),
    ).rejects.toThrow(/server had an error/);
  });

  it('takes rules over HTTP', async () => {
    const created = await postJson(`${sim.url}/_sim/faults`, { fault: '500', match: { contains: 'control-plane' } });
    expect(created.status).toBe(201);
    expect(await ask('control-plane test').catch((e: unknown) => (e as InternalServerError).status)).toBe(500);
    expect((await ask('other')).choices).toHaveLength(1);
    const rejected = await postJson(`${sim.url}/_sim/faults`, { fault: '418' });
    expect(rejected.status).toBe(400);
    await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
    expect((await ask('control-plane test')).choices).toHaveLength(1);
  });
});
