import { Hono } from 'hono';
import { z } from 'zod';
import { getAlert, listAlerts } from '../../src/budgets/alerts';
import { readQuery } from '../../src/http/body';
import { InstantParam, LimitParam } from '../../src/http/query';
import type { AppEnv } from '../../src/http/types';

const AlertsQuery = z.object({
  budget_id: z.string().optional(),
  from: InstantParam.optional(),
  to: InstantParam.optional(),
  limit: LimitParam(500, 100),
  cursor: z.string().optional(),
});

/** `/admin/alerts`: every budget alert raised (threshold, forecast, blocked), newest first. */
export const adminAlertRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const q = readQuery(c, AlertsQuery);
    return c.json(
      await listAlerts(c.var.services.deps.db, {
        limit: q.limit,
        ...(q.budget_id === undefined ? {} : { budgetId: q.budget_id }),
        ...(q.from === undefined ? {} : { fromMs: q.from }),
        ...(q.to === undefined ? {} : { toMs: q.to }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      }),
    );
  })
  .get('/:id', async (c) => c.json(await getAlert(c.var.services.deps.db, c.req.param('id'))));
