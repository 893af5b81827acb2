// Scorer speed on 1 KB, 4 KB, 10 KB and 100 KB prompts: µs per prompt (p50/p99) and ns per
// character, one core, warm. Run: npx tsx bench/scorer.ts
import { loadavg } from 'node:os';
import { scoreOnly, type ScoringRequest } from '../scoring/index';

/** Prose, code, math and a word problem, so every branch of the scanner is exercised. */
const PASSAGES = [
  'Explain, step by step, why the trade-offs between consistency and availability matter when a partition happens. ',
  'Write a Python function `merge_intervals(items: list[tuple[int, int]])` that returns the merged list.\n```python\ndef merge_intervals(items):\n    items.sort()\n    return items\n```\n',
  'Let $f(x) = \\frac{x^2 + 3x}{\\sqrt{x - 1}}$. Find all real $x$ such that $f(x) \\le 12$, and prove that the set is bounded. ',
  'Janet has 16 eggs. She eats three and sells the rest at $2 each; how many dollars does she make every day? ',
  '- Summarize the report in exactly three bullet points.\n- Do not use more than 50 words.\n',
  'Les résultats montrent une amélioration nette; 結果は明らかです. ',
];

/** A flat string, as JSON.parse hands the gateway (a concatenated rope is slower to scan). */
function promptOfSize(chars: number): string {
  let text = '';
  for (let i = 0; text.length < chars; i++) text += PASSAGES[i % PASSAGES.length];
  return JSON.parse(JSON.stringify(text.slice(0, chars))) as string;
}

type Row = { size: string; chars: number; p50Us: number; p99Us: number; nsPerChar: number; promptsPerSecond: number };

function measure(label: string, chars: number, iterations: number): Row {
  const request: ScoringRequest = { messages: [{ role: 'user', content: promptOfSize(chars) }] };
  for (let i = 0; i < Math.min(iterations, 2000); i++) scoreOnly(request);
  const samples = new Float64Array(iterations);
  let total = 0;
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    scoreOnly(request);
    const ns = Number(process.hrtime.bigint() - start);
    samples[i] = ns;
    total += ns;
  }
  samples.sort();
  return {
    size: label,
    chars,
    p50Us: samples[Math.floor(iterations * 0.5)]! / 1000,
    p99Us: samples[Math.floor(iterations * 0.99)]! / 1000,
    nsPerChar: total / iterations / chars,
    promptsPerSecond: iterations / (total / 1e9),
  };
}

/**
 * The floor: one bare charCodeAt pass over the 4 KB prompt, timed the same way. On a shared
 * machine it shows how much of a core the run got; the scorer's ratio to it is what to compare.
 */
function bareScan(iterations: number): number {
  const text = promptOfSize(4_000);
  let checksum = 0;
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    for (let c = 0; c < text.length; c++) checksum = (checksum + text.charCodeAt(c)) | 0;
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  samples.sort();
  if (checksum === 42) console.log(''); // keeps the loop from being optimized away
  return samples[Math.floor(iterations * 0.5)]! / 1000;
}

const rows = [
  measure('1 KB', 1_024, 50_000),
  measure('4 KB', 4_000, 20_000),
  measure('10 KB', 10_240, 5_000),
  measure('100 KB', 102_400, 500),
];
const load = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
console.log(`Scorer speed (Node ${process.version}, one core, warm; timer overhead included; load average ${load})\n`);
console.log('| prompt | chars | p50 µs | p99 µs | ns/char | prompts/s |');
console.log('| --- | --- | --- | --- | --- | --- |');
const floorUs = bareScan(20_000);
for (const row of rows) {
  console.log(
    `| ${row.size} | ${row.chars} | ${row.p50Us.toFixed(2)} | ${row.p99Us.toFixed(2)} | ${row.nsPerChar.toFixed(2)} | ${Math.round(row.promptsPerSecond).toLocaleString('en-US')} |`,
  );
}
console.log(`\nFloor: a bare charCodeAt pass over the 4 KB prompt takes ${floorUs.toFixed(2)} µs (p50) in this run.`);
