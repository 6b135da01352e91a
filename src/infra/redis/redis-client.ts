import Redis from "ioredis";
import type { Logger } from "../logger";

const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Every key gets REDIS_KEY_PREFIX, so deployments and test runs can share one Redis.
 * Connection errors are logged (at most every 10 s while Redis stays down); ioredis keeps reconnecting.
 * Auto-pipelining sends the commands of concurrent requests in one write: cache reads are most of what a
 * busy catalogue asks of Redis.
 */
export function createRedis(url: string, keyPrefix: string, logger?: Logger): Redis {
  const redis = new Redis(url, { keyPrefix, maxRetriesPerRequest: 2, enableAutoPipelining: true });
  let lastLogged = 0;
  redis.on("error", (err) => {
    if (Date.now() - lastLogged < ERROR_LOG_INTERVAL_MS) return;
    lastLogged = Date.now();
    logger?.warn({ err }, "redis connection error");
  });
  return redis;
}
