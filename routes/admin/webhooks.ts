import { Hono } from 'hono';
import { z } from 'zod';
import { readJson, readQuery } from '../../src/http/body';
import { LimitParam } from '../../src/http/query';
import type { AppEnv } from '../../src/http/types';
import { listDeliveries } from '../../src/webhooks/deliveries';
import { CreateWebhookInput, deleteEndpoint, getEndpoint, listEndpoints, UpdateWebhookInput } from '../../src/webhooks/endpoints';
import { changeWebhook, registerWebhook, retryDelivery, sendTestEvent } from '../../src/webhooks/manage';

const DeliveriesQuery = z.object({
  status: z.enum(['pending', 'sending', 'succeeded', 'failed', 'cancelled']).optional(),
  limit: LimitParam(200, 50),
  cursor: z.string().optional(),
});

/** `/admin/webhooks`: endpoints (the secret is in the create answer only), test events, the delivery log, manual redelivery. */
export const adminWebhookRoutes = new Hono<AppEnv>()
  .post('/', async (c) => c.json(await registerWebhook(c.var.services, await readJson(c, CreateWebhookInput)), 201))
  .get('/', async (c) => c.json(await listEndpoints(c.var.services.deps.db)))
  .get('/:id', async (c) => c.json(await getEndpoint(c.var.services.deps.db, c.req.param('id'))))
  .patch('/:id', async (c) => c.json(await changeWebhook(c.var.services, c.req.param('id'), await readJson(c, UpdateWebhookInput))))
  .delete('/:id', async (c) => c.json(await deleteEndpoint(c.var.services.deps.db, c.req.param('id'), c.var.services.deps.clock.now())))
  .post('/:id/test', async (c) => c.json(await sendTestEvent(c.var.services, c.req.param('id'))))
  .get('/:id/deliveries', async (c) => {
    const q = readQuery(c, DeliveriesQuery);
    await getEndpoint(c.var.services.deps.db, c.req.param('id'));
    return c.json(
      await listDeliveries(c.var.services.deps.db, c.req.param('id'), {
        limit: q.limit,
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      }),
    );
  })
  .post('/:id/deliveries/:deliveryId/retry', async (c) => c.json(await retryDelivery(c.var.services, c.req.param('id'), c.req.param('deliveryId')), 202));
