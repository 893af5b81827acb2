import { Hono } from 'hono';
import { z } from 'zod';
import { listEvents } from '../../src/ledger/events';
import { readQuery } from '../../src/http/body';
import { InstantParam, LimitParam } from '../../src/http/query';
import type { AppEnv } from '../../src/http/types';

const EventsQuery = z.object({
  from: InstantParam.optional(),
  to: InstantParam.optional(),
  key_id: z.string().optional(),
  limit: LimitParam(1000, 100),
  cursor: z.string().optional(),
});

/** `/admin/usage`: the raw ledger, newest first, paged by cursor. */
export const adminUsageRoutes = new Hono<AppEnv>().get('/events', async (c) => {
  const q = readQuery(c, EventsQuery);
  return c.json(
    await listEvents(c.var.services.deps.db, {
      limit: q.limit,
      ...(q.from === undefined ? {} : { fromMs: q.from }),
      ...(q.to === undefined ? {} : { toMs: q.to }),
      ...(q.key_id === undefined ? {} : { keyId: q.key_id }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    }),
  );
});
