import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { batchCommand } from '../../src/cli/batch';
import { findJob as findBatchJob, cancelJob } from '../../src/batch/manage';
import { createNodeTransport } from '../../src/entry/node-transport';
import { findJob } from '../../src/jobs';
import { TransportError, type Transport } from '../../src/providers/transport';
import type { EventView } from '../../src/ledger/events';
import { nusd, startHarness, type Harness, type HarnessOptions } from '../helpers/harness';

/**
 * Deferred (batch-tier) requests end to end: 202 through the official client, the batch job run
 * directly on an injected clock against the sim's OpenAI Batch and Anthropic Message Batches
 * APIs, the gateway restarted in between, and the ledger at the end.
 */

const START = Date.parse('2026-11-25T12:00:00Z');
const MINUTE = 60_000;
/** Each sim batch state (validating, in_progress, finalizing) lasts this long. */
const BATCH_STEP_MS = MINUTE;

// Batch prices per million tokens: gpt-5.4-mini $0.375/$2.25 (standard $0.75/$4.50),
// claude-haiku-5-5 $0.05/$0.25 (standard $0.10/$0.50).
const PRICES = {
  'gpt-5.4-mini': { batch: [0.375, 2.25], standard: [0.75, 4.5] },
  'claude-haiku-5-5': { batch: [0.05, 0.25], standard: [0.1, 0.5] },
} as const;

interface Deferred {
  id: string;
  object: string;
  status: string;
  poll_url: string;
  request_id: string;
  result?: OpenAI.Chat.Completions.ChatCompletion;
  error?: { code: string; message: string };
}

let h: Harness | undefined;
const clock = { t: START, now: () => clock.t };

async function start(options: HarnessOptions = {}): Promise<Harness> {
  clock.t = START;
  h = await startHarness({
    clock,
    sim: { now: clock.now, batchDelayMs: BATCH_STEP_MS, ...options.sim },
    env: { SLUICE_BATCH_MAX_ITEMS: '20', ...options.env },
    ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
  });
  return h;
}

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.useRealTimers();
  await h?.close();
  h = undefined;
});

/** One run of the `batch` job at the current clock, as the cron would. */
async function runBatchJob(harness: Harness): Promise<string> {
  return findJob('batch')!.run(harness.gateway.sluice.services, clock.now());
}

function advance(ms: number): void {
  clock.t += ms;
}

async function defer(client: OpenAI, model: keyof typeof PRICES | string, content: string, extra: Record<string, unknown> = {}): Promise<Deferred> {
  const { data, response } = await client.chat.completions
    .create({ model, messages: [{ role: 'user', content }], ...(model.startsWith('claude') ? { max_tokens: 300 } : {}), ...extra }, { headers: { 'x-sluice-tier': 'batch' } })
    .withResponse();
  expect(response.status).toBe(202);
  expect(response.headers.get('x-sluice-tier')).toBe('batch');
  const deferred = data as unknown as Deferred;
  expect(response.headers.get('location')).toBe(deferred.poll_url);
  return deferred;
}

