import { SluiceError } from '../errors';
import type { Services } from '../gateway/services';
import { redeliver } from './deliveries';
import type { AttemptOutcome } from './dispatcher';
import { createEndpoint, getEndpoint, updateEndpoint, type CreateWebhookInput, type UpdateWebhookInput, type WebhookView } from './endpoints';
import { enqueueEvent } from './outbox';

export function registerWebhook(services: Services, input: CreateWebhookInput): Promise<WebhookView & { secret: string }> {
  return createEndpoint(services.deps.db, services.webhooks.options.urlPolicy, input, services.deps.clock.now());
}

export function changeWebhook(services: Services, id: string, input: UpdateWebhookInput): Promise<WebhookView> {
  return updateEndpoint(services.deps.db, services.webhooks.options.urlPolicy, id, input, services.deps.clock.now());
}

export interface TestResult {
  event_id: string;
  delivery_id: string;
  delivered: boolean;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

/** Sends a signed `webhook.test` event to one endpoint now (one attempt, logged like any delivery) and reports what it answered. */
export async function sendTestEvent(services: Services, endpointId: string): Promise<TestResult> {
  const endpoint = await getEndpoint(services.deps.db, endpointId);
  if (!endpoint.enabled) throw new SluiceError('conflict', `Webhook endpoint "${endpointId}" is disabled${endpoint.disabled_reason ? ` (${endpoint.disabled_reason})` : ''}; enable it with PATCH {"enabled": true} first.`);
  const event = await enqueueEvent(
    services,
    'webhook.test',
    { endpoint_id: endpointId, message: 'A test event from Sluice: if you can read this, the endpoint and its signature check work.' },
    { endpointIds: [endpointId], kick: false },
  );
  const deliveryId = event.deliveryIds[0]!;
  const outcome: AttemptOutcome | undefined = await services.webhooks.deliverNow(deliveryId);
  if (!outcome) throw new SluiceError('internal', `The test delivery ${deliveryId} was taken by another worker; see GET /admin/webhooks/${endpointId}/deliveries.`);
  return {
    event_id: event.id,
    delivery_id: deliveryId,
    delivered: outcome.result === 'succeeded',
    status: outcome.status,
    error: outcome.error,
    duration_ms: outcome.durationMs,
  };
}

/** Puts a failed delivery back in the queue for one more attempt, now. */
export async function retryDelivery(services: Services, endpointId: string, deliveryId: string): Promise<{ id: string; status: 'pending' }> {
  await redeliver(services.deps.db, endpointId, deliveryId, services.deps.clock.now());
  services.webhooks.kick();
  return { id: deliveryId, status: 'pending' };
}
