/**
 * The transactional outbox (contract: "Outbox and data platform"). Services append events in the same
 * transaction as the change they describe; the relay (src/workers) delivers them at least once, in order per
 * aggregate, as an HTTP POST to DATA_PLATFORM_URL (`Idempotency-Key: <event id>`, `X-Event-Type`) or to the log.
 */
export const ORDER_EVENT_TYPES = ["ORDER_CREATED", "PAYMENT_COMPLETED", "ORDER_CANCELLED", "REFUND_COMPLETED"] as const;
export const COUPON_EVENT_TYPES = ["COUPON_CREATED", "COUPON_ISSUED", "COUPON_USED", "COUPON_RESTORED"] as const;

export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];
export type CouponEventType = (typeof COUPON_EVENT_TYPES)[number];

/** Which table an event lives in: `order_events` or `coupon_events`. */
export const OUTBOX_TOPICS = ["order", "coupon"] as const;
export type OutboxTopic = (typeof OUTBOX_TOPICS)[number];

export interface EventTypeOf {
  order: OrderEventType;
  coupon: CouponEventType;
}

export interface NewOutboxEvent<T extends OutboxTopic = OutboxTopic> {
  aggregateId: string;
  type: EventTypeOf[T];
  payload: Record<string, unknown>;
}

/** Appends events inside the caller's transaction: they commit (or roll back) with the change itself. */
export interface OutboxWriter {
  append<T extends OutboxTopic>(topic: T, ...events: NewOutboxEvent<T>[]): Promise<void>;
}

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
