import { createRoute, z } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { IdempotencyKeyHeader, jsonBody, jsonResponse, limitPageDepth, PageQuery, UuidParam } from "../lib/schemas";
import { signedIn } from "../middleware/authenticate";
import { idempotent } from "../middleware/idempotent";
import { BalanceSchema, ChargeSchema, LedgerPageSchema } from "./balances.schemas";

const UserParams = z.object({ userId: UuidParam("userId") });

export const chargeBalance = createRoute({
  operationId: "chargeBalance",
  method: "post",
  path: "/api/v1/balances/charge",
  tags: ["Balances"],
  summary: "Add money to a prepaid balance",
  description:
    "Concurrent charges all land exactly once each (optimistic version update, retried). A user charges only its own balance; an ADMIN anyone's. A charge that would take the balance above 1,000,000,000 is refused with 400 BALANCE_LIMIT_EXCEEDED (nothing charged). The cap bounds top-ups only: a refund or a REVERSAL of a failed payment is always credited, even past it, and the balance is then spent down before it can be charged again. Honours `Idempotency-Key`.",
  ...signedIn(idempotent),
  request: { headers: IdempotencyKeyHeader, body: jsonBody(ChargeSchema) },
  responses: {
    200: jsonResponse(BalanceSchema, "The balance after the charge"),
    ...problemResponses(
      ...BODY_PROBLEMS,
      "BALANCE_LIMIT_EXCEEDED",
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "USER_NOT_FOUND",
      "IDEMPOTENCY_KEY_IN_USE",
      "IDEMPOTENCY_KEY_REUSED",
    ),
  },
});

export const getBalance = createRoute({
  operationId: "getBalance",
  method: "get",
  path: "/api/v1/balances/{userId}",
  tags: ["Balances"],
  summary: "A user's balance",
  ...signedIn(),
  request: { params: UserParams },
  responses: {
    200: jsonResponse(BalanceSchema, "The balance"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "USER_NOT_FOUND"),
  },
});

export const listBalanceTransactions = createRoute({
  operationId: "listBalanceTransactions",
  method: "get",
  path: "/api/v1/balances/{userId}/transactions",
  tags: ["Balances"],
  summary: "A user's ledger, newest first",
  ...signedIn(),
  request: { params: UserParams, query: PageQuery.superRefine(limitPageDepth()) },
  responses: {
    200: jsonResponse(LedgerPageSchema, "One page of ledger entries"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "USER_NOT_FOUND"),
  },
});
