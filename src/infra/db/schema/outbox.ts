import { sql } from "drizzle-orm";
import { bigint, check, index, integer, jsonb, pgEnum, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { EVENT_STATUSES } from "../../../domain/outbox/event-status";
import { COUPON_EVENT_TYPES, ORDER_EVENT_TYPES } from "../../../domain/outbox/ports";
import { at } from "./columns";

export const outboxStatus = pgEnum("outbox_status", EVENT_STATUSES);

/**
 * Both outbox tables have one shape (contract: `{ id, aggregateId, type, payload, status, attempts,
 * nextAttemptAt, lastError, createdAt, sentAt }`) plus what a relay needs: `seq` orders events exactly as
 * they were committed per aggregate (the aggregate's row lock serialises its writers), and a lease
 * (owner, expiry) lets a crashed relay's claimed rows return to the queue.
 */
function outboxTable<Name extends string>(name: Name, types: readonly string[]) {
  return pgTable(
    name,
    {
      id: uuid().primaryKey(),
      seq: bigint({ mode: "number" }).generatedAlwaysAsIdentity().notNull(),
      aggregateId: uuid().notNull(),
      type: text().notNull(),
      payload: jsonb().notNull(),
      status: outboxStatus().notNull().default("PENDING"),
      attempts: integer().notNull().default(0),
      nextAttemptAt: at().notNull().defaultNow(),
      leaseOwner: text(),
      leaseExpiresAt: at(),
      lastError: text(),
      createdAt: at().notNull().defaultNow(),
      sentAt: at(),
    },
    (t) => [
      check(`${name}_type`, sql.raw(`"type" in (${types.map((type) => `'${type}'`).join(", ")})`)),
      check(`${name}_attempts`, sql`${t.attempts} >= 0`),
      // The admin's `aggregateId` filter.
      index(`${name}_aggregate`).on(t.aggregateId, t.seq),
      // The relay's queue: events it may claim, in commit order.
      index(`${name}_queue`).on(t.seq).where(sql`${t.status} in ('PENDING', 'FAILED')`),
      // Per-aggregate order: "is an older event of this aggregate still undelivered?" reads only undelivered
      // rows, however long the aggregate's delivered history (a popular coupon's thousands of COUPON_ISSUED).
      // Also what the backlog metrics count.
      index(`${name}_undelivered`).on(t.aggregateId, t.seq).where(sql`${t.status} <> 'SENT'`),
      // Leases to recover from relays that crashed.
      index(`${name}_leases`).on(t.leaseExpiresAt).where(sql`${t.status} = 'PROCESSING'`),
    ],
  );
}

export const orderEvents = outboxTable("order_events", ORDER_EVENT_TYPES);
export const couponEvents = outboxTable("coupon_events", COUPON_EVENT_TYPES);

export const outboxTables = { order: orderEvents, coupon: couponEvents } as const;
