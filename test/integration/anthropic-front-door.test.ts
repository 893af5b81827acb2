import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anthropicClient, handCost, startRecorder, type Recorder } from '../helpers/front-doors';
import { findJob } from '../../src/jobs';
import { startHarness, type Harness } from '../helpers/harness';

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** One model per upstream kind: the Anthropic API (pass-through), OpenAI, Bedrock (both translated). */
const UPSTREAMS = [
  { kind: 'Anthropic (pass-through)', model: 'claude-haiku-5-5', provider: 'anthropic', router: 'auto:claude', family: 'claude' },
  { kind: 'OpenAI-compatible', model: 'gpt-4o-mini', provider: 'openai', router: 'auto:gpt-4o', family: 'gpt-4o' },
  { kind: 'Bedrock', model: 'nova-micro', provider: 'bedrock', router: 'auto:nova', family: 'nova' },
] as const;

let h: Harness;
let recorder: Recorder;
let key: string;
let client: Anthropic;

beforeAll(async () => {
  // The Anthropic upstream sits behind a recorder, to see exactly what a pass-through sends.
  recorder = await startRecorder();
  h = await startHarness({ env: { ANTHROPIC_BASE_URL: recorder.url } });
  recorder.target = h.sim.url;
  const created = await h.createKey({ name: 'claude-app', user: 'ana', team: 'search', project: 'ranker', tags: { env: 'prod' } });
  key = created.key;
  client = anthropicClient(h, key);
});

afterAll(async () => {
  await h.close();
  await recorder.close();
});

beforeEach(() => {
  h.sim.reset();
  recorder.requests.length = 0;
});

