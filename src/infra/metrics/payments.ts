import { Counter, type Registry } from "prom-client";
import type { PaymentObserver } from "../../domain/payments/payment-service";
import type { RefundObserver } from "../../domain/refunds/refund-service";

/** Payments and refunds on /metrics: every request and settlement by how it ended. */
export function paymentMetrics(registry: Registry): { payments: PaymentObserver; refunds: RefundObserver } {
  const payments = new Counter({
    name: "payments_total",
    help: "Payment requests and settlements by outcome (completed, declined, insufficient_balance, unknown, refused, abandoned)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const refunds = new Counter({
    name: "refunds_total",
    help: "Refund tries by outcome (refunded, failed, manual)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  return {
    payments: { outcome: (outcome) => payments.inc({ outcome }) },
    refunds: { outcome: (outcome) => refunds.inc({ outcome }) },
  };
}
