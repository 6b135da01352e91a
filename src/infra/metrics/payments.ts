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

/**
 * Groups of payment completions whose one statement failed as a whole (docs/checkout-performance.md, "Payment
 * completions in groups"): their members were sent again alone, so no caller sees it; a rising count is a member
 * that cannot complete, deadlocks or a sick database.
 */
export function completionGroupMetrics(registry: Registry): { groupFailed: (size: number) => void } {
  const failures = new Counter({
    name: "payment_completion_group_failures_total",
    help: "Groups of payment completions whose statement failed as a whole (each member then sent alone)",
    registers: [registry],
  });
  const members = new Counter({
    name: "payment_completion_group_failed_members_total",
    help: "Payment completions sent again alone because their group's statement failed",
    registers: [registry],
  });
  return {
    groupFailed: (size) => {
      failures.inc();
      members.inc(size);
    },
  };
}

/**
 * Groups of orders whose one statement failed as a whole (docs/checkout-performance.md, "Grouped orders"): their
 * members were placed alone, so no caller sees it; a rising count is a member that cannot be placed (a buyer that
 * does not exist), a deadlock, or the group's connections refused (max_connections met: docs/operations.md).
 */
export function orderGroupMetrics(registry: Registry): { groupFailed: (size: number) => void } {
  const failures = new Counter({
    name: "order_group_failures_total",
    help: "Groups of orders whose statement failed as a whole (each member then placed alone)",
    registers: [registry],
  });
  const members = new Counter({
    name: "order_group_failed_members_total",
    help: "Orders placed alone because their group's statement failed",
    registers: [registry],
  });
  return {
    groupFailed: (size) => {
      failures.inc();
      members.inc(size);
    },
  };
}
