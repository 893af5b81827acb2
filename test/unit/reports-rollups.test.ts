import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client';
import { silentLogger } from '../../src/deps';
import { LedgerWriter, type LedgerEvent } from '../../src/ledger/writer';
import { Metrics } from '../../src/ops/metrics';
import type { GroupDimension } from '../../src/reports/dimensions';
import { LATENCY_BUCKETS, latencyBucket } from '../../src/reports/latency';
import { planSegments, runReport, type Report, type Segment } from '../../src/reports/report';
import { ROLLUP_SPANS, TAG_ROLLUP_SPANS } from '../../src/reports/spans';
import { backfillRollups, ensureRollupState, reconcileRollups, rollupFlushHook, rollupsValidFrom } from '../../src/reports/rollups';
import { DAY_MS, HOUR_MS } from '../../src/reports/time';
import { createTestDatabase, flaky } from '../helpers/db';
import { randomEvent, seededRandom } from '../helpers/ledger-events';

const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);

function groupValue(event: LedgerEvent, dimension: GroupDimension): string | null {
  switch (dimension) {
    case 'key':
      return event.keyId;
    case 'model':
      return event.servedModel;
    case 'day':
      return new Date(event.time - (event.time % DAY_MS)).toISOString().slice(0, 10);
    case 'user':
    case 'team':
    case 'project':
    case 'family':
    case 'provider':
    case 'tier':
      return event[dimension];
    default:
      return (JSON.parse(event.tags) as Record<string, string>)[dimension.slice(4)] ?? null;
  }
}

interface Expected {
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cost: bigint;
  baseline: bigint;
  routing: bigint;
  latency: number[];
}

/** The same report computed straight from the events, in JavaScript. */
function expectedGroups(events: LedgerEvent[], fromMs: number, toMs: number, groupBy: GroupDimension[], keyId?: string): Map<string, Expected> {
  const groups = new Map<string, Expected>();
  for (const e of events) {
    if (e.time < fromMs || e.time >= toMs || (keyId !== undefined && e.keyId !== keyId)) continue;
    const id = JSON.stringify(groupBy.map((d) => groupValue(e, d)));
    let g = groups.get(id);
    if (!g) {
      g = { requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, cost: 0n, baseline: 0n, routing: 0n, latency: [] };
      groups.set(id, g);
    }
    g.requests++;
    if (e.status === 'error') g.errors++;
    g.inputTokens += e.inputTokens;
    g.outputTokens += e.outputTokens;
    g.cost += BigInt(e.costNusd);
    g.baseline += BigInt(e.baselineCostNusd);
    g.routing += BigInt(e.routingSavingsNusd);
    g.latency[latencyBucket(e.latencyMs)] = (g.latency[latencyBucket(e.latencyMs)] ?? 0) + 1;
  }
  return groups;
}

function expectMatches(report: Report, events: LedgerEvent[], keyId?: string): void {
  const { fromMs, toMs, groupBy } = report.query;
  const expected = expectedGroups(events, fromMs, toMs, [...groupBy], keyId);
  expect(report.rows.map((r) => JSON.stringify(r.group)).sort()).toEqual([...expected.keys()].sort());
  let totalCost = 0n;
  for (const row of report.rows) {
    const e = expected.get(JSON.stringify(row.group))!;
    expect(row.measures.counts.requests).toBe(e.requests);
    expect(row.measures.counts.errors).toBe(e.errors);
    expect(row.measures.counts.input_tokens).toBe(e.inputTokens);
    expect(row.measures.counts.output_tokens).toBe(e.outputTokens);
    expect(row.measures.money.cost_nusd).toBe(e.cost);
    expect(row.measures.money.baseline_cost_nusd).toBe(e.baseline);
    expect(row.measures.money.routing_savings_nusd).toBe(e.routing);
    // Rows grouped by a tag carry no percentiles (tag rollups keep no histogram).
    const tagged = groupBy.some((d) => d.startsWith('tag:'));
    for (let bucket = 0; bucket < LATENCY_BUCKETS; bucket++) expect(row.measures.latency[bucket] ?? 0).toBe(tagged ? 0 : (e.latency[bucket] ?? 0));
    totalCost += e.cost;
  }
  expect(report.totals.money.cost_nusd).toBe(totalCost);
}

