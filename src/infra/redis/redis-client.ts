import Redis from "ioredis";

/** Every key gets REDIS_KEY_PREFIX, so deployments and test runs can share one Redis. */
export function createRedis(url: string, keyPrefix: string): Redis {
  return new Redis(url, { keyPrefix, maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
}
