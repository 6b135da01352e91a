import { sql } from "drizzle-orm";
import { bigserial, check, index, integer, pgEnum, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { PAYMENT_STATUSES } from "../../../domain/payments/payment-status";
import { REFUND_STATUSES } from "../../../domain/refunds/refund-status";
import { at, krw } from "./columns";
import { orders } from "./orders";
import { users } from "./users";

export const paymentStatus = pgEnum("payment_status", PAYMENT_STATUSES);
export const refundStatus = pgEnum("refund_status", REFUND_STATUSES);

export const payments = pgTable(
  "payments",
  {
    id: uuid().primaryKey(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id),
    userId: uuid()
      .notNull()
      .references(() => users.id),
    amount: krw().notNull(),
    status: paymentStatus().notNull().default("INITIATED"),
    failureReason: text(),
    gatewayTransactionId: text(),
    /**
     * When the recovery job next asks the gateway about a GATEWAY_REQUESTED payment (also its lease), or looks
     * a payment failed as "never received" up once more (FAILED); null once there is nothing left to ask.
     */
    nextCheckAt: at(),
    checks: integer().notNull().default(0),
    /**
     * The charge's send window (contract: Payments → confirm): until then a charge POST of ours may still reach
     * the gateway, so its 404 means "not yet", not "never". Set with GATEWAY_REQUESTED, before the POST leaves.
     */
    chargeWindowEndsAt: at(),
    /**
     * Who asked and the Idempotency-Key of the request that made it (if keyed): a retry of that request whose
     * stored answer was lost (a 5xx after the commit, a process that died) answers from this payment.
     */
    requestedBy: uuid(),
    idempotencyKey: text(),
    createdAt: at().notNull().defaultNow(),
    updatedAt: at().notNull().defaultNow(),
  },
  (t) => [
    check("payments_amount", sql`${t.amount} >= 0`),
    // One order is paid once: at most one payment in flight or completed per order, whatever raced.
    uniqueIndex("payments_one_holding_per_order").on(t.orderId).where(sql`${t.status} <> 'FAILED'`),
    // A keyed retry's lookup. Not unique: an attempt that died before the debit (ABANDONED) leaves its key for
    // the retry's new attempt; one payment per order is the holding index's to guarantee.
    index("payments_by_request").on(t.requestedBy, t.idempotencyKey).where(sql`${t.idempotencyKey} is not null`),
    // The recovery job's queues: outcomes to ask the gateway about, and attempts that never reached it.
    index("payments_awaiting_gateway").on(t.nextCheckAt).where(sql`${t.status} = 'GATEWAY_REQUESTED'`),
    index("payments_unfinished").on(t.updatedAt).where(sql`${t.status} in ('INITIATED', 'VALIDATING')`),
    // Payments failed as "never received", looked up once more later: a charge that landed after all is alerted.
    index("payments_failed_to_verify")
      .on(t.nextCheckAt)
      .where(sql`${t.status} = 'FAILED' and ${t.nextCheckAt} is not null`),
  ],
);

/** One row per step a payment took, written with the step itself. */
export const paymentStatusHistory = pgTable(
  "payment_status_history",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    paymentId: uuid()
      .notNull()
      .references(() => payments.id, { onDelete: "cascade" }),
    status: paymentStatus().notNull(),
    at: at().notNull().defaultNow(),
  },
  (t) => [index("payment_status_history_payment").on(t.paymentId, t.id)],
);

export const refunds = pgTable(
  "refunds",
  {
    id: uuid().primaryKey(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id),
    paymentId: uuid()
      .notNull()
      .references(() => payments.id),
    userId: uuid()
      .notNull()
      .references(() => users.id),
    amount: krw().notNull(),
    reason: text().notNull(),
    /**
     * Who asked (the buyer or an admin) and the request's Idempotency-Key, if it had one, with a fingerprint of
     * its body: a retry of the request finds this refund instead of making a second (the key's stored answer
     * may be lost with its process, or released by a 5xx).
     */
    requestedBy: uuid().references(() => users.id),
    idempotencyKey: text(),
    requestHash: text(),
    status: refundStatus().notNull().default("REFUND_REQUESTED"),
    /** Gateway tries started; also the fencing token of the try holding the lease (each claim adds one). */
    attempts: integer().notNull().default(0),
    /** When a FAILED refund is tried again, or a PROCESSING one's lease runs out. */
    nextAttemptAt: at(),
    lastError: text(),
    refundedAt: at(),
    createdAt: at().notNull().defaultNow(),
    updatedAt: at().notNull().defaultNow(),
  },
  (t) => [
    // 0 only for an order paid in full by a coupon: its refund gives back stock and coupon, no money.
    check("refunds_amount", sql`${t.amount} >= 0`),
    index("refunds_order").on(t.orderId),
    // The retry job's queue: every refund not final yet (a REFUND_REQUESTED one is due at once).
    index("refunds_unfinished")
      .on(t.nextAttemptAt)
      .where(sql`${t.status} in ('REFUND_REQUESTED', 'PROCESSING', 'FAILED')`),
    uniqueIndex("refunds_one_per_request")
      .on(t.requestedBy, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
  ],
);
