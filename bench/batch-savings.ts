// What the batch tier saves on a 50-request workload (25 gpt-5.4-mini + 25 claude-haiku-5-5):
// the same requests sent once at standard and once deferred (x-sluice-tier: batch) through the
// gateway to the sim, the batch job run on a stepped clock, and the two ledgers compared.
//
//   npx tsx bench/batch-savings.ts [--n 25]
import { flag, parseArgs } from '../src/cli/args';
import { findJob } from '../src/jobs';
import { formatUsd } from '../src/ledger/pricing';
import { startHarness } from '../test/helpers/harness';

const args = parseArgs(process.argv.slice(2));
const N = Number(flag(args, 'n') ?? 25);
const MODELS = ['gpt-5.4-mini', 'claude-haiku-5-5'] as const;

function prompt(model: string, i: number): string {
  return model.startsWith('gpt')
    ? `Classify support ticket #${i}: the customer says the invoice total does not match the order.`
    : `Summarize product review #${i}: great battery life, the camera struggles in low light.`;
}

async function main(): Promise<void> {
  let now = Date.parse('2026-11-25T00:00:00Z');
  const clock = { now: () => now };
  // The test harness: a real gateway on loopback with a libSQL file, in front of the sim.
  const h = await startHarness({ clock, sim: { now: clock.now, batchDelayMs: 60_000 } });
  try {
    const { key } = await h.createKey({ name: 'bench' });
    const send = async (model: string, i: number, tier: 'standard' | 'batch'): Promise<number> => {
      const body = { model, messages: [{ role: 'user', content: prompt(model, i) }], ...(model.startsWith('claude') ? { max_tokens: 300 } : {}) };
      const response = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-sluice-tier': tier },
        body: JSON.stringify(body),
      });
      await response.arrayBuffer();
      return response.status;
    };
    for (const tier of ['standard', 'batch'] as const) {
      for (const model of MODELS) {
        for (let i = 0; i < N; i++) {
          const status = await send(model, i, tier);
          if (status !== (tier === 'batch' ? 202 : 200)) throw new Error(`${tier} ${model} #${i}: HTTP ${status}`);
        }
      }
    }
    const job = findJob('batch')!;
    for (let run = 0; run < 6; run++) {
      await job.run(h.gateway.sluice.services, now);
      now += 2 * 60_000;
    }
    const events = await h.events();

    const rows: string[][] = [['model', 'requests', 'standard', 'batch', 'saving', 'saving %']];
    let standardTotal = 0;
    let batchTotal = 0;
    for (const model of MODELS) {
      const of = (tier: string) => events.filter((e) => e.served_model === model && e.tier === tier && e.status === 'ok');
      const standard = of('standard');
      const batch = of('batch');
      if (standard.length !== N || batch.length !== N) throw new Error(`${model}: ${standard.length} standard and ${batch.length} batch rows, expected ${N} each`);
      const s = standard.reduce((sum, e) => sum + e.cost_nusd, 0);
      const b = batch.reduce((sum, e) => sum + e.cost_nusd, 0);
      standardTotal += s;
      batchTotal += b;
      rows.push([model, String(N), `$${formatUsd(s)}`, `$${formatUsd(b)}`, `$${formatUsd(s - b)}`, `${((100 * (s - b)) / s).toFixed(1)}%`]);
    }
    rows.push(['total', String(N * MODELS.length), `$${formatUsd(standardTotal)}`, `$${formatUsd(batchTotal)}`, `$${formatUsd(standardTotal - batchTotal)}`, `${((100 * (standardTotal - batchTotal)) / standardTotal).toFixed(1)}%`]);
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
  } finally {
    await h.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
