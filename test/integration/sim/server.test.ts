import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type SimServer } from '../../../src/sim/server';
import { postJson } from './helpers';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(() => sim.close());

const chat = (content: string) => postJson(`${sim.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content }] }, { authorization: 'Bearer k' });

describe('sim server', () => {
  it('listens on loopback with a free port', () => {
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    expect(sim.port).toBeGreaterThan(0);
  });

  it('counts requests per route and model, including refused ones, and resets', async () => {
    sim.reset();
    await chat('a');
    await chat('b');
    await postJson(`${sim.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [] }, { authorization: 'Bearer k' });
    await fetch(`${sim.url}/v1/models`, { headers: { authorization: 'Bearer k' } });
    expect(sim.stats()).toEqual({
      requests: 4,
      byRoute: { 'POST /v1/chat/completions': 3, 'GET /v1/models': 1 },
      byModel: { 'gpt-4o': 2 },
    });
    const overHttp = await (await fetch(`${sim.url}/_sim/stats`)).json();
    expect(overHttp).toEqual(sim.stats());
    await fetch(`${sim.url}/_sim/reset`, { method: 'POST' });
    expect(sim.stats().requests).toBe(0);
  });

  it('answers unknown routes in the protocol shape without counting them', async () => {
    sim.reset();
    const response = await fetch(`${sim.url}/v1/nothing`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('Invalid URL (POST /v1/nothing)');
    expect(sim.stats().requests).toBe(0);
  });

  it('applies latency options', async () => {
    const slow = await startSim({ fixedLatencyMs: 60, firstTokenMs: 20, perTokenMs: 2, outputTokens: { min: 10, max: 10 } });
    try {
      const started = performance.now();
      const response = await postJson(`${slow.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { authorization: 'Bearer k' });
      expect(JSON.parse(response.text).usage.completion_tokens).toBe(10);
      expect(performance.now() - started).toBeGreaterThanOrEqual(60 + 20 + 2 * 10 - 5);
    } finally {
      await slow.close();
    }
  });

  it('closes with requests still held by the timeout fault', async () => {
    const holding = await startSim();
    holding.injectFault({ fault: 'timeout' });
    const pending = postJson(`${holding.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { authorization: 'Bearer k' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await holding.close();
    await expect(pending).rejects.toThrow();
  });
});
