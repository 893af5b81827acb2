import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli';

let dir: string;
const saved = process.env.SLUICE_DB_URL;

/** Runs `sluice ...` in-process against a fresh database; returns the exit code and what it printed. */
async function sluice(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void err.push(parts.join(' ')));
  try {
    return { code: await runCli(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  process.env.SLUICE_DB_URL = `file:${join(dir, 'cli.db')}`;
});

afterAll(() => {
  if (saved === undefined) delete process.env.SLUICE_DB_URL;
  else process.env.SLUICE_DB_URL = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('sluice budgets', () => {
  it('creates, lists, updates, shows and deletes a budget', async () => {
    const created = await sluice('budgets', 'create', '--scope', 'tag=env=prod', '--period', 'week', '--amount', '12.5', '--action', 'block', '--thresholds', '0.8,1', '--cut-streams');
    expect(created.code).toBe(0);
    const budget = JSON.parse(created.out) as { id: string };
    expect(budget).toMatchObject({ scope: { type: 'tag', value: 'env=prod' }, period: 'week', amount_nusd: 12_500_000_000, action: 'block', thresholds: [0.8, 1], cut_streams: true });

    expect((await sluice('budgets', 'list')).out).toBe(`${budget.id}\tweekly tag env=prod\ttag=env=prod\tweek\t$12.500000000\tblock`);
    const updated = await sluice('budgets', 'update', budget.id, '--amount', '20', '--name', 'prod weekly');
    expect(JSON.parse(updated.out)).toMatchObject({ name: 'prod weekly', amount_usd: 20, cut_streams: true });
    const shown = JSON.parse((await sluice('budgets', 'show', budget.id)).out) as { current: { spend_nusd: number } };
    expect(shown.current.spend_nusd).toBe(0);
    expect((await sluice('budgets', 'alerts')).out).toBe('');
    expect((await sluice('budgets', 'delete', budget.id)).out).toBe(`deleted ${budget.id}`);
    expect(await sluice('budgets', 'show', budget.id)).toMatchObject({ code: 3, err: `No budget with id "${budget.id}".` });
  });

  it('explains bad input and exits non-zero', async () => {
    expect(await sluice('budgets', 'create', '--scope', 'team', '--period', 'month', '--amount', '1', '--action', 'block')).toMatchObject({ code: 2, err: expect.stringContaining('--scope must be global or TYPE=VALUE') });
    expect((await sluice('budgets', 'create', '--scope', 'global', '--period', 'fortnight', '--amount', '1', '--action', 'block')).code).toBe(2);
    expect(await sluice('budgets', 'create', '--scope', 'global', '--period', 'day', '--amount', '1', '--action', 'block', '--webhooks', 'wh_nope')).toMatchObject({ code: 2, err: expect.stringContaining('wh_nope') });
    expect(await sluice('budgets', 'frobnicate')).toMatchObject({ code: 2, err: expect.stringContaining('sluice budgets create') });
  });
});
