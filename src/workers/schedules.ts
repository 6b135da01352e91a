import type { Container } from "../container";
import { scheduleCouponReconciliation } from "./coupon-reconciliation";
import { scheduleIdempotencyPurge } from "./idempotency-purge";
import { scheduleOrderAutoComplete } from "./order-auto-complete";
import { scheduleOrderExpiry } from "./order-expiry";
import { schedulePaymentRecovery, scheduleRefundRetries } from "./payment-recovery";
import { schedulePopularRefresh } from "./popular-refresh";

/**
 * The background jobs every instance runs beside the HTTP server (each is safe with several instances:
 * they claim their rows with SKIP LOCKED or do work that is harmless twice). Returns one stop for all,
 * which lets a run in progress finish.
 */
export function startSchedules({ services, logger, config }: Container): () => Promise<void> {
  const stops = [
    scheduleIdempotencyPurge(services.idempotency, logger),
    scheduleOrderExpiry(services.orders, logger),
    scheduleOrderAutoComplete(services.orders, logger),
    schedulePaymentRecovery(services.payments, logger),
    scheduleRefundRetries(services.refunds, logger),
    schedulePopularRefresh(services.popularProducts, config.POPULAR_CACHE_TTL_SECONDS, logger),
    scheduleCouponReconciliation({
      reconciliation: services.couponReconciliation,
      locks: services.locks,
      logger,
      intervalMs: config.COUPON_RECONCILE_INTERVAL_SECONDS * 1000,
    }),
  ];
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
