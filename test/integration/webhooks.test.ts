import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeliveryView } from '../../src/webhooks/deliveries';
import { retryDelayMs } from '../../src/webhooks/dispatcher';
import { syncConfiguredEndpoints } from '../../src/webhooks/endpoints';
import { enqueueEvent } from '../../src/webhooks/outbox';
import { findJob } from '../../src/jobs';
import { resolveHost } from '../../src/entry/node-dns';
import { startHarness, type Harness } from '../helpers/harness';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

const clock = { t: Date.now(), now: () => clock.t };
const random = (): number => 0.5;

let h: Harness;
let receiver: WebhookReceiver;

interface Created {
  id: string;
  secret: string;
  url: string;
  events: string[];
  format: string;
  enabled: boolean;
}

async function register(body: Record<string, unknown>, harness = h): Promise<Response> {
  return harness.admin('/admin/webhooks', { method: 'POST', body: JSON.stringify(body) });
}

async function endpoint(path: string, events: string[] = ['report.ready'], extra: Record<string, unknown> = {}): Promise<Created> {
  const response = await register({ url: `${receiver.url}${path}`, events, ...extra });
  expect(response.status, await response.clone().text()).toBe(201);
  const created = (await response.json()) as Created;
  receiver.secret = created.secret;
  return created;
}

async function deliveries(id: string): Promise<DeliveryView[]> {
  const response = await h.admin(`/admin/webhooks/${id}/deliveries`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: DeliveryView[] }).data;
}

const runDeliveryJob = async (): Promise<string> => {
  vi.setSystemTime(clock.t);
  return findJob('webhooks')!.run(h.gateway.sluice.services, clock.t);
};

beforeAll(async () => {
  receiver = await startReceiver();
  h = await startHarness({ env: { SLUICE_WEBHOOK_ALLOW_PRIVATE: '1', SLUICE_WEBHOOK_TIMEOUT_MS: '300' }, clock, random });
});

afterAll(async () => {
  await h.close();
  await receiver.close();
});

beforeEach(() => {
  receiver.reset();
  vi.useFakeTimers({ toFake: ['Date'] });
  clock.t = Date.now();
});

afterEach(async () => {
  vi.useRealTimers();
  // Each test starts with no endpoints, so one test's subscriptions never receive another's events.
  const { data } = (await (await h.admin('/admin/webhooks')).json()) as { data: { id: string }[] };
  for (const { id } of data) await h.admin(`/admin/webhooks/${id}`, { method: 'DELETE' });
});

describe('POST /admin/webhooks', () => {
  it('registers an endpoint, shows a whsec_ secret once, and never again', async () => {
    const created = await endpoint('/crud', ['budget.threshold_crossed', 'budget.blocked'], { description: 'finance channel' });
    expect(created.id).toMatch(/^wh_/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(created).toMatchObject({ events: ['budget.threshold_crossed', 'budget.blocked'], format: 'standard', enabled: true });
    const fetched = (await (await h.admin(`/admin/webhooks/${created.id}`)).json()) as Record<string, unknown>;
    expect(fetched).not.toHaveProperty('secret');
    const listed = (await (await h.admin('/admin/webhooks')).json()) as { data: Record<string, unknown>[] };
    expect(listed.data.find((w) => w.id === created.id)).not.toHaveProperty('secret');

    const patched = await h.admin(`/admin/webhooks/${created.id}`, { method: 'PATCH', body: JSON.stringify({ events: ['*'], enabled: false }) });
    expect(await patched.json()).toMatchObject({ events: ['*'], enabled: false });
    const deleted = await h.admin(`/admin/webhooks/${created.id}`, { method: 'DELETE' });
    expect(await deleted.json()).toEqual({ id: created.id, deleted: true });
    expect((await h.admin(`/admin/webhooks/${created.id}`)).status).toBe(404);
  });

  it('keeps a secret the caller supplies', async () => {
    const secret = `whsec_${btoa('0123456789abcdef0123456789abcdef')}`;
    const response = await register({ url: `${receiver.url}/own`, events: ['report.ready'], secret });
    expect(((await response.json()) as Created).secret).toBe(secret);
  });

  it.each([
    [{ events: ['report.ready'] }, 'url'],
    [{ url: 'not a url', events: ['report.ready'] }, 'not a valid absolute URL'],
    [{ url: 'https://hooks.example.com/x', events: [] }, 'at least one event type'],
    [{ url: 'https://hooks.example.com/x', events: ['budget.exploded'] }, 'unknown event type "budget.exploded"'],
    [{ url: 'https://hooks.example.com/x', events: ['report.ready'], secret: 'hunter2' }, 'start with "whsec_"'],
    [{ url: 'https://hooks.example.com/x', events: ['report.ready'], format: 'teams' }, 'format'],
    [{ url: 'https://hooks.example.com/x', events: ['report.ready'], colour: 'red' }, 'colour'],
  ])('refuses %j with a 400 that names the problem', async (body, problem) => {
    const response = await register(body);
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string; code: string } }).error;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain(problem);
  });
});

