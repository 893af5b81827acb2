import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  ModelNotReadyException,
  ModelStreamErrorException,
  ModelTimeoutException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
  type ConverseCommandInput,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type SimServer } from '../../../src/sim/server';
import { countTokens } from '../../../src/sim/tokenizer';
import { MINUTE, manualClock } from './helpers';

const CLAUDE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const NOVA = 'amazon.nova-micro-v1:0';
const credentials = { accessKeyId: 'AKIDSIMTEST', secretAccessKey: 'sim-secret' };
const clock = manualClock();
let sim: SimServer;
let client: BedrockRuntimeClient;

function bedrockClient(options: Partial<ConstructorParameters<typeof BedrockRuntimeClient>[0]> = {}) {
  // The sim serves HTTP/1.1; the SDK's default handler speaks HTTP/2.
  return new BedrockRuntimeClient({ region: 'us-east-1', endpoint: sim.url, credentials, requestHandler: new NodeHttpHandler(), maxAttempts: 1, ...options });
}

beforeAll(async () => {
  sim = await startSim({ now: clock.now, awsCredentials: [credentials], apiKeys: ['bedrock-api-key-123'] });
  client = bedrockClient();
});
afterAll(() => sim.close());

const weatherTool = {
  toolSpec: {
    name: 'get_weather',
    description: 'Current weather',
    inputSchema: { json: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] } },
  },
};
const ask = (text: string, extra: Partial<ConverseCommandInput> = {}): ConverseCommandInput => ({ modelId: NOVA, messages: [{ role: 'user', content: [{ text }] }], ...extra });

async function collect(input: ConverseCommandInput): Promise<ConverseStreamOutput[]> {
  const response = await client.send(new ConverseStreamCommand(input));
  const events: ConverseStreamOutput[] = [];
  for await (const event of response.stream!) events.push(event);
  return events;
}

