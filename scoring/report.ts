/**
 * Renders an EvaluationReport as the markdown of scoring/RESULTS.md and `sluice router eval`.
 */
import type { Interval } from './evaluate';
import {
  blendedPrice,
  type BenchmarkResult,
  type EvaluationReport,
  INPUT_TOKENS_PER_OUTPUT_TOKEN,
  type RankAgreement,
  SMALL_KEPT_FLOOR,
  UNDER_ROUTING_LIMIT,
} from './protocol';

/** Scorer speed over the whole labeled set, measured by the caller (it needs a clock). */
export type LatencyResult = {
  readonly prompts: number;
  readonly runs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  /** The same, over prompts of at most 4,000 characters. */
  readonly p50UsUpTo4k: number;
  readonly p99UsUpTo4k: number;
  readonly nsPerChar: number;
  readonly promptsPerSecond: number;
  /** Every run gave every prompt the same score. */
  readonly deterministic: boolean;
};

export type ReportContext = {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
};

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const num = (x: number): string => x.toFixed(3);
const withInterval = (value: string, interval: Interval | undefined, format: (x: number) => string): string =>
  interval === undefined ? value : `${value} [${format(interval.low)}, ${format(interval.high)}]`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const SOURCE_NAMES: Readonly<Record<string, string>> = {
  mtbench: 'MT-Bench',
  mmlu: 'MMLU',
  gsm8k: 'GSM8K',
  math500: 'MATH-500',
};

function benchmarkTable(benchmark: BenchmarkResult): string {
  const rows = benchmark.routers.map(({ router, figures: f, intervals: i }) => [
    router,
    withInterval(num(f.apgr), i?.apgr, num),
    withInterval(pct(f.cpt50), i?.cpt50, pct),
    withInterval(pct(f.cpt80), i?.cpt80, pct),
    withInterval(num(f.exactApgr), i?.exactApgr, num),
    withInterval(pct(f.exactCpt50), i?.exactCpt50, pct),
    withInterval(pct(f.exactCpt80), i?.exactCpt80, pct),
    withInterval(pct(f.share95), i?.share95, pct),
  ]);
  const quality = (x: number) => (benchmark.source === 'mtbench' ? x.toFixed(2) : pct(x));
  // The two fixed policies have no curve: one point each, at 0% and at 100% strong calls.
  rows.push(
    ['always weak', '—', 'never', 'never', '—', 'never', 'never', `never (quality ${quality(benchmark.weakQuality)})`],
    ['always strong', '—', '100.0%', '100.0%', '—', '100.0%', '100.0%', `100.0% (quality ${quality(benchmark.strongQuality)})`],
  );
  return [
    `**${SOURCE_NAMES[benchmark.source]}** (n = ${benchmark.n})`,
    '',
    table(
      [
        'router',
        'APGR (10-bin)',
        'CPT(50%)',
        'CPT(80%)',
        'APGR (exact)',
        'CPT(50%) exact',
        'CPT(80%) exact',
        'strong share for 95% quality',
      ],
      rows,
    ),
  ].join('\n');
}

function agreementTable(agreement: readonly RankAgreement[]): string {
  return table(
    ['measure (test)', 'n', 'scorer [95% CI]', 'prompt length'],
    agreement.map((a) => [a.name, String(a.n), withInterval(num(a.scorer), a.scorerInterval, num), num(a.length)]),
  );
}

type Target = { name: string; value: number; format: (x: number) => string; meets: boolean; bound: string };

