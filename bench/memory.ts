// `bun bench/memory.ts`: what holds the server's memory at start, step by step, as src/index.ts builds it, then
// under load. Each step is followed by a full collection; the figures are the process's resident set (RSS) and
// the JavaScript heap (bun:jsc heapStats). Then the app is served by Bun.serve in this process (as index.ts
// serves it) and wrk drives each read of `bun run bench` for MEMORY_SECONDS (5) with 64 connections while the
// RSS is sampled every 50 ms: the peak under load, and what is left after a full collection. With
// DATABASE_URL (a throwaway database is made and dropped, as by `bun run bench`) and REDIS_URL as set, else
// embedded. MEMORY_GC_MS: while serving, a full collection every so many ms (0: none; to see what garbage is).

import { heapStats } from "bun:jsc";
import { openSync } from "node:fs";
import { join } from "node:path";
import { prepareEnvironment, stateEnv } from "./environment";
import { cleanup } from "./processes";

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1).padStart(6);
let previous = 0;
function step(label: string) {
  Bun.gc(true);
  const rss = process.memoryUsage().rss;
  const heap = heapStats();
  console.log(
    `${label.padEnd(44)} rss ${mb(rss)} MB (${rss >= previous ? "+" : "-"}${mb(Math.abs(rss - previous)).trim()})  JS heap ${mb(heap.heapSize)} MB of ${mb(heap.heapCapacity).trim()}, extra ${mb(heap.extraMemorySize).trim()} MB, ${heap.objectCount} objects`,
  );
  previous = rss;
}

step("bun, nothing loaded");
const env = await prepareEnvironment(`mem_${Date.now().toString(36)}`);
// Whatever happens below, the throwaway database and keys go.
process.on("uncaughtException", async (error) => {
  console.error(error);
  await cleanup();
  process.exit(1);
});
step("bench environment (postgres.js, ioredis)");
const { loadConfig } = await import("../src/infra/config");
const { createLogger } = await import("../src/infra/logger");
const { bufferedOutput } = await import("../src/infra/log-output");
const { buildContainer } = await import("../src/container");
const { createApp } = await import("../src/app");
step("the app's modules imported");
const config = loadConfig({
  ...process.env,
  ...stateEnv(env),
  LOG_LEVEL: undefined,
});
// The default level, so every request writes its access line (to /dev/null, through the same buffered output).
const logger = createLogger(config.LOG_LEVEL, {}, bufferedOutput(openSync("/dev/null", "w")));
const container = buildContainer(config, logger, { processMetrics: true });
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

const seed = Bun.spawnSync(["bun", "src/commands/seed.ts", "--no-demo", "--products", "2000"], {
  cwd: join(import.meta.dir, ".."),
  env: {
    ...process.env,
    ...stateEnv(env),
  },
});
if (seed.exitCode !== 0) throw new Error(`seeding failed: ${seed.stderr.toString()}`);
const server = Bun.serve({ port: 0, fetch: app.fetch });
const base = `http://127.0.0.1:${server.port}`;
const list = (await (await fetch(`${base}/api/v1/products?size=1&category=running`)).json()) as any;
const productId = list.items[0].id as string;
const email = `mem-${Date.now()}@bench.kicks`;
const post = (path: string, body: unknown) =>
  fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
await post("/api/v1/auth/signup", { email, password: "bench-password-1", name: "Memory" });
const login = (await (await post("/api/v1/auth/login", { email, password: "bench-password-1" })).json()) as any;
const uncached = join(env.workDir, "uncached.lua");
await Bun.write(
  uncached,
  `request = function()
  return wrk.format("GET", "/api/v1/products?size=20&sort=price_asc&minPrice=" .. math.random(0, 300000) .. "&page=" .. math.random(1, 5))
end`,
);
const seconds = Number(process.env.MEMORY_SECONDS ?? 5);
const gcEvery = Number(process.env.MEMORY_GC_MS ?? 0);
const scenarios: [string, string[]][] = [
  ["healthz", [`${base}/healthz`]],
  ["balance", ["-H", `Authorization: Bearer ${login.accessToken}`, `${base}/api/v1/balances/${login.user.id}`]],
  ["product", [`${base}/api/v1/products/${productId}`]],
  ["list", [`${base}/api/v1/products?category=running&sort=price_asc&size=20`]],
  ["popular", [`${base}/api/v1/products/popular`]],
  ["uncached list", ["-s", uncached, `${base}/`]],
];
console.log(`\nunder load (wrk -c 64 -t 2 -d ${seconds}s)${gcEvery ? `, a full collection every ${gcEvery} ms` : ""}:`);
for (const [name, args] of scenarios) {
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  const collector = gcEvery > 0 ? setInterval(() => Bun.gc(true), gcEvery) : undefined;
  const wrk = Bun.spawn(["wrk", "-c", "64", "-t", "2", "-d", `${seconds}s`, ...args], { stdout: "pipe" });
  const output = await new Response(wrk.stdout).text();
  clearInterval(sampler);
  if (collector) clearInterval(collector);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? "?";
  console.log(`  ${name.padEnd(14)} peak rss ${mb(peak)} MB at ${rate} req/s`);
  step(`  after ${name}, collected`);
}
server.stop(true);
await relay.stop();
await container.close();
await cleanup();
process.exit(0);