describe('Bedrock Converse', () => {
  it('answers with exact usage, signed with SigV4', async () => {
    const response = await client.send(new ConverseCommand(ask('Hello there')));
    expect(response.$metadata.httpStatusCode).toBe(200);
    expect(response.$metadata.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(response.stopReason).toBe('end_turn');
    const text = response.output!.message!.content![0]!.text!;
    expect(response.usage).toEqual({ inputTokens: 5, outputTokens: countTokens(text), totalTokens: 5 + countTokens(text) });
    expect(response.metrics).toEqual({ latencyMs: 0 });
    expect((await client.send(new ConverseCommand(ask('Hello there')))).output).toEqual(response.output);
  });

  it('accepts model ids as inference profiles and ARNs, and refuses what Bedrock refuses', async () => {
    for (const modelId of [
      CLAUDE,
      'global.anthropic.claude-haiku-4-5-20251001-v1:0',
      `arn:aws:bedrock:us-east-1:123456789012:inference-profile/${CLAUDE}`,
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0',
      'meta.llama3-1-8b-instruct-v1:0',
    ]) {
      expect((await client.send(new ConverseCommand(ask('Hi', { modelId })))).stopReason, modelId).toBe('end_turn');
    }
    const onDemand = await client.send(new ConverseCommand(ask('Hi', { modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0' }))).catch((e: unknown) => e);
    expect(onDemand).toBeInstanceOf(ValidationException);
    expect((onDemand as ValidationException).message).toMatch(/with on-demand throughput isn’t supported/);
    const invalid = await client.send(new ConverseCommand(ask('Hi', { modelId: 'not-a-model' }))).catch((e: unknown) => e);
    expect((invalid as ValidationException).message).toBe('The provided model identifier is invalid.');
    expect(sim.stats().byRoute['POST /model/{modelId}/converse']).toBeGreaterThan(0);
    expect(sim.stats().byModel[CLAUDE]).toBeGreaterThan(0);
  });

  it('streams the event sequence in event-stream framing', async () => {
    const events = await collect(ask('Hello there'));
    const kinds = events.map((event) => Object.keys(event).find((key) => key !== '$unknown'));
    expect(kinds[0]).toBe('messageStart');
    expect(kinds.slice(-3)).toEqual(['contentBlockStop', 'messageStop', 'metadata']);
    expect(new Set(kinds.slice(1, -3))).toEqual(new Set(['contentBlockDelta']));
    const text = events.map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');
    const plain = await client.send(new ConverseCommand(ask('Hello there')));
    expect(text).toBe(plain.output!.message!.content![0]!.text);
    expect(events.at(-2)!.messageStop).toEqual({ stopReason: 'end_turn' });
    expect(events.at(-1)!.metadata!.usage).toEqual(plain.usage);

    const raw = await fetch(`${sim.url}/model/${encodeURIComponent(NOVA)}/converse-stream`, {
      method: 'POST',
      headers: { authorization: 'Bearer bedrock-api-key-123', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hello there' }] }] }),
    });
    expect(raw.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    const bytes = Buffer.from(await raw.arrayBuffer());
    expect(bytes.readUInt32BE(0)).toBeLessThan(bytes.length); // framed messages follow each other
    expect(bytes.includes(Buffer.from(':event-type'))).toBe(true);
  });

  it('calls tools and streams tool input', async () => {
    const input = ask('Use get_weather for Lyon', { modelId: CLAUDE, toolConfig: { tools: [weatherTool] } });
    const response = await client.send(new ConverseCommand(input));
    expect(response.stopReason).toBe('tool_use');
    const [text, use] = response.output!.message!.content!;
    expect(text!.text).toBeTruthy();
    expect(use!.toolUse!.name).toBe('get_weather');
    expect(use!.toolUse!.toolUseId).toMatch(/^tooluse_/);
    expect(typeof (use!.toolUse!.input as { city: unknown }).city).toBe('string');

    const events = await collect(input);
    const start = events.find((e) => e.contentBlockStart)!.contentBlockStart!;
    expect(start).toEqual({ contentBlockIndex: 1, start: { toolUse: { toolUseId: use!.toolUse!.toolUseId, name: 'get_weather' } } });
    const json = events.map((e) => e.contentBlockDelta?.delta?.toolUse?.input ?? '').join('');
    expect(JSON.parse(json)).toEqual(use!.toolUse!.input);

    const answered = await client.send(
      new ConverseCommand({
        ...input,
        messages: [
          ...input.messages!,
          response.output!.message!,
          { role: 'user', content: [{ toolResult: { toolUseId: use!.toolUse!.toolUseId!, content: [{ json: { temp: 21 } }] } }] },
        ],
      }),
    );
    expect(answered.stopReason).toBe('end_turn');

    const forced = await client.send(new ConverseCommand({ ...ask('Hi', { modelId: NOVA }), toolConfig: { tools: [weatherTool], toolChoice: { any: {} } } }));
    expect(forced.output!.message!.content!.map((b) => Object.keys(b)[0])).toEqual(['toolUse']);
    const withoutConfig = client.send(
      new ConverseCommand({
        ...ask('Hi'),
        messages: [
          { role: 'user', content: [{ text: 'Hi' }] },
          { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'get_weather', input: {} } }] },
          { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } }] },
        ],
      }),
    );
    await expect(withoutConfig).rejects.toThrow('The toolConfig field must be defined when using toolUse and toolResult content blocks.');
    const orphan = client.send(new ConverseCommand({ ...input, messages: [{ role: 'user', content: [{ toolResult: { toolUseId: 'x', content: [] } }] }] }));
    await expect(orphan).rejects.toBeInstanceOf(ValidationException);
  });

  it('honours stop sequences, maxTokens and reasoning', async () => {
    const text = (await client.send(new ConverseCommand(ask('Talk')))).output!.message!.content![0]!.text!;
    const word = text.split(' ')[2]!.replace(/[,.]/g, '');
    const stopped = await client.send(new ConverseCommand(ask('Talk', { inferenceConfig: { stopSequences: [word] } })));
    expect(stopped.stopReason).toBe('stop_sequence');
    const cut = await client.send(new ConverseCommand(ask('Talk', { inferenceConfig: { maxTokens: 3 } })));
    expect(cut.stopReason).toBe('max_tokens');
    expect(cut.usage!.outputTokens).toBe(3);

    const thinking = ask('Ponder', { modelId: CLAUDE, inferenceConfig: { maxTokens: 4000 }, additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } } });
    const reasoned = await client.send(new ConverseCommand(thinking));
    const [reasoning, answer] = reasoned.output!.message!.content!;
    expect(reasoning!.reasoningContent!.reasoningText!.signature).toBeTruthy();
    expect(reasoned.usage!.outputTokens).toBe(countTokens(reasoning!.reasoningContent!.reasoningText!.text!) + countTokens(answer!.text!));
    const events = await collect(thinking);
    expect(events.some((e) => e.contentBlockDelta?.delta?.reasoningContent?.signature)).toBe(true);
    expect(events.filter((e) => e.contentBlockDelta?.delta?.reasoningContent?.text).map((e) => e.contentBlockDelta!.delta!.reasoningContent!.text).join('')).toBe(
      reasoning!.reasoningContent!.reasoningText!.text,
    );
  });

  it('caches prefixes at cachePoint blocks for Claude and Nova', async () => {
    sim.reset();
    const system = [{ text: 'policy '.repeat(2000) }, { cachePoint: { type: 'default' as const } }];
    const cached = () => client.send(new ConverseCommand(ask('What now?', { modelId: CLAUDE, system })));
    expect((await cached()).usage).toMatchObject({
      inputTokens: 6,
      cacheWriteInputTokens: 2000,
      cacheReadInputTokens: 0,
      totalTokens: expect.any(Number),
      cacheDetails: [{ ttl: '5m', inputTokens: 2000 }],
    });
    const second = (await cached()).usage!;
    expect(second).toMatchObject({ inputTokens: 6, cacheWriteInputTokens: 0, cacheReadInputTokens: 2000 });
    expect(second.totalTokens).toBe(6 + 2000 + second.outputTokens!);
    clock.advance(5 * MINUTE + 1);
    expect((await cached()).usage!.cacheWriteInputTokens).toBe(2000);

    const nova = await client.send(new ConverseCommand(ask('What now?', { system })));
    expect(nova.usage).toMatchObject({ cacheWriteInputTokens: 2000 });
    await expect(client.send(new ConverseCommand(ask('x', { system: [{ text: 'a' }, { cachePoint: { type: 'default', ttl: '1h' } }] })))).rejects.toBeInstanceOf(ValidationException);
    await expect(client.send(new ConverseCommand(ask('x', { toolConfig: { tools: [weatherTool, { cachePoint: { type: 'default' } }] } })))).rejects.toThrow(/cachePoint in toolConfig/);
    await expect(client.send(new ConverseCommand(ask('x', { modelId: 'meta.llama3-1-8b-instruct-v1:0', system })))).rejects.toThrow(/does not support prompt caching/);
  });

  it('counts tokens like Converse does', async () => {
    const response = await client.send(new CountTokensCommand({ modelId: CLAUDE, input: { converse: { messages: [{ role: 'user', content: [{ text: 'Hello there' }] }], system: [{ text: 'Be brief.' }] } } }));
    expect(response.inputTokens).toBe(5 + 3);
  });

  it('echoes the service tier and refuses flex when capacity is short', async () => {
    const flex = await client.send(new ConverseCommand(ask('Hi', { serviceTier: { type: 'flex' } })));
    expect(flex.serviceTier).toEqual({ type: 'flex' });
    const prompt = 'Hi [[sim:fault=flex-capacity]]';
    await expect(client.send(new ConverseCommand(ask(prompt, { serviceTier: { type: 'flex' } })))).rejects.toBeInstanceOf(ThrottlingException);
    expect((await client.send(new ConverseCommand(ask(prompt)))).serviceTier).toBeUndefined();
  });

  it('raises each Bedrock exception with its status', async () => {
    const cases: Array<[string, new (...args: never[]) => Error, number]> = [
      ['429', ThrottlingException, 429],
      ['500', Error, 500],
      ['503', ServiceUnavailableException, 503],
      ['model-timeout', ModelTimeoutException, 408],
      ['model-not-ready', ModelNotReadyException, 429],
    ];
    for (const [fault, type, status] of cases) {
      const error = await client.send(new ConverseCommand(ask(`x [[sim:fault=${fault}]]`))).catch((e: unknown) => e);
      expect(error, fault).toBeInstanceOf(type);
      expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(status);
    }
    const internal = await client.send(new ConverseCommand(ask('x [[sim:fault=500]]'))).catch((e: unknown) => e);
    expect((internal as Error).name).toBe('InternalServerException');
  });

  it('raises in-stream exceptions and survives a dropped stream', async () => {
    sim.injectFault({ fault: 'stream-error', times: 1 });
    const received: ConverseStreamOutput[] = [];
    const failure = await (async () => {
      const response = await client.send(new ConverseStreamCommand(ask('Hello there')));
      for await (const event of response.stream!) received.push(event);
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelStreamErrorException);
    expect(received[0]!.messageStart).toEqual({ role: 'assistant' });

    sim.injectFault({ fault: 'disconnect', times: 1 });
    await expect(collect(ask('Hello there'))).rejects.toThrow();
  });

  it('authenticates with SigV4 or a Bedrock API key', async () => {
    const wrongSecret = bedrockClient({ credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: 'nope' } });
    const signature = await wrongSecret.send(new ConverseCommand(ask('x'))).catch((e: unknown) => e);
    expect((signature as Error).name).toBe('InvalidSignatureException');
    expect((signature as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(403);
    const unknownKey = bedrockClient({ credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } });
    expect(((await unknownKey.send(new ConverseCommand(ask('x'))).catch((e: unknown) => e)) as Error).name).toBe('UnrecognizedClientException');

    const withKey = bedrockClient({ token: { token: 'bedrock-api-key-123' }, authSchemePreference: ['httpBearerAuth'] });
    expect((await withKey.send(new ConverseCommand(ask('x')))).stopReason).toBe('end_turn');
    const badKey = bedrockClient({ token: { token: 'wrong-key' }, authSchemePreference: ['httpBearerAuth'] });
    await expect(badKey.send(new ConverseCommand(ask('x')))).rejects.toBeInstanceOf(AccessDeniedException);
  });

  it('validates conversations', async () => {
    const assistantFirst = client.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'assistant', content: [{ text: 'x' }] }] }));
    await expect(assistantFirst).rejects.toThrow('A conversation must start with a user message. Try again with a conversation that starts with a user message.');
    const twice = client.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'x' }] }, { role: 'user', content: [{ text: 'y' }] }] }));
    await expect(twice).rejects.toThrow(/must alternate between user and assistant/);
    await expect(client.send(new ConverseCommand(ask('x', { inferenceConfig: { maxTokens: 999_999 }, modelId: CLAUDE })))).rejects.toThrow(/exceeds the model limit of 64000/);
  });
});
