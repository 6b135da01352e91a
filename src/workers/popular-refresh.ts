import type { PopularProducts } from "../domain/sales/popular-products";
import type { Logger } from "../infra/logger";
import { repeat } from "./repeat";

/**
 * Re-aggregates the popular-products windows being read before their entries expire, so readers rarely
 * meet a cold miss. Every instance runs it; the aggregation lock lets one of them do each window.
 * Checks ten times per TTL (at most every 30 s, at least every second).
 */
export function schedulePopularRefresh(popular: PopularProducts, ttlSeconds: number, logger: Logger) {
  const intervalMs = Math.min(30_000, Math.max(1000, (ttlSeconds * 1000) / 10));
  return repeat(
    "popular products refresh",
    async () => {
      await popular.refreshAhead();
      return false;
    },
    intervalMs,
    logger,
  );
}
