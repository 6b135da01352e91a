import type { OrderService } from "../domain/orders/order-service";
import type { Logger } from "../infra/logger";
import { repeat } from "./repeat";

/** Often enough that an unpaid order is cancelled well within 10 s of its deadline. */
export const ORDER_EXPIRY_INTERVAL_MS = 1000;
const BATCH = 100;

/**
 * Cancels unpaid orders past their deadline, every second (a full batch runs again at once). Every
 * instance may run it: each batch claims its orders with SKIP LOCKED, and the cancel itself is
 * conditional, so no order is cancelled twice.
 */
export function scheduleOrderExpiry(
  orders: OrderService,
  logger: Logger,
  intervalMs = ORDER_EXPIRY_INTERVAL_MS,
): () => Promise<void> {
  return repeat(
    "order expiry sweep",
    async () => {
      const run = await orders.expireDue(BATCH);
      for (const { orderId, error } of run.failures) logger.error({ err: error, orderId }, "expiring an order failed");
      if (run.expired > 0) logger.info({ expired: run.expired }, "unpaid orders expired");
      return run.expired >= BATCH;
    },
    intervalMs,
    logger,
  );
}
