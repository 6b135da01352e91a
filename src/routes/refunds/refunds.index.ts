import { createRouter } from "../lib/create-router";
import { getRefundHandler, requestRefundHandler } from "./refunds.handlers";
import { getRefund, requestRefund } from "./refunds.routes";

export const refundsRouter = createRouter()
  .openapi(requestRefund, requestRefundHandler)
  .openapi(getRefund, getRefundHandler);
