import { Counter, Gauge, Histogram } from "prom-client";
import type { CatalogueService } from "../domain/catalogue/catalogue-service";
import { POPULAR_CACHE_STATES } from "../domain/sales/popular-cache-state";
import { PopularProducts } from "../domain/sales/popular-products";
import { SalesRecorder } from "../domain/sales/sales-recorder";
import { SalesStats } from "../domain/sales/sales-stats";
import { DrizzleSalesRepository } from "../infra/db/repositories/sales-repository";
import { MemoryNearCache } from "../infra/memory/memory-near-cache";
import { cacheObserver } from "./cache-observer";
import type { Infrastructure } from "./infrastructure";

/** The daily sales rollup (fed by payments and refunds), popular products and sales statistics. */
export function wireSales(infra: Infrastructure, uses: { catalogue: Pick<CatalogueService, "productsByIds"> }) {
  const { config, transactions, unitOfWork, cache, locks, clock, metrics, logger, redis } = infra;
  const sales = new DrizzleSalesRepository(transactions);
  const registers = [metrics.registry];
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
  const popularProducts = new PopularProducts({
    sales,
    catalogue: uses.catalogue,
    cache,
    locks,
    near: redis ? new MemoryNearCache() : undefined,
    clock,
    ttlSeconds: config.POPULAR_CACHE_TTL_SECONDS,
    reads: cacheObserver(metrics, logger),
    observer: {
      moved: (window, from, to) => {
        transitions.inc({ from, to });
        logger.info({ window, from, to }, "popular products cache moved");
      },
      aggregated: (trigger, seconds) => aggregations.observe({ trigger }, seconds),
    },
  });
  new Gauge({
    name: "popular_cache_windows",
    help: "Popular-products windows (days, limit) by the cache state this instance last saw them in",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const states = popularProducts.states();
      for (const state of POPULAR_CACHE_STATES) this.set({ state }, states[state]);
    },
  });
  const rollupFailures = new Counter({
    name: "sales_rollup_failures_total",
    help: "Payments and refunds that committed without their daily sales rows (statistics drift; see bun run invariants)",
    labelNames: ["kind"] as const,
    registers,
  });
  const recorderObserver = {
    failed: (kind: "payment" | "refund", orderId: string, err: unknown) => {
      rollupFailures.inc({ kind });
      logger.error({ err, kind, orderId }, "daily sales not recorded; the money moved, statistics drift");
    },
  };
  return {
    salesRecorder: new SalesRecorder({ sales, unitOfWork, observer: recorderObserver }),
    popularProducts,
    salesStats: new SalesStats({ sales, clock }),
  };
}
