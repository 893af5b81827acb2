import { and, asc, eq, inArray, lt, lte, or, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Deps } from '../deps';
import { SluiceError } from '../errors';
import { Counter, type Metrics } from '../ops/metrics';
import { TransportError, type UpstreamResponse } from '../providers/transport';
import { newId } from '../util/ids';
import { checkWebhookUrl, type UrlPolicy } from './safe-url';
import { webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents } from './schema';
import { signMessage } from './signing';
import { slackBody } from './slack';

/** First retry about 30 s after a failure, ×4 each time, capped at 12 h: eight attempts span about a day. */
const FIRST_RETRY_MS = 30_000;
const RETRY_FACTOR = 4;
const MAX_RETRY_MS = 12 * 3_600_000;
const CLAIM_BATCH = 20;
const SNIPPET_BYTES = 512;

/**
 * The wait before the next attempt after `attempts` failed ones: exponential backoff with ±25%
 * jitter from the injected random source, never sooner than the receiver's Retry-After.
 */
export function retryDelayMs(attempts: number, random: () => number, retryAfterMs?: number): number {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * RETRY_FACTOR ** Math.max(0, attempts - 1));
  const jittered = Math.round(base * (0.75 + 0.5 * random()));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_MS));
}

type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export interface AttemptOutcome {
  deliveryId: string;
  attempt: number;
  result: 'succeeded' | 'retrying' | 'failed' | 'cancelled';
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface DeliveryRunSummary {
  attempted: number;
  succeeded: number;
  retrying: number;
  failed: number;
}

interface Sent {
  status: number | null;
  error: string | null;
  snippet: string | null;
  retryAfterMs: number | undefined;
  /** The guard refused the URL: no connection was made, and retrying cannot help. */
  refused: boolean;
}

/** Reads at most `SNIPPET_BYTES` of an answer, then lets the connection go. */
async function readSnippet(response: UpstreamResponse, timeoutMs: number): Promise<string> {
  const iterator = response.body[Symbol.asyncIterator]();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let complete = false;
  try {
    while (bytes < SNIPPET_BYTES) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next === 'timeout') break;
      if (next.done) {
        complete = true;
        break;
      }
      bytes += next.value.byteLength;
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (!complete) response.abort();
  }
  return text.slice(0, SNIPPET_BYTES);
}

function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Timeouts, connection failures, 408, 429 and 5xx may pass; other answers will not change by retrying. */
function retryable(sent: Sent): boolean {
  if (sent.refused) return false;
  if (sent.status === null) return true;
  return sent.status === 408 || sent.status === 429 || sent.status >= 500;
}

export interface DispatcherOptions {
  timeoutMs: number;
  random: () => number;
  urlPolicy: UrlPolicy;
}

/**
 * Delivers the outbox. Any number of workers (instances, cron runs, the kick after an enqueue)
 * may run at once: a delivery is claimed with one conditional UPDATE (status and lease), so each
 * attempt is made by exactly one of them, and its outcome is written only by the claimer.
 */
export class WebhookDispatcher {
  private running: Promise<DeliveryRunSummary> | undefined;
  private again = false;
  private readonly attemptsTotal: Counter;

  constructor(
    private readonly deps: Deps,
    metrics: Metrics,
    readonly options: DispatcherOptions,
  ) {
    this.attemptsTotal = metrics.add(new Counter('sluice_webhook_attempts_total', 'Webhook delivery attempts, by result.'));
  }

  /** Delivers what is due now, in the background; coalesces kicks that arrive while a run is going. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    const run = this.deliverDue().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
    this.running = run;
    this.deps.defer(run);
  }

  /** Attempts every delivery that is due (or whose sender's lease ran out), up to `limit`. */
  async deliverDue(limit = 500): Promise<DeliveryRunSummary> {
    const summary: DeliveryRunSummary = { attempted: 0, succeeded: 0, retrying: 0, failed: 0 };
    while (summary.attempted < limit) {
      const claimed = await this.claim(this.deps.clock.now(), Math.min(CLAIM_BATCH, limit - summary.attempted));
      if (claimed.length === 0) break;
      const outcomes = await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
      for (const outcome of outcomes) {
        summary.attempted++;
        if (outcome.result === 'succeeded') summary.succeeded++;
        else if (outcome.result === 'retrying') summary.retrying++;
        else summary.failed++;
      }
    }
    return summary;
  }

  /** Claims one specific delivery and attempts it now (the test-event endpoint). */
  async deliverNow(deliveryId: string): Promise<AttemptOutcome | undefined> {
    const [delivery] = await this.claim(this.deps.clock.now(), 1, deliveryId);
    return delivery ? this.attempt(delivery) : undefined;
  }

