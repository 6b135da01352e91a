import type { CatalogueService } from "../domain/catalogue/catalogue-service";
import { PopularProducts } from "../domain/sales/popular-products";
import { SalesRecorder } from "../domain/sales/sales-recorder";
import { SalesStats } from "../domain/sales/sales-stats";
import { MemoryNearCache } from "../infra/memory/memory-near-cache";
import { cacheObserver } from "../infra/metrics/cache";
import { salesMetrics } from "../infra/metrics/sales";
import type { Infrastructure } from "./infrastructure";

/** The daily sales rollup (fed by payments and refunds), popular products and sales statistics. */
export function wireSales(infra: Infrastructure, uses: { catalogue: Pick<CatalogueService, "productsByIds"> }) {
  const { config, repositories, unitOfWork, cache, locks, clock, metrics, logger, redis } = infra;
  const { sales } = repositories;
  const observers = salesMetrics(metrics.registry, logger, () => popularProducts.states());
  const popularProducts = new PopularProducts({
    sales,
    catalogue: uses.catalogue,
    cache,
    locks,
    near: redis ? new MemoryNearCache() : undefined,
    clock,
    ttlSeconds: config.POPULAR_CACHE_TTL_SECONDS,
    reads: cacheObserver(metrics, logger),
    observer: observers.popular,
  });
  return {
    salesRecorder: new SalesRecorder({ sales, unitOfWork, observer: observers.recorder }),
    popularProducts,
    salesStats: new SalesStats({ sales, clock }),
  };
}
