import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_CATALOG } from '../../src/catalog/catalog';
import { nusd, startHarness, type Harness } from '../helpers/harness';

const EASY = 'Say hello.';
const HARD = 'Let f(x) = x^3 - 3x + 1. Find all real roots exactly, prove they are real using the discriminant, and compute the Galois group of f over Q, justifying each step.';
const claude = SHIPPED_CATALOG.families.find((f) => f.name === 'claude')!;
const price = (id: string) => SHIPPED_CATALOG.models.find((m) => m.id === id)!.prices;

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

describe('routed requests through the OpenAI front door', () => {
  it('auto:claude sends an easy prompt to the cheapest rung, priced against the baseline', async () => {
    const { key } = await h.createKey({ name: 'router', team: 'r' });
    const { data, response } = await h
      .openai(key)
      .chat.completions.create({ model: 'auto:claude', messages: [{ role: 'user', content: EASY }] })
      .withResponse();
    const cheapest = claude.models[0]!;
    expect(response.headers.get('x-sluice-model')).toBe(cheapest);
    expect(response.headers.get('x-sluice-family')).toBe('claude');
    expect(response.headers.get('x-sluice-route-reason')).toBe('score');
    expect(Number(response.headers.get('x-sluice-complexity'))).toBeGreaterThan(0);
    const event = (await h.events()).at(-1)!;
    const usage = data.usage!;
    const base = price(claude.baseline);
    expect(event).toMatchObject({ requested_model: 'auto:claude', served_model: cheapest, route_reason: 'score', family: 'claude' });
    expect(event.scorer_version).toBeTruthy();
    expect(event.baseline_cost_nusd).toBe(nusd(usage.prompt_tokens, base.input) + nusd(usage.completion_tokens, base.output));
    expect(event.savings_nusd.routing).toBe(event.baseline_cost_nusd - event.cost_nusd);
    expect(event.savings_nusd.routing).toBeGreaterThan(0);
  });

  it('a hard prompt goes up the ladder', async () => {
    const { key } = await h.createKey({ name: 'router-hard' });
    const { response } = await h.openai(key).chat.completions.create({ model: 'auto:claude', messages: [{ role: 'user', content: HARD }] }).withResponse();
    expect(claude.models.indexOf(response.headers.get('x-sluice-model')!)).toBeGreaterThan(0);
  });

  it('x-sluice-route: shadow serves the baseline and records what routing would have done', async () => {
    const { key } = await h.createKey({ name: 'shadow' });
    const { response } = await h
      .openai(key)
      .chat.completions.create({ model: 'auto:claude', messages: [{ role: 'user', content: EASY }] }, { headers: { 'x-sluice-route': 'shadow' } })
      .withResponse();
    expect(response.headers.get('x-sluice-model')).toBe(claude.baseline);
    expect(response.headers.get('x-sluice-route-reason')).toBe('shadow');
    const event = (await h.events()).at(-1)!;
    expect(event.served_model).toBe(claude.baseline);
    expect(event.shadow_model).toBe(claude.models[0]);
    const cheap = price(claude.models[0]!);
    const tokens = event.input_tokens;
    expect(event.shadow_cost_nusd).toBe(nusd(tokens, cheap.input) + nusd(event.output_tokens, cheap.output));
    expect(event.shadow_cost_nusd!).toBeLessThan(event.cost_nusd);
  });

  it('a concrete model is served as named without the downgrade policy, and downgraded with it', async () => {
    const plain = await h.createKey({ name: 'plain' });
    const { response: named } = await h.openai(plain.key).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: EASY }] }).withResponse();
    expect(named.headers.get('x-sluice-model')).toBe('gpt-4o');
    expect(named.headers.get('x-sluice-route-reason')).toBe('requested');
    const thrifty = await h.createKey({ name: 'thrifty', policy: { downgrade: true } });
    const { response: moved } = await h.openai(thrifty.key).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: EASY }] }).withResponse();
    expect(moved.headers.get('x-sluice-model')).toBe('gpt-4o-mini');
    const event = (await h.events()).at(-1)!;
    expect(event).toMatchObject({ requested_model: 'gpt-4o', served_model: 'gpt-4o-mini', route_reason: 'score' });
    expect(event.savings_nusd.routing).toBeGreaterThan(0);
  });

  it('refuses a bad quality hint in OpenAI shape without calling the upstream', async () => {
    const { key } = await h.createKey({ name: 'bad-hint' });
    h.sim.reset();
    const error = await h
      .openai(key)
      .chat.completions.create({ model: 'auto:claude', messages: [{ role: 'user', content: EASY }] }, { headers: { 'x-sluice-quality': '1.5' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('x-sluice-quality');
    expect(h.sim.stats().requests).toBe(0);
  });
});

describe('POST /v1/sluice/route/explain', () => {
  it('explains the decision with contributions and priced alternatives, calling no upstream', async () => {
    const { key } = await h.createKey({ name: 'explainer' });
    h.sim.reset();
    const response = await fetch(`${h.url}/v1/sluice/route/explain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'auto:claude', messages: [{ role: 'user', content: EASY }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      score: number;
      family: string;
      model: string;
      contributions: { feature: string; value: number; weight: number }[];
      alternatives: { model: string; estimated_cost_usd: string }[];
    };
    expect(body.family).toBe('claude');
    expect(body.model).toBe(claude.models[0]);
    expect(body.score).toBeGreaterThan(0);
    expect(body.contributions.length).toBeGreaterThan(0);
    expect(body.alternatives.map((a) => a.model)).toEqual(claude.models);
    expect(h.sim.stats().requests).toBe(0);
  });

  it('needs a key and a valid body', async () => {
    expect((await fetch(`${h.url}/v1/sluice/route/explain`, { method: 'POST', body: '{}' })).status).toBe(401);
    const { key } = await h.createKey({ name: 'explainer-2' });
    const bad = await fetch(`${h.url}/v1/sluice/route/explain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'auto:claude', messages: [] }),
    });
    expect(bad.status).toBe(400);
  });
});
