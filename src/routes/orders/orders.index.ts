import { createRouter } from "../lib/create-router";
import {
  advanceOrderHandler,
  cancelOrderHandler,
  getOrderHandler,
  listOrdersHandler,
  placeOrderHandler,
} from "./orders.handlers";
import { advanceOrder, cancelOrder, getOrder, listOrders, placeOrder } from "./orders.routes";

export const ordersRouter = createRouter()
  .openapi(placeOrder, placeOrderHandler)
  .openapi(listOrders, listOrdersHandler)
  .openapi(getOrder, getOrderHandler)
  .openapi(cancelOrder, cancelOrderHandler)
  .openapi(advanceOrder, advanceOrderHandler);
