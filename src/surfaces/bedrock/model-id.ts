import type { Catalog, CatalogModel } from '../../catalog/catalog';

/**
 * Bedrock callers name models the way Bedrock does: a foundation-model id
 * (`amazon.nova-micro-v1:0`), a cross-Region inference profile (`us.amazon.nova-micro-v1:0`), or
 * the ARN of either. Sluice also takes its own catalog ids and `auto:<family>` routers there,
 * as Bedrock takes a prompt router's ARN.
 */

/** Geography prefixes of cross-Region inference profiles. */
const PROFILE_PREFIX = /^(?:us|eu|apac|global|us-gov|ca|jp|au)\./;
const ARN = /^arn:aws[\w-]*:bedrock:[\w-]*:\d*:(?:foundation-model|inference-profile|system-defined-inference-profile)\/(.+)$/;

const indexes = new WeakMap<Catalog, Map<string, CatalogModel>>();

/** Bedrock models by upstream id, exact ids first, then by the id without its geography. */
function bedrockIndex(catalog: Catalog): Map<string, CatalogModel> {
  let index = indexes.get(catalog);
  if (index) return index;
  index = new Map();
  const bedrock = catalog.models.filter((m) => m.provider === 'bedrock');
  for (const model of bedrock) index.set(model.upstream_id.toLowerCase(), model);
  for (const model of bedrock) {
    const base = model.upstream_id.toLowerCase().replace(PROFILE_PREFIX, '');
    if (!index.has(base)) index.set(base, model);
  }
  indexes.set(catalog, index);
  return index;
}

/** The catalog name for a Bedrock model id, or the id unchanged (so routing answers "not found" in its words). */
export function catalogNameForModelId(catalog: Catalog, modelId: string): string {
  if (modelId.toLowerCase().startsWith('auto') || catalog.find(modelId)) return modelId;
  const id = (ARN.exec(modelId)?.[1] ?? modelId).toLowerCase();
  const index = bedrockIndex(catalog);
  const model = index.get(id) ?? index.get(id.replace(PROFILE_PREFIX, ''));
  return model?.id ?? modelId;
}
