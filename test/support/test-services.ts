import { existsSync } from "node:fs";
import Redis from "ioredis";
import postgres from "postgres";

/**
 * Where the tests' PostgreSQL and Redis come from, decided once per `bun test` run:
 * 1. DATABASE_URL / REDIS_URL from the environment (CI, this machine): a fresh database and key prefix per run;
 * 2. else, with a Docker engine, testcontainers (PostgreSQL 16, Redis 7);
 * 3. else embedded PostgreSQL (PGlite, in memory) and no Redis: Redis tests are skipped and counted.
 */
export interface TestServices {
  mode: "environment" | "testcontainers" | "embedded";
  /** Connection string of this run's own database; undefined in embedded mode. */
  databaseUrl?: string;
  redisUrl?: string;
  redisKeyPrefix: string;
  teardown(): Promise<void>;
}

const runId = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

export async function startTestServices(env = process.env): Promise<TestServices> {
  let adminUrl = env.DATABASE_URL;
  let redisUrl = env.REDIS_URL;
  // Cleanups run first (drop the database, delete our keys), then the containers stop.
  const cleanups: (() => Promise<unknown>)[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  let mode: TestServices["mode"] = "environment";

  if ((!adminUrl || !redisUrl) && dockerAvailable(env)) {
    try {
      const started = await startContainers(!adminUrl, !redisUrl);
      adminUrl ??= started.databaseUrl;
      redisUrl ??= started.redisUrl;
      stops.push(...started.stops);
      mode = "testcontainers";
    } catch (error) {
      console.warn(`[test] Docker found but testcontainers failed (${(error as Error).message}); falling back`);
    }
  }
  if (!adminUrl) mode = "embedded";

  let databaseUrl: string | undefined;
  if (adminUrl) {
    const name = `kicks_test_${runId}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    databaseUrl = withDatabase(adminUrl, name);
    cleanups.push(async () => {
      const cleanup = postgres(adminUrl as string, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    });
  }

  const redisKeyPrefix = `kicks-test-${runId}:`;
  if (redisUrl) {
    const url = redisUrl;
    cleanups.push(async () => {
      const redis = new Redis(url, { lazyConnect: true });
      await redis.connect();
      const keys = await redis.keys(`${redisKeyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
  }

  return {
    mode,
    databaseUrl,
    redisUrl,
    redisKeyPrefix,
    async teardown() {
      for (const stop of [...cleanups, ...stops])
        await stop().catch((error) => console.warn(`[test] teardown: ${error}`));
    },
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function dockerAvailable(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.DOCKER_HOST) || existsSync("/var/run/docker.sock");
}

async function startContainers(needPostgres: boolean, needRedis: boolean) {
  const stops: (() => Promise<unknown>)[] = [];
  let databaseUrl: string | undefined;
  let redisUrl: string | undefined;
  if (needPostgres) {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer("postgres:16-alpine").start();
    databaseUrl = container.getConnectionUri();
    stops.push(() => container.stop());
  }
  if (needRedis) {
    const { RedisContainer } = await import("@testcontainers/redis");
    const container = await new RedisContainer("redis:7-alpine").start();
    redisUrl = container.getConnectionUrl();
    stops.push(() => container.stop());
  }
  return { databaseUrl, redisUrl, stops };
}