/** The raw ledger's own SQL sums over [from, to), the reference every report total must equal. */
async function rawSums(db: Db, fromMs: number, toMs: number): Promise<{ requests: number; cost: bigint; baseline: bigint }> {
  const [row] = await db.all<{ requests: number; cost: string | null; baseline: string | null }>(
    sql`SELECT count(*) AS requests, CAST(sum(cost_nusd) AS TEXT) AS cost, CAST(sum(baseline_cost_nusd) AS TEXT) AS baseline FROM usage_events WHERE time >= ${fromMs} AND time < ${toMs}`,
  );
  return { requests: row!.requests, cost: BigInt(row!.cost ?? 0), baseline: BigInt(row!.baseline ?? 0) };
}

describe('planSegments', () => {
  const seg = (source: Segment['source'], start: number, end: number, sign: 1 | -1 = 1): Segment => ({ source, start, end, sign });

  it('reads whole months, days and hours from rollups, and the edges raw', () => {
    const from = Date.UTC(2026, 9, 30, 22, 40);
    const to = Date.UTC(2026, 11, 3, 2, 0, 5);
    expect(planSegments(from, to, 0, ROLLUP_SPANS)).toEqual([
      seg('raw', from, Date.UTC(2026, 9, 30, 23)),
      seg('hour', Date.UTC(2026, 9, 30, 23), Date.UTC(2026, 9, 31)),
      seg('day', Date.UTC(2026, 9, 31), T0),
      seg('month', T0, Date.UTC(2026, 11, 1)),
      seg('day', Date.UTC(2026, 11, 1), Date.UTC(2026, 11, 3)),
      seg('hour', Date.UTC(2026, 11, 3), Date.UTC(2026, 11, 3, 2)),
      seg('raw', Date.UTC(2026, 11, 3, 2), to),
    ]);
  });

  it('reads a mostly covered period whole, minus what lies outside the range', () => {
    // Month to date: November's row, minus the rest of the 25th (hours) and of the month (days).
    const now = Date.UTC(2026, 10, 25, 12, 30);
    expect(planSegments(T0, now, 0, ROLLUP_SPANS)).toEqual([
      seg('month', T0, Date.UTC(2026, 11, 1)),
      seg('raw', now, Date.UTC(2026, 10, 25, 13), -1),
      seg('hour', Date.UTC(2026, 10, 25, 13), Date.UTC(2026, 10, 26), -1),
      seg('day', Date.UTC(2026, 10, 26), Date.UTC(2026, 11, 1), -1),
    ]);
    // Most of an hour: the hour's row minus its first minutes (read raw).
    expect(planSegments(T0 + 10 * 60_000, T0 + HOUR_MS, 0, ROLLUP_SPANS)).toEqual([seg('hour', T0, T0 + HOUR_MS), seg('raw', T0, T0 + 10 * 60_000, -1)]);
  });

  it('reads tag reports from days and months, with raw partial days', () => {
    const from = T0 + 22 * HOUR_MS;
    const to = T0 + 3 * DAY_MS + 2 * HOUR_MS;
    expect(planSegments(from, to, 0, TAG_ROLLUP_SPANS)).toEqual([seg('raw', from, T0 + DAY_MS), seg('day', T0 + DAY_MS, T0 + 3 * DAY_MS), seg('raw', T0 + 3 * DAY_MS, to)]);
  });

  it('reads raw everything before the rollups became complete, and everything when they never did', () => {
    expect(planSegments(T0, T0 + 2 * DAY_MS, T0 + DAY_MS + 90 * 60_000, ROLLUP_SPANS)).toEqual([
      seg('raw', T0, T0 + DAY_MS + 2 * HOUR_MS),
      seg('hour', T0 + DAY_MS + 2 * HOUR_MS, T0 + 2 * DAY_MS),
    ]);
    expect(planSegments(T0, T0 + 40 * DAY_MS, T0 + 3 * DAY_MS, ROLLUP_SPANS).filter((s) => s.source === 'month')).toEqual([]);
    expect(planSegments(T0, T0 + 2 * DAY_MS, Number.POSITIVE_INFINITY, ROLLUP_SPANS)).toEqual([seg('raw', T0, T0 + 2 * DAY_MS)]);
    expect(planSegments(T0 + 10, T0 + 20, 0, ROLLUP_SPANS)).toEqual([seg('raw', T0 + 10, T0 + 20)]);
  });
});

