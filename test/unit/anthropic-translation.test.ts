import { describe, expect, it } from 'vitest';
import { SHIPPED_CATALOG, Catalog } from '../../src/catalog/catalog';
import { ChatRequest } from '../../src/gateway/chat';
import { anthropicAdapter, toAnthropicBody, usageFromAnthropic } from '../../src/providers/anthropic';
import type { ChatTarget } from '../../src/providers/types';
import { SluiceError } from '../../src/errors';

const catalog = new Catalog(SHIPPED_CATALOG);
const haiku = catalog.find('claude-haiku-4-5')!;

function target(body: unknown, stream = false): ChatTarget {
  return { request: ChatRequest.parse(body), model: haiku, stream, tier: 'standard', timeoutMs: 1000, nowMs: 0 };
}

describe('chat completions → Anthropic Messages', () => {
  it('moves system messages to the top and merges consecutive turns', () => {
    const body = toAnthropicBody(
      target({
        model: 'claude-haiku-4-5',
        messages: [
          { role: 'system', content: 'Rule one.' },
          { role: 'developer', content: 'Rule two.' },
          { role: 'user', content: 'a' },
          { role: 'user', content: [{ type: 'text', text: 'b' }] },
        ],
        max_tokens: 50,
        temperature: 1.7,
        stop: 'END',
        user: 'u-1',
      }),
    );
    expect(body).toMatchObject({
      model: 'claude-haiku-4-5-20251001',
      system: [
        { type: 'text', text: 'Rule one.' },
        { type: 'text', text: 'Rule two.' },
      ],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
      max_tokens: 50,
      temperature: 1,
      stop_sequences: ['END'],
      metadata: { user_id: 'u-1' },
    });
  });

  it('defaults max_tokens to the model maximum (Anthropic requires it)', () => {
    const body = toAnthropicBody(target({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }));
    expect(body.max_tokens).toBe(haiku.max_output_tokens);
  });

  it('translates images, tool calls and tool results', () => {
    const body = toAnthropicBody(
      target({
        model: 'x',
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } }, { type: 'image_url', image_url: { url: 'https://e.x/a.jpg' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"q":1}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'result' },
        ],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { q: { type: 'number' } } } } }],
        tool_choice: 'required',
        parallel_tool_calls: false,
      }),
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
          { type: 'image', source: { type: 'url', url: 'https://e.x/a.jpg' } },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'f', input: { q: 1 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'result' }] },
    ]);
    expect(body.tools).toEqual([{ name: 'f', input_schema: { type: 'object', properties: { q: { type: 'number' } } } }]);
    expect(body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
  });

  it('refuses what Anthropic cannot do, naming the parameter', () => {
    const attempt = (body: unknown): SluiceError => {
      try {
        toAnthropicBody(target(body));
      } catch (error) {
        return error as SluiceError;
      }
      throw new Error('expected a refusal');
    };
    expect(attempt({ model: 'x', n: 2, messages: [{ role: 'user', content: 'hi' }] }).param).toBe('n');
    expect(attempt({ model: 'x', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] }).status).toBe(400);
    expect(attempt({ model: 'x', messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{nope' } }] }] }).param).toBe(
      'messages[0].tool_calls[0].function.arguments',
    );
  });
});

describe('Anthropic → chat completions', () => {
  it('normalizes usage: input excludes cache reads and writes', () => {
    expect(
      usageFromAnthropic({
        input_tokens: 10,
        output_tokens: 20,
        cache_read_input_tokens: 300,
        cache_creation_input_tokens: 400,
        cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 300 },
      }),
    ).toEqual({ inputTokens: 10, cachedInputTokens: 300, cacheWriteTokens: 400, cacheWrite1hTokens: 300, outputTokens: 20, reasoningTokens: 0 });
  });

  it('translates a message with text and tool use, and the prompt tokens add up', () => {
    const result = anthropicAdapter.parseChatResponse(
      JSON.stringify({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5-20251001',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'f', input: { q: 1 } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 5, output_tokens: 7, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 },
      }),
      target({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }),
      1_790_000_000_000,
    );
    expect(result.completion.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{"q":1}' } }] },
    });
    expect(result.completion.usage).toMatchObject({ prompt_tokens: 105, completion_tokens: 7, total_tokens: 112, prompt_tokens_details: { cached_tokens: 100 } });
    expect(result.completion.created).toBe(1_790_000_000);
  });

  it('decodes a stream into chunks, with usage from message_start and message_delta', () => {
    const decoder = anthropicAdapter.createStreamDecoder(target({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }, true), 0);
    const events = [
      ['message_start', { type: 'message_start', message: { id: 'msg_2', model: 'm', usage: { input_tokens: 12, output_tokens: 1, cache_read_input_tokens: 0 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['ping', { type: 'ping' }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }],
      ['message_stop', { type: 'message_stop' }],
    ] as const;
    const bytes = new TextEncoder().encode(events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join(''));
    const chunks = [...decoder.push(bytes.subarray(0, 77)), ...decoder.push(bytes.subarray(77)), ...decoder.end()];
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? null).filter(Boolean).join('')).toBe('Hello');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 9 });
    expect(decoder.usage).toMatchObject({ inputTokens: 12, outputTokens: 9 });
  });
});
