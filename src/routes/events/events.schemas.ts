import { z } from "@hono/zod-openapi";
import { EVENT_STATUSES } from "../../domain/outbox/event-status";
import {
  COUPON_EVENT_TYPES,
  EVENT_TYPES_OF,
  ORDER_EVENT_TYPES,
  OUTBOX_TOPICS,
  type OutboxEventRecord,
} from "../../domain/outbox/ports";
import { limitPageDepth, PageQuery, pageOf, Timestamp, Uuid, UuidParam } from "../lib/schemas";

const EVENT_TYPES = [...ORDER_EVENT_TYPES, ...COUPON_EVENT_TYPES] as const;

const Table = z.enum(OUTBOX_TOPICS).openapi({
  example: "order",
  description: "`order` → order_events (ORDER_*, PAYMENT_*, REFUND_*), `coupon` → coupon_events (COUPON_*)",
});

export const EventSchema = z
  .object({
    id: z.uuid(),
    aggregateId: z.uuid().openapi({ description: "The order or coupon the event is about" }),
    type: z.enum(EVENT_TYPES),
    payload: z
      .record(z.string(), z.unknown())
      .openapi({ example: { orderId: "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11" } }),
    status: z.enum(EVENT_STATUSES).openapi({
      description:
        "PENDING → PROCESSING → SENT, or FAILED (retried with backoff) → ALERTED after OUTBOX_MAX_ATTEMPTS tries or a refusal",
    }),
    attempts: z.number().int().openapi({ description: "Delivery tries made", example: 1 }),
    nextAttemptAt: Timestamp.nullable().openapi({
      description: "When the relay tries (again); null once SENT or ALERTED",
    }),
    lastError: z.string().nullable().openapi({ description: "Why the last try failed", example: "HTTP 503" }),
    createdAt: Timestamp,
    sentAt: Timestamp.nullable(),
  })
  .openapi("OutboxEvent", {
    example: {
      id: "01936b2c-8a10-7b21-a3c4-0e5f6a7b8c9d",
      aggregateId: "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11",
      type: "ORDER_CREATED",
      payload: { orderId: "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11", totalAmount: 129000 },
      status: "SENT",
      attempts: 1,
      nextAttemptAt: null,
      lastError: null,
      createdAt: "2026-11-25T10:00:00.000Z",
      sentAt: "2026-11-25T10:00:00.042Z",
    },
  });

export const EventPageSchema = pageOf(EventSchema, "OutboxEventPage");

export const ListEventsQuery = PageQuery.extend({
  table: Table,
  status: z.enum(EVENT_STATUSES).optional(),
  type: z.enum(EVENT_TYPES).optional(),
  aggregateId: Uuid.optional(),
})
  .superRefine((query, ctx) => {
    if (query.type && !(EVENT_TYPES_OF[query.table] as readonly string[]).includes(query.type)) {
      ctx.addIssue({ code: "custom", path: ["type"], message: `is not a type of the ${query.table} table` });
    }
  })
  .superRefine(limitPageDepth());

export const EventParams = z.object({
  table: Table.openapi({ param: { name: "table", in: "path" } }),
  eventId: UuidParam("eventId"),
});

export const toEventJson = (event: OutboxEventRecord): z.infer<typeof EventSchema> => ({
  id: event.id,
  aggregateId: event.aggregateId,
  type: event.type as z.infer<typeof EventSchema>["type"],
  payload: event.payload as Record<string, unknown>,
  status: event.status,
  attempts: event.attempts,
  nextAttemptAt: event.status === "SENT" || event.status === "ALERTED" ? null : event.nextAttemptAt.toISOString(),
  lastError: event.lastError,
  createdAt: event.createdAt.toISOString(),
  sentAt: event.sentAt?.toISOString() ?? null,
});
