import type { Principal } from '../keys/keys';
import type { Catalog, CatalogModel } from './catalog';

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

function allowed(principal: Principal, model: CatalogModel): boolean {
  if (principal.allowedModels.length > 0 && !principal.allowedModels.some((m) => m === model.id || model.aliases.includes(m))) return false;
  if (principal.allowedFamilies.length > 0 && (model.family === undefined || !principal.allowedFamilies.includes(model.family))) return false;
  return true;
}

/** The models and `auto:<family>` routers a key may use, in OpenAI's model-list shape. */
export function listModels(catalog: Catalog, principal: Principal): OpenAIModel[] {
  const created = Math.floor(Date.parse(`${catalog.version}T00:00:00Z`) / 1000) || 0;
  const models: OpenAIModel[] = [];
  for (const family of catalog.families) {
    if (!family.models.some((m) => allowed(principal, m))) continue;
    if (family === catalog.defaultFamily) models.push({ id: 'auto', object: 'model', created, owned_by: 'sluice' });
    models.push({ id: `auto:${family.name}`, object: 'model', created, owned_by: 'sluice' });
  }
  for (const model of catalog.models) {
    if (!model.deprecated && allowed(principal, model)) models.push({ id: model.id, object: 'model', created, owned_by: model.provider });
  }
  return models;
}
