import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type SimServer } from '../../src/sim/server';
import { npmStartCommand } from '../helpers/start-command';

/** `npm start` as a newcomer runs it: a real process, configured only by the environment. */
interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

function startGateway(env: Record<string, string>): Promise<Started> {
  const start = npmStartCommand();
  const child = spawn(process.execPath, start.args, {
    env: { ...start.env, PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = /Sluice listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match && /First request:[\s\S]*-d '\{"model"/.test(output)) resolve({ child, url: match[1]!, output: () => output, exited });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`gateway exited early (${code}):\n${output}`)));
  });
}

let sim: SimServer;
let dir: string;

beforeAll(async () => {
  sim = await startSim({ perTokenMs: 15, outputTokens: { min: 60, max: 60 } });
  dir = mkdtempSync(join(tmpdir(), 'sluice-lifecycle-'));
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('generates an admin key on the first start, prints it once, and keeps only its hash', async () => {
    const env = { PORT: '0', SLUICE_DB_URL: `file:${join(dir, 'first', 'sluice.db')}`, OPENAI_BASE_URL: `${sim.url}/v1`, OPENAI_API_KEY: 'sk-sim' };
    const first = await startGateway(env);
    const adminKey = /Admin key[^\n]*\n\s+(sk-sluice-admin-\S+)/.exec(first.output())?.[1];
    expect(adminKey).toBeDefined();
    expect(first.output()).toContain('openai     ' + `${sim.url}/v1  key set`);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startGateway(env);
    expect(second.output()).not.toContain('sk-sluice-admin-');
    const keys = await fetch(`${second.url}/admin/keys`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(keys.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const db = createClient({ url: env.SLUICE_DB_URL });
    const stored = await db.execute('select value from settings');
    db.close();
    expect(stored.rows.map((r) => String(r.value))).not.toContain(adminKey);
  });

  it('on SIGTERM finishes the in-flight stream, flushes the ledger and exits 0', async () => {
    const dbUrl = `file:${join(dir, 'drain', 'sluice.db')}`;
    const gateway = await startGateway({ PORT: '0', SLUICE_DB_URL: dbUrl, SLUICE_ADMIN_KEY: 'sk-sluice-admin-x', OPENAI_BASE_URL: `${sim.url}/v1`, OPENAI_API_KEY: 'sk-sim', SLUICE_LEDGER_FLUSH_MS: '60000' });
    const created = await fetch(`${gateway.url}/admin/keys`, { method: 'POST', headers: { authorization: 'Bearer sk-sluice-admin-x', 'content-type': 'application/json' }, body: '{"name":"drain"}' });
    const { key } = (await created.json()) as { key: string };
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'before' }] });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'slow story' }] });
    let text = '';
    let signalled = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (!signalled && text) {
        gateway.child.kill('SIGTERM');
        signalled = true;
      }
    }
    expect(text.split(' ').length).toBeGreaterThan(30);
    expect(await gateway.exited).toBe(0);
    // The ledger interval is a minute: both rows are there only because shutdown flushed them.
    const db = createClient({ url: dbUrl });
    const rows = await db.execute('select status, stream from usage_events order by time');
    db.close();
    expect(rows.rows.map((r) => [r.status, Number(r.stream)])).toEqual([
      ['ok', 0],
      ['ok', 1],
    ]);
  });

  it('refuses to start on a bad setting, naming it', async () => {
    const start = npmStartCommand();
    const child = spawn(process.execPath, start.args, { env: { ...start.env, PATH: process.env.PATH ?? '', PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('PORT must be an integer in range, got "eighty"');
  });
});
