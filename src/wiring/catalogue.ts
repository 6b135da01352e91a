import { Gauge } from "prom-client";
import { CatalogueService } from "../domain/catalogue/catalogue-service";
import { ListCursors } from "../domain/catalogue/list-cursor";
import { StockService } from "../domain/catalogue/stock-service";
import { CacheAside } from "../domain/shared/cache-aside";
import { StorageBudget } from "../domain/shared/storage-budget";
import { DrizzleProductRepository } from "../infra/db/repositories/product-repository";
import { MemoryNearCache } from "../infra/memory/memory-near-cache";
import type { Metrics } from "../infra/metrics";
import { RedisNearCache } from "../infra/redis/redis-near-cache";
import { cacheObserver } from "./cache-observer";
import type { Infrastructure } from "./infrastructure";

/** Products, their cached reads and the stock movements orders and payments make. */
export function wireCatalogue(infra: Infrastructure) {
  const { config, transactions, unitOfWork, cache, counters, metrics, logger, newId, secret, redis, cacheRedis } =
    infra;
  const products = new DrizzleProductRepository(transactions);
  // Product and model pages: a near copy in each process, dropped everywhere by the channel when they change
  // (docs/request-path.md). Alone (no Redis), the in-process cache is the only copy there is.
  const near = cacheRedis ? new RedisNearCache(cacheRedis, `${config.REDIS_KEY_PREFIX}near-cache`, logger) : undefined;
  if (near) {
    infra.closers.push(() => near.close());
    nearCacheMetrics(metrics, near);
  }
  const catalogue = new CatalogueService({
    products,
    unitOfWork,
    // With Redis, list pages also keep a near copy in process (they may lag by the TTL anyway); details never.
    reads: new CacheAside(cache, cacheObserver(metrics, logger), redis ? new MemoryNearCache() : undefined, near),
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

function nearCacheMetrics(metrics: Metrics, near: RedisNearCache): void {
  new Gauge({
    name: "near_cache_channel_up",
    help: "1 while this process receives the near cache's invalidations (its copies are used), 0 while it reads through",
    registers: [metrics.registry],
    collect() {
      this.set(near.state === "live" ? 1 : 0);
    },
  });
  new Gauge({
    name: "near_cache_entries",
    help: "Product and model pages held in this process's near cache",
    registers: [metrics.registry],
    collect() {
      this.set(near.size);
    },
  });
  new Gauge({
    name: "near_cache_channel_drops",
    help: "Times the invalidation channel was lost since start (each time every near copy was dropped)",
    registers: [metrics.registry],
    collect() {
      this.set(near.drops);
    },
  });
}
