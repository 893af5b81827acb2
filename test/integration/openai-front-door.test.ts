import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nusd, startHarness, type Harness } from '../helpers/harness';

const weatherTool: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

let h: Harness;
let key: string;
let client: OpenAI;

beforeAll(async () => {
  h = await startHarness();
  const created = await h.createKey({ name: 'app', user: 'ana', team: 'search', project: 'ranker', tags: { env: 'prod' } });
  key = created.key;
  client = h.openai(key);
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.sim.reset();
});

async function eventCountBefore(): Promise<number> {
  return (await h.events()).length;
}

describe('POST /v1/chat/completions through an OpenAI-compatible upstream', () => {
  it('answers a plain completion and leaves one exact ledger row', async () => {
    const before = await eventCountBefore();
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Name three rivers.' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBeTruthy();
    const usage = data.usage!;
    expect(response.headers.get('x-sluice-model')).toBe('gpt-4o-mini');
    expect(response.headers.get('x-sluice-family')).toBe('gpt-4o');
    expect(response.headers.get('x-sluice-tier')).toBe('standard');
    expect(response.headers.get('x-sluice-cache')).toBe('bypass');
    expect(response.headers.get('x-sluice-route-reason')).toBe('requested');
    const requestId = response.headers.get('x-sluice-request-id');
    expect(requestId).toMatch(/^req_/);

    const events = await h.events();
    expect(events).toHaveLength(before + 1);
    const event = events.at(-1)!;
    const expectedCost = nusd(usage.prompt_tokens, 0.15) + nusd(usage.completion_tokens, 0.6);
    expect(event).toMatchObject({
      request_id: requestId,
      user: 'ana',
      team: 'search',
      project: 'ranker',
      tags: { env: 'prod' },
      surface: 'openai',
      requested_model: 'gpt-4o-mini',
      served_model: 'gpt-4o-mini',
      provider: 'openai',
      family: 'gpt-4o',
      tier: 'standard',
      stream: false,
      input_tokens: usage.prompt_tokens,
      cached_input_tokens: 0,
      cache_write_tokens: 0,
      output_tokens: usage.completion_tokens,
      cost_nusd: expectedCost,
      baseline_cost_nusd: expectedCost,
      savings_nusd: { routing: 0, caching: 0, tier: 0 },
      status: 'ok',
      http_status: 200,
      usage_estimated: false,
    });
    expect(response.headers.get('x-sluice-cost-usd')).toBe((expectedCost / 1e9).toFixed(9));
  });

  it('frames a whole answer as JSON with its exact length (written straight to the socket on Node)', async () => {
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Name a river.' }] }),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('transfer-encoding')).toBeNull();
    expect(Number(response.headers.get('content-length'))).toBe(bytes.byteLength);
    expect(response.headers.get('x-sluice-request-id')).toMatch(/^req_/);
    expect(response.headers.get('x-sluice-cost-usd')).toMatch(/^\d+\.\d{9}$/);
    expect(JSON.parse(new TextDecoder().decode(bytes))).toMatchObject({ object: 'chat.completion' });
  });

  it('streams with the official client and hides the usage chunk from callers who did not ask', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Tell me a story.' }] });
    let text = '';
    let sawUsage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) sawUsage = true;
      expect(chunk.choices.length).toBeGreaterThan(0);
    }
    expect(text.length).toBeGreaterThan(0);
    expect(sawUsage).toBe(false);
    const event = (await h.events()).at(-1)!;
    expect(event.stream).toBe(true);
    expect(event.status).toBe('ok');
    expect(event.output_tokens).toBeGreaterThan(0);
    expect(event.ttft_ms).not.toBeNull();
    expect(event.usage_estimated).toBe(false);
  });

  it('streams OpenAI wire format: no usage member unless asked, usage null until the usage chunk when asked, then [DONE]', async () => {
    const events = async (streamOptions: object): Promise<string[]> => {
      const response = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, ...streamOptions, messages: [{ role: 'user', content: 'Tell me a story.' }] }),
      });
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const text = await response.text();
      expect(text.endsWith('\n\n')).toBe(true);
      return text
        .slice(0, -2)
        .split('\n\n')
        .map((event) => {
          expect(event.startsWith('data: ')).toBe(true);
          return event.slice('data: '.length);
        });
    };

    const plain = await events({});
    expect(plain.at(-1)).toBe('[DONE]');
    const plainChunks = plain.slice(0, -1).map((data) => JSON.parse(data) as Record<string, unknown>);
    expect(plainChunks.length).toBeGreaterThan(2);
    for (const chunk of plainChunks) {
      expect(chunk).not.toHaveProperty('usage');
      expect(chunk.object).toBe('chat.completion.chunk');
      expect((chunk.choices as unknown[]).length).toBeGreaterThan(0);
    }

    const withUsage = await events({ stream_options: { include_usage: true } });
    expect(withUsage.at(-1)).toBe('[DONE]');
    const chunks = withUsage.slice(0, -1).map((data) => JSON.parse(data) as { usage: unknown; choices: unknown[] });
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
    // The same answer either way: only the usage members differ.
    expect(chunks.slice(0, -1).map((chunk) => chunk.choices)).toEqual(plainChunks.map((chunk) => chunk.choices));
  });

  it('passes the usage chunk to callers who asked, equal to the ledger row', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Count to five.' }],
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toBeDefined();
    const event = (await h.events()).at(-1)!;
    expect(event.input_tokens + event.cached_input_tokens).toBe(usage!.prompt_tokens);
    expect(event.output_tokens).toBe(usage!.completion_tokens);
    expect(event.cost_nusd).toBe(nusd(usage!.prompt_tokens, 0.15) + nusd(usage!.completion_tokens, 0.6));
  });

  it('carries tools through and returns tool calls', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toHaveProperty('city');
  });

  it('lists models and auto routers in OpenAI shape', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toContain('auto');
    expect(ids).toContain('auto:claude');
    expect(ids).toContain('gpt-4o-mini');
    const one = await client.models.retrieve('gpt-4o-mini');
    expect(one.owned_by).toBe('openai');
  });
});

