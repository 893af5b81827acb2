import type { LengthRange } from './generate';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Provider batch limits; lower them in tests to exercise the limit errors cheaply. */
export interface BatchLimits {
  /** OpenAI: requests per batch input file (50,000). */
  openaiMaxRequests: number;
  /** OpenAI: bytes per batch input file (200 MB). */
  openaiMaxFileBytes: number;
  /** Anthropic: requests per message batch (100,000). */
  anthropicMaxRequests: number;
  /** Anthropic: bytes per message-batch request body (256 MB). */
  anthropicMaxBytes: number;
}

export interface SimOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Clock in ms for `created` timestamps, cache TTLs and batch progress; default Date.now. */
  now?: () => number;
  /** Delay before any answer starts (ms). */
  fixedLatencyMs?: number;
  /** Extra delay before the first generated token (ms); non-streaming answers wait for it too. */
  firstTokenMs?: number;
  /** Delay between streamed chunks (ms); non-streaming answers wait for the whole generation. */
  perTokenMs?: number;
  /** When set, only these keys are accepted (OpenAI/Anthropic keys, Bedrock API keys); otherwise any non-empty key. */
  apiKeys?: readonly string[];
  /** When set, Bedrock SigV4 signatures are verified against these; otherwise only their format is checked. */
  awsCredentials?: readonly AwsCredentials[];
  /** Time each batch state lasts (validating, in_progress, finalizing), on the injected clock; default 0. */
  batchDelayMs?: number;
  /** Natural answer length range in tokens before max_tokens applies; default 20–60. */
  outputTokens?: LengthRange;
  /** Override provider batch limits. */
  batchLimits?: Partial<BatchLimits>;
}

export interface ResolvedSimOptions {
  port: number;
  host: string;
  now: () => number;
  fixedLatencyMs: number;
  firstTokenMs: number;
  perTokenMs: number;
  apiKeys: ReadonlySet<string> | null;
  awsCredentials: ReadonlyMap<string, string> | null;
  batchDelayMs: number;
  outputTokens: LengthRange;
  batchLimits: BatchLimits;
}

const DEFAULT_BATCH_LIMITS: BatchLimits = {
  openaiMaxRequests: 50_000,
  openaiMaxFileBytes: 200 * 1024 * 1024,
  anthropicMaxRequests: 100_000,
  anthropicMaxBytes: 256 * 1024 * 1024,
};

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`sim option ${name} must be a non-negative number, got ${value}`);
  return value;
}

export function resolveOptions(options: SimOptions = {}): ResolvedSimOptions {
  const outputTokens = options.outputTokens ?? { min: 20, max: 60 };
  if (!(outputTokens.min >= 1 && outputTokens.max >= outputTokens.min)) {
    throw new RangeError(`sim option outputTokens must satisfy 1 <= min <= max, got ${outputTokens.min}-${outputTokens.max}`);
  }
  return {
    port: nonNegative('port', options.port, 0),
    host: options.host ?? '127.0.0.1',
    now: options.now ?? Date.now,
    fixedLatencyMs: nonNegative('fixedLatencyMs', options.fixedLatencyMs, 0),
    firstTokenMs: nonNegative('firstTokenMs', options.firstTokenMs, 0),
    perTokenMs: nonNegative('perTokenMs', options.perTokenMs, 0),
    apiKeys: options.apiKeys ? new Set(options.apiKeys) : null,
    awsCredentials: options.awsCredentials ? new Map(options.awsCredentials.map((c) => [c.accessKeyId, c.secretAccessKey])) : null,
    batchDelayMs: nonNegative('batchDelayMs', options.batchDelayMs, 0),
    outputTokens,
    batchLimits: { ...DEFAULT_BATCH_LIMITS, ...options.batchLimits },
  };
}
