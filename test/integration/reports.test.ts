import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderExportSink } from '../../src/entry/node-export-sink';
import type { LedgerEvent } from '../../src/ledger/writer';
import { CSV_MEASURE_COLUMNS } from '../../src/reports/chargeback';
import { FOCUS_COLUMNS, FOCUS_SLUICE_COLUMNS } from '../../src/reports/focus';
import { exportMonth, type ExportSink } from '../../src/reports/monthly-export';
import { DAY_MS, HOUR_MS } from '../../src/reports/time';
import { parseCsv } from '../helpers/csv';
import { ADMIN_KEY, startHarness, type Harness } from '../helpers/harness';
import { randomEvent, seededRandom, type EventPools } from '../helpers/ledger-events';
import { startReceiver } from '../helpers/webhook-receiver';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const NOV = Date.UTC(2026, 10, 1);
const clock = { now: () => NOW };

let h: Harness;
let alpha: { id: string; key: string };
let beta: { id: string; key: string };
let injected: LedgerEvent[] = [];

interface ChargebackJson {
  from: string;
  to: string;
  group_by: string[];
  currency: string;
  rows: { group: Record<string, string | null>; key_name?: string | null; requests: number; cost_nusd: number; baseline_cost_nusd: number; savings_nusd: Record<string, number> }[];
  totals: { requests: number; cost_nusd: number; baseline_cost_nusd: number; errors: number; savings_nusd: Record<string, number>; latency_ms: Record<string, number | null> };
}

async function rawSums(fromMs: number, toMs: number, keyId?: string): Promise<{ requests: number; cost: string; baseline: string }> {
  const key = keyId === undefined ? sql`` : sql` AND key_id = ${keyId}`;
  const [row] = await h.gateway.sluice.services.deps.db.all<{ requests: number; cost: string | null; baseline: string | null }>(
    sql`SELECT count(*) AS requests, CAST(sum(cost_nusd) AS TEXT) AS cost, CAST(sum(baseline_cost_nusd) AS TEXT) AS baseline FROM usage_events WHERE time >= ${fromMs} AND time < ${toMs}${key}`,
  );
  return { requests: row!.requests, cost: row!.cost ?? '0', baseline: row!.baseline ?? '0' };
}

async function chargeback(query: string): Promise<ChargebackJson> {
  const response = await h.admin(`/admin/reports/chargeback?${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ChargebackJson;
}

async function errorOf(response: Response): Promise<{ status: number; message: string; param: string | null }> {
  const body = (await response.json()) as { error: { message: string; param: string | null } };
  return { status: response.status, message: body.error.message, param: body.error.param };
}

beforeAll(async () => {
  h = await startHarness({ clock, env: { SLUICE_WEBHOOK_ALLOW_PRIVATE: '1' } });
  alpha = await h.createKey({ name: 'search-app', user: 'ana', team: 'search', project: 'ranker', tags: { env: 'prod' } });
  beta = await h.createKey({ name: 'ads, "bidder"', team: 'ads', tags: { env: 'staging' } });
  // Real requests through the gateway, with the official client.
  for (let i = 0; i < 3; i++) await h.openai(alpha.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Name a river, ${i}` }] });
  for (let i = 0; i < 2; i++) await h.openai(beta.key).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `Name a lake, ${i}` }] });

  // And a randomized month of history, written through the gateway's own ledger writer (and its rollup hook).
  const pools: EventPools = {
    keys: [
      { id: alpha.id, user: 'ana', team: 'search', project: 'ranker', tags: { env: 'prod' } },
      { id: beta.id, user: null, team: 'ads', project: null, tags: { env: 'staging' } },
      { id: 'key_gone', user: 'di', team: null, project: 'misc', tags: { env: 'prod', app: 'x,"y"' } },
    ],
    models: [
      { id: 'gpt-4o-mini', provider: 'openai', family: 'gpt-4o' },
      { id: 'claude-haiku-4-5', provider: 'anthropic', family: null },
      { id: 'nova-micro', provider: 'bedrock', family: 'nova' },
      { id: 'bedrock-claude-haiku-4-5', provider: 'bedrock', family: null },
    ],
  };
  const random = seededRandom(1125);
  injected = Array.from({ length: 3000 }, () => randomEvent(random, NOV - 3 * DAY_MS + Math.floor(random() * 27 * DAY_MS), pools));
  for (const event of injected) h.gateway.sluice.services.ledger.add(event);
  await h.gateway.sluice.services.ledger.flush();
});

