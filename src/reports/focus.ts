import type { Catalog } from '../catalog/catalog';
import type { KeyLabel } from '../keys/keys';
import { csvRecord, usdFromNusd, type CsvCell } from './format';
import type { Report, ReportRow } from './report';
import { DAY_MS, monthStart, nextMonthStart } from './time';

/**
 * The FinOps FOCUS 1.2 cost-and-usage export. Grain (one row each): a UTC day (clipped to the
 * requested range) × Sluice key × served model × service tier × the user, team and project
 * recorded on the events, i.e. one rollup dimension per day. Tags are the key's tags plus that
 * attribution (per-request detail tags are in the chargeback report, `group_by=tag:<name>`: one
 * FOCUS row per request tag value would multiply the rows). Rows whose requests used no tokens and
 * cost nothing (e.g. failed requests) are left out: they are not charges. How each column is filled is documented in
 * src/reports/README.md; Sluice's own columns carry the `x_` prefix.
 */

export const FOCUS_VERSION = '1.2';

export type FocusDataType = 'Decimal' | 'String' | 'Date/Time' | 'JSON';

export interface FocusColumn {
  name: string;
  type: FocusDataType;
  nullable: boolean;
}

const column = (name: string, type: FocusDataType, nullable: boolean): FocusColumn => ({ name, type, nullable });

/** Every column of the FOCUS 1.2 specification, in its (alphabetical) order, with its data type and nullability. */
export const FOCUS_COLUMNS: readonly FocusColumn[] = [
  column('AvailabilityZone', 'String', true),
  column('BilledCost', 'Decimal', false),
  column('BillingAccountId', 'String', false),
  column('BillingAccountName', 'String', false),
  column('BillingAccountType', 'String', true),
  column('BillingCurrency', 'String', false),
  column('BillingPeriodEnd', 'Date/Time', false),
  column('BillingPeriodStart', 'Date/Time', false),
  column('CapacityReservationId', 'String', true),
  column('CapacityReservationStatus', 'String', true),
  column('ChargeCategory', 'String', false),
  column('ChargeClass', 'String', true),
  column('ChargeDescription', 'String', true),
  column('ChargeFrequency', 'String', false),
  column('ChargePeriodEnd', 'Date/Time', false),
  column('ChargePeriodStart', 'Date/Time', false),
  column('CommitmentDiscountCategory', 'String', true),
  column('CommitmentDiscountId', 'String', true),
  column('CommitmentDiscountName', 'String', true),
  column('CommitmentDiscountQuantity', 'Decimal', true),
  column('CommitmentDiscountStatus', 'String', true),
  column('CommitmentDiscountType', 'String', true),
  column('CommitmentDiscountUnit', 'String', true),
  column('ConsumedQuantity', 'Decimal', true),
  column('ConsumedUnit', 'String', true),
  column('ContractedCost', 'Decimal', false),
  column('ContractedUnitPrice', 'Decimal', true),
  column('EffectiveCost', 'Decimal', false),
  column('InvoiceId', 'String', true),
  column('InvoiceIssuerName', 'String', false),
  column('ListCost', 'Decimal', false),
  column('ListUnitPrice', 'Decimal', true),
  column('PricingCategory', 'String', true),
  column('PricingCurrency', 'String', true),
  column('PricingCurrencyContractedUnitPrice', 'Decimal', true),
  column('PricingCurrencyEffectiveCost', 'Decimal', true),
  column('PricingCurrencyListUnitPrice', 'Decimal', true),
  column('PricingQuantity', 'Decimal', true),
  column('PricingUnit', 'String', true),
  column('ProviderName', 'String', false),
  column('PublisherName', 'String', false),
  column('RegionId', 'String', true),
  column('RegionName', 'String', true),
  column('ResourceId', 'String', true),
  column('ResourceName', 'String', true),
  column('ResourceType', 'String', true),
  column('ServiceCategory', 'String', false),
  column('ServiceName', 'String', false),
  column('ServiceSubcategory', 'String', true),
  column('SkuId', 'String', true),
  column('SkuMeter', 'String', true),
  column('SkuPriceDetails', 'JSON', true),
  column('SkuPriceId', 'String', true),
  column('SubAccountId', 'String', true),
  column('SubAccountName', 'String', true),
  column('SubAccountType', 'String', true),
  column('Tags', 'JSON', true),
];

