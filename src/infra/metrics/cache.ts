import { Counter } from "prom-client";
import type { CacheObserver } from "../../domain/shared/cache-aside";
import type { Logger } from "../logger";
import type { Metrics } from "./registry";

const WARNING_INTERVAL_MS = 10_000;

const observers = new WeakMap<Metrics, CacheObserver>();

/**
 * Cache-aside outcomes as Prometheus counters by cache name (hit ratio = hits / (hits + misses)), and a
 * warning, at most every 10 s, while the cache cannot be reached. One per registry, shared by every cache.
 */
export function cacheObserver(metrics: Metrics, logger: Logger): CacheObserver {
  let observer = observers.get(metrics);
  if (!observer) {
    observer = newCacheObserver(metrics, logger);
    observers.set(metrics, observer);
  }
  return observer;
}

function newCacheObserver(metrics: Metrics, logger: Logger): CacheObserver {
  const requests = new Counter({
    name: "cache_requests_total",
    help: "Cache-aside reads by cache and result (hit or miss)",
    labelNames: ["cache", "result"] as const,
    registers: [metrics.registry],
  });
  const loads = new Counter({
    name: "cache_loads_total",
    help: "Loads from the database after a miss, by cache",
    labelNames: ["cache"] as const,
    registers: [metrics.registry],
  });
  const coalesced = new Counter({
    name: "cache_coalesced_misses_total",
    help: "Misses that waited for a load of the same key already running instead of loading again (single flight)",
    labelNames: ["cache"] as const,
    registers: [metrics.registry],
  });
  const errors = new Counter({
    name: "cache_errors_total",
    help: "Cache operations that failed (cache unreachable); the read went to the database",
    labelNames: ["cache"] as const,
    registers: [metrics.registry],
  });
  const nearHits = new Counter({
    name: "cache_near_hits_total",
    help: "Hits answered by this process's near copy without asking Redis, by cache (also counted as hits)",
    labelNames: ["cache"] as const,
    registers: [metrics.registry],
  });
  let lastWarning = 0;
  return {
    nearHit: (cache) => nearHits.inc({ cache }),
    hit: (cache) => requests.inc({ cache, result: "hit" }),
    miss: (cache) => requests.inc({ cache, result: "miss" }),
    coalesced: (cache) => coalesced.inc({ cache }),
    load: (cache) => loads.inc({ cache }),
    unavailable: (cache, error) => {
      errors.inc({ cache });
      if (Date.now() - lastWarning < WARNING_INTERVAL_MS) return;
      lastWarning = Date.now();
      logger.warn({ err: error, cache }, "cache unavailable; reading from the database");
    },
  };
}