function targets(report: EvaluationReport): Target[] {
  const scorer = (source: string) => report.benchmarks.find((b) => b.source === source)!.routers[0]!;
  const agreement = (prefix: string) => report.agreement.find((a) => a.name.startsWith(prefix))!;
  const tier = (source: string) => report.tiers.find((t) => t.source === source)!;
  const within = report.withinSubject.routers[0]!.value;
  const atLeast = (name: string, value: number, bound: number, format: (x: number) => string): Target => ({
    name,
    value,
    format,
    meets: value >= bound,
    bound: `≥ ${format(bound)}`,
  });
  const atMost = (name: string, value: number, bound: number, format: (x: number) => string): Target => ({
    name,
    value,
    format,
    meets: value <= bound,
    bound: `≤ ${format(bound)}`,
  });
  const saving = (source: string, pair: number) =>
    report.costs.find((c) => c.source === source && c.router === 'sluice scorer')!.savings[pair]!.saving;
  return [
    atLeast('MMLU APGR', scorer('mmlu').figures.apgr, 0.62, num),
    atMost('MMLU CPT(50%)', scorer('mmlu').figures.cpt50, 0.33, pct),
    atMost('MMLU CPT(80%)', scorer('mmlu').figures.cpt80, 0.66, pct),
    atLeast('MMLU within-subject APGR', within, 0.55, num),
    atLeast('GSM8K APGR', scorer('gsm8k').figures.apgr, 0.63, num),
    atMost('GSM8K CPT(50%)', scorer('gsm8k').figures.cpt50, 0.32, pct),
    atMost('GSM8K CPT(80%)', scorer('gsm8k').figures.cpt80, 0.63, pct),
    atMost('MT-Bench CPT(50%) (never tuned on)', scorer('mtbench').figures.cpt50, 0.25, pct),
    atMost('MMLU strong share for 95% quality', scorer('mmlu').figures.share95, 0.5, pct),
    atMost('GSM8K strong share for 95% quality', scorer('gsm8k').figures.share95, 0.62, pct),
    atMost('MT-Bench strong share for 95% quality', scorer('mtbench').figures.share95, 0.25, pct),
    atLeast('MATH-500 Spearman(score, level)', agreement('MATH-500 Spearman').scorer, 0.45, num),
    atLeast('MATH-500 AUROC L4–5 vs L1–2', agreement('MATH-500 AUROC').scorer, 0.78, num),
    ...(['mmlu', 'gsm8k', 'math500', 'mtbench'] as const).flatMap((source) => [
      atMost(`${SOURCE_NAMES[source]} large → smallest rung`, tier(source).underRouting, UNDER_ROUTING_LIMIT, pct),
      atLeast(`${SOURCE_NAMES[source]} small kept on smallest rung`, tier(source).smallKept, SMALL_KEPT_FLOOR, pct),
    ]),
    ...(['mmlu', 'gsm8k', 'mtbench'] as const).map((source) =>
      atLeast(`${SOURCE_NAMES[source]} saving at 95% quality, ${report.costs[0]!.savings[0]!.pair}`, saving(source, 0), 0.3, pct),
    ),
  ];
}

