// Scorer speed: the complexity scorer (scoring/, shipped weights) on prompts of 1 KB, 10 KB and
// 100 KB, each call timed on its own with hrtime, on one core, the request already parsed (as
// the gateway holds it). Prints one JSON object.
//
//   node --import tsx bench/scorer-speed.ts [--runs 2000]
import { flag, parseArgs } from '../src/cli/args';
import { scoreOnly, type ScoringRequest } from '../scoring/index';
import { quantile } from './lib/stats';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(flag(args, 'runs') ?? 2000);
const SIZES = [1_000, 10_000, 100_000];

/** Mixed prose, code and arithmetic, so every feature family of the scorer has work to do. */
const PIECES = [
  'Summarise the customer ticket below in two sentences and suggest the next step for the support team. ',
  'The export job fails when the date range spans a month boundary; rows are duplicated in the CSV. ',
  'function total(rows) { return rows.reduce((sum, row) => sum + row.amount, 0); }\n',
  'Prove that for every integer n > 1 the sum 1 + 2 + ... + n equals n(n + 1) / 2, step by step. ',
  'Translate into French: "The meeting is moved to Thursday at 10:00, please confirm." ',
  'SELECT team, sum(cost_nusd) FROM usage_events WHERE time >= 1790000000000 GROUP BY team;\n',
];

function prompt(chars: number, variant: number): string {
  let text = '';
  for (let i = variant; text.length < chars; i++) text += PIECES[i % PIECES.length];
  return text.slice(0, chars);
}

const sizes = SIZES.map((chars) => {
  const requests: ScoringRequest[] = Array.from({ length: 8 }, (_, v) => ({
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: prompt(chars, v) },
    ],
  }));
  for (const request of requests) for (let i = 0; i < 50; i++) scoreOnly(request);
  const runs = Math.max(50, Math.round((RUNS * 1000) / chars) * 10);
  const samples: number[] = [];
  let sink = 0;
  for (let run = 0; run < runs; run++) {
    const request = requests[run % requests.length]!;
    const started = process.hrtime.bigint();
    sink += scoreOnly(request);
    samples.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  if (Number.isNaN(sink)) throw new Error('the scorer returned NaN');
  return { chars, runs, p50Us: quantile(samples, 0.5), p99Us: quantile(samples, 0.99), meanUs: samples.reduce((a, b) => a + b, 0) / samples.length };
});
console.log(JSON.stringify({ sizes }));
