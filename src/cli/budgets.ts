// Node-only: `sluice budgets ...`, straight against the configured database. Running gateways
// pick changes up within their reconcile interval (SLUICE_BUDGET_RECONCILE_MS).
import { listAlerts } from '../budgets/alerts';
import { BudgetInput, BudgetPatch, budgetView, createBudget, deleteBudget, findBudget, listBudgetRules, updateBudget, type BudgetRule } from '../budgets/budgets';
import { formatUsd } from '../ledger/pricing';
import { isoOrNull, periodBounds } from '../budgets/periods';
import { spendInPeriod } from '../budgets/spend';
import { openDatabase, type Db } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { systemClock } from '../deps';
import { loadConfig } from '../entry/load-config';
import { SluiceError } from '../errors';
import { flag, parseArgs, UsageError, type ParsedArgs } from './args';

export const BUDGETS_USAGE = `sluice budgets create --scope SCOPE --period day|week|month|total --amount USD --action alert|block|downgrade
                      [--name NAME] [--thresholds 0.5,0.8,1] [--forecast] [--webhooks ID,ID] [--downgrade-at 0.8] [--cut-streams]
sluice budgets update ID [the same flags; only those given change]
sluice budgets list [--json]
sluice budgets show ID
sluice budgets delete ID
sluice budgets alerts [--budget ID] [--limit N] [--json]

SCOPE is global, key=KEY_ID, user=U, team=T, project=P or tag=NAME=VALUE.`;

function parseScope(text: string): { type: string; value?: string } {
  if (text === 'global') return { type: 'global' };
  const eq = text.indexOf('=');
  if (eq < 1) throw new UsageError(`--scope must be global or TYPE=VALUE (e.g. team=search, tag=env=prod); got "${text}"`);
  return { type: text.slice(0, eq), value: text.slice(eq + 1) };
}

function numbers(text: string, name: string): number[] {
  return text.split(',').map((part) => {
    const value = Number(part.trim());
    if (part.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} takes numbers separated by commas; got "${text}"`);
    return value;
  });
}

/** The budget fields the flags set (only those given). */
function fieldsFrom(args: ParsedArgs): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const scope = flag(args, 'scope');
  if (scope !== undefined) fields.scope = parseScope(scope);
  for (const [name, key] of [['name', 'name'], ['period', 'period'], ['action', 'action']] as const) {
    const value = flag(args, name);
    if (value !== undefined) fields[key] = value;
  }
  const amount = flag(args, 'amount');
  if (amount !== undefined) fields.amount_usd = numbers(amount, 'amount')[0];
  const thresholds = flag(args, 'thresholds');
  if (thresholds !== undefined) fields.thresholds = thresholds.trim() === '' ? [] : numbers(thresholds, 'thresholds');
  const downgradeAt = flag(args, 'downgrade-at');
  if (downgradeAt !== undefined) fields.downgrade_at = numbers(downgradeAt, 'downgrade-at')[0];
  const webhooks = flag(args, 'webhooks');
  if (webhooks !== undefined) fields.webhook_ids = webhooks.split(',').map((id) => id.trim()).filter(Boolean);
  if (args.flags.has('forecast')) fields.forecast_alert = true;
  if (args.flags.has('cut-streams')) fields.cut_streams = true;
  return fields;
}

function scopeText(rule: BudgetRule): string {
  return rule.scope.type === 'global' ? 'global' : `${rule.scope.type}=${rule.scope.value ?? ''}`;
}

async function describe(db: Db, rule: BudgetRule): Promise<Record<string, unknown>> {
  const bounds = periodBounds(rule.period, systemClock.now());
  const spend = await spendInPeriod(db, rule.scope, bounds);
  return {
    ...budgetView(rule),
    // From the committed ledger: requests in flight on running gateways are not included.
    current: { period_start: new Date(bounds.start).toISOString(), period_end: isoOrNull(bounds.end), spend_nusd: spend, spend_usd: Number(formatUsd(spend)) },
  };
}

export async function budgetsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'forecast', 'cut-streams']);
  const [sub, id] = args.positionals;
  const config = loadConfig(process.env);
  const database = await openDatabase(config.dbUrl, config.dbAuthToken);
  const { db } = database;
  const needId = (): string => {
    if (!id) throw new UsageError(`budgets ${sub ?? ''} needs a budget id\n\n${BUDGETS_USAGE}`);
    return id;
  };
  try {
    await applyMigrations(db);
    switch (sub) {
      case 'create': {
        const rule = await createBudget(db, BudgetInput.parse(fieldsFrom(args)), systemClock.now());
        console.log(JSON.stringify(budgetView(rule), null, 2));
        return 0;
      }
      case 'update': {
        const rule = await updateBudget(db, needId(), BudgetPatch.parse(fieldsFrom(args)), systemClock.now());
        console.log(JSON.stringify(budgetView(rule), null, 2));
        return 0;
      }
      case 'list': {
        const rules = await listBudgetRules(db);
        if (args.flags.has('json')) console.log(JSON.stringify(rules.map(budgetView), null, 2));
        else for (const r of rules) console.log([r.id, r.name, scopeText(r), r.period, `$${formatUsd(r.amountNusd)}`, r.action].join('\t'));
        return 0;
      }
      case 'show':
        console.log(JSON.stringify(await describe(db, await findBudget(db, needId())), null, 2));
        return 0;
      case 'delete': {
        const deleted = await deleteBudget(db, needId());
        console.log(`deleted ${deleted.id}`);
        return 0;
      }
      case 'alerts': {
        const budgetId = flag(args, 'budget');
        const page = await listAlerts(db, { limit: Number(flag(args, 'limit') ?? 50), ...(budgetId ? { budgetId } : {}) });
        if (args.flags.has('json')) console.log(JSON.stringify(page.data, null, 2));
        else {
          for (const a of page.data) {
            console.log([a.created_at, a.budget_id, a.budget_name, a.kind, `${Math.round(a.threshold * 100)}%`, `$${a.spend_usd} of $${a.amount_usd}`].join('\t'));
          }
        }
        return 0;
      }
      default:
        throw new UsageError(BUDGETS_USAGE);
    }
  } catch (error) {
    if (error instanceof SluiceError) {
      console.error(error.message);
      return error.status === 404 ? 3 : 2;
    }
    throw error;
  } finally {
    database.close();
  }
}
