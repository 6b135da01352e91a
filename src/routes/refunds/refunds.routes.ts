import { createRoute, z } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { IdempotencyKeyHeader, jsonBody, jsonResponse, UuidParam } from "../lib/schemas";
import { signedIn } from "../middleware/authenticate";
import { idempotentAcrossCommits } from "../middleware/idempotent";
import { RefundSchema, RequestRefundSchema } from "./refunds.schemas";

export const requestRefund = createRoute({
  method: "post",
  path: "/api/v1/refunds",
  operationId: "requestRefund",
  tags: ["Refunds"],
  summary: "Refund a paid order, in full or in part (its buyer or an admin)",
  description:
    "The order must be CONFIRMED, PREPARING, SHIPPED, DELIVERED or COMPLETED, else 409 ORDER_NOT_REFUNDABLE. `amount` (default: all that is still refundable) may not exceed what was paid minus what was refunded or is being refunded: 400 REFUND_EXCEEDS_PAID; with no `amount` and nothing left (all refunded, or held by refunds in progress): 409 ORDER_NOT_REFUNDABLE. The refund is recorded and its first try claimed in one transaction, then tried at once: the answer shows REFUNDED (balance credited), FAILED (tried again with backoff) or PROCESSING (a try still under way); whichever process dies when, a background job takes every recorded refund to REFUNDED or MANUAL. Refunds adding up to the paid amount cancel the order and return its coupon, and its stock when it had not shipped: the units of a SHIPPED, DELIVERED or COMPLETED order wait in the products' `awaitingReturn` until a seller of the items or an admin records their return (POST /orders/{orderId}/returns); an order paid in full by a coupon (total 0) is refunded with amount 0 (stock and coupon back, no gateway call). Honours `Idempotency-Key`: the refund carries the key, so a retry of the request (even after its process died or answered 5xx) answers with that refund, never a second one.",
  ...signedIn(idempotentAcrossCommits()),
  request: { headers: IdempotencyKeyHeader, body: jsonBody(RequestRefundSchema) },
  responses: {
    201: jsonResponse(RefundSchema, "The refund"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      "REFUND_EXCEEDS_PAID",
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "ORDER_NOT_FOUND",
      "ORDER_NOT_REFUNDABLE",
      "IDEMPOTENCY_KEY_IN_USE",
      "IDEMPOTENCY_KEY_REUSED",
    ),
  },
});

export const getRefund = createRoute({
  method: "get",
  path: "/api/v1/refunds/{refundId}",
  operationId: "getRefund",
  tags: ["Refunds"],
  summary: "A refund (its buyer or an admin)",
  ...signedIn(),
  request: { params: z.object({ refundId: UuidParam("refundId") }) },
  responses: {
    200: jsonResponse(RefundSchema, "The refund"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "REFUND_NOT_FOUND"),
  },
});
