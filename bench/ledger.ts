// Ledger write throughput: events appended through the gateway's own buffered LedgerWriter
// (built by createServices, so every flush hook the gateway registers runs too) into a fresh
// libSQL file, as fast as the writer commits them, for a fixed time; then the writer is closed
// and the rows are counted: none may be lost. Batches are committed as the Node entry commits
// them (openLedgerCommitter: a connection that keeps its prepared statements) or, with
// --shared-client, by the database's own client, which prepares every statement again; each
// commit is timed. Prints one JSON object.
//
// By default every event has the same key and model, which is the cheapest case for the rollups
// the writer maintains: one dimension set per batch. With --principals N the events come from N
// keys (in 12 teams and 40 projects, with tags) on 8 models, as a shared gateway's do, and most
// events of a batch add to rollup rows of their own.
//
//   node --import tsx bench/ledger.ts [--seconds 10] [--max-depth 5000] [--principals 200] [--shared-client]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, parseArgs } from '../src/cli/args';
import { parseConfig } from '../src/config';
import { openDatabase } from '../src/db/client';
import { applyMigrations } from '../src/db/migrate';
import { silentLogger, systemClock, type Deps } from '../src/deps';
import { createServices } from '../src/gateway/services';
import type { LedgerEvent } from '../src/ledger/writer';
import { TransportError } from '../src/providers/transport';
import { ledgerEvent } from '../test/helpers/ledger';
import { randomEvent, seededRandom } from '../test/helpers/ledger-events';
import { openLedgerCommitter } from '../src/entry/node-ledger-commit';
import { benchPools } from './lib/ledger-pools';
import { quantile } from './lib/stats';

const args = parseArgs(process.argv.slice(2), ['shared-client']);
const SECONDS = Number(flag(args, 'seconds') ?? 10);
/** The producer waits while this many events are buffered: what is measured is what the writer sustains. */
const MAX_DEPTH = Number(flag(args, 'max-depth') ?? 5000);
const SHARED_CLIENT = args.flags.has('shared-client');
const PRINCIPALS = Number(flag(args, 'principals') ?? 1);

/** The event appended as the i-th, at `time`. */
function eventSource(): (i: number, time: number) => LedgerEvent {
  if (PRINCIPALS <= 1) return (i, time) => ({ ...ledgerEvent(i), time });
  const pools = benchPools(PRINCIPALS);
  const random = seededRandom(20261126);
  return (_i, time) => randomEvent(random, time, pools);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ledger-bench-'));
  const url = `file:${join(dir, 'ledger.db')}`;
  const database = await openDatabase(url);
  const committer = SHARED_CLIENT ? undefined : openLedgerCommitter(join(dir, 'ledger.db'));
  try {
    await applyMigrations(database.db);
    const config = parseConfig({ SLUICE_DB_URL: url });
    const pending = new Set<Promise<unknown>>();
    const commitMs: number[] = [];
    const deps: Deps = {
      db: database.db,
      clock: systemClock,
      transport: () => Promise.reject(new TransportError('connection', 'the ledger benchmark calls no upstream')),
      config,
      logger: silentLogger,
      // Timed: a local file commits synchronously, so this is how long a batch holds the event loop.
      async ledgerCommit(statements) {
        const began = performance.now();
        await (committer ? committer.commit(statements) : database.client.batch(statements, 'write'));
        commitMs.push(performance.now() - began);
      },
      defer(promise) {
        const tracked = promise.finally(() => pending.delete(tracked));
        pending.add(tracked);
      },
    };
    const { ledger } = await createServices(deps, 'not-an-admin-key-hash');
    let committed = 0;
    ledger.onCommit((events) => {
      committed += events.length;
    });

    const nextEvent = eventSource();
    const base = Date.now();
    let added = 0;
    let maxDepth = 0;
    const started = performance.now();
    const until = started + SECONDS * 1000;
    while (performance.now() < until) {
      if (ledger.depth >= MAX_DEPTH) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      for (let i = 0; i < 100; i++) {
        ledger.add(nextEvent(added, base + added));
        added++;
      }
      maxDepth = Math.max(maxDepth, ledger.depth);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const committedInWindow = committed;
    const windowS = (performance.now() - started) / 1000;
    await ledger.close();
    while (pending.size > 0) await Promise.allSettled([...pending]);
    const rows = Number((await database.client.execute('SELECT count(*) AS n FROM usage_events')).rows[0]!.n);
    console.log(
      JSON.stringify({
        events: added,
        rows,
        seconds: windowS,
        eventsPerS: committedInWindow / windowS,
        maxDepth,
        flushIntervalMs: config.ledgerFlushIntervalMs,
        maxBatch: config.ledgerFlushMaxEvents,
        commitMsP50: Number(quantile(commitMs, 0.5).toFixed(3)),
        commitMsP99: Number(quantile(commitMs, 0.99).toFixed(3)),
        committer: committer ? 'ledger committer' : 'shared client',
        principals: PRINCIPALS,
      }),
    );
    if (rows !== added) process.exitCode = 1;
  } finally {
    committer?.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
