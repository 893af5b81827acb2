import { Hono } from 'hono';
import { BudgetInput, BudgetPatch } from '../../src/budgets/budgets';
import { addBudget, changeBudget, removeBudget, showBudget, showBudgets } from '../../src/budgets/manage';
import { readJson } from '../../src/http/body';
import type { AppEnv } from '../../src/http/types';

/** `/admin/budgets`: create, list, read, update, delete; each answer includes this period's standing. */
export const adminBudgetRoutes = new Hono<AppEnv>()
  .post('/', async (c) => c.json(await addBudget(c.var.services, await readJson(c, BudgetInput)), 201))
  .get('/', async (c) => c.json(await showBudgets(c.var.services)))
  .get('/:id', async (c) => c.json(await showBudget(c.var.services, c.req.param('id'))))
  .patch('/:id', async (c) => c.json(await changeBudget(c.var.services, c.req.param('id'), await readJson(c, BudgetPatch))))
  .delete('/:id', async (c) => c.json(await removeBudget(c.var.services, c.req.param('id'))));
