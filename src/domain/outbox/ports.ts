import type { Page, PageRequest } from "../shared/paging";
import type { EventStatus } from "./event-status";

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

export const EVENT_TYPES_OF = { order: ORDER_EVENT_TYPES, coupon: COUPON_EVENT_TYPES } as const;

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

/** An event as the data platform receives it (the JSON body of the POST). */
export interface OutboxEvent {
  id: string;
  aggregateId: string;
  type: string;
  payload: unknown;
  createdAt: Date;
}

/** An event a relay has claimed: `seq` orders it within its aggregate; `attempts` are the tries made before. */
export interface ClaimedEvent extends OutboxEvent {
  seq: number;
  attempts: number;
}

/**
 * How one try ended: accepted (2xx), worth retrying (timeouts, 5xx, 408, 429, no connection), or refused
 * for good (any other 4xx: sending the same request again cannot succeed).
 */
export type DeliveryResult =
  | { kind: "accepted" }
  | { kind: "retryable"; error: string }
  | { kind: "refused"; error: string };

export interface EventPublisher {
  /** Never rejects: every way a try can end is a DeliveryResult. */
  publish(event: OutboxEvent): Promise<DeliveryResult>;
}

/** What a try that did not succeed leads to (decided by delivery-policy.ts). */
export type FailedDelivery =
  | { id: string; status: "FAILED"; nextAttemptAt: Date; lastError: string }
  | { id: string; status: "ALERTED"; lastError: string };

/**
 * An event whose relay let its lease run out (it crashed or stalled). Its `attempts` already count the try the
 * relay started, if it started one (outcome unknown); a claim that was never tried adds nothing.
 */
export interface ExpiredLease {
  id: string;
  aggregateId: string;
  type: string;
  attempts: number;
  status: "FAILED" | "ALERTED";
}

/**
 * The relay's queue over one outbox table. Every write after the claim is fenced by the claim's `token`
 * (stored as the lease owner): a relay that lost its lease to another cannot overwrite the other's outcome.
 */
export interface OutboxQueue {
  /**
   * PROCESSING events whose lease has run out become FAILED (retried at once) or ALERTED (their last try was
   * started). `attempts` is left as it is: a try is counted when it starts (startTries), not when a lease ends.
   */
  recoverExpiredLeases(topic: OutboxTopic, maxAttempts: number): Promise<ExpiredLease[]>;
  /**
   * Takes up to `limit` due events under a lease, oldest first, skipping rows other relays are claiming, and
   * only events with no older undelivered event of their aggregate outside this claim (per-aggregate order).
   */
  claim(topic: OutboxTopic, token: string, limit: number, leaseMs: number): Promise<ClaimedEvent[]>;
  /**
   * Counts one try for each event about to be published (`attempts` = tries made, whatever happens next),
   * only while this claim still holds it and its lease has not run out; returns the ids counted. An event not
   * returned must not be published: it is no longer ours.
   */
  startTries(topic: OutboxTopic, token: string, ids: string[]): Promise<string[]>;
  /** Marks the events SENT in one statement (their try was counted when it started); returns each marked event's seconds from commit to SENT. */
  markSent(topic: OutboxTopic, token: string, ids: string[]): Promise<number[]>;
  /** Records the outcome of failed tries (counted when they started) in one statement; returns the ids it updated. */
  markFailed(topic: OutboxTopic, token: string, failures: FailedDelivery[]): Promise<string[]>;
  /** Puts claimed events that were never tried back as PENDING. */
  release(topic: OutboxTopic, token: string, ids: string[]): Promise<void>;
}

/** An event as the admin endpoints show it (contract: the outbox tables' shape). */
export interface OutboxEventRecord extends OutboxEvent {
  status: EventStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  sentAt: Date | null;
}

export interface EventFilter {
  status?: EventStatus;
  type?: string;
  aggregateId?: string;
}

/** Undelivered events of one table by status, and when the oldest one still to be delivered was written. */
export interface Backlog {
  topic: OutboxTopic;
  counts: Record<Exclude<EventStatus, "SENT">, number>;
  oldestUndeliveredAt: Date | null;
}

export interface OutboxEventRepository {
  list(topic: OutboxTopic, filter: EventFilter, page: PageRequest): Promise<Page<OutboxEventRecord>>;
  find(topic: OutboxTopic, id: string): Promise<OutboxEventRecord | undefined>;
  /** FAILED or ALERTED → PENDING with attempts 0, in one conditional statement; undefined if not in those. */
  retry(topic: OutboxTopic, id: string): Promise<OutboxEventRecord | undefined>;
  backlog(): Promise<Backlog[]>;
}

export const FAILURE_KINDS = ["retryable", "refused", "lease_expired"] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** What one relay batch (or lease recovery) did; the relay reports each to the metrics. */
export interface BatchReport {
  topic: OutboxTopic;
  sent: number;
  /** Seconds from each sent event's commit to its SENT mark. */
  latenciesSeconds: number[];
  failures: Record<FailureKind, number>;
  alerted: number;
  released: number;
}

export type RelayObserver = (report: BatchReport) => void;
