import { describe, expect, it } from 'vitest';
import { DEFAULT_FIT_OPTIONS, FEATURE_PRIORS, fitWeights, type TrainingExample } from '../../../scoring/calibrate';
import { seededRandom } from '../../../scoring/evaluate';
import { FEATURES, FORMATS } from '../../../scoring/features';
import { chooseQualityScale, chooseThresholds } from '../../../scoring/protocol';
import { computeScore } from '../../../scoring/score';
import { compileWeights } from '../../../scoring/weights';

const TOPICS = ['rivers', 'planets', 'poems', 'markets', 'proteins', 'bridges', 'songs', 'forests'];
const HARD = ['Prove rigorously the theorem about', 'Derive the asymptotic behaviour of', 'Analyze the trade-offs in'];
const EASY = ['Name a famous example of', 'List three', 'What colour are most'];

/** Hard asks rank 2, easy asks rank 0; the words tell them apart. */
function syntheticExamples(): TrainingExample[] {
  const random = seededRandom(5);
  return Array.from({ length: 240 }, (_, i) => {
    const hard = i % 2 === 0;
    const stems = hard ? HARD : EASY;
    const prompt = `${stems[Math.floor(random() * stems.length)]} ${TOPICS[Math.floor(random() * TOPICS.length)]}.`;
    return {
      request: { messages: [{ role: 'user', content: prompt }] },
      rank: hard ? 2 : 0,
      group: i % 3 === 0 ? 'b' : 'a',
      needsMoreThanSmall: hard,
      lexicalTarget: hard ? 1 : 0,
    };
  });
}

const OPTIONS = { ...DEFAULT_FIT_OPTIONS, iterations: 150, version: 'test', fittedOn: 'synthetic' };

describe('fitWeights', () => {
  const examples = syntheticExamples();
  const fitted = fitWeights(examples, OPTIONS);
  const model = compileWeights(fitted.weights);
  const score = (prompt: string) => computeScore({ messages: [{ role: 'user', content: prompt }] }, model);

  it('learns which wording needs the stronger model', () => {
    expect(score('Prove rigorously the theorem about bridges.')).toBeGreaterThan(score('Name a famous example of bridges.'));
    expect(fitted.weights.lexical.buckets.length).toBeGreaterThan(0);
    const hardScores = fitted.trainingScores.filter((_, i) => examples[i]!.rank === 2);
    const easyScores = fitted.trainingScores.filter((_, i) => examples[i]!.rank === 0);
    expect(Math.min(...hardScores)).toBeGreaterThan(Math.max(...easyScores));
  });

  it('is deterministic', () => {
    expect(fitWeights(examples, OPTIONS).weights).toEqual(fitted.weights);
  });

  it('keeps every sign constraint in every format, and fixed features at their priors', () => {
    for (const format of FORMATS) {
      const features = fitted.weights.formats[format].features;
      for (const name of FEATURES) {
        const [, sign] = FEATURE_PRIORS[name];
        const weight = features[name] ?? 0;
        if (sign === 'positive') expect(weight, `${format}.${name}`).toBeGreaterThanOrEqual(0);
        if (sign === 'negative') expect(weight, `${format}.${name}`).toBeLessThanOrEqual(0);
        if (sign === 'fixed') expect(weight).toBe(fitted.weights.formats.open.features[name]);
      }
    }
  });

  it('gives a feature the data never exercises its (scaled) prior', () => {
    expect(fitted.weights.formats.open.features.tools).toBeGreaterThan(0);
    expect(fitted.weights.formats.open.features.images).toBeGreaterThan(0);
  });

  it('can fit without the lexical feature', () => {
    const plain = fitWeights(examples, { ...OPTIONS, lexicalBits: 0 });
    expect(plain.weights.lexical.buckets).toEqual([]);
    for (const format of FORMATS) expect(plain.weights.formats[format].lexical).toBe(0);
  });
});

describe('chooseThresholds', () => {
  it('meets the under-routing and small-kept targets when the scores allow it', () => {
    const items = [
      ...Array.from({ length: 100 }, (_, i) => ({ score: 0.05 + (0.4 * i) / 100, tier: 0, source: 's' })),
      ...Array.from({ length: 50 }, (_, i) => ({ score: 0.4 + (0.2 * i) / 50, tier: 1, source: 's' })),
      ...Array.from({ length: 100 }, (_, i) => ({ score: 0.5 + (0.45 * i) / 100, tier: 2, source: 's' })),
    ];
    const { small_medium: low, medium_large: high } = chooseThresholds(items);
    const below = (tier: number, t: number) =>
      items.filter((x) => x.tier === tier && x.score < t).length / items.filter((x) => x.tier === tier).length;
    expect(below(2, low)).toBeLessThanOrEqual(0.1);
    expect(below(0, low)).toBeGreaterThanOrEqual(0.6);
    expect(high).toBeGreaterThanOrEqual(low);
    expect(1 - below(0, high)).toBeLessThanOrEqual(0.1);
  });
});

describe('chooseQualityScale', () => {
  it('spans the dev score distribution between quality 0.1 and 0.9', () => {
    const logistic = (z: number) => 1 / (1 + Math.exp(-z));
    const scores = Array.from({ length: 1001 }, (_, i) => logistic(-2 + (4 * i) / 1000));
    // The 10th and 90th percentile log-odds are -1.6 and 1.6.
    expect(chooseQualityScale(scores)).toBeCloseTo(3.2 / (2 * Math.log(9)), 6);
  });
});
