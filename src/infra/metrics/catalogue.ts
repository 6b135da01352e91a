import { Gauge, type Registry } from "prom-client";
import type { RedisNearCache } from "../redis/redis-near-cache";

/** The product and model pages' near cache on /metrics: whether its channel is up, what it holds, how often it was lost. */
export function nearCacheMetrics(registry: Registry, near: RedisNearCache): void {
  new Gauge({
    name: "near_cache_channel_up",
    help: "1 while this process receives the near cache's invalidations (its copies are used), 0 while it reads through",
    registers: [registry],
    collect() {
      this.set(near.state === "live" ? 1 : 0);
    },
  });
  new Gauge({
    name: "near_cache_entries",
    help: "Product and model pages held in this process's near cache",
    registers: [registry],
    collect() {
      this.set(near.size);
    },
  });
  new Gauge({
    name: "near_cache_channel_drops",
    help: "Times the invalidation channel was lost since start (each time every near copy was dropped)",
    registers: [registry],
    collect() {
      this.set(near.drops);
    },
  });
}
