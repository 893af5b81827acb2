import { Hono } from 'hono';
import { adminAlertRoutes } from '../routes/admin/alerts';
import { adminBudgetRoutes } from '../routes/admin/budgets';
import { adminCachingRoutes } from '../routes/admin/caching';
import { adminCatalogRoutes } from '../routes/admin/catalog';
import { adminKeyRoutes } from '../routes/admin/keys';
import { adminUsageRoutes } from '../routes/admin/usage';
import { anthropicRoutes } from '../routes/anthropic';
import { bedrockRoutes } from '../routes/bedrock';
import { adminWebhookRoutes } from '../routes/admin/webhooks';
import { deferredRoutes } from '../routes/deferred';
import { explainRoutes } from '../routes/explain';
import { dashboardRoutes } from '../routes/dashboard';
import { openaiRoutes } from '../routes/openai';
import { opsRoutes } from '../routes/ops';
import { adminReportRoutes, usageRoutes } from '../routes/reports';
import type { Deps } from './deps';
import { SluiceError } from './errors';
import { createServices, type Services } from './gateway/services';
import { requireAdmin } from './http/auth';
import { handleError } from './http/errors';
import { speaks } from './http/protocol';
import type { AppEnv } from './http/types';
import { resolveAdminKey } from './keys/admin-key';
import { newId } from './util/ids';

export interface SluiceApp {
  app: Hono<AppEnv>;
  services: Services;
  /** The admin key generated on this first start (print it once), if one was. */
  generatedAdminKey: string | undefined;
  /** Flushes the ledger; call after the server stops accepting requests. */
  shutdown(): Promise<void>;
}

/** Builds the gateway from its dependencies. Entries (Node, Workers, tests) own the runtime. */
export async function createApp(deps: Deps): Promise<SluiceApp> {
  const admin = await resolveAdminKey(deps.db, deps.config.adminKey, deps.clock.now());
  const services = await createServices(deps, admin.hash);

  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('services', services);
    c.set('startedHr', performance.now());
    const requestId = newId('req', deps.clock.now());
    c.set('requestId', requestId);
    c.set('protocol', 'admin');
    // Set before the handler: a header added after the response exists forces Hono to copy it.
    // (The chat routes build their own Response and put the id in it themselves.)
    c.header('x-sluice-request-id', requestId);
    await next();
  });
  app.onError(handleError);
  app.notFound(() => {
    throw new SluiceError('not_found', 'No such endpoint. See /openapi.json for the admin API; the front doors are /v1/chat/completions, /v1/messages and /model/{id}/converse.');
  });

  app.route('/', opsRoutes);
  app.route('/', openaiRoutes);
  app.route('/', anthropicRoutes);
  app.route('/', bedrockRoutes);
  app.route('/', explainRoutes);
  app.route('/', deferredRoutes);
  app.route('/', usageRoutes);
  app.use('/admin/*', speaks('admin'), requireAdmin);
  app.route('/admin/keys', adminKeyRoutes);
  app.route('/admin/usage/caching', adminCachingRoutes);
  app.route('/admin/usage', adminUsageRoutes);
  app.route('/admin/catalog', adminCatalogRoutes);
  app.route('/admin/budgets', adminBudgetRoutes);
  app.route('/admin/webhooks', adminWebhookRoutes);
  app.route('/admin/alerts', adminAlertRoutes);
  app.route('/admin/reports', adminReportRoutes);
  app.route('/dashboard', dashboardRoutes);

  return {
    app,
    services,
    generatedAdminKey: admin.generated,
    shutdown: () => services.ledger.close(),
  };
}
