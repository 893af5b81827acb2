import { describe, expect, it } from 'vitest';
import { generateProse, instanceOfSchema } from '../../../src/sim/generate';
import { Rng } from '../../../src/sim/hash';
import { countTokens, splitTokenPieces, truncateToTokens } from '../../../src/sim/tokenizer';

describe('sim tokenizer', () => {
  it('counts word pieces of up to 8 characters and every other non-space character', () => {
    expect(countTokens('Hello, world!')).toBe(4);
    expect(countTokens('internationalization')).toBe(3); // 20 letters → 8 + 8 + 4
    expect(countTokens('   ')).toBe(0);
    expect(countTokens('{"a":1}')).toBe(7);
    expect(countTokens('café naïve')).toBe(2);
    expect(countTokens('🙂🙂')).toBe(2);
    expect(countTokens('snake_case_name')).toBe(2);
  });

  it('splits into pieces that concatenate back to the text, one per token', () => {
    const text = '  Hello, big   world! \n';
    const pieces = splitTokenPieces(text);
    expect(pieces.join('')).toBe(text);
    expect(pieces).toHaveLength(countTokens(text));
    expect(pieces[0]).toBe('  Hello');
  });

  it('truncates to a token count', () => {
    expect(truncateToTokens('one two three four', 2)).toBe('one two');
    expect(truncateToTokens('one two', 5)).toBe('one two');
    expect(truncateToTokens('one two', 0)).toBe('');
  });

  it('generates prose of exactly the requested number of tokens', () => {
    for (let n = 1; n < 200; n += 7) expect(countTokens(generateProse(new Rng(n), n))).toBe(n);
  });

  it('generates values that follow a JSON schema', () => {
    const schema = {
      type: 'object',
      properties: {
        city: { type: 'string' },
        days: { type: 'integer', minimum: 1, maximum: 7 },
        unit: { enum: ['c', 'f'] },
        tags: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 3 },
        when: { type: 'string', format: 'date-time' },
        ref: { $ref: '#/$defs/point' },
        maybe: { anyOf: [{ type: 'null' }, { type: 'boolean' }] },
      },
      $defs: { point: { type: 'object', properties: { x: { type: 'number', minimum: 0, maximum: 10 } } } },
    };
    const value = instanceOfSchema(schema, new Rng(42)) as Record<string, unknown>;
    expect(typeof value.city).toBe('string');
    expect(value.days).toBeGreaterThanOrEqual(1);
    expect(value.days).toBeLessThanOrEqual(7);
    expect(['c', 'f']).toContain(value.unit);
    expect((value.tags as unknown[]).length).toBeGreaterThanOrEqual(2);
    expect(Number.isNaN(Date.parse(value.when as string))).toBe(false);
    expect(typeof (value.ref as { x: number }).x).toBe('number');
    expect(typeof value.maybe).toBe('boolean');
  });
});
