import { z } from 'zod';

/** USD per million tokens, as providers publish them. Converted to integers once, at load. */
const UsdPerMillion = z.number().nonnegative().finite();

export const PRICE_CLASSES = [
  'input',
  'cached_input',
  'cache_write',
  'cache_write_1h',
  'output',
  'batch_input',
  'batch_cached_input',
  'batch_output',
  'flex_input',
  'flex_cached_input',
  'flex_output',
  'priority_input',
  'priority_cached_input',
  'priority_output',
] as const;

export const Prices = z
  .object({
    input: UsdPerMillion,
    output: UsdPerMillion,
    cached_input: UsdPerMillion.optional(),
    cache_write: UsdPerMillion.optional(),
    cache_write_1h: UsdPerMillion.optional(),
    batch_input: UsdPerMillion.optional(),
    batch_cached_input: UsdPerMillion.optional(),
    batch_output: UsdPerMillion.optional(),
    flex_input: UsdPerMillion.optional(),
    flex_cached_input: UsdPerMillion.optional(),
    flex_output: UsdPerMillion.optional(),
    priority_input: UsdPerMillion.optional(),
    priority_cached_input: UsdPerMillion.optional(),
    priority_output: UsdPerMillion.optional(),
  })
  .strict();
export type Prices = z.infer<typeof Prices>;

export const ProviderId = z.enum(['openai', 'anthropic', 'bedrock']);
export type ProviderId = z.infer<typeof ProviderId>;

export const ServiceTier = z.enum(['standard', 'flex', 'priority', 'batch']);
export type ServiceTier = z.infer<typeof ServiceTier>;

export const Capabilities = z
  .object({
    tools: z.boolean().default(false),
    vision: z.boolean().default(false),
    json_mode: z.boolean().default(false),
    reasoning: z.boolean().default(false),
    pdf: z.boolean().default(false),
    prompt_caching: z.boolean().default(false),
    min_cacheable_tokens: z.number().int().nonnegative().optional(),
  })
  .strict();
export type Capabilities = z.infer<typeof Capabilities>;

export const CatalogModelEntry = z
  .object({
    id: z.string().min(1),
    provider: ProviderId,
    upstream_id: z.string().min(1),
    aliases: z.array(z.string()).default([]),
    family: z.string().optional(),
    rank: z.number().int().positive().optional(),
    context_window: z.number().int().positive(),
    max_output_tokens: z.number().int().positive().optional(),
    capabilities: Capabilities,
    tiers: z.array(ServiceTier).default(['standard']),
    prices: Prices,
    long_context: z
      .object({ threshold_tokens: z.number().int().positive(), prices: Prices })
      .strict()
      .optional(),
    deprecated: z.boolean().optional(),
    source: z.string().optional(),
    as_of: z.string().optional(),
    source_note: z.string().optional(),
  })
  .strict();
export type CatalogModelEntry = z.infer<typeof CatalogModelEntry>;

export const FamilyEntry = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'family names are lowercase letters, digits, dots and dashes'),
    provider: ProviderId,
    models: z.array(z.string()).min(1),
    baseline: z.string(),
    description: z.string().optional(),
  })
  .strict();
export type FamilyEntry = z.infer<typeof FamilyEntry>;

export const CatalogFile = z
  .object({
    version: z.string(),
    models: z.array(CatalogModelEntry),
    families: z.array(FamilyEntry),
  })
  .strict();
export type CatalogFile = z.infer<typeof CatalogFile>;

/**
 * A deployment's changes to the shipped catalog (config file `catalog:` or `/admin/catalog`):
 * a model entry with a known id is merged over the shipped one (prices merge key by key); an
 * unknown id must be a complete entry. Families replace shipped families of the same name.
 */
export const ModelOverride = CatalogModelEntry.partial()
  .extend({ id: z.string().min(1), prices: Prices.partial().optional(), capabilities: Capabilities.partial().optional() })
  .strict();
export type ModelOverride = z.infer<typeof ModelOverride>;

export const CatalogOverrides = z
  .object({
    models: z.array(ModelOverride).optional(),
    families: z.array(FamilyEntry).optional(),
    default_family: z.string().optional(),
  })
  .strict();
export type CatalogOverrides = z.infer<typeof CatalogOverrides>;
