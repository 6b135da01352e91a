import type { CacheObserver } from "../../domain/shared/cache-aside";
import type { Logger } from "../logger";
import { type CounterCell, HandCountedCounter } from "./counted-by-hand";
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
  const { registry } = metrics;
  // Counted by hand: a hit is counted on every cached read (a near hit twice), prom-client's inc cost more.
  const requests = new HandCountedCounter(
    registry,
    "cache_requests_total",
    "Cache-aside reads by cache and result (hit or miss)",
    ["cache", "result"],
  );
  const loads = new HandCountedCounter(
    registry,
    "cache_loads_total",
    "Loads from the database after a miss, by cache",
    ["cache"],
  );
  const coalesced = new HandCountedCounter(
    registry,
    "cache_coalesced_misses_total",
    "Misses that waited for a load of the same key already running instead of loading again (single flight)",
    ["cache"],
  );
  const errors = new HandCountedCounter(
    registry,
    "cache_errors_total",
    "Cache operations that failed (cache unreachable); the read went to the database",
    ["cache"],
  );
  const nearHits = new HandCountedCounter(
    registry,
    "cache_near_hits_total",
    "Hits answered by this process's near copy without asking Redis, by cache (also counted as hits)",
    ["cache"],
  );
  // The cells of each cache's hits, looked up by the cache's name (a handful of names).
  const hitCells = new Map<string, CounterCell>();
  const nearHitCells = new Map<string, CounterCell>();
  const cellOf = (cells: Map<string, CounterCell>, counter: HandCountedCounter<string>, ...labels: string[]) => {
    let cell = cells.get(labels[0] as string);
    if (cell === undefined) {
      cell = counter.cell(...labels);
      cells.set(labels[0] as string, cell);
    }
    return cell;
  };
  let lastWarning = 0;
  return {
    nearHit: (cache) => {
      cellOf(nearHitCells, nearHits, cache).value++;
    },
    hit: (cache) => {
      cellOf(hitCells, requests, cache, "hit").value++;
    },
    miss: (cache) => {
      requests.cell(cache, "miss").value++;
    },
    coalesced: (cache) => {
      coalesced.cell(cache).value++;
    },
    load: (cache) => {
      loads.cell(cache).value++;
    },
    unavailable: (cache, error) => {
      errors.cell(cache).value++;
      if (Date.now() - lastWarning < WARNING_INTERVAL_MS) return;
      lastWarning = Date.now();
      logger.warn({ err: error, cache }, "cache unavailable; reading from the database");
    },
  };
}
