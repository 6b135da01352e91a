// Where this run keeps its files and where Kicks keeps its state. Against a real PostgreSQL or Redis the run gets
// its own database and key prefix, so it can share them with development data and still drop everything at the end.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Redis from "ioredis";
import postgres from "postgres";
import { onCleanup } from "./processes";

export interface BenchEnvironment {
  /** latest.json and the servers' logs; kept after the run. */
  resultsDir: string;
  /** Scratch space (wrk scripts, embedded DATA_DIR); removed at the end. */
  workDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  jwtSecret: string;
  /** How Kicks stores its state, in words, for the console and latest.json. */
  mode: { database: string; redis: string };
}

/** `url` with its database name replaced by `name`. */
export const withDatabase = (url: string, name: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
};

/** One statement (CREATE or DROP DATABASE, a setting) through `adminUrl`; the connection lives only as long as it. */
export async function runAdminStatement(adminUrl: string, statement: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Deletes every key under `prefix` (a run's throwaway key space). */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** Creates the run's directories and throwaway database, registering their removal with cleanup(). */
export async function prepareEnvironment(runId: string): Promise<BenchEnvironment> {
  const resultsDir = process.env.BENCH_RESULTS_DIR
    ? resolve(process.env.BENCH_RESULTS_DIR)
    : await mkdtemp(join(tmpdir(), "kicks-bench-results-"));
  await mkdir(resultsDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), "kicks-bench-"));
  onCleanup("temporary files", () => rm(workDir, { recursive: true, force: true }));

  const adminUrl = process.env.DATABASE_URL || undefined;
  const redisUrl = process.env.REDIS_URL || undefined;
  const redisKeyPrefix = `kicks_bench_${runId}:`;
  let databaseUrl: string | undefined;
  if (adminUrl) {
    const name = `kicks_bench_${runId}`;
    await runAdminStatement(adminUrl, `create database ${name}`);
    databaseUrl = withDatabase(adminUrl, name);
    onCleanup(`drop database ${name}`, () =>
      runAdminStatement(adminUrl, `drop database if exists ${name} with (force)`),
    );
  }
  if (redisUrl) {
    onCleanup(`delete Redis keys ${redisKeyPrefix}*`, () => deleteRedisKeys(redisUrl, redisKeyPrefix));
  }
  const jwtSecret =
    process.env.JWT_SECRET && process.env.JWT_SECRET.length >= 32
      ? process.env.JWT_SECRET
      : Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");

  return {
    resultsDir,
    workDir,
    databaseUrl,
    redisUrl,
    redisKeyPrefix,
    jwtSecret,
    mode: {
      database: databaseUrl ? "postgresql (throwaway database)" : "embedded PGlite (temporary DATA_DIR)",
      redis: redisUrl ? `redis (prefix ${redisKeyPrefix})` : "none (in-process cache and locks)",
    },
  };
}

/** Where the run keeps Kicks' state, as Kicks' environment: its database, Redis prefix, JWT secret and data dir. */
export function stateEnv(env: BenchEnvironment) {
  return {
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: env.redisKeyPrefix,
    JWT_SECRET: env.jwtSecret,
    DATA_DIR: join(env.workDir, "data"),
  };
}