describe('POST /v1/chat/completions through an Anthropic upstream', () => {
  it('translates a plain completion and meters Anthropic usage exactly', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'claude-haiku-5-5',
        max_tokens: 200,
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'Hello there' },
          { role: 'assistant', content: 'Hi.' },
          { role: 'user', content: 'Summarize the French revolution.' },
        ],
      })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.role).toBe('assistant');
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(['stop', 'length']).toContain(data.choices[0]?.finish_reason);
    expect(response.headers.get('x-sluice-model')).toBe('claude-haiku-5-5');
    const usage = data.usage!;
    const event = (await h.events()).at(-1)!;
    expect(event.provider).toBe('anthropic');
    expect(event.input_tokens).toBe(usage.prompt_tokens);
    expect(event.output_tokens).toBe(usage.completion_tokens);
    expect(event.cost_nusd).toBe(nusd(usage.prompt_tokens, 0.1) + nusd(usage.completion_tokens, 0.5));
    expect(h.sim.stats().byRoute['POST /v1/messages']).toBe(1);
  });

  it('translates a stream to chat.completion.chunk events', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-haiku-5-5',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Write a haiku about rivers.' }],
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let first = true;
    for await (const chunk of stream) {
      if (first) expect(chunk.choices[0]?.delta.role).toBe('assistant');
      first = false;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(finish).toBe('stop');
    const event = (await h.events()).at(-1)!;
    expect(event.stream).toBe(true);
    expect(event.output_tokens).toBe(usage!.completion_tokens);
    expect(event.input_tokens).toBe(usage!.prompt_tokens);
  });

  it('translates tools both ways, including a tool result turn', async () => {
    const first = await client.chat.completions.create({
      model: 'claude-haiku-5-5',
      messages: [{ role: 'user', content: 'Use get_weather for Oslo.' }],
      tools: [weatherTool],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    const second = await client.chat.completions.create({
      model: 'claude-haiku-5-5',
      messages: [
        { role: 'user', content: 'Use get_weather for Oslo.' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"temp_c": 3}' },
      ],
      tools: [weatherTool],
    });
    expect(second.choices[0]?.message.content).toBeTruthy();
  });

  it('streams tool calls as OpenAI tool_call deltas', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-haiku-5-5',
      stream: true,
      messages: [{ role: 'user', content: 'Weather in Rome please' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    let args = '';
    let name = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      for (const t of delta?.tool_calls ?? []) {
        name += t.function?.name ?? '';
        args += t.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toHaveProperty('city');
    expect(finish).toBe('tool_calls');
  });
});

describe('bad input is refused in OpenAI shape, with no upstream call and no ledger row', () => {
  async function raw(body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { error: { message: string; type: string; param: string | null; code: string } } }> {
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, json: (await response.json()) as never };
  }

  async function expectNothingWritten(before: number): Promise<void> {
    expect(h.sim.stats().requests).toBe(0);
    expect(await h.events()).toHaveLength(before);
  }

  it('invalid JSON → 400 invalid_json', async () => {
    const before = await eventCountBefore();
    const { status, json } = await raw('{"model": "gpt-4o-mini", "messages": [');
    expect(status).toBe(400);
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.code).toBe('invalid_json');
    await expectNothingWritten(before);
  });

  it('wrong types → 400 naming the parameter', async () => {
    const before = await eventCountBefore();
    const { status, json } = await raw(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' }));
    expect(status).toBe(400);
    expect(json.error.param).toBe('temperature');
    await expectNothingWritten(before);
    const bad = await raw(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 42 }] }));
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('messages[0].content');
  });

  it('empty messages → 400', async () => {
    const before = await eventCountBefore();
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages');
    await expectNothingWritten(before);
  });

  it('unknown model → 404 model_not_found', async () => {
    const before = await eventCountBefore();
    const error = await client.chat.completions.create({ model: 'gpt-9000', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    await expectNothingWritten(before);
  });

  it('oversize body → 413', async () => {
    const before = await eventCountBefore();
    const big = 'x'.repeat(21 * 1024 * 1024);
    const { status, json } = await raw(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: big }] }));
    expect(status).toBe(413);
    expect(json.error.message).toContain('SLUICE_MAX_BODY_BYTES');
    await expectNothingWritten(before);
  });

  it('wrong content type → 415', async () => {
    const before = await eventCountBefore();
    const { status, json } = await raw('model=gpt-4o-mini', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(status).toBe(415);
    expect(json.error.code).toBe('unsupported_media_type');
    await expectNothingWritten(before);
  });

  it('missing, unknown and revoked keys → 401 authentication_error', async () => {
    const before = await eventCountBefore();
    const noKey = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    const unknown = await h.openai('sk-sluice-nope').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.AuthenticationError);
    const doomed = await h.createKey({ name: 'doomed' });
    await h.admin(`/admin/keys/${doomed.id}`, { method: 'DELETE' });
    const revoked = await h.openai(doomed.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(revoked).toBeInstanceOf(OpenAI.AuthenticationError);
    await expectNothingWritten(before);
  });

  it('accepts the key as x-api-key too', async () => {
    const response = await fetch(`${h.url}/v1/models`, { headers: { 'x-api-key': key } });
    expect(response.status).toBe(200);
  });

  it('a key limited to some models gets 403 for others', async () => {
    const limited = await h.createKey({ name: 'limited', allowed_models: ['gpt-4o-mini'] });
    const error = await h.openai(limited.key).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(h.sim.stats().requests).toBe(0);
  });
});

