// `bun run bench:edge`: the fixed cost of a request, measured in process. The real app (createApp over the real
// container: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, else embedded, the default LOG_LEVEL and
// its access line, written to /dev/null through the same buffered output as stdout) and a Bun + Hono hello-world
// are driven through `app.fetch` with no sockets, one request after another, and the CPU time of the process
// (process.cpuUsage: every thread, the collector and the JIT included) is divided by the number of requests. On a
// machine shared with other work this stays comparable where a throughput figure does not.
//
// Environment:
//   EDGE_REQUESTS (200000)   measured requests per scenario (after EDGE_WARMUP of the same; a tenth of both for
//                            the balance, which reads the database)
//   EDGE_WARMUP (20000)
//   EDGE_ROUNDS (3)          each scenario is measured this many times, interleaved; the lowest is reported
//   EDGE_PRODUCTS (2000)     products seeded (the uncached list's pages come from them)
//   EDGE_ONLY                comma-separated scenario names (e.g. "healthz,product") to measure only those;
//                            "<name>-bun" (healthz, product, list, popular): the same request through the handler
//                            Bun's router runs in front of the app (src/routes/operations/native-routes.ts)
//   DATABASE_URL / REDIS_URL a throwaway database and key prefix (dropped at the end), as bun run bench
//
// Profiling one scenario: `EDGE_ONLY=product bun --cpu-prof --cpu-prof-dir=/tmp/prof bench/edge.ts`, then
// `bun bench/profile-samples.ts /tmp/prof/*.cpuprofile` (counts samples, not timeDeltas: see that file).

import { heapStats } from "bun:jsc";
import { openSync, readdirSync, readFileSync } from "node:fs";
import { Hono } from "hono";
import { createApp } from "../src/app";
import { buildContainer } from "../src/container";
import { loadConfig } from "../src/infra/config";
import { SEED_CATEGORIES } from "../src/infra/db/seed/catalogue";
import { bufferedOutput } from "../src/infra/log-output";
import { createLogger } from "../src/infra/logger";
import { nativeRoutes } from "../src/routes/operations/native-routes";
import { envInt, ROOT } from "./config";
import { prepareEnvironment, stateEnv } from "./environment";
import { runThenExit } from "./processes";

const REQUESTS = envInt("EDGE_REQUESTS", 200_000, 1, 100_000_000);
const WARMUP = envInt("EDGE_WARMUP", 20_000, 0, 100_000_000);
const ROUNDS = envInt("EDGE_ROUNDS", 3, 1, 100);
const PRODUCTS = envInt("EDGE_PRODUCTS", 2000, 1, 100_000);
const ONLY = process.env.EDGE_ONLY ? new Set(process.env.EDGE_ONLY.split(",")) : undefined;
const BASE = "http://localhost";
/** USER_HZ of /proc's tick counts: 100 on every Linux we run on. */
const TICKS_PER_SECOND = 100;

type Fetch = (request: Request) => Response | Promise<Response>;

interface Scenario {
  name: string;
  fetch: Fetch;
  /** A function: a new path for each request. */
  path: string | (() => string);
  headers?: Record<string, string>;
  status: number;
  /** A tenth of EDGE_REQUESTS for a read that goes to the database. */
  share?: number;
  /** Measured once, after every round of the others (it would spend the list cache's budget they rely on). */
  last?: boolean;
}

/** CPU ticks (user + system) of each thread of this process, by thread name (Linux only; empty elsewhere). */
function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return ticks;
  }
  for (const task of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = task === String(process.pid) ? "main" : stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      const used = Number(fields[11]) + Number(fields[12]);
      ticks.set(name, (ticks.get(name) ?? 0) + used);
    } catch {
      // The thread ended in between.
    }
  }
  return ticks;
}

