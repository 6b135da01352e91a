/**
 * Where outbox events go (contract: "Outbox and data platform"): an HTTP POST to DATA_PLATFORM_URL with
 * `Idempotency-Key: <event id>` and `X-Event-Type`, or the log when unset. Delivery is at-least-once.
 */
export interface OutboxEvent {
  id: string;
  aggregateId: string;
  type: string;
  payload: unknown;
  createdAt: Date;
}

export interface EventPublisher {
  /** Resolves when the platform accepted the event; rejects (to be retried with backoff) otherwise. */
  publish(event: OutboxEvent): Promise<void>;
}
