import { Hono, type Context } from 'hono';
import { countTokens } from '../src/gateway/count-tokens';
import { handleChat, type ChatOutcome, type PassthroughOutcome } from '../src/gateway/handle-chat';
import { parseHints } from '../src/gateway/hints';
import { requireKey } from '../src/http/auth';
import { readJson } from '../src/http/body';
import { callerSignal, sendJson } from '../src/http/raw';
import { renderError } from '../src/http/errors';
import { speaks } from '../src/http/protocol';
import { sendStream } from '../src/http/stream';
import type { AppEnv } from '../src/http/types';
import type { NativeRequest } from '../src/providers/types';
import { sseEventText } from '../src/providers/sse';
import { CountTokensRequest, MessagesRequest, toCanonical } from '../src/surfaces/anthropic/request';
import { deferredAccepted } from './deferred';
import { messageFromCompletion, MessagesEventWriter } from '../src/surfaces/anthropic/response';

/** Request headers of the Messages protocol that an Anthropic upstream must see as the caller sent them. */
const FORWARDED_HEADERS = ['anthropic-version', 'anthropic-beta'];

function nativeRequest(c: Context<AppEnv>, body: Record<string, unknown>, untranslatable: string[]): NativeRequest {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = c.req.header(name);
    if (value) headers[name] = value;
  }
  return { protocol: 'anthropic', body, headers, untranslatable };
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

function streamError(error: Parameters<typeof renderError>[1]): string {
  return sseEventText('error', renderError('anthropic', error).body);
}

function respond(c: Context<AppEnv>, outcome: ChatOutcome | PassthroughOutcome, messageId: string): Response {
  switch (outcome.kind) {
    case 'deferred':
      return deferredAccepted(outcome, c.req.url);
    case 'native-completion':
      return sendJson(c, outcome, () => outcome.body);
    case 'native-stream':
      return sendStream(c, { ...outcome.headers, ...SSE_HEADERS }, outcome.bytes, { render: (bytes) => bytes, end: () => '', error: streamError });
    case 'completion':
      return sendJson(c, outcome, () => JSON.stringify(messageFromCompletion(outcome.result.completion, outcome.result.usage, messageId)));
    case 'stream': {
      const writer = new MessagesEventWriter(messageId);
      return sendStream(c, { ...outcome.headers, ...SSE_HEADERS }, outcome.chunks, {
        render: (chunk) => writer.chunk(chunk),
        end: () => writer.finish(outcome.usage()),
        error: streamError,
      });
    }
  }
}

/**
 * The Anthropic front door: `POST /v1/messages` (plain and streamed) and
 * `POST /v1/messages/count_tokens`. Served by an Anthropic upstream as a pass-through, by any
 * other through the canonical request.
 */
export const anthropicRoutes = new Hono<AppEnv>()
  .post('/v1/messages', speaks('anthropic'), requireKey, async (c) => {
    const body = await readJson(c, MessagesRequest);
    const hints = parseHints((name) => c.req.header(name));
    const { request, extras, untranslatable } = toCanonical(body);
    const outcome = await handleChat(c.get('services'), {
      requestId: c.get('requestId'),
      surface: 'anthropic',
      principal: c.get('principal'),
      request,
      stream: body.stream === true,
      hints,
      receivedAt: c.get('services').deps.clock.now(),
      startedHr: c.get('startedHr'),
      signal: callerSignal(c),
      native: nativeRequest(c, body, untranslatable),
      extras,
    });
    return respond(c, outcome, `msg_${c.get('requestId').slice(4)}`);
  })
  .post('/v1/messages/count_tokens', speaks('anthropic'), requireKey, async (c) => {
    const body = await readJson(c, CountTokensRequest);
    const { request, untranslatable } = toCanonical(body);
    const counted = await countTokens(c.get('services'), {
      principal: c.get('principal'),
      request,
      native: nativeRequest(c, body, untranslatable),
      hints: parseHints((name) => c.req.header(name)),
      signal: callerSignal(c),
    });
    return c.json({ input_tokens: counted.inputTokens }, 200, counted.headers);
  });
