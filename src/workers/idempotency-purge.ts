import type { IdempotencyService } from "../domain/idempotency/idempotency-service";
import type { Logger } from "../infra/logger";

export const IDEMPOTENCY_PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Deletes idempotency keys past their 24 h, hourly. Every instance may run it: concurrent deletes of
 * the same expired rows are harmless. Returns a function that stops the schedule.
 */
export function scheduleIdempotencyPurge(
  idempotency: IdempotencyService,
  logger: Logger,
  intervalMs = IDEMPOTENCY_PURGE_INTERVAL_MS,
): () => void {
  const purge = async () => {
    try {
      const purged = await idempotency.purgeExpired();
      if (purged > 0) logger.info({ purged }, "expired idempotency keys purged");
    } catch (err) {
      logger.error({ err }, "idempotency key purge failed");
    }
  };
  const timer = setInterval(purge, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
