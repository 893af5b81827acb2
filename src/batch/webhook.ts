import type { Deps } from '../deps';
import { TransportError } from '../providers/transport';

/**
 * A Standard Webhooks POST (https://www.standardwebhooks.com): the body `{type, timestamp, data}`
 * signed with HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the base64
 * part of a `whsec_` secret, sent once through the injected transport. The deferred queue uses it
 * to announce endings to endpoints declared in the config; retrying is the caller's business.
 */

export interface WebhookMessage {
  /** `webhook-id`: the same on every retry of one event, so receivers can de-duplicate. */
  id: string;
  type: string;
  /** ISO 8601. */
  timestamp: string;
  data: Record<string, unknown>;
}

export type DeliveryOutcome = { delivered: true; status: number } | { delivered: false; retry: boolean; reason: string };

const DELIVERY_TIMEOUT_MS = 10_000;

function base64(bytes: ArrayBuffer): string {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** `v1,<base64 signature>` for a message, as the `webhook-signature` header carries it. */
export async function signWebhook(secret: string, id: string, timestampS: number, body: string): Promise<string> {
  const raw = Uint8Array.from(atob(secret.slice('whsec_'.length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestampS}.${body}`));
  return `v1,${base64(signature)}`;
}

/** Sends one message; 2xx is delivered, 408/429/5xx and no answer may be retried, other 4xx not. */
export async function postWebhook(deps: Pick<Deps, 'transport' | 'clock'>, endpoint: { url: string; secret: string }, message: WebhookMessage): Promise<DeliveryOutcome> {
  const body = JSON.stringify({ type: message.type, timestamp: message.timestamp, data: message.data });
  const timestampS = Math.floor(deps.clock.now() / 1000);
  try {
    const response = await deps.transport({
      method: 'POST',
      url: endpoint.url,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Sluice-Webhooks/1',
        'webhook-id': message.id,
        'webhook-timestamp': String(timestampS),
        'webhook-signature': await signWebhook(endpoint.secret, message.id, timestampS, body),
      },
      body,
      timeoutMs: DELIVERY_TIMEOUT_MS,
    });
    await response.text().catch(() => '');
    if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
    const retry = response.status >= 500 || response.status === 408 || response.status === 429;
    return { delivered: false, retry, reason: `the endpoint answered ${response.status}` };
  } catch (error) {
    if (error instanceof TransportError) return { delivered: false, retry: true, reason: error.message };
    throw error;
  }
}
