import { Hono } from 'hono';
import { z } from 'zod';
import { cancelItem } from '../src/batch/manage';
import { deferredView, getOwnItem, listItems, type DeferredItem, type DeferredView } from '../src/batch/queue';
import type { ChatCompletion } from '../src/gateway/chat';
import { ZERO_USAGE } from '../src/gateway/usage';
import { usageFromOpenAI } from '../src/providers/openai';
import { messageFromCompletion } from '../src/surfaces/anthropic/response';
import { converseFromCompletion } from '../src/surfaces/bedrock/response';
import type { ChatOutcome } from '../src/gateway/handle-chat';
import { requireKey } from '../src/http/auth';
import { readQuery } from '../src/http/body';
import { speaks } from '../src/http/protocol';
import { LimitParam } from '../src/http/query';
import type { AppEnv } from '../src/http/types';

/**
 * Deferred (batch-tier) requests as their owner sees them: `GET /v1/sluice/deferred/{id}` for
 * the status and, once completed, the answer; the list of the key's own; cancel while queued.
 * Another key's item answers 404, as if it did not exist.
 *
 * `result` is the answer in the caller's own format: OpenAI's chat.completion, an Anthropic
 * Message or a Bedrock Converse answer, after the front door the request came through.
 */

/** The 202 a front door sends for a deferred request: the view with an absolute poll URL. */
export function deferredAccepted(outcome: Extract<ChatOutcome, { kind: 'deferred' }>, requestUrl: string): Response {
  const pollUrl = new URL(outcome.deferred.poll_url, requestUrl).href;
  return new Response(JSON.stringify({ ...outcome.deferred, poll_url: pollUrl }), {
    status: 202,
    headers: { ...outcome.headers, 'content-type': 'application/json', location: pollUrl },
  });
}

/** The answer in the caller's own format: the canonical result as the front door it came through renders it. */
function inCallersFormat(item: DeferredItem, view: DeferredView): DeferredView {
  const completion = view.result as ChatCompletion | undefined;
  if (!completion || item.surface === 'openai') return view;
  const usage = completion.usage ? usageFromOpenAI(completion.usage) : ZERO_USAGE;
  if (item.surface === 'anthropic') return { ...view, result: messageFromCompletion(completion, usage, `msg_${item.requestId.slice(4)}`) };
  const latencyMs = item.finishedAt === null ? 0 : item.finishedAt - item.createdAt;
  return { ...view, result: converseFromCompletion(completion, usage, latencyMs) };
}

function absolute(view: DeferredView, requestUrl: string): DeferredView {
  return { ...view, poll_url: new URL(view.poll_url, requestUrl).href };
}

const ListQuery = z.object({
  status: z.enum(['queued', 'submitted', 'completed', 'failed', 'expired', 'cancelled']).optional(),
  limit: LimitParam(100, 20),
  cursor: z.string().optional(),
});

export const deferredRoutes = new Hono<AppEnv>()
  .get('/v1/sluice/deferred', speaks('openai'), requireKey, async (c) => {
    const q = readQuery(c, ListQuery);
    const page = await listItems(c.var.services.deps.db, {
      keyId: c.var.principal.keyId,
      limit: q.limit,
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    });
    // Lists carry statuses; each answer is read from its own poll URL.
    const data = page.data.map((item) => {
      const { result: _result, ...view } = absolute(deferredView(item), c.req.url);
      return view;
    });
    return c.json({ object: 'list', data, next_cursor: page.next_cursor });
  })
  .get('/v1/sluice/deferred/:id', speaks('openai'), requireKey, async (c) => {
    const item = await getOwnItem(c.var.services.deps.db, c.var.principal.keyId, c.req.param('id'));
    return c.json(absolute(inCallersFormat(item, deferredView(item)), c.req.url));
  })
  .post('/v1/sluice/deferred/:id/cancel', speaks('openai'), requireKey, async (c) => {
    const { services } = c.var;
    const item = await getOwnItem(services.deps.db, c.var.principal.keyId, c.req.param('id'));
    return c.json(absolute(await cancelItem(services, item, services.deps.clock.now()), c.req.url));
  });
