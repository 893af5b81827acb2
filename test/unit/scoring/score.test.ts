import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rungForScore, SCORER_VERSION, scoreOnly, scoreRequest, type ScoringRequest } from '../../../scoring/index';

const user = (content: string): ScoringRequest => ({ messages: [{ role: 'user', content }] });
const logit = (p: number) => Math.log(p / (1 - p));

const goldenPrompts = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../fixtures/scoring/golden.json', import.meta.url)), 'utf8')) as {
    cases: { prompt: string }[];
  }
).cases.map((c) => c.prompt);
const handPrompts = [
  '',
  'hi',
  'Write a haiku about the sea.',
  'Translate "good morning" into French.',
  'Tom has 3 apples and buys 5 more. How many does he have?',
  'Summarize this paragraph in one sentence: The quick brown fox jumps over the lazy dog.',
  'Let $x$ be real. Solve $x^2 - 5x + 6 = 0$.',
];
const PROMPTS = [...handPrompts, ...goldenPrompts];

const CODE_BLOCK = '\n\n```python\ndef solve(items):\n    for i in range(10):\n        items[i] ^= 2\n    return sorted(items)\n```\n';
const HARD_ASK = '\n\nProve that your answer is optimal, and explain your reasoning step by step.';
/**
 * "Never lowers the score much": an appended ask's generic words dilute the prompt's mean
 * n-gram value a little (over every labeled prompt the worst case is under 0.05).
 */
const TOLERANCE = 0.05;

describe('scoreRequest', () => {
  it('returns a score in [0,1] for any request shape', () => {
    const requests: ScoringRequest[] = [
      { messages: [] },
      user(''),
      user('\u0000\uffff\ud83d\ude00 ```'),
      user('x'.repeat(200_000)),
      { messages: [{ role: 'user', content: [{ type: 'mystery' }] }] },
      { messages: [{ role: 'user', content: null }], tools: [], response_format: 'json' },
      ...PROMPTS.map(user),
    ];
    for (const request of requests) {
      const { score } = scoreRequest(request);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
      expect(scoreOnly(request)).toBe(score);
    }
  });

  it('is deterministic and keeps no state between calls', () => {
    const a = user('Explain the proof of the prime number theorem.');
    const b = user('hello there');
    const first = scoreRequest(a);
    scoreRequest(b);
    expect(scoreRequest(a)).toEqual(first);
  });

  it('explains the score exactly: the contributions add up to its log-odds', () => {
    for (const prompt of PROMPTS.slice(0, 20)) {
      const result = scoreRequest(user(prompt));
      const total = result.contributions.reduce((sum, c) => sum + c.value * c.weight, 0);
      expect(total).toBeCloseTo(logit(result.score), 9);
      const magnitudes = result.contributions.map((c) => Math.abs(c.value * c.weight));
      expect(magnitudes).toEqual([...magnitudes].sort((x, y) => y - x));
      expect(result.contributions.filter((c) => c.feature.startsWith('bias:'))).toHaveLength(1);
      expect(result.version).toBe(SCORER_VERSION);
    }
  });

  it('never lowers the score when a code block is appended', () => {
    for (const prompt of PROMPTS) {
      expect(scoreOnly(user(prompt + CODE_BLOCK))).toBeGreaterThanOrEqual(scoreOnly(user(prompt)) - TOLERANCE);
    }
  });

  it('never lowers the score much when a hard reasoning ask is appended', () => {
    for (const prompt of PROMPTS) {
      expect(scoreOnly(user(prompt + HARD_ASK))).toBeGreaterThanOrEqual(scoreOnly(user(prompt)) - TOLERANCE);
    }
  });

  it('raises the score for tools, images, structured output and a longer conversation', () => {
    const base = user('What is the weather in Paris?');
    const score = scoreOnly(base);
    expect(scoreOnly({ ...base, tools: [{ type: 'function', function: { name: 'weather' } }] })).toBeGreaterThan(score);
    expect(scoreOnly({ ...base, response_format: { type: 'json_schema' } })).toBeGreaterThan(score);
    expect(
      scoreOnly({
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris?' }, { type: 'image_url' }] }],
      }),
    ).toBeGreaterThan(score);
    expect(
      scoreOnly({
        messages: [
          { role: 'user', content: 'I am planning a trip.' },
          { role: 'assistant', content: 'Where are you going?' },
          { role: 'user', content: 'What is the weather in Paris?' },
        ],
      }),
    ).toBeGreaterThan(score);
  });

  it('puts an empty prompt on the cheapest rung of every ladder', () => {
    for (const rungs of [2, 3, 4]) expect(rungForScore(scoreOnly(user('')), rungs)).toBe(0);
    expect(rungForScore(scoreOnly({ messages: [] }), 3)).toBe(0);
  });
});

describe('rungForScore', () => {
  const scores = Array.from({ length: 101 }, (_, i) => i / 100);
  const qualities = Array.from({ length: 21 }, (_, i) => i / 20);

  it('never picks a cheaper rung for a higher quality or a higher score', () => {
    for (const rungCount of [2, 3, 4]) {
      for (const score of scores) {
        let previous = 0;
        for (const quality of qualities) {
          const rung = rungForScore(score, rungCount, quality);
          expect(rung).toBeGreaterThanOrEqual(previous);
          previous = rung;
        }
      }
      for (const quality of [0.2, 0.5, 0.8]) {
        let previous = 0;
        for (const score of scores) {
          const rung = rungForScore(score, rungCount, quality);
          expect(rung).toBeGreaterThanOrEqual(previous);
          previous = rung;
        }
      }
    }
  });

  it('spans the whole ladder: quality 0 is the cheapest rung, 1 the strongest', () => {
    for (const rungCount of [2, 3, 4]) {
      for (const score of [0, 0.3, 0.9, 1]) {
        expect(rungForScore(score, rungCount, 0)).toBe(0);
        expect(rungForScore(score, rungCount, 1)).toBe(rungCount - 1);
      }
      expect(rungForScore(0, rungCount)).toBe(0);
      expect(rungForScore(1, rungCount)).toBe(rungCount - 1);
    }
  });

  it('returns a rung inside the ladder', () => {
    expect(rungForScore(0.9, 1)).toBe(0);
    for (const rungCount of [2, 3, 4]) {
      const rungs = new Set(scores.map((s) => rungForScore(s, rungCount)));
      expect([...rungs].every((r) => r >= 0 && r < rungCount)).toBe(true);
      expect(rungs.size).toBe(rungCount);
    }
  });

  it('maps medium and large to the strong model of a two-model family', () => {
    for (const score of scores) {
      expect(rungForScore(score, 2)).toBe(rungForScore(score, 3) >= 1 ? 1 : 0);
    }
  });
});
