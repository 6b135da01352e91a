import type { CatalogueService } from "../domain/catalogue/catalogue-service";
import type { StockService } from "../domain/catalogue/stock-service";
import { OrderService } from "../domain/orders/order-service";
import type { CouponRedemption } from "../domain/orders/ports";
import type { RefundService } from "../domain/refunds/refund-service";
import type { Infrastructure } from "./infrastructure";

/** Orders: placement (stock and coupon in one transaction), cancellation, expiry, fulfilment steps. */
export function wireOrdering(
  infra: Infrastructure,
  uses: {
    catalogue: CatalogueService;
    stock: StockService;
    coupons: CouponRedemption;
    refunds: Pick<RefundService, "cancelPaid">;
  },
) {
  const { config, repositories, unitOfWork, outbox, newId, clock } = infra;
  return {
    orders: new OrderService({
      orders: repositories.orders,
      catalogue: uses.catalogue,
      stock: uses.stock,
      coupons: uses.coupons,
      refunds: uses.refunds,
      outbox,
      unitOfWork,
      newId,
      paymentTimeoutSeconds: config.ORDER_PAYMENT_TIMEOUT_SECONDS,
      autoCompleteDays: config.ORDER_AUTO_COMPLETE_DAYS,
      clock,
    }),
  };
}
