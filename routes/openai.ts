import { Hono, type Context } from 'hono';
import type { ChatCompletionChunk } from '../src/gateway/chat';
import { ChatRequest } from '../src/gateway/chat';
import { handleChat, type ChatOutcome } from '../src/gateway/handle-chat';
import { parseHints } from '../src/gateway/hints';
import { listModels } from '../src/catalog/list-models';
import { SluiceError } from '../src/errors';
import { readJson } from '../src/http/body';
import { callerSignal, requestHeader, sendJson } from '../src/http/raw';
import { renderError } from '../src/http/errors';
import { requireKey } from '../src/http/auth';
import { speaks } from '../src/http/protocol';
import { sendStream, type StreamFormat } from '../src/http/stream';
import type { AppEnv } from '../src/http/types';
import { upstreamJsonOf, withoutNullUsage } from '../src/providers/openai';
import { sseDataText } from '../src/providers/sse';
import { deferredAccepted } from './deferred';

/** OpenAI SSE for canonical chunks, hiding the usage chunk from callers who did not ask for it. */
const openAIEvents = (includeUsage: boolean): StreamFormat<ChatCompletionChunk> => ({
  render(chunk) {
    // From an OpenAI-compatible upstream, the chunk's own text goes out (no re-serialization).
    const upstream = upstreamJsonOf(chunk);
    if (!includeUsage) {
      if (chunk.choices.length === 0 && chunk.usage) return '';
      if ('usage' in chunk) {
        delete chunk.usage;
        const cut = upstream === undefined ? undefined : withoutNullUsage(upstream);
        return sseDataText(cut ?? JSON.stringify(chunk));
      }
    }
    return sseDataText(upstream ?? JSON.stringify(chunk));
  },
  end: () => 'data: [DONE]\n\n',
  // The stream has started, so the status is sent; OpenAI reports late errors as an error event.
  error: (failure) => sseDataText(renderError('openai', failure).body),
});

function respond(c: Context<AppEnv>, outcome: ChatOutcome, includeUsage: boolean): Response {
  if (outcome.kind === 'deferred') return deferredAccepted(outcome, c.req.url);
  if (outcome.kind === 'completion') {
    return sendJson(c, outcome, () => outcome.result.rawBody ?? JSON.stringify(outcome.result.completion));
  }
  const headers = { ...outcome.headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
  return sendStream(c, headers, outcome.chunks, openAIEvents(includeUsage));
}

/** The OpenAI front door: `POST /v1/chat/completions`, `GET /v1/models`. */
export const openaiRoutes = new Hono<AppEnv>()
  .post('/v1/chat/completions', speaks('openai'), requireKey, async (c) => {
    const request = await readJson(c, ChatRequest);
    const hints = parseHints((name) => requestHeader(c, name));
    const stream = request.stream === true;
    const services = c.get('services');
    const outcome = await handleChat(services, {
      requestId: c.get('requestId'),
      surface: 'openai',
      principal: c.get('principal'),
      request,
      stream,
      hints,
      receivedAt: services.deps.clock.now(),
      startedHr: c.get('startedHr'),
      signal: callerSignal(c),
    });
    return respond(c, outcome, request.stream_options?.include_usage === true);
  })
  .get('/v1/models', speaks('openai'), requireKey, (c) => c.json({ object: 'list', data: listModels(c.var.services.catalog.current, c.var.principal) }))
  .get('/v1/models/:model{.+}', speaks('openai'), requireKey, (c) => {
    const name = c.req.param('model');
    const model = listModels(c.var.services.catalog.current, c.var.principal).find((m) => m.id === name);
    if (!model) throw new SluiceError('model_not_found', `The model "${name}" does not exist or this key may not use it.`, { param: 'model' });
    return c.json(model);
  });
