// What caching saves, priced by the ledger: N requests sharing a long system prompt (each with its
// own question, so only provider prompt caching can help), with Sluice's prompt caching on (the
// default) vs off (policy prompt_caching: false); and N identical deterministic requests with the
// response cache on vs off. The gateway runs in front of the simulated upstream on loopback, with
// a clock that advances `--gap` seconds per request.
//
//   npx tsx bench/caching-savings.ts [--n 100] [--tokens 4000] [--gap 6] [--models claude-sonnet-5-5,claude-opus-5-5,gpt-6.1-terra]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, parseArgs } from '../src/cli/args';
import { parseConfig } from '../src/config';
import { silentLogger } from '../src/deps';
import { startNodeServer } from '../src/entry/node';
import type { EventView } from '../src/ledger/events';
import { formatUsd } from '../src/ledger/pricing';
import { startSim, upstreamEnvFor } from '../src/sim/server';

const args = parseArgs(process.argv.slice(2));
const N = Number(flag(args, 'n') ?? 100);
const TOKENS = Number(flag(args, 'tokens') ?? 4000);
const GAP_MS = Number(flag(args, 'gap') ?? 6) * 1000;
const MODELS = (flag(args, 'models') ?? 'claude-sonnet-5-5,claude-opus-5-5,gpt-6.1-terra').split(',');
const ADMIN = 'sk-sluice-admin-bench';

const clock = { t: Date.UTC(2026, 10, 25, 9), now: () => clock.t };

/** Exactly `tokens` tokens under the sim's tokenizer: one per short word. */
const SYSTEM = Array.from({ length: TOKENS }, (_, i) => ['policy', 'ledger', 'answer', 'route'][i % 4]).join(' ');

interface Arm {
  requests: number;
  cost: number;
  baseline: number;
  caching: number;
  cachedTokens: number;
  writeTokens: number;
}

function summarize(events: EventView[]): Arm {
  return events.reduce<Arm>(
    (sum, e) => ({
      requests: sum.requests + 1,
      cost: sum.cost + e.cost_nusd,
      baseline: sum.baseline + e.baseline_cost_nusd,
      caching: sum.caching + e.savings_nusd.caching,
      cachedTokens: sum.cachedTokens + e.cached_input_tokens,
      writeTokens: sum.writeTokens + e.cache_write_tokens,
    }),
    { requests: 0, cost: 0, baseline: 0, caching: 0, cachedTokens: 0, writeTokens: 0 },
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const sim = await startSim({ now: clock.now });
  const config = parseConfig({
    PORT: '0',
    SLUICE_DB_URL: `file:${join(dir, 'bench.db')}`,
    SLUICE_ADMIN_KEY: ADMIN,
    ...upstreamEnvFor(sim.url),
  });
  const gateway = await startNodeServer({ config, jobs: false, logger: silentLogger, clock });
  const admin = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' } });
  const createKey = async (policy: Record<string, unknown>): Promise<{ id: string; key: string }> =>
    (await (await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'bench', policy }) })).json()) as { id: string; key: string };
  const chat = async (key: string, body: Record<string, unknown>): Promise<void> => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
    await response.text();
    clock.t += GAP_MS;
  };
  const eventsOf = async (keyId: string): Promise<EventView[]> => {
    await gateway.sluice.services.ledger.flush();
    return ((await (await admin(`/admin/usage/events?key_id=${keyId}&limit=1000`)).json()) as { data: EventView[] }).data;
  };
  const usd = (nusd: number): string => `$${formatUsd(nusd)}`;
  const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;

  try {
    console.log(`${N} requests per arm, one every ${GAP_MS / 1000} s of simulated time, Node ${process.version}\n`);
    console.log(`Provider prompt caching: a shared ${TOKENS}-token system prompt, a different question each time\n`);
    console.log('| model | caching | cost | baseline | caching savings | cached tokens | cache-write tokens |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const model of MODELS) {
      const results: Record<string, Arm> = {};
      for (const [arm, policy] of [
        ['off', { prompt_caching: false, response_cache: 'off' }],
        ['on', { response_cache: 'off' }],
      ] as const) {
        // Both arms send the same requests; the upstream's caches start empty for each.
        sim.reset();
        const { id, key } = await createKey(policy);
        for (let i = 0; i < N; i++) await chat(key, { model, max_tokens: 40, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `Question ${i}: what does rule ${i} say?` }] });
        const a = summarize(await eventsOf(id));
        results[arm] = a;
        console.log(`| ${model} | ${arm} | ${usd(a.cost)} | ${usd(a.baseline)} | ${usd(a.caching)} | ${a.cachedTokens} | ${a.writeTokens} |`);
      }
      const off = results.off!;
      const on = results.on!;
      console.log(`| ${model} | **saving** | **${usd(off.cost - on.cost)}** (${pct(off.cost - on.cost, off.cost)} of the cost) | | | | |`);
    }
    console.log('\n(OpenAI caches prompts of 1,024+ tokens automatically with or without Sluice; Sluice adds a prompt_cache_key to keep requests sharing a prefix on the same cache.)');

    console.log(`\nResponse cache: ${N} identical deterministic requests (temperature 0; prompt caching on in both arms)\n`);
    console.log('| model | response cache | cost | baseline | caching savings | upstream calls |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const model of MODELS) {
      const costs: Record<string, number> = {};
      for (const [arm, policy] of [
        ['off', { response_cache: 'off' }],
        ['on', {}],
      ] as const) {
        sim.reset();
        const { id, key } = await createKey(policy);
        for (let i = 0; i < N; i++) await chat(key, { model, max_tokens: 40, temperature: 0, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'What does rule 7 say?' }] });
        const a = summarize(await eventsOf(id));
        costs[arm] = a.cost;
        console.log(`| ${model} | ${arm} | ${usd(a.cost)} | ${usd(a.baseline)} | ${usd(a.caching)} | ${sim.stats().requests} |`);
      }
      console.log(`| ${model} | **saving** | **${usd(costs.off! - costs.on!)}** (${pct(costs.off! - costs.on!, costs.off!)} of the cost) | | | |`);
    }
  } finally {
    await gateway.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