/** CPU µs per request (user + system, all threads) and wall µs per request over `count` sequential requests. */
async function measure(
  scenario: Scenario,
  count: number,
): Promise<{ cpuUs: number; wallUs: number; threads: Map<string, number>; peakRssMb: number }> {
  const { path } = scenario;
  const init = scenario.headers ? { headers: scenario.headers } : undefined;
  const ticksBefore = threadTicks();
  const cpu = process.cpuUsage();
  const wall = performance.now();
  let peakRss = 0;
  for (let i = 0; i < count; i++) {
    if (i % 4096 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    const res = await scenario.fetch(new Request(BASE + (typeof path === "string" ? path : path()), init));
    // Bun.serve reads the body to send it: so do we.
    await res.arrayBuffer();
    if (res.status !== scenario.status) throw new Error(`${scenario.name}: ${res.status}, expected ${scenario.status}`);
  }
  const used = process.cpuUsage(cpu);
  const threads = new Map<string, number>();
  for (const [name, ticks] of threadTicks()) {
    const us = ((ticks - (ticksBefore.get(name) ?? 0)) * 1e6) / TICKS_PER_SECOND / count;
    if (us > 0) threads.set(name, us);
  }
  return {
    cpuUs: (used.user + used.system) / count,
    wallUs: ((performance.now() - wall) * 1000) / count,
    threads,
    peakRssMb: Math.round(peakRss / 1024 / 1024),
  };
}

const rssMb = () => Math.round(process.memoryUsage().rss / 1024 / 1024);
const heapMb = () => {
  const stats = heapStats();
  return Math.round((stats.heapSize / 1024 / 1024) * 10) / 10;
};

async function main() {
  const env = await prepareEnvironment(`edge_${Date.now().toString(36)}`);
  const kicksEnv: Record<string, string | undefined> = {
    ...process.env,
    LOG_LEVEL: undefined,
    ADMIN_EMAIL: undefined,
    ADMIN_PASSWORD: undefined,
    NODE_ENV: "production",
    ...stateEnv(env),
  };
  console.log(`edge bench: ${REQUESTS} requests per scenario, best of ${ROUNDS}; bun ${Bun.version}`);
  console.log(`database: ${env.mode.database}; redis: ${env.mode.redis}`);
  const seed = Bun.spawnSync(["bun", "src/commands/seed.ts", "--no-demo", "--products", String(PRODUCTS)], {
    cwd: ROOT,
    env: kicksEnv,
  });
  if (seed.exitCode !== 0) throw new Error(`seeding failed: ${seed.stderr.toString()}${seed.stdout.toString()}`);

  const config = loadConfig(kicksEnv);
  // The access line is written as in production, to a descriptor that costs no terminal.
  const logger = createLogger(config.LOG_LEVEL, {}, bufferedOutput(openSync("/dev/null", "w")));
  const container = buildContainer(config, logger, { processMetrics: true });
  await container.database.migrate();
  const app = createApp(container);
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await app.fetch(
      new Request(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const json = (await res.json()) as any;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const email = `edge-${Date.now()}@bench.kicks`;
  await call("POST", "/api/v1/auth/signup", { email, password: "bench-password-1", name: "Edge Buyer" });
  const login = await call("POST", "/api/v1/auth/login", { email, password: "bench-password-1" });
  const page = await call("GET", "/api/v1/products?size=1&category=running");
  const productId = page.items[0].id as string;

  const hello = new Hono().get("/", (c) => c.json({ hello: "world" }));
  // What Bun's router answers in front of the app (src/index.ts): the same requests through those handlers.
  const native = nativeRoutes(container, app);
  const byBun = (path: string): Fetch => {
    const route = native[path];
    return route ? route.GET : app.fetch;
  };
  const scenarios: Scenario[] = [
    { name: "hello-world", fetch: hello.fetch, path: "/", status: 200 },
    { name: "healthz", fetch: app.fetch, path: "/healthz", status: 200 },
    { name: "product", fetch: app.fetch, path: `/api/v1/products/${productId}`, status: 200 },
    {
      name: "list",
      fetch: app.fetch,
      path: "/api/v1/products?category=running&sort=price_asc&size=20",
      status: 200,
    },
    { name: "popular", fetch: app.fetch, path: "/api/v1/products/popular", status: 200 },
    { name: "healthz-bun", fetch: byBun("/healthz"), path: "/healthz", status: 200 },
    {
      name: "product-bun",
      fetch: byBun("/api/v1/products/:productId"),
      path: `/api/v1/products/${productId}`,
      status: 200,
    },
    {
      name: "list-bun",
      fetch: byBun("/api/v1/products"),
      path: "/api/v1/products?category=running&sort=price_asc&size=20",
      status: 200,
    },
    { name: "popular-bun", fetch: byBun("/api/v1/products/popular"), path: "/api/v1/products/popular", status: 200 },
    {
      name: "balance",
      fetch: app.fetch,
      path: `/api/v1/balances/${login.user.id}`,
      headers: { Authorization: `Bearer ${login.accessToken}` },
      status: 200,
      share: 0.1,
    },
    {
      // As bun run bench's uncached list: a new query each request (a page of 20 from the database), which
      // also fills the near cache of lists with one-off pages: the memory figure to watch.
      name: "uncached-list",
      fetch: app.fetch,
      path: () =>
        `/api/v1/products?size=20&sort=price_asc&minPrice=${Math.floor(Math.random() * 300_001)}&category=${SEED_CATEGORIES[Math.floor(Math.random() * SEED_CATEGORIES.length)]}&page=${1 + Math.floor(Math.random() * 5)}`,
      status: 200,
      share: 0.1,
      last: true,
    },
  ].filter((s) => s.name === "hello-world" || !ONLY || ONLY.has(s.name));

  Bun.gc(true);
  console.log(`after start-up: rss ${rssMb()} MB, JS heap ${heapMb()} MB`);
  const count = (scenario: Scenario, n: number) => Math.max(1, Math.round(n * (scenario.share ?? 1)));
  // The uncached list's one-off pages spend the shared budget of free-form list pages (the filtered list is
  // one): measured last, once, so no other figure depends on what it left.
  const repeated = scenarios.filter((s) => !s.last);
  for (const scenario of repeated) await measure(scenario, count(scenario, WARMUP));
  const best = new Map<string, Awaited<ReturnType<typeof measure>>>();
  let peakRss = rssMb();
  const record = (scenario: Scenario, figure: Awaited<ReturnType<typeof measure>>) => {
    peakRss = Math.max(peakRss, rssMb());
    const previous = best.get(scenario.name);
    if (!previous || figure.cpuUs < previous.cpuUs) best.set(scenario.name, figure);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of repeated) record(scenario, await measure(scenario, count(scenario, REQUESTS)));
  }
  for (const scenario of scenarios.filter((s) => s.last)) {
    record(scenario, await measure(scenario, count(scenario, REQUESTS)));
  }
  const baseline = best.get("hello-world")?.cpuUs ?? 1;
  console.log(
    "\nscenario        CPU µs/req  wall µs/req  vs hello-world (CPU)  peak RSS  by thread (µs/req, from /proc ticks)",
  );
  for (const [name, figure] of best) {
    const threads = [...figure.threads]
      .sort((a, b) => b[1] - a[1])
      .map(([thread, us]) => `${thread} ${us.toFixed(1)}`)
      .join(", ");
    console.log(
      `${name.padEnd(15)} ${figure.cpuUs.toFixed(2).padStart(10)}  ${figure.wallUs.toFixed(2).padStart(11)}  ${(baseline / figure.cpuUs).toFixed(3).padStart(8)}x  ${String(figure.peakRssMb).padStart(12)} MB  ${threads}`,
    );
  }
  Bun.gc(true);
  console.log(
    `\nrss: peak ${peakRss} MB while measuring, ${rssMb()} MB after a full collection; JS heap ${heapMb()} MB`,
  );
  await container.close();
}

await runThenExit("edge bench", main);