describe('delivery', () => {
  it('signs every message per Standard Webhooks; the receiver verifies it with the standardwebhooks package', async () => {
    const created = await endpoint('/signed');
    const event = await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_1', url: 'https://example.com/r' });
    expect(event.created).toBe(true);
    const [message] = await receiver.waitFor(1);
    expect(message!.verifyError).toBeUndefined();
    expect(message!.headers['webhook-id']).toBe(event.id);
    expect(message!.headers['content-type']).toBe('application/json');
    expect(message!.verified).toEqual({ type: 'report.ready', timestamp: new Date(clock.t).toISOString(), data: { id: 'rep_1', url: 'https://example.com/r' } });
    await vi.waitFor(async () => expect((await deliveries(created.id))[0]?.status).toBe('succeeded'));
  });

  it('a receiver that fails three times and then succeeds gets exactly one accepted delivery', async () => {
    const created = await endpoint('/flaky');
    receiver.reply = (n) => ({ status: n < 3 ? 503 : 200 });
    const event = await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_flaky' }, { kick: false });
    const start = clock.t;

    expect(await runDeliveryJob()).toBe('1 attempts: 0 delivered, 1 to retry, 0 failed');
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [delivery] = await deliveries(created.id);
      const next = Date.parse(delivery!.next_attempt_at!);
      waits.push(next - clock.t);
      // Not due yet: a run a moment early sends nothing.
      clock.t = next - 1;
      expect(await runDeliveryJob()).toBe('0 attempts: 0 delivered, 0 to retry, 0 failed');
      clock.t = next;
      await runDeliveryJob();
    }
    expect(waits).toEqual([1, 2, 3].map((n) => retryDelayMs(n, random)));
    // A day later nothing more is sent.
    clock.t += 86_400_000;
    expect(await runDeliveryJob()).toBe('0 attempts: 0 delivered, 0 to retry, 0 failed');

    expect(receiver.received.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(receiver.received.filter((r) => r.status >= 200 && r.status < 300)).toHaveLength(1);
    expect(receiver.received.every((r) => r.verifyError === undefined)).toBe(true);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.id]));
    const timestamps = receiver.received.map((r) => Number(r.headers['webhook-timestamp']));
    expect(timestamps[0]).toBe(Math.floor(start / 1000));
    expect(new Set(timestamps).size).toBe(4);

    const [log] = await deliveries(created.id);
    expect(log).toMatchObject({ status: 'succeeded', attempts: 4, last_status: 200, next_attempt_at: null });
    expect(log!.attempt_log.map((a) => a.status)).toEqual([503, 503, 503, 200]);
    expect(log!.attempt_log[0]!.error).toBe('the receiver answered 503');
  });

  it('does not retry other 4xx answers', async () => {
    const created = await endpoint('/bad-request');
    receiver.reply = () => ({ status: 400, body: '{"error":"unknown field"}' });
    await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_400' }, { kick: false });
    await runDeliveryJob();
    clock.t += 86_400_000;
    await runDeliveryJob();
    expect(receiver.received).toHaveLength(1);
    const [log] = await deliveries(created.id);
    expect(log).toMatchObject({ status: 'failed', attempts: 1, last_status: 400 });
    expect(log!.attempt_log[0]!.response).toBe('{"error":"unknown field"}');
  });

  it('retries 408, 429 (after its Retry-After) and timeouts', async () => {
    const created = await endpoint('/slow');
    receiver.reply = (n) => (n === 0 ? { status: 429, headers: { 'retry-after': '3600' } } : n === 1 ? { status: 408 } : n === 2 ? { status: 200, delayMs: 1000 } : { status: 200 });
    await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_slow' }, { kick: false });
    await runDeliveryJob();
    let [log] = await deliveries(created.id);
    expect(Date.parse(log!.next_attempt_at!) - clock.t).toBe(3_600_000);
    clock.t += 3_600_000;
    await runDeliveryJob();
    clock.t += 86_400_000;
    await runDeliveryJob();
    [log] = await deliveries(created.id);
    expect(log!.attempt_log.map((a) => a.status)).toEqual([429, 408, null]);
    expect(log!.attempt_log[2]!.error).toMatch(/^timeout/);
    expect(log!.status).toBe('pending');
    clock.t += 86_400_000;
    await runDeliveryJob();
    [log] = await deliveries(created.id);
    expect(log).toMatchObject({ status: 'succeeded', attempts: 4 });
  });

  it('stops after eight attempts, and a failed delivery can be replayed by hand', async () => {
    const created = await endpoint('/down');
    receiver.reply = () => ({ status: 500 });
    await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_down' }, { kick: false });
    for (let i = 0; i < 10; i++) {
      await runDeliveryJob();
      clock.t += 13 * 3_600_000;
    }
    let [log] = await deliveries(created.id);
    expect(log).toMatchObject({ status: 'failed', attempts: 8 });
    expect(receiver.received).toHaveLength(8);

    receiver.reply = () => ({ status: 200 });
    const retry = await h.admin(`/admin/webhooks/${created.id}/deliveries/${log!.id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(202);
    await receiver.waitFor(9);
    await vi.waitFor(async () => expect((await deliveries(created.id))[0]?.status).toBe('succeeded'));
    [log] = await deliveries(created.id);
    expect(log!.attempts).toBe(9);
    const again = await h.admin(`/admin/webhooks/${created.id}/deliveries/${log!.id}/retry`, { method: 'POST' });
    expect(again.status).toBe(409);
  });

  it('410 Gone disables the endpoint', async () => {
    const created = await endpoint('/gone');
    receiver.reply = () => ({ status: 410 });
    await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_gone' }, { kick: false });
    await runDeliveryJob();
    const view = (await (await h.admin(`/admin/webhooks/${created.id}`)).json()) as { enabled: boolean; disabled_reason: string };
    expect(view).toMatchObject({ enabled: false, disabled_reason: 'the receiver answered 410 Gone' });
    const next = await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_gone_2' });
    expect(next.deliveryIds).toEqual([]);
  });

  it('deleting an endpoint cancels what it has not received yet', async () => {
    const created = await endpoint('/deleted');
    await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_cancel' }, { kick: false });
    await h.admin(`/admin/webhooks/${created.id}`, { method: 'DELETE' });
    await runDeliveryJob();
    expect(receiver.received).toHaveLength(0);
  });

  it('sends a Slack-compatible body when asked, still signed', async () => {
    const created = await endpoint('/slack', ['report.ready'], { format: 'slack' });
    await enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_slack' });
    const [message] = await receiver.waitFor(1);
    expect(message!.verifyError).toBeUndefined();
    const body = JSON.parse(message!.body) as { text: string };
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toContain('rep_slack');
    await vi.waitFor(async () => expect((await deliveries(created.id))[0]?.status).toBe('succeeded'));
  });
});

describe('enqueueEvent', () => {
  it('goes only to enabled endpoints subscribed to the type, narrowed by endpointIds', async () => {
    const a = await endpoint('/a', ['deferred.completed']);
    const b = await endpoint('/b', ['*']);
    await endpoint('/c', ['report.ready']);
    const all = await enqueueEvent(h.gateway.sluice.services, 'deferred.completed', { id: 'def_1', status: 'completed' }, { kick: false });
    expect(all.deliveryIds).toHaveLength(2);
    const only = await enqueueEvent(h.gateway.sluice.services, 'deferred.completed', { id: 'def_2', status: 'completed' }, { endpointIds: [a.id], kick: false });
    expect(only.deliveryIds).toHaveLength(1);
    expect((await deliveries(a.id)).length).toBe(2);
    expect((await deliveries(b.id)).length).toBe(1);
  });

  it('is idempotent by key, even when called concurrently', async () => {
    const created = await endpoint('/once');
    const calls = await Promise.all(
      Array.from({ length: 20 }, () => enqueueEvent(h.gateway.sluice.services, 'report.ready', { id: 'rep_once' }, { idempotencyKey: 'report:rep_once', kick: false })),
    );
    expect(new Set(calls.map((c) => c.id)).size).toBe(1);
    expect(calls.filter((c) => c.created)).toHaveLength(1);
    expect(await deliveries(created.id)).toHaveLength(1);
  });

  it('validates the data for the type before writing anything', async () => {
    await endpoint('/never', ['deferred.completed']);
    await expect(enqueueEvent(h.gateway.sluice.services, 'deferred.completed', { status: 'completed' })).rejects.toThrow(/Invalid 'id'/);
    await runDeliveryJob();
    expect(receiver.received).toHaveLength(0);
  });
});

describe('POST /admin/webhooks/{id}/test', () => {
  it('sends one signed test event and reports the answer', async () => {
    const created = await endpoint('/test-ok', ['budget.blocked']);
    const response = await h.admin(`/admin/webhooks/${created.id}/test`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ delivered: true, status: 204, error: null });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.verified).toMatchObject({ type: 'webhook.test', data: { endpoint_id: created.id } });
  });

  it('reports a failing receiver without scheduling retries', async () => {
    const created = await endpoint('/test-fail');
    receiver.reply = () => ({ status: 500 });
    const result = (await (await h.admin(`/admin/webhooks/${created.id}/test`, { method: 'POST' })).json()) as { delivered: boolean; status: number; error: string };
    expect(result).toMatchObject({ delivered: false, status: 500, error: 'the receiver answered 500' });
    clock.t += 86_400_000;
    await runDeliveryJob();
    expect(receiver.received).toHaveLength(1);
    expect((await deliveries(created.id))[0]).toMatchObject({ status: 'failed', attempts: 1, max_attempts: 1 });
    expect((await h.admin('/admin/webhooks/wh_nope/test', { method: 'POST' })).status).toBe(404);
  });
});

describe('SSRF guard (SLUICE_WEBHOOK_ALLOW_PRIVATE off)', () => {
  let strict: Harness;
  const dns = new Map<string, string[]>([['hooks.partner.example', ['93.184.216.34']]]);

  beforeAll(async () => {
    vi.useRealTimers();
    strict = await startHarness({
      resolveHost: async (host) => {
        const answer = dns.get(host);
        if (!answer) throw new Error(`ENOTFOUND ${host}`);
        return answer;
      },
    });
  });

  afterAll(async () => {
    await strict.close();
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data/iam/', 'is a link-local address'],
    ['https://10.0.0.1/hook', 'is a private address'],
    ['https://[::1]:PORT/hook', 'is a loopback address'],
    ['https://0x7f.1:PORT/hook', '127.0.0.1 is a loopback address'],
    ['https://[::ffff:127.0.0.1]:PORT/hook', 'IPv4-mapped form of 127.0.0.1'],
    ['https://loopback.partner.example:PORT/hook', 'resolves to 127.0.0.1, a loopback address'],
    ['https://localhost:PORT/hook', 'internal host name'],
    ['http://hooks.partner.example/hook', 'plain http'],
  ])('refuses %s with a clear 400 and makes no connection', async (template, reason) => {
    dns.set('loopback.partner.example', ['127.0.0.1']);
    const before = receiver.connections();
    const response = await register({ url: template.replace('PORT', String(receiver.port)), events: ['budget.blocked'] }, strict);
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string; param: string } }).error;
    expect(error.param).toBe('url');
    expect(error.message).toContain(reason);
    expect(error.message).toContain('SLUICE_WEBHOOK_ALLOW_PRIVATE=1');
    expect(receiver.connections()).toBe(before);
    expect(((await (await strict.admin('/admin/webhooks')).json()) as { data: unknown[] }).data).toHaveLength(0);
  });

  it('checks again at send time: a name that re-resolves to loopback is refused without connecting', async () => {
    const response = await register({ url: `https://hooks.partner.example:${receiver.port}/hook`, events: ['report.ready'] }, strict);
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as Created;
    dns.set('hooks.partner.example', ['127.0.0.1']);
    const before = receiver.connections();
    await enqueueEvent(strict.gateway.sluice.services, 'report.ready', { id: 'rep_rebind' }, { kick: false });
    await findJob('webhooks')!.run(strict.gateway.sluice.services, Date.now());
    expect(receiver.connections()).toBe(before);
    const log = ((await (await strict.admin(`/admin/webhooks/${id}/deliveries`)).json()) as { data: DeliveryView[] }).data[0]!;
    expect(log).toMatchObject({ status: 'failed', attempts: 1, last_status: null });
    expect(log.last_error).toContain('refused by the SSRF guard');
    expect(log.last_error).toContain('resolves to 127.0.0.1');
  });

  it('the Node resolver returns every address of a name', async () => {
    expect(await resolveHost('localhost')).toContain('127.0.0.1');
  });
});

