import type { AppRouteHandler } from "../lib/app-env";
import type { getRefund, requestRefund } from "./refunds.routes";

export const requestRefundHandler: AppRouteHandler<typeof requestRefund> = async (c) => {
  const { refund, provisional } = await c
    .get("services")
    .refunds.request(c.get("actor"), c.req.valid("json"), c.req.valid("header")["idempotency-key"]);
  if (provisional) c.set("provisionalAnswer", true);
  return c.json(refund, 201);
};

export const getRefundHandler: AppRouteHandler<typeof getRefund> = async (c) => {
  const refund = await c.get("services").refunds.get(c.get("actor"), c.req.valid("param").refundId);
  return c.json(refund, 200);
};
