import type { OrderService } from "../domain/orders/order-service";
import type { Logger } from "../infra/logger";

/** Often enough that an unpaid order is cancelled well within 10 s of its deadline. */
export const ORDER_EXPIRY_INTERVAL_MS = 1000;
const BATCH = 100;

/**
 * Cancels unpaid orders past their deadline, every second (a full batch runs again at once). Every
 * instance may run it: each batch claims its orders with SKIP LOCKED, and the cancel itself is
 * conditional, so no order is cancelled twice. Returns a function that stops it after the current run.
 */
export function scheduleOrderExpiry(
  orders: OrderService,
  logger: Logger,
  intervalMs = ORDER_EXPIRY_INTERVAL_MS,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweep = async () => {
    for (let full = true; full && !stopped; ) {
      const run = await orders.expireDue(BATCH);
      for (const { orderId, error } of run.failures) logger.error({ err: error, orderId }, "expiring an order failed");
      if (run.expired > 0) logger.info({ expired: run.expired }, "unpaid orders expired");
      full = run.expired >= BATCH;
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = sweep()
      .catch((err) => logger.error({ err }, "order expiry sweep failed"))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
