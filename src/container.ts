import type Redis from "ioredis";
import type { Config } from "./infra/config";
import type { DatabaseHandle } from "./infra/db/client";
import { HealthCheck } from "./infra/health";
import type { Logger } from "./infra/logger";
import { wireAccounts } from "./wiring/accounts";
import { buildInfrastructure, type InfrastructureOptions } from "./wiring/infrastructure";
import { wireOutbox } from "./wiring/outbox";

export type ContainerOptions = InfrastructureOptions;

/**
 * The table of contents of the application: infrastructure, then one wiring function per context
 * (src/wiring/<context>.ts), composed into the services the routes and workers use.
 */
export function buildContainer(config: Config, logger: Logger, options: ContainerOptions = {}) {
  const infra = buildInfrastructure(config, logger, options);
  const { database, redis, metrics, cache, locks, counters } = infra;

  const services = {
    ...wireAccounts(infra),
    ...wireOutbox(infra),
    cache,
    locks,
    counters,
    metrics,
    health: new HealthCheck({
      database: () => database.ping(),
      redis: redis ? () => redis.ping() : undefined,
    }),
  };

  return {
    config,
    logger,
    database,
    redis: redis as Redis | undefined,
    services,
    /** Closes what the container opened (not a database handed in through options). */
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
      if (infra.ownsDatabase) await database.close();
    },
  };
}

export type Container = ReturnType<typeof buildContainer>;
export type { DatabaseHandle };
