// Report latency over a large ledger. Seeds a fresh libSQL file with N events spread evenly, in
// time order, over November 2026 through the production LedgerWriter (its bound-SQL inserts and
// the same rollup flush hook the gateway registers, committed as the Node entry commits them:
// openLedgerCommitter, a connection that keeps its prepared statements), then times the
// month-by-team chargeback and friends, and checks each total against the raw ledger's own SQL sum.
//
//   npx tsx bench/reports.ts [--events 1000000] [--batch 2000] [--db bench/out/reports.db] [--reuse]
//   npx tsx bench/reports.ts --events 200000 --no-rollups   (the ledger writer alone, for the rollups' cost)
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { sql } from 'drizzle-orm';
import { parseArgs, flag } from '../src/cli/args';
import { SHIPPED_CATALOG, Catalog } from '../src/catalog/catalog';
import { parseConfig } from '../src/config';
import { openDatabase } from '../src/db/client';
import { applyMigrations } from '../src/db/migrate';
import { openLedgerCommitter } from '../src/entry/node-ledger-commit';
import { silentLogger } from '../src/deps';
import { LedgerWriter, type LedgerEvent } from '../src/ledger/writer';
import { Metrics } from '../src/ops/metrics';
import { renderChargeback } from '../src/reports/chargeback-export';
import type { GroupDimension } from '../src/reports/dimensions';
import { runReport } from '../src/reports/report';
import { ensureRollupState, rollupFlushHook } from '../src/reports/rollups';
import { DAY_MS } from '../src/reports/time';
import { randomEvent, seededRandom } from '../test/helpers/ledger-events';
import { benchPools } from './lib/ledger-pools';

const args = parseArgs(process.argv.slice(2), ['reuse', 'no-rollups']);
const ROLLUPS = !args.flags.has('no-rollups');
const EVENTS = Number(flag(args, 'events') ?? 1_000_000);
const BATCH = Number(flag(args, 'batch') ?? 2000);
const DB_PATH = flag(args, 'db') ?? `bench/out/reports-${EVENTS}.db`;
const MONTH = Date.UTC(2026, 10, 1);
const MONTH_END = Date.UTC(2026, 11, 1);

const random = seededRandom(20261125);

const POOLS = benchPools(200);

/** The i-th of N events: in time order across the month, as a live gateway writes them. */
function event(i: number): LedgerEvent {
  return randomEvent(random, MONTH + Math.floor(((i + random()) / EVENTS) * (MONTH_END - MONTH)), POOLS);
}

