import { createRouter } from "../lib/create-router";
import { confirmPaymentHandler, getPaymentHandler, processPaymentHandler } from "./payments.handlers";
import { confirmPayment, getPayment, processPayment } from "./payments.routes";

export const paymentsRouter = createRouter()
  .openapi(processPayment, processPaymentHandler)
  .openapi(confirmPayment, confirmPaymentHandler)
  .openapi(getPayment, getPaymentHandler);
