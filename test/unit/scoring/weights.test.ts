import { describe, expect, it } from 'vitest';
import { FEATURES, FORMATS } from '../../../scoring/features';
import { SHIPPED_WEIGHTS } from '../../../scoring/shipped-weights';
import { compileWeights, parseWeights, type ScoringWeights } from '../../../scoring/weights';
import { priorWeights } from '../../../scoring/calibrate';

const valid = (): ScoringWeights => ({
  ...priorWeights('test-1'),
  lexical: { bits: 4, buckets: [3, 9], values: [0.5, -0.25] },
});

describe('parseWeights', () => {
  it('accepts the shipped weights and the priors', () => {
    expect(parseWeights(JSON.parse(JSON.stringify(SHIPPED_WEIGHTS)))).toEqual(SHIPPED_WEIGHTS);
    expect(parseWeights(valid())).toEqual(valid());
  });

  it.each([
    ['a missing version', (w: Record<string, unknown>) => ({ ...w, version: '' }), /version/],
    [
      'an unknown feature',
      (w: Record<string, unknown>) => ({
        ...w,
        formats: { ...(w.formats as object), open: { bias: 0, lexical: 0, features: { vibes: 1 } } },
      }),
      /unknown feature vibes/,
    ],
    ['a missing format', (w: Record<string, unknown>) => ({ ...w, formats: {} }), /formats.open/],
    [
      'a bucket outside the table',
      (w: Record<string, unknown>) => ({ ...w, lexical: { bits: 4, buckets: [16], values: [1] } }),
      /out of range/,
    ],
    [
      'buckets and values of different lengths',
      (w: Record<string, unknown>) => ({ ...w, lexical: { bits: 4, buckets: [1, 2], values: [1] } }),
      /differ in length/,
    ],
    [
      'inverted thresholds',
      (w: Record<string, unknown>) => ({ ...w, thresholds: { small_medium: 0.8, medium_large: 0.2 } }),
      /below/,
    ],
    ['a threshold of 1', (w: Record<string, unknown>) => ({ ...w, thresholds: { small_medium: 0.5, medium_large: 1 } }), /between 0 and 1/],
    ['a quality outside [0,1]', (w: Record<string, unknown>) => ({ ...w, default_quality: 2 }), /default_quality/],
    ['a non-positive quality scale', (w: Record<string, unknown>) => ({ ...w, quality_scale: 0 }), /quality_scale/],
  ])('rejects %s', (_, mutate, message) => {
    expect(() => parseWeights(mutate(valid() as unknown as Record<string, unknown>))).toThrow(message);
  });
});

describe('compileWeights', () => {
  it('lays the weights out densely, by format and feature', () => {
    const weights = valid();
    weights.formats.word_problem.features.digits = 0.75;
    weights.formats.formal_math.bias = -2;
    const model = compileWeights(weights);
    const word = FORMATS.indexOf('word_problem');
    expect(model.featureWeights[word * FEATURES.length + FEATURES.indexOf('digits')]).toBe(0.75);
    expect(model.biases[FORMATS.indexOf('formal_math')]).toBe(-2);
    expect(model.lexicalValues).toHaveLength(16);
    expect(model.lexicalValues[3]).toBe(0.5);
    expect(model.lexicalValues[9]).toBe(-0.25);
    expect(model.lexicalValues[4]).toBe(0);
    expect(model.smallMediumLogit).toBeCloseTo(Math.log(0.4 / 0.6), 12);
  });

  it('ships a version, calibrated thresholds and a bounded lexical table', () => {
    expect(SHIPPED_WEIGHTS.version).toMatch(/^scorer-\d+\.[0-9a-f]{8}$/);
    expect(SHIPPED_WEIGHTS.thresholds.small_medium).toBeLessThanOrEqual(SHIPPED_WEIGHTS.thresholds.medium_large);
    expect(SHIPPED_WEIGHTS.lexical.bits).toBeLessThanOrEqual(16);
    expect(SHIPPED_WEIGHTS.default_quality).toBe(0.5);
  });
});
