import { describe, expect, it } from 'vitest';
import { DEFAULT_FIT_OPTIONS } from '../../../scoring/calibrate';
import { type LabeledExample, splitOf } from '../../../scoring/dataset';
import { seededRandom } from '../../../scoring/evaluate';
import {
  blendedPrice,
  calibrateOnDev,
  CLAUDE_LADDER,
  evaluateProtocol,
  evaluationRows,
  toTrainingExample,
} from '../../../scoring/protocol';
import { formatReport } from '../../../scoring/report';

/** A small synthetic stand-in for shared/data/labeled: the real data is not in the repo. */
function syntheticData(): LabeledExample[] {
  const random = seededRandom(21);
  const examples: LabeledExample[] = [];
  const add = (example: Omit<LabeledExample, 'split'>) =>
    examples.push({ ...example, split: splitOf(example.source, example.id) });
  for (const subject of ['anatomy', 'law', 'physics']) {
    for (let row = 0; row < 60; row++) {
      const hard = random() < 0.4;
      const weak = random() < (hard ? 0.3 : 0.9) ? 1 : 0;
      const strong = random() < (hard ? 0.8 : 0.95) ? 1 : 0;
      add({
        id: `mmlu-${subject}-${String(row).padStart(4, '0')}`,
        source: 'mmlu',
        subject,
        prompt: `${hard ? 'Which subtle exception applies to' : 'What is'} the ${subject} case ${row}?\nA. one\nB. two\nC. three\nD. four\nAnswer:`,
        tier: weak ? 0 : strong ? 1 : 2,
        weak,
        strong,
        excluded: row === 7,
      });
    }
  }
  for (let id = 600; id < 720; id++) {
    const steps = 2 + Math.floor(random() * 6);
    const weak = random() < 1 - steps / 10 ? 1 : 0;
    const strong = random() < 0.9 ? 1 : 0;
    add({
      id: `gsm8k-${id}`,
      source: 'gsm8k',
      prompt: `Ann has ${id} apples${' and buys 3 more, then gives half away'.repeat(steps)}. How many are left?`,
      tier: weak ? 0 : strong ? 1 : 2,
      weak,
      strong,
      steps,
      excluded: false,
    });
  }
  for (let id = 0; id < 80; id++) {
    const level = 1 + (id % 5);
    add({
      id: `math500-${String(id).padStart(3, '0')}`,
      source: 'math500',
      prompt: `Find all real $x$ such that ${'$x^2 + \\frac{1}{x} = 3$ and '.repeat(level)}$x > 0$.`,
      tier: level <= 2 ? 0 : level === 3 ? 1 : 2,
      level,
      excluded: false,
    });
  }
  for (let id = 81; id < 101; id++) {
    const weak = 4 + random() * 6;
    add({
      id: `mtbench-${id}`,
      source: 'mtbench',
      prompt: id % 2 ? 'Write a short poem about rain.' : 'Solve 3x + 5 = 20 and explain every step.',
      tier: weak >= 8 ? 0 : 1,
      weak,
      strong: Math.min(10, weak + random() * 2),
      excluded: false,
    });
  }
  return examples;
}

describe('the training target', () => {
  const base = { id: 'mmlu-a-0000', source: 'mmlu', prompt: 'q', tier: 0, split: 'dev', excluded: false } as const;

  it('ranks outcome rows by what the strong model adds', () => {
    expect(toTrainingExample({ ...base, weak: 1, strong: 0 }).rank).toBe(0);
    expect(toTrainingExample({ ...base, weak: 1, strong: 1 }).rank).toBe(1);
    expect(toTrainingExample({ ...base, weak: 0, strong: 0, tier: 2 }).rank).toBe(1);
    expect(toTrainingExample({ ...base, weak: 0, strong: 1, tier: 1 })).toMatchObject({
      rank: 2,
      needsMoreThanSmall: true,
      lexicalTarget: 1,
      group: 'mmlu',
    });
  });

  it('ranks MATH-500 rows by level', () => {
    expect(toTrainingExample({ ...base, id: 'math500-000', source: 'math500', level: 5, tier: 2 }).rank).toBe(4);
  });
});

describe('evaluationRows', () => {
  it('keeps held-out rows without RouteLLM’s contaminated prompts', () => {
    const data = syntheticData();
    const rows = evaluationRows(data, 'mmlu');
    expect(rows.every((e) => e.split === 'test' && !e.excluded)).toBe(true);
    expect(evaluationRows(data, 'mtbench')).toHaveLength(20);
  });
});

describe('blendedPrice', () => {
  it('blends three input tokens per output token', () => {
    expect(CLAUDE_LADDER.map(blendedPrice)).toEqual([2, 6, 10]);
  });
});

describe('the whole protocol on synthetic data', () => {
  const data = syntheticData();
  const options = { ...DEFAULT_FIT_OPTIONS, iterations: 100 };
  const { weights } = calibrateOnDev(data, { ...options, version: 'synthetic-1', fittedOn: 'synthetic' });

  it('fits on dev rows only', () => {
    const shuffledTests = data.map((e) =>
      e.split === 'dev' ? e : { ...e, prompt: `${e.prompt} unrelated`, weak: 0, strong: 1, tier: 1 },
    );
    expect(calibrateOnDev(shuffledTests, { ...options, version: 'synthetic-1', fittedOn: 'synthetic' }).weights).toEqual(
      weights,
    );
  });

  it('produces every section of the report with finite figures', () => {
    const report = evaluateProtocol(data, weights, options);
    expect(report.benchmarks.map((b) => b.source)).toEqual(['mtbench', 'mmlu', 'gsm8k']);
    for (const benchmark of report.benchmarks) {
      expect(benchmark.routers.map((r) => r.router)).toHaveLength(4);
      for (const router of benchmark.routers) expect(Number.isFinite(router.figures.apgr)).toBe(true);
    }
    expect(report.tiers).toHaveLength(4);
    expect(report.sweep).toHaveLength(4 * 5);
    const markdown = formatReport(report, { date: '2026-01-01', command: 'sluice router eval', machine: 'test' });
    for (const heading of ['## Targets', '## Routing quality', '## MMLU within subject', '## Cost at 95%', '## Three tiers']) {
      expect(markdown).toContain(heading);
    }
  });
});
