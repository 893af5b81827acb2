import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOBS } from '../../src/jobs';

describe('job schedules', () => {
  it('gives Workers one cron trigger per job schedule, and nothing else', () => {
    const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
    const crons = /\[triggers\][^[]*?crons\s*=\s*\[([^\]]*)\]/s.exec(toml)?.[1] ?? '';
    const triggers = [...crons.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(triggers)).toEqual(new Set(JOBS.map((job) => job.schedule)));
    expect(new Set(JOBS.map((job) => job.name)).size).toBe(JOBS.length);
  });
});
