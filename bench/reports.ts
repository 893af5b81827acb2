// Report latency over a large ledger. Seeds a fresh libSQL file with N events spread over
// November 2026 through the production LedgerWriter (its bound-SQL inserts and the same rollup
// flush hook the gateway registers), then times the month-by-team chargeback and friends, and
// checks each total against the raw ledger's own SQL sum.
//
//   npx tsx bench/reports.ts [--events 1000000] [--batch 2000] [--db bench/out/reports.db] [--reuse]
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { sql } from 'drizzle-orm';
import { parseArgs, flag } from '../src/cli/args';
import { SHIPPED_CATALOG, Catalog } from '../src/catalog/catalog';
import { parseConfig } from '../src/config';
import { openDatabase } from '../src/db/client';
import { applyMigrations } from '../src/db/migrate';
import { silentLogger } from '../src/deps';
import { LedgerWriter, type LedgerEvent } from '../src/ledger/writer';
import { Metrics } from '../src/ops/metrics';
import { renderChargeback } from '../src/reports/chargeback-export';
import type { GroupDimension } from '../src/reports/dimensions';
import { runReport } from '../src/reports/report';
import { ensureRollupState, rollupFlushHook } from '../src/reports/rollups';
import { DAY_MS } from '../src/reports/time';

const args = parseArgs(process.argv.slice(2), ['reuse']);
const EVENTS = Number(flag(args, 'events') ?? 1_000_000);
const BATCH = Number(flag(args, 'batch') ?? 2000);
const DB_PATH = flag(args, 'db') ?? `bench/out/reports-${EVENTS}.db`;
const MONTH = Date.UTC(2026, 10, 1);
const MONTH_END = Date.UTC(2026, 11, 1);

