import type { Context } from "hono";
import type { PaymentResult } from "../../domain/payments/payment-service";
import type { AppEnv, AppRouteHandler } from "../lib/app-env";
import type { confirmPayment, getPayment, processPayment } from "./payments.routes";

export const processPaymentHandler: AppRouteHandler<typeof processPayment> = async (c) => {
  const answer = await c
    .get("services")
    .payments.process(c.get("actor"), c.req.valid("json").orderId, c.req.valid("header")["idempotency-key"]);
  return respond(c, answer);
};

export const confirmPaymentHandler: AppRouteHandler<typeof confirmPayment> = async (c) =>
  respond(c, await c.get("services").payments.confirm(c.get("actor"), c.req.valid("json").paymentId));

/** 200 once final; else 202 with Retry-After, which the idempotency layer never stores (asked again, it settles). */
function respond(c: Context<AppEnv>, { payment, outcome, retryAfterSeconds }: PaymentResult) {
  if (outcome === "settled") return c.json(payment, 200);
  if (retryAfterSeconds !== undefined) c.header("Retry-After", String(retryAfterSeconds));
  return c.json(payment, 202);
}

export const getPaymentHandler: AppRouteHandler<typeof getPayment> = async (c) => {
  const payment = await c.get("services").payments.get(c.get("actor"), c.req.valid("param").paymentId);
  return c.json(payment, 200);
};