describe('rollups and reports over a randomized ledger', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const deferred: Promise<unknown>[] = [];

  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.allSettled(deferred);
    database.cleanup();
  });

  function writer(db: Db, withRollups = true): LedgerWriter {
    const w = new LedgerWriter(db, silentLogger, new Metrics(), { flushIntervalMs: 5, maxBatch: 250, defer: (p) => deferred.push(p) });
    if (withRollups) w.addFlushHook(rollupFlushHook(db));
    return w;
  }

  function randomEvents(seed: number, count: number, spanMs: number): LedgerEvent[] {
    const random = seededRandom(seed);
    return Array.from({ length: count }, () => randomEvent(random, T0 + Math.floor(random() * spanMs)));
  }

  it('totals equal the raw ledger sums exactly for random ranges and groupings', async () => {
    const seed = 20261125;
    const random = seededRandom(seed);
    await ensureRollupState(database.db, T0);
    const events = randomEvents(seed, 4000, 6 * DAY_MS);
    const w = writer(database.db);
    for (const e of events) w.add(e);
    await w.close();

    const dimensions: GroupDimension[] = ['key', 'user', 'team', 'project', 'model', 'family', 'provider', 'tier', 'day', 'tag:env', 'tag:feature'];
    for (let round = 0; round < 25; round++) {
      const a = T0 - DAY_MS + Math.floor(random() * 8 * DAY_MS);
      const b = T0 - DAY_MS + Math.floor(random() * 8 * DAY_MS);
      const [fromMs, toMs] = round % 5 === 0 ? [T0 + DAY_MS, T0 + 4 * DAY_MS] : [Math.min(a, b), Math.max(a, b) + 1];
      const groupBy = dimensions.filter(() => random() < 0.25);
      const report = await runReport(database.db, { fromMs, toMs, groupBy });
      const raw = await rawSums(database.db, fromMs, toMs);
      expect(report.totals.counts.requests, `seed ${seed} round ${round}`).toBe(raw.requests);
      expect(report.totals.money.cost_nusd, `seed ${seed} round ${round}`).toBe(raw.cost);
      expect(report.totals.money.baseline_cost_nusd).toBe(raw.baseline);
      expectMatches(report, events);
    }
  });

  it('uses monthly, daily and hourly rollups for whole periods, and tag rollups for one tag', async () => {
    await ensureRollupState(database.db, T0 - 5 * DAY_MS);
    const events = randomEvents(7, 1500, 40 * DAY_MS).map((e) => ({ ...e, time: e.time - 5 * DAY_MS }));
    const w = writer(database.db);
    for (const e of events) w.add(e);
    await w.close();
    const byTeam = await runReport(database.db, { fromMs: T0 - 2 * DAY_MS, toMs: T0 + 31 * DAY_MS + HOUR_MS, groupBy: ['team'] });
    expect(byTeam.segments.map((s) => s.source)).toEqual(['day', 'month', 'day', 'hour']);
    expectMatches(byTeam, events);
    const light = await runReport(database.db, { ...byTeam.query, latency: false });
    expect(light.rows.map((r) => [r.group, r.measures.counts, r.measures.money])).toEqual(byTeam.rows.map((r) => [r.group, r.measures.counts, r.measures.money]));
    expect(light.totals.latency).toEqual([]);
    const byTag = await runReport(database.db, { fromMs: T0 - 2 * DAY_MS + 7, toMs: T0 + 31 * DAY_MS + HOUR_MS, groupBy: ['tag:feature', 'model'] });
    expect(byTag.segments.map((s) => `${s.sign < 0 ? '-' : ''}${s.source}`)).toEqual(['day', '-raw', 'day', 'month', 'day', 'raw']);
    expect(byTag.rows.some((r) => r.group[0] === null)).toBe(true);
    expectMatches(byTag, events);
    const byDay = await runReport(database.db, { fromMs: T0, toMs: T0 + 30 * DAY_MS, groupBy: ['tag:env', 'day'] });
    expect(byDay.segments.map((s) => s.source)).toEqual(['day']);
    expectMatches(byDay, events);
    const monthToDate = await runReport(database.db, { fromMs: T0, toMs: T0 + 20 * DAY_MS + 5 * HOUR_MS + 17, groupBy: ['model', 'tag:feature'] });
    expect(monthToDate.segments.filter((s) => s.sign < 0).length).toBeGreaterThan(0);
    expectMatches(monthToDate, events);
    const twoTags = await runReport(database.db, { fromMs: T0, toMs: T0 + 3 * DAY_MS, groupBy: ['tag:feature', 'tag:env'] });
    expect(twoTags.segments.map((s) => s.source)).toEqual(['raw']);
    expectMatches(twoTags, events);
  });

  it('filters to one key for a principal view', async () => {
    await ensureRollupState(database.db, T0);
    const events = randomEvents(11, 1500, 3 * DAY_MS);
    const w = writer(database.db);
    for (const e of events) w.add(e);
    await w.close();
    const report = await runReport(database.db, { fromMs: T0 + 5 * 60_000, toMs: T0 + 2 * DAY_MS + 7, groupBy: ['key', 'model'], keyId: 'key_beta' });
    expect(new Set(report.rows.map((r) => r.group[0]))).toEqual(new Set(['key_beta']));
    expectMatches(report, events, 'key_beta');
  });

  it('rolls a batch over many dimension sets up in parts of at most 16 sets, each its own statements, and counts every event once', async () => {
    await ensureRollupState(database.db, T0);
    // 40 keys: 40 dimension sets, so three parts (16, 16, 8) of three statements each.
    const sameButKey = { user: 'ana', team: 'search', project: null, servedModel: 'gpt-4o', provider: 'openai', family: 'gpt-4o', tier: 'standard' };
    const events = randomEvents(11, 200, HOUR_MS).map((e, i) => ({ ...e, ...sameButKey, keyId: `key_${i % 40}` }));
    expect(rollupFlushHook(database.db)(events)).toHaveLength(9);
    const w = writer(database.db);
    for (const e of events) w.add(e);
    await w.close();
    const report = await runReport(database.db, { fromMs: T0, toMs: T0 + HOUR_MS, groupBy: ['key'] });
    expect(report.totals.counts.requests).toBe(200);
    expectMatches(report, events);
  });

  it('does not count events twice when a flush committed but reported failure', async () => {
    await ensureRollupState(database.db, T0);
    const events = randomEvents(3, 900, 2 * DAY_MS);
    const w = writer(flaky(database.db, { count: 3, afterCommit: true }));
    for (const e of events) w.add(e);
    await w.close();
    const report = await runReport(database.db, { fromMs: T0, toMs: T0 + 2 * DAY_MS, groupBy: ['key'] });
    expect(report.segments.map((s) => s.source)).toEqual(['day']);
    expect(report.totals.counts.requests).toBe(900);
    expectMatches(report, events);
  });

  it('reads raw until the rollup job has backfilled events written before rollups existed', async () => {
    const old = randomEvents(5, 1200, 4 * DAY_MS);
    const legacy = writer(database.db, false);
    for (const e of old) legacy.add(e);
    await legacy.close();

    const now = T0 + 4 * DAY_MS + 30 * 60_000;
    await ensureRollupState(database.db, now);
    expect(await rollupsValidFrom(database.db)).toBe(T0 + 4 * DAY_MS + HOUR_MS);
    const before = await runReport(database.db, { fromMs: T0, toMs: T0 + 4 * DAY_MS, groupBy: ['team', 'day'] });
    expect(before.segments.map((s) => s.source)).toEqual(['raw']);
    expectMatches(before, old);

    expect(await backfillRollups(database.db, now, 2)).toBe(2);
    expect(await rollupsValidFrom(database.db)).toBe(T0 + 2 * DAY_MS);
    expect(await backfillRollups(database.db, now, 10)).toBe(2);
    expect(await rollupsValidFrom(database.db)).toBe(0);
    const after = await runReport(database.db, { fromMs: T0, toMs: T0 + 4 * DAY_MS, groupBy: ['team', 'day'] });
    expect(after.segments.map((s) => s.source)).toEqual(['day']);
    expectMatches(after, old);
    const month = await runReport(database.db, { fromMs: T0, toMs: T0 + 30 * DAY_MS, groupBy: ['tag:env'] });
    expect(month.segments.map((s) => s.source)).toEqual(['month']);
    expectMatches(month, old);
  });

  it('repairs days whose rollups disagree with the ledger', async () => {
    await ensureRollupState(database.db, T0);
    const rolled = randomEvents(9, 600, 2 * DAY_MS);
    const w = writer(database.db);
    for (const e of rolled) w.add(e);
    await w.close();
    // An instance running an older version writes events without rolling them up.
    const missed = randomEvents(10, 50, DAY_MS).map((e) => ({ ...e, time: e.time + DAY_MS }));
    const legacy = writer(database.db, false);
    for (const e of missed) legacy.add(e);
    await legacy.close();

    const range = { fromMs: T0, toMs: T0 + 2 * DAY_MS, groupBy: ['model'] as GroupDimension[] };
    expect((await runReport(database.db, range)).totals.counts.requests).toBe(600);
    expect(await reconcileRollups(database.db, T0 + 2 * DAY_MS - 1, 2)).toBe(1);
    const repaired = await runReport(database.db, range);
    expectMatches(repaired, [...rolled, ...missed]);
    expect(await reconcileRollups(database.db, T0 + 2 * DAY_MS - 1, 2)).toBe(0);
  });
});
