// Budget enforcement under concurrency, and alert latency, on the real stack in one process:
// the simulated upstream, the gateway (node:http, a libSQL file, default ledger flush and
// reconcile intervals) and a webhook receiver that verifies signatures with `standardwebhooks`.
//
//   npx tsx bench/budgets.ts [--rounds 5] [--concurrency 200]
//
// Admission cost: `admit` + `release` for a request under three budgets (key, team, tag), in a loop.
// Overshoot: a `block` budget sized for 100 requests takes `concurrency` simultaneous requests;
// overshoot = ledger spend − amount. Alert latency: an `alert` budget with an 80% threshold takes
// the same burst; latency = webhook arrival − the moment the request whose cost crossed 80% was
// recorded (the ledger then commits it within the flush interval and the alert goes out at once).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { flag, parseArgs } from '../src/cli/args';
import { parseConfig } from '../src/config';
import { silentLogger } from '../src/deps';
import { startNodeServer } from '../src/entry/node';
import { formatUsd } from '../src/ledger/pricing';
import { resolveRoute } from '../src/routing/resolve';
import type { LedgerEvent } from '../src/ledger/writer';
import { startSim, upstreamEnvFor } from '../src/sim/server';
import { startReceiver } from '../test/helpers/webhook-receiver';

const args = parseArgs(process.argv.slice(2));
const ROUNDS = Number(flag(args, 'rounds') ?? 5);
const CONCURRENCY = Number(flag(args, 'concurrency') ?? 200);
const ADMIN = 'sk-sluice-admin-bench';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const usd = (nusd: number): string => `$${formatUsd(nusd)}`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-budgets-'));
  // Every answer would run to 200 tokens; max_tokens 20 caps it, so each request costs the same.
  const sim = await startSim({ outputTokens: { min: 200, max: 200 } });
  const receiver = await startReceiver();
  const config = parseConfig({
    PORT: '0',
    SLUICE_DB_URL: `file:${join(dir, 'bench.db')}`,
    SLUICE_ADMIN_KEY: ADMIN,
    ...upstreamEnvFor(sim.url),
    SLUICE_WEBHOOK_ALLOW_PRIVATE: '1',
  });
  const gateway = await startNodeServer({ config, jobs: false, logger: silentLogger });
  const { services } = gateway.sluice;
  const recordedAt = new Map<string, number>();
  const add = services.ledger.add.bind(services.ledger);
  services.ledger.add = (event: LedgerEvent): void => {
    recordedAt.set(event.id, performance.now());
    add(event);
  };
  const admin = async (path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${gateway.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const spendOf = async (keyId: string): Promise<LedgerEvent[]> => {
    await services.ledger.flush();
    const rows = await services.deps.db.query.usageEvents.findMany({ where: (e, { eq }) => eq(e.keyId, keyId) });
    return rows;
  };
  const body = (i: number, maxTokens: number | undefined) => ({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user' as const, content: 'The same question, every time.' }],
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
    user: `u${i}`,
  });

  console.log(`budgets bench: ${CONCURRENCY} concurrent requests per round, ${ROUNDS} rounds, ledger flush ${config.ledgerFlushIntervalMs} ms`);
  for (const maxTokens of [20, undefined]) {
    const overshoots: number[] = [];
    const served: number[] = [];
    let amount = 0;
    let each = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const key = (await admin('/admin/keys', { name: `overshoot-${round}-${maxTokens}` })) as { id: string; key: string };
      const client = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create(body(-1, 20));
      each = (await spendOf(key.id))[0]!.costNusd;
      // Room for 100.5 requests: the half is where a check-then-count race would overshoot.
      amount = Math.round(100.5 * each);
      // The budget counts the priming request too, so `amount` is what the burst may spend.
      await admin('/admin/budgets', { scope: { type: 'key', value: key.id }, period: 'day', amount_usd: Number(((amount + each) / 1e9).toFixed(9)), action: 'block', thresholds: [] });
      const results = await Promise.allSettled(Array.from({ length: CONCURRENCY }, (_, i) => client.chat.completions.create(body(i, maxTokens))));
      served.push(results.filter((r) => r.status === 'fulfilled').length);
      const spend = (await spendOf(key.id)).reduce((sum, e) => sum + e.costNusd, 0) - each;
      overshoots.push(spend - amount);
    }
    const worst = Math.max(...overshoots);
    console.log(`  block budget of ${usd(amount)} (100.5 requests of ${usd(each)}), max_tokens ${maxTokens ?? 'absent: the reservation is the model maximum (16,384 tokens)'}`);
    console.log(`    served per round: ${served.join(', ')} of ${CONCURRENCY}`);
    console.log(`    overshoot (spend − amount) per round: ${overshoots.map(usd).join(', ')}; worst ${usd(worst)} (${((100 * worst) / amount).toFixed(2)}% of the amount)`);
  }
  console.log(`  for comparison, without reservations all ${CONCURRENCY} pass the check before any is counted: overshoot ${CONCURRENCY - 100.5} requests (${(((CONCURRENCY - 100.5) / 100.5) * 100).toFixed(0)}% of the amount)`);

  const hook = (await admin('/admin/webhooks', { url: `${receiver.url}/alerts`, events: ['budget.threshold_crossed'] })) as { id: string; secret: string };
  receiver.secret = hook.secret;
  /** One alert per round: a budget whose 80% is crossed by a burst (or by one request after another). */
  const alertLatency = async (burst: boolean): Promise<void> => {
    const latencies: number[] = [];
    const afterCommit: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      receiver.reset();
      const team = `latency-${burst ? 'burst' : 'sequential'}-${round}`;
      const key = (await admin('/admin/keys', { name: team, team })) as { id: string; key: string };
      const client = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create(body(-1, 20));
      const each = (await spendOf(key.id))[0]!.costNusd;
      const amount = Math.round((CONCURRENCY * each) / 1.25) + each;
      let committedAt = 0;
      let committed = each;
      services.ledger.onCommit((batch) => {
        for (const e of batch) if (e.keyId === key.id) committed += e.costNusd;
        if (!committedAt && committed >= amount * 0.8) committedAt = performance.now();
      });
      await admin('/admin/budgets', { scope: { type: 'team', value: team }, period: 'day', amount_usd: Number((amount / 1e9).toFixed(9)), action: 'alert', thresholds: [0.8], webhook_ids: [hook.id] });
      if (burst) await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => client.chat.completions.create(body(i, 20))));
      else for (let i = 0; i < CONCURRENCY && receiver.received.length === 0; i++) await client.chat.completions.create(body(i, 20));
      const [delivery] = await receiver.waitFor(1, 10_000);
      if (delivery!.verifyError) throw new Error(`signature did not verify: ${delivery!.verifyError}`);
      const events = (await spendOf(key.id)).filter((e) => recordedAt.has(e.id)).sort((a, b) => recordedAt.get(a.id)! - recordedAt.get(b.id)!);
      let cumulative = each;
      const crossing = events.find((e) => (cumulative += e.costNusd) >= amount * 0.8)!;
      latencies.push(delivery!.at - recordedAt.get(crossing.id)!);
      afterCommit.push(delivery!.at - committedAt);
      await new Promise((resolve) => setTimeout(resolve, 300));
      if (receiver.received.length !== 1) throw new Error(`expected one alert, got ${receiver.received.length}`);
    }
    console.log(
      `  alert latency, ${burst ? `${CONCURRENCY} concurrent requests` : 'one request at a time'}: crossing request recorded → signed webhook received: ` +
        `median ${median(latencies).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms (from the ledger commit: median ${median(afterCommit).toFixed(1)} ms); one alert per round`,
    );
  };
  await alertLatency(true);
  await alertLatency(false);

  const principal = { keyId: 'key_bench', name: 'bench', user: null, team: 'bench', project: null, tags: { env: 'bench' }, allowedModels: [], allowedFamilies: [], policy: {} };
  for (const scope of [{ type: 'key', value: 'key_bench' }, { type: 'team', value: 'bench' }, { type: 'tag', value: 'env=bench' }]) {
    await admin('/admin/budgets', { scope, period: 'month', amount_usd: 1000, action: 'block' });
  }
  const request = body(0, 200);
  const call = {
    requestId: 'req_bench',
    surface: 'openai' as const,
    principal,
    request,
    stream: false,
    hints: { tier: undefined, deadlineS: undefined, cache: undefined, route: undefined, quality: undefined, session: undefined, tags: {} },
    receivedAt: Date.now(),
    startedHr: 0,
    signal: new AbortController().signal,
  };
  const decision = resolveRoute({ catalog: services.catalog.current, principal, request, hints: call.hints });
  const loops = 200_000;
  for (let i = 0; i < 10_000; i++) services.budgets.admit(call, decision, 'standard').release();
  const began = performance.now();
  for (let i = 0; i < loops; i++) services.budgets.admit(call, decision, 'standard').release();
  console.log(`  admission (admit + release, 3 matching block budgets): ${(((performance.now() - began) / loops) * 1000).toFixed(2)} µs per request`);

  await gateway.close();
  await receiver.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
