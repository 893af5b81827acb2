// Node-only: `sluice demo` / `npm run demo` — the simulated upstream, a gateway on a scratch
// database, keys in two teams, a small mixed workload through the real HTTP front doors, and a
// spend report per team. Nothing leaves 127.0.0.1.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config';
import { silentLogger } from '../deps';
import { startNodeServer } from '../entry/node';
import type { EventView } from '../ledger/events';
import { formatUsd } from '../ledger/pricing';
import { startSim, upstreamEnvFor } from '../sim/server';
import { flag, parseArgs } from './args';

interface DemoRequest {
  team: 'search' | 'support';
  model: string;
  prompt: string;
  stream?: boolean;
  headers?: Record<string, string>;
}

const WORKLOAD: DemoRequest[] = [
  { team: 'search', model: 'gpt-4o-mini', prompt: 'Classify this query: "cheap flights to Lisbon"' },
  { team: 'search', model: 'gpt-4o', prompt: 'Write a ranking rubric for travel search results, with five weighted criteria.' },
  { team: 'search', model: 'auto:gpt-4o', prompt: 'Is "paris hotels" a navigational query? Answer yes or no.' },
  { team: 'search', model: 'claude-haiku-5-5', prompt: 'Extract the city from: "museums open late in Vienna"', stream: true },
  { team: 'search', model: 'auto:claude', prompt: 'Prove that the sum of two even numbers is even, then generalize to any integer multiple.' },
  { team: 'support', model: 'claude-sonnet-5-5', prompt: 'Draft a polite reply to a customer whose refund is delayed by a week.' },
  { team: 'support', model: 'auto:claude', prompt: 'Say hello.' },
  { team: 'support', model: 'gpt-4o-mini', prompt: 'Summarize: the printer jams when printing double-sided on A4.', stream: true },
  { team: 'support', model: 'auto', prompt: 'Translate "thank you for your patience" into French.' },
  { team: 'support', model: 'claude-opus-5-5', prompt: 'Analyze these three support tickets and find the common root cause: login loops, 2FA timeouts, session drops.' },
];

async function postJson(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

export async function demoCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const rounds = Number(flag(args, 'rounds') ?? '3');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
  const sim = await startSim({ perTokenMs: 0 });
  const adminKey = 'sk-sluice-admin-demo';
  const gateway = await startNodeServer({
    config: parseConfig({
      PORT: '0',
      SLUICE_DB_URL: `file:${join(dir, 'demo.db')}`,
      SLUICE_ADMIN_KEY: adminKey,
      ...upstreamEnvFor(sim.url),
    }),
    jobs: false,
    logger: silentLogger,
  });
  const admin = { authorization: `Bearer ${adminKey}` };
  try {
    console.log(`simulated upstream  ${sim.url}`);
    console.log(`gateway             ${gateway.url}  (database ${join(dir, 'demo.db')})\n`);
    const keys: Record<string, string> = {};
    for (const team of ['search', 'support'] as const) {
      const response = await postJson(`${gateway.url}/admin/keys`, { name: `${team}-app`, team, project: 'demo', policy: { downgrade: true } }, admin);
      keys[team] = ((await response.json()) as { key: string }).key;
      console.log(`created a key for team ${team}`);
    }

    let sent = 0;
    let failed = 0;
    for (let round = 0; round < rounds; round++) {
      for (const request of WORKLOAD) {
        const response = await postJson(
          `${gateway.url}/v1/chat/completions`,
          { model: request.model, stream: request.stream ?? false, messages: [{ role: 'user', content: `${request.prompt} (round ${round + 1})` }] },
          { authorization: `Bearer ${keys[request.team]}`, ...request.headers },
        );
        await response.text();
        sent++;
        if (!response.ok) failed++;
      }
    }
    console.log(`\nsent ${sent} requests (${failed} failed) through ${gateway.url}/v1/chat/completions\n`);

    await gateway.sluice.services.ledger.flush();
    const events: EventView[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = (await (await fetch(`${gateway.url}/admin/usage/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: admin })).json()) as {
        data: EventView[];
        next_cursor: string | null;
      };
      events.push(...page.data);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    const byTeam = new Map<string, { requests: number; input: number; output: number; cost: number; baseline: number }>();
    for (const e of events) {
      const t = byTeam.get(e.team ?? '-') ?? { requests: 0, input: 0, output: 0, cost: 0, baseline: 0 };
      t.requests++;
      t.input += e.input_tokens + e.cached_input_tokens + e.cache_write_tokens;
      t.output += e.output_tokens;
      t.cost += e.cost_nusd;
      t.baseline += e.baseline_cost_nusd;
      byTeam.set(e.team ?? '-', t);
    }
    const rows = [['team', 'requests', 'input tok', 'output tok', 'cost USD', 'baseline USD', 'saved USD']];
    for (const [team, t] of [...byTeam].sort()) {
      rows.push([team, String(t.requests), String(t.input), String(t.output), formatUsd(t.cost), formatUsd(t.baseline), formatUsd(t.baseline - t.cost)]);
    }
    console.log('Spend per team (from the ledger, exact to the nano-dollar):\n');
    console.log(table(rows));
    console.log(`\nNext: \`npm run sim\` starts the simulator on its own; \`npm start\` starts the gateway (see README.md).`);
    return failed === 0 ? 0 : 1;
  } finally {
    await gateway.close();
    await sim.close();
  }
}