afterAll(async () => {
  await h.close();
});

describe('GET /admin/reports/chargeback', () => {
  it('has totals equal to the raw ledger sums, to the nano-dollar, for random ranges and groupings', async () => {
    const random = seededRandom(7);
    const dims = ['key', 'user', 'team', 'project', 'model', 'family', 'provider', 'tier', 'day', 'tag:env'];
    const instants = [NOV, NOV + 3 * DAY_MS + 17 * 60_000 + 123, NOV + 10 * DAY_MS, NOV + 20 * DAY_MS + 5 * HOUR_MS, NOW];
    for (let round = 0; round < 12; round++) {
      const a = instants[Math.floor(random() * instants.length)]! - Math.floor(random() * 2 * DAY_MS);
      const b = a + 1 + Math.floor(random() * 15 * DAY_MS);
      const groupBy = dims.filter(() => random() < 0.3);
      const report = await chargeback(`from=${new Date(a).toISOString()}&to=${new Date(b).toISOString()}&group_by=${groupBy.join(',')}`);
      const raw = await rawSums(a, b);
      expect(report.totals.requests).toBe(raw.requests);
      expect(String(report.totals.cost_nusd)).toBe(raw.cost);
      expect(String(report.totals.baseline_cost_nusd)).toBe(raw.baseline);
      expect(report.rows.reduce((sum, r) => sum + r.cost_nusd, 0)).toBe(report.totals.cost_nusd);
      for (const row of report.rows) expect(Object.keys(row.group)).toEqual(groupBy);
    }
  });

  it('answers in the shape DESIGN.md documents, with half-open UTC dates', async () => {
    const report = await chargeback('from=2026-11-01&to=2026-11-26&group_by=team,model');
    expect(report).toMatchObject({ from: '2026-11-01T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z', group_by: ['team', 'model'], currency: 'USD' });
    const row = report.rows.find((r) => r.group.team === 'ads' && r.group.model === 'gpt-4o')!;
    expect(row.requests).toBe(2);
    expect(Object.keys(row.savings_nusd).sort()).toEqual(['caching', 'routing', 'tier', 'total']);
    expect(report.totals.latency_ms.p95).toBeGreaterThanOrEqual(report.totals.latency_ms.p50 ?? 0);
    const raw = await rawSums(NOV, NOV + 25 * DAY_MS);
    expect(report.totals.requests).toBe(raw.requests);
  });

  it('names keys when grouping by key, including keys that no longer exist', async () => {
    const report = await chargeback('from=2026-10-01&to=2026-12-01&group_by=key');
    expect(report.rows.find((r) => r.group.key === beta.id)?.key_name).toBe('ads, "bidder"');
    expect(report.rows.find((r) => r.group.key === 'key_gone')?.key_name).toBeNull();
  });

  it('keeps sums beyond 2^53 nano-USD exact', async () => {
    const start = Date.UTC(2026, 8, 1);
    const big = Array.from({ length: 1001 }, (_, i) => ({ ...randomEvent(seededRandom(i), start + i * 60_000), status: 'ok', costNusd: 9_000_000_000_123, baselineCostNusd: 9_000_000_000_123, routingSavingsNusd: 0, cachingSavingsNusd: 0, tierSavingsNusd: 0 }));
    for (const event of big) h.gateway.sluice.services.ledger.add(event);
    await h.gateway.sluice.services.ledger.flush();
    const response = await h.admin(`/admin/reports/chargeback?from=2026-09-01&to=2026-10-01`);
    const text = await response.text();
    const expected = (9_000_000_000_123n * 1001n).toString();
    expect(BigInt(expected)).toBeGreaterThan(2n ** 53n);
    expect(text).toContain(`"totals":{"requests":1001,`);
    expect(/"totals":\{[^}]*"cost_nusd":(\d+)/.exec(text)?.[1]).toBe(expected);
    expect((await rawSums(start, Date.UTC(2026, 9, 1))).cost).toBe(expected);
  });

  it('downloads RFC 4180 CSV with the documented columns and quoting', async () => {
    const response = await h.admin('/admin/reports/chargeback?from=2026-10-01&to=2026-12-01&group_by=tag:app,key&format=csv');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="sluice-chargeback_2026-10-01_2026-12-01_by-tag-app-key.csv"');
    const text = await response.text();
    expect(text.endsWith('\r\n')).toBe(true);
    const [header, ...records] = parseCsv(text);
    expect(header).toEqual(['period_start', 'period_end', 'tag:app', 'key', 'key_name', ...CSV_MEASURE_COLUMNS]);
    expect(text).toContain(',"x,""y""",key_gone,,');
    expect(text).toContain(`,"ads, ""bidder""",`);
    const col = (name: string) => header!.indexOf(name);
    const quoted = records.find((r) => r[col('tag:app')] === 'x,"y"')!;
    expect(quoted[col('key')]).toBe('key_gone');
    const json = await chargeback('from=2026-10-01&to=2026-12-01&group_by=tag:app,key');
    expect(records).toHaveLength(json.rows.length);
    const costs = records.map((r) => BigInt(r[col('cost_nusd')]!));
    expect(costs.reduce((a, b) => a + b, 0n)).toBe(BigInt(json.totals.cost_nusd));
    for (const r of records) {
      expect(r[col('cost_usd')]).toMatch(/^-?\d+\.\d{9}$/);
      expect(BigInt(r[col('cost_usd')]!.replace('.', ''))).toBe(BigInt(r[col('cost_nusd')]!));
    }
  });

  it('exports FOCUS 1.2 columns with the specification formats, and BilledCost adds up to the ledger', async () => {
    const response = await h.admin('/admin/reports/chargeback?from=2026-11-01&to=2026-11-25T12:00:00Z&format=focus');
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="sluice-focus-1.2_2026-11-01_20261125T120000Z.csv"');
    const [header, ...records] = parseCsv(await response.text());
    const columns = [...FOCUS_COLUMNS, ...FOCUS_SLUICE_COLUMNS];
    expect(header).toEqual(columns.map((c) => c.name));
    expect(records.length).toBeGreaterThan(10);
    const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
    const decimal = /^-?\d+(\.\d+)?$/;
    // Problems are collected and compared once: thousands of cell checks stay cheap.
    const problems: string[] = [];
    const check = (ok: boolean, what: string): void => {
      if (!ok && problems.length < 20) problems.push(what);
    };
    let billed = 0n;
    records.forEach((record, row) => {
      const value = (name: string) => record[header!.indexOf(name)]!;
      columns.forEach((c, i) => {
        const v = record[i]!;
        check(c.nullable || v !== '', `row ${row}: ${c.name} is empty`);
        if (v === '') return;
        if (c.type === 'Decimal') check(decimal.test(v), `row ${row}: ${c.name} "${v}" is not a decimal`);
        if (c.type === 'Date/Time') check(dateTime.test(v), `row ${row}: ${c.name} "${v}" is not a FOCUS date/time`);
        if (c.type === 'JSON') {
          const parsed = JSON.parse(v) as Record<string, unknown>;
          check(Object.values(parsed).every((item) => item === null || ['string', 'number', 'boolean'].includes(typeof item)), `row ${row}: ${c.name} is not key-value`);
        }
      });
      const fixed: [string, string][] = [
        ['ChargeCategory', 'Usage'],
        ['ChargeClass', ''],
        ['ChargeFrequency', 'Usage-Based'],
        ['BillingCurrency', 'USD'],
        ['ServiceCategory', 'AI and Machine Learning'],
        ['ServiceSubcategory', 'Generative AI'],
        ['BillingPeriodStart', '2026-11-01T00:00:00Z'],
        ['BillingPeriodEnd', '2026-12-01T00:00:00Z'],
        ['EffectiveCost', value('BilledCost')],
        ['ListCost', value('BilledCost')],
        ['SkuPriceId', `${value('SkuId')}:${value('x_ServiceTier')}`],
      ];
      for (const [name, expected] of fixed) check(value(name) === expected, `row ${row}: ${name} "${value(name)}", expected "${expected}"`);
      check(Date.parse(value('ChargePeriodStart')) < Date.parse(value('ChargePeriodEnd')), `row ${row}: empty charge period`);
      check(Date.parse(value('ChargePeriodEnd')) <= NOW, `row ${row}: charge period past the range`);
      if (value('ProviderName') === 'Amazon Web Services') {
        check(value('ServiceName') === 'Amazon Bedrock', `row ${row}: Bedrock service name`);
        check(value('PublisherName') === (value('SkuId') === 'nova-micro' ? 'Amazon' : 'Anthropic'), `row ${row}: publisher ${value('PublisherName')}`);
        check(value('RegionId') === 'us-east-1', `row ${row}: region`);
      }
      const tags = JSON.parse(value('Tags')) as Record<string, string>;
      if (value('x_Team')) check(tags['sluice/team'] === value('x_Team'), `row ${row}: sluice/team tag`);
      if (value('ResourceId') === alpha.id) check(tags.env === 'prod' && tags['sluice/project'] === 'ranker', `row ${row}: alpha's tags ${value('Tags')}`);
      if (value('ResourceId') === beta.id) check(value('ResourceName') === 'ads, "bidder"', `row ${row}: beta's name`);
      billed += BigInt(value('BilledCost').replace('.', ''));
    });
    expect(problems).toEqual([]);
    expect(billed.toString()).toBe((await rawSums(NOV, NOW)).cost);
  });

  it('refuses bad periods, groupings, formats and parameters with a 400 that names the parameter', async () => {
    const cases: [string, string, RegExp][] = [
      ['from=2026-13-01', 'from', /not an ISO 8601 timestamp/],
      ['to=yesterday', 'to', /not an ISO 8601 timestamp/],
      ['from=2026-11-10&to=2026-11-10', 'from', /must be before 'to'/],
      ['from=2026-12-01', 'from', /must be before 'to'.*now/],
      ['group_by=team,colour', 'group_by', /"colour" is not a dimension/],
      ['group_by=team,team', 'group_by', /listed twice/],
      ['group_by=team,,model', 'group_by', /empty name/],
      ['group_by=tag:bad%20name', 'group_by', /tag:<name>/],
      ['group_by=key,user,team,project,model,family,provider,tier,day', 'group_by', /at most 8/],
      ['format=xlsx', 'format', /Invalid option|expected one of/],
      ['format=focus&group_by=team', 'group_by', /fixed grain/],
      ['format=focus&from=2026-11-01T00:00:00.5Z', 'from', /whole seconds/],
      ['groupBy=team', '', /Unrecognized key/],
    ];
    for (const [query, param, message] of cases) {
      const error = await errorOf(await h.admin(`/admin/reports/chargeback?${query}`));
      expect(error.status, query).toBe(400);
      expect(error.message, query).toMatch(message);
      if (param) expect(error.param, query).toBe(param);
    }
  });

  it('is for the admin key only', async () => {
    expect((await fetch(`${h.url}/admin/reports/chargeback`)).status).toBe(401);
    expect((await fetch(`${h.url}/admin/reports/chargeback`, { headers: { authorization: `Bearer ${alpha.key}` } })).status).toBe(401);
  });
});

