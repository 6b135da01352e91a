import type { AppRouteHandler } from "../lib/app-env";
import type { confirmPayment, getPayment, processPayment } from "./payments.routes";

export const processPaymentHandler: AppRouteHandler<typeof processPayment> = async (c) => {
  const { payment, outcome } = await c
    .get("services")
    .payments.process(c.get("actor"), c.req.valid("json").orderId, c.req.valid("header")["idempotency-key"]);
  return outcome === "settled" ? c.json(payment, 200) : c.json(payment, 202);
};

export const confirmPaymentHandler: AppRouteHandler<typeof confirmPayment> = async (c) => {
  const { payment, outcome, retryAfterSeconds } = await c
    .get("services")
    .payments.confirm(c.get("actor"), c.req.valid("json").paymentId);
  if (outcome === "settled") return c.json(payment, 200);
  // Not final: the idempotency layer releases the key of an answer with Retry-After (asked again, it settles).
  if (retryAfterSeconds !== undefined) c.header("Retry-After", String(retryAfterSeconds));
  return c.json(payment, 202);
};

export const getPaymentHandler: AppRouteHandler<typeof getPayment> = async (c) => {
  const payment = await c.get("services").payments.get(c.get("actor"), c.req.valid("param").paymentId);
  return c.json(payment, 200);
};
