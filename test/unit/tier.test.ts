import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { SluiceError } from '../../src/errors';
import { flexBackoffMs, isFlexCapacityFailure } from '../../src/routing/flex';
import { chooseTier, type TierInput } from '../../src/routing/tier';

const everyTier = { id: 'm', tiers: ['standard', 'flex', 'priority', 'batch'] as const };
const standardOnly = { id: 'plain', tiers: ['standard'] as const };
const noFlex = { id: 'nf', tiers: ['standard', 'priority', 'batch'] as const };

function input(overrides: Partial<TierInput> = {}): TierInput {
  return {
    policy: {},
    hint: undefined,
    deadlineS: undefined,
    serviceTier: undefined,
    model: { ...everyTier, tiers: [...everyTier.tiers] },
    stream: false,
    timeouts: { standardMs: 600_000, flexMs: 900_000 },
    ...overrides,
  };
}

function invalid(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error('expected a SluiceError');
}

describe('chooseTier', () => {
  it('defaults to standard; auto picks flex only for latency-tolerant keys on models sold at flex', () => {
    expect(chooseTier(input())).toMatchObject({ tier: 'standard', reason: 'default', flexFallback: true, timeoutMs: 600_000 });
    expect(chooseTier(input({ policy: { latency_tolerant: true } }))).toMatchObject({ tier: 'flex', reason: 'auto', timeoutMs: 900_000 });
    expect(chooseTier(input({ policy: { latency_tolerant: true }, model: { ...noFlex, tiers: [...noFlex.tiers] } }))).toMatchObject({ tier: 'standard', reason: 'default' });
    expect(chooseTier(input({ hint: 'auto', policy: { tier: 'standard', latency_tolerant: true } }))).toMatchObject({ tier: 'flex', reason: 'auto' });
  });

  it('the hint beats the body field, which beats the policy', () => {
    expect(chooseTier(input({ hint: 'priority', serviceTier: 'flex', policy: { tier: 'batch' } }))).toMatchObject({ tier: 'priority', reason: 'hint' });
    expect(chooseTier(input({ serviceTier: 'flex', policy: { tier: 'batch' } }))).toMatchObject({ tier: 'flex', reason: 'service_tier' });
    expect(chooseTier(input({ serviceTier: 'default', policy: { tier: 'flex' } }))).toMatchObject({ tier: 'standard', reason: 'service_tier' });
    expect(chooseTier(input({ serviceTier: 'auto', policy: { tier: 'flex' } }))).toMatchObject({ tier: 'flex', reason: 'policy' });
    expect(chooseTier(input({ policy: { tier: 'batch' } }))).toMatchObject({ tier: 'batch', reason: 'policy' });
  });

  it('a deadline picks the cheapest tier that meets it, and caps the timeout', () => {
    expect(chooseTier(input({ deadlineS: 30 }))).toMatchObject({ tier: 'standard', reason: 'deadline', timeoutMs: 30_000 });
    expect(chooseTier(input({ deadlineS: 600 }))).toMatchObject({ tier: 'flex', reason: 'deadline', timeoutMs: 600_000 });
    expect(chooseTier(input({ deadlineS: 86_400 }))).toMatchObject({ tier: 'batch', reason: 'deadline' });
    // No batch for streams, no batch where the model has none: the next cheapest.
    expect(chooseTier(input({ deadlineS: 86_400, stream: true }))).toMatchObject({ tier: 'flex' });
    expect(chooseTier(input({ deadlineS: 86_400, model: { ...standardOnly, tiers: [...standardOnly.tiers] } }))).toMatchObject({ tier: 'standard' });
    // The deadline overrides the key's policy.
    expect(chooseTier(input({ deadlineS: 30, policy: { tier: 'batch' } }))).toMatchObject({ tier: 'standard', reason: 'deadline' });
  });

  it('a tier the model does not sell falls back to standard; batch is always available (drained)', () => {
    const plain = { ...standardOnly, tiers: [...standardOnly.tiers] };
    expect(chooseTier(input({ hint: 'flex', model: plain }))).toMatchObject({ tier: 'standard', reason: 'unsupported' });
    expect(chooseTier(input({ hint: 'priority', model: plain }))).toMatchObject({ tier: 'standard', reason: 'unsupported' });
    expect(chooseTier(input({ hint: 'batch', model: plain }))).toMatchObject({ tier: 'batch', reason: 'hint' });
  });

  it('a batch policy on a stream streams at the next cheapest tier', () => {
    expect(chooseTier(input({ policy: { tier: 'batch' }, stream: true }))).toMatchObject({ tier: 'flex', reason: 'stream' });
    expect(chooseTier(input({ policy: { tier: 'batch' }, stream: true, model: { ...noFlex, tiers: [...noFlex.tiers] } }))).toMatchObject({ tier: 'standard', reason: 'stream' });
  });

  it('carries the key flex_fallback setting', () => {
    expect(chooseTier(input({ policy: { tier: 'flex', flex_fallback: false } }))).toMatchObject({ tier: 'flex', flexFallback: false });
  });

  it('refuses contradictions with the parameter at fault', () => {
    expect(invalid(() => chooseTier(input({ hint: 'batch', stream: true })))).toMatchObject({ code: 'invalid_request', param: 'x-sluice-tier' });
    expect(invalid(() => chooseTier(input({ hint: 'flex', deadlineS: 30 })))).toMatchObject({ param: 'x-sluice-tier' });
    expect(invalid(() => chooseTier(input({ serviceTier: 'flex', deadlineS: 60 })))).toMatchObject({ param: 'service_tier' });
    expect(invalid(() => chooseTier(input({ deadlineS: 0 })))).toMatchObject({ param: 'x-sluice-deadline' });
  });
});

