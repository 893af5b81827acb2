import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shareOf } from '../../src/budgets/budgets';
import { forecastSpend } from '../../src/budgets/forecast';
import { downgradeLadder, reservedPromptTokens, worstCaseNusd } from '../../src/budgets/ladder';
import { periodBounds } from '../../src/budgets/periods';
import { SHIPPED_CATALOG, Catalog } from '../../src/catalog/catalog';
import type { ChatRequest } from '../../src/gateway/chat';
import { JOBS } from '../../src/jobs';
import type { Principal } from '../../src/keys/keys';
import { resolveRoute } from '../../src/routing/resolve';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const at = (text: string): number => Date.parse(text);

describe('periodBounds (UTC calendar periods)', () => {
  it('days, ISO weeks from Monday, months, and total', () => {
    const t = at('2026-11-25T13:45:00Z'); // a Wednesday
    expect([periodBounds('day', t)].map((b) => [iso(b.start), iso(b.end)])).toEqual([['2026-11-25T00:00:00.000Z', '2026-11-26T00:00:00.000Z']]);
    const week = periodBounds('week', t);
    expect([iso(week.start), iso(week.end)]).toEqual(['2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z']);
    const sunday = periodBounds('week', at('2026-11-29T23:59:59Z'));
    expect(iso(sunday.start)).toBe('2026-11-23T00:00:00.000Z');
    const month = periodBounds('month', at('2026-12-31T23:59:59.999Z'));
    expect([iso(month.start), iso(month.end)]).toEqual(['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
    expect(periodBounds('total', t)).toEqual({ start: 0, end: null });
  });

  it('the end of a period is the start of the next (half-open)', () => {
    const day = periodBounds('day', at('2026-11-25T00:00:00Z'));
    expect(periodBounds('day', day.end!).start).toBe(day.end);
    expect(periodBounds('day', day.end! - 1).start).toBe(day.start);
  });
});

describe('shareOf (the spend that reaches a threshold)', () => {
  it('is the least whole spend at or past the fraction, exact past 2^53', () => {
    // A period with no spend reaches no threshold, however small the budget.
    expect(shareOf(1, 5_000)).toBe(1);
    expect(shareOf(1, 1)).toBe(1);
    expect(shareOf(3, 5_000)).toBe(2);
    expect(shareOf(10, 8_000)).toBe(8);
    expect(shareOf(1_000_000_000, 10_000)).toBe(1_000_000_000);
    // $1,000,000 at 33.33%: amount × bp is past 2^53.
    expect(shareOf(1e15, 3_333)).toBe(333_300_000_000_000);
    expect(shareOf(1e15 + 1, 3_333)).toBe(333_300_000_000_001);
  });
});

describe('forecastSpend', () => {
  const bounds = periodBounds('day', at('2026-11-25T00:00:00Z'));
  const hour = 3_600_000;

  it('projects a steady rate to the end of the period', () => {
    // $1 an hour for the first 6 hours: $24 by midnight.
    const series = new Array<number>(6).fill(1e9);
    expect(forecastSpend(bounds, bounds.start + 6 * hour, series, hour)).toBe(24e9);
  });

  it('has no forecast with too little history, after the end, or for total budgets', () => {
    expect(forecastSpend(bounds, bounds.start + hour, [5e9], hour)).toBeNull();
    expect(forecastSpend(bounds, bounds.end!, new Array<number>(24).fill(1), hour)).toBeNull();
    expect(forecastSpend({ start: 0, end: null }, bounds.start, [1, 2, 3], hour)).toBeNull();
  });

  it('never forecasts below what is already spent', () => {
    const series = [10e9, 0, 0, 0, 0, 0];
    expect(forecastSpend(bounds, bounds.start + 6 * hour, series, hour)).toBeGreaterThanOrEqual(10e9);
  });
});

describe('worst case and the downgrade ladder', () => {
  const catalog = new Catalog(SHIPPED_CATALOG);
  const principal: Principal = { keyId: 'key_1', name: 'k', user: null, team: null, project: null, tags: {}, allowedModels: [], allowedFamilies: [], policy: {} };
  const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'gpt-6.2-sol', messages: [{ role: 'user', content: 'x'.repeat(300) }], ...extra });
  const route = (r: ChatRequest) => resolveRoute({ catalog, principal, request: r, hints: { tier: undefined, deadlineS: undefined, cache: undefined, route: undefined, quality: undefined, session: undefined, tags: {} } });

  it('reserves a generous prompt plus the full output limit at the model rate', () => {
    const r = request({ max_tokens: 1000 });
    expect(reservedPromptTokens(r)).toBe(100 + 8);
    const sol = catalog.find('gpt-6.2-sol')!;
    // 108 prompt tokens at the cache-write rate ($2.50/M, dearer than $2 input) + 1000 × $10/M.
    expect(worstCaseNusd(sol, 'standard', r, 108)).toBe(270_000 + 10_000_000);
    // Without max_tokens the model's own output limit applies, times n.
    expect(worstCaseNusd(sol, 'standard', request({ n: 2 }), 108)).toBe(270_000 + 2 * 128_000 * 10_000);
  });

  it('prices the prompt as a 1-hour cache write where that is dearer than input', () => {
    const opus = catalog.find('claude-opus-5-5')!;
    const r: ChatRequest = { model: 'claude-opus-5-5', max_tokens: 10, messages: [{ role: 'user', content: 'hello' }] };
    // Opus: input $4/M, 1-hour cache write $8/M, output $20/M.
    expect(worstCaseNusd(opus, 'standard', r, 100)).toBe(100 * opus.rates.tiers.standard.cacheWrite1h / 1000 + 10 * 20_000);
    expect(opus.rates.tiers.standard.cacheWrite1h).toBeGreaterThan(opus.rates.tiers.standard.input);
  });

  it('steps down the family, then flex on the cheapest rung, skipping models that cannot serve', () => {
    const r = request({ max_tokens: 100 });
    const ladder = downgradeLadder(catalog, route(r), 'standard', r, principal, reservedPromptTokens(r));
    expect(ladder.map((rung) => `${rung.model.id}@${rung.tier}`)).toEqual(['gpt-6.2-sol@standard', 'gpt-6.1-terra@standard', 'gpt-6-luna@standard', 'gpt-6-luna@flex']);
    for (let i = 1; i < ladder.length; i++) expect(ladder[i]!.worstNusd).toBeLessThan(ladder[i - 1]!.worstNusd);

    const restricted = { ...principal, allowedModels: ['gpt-6.2-sol', 'gpt-6-luna'] };
    expect(downgradeLadder(catalog, route(r), 'standard', r, restricted, 100).map((rung) => rung.model.id)).toEqual(['gpt-6.2-sol', 'gpt-6-luna', 'gpt-6-luna']);

    const big = request({ model: 'gpt-4o', max_tokens: 20_000 });
    expect(downgradeLadder(catalog, route(big), 'standard', big, principal, 100).map((rung) => rung.model.id)).toEqual(['gpt-4o']);
  });
});

describe('schedules', () => {
  it('wrangler.toml lists exactly the crons of the job table', () => {
    const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
    const crons = /\[triggers\][^[]*crons\s*=\s*\[([^\]]*)\]/.exec(toml)?.[1] ?? '';
    const listed = [...crons.matchAll(/"([^"]+)"/g)].map((m) => m[1]).sort();
    expect(listed).toEqual([...new Set(JOBS.map((job) => job.schedule))].sort());
    expect(JOBS.map((job) => job.name)).toEqual(expect.arrayContaining(['budgets', 'webhooks']));
  });
});
