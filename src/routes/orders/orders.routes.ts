import { createRoute, z } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { IdempotencyKeyHeader, jsonBody, jsonResponse, UuidParam } from "../lib/schemas";
import { signedIn } from "../middleware/authenticate";
import { idempotentInWorkStatements } from "../middleware/idempotent";
import { placedAnswer } from "./orders.handlers";
import {
  AdvanceOrderSchema,
  OrderListQuerySchema,
  OrderPageSchema,
  OrderSchema,
  PlaceOrderSchema,
} from "./orders.schemas";

const OrderParams = z.object({ orderId: UuidParam("orderId") });

export const placeOrder = createRoute({
  method: "post",
  path: "/api/v1/orders",
  operationId: "placeOrder",
  tags: ["Orders"],
  summary: "Place an order: its stock is reserved at once",
  description:
    "All lines are reserved or none (400 INSUFFICIENT_STOCK / INVALID_PRODUCT name the line in `errors`). A coupon that cannot be used does not fail the order: it goes on without it (`couponApplied: false`, `couponRejectedReason`). Unpaid, the order expires after ORDER_PAYMENT_TIMEOUT_SECONDS. Honours `Idempotency-Key`.",
  // The placed order's answer (placeOrderHandler's), stored by the order's own statement.
  ...signedIn(idempotentInWorkStatements(placedAnswer)),
  request: { headers: IdempotencyKeyHeader, body: jsonBody(PlaceOrderSchema) },
  responses: {
    201: jsonResponse(OrderSchema, "The order, CREATED"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      "INVALID_PRODUCT",
      "INSUFFICIENT_STOCK",
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "USER_NOT_FOUND",
      "IDEMPOTENCY_KEY_IN_USE",
      "IDEMPOTENCY_KEY_REUSED",
    ),
  },
});

export const getOrder = createRoute({
  method: "get",
  path: "/api/v1/orders/{orderId}",
  operationId: "getOrder",
  tags: ["Orders"],
  summary: "One order (its buyer, a seller of its items, or an admin)",
  ...signedIn(),
  request: { params: OrderParams },
  responses: {
    200: jsonResponse(OrderSchema, "The order"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "ORDER_NOT_FOUND"),
  },
});

export const listOrders = createRoute({
  method: "get",
  path: "/api/v1/orders",
  operationId: "listOrders",
  tags: ["Orders"],
  summary: "Orders, newest first",
  description:
    "A buyer sees its own orders; a seller those it placed or that hold its products; an admin all of them. `userId` and `status` narrow the list.",
  ...signedIn(),
  request: { query: OrderListQuerySchema },
  responses: {
    200: jsonResponse(OrderPageSchema, "One page of orders"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN"),
  },
});

export const cancelOrder = createRoute({
  method: "put",
  path: "/api/v1/orders/{orderId}/cancel",
  operationId: "cancelOrder",
  tags: ["Orders"],
  summary: "Cancel an order (its buyer or an admin)",
  description:
    "An unpaid (CREATED) order is cancelled at once: its stock goes back on sale and its coupon back to the buyer (REFUNDED, usable again). A paid CONFIRMED or PREPARING order is refunded in full (the balance is credited) and then CANCELLED: 200 when the refund landed within the request, 202 with the order still paid when it will be retried (the order is cancelled once it lands), and 202 too when refunds in progress already hold the whole remainder (nothing new is refunded; the order is cancelled when they land, a MANUAL one waits for a person). An order paid in full by a coupon (total 0) is cancelled at once: stock and coupon back, no gateway call. While a payment is in flight: 409 PAYMENT_IN_PROGRESS. Cancelling twice, or once SHIPPED: 409 ORDER_NOT_CANCELLABLE.",
  ...signedIn(),
  request: { params: OrderParams },
  responses: {
    200: jsonResponse(OrderSchema, "The cancelled order"),
    202: jsonResponse(
      OrderSchema,
      "A paid order whose refunds are still in progress (retried, or held by earlier refunds); it is cancelled when they land",
    ),
    ...problemResponses(
      "VALIDATION_FAILED",
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "ORDER_NOT_FOUND",
      "ORDER_NOT_CANCELLABLE",
      "PAYMENT_IN_PROGRESS",
    ),
  },
});

export const advanceOrder = createRoute({
  method: "patch",
  path: "/api/v1/orders/{orderId}/status",
  operationId: "advanceOrder",
  tags: ["Orders"],
  summary: "Move a paid order one step along fulfilment",
  description:
    "CONFIRMED → PREPARING → SHIPPED → DELIVERED → COMPLETED, one step at a time, by a seller of the order's items or an admin up to DELIVERED. Receipt (DELIVERED → COMPLETED) is confirmed by the buyer or an admin, never by the seller (403 FORBIDDEN); a DELIVERED order also completes by itself ORDER_AUTO_COMPLETE_DAYS (default 7) after `deliveredAt`. Any other move: 409 INVALID_ORDER_TRANSITION.",
  ...signedIn(),
  request: { params: OrderParams, body: jsonBody(AdvanceOrderSchema) },
  responses: {
    200: jsonResponse(OrderSchema, "The order in its new status"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "ORDER_NOT_FOUND",
      "INVALID_ORDER_TRANSITION",
    ),
  },
});
