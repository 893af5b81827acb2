import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createApp, type SluiceApp } from '../app';
import type { Config } from '../config';
import { openDatabase } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { createJsonLogger, systemClock, type Clock, type Deps, type Logger } from '../deps';
import type { Transport } from '../providers/transport';
import { loadConfig } from './load-config';
import { listen, type ListenOptions } from './node-listen';
import { startJobs } from './node-jobs';
import { resolveHost } from './node-dns';
import { folderExportSink } from './node-export-sink';
import { localDatabasePath, openLedgerCommitter, pauseBetweenRequests } from './node-ledger-commit';
import { RequestsInFlight } from './node-requests';
import { createNodeTransport } from './node-transport';

export interface NodeServerOptions {
  config: Config;
  /** Run the scheduled jobs in this process (default true; tests drive jobs directly). */
  jobs?: boolean;
  clock?: Clock;
  logger?: Logger;
  transport?: Transport;
  /** Jitter source for webhook retries (default Math.random). */
  random?: () => number;
  /** Name resolution for the webhook SSRF guard (default node:dns). */
  resolveHost?: (hostname: string) => Promise<string[]>;
}

export interface NodeServer {
  url: string;
  port: number;
  sluice: SluiceApp;
  /** Stops accepting, lets in-flight requests finish, flushes the ledger, closes the database. */
  close(): Promise<void>;
}

/**
 * A ledger commit runs its slices (about 0.5 ms each) between requests, waiting at most this long
 * for a gap: a request that arrives while a slice runs waits for that one only, and under sustained
 * load the ledger still gets a slice every few milliseconds (ample for it to keep up).
 */
const LEDGER_WAIT_FOR_GAP_MS = 2;

/**
 * Full batches buffered beyond which the ledger stops waiting for gaps (pauseBetweenRequests). A
 * slice per 2 ms is ample for events from one key, but with many principals most events add rollup
 * rows of their own: 200 keys at 3.3k req/s left 17k events buffered after 10 s, and the backlog
 * grew for as long as the load lasted. Behind, requests wait for whole batches instead.
 */
const LEDGER_BEHIND_BATCHES = 10;

/** Starts the gateway on Node: database (migrated), transport, app, HTTP server. */
export async function startNodeServer(options: NodeServerOptions): Promise<NodeServer> {
  const { config } = options;
  const logger = options.logger ?? createJsonLogger();
  const databasePath = localDatabasePath(config.dbUrl);
  // A fresh checkout needs no setup: the database file's folder is created.
  if (databasePath !== undefined) mkdirSync(dirname(databasePath), { recursive: true });
  const database = await openDatabase(config.dbUrl, config.dbAuthToken);
  await applyMigrations(database.db);

  const nodeTransport = options.transport ? undefined : createNodeTransport();
  // A URL with options (?mode=...) keeps to the one connection that honours them.
  const requests = new RequestsInFlight();
  // The ledger is built with the app, after its committer: its depth is read through this.
  let ledgerDepth = (): number => 0;
  const ledgerBehind = (): boolean => ledgerDepth() >= LEDGER_BEHIND_BATCHES * config.ledgerFlushMaxEvents;
  const ledgerCommitter =
    databasePath === undefined || config.dbUrl.includes('?')
      ? undefined
      : openLedgerCommitter(databasePath, pauseBetweenRequests(requests, LEDGER_WAIT_FOR_GAP_MS, ledgerBehind));
  const pending = new Set<Promise<unknown>>();
  const deps: Deps = {
    db: database.db,
    clock: options.clock ?? systemClock,
    transport: options.transport ?? nodeTransport!.transport,
    config,
    logger,
    resolveHost: options.resolveHost ?? resolveHost,
    ...(options.random ? { random: options.random } : {}),
    exportSink: folderExportSink(config.reports.exportDir),
    ...(ledgerCommitter ? { ledgerCommit: (statements) => database.exclusive(() => ledgerCommitter.commit(statements)) } : {}),
    defer(promise) {
      const tracked = promise
        .catch((error: unknown) => logger.error('background task failed', { error: (error as Error).message }))
        .finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
  };
  const sluice = await createApp(deps);
  ledgerDepth = () => sluice.services.ledger.depth;
  const jobs = options.jobs === false ? undefined : startJobs(sluice.services);
  // Other instances' spend reaches this one's budget counters on a timer (Workers reconciles lazily, per request).
  const reconcile = setInterval(() => deps.defer(sluice.services.budgets.refresh()), config.budgetReconcileMs);
  reconcile.unref();

  const listenOptions: ListenOptions = { port: config.port, host: config.host };
  if (config.tls) listenOptions.tls = { cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) };
  const server = await listen(sluice.app.fetch, listenOptions, requests);
  const port = server.address.port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await server.close();
      clearInterval(reconcile);
      await jobs?.stop();
      // Closing the ledger first releases its scheduled flush, which is itself a pending task;
      // background work that finishes afterwards may add events, so it is closed once more.
      await sluice.shutdown();
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await sluice.shutdown();
      nodeTransport?.close();
      ledgerCommitter?.close();
      database.close();
    })());

  const scheme = config.tls ? 'https' : 'http';
  return { url: `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`, port, sluice, close };
}

function describeUpstreams(config: Config): string[] {
  const { openai, anthropic, bedrock } = config.providers;
  return [
    `  openai     ${openai.baseUrl}  ${openai.apiKey ? 'key set' : 'no OPENAI_API_KEY'}`,
    `  anthropic  ${anthropic.baseUrl}  ${anthropic.apiKey ? 'key set' : 'no ANTHROPIC_API_KEY'}`,
    `  bedrock    ${bedrock.baseUrl}  ${bedrock.accessKeyId || bedrock.apiKey ? 'credentials set' : 'no AWS credentials'}`,
  ];
}

/** `npm start` / `sluice serve`: the gateway from the environment, until SIGINT or SIGTERM. */
export async function runNodeGateway(): Promise<void> {
  const config = loadConfig(process.env);
  const node = await startNodeServer({ config });
  const lines = [
    `Sluice listening on ${node.url}  (database ${config.dbUrl})`,
    'Upstreams:',
    ...describeUpstreams(config),
  ];
  if (node.sluice.generatedAdminKey) {
    lines.push(
      '',
      'Admin key (generated on this first start; shown only now, only its hash is stored):',
      `  ${node.sluice.generatedAdminKey}`,
    );
  }
  const adminKey = node.sluice.generatedAdminKey ?? (config.adminKey ? '$SLUICE_ADMIN_KEY' : '<your admin key>');
  lines.push(
    '',
    'First request:',
    `  curl -s ${node.url}/admin/keys -H "Authorization: Bearer ${adminKey}" -H 'content-type: application/json' -d '{"name":"me","team":"platform"}'`,
    `  curl -s ${node.url}/v1/chat/completions -H "Authorization: Bearer <key from above>" -H 'content-type: application/json' \\`,
    `    -d '{"model":"auto","messages":[{"role":"user","content":"Hello"}]}'`,
  );
  // Handlers first: whoever reads the banner may signal at once.
  const stop = (signal: string): void => {
    console.log(`${signal}: finishing in-flight requests and flushing the ledger...`);
    const force = setTimeout(() => {
      console.error('shutdown took over 30 s; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    node.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  console.log(lines.join('\n'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runNodeGateway().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