describe('upstream failures come back in OpenAI shape and are recorded once', () => {
  it('a 429 from the upstream is a 429 with retry-after, one error row', async () => {
    const before = await eventCountBefore();
    h.sim.injectFault({ fault: '429', times: 1 });
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBeTruthy();
    const events = await h.events();
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({ status: 'error', http_status: 429, cost_nusd: 0 });
  });

  it('a 500 from the upstream is a 502, one error row', async () => {
    const before = await eventCountBefore();
    const error = await client.chat.completions
      .create({ model: 'claude-haiku-5-5', messages: [{ role: 'user', content: 'boom [[sim:fault=500]]' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(502);
    const events = await h.events();
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({ status: 'error', http_status: 502, provider: 'anthropic' });
  });

  it('a stream the upstream cuts off is reported to the caller and recorded as an error', async () => {
    const before = await eventCountBefore();
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'long story [[sim:fault=disconnect]]' }] });
    const error = await (async () => {
      for await (const _ of stream) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const events = await h.eventsWhen(before + 1);
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({ status: 'error', stream: true, usage_estimated: true });
  });

  it('a caller who leaves mid-stream leaves one aborted row with counted tokens', async () => {
    const slow = await startHarness({ sim: { perTokenMs: 20, outputTokens: { min: 200, max: 200 } } });
    try {
      const k = await slow.createKey({ name: 'leaver' });
      const controller = new AbortController();
      const stream = await slow.openai(k.key).chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a long answer please' }] },
        { signal: controller.signal },
      );
      let chunks = 0;
      await (async () => {
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content) chunks++;
          if (chunks === 5) controller.abort();
        }
      })().catch(() => undefined);
      const events = await slow.eventsWhen(1);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: 'aborted', usage_estimated: true, stream: true });
      expect(events[0]!.output_tokens).toBeGreaterThanOrEqual(5);
      expect(events[0]!.output_tokens).toBeLessThan(200);
      expect(events[0]!.input_tokens).toBeGreaterThan(0);
      expect(events[0]!.cost_nusd).toBeGreaterThan(0);
    } finally {
      await slow.close();
    }
  });

  it('a caller who leaves before the upstream answers drops the upstream call and leaves one aborted row', async () => {
    // The upstream would hold the call for a minute: the row can only come early if the
    // caller's leaving reached the upstream call.
    const leaving = await startHarness({ env: { SLUICE_UPSTREAM_TIMEOUT_MS: '60000' } });
    try {
      const k = await leaving.createKey({ name: 'leaver' });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const error = await leaving
        .openai(k.key)
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hang [[sim:fault=timeout]]' }] }, { signal: controller.signal, maxRetries: 0 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIUserAbortError);
      const events = await leaving.eventsWhen(1);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: 'aborted', stream: false });
      expect(events[0]!.latency_ms).toBeLessThan(10_000);
    } finally {
      await leaving.close();
    }
  });

  it('an upstream that does not answer in time is a 504', async () => {
    const impatient = await startHarness({ env: { SLUICE_UPSTREAM_TIMEOUT_MS: '300' } });
    try {
      const k = await impatient.createKey({ name: 'impatient' });
      const error = await impatient
        .openai(k.key)
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hang [[sim:fault=timeout]]' }] })
        .catch((e: unknown) => e);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
      const events = await impatient.events();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: 'error', http_status: 504 });
    } finally {
      await impatient.close();
    }
  });
});
