import { describe, expect, it } from 'vitest';
import { parseLabeledData, splitOf } from '../../../scoring/dataset';

describe('splitOf', () => {
  it('freezes the split of EVALUATION.md', () => {
    expect(splitOf('mmlu', 'mmlu-anatomy-0000')).toBe('dev');
    expect(splitOf('mmlu', 'mmlu-anatomy-0001')).toBe('test');
    expect(splitOf('mmlu', 'mmlu-high_school_us_history-0042')).toBe('dev');
    expect(splitOf('gsm8k', 'gsm8k-0659')).toBe('dev');
    expect(splitOf('gsm8k', 'gsm8k-0660')).toBe('test');
    expect(splitOf('math500', 'math500-010')).toBe('dev');
    expect(splitOf('math500', 'math500-011')).toBe('test');
    expect(splitOf('mtbench', 'mtbench-81')).toBe('heldout');
  });

  it('refuses an id without a row index', () => {
    expect(() => splitOf('gsm8k', 'gsm8k-abc')).toThrow(/row index/);
  });
});

describe('parseLabeledData', () => {
  const prompts = new Map([
    [
      'mmlu.jsonl',
      '{"id":"mmlu-college_physics-0003","prompt":"Q?\\nA. 1\\nB. 2\\nAnswer:","label":"medium"}\n',
    ],
    ['gsm8k.jsonl', '{"id":"gsm8k-0700","prompt":"Tom has 3 cats.","label":"small"}\n\n'],
    ['math500.jsonl', '{"id":"math500-002","prompt":"Find $x$.","label":"large"}\n'],
  ]);
  const signals = [
    '{"id":"mmlu-college_physics-0003","source":"mmlu","weak":0,"strong":1,"excluded":true}',
    '{"id":"gsm8k-0700","source":"gsm8k","weak":1,"strong":1,"steps":3,"excluded":false}',
    '{"id":"math500-002","source":"math500","level":5,"subject":"Algebra","answer":"2"}',
  ].join('\n');

  it('joins prompts with their signals', () => {
    const [mmlu, gsm8k, math] = parseLabeledData(prompts, signals);
    expect(mmlu).toMatchObject({
      source: 'mmlu',
      subject: 'college_physics',
      tier: 1,
      split: 'test',
      weak: 0,
      strong: 1,
      excluded: true,
    });
    expect(gsm8k).toMatchObject({ source: 'gsm8k', tier: 0, split: 'test', steps: 3, excluded: false });
    expect(math).toMatchObject({ source: 'math500', tier: 2, split: 'dev', level: 5 });
    expect(math!.weak).toBeUndefined();
  });

  it('names the file and line of a malformed row', () => {
    expect(() => parseLabeledData(new Map([['gsm8k.jsonl', '[1]']]), '')).toThrow('gsm8k.jsonl:1');
    expect(() =>
      parseLabeledData(new Map([['gsm8k.jsonl', '{"id":"gsm8k-1","prompt":"x","label":"huge"}']]), ''),
    ).toThrow(/unknown label huge/);
  });
});