describe.each(UPSTREAMS)('POST /v1/messages through $kind', ({ model, provider, router, family }) => {
  it('answers a plain message and leaves one exact ledger row', async () => {
    const before = (await h.events()).length;
    const { data, response } = await client.messages
      .create({ model, max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'Name three rivers.' }], metadata: { user_id: 'end-user-1' } })
      .withResponse();
    expect(data.type).toBe('message');
    expect(data.role).toBe('assistant');
    expect(data.content[0]?.type).toBe('text');
    expect(data.stop_reason).toBe('end_turn');
    expect(response.headers.get('x-sluice-model')).toBe(model);
    expect(response.headers.get('content-type')).toContain('application/json');

    const events = await h.events();
    expect(events).toHaveLength(before + 1);
    const event = events.at(-1)!;
    expect(event).toMatchObject({
      request_id: response.headers.get('x-sluice-request-id'),
      surface: 'anthropic',
      requested_model: model,
      served_model: model,
      provider,
      user: 'ana',
      team: 'search',
      tags: { env: 'prod', end_user: 'end-user-1' },
      stream: false,
      status: 'ok',
      http_status: 200,
      input_tokens: data.usage.input_tokens,
      cached_input_tokens: data.usage.cache_read_input_tokens ?? 0,
      cache_write_tokens: data.usage.cache_creation_input_tokens ?? 0,
      output_tokens: data.usage.output_tokens,
      usage_estimated: false,
    });
    expect(event.cost_nusd).toBe(await handCost(h, event));
    expect(event.cost_nusd).toBeGreaterThan(0);
    expect(response.headers.get('x-sluice-cost-usd')).toBe((event.cost_nusd / 1e9).toFixed(9));
  });

  it('streams with the SDK helpers: text events, finalMessage() and usage equal to the ledger row', async () => {
    const stream = client.messages.stream({ model, max_tokens: 200, messages: [{ role: 'user', content: 'Tell me a short story.' }] });
    const names: string[] = [];
    let text = '';
    stream.on('streamEvent', (event) => names.push(event.type));
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text.length).toBeGreaterThan(0);
    expect(final.content[0]).toEqual({ type: 'text', text, ...(final.content[0] && 'citations' in final.content[0] ? { citations: final.content[0].citations } : {}) });
    expect(final.stop_reason).toBe('end_turn');
    expect(names[0]).toBe('message_start');
    expect(names.at(-1)).toBe('message_stop');
    expect(names.at(-2)).toBe('message_delta');
    expect(names).toContain('content_block_start');
    expect(names).toContain('content_block_stop');

    const event = (await h.eventsWhen((await h.events()).length)).at(-1)!;
    expect(event).toMatchObject({ surface: 'anthropic', provider, stream: true, status: 'ok', usage_estimated: false });
    expect(event.input_tokens).toBe(final.usage.input_tokens);
    expect(event.output_tokens).toBe(final.usage.output_tokens);
    expect(event.cost_nusd).toBe(await handCost(h, event));
    expect(event.ttft_ms).not.toBeNull();
  });

  it('calls tools and takes the tool result back, plain and streamed', async () => {
    const first = await client.messages.create({
      model,
      max_tokens: 300,
      messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
      tools: [weatherTool],
      tool_choice: { type: 'tool', name: 'get_weather' },
    });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(use?.name).toBe('get_weather');
    expect(use?.input).toHaveProperty('city');

    const second = await client.messages.create({
      model,
      max_tokens: 300,
      messages: [
        { role: 'user', content: 'What is the weather in Oslo?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: '{"temp_c": 3}' }] },
      ],
      tools: [weatherTool],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content.some((b) => b.type === 'text')).toBe(true);

    const streamed = await client.messages
      .stream({ model, max_tokens: 300, messages: [{ role: 'user', content: 'Weather in Rome please' }], tools: [weatherTool], tool_choice: { type: 'any' } })
      .finalMessage();
    expect(streamed.stop_reason).toBe('tool_use');
    const streamedUse = streamed.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(streamedUse?.input).toHaveProperty('city');
  });

  it(`routes ${router} within its family and prices it against the family baseline`, async () => {
    const { data, response } = await client.messages.create({ model: router, max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(data.content.length).toBeGreaterThan(0);
    expect(response.headers.get('x-sluice-family')).toBe(family);
    const event = (await h.events()).at(-1)!;
    expect(event).toMatchObject({ requested_model: router, family, provider, served_model: response.headers.get('x-sluice-model') });
    expect(event.cost_nusd).toBe(await handCost(h, event));
    expect(event.baseline_cost_nusd).toBeGreaterThanOrEqual(event.cost_nusd);
  });

  it('counts tokens: from the upstream where it has a counter, estimated otherwise', async () => {
    const { data, response } = await client.messages
      .countTokens({ model, system: 'Be brief.', messages: [{ role: 'user', content: 'How many tokens is this sentence?' }] })
      .withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-sluice-token-count')).toBe(provider === 'anthropic' ? 'upstream' : 'estimate');
    expect(h.sim.stats().byRoute['POST /v1/messages/count_tokens'] ?? 0).toBe(provider === 'anthropic' ? 1 : 0);
  });
});

describe('the pass-through to an Anthropic upstream', () => {
  it("sends the caller's body untouched but for the model, with its anthropic-beta and version headers", async () => {
    const body = {
      model: 'auto:claude',
      max_tokens: 64,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }] }],
      top_k: 5,
      service_tier: 'standard_only',
      future_field: { anything: true },
    };
    const response = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'some-beta-2026-01-01' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    const answer = await response.text();
    const sent = recorder.requests.at(-1)!;
    expect(sent.path).toBe('/v1/messages');
    expect(JSON.parse(sent.body)).toEqual({ ...body, model: response.headers.get('x-sluice-model') });
    expect(sent.headers['anthropic-beta']).toBe('some-beta-2026-01-01');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers['x-api-key']).toBe('sk-upstream-anthropic');
    expect(answer).toBe(Buffer.concat(sent.response).toString('utf8'));
  });

  it("keeps the caller's cache_control: a cache write, then reads, each priced exactly", async () => {
    const longSystem = Array.from({ length: 400 }, (_, i) => `Rule ${i}: answer carefully and cite the policy section.`).join(' ');
    const ask = () =>
      client.messages.create({
        model: 'claude-haiku-5-5',
        max_tokens: 50,
        system: [{ type: 'text', text: longSystem, cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'Summarize the rules.' }],
      });
    const first = await ask();
    const second = await ask();
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(1024);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    const [writeRow, readRow] = (await h.events()).slice(-2);
    expect(writeRow).toMatchObject({ cache_write_tokens: first.usage.cache_creation_input_tokens, cached_input_tokens: 0 });
    expect(readRow).toMatchObject({ cached_input_tokens: second.usage.cache_read_input_tokens, cache_write_tokens: 0 });
    expect(writeRow!.cost_nusd).toBe(await handCost(h, writeRow!));
    expect(readRow!.cost_nusd).toBe(await handCost(h, readRow!));
    expect(readRow!.savings_nusd.caching).toBeGreaterThan(0);
  });

  it('passes the stream through byte for byte, ping included', async () => {
    const response = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-5-5', max_tokens: 40, stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    expect(text).toBe(Buffer.concat(recorder.requests.at(-1)!.response).toString('utf8'));
    const names = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
  });
});

