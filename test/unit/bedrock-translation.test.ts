import { describe, expect, it } from 'vitest';
import { Catalog, SHIPPED_CATALOG } from '../../src/catalog/catalog';
import { SluiceError } from '../../src/errors';
import { ChatRequest } from '../../src/gateway/chat';
import type { ChatExtras } from '../../src/gateway/extras';
import { bedrockAdapter } from '../../src/providers/bedrock';
import { ConverseStreamDecoder, toConverseBody, usageFromConverse } from '../../src/providers/converse';
import { encodeEvent, encodeException } from '../../src/providers/eventstream';
import type { ChatTarget } from '../../src/providers/types';
import { catalogNameForModelId } from '../../src/surfaces/bedrock/model-id';
import { ConverseRequest, toCanonical } from '../../src/surfaces/bedrock/request';
import { ConverseEventWriter, converseFromCompletion } from '../../src/surfaces/bedrock/response';
import { EventStreamDecoder } from '../../src/providers/eventstream';

const catalog = new Catalog(SHIPPED_CATALOG);
const claude = catalog.find('bedrock-claude-haiku-5-5')!;
const nova = catalog.find('nova-micro')!;
const PNG = 'iVBORw0KGgo=';

function target(body: unknown, options: { model?: typeof claude; extras?: ChatExtras; stream?: boolean; tier?: ChatTarget['tier'] } = {}): ChatTarget {
  return {
    request: ChatRequest.parse(body),
    model: options.model ?? claude,
    stream: options.stream ?? false,
    tier: options.tier ?? 'standard',
    timeoutMs: 1000,
    nowMs: Date.UTC(2026, 10, 25),
    ...(options.extras ? { extras: options.extras } : {}),
  };
}

