import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { POPULAR_CACHE_STATES, type PopularCacheState } from "../../domain/sales/popular-cache-state";
import type { PopularObserver } from "../../domain/sales/popular-products";
import type { SalesRecorderObserver } from "../../domain/sales/sales-recorder";
import type { Logger } from "../logger";

/**
 * Popular products and the daily sales rollup on /metrics and in the log. `states` reads, at scrape time, the cache
 * state this instance last saw each window in.
 */
export function salesMetrics(
  registry: Registry,
  logger: Logger,
  states: () => Record<PopularCacheState, number>,
): { popular: PopularObserver; recorder: SalesRecorderObserver } {
  const registers = [registry];
  const transitions = new Counter({
    name: "popular_cache_transitions_total",
    help: "Moves of the popular-products cache cycle (IDLE → AGGREGATING → CACHE_UPDATED → EXPIRED), by state entered",
    labelNames: ["from", "to"] as const,
    registers,
  });
  const aggregations = new Histogram({
    name: "popular_aggregation_seconds",
    help: "Popular-products aggregations by trigger (read: a cold or expired read; refresh: the worker ahead of expiry; unlocked: no lock could be had)",
    labelNames: ["trigger"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  new Gauge({
    name: "popular_cache_windows",
    help: "Popular-products windows (days, limit) by the cache state this instance last saw them in",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const seen = states();
      for (const state of POPULAR_CACHE_STATES) this.set({ state }, seen[state]);
    },
  });
  const rollupFailures = new Counter({
    name: "sales_rollup_failures_total",
    help: "Refunds that committed without their daily sales rows (statistics drift; see bun run invariants)",
    labelNames: ["kind"] as const,
    registers,
  });
  return {
    popular: {
      moved: (window, from, to) => {
        transitions.inc({ from, to });
        logger.info({ window, from, to }, "popular products cache moved");
      },
      aggregated: (trigger, seconds) => aggregations.observe({ trigger }, seconds),
    },
    recorder: {
      failed: (kind, orderId, err) => {
        rollupFailures.inc({ kind });
        logger.error({ err, kind, orderId }, "daily sales not recorded; the money moved, statistics drift");
      },
    },
  };
}