/** Sluice's own columns (FOCUS custom columns: `x_` prefix, PascalCase). */
export const FOCUS_SLUICE_COLUMNS: readonly FocusColumn[] = [
  column('x_User', 'String', true),
  column('x_Team', 'String', true),
  column('x_Project', 'String', true),
  column('x_ModelFamily', 'String', true),
  column('x_ServiceTier', 'String', false),
  column('x_Requests', 'Decimal', false),
  column('x_ErrorRequests', 'Decimal', false),
  column('x_InputTokens', 'Decimal', false),
  column('x_CachedInputTokens', 'Decimal', false),
  column('x_CacheWriteTokens', 'Decimal', false),
  column('x_OutputTokens', 'Decimal', false),
  column('x_ReasoningTokens', 'Decimal', false),
  column('x_BaselineCost', 'Decimal', false),
  column('x_RoutingSavings', 'Decimal', false),
  column('x_CachingSavings', 'Decimal', false),
  column('x_TierSavings', 'Decimal', false),
  column('x_ResponseCacheHits', 'Decimal', false),
];

const ALL_COLUMNS = [...FOCUS_COLUMNS, ...FOCUS_SLUICE_COLUMNS].map((c) => c.name);

/** The report grain a FOCUS export is computed at (one rollup dimension per UTC day). */
export const FOCUS_GRAIN = ['day', 'key', 'user', 'team', 'project', 'provider', 'family', 'model', 'tier'] as const;

export interface FocusOptions {
  catalog: Catalog;
  keys: ReadonlyMap<string, KeyLabel>;
  billingAccountId: string;
  billingAccountName: string;
  /** Bedrock's region (the only upstream Sluice calls in a region of its choosing). */
  bedrockRegion: string;
}

const PROVIDERS: Record<string, { name: string; service: string }> = {
  openai: { name: 'OpenAI', service: 'OpenAI API' },
  anthropic: { name: 'Anthropic', service: 'Anthropic API' },
  bedrock: { name: 'Amazon Web Services', service: 'Amazon Bedrock' },
};

const BEDROCK_PUBLISHERS: Record<string, string> = {
  anthropic: 'Anthropic',
  amazon: 'Amazon',
  meta: 'Meta',
  mistral: 'Mistral AI',
  cohere: 'Cohere',
  ai21: 'AI21 Labs',
  deepseek: 'DeepSeek',
  openai: 'OpenAI',
  qwen: 'Qwen',
  writer: 'Writer',
};

/** Who made the model: the provider itself, or for Bedrock the vendor in the model id (`us.anthropic.claude-...`). */
function publisherOf(provider: string, model: string | null, catalog: Catalog): string {
  const providerName = PROVIDERS[provider]?.name ?? provider;
  if (provider !== 'bedrock' || model === null) return providerName;
  const upstream = catalog.find(model)?.upstream_id;
  if (!upstream) return providerName;
  const vendor = upstream.replace(/^(?:global|us|eu|apac|jp|au|ca|us-gov)\./, '').split('.')[0] ?? '';
  return BEDROCK_PUBLISHERS[vendor] ?? (vendor ? vendor.charAt(0).toUpperCase() + vendor.slice(1) : providerName);
}

/** FOCUS Date/Time: 'YYYY-MM-DDTHH:mm:ssZ' (UTC, no fractional seconds). */
export function focusDateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** Key-Value Format: a JSON object with sorted keys and string values. */
function keyValueJson(entries: Record<string, string>): string {
  const sorted = Object.keys(entries).sort();
  return JSON.stringify(Object.fromEntries(sorted.map((k) => [k, entries[k]!])));
}