  private async claim(now: number, limit: number, onlyId?: string): Promise<DeliveryRow[]> {
    const d = webhookDeliveries;
    const due = or(and(eq(d.status, 'pending'), lte(d.nextAttemptAt, now)), and(eq(d.status, 'sending'), lt(d.leaseUntil, now)));
    const ids = this.deps.db
      .select({ id: d.id })
      .from(d)
      .where(onlyId === undefined ? due : and(eq(d.id, onlyId), due))
      .orderBy(asc(d.nextAttemptAt))
      .limit(limit);
    return this.deps.db
      .update(d)
      .set({ status: 'sending', attempts: sql`${d.attempts} + 1`, leaseUntil: now + this.options.timeoutMs + 60_000, lastAttemptAt: now })
      .where(and(inArray(d.id, ids), due))
      .returning();
  }

  private async attempt(delivery: DeliveryRow): Promise<AttemptOutcome> {
    const { db, clock } = this.deps;
    const [found] = await db
      .select({ event: webhookEvents, endpoint: webhookEndpoints })
      .from(webhookEvents)
      .leftJoin(webhookEndpoints, eq(webhookEndpoints.id, delivery.endpointId))
      .where(eq(webhookEvents.id, delivery.eventId))
      .limit(1);
    const started = performance.now();
    let sent: Sent;
    if (!found?.endpoint || !found.endpoint.enabled) {
      const outcome = await this.finish(delivery, { status: null, error: found?.endpoint ? 'endpoint disabled' : 'endpoint deleted', snippet: null, retryAfterMs: undefined, refused: true }, 0, 'cancelled');
      return outcome;
    }
    const { event, endpoint } = found;
    try {
      const checked = await checkWebhookUrl(endpoint.url, this.options.urlPolicy);
      const body = endpoint.format === 'slack' ? slackBody(event.payload) : event.payload;
      const timestamp = Math.floor(clock.now() / 1000);
      const response = await this.deps.transport({
        method: 'POST',
        url: checked.url.href,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Sluice-Webhooks/1',
          'webhook-id': event.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': await signMessage(endpoint.secret, event.id, timestamp, body),
        },
        body,
        timeoutMs: this.options.timeoutMs,
        ...(checked.address === undefined ? {} : { address: checked.address }),
      });
      const snippet = await readSnippet(response, this.options.timeoutMs);
      sent = { status: response.status, error: null, snippet, retryAfterMs: retryAfterMs(response.headers['retry-after'], clock.now()), refused: false };
    } catch (error) {
      if (error instanceof SluiceError) sent = { status: null, error: `refused by the SSRF guard: ${error.message}`, snippet: null, retryAfterMs: undefined, refused: true };
      else if (error instanceof TransportError) sent = { status: null, error: `${error.kind}: ${error.message}`, snippet: null, retryAfterMs: undefined, refused: false };
      else throw error;
    }
    const durationMs = Math.round(performance.now() - started);
    const ok = sent.status !== null && sent.status >= 200 && sent.status < 300;
    const result = ok ? 'succeeded' : retryable(sent) && delivery.attempts < delivery.maxAttempts ? 'retrying' : 'failed';
    if (!ok && sent.status !== null && !sent.error) sent.error = `the receiver answered ${sent.status}`;
    const outcome = await this.finish(delivery, sent, durationMs, result, sent.status === 410 ? endpoint.id : undefined);
    this.attemptsTotal.inc({ result });
    return outcome;
  }

  /** Logs the attempt and settles the delivery, only if this worker still holds it. */
  private async finish(delivery: DeliveryRow, sent: Sent, durationMs: number, result: AttemptOutcome['result'], disableEndpoint?: string): Promise<AttemptOutcome> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const d = webhookDeliveries;
    const next = result === 'retrying' ? now + retryDelayMs(delivery.attempts, this.options.random, sent.retryAfterMs) : now;
    const statements: BatchItem<'sqlite'>[] = [
      db
        .insert(webhookAttempts)
        .values({
          id: newId('att', now),
          deliveryId: delivery.id,
          attempt: delivery.attempts,
          at: delivery.lastAttemptAt ?? now,
          status: sent.status,
          durationMs,
          error: sent.error,
          responseSnippet: sent.snippet,
        })
        .onConflictDoNothing(),
      db
        .update(d)
        .set({
          status: result === 'retrying' ? 'pending' : result,
          nextAttemptAt: next,
          leaseUntil: null,
          lastStatus: sent.status,
          lastError: sent.error,
          deliveredAt: result === 'succeeded' ? now : null,
        })
        .where(and(eq(d.id, delivery.id), eq(d.status, 'sending'), eq(d.attempts, delivery.attempts))),
    ];
    if (disableEndpoint) {
      // 410 Gone: the receiver asks not to be sent anything again (Standard Webhooks).
      statements.push(
        db.update(webhookEndpoints).set({ enabled: false, disabledReason: 'the receiver answered 410 Gone', updatedAt: now }).where(eq(webhookEndpoints.id, disableEndpoint)),
      );
    }
    const [first, ...rest] = statements;
    await db.batch([first!, ...rest]);
    if (sent.error && result !== 'succeeded') {
      this.deps.logger.warn('webhook delivery attempt failed', { delivery_id: delivery.id, attempt: delivery.attempts, result, error: sent.error });
    }
    return { deliveryId: delivery.id, attempt: delivery.attempts, result, status: sent.status, error: sent.error, durationMs };
  }
}
