import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InternalServerException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
  type ContentBlock,
  type ConverseStreamOutput,
  type Message,
  type Tool,
} from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bedrockClient, handCost, pricesOf, startRecorder, type Recorder } from '../helpers/front-doors';
import { findJob } from '../../src/jobs';
import { ADMIN_KEY, nusd, startHarness, type Harness } from '../helpers/harness';

const run = promisify(execFile);

const weatherTool: Tool = {
  toolSpec: {
    name: 'get_weather',
    description: 'Current weather for a city',
    inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  },
};

/** One model per upstream kind: Bedrock (pass-through), OpenAI and Anthropic (translated). */
const UPSTREAMS = [
  { kind: 'Bedrock (pass-through)', modelId: 'amazon.nova-micro-v1:0', served: 'nova-micro', provider: 'bedrock', router: 'auto:nova', family: 'nova' },
  { kind: 'OpenAI-compatible', modelId: 'gpt-4o-mini', served: 'gpt-4o-mini', provider: 'openai', router: 'auto:gpt-4o', family: 'gpt-4o' },
  { kind: 'Anthropic', modelId: 'claude-haiku-5-5', served: 'claude-haiku-5-5', provider: 'anthropic', router: 'auto:claude', family: 'claude' },
] as const;

let h: Harness;
let recorder: Recorder;
let key: string;
let client: BedrockRuntimeClient;

beforeAll(async () => {
  // The Bedrock upstream sits behind a recorder, to see exactly what a pass-through sends.
  recorder = await startRecorder();
  h = await startHarness({ env: { BEDROCK_BASE_URL: recorder.url } });
  recorder.target = h.sim.url;
  key = (await h.createKey({ name: 'aws-app', team: 'risk', tags: { env: 'prod' } })).key;
  client = bedrockClient(h, key);
});

afterAll(async () => {
  client.destroy();
  await h.close();
  await recorder.close();
});

beforeEach(() => {
  h.sim.reset();
  recorder.requests.length = 0;
});

const ask = (text: string): Message[] => [{ role: 'user', content: [{ text }] }];

async function drain(stream: AsyncIterable<ConverseStreamOutput> | undefined): Promise<ConverseStreamOutput[]> {
  const events: ConverseStreamOutput[] = [];
  for await (const event of stream ?? []) events.push(event);
  return events;
}

function eventName(event: ConverseStreamOutput): string {
  return Object.entries(event).find(([, value]) => value !== undefined)?.[0] ?? '';
}

