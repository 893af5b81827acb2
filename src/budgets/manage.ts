import type { Services } from '../gateway/services';
import { budgetView, createBudget, deleteBudget, findBudget, listBudgetRules, updateBudget, type BudgetInput, type BudgetPatch, type BudgetRule, type BudgetView } from './budgets';
import type { BudgetStatus } from './enforcer';

/** A budget with where it stands this period on this instance (spend, in-flight reservations, state). */
export type BudgetWithStatus = BudgetView & { current: BudgetStatus | null };

function withStatus(services: Services, rule: BudgetRule): BudgetWithStatus {
  return { ...budgetView(rule), current: services.budgets.status(rule.id) ?? null };
}

/** Creates a budget and starts enforcing it on this instance at once (others within the reconcile interval). */
export async function addBudget(services: Services, input: BudgetInput): Promise<BudgetWithStatus> {
  const rule = await createBudget(services.deps.db, input, services.deps.clock.now());
  await services.budgets.refresh();
  return withStatus(services, rule);
}

export async function changeBudget(services: Services, id: string, patch: BudgetPatch): Promise<BudgetWithStatus> {
  const rule = await updateBudget(services.deps.db, id, patch, services.deps.clock.now());
  await services.budgets.refresh();
  return withStatus(services, rule);
}

export async function removeBudget(services: Services, id: string): Promise<{ id: string; deleted: true }> {
  const deleted = await deleteBudget(services.deps.db, id);
  await services.budgets.refresh();
  return deleted;
}

export async function showBudget(services: Services, id: string): Promise<BudgetWithStatus> {
  return withStatus(services, await findBudget(services.deps.db, id));
}

export async function showBudgets(services: Services): Promise<{ data: BudgetWithStatus[] }> {
  return { data: (await listBudgetRules(services.deps.db)).map((rule) => withStatus(services, rule)) };
}
