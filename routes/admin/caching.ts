import { Hono } from 'hono';
import { z } from 'zod';
import { cachingReport } from '../../src/cache/report';
import { SluiceError } from '../../src/errors';
import { readQuery } from '../../src/http/body';
import { InstantParam } from '../../src/http/query';
import type { AppEnv } from '../../src/http/types';

const CachingQuery = z.object({
  from: InstantParam.optional(),
  to: InstantParam.optional(),
  group_by: z.enum(['key', 'team']).default('key'),
});

const DEFAULT_WINDOW_MS = 30 * 24 * 3_600_000;

/** `GET /admin/usage/caching`: response-cache and prompt-cache results per key or team (default: the last 30 days). */
export const adminCachingRoutes = new Hono<AppEnv>().get('/', async (c) => {
  const q = readQuery(c, CachingQuery);
  const { db, clock } = c.var.services.deps;
  const toMs = q.to ?? clock.now();
  const fromMs = q.from ?? toMs - DEFAULT_WINDOW_MS;
  if (fromMs >= toMs) throw new SluiceError('invalid_request', '"from" must be earlier than "to" (the range is half-open: [from, to)).', { param: 'from' });
  return c.json(await cachingReport(db, { fromMs, toMs, groupBy: q.group_by }));
});