describe('canonical request → Converse', () => {
  it('moves system prompts up, merges tool results into the user turn, and maps the inference config', () => {
    const body = toConverseBody(
      target({
        model: 'bedrock-claude-haiku-5-5',
        messages: [
          { role: 'system', content: 'Be terse.' },
          { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
          { role: 'tool', tool_call_id: 't1', content: '{"temp":3}' },
          { role: 'user', content: 'And tomorrow?' },
        ],
        max_tokens: 100,
        temperature: 1.5,
        top_p: 0.9,
        stop: ['END'],
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        tool_choice: 'required',
      }),
    );
    expect(body).toEqual({
      system: [{ text: 'Be terse.' }],
      messages: [
        { role: 'user', content: [{ text: 'Weather?' }, { image: { format: 'png', source: { bytes: PNG } } }] },
        { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'get_weather', input: { city: 'Oslo' } } }] },
        { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: '{"temp":3}' }] } }, { text: 'And tomorrow?' }] },
      ],
      inferenceConfig: { maxTokens: 100, temperature: 1, topP: 0.9, stopSequences: ['END'] },
      toolConfig: {
        tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } }],
        toolChoice: { any: {} },
      },
    });
  });

  it('sends files as named documents and refuses what Bedrock cannot take', () => {
    const body = toConverseBody(
      target({
        model: 'x',
        messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'Q3 report (final).pdf' } }] }],
      }),
    );
    expect((body.messages as Array<{ content: unknown[] }>)[0]?.content[0]).toEqual({ document: { format: 'pdf', name: 'Q3 report (final)', source: { bytes: 'JVBERi0=' } } });
    const refuse = (content: unknown): SluiceError => {
      try {
        toConverseBody(target({ model: 'x', messages: [{ role: 'user', content }] }));
      } catch (error) {
        return error as SluiceError;
      }
      throw new Error('expected a refusal');
    };
    expect(refuse([{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }]).param).toBe('messages[0].content[0].image_url.url');
    expect(refuse([{ type: 'file', file: { file_id: 'file-1' } }]).message).toContain('base64 data URLs');
    expect(() => toConverseBody(target({ model: 'x', messages: [{ role: 'user', content: 'hi' }], n: 2 }))).toThrow(/n must be 1/);
  });

  it("places the caller's cache breakpoints as cachePoints, with tools only for Claude", () => {
    const extras: ChatExtras = { cacheBreakpoints: [{ tools: true }, { message: 0 }, { message: 1, part: 0, ttl: '1h' }] };
    const request = {
      model: 'x',
      messages: [
        { role: 'system', content: 'Long rules.' },
        { role: 'user', content: [{ type: 'text', text: 'Document' }, { type: 'text', text: 'Question' }] },
      ],
      tools: [{ type: 'function', function: { name: 'f' } }],
    };
    const body = toConverseBody(target(request, { extras }));
    expect(body.system).toEqual([{ text: 'Long rules.' }, { cachePoint: { type: 'default' } }]);
    expect((body.messages as Array<{ content: unknown[] }>)[0]?.content).toEqual([{ text: 'Document' }, { cachePoint: { type: 'default', ttl: '1h' } }, { text: 'Question' }]);
    expect((body.toolConfig as { tools: unknown[] }).tools.at(-1)).toEqual({ cachePoint: { type: 'default' } });
    const novaBody = toConverseBody(target(request, { extras, model: nova }));
    expect((novaBody.toolConfig as { tools: unknown[] }).tools).toHaveLength(1);
    const llama = catalog.find('llama-3-1-8b')!;
    expect(toConverseBody(target(request, { extras, model: llama })).system).toEqual([{ text: 'Long rules.' }]);
  });

  it('says thinking, top_k and the tier in each model family’s own words', () => {
    const extras: ChatExtras = { thinking: { budgetTokens: 4000 }, topK: 5 };
    const request = { model: 'x', messages: [{ role: 'user', content: 'hi' }] };
    expect(toConverseBody(target(request, { extras, tier: 'priority' }))).toMatchObject({
      additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 4000 }, top_k: 5 },
      serviceTier: { type: 'priority' },
    });
    expect(toConverseBody(target(request, { extras, model: nova })).additionalModelRequestFields).toEqual({ inferenceConfig: { topK: 5 } });
  });

  it('signs with SigV4 by default and sends a Bedrock API key as a bearer token when one is set', async () => {
    const config = (bedrock: Record<string, unknown>) =>
      ({ providers: { bedrock: { region: 'us-east-1', baseUrl: 'https://bedrock-runtime.us-east-1.amazonaws.com', accessKeyId: undefined, secretAccessKey: undefined, sessionToken: undefined, apiKey: undefined, ...bedrock } } }) as never;
    const signed = await bedrockAdapter.buildChatRequest(target({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }, { model: nova }), config({ accessKeyId: 'AKID', secretAccessKey: 'secret' }));
    expect(signed.url).toBe('https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-micro-v1%3A0/converse');
    expect(signed.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKID\/20261125\/us-east-1\/bedrock\/aws4_request, SignedHeaders=accept;host;x-amz-date, Signature=[0-9a-f]{64}$/);
    expect(signed.headers['x-amz-date']).toBe('20261125T000000Z');
    const bearer = await bedrockAdapter.buildChatRequest(target({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }, { model: nova, stream: true }), config({ apiKey: 'ABSK-key' }));
    expect(bearer.url).toMatch(/\/converse-stream$/);
    expect(bearer.headers.authorization).toBe('Bearer ABSK-key');
    expect(bedrockAdapter.missingCredentials(config({}))).toContain('AWS_BEARER_TOKEN_BEDROCK');
  });
});

