import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startHarness, type Harness } from '../helpers/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

describe('/admin auth', () => {
  it('refuses a missing or wrong admin key, and a Sluice key, with 401', async () => {
    const none = await fetch(`${h.url}/admin/keys`);
    expect(none.status).toBe(401);
    const wrong = await fetch(`${h.url}/admin/keys`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const user = await h.createKey({ name: 'not-admin' });
    const asUser = await fetch(`${h.url}/admin/keys`, { headers: { authorization: `Bearer ${user.key}` } });
    expect(asUser.status).toBe(401);
    expect(((await asUser.json()) as { error: { message: string } }).error.message).toContain('admin key');
  });
});

describe('/admin/keys', () => {
  it('creates a key whose secret is shown once and stored only as a hash', async () => {
    const created = await h.createKey({ name: 'svc', user: 'bo', team: 'ads', project: 'bidder', tags: { cost_center: 'cc-9' }, policy: { downgrade: true, quality: 0.7 } });
    expect(created.key).toMatch(/^sk-sluice-/);
    expect(created.id).toMatch(/^key_/);
    expect(created.prefix).toBe(created.key.slice(0, 16));
    const fetched = (await (await h.admin(`/admin/keys/${created.id}`)).json()) as Record<string, unknown>;
    expect(fetched).not.toHaveProperty('key');
    expect(fetched).not.toHaveProperty('hash');
    expect(fetched).toMatchObject({ name: 'svc', team: 'ads', tags: { cost_center: 'cc-9' }, policy: { downgrade: true, quality: 0.7 } });
    const rows = await h.gateway.sluice.services.deps.db.$client.execute('select hash from api_keys');
    const hashes = rows.rows.map((r) => String(r.hash));
    expect(hashes).not.toContain(created.key);
    expect(hashes.every((hash) => /^[0-9a-f]{64}$/.test(hash))).toBe(true);
  });

  it('lists newest first with a cursor, hides revoked keys unless asked', async () => {
    const a = await h.createKey({ name: 'page-a', team: 'paging' });
    const b = await h.createKey({ name: 'page-b', team: 'paging' });
    const c = await h.createKey({ name: 'page-c', team: 'paging' });
    await h.admin(`/admin/keys/${b.id}/revoke`, { method: 'POST' });
    const first = (await (await h.admin('/admin/keys?team=paging&limit=1')).json()) as { data: { id: string }[]; next_cursor: string };
    expect(first.data.map((k) => k.id)).toEqual([c.id]);
    const second = (await (await h.admin(`/admin/keys?team=paging&limit=5&cursor=${first.next_cursor}`)).json()) as { data: { id: string }[]; next_cursor: string | null };
    expect(second.data.map((k) => k.id)).toEqual([a.id]);
    expect(second.next_cursor).toBeNull();
    const all = (await (await h.admin('/admin/keys?team=paging&include_revoked=true')).json()) as { data: { id: string; revoked_at: string | null }[] };
    expect(all.data.map((k) => k.id)).toEqual([c.id, b.id, a.id]);
    expect(all.data[1]?.revoked_at).not.toBeNull();
  });

  it('updates a key and the change applies to the next request at once', async () => {
    const k = await h.createKey({ name: 'mutable' });
    const client = h.openai(k.key);
    await client.models.list();
    const patched = await h.admin(`/admin/keys/${k.id}`, { method: 'PATCH', body: JSON.stringify({ allowed_models: ['gpt-4o-mini'] }) });
    expect(patched.status).toBe(200);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['auto:gpt-4o', 'gpt-4o-mini']);
  });

  it('validates input with errors that name the field', async () => {
    const missing = await h.admin('/admin/keys', { method: 'POST', body: JSON.stringify({ team: 'x' }) });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { param: string } }).error.param).toBe('name');
    const badPolicy = await h.admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'x', policy: { quality: 3 } }) });
    expect(badPolicy.status).toBe(400);
    expect(((await badPolicy.json()) as { error: { param: string } }).error.param).toBe('policy.quality');
    const unknownField = await h.admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'x', teem: 'typo' }) });
    expect(unknownField.status).toBe(400);
    const notFound = await h.admin('/admin/keys/key_nope');
    expect(notFound.status).toBe(404);
  });
});

