import { describe, expect, it } from 'vitest';
import { Catalog, SHIPPED_CATALOG } from '../../src/catalog/catalog';
import type { ChatCompletionChunk } from '../../src/gateway/chat';
import { toAnthropicBody } from '../../src/providers/anthropic';
import { SseParser } from '../../src/providers/sse';
import { MessagesRequest, toCanonical } from '../../src/surfaces/anthropic/request';
import { messageFromCompletion, MessagesEventWriter } from '../../src/surfaces/anthropic/response';

const PNG = 'iVBORw0KGgo=';

describe('Anthropic Messages request → canonical', () => {
  it('translates system blocks, images, documents, tool use and tool results in OpenAI order', () => {
    const body = MessagesRequest.parse({
      model: 'gpt-4o-mini',
      max_tokens: 300,
      system: [{ type: 'text', text: 'Rules.', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'See' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'report.pdf' },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'é' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hm', signature: 'sig' },
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'found' }], cache_control: { type: 'ephemeral', ttl: '1h' } },
            { type: 'text', text: 'Thanks' },
          ],
        },
      ],
      tools: [{ name: 'lookup', description: 'Look up', input_schema: { type: 'object', properties: { q: { type: 'string' } } }, cache_control: { type: 'ephemeral' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['STOP'],
      metadata: { user_id: 'end-user-7' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      stream: true,
    });
    const { request, extras, untranslatable } = toCanonical(body);
    expect(untranslatable).toEqual([]);
    expect(request).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Rules.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'See' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'report.pdf' } },
            { type: 'file', file: { file_data: 'data:text/plain;base64,w6k=' } },
          ],
        },
        {
          role: 'assistant',
          content: [{ type: 'text', text: 'Let me check.' }],
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'found' },
        { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
      ],
      max_completion_tokens: 300,
      stream: true,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['STOP'],
      user: 'end-user-7',
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    expect(extras).toEqual({
      topK: 40,
      thinking: { budgetTokens: 2048 },
      cacheBreakpoints: [{ message: 0, part: 0 }, { message: 3, ttl: '1h' }, { tools: true }],
    });
  });

  it('names what the canonical request cannot carry, without refusing it (a pass-through may still serve it)', () => {
    const body = MessagesRequest.parse({
      model: 'claude-haiku-5-5',
      max_tokens: 10,
      messages: [
        { role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }, { type: 'container_upload', file_id: 'f' }] },
        { role: 'assistant', content: [{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }] },
      ],
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      mcp_servers: [{ type: 'url', url: 'https://mcp.example.com', name: 'x' }],
      service_tier: 'auto',
    });
    expect(toCanonical(body).untranslatable).toEqual([
      'messages[0].content[0] (a document by URL)',
      'messages[0].content[1] (a container_upload block)',
      'messages[1].content[0] (a server_tool_use block)',
      'tools[0] (the server tool web_search_20250305)',
      'the "mcp_servers" parameter',
    ]);
  });

  it('refuses malformed bodies with the field named', () => {
    const bad = MessagesRequest.safeParse({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'text' }] }] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['messages', 0, 'content', 0, 'text']);
    expect(MessagesRequest.safeParse({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).error?.issues[0]?.path).toEqual(['max_tokens']);
    expect(MessagesRequest.safeParse({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'f' }] }).error?.issues[0]?.path).toEqual(['tools', 0, 'input_schema']);
  });

  it("carries the caller's cache breakpoints, top_k and thinking back to an Anthropic upstream through the canonical request", () => {
    const { request, extras } = toCanonical(
      MessagesRequest.parse({
        model: 'claude-haiku-5-5',
        max_tokens: 4000,
        system: [{ type: 'text', text: 'Rules.', cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Doc', cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'Q' }] }],
        top_k: 3,
        thinking: { type: 'enabled', budget_tokens: 1024 },
      }),
    );
    const model = new Catalog(SHIPPED_CATALOG).find('claude-haiku-5-5')!;
    const body = toAnthropicBody({ request, model, stream: false, tier: 'standard', timeoutMs: 1, nowMs: 0, extras });
    expect(body.system).toEqual([{ type: 'text', text: 'Rules.', cache_control: { type: 'ephemeral' } }]);
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Doc', cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'Q' }] },
    ]);
    expect(body).toMatchObject({ top_k: 3, thinking: { type: 'enabled', budget_tokens: 1024 } });
  });
});

describe('canonical answers → Anthropic Messages', () => {
  const usage = { inputTokens: 11, cachedInputTokens: 100, cacheWriteTokens: 30, cacheWrite1hTokens: 10, outputTokens: 7, reasoningTokens: 0 };

  it('renders a completion as a Message', () => {
    const message = messageFromCompletion(
      {
        id: 'x',
        object: 'chat.completion',
        created: 0,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Sure.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls' }],
      },
      usage,
      'msg_1',
    );
    expect(message).toEqual({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'gpt-4o-mini',
      content: [
        { type: 'text', text: 'Sure.' },
        { type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: {
        input_tokens: 11,
        cache_creation_input_tokens: 30,
        cache_read_input_tokens: 100,
        cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 10 },
        output_tokens: 7,
      },
    });
  });

  it('streams the exact Messages event sequence, with a ping after the first block starts', () => {
    const writer = new MessagesEventWriter('msg_1');
    const base = { id: 'c', object: 'chat.completion.chunk' as const, created: 0, model: 'gpt-4o-mini' };
    const chunks: ChatCompletionChunk[] = [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      { ...base, choices: [], usage: { prompt_tokens: 141, completion_tokens: 7, total_tokens: 148 } },
    ];
    const text = chunks.map((c) => writer.chunk(c)).join('') + writer.finish(usage);
    const events = new SseParser().push(text).map((m) => [m.event, JSON.parse(m.data) as Record<string, unknown>] as const);
    expect(events.map(([name]) => name)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const [name, data] of events) expect(data.type).toBe(name);
    expect(events[0]?.[1]).toMatchObject({ message: { id: 'msg_1', model: 'gpt-4o-mini', role: 'assistant', content: [] } });
    expect(events[6]?.[1]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_1', name: 'f', input: {} } });
    expect(events[7]?.[1]).toEqual({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } });
    expect(events[9]?.[1]).toMatchObject({ delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 11, cache_read_input_tokens: 100, output_tokens: 7 } });
  });
});