async function poll(harness: Harness, key: string, deferred: Deferred): Promise<Deferred> {
  const response = await fetch(deferred.poll_url.replace(/^http:\/\/[^/]+/, harness.url), { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Deferred;
}

function batchCost(model: keyof typeof PRICES, usage: OpenAI.CompletionUsage, tier: 'batch' | 'standard' = 'batch'): number {
  const [input, output] = PRICES[model][tier];
  return nusd(usage.prompt_tokens, input) + nusd(usage.completion_tokens, output);
}

function rowsFor(events: readonly EventView[], deferred: readonly Deferred[]): EventView[] {
  const ids = new Set(deferred.map((d) => d.request_id));
  return events.filter((e) => ids.has(e.request_id));
}

/** A transport that lets batch creation reach the provider and then loses the answer, as a crash would. */
function losesCreateAnswers(paths: readonly string[]): Transport {
  const real = createNodeTransport();
  return async (request) => {
    const response = await real.transport(request);
    if (request.method === 'POST' && paths.some((p) => new URL(request.url).pathname === p)) {
      await response.text();
      throw new TransportError('connection', 'connection reset after the request was sent');
    }
    return response;
  };
}

describe('deferred requests through provider batch APIs', () => {
  it('carries 50 requests through OpenAI and Anthropic batches across restarts: each completed once, one ledger row each at batch prices', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'nightly', team: 'evals' });
    let client = harness.openai(key);

    const openaiItems: Deferred[] = [];
    const anthropicItems: Deferred[] = [];
    for (let i = 0; i < 25; i++) {
      openaiItems.push(await defer(client, 'gpt-5.4-mini', `Classify support ticket #${i}: the invoice total looks wrong.`));
      anthropicItems.push(await defer(client, 'claude-haiku-5-5', `Summarize review #${i}: great battery, weak camera.`));
    }
    const all = [...openaiItems, ...anthropicItems];
    expect(new Set(all.map((d) => d.id)).size).toBe(50);
    expect(all.every((d) => d.object === 'sluice.deferred' && d.status === 'queued')).toBe(true);
    expect((await poll(harness, key, all[0]!)).status).toBe('queued');
    // Nothing reaches the upstream and nothing is billed until the job runs.
    expect(harness.sim.stats().requests).toBe(0);
    expect(rowsFor(await harness.events(), all)).toHaveLength(0);

    // The first run packs 20 + 5 per model (SLUICE_BATCH_MAX_ITEMS=20). The answers to the first
    // OpenAI and Anthropic batch creations are lost after the provider created them.
    await harness.restartGateway({ transport: losesCreateAnswers(['/v1/batches', '/v1/messages/batches']) });
    const crashed = await runBatchJob(harness);
    expect(crashed).toMatch(/errors/);
    expect(harness.sim.stats().byRoute['POST /v1/batches']).toBe(1);
    expect(harness.sim.stats().byRoute['POST /v1/messages/batches']).toBe(1);

    // A new gateway on the same database; the next runs pack the remaining 5 + 5, and, once the
    // interrupted jobs' leases lapse, find their batches at the providers instead of resubmitting.
    await harness.restartGateway();
    client = harness.openai(key);
    advance(MINUTE);
    await runBatchJob(harness);
    const statuses = async (items: Deferred[]) => (await Promise.all(items.map((item) => poll(harness, key, item)))).map((d) => d.status).sort();
    // 5 per model submitted; 20 per model held by the interrupted jobs (still queued, not lost).
    const expected = [...Array<string>(20).fill('queued'), ...Array<string>(5).fill('submitted')];
    expect(await statuses(openaiItems)).toEqual(expected);
    expect(await statuses(anthropicItems)).toEqual(expected);

    await harness.restartGateway();
    advance(31 * MINUTE);
    const recovered = await runBatchJob(harness);
    expect(recovered).toMatch(/2 interrupted submissions reconciled/);
    advance(5 * MINUTE);
    await runBatchJob(harness);

    const stats = harness.sim.stats().byRoute;
    expect(stats['POST /v1/batches']).toBe(2);
    expect(stats['POST /v1/files']).toBe(2);
    expect(stats['POST /v1/messages/batches']).toBe(2);
    expect(stats['POST /v1/chat/completions']).toBeUndefined();

    const events = rowsFor(await harness.events(), all);
    expect(events).toHaveLength(50);
    expect(new Set(events.map((e) => e.request_id)).size).toBe(50);
    let batchTotal = 0;
    let standardTotal = 0;
    for (const [model, items] of [
      ['gpt-5.4-mini', openaiItems],
      ['claude-haiku-5-5', anthropicItems],
    ] as const) {
      for (const item of items) {
        const done = await poll(harness, key, item);
        expect(done.status).toBe('completed');
        expect(done.result?.object).toBe('chat.completion');
        expect(done.result?.choices[0]?.message.content).toBeTruthy();
        const usage = done.result!.usage!;
        const row = events.find((e) => e.request_id === item.request_id)!;
        expect(row).toMatchObject({
          tier: 'batch',
          tier_reason: 'hint',
          status: 'ok',
          served_model: model,
          team: 'evals',
          input_tokens: usage.prompt_tokens,
          output_tokens: usage.completion_tokens,
          cost_nusd: batchCost(model, usage),
          savings_nusd: { routing: 0, caching: 0, tier: batchCost(model, usage, 'standard') - batchCost(model, usage) },
        });
        batchTotal += row.cost_nusd;
        standardTotal += row.cost_nusd + row.savings_nusd.tier;
      }
    }
    console.log(
      `50-request deferred workload: batch $${(batchTotal / 1e9).toFixed(6)} vs standard $${(standardTotal / 1e9).toFixed(6)}; saving $${((standardTotal - batchTotal) / 1e9).toFixed(6)} (${((100 * (standardTotal - batchTotal)) / standardTotal).toFixed(1)}%)`,
    );
    expect(batchTotal * 2).toBeGreaterThanOrEqual(standardTotal - 50);
    expect(batchTotal * 2).toBeLessThanOrEqual(standardTotal + 50);

    // Running again changes nothing: no new submission, no second row.
    advance(MINUTE);
    await runBatchJob(harness);
    expect(harness.sim.stats().byRoute['POST /v1/batches']).toBe(2);
    expect(rowsFor(await harness.events(), all)).toHaveLength(50);
  });

  it('a failed item is reported as failed and not retried forever; the rest of its batch completes', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'jobs' });
    const client = harness.openai(key);
    const good = await defer(client, 'gpt-5.4-mini', 'Translate "hello" to French.');
    // The upstream fails this one every time it runs.
    const flaky = await defer(client, 'gpt-5.4-mini', 'Translate "goodbye" [[sim:fault=500]]');
    // Anthropic refuses this one outright: a stop sequence must contain non-whitespace.
    const invalid = await defer(client, 'claude-haiku-5-5', 'Hello', { stop: [' '] });

    for (let run = 0; run < 6; run++) {
      await runBatchJob(harness);
      advance(5 * MINUTE);
    }
    expect((await poll(harness, key, good)).status).toBe('completed');
    const failed = await poll(harness, key, flaky);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('server_error');
    expect(failed.error?.message).toMatch(/after 3 attempts/);
    const refused = await poll(harness, key, invalid);
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'invalid_request_error' } });
    expect(refused.error?.message).toMatch(/stop sequence/);

    // Three tries for the server error (SLUICE_BATCH_MAX_ATTEMPTS default), one for the refusal.
    expect(harness.sim.stats().byRoute['POST /v1/batches']).toBe(3);
    expect(harness.sim.stats().byRoute['POST /v1/messages/batches']).toBe(1);
    const rows = rowsFor(await harness.events(), [good, flaky, invalid]);
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.request_id === flaky.request_id)).toMatchObject({ status: 'error', error_type: 'server_error', http_status: 502, cost_nusd: 0, attempts: 3 });
    expect(rows.find((r) => r.request_id === invalid.request_id)).toMatchObject({ status: 'error', error_type: 'invalid_request_error', http_status: 400, cost_nusd: 0, attempts: 1 });

    for (let run = 0; run < 3; run++) {
      advance(5 * MINUTE);
      await runBatchJob(harness);
    }
    expect(harness.sim.stats().byRoute['POST /v1/batches']).toBe(3);
    expect(rowsFor(await harness.events(), [good, flaky, invalid])).toHaveLength(3);
  });

  it('a batch the provider refuses as a whole goes again in new jobs, then fails: never retried forever', async () => {
    // The providers accept fewer requests per batch than Sluice packs (a misconfigured limit).
    const harness = await start({ sim: { batchLimits: { openaiMaxRequests: 2, anthropicMaxRequests: 2 } } });
    const { key } = await harness.createKey({ name: 'big' });
    const client = harness.openai(key);
    const items: Deferred[] = [];
    for (let i = 0; i < 3; i++) items.push(await defer(client, 'gpt-5.4-mini', `Too many #${i}`), await defer(client, 'claude-haiku-5-5', `Too many #${i}`));
    for (let run = 0; run < 8; run++) {
      await runBatchJob(harness);
      advance(5 * MINUTE);
    }
    const polled = await Promise.all(items.map((item) => poll(harness, key, item)));
    for (const done of polled) expect(done).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/gave up after 3 attempts/) } });
    // OpenAI validates the file after creating the batch (it fails); Anthropic refuses the create call.
    expect(polled.filter((p) => p.error?.code === 'too_many_tasks')).toHaveLength(3);
    expect(polled.filter((p) => p.error?.code === 'batch_rejected')).toHaveLength(3);
    expect(harness.sim.stats().byRoute['POST /v1/batches']).toBe(3);
    expect(harness.sim.stats().byRoute['POST /v1/messages/batches']).toBe(3);
    expect(rowsFor(await harness.events(), items).map((r) => [r.status, r.cost_nusd, r.attempts])).toEqual(Array(6).fill(['error', 0, 3]));
  });

  it('an item that waits past its time in the queue expires, with a zero-cost row', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'late' });
    const item = await defer(harness.openai(key), 'gpt-5.4-mini', 'Too late.');
    advance(24 * 60 * MINUTE + 1);
    await runBatchJob(harness);
    const expired = await poll(harness, key, item);
    expect(expired).toMatchObject({ status: 'expired', error: { code: 'expired' } });
    expect(harness.sim.stats().requests).toBe(0);
    expect(rowsFor(await harness.events(), [item])).toEqual([expect.objectContaining({ status: 'error', error_type: 'expired', cost_nusd: 0, tier: 'batch' })]);
  });

  it('a provider batch that expires before finishing: what ran is completed and priced, the rest expired', async () => {
    // Validation takes 16 h and processing 16 h: the 24 h window closes halfway through.
    const harness = await start({ sim: { batchDelayMs: 16 * 60 * MINUTE } });
    const { key } = await harness.createKey({ name: 'slow' });
    const client = harness.openai(key);
    const items: Deferred[] = [];
    for (let i = 0; i < 10; i++) items.push(await defer(client, 'gpt-5.4-mini', `Item ${i}`));
    await runBatchJob(harness);
    advance(25 * 60 * MINUTE);
    await runBatchJob(harness);
    const polled = await Promise.all(items.map((item) => poll(harness, key, item)));
    const completed = polled.filter((p) => p.status === 'completed');
    const expired = polled.filter((p) => p.status === 'expired');
    expect(completed.length).toBeGreaterThan(0);
    expect(expired.length).toBeGreaterThan(0);
    expect(completed.length + expired.length).toBe(10);
    const rows = rowsFor(await harness.events(), items);
    expect(rows).toHaveLength(10);
    for (const done of completed) expect(rows.find((r) => r.request_id === done.request_id)?.cost_nusd).toBe(batchCost('gpt-5.4-mini', done.result!.usage!));
    for (const late of expired) expect(rows.find((r) => r.request_id === late.request_id)).toMatchObject({ status: 'error', error_type: 'expired', cost_nusd: 0 });
  });
});

