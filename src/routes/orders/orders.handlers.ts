import type { StoredResponse } from "../../domain/idempotency/ports";
import type { AppRouteHandler } from "../lib/app-env";
import type { advanceOrder, cancelOrder, getOrder, listOrders, placeOrder } from "./orders.routes";

/**
 * What placeOrderHandler answers for a placed order (201, the order as JSON), worked out before the order is
 * written: its Idempotency-Key's answer is stored by the order's own statement (idempotentInWorkStatements), and
 * runKeyed checks the handler answered exactly this.
 */
export const placedAnswer = (order: unknown): StoredResponse => ({
  status: 201,
  body: JSON.stringify(order),
  headers: { "content-type": "application/json" },
});

export const placeOrderHandler: AppRouteHandler<typeof placeOrder> = async (c) => {
  const order = await c.get("services").orders.place(c.get("actor"), c.req.valid("json"));
  return c.json(order, 201);
};

export const getOrderHandler: AppRouteHandler<typeof getOrder> = async (c) => {
  const order = await c.get("services").orders.get(c.get("actor"), c.req.valid("param").orderId);
  return c.json(order, 200);
};

export const listOrdersHandler: AppRouteHandler<typeof listOrders> = async (c) => {
  const { page, size, ...filter } = c.req.valid("query");
  return c.json(await c.get("services").orders.list(c.get("actor"), filter, { page, size }), 200);
};

export const cancelOrderHandler: AppRouteHandler<typeof cancelOrder> = async (c) => {
  const { order, settled } = await c.get("services").orders.cancel(c.get("actor"), c.req.valid("param").orderId);
  return settled ? c.json(order, 200) : c.json(order, 202);
};

export const advanceOrderHandler: AppRouteHandler<typeof advanceOrder> = async (c) => {
  const { orderId } = c.req.valid("param");
  const order = await c.get("services").orders.advance(c.get("actor"), orderId, c.req.valid("json").status);
  return c.json(order, 200);
};
