import { createApp, type SluiceApp } from '../app';
import { ConfigError, parseConfig } from '../config';
import { openDatabase } from '../db/client';
import { createJsonLogger, systemClock, type Deps } from '../deps';
import { JOBS } from '../jobs';
import { createFetchTransport } from '../providers/fetch-transport';

/**
 * The Cloudflare Workers entry: libSQL over the network (Turso or a libSQL server), `fetch` as the
 * transport, `ctx.waitUntil` for work after the response. Migrations are applied before deploy
 * with `sluice migrate` against the same database URL.
 */
type Env = Record<string, string | undefined>;

let app: Promise<SluiceApp> | undefined;
/** The newest request's context: waitUntil on any live request keeps the isolate running. */
let activeCtx: ExecutionContext | undefined;

function appFor(env: Env): Promise<SluiceApp> {
  app ??= build(env).catch((error: unknown) => {
    app = undefined;
    throw error;
  });
  return app;
}

function build(env: Env): Promise<SluiceApp> {
  const config = parseConfig(env, env.SLUICE_CONFIG_JSON ? JSON.parse(env.SLUICE_CONFIG_JSON) : undefined);
  if (config.dbUrl.startsWith('file:')) throw new ConfigError('On Workers, SLUICE_DB_URL must be a libsql:// or https:// database URL.');
  if (!config.adminKey) throw new ConfigError('On Workers, set SLUICE_ADMIN_KEY as a secret (a generated key could not be shown).');
  return openDatabase(config.dbUrl, config.dbAuthToken).then((database) => {
    const deps: Deps = {
      db: database.db,
      clock: systemClock,
      transport: createFetchTransport(),
      config,
      logger: createJsonLogger('info'),
      defer: (promise) => activeCtx?.waitUntil(promise),
    };
    return createApp(deps);
  });
}

// biome-ignore lint/style/noDefaultExport: Wrangler needs the default export.
export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    activeCtx = ctx;
    const sluice = await appFor(env);
    const response = await sluice.app.fetch(request);
    // Workers may freeze the isolate between requests: write the ledger before this request ends.
    ctx.waitUntil(sluice.services.ledger.flush());
    return response;
  },

  /** Cron triggers (wrangler.toml [triggers]) run every job whose schedule matches. */
  async scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    activeCtx = ctx;
    const sluice = await appFor(env);
    for (const job of JOBS.filter((j) => j.schedule === controller.cron)) {
      await job.run(sluice.services, controller.scheduledTime);
    }
    await sluice.services.ledger.flush();
  },
} satisfies ExportedHandler<Env>;