describe('endings interrupted before their ledger row', () => {
  it('a run that ends items but cannot write their rows leaves them to the next run, which writes each once', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'fragile' });
    const client = harness.openai(key);
    const items = [await defer(client, 'gpt-5.4-mini', 'One.'), await defer(client, 'claude-haiku-5-5', 'Two.')];
    await runBatchJob(harness);
    advance(5 * MINUTE);
    // The database goes away between the items' ending and their ledger rows.
    const ledger = harness.gateway.sluice.services.ledger;
    const writeWith = vi.spyOn(ledger, 'writeWith').mockRejectedValue(new Error('database is locked'));
    expect(await runBatchJob(harness)).toMatch(/database is locked/);
    writeWith.mockRestore();
    for (const item of items) expect((await poll(harness, key, item)).status).toBe('completed');
    expect(rowsFor(await harness.events(), items)).toHaveLength(0);

    advance(2 * MINUTE);
    expect(await runBatchJob(harness)).toMatch(/2 endings followed up/);
    advance(2 * MINUTE);
    await runBatchJob(harness);
    const rows = rowsFor(await harness.events(), items);
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.tier === 'batch' && row.status === 'ok' && row.cost_nusd > 0)).toBe(true);
  });
});

describe('deferred.completed webhooks', () => {
  it("each ending is announced to the key's webhook, Standard-Webhooks signed; a refused delivery is retried by the webhooks job", async () => {
    const secret = `whsec_${Buffer.from('deferred-webhook-test-secret-32b').toString('base64')}`;
    const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    let refuseNext = 1;
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(refuseNext-- > 0 ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      // The receiver is on loopback, which only the development setting allows.
      const harness = await start({ configFile: { webhooks: { allow_private: true, endpoints: [{ id: 'wh_evals', url, secret }] } } });
      const { key } = await harness.createKey({ name: 'hooked', policy: { webhook_id: 'wh_evals' } });
      const silent = await harness.createKey({ name: 'no hook' });
      const client = harness.openai(key);
      const done = await defer(client, 'gpt-5.4-mini', 'Announce me.');
      const refused = await defer(client, 'claude-haiku-5-5', 'Me too.', { stop: [' '] });
      await defer(harness.openai(silent.key), 'gpt-5.4-mini', 'Nobody listens.');
      await runBatchJob(harness);
      advance(5 * MINUTE);
      await runBatchJob(harness);
      // The endings went into the webhook outbox, whose first delivery starts at once.
      await vi.waitFor(() => expect(received).toHaveLength(2));
      advance(2 * MINUTE);
      await findJob('webhooks')!.run(harness.gateway.sluice.services, clock.now());
      advance(2 * MINUTE);
      await findJob('webhooks')!.run(harness.gateway.sluice.services, clock.now());

      // Two events; the first delivery was refused (503) and sent again with the same webhook-id.
      expect(received).toHaveLength(3);
      const verifier = new Webhook(secret);
      // The receiver checks the signed send time against its own clock: here, the gateway's.
      vi.useFakeTimers({ toFake: ['Date'] });
      const events = received.map(({ headers, body }) => {
        vi.setSystemTime(Number(headers['webhook-timestamp']) * 1000);
        return {
          id: headers['webhook-id'],
          event: verifier.verify(body, headers as Record<string, string>) as { type: string; timestamp: string; data: { id: string; status: string; poll_url: string } },
        };
      });
      const forged = received[0]!;
      expect(() => new Webhook(`whsec_${Buffer.from('some-other-secret-of-32-bytes!!!').toString('base64')}`).verify(forged.body, forged.headers as Record<string, string>)).toThrow(/signature/i);
      vi.useRealTimers();
      expect(events[2]!.id).toBe(events[0]!.id);
      const byItem = new Map(events.map(({ event }) => [event.data.id, event]));
      expect([...byItem.keys()].sort()).toEqual([done.id, refused.id].sort());
      expect(byItem.get(done.id)).toMatchObject({ type: 'deferred.completed', data: { status: 'completed', poll_url: `/v1/sluice/deferred/${done.id}` } });
      expect(byItem.get(refused.id)).toMatchObject({ type: 'deferred.completed', data: { status: 'failed' } });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

describe('owning, cancelling and draining deferred requests', () => {
  it('only the owning key can read an item; others get 404 in OpenAI shape', async () => {
    const harness = await start();
    const owner = await harness.createKey({ name: 'owner' });
    const other = await harness.createKey({ name: 'other' });
    const item = await defer(harness.openai(owner.key), 'gpt-5.4-mini', 'Mine.');
    const response = await fetch(`${harness.url}/v1/sluice/deferred/${item.id}`, { headers: { authorization: `Bearer ${other.key}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'not_found' } });
    const list = (await (await fetch(`${harness.url}/v1/sluice/deferred`, { headers: { authorization: `Bearer ${other.key}` } })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(0);
    const mine = (await (await fetch(`${harness.url}/v1/sluice/deferred?status=queued`, { headers: { authorization: `Bearer ${owner.key}` } })).json()) as { data: Deferred[] };
    expect(mine.data.map((d) => d.id)).toEqual([item.id]);
    const anonymous = await fetch(`${harness.url}/v1/sluice/deferred/${item.id}`);
    expect(anonymous.status).toBe(401);
  });

  it('the owner cancels a queued item: it never reaches the upstream and leaves one zero-cost row', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'fickle' });
    const item = await defer(harness.openai(key), 'gpt-5.4-mini', 'Never mind.');
    const response = await fetch(`${harness.url}/v1/sluice/deferred/${item.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: item.id, status: 'cancelled', error: { code: 'cancelled' } });
    const again = await fetch(`${harness.url}/v1/sluice/deferred/${item.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    expect(again.status).toBe(409);
    await runBatchJob(harness);
    expect(harness.sim.stats().requests).toBe(0);
    expect(rowsFor(await harness.events(), [item])).toEqual([expect.objectContaining({ status: 'aborted', error_type: 'cancelled', cost_nusd: 0 })]);
  });

  it('the operator cancels a submitted job at the provider; its items end cancelled', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'ops' });
    const client = harness.openai(key);
    const openaiItem = await defer(client, 'gpt-5.4-mini', 'Cancel me.');
    const anthropicItem = await defer(client, 'claude-haiku-5-5', 'Cancel me too.');
    await runBatchJob(harness);
    const services = harness.gateway.sluice.services;
    const jobs = await services.deps.db.query.batchJobs.findMany();
    expect(jobs).toHaveLength(2);
    for (const job of jobs) expect((await cancelJob(services, job.id, clock.now())).status).toBe('cancelling');
    expect(harness.sim.stats().byRoute['POST /v1/batches/{batch_id}/cancel']).toBe(1);
    expect(harness.sim.stats().byRoute['POST /v1/messages/batches/{message_batch_id}/cancel']).toBe(1);
    advance(5 * MINUTE);
    await runBatchJob(harness);
    for (const item of [openaiItem, anthropicItem]) expect((await poll(harness, key, item)).status).toBe('cancelled');
    for (const job of jobs) expect((await findBatchJob(services.deps.db, job.id)).status).toBe('ended');
    expect(rowsFor(await harness.events(), [openaiItem, anthropicItem]).map((r) => r.error_type)).toEqual(['cancelled', 'cancelled']);
  });

  it('a deferred request whose answer is in the response cache is answered at once, at no cost', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'cached', policy: { response_cache: 'always' } });
    const client = harness.openai(key);
    const request = { model: 'gpt-5.4-mini', messages: [{ role: 'user' as const, content: 'What is 2 + 2?' }] };
    const first = await client.chat.completions.create(request).withResponse();
    expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
    const again = await client.chat.completions.create(request, { headers: { 'x-sluice-tier': 'batch' } }).withResponse();
    expect(again.response.status).toBe(200);
    expect(again.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(again.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    expect(await harness.gateway.sluice.services.deps.db.query.deferredItems.findMany()).toHaveLength(0);
    const hit = (await harness.events()).find((e) => e.request_id === again.response.headers.get('x-sluice-request-id'));
    expect(hit).toMatchObject({ cache: 'hit', cost_nusd: 0, attempts: 0, tier_reason: null });
  });

  it('a model sold at flex but not batch is drained at flex; a flex capacity refusal waits for a later run', async () => {
    const harness = await start({ env: { SLUICE_FLEX_BACKOFF_MS: '5', SLUICE_FLEX_BACKOFF_MAX_MS: '20' } });
    const put = await harness.admin('/admin/catalog/models/gpt-5.4-mini', { method: 'PUT', body: JSON.stringify({ tiers: ['standard', 'flex'] }) });
    expect(put.status).toBe(200);
    const { key } = await harness.createKey({ name: 'flexible' });
    const item = await defer(harness.openai(key), 'gpt-5.4-mini', 'Flex is fine.');
    harness.sim.injectFault({ fault: 'flex-capacity', times: 4, retryAfterSeconds: 0 });
    await runBatchJob(harness);
    // Three flex retries used up the capacity refusals of this run; no fallback to standard.
    expect(harness.sim.stats().byRoute['POST /v1/chat/completions']).toBe(4);
    expect((await poll(harness, key, item)).status).toBe('queued');
    advance(MINUTE);
    await runBatchJob(harness);
    const done = await poll(harness, key, item);
    expect(done.status).toBe('completed');
    expect(done.result?.service_tier).toBe('flex');
    const usage = done.result!.usage!;
    expect(rowsFor(await harness.events(), [item])).toEqual([
      expect.objectContaining({ tier: 'flex', tier_reason: 'unsupported', attempts: 1, cost_nusd: nusd(usage.prompt_tokens, 0.375) + nusd(usage.completion_tokens, 2.25) }),
    ]);
  });

  it('a model without a batch tier is drained through the synchronous API and priced as served', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'drain' });
    const item = await defer(harness.openai(key), 'gpt-6.2-astra', 'No batch for me.');
    await runBatchJob(harness);
    expect(harness.sim.stats().byRoute['POST /v1/batches']).toBeUndefined();
    expect(harness.sim.stats().byRoute['POST /v1/chat/completions']).toBe(1);
    const done = await poll(harness, key, item);
    expect(done.status).toBe('completed');
    const usage = done.result!.usage!;
    expect(rowsFor(await harness.events(), [item])).toEqual([
      expect.objectContaining({ tier: 'standard', tier_reason: 'unsupported', status: 'ok', cost_nusd: nusd(usage.prompt_tokens, 8) + nusd(usage.completion_tokens, 40) }),
    ]);
  });
});

describe('sluice batch', () => {
  /** Runs the command in-process against the harness's database and sim; returns its exit code and output. */
  async function sluiceBatch(harness: Harness, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    vi.stubEnv('SLUICE_DB_URL', harness.dbUrl);
    vi.stubEnv('OPENAI_BASE_URL', `${harness.sim.url}/v1`);
    vi.stubEnv('OPENAI_API_KEY', 'sk-upstream-openai');
    vi.stubEnv('ANTHROPIC_BASE_URL', harness.sim.url);
    vi.stubEnv('ANTHROPIC_API_KEY', 'sk-upstream-anthropic');
    vi.stubEnv('SLUICE_CONFIG', '');
    let out = '';
    let err = '';
    const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void (out += `${String(line)}\n`));
    const error = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void (err += `${String(line)}\n`));
    try {
      return { code: await batchCommand(argv), out, err };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  it('lists jobs with the queue, shows a job and a request, cancels a queued request and a submitted job', async () => {
    const harness = await start();
    const { key } = await harness.createKey({ name: 'cli' });
    const client = harness.openai(key);
    const sent = await defer(client, 'gpt-5.4-mini', 'In a job.');
    await runBatchJob(harness);
    const waiting = await defer(client, 'gpt-5.4-mini', 'Still queued.');

    const list = await sluiceBatch(harness, 'list', '--json');
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.out) as { queue: Record<string, number>; jobs: Array<{ id: string; status: string; item_count: number; upstream_id: string }> };
    expect(listed.queue).toEqual({ queued: 1, submitted: 1 });
    expect(listed.jobs).toHaveLength(1);
    const job = listed.jobs[0]!;
    expect(job).toMatchObject({ status: 'submitted', item_count: 1, upstream_id: expect.stringMatching(/^batch_/) });

    const shown = await sluiceBatch(harness, 'show', job.id, '--json');
    expect((JSON.parse(shown.out) as { items: Deferred[] }).items.map((i) => i.id)).toEqual([sent.id]);
    const request = await sluiceBatch(harness, 'show', waiting.id);
    expect(request.out).toMatch(/status: queued/);

    expect((await sluiceBatch(harness, 'cancel', waiting.id)).out).toMatch(/status: cancelled/);
    expect((await sluiceBatch(harness, 'cancel', job.id)).out).toMatch(/cancelling/);
    expect(harness.sim.stats().byRoute['POST /v1/batches/{batch_id}/cancel']).toBe(1);
    const again = await sluiceBatch(harness, 'cancel', job.id);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/is cancelling; only preparing or submitted jobs can be cancelled/);

    const missing = await sluiceBatch(harness, 'show', 'dfr_nope');
    expect(missing).toMatchObject({ code: 1, err: expect.stringMatching(/No batch job or deferred request "dfr_nope"/) });
    await expect(sluiceBatch(harness, 'frobnicate')).rejects.toThrow(/sluice batch list/);
  });
});
