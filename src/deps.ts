import type { Config } from './config';
import type { Db } from './db/client';
import type { LedgerCommit } from './ledger/writer';
import type { Transport } from './providers/transport';
import type { ExportSink } from './reports/monthly-export';

/** Epoch milliseconds, UTC. Injected so tests and jobs control time. */
export interface Clock {
  now(): number;
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/**
 * What the application is built from. Entries (Node, Workers, tests) construct these; nothing
 * below the entries reaches for globals (database singletons, Date.now, global fetch).
 */
export interface Deps {
  db: Db;
  clock: Clock;
  transport: Transport;
  config: Config;
  logger: Logger;
  /** Keeps background work alive past the response (Node: tracked and awaited on shutdown; Workers: ctx.waitUntil). */
  defer(promise: Promise<unknown>): void;
  /** Uniform in [0, 1) for jitter; Math.random when not given (tests inject a fixed sequence). */
  random?: () => number;
  /**
   * Resolves a host name to its addresses, so the webhook SSRF guard can vet every one (Node:
   * node:dns, src/entry/node-dns.ts). Absent on Workers, where only literal addresses and
   * internal names are refused and Cloudflare's egress does not reach private networks.
   */
  resolveHost?: (hostname: string) => Promise<string[]>;
  /** Commits ledger batches (Node with a local file: src/entry/node-ledger-commit.ts); the database's client when absent. */
  ledgerCommit?: LedgerCommit;
  /** Where the monthly export writes files (Node: SLUICE_EXPORT_DIR); absent on Workers. */
  exportSink?: ExportSink;
}

export const systemClock: Clock = { now: () => Date.now() };

/** JSON lines on stdout/stderr; the level filter is the entry's business. */
export function createJsonLogger(minLevel: 'debug' | 'info' | 'warn' | 'error' = 'info', write: (line: string, level: string) => void = defaultWrite): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3 } as const;
  const log = (level: keyof typeof order) => (message: string, fields?: LogFields): void => {
    if (order[level] < order[minLevel]) return;
    write(JSON.stringify({ level, time: new Date().toISOString(), message, ...fields }), level);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function defaultWrite(line: string, level: string): void {
  if (level === 'error' || level === 'warn') console.error(line);
  else console.log(line);
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
