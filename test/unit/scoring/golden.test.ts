import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rungForScore, SCORER_VERSION, scoreOnly } from '../../../scoring/index';

// Golden prompts with the rung the shipped weights pick at the default quality. Any change to
// features, weights or thresholds that moves one of them must update the fixture in the same
// commit; UPDATE_SCORING_GOLDEN=1 rewrites the rungs so the diff shows exactly what moved.
const FIXTURE = fileURLToPath(new URL('../../fixtures/scoring/golden.json', import.meta.url));

type Rungs = { two: number; three: number; four: number };
type GoldenCase = { id: string; label: string; prompt: string; rungs: Rungs };
type Golden = { about: string; weights_version: string; cases: GoldenCase[] };

function rungsOf(prompt: string): Rungs {
  const score = scoreOnly({ messages: [{ role: 'user', content: prompt }] });
  return { two: rungForScore(score, 2), three: rungForScore(score, 3), four: rungForScore(score, 4) };
}

function loadGolden(): Golden {
  const recorded = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Golden;
  if (process.env.UPDATE_SCORING_GOLDEN !== '1') return recorded;
  const updated: Golden = {
    ...recorded,
    weights_version: SCORER_VERSION,
    cases: recorded.cases.map((c) => ({ ...c, rungs: rungsOf(c.prompt) })),
  };
  writeFileSync(FIXTURE, `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}

const golden = loadGolden();

describe('golden prompts', () => {
  it('covers every labeled source', () => {
    const sources = new Set(golden.cases.map((c) => c.id.slice(0, c.id.indexOf('-'))));
    expect([...sources].sort()).toEqual(['gsm8k', 'math500', 'mmlu', 'mtbench']);
    expect(golden.cases.length).toBeGreaterThanOrEqual(30);
  });

  it('keeps every prompt on its recorded rung', () => {
    const moved = golden.cases
      .map((c) => ({ id: c.id, expected: c.rungs, actual: rungsOf(c.prompt) }))
      .filter(({ expected, actual }) => JSON.stringify(expected) !== JSON.stringify(actual));
    expect(moved, 'rungs moved: update test/fixtures/scoring/golden.json (see its "about")').toEqual([]);
  });

  it('was recorded with the shipped weights', () => {
    expect(golden.weights_version).toBe(SCORER_VERSION);
  });
});
