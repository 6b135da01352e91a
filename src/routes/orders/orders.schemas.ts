import { z } from "@hono/zod-openapi";
import { ORDER_STATUSES } from "../../domain/orders/order-status";
import { Krw, limitPageDepth, PageQuery, pageOf, Timestamp, Uuid } from "../lib/schemas";

export const MAX_ORDER_LINES = 50;
export const MAX_LINE_QUANTITY = 100;

export const OrderStatusSchema = z.enum(ORDER_STATUSES).openapi("OrderStatus", {
  description:
    "CREATED → CONFIRMED (paid) → PREPARING → SHIPPED → DELIVERED → COMPLETED; CANCELLED (unpaid and cancelled or expired, or refunded in full)",
});

const OrderLineSchema = z
  .object({
    productId: Uuid,
    productName: z.string().openapi({ example: 'Air Max 1 "Triple White"' }),
    unitPrice: Krw.openapi({ description: "The price when the order was placed" }),
    quantity: z.number().int().openapi({ example: 1 }),
    lineTotal: Krw,
  })
  .openapi("OrderLine");

export const OrderSchema = z
  .object({
    id: z.uuid(),
    userId: z.uuid(),
    status: OrderStatusSchema,
    items: z.array(OrderLineSchema),
    subtotal: Krw,
    discountAmount: Krw,
    totalAmount: Krw.openapi({ description: "subtotal − discountAmount: what the payment takes" }),
    userCouponId: z.uuid().nullable(),
    couponApplied: z.boolean(),
    couponRejectedReason: z.string().optional().openapi({
      description:
        "Why the coupon sent was not applied (the order went on without it): NOT_FOUND, NOT_OWNED, NOT_USABLE, EXPIRED, NOT_ACTIVE, BELOW_MIN_ORDER_AMOUNT",
      example: "BELOW_MIN_ORDER_AMOUNT",
    }),
    paymentId: z.uuid().optional().openapi({ description: "The payment in flight or completed" }),
    paidAmount: Krw.openapi({ description: "What the completed payment took (0 until paid)" }),
    refundedAmount: Krw.openapi({ description: "What refunds have returned so far" }),
    cancelReason: z
      .enum(["CANCELLED_BY_BUYER", "CANCELLED_BY_ADMIN", "EXPIRED", "REFUNDED"])
      .optional()
      .openapi({ description: "Why a CANCELLED order was cancelled" }),
    expiresAt: Timestamp.openapi({ description: "An unpaid order is cancelled within 10 s after this" }),
    shippedAt: Timestamp.optional().openapi({
      description:
        "When it became SHIPPED (kept after a refund cancels it): refunded in full after this, its units await their return",
    }),
    deliveredAt: Timestamp.optional().openapi({
      description: "When it became DELIVERED; unless confirmed earlier, it completes ORDER_AUTO_COMPLETE_DAYS later",
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Order");

export const PlaceOrderSchema = z
  .strictObject({
    userId: Uuid.openapi({ description: "The buyer: the caller itself (an admin may order for anyone)" }),
    items: z
      .array(
        z.strictObject({
          productId: Uuid,
          quantity: z
            .number()
            .int()
            .min(1)
            .max(MAX_LINE_QUANTITY)
            .openapi({ example: 1, description: `1 to ${MAX_LINE_QUANTITY}` }),
        }),
      )
      .min(1)
      .max(MAX_ORDER_LINES)
      .openapi({ description: `1 to ${MAX_ORDER_LINES} lines, each product at most once` }),
    userCouponId: Uuid.optional().openapi({ description: "One of the buyer's coupons (GET /coupons/user/{userId})" }),
  })
  .superRefine((order, ctx) => {
    const seen = new Set<string>();
    order.items.forEach((item, i) => {
      if (seen.has(item.productId)) {
        ctx.addIssue({
          code: "custom",
          path: ["items", i, "productId"],
          message: "this product is already in the order",
        });
      }
      seen.add(item.productId);
    });
  })
  .openapi("PlaceOrder");

export const AdvanceOrderSchema = z
  .strictObject({
    status: OrderStatusSchema.openapi({ description: "The next status: one step forward", example: "PREPARING" }),
  })
  .openapi("AdvanceOrder");

export const OrderListQuerySchema = PageQuery.extend({
  userId: Uuid.optional().openapi({ description: "Orders of this buyer (a buyer may only name itself)" }),
  status: OrderStatusSchema.optional(),
}).superRefine(limitPageDepth());

export const OrderPageSchema = pageOf(OrderSchema, "OrderPage");
