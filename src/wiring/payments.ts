import type { BalanceService } from "../domain/balances/balance-service";
import type { StockService } from "../domain/catalogue/stock-service";
import type { CouponRedemption } from "../domain/orders/ports";
import { PaymentReconciliation } from "../domain/payments/payment-reconciliation";
import { PaymentService } from "../domain/payments/payment-service";
import type { PaymentGateway } from "../domain/payments/ports";
import { RefundService } from "../domain/refunds/refund-service";
import type { ReturnService } from "../domain/returns/return-service";
import type { SalesRecorder } from "../domain/sales/sales-recorder";
import { LoggedAlerts } from "../infra/alerts/alerts";
import { HttpGateway } from "../infra/gateway/http-gateway";
import { SimulatedGateway } from "../infra/gateway/simulated-gateway";
import { paymentMetrics } from "../infra/metrics/payments";
import type { Infrastructure } from "./infrastructure";

/** Payments (balance debit + gateway) and refunds, with their gateway and alerts. */
export function wirePayments(
  infra: Infrastructure,
  uses: {
    balances: BalanceService;
    stock: StockService;
    returns: ReturnService;
    coupons: CouponRedemption;
    sales: SalesRecorder;
  },
) {
  const { config, repositories, unitOfWork, outbox, newId, metrics, logger, clock } = infra;
  const alerts = new LoggedAlerts(logger, config.ALERT_WEBHOOK_URL);
  const gateway: PaymentGateway = config.PAYMENT_GATEWAY_URL
    ? new HttpGateway(config.PAYMENT_GATEWAY_URL.replace(/\/$/, ""), config.PAYMENT_GATEWAY_TIMEOUT_MS)
    : new SimulatedGateway(config.PAYMENT_GATEWAY_DECLINE_AMOUNTS);
  const observers = paymentMetrics(metrics.registry);
  const paymentReconciliation = new PaymentReconciliation({
    reader: repositories.paymentReconciliation,
    gateway,
    alerts,
  });
  return {
    paymentReconciliation,
    payments: new PaymentService({
      payments: repositories.payments,
      orders: repositories.orders,
      balances: uses.balances,
      stock: uses.stock,
      gateway,
      unitOfWork,
      newId,
      clock,
      alerts,
      reconciliation: paymentReconciliation,
      timings: {
        gatewayTimeoutMs: config.PAYMENT_GATEWAY_TIMEOUT_MS,
        abandonAfterMs: config.PAYMENT_ABANDON_AFTER_MS,
        recheckSeconds: config.PAYMENT_RECHECK_SECONDS,
      },
      observer: observers.payments,
    }),
    refunds: new RefundService({
      refunds: repositories.refunds,
      orders: repositories.orders,
      balances: uses.balances,
      stock: uses.stock,
      returns: uses.returns,
      coupons: uses.coupons,
      outbox,
      gateway,
      alerts,
      unitOfWork,
      clock,
      newId,
      maxAttempts: config.REFUND_MAX_ATTEMPTS,
      retryBaseDelayMs: config.RETRY_BASE_DELAY_MS,
      leaseSeconds: config.REFUND_LEASE_SECONDS,
      observer: observers.refunds,
      onRefunded: uses.sales.refunded,
    }),
  };
}
