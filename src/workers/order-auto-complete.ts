import type { OrderService } from "../domain/orders/order-service";
import type { Logger } from "../infra/logger";
import { repeat } from "./repeat";

/** Days are the scale here: a minute's lag past the deadline is nothing, and the sweep costs one indexed read. */
export const ORDER_AUTO_COMPLETE_INTERVAL_MS = 60_000;
const BATCH = 100;

/**
 * Completes DELIVERED orders ORDER_AUTO_COMPLETE_DAYS after delivery, like the expiry sweep: every instance
 * runs it, each batch claims its orders with SKIP LOCKED and completes them in the same conditional update.
 */
export function scheduleOrderAutoComplete(
  orders: OrderService,
  logger: Logger,
  intervalMs = ORDER_AUTO_COMPLETE_INTERVAL_MS,
): () => Promise<void> {
  return repeat(
    "order auto-completion sweep",
    async () => {
      const completed = await orders.completeDeliveredDue(BATCH);
      if (completed.length > 0) logger.info({ completed: completed.length }, "delivered orders completed");
      return completed.length >= BATCH;
    },
    intervalMs,
    logger,
  );
}
