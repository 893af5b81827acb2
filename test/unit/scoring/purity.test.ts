import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// scoring/ must run on Cloudflare Workers and stay a deterministic leaf: no Node built-ins, no
// imports from the gateway, no clock, no randomness, no I/O.
const SCORING = fileURLToPath(new URL('../../../scoring/', import.meta.url));
const sources = readdirSync(SCORING)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({ file, text: readFileSync(`${SCORING}${file}`, 'utf8') }));

describe('scoring/ purity', () => {
  it('has modules to check', () => {
    expect(sources.length).toBeGreaterThan(5);
  });

  it.each(sources.map((s) => [s.file, s.text]))('%s imports only its own modules', (_, text) => {
    const specifiers = [...text.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!);
    for (const specifier of specifiers) expect(specifier).toMatch(/^\.\/[a-z-]+(\.json)?$/);
  });

  it.each(sources.map((s) => [s.file, s.text]))('%s uses no clock, randomness, process or I/O', (_, text) => {
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(code).not.toMatch(/\bDate\b|Math\.random|\bprocess\.|\brequire\(|\bfetch\(|performance\.now/);
  });
});
