// `bun bench/memory.ts`: what holds the server's memory at start, step by step, as src/index.ts builds it, then
// under load. Each step is followed by a full collection; the figures are the process's resident set (RSS) and
// the JavaScript heap (bun:jsc heapStats). Then the app is served by Bun.serve in this process as index.ts serves
// it (Bun's router in front), and wrk drives each read of `bun run bench` with 64 connections: a warm-up of
// MEMORY_WARMUP_SECONDS (2), as the bench's, then MEMORY_SECONDS (5) while the RSS is sampled every 50 ms: the
// peak under load (with the JS heap's size at that moment), the server's CPU per request (this process, every
// thread, over wrk's requests: what a memory setting costs), and what is left after a full collection.
// With DATABASE_URL (a throwaway database is made and dropped, as by `bun run bench`) and REDIS_URL as set, else
// embedded.
//
// Start it as the server starts (the Dockerfile, `bun run start`), with the runtime's settings of
// src/infra/runtime-env.ts: `BUN_JSC_forceRAMSize=1073741824 bun bench/memory.ts` (it says when they are missing).
//
// Environment: MEMORY_ONLY (comma-separated scenario names, e.g. "healthz,product"), MEMORY_TRACE=1 (the RSS
// every 50 ms, to tell a spike from a plateau), MEMORY_GC_MS (a full collection every so many ms while serving;
// 0: none), MEMORY_DOCS=1 (also build /openapi.json and the /docs script, which a server does only when asked).

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

// The runtime's own settings are read when bun starts: this process has them only if it was started with them.
const { RUNTIME_ENV } = await import("../src/infra/runtime-env");
const missing = Object.entries(RUNTIME_ENV).filter(([name, value]) => process.env[name] !== value);
console.log(
  missing.length === 0
    ? `runtime settings as the server's: ${Object.keys(RUNTIME_ENV).join(", ")}`
    : `NOT the server's runtime settings (start as: ${missing.map(([n, v]) => `${n}=${v}`).join(" ")} bun bench/memory.ts)`,
);
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
// What a server holds only once someone asked for it (the bench never does): MEMORY_DOCS=1 shows their cost.
if (process.env.MEMORY_DOCS === "1") {
  await app.request("/openapi.json");
  step("OpenAPI document generated once (when asked)");
  const { scalarScript } = await import("../src/routes/operations/docs");
  await scalarScript();
  step("/docs script compressed (when /docs is opened)");
}
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
const { nativeRoutes } = await import("../src/routes/operations/native-routes");
const server = Bun.serve({ port: 0, routes: nativeRoutes(container, app), fetch: app.fetch });
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
const warmup = Number(process.env.MEMORY_WARMUP_SECONDS ?? 2);
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
// MEMORY_TRACE=1: the RSS (MB) every 50 ms while serving, to tell a spike from a plateau.
const trace = process.env.MEMORY_TRACE === "1";
const only = process.env.MEMORY_ONLY ? new Set(process.env.MEMORY_ONLY.split(",")) : undefined;
for (const [name, args] of scenarios.filter(([name]) => !only || only.has(name))) {
  // As bun run bench: a warm-up with the same load first, then the measured run is sampled.
  if (warmup > 0)
    await Bun.spawn(["wrk", "-c", "64", "-t", "2", "-d", `${warmup}s`, ...args], { stdout: "ignore" }).exited;
  let peak = 0;
  const cpu = process.cpuUsage();
  let heapAtPeak = 0;
  const timeline: number[] = [];
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (trace) timeline.push(Math.round(rss / 1024 / 1024));
    if (rss > peak) {
      peak = rss;
      heapAtPeak = process.memoryUsage().heapTotal;
    }
  }, 50);
  const collector = gcEvery > 0 ? setInterval(() => Bun.gc(true), gcEvery) : undefined;
  const wrk = Bun.spawn(["wrk", "-c", "64", "-t", "2", "-d", `${seconds}s`, ...args], { stdout: "pipe" });
  const output = await new Response(wrk.stdout).text();
  clearInterval(sampler);
  if (collector) clearInterval(collector);
  const used = process.cpuUsage(cpu);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? "?";
  // The server's CPU (this process: every thread) per request served, comparable where req/s is not.
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN);
  const perRequest = ((used.user + used.system) / requests).toFixed(1);
  console.log(
    `  ${name.padEnd(14)} peak rss ${mb(peak)} MB (JS heap ${mb(heapAtPeak).trim()} MB) at ${rate} req/s, ${perRequest} µs of CPU per request`,
  );
  if (trace) console.log(`    rss every 50 ms: ${timeline.join(" ")}`);
  step(`  after ${name}, collected`);
}
server.stop(true);
await relay.stop();
await container.close();
await cleanup();
process.exit(0);
