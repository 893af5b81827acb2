import { z } from 'zod';

/**
 * A key's cost policy (DESIGN.md). Every field is optional; later concerns read the fields they
 * own (routing, tiers, caching, budgets) and fall back to their documented defaults.
 */
export const KeyPolicy = z
  .object({
    routing: z.enum(['auto', 'shadow', 'off']).optional(),
    downgrade: z.boolean().optional(),
    quality: z.number().min(0).max(1).optional(),
    tier: z.enum(['standard', 'flex', 'priority', 'batch', 'auto']).optional(),
    flex_fallback: z.boolean().optional(),
    latency_tolerant: z.boolean().optional(),
    response_cache: z.enum(['off', 'deterministic', 'always']).optional(),
    cache_ttl_s: z.number().int().positive().optional(),
    cache_scope: z.enum(['key', 'team']).optional(),
    prompt_caching: z.boolean().optional(),
    webhook_id: z.string().optional(),
  })
  .strict();
export type KeyPolicy = z.infer<typeof KeyPolicy>;

/** A key's policy over the deployment's default policy (config `default_policy`): the key's fields win. */
export function effectivePolicy(defaults: KeyPolicy, policy: KeyPolicy): KeyPolicy {
  return { ...defaults, ...policy };
}
