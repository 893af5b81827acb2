import { Hono } from 'hono';
import { ChatRequest } from '../src/gateway/chat';
import { parseHints } from '../src/gateway/hints';
import { requireKey } from '../src/http/auth';
import { readJson } from '../src/http/body';
import { speaks } from '../src/http/protocol';
import type { AppEnv } from '../src/http/types';
import { effectivePolicy } from '../src/keys/policy';
import { explainRoute } from '../src/routing/explain';

/** `POST /v1/sluice/route/explain`: the routing decision for a chat body, with no upstream call. */
export const explainRoutes = new Hono<AppEnv>().post('/v1/sluice/route/explain', speaks('openai'), requireKey, async (c) => {
  const request = await readJson(c, ChatRequest);
  const services = c.get('services');
  const principal = c.get('principal');
  const policy = effectivePolicy(services.deps.config.defaultPolicy, principal.policy);
  return c.json(explainRoute(services.catalog.current, principal, request, parseHints((name) => c.req.header(name)), policy));
});
