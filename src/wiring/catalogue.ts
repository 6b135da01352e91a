import { CatalogueService } from "../domain/catalogue/catalogue-service";
import { ListCursors } from "../domain/catalogue/list-cursor";
import { StockService } from "../domain/catalogue/stock-service";
import { CacheAside } from "../domain/shared/cache-aside";
import { StorageBudget } from "../domain/shared/storage-budget";
import { MemoryNearCache } from "../infra/memory/memory-near-cache";
import { cacheObserver } from "../infra/metrics/cache";
import { nearCacheMetrics } from "../infra/metrics/catalogue";
import { RedisNearCache } from "../infra/redis/redis-near-cache";
import type { Infrastructure } from "./infrastructure";

/** Products, their cached reads and the stock movements orders and payments make. */
export function wireCatalogue(infra: Infrastructure) {
  const {
    config,
    repositories,
    unitOfWork,
    cache,
    counters,
    metrics,
    logger,
    newId,
    secret,
    redis,
    cacheRedis,
    clock,
  } = infra;
  const { products } = repositories;
  // Product and model pages: a near copy in each process, dropped everywhere by the channel when they change
  // (docs/request-path.md). Alone (no Redis), the in-process cache is the only copy there is.
  const near = cacheRedis ? new RedisNearCache(cacheRedis, `${config.REDIS_KEY_PREFIX}near-cache`, logger) : undefined;
  if (near) {
    infra.closers.push(() => near.close());
    nearCacheMetrics(metrics.registry, near);
  }
  const catalogue = new CatalogueService({
    products,
    unitOfWork,
    // With Redis, list pages also keep a near copy in process (they may lag by the TTL anyway); details never.
    reads: new CacheAside(
      cache,
      cacheObserver(metrics, logger),
      clock,
      redis ? new MemoryNearCache() : undefined,
      near,
    ),
    cursors: new ListCursors(secret),
    ttlSeconds: config.PRODUCT_CACHE_TTL_SECONDS,
    listBudget: new StorageBudget(
      counters,
      "budget:product-list",
      config.PRODUCT_LIST_CACHE_BUDGET_BYTES,
      config.PRODUCT_CACHE_TTL_SECONDS,
    ),
    newId,
  });
  return { catalogue, stock: new StockService({ products, unitOfWork, catalogue }), nearCache: near };
}