describe('forecast and anomalies', () => {
  it('forecasts the month from the same ledger the chargeback reads', async () => {
    const response = await h.admin('/admin/reports/forecast');
    const forecast = (await response.json()) as { month: string; spend_to_date_nusd: number; forecast_nusd: number; low_nusd: number; high_nusd: number; daily: { cost_nusd: number }[] };
    expect(forecast.month).toBe('2026-11');
    expect(String(forecast.spend_to_date_nusd)).toBe((await rawSums(NOV, NOW + 1)).cost);
    expect(forecast.daily).toHaveLength(25);
    expect(forecast.low_nusd).toBeLessThanOrEqual(forecast.forecast_nusd);
    expect(forecast.forecast_nusd).toBeLessThanOrEqual(forecast.high_nusd);
    expect(forecast.forecast_nusd).toBeGreaterThan(forecast.spend_to_date_nusd);
  });

  it('lists anomalous days per principal', async () => {
    const response = await h.admin('/admin/reports/anomalies?from=2026-10-01&to=2026-11-25&by=team');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { by: string; data: { principal: string; score: number }[] };
    expect(body.by).toBe('team');
    for (const a of body.data) expect(Math.abs(a.score)).toBeGreaterThan(3.5);
    const bad = await errorOf(await h.admin('/admin/reports/anomalies?by=model'));
    expect(bad).toMatchObject({ status: 400, param: 'by' });
  });
});

