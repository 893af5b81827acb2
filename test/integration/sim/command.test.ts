import { afterEach, describe, expect, it, vi } from 'vitest';
import { simCommand } from '../../../src/sim/command';

function captureOutput() {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

afterEach(() => vi.restoreAllMocks());

describe('sluice sim command', () => {
  it('prints help', async () => {
    const output = captureOutput();
    expect(await simCommand(['--help'])).toBe(0);
    expect(output.stdout()).toMatch(/--per-token-ms/);
  });

  it('refuses bad flags with exit code 2', async () => {
    const output = captureOutput();
    expect(await simCommand(['--latency-ms', 'soon'])).toBe(2);
    expect(output.stderr()).toMatch(/--latency-ms must be a non-negative integer/);
    expect(await simCommand(['--bogus'])).toBe(2);
  });

  it('serves until SIGTERM and prints the environment lines', async () => {
    const output = captureOutput();
    const before = new Set(process.listeners('SIGTERM'));
    const exit = simCommand(['--port', '0', '--latency-ms', '1']);
    await vi.waitFor(() => expect(output.stdout()).toMatch(/listening on/));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout())![1]!;
    expect(output.stdout()).toContain(`OPENAI_BASE_URL=${url}/v1`);
    expect(output.stdout()).toContain(`ANTHROPIC_BASE_URL=${url}\n`);
    expect(output.stdout()).toContain(`BEDROCK_BASE_URL=${url}\n`);
    const models = await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer k' } });
    expect(models.status).toBe(200);

    // Deliver the signal to the command's own handler only, not to the test runner's.
    const handler = process.listeners('SIGTERM').find((listener) => !before.has(listener))!;
    handler('SIGTERM');
    expect(await exit).toBe(0);
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow();
  });
});
