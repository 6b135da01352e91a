import { createRoute, z } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { IdempotencyKeyHeader, jsonBody, jsonResponse, UuidParam } from "../lib/schemas";
import { signedIn } from "../middleware/authenticate";
import { idempotent } from "../middleware/idempotent";
import { OrderReturnSchema, RecordReturnSchema } from "./returns.schemas";

export const recordReturn = createRoute({
  method: "post",
  path: "/api/v1/orders/{orderId}/returns",
  operationId: "recordReturn",
  tags: ["Orders"],
  summary:
    "Record units returned by the buyer of an order refunded after it shipped (a seller of its items or an admin)",
  description:
    "A refund in full of an order that was SHIPPED, DELIVERED or COMPLETED puts no unit back on sale: its units wait in the products' `awaitingReturn` until they come back. Recording them moves RESELLABLE units back to `stock` and DAMAGED ones to `writtenOff`; a partial return leaves the rest awaited. A seller records only its own products' units (another seller's: 403 FORBIDDEN). More units of a product than the order still awaits: 400 RETURN_EXCEEDS_AWAITED (nothing recorded); an order with nothing awaited: 409 ORDER_NOT_RETURNABLE. One transaction under the order's lock: racing recordings of one order never return more than was awaited. For every product, stock + reservedStock + soldQuantity + awaitingReturn + writtenOff = units ever stocked. Honours `Idempotency-Key`: a recording is replayed; a refusal is not kept (a retry with the key is decided again).",
  ...signedIn(idempotent),
  request: {
    headers: IdempotencyKeyHeader,
    params: z.object({ orderId: UuidParam("orderId") }),
    body: jsonBody(RecordReturnSchema),
  },
  responses: {
    201: jsonResponse(OrderReturnSchema, "The return recorded, and what the order still awaits"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      "RETURN_EXCEEDS_AWAITED",
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "ORDER_NOT_FOUND",
      "ORDER_NOT_RETURNABLE",
      "IDEMPOTENCY_KEY_IN_USE",
      "IDEMPOTENCY_KEY_REUSED",
    ),
  },
});