describe('endpoints declared in the config file', () => {
  it('are upserted under their ids at start, and checked like any other', async () => {
    vi.useRealTimers();
    const secret = `whsec_${btoa('config-declared-secret-of-32-byt')}`;
    const harness = await startHarness({
      configFile: { webhooks: { endpoints: [{ id: 'wh_ops', url: 'https://hooks.partner.example/ops', secret, events: ['budget.blocked', 'deferred.completed'] }] } },
      resolveHost: async () => ['93.184.216.34'],
    });
    try {
      const view = (await (await harness.admin('/admin/webhooks/wh_ops')).json()) as Record<string, unknown>;
      expect(view).toMatchObject({ id: 'wh_ops', url: 'https://hooks.partner.example/ops', events: ['budget.blocked', 'deferred.completed'], enabled: true });
      expect(view).not.toHaveProperty('secret');
      const { services } = harness.gateway.sluice;
      const policy = services.webhooks.options.urlPolicy;
      await expect(syncConfiguredEndpoints(services.deps.db, policy, [{ id: 'wh_bad', url: 'https://10.0.0.1/hook', secret }], Date.now())).rejects.toThrow(
        /config file webhooks\.endpoints "wh_bad": The webhook URL "https:\/\/10\.0\.0\.1\/hook" is not allowed: 10\.0\.0\.1 is a private address/,
      );
      await expect(syncConfiguredEndpoints(services.deps.db, policy, [{ id: 'wh_weak', url: 'https://hooks.partner.example/', secret: `whsec_${btoa('short')}` }], Date.now())).rejects.toThrow(/24-64 bytes/);
      expect((await harness.admin('/admin/webhooks/wh_bad')).status).toBe(404);
    } finally {
      await harness.close();
    }
  });
});