describe('Converse answers → canonical', () => {
  it('counts input without cache reads and writes, and the 1-hour writes apart', () => {
    expect(usageFromConverse({ inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 100, cacheWriteInputTokens: 50, cacheDetails: [{ ttl: '1h', inputTokens: 20 }, { ttl: '5m', inputTokens: 30 }] })).toEqual({
      inputTokens: 10,
      cachedInputTokens: 100,
      cacheWriteTokens: 50,
      cacheWrite1hTokens: 20,
      outputTokens: 5,
      reasoningTokens: 0,
    });
  });

  it('reads a Converse answer with tool use', () => {
    const body = JSON.stringify({
      output: { message: { role: 'assistant', content: [{ reasoningContent: { reasoningText: { text: 'hmm' } } }, { text: 'Checking.' }, { toolUse: { toolUseId: 'tu1', name: 'f', input: { a: 1 } } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 7, outputTokens: 9, totalTokens: 16 },
      serviceTier: { type: 'flex' },
    });
    const result = bedrockAdapter.parseChatResponse(body, target({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }, { model: nova }), 0);
    expect(result.servedTier).toBe('flex');
    expect(result.completion.choices[0]).toMatchObject({
      message: { content: 'Checking.', tool_calls: [{ id: 'tu1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      finish_reason: 'tool_calls',
    });
    expect(result.completion.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 9 });
  });

  it('decodes ConverseStream frames into chunks, and an in-stream exception into an upstream failure', () => {
    const decoder = new ConverseStreamDecoder('id', 'm', 0, (what) => new SluiceError('upstream_error', what));
    const frames = [
      encodeEvent('messageStart', { role: 'assistant', p: 'abc' }),
      encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } }),
      encodeEvent('contentBlockStop', { contentBlockIndex: 0 }),
      encodeEvent('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tu', name: 'f' } } }),
      encodeEvent('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"a":' } } }),
      encodeEvent('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '1}' } } }),
      encodeEvent('messageStop', { stopReason: 'tool_use' }),
      encodeEvent('metadata', { usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 }, metrics: { latencyMs: 5 } }),
    ];
    const bytes = new Uint8Array(frames.reduce<number[]>((all, f) => [...all, ...f], []));
    const chunks = [...decoder.push(bytes.subarray(0, 50)), ...decoder.push(bytes.subarray(50))];
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hi');
    expect(chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).map((t) => t.function?.arguments).join('')).toBe('{"a":1}');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(decoder.usage).toMatchObject({ inputTokens: 3, outputTokens: 4 });

    const failing = new ConverseStreamDecoder('id', 'm', 0, (what) => new SluiceError('upstream_error', what));
    expect(() => failing.push(encodeException('throttlingException', 'Too many requests'))).toThrow(
      expect.objectContaining({ failure: { status: 429, type: 'ThrottlingException', message: 'Too many requests', retryAfter: undefined } }),
    );
  });

  it('reads the exception name from x-amzn-ErrorType', () => {
    const failure = bedrockAdapter.parseError(400, '{"message":"bad"}', { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' });
    expect(failure).toEqual({ status: 400, type: 'ValidationException', message: 'bad', retryAfter: undefined });
  });
});