describe('/admin/catalog', () => {
  it('returns the catalog in the documented shape', async () => {
    const catalog = (await (await h.admin('/admin/catalog')).json()) as {
      models: { id: string; provider: string; upstream_id: string; family?: string; rank?: number; context_window: number; prices: Record<string, number> }[];
      families: { name: string; models: string[]; baseline: string }[];
    };
    const mini = catalog.models.find((m) => m.id === 'gpt-4o-mini')!;
    expect(mini).toMatchObject({ provider: 'openai', upstream_id: 'gpt-4o-mini', family: 'gpt-4o', rank: 1, prices: { input: 0.15, output: 0.6 } });
    const claude = catalog.families.find((f) => f.name === 'claude')!;
    expect(claude.models.length).toBeGreaterThanOrEqual(3);
    expect(claude.models).toContain(claude.baseline);
    for (const family of catalog.families) {
      family.models.forEach((id, i) => expect(catalog.models.find((m) => m.id === id)?.rank).toBe(i + 1));
    }
  });

  it('overrides a price at run time, prices the next request with it, and can restore the shipped one', async () => {
    const put = await h.admin('/admin/catalog/models/gpt-4o-mini', { method: 'PUT', body: JSON.stringify({ prices: { input: 1, output: 2 } }) });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { prices: Record<string, number> }).prices).toMatchObject({ input: 1, output: 2, cached_input: 0.075 });
    const k = await h.createKey({ name: 'priced' });
    const completion = await h.openai(k.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'price me' }] });
    const event = (await h.events()).at(-1)!;
    expect(event.cost_nusd).toBe(completion.usage!.prompt_tokens * 1000 + completion.usage!.completion_tokens * 2000);
    expect((await h.admin('/admin/catalog/models/gpt-4o-mini', { method: 'DELETE' })).status).toBe(204);
    const restored = (await (await h.admin('/admin/catalog')).json()) as { models: { id: string; prices: { input: number } }[] };
    expect(restored.models.find((m) => m.id === 'gpt-4o-mini')?.prices.input).toBe(0.15);
  });

  it('refuses an override that would break the catalog, changing nothing', async () => {
    const bad = await h.admin('/admin/catalog/families/claude', { method: 'PUT', body: JSON.stringify({ provider: 'anthropic', models: ['claude-haiku-5-5', 'gpt-4o'], baseline: 'gpt-4o' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('ladder');
    const incomplete = await h.admin('/admin/catalog/models/brand-new', { method: 'PUT', body: JSON.stringify({ prices: { input: 1 } }) });
    expect(incomplete.status).toBe(400);
    const catalog = (await (await h.admin('/admin/catalog')).json()) as { families: { name: string; models: string[] }[] };
    expect(catalog.families.find((f) => f.name === 'claude')?.models).not.toContain('gpt-4o');
  });

  it('adds a new model for a self-hosted OpenAI-compatible server', async () => {
    const put = await h.admin('/admin/catalog/models/local-llama', {
      method: 'PUT',
      body: JSON.stringify({ provider: 'openai', upstream_id: 'gpt-4.1-nano', context_window: 8192, capabilities: { tools: true }, prices: { input: 0, output: 0 } }),
    });
    expect(put.status).toBe(200);
    const k = await h.createKey({ name: 'local' });
    const completion = await h.openai(k.key).chat.completions.create({ model: 'local-llama', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.model).toMatch(/^gpt-4.1-nano/);
    expect((await h.events()).at(-1)).toMatchObject({ served_model: 'local-llama', cost_nusd: 0 });
  });
});

describe('/admin/usage/events', () => {
  it('filters by key and time range, pages with a cursor', async () => {
    const k = await h.createKey({ name: 'events' });
    const client = h.openai(k.key);
    for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `n${i}` }] });
    await h.gateway.sluice.services.ledger.flush();
    const page1 = (await (await h.admin(`/admin/usage/events?key_id=${k.id}&limit=3`)).json()) as { data: { key_id: string; time: string }[]; next_cursor: string };
    expect(page1.data).toHaveLength(3);
    const page2 = (await (await h.admin(`/admin/usage/events?key_id=${k.id}&limit=3&cursor=${page1.next_cursor}`)).json()) as { data: unknown[]; next_cursor: string | null };
    expect(page2.data).toHaveLength(2);
    expect(page2.next_cursor).toBeNull();
    const future = (await (await h.admin(`/admin/usage/events?key_id=${k.id}&from=2999-01-01`)).json()) as { data: unknown[] };
    expect(future.data).toHaveLength(0);
    const bad = await h.admin('/admin/usage/events?from=yesterday');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('from');
  });
});

describe('operations', () => {
  it('GET /healthz answers without auth', async () => {
    const response = await fetch(`${h.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', database: 'ok' });
  });

  it('GET /metrics exposes Prometheus counters and histograms', async () => {
    const response = await fetch(`${h.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await response.text();
    expect(text).toMatch(/# TYPE sluice_requests_total counter/);
    expect(text).toMatch(/sluice_requests_total\{model="gpt-4o-mini",provider="openai",status="ok",surface="openai",tier="standard"\} \d+/);
    expect(text).toMatch(/sluice_request_duration_seconds_bucket\{.*le="\+Inf"\} \d+/);
    expect(text).toMatch(/sluice_ledger_buffer_depth \d+/);
    expect(text).toMatch(/sluice_cost_nanodollars_total\{model="gpt-4o-mini"\} \d+/);
  });

  it('unknown paths get a 404 that says where to look', async () => {
    const response = await fetch(`${h.url}/v2/nothing`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('/v1/chat/completions');
  });

  it("matches every route with Hono's RegExpRouter (a pattern it cannot compile would put the slower TrieRouter on every request)", async () => {
    await fetch(`${h.url}/healthz`);
    expect(h.gateway.sluice.app.router.name).toBe('SmartRouter + RegExpRouter');
  });

  it('the admin key is configurable and never stored in plaintext', () => {
    expect(ADMIN_KEY).toMatch(/^sk-sluice-admin/);
  });
});

describe('GET /openapi.json', () => {
  it('describes the admin API with request schemas taken from the validators', async () => {
    const response = await fetch(`${h.url}/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: { 'application/json': { schema: { properties?: Record<string, unknown>; required?: string[] } } } } }>> };
    expect(doc.openapi).toBe('3.1.0');
    const createKey = doc.paths['/admin/keys']?.post?.requestBody?.content['application/json'].schema;
    expect(createKey?.required).toEqual(['name']);
    expect(Object.keys(createKey?.properties ?? {})).toEqual(expect.arrayContaining(['name', 'team', 'project', 'tags', 'policy']));
    for (const path of ['/admin/budgets', '/admin/webhooks', '/admin/usage/events', '/admin/catalog', '/v1/sluice/route/explain', '/healthz']) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });
});
