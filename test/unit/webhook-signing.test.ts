import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/webhooks/dispatcher';
import { generateSecret, secretKey, signMessage } from '../../src/webhooks/signing';
import { slackBody } from '../../src/webhooks/slack';

describe('Standard Webhooks signatures', () => {
  it('a generated secret signs messages the reference library verifies', async () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ type: 'budget.threshold_crossed', timestamp: '2026-11-25T00:00:00.000Z', data: { budget_id: 'bud_1' } });
    const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signMessage(secret, id, timestamp, body);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const verified = new Webhook(secret).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature });
    expect(verified).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature })).toThrow();
  });

  it('matches the reference library byte for byte on a fixed vector', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    const library = new Webhook(secret).sign('msg_p5jXN8AQM9LWM0D4loKWxJek', new Date(1614265330 * 1000), body);
    expect(await signMessage(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe(library);
  });

  it('rejects secrets that are not whsec_ base64 of 24-64 bytes', () => {
    expect(secretKey('abc')).toMatch(/start with "whsec_"/);
    expect(secretKey('whsec_not*base64')).toMatch(/base64/);
    expect(secretKey('whsec_' + btoa('short'))).toMatch(/24-64 bytes \(got 5\)/);
    expect(secretKey('whsec_' + btoa('x'.repeat(65)))).toMatch(/got 65/);
    expect(secretKey(generateSecret())).toBeInstanceOf(Uint8Array);
  });
});

describe('retry schedule', () => {
  it('backs off exponentially with bounded jitter; eight attempts span about a day', () => {
    const mid = (): number => 0.5;
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, mid));
    expect(delays).toEqual([30_000, 120_000, 480_000, 1_920_000, 7_680_000, 30_720_000, 43_200_000]);
    const total = delays.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(total).toBeGreaterThan(20);
    expect(total).toBeLessThan(28);
    expect(retryDelayMs(1, () => 0)).toBe(22_500);
    expect(retryDelayMs(1, () => 0.999999)).toBeLessThan(37_501);
  });

  it('waits at least as long as the receiver asks with Retry-After (capped at 12 h)', () => {
    expect(retryDelayMs(1, () => 0.5, 600_000)).toBe(600_000);
    expect(retryDelayMs(1, () => 0.5, 100 * 3_600_000)).toBe(12 * 3_600_000);
  });
});

describe('Slack body', () => {
  it('summarizes a budget event in one mrkdwn text', () => {
    const payload = JSON.stringify({
      type: 'budget.threshold_crossed',
      timestamp: '2026-11-25T10:00:00.000Z',
      data: {
        budget_id: 'bud_1',
        budget_name: 'search monthly',
        scope: { type: 'team', value: 'search' },
        period: 'month',
        threshold: 0.8,
        spend_usd: 81.5,
        spend_nusd: 81_500_000_000,
        amount_usd: 100,
        amount_nusd: 100_000_000_000,
        period_start: '2026-11-01T00:00:00.000Z',
        period_end: '2026-12-01T00:00:00.000Z',
        forecast_usd: 120.25,
        top_spenders: [{ key_id: 'key_1', user: 'ana', team: 'search', project: null, spend_usd: 60, spend_nusd: 60_000_000_000 }],
      },
    });
    const body = JSON.parse(slackBody(payload)) as { text: string };
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toBe(
      ':warning: Budget *search monthly* (team `search`, month) passed 80%: $81.50 of $100.00 spent until 2026-12-01. Forecast for the period: $120.25.\nTop spenders: ana $60.00',
    );
  });

  it('shows other events as their data', () => {
    const body = JSON.parse(slackBody(JSON.stringify({ type: 'report.ready', timestamp: 't', data: { id: 'rep_1' } }))) as { text: string };
    expect(body.text).toContain('`report.ready`');
    expect(body.text).toContain('"id": "rep_1"');
  });
});
