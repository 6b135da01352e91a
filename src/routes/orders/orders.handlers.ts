import type { AppRouteHandler } from "../lib/app-env";
import type { advanceOrder, cancelOrder, getOrder, listOrders, placeOrder } from "./orders.routes";

export const placeOrderHandler: AppRouteHandler<typeof placeOrder> = async (c) => {
  const order = await c.var.services.orders.place(c.var.actor, c.req.valid("json"));
  return c.json(order, 201);
};

export const getOrderHandler: AppRouteHandler<typeof getOrder> = async (c) => {
  const order = await c.var.services.orders.get(c.var.actor, c.req.valid("param").orderId);
  return c.json(order, 200);
};

export const listOrdersHandler: AppRouteHandler<typeof listOrders> = async (c) => {
  const { page, size, ...filter } = c.req.valid("query");
  return c.json(await c.var.services.orders.list(c.var.actor, filter, { page, size }), 200);
};

export const cancelOrderHandler: AppRouteHandler<typeof cancelOrder> = async (c) => {
  const { order, settled } = await c.var.services.orders.cancel(c.var.actor, c.req.valid("param").orderId);
  return settled ? c.json(order, 200) : c.json(order, 202);
};

export const advanceOrderHandler: AppRouteHandler<typeof advanceOrder> = async (c) => {
  const { orderId } = c.req.valid("param");
  const order = await c.var.services.orders.advance(c.var.actor, orderId, c.req.valid("json").status);
  return c.json(order, 200);
};
