import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/reports/time';
import { ADMIN_KEY, startHarness, type Harness } from '../helpers/harness';
import { randomEvent, seededRandom, type EventPools } from '../helpers/ledger-events';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const NOV = Date.UTC(2026, 10, 1);

let h: Harness;
let browser: BrowserContext;
let page: Page;
let profile: string;

interface Totals {
  requests: number;
  cost_nusd: number;
  baseline_cost_nusd: number;
  savings_nusd: { routing: number; caching: number; tier: number; total: number };
}
interface Chargeback {
  rows: ({ group: Record<string, string | null> } & Totals)[];
  totals: Totals;
}

async function api(query: string): Promise<Chargeback> {
  const response = await h.admin(`/admin/reports/chargeback?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Chargeback;
}

/** The exact nano-USD behind a displayed amount (`<data value>`). */
async function amount(selector: string): Promise<number> {
  return Number(await page.locator(selector).first().getAttribute('value'));
}

beforeAll(async () => {
  h = await startHarness({ clock: { now: () => NOW } });
  const search = await h.createKey({ name: 'search-app', team: 'search', project: 'ranker' });
  const ads = await h.createKey({ name: 'ads-bidder', team: 'ads' });
  await h.openai(search.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Name a river.' }] });
  const pools: EventPools = {
    keys: [
      { id: search.id, user: 'ana', team: 'search', project: 'ranker', tags: {} },
      { id: ads.id, user: null, team: 'ads', project: null, tags: { env: 'prod' } },
    ],
    models: [
      { id: 'gpt-4o-mini', provider: 'openai', family: 'gpt-4o' },
      { id: 'claude-haiku-4-5', provider: 'anthropic', family: null },
      { id: 'nova-micro', provider: 'bedrock', family: 'nova' },
    ],
  };
  const random = seededRandom(2026);
  for (let i = 0; i < 1500; i++) h.gateway.sluice.services.ledger.add(randomEvent(random, NOV - 20 * DAY_MS + Math.floor(random() * 45 * DAY_MS), pools));
  await h.gateway.sluice.services.ledger.flush();

  const budget = await h.admin('/admin/budgets', {
    method: 'POST',
    body: JSON.stringify({ name: 'search monthly', scope: { type: 'team', value: 'search' }, period: 'month', amount_usd: 5, action: 'alert' }),
  });
  expect(budget.status, await budget.clone().text()).toBe(201);

  profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('/dashboard in Chromium', () => {
  it('signs in with the admin key through its own form', async () => {
    await page.goto(`${h.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in');
    await page.getByLabel('Admin key').fill('not-the-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not the admin key');
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${h.url}/dashboard`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('Sluice');
    const cookies = await browser.cookies();
    expect(cookies.find((c) => c.name === 'sluice_dashboard')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/dashboard' });
  });

  it('shows the same numbers as the API for the default period (this month)', async () => {
    const report = await api('from=2026-11-01&to=2026-11-26&group_by=model');
    expect(report.totals.requests).toBeGreaterThan(100);
    expect(await amount('#total-cost data')).toBe(report.totals.cost_nusd);
    expect(await amount('#total-baseline data')).toBe(report.totals.baseline_cost_nusd);
    expect(await amount('#total-savings data')).toBe(report.totals.savings_nusd.total);
    expect(await amount('#total-requests data')).toBe(report.totals.requests);
    for (const row of report.rows) {
      const cell = page.locator('#models-table tbody tr', { has: page.locator(`th:text-is("${row.group.model}")`) }).locator('data');
      expect(Number(await cell.getAttribute('value'))).toBe(row.cost_nusd);
    }
    const levers = page.locator('#savings-table tbody tr data');
    expect(await levers.evaluateAll((els) => els.map((e) => Number(e.getAttribute('value'))))).toEqual([
      report.totals.savings_nusd.routing,
      report.totals.savings_nusd.caching,
      report.totals.savings_nusd.tier,
      report.totals.savings_nusd.total,
    ]);
    const budgets = (await (await h.admin('/admin/budgets')).json()) as { data: { name: string; current: { spend_nusd: number; state: string } }[] };
    const budget = budgets.data.find((b) => b.name === 'search monthly')!;
    const budgetRow = page.locator('#budgets-table tbody tr', { has: page.locator('th:text-is("search monthly")') });
    expect(Number(await budgetRow.locator('data').first().getAttribute('value'))).toBe(budget.current.spend_nusd);
    expect(await budgetRow.locator('td').last().textContent()).toContain(budget.current.state);
    const byKey = await api('from=2026-11-01&to=2026-11-26&group_by=key,team');
    for (const row of byKey.rows) {
      const cell = page.locator(`#principals-table tr[data-key="${row.group.key}"] td data`).first();
      expect(Number(await cell.getAttribute('value'))).toBe(row.cost_nusd);
    }
  });

  it('filters by period with the form and the presets', async () => {
    await page.getByLabel('First day (UTC)').fill('2026-10-20');
    await page.getByLabel('Last day (UTC, included)').fill('2026-11-03');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/from=2026-10-20&until=2026-11-03/);
    const report = await api('from=2026-10-20&to=2026-11-04');
    expect(await amount('#total-cost data')).toBe(report.totals.cost_nusd);
    expect(await page.getByRole('heading', { name: /Summary, 2026-10-20 to 2026-11-03/ }).count()).toBe(1);
    expect(await page.locator('#teams-chart-title').textContent()).toBe('Daily spend by team');

    await page.getByRole('link', { name: 'Last month' }).click();
    await page.waitForURL(/from=2026-10-01&until=2026-10-31/);
    const october = await api('from=2026-10-01&to=2026-11-01');
    expect(await amount('#total-cost data')).toBe(october.totals.cost_nusd);

    await page.getByLabel('First day (UTC)').fill('2026-11-10');
    await page.getByLabel('Last day (UTC, included)').fill('2026-11-01');
    await page.getByRole('button', { name: 'Show' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('The last day comes before the first day');
  });

  it('downloads the period as CSV and FOCUS', async () => {
    await page.goto(`${h.url}/dashboard?from=2026-11-01&until=2026-11-25`);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'CSV', exact: true }).click()]);
    expect(csv.suggestedFilename()).toBe('sluice-chargeback_2026-11-01_2026-11-26_by-team-model.csv');
    const text = readFileSync((await csv.path())!, 'utf8');
    expect(text.startsWith('period_start,period_end,team,model,requests,')).toBe(true);
    const [focus] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'FOCUS 1.2 CSV' }).click()]);
    expect(readFileSync((await focus.path())!, 'utf8').startsWith('AvailabilityZone,BilledCost,')).toBe(true);
  });

  it('is navigable by keyboard and describes its charts and tables', async () => {
    await page.goto(`${h.url}/dashboard`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent?.trim()')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).hash).toBe('#main');
    const charts = page.locator('svg[role="img"]');
    expect(await charts.count()).toBeGreaterThanOrEqual(3);
    for (const chart of await charts.all()) {
      const [title, description] = (await chart.getAttribute('aria-labelledby'))!.split(' ');
      expect(await page.locator(`[id="${title}"]`).textContent()).not.toBe('');
      expect(await page.locator(`[id="${description}"]`).textContent()).not.toBe('');
    }
    expect(await page.locator('table').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('table:not(:has(caption))').count()).toBe(0);
    expect(await page.locator('input:not([type=hidden]):not(label input), select:not(label select)').count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Budget status' }).count()).toBe(1);
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/dashboard\/sign-in$/);
    await page.goto(`${h.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in');
  });
});
