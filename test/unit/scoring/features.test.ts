import { describe, expect, it } from 'vitest';
import { extractFeatures, FEATURES, FORMATS, type FeatureName, type PromptFormat } from '../../../scoring/features';
import type { ScoringRequest } from '../../../scoring/types';

const NO_LEXICON = { values: new Float32Array(2), mask: 1, buckets: null };
const user = (content: string): ScoringRequest => ({ messages: [{ role: 'user', content }] });

function features(request: ScoringRequest) {
  const vector = extractFeatures(request, NO_LEXICON);
  const value = (name: FeatureName): number => vector.values[FEATURES.indexOf(name)]!;
  return {
    value,
    /** Count features are log1p(count); this undoes it. */
    count: (name: FeatureName): number => Math.round(Math.expm1(value(name))),
    format: FORMATS[vector.format] as PromptFormat,
    lexicalTerms: vector.lexicalTerms,
  };
}
const countIn = (text: string, name: FeatureName): number => features(user(text)).count(name);

describe('extractFeatures', () => {
  describe('size and shape', () => {
    it('counts characters over every message', () => {
      const request: ScoringRequest = {
        messages: [
          { role: 'system', content: 'abc' },
          { role: 'user', content: 'hello' },
        ],
      };
      expect(features(request).count('chars')).toBe(8);
      expect(features(request).count('system_prompt')).toBe(3);
    });

    it('counts sentences, questions and lines', () => {
      const f = features(user('One. Two! Three?\nFour?'));
      expect(f.count('sentences')).toBe(4);
      expect(f.count('questions')).toBe(2);
      expect(f.count('lines')).toBe(1);
    });

    it('reads list items, headings and multiple-choice options at line starts', () => {
      expect(countIn('Do:\n- a\n* b\n1. c\n12) d\n# Heading', 'list_items')).toBe(5);
      expect(countIn('Pick one\nA. red\nB. blue\n(C) green\nD) grey', 'choice_options')).toBe(4);
    });

    it('counts long words', () => {
      expect(countIn('internationalization is a long word', 'long_words')).toBe(1);
    });
  });

  describe('the request around the prompt', () => {
    it('measures conversation depth from user and assistant turns', () => {
      const request: ScoringRequest = {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          { role: 'user', content: 'c' },
        ],
      };
      expect(features(request).count('conversation_depth')).toBe(2);
      expect(features(user('a')).count('conversation_depth')).toBe(0);
    });

    it('counts tools, tool calls and tool results', () => {
      const request: ScoringRequest = {
        tools: [{ type: 'function' }, { type: 'function' }],
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: null, tool_calls: [{ id: '1' }] },
          { role: 'tool', content: 'sunny' },
        ],
      };
      const f = features(request);
      expect(f.count('tools')).toBe(2);
      expect(f.count('tool_calls')).toBe(2);
    });

    it('flags structured output and reads the requested output budget', () => {
      expect(features({ ...user('x'), response_format: { type: 'json_schema' } }).value('structured_output')).toBe(1);
      expect(features({ ...user('x'), response_format: { type: 'text' } }).value('structured_output')).toBe(0);
      expect(features({ ...user('x'), max_tokens: 256 }).value('requested_output')).toBe(0);
      expect(features({ ...user('x'), max_tokens: 1024 }).value('requested_output')).toBe(2);
      expect(features({ ...user('x'), max_completion_tokens: 4096, max_tokens: 10 }).value('requested_output')).toBe(4);
    });

    it('counts image and file parts and scans text parts', () => {
      const request: ScoringRequest = {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture?' },
              { type: 'image_url', image_url: { url: 'data:' } },
              { type: 'input_image' },
              { type: 'file', file: { file_id: 'f' } },
            ],
          },
        ],
      };
      const f = features(request);
      expect(f.count('images')).toBe(2);
      expect(f.count('files')).toBe(1);
      expect(f.count('questions')).toBe(1);
    });

    it('tolerates missing and null content', () => {
      const f = features({ messages: [{ role: 'assistant', content: null }, { role: 'user' }] });
      expect(f.count('chars')).toBe(0);
    });
  });

  describe('code', () => {
    it('counts fenced blocks, code symbols, indentation and identifiers', () => {
      const text = 'Fix this:\n```js\nfunction f(a) {\n  return a.b_c;\n}\n```\nand myVar too';
      const f = features(user(text));
      expect(f.count('code_fences')).toBe(1);
      expect(f.count('code_symbols')).toBe(3);
      expect(f.count('indented_lines')).toBe(1);
      expect(f.count('identifiers')).toBe(3); // a.b, b_c, myVar
      expect(f.count('code_words')).toBeGreaterThanOrEqual(2); // function, return
    });
  });

  describe('math and formal notation', () => {
    it('counts digits, numbers, decimals and fractions', () => {
      const f = features(user('Add 3.5 and 1/4 to 120.'));
      expect(f.count('digits')).toBe(7);
      expect(f.count('numbers')).toBe(5); // 3, 5, 1, 4, 120: a decimal point splits tokens
      expect(f.count('decimals')).toBe(1);
      expect(f.count('fractions')).toBe(1);
    });

    it('adds number words to the quantities mentioned', () => {
      expect(countIn('She has three apples and 4 pears, twice as many.', 'quantities_mentioned')).toBe(3);
    });

    it('counts LaTeX commands, variables, operators, dollars and percent signs', () => {
      const f = features(user('Let $x^2 + y = \\frac{1}{2}$ and pay $5 or 10%. I have a pen.'));
      expect(f.count('latex')).toBe(1);
      expect(f.count('variables')).toBe(2); // x, y; not "a" or "I"
      expect(f.count('operators')).toBe(3); // ^ + =
      expect(f.count('dollars')).toBe(3);
      expect(f.count('percent_signs')).toBe(1);
    });

    it('counts unicode math symbols as operators', () => {
      expect(countIn('a ≤ b × c ≠ d', 'operators')).toBe(3);
    });
  });

  describe('asks, cues and emphasis', () => {
    it('counts cue words and cue pairs by category', () => {
      expect(countIn('Explain why, step by step, and compare both.', 'reasoning')).toBe(4);
      expect(countIn('Use at least 3 and at most 5 words.', 'constraints')).toBe(3);
      expect(countIn("Don't use more than five. Be brief.", 'short_output')).toBe(1);
      expect(countIn('Translate and summarize this.', 'simple_task')).toBe(2);
      expect(countIn('Write a poem.', 'creative')).toBe(2);
      expect(countIn('Which is NOT true, EXCEPT this?', 'caps_words')).toBe(2);
      expect(countIn('Find the largest value and how many ways there are.', 'extremes')).toBe(1);
      expect(countIn('Find the largest value and how many ways there are.', 'counting')).toBe(2);
    });

    it('folds case and drops apostrophes inside words', () => {
      expect(countIn('DONT USE', 'constraints')).toBe(1);
      expect(countIn("don't use", 'constraints')).toBe(1);
    });

    it('counts capitalized words inside sentences as proper nouns', () => {
      expect(countIn('Yesterday Alice met Bob in Paris. Then they left.', 'proper_nouns')).toBe(3);
    });
  });

  describe('language', () => {
    it('measures the share of non-Latin and accented letters', () => {
      expect(features(user('Привет мир')).value('non_latin')).toBe(1);
      expect(features(user('hello')).value('non_latin')).toBe(0);
      expect(features(user('café au lait')).value('accented')).toBeCloseTo(1 / 10, 5);
      expect(features(user('東京は大きい')).value('non_latin')).toBe(1);
    });
  });

  describe('format', () => {
    it('tells multiple choice, formal math, word problems and open prompts apart', () => {
      expect(features(user('Capital of France?\nA. Paris\nB. Rome\nAnswer:')).format).toBe('multiple_choice');
      expect(features(user('Compute $\\sqrt{2}$ to three places.')).format).toBe('formal_math');
      expect(features(user('If f(x) = x^2, what is f(3)?')).format).toBe('formal_math');
      expect(features(user('Tom has 3 cats and buys 2 more. How many now?')).format).toBe('word_problem');
      expect(features(user('Tom has three cats and buys two more.')).format).toBe('word_problem');
      expect(features(user('Write a haiku about autumn.')).format).toBe('open');
      expect(features(user('It costs $5.')).format).toBe('open');
    });
  });

  describe('lexical terms', () => {
    it('looks up one unigram per token and one bigram per adjacent pair', () => {
      expect(features(user('one two three')).lexicalTerms).toBe(5);
      expect(features(user('')).lexicalTerms).toBe(0);
    });

    it('collects the buckets it looks up when asked to', () => {
      const buckets: number[] = [];
      extractFeatures(user('alpha beta'), { values: new Float32Array(16), mask: 15, buckets });
      expect(buckets).toHaveLength(3);
      expect(buckets.every((b) => b >= 0 && b < 16)).toBe(true);
    });
  });
});
