import { relations, sql } from "drizzle-orm";
import { boolean, check, index, integer, pgEnum, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { ORDER_STATUSES } from "../../../domain/orders/order-status";
import { at, krw } from "./columns";
import { products } from "./products";
import { users } from "./users";

export const orderStatus = pgEnum("order_status", ORDER_STATUSES);

export const orders = pgTable(
  "orders",
  {
    id: uuid().primaryKey(),
    userId: uuid()
      .notNull()
      .references(() => users.id),
    status: orderStatus().notNull().default("CREATED"),
    subtotal: krw().notNull(),
    discountAmount: krw().notNull().default(0),
    totalAmount: krw().notNull(),
    /** As the buyer sent it: no foreign key, since a coupon that does not exist is a reason, not an error. */
    userCouponId: uuid(),
    couponApplied: boolean().notNull().default(false),
    couponRejectedReason: text(),
    /** The payment in flight or completed; while set on a CREATED order, it can neither be cancelled nor expire. */
    paymentId: uuid(),
    paidAmount: krw().notNull().default(0),
    refundedAmount: krw().notNull().default(0),
    /** Refunds requested but not yet final: held against the refundable remainder. */
    refundPendingAmount: krw().notNull().default(0),
    expiresAt: at().notNull(),
    paidAt: at(),
    /**
     * When it became SHIPPED: from then on its units are with the buyer, so a refund in full leaves them
     * awaiting return (src/domain/returns) rather than back on sale; the invariant checker holds both to it.
     */
    shippedAt: at(),
    /** When it became DELIVERED: it completes by itself ORDER_AUTO_COMPLETE_DAYS later. */
    deliveredAt: at(),
    cancelledAt: at(),
    cancelReason: text(),
    version: integer().notNull().default(1),
    createdAt: at().notNull().defaultNow(),
    updatedAt: at().notNull().defaultNow(),
  },
  (t) => [
    check("orders_amounts", sql`${t.discountAmount} >= 0 AND ${t.discountAmount} <= ${t.subtotal}`),
    check("orders_total", sql`${t.totalAmount} = ${t.subtotal} - ${t.discountAmount}`),
    check(
      "orders_refunds_within_paid",
      sql`${t.refundedAmount} >= 0 AND ${t.refundPendingAmount} >= 0 AND ${t.refundedAmount} + ${t.refundPendingAmount} <= ${t.paidAmount}`,
    ),
    check("orders_paid_within_total", sql`${t.paidAmount} >= 0 AND ${t.paidAmount} <= ${t.totalAmount}`),
    check("orders_coupon_applied", sql`NOT ${t.couponApplied} OR ${t.userCouponId} IS NOT NULL`),
    index("orders_user_newest").on(t.userId, t.createdAt, t.id),
    // The expiry sweeper's queue: unpaid orders by deadline.
    index("orders_unpaid_expiry").on(t.expiresAt).where(sql`${t.status} = 'CREATED'`),
    // The auto-completion sweeper's queue: delivered orders by delivery time.
    index("orders_delivered_due").on(t.deliveredAt).where(sql`${t.status} = 'DELIVERED'`),
    index("orders_status_newest").on(t.status, t.createdAt, t.id),
  ],
);

/** One line of an order, with the product's name, price and category as they were when it was ordered. */
export const orderItems = pgTable(
  "order_items",
  {
    id: uuid().primaryKey(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    productId: uuid()
      .notNull()
      .references(() => products.id),
    sellerId: uuid()
      .notNull()
      .references(() => users.id),
    productName: text().notNull(),
    category: text().notNull(),
    unitPrice: krw().notNull(),
    quantity: integer().notNull(),
    lineTotal: krw().notNull(),
    /** This line's part of the order's discount; lineTotal − discountShare is what was paid for it. */
    discountShare: krw().notNull().default(0),
    /** The part of the order's landed refunds taken from this line (each refund split over what was left). */
    refundedAmount: krw().notNull().default(0),
    /**
     * Returns (src/domain/returns): units of a line refunded in full after shipping wait here for the seller to
     * record them, then count as returned (back on sale) or written off (damaged).
     */
    awaitingReturn: integer().notNull().default(0),
    returnedQuantity: integer().notNull().default(0),
    writtenOffQuantity: integer().notNull().default(0),
  },
  (t) => [
    check("order_items_quantity", sql`${t.quantity} BETWEEN 1 AND 100`),
    check("order_items_line_total", sql`${t.lineTotal} = ${t.unitPrice} * ${t.quantity}`),
    check("order_items_discount_share", sql`${t.discountShare} >= 0 AND ${t.discountShare} <= ${t.lineTotal}`),
    check(
      "order_items_refunded",
      sql`${t.refundedAmount} >= 0 AND ${t.refundedAmount} <= ${t.lineTotal} - ${t.discountShare}`,
    ),
    check(
      "order_items_returns",
      sql`${t.awaitingReturn} >= 0 AND ${t.returnedQuantity} >= 0 AND ${t.writtenOffQuantity} >= 0
        AND ${t.awaitingReturn} + ${t.returnedQuantity} + ${t.writtenOffQuantity} <= ${t.quantity}`,
    ),
    uniqueIndex("order_items_order_product").on(t.orderId, t.productId),
    index("order_items_product").on(t.productId),
    index("order_items_seller").on(t.sellerId, t.orderId),
  ],
);

export const ordersRelations = relations(orders, ({ many }) => ({ items: many(orderItems) }));
export const orderItemsRelations = relations(orderItems, ({ one }) => ({
  order: one(orders, { fields: [orderItems.orderId], references: [orders.id] }),
}));