describe('the AWS SDK with its default request handler', () => {
  it('speaks HTTP/2 (prior-knowledge h2c) to the gateway, which also serves HTTP/1.1 on the same port', async () => {
    const handler = (await client.config.requestHandler) as unknown as { constructor: { name: string } };
    expect(handler.constructor.name).toBe('NodeHttp2Handler');
    const session = http2.connect(h.url);
    const status = await new Promise<number>((resolve, reject) => {
      const request = session.request({ ':path': '/healthz' });
      request.on('response', (headers) => resolve(Number(headers[':status'])));
      request.on('error', reject);
      request.end();
    });
    session.close();
    expect(status).toBe(200);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});

describe.each(UPSTREAMS)('Converse through $kind', ({ modelId, served, provider, router, family }) => {
  it('answers Converse and leaves one exact ledger row', async () => {
    const before = (await h.events()).length;
    const answer = await client.send(
      new ConverseCommand({ modelId, system: [{ text: 'Be brief.' }], messages: ask('Name three rivers.'), inferenceConfig: { maxTokens: 200, temperature: 0.5 }, requestMetadata: { feature: 'rivers' } }),
    );
    expect(answer.stopReason).toBe('end_turn');
    expect(answer.output?.message?.role).toBe('assistant');
    expect(answer.output?.message?.content?.[0]?.text).toBeTruthy();
    expect(answer.metrics?.latencyMs).toBeGreaterThanOrEqual(0);

    const events = await h.events();
    expect(events).toHaveLength(before + 1);
    const event = events.at(-1)!;
    expect(event).toMatchObject({
      request_id: answer.$metadata.requestId,
      surface: 'bedrock',
      requested_model: modelId === served ? modelId : served,
      served_model: served,
      provider,
      team: 'risk',
      tags: { env: 'prod', feature: 'rivers' },
      stream: false,
      status: 'ok',
      input_tokens: answer.usage?.inputTokens,
      output_tokens: answer.usage?.outputTokens,
      usage_estimated: false,
    });
    expect(event.cost_nusd).toBe(await handCost(h, event));
    expect(event.cost_nusd).toBeGreaterThan(0);
  });

  it('streams ConverseStream events with the usage of the ledger row', async () => {
    const response = await client.send(new ConverseStreamCommand({ modelId, messages: ask('Tell me a short story.'), inferenceConfig: { maxTokens: 200 } }));
    const events = await drain(response.stream);
    const names = events.map(eventName);
    expect(names[0]).toBe('messageStart');
    expect(names.slice(-2)).toEqual(['messageStop', 'metadata']);
    expect(names).toContain('contentBlockDelta');
    expect(names).toContain('contentBlockStop');
    const text = events.map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    const usage = events.at(-1)?.metadata?.usage;

    const event = (await h.eventsWhen((await h.events()).length)).at(-1)!;
    expect(event).toMatchObject({ surface: 'bedrock', provider, stream: true, status: 'ok', usage_estimated: false });
    expect(event.input_tokens).toBe(usage?.inputTokens);
    expect(event.output_tokens).toBe(usage?.outputTokens);
    expect(event.cost_nusd).toBe(await handCost(h, event));
  });

  it('uses tools and takes the tool result back, plain and streamed', async () => {
    const first = await client.send(
      new ConverseCommand({ modelId, messages: ask('What is the weather in Oslo?'), toolConfig: { tools: [weatherTool], toolChoice: { tool: { name: 'get_weather' } } }, inferenceConfig: { maxTokens: 300 } }),
    );
    expect(first.stopReason).toBe('tool_use');
    const use = first.output?.message?.content?.find((b): b is ContentBlock.ToolUseMember => b.toolUse !== undefined)?.toolUse;
    expect(use?.name).toBe('get_weather');
    expect(use?.input).toHaveProperty('city');

    const second = await client.send(
      new ConverseCommand({
        modelId,
        messages: [
          ...ask('What is the weather in Oslo?'),
          { role: 'assistant', content: first.output!.message!.content! },
          { role: 'user', content: [{ toolResult: { toolUseId: use!.toolUseId!, content: [{ json: { temp_c: 3 } }] } }] },
        ],
        toolConfig: { tools: [weatherTool] },
        inferenceConfig: { maxTokens: 300 },
      }),
    );
    expect(second.stopReason).toBe('end_turn');

    const streamed = await client.send(
      new ConverseStreamCommand({ modelId, messages: ask('Weather in Rome please'), toolConfig: { tools: [weatherTool], toolChoice: { any: {} } }, inferenceConfig: { maxTokens: 300 } }),
    );
    const events = await drain(streamed.stream);
    const start = events.find((e) => e.contentBlockStart?.start?.toolUse)?.contentBlockStart;
    expect(start?.start?.toolUse?.name).toBe('get_weather');
    const input = events
      .filter((e) => e.contentBlockDelta?.contentBlockIndex === start?.contentBlockIndex)
      .map((e) => e.contentBlockDelta?.delta?.toolUse?.input ?? '')
      .join('');
    expect(JSON.parse(input)).toHaveProperty('city');
    expect(events.find((e) => e.messageStop)?.messageStop?.stopReason).toBe('tool_use');
  });

  it(`routes ${router} as Bedrock takes a prompt router`, async () => {
    const answer = await client.send(new ConverseCommand({ modelId: router, messages: ask('Hi'), inferenceConfig: { maxTokens: 100 } }));
    expect(answer.output?.message?.content?.length).toBeGreaterThan(0);
    const event = (await h.events()).at(-1)!;
    expect(event).toMatchObject({ requested_model: router, family, provider });
    expect(event.cost_nusd).toBe(await handCost(h, event));
  });

  it('counts tokens (an estimate: Bedrock counts only for Claude, the others have no counter for Converse input)', async () => {
    const counted = await client.send(new CountTokensCommand({ modelId, input: { converse: { messages: ask('How many tokens is this sentence?') } } }));
    expect(counted.inputTokens).toBeGreaterThan(0);
    expect(h.sim.stats().byRoute['POST /model/{modelId}/count-tokens'] ?? 0).toBe(0);
  });
});

describe('the response cache behind the Bedrock front door', () => {
  it.each(UPSTREAMS)('serves a repeated deterministic request through $kind from the cache, plain and streamed', async ({ modelId }) => {
    const input = { modelId, messages: ask(`Cache me please (${modelId})`), inferenceConfig: { maxTokens: 60, temperature: 0 } };
    const first = await client.send(new ConverseCommand(input));
    const second = await client.send(new ConverseCommand(input));
    expect(second.output).toEqual(first.output);
    const streamed = await client.send(new ConverseStreamCommand(input));
    const text = (await drain(streamed.stream)).map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');
    expect(text).toBe(first.output?.message?.content?.[0]?.text);
    const rows = (await h.events()).slice(-3);
    expect(rows.map((r) => r.cache)).toEqual(['miss', 'hit', 'hit']);
    expect(rows.slice(1).map((r) => r.cost_nusd)).toEqual([0, 0]);
    expect(h.sim.stats().requests).toBe(1);
  });
});

describe('the batch tier behind the Bedrock front door', () => {
  it('defers a request with 202, drains it through Bedrock (no batch API there), and answers the poll in Converse shape', async () => {
    const accepted = await fetch(`${h.url}/model/amazon.nova-micro-v1%3A0/converse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-sluice-tier': 'batch' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Summarize later' }] }] }),
    });
    expect(accepted.status).toBe(202);
    const deferred = (await accepted.json()) as { poll_url: string; status: string };
    let view: { status: string; result?: { output?: unknown; stopReason?: string; usage?: { inputTokens: number } } } = deferred;
    for (let run = 0; run < 5 && view.status !== 'completed'; run++) {
      await findJob('batch')!.run(h.gateway.sluice.services, Date.now());
      view = (await (await fetch(deferred.poll_url, { headers: { authorization: `Bearer ${key}` } })).json()) as typeof view;
    }
    expect(view.status).toBe('completed');
    expect(view.result).toMatchObject({ output: { message: { role: 'assistant' } }, stopReason: 'end_turn' });
    expect(view.result?.usage?.inputTokens).toBeGreaterThan(0);
    expect(recorder.requests.at(-1)?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });
});

describe('the pass-through to a Bedrock upstream', () => {
  it('sends the caller’s Converse body untouched, SigV4-signed, for the model the id resolves to', async () => {
    const body = {
      messages: [{ role: 'user', content: [{ text: 'Hi' }, { cachePoint: { type: 'default' } }] }],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 50, topP: 0.9 },
      additionalModelRequestFields: { inferenceConfig: { topK: 20 } },
      requestMetadata: { feature: 'greeting' },
      performanceConfig: { latency: 'standard' },
    };
    const response = await fetch(`${h.url}/model/${encodeURIComponent('arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0')}/converse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-sluice-model')).toBe('nova-micro');
    const answer = await response.text();
    const sent = recorder.requests.at(-1)!;
    expect(sent.path).toBe('/model/amazon.nova-micro-v1%3A0/converse');
    expect(JSON.parse(sent.body)).toEqual(body);
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
    expect(answer).toBe(Buffer.concat(sent.response).toString('utf8'));
  });

  it('says the tier Sluice chose in the caller’s body, and meters the tier Bedrock served', async () => {
    const response = await fetch(`${h.url}/model/${encodeURIComponent('global.amazon.nova-2-lite-v1:0')}/converse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-sluice-tier': 'flex' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-sluice-tier')).toBe('flex');
    expect(JSON.parse(recorder.requests.at(-1)!.body)).toMatchObject({ serviceTier: { type: 'flex' } });
    const event = (await h.events()).at(-1)!;
    expect(event).toMatchObject({ served_model: 'nova-2-lite', tier: 'flex' });
    const p = await pricesOf(h, 'nova-2-lite');
    expect(event.cost_nusd).toBe(nusd(event.input_tokens, p.flex_input!) + nusd(event.output_tokens, p.flex_output!));
  });

  it('passes ConverseStream bytes through as Bedrock sent them', async () => {
    const response = await fetch(`${h.url}/model/amazon.nova-micro-v1%3A0/converse-stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }),
    });
    expect(response.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.equals(Buffer.concat(recorder.requests.at(-1)!.response))).toBe(true);
  });

  it('counts tokens for Claude with Bedrock’s own CountTokens, and refuses InvokeModel by name', async () => {
    const counted = await client.send(new CountTokensCommand({ modelId: 'us.anthropic.claude-haiku-5-5', input: { converse: { messages: ask('How many tokens is this sentence?') } } }));
    expect(counted.inputTokens).toBeGreaterThan(0);
    expect(h.sim.stats().byRoute['POST /model/{modelId}/count-tokens']).toBe(1);
    expect(JSON.parse(recorder.requests.at(-1)!.body)).toEqual({ input: { converse: { messages: ask('How many tokens is this sentence?') } } });
    for (const operation of ['invoke', 'invoke-with-response-stream']) {
      const invoke = await fetch(`${h.url}/model/amazon.nova-micro-v1%3A0/${operation}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
      expect(invoke.status).toBe(404);
      expect(invoke.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
      expect(((await invoke.json()) as { message: string }).message).toContain('ConverseCommand');
    }
  });

  it("keeps the caller's cachePoint: a cache write, then reads, each priced exactly", async () => {
    const longSystem = Array.from({ length: 400 }, (_, i) => `Rule ${i}: answer carefully and cite the policy section.`).join(' ');
    const converse = () =>
      client.send(
        new ConverseCommand({
          modelId: 'us.anthropic.claude-haiku-5-5',
          system: [{ text: longSystem }, { cachePoint: { type: 'default' } }],
          messages: ask('Summarize the rules.'),
          inferenceConfig: { maxTokens: 50 },
        }),
      );
    const first = await converse();
    const second = await converse();
    expect(first.usage?.cacheWriteInputTokens).toBeGreaterThan(1024);
    expect(second.usage?.cacheReadInputTokens).toBe(first.usage?.cacheWriteInputTokens);
    const [writeRow, readRow] = (await h.events()).slice(-2);
    expect(writeRow).toMatchObject({ served_model: 'bedrock-claude-haiku-5-5', cache_write_tokens: first.usage?.cacheWriteInputTokens, cached_input_tokens: 0 });
    expect(readRow).toMatchObject({ cached_input_tokens: second.usage?.cacheReadInputTokens, cache_write_tokens: 0 });
    expect(writeRow!.cost_nusd).toBe(await handCost(h, writeRow!));
    expect(readRow!.cost_nusd).toBe(await handCost(h, readRow!));
    expect(readRow!.savings_nusd.caching).toBeGreaterThan(0);
  });

  it("carries an Anthropic caller's cache_control to Bedrock Claude as cachePoints", async () => {
    const longSystem = Array.from({ length: 400 }, (_, i) => `Clause ${i}: keep answers short and polite.`).join(' ');
    const create = () =>
      fetch(`${h.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'bedrock-claude-haiku-5-5',
          max_tokens: 50,
          system: [{ type: 'text', text: longSystem, cache_control: { type: 'ephemeral' } }],
          messages: [{ role: 'user', content: 'Summarize.' }],
        }),
      }).then((r) => r.json() as Promise<{ usage: { cache_creation_input_tokens: number; cache_read_input_tokens: number } }>);
    const first = await create();
    const second = await create();
    expect(JSON.parse(recorder.requests.at(-1)!.body)).toMatchObject({ system: [{ text: longSystem }, { cachePoint: { type: 'default' } }] });
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(1024);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
  });
});

