import { createRoute, z } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { IdempotencyKeyHeader, jsonBody, jsonResponse, UuidParam } from "../lib/schemas";
import { signedIn } from "../middleware/authenticate";
import { idempotentAcrossCommits } from "../middleware/idempotent";
import { ConfirmPaymentSchema, PaymentSchema, ProcessPaymentSchema } from "./payments.schemas";

const KEYED_PROBLEMS = ["IDEMPOTENCY_KEY_IN_USE", "IDEMPOTENCY_KEY_REUSED"] as const;

/** A 202: the payment while its outcome is not known yet, with the `Retry-After` (seconds) its handler sets. */
const pendingPayment = (description: string, retryAfter: string) => ({
  ...jsonResponse(PaymentSchema, description),
  headers: { "Retry-After": { description: retryAfter, schema: { type: "integer" as const, minimum: 1 } } },
});

export const processPayment = createRoute({
  method: "post",
  path: "/api/v1/payments/process",
  operationId: "processPayment",
  tags: ["Payments"],
  summary: "Pay a CREATED order from the buyer's balance, through the payment gateway",
  description:
    "Each step is persisted before the next side effect (see `history`). 200: COMPLETED, the order CONFIRMED. 402 INSUFFICIENT_BALANCE (nothing debited) or PAYMENT_DECLINED (balance restored): the problem carries `paymentId`. 202: the gateway's answer is not known yet (timeout, 5xx): the payment stays GATEWAY_REQUESTED until POST /payments/confirm or the recovery job settles it; meanwhile the order cannot be paid again, cancelled or expire. Honours `Idempotency-Key`: the payment carries the key, so a retry whose stored answer was lost (a 5xx, a process that died) answers from the payment the first request made (settling it with the gateway if it is still GATEWAY_REQUESTED), never with a second attempt. A 202 carries `Retry-After` and is not stored as the key's answer: the same key asked again settles the payment with the gateway.",
  // A COMPLETED payment is its keyed request's answer: a replay answers from it (the key keeps no copy). The key's
  // row is read by the payment's first read (the order and the payment the key made): one statement fewer.
  ...signedIn(
    idempotentAcrossCommits(
      async (c, key) => {
        const payment = await c.get("services").payments.completedByRequest(c.get("actor"), key);
        return payment && c.json(payment, 200);
      },
      { lookTakenIn: true },
    ),
  ),
  request: { headers: IdempotencyKeyHeader, body: jsonBody(ProcessPaymentSchema) },
  responses: {
    200: jsonResponse(PaymentSchema, "The payment, COMPLETED"),
    202: pendingPayment(
      "The payment, GATEWAY_REQUESTED: outcome not known yet",
      "Seconds until asking again (confirm, or this request with its key) may tell more",
    ),
    ...problemResponses(
      ...BODY_PROBLEMS,
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "ORDER_NOT_FOUND",
      "ORDER_NOT_PAYABLE",
      "PAYMENT_IN_PROGRESS",
      "INSUFFICIENT_BALANCE",
      "PAYMENT_DECLINED",
      ...KEYED_PROBLEMS,
    ),
  },
});

export const confirmPayment = createRoute({
  method: "post",
  path: "/api/v1/payments/confirm",
  operationId: "confirmPayment",
  tags: ["Payments"],
  summary: "Ask the gateway for the outcome of a payment whose outcome is not known, and settle it",
  description:
    "200 with the payment once it is final: COMPLETED (order CONFIRMED) or FAILED (balance restored; also when the gateway never received it). A payment already final is returned unchanged (200). 202 with the payment unchanged and a `Retry-After` (seconds) while the gateway still says PENDING (or cannot be asked), and while it answers 404 inside the charge's send window: until `PAYMENT_ABANDON_AFTER_MS` after the charge POST started (the gateway timeout plus a safety margin) our own charge may still reach the gateway, so a payment is never failed while the gateway can still approve it. Honours `Idempotency-Key`; a 202 is not stored as final (the same key asks again).",
  ...signedIn(idempotentAcrossCommits()),
  request: { headers: IdempotencyKeyHeader, body: jsonBody(ConfirmPaymentSchema) },
  responses: {
    200: jsonResponse(PaymentSchema, "The payment, final"),
    202: pendingPayment(
      "The payment, still waiting for the gateway",
      "Seconds until asking again may tell more (the send window's end, or the next re-check)",
    ),
    ...problemResponses(...BODY_PROBLEMS, "UNAUTHENTICATED", "FORBIDDEN", "PAYMENT_NOT_FOUND", ...KEYED_PROBLEMS),
  },
});

export const getPayment = createRoute({
  method: "get",
  path: "/api/v1/payments/{paymentId}",
  operationId: "getPayment",
  tags: ["Payments"],
  summary: "A payment with every step it took (its buyer or an admin)",
  ...signedIn(),
  request: { params: z.object({ paymentId: UuidParam("paymentId") }) },
  responses: {
    200: jsonResponse(PaymentSchema, "The payment"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "PAYMENT_NOT_FOUND"),
  },
});
