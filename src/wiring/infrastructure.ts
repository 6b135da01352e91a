import type Redis from "ioredis";
import type { Clock } from "../domain/shared/clock";
import type { Cache, Counters, LockManager, VersionedCache } from "../domain/shared/ports";
import type { UnitOfWork } from "../domain/shared/unit-of-work";
import { embeddedJwtSecret } from "../infra/auth/jwt-secret";
import type { Config } from "../infra/config";
import { type DatabaseHandle, openDatabase } from "../infra/db/client";
import { DrizzleOutboxWriter } from "../infra/db/repositories/outbox-repository";
import { Transactions } from "../infra/db/transactions";
import type { Logger } from "../infra/logger";
import { MemoryCache } from "../infra/memory/memory-cache";
import { MemoryCounters } from "../infra/memory/memory-counters";
import { MemoryLocks } from "../infra/memory/memory-locks";
import { groupFailureObserver } from "../infra/metrics/group-failures";
import { Metrics } from "../infra/metrics/registry";
import { RedisCache } from "../infra/redis/redis-cache";
import { createRedis } from "../infra/redis/redis-client";
import { RedisCounters } from "../infra/redis/redis-counters";
import { RedisLocks } from "../infra/redis/redis-locks";
import { systemClock } from "../infra/system-clock";
import { buildRepositories, type Repositories } from "./repositories";

export interface InfrastructureOptions {
  /** Reuse an open database (tests share one per run); otherwise one is opened from config. */
  database?: DatabaseHandle;
  clock?: Clock;
  /** Process-level metrics (GC, memory); off in tests, where many containers share a process. */
  processMetrics?: boolean;
}

/**
 * What every context's wiring builds on: the database and its unit of work, Redis (or the in-process
 * stand-ins of single-instance mode), the outbox writer, metrics, clock and id generator.
 */
export interface Infrastructure {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  /** Whether `database` was opened here (and so is closed with the container). */
  ownsDatabase: boolean;
  redis: Redis | undefined;
  /** The Redis the cache entries live on (REDIS_CACHE_URL, or REDIS_URL): their invalidations travel on it too. */
  cacheRedis: Redis | undefined;
  transactions: Transactions;
  unitOfWork: UnitOfWork;
  /** Every table's repository, each built once. */
  repositories: Repositories;
  outbox: DrizzleOutboxWriter;
  cache: Cache & VersionedCache;
  locks: LockManager;
  counters: Counters;
  metrics: Metrics;
  clock: Clock;
  newId: () => string;
  /** Signs access tokens and keys HMACs: JWT_SECRET, or the embedded database's generated one. */
  secret: string;
  /** What contexts opened for themselves (a connection of their own), closed by the container before the rest. */
  closers: (() => Promise<void>)[];
}

export function buildInfrastructure(
  config: Config,
  logger: Logger,
  options: InfrastructureOptions = {},
): Infrastructure {
  const database =
    options.database ??
    openDatabase({
      url: config.DATABASE_URL,
      poolSize: config.DATABASE_POOL_SIZE,
      dataDir: config.DATA_DIR,
      migrationsDir: config.MIGRATIONS_DIR,
    });
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, logger) : undefined;
  const cacheRedis = config.REDIS_CACHE_URL
    ? createRedis(config.REDIS_CACHE_URL, config.REDIS_KEY_PREFIX, logger)
    : redis;
  const closers: (() => Promise<void>)[] = [];
  if (cacheRedis && cacheRedis !== redis) {
    closers.push(async () => {
      await cacheRedis.quit().catch(() => cacheRedis.disconnect());
    });
  }
  const transactions = new Transactions(database.db, database.sessionIsolation, database.groupConnection);
  const metrics = new Metrics({ processMetrics: options.processMetrics, token: config.METRICS_TOKEN });
  const repositories = buildRepositories(transactions, {
    completionPatienceMs: config.COMPLETION_GROUP_PATIENCE_MS,
    onCompletionGroupFailure: groupFailureObserver(metrics.registry, logger, {
      prefix: "payment_completion_group",
      help: {
        failures: "Groups of payment completions whose statement failed as a whole (each member then sent alone)",
        members: "Payment completions sent again alone because their group's statement failed",
      },
      message: "a group of payment completions failed as a whole; its members go alone",
    }),
    orderGroupSize: config.ORDER_GROUP_SIZE,
    onOrderGroupFailure: groupFailureObserver(metrics.registry, logger, {
      prefix: "order_group",
      help: {
        failures: "Groups of orders whose statement failed as a whole (each member then placed alone)",
        members: "Orders placed alone because their group's statement failed",
      },
      message: "a group of orders failed as a whole; its members are placed alone",
    }),
  });
  const newId = () => Bun.randomUUIDv7();
  return {
    config,
    logger,
    database,
    ownsDatabase: !options.database,
    redis,
    cacheRedis,
    transactions,
    unitOfWork: transactions,
    repositories,
    outbox: new DrizzleOutboxWriter(transactions, newId),
    cache: cacheRedis ? new RedisCache(cacheRedis) : new MemoryCache(),
    locks: redis ? new RedisLocks(redis) : new MemoryLocks(),
    counters: redis ? new RedisCounters(redis) : new MemoryCounters(),
    metrics,
    clock: options.clock ?? systemClock,
    newId,
    secret: config.JWT_SECRET ?? embeddedJwtSecret(config.DATA_DIR),
    closers,
  };
}
