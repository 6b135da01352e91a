import type { PaymentService } from "../domain/payments/payment-service";
import type { RefundService } from "../domain/refunds/refund-service";
import type { Logger } from "../infra/logger";
import { repeat } from "./repeat";

/** Payments whose gateway outcome is unknown are asked about again within 30 s (the contract). */
export const PAYMENT_RECOVERY_INTERVAL_MS = 5000;
export const REFUND_RETRY_INTERVAL_MS = 1000;
const BATCH = 50;

/**
 * Settles payments stuck in GATEWAY_REQUESTED (asking the gateway) and fails attempts abandoned before the
 * gateway. Safe on every instance: payments are claimed with SKIP LOCKED, and settling is conditional.
 */
export function schedulePaymentRecovery(
  payments: PaymentService,
  logger: Logger,
  intervalMs = PAYMENT_RECOVERY_INTERVAL_MS,
) {
  return repeat(
    "payment recovery",
    async () => {
      const { settled, abandoned } = await payments.recover(BATCH);
      if (settled + abandoned > 0) logger.info({ settled, abandoned }, "payments recovered");
      return settled + abandoned >= BATCH;
    },
    intervalMs,
    logger,
  );
}

/** Tries failed refunds again once their backoff has run out (and takes over tries whose process died). */
export function scheduleRefundRetries(refunds: RefundService, logger: Logger, intervalMs = REFUND_RETRY_INTERVAL_MS) {
  return repeat("refund retries", async () => (await refunds.retryDue(BATCH)) >= BATCH, intervalMs, logger);
}