function focusRecord(row: ReportRow, report: Report, options: FocusOptions): CsvCell[] | undefined {
  const at = (dimension: (typeof FOCUS_GRAIN)[number]): string | null => row.group[FOCUS_GRAIN.indexOf(dimension)] ?? null;
  const [day, keyId, user, team, project] = [at('day'), at('key'), at('user'), at('team'), at('project')];
  const [providerId, family, model, tier] = [at('provider'), at('family'), at('model'), at('tier')];
  const key = options.keys.get(keyId ?? '');
  const { counts, money } = row.measures;
  const tokens = counts.input_tokens + counts.cached_input_tokens + counts.cache_write_tokens + counts.output_tokens;
  if (tokens === 0 && money.cost_nusd === 0n) return undefined;
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  const chargeStart = Math.max(dayStart, report.query.fromMs);
  const chargeEnd = Math.min(dayStart + DAY_MS, report.query.toMs);
  const provider = PROVIDERS[providerId ?? ''] ?? { name: providerId ?? 'Unknown', service: providerId ?? 'Unknown' };
  const region = providerId === 'bedrock' ? options.bedrockRegion : null;
  const cost = usdFromNusd(money.cost_nusd);
  const tierName = tier ?? 'standard';
  const attribution: Record<string, string> = {};
  if (user) attribution['sluice/user'] = user;
  if (team) attribution['sluice/team'] = team;
  if (project) attribution['sluice/project'] = project;
  const tagSet = { ...key?.tags, ...attribution };
  const modelName = model ?? 'unknown model';

  const values: Record<string, CsvCell> = {
    BilledCost: cost,
    BillingAccountId: options.billingAccountId,
    BillingAccountName: options.billingAccountName,
    BillingAccountType: 'Sluice Gateway',
    BillingCurrency: 'USD',
    BillingPeriodEnd: focusDateTime(nextMonthStart(dayStart)),
    BillingPeriodStart: focusDateTime(monthStart(dayStart)),
    ChargeCategory: 'Usage',
    ChargeDescription: `${modelName} on ${provider.service}, ${tierName} tier: ${counts.requests} requests, ${tokens} tokens`,
    ChargeFrequency: 'Usage-Based',
    ChargePeriodEnd: focusDateTime(chargeEnd),
    ChargePeriodStart: focusDateTime(chargeStart),
    ConsumedQuantity: tokens,
    ConsumedUnit: 'Tokens',
    ContractedCost: cost,
    EffectiveCost: cost,
    InvoiceIssuerName: provider.name,
    ListCost: cost,
    PricingCategory: 'Standard',
    PricingCurrency: 'USD',
    PricingCurrencyEffectiveCost: cost,
    PricingQuantity: tokens,
    PricingUnit: 'Tokens',
    ProviderName: provider.name,
    PublisherName: publisherOf(providerId ?? '', model, options.catalog),
    RegionId: region,
    RegionName: region,
    ResourceId: keyId,
    ResourceName: key?.name ?? keyId,
    ResourceType: 'API Key',
    ServiceCategory: 'AI and Machine Learning',
    ServiceName: provider.service,
    ServiceSubcategory: 'Generative AI',
    SkuId: model,
    SkuMeter: 'Tokens',
    SkuPriceDetails: keyValueJson({ ServiceTier: tierName }),
    SkuPriceId: model === null ? null : `${model}:${tierName}`,
    SubAccountId: team,
    SubAccountName: team,
    SubAccountType: team === null ? null : 'Team',
    Tags: keyValueJson(tagSet),
    x_User: user,
    x_Team: team,
    x_Project: project,
    x_ModelFamily: family,
    x_ServiceTier: tierName,
    x_Requests: counts.requests,
    x_ErrorRequests: counts.errors,
    x_InputTokens: counts.input_tokens,
    x_CachedInputTokens: counts.cached_input_tokens,
    x_CacheWriteTokens: counts.cache_write_tokens,
    x_OutputTokens: counts.output_tokens,
    x_ReasoningTokens: counts.reasoning_tokens,
    x_BaselineCost: usdFromNusd(money.baseline_cost_nusd),
    x_RoutingSavings: usdFromNusd(money.routing_savings_nusd),
    x_CachingSavings: usdFromNusd(money.caching_savings_nusd),
    x_TierSavings: usdFromNusd(money.tier_savings_nusd),
    x_ResponseCacheHits: counts.cache_hits,
  };
  return ALL_COLUMNS.map((name) => values[name] ?? null);
}

/** The FOCUS CSV for a report computed at FOCUS_GRAIN. */
export function* focusCsv(report: Report, options: FocusOptions): Generator<string> {
  yield csvRecord(ALL_COLUMNS);
  for (const row of report.rows) {
    const record = focusRecord(row, report, options);
    if (record) yield csvRecord(record);
  }
}
