import { Hono } from 'hono';
import type { AppEnv } from '../src/http/types';
import { openApiDocument } from '../src/ops/openapi';

/** Operations: liveness, Prometheus metrics and the OpenAPI document (no auth: they carry no tenant data). */
export const opsRoutes = new Hono<AppEnv>()
  .get('/healthz', async (c) => {
    const { deps, ledger } = c.var.services;
    try {
      await deps.db.run('select 1');
    } catch {
      return c.json({ status: 'unavailable', database: 'unreachable' }, 503);
    }
    return c.json({ status: 'ok', database: 'ok', ledger_buffer: ledger.depth });
  })
  .get('/openapi.json', (c) => c.json(openApiDocument()))
  .get('/metrics', (c) =>
    c.body(c.var.services.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );
