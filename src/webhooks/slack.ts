import { z } from 'zod';
import { BudgetEventData } from './event-types';

const Payload = z.object({ type: z.string(), timestamp: z.string(), data: z.record(z.string(), z.unknown()) });

function money(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

function scopeLabel(scope: { type: string; value: string | null }): string {
  return scope.type === 'global' ? 'all traffic' : `${scope.type} \`${scope.value ?? ''}\``;
}

function budgetText(type: string, d: BudgetEventData): string {
  const name = `*${d.budget_name}* (${scopeLabel(d.scope)}, ${d.period})`;
  const until = d.period_end ? ` until ${d.period_end.slice(0, 10)}` : '';
  const forecast = d.forecast_usd === null ? '' : ` Forecast for the period: ${money(d.forecast_usd)}.`;
  const top = d.top_spenders.length
    ? `\nTop spenders: ${d.top_spenders.map((s) => `${s.user ?? s.team ?? s.key_id} ${money(s.spend_usd)}`).join(', ')}`
    : '';
  switch (type) {
    case 'budget.threshold_crossed':
      return `:warning: Budget ${name} passed ${Math.round(d.threshold * 100)}%: ${money(d.spend_usd)} of ${money(d.amount_usd)} spent${until}.${forecast}${top}`;
    case 'budget.forecast_exceeded':
      return `:crystal_ball: Budget ${name} is on course to exceed ${money(d.amount_usd)}: ${money(d.spend_usd)} spent so far.${forecast}${top}`;
    default:
      return `:no_entry: Budget ${name} is exhausted (${money(d.spend_usd)} of ${money(d.amount_usd)}): requests under it are refused${d.resets_at ? ` until ${d.resets_at}` : ''}.${top}`;
  }
}

/**
 * The body for a Slack incoming webhook (`{"text": ...}`, mrkdwn): a one-paragraph summary of the
 * event, since Slack ignores everything else. Budget events get a sentence; others show their data.
 */
export function slackBody(standardPayload: string): string {
  const payload = Payload.parse(JSON.parse(standardPayload));
  const budget = BudgetEventData.safeParse(payload.data);
  const text =
    payload.type.startsWith('budget.') && budget.success
      ? budgetText(payload.type, budget.data)
      : `Sluice \`${payload.type}\` at ${payload.timestamp}\n\`\`\`${JSON.stringify(payload.data, null, 2).slice(0, 2500)}\`\`\``;
  return JSON.stringify({ text });
}