describe('the response cache behind the Anthropic front door', () => {
  it.each(UPSTREAMS)('serves a repeated deterministic request through $kind from the cache, plain and streamed, at zero cost', async ({ model }) => {
    const ask = { model, max_tokens: 60, temperature: 0, messages: [{ role: 'user' as const, content: `Cache me please (${model})` }] };
    const first = await client.messages.create(ask);
    const { data: second, response } = await client.messages.create(ask).withResponse();
    expect(response.headers.get('x-sluice-cache')).toBe('hit');
    expect(second.content).toEqual(first.content);
    expect(second.type).toBe('message');
    const streamed = await client.messages.stream(ask).finalMessage();
    expect(streamed.content).toEqual(first.content);
    const rows = (await h.events()).slice(-3);
    expect(rows.map((r) => r.cache)).toEqual(['miss', 'hit', 'hit']);
    expect(rows[1]!.cost_nusd).toBe(0);
    expect(h.sim.stats().requests).toBe(1);
    // A field only the native body says (top_k, which this SDK no longer types) is part of the key: no false hit.
    const withTopK = { ...ask, top_k: 3 };
    await client.messages.create(withTopK).catch(() => undefined);
    expect((await h.events()).at(-1)?.cache).not.toBe('hit');
    // A streamed answer is stored too (a pass-through's from the bytes its decoder read on the side).
    const streamFirst = { ...ask, messages: [{ role: 'user' as const, content: `Stream first (${model})` }] };
    const streamedFirst = await client.messages.stream(streamFirst).finalMessage();
    const { data: replayed, response: replay } = await client.messages.create(streamFirst).withResponse();
    expect(replay.headers.get('x-sluice-cache')).toBe('hit');
    expect(replayed.content).toEqual(streamedFirst.content);
  });
});

describe('the batch tier behind the Anthropic front door', () => {
  it('defers a request with 202 and answers the poll with an Anthropic Message', async () => {
    const accepted = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'x-sluice-tier': 'batch' },
      body: JSON.stringify({ model: 'claude-haiku-5-5', max_tokens: 60, messages: [{ role: 'user', content: 'Summarize later' }] }),
    });
    expect(accepted.status).toBe(202);
    const deferred = (await accepted.json()) as { id: string; status: string; poll_url: string };
    expect(deferred.status).toBe('queued');
    let view: { status: string; result?: Anthropic.Message } = deferred;
    for (let run = 0; run < 5 && view.status !== 'completed'; run++) {
      await findJob('batch')!.run(h.gateway.sluice.services, Date.now());
      view = (await (await fetch(deferred.poll_url, { headers: { 'x-api-key': key } })).json()) as typeof view;
    }
    expect(view.status).toBe('completed');
    expect(view.result).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', content: [{ type: 'text' }] });
    expect((await h.events()).at(-1)).toMatchObject({ surface: 'anthropic', tier: 'batch', status: 'ok' });
  });
});

describe('a translated stream carries the Messages event names', () => {
  it('sends event: lines with a ping, as Anthropic does', async () => {
    const response = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 40, stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    const text = await response.text();
    const names = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.filter((n) => n === 'content_block_delta').length).toBeGreaterThan(0);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    for (const match of text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)) expect((JSON.parse(match[2]!) as { type: string }).type).toBe(match[1]);
  });
});

