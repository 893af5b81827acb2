import { ratesForModel, type ModelRates } from './rates';
import {
  CatalogFile,
  CatalogModelEntry,
  type CatalogOverrides,
  type FamilyEntry,
  type ModelOverride,
  type ProviderId,
} from './types';
import shipped from './models.json' with { type: 'json' };

export interface CatalogModel extends CatalogModelEntry {
  rates: ModelRates;
}

export interface Family {
  name: string;
  provider: ProviderId;
  /** Cheapest first. */
  models: CatalogModel[];
  /** What a routed `auto:<family>` request is priced against (normally the strongest). */
  baseline: CatalogModel;
  description: string | undefined;
}

export class CatalogError extends Error {
  override name = 'CatalogError';
}

function mergeModel(base: CatalogModelEntry | undefined, override: ModelOverride): CatalogModelEntry {
  if (!base) {
    const complete = CatalogModelEntry.safeParse(override);
    if (!complete.success) {
      throw new CatalogError(`catalog override adds model "${override.id}" but it is incomplete: ${complete.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return complete.data;
  }
  const merged = {
    ...base,
    ...override,
    prices: { ...base.prices, ...override.prices },
    capabilities: { ...base.capabilities, ...override.capabilities },
  };
  return CatalogModelEntry.parse(merged);
}

/**
 * The model catalog as the request path uses it: lookups by name or alias, family ladders, and
 * integer per-token rates computed once. Immutable; a change builds a new one.
 */
export class Catalog {
  readonly version: string;
  readonly models: readonly CatalogModel[];
  readonly families: readonly Family[];
  readonly defaultFamily: Family;
  private readonly byName = new Map<string, CatalogModel>();
  private readonly familyByName = new Map<string, Family>();

  constructor(file: CatalogFile, overrides: readonly CatalogOverrides[] = []) {
    const entries = new Map<string, CatalogModelEntry>(file.models.map((m) => [m.id, m]));
    const familyEntries = new Map<string, FamilyEntry>(file.families.map((f) => [f.name, f]));
    let defaultFamilyName = file.families[0]?.name;
    for (const override of overrides) {
      for (const model of override.models ?? []) entries.set(model.id, mergeModel(entries.get(model.id), model));
      for (const family of override.families ?? []) familyEntries.set(family.name, family);
      if (override.default_family) defaultFamilyName = override.default_family;
    }

    this.version = file.version;
    this.models = [...entries.values()].map((entry) => ({ ...entry, rates: ratesForModel(entry) }));
    for (const model of this.models) {
      for (const name of [model.id, ...model.aliases]) {
        const key = name.toLowerCase();
        const clash = this.byName.get(key);
        if (clash && clash !== model) throw new CatalogError(`model name "${name}" is used by both ${clash.id} and ${model.id}`);
        this.byName.set(key, model);
      }
    }

    const families: Family[] = [];
    for (const entry of familyEntries.values()) {
      const models = entry.models.map((id) => {
        const model = this.byName.get(id.toLowerCase());
        if (!model) throw new CatalogError(`family "${entry.name}" lists unknown model "${id}"`);
        if (model.provider !== entry.provider) {
          throw new CatalogError(`family "${entry.name}" is a ${entry.provider} ladder but "${id}" is a ${model.provider} model`);
        }
        return model;
      });
      const baseline = this.byName.get(entry.baseline.toLowerCase());
      if (!baseline || !models.includes(baseline)) {
        throw new CatalogError(`family "${entry.name}" baseline "${entry.baseline}" is not one of its models`);
      }
      families.push({ name: entry.name, provider: entry.provider, models, baseline, description: entry.description });
    }
    this.families = families;
    for (const family of families) this.familyByName.set(family.name, family);
    const defaultFamily = defaultFamilyName === undefined ? undefined : this.familyByName.get(defaultFamilyName);
    if (!defaultFamily) throw new CatalogError(`default family "${defaultFamilyName ?? ''}" is not defined`);
    this.defaultFamily = defaultFamily;
  }

  find(name: string): CatalogModel | undefined {
    return this.byName.get(name.toLowerCase());
  }

  family(name: string): Family | undefined {
    return this.familyByName.get(name);
  }

  /** The family ladder a model is on, if any. */
  familyOf(model: CatalogModel): Family | undefined {
    return model.family === undefined ? undefined : this.familyByName.get(model.family);
  }

  /** The `GET /admin/catalog` shape (DESIGN.md). */
  toJSON(): { version: string; models: CatalogModelEntry[]; families: FamilyEntry[]; default_family: string } {
    return {
      version: this.version,
      models: this.models.map(({ rates: _rates, ...entry }) => entry),
      families: this.families.map((f) => ({
        name: f.name,
        provider: f.provider,
        models: f.models.map((m) => m.id),
        baseline: f.baseline.id,
        ...(f.description === undefined ? {} : { description: f.description }),
      })),
      default_family: this.defaultFamily.name,
    };
  }
}

export const SHIPPED_CATALOG: CatalogFile = CatalogFile.parse(shipped);