/** A deterministic PRNG (mulberry32), so two runs seed the same ledger. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(20261125);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

// 200 keys in 12 teams and 40 projects, each with its own tags; 8 models on 3 providers.
const TEAMS = Array.from({ length: 12 }, (_, i) => `team-${i}`);
const KEYS = Array.from({ length: 200 }, (_, i) => ({
  id: `key_bench_${String(i).padStart(3, '0')}`,
  user: i % 3 === 0 ? null : `user-${i % 60}`,
  team: TEAMS[i % TEAMS.length]!,
  project: `project-${i % 40}`,
  tags: JSON.stringify({ env: i % 5 === 0 ? 'staging' : 'prod', cost_center: `cc-${i % 9}` }),
}));
const MODELS = [
  { id: 'gpt-4o-mini', provider: 'openai', family: 'gpt-4o', input: 150, output: 600 },
  { id: 'gpt-4o', provider: 'openai', family: 'gpt-4o', input: 2500, output: 10000 },
  { id: 'gpt-4.1-mini', provider: 'openai', family: 'gpt-4.1', input: 400, output: 1600 },
  { id: 'claude-haiku-4-5', provider: 'anthropic', family: null, input: 1000, output: 5000 },
  { id: 'claude-sonnet-4-5', provider: 'anthropic', family: null, input: 3000, output: 15000 },
  { id: 'nova-micro', provider: 'bedrock', family: 'nova', input: 35, output: 140 },
  { id: 'nova-lite', provider: 'bedrock', family: 'nova', input: 60, output: 240 },
  { id: 'bedrock-claude-haiku-4-5', provider: 'bedrock', family: null, input: 1000, output: 5000 },
];
const FEATURES = ['chat', 'search', 'summarize', 'classify', 'extract'];

let sequence = 0;
function event(): LedgerEvent {
  const key = pick(KEYS);
  const model = pick(MODELS);
  const time = MONTH + Math.floor(random() * (MONTH_END - MONTH));
  const status = random() < 0.03 ? 'error' : 'ok';
  const input = status === 'ok' ? 200 + Math.floor(random() * 4000) : 0;
  const cached = status === 'ok' && random() < 0.3 ? Math.floor(input * random()) : 0;
  const output = status === 'ok' ? 20 + Math.floor(random() * 800) : 0;
  // nano-USD: per-token rates in nano-USD (USD per million tokens × 1000).
  const cost = input * model.input + Math.round(cached * model.input * 0.1) + output * model.output;
  const baseline = (input + cached) * model.input * 2 + output * model.output * 2;
  const routing = Math.round((baseline - cost) * 0.7);
  const caching = Math.round((baseline - cost) * 0.2);
  const id = `${time.toString(36)}${(sequence++).toString(36).padStart(8, '0')}`;
  return {
    id: `evt_${id}`,
    time,
    requestId: `req_${id}`,
    keyId: key.id,
    user: key.user,
    team: key.team,
    project: key.project,
    tags: random() < 0.2 ? `${key.tags.slice(0, -1)},"feature":"${pick(FEATURES)}"}` : key.tags,
    surface: 'openai',
    requestedModel: model.id,
    servedModel: model.id,
    provider: model.provider,
    family: model.family,
    tier: random() < 0.85 ? 'standard' : random() < 0.5 ? 'flex' : 'batch',
    stream: random() < 0.5,
    inputTokens: input,
    cachedInputTokens: cached,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: output,
    reasoningTokens: 0,
    costNusd: cost,
    baselineCostNusd: baseline,
    routingSavingsNusd: routing,
    cachingSavingsNusd: caching,
    tierSavingsNusd: baseline - cost - routing - caching,
    cache: random() < 0.1 ? 'hit' : 'miss',
    complexity: null,
    scorerVersion: null,
    routeReason: 'requested',
    latencyMs: Math.round(Math.exp(5 + random() * 4)),
    ttftMs: null,
    status,
    httpStatus: status === 'ok' ? 200 : 502,
    errorType: status === 'ok' ? null : 'upstream_error',
    usageEstimated: false,
  };
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
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
  if (present < EVENTS) {
    const writer = new LedgerWriter(db, silentLogger, new Metrics(), { flushIntervalMs: 60_000, maxBatch: BATCH, defer: () => {} });
    writer.addFlushHook(rollupFlushHook(db));
    const started = performance.now();
    let last = started;
    for (let i = present; i < EVENTS; i++) {
      writer.add(event());
      if (writer.depth >= BATCH) await writer.flush();
      if ((i + 1) % 250_000 === 0) {
        const now = performance.now();
        console.error(`seeded ${i + 1} events (${Math.round(250_000 / ((now - last) / 1000))}/s)`);
        last = now;
      }
    }
    await writer.close();
    seedSeconds = (performance.now() - started) / 1000;
  }

  const count = async (table: string): Promise<number> => ((await db.all<{ n: number }>(sql.raw(`SELECT count(*) AS n FROM ${table}`)))[0] as { n: number }).n;
  const raw = async (from: number, to: number): Promise<string> =>
    ((await db.all<{ cost: string }>(sql`SELECT CAST(sum(cost_nusd) AS TEXT) AS cost FROM usage_events WHERE time >= ${from} AND time < ${to}`))[0] as { cost: string }).cost;

  const cases: { name: string; from: number; to: number; groupBy: GroupDimension[] }[] = [
    { name: 'month by team', from: MONTH, to: MONTH_END, groupBy: ['team'] },
    { name: 'month by team, model', from: MONTH, to: MONTH_END, groupBy: ['team', 'model'] },
    { name: 'month by key', from: MONTH, to: MONTH_END, groupBy: ['key'] },
    { name: 'month by tag:env, day', from: MONTH, to: MONTH_END, groupBy: ['tag:env', 'day'] },
    { name: 'unaligned 29.7 days by team (raw edges)', from: MONTH + 37 * 60_000 + 13_000, to: MONTH_END - 7 * 3_600_000 - 42_000, groupBy: ['team'] },
    { name: 'one day by team, model', from: MONTH + 14 * DAY_MS, to: MONTH + 15 * DAY_MS, groupBy: ['team', 'model'] },
  ];
  const results: Record<string, unknown>[] = [];
  for (const c of cases) {
    const runs: number[] = [];
    let report = await runReport(db, { fromMs: c.from, toMs: c.to, groupBy: c.groupBy });
    for (let i = 0; i < 5; i++) {
      const timed = await time(() => runReport(db, { fromMs: c.from, toMs: c.to, groupBy: c.groupBy }));
      runs.push(timed.ms);
      report = timed.value;
    }
    const exact = report.totals.money.cost_nusd.toString() === (await raw(c.from, c.to));
    results.push({ case: c.name, median_ms: Math.round(median(runs) * 10) / 10, rows: report.rows.length, segments: report.segments.map((s) => s.source).join('+'), total_equals_raw_sum: exact });
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
    seed_seconds: Math.round(seedSeconds),
    seed_events_per_second: seedSeconds ? Math.round((EVENTS - present) / seedSeconds) : null,
    flush_batch: BATCH,
    rollup_rows: await count('report_rollups'),
    dimension_rows: await count('report_dims'),
    database_mb: Math.round((statSync(DB_PATH).size + (existsSync(`${DB_PATH}-wal`) ? statSync(`${DB_PATH}-wal`).size : 0)) / 1e6),
    reports: results,
    month_by_team_raw_only_ms: Math.round(rawRun.ms),
    focus_month_export: { ms: Math.round(focus.ms), rows: focus.value.lines - 1, mb: Math.round(focus.value.bytes / 1e5) / 10 },
  };
  console.log(JSON.stringify(summary, null, 2));
  database.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