describe('Bedrock credentials for the upstream', () => {
  it('signs requests the upstream verifies with the configured AWS keys, or sends the Bedrock API key', async () => {
    const verified = await startHarness({ sim: { awsCredentials: [{ accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test' }] } });
    const wrong = await startHarness({ sim: { awsCredentials: [{ accessKeyId: 'AKIDTEST', secretAccessKey: 'another-secret' }] } });
    const bearer = await startHarness({ sim: { apiKeys: ['ABSK-bedrock-key'] }, env: { AWS_BEARER_TOKEN_BEDROCK: 'ABSK-bedrock-key' } });
    try {
      for (const [harness, ok] of [[verified, true], [wrong, false], [bearer, true]] as const) {
        const c = bedrockClient(harness, (await harness.createKey({ name: 'k' })).key);
        const result = await c.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: ask('Hi') })).catch((e: unknown) => e);
        c.destroy();
        if (ok) expect(result).toMatchObject({ stopReason: 'end_turn' });
        else expect((result as BedrockRuntimeServiceException).$metadata.httpStatusCode).toBe(502);
      }
    } finally {
      await Promise.all([verified.close(), wrong.close(), bearer.close()]);
    }
  });
});

describe('errors come back in Bedrock’s shape', () => {
  async function expectNothingWritten(before: number): Promise<void> {
    expect(h.sim.stats().requests).toBe(0);
    expect(await h.events()).toHaveLength(before);
  }

  it('a malformed body is a ValidationException naming the field, with no upstream call and no row', async () => {
    const before = (await h.events()).length;
    const error = await client.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationException);
    expect((error as ValidationException).message).toContain('messages');
    expect((error as ValidationException).$metadata.httpStatusCode).toBe(400);
    const raw = await fetch(`${h.url}/model/amazon.nova-micro-v1%3A0/converse`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{' });
    expect(raw.headers.get('x-amzn-errortype')).toBe('ValidationException');
    expect(Object.keys((await raw.json()) as object)).toEqual(['message']);
    await expectNothingWritten(before);
  });

  it('an unknown key is refused, and a SigV4-signing client is told to send its Sluice key as a Bedrock API key', async () => {
    const before = (await h.events()).length;
    const unknown = bedrockClient(h, 'sk-sluice-nope');
    const error = await unknown.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: ask('Hi') })).catch((e: unknown) => e);
    unknown.destroy();
    expect((error as BedrockRuntimeServiceException).$metadata.httpStatusCode).toBe(401);
    expect((error as BedrockRuntimeServiceException).name).toBe('UnrecognizedClientException');

    const sigv4 = new BedrockRuntimeClient({ endpoint: h.url, region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, maxAttempts: 1 });
    const refused = await sigv4.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: ask('Hi') })).catch((e: unknown) => e);
    sigv4.destroy();
    expect((refused as Error).message).toContain('authSchemePreference');
    await expectNothingWritten(before);
  });

  it('an unknown model is a ResourceNotFoundException', async () => {
    const error = await client.send(new ConverseCommand({ modelId: 'vendor.unknown-model-v1:0', messages: ask('Hi') })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as Error).message).toContain('not in Sluice');
  });

  it('what only Bedrock can do is refused, by name, when another upstream serves the model', async () => {
    const before = (await h.events()).length;
    const error = await client
      .send(new ConverseCommand({ modelId: 'gpt-4o-mini', messages: ask('Hi'), guardrailConfig: { guardrailIdentifier: 'g-1', guardrailVersion: '1' } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationException);
    expect((error as Error).message).toContain('the "guardrailConfig" parameter');
    await expectNothingWritten(before);
  });

  it('upstream throttling and overload of any kind are ThrottlingException and ServiceUnavailableException, one row each', async () => {
    for (const modelId of ['amazon.nova-micro-v1:0', 'gpt-4o-mini', 'claude-haiku-5-5']) {
      const before = (await h.events()).length;
      h.sim.injectFault({ fault: '429', times: 1 });
      expect(await client.send(new ConverseCommand({ modelId, messages: ask('Hi') })).catch((e: unknown) => e)).toBeInstanceOf(ThrottlingException);
      h.sim.injectFault({ fault: 'overloaded', times: 1 });
      expect(await client.send(new ConverseCommand({ modelId, messages: ask('Hi') })).catch((e: unknown) => e)).toBeInstanceOf(ServiceUnavailableException);
      const events = await h.events();
      expect(events).toHaveLength(before + 2);
      expect(events.slice(-2).map((e) => [e.status, e.http_status])).toEqual([
        ['error', 429],
        ['error', 503],
      ]);
    }
  });

  it.each(UPSTREAMS)('a stream that fails midway through $kind raises an exception in the SDK, and an error row', async ({ modelId }) => {
    const before = (await h.events()).length;
    // Raised by the stream, or by send() when the failure arrives with the first bytes (then it has a status).
    const error = await client
      .send(new ConverseStreamCommand({ modelId, messages: ask('A long story [[sim:fault=stream-error]]'), inferenceConfig: { maxTokens: 300 } }))
      .then((response) => drain(response.stream))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BedrockRuntimeServiceException);
    const events = await h.eventsWhen(before + 1);
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({ surface: 'bedrock', status: 'error', stream: true });
  });
});

