import type Redis from "ioredis";
import { BalanceService, jitteredBackoff } from "./domain/balances/balance-service";
import { IdempotencyService } from "./domain/idempotency/idempotency-service";
import { type Clock, systemClock } from "./domain/shared/clock";
import type { Cache, Counters, LockManager } from "./domain/shared/ports";
import { UserService } from "./domain/users/user-service";
import { JwtAccessTokens } from "./infra/auth/access-tokens";
import { embeddedJwtSecret } from "./infra/auth/jwt-secret";
import { argon2Passwords } from "./infra/auth/passwords";
import type { Config } from "./infra/config";
import { type DatabaseHandle, openDatabase } from "./infra/db/client";
import { DrizzleBalanceRepository } from "./infra/db/repositories/balance-repository";
import { DrizzleIdempotencyRepository } from "./infra/db/repositories/idempotency-repository";
import { DrizzleUserRepository } from "./infra/db/repositories/user-repository";
import { Transactions } from "./infra/db/transactions";
import { HealthCheck } from "./infra/health";
import type { Logger } from "./infra/logger";
import { MemoryCache } from "./infra/memory/memory-cache";
import { MemoryCounters } from "./infra/memory/memory-counters";
import { MemoryLocks } from "./infra/memory/memory-locks";
import { Metrics } from "./infra/metrics";
import { RedisCache } from "./infra/redis/redis-cache";
import { createRedis } from "./infra/redis/redis-client";
import { RedisCounters } from "./infra/redis/redis-counters";
import { RedisLocks } from "./infra/redis/redis-locks";

export interface ContainerOptions {
  /** Reuse an open database (tests share one per run); otherwise one is opened from config. */
  database?: DatabaseHandle;
  clock?: Clock;
  /** Process-level metrics (GC, memory); off in tests, where many containers share a process. */
  processMetrics?: boolean;
}

export interface Container {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  redis: Redis | undefined;
  services: {
    users: UserService;
    balances: BalanceService;
    idempotency: IdempotencyService;
    tokens: JwtAccessTokens;
    cache: Cache;
    locks: LockManager;
    counters: Counters;
    health: HealthCheck;
    metrics: Metrics;
  };
  /** Closes what the container opened (not a database handed in through options). */
  close(): Promise<void>;
}

export function buildContainer(config: Config, logger: Logger, options: ContainerOptions = {}): Container {
  const database =
    options.database ??
    openDatabase({
      url: config.DATABASE_URL,
      poolSize: config.DATABASE_POOL_SIZE,
      dataDir: config.DATA_DIR,
      migrationsDir: config.MIGRATIONS_DIR,
    });
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, logger) : undefined;
  const clock = options.clock ?? systemClock;
  const metrics = new Metrics({ processMetrics: options.processMetrics });
  const transactions = new Transactions(database.db);
  const users = new DrizzleUserRepository(transactions);
  const balances = new DrizzleBalanceRepository(transactions);
  const newId = () => Bun.randomUUIDv7();
  const unitOfWork = transactions;
  const secret = config.JWT_SECRET ?? embeddedJwtSecret(config.DATA_DIR);
  const tokens = new JwtAccessTokens(secret, config.JWT_EXPIRES_IN_SECONDS);
  // A plain hash of an email can be reversed with a list of addresses; an HMAC with our secret cannot.
  const pseudonymise = (email: string) =>
    new Bun.CryptoHasher("sha256", `login-throttle:${secret}`).update(email).digest("hex");

  const counters = redis ? new RedisCounters(redis) : new MemoryCounters();

  const services: Container["services"] = {
    tokens,
    users: new UserService({
      users,
      balances,
      unitOfWork,
      passwords: argon2Passwords,
      tokens,
      counters,
      pseudonymise,
      newId,
    }),
    balances: new BalanceService({
      balances,
      newId,
      backoff: (attempt) => {
        metrics.balanceRetries.inc();
        return jitteredBackoff(attempt);
      },
    }),
    idempotency: new IdempotencyService(new DrizzleIdempotencyRepository(transactions), unitOfWork, clock),
    cache: redis ? new RedisCache(redis) : new MemoryCache(),
    locks: redis ? new RedisLocks(redis) : new MemoryLocks(),
    counters,
    health: new HealthCheck({
      database: () => database.ping(),
      redis: redis ? () => redis.ping() : undefined,
    }),
    metrics,
  };

  return {
    config,
    logger,
    database,
    redis,
    services,
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
      if (!options.database) await database.close();
    },
  };
}
