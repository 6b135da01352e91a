import type Redis from "ioredis";
import type { Config } from "./infra/config";
import type { DatabaseHandle } from "./infra/db/client";
import { EventLoopLagMonitor } from "./infra/event-loop-lag";
import { HealthCheck } from "./infra/health";
import type { Logger } from "./infra/logger";
import { wireAccounts } from "./wiring/accounts";
import { wireCatalogue } from "./wiring/catalogue";
import { wireCoupons } from "./wiring/coupons";
import { buildInfrastructure, type InfrastructureOptions } from "./wiring/infrastructure";
import { wireOrdering } from "./wiring/ordering";
import { wireOutbox } from "./wiring/outbox";
import { wirePayments } from "./wiring/payments";
import { wireReturns } from "./wiring/returns";
import { wireSales } from "./wiring/sales";
import type { Services } from "./wiring/services";

export type ContainerOptions = InfrastructureOptions;

/**
 * The table of contents of the application: infrastructure, then one wiring function per context
 * (src/wiring/<context>.ts), composed into the services the routes and workers use.
 */
export function buildContainer(config: Config, logger: Logger, options: ContainerOptions = {}) {
  const infra = buildInfrastructure(config, logger, options);
  const { database, redis, metrics, cache, locks, counters } = infra;

  const eventLoop = new EventLoopLagMonitor().start();
  infra.closers.push(async () => eventLoop.stop());

  const accounts = wireAccounts(infra);
  const catalogue = wireCatalogue(infra);
  const coupons = wireCoupons(infra);
  const sales = wireSales(infra, catalogue);
  const returns = wireReturns(infra, catalogue);
  const payments = wirePayments(infra, {
    ...accounts,
    ...catalogue,
    ...returns,
    coupons: coupons.couponRedemption,
    sales: sales.salesRecorder,
  });
  const services: Services = {
    ...accounts,
    ...catalogue,
    ...coupons,
    ...sales,
    ...payments,
    ...returns,
    ...wireOrdering(infra, { ...catalogue, coupons: coupons.couponRedemption, refunds: payments.refunds }),
    ...wireOutbox(infra),
    cache,
    locks,
    counters,
    metrics,
    /** How public reads may be kept by browsers and CDNs (src/routes/lib/public-read.ts). */
    publicReads: { cacheControl: `public, max-age=${config.PUBLIC_CACHE_MAX_AGE_SECONDS}` },
    health: new HealthCheck(
      {
        database: () => database.ping(),
        redis: redis ? () => redis.ping() : undefined,
      },
      { monitor: eventLoop, limitMs: config.EVENT_LOOP_LAG_LIMIT_MS },
    ),
  };

  return {
    config,
    logger,
    database,
    redis: redis as Redis | undefined,
    services,
    /** Orders placed in groups (order-repository.ts): its counters, for tests and the bench. */
    orderGroup: infra.repositories.orders.group,
    /** Event-loop lag behind /readyz; the server forgets its start-up lag once it listens. */
    eventLoop,
    /** Closes what the container opened (not a database handed in through options). */
    async close() {
      for (const close of infra.closers) await close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
      if (infra.ownsDatabase) await database.close();
    },
  };
}

export type Container = ReturnType<typeof buildContainer>;
export type { DatabaseHandle };