describe('GET /v1/sluice/usage (a principal’s own view)', () => {
  it('shows the calling key its own usage only, whatever it groups by', async () => {
    const response = await fetch(`${h.url}/v1/sluice/usage?from=2026-10-01&to=2026-12-01&group_by=key,team,model`, { headers: { authorization: `Bearer ${alpha.key}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as ChargebackJson & { key_id: string };
    expect(body.key_id).toBe(alpha.id);
    expect(new Set(body.rows.map((r) => r.group.key))).toEqual(new Set([alpha.id]));
    expect(new Set(body.rows.map((r) => r.group.team))).toEqual(new Set(['search']));
    const raw = await rawSums(Date.UTC(2026, 9, 1), Date.UTC(2026, 11, 1), alpha.id);
    expect(body.totals.requests).toBe(raw.requests);
    expect(String(body.totals.cost_nusd)).toBe(raw.cost);
    const all = await rawSums(Date.UTC(2026, 9, 1), Date.UTC(2026, 11, 1));
    expect(body.totals.requests).toBeLessThan(all.requests);
  });

  it('offers no way to ask for another key', async () => {
    const response = await fetch(`${h.url}/v1/sluice/usage?key_id=${beta.id}`, { headers: { authorization: `Bearer ${alpha.key}` } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/Unrecognized key/);
  });

  it('answers errors in the OpenAI shape', async () => {
    const anonymous = await fetch(`${h.url}/v1/sluice/usage`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    const bad = await fetch(`${h.url}/v1/sluice/usage?group_by=nope`, { headers: { authorization: `Bearer ${beta.key}` } });
    expect(await errorOf(bad)).toMatchObject({ status: 400, param: 'group_by' });
    const focus = await fetch(`${h.url}/v1/sluice/usage?format=focus`, { headers: { authorization: `Bearer ${beta.key}` } });
    expect(focus.status).toBe(400);
  });

  it('downloads its own CSV', async () => {
    const response = await fetch(`${h.url}/v1/sluice/usage?from=2026-11-01&to=2026-12-01&group_by=model&format=csv`, { headers: { authorization: `Bearer ${beta.key}` } });
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="sluice-chargeback_2026-11-01_2026-12-01_by-model\.csv"$/);
    const [header, ...records] = parseCsv(await response.text());
    const cost = records.reduce((sum, r) => sum + BigInt(r[header!.indexOf('cost_nusd')]!), 0n);
    expect(cost.toString()).toBe((await rawSums(NOV, Date.UTC(2026, 11, 1), beta.id)).cost);
  });
});

describe('monthly export', () => {
  it('writes the month’s files once and delivers one signed report.ready webhook', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-export-'));
    const receiver = await startReceiver();
    const written: string[] = [];
    const sink: ExportSink = {
      async write(name, chunks) {
        written.push(name);
        return folderExportSink(dir).write(name, chunks);
      },
    };
    try {
      const endpoint = await h.admin('/admin/webhooks', { method: 'POST', body: JSON.stringify({ url: `${receiver.url}/hooks`, events: ['report.ready'] }) });
      expect(endpoint.status, await endpoint.clone().text()).toBe(201);
      receiver.secret = ((await endpoint.json()) as { secret: string }).secret;

      // The receiver checks webhook-timestamp against the real time: run this on the real clock.
      clock.now = () => Date.now();
      const december = Date.UTC(2026, 11, 1, 1, 30);
      const summary = await exportMonth(h.gateway.sluice.services, december, sink);
      expect(summary).toMatch(/^2026-11: /);
      expect(written).toEqual([
        'sluice-chargeback_2026-11-01_2026-12-01_by-team-project-key-model.csv',
        'sluice-chargeback_2026-11-01_2026-12-01_by-team-project-key-model.json',
        'sluice-focus-1.2_2026-11-01_2026-12-01.csv',
      ]);
      const json = JSON.parse(readFileSync(join(dir, written[1]!), 'utf8')) as ChargebackJson;
      expect(String(json.totals.cost_nusd)).toBe((await rawSums(NOV, Date.UTC(2026, 11, 1))).cost);

      const [delivery] = await receiver.waitFor(1);
      expect(delivery!.verifyError).toBeUndefined();
      expect(delivery!.verified).toMatchObject({
        type: 'report.ready',
        data: { id: 'chargeback-2026-11', period: '2026-11', period_start: '2026-11-01T00:00:00.000Z', totals: { requests: json.totals.requests } },
      });

      expect(await exportMonth(h.gateway.sluice.services, december + HOUR_MS, sink)).toBe('2026-11 was already exported');
      const events = await h.gateway.sluice.services.deps.db.all<{ n: number }>(sql`SELECT count(*) AS n FROM webhook_events WHERE type = 'report.ready'`);
      expect(events[0]!.n).toBe(1);
      const list = (await (await h.admin('/admin/reports/exports')).json()) as { data: { period: string; status: string; files: { download_path: string }[] }[] };
      expect(list.data[0]).toMatchObject({ period: '2026-11', status: 'ready' });
      const again = await h.admin(list.data[0]!.files[0]!.download_path);
      expect(again.status).toBe(200);
      expect(await again.text()).toBe(readFileSync(join(dir, written[0]!), 'utf8'));
    } finally {
      clock.now = () => NOW;
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sluice report (CLI)', () => {
  it('writes the same CSV the API serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    try {
      const out = join(dir, 'report.csv');
      const { stderr } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', 'report', '--from', '2026-11-01', '--to', '2026-11-20', '--group-by', 'team,model', '--format', 'csv', '--out', out],
        { env: { ...process.env, SLUICE_DB_URL: h.dbUrl, SLUICE_ADMIN_KEY: ADMIN_KEY }, cwd: join(import.meta.dirname, '../..') },
      );
      expect(stderr).toMatch(/wrote .*report\.csv/);
      const api = await (await h.admin('/admin/reports/chargeback?from=2026-11-01&to=2026-11-20&group_by=team,model&format=csv')).text();
      expect(readFileSync(out, 'utf8')).toBe(api);

      const failure = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'report', '--group-by', 'colour'], {
        env: { ...process.env, SLUICE_DB_URL: h.dbUrl },
        cwd: join(import.meta.dirname, '../..'),
      }).catch((error: { code: number; stderr: string }) => error);
      expect(failure).toMatchObject({ code: 2 });
      expect((failure as { stderr: string }).stderr).toMatch(/"colour" is not a dimension/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('/dashboard access', () => {
  it('sends browsers without a session to the sign-in form and signs them in with a strict, HttpOnly cookie', async () => {
    const anonymous = await fetch(`${h.url}/dashboard?from=2026-11-01`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/dashboard/sign-in?next=%2Fdashboard%3Ffrom%3D2026-11-01');

    const wrong = await fetch(`${h.url}/dashboard/sign-in`, { method: 'POST', body: new URLSearchParams({ admin_key: 'nope', next: '/dashboard' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That is not the admin key.');

    const right = await fetch(`${h.url}/dashboard/sign-in`, { method: 'POST', body: new URLSearchParams({ admin_key: ADMIN_KEY, next: 'https://evil.example/' }), redirect: 'manual' });
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/dashboard');
    const cookie = right.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^sluice_dashboard=[^;]+; Max-Age=43200; Path=\/dashboard; HttpOnly; SameSite=Strict$/);
    const session = cookie.split(';')[0]!;

    const page = await fetch(`${h.url}/dashboard`, { headers: { cookie: session } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('Sign out');

    const forged = session.replace(/=(\d)/, (_, d: string) => `=${(Number(d) + 1) % 10}`);
    expect((await fetch(`${h.url}/dashboard`, { headers: { cookie: forged }, redirect: 'manual' })).status).toBe(303);

    const out = await fetch(`${h.url}/dashboard/sign-out`, { method: 'POST', headers: { cookie: session }, redirect: 'manual' });
    expect(out.headers.get('set-cookie')).toMatch(/^sluice_dashboard=; Max-Age=0; Path=\/dashboard/);
  });

  it('takes the admin key as a bearer header, and refuses a wrong one', async () => {
    const page = await fetch(`${h.url}/dashboard`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const wrong = await fetch(`${h.url}/dashboard`, { headers: { authorization: `Bearer ${alpha.key}` } });
    expect(wrong.status).toBe(401);
  });

  it('downloads the period in every format', async () => {
    for (const format of ['csv', 'json', 'focus']) {
      const response = await fetch(`${h.url}/dashboard/download?from=2026-11-01&to=2026-11-26&group_by=team,model&format=${format}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect(response.status, format).toBe(200);
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="sluice-/);
    }
  });
});

describe('GET /openapi.json', () => {
  it('documents the report routes and the principal view', async () => {
    const doc = (await (await fetch(`${h.url}/openapi.json`)).json()) as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
    for (const path of ['/admin/reports/chargeback', '/admin/reports/forecast', '/admin/reports/anomalies', '/admin/reports/exports', '/v1/sluice/usage']) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(doc.paths['/admin/reports/chargeback']?.get?.parameters?.map((p) => p.name)).toEqual(['from', 'to', 'group_by', 'format']);
  });
});
