import { Hono } from 'hono';
import { z } from 'zod';
import { CreateKeyInput, createKey, getKey, listKeys, revokeKey, updateKey, UpdateKeyInput } from '../../src/keys/keys';
import { readJson, readQuery } from '../../src/http/body';
import { LimitParam } from '../../src/http/query';
import type { AppEnv } from '../../src/http/types';

const ListQuery = z.object({
  include_revoked: z.enum(['true', 'false']).optional(),
  team: z.string().optional(),
  limit: LimitParam(500, 100),
  cursor: z.string().optional(),
});

/** `/admin/keys`: create (the secret is in this answer only), list, read, update, revoke. */
export const adminKeyRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const input = await readJson(c, CreateKeyInput);
    const { db, clock } = c.var.services.deps;
    return c.json(await createKey(db, input, clock.now()), 201);
  })
  .get('/', async (c) => {
    const q = readQuery(c, ListQuery);
    return c.json(
      await listKeys(c.var.services.deps.db, {
        includeRevoked: q.include_revoked === 'true',
        limit: q.limit,
        ...(q.team === undefined ? {} : { team: q.team }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      }),
    );
  })
  .get('/:id', async (c) => c.json(await getKey(c.var.services.deps.db, c.req.param('id'))))
  .patch('/:id', async (c) => {
    const input = await readJson(c, UpdateKeyInput);
    const key = await updateKey(c.var.services.deps.db, c.req.param('id'), input);
    c.var.services.keys.forget(key.id);
    return c.json(key);
  })
  .post('/:id/revoke', async (c) => {
    const { db, clock } = c.var.services.deps;
    const key = await revokeKey(db, c.req.param('id'), clock.now());
    c.var.services.keys.forget(key.id);
    return c.json(key);
  })
  .delete('/:id', async (c) => {
    const { db, clock } = c.var.services.deps;
    const key = await revokeKey(db, c.req.param('id'), clock.now());
    c.var.services.keys.forget(key.id);
    return c.json(key);
  });
