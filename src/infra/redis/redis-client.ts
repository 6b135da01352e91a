import Redis, { type RedisOptions } from "ioredis";
import type { Logger } from "../logger";

const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Every key gets REDIS_KEY_PREFIX, so deployments and test runs can share one Redis.
 * Connection errors are logged (at most every 10 s while Redis stays down); ioredis keeps reconnecting.
 * Auto-pipelining sends the commands of concurrent requests in one write: cache reads are most of what a
 * busy catalogue asks of Redis. `options` tunes a connection for one use (the coupon claims run on one that
 * never queues nor resends).
 */
export function createRedis(url: string, keyPrefix: string, logger?: Logger, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { keyPrefix, maxRetriesPerRequest: 2, enableAutoPipelining: true, ...options });
  let lastLogged = 0;
  redis.on("error", (err) => {
    if (Date.now() - lastLogged < ERROR_LOG_INTERVAL_MS) return;
    lastLogged = Date.now();
    logger?.warn({ err }, "redis connection error");
  });
  return redis;
}
