import { Hono } from 'hono';
import { FamilyEntry, ModelOverride } from '../../src/catalog/types';
import { deleteOverride, putOverride } from '../../src/catalog/overrides';
import { SluiceError } from '../../src/errors';
import { readJson } from '../../src/http/body';
import type { AppEnv } from '../../src/http/types';

const ModelOverrideBody = ModelOverride.partial({ id: true });

/** `/admin/catalog`: the catalog in effect, and run-time overrides of models (prices) and families. */
export const adminCatalogRoutes = new Hono<AppEnv>()
  .get('/', (c) => c.json(c.var.services.catalog.current.toJSON()))
  .put('/models/:id', async (c) => {
    const id = c.req.param('id');
    const body = await readJson(c, ModelOverrideBody);
    if (body.id !== undefined && body.id !== id) throw new SluiceError('invalid_request', `The body's id "${body.id}" does not match the path's "${id}".`, { param: 'id' });
    const { db, clock } = c.var.services.deps;
    const catalog = await putOverride(db, c.var.services.catalog, `model:${id}`, { ...body, id }, clock.now());
    return c.json(catalog.toJSON().models.find((m) => m.id === id));
  })
  .delete('/models/:id', async (c) => {
    await deleteOverride(c.var.services.deps.db, c.var.services.catalog, `model:${c.req.param('id')}`);
    return c.body(null, 204);
  })
  .put('/families/:name', async (c) => {
    const name = c.req.param('name');
    const body = await readJson(c, FamilyEntry.partial({ name: true }));
    const { db, clock } = c.var.services.deps;
    const catalog = await putOverride(db, c.var.services.catalog, `family:${name}`, { ...body, name }, clock.now());
    return c.json(catalog.toJSON().families.find((f) => f.name === name));
  })
  .delete('/families/:name', async (c) => {
    await deleteOverride(c.var.services.deps.db, c.var.services.catalog, `family:${c.req.param('name')}`);
    return c.body(null, 204);
  });
