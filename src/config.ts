import { z } from 'zod';
import { CatalogOverrides } from './catalog/types';
import { KeyPolicy } from './keys/policy';
import { GroupByParam, type GroupDimension } from './reports/dimensions';
import { EVENT_TYPES } from './webhooks/event-types';

/**
 * The single source of configuration truth. Environment variables (DESIGN.md's table) win over
 * the optional config file (`SLUICE_CONFIG`, YAML or JSON), which can set the same and more.
 * Parsed once per entry; a bad value fails the start with a message that names it.
 */

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
/** 0 asks the OS for a free port (tests, benchmarks). */
const portNumber = z.coerce.number().int().min(0).max(65535);

const FileConfig = z
  .object({
    server: z
      .object({ port: portNumber.optional(), host: z.string().optional(), tls_cert: z.string().optional(), tls_key: z.string().optional() })
      .strict()
      .optional(),
    database: z.object({ url: z.string().optional(), auth_token: z.string().optional() }).strict().optional(),
    admin_key: z.string().optional(),
    providers: z
      .object({
        openai: z
          .object({ api_key: z.string().optional(), base_url: z.url().optional(), organization: z.string().optional() })
          .strict()
          .optional(),
        anthropic: z
          .object({ api_key: z.string().optional(), base_url: z.url().optional(), version: z.string().optional() })
          .strict()
          .optional(),
        bedrock: z
          .object({
            region: z.string().optional(),
            access_key_id: z.string().optional(),
            secret_access_key: z.string().optional(),
            session_token: z.string().optional(),
            api_key: z.string().optional(),
            base_url: z.url().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        max_body_bytes: positiveInt.optional(),
        upstream_timeout_ms: positiveInt.optional(),
        stream_idle_timeout_ms: positiveInt.optional(),
      })
      .strict()
      .optional(),
    ledger: z
      .object({ flush_interval_ms: positiveInt.optional(), flush_max_events: positiveInt.optional() })
      .strict()
      .optional(),
    tiers: z
      .object({
        flex_timeout_ms: positiveInt.optional(),
        flex_retries: nonNegativeInt.optional(),
        flex_backoff_ms: nonNegativeInt.optional(),
        flex_backoff_max_ms: nonNegativeInt.optional(),
      })
      .strict()
      .optional(),
    batch: z
      .object({
        max_items: positiveInt.optional(),
        max_bytes: positiveInt.optional(),
        drain_concurrency: positiveInt.optional(),
        max_attempts: positiveInt.optional(),
        queue_ttl_ms: positiveInt.optional(),
      })
      .strict()
      .optional(),
    cache: z
      .object({
        ttl_s: positiveInt.optional(),
        memory_mb: nonNegativeInt.optional(),
        max_db_mb: positiveInt.optional(),
        max_entry_kb: positiveInt.optional(),
      })
      .strict()
      .optional(),
    catalog: CatalogOverrides.optional(),
    default_policy: KeyPolicy.optional(),
    webhooks: z
      .object({
        allow_private: z.boolean().optional(),
        timeout_ms: positiveInt.optional(),
        /**
         * Endpoints as code: upserted into the webhook endpoints (`/admin/webhooks`) at start, under
         * these ids, so a key's `policy.webhook_id` or a budget's `webhook_ids` can name them.
         */
        endpoints: z
          .array(
            z
              .object({
                id: z.string().min(1),
                url: z.url(),
                secret: z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'a Standard Webhooks secret: whsec_ followed by base64'),
                /** Event types it receives (default: deferred.completed, what a key's webhook_id is for). */
                events: z.array(z.enum([...EVENT_TYPES, '*'])).min(1).optional(),
                format: z.enum(['standard', 'slack']).optional(),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .optional(),
    budgets: z.object({ reconcile_ms: positiveInt.optional() }).strict().optional(),
    reports: z
      .object({
        export_dir: z.string().min(1).optional(),
        export_group_by: z.string().optional(),
        billing_account_id: z.string().min(1).optional(),
        billing_account_name: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type FileConfig = z.infer<typeof FileConfig>;

export interface ProviderCredentials {
  openai: { apiKey: string | undefined; baseUrl: string; organization: string | undefined };
  anthropic: { apiKey: string | undefined; baseUrl: string; version: string };
  bedrock: {
    region: string;
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    sessionToken: string | undefined;
    apiKey: string | undefined;
    baseUrl: string;
  };
}

export interface Config {
  port: number;
  host: string;
  /** PEM certificate and key file paths: serve HTTPS (h2 and http/1.1) instead of cleartext. */
  tls: { certPath: string; keyPath: string } | undefined;
  dbUrl: string;
  dbAuthToken: string | undefined;
  /** Plaintext admin key from the environment or file; when absent one is generated on first start. */
  adminKey: string | undefined;
  providers: ProviderCredentials;
  /** Largest accepted request body, in bytes (413 beyond). */
  maxBodyBytes: number;
  /** Time allowed for the upstream to start answering, in ms (504 beyond). */
  upstreamTimeoutMs: number;
  /** Longest silence allowed between two chunks of an upstream stream, in ms. */
  streamIdleTimeoutMs: number;
  ledgerFlushIntervalMs: number;
  ledgerFlushMaxEvents: number;
  tiers: TierConfig;
  batch: BatchConfig;
  /** The response cache (src/cache). */
  cache: {
    /** Entry lifetime when the key's policy sets no `cache_ttl_s`. */
    defaultTtlS: number;
    /** In-process LRU in front of the table; 0 turns it off. */
    memoryBytes: number;
    /** Size cap of the table, enforced by the `cache` job. */
    maxTotalBytes: number;
    /** Larger answers are not stored. */
    maxEntryBytes: number;
  };
  catalog: CatalogOverrides | undefined;
  defaultPolicy: KeyPolicy;
  webhookAllowPrivate: boolean;
  /** Time a webhook receiver has to answer, in ms (a timeout is retried). */
  webhookTimeoutMs: number;
  /** How often budget counters are reconciled with the database (other instances' spend), in ms. */
  budgetReconcileMs: number;
  /** Webhook endpoints declared in the config file (id → url and whsec_ secret). */
  webhookEndpoints: ReadonlyArray<ConfiguredEndpoint>;
  reports: ReportsConfig;
}

export interface ReportsConfig {
  /** Where the monthly export writes its files on Node (SLUICE_EXPORT_DIR). */
  exportDir: string;
  /** The monthly chargeback files' grouping (file: reports.export_group_by). */
  exportGroupBy: GroupDimension[];
  /** FOCUS BillingAccountId / BillingAccountName: how finance names this Sluice deployment. */
  billingAccountId: string;
  billingAccountName: string;
}

export interface ConfiguredEndpoint {
  id: string;
  url: string;
  secret: string;
  events?: string[];
  format?: 'standard' | 'slack';
}

export interface TierConfig {
  /** Time allowed for a flex request to start answering (flex queues; OpenAI advises 15 minutes). */
  flexTimeoutMs: number;
  /** Retries of a flex request refused for capacity before falling back (or giving up). */
  flexRetries: number;
  /** First backoff between flex retries; doubles each retry, with jitter, up to the maximum. */
  flexBackoffMs: number;
  flexBackoffMaxMs: number;
}

export interface BatchConfig {
  /** Cap on requests per provider batch job, below the provider's own limit. */
  maxItems: number | undefined;
  /** Cap on bytes per provider batch job, below the provider's own limit. */
  maxBytes: number | undefined;
  /** Concurrent upstream calls when draining models that have no batch API. */
  drainConcurrency: number;
  /** Tries of a deferred request (a drain call, or a provider batch that failed as a whole) before it fails. */
  maxAttempts: number;
  /** How long a deferred request may wait in the queue before it expires. */
  queueTtlMs: number;
}

type Env = Record<string, string | undefined>;

const MIB = 1024 * 1024;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function intFromEnv(env: Env, name: string, schema: z.ZodType<number> = positiveInt): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const expected = schema === positiveInt ? 'a positive integer' : schema === nonNegativeInt ? 'a non-negative integer' : 'an integer in range';
    throw new ConfigError(`${name} must be ${expected}, got "${raw}"`);
  }
  return parsed.data;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function formatZodIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

function parseReportsConfig(env: Env, file: FileConfig['reports']): ReportsConfig {
  const groupBy = GroupByParam.safeParse(file?.export_group_by ?? 'team,project,key,model');
  if (!groupBy.success) throw new ConfigError(`reports.export_group_by: ${formatZodIssues(groupBy.error)}`);
  return {
    exportDir: nonEmpty(env.SLUICE_EXPORT_DIR) ?? file?.export_dir ?? './data/exports',
    exportGroupBy: groupBy.data,
    billingAccountId: file?.billing_account_id ?? 'sluice',
    billingAccountName: file?.billing_account_name ?? 'Sluice gateway',
  };
}

/** Builds the configuration from environment variables and an optional parsed config file. */
export function parseConfig(env: Env, file?: unknown): Config {
  const parsedFile = FileConfig.safeParse(file ?? {});
  if (!parsedFile.success) throw new ConfigError(`config file: ${formatZodIssues(parsedFile.error)}`);
  const f = parsedFile.data;
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? f.providers?.bedrock?.region ?? 'us-east-1';

  const urls = {
    openai: nonEmpty(env.OPENAI_BASE_URL) ?? f.providers?.openai?.base_url ?? 'https://api.openai.com/v1',
    anthropic: nonEmpty(env.ANTHROPIC_BASE_URL) ?? f.providers?.anthropic?.base_url ?? 'https://api.anthropic.com',
    bedrock:
      nonEmpty(env.BEDROCK_BASE_URL) ?? f.providers?.bedrock?.base_url ?? `https://bedrock-runtime.${region}.amazonaws.com`,
  };
  for (const [name, url] of Object.entries(urls)) {
    if (!z.url().safeParse(url).success) throw new ConfigError(`${name} base URL is not a URL: "${url}"`);
  }

  const port = intFromEnv(env, 'PORT', portNumber) ?? f.server?.port ?? 8787;
  const certPath = nonEmpty(env.SLUICE_TLS_CERT) ?? f.server?.tls_cert;
  const keyPath = nonEmpty(env.SLUICE_TLS_KEY) ?? f.server?.tls_key;
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ConfigError('TLS needs both a certificate and its key: set SLUICE_TLS_CERT and SLUICE_TLS_KEY (or server.tls_cert and server.tls_key), or neither.');
  }

  return {
    port,
    host: nonEmpty(env.HOST) ?? f.server?.host ?? '127.0.0.1',
    tls: certPath && keyPath ? { certPath, keyPath } : undefined,
    dbUrl: nonEmpty(env.SLUICE_DB_URL) ?? f.database?.url ?? 'file:./data/sluice.db',
    dbAuthToken: nonEmpty(env.SLUICE_DB_AUTH_TOKEN) ?? f.database?.auth_token,
    adminKey: nonEmpty(env.SLUICE_ADMIN_KEY) ?? f.admin_key,
    providers: {
      openai: {
        apiKey: nonEmpty(env.OPENAI_API_KEY) ?? f.providers?.openai?.api_key,
        baseUrl: urls.openai.replace(/\/+$/, ''),
        organization: nonEmpty(env.OPENAI_ORG_ID) ?? f.providers?.openai?.organization,
      },
      anthropic: {
        apiKey: nonEmpty(env.ANTHROPIC_API_KEY) ?? f.providers?.anthropic?.api_key,
        baseUrl: urls.anthropic.replace(/\/+$/, ''),
        version: f.providers?.anthropic?.version ?? '2023-06-01',
      },
      bedrock: {
        region,
        accessKeyId: nonEmpty(env.AWS_ACCESS_KEY_ID) ?? f.providers?.bedrock?.access_key_id,
        secretAccessKey: nonEmpty(env.AWS_SECRET_ACCESS_KEY) ?? f.providers?.bedrock?.secret_access_key,
        sessionToken: nonEmpty(env.AWS_SESSION_TOKEN) ?? f.providers?.bedrock?.session_token,
        apiKey: nonEmpty(env.AWS_BEARER_TOKEN_BEDROCK) ?? f.providers?.bedrock?.api_key,
        baseUrl: urls.bedrock.replace(/\/+$/, ''),
      },
    },
    maxBodyBytes: intFromEnv(env, 'SLUICE_MAX_BODY_BYTES') ?? f.limits?.max_body_bytes ?? 20 * 1024 * 1024,
    upstreamTimeoutMs: intFromEnv(env, 'SLUICE_UPSTREAM_TIMEOUT_MS') ?? f.limits?.upstream_timeout_ms ?? 600_000,
    streamIdleTimeoutMs:
      intFromEnv(env, 'SLUICE_STREAM_IDLE_TIMEOUT_MS') ?? f.limits?.stream_idle_timeout_ms ?? 300_000,
    ledgerFlushIntervalMs: intFromEnv(env, 'SLUICE_LEDGER_FLUSH_MS') ?? f.ledger?.flush_interval_ms ?? 1000,
    // Small batches: a local file commits on the event loop (about 3 ms per 100 events), so a
    // large batch would hold up every request in flight while it is written.
    ledgerFlushMaxEvents: intFromEnv(env, 'SLUICE_LEDGER_FLUSH_MAX') ?? f.ledger?.flush_max_events ?? 100,
    tiers: {
      flexTimeoutMs: intFromEnv(env, 'SLUICE_FLEX_TIMEOUT_MS') ?? f.tiers?.flex_timeout_ms ?? 900_000,
      flexRetries: intFromEnv(env, 'SLUICE_FLEX_RETRIES', nonNegativeInt) ?? f.tiers?.flex_retries ?? 3,
      flexBackoffMs: intFromEnv(env, 'SLUICE_FLEX_BACKOFF_MS', nonNegativeInt) ?? f.tiers?.flex_backoff_ms ?? 1000,
      flexBackoffMaxMs: intFromEnv(env, 'SLUICE_FLEX_BACKOFF_MAX_MS', nonNegativeInt) ?? f.tiers?.flex_backoff_max_ms ?? 30_000,
    },
    batch: {
      maxItems: intFromEnv(env, 'SLUICE_BATCH_MAX_ITEMS') ?? f.batch?.max_items,
      maxBytes: intFromEnv(env, 'SLUICE_BATCH_MAX_BYTES') ?? f.batch?.max_bytes,
      drainConcurrency: intFromEnv(env, 'SLUICE_BATCH_DRAIN_CONCURRENCY') ?? f.batch?.drain_concurrency ?? 4,
      maxAttempts: intFromEnv(env, 'SLUICE_BATCH_MAX_ATTEMPTS') ?? f.batch?.max_attempts ?? 3,
      queueTtlMs: intFromEnv(env, 'SLUICE_BATCH_QUEUE_TTL_MS') ?? f.batch?.queue_ttl_ms ?? 24 * 60 * 60 * 1000,
    },
    cache: {
      defaultTtlS: intFromEnv(env, 'SLUICE_CACHE_TTL_S') ?? f.cache?.ttl_s ?? 3600,
      memoryBytes: (intFromEnv(env, 'SLUICE_CACHE_MEMORY_MB', nonNegativeInt) ?? f.cache?.memory_mb ?? 64) * MIB,
      maxTotalBytes: (intFromEnv(env, 'SLUICE_CACHE_DB_MB') ?? f.cache?.max_db_mb ?? 1024) * MIB,
      maxEntryBytes: (intFromEnv(env, 'SLUICE_CACHE_MAX_ENTRY_KB') ?? f.cache?.max_entry_kb ?? 1024) * 1024,
    },
    catalog: f.catalog,
    defaultPolicy: f.default_policy ?? {},
    webhookAllowPrivate: env.SLUICE_WEBHOOK_ALLOW_PRIVATE === '1' || (f.webhooks?.allow_private ?? false),
    webhookTimeoutMs: intFromEnv(env, 'SLUICE_WEBHOOK_TIMEOUT_MS') ?? f.webhooks?.timeout_ms ?? 15_000,
    budgetReconcileMs: intFromEnv(env, 'SLUICE_BUDGET_RECONCILE_MS') ?? f.budgets?.reconcile_ms ?? 5_000,
    webhookEndpoints: f.webhooks?.endpoints ?? [],
    reports: parseReportsConfig(env, f.reports),
  };
}
