import { describe, expect, it } from 'vitest';
import { utf8Length } from '../../src/util/utf8';

const encoded = (text: string): number => new TextEncoder().encode(text).byteLength;

describe('utf8Length', () => {
  it.each([
    ['empty', ''],
    ['ASCII', '{"object":"chat.completion","n":1}'],
    ['two-byte', 'façade, Straße, ñ'],
    ['three-byte', '日本語の答え €'],
    ['surrogate pairs', 'rivers 🌊🏞️ and 𝄞'],
    ['a lone high surrogate mid-string', 'a\ud83db'],
    ['a lone high surrogate at the end', 'end\ud83d'],
    ['a lone low surrogate', 'x\ude00y'],
    ['a low surrogate before a high one', '\ude00\ud83d'],
    ['JSON.stringify of a lone surrogate', JSON.stringify({ text: 'bad \ud800 half' })],
  ])('counts %s as TextEncoder and Buffer encode it', (_name, text) => {
    expect(utf8Length(text)).toBe(encoded(text));
    expect(utf8Length(text)).toBe(Buffer.byteLength(text));
  });
});
