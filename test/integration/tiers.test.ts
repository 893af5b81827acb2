import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nusd, startHarness, type Harness } from '../helpers/harness';

/**
 * Service tiers through the OpenAI front door: the tier each request asks for (hint, body field,
 * deadline, key policy), what the upstream says it served, and the price in the ledger.
 * gpt-5.4-mini sells flex in the catalog and at the sim: $0.75/$4.50 standard, $0.375/$2.25 flex.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { SLUICE_FLEX_RETRIES: '2', SLUICE_FLEX_BACKOFF_MS: '5', SLUICE_FLEX_BACKOFF_MAX_MS: '20' } });
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.sim.reset();
});

/** The key of the test running now: each test makes its own, so its ledger rows are its own. */
let keyId = '';

async function clientFor(policy: Record<string, unknown> = {}): Promise<OpenAI> {
  const created = await h.createKey({ name: 'tiers', policy });
  keyId = created.id;
  return h.openai(created.key);
}

const ask = (content = 'Summarize the water cycle.'): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming => ({
  model: 'gpt-5.4-mini',
  messages: [{ role: 'user', content }],
});

/** The one ledger row of this test's request (streams write theirs as the stream ends). */
async function lastEvent() {
  const deadline = Date.now() + 5000;
  for (;;) {
    const mine = (await h.events()).filter((e) => e.key_id === keyId);
    if (mine.length > 0 || Date.now() > deadline) {
      expect(mine).toHaveLength(1);
      return mine[0]!;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('flex', () => {
  it('a latency-tolerant key is served at flex and priced at flex rates', async () => {
    const client = await clientFor({ latency_tolerant: true });
    const { data, response } = await client.chat.completions.create(ask()).withResponse();
    expect(data.service_tier).toBe('flex');
    expect(response.headers.get('x-sluice-tier')).toBe('flex');
    expect(response.headers.get('x-sluice-tier-reason')).toBe('auto');
    const usage = data.usage!;
    const flexCost = nusd(usage.prompt_tokens, 0.375) + nusd(usage.completion_tokens, 2.25);
    const standardCost = nusd(usage.prompt_tokens, 0.75) + nusd(usage.completion_tokens, 4.5);
    expect(await lastEvent()).toMatchObject({
      tier: 'flex',
      tier_reason: 'auto',
      attempts: 1,
      cost_nusd: flexCost,
      baseline_cost_nusd: standardCost,
      savings_nusd: { routing: 0, caching: 0, tier: standardCost - flexCost },
    });
    expect(response.headers.get('x-sluice-cost-usd')).toBe((flexCost / 1e9).toFixed(9));
  });

  it("OpenAI's own service_tier field asks for flex, streamed too", async () => {
    const client = await clientFor();
    const stream = await client.chat.completions.create({ ...ask(), service_tier: 'flex', stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined;
    let tier: string | null | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      tier = chunk.service_tier ?? tier;
    }
    expect(tier).toBe('flex');
    expect(await lastEvent()).toMatchObject({ tier: 'flex', tier_reason: 'service_tier', stream: true, cost_nusd: nusd(usage!.prompt_tokens, 0.375) + nusd(usage!.completion_tokens, 2.25) });
  });

  it('a flex capacity refusal is retried with backoff, then served at standard and priced as standard', async () => {
    const client = await clientFor({ tier: 'flex' });
    // One more refusal than the two retries: the third flex attempt fails too.
    h.sim.injectFault({ fault: 'flex-capacity', times: 3, retryAfterSeconds: 0, match: { model: 'gpt-5.4-mini' } });
    const { data, response } = await client.chat.completions.create(ask()).withResponse();
    expect(data.service_tier).toBe('default');
    expect(response.headers.get('x-sluice-tier')).toBe('standard');
    expect(response.headers.get('x-sluice-tier-reason')).toBe('flex_fallback');
    expect(h.sim.stats().byRoute['POST /v1/chat/completions']).toBe(4);
    const usage = data.usage!;
    const standardCost = nusd(usage.prompt_tokens, 0.75) + nusd(usage.completion_tokens, 4.5);
    expect(await lastEvent()).toMatchObject({
      tier: 'standard',
      tier_reason: 'flex_fallback',
      attempts: 4,
      status: 'ok',
      cost_nusd: standardCost,
      savings_nusd: { routing: 0, caching: 0, tier: 0 },
    });
  });

  it('a refusal that clears within the retries is still served at flex', async () => {
    const client = await clientFor({ tier: 'flex' });
    h.sim.injectFault({ fault: 'flex-capacity', times: 1, retryAfterSeconds: 0 });
    const { data, response } = await client.chat.completions.create(ask()).withResponse();
    expect(data.service_tier).toBe('flex');
    expect(response.headers.get('x-sluice-tier-reason')).toBe('policy');
    expect(await lastEvent()).toMatchObject({ tier: 'flex', attempts: 2, cost_nusd: nusd(data.usage!.prompt_tokens, 0.375) + nusd(data.usage!.completion_tokens, 2.25) });
  });

  it('a key without flex_fallback gets the refusal after the retries, with one error row at zero cost', async () => {
    const client = await clientFor({ tier: 'flex', flex_fallback: false });
    h.sim.injectFault({ fault: 'flex-capacity', retryAfterSeconds: 0 });
    const error = await client.chat.completions.create(ask()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
    expect(h.sim.stats().byRoute['POST /v1/chat/completions']).toBe(3);
    expect(await lastEvent()).toMatchObject({ tier: 'flex', status: 'error', http_status: 429, attempts: 3, cost_nusd: 0 });
  });

  it('a plain rate limit on flex is not a capacity refusal: passed on at once', async () => {
    const client = await clientFor({ tier: 'flex' });
    h.sim.injectFault({ fault: '429', times: 1, retryAfterSeconds: 0 });
    const error = await client.chat.completions.create(ask()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(h.sim.stats().byRoute['POST /v1/chat/completions']).toBe(1);
  });

  it('flex asked for a model that does not sell it is served at standard, and says why', async () => {
    const client = await clientFor();
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }, { headers: { 'x-sluice-tier': 'flex' } })
      .withResponse();
    expect(data.service_tier).toBe('default');
    expect(response.headers.get('x-sluice-tier')).toBe('standard');
    expect(response.headers.get('x-sluice-tier-reason')).toBe('unsupported');
    expect(await lastEvent()).toMatchObject({ tier: 'standard', tier_reason: 'unsupported', cost_nusd: nusd(data.usage!.prompt_tokens, 0.15) + nusd(data.usage!.completion_tokens, 0.6) });
  });
});

describe('tier choice from hints and deadlines', () => {
  it('x-sluice-tier: priority is priced at priority rates', async () => {
    const client = await clientFor();
    const { data, response } = await client.chat.completions.create(ask(), { headers: { 'x-sluice-tier': 'priority' } }).withResponse();
    expect(data.service_tier).toBe('priority');
    expect(response.headers.get('x-sluice-tier')).toBe('priority');
    expect(await lastEvent()).toMatchObject({ tier: 'priority', tier_reason: 'hint', cost_nusd: nusd(data.usage!.prompt_tokens, 1.5) + nusd(data.usage!.completion_tokens, 9) });
  });

  it('a 10-minute deadline picks flex; 30 seconds picks standard; 24 hours defers to batch', async () => {
    const client = await clientFor();
    const tenMinutes = await client.chat.completions.create(ask(), { headers: { 'x-sluice-deadline': '10m' } }).withResponse();
    expect(tenMinutes.response.headers.get('x-sluice-tier')).toBe('flex');
    expect(tenMinutes.response.headers.get('x-sluice-tier-reason')).toBe('deadline');
    const thirtySeconds = await client.chat.completions.create(ask(), { headers: { 'x-sluice-deadline': '30s' } }).withResponse();
    expect(thirtySeconds.response.headers.get('x-sluice-tier')).toBe('standard');
    const day = await client.chat.completions.create(ask(), { headers: { 'x-sluice-deadline': '24h' } }).withResponse();
    expect(day.response.status).toBe(202);
    expect(day.response.headers.get('x-sluice-tier')).toBe('batch');
    expect(day.data).toMatchObject({ object: 'sluice.deferred', status: 'queued' });
  });

  it("x-sluice-tier: standard overrides the key's flex policy", async () => {
    const client = await clientFor({ tier: 'flex' });
    const { data } = await client.chat.completions.create(ask(), { headers: { 'x-sluice-tier': 'standard' } }).withResponse();
    expect(data.service_tier).toBe('default');
    expect(await lastEvent()).toMatchObject({ tier: 'standard', tier_reason: 'hint' });
  });

  it('a batch policy on a streamed request streams at flex instead', async () => {
    const client = await clientFor({ tier: 'batch' });
    const stream = await client.chat.completions.create({ ...ask(), stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    expect(await lastEvent()).toMatchObject({ tier: 'flex', tier_reason: 'stream' });
  });
});

describe('tier validation errors, in OpenAI shape, with nothing sent or recorded', () => {
  async function expectBadRequest(headers: Record<string, string>, body: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParams>, param: string, mention: RegExp) {
    const client = await clientFor();
    const before = (await h.events()).length;
    const error = await client.chat.completions.create({ ...ask(), ...body } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, { headers }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const body400 = (error as InstanceType<typeof OpenAI.BadRequestError>).error as { message: string; type: string; param: string; code: string };
    expect(body400).toMatchObject({ type: 'invalid_request_error', param, code: 'invalid_request' });
    expect(body400.message).toMatch(mention);
    expect(h.sim.stats().requests).toBe(0);
    expect((await h.events()).length).toBe(before);
  }

  it('an unknown tier hint', async () => {
    await expectBadRequest({ 'x-sluice-tier': 'cheap' }, {}, 'x-sluice-tier', /standard, flex, priority, batch, auto.*"cheap"/);
  });

  it('a deadline that is not a duration, or not positive', async () => {
    await expectBadRequest({ 'x-sluice-deadline': 'tomorrow' }, {}, 'x-sluice-deadline', /30s, 10m or 24h/);
    await expectBadRequest({ 'x-sluice-deadline': '0s' }, {}, 'x-sluice-deadline', /positive/);
  });

  it('batch on a streamed request', async () => {
    await expectBadRequest({ 'x-sluice-tier': 'batch' }, { stream: true }, 'x-sluice-tier', /cannot be streamed/);
  });

  it('an explicit tier that cannot meet the deadline', async () => {
    await expectBadRequest({ 'x-sluice-tier': 'batch', 'x-sluice-deadline': '10m' }, {}, 'x-sluice-tier', /cannot meet x-sluice-deadline/);
    await expectBadRequest({ 'x-sluice-deadline': '30s' }, { service_tier: 'flex' }, 'service_tier', /cannot meet x-sluice-deadline/);
  });
});