/** Wall time and this process's CPU time (the machine may be shared: CPU time is the steadier figure). */
async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, value };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  if (!args.flags.has('reuse') && existsSync(DB_PATH)) for (const suffix of ['', '-wal', '-shm']) rmSync(`${DB_PATH}${suffix}`, { force: true });
  mkdirSync(dirname(DB_PATH), { recursive: true });
  const database = await openDatabase(`file:${DB_PATH}`);
  const db = database.db;
  await applyMigrations(db);
  await ensureRollupState(db, MONTH);

  const [{ present }] = (await db.all<{ present: number }>(sql`SELECT count(*) AS present FROM usage_events`)) as [{ present: number }];
  let seedSeconds = 0;
  let seedCpuSeconds = 0;
  if (present < EVENTS) {
    const cpu = process.cpuUsage();
    const committer = openLedgerCommitter(DB_PATH);
    const writer = new LedgerWriter(db, silentLogger, new Metrics(), { flushIntervalMs: 60_000, maxBatch: BATCH, defer: () => {}, commit: (statements) => committer.commit(statements) });
    if (ROLLUPS) writer.addFlushHook(rollupFlushHook(db));
    const started = performance.now();
    let last = started;
    for (let i = present; i < EVENTS; i++) {
      writer.add(event(i));
      if (writer.depth >= BATCH) {
        await writer.flush();
        // libsql-js frees finished statements only when the event loop turns (a server's always
        // does); without this a tight seeding loop holds gigabytes (tursodatabase/libsql-js#153).
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if ((i + 1) % 250_000 === 0) {
        const now = performance.now();
        console.error(`seeded ${i + 1} events (${Math.round(250_000 / ((now - last) / 1000))}/s)`);
        last = now;
      }
    }
    await writer.close();
    committer.close();
    seedSeconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    seedCpuSeconds = (used.user + used.system) / 1e6;
  }
  const seeding = {
    seed_seconds: Math.round(seedSeconds),
    seed_events_per_second: seedSeconds ? Math.round((EVENTS - present) / seedSeconds) : null,
    seed_events_per_cpu_second: seedCpuSeconds ? Math.round((EVENTS - present) / seedCpuSeconds) : null,
  };

  if (!ROLLUPS) {
    console.log(JSON.stringify({ events: EVENTS, rollups: false, ...seeding }, null, 2));
    database.close();
    return;
  }

  const count = async (table: string): Promise<number> => ((await db.all<{ n: number }>(sql.raw(`SELECT count(*) AS n FROM ${table}`)))[0] as { n: number }).n;
  const raw = async (from: number, to: number): Promise<string> =>
    ((await db.all<{ cost: string }>(sql`SELECT CAST(sum(cost_nusd) AS TEXT) AS cost FROM usage_events WHERE time >= ${from} AND time < ${to}`))[0] as { cost: string }).cost;

  const cases: { name: string; from: number; to: number; groupBy: GroupDimension[] }[] = [
    { name: 'month by team', from: MONTH, to: MONTH_END, groupBy: ['team'] },
    { name: 'month by team, model', from: MONTH, to: MONTH_END, groupBy: ['team', 'model'] },
    { name: 'month by key', from: MONTH, to: MONTH_END, groupBy: ['key'] },
    { name: 'month by tag:env', from: MONTH, to: MONTH_END, groupBy: ['tag:env'] },
    { name: 'month by team, day', from: MONTH, to: MONTH_END, groupBy: ['team', 'day'] },
    { name: 'month to date (Nov 1 to Nov 25 12:00) by team', from: MONTH, to: MONTH + 24.5 * DAY_MS, groupBy: ['team'] },
    { name: 'unaligned 29.7 days by team (raw edges)', from: MONTH + 37 * 60_000 + 13_000, to: MONTH_END - 7 * 3_600_000 - 42_000, groupBy: ['team'] },
    { name: 'one day by team, model', from: MONTH + 14 * DAY_MS, to: MONTH + 15 * DAY_MS, groupBy: ['team', 'model'] },
  ];
  const results: Record<string, unknown>[] = [];
  for (const c of cases) {
    const runs: number[] = [];
    const cpu: number[] = [];
    let report = await runReport(db, { fromMs: c.from, toMs: c.to, groupBy: c.groupBy });
    for (let i = 0; i < 5; i++) {
      const timed = await time(() => runReport(db, { fromMs: c.from, toMs: c.to, groupBy: c.groupBy }));
      runs.push(timed.ms);
      cpu.push(timed.cpuMs);
      report = timed.value;
    }
    const exact = report.totals.money.cost_nusd.toString() === (await raw(c.from, c.to));
    results.push({ case: c.name, median_ms: Math.round(median(runs) * 10) / 10, median_cpu_ms: Math.round(median(cpu) * 10) / 10, rows: report.rows.length, segments: report.segments.map((s) => s.source).join('+'), total_equals_raw_sum: exact });
  }

  // The same month-by-team report with the rollups ignored (everything raw), for comparison.
  const validFrom = ((await db.all<{ v: number }>(sql`SELECT valid_from AS v FROM report_rollup_state`))[0] as { v: number }).v;
  await db.run(sql`UPDATE report_rollup_state SET valid_from = ${Number.MAX_SAFE_INTEGER}`);
  const rawRun = await time(() => runReport(db, { fromMs: MONTH, toMs: MONTH_END, groupBy: ['team'] }));
  await db.run(sql`UPDATE report_rollup_state SET valid_from = ${validFrom}`);

  const config = parseConfig({});
  const focus = await time(async () => {
    const rendered = await renderChargeback(
      { db, catalog: new Catalog(SHIPPED_CATALOG), config: config.reports, bedrockRegion: 'us-east-1' },
      { fromMs: MONTH, toMs: MONTH_END, groupBy: [], format: 'focus' },
    );
    let bytes = 0;
    let lines = 0;
    for (const chunk of rendered.chunks) {
      bytes += chunk.length;
      lines++;
    }
    return { bytes, lines };
  });

  const summary = {
    events: await count('usage_events'),
    load_average: loadavg().map((l) => Math.round(l * 10) / 10),
    ...seeding,
    flush_batch: BATCH,
    rollup_rows: await count('report_rollups'),
    dimension_rows: await count('report_dims'),
    database_mb: Math.round((statSync(DB_PATH).size + (existsSync(`${DB_PATH}-wal`) ? statSync(`${DB_PATH}-wal`).size : 0)) / 1e6),
    reports: results,
    month_by_team_raw_only: { ms: Math.round(rawRun.ms), cpu_ms: Math.round(rawRun.cpuMs) },
    focus_month_export: { ms: Math.round(focus.ms), cpu_ms: Math.round(focus.cpuMs), rows: focus.value.lines - 1, mb: Math.round(focus.value.bytes / 1e5) / 10 },
  };
  console.log(JSON.stringify(summary, null, 2));
  database.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
