import type { Logger } from '../deps';

/**
 * A domain event on its way to webhook subscribers: the Standard Webhooks body `{type, timestamp,
 * data}` plus a stable `id`. Publishing the same id twice is the same event (a job that re-runs
 * after a crash re-publishes rather than risk losing it), so the delivery side must de-duplicate
 * on `id` and use it as the `webhook-id`.
 */
export interface SluiceEvent<Data extends Record<string, unknown> = Record<string, unknown>> {
  id: string;
  type: string;
  /** Epoch ms, from the injected clock. */
  timestamp: number;
  data: Data;
}

/**
 * Where concerns hand their events. The webhooks module plugs its outbox in here
 * (Services.events); until then events go to the log, so nothing depends on delivery existing.
 */
export interface EventPublisher {
  publish(event: SluiceEvent): Promise<void>;
}

export function loggingPublisher(logger: Logger): EventPublisher {
  return {
    async publish(event) {
      logger.info(`event ${event.type}`, { event_id: event.id, data: event.data });
    },
  };
}
