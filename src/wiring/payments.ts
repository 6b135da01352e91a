import { Counter } from "prom-client";
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
import { DrizzleOrderRepository } from "../infra/db/repositories/order-repository";
import { DrizzleReconciliationReader } from "../infra/db/repositories/payment-reconciliation-reader";
import { DrizzlePaymentRepository } from "../infra/db/repositories/payment-repository";
import { DrizzleRefundRepository } from "../infra/db/repositories/refund-repository";
import { HttpGateway } from "../infra/gateway/http-gateway";
import { SimulatedGateway } from "../infra/gateway/simulated-gateway";
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
  const { config, transactions, unitOfWork, outbox, newId, metrics, logger, clock } = infra;
  const alerts = new LoggedAlerts(logger, config.ALERT_WEBHOOK_URL);
  const gateway: PaymentGateway = config.PAYMENT_GATEWAY_URL
    ? new HttpGateway(config.PAYMENT_GATEWAY_URL.replace(/\/$/, ""), config.PAYMENT_GATEWAY_TIMEOUT_MS)
    : new SimulatedGateway(config.PAYMENT_GATEWAY_DECLINE_AMOUNTS);
  const orders = new DrizzleOrderRepository(transactions);
  const paymentOutcomes = new Counter({
    name: "payments_total",
    help: "Payment requests and settlements by outcome (completed, declined, insufficient_balance, unknown, refused, abandoned)",
    labelNames: ["outcome"] as const,
    registers: [metrics.registry],
  });
  const refundOutcomes = new Counter({
    name: "refunds_total",
    help: "Refund tries by outcome (refunded, failed, manual)",
    labelNames: ["outcome"] as const,
    registers: [metrics.registry],
  });
  const paymentReconciliation = new PaymentReconciliation({
    reader: new DrizzleReconciliationReader(transactions),
    gateway,
    alerts,
  });
  return {
    paymentReconciliation,
    payments: new PaymentService({
      payments: new DrizzlePaymentRepository(transactions),
      orders,
      balances: uses.balances,
      stock: uses.stock,
      outbox,
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
      observer: { outcome: (outcome) => paymentOutcomes.inc({ outcome }) },
      onCompleted: uses.sales.paid,
    }),
    refunds: new RefundService({
      refunds: new DrizzleRefundRepository(transactions),
      orders,
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
      observer: { outcome: (outcome) => refundOutcomes.inc({ outcome }) },
      onRefunded: uses.sales.refunded,
    }),
  };
}