describe('flex capacity and backoff', () => {
  it("recognises OpenAI's resource_unavailable, not plain rate limits", () => {
    const failure = { status: 429, type: 'resource_unavailable', message: 'Resource Unavailable', retryAfter: undefined };
    expect(isFlexCapacityFailure('openai', failure)).toBe(true);
    expect(isFlexCapacityFailure('openai', { ...failure, type: 'requests', message: 'Rate limit reached' })).toBe(false);
    expect(isFlexCapacityFailure('openai', { ...failure, status: 500 })).toBe(false);
    expect(isFlexCapacityFailure('bedrock', { status: 429, type: 'ThrottlingException', message: 'slow down', retryAfter: undefined })).toBe(true);
    expect(isFlexCapacityFailure('anthropic', failure)).toBe(false);
  });

  it('backs off exponentially with jitter, within the cap, honouring a longer retry-after', () => {
    const tiers = parseConfig({ SLUICE_FLEX_BACKOFF_MS: '1000', SLUICE_FLEX_BACKOFF_MAX_MS: '8000' }).tiers;
    expect(flexBackoffMs(tiers, 1, undefined, 0.5)).toBe(1000);
    expect(flexBackoffMs(tiers, 3, undefined, 0.5)).toBe(4000);
    expect(flexBackoffMs(tiers, 3, undefined, 0)).toBe(3000);
    expect(flexBackoffMs(tiers, 3, undefined, 1)).toBe(5000);
    expect(flexBackoffMs(tiers, 10, undefined, 0.5)).toBe(8000);
    expect(flexBackoffMs(tiers, 1, '5', 0.5)).toBe(5000);
    expect(flexBackoffMs(tiers, 1, '60', 0.5)).toBe(8000);
  });
});

describe('tier and batch configuration', () => {
  it('has defaults, reads the environment and the file, and names a bad value', () => {
    const defaults = parseConfig({});
    expect(defaults.tiers).toEqual({ flexTimeoutMs: 900_000, flexRetries: 3, flexBackoffMs: 1000, flexBackoffMaxMs: 30_000 });
    expect(defaults.batch).toEqual({ maxItems: undefined, maxBytes: undefined, drainConcurrency: 4, maxAttempts: 3, queueTtlMs: 86_400_000 });
    const configured = parseConfig({ SLUICE_FLEX_RETRIES: '0' }, { tiers: { flex_timeout_ms: 60_000 }, batch: { max_items: 1000 } });
    expect(configured.tiers).toMatchObject({ flexRetries: 0, flexTimeoutMs: 60_000 });
    expect(configured.batch.maxItems).toBe(1000);
    expect(() => parseConfig({ SLUICE_FLEX_RETRIES: '-1' })).toThrow(/SLUICE_FLEX_RETRIES must be a non-negative integer/);
    expect(() => parseConfig({}, { webhooks: { endpoints: [{ id: 'x', url: 'https://example.com/hook', secret: 'hunter2' }] } })).toThrow(/webhooks\.endpoints\.0\.secret: a Standard Webhooks secret/);
  });
});