describe('the Bedrock front door', () => {
  it('resolves Bedrock ids, inference profiles, ARNs, catalog ids and routers to catalog names', () => {
    expect(catalogNameForModelId(catalog, 'amazon.nova-micro-v1:0')).toBe('nova-micro');
    expect(catalogNameForModelId(catalog, 'us.amazon.nova-micro-v1:0')).toBe('us.amazon.nova-micro-v1:0'); // a catalog alias already
    expect(catalogNameForModelId(catalog, 'eu.amazon.nova-micro-v1:0')).toBe('nova-micro');
    expect(catalogNameForModelId(catalog, 'global.anthropic.claude-haiku-5-5')).toBe('bedrock-claude-haiku-5-5');
    expect(catalogNameForModelId(catalog, 'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0')).toBe('nova-micro');
    expect(catalogNameForModelId(catalog, 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-5-5')).toBe('bedrock-claude-haiku-5-5');
    expect(catalogNameForModelId(catalog, 'apac.anthropic.claude-haiku-5-5')).toBe('bedrock-claude-haiku-5-5');
    expect(catalogNameForModelId(catalog, 'gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(catalogNameForModelId(catalog, 'auto:nova')).toBe('auto:nova');
    expect(catalogNameForModelId(catalog, 'vendor.unknown-v1:0')).toBe('vendor.unknown-v1:0');
  });

  it('translates a Converse body, with cache points, extras, tags and what cannot be carried', () => {
    const body = ConverseRequest.parse({
      system: [{ text: 'Rules' }, { cachePoint: { type: 'default' } }, { guardContent: { text: { text: 'x' } } }],
      messages: [
        { role: 'user', content: [{ text: 'Look' }, { image: { format: 'jpeg', source: { bytes: PNG } } }, { document: { format: 'txt', name: 'notes', source: { text: 'é' } } }] },
        { role: 'assistant', content: [{ reasoningContent: { reasoningText: { text: 'hm' } } }, { toolUse: { toolUseId: 't', name: 'f', input: {} } }, { cachePoint: { type: 'default' } }] },
        { role: 'user', content: [{ toolResult: { toolUseId: 't', content: [{ json: { ok: true } }] } }, { text: 'thanks' }, { video: { format: 'mp4' } }] },
      ],
      inferenceConfig: { maxTokens: 50, stopSequences: ['x'] },
      toolConfig: { tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object' } } } }, { cachePoint: { type: 'default' } }], toolChoice: { tool: { name: 'f' } } },
      additionalModelRequestFields: { top_k: 3, thinking: { type: 'enabled', budget_tokens: 2048 }, anthropic_beta: ['x'] },
      requestMetadata: { team_label: 'blue' },
      serviceTier: { type: 'flex' },
      guardrailConfig: { guardrailIdentifier: 'g' },
    });
    const { request, extras, untranslatable, tags } = toCanonical('nova-micro', body, true);
    expect(request).toMatchObject({
      model: 'nova-micro',
      stream: true,
      max_completion_tokens: 50,
      stop: ['x'],
      service_tier: 'flex',
      tool_choice: { type: 'function', function: { name: 'f' } },
    });
    expect(request.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Rules' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Look' },
          { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${PNG}` } },
          { type: 'file', file: { file_data: 'data:text/plain;base64,w6k=', filename: 'notes.txt' } },
        ],
      },
      { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 't', content: '{"ok":true}' },
      { role: 'user', content: [{ type: 'text', text: 'thanks' }] },
    ]);
    expect(extras).toEqual({ topK: 3, thinking: { budgetTokens: 2048 }, cacheBreakpoints: [{ message: 0, part: 0 }, { message: 2 }, { tools: true }] });
    expect(tags).toEqual({ team_label: 'blue' });
    expect(untranslatable).toEqual(['system[2] (a guardContent block)', 'messages[2].content[2] (a video block)', 'the "guardrailConfig" parameter', 'additionalModelRequestFields.anthropic_beta']);
  });

  it('renders canonical answers as Converse answers and events', () => {
    const completion = {
      id: 'c',
      object: 'chat.completion' as const,
      created: 0,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant' as const, content: null, tool_calls: [{ id: 'call', type: 'function' as const, function: { name: 'f', arguments: '{"q":1}' } }] }, finish_reason: 'tool_calls' }],
    };
    const usage = { inputTokens: 5, cachedInputTokens: 10, cacheWriteTokens: 0, cacheWrite1hTokens: 0, outputTokens: 2, reasoningTokens: 0 };
    expect(converseFromCompletion(completion, usage, 12)).toEqual({
      output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 'call', name: 'f', input: { q: 1 } } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 5, outputTokens: 2, totalTokens: 17, cacheReadInputTokens: 10, cacheWriteInputTokens: 0 },
      metrics: { latencyMs: 12 },
    });

    const writer = new ConverseEventWriter(() => 3);
    const base = { id: 'c', object: 'chat.completion.chunk' as const, created: 0, model: 'm' };
    const frames = [
      ...writer.chunk({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] }),
      ...writer.chunk({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: null }] }),
      ...writer.chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
      ...writer.finish(usage),
    ];
    const decoder = new EventStreamDecoder();
    const events = frames.flatMap((f) => decoder.push(f)).map((m) => [m.headers[':event-type'], JSON.parse(new TextDecoder().decode(m.payload)) as unknown]);
    expect(events).toEqual([
      ['messageStart', { role: 'assistant' }],
      ['contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } }],
      ['contentBlockStop', { contentBlockIndex: 0 }],
      ['contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'call', name: 'f' } } }],
      ['contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{}' } } }],
      ['contentBlockStop', { contentBlockIndex: 1 }],
      ['messageStop', { stopReason: 'tool_use' }],
      ['metadata', { usage: { inputTokens: 5, outputTokens: 2, totalTokens: 17, cacheReadInputTokens: 10, cacheWriteInputTokens: 0 }, metrics: { latencyMs: 3 } }],
    ]);
  });
});
