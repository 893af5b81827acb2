import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertView } from '../../src/budgets/alerts';
import type { BudgetWithStatus } from '../../src/budgets/manage';
import { findJob } from '../../src/jobs';
import type { EventView } from '../../src/ledger/events';
import { startHarness, type Harness } from '../helpers/harness';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

// A fixed clock: every request of this file falls in one UTC day, whenever the suite runs.
const clock = { t: Date.now(), now: () => clock.t };

let h: Harness;
let receiver: WebhookReceiver;

const ask = (text = 'Say hello.', extra: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user' as const, content: text }],
  max_tokens: 20,
  ...extra,
});

async function createBudget(body: Record<string, unknown>): Promise<BudgetWithStatus> {
  const response = await h.admin('/admin/budgets', { method: 'POST', body: JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as BudgetWithStatus;
}

async function keyEvents(keyId: string): Promise<EventView[]> {
  return (await h.events()).filter((e) => e.key_id === keyId);
}

const spentBy = async (keyId: string): Promise<number> => (await keyEvents(keyId)).reduce((sum, e) => sum + e.cost_nusd, 0);

async function alerts(budgetId: string): Promise<AlertView[]> {
  return ((await (await h.admin(`/admin/alerts?budget_id=${budgetId}`)).json()) as { data: AlertView[] }).data;
}

/** Exactly `usd`, as the API takes it (nano-USD precision). */
const usd = (nusd: number): number => Number((nusd / 1e9).toFixed(9));

beforeAll(async () => {
  receiver = await startReceiver();
  // Answers run to 200 tokens unless max_tokens stops them (most requests here cap at 20, so
  // their cost is fixed), streamed a token a millisecond so a stream can be cut mid-way.
  h = await startHarness({ env: { SLUICE_WEBHOOK_ALLOW_PRIVATE: '1', SLUICE_BUDGET_RECONCILE_MS: '100' }, clock, sim: { outputTokens: { min: 200, max: 200 }, perTokenMs: 1 } });
});

afterAll(async () => {
  await h.close();
  await receiver.close();
});

beforeEach(() => {
  receiver.reset();
});

describe('/admin/budgets CRUD', () => {
  it('creates with defaults, reads, updates and deletes', async () => {
    const created = await createBudget({ scope: { type: 'team', value: 'crud' }, period: 'month', amount_usd: 250.5, action: 'alert' });
    expect(created).toMatchObject({
      name: 'monthly team crud',
      scope: { type: 'team', value: 'crud' },
      period: 'month',
      amount_usd: 250.5,
      amount_nusd: 250_500_000_000,
      thresholds: [0.5, 0.8, 1],
      action: 'alert',
      forecast_alert: false,
      webhook_ids: [],
      downgrade_at: null,
      cut_streams: false,
      current: { spend_nusd: 0, reserved_nusd: 0, remaining_nusd: 250_500_000_000, state: 'ok' },
    });
    expect(created.id).toMatch(/^bud_/);
    expect((await (await h.admin(`/admin/budgets/${created.id}`)).json()) as BudgetWithStatus).toMatchObject({ id: created.id });
    const listed = (await (await h.admin('/admin/budgets')).json()) as { data: BudgetWithStatus[] };
    expect(listed.data.map((b) => b.id)).toContain(created.id);

    const patched = await h.admin(`/admin/budgets/${created.id}`, { method: 'PATCH', body: JSON.stringify({ action: 'downgrade', thresholds: [0.9], amount_usd: 300 }) });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ action: 'downgrade', downgrade_at: 0.8, thresholds: [0.9], amount_nusd: 300_000_000_000 });
    const back = await h.admin(`/admin/budgets/${created.id}`, { method: 'PATCH', body: JSON.stringify({ action: 'block', cut_streams: true }) });
    expect(await back.json()).toMatchObject({ action: 'block', downgrade_at: null, cut_streams: true });

    expect(await (await h.admin(`/admin/budgets/${created.id}`, { method: 'DELETE' })).json()).toEqual({ id: created.id, deleted: true });
    expect((await h.admin(`/admin/budgets/${created.id}`)).status).toBe(404);
    expect((await h.admin(`/admin/budgets/${created.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it.each([
    [{ period: 'month', amount_usd: 1, action: 'block' }, "'scope'"],
    [{ scope: { type: 'team' }, period: 'month', amount_usd: 1, action: 'block' }, 'a team budget needs scope.value'],
    [{ scope: { type: 'global', value: 'x' }, period: 'month', amount_usd: 1, action: 'block' }, 'a global budget has no scope value'],
    [{ scope: { type: 'tag', value: 'no-equals' }, period: 'month', amount_usd: 1, action: 'block' }, 'name=value'],
    [{ scope: { type: 'org', value: 'x' }, period: 'month', amount_usd: 1, action: 'block' }, "'scope.type'"],
    [{ scope: { type: 'global' }, period: 'year', amount_usd: 1, action: 'block' }, "'period'"],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 0, action: 'block' }, 'amount_usd must be above 0'],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 0.0000000001, action: 'block' }, 'nine decimals'],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 1e7, action: 'block' }, 'at most 1000000'],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 1, action: 'panic' }, "'action'"],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 1, action: 'block', thresholds: [0.12345] }, 'four decimals'],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 1, action: 'block', thresholds: [0.5, 0.5] }, 'must not repeat'],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 1, action: 'block', downgrade_at: 0.5 }, 'only to action "downgrade"'],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 1, action: 'alert', cut_streams: true }, 'cut_streams applies only'],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 1, action: 'block', webhook_ids: ['wh_missing'] }, 'wh_missing'],
    [{ scope: { type: 'global' }, period: 'day', amount_usd: 1, action: 'block', owner: 'me' }, 'owner'],
  ])('refuses %j with a 400 naming the problem', async (body, problem) => {
    const response = await h.admin('/admin/budgets', { method: 'POST', body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { message: string; code: string } };
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain(problem);
    expect(((await (await h.admin('/admin/budgets')).json()) as { data: BudgetWithStatus[] }).data.filter((b) => b.scope.type === 'global')).toHaveLength(0);
  });

  it('validates a patch against the whole budget, and answers 404 for unknown ids', async () => {
    const b = await createBudget({ scope: { type: 'global' }, period: 'day', amount_usd: 1, action: 'alert' });
    const bad = await h.admin(`/admin/budgets/${b.id}`, { method: 'PATCH', body: JSON.stringify({ scope: { type: 'key' } }) });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('needs scope.value');
    expect((await h.admin('/admin/budgets/bud_nope', { method: 'PATCH', body: JSON.stringify({ amount_usd: 2 }) })).status).toBe(404);
    await h.admin(`/admin/budgets/${b.id}`, { method: 'DELETE' });
  });
});

describe('block', () => {
  it('refuses with a 429 the openai client understands, naming the budget and when it resets, and records a blocked row', async () => {
    const key = await h.createKey({ name: 'blocked-app', team: 'blockers' });
    const client = h.openai(key.key);
    const budget = await createBudget({ name: 'blockers daily', scope: { type: 'key', value: key.id }, period: 'day', amount_usd: 0.00008, action: 'block' });
    let served = 0;
    let refusal: APIError | undefined;
    for (let i = 0; i < 20 && !refusal; i++) {
      try {
        await client.chat.completions.create(ask(`Question ${i}?`));
        served++;
      } catch (error) {
        refusal = error as APIError;
      }
    }
    expect(served).toBeGreaterThan(0);
    expect(refusal).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refusal!.status).toBe(429);
    expect(refusal!.code).toBe('budget_exceeded');
    const tomorrow = new Date(Math.floor(clock.t / 86_400_000 + 1) * 86_400_000).toISOString();
    expect(refusal!.message).toContain(`Budget "blockers daily" (${budget.id}, key ${key.id}) is used up`);
    expect(refusal!.message).toContain(`It resets at ${tomorrow}`);
    expect(Number(refusal!.headers?.get('retry-after'))).toBe(Math.ceil((Date.parse(tomorrow) - clock.t) / 1000));
    expect(refusal!.headers?.get('x-should-retry')).toBe('false');
    expect(refusal!.headers?.get('x-sluice-budget')).toBe(budget.id);

    const events = await keyEvents(key.id);
    expect(events).toHaveLength(served + 1);
    expect(events.filter((e) => e.status === 'ok')).toHaveLength(served);
    expect(events.find((e) => e.status === 'blocked')).toMatchObject({ cost_nusd: 0, http_status: 429, error_type: 'budget_exceeded', input_tokens: 0, output_tokens: 0 });
    const spent = await spentBy(key.id);
    expect(spent).toBeGreaterThanOrEqual(80_000);

    // Still blocked, and one budget.blocked alert however many requests are refused.
    await expect(client.chat.completions.create(ask())).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await alerts(budget.id)).filter((a) => a.kind === 'blocked')).toHaveLength(1);
    const view = (await (await h.admin(`/admin/budgets/${budget.id}`)).json()) as BudgetWithStatus;
    expect(view.current).toMatchObject({ state: 'blocking', spend_nusd: spent, remaining_nusd: 0 });
  });

  it('200 concurrent requests overshoot it by less than one request', async () => {
    const key = await h.createKey({ name: 'concurrent' });
    const client = h.openai(key.key);
    await client.chat.completions.create(ask('Same every time.'));
    const each = await spentBy(key.id);
    // Room for 100.5 more requests, all arriving at once.
    const amount = each + Math.round(100.5 * each);
    await createBudget({ scope: { type: 'key', value: key.id }, period: 'day', amount_usd: usd(amount), action: 'block', thresholds: [] });
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => client.chat.completions.create(ask('Same every time.'))));
    const served = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof OpenAI.RateLimitError).length;
    expect(served + refused).toBe(200);
    expect(served).toBeGreaterThan(80);
    const events = await keyEvents(key.id);
    expect(events.filter((e) => e.status === 'blocked')).toHaveLength(refused);
    const spent = events.reduce((sum, e) => sum + e.cost_nusd, 0);
    expect(spent - amount).toBeLessThan(each);
  });

  it('counts what the key does, not what request headers claim', async () => {
    const key = await h.createKey({ name: 'tagged', team: 'payments', tags: { env: 'prod' } });
    const other = await h.createKey({ name: 'other-team', team: 'search' });
    await createBudget({ scope: { type: 'tag', value: 'env=prod' }, period: 'day', amount_usd: 0.000000001, action: 'block' });
    await createBudget({ scope: { type: 'team', value: 'payments' }, period: 'day', amount_usd: 0.000000001, action: 'block' });
    // The first request is admitted (nothing spent yet) and uses the budgets up.
    await h.openai(key.key).chat.completions.create(ask());
    const spoof = h.openai(key.key).chat.completions.create(ask(), { headers: { 'x-sluice-tags': 'env=dev,team=search' } });
    await expect(spoof).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    // Another team's key claiming the team in a header is not under the team budget.
    await expect(h.openai(other.key).chat.completions.create(ask(), { headers: { 'x-sluice-tags': 'team=payments' } })).resolves.toBeDefined();
  });

  it('a stream that runs past a cut_streams budget is cut at its next chunk', async () => {
    const key = await h.createKey({ name: 'streamer' });
    const client = h.openai(key.key);
    await client.chat.completions.create(ask('Warm up.'));
    const spent = await spentBy(key.id);
    // Room for about five output tokens of gpt-4o-mini ($0.60/M) beyond what is spent.
    const budget = await createBudget({ scope: { type: 'key', value: key.id }, period: 'day', amount_usd: usd(spent + 5 * 600 + 20 * 150), action: 'block', cut_streams: true });
    const stream = await client.chat.completions.create({ ...ask('Tell me a long story.'), max_tokens: 200, stream: true });
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().then(
      () => undefined,
      (error: unknown) => error as APIError,
    );
    expect(failure?.message).toContain('The stream was cut off: it had used about $0.0000');
    expect(failure?.message).toContain(budget.id);
    const event = (await keyEvents(key.id)).find((e) => e.stream)!;
    expect(event).toMatchObject({ status: 'blocked', error_type: 'budget_exceeded', usage_estimated: true });
    expect(event.output_tokens).toBeLessThan(20);
    expect(text.length).toBeGreaterThan(0);
  });
});

describe('downgrade', () => {
  it('steps down the family and then to flex as the budget runs out, visibly, then blocks', async () => {
    const key = await h.createKey({ name: 'downgraded' });
    const client = h.openai(key.key);
    await client.chat.completions.create(ask('Prime the ledger.', { model: 'gpt-5.4', max_tokens: undefined, max_completion_tokens: 300 }));
    const spent = await spentBy(key.id);
    // Spent is 60% of the amount: past downgrade_at 0.5.
    const amount = Math.round(spent / 0.6);
    const budget = await createBudget({ scope: { type: 'key', value: key.id }, period: 'day', amount_usd: usd(amount), action: 'downgrade', downgrade_at: 0.5, thresholds: [] });
    const headroom = amount - spent;

    // Past downgrade_at: one step down (gpt-5.4-mini, $4.50/M output) while its worst case fits the headroom.
    const miniTokens = Math.floor((headroom * 0.5) / 4_500);
    const first = await client.chat.completions.create(ask('Short answer please.', { model: 'gpt-5.4', max_tokens: undefined, max_completion_tokens: miniTokens })).withResponse();
    expect(first.response.headers.get('x-sluice-model')).toBe('gpt-5.4-mini');
    expect(first.response.headers.get('x-sluice-route-reason')).toBe('budget');
    expect(first.response.headers.get('x-sluice-budget')).toBe(budget.id);
    expect(first.data.model).toContain('gpt-5.4-mini');

    // A request whose worst case fits only at the bottom rung's flex price (nano: $1.25/M standard, $0.625/M flex output).
    const left = amount - (await spentBy(key.id));
    const flexTokens = Math.floor(left / 900);
    const second = await client.chat.completions.create(ask('Another one.', { model: 'gpt-5.4', max_tokens: undefined, max_completion_tokens: flexTokens })).withResponse();
    expect(second.response.headers.get('x-sluice-model')).toBe('gpt-5.4-nano');
    expect(second.response.headers.get('x-sluice-tier')).toBe('flex');

    const events = (await keyEvents(key.id)).filter((e) => e.route_reason === 'budget');
    expect(events.map((e) => [e.requested_model, e.served_model, e.tier]).sort()).toEqual([
      ['gpt-5.4', 'gpt-5.4-mini', 'standard'],
      ['gpt-5.4', 'gpt-5.4-nano', 'flex'],
    ]);
    // Priced at what was served, with the saving against the requested model attributed.
    for (const e of events) expect(e.baseline_cost_nusd).toBeGreaterThan(e.cost_nusd);

    // Spend until the amount is reached: then it blocks.
    let blocked: APIError | undefined;
    for (let i = 0; i < 200 && !blocked; i++) {
      await client.chat.completions.create(ask(`Filler ${i}.`, { model: 'gpt-5.4', max_tokens: undefined, max_completion_tokens: 300 })).catch((error: unknown) => {
        blocked = error as APIError;
      });
    }
    expect(blocked?.status).toBe(429);
    expect(blocked?.message).toContain(budget.id);
  });

  it('tries the response cache first, even for requests the key would not cache, unless its policy turns the cache off', async () => {
    for (const [name, policy, expected] of [
      ['cache-rung', {}, 'hit'],
      ['cache-off', { response_cache: 'off' }, 'bypass'],
    ] as const) {
      const key = await h.createKey({ name, policy });
      const client = h.openai(key.key);
      const question = ask('What is a sluice?', { model: 'gpt-4o', temperature: 0.9 });
      await client.chat.completions.create(question);
      await createBudget({ scope: { type: 'key', value: key.id }, period: 'day', amount_usd: usd(Math.round((await spentBy(key.id)) / 0.3)), action: 'downgrade', downgrade_at: 0.2 });
      const first = await client.chat.completions.create(question).withResponse();
      expect(first.response.headers.get('x-sluice-model')).toBe('gpt-4o-mini');
      const second = await client.chat.completions.create(question).withResponse();
      expect(second.response.headers.get('x-sluice-cache')).toBe(expected);
      expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
      if (expected === 'hit') expect(second.response.headers.get('x-sluice-cost-usd')).toBe('0.000000000');
    }
  });
});

describe('alerts', () => {
  it('200 concurrent requests that cross 80% produce exactly one alert and one signed delivery', async () => {
    const hook = (await (await h.admin('/admin/webhooks', { method: 'POST', body: JSON.stringify({ url: `${receiver.url}/alerts`, events: ['budget.threshold_crossed'] }) })).json()) as { id: string; secret: string };
    receiver.secret = hook.secret;
    const key = await h.createKey({ name: 'burst', team: 'burst', user: 'bea' });
    const client = h.openai(key.key);
    // Every request is the same prompt, so each costs the same; 200 of them are 125% of the amount.
    await client.chat.completions.create(ask('Same question.'));
    const each = await spentBy(key.id);
    const budget = await createBudget({ scope: { type: 'team', value: 'burst' }, period: 'day', amount_usd: usd(Math.round((201 * each) / 1.25)), action: 'alert', thresholds: [0.8], webhook_ids: [hook.id] });
    await Promise.all(Array.from({ length: 200 }, () => client.chat.completions.create(ask('Same question.'))));
    await h.events();
    const [delivery] = await receiver.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
    expect(delivery!.verifyError).toBeUndefined();
    const payload = delivery!.verified as { type: string; data: Record<string, unknown> };
    expect(payload.type).toBe('budget.threshold_crossed');
    expect(payload.data).toMatchObject({ budget_id: budget.id, threshold: 0.8, amount_nusd: budget.amount_nusd, scope: { type: 'team', value: 'burst' } });
    expect(payload.data.spend_nusd as number).toBeGreaterThanOrEqual(Math.floor(budget.amount_nusd * 0.8));
    expect(payload.data.top_spenders).toEqual([expect.objectContaining({ key_id: key.id, user: 'bea', team: 'burst' })]);

    const raised = await alerts(budget.id);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ kind: 'threshold', threshold: 0.8, event_id: delivery!.headers['webhook-id'] });

    // A second instance starting on the same database, and the scheduled job, add nothing.
    await h.startPeer();
    await findJob('budgets')!.run(h.gateway.sluice.services, clock.t);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await alerts(budget.id)).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
  });

  it('the scheduled job raises a forecast alert once, from the spend trend', async () => {
    const key = await h.createKey({ name: 'trend', project: 'trend' });
    const client = h.openai(key.key);
    const start = clock.t;
    const dayStart = Math.floor(start / 86_400_000) * 86_400_000;
    try {
      // Spend in each of the first three hours of a day, then look from hour three.
      for (let hour = 0; hour < 3; hour++) {
        clock.t = dayStart + hour * 3_600_000 + 60_000;
        await client.chat.completions.create(ask(`Hour ${hour}.`));
      }
      clock.t = dayStart + 3 * 3_600_000;
      const spent = await spentBy(key.id);
      // At this rate the day ends near 8× today's spend: a budget of 4× is forecast to be exceeded.
      const budget = await createBudget({ scope: { type: 'project', value: 'trend' }, period: 'day', amount_usd: usd(spent * 4), action: 'alert', forecast_alert: true, thresholds: [0.9] });
      expect(await findJob('budgets')!.run(h.gateway.sluice.services, clock.t)).toMatch(/[1-9]\d* alerts raised/);
      const raised = await alerts(budget.id);
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({ kind: 'forecast', spend_nusd: spent });
      expect(raised[0]!.forecast_nusd!).toBeGreaterThan(spent * 4);
      await findJob('budgets')!.run(h.gateway.sluice.services, clock.t);
      expect(await alerts(budget.id)).toHaveLength(1);
    } finally {
      clock.t = start;
    }
  });
});

describe('several instances on one database', () => {
  it('a peer blocks on spend made through the other instance after reconciling', async () => {
    const peer = await h.startPeer();
    const key = await h.createKey({ name: 'shared' });
    const budget = await createBudget({ scope: { type: 'key', value: key.id }, period: 'day', amount_usd: 0.00003, action: 'block' });
    const viaFirst = h.openai(key.key);
    for (let i = 0; i < 5; i++) await viaFirst.chat.completions.create(ask(`First ${i}.`)).catch(() => undefined);
    await h.events();
    const viaPeer = new OpenAI({ apiKey: key.key, baseURL: `${peer.url}/v1`, maxRetries: 0 });
    // A reconcile round on the peer (its timer runs one every 100 ms here; awaiting one makes the
    // test independent of how long a round takes on a loaded machine).
    await peer.sluice.services.budgets.refresh();
    const refusal = await viaPeer.chat.completions.create(ask('Peer.')).then(
      () => undefined,
      (error: unknown) => error as APIError,
    );
    expect(refusal?.status).toBe(429);
    expect(refusal?.message).toContain(budget.id);
  });
});