describe('errors come back in Anthropic’s shape', () => {
  async function expectNothingWritten(before: number): Promise<void> {
    expect(h.sim.stats().requests).toBe(0);
    expect(await h.events()).toHaveLength(before);
  }

  it('a malformed body is a 400 invalid_request_error naming the field, with no upstream call and no row', async () => {
    const before = (await h.events()).length;
    const response = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-5-5', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(json.type).toBe('error');
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.message).toContain('max_tokens');
    const error = await client.messages.create({ model: 'claude-haiku-5-5', max_tokens: 10, messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    await expectNothingWritten(before);
  });

  it('unknown keys are 401 authentication_error; unknown models are 404 not_found_error', async () => {
    const before = (await h.events()).length;
    const unknown = await anthropicClient(h, 'sk-sluice-nope').messages.create({ model: 'claude-haiku-5-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((unknown as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const missing = await client.messages.create({ model: 'claude-9000', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect((missing as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ error: { type: 'not_found_error' } });
    await expectNothingWritten(before);
  });

  it('what only Anthropic can do is refused, by name, when another upstream serves the model', async () => {
    const before = (await h.events()).length;
    const error = await client.messages
      .create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'Search the web' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain('tools[0] (the server tool web_search_20250305)');
    await expectNothingWritten(before);
  });

  it('an upstream 429 is a rate_limit_error with retry-after, and one error row', async () => {
    const before = (await h.events()).length;
    h.sim.injectFault({ fault: '429', times: 1 });
    const error = await client.messages.create({ model: 'claude-haiku-5-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as InstanceType<typeof Anthropic.RateLimitError>).headers?.get('retry-after')).toBeTruthy();
    const events = await h.events();
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({ surface: 'anthropic', status: 'error', http_status: 429, cost_nusd: 0 });
  });

  it('an overloaded upstream of any kind is Anthropic’s 529 overloaded_error', async () => {
    for (const model of ['claude-haiku-5-5', 'gpt-4o-mini', 'nova-micro']) {
      h.sim.injectFault({ fault: 'overloaded', times: 1 });
      const error = await client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
      expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    }
  });

  it.each(UPSTREAMS)('a stream that fails midway through $kind ends with an error event the SDK raises, and an error row', async ({ model }) => {
    const before = (await h.events()).length;
    const stream = client.messages.stream({ model, max_tokens: 200, messages: [{ role: 'user', content: 'A long story [[sim:fault=stream-error]]' }] });
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    const events = await h.eventsWhen(before + 1);
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({ surface: 'anthropic', status: 'error', stream: true });
  });
});

describe('a translated stream that fails after it started', () => {
  it('ends with an error event the SDK raises, after the text already sent', async () => {
    const slow = await startHarness({ sim: { perTokenMs: 3, outputTokens: { min: 80, max: 80 } } });
    try {
      const c = anthropicClient(slow, (await slow.createKey({ name: 'slow' })).key);
      let text = '';
      const stream = c.messages.stream({ model: 'gpt-4o-mini', max_tokens: 200, messages: [{ role: 'user', content: 'A long story [[sim:fault=stream-error]]' }] });
      stream.on('text', (delta) => (text += delta));
      const error = await stream.finalMessage().catch((e: unknown) => e);
      expect(text.length).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect((error as Error).message).toContain('api_error');
      expect((await slow.eventsWhen(1)).at(-1)).toMatchObject({ status: 'error', stream: true, http_status: 502 });
    } finally {
      await slow.close();
    }
  });

  it('a caller who leaves a pass-through stream leaves one aborted row with counted tokens', async () => {
    const slow = await startHarness({ sim: { perTokenMs: 10, outputTokens: { min: 200, max: 200 } } });
    try {
      const c = anthropicClient(slow, (await slow.createKey({ name: 'leaver' })).key);
      const stream = c.messages.stream({ model: 'claude-haiku-5-5', max_tokens: 400, messages: [{ role: 'user', content: 'A long answer please' }] });
      let deltas = 0;
      stream.on('text', () => {
        if (++deltas === 5) stream.abort();
      });
      await stream.finalMessage().catch(() => undefined);
      const [event] = await slow.eventsWhen(1);
      expect(event).toMatchObject({ surface: 'anthropic', provider: 'anthropic', status: 'aborted', stream: true, usage_estimated: true });
      expect(event!.output_tokens).toBeGreaterThanOrEqual(5);
      expect(event!.output_tokens).toBeLessThan(200);
      expect(event!.input_tokens).toBeGreaterThan(0);
    } finally {
      await slow.close();
    }
  });
});