describe('a translated stream that fails after it started', () => {
  it('ends with a modeled in-stream exception the SDK raises, after the text already sent', async () => {
    const slow = await startHarness({ sim: { perTokenMs: 3, outputTokens: { min: 80, max: 80 } } });
    const c = bedrockClient(slow, (await slow.createKey({ name: 'slow' })).key);
    try {
      const response = await c.send(new ConverseStreamCommand({ modelId: 'gpt-4o-mini', messages: ask('A long story [[sim:fault=stream-error]]') }));
      let text = '';
      const error = await (async () => {
        for await (const event of response.stream ?? []) text += event.contentBlockDelta?.delta?.text ?? '';
      })().catch((e: unknown) => e);
      expect(text.length).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(InternalServerException);
      expect((await slow.eventsWhen(1)).at(-1)).toMatchObject({ status: 'error', stream: true, http_status: 502 });
    } finally {
      c.destroy();
      await slow.close();
    }
  });
});

describe('the OpenAI front door through a Bedrock upstream', () => {
  it('answers, streams and calls tools, each with an exact ledger row', async () => {
    const openai = h.openai(key);
    const { data, response } = await openai.chat.completions
      .create({ model: 'nova-micro', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Name three rivers.' }], max_tokens: 100 })
      .withResponse();
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(response.headers.get('x-sluice-model')).toBe('nova-micro');
    let event = (await h.events()).at(-1)!;
    expect(event).toMatchObject({ surface: 'openai', provider: 'bedrock', input_tokens: data.usage?.prompt_tokens, output_tokens: data.usage?.completion_tokens });
    expect(event.cost_nusd).toBe(await handCost(h, event));

    const stream = await openai.chat.completions.create({ model: 'auto:nova', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'A haiku about rivers' }] });
    let text = '';
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    event = (await h.eventsWhen((await h.events()).length)).at(-1)!;
    expect(event).toMatchObject({ surface: 'openai', provider: 'bedrock', stream: true, family: 'nova', input_tokens: usage?.prompt_tokens, output_tokens: usage?.completion_tokens });
    expect(event.cost_nusd).toBe(await handCost(h, event));

    const tools = await openai.chat.completions.create({
      model: 'bedrock-claude-haiku-5-5',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
      tool_choice: 'required',
    });
    const call = tools.choices[0]?.message.tool_calls?.[0];
    expect(tools.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toHaveProperty('city');
  });
});

describe('TLS', () => {
  it('serves h2 and HTTP/1.1 over TLS by ALPN to all three official clients', async () => {
    const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
    const tls = await startHarness({ env: { SLUICE_TLS_CERT: fixture('cert.pem'), SLUICE_TLS_KEY: fixture('key.pem') } });
    try {
      expect(tls.url).toMatch(/^https:\/\//);
      const script = fileURLToPath(new URL('../helpers/tls-clients.ts', import.meta.url));
      const { stdout } = await run(process.execPath, ['--import', 'tsx', script, tls.url.replace('127.0.0.1', 'localhost'), ADMIN_KEY], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: fixture('cert.pem'), NODE_NO_WARNINGS: '1' },
      });
      expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({
        anthropic: 'text',
        converse: 'end_turn',
        handler: 'NodeHttp2Handler',
        surfaces: ['openai', 'anthropic', 'bedrock', 'bedrock'],
      });
    } finally {
      await tls.close();
    }
  });
});
