// `bun bench/memory.ts`: what holds the server's memory at start, step by step, as src/index.ts builds it.
// Each step is followed by a full collection; the figures are the process's resident set (RSS) and the
// JavaScript heap (bun:jsc heapStats). With DATABASE_URL (a throwaway database is made and dropped, as by
// `bun run bench`) and REDIS_URL as set, else embedded.

import { heapStats } from "bun:jsc";
import { join } from "node:path";
import { prepareEnvironment } from "./environment";
import { cleanup } from "./processes";

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1).padStart(6);
let previous = 0;
function step(label: string) {
  Bun.gc(true);
  const rss = process.memoryUsage().rss;
  const heap = heapStats();
  console.log(
    `${label.padEnd(44)} rss ${mb(rss)} MB (${rss >= previous ? "+" : "-"}${mb(Math.abs(rss - previous)).trim()})  JS heap ${mb(heap.heapSize)} MB, ${heap.objectCount} objects`,
  );
  previous = rss;
}

step("bun, nothing loaded");
const env = await prepareEnvironment(`mem_${Date.now().toString(36)}`);
step("bench environment (postgres.js, ioredis)");
const { loadConfig } = await import("../src/infra/config");
const { createLogger } = await import("../src/infra/logger");
const { buildContainer } = await import("../src/container");
const { createApp } = await import("../src/app");
step("the app's modules imported");
const config = loadConfig({
  ...process.env,
  DATABASE_URL: env.databaseUrl,
  REDIS_URL: env.redisUrl,
  REDIS_KEY_PREFIX: env.redisKeyPrefix,
  JWT_SECRET: env.jwtSecret,
  DATA_DIR: join(env.workDir, "data"),
  LOG_LEVEL: "warn",
});
const container = buildContainer(config, createLogger(config.LOG_LEVEL), { processMetrics: true });
step("container built");
await container.database.migrate();
step("migrations applied");
const app = createApp(container);
step("app created (routes, schemas)");
await app.request("/openapi.json");
step("OpenAPI document generated once");
const { scalarScript } = await import("../src/routes/operations/docs");
await scalarScript();
step("/docs script compressed (as index.ts does)");
const { startOutboxRelay } = await import("../src/workers/outbox-relay/start");
const relay = await startOutboxRelay(container);
await Bun.sleep(1000);
step("outbox relay started");
await relay.stop();
await container.close();
await cleanup();
process.exit(0);
