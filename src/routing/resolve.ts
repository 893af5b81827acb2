import type { Catalog, CatalogModel, Family } from '../catalog/catalog';
import type { ChatRequest } from '../gateway/chat';
import type { RequestHints } from '../gateway/hints';
import type { Principal } from '../keys/keys';
import { SluiceError } from '../errors';

/** Why the served model is the one it is: a short machine-readable reason for headers and the ledger. */
export type RouteReason = 'requested' | 'score' | 'sticky' | 'policy' | 'budget' | 'capability' | 'shadow';

export interface RouteDecision {
  /** The model name as the caller sent it. */
  requestedModel: string;
  model: CatalogModel;
  family: Family | undefined;
  /** What the request is priced against to attribute savings: the requested model, or the family baseline for `auto`. */
  baseline: CatalogModel;
  reason: RouteReason;
  complexity: number | null;
  scorerVersion: string | null;
}

export interface RouteInput {
  catalog: Catalog;
  principal: Principal;
  request: ChatRequest;
  hints: RequestHints;
}

/** Whether the key's allowed-models list (empty: any) admits the model. */
export function modelAllowed(principal: Principal, model: CatalogModel): boolean {
  return principal.allowedModels.length === 0 || principal.allowedModels.some((m) => m === model.id || model.aliases.includes(m));
}

/** Whether the key's allowed-families list (empty: any) admits the model. */
export function familyAllowed(principal: Principal, model: CatalogModel): boolean {
  return principal.allowedFamilies.length === 0 || (model.family !== undefined && principal.allowedFamilies.includes(model.family));
}

function checkAllowed(principal: Principal, model: CatalogModel, requested: string): void {
  if (!modelAllowed(principal, model)) {
    throw new SluiceError('forbidden', `This key may not use model "${requested}"; it may use: ${principal.allowedModels.join(', ')}.`, { param: 'model' });
  }
  if (!familyAllowed(principal, model)) {
    throw new SluiceError('forbidden', `This key may not use model "${requested}"; it may use the families: ${principal.allowedFamilies.join(', ')}.`, { param: 'model' });
  }
}

/** The family an `auto` / `auto:<family>` model name asks for, or undefined for a concrete name. */
export function requestedFamily(catalog: Catalog, name: string): Family | undefined {
  const lower = name.toLowerCase();
  if (lower === 'auto') return catalog.defaultFamily;
  if (!lower.startsWith('auto:')) return undefined;
  const family = catalog.family(lower.slice(5));
  if (!family) {
    throw new SluiceError('model_not_found', `There is no model family "${name.slice(5)}". Families: ${catalog.families.map((f) => f.name).join(', ')}.`, { param: 'model' });
  }
  return family;
}

/** Resolves the requested model name to the model that will serve it. */
export function resolveRoute({ catalog, principal, request }: RouteInput): RouteDecision {
  const family = requestedFamily(catalog, request.model);
  if (family) {
    const model = family.baseline;
    checkAllowed(principal, model, request.model);
    return { requestedModel: request.model, model, family, baseline: family.baseline, reason: 'policy', complexity: null, scorerVersion: null };
  }
  const model = catalog.find(request.model);
  if (!model) {
    throw new SluiceError(
      'model_not_found',
      `The model "${request.model}" is not in Sluice's catalog. GET /v1/models lists the models and auto:<family> routers you can use.`,
      { param: 'model' },
    );
  }
  checkAllowed(principal, model, request.model);
  return { requestedModel: request.model, model, family: catalog.familyOf(model), baseline: model, reason: 'requested', complexity: null, scorerVersion: null };
}