export function formatReport(report: EvaluationReport, context: ReportContext, latency?: LatencyResult): string {
  const sections: string[] = [];
  const rowCounts = Object.entries(report.rows)
    .map(([source, { dev, test }]) => `${SOURCE_NAMES[source]} ${dev} dev / ${test} ${source === 'mtbench' ? 'held out' : 'test'}`)
    .join(', ');
  sections.push(
    [
      '# Sluice complexity scorer: offline evaluation',
      '',
      `- Weights: \`${report.version}\``,
      `- Run on: ${context.date}`,
      `- Command: \`${context.command}\``,
      `- Machine: ${context.machine}`,
      `- Rows: ${rowCounts}. Figures are on the test splits (MT-Bench: all of it, never tuned on), with RouteLLM's 25 contaminated prompts dropped; intervals are 1,000-sample bootstrap 95% CIs.`,
      `- Tier thresholds (score scale): small|medium ${report.thresholds.small_medium.toFixed(3)}, medium|large ${report.thresholds.medium_large.toFixed(3)}; default quality ${report.defaultQuality}.`,
    ].join('\n'),
  );

  const targetRows = targets(report).map((t) => [t.name, t.format(t.value), t.bound, t.meets ? 'met' : '**missed**']);
  sections.push(['## Targets (test splits)', '', table(['target', 'scorer', 'bound', ''], targetRows)].join('\n'));

  sections.push(
    [
      '## Routing quality against strong-model calls',
      '',
      'Route to the strong model when the score is at or above a threshold; sweep the threshold. APGR and CPT as RouteLLM defines them, on its 10-quantile-bin curve and on the exact curve (every distinct threshold). The strong share for 95% quality is read off the exact curve.',
      '',
      report.benchmarks.map(benchmarkTable).join('\n\n'),
    ].join('\n'),
  );

  sections.push(
    [
      '## MMLU within subject',
      '',
      `APGR macro-averaged over the ${report.withinSubject.subjects} subjects whose test rows show the strong model ahead of the weak one (the interval resamples within each subject).`,
      '',
      table(
        ['router', 'macro APGR'],
        report.withinSubject.routers.map((r) => [r.router, withInterval(num(r.value), r.interval, num)]),
      ),
    ].join('\n'),
  );

  const prices = report.ladder.map(
    (p) => `${p.model} $${p.input}/$${p.output} (blended $${blendedPrice(p).toFixed(2)})`,
  ).join(', ');
  sections.push(
    [
      '## Cost at 95% of the strong model’s quality',
      '',
      `Relative cost f + (1 − f)·c, f = strong share for 95% quality, c = weak/strong blended price. Prices per million input/output tokens: ${prices}; blended at ${INPUT_TOKENS_PER_OUTPUT_TOKEN} input tokens per output token . Mixtral-8x7B/GPT-4-1106 stand in for the weak/strong pair; cheapest→middle rung is the closest reading, cheapest→top the widest ladder.`,
      '',
      table(
        ['benchmark', 'router', 'strong share', ...report.costs[0]!.savings.map((s) => `saving, ${s.pair}`)],
        report.costs.map((c) => [
          SOURCE_NAMES[c.source]!,
          c.router,
          pct(c.share95),
          ...c.savings.map((s) => pct(s.saving)),
        ]),
      ),
    ].join('\n'),
  );

  sections.push(['## Agreement with difficulty labels', '', agreementTable(report.agreement)].join('\n'));

  sections.push(
    [
      `## Three tiers at the default quality (${report.defaultQuality})`,
      '',
      `Rungs of the three-model ladder (${report.ladder.map((p) => p.model).join(' < ')}); rows are labels, columns rungs.`,
      '',
      table(
        ['source', 'n', 'small → 0/1/2', 'medium → 0/1/2', 'large → 0/1/2', 'large on rung 0', 'small kept on rung 0'],
        report.tiers.map((t) => [
          SOURCE_NAMES[t.source]!,
          String(t.n),
          t.counts[0]!.join(' / '),
          t.counts[1]!.join(' / '),
          t.counts[2]!.join(' / '),
          pct(t.underRouting),
          pct(t.smallKept),
        ]),
      ),
    ].join('\n'),
  );

  sections.push(
    [
      `## Quality sweep (three-rung ladder: ${report.ladder.map((p) => p.model).join(' < ')})`,
      '',
      table(
        ['source', 'quality', 'share per rung', 'cost vs all on the top rung', 'large → cheapest', 'small → top', 'rung = label'],
        report.sweep.map((r) => [
          SOURCE_NAMES[r.source]!,
          r.quality.toFixed(1),
          r.rungShares.map(pct).join(' / '),
          pct(r.relativeCost),
          pct(r.largeToSmall),
          pct(r.smallToLarge),
          pct(r.agreement),
        ]),
      ),
    ].join('\n'),
  );

  sections.push(
    [
      '## Calibration stability',
      '',
      `Threshold ${report.stability.threshold.toFixed(3)} sends ${pct(report.stability.targetShare)} of MMLU-dev to the strong model (cross-fitted dev scores); the share it sends on each test source:`,
      '',
      table(
        ['source', 'strong share'],
        report.stability.realized.map((r) => [SOURCE_NAMES[r.source]!, pct(r.share)]),
      ),
    ].join('\n'),
  );

  const scorerRow = (result: BenchmarkResult) => {
    const f = result.routers[0]!.figures;
    return [SOURCE_NAMES[result.source]!, num(f.apgr), pct(f.cpt50), pct(f.cpt80), pct(f.share95)];
  };
  const mainFor = (source: string) => report.benchmarks.find((b) => b.source === source)!;
  sections.push(
    [
      '## Cross-benchmark transfer',
      '',
      'The same fit on MMLU-dev only, scored on the other benchmarks (first row each), next to the shipped fit (second row).',
      '',
      table(
        ['benchmark', 'APGR', 'CPT(50%)', 'CPT(80%)', 'strong share for 95%'],
        report.transfer.flatMap((t) => [
          [...scorerRow(t).slice(0, 1).map((s) => `${s} (MMLU-dev only)`), ...scorerRow(t).slice(1)],
          [...scorerRow(mainFor(t.source)).slice(0, 1).map((s) => `${s} (shipped)`), ...scorerRow(mainFor(t.source)).slice(1)],
        ]),
      ),
    ].join('\n'),
  );

  sections.push(
    [
      '## Do the lexical features pay for themselves?',
      '',
      'The same fit without the hashed n-gram feature (hand-built features only), on the same test rows.',
      '',
      table(
        ['benchmark', 'APGR', 'CPT(50%)', 'CPT(80%)', 'strong share for 95%'],
        report.withoutLexical.flatMap((t) => [
          [`${SOURCE_NAMES[t.source]} (no lexical)`, ...scorerRow(t).slice(1)],
          [`${SOURCE_NAMES[t.source]} (shipped)`, ...scorerRow(mainFor(t.source)).slice(1)],
        ]),
      ),
      '',
      agreementTable(report.withoutLexicalAgreement).replace('scorer [95% CI]', 'no-lexical scorer [95% CI]'),
    ].join('\n'),
  );

  if (latency !== undefined) {
    sections.push(
      [
        '## Latency',
        '',
        `Every labeled prompt (${latency.prompts}) scored ${latency.runs} times on one core, warm, timed one call at a time with Node's hrtime.bigint() (the timer's own cost is included).`,
        '',
        table(
          ['p50', 'p99', 'max', 'p50 (≤ 4k chars)', 'p99 (≤ 4k chars)', 'ns per char', 'prompts/s', 'deterministic'],
          [
            [
              `${latency.p50Us.toFixed(2)} µs`,
              `${latency.p99Us.toFixed(2)} µs`,
              `${latency.maxUs.toFixed(1)} µs`,
              `${latency.p50UsUpTo4k.toFixed(2)} µs`,
              `${latency.p99UsUpTo4k.toFixed(2)} µs`,
              latency.nsPerChar.toFixed(2),
              Math.round(latency.promptsPerSecond).toLocaleString('en-US'),
              latency.deterministic ? 'yes' : '**no**',
            ],
          ],
        ),
      ].join('\n'),
    );
  }
  return `${sections.join('\n\n')}\n`;
}
