// `bun run bench`: HTTP throughput of the real server, as ratios against a Bun + Hono hello-world measured
// in the same run (bench/baseline-server.ts). Speed targets live here, never as timed assertions in tests.
//
// Environment:
//   BENCH_SECONDS (10)        seconds per measured scenario
//   BENCH_CONNECTIONS (64)    wrk connections
//   BENCH_THREADS (2)         wrk threads
//   BENCH_WARMUP_SECONDS (2)  unmeasured wrk run before each scenario (0 skips it)
//   BENCH_RESULTS_DIR         where latest.json and the servers' logs go (default: a new temp dir)
//   BENCH_RESULTS_FILE        the markdown record every run is added to (default bench/RESULTS.md; - for none)
//   DATABASE_URL / REDIS_URL  used when set: a throwaway database `kicks_bench_<random>` (dropped at the end)
//                             and a unique Redis key prefix (deleted at the end); else embedded PGlite in a
//                             temporary DATA_DIR and in-process cache/locks.
//   JWT_SECRET                passed on when 32+ characters, else a random one is made for the run.
//   BENCH_OUTBOX_EVENTS (50000)  events bulk-inserted for the outbox delivery rate (PostgreSQL only)
//   BENCH_OUTBOX_RATE (500)      events appended per second (one per transaction) while wrk charges, for the lag
//   BENCH_COUPON_QUANTITY (1000)  units of the drop coupon (needs DATABASE_URL and REDIS_URL, see bench/coupons.ts)
//   BENCH_COUPON_BUYERS (100000)  distinct buyers inserted for the drop
//   BENCH_REDIS_REQUESTS (300000) EVALSHA calls by redis-benchmark for the Redis ceiling
//   BENCH_MODULES (all)           comma-separated subset of http,coupons,outbox,orders,checkout,sales: "http" is the wrk
//                                 scenarios (health, balance, products, charge) and, with DATABASE_URL, one
//                                 `pgbench -S` run (scale BENCH_PGBENCH_SCALE, -c BENCH_CONNECTIONS) that GET balance is
//                                 compared with; the hello-world baseline always runs
//   BENCH_ORDER_PRODUCTS (1000)   products the spread orders and the checkouts draw from (see bench/orders.ts)
//   BENCH_PGBENCH_SCALE (10)      pgbench -i -s of the spread orders' and checkouts' database ceiling (the hot
//                                 product's is always scale 1: one row every transaction updates)
//   BENCH_SMALL_BUYERS (16)       the orders and checkouts again with this many buyers, against pgbench -c as many
//                                 (0 skips)
//   BENCH_KICKS_BUN_ARGS          extra arguments for Kicks' `bun`, split on spaces: e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"
//                                 profiles the server under the bench's load (written when it stops)
//   BENCH_PGBENCH                 the pgbench binary (default: PATH, else /usr/lib/postgresql/<newest>/bin/pgbench)
//   BENCH_SALES_ORDERS (700000)   paid orders seeded for popular products and statistics (≈1M order lines;
//                                 0 skips the module; needs DATABASE_URL), see bench/sales.ts
//   BENCH_SALES_RUNS (15)         cold aggregations (distinct windows, at most 19) and statistics queries timed
//
// Loads go to 127.0.0.1 only and every wrk run is bounded by -d; the whole run has a hard deadline.
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { RUNTIME_ENV } from "../src/infra/runtime-env";
import { checkChargeRun } from "./checks";
import {
  CONNECTIONS,
  deadlineMs,
  MODULES,
  ORDERS_BUDGET_MS,
  OUTBOX_BUDGET_MS,
  ROOT,
  SECONDS,
  THREADS,
  WARMUP_SECONDS,
} from "./config";
import { printCouponSummary, runCouponScenario } from "./coupons";
import { prepareEnvironment, stateEnv } from "./environment";
import { readCatalogue, seedCatalogue, signUpBuyer } from "./kicks-api";
import { type OrderBenchResult, type OrderModule, runOrderBench } from "./orders";
import { checkOutboxRun, type OutboxBenchResult, runOutboxBench, startOutboxSink } from "./outbox";
import { runPgbenchSelectOnly } from "./pgbench";
import { abort, cleanup, isCleaningUp, startServer, stopServer, waitHealthy } from "./processes";
import { printOrderSummary, printOutboxSummary, printSummary, writeResults } from "./report";
import { keepPrintedOutput, recordRun } from "./results-file";
import { printSalesSummary, runSalesBench, SALES_ORDERS, type SalesBenchResult } from "./sales";
import { runScenarios, SCENARIOS } from "./scenarios";
import { requireWrk, writeWrkScripts } from "./wrk";

// The coupon drop counts as two more scenarios: its warm-up coupon and its measured one (plus the Redis ceiling).
// The sales module seeds about 4 s per 10k orders, then runs two scenarios.
const DEADLINE_MS =
  deadlineMs(SCENARIOS.length + 4) +
  OUTBOX_BUDGET_MS +
  ORDERS_BUDGET_MS +
  // The http module's pgbench -S: the scale's initialisation (shared with the orders module) and one run.
  (MODULES.has("http") ? 300_000 + (SECONDS + 60) * 1000 : 0) +
  (MODULES.has("sales") ? SALES_ORDERS * 0.4 : 0);

process.on("SIGINT", () => void abort(130, "interrupted; cleaning up"));
process.on("SIGTERM", () => void abort(143, "terminated; cleaning up"));
const deadline = setTimeout(
  () => void abort(2, `benchmark exceeded its ${Math.round(DEADLINE_MS / 1000)} s deadline; cleaning up`),
  DEADLINE_MS,
);

const loadAverage = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");

const randomId = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

async function main() {
  keepPrintedOutput();
  const wrkVersion = requireWrk();
  const startedAt = new Date().toISOString();
  const runId = randomId();
  const env = await prepareEnvironment(runId);
  const cpus = availableParallelism();
  console.log(
    `kicks bench: ${SECONDS} s per scenario (+${WARMUP_SECONDS} s warm-up), ${CONNECTIONS} connections, ${THREADS} threads; ${wrkVersion}; bun ${Bun.version}; ${cpus} cpus`,
  );
  console.log(`database: ${env.mode.database}; redis: ${env.mode.redis}`);
  console.log(`results and server logs: ${env.resultsDir}`);
  console.log(`modules: ${[...MODULES].join(", ")}; load average at start: ${loadAverage()}`);

  // Servers. The caller's ADMIN_* are left out (a half-set pair would stop Kicks); the run makes its own admin,
  // who creates the drop coupon and claims on the buyers' behalf.
  const { ADMIN_EMAIL: _email, ADMIN_PASSWORD: _password, ...inherited } = process.env;
  // The outbox module writes into Kicks' database from here, which only PostgreSQL allows.
  const outboxSink = env.databaseUrl && MODULES.has("outbox") ? await startOutboxSink(env.resultsDir) : undefined;
  const admin = { email: `bench-admin-${runId}@bench.kicks`, password: crypto.randomUUID() };
  const baseline = startServer(
    "baseline",
    join(ROOT, "bench/baseline-server.ts"),
    inherited,
    join(env.resultsDir, "baseline.log"),
  );
  // The default configuration, as operators run it (LOG_LEVEL included): only the state's location is ours.
  const { LOG_LEVEL: _level, ...defaults } = inherited;
  const kicksEnv = {
    // The runtime's settings as the Dockerfile and `bun run start` set them (the caller's own win).
    ...RUNTIME_ENV,
    ...defaults,
    NODE_ENV: "production",
    ...stateEnv(env),
    DATA_PLATFORM_URL: outboxSink?.eventsUrl,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
  };
  // The catalogue first: embedded, the server's process owns the database once it runs.
  await seedCatalogue(kicksEnv, join(env.resultsDir, "seed.log"));
  const bunArgs = (process.env.BENCH_KICKS_BUN_ARGS ?? "").split(" ").filter(Boolean);
  const kicks = startServer("kicks", join(ROOT, "src/index.ts"), kicksEnv, join(env.resultsDir, "kicks.log"), bunArgs);
  await Promise.all([waitHealthy(baseline, "/"), waitHealthy(kicks, "/healthz")]);

  const buyer = await signUpBuyer(kicks.url, runId);
  const catalogue = await readCatalogue(kicks.url);
  const scripts = await writeWrkScripts(env.workDir, buyer.userId, buyer.token, catalogue.categories);
  const { results, charge } = await runScenarios({
    urls: { baseline: baseline.url, kicks: kicks.url },
    pids: { baseline: baseline.proc.pid, kicks: kicks.proc.pid },
    buyer,
    productId: catalogue.productId,
    scripts,
    only: MODULES.has("http") ? undefined : ["baseline"],
  });
  const coupon = MODULES.has("coupons")
    ? await runCouponScenario({
        kicksUrl: kicks.url,
        baselineRps: results[0]?.requestsPerSecond ?? 1,
        env,
        runId,
        admin,
      })
    : undefined;
  if (coupon) results.push(coupon.result);
  const invariants = [...(charge ? checkChargeRun(charge) : []), ...(coupon?.invariants ?? [])];
  // Issue 20: GET balance (a token and one indexed read) against pgbench -S (one indexed read) on the same
  // PostgreSQL with as many clients. One pgbench run; its scale-10 database is the orders module's too.
  const balanceRead = results.find((r) => r.name === "kicks GET balance");
  const selectOnly =
    balanceRead && process.env.DATABASE_URL
      ? await runPgbenchSelectOnly(process.env.DATABASE_URL, runId, CONNECTIONS)
      : undefined;
  printSummary(results, invariants, charge?.metrics);
  if (balanceRead && selectOnly) {
    const balanceVsSelectOnly = balanceRead.requestsPerSecond / selectOnly.transactionsPerSecond;
    console.log(
      `${balanceVsSelectOnly >= 0.3 ? "met " : "MISS"} GET balance ≥ 0.3x pgbench -S (scale ${selectOnly.scale}, -c ${selectOnly.clients}): ${balanceVsSelectOnly.toFixed(2)}x (${balanceRead.requestsPerSecond} req/s vs ${selectOnly.transactionsPerSecond} tps)`,
    );
  } else if (balanceRead) {
    console.log("GET balance vs pgbench -S: not measured (needs DATABASE_URL and pgbench)");
  }
  if (coupon) printCouponSummary(coupon);

  let outbox: OutboxBenchResult | undefined;
  let outboxTargets: ReturnType<typeof checkOutboxRun>["targets"] = [];
  if (outboxSink && env.databaseUrl) {
    console.log();
    outbox = await runOutboxBench({
      databaseUrl: env.databaseUrl,
      sink: outboxSink,
      chargeUrl: `${kicks.url}/api/v1/balances/charge`,
      chargeScript: scripts.charge,
      runId,
    });
    const check = checkOutboxRun(outbox);
    invariants.push(...check.invariants);
    outboxTargets = check.targets;
    printOutboxSummary(check);
  } else if (MODULES.has("outbox")) {
    console.log("\noutbox module skipped: it needs DATABASE_URL (it writes into Kicks' database from this process)");
  }

  let orders: OrderBenchResult | undefined;
  const orderModules = (["orders", "checkout"] as const).filter((m): m is OrderModule => MODULES.has(m));
  if (orderModules.length > 0) {
    orders = await runOrderBench({
      kicksUrl: kicks.url,
      kicksPid: kicks.proc.pid,
      env,
      runId,
      admin,
      modules: orderModules,
    });
    if (orders) {
      invariants.push(...orders.invariants);
      printOrderSummary(orders);
    }
  }

  let sales: SalesBenchResult | undefined;
  if (env.databaseUrl && MODULES.has("sales") && SALES_ORDERS > 0) {
    sales = await runSalesBench({
      kicksUrl: kicks.url,
      baselineUrl: baseline.url,
      kicksEnv,
      admin,
      reportScript: scripts.report,
    });
    printSalesSummary(sales);
  } else if (MODULES.has("sales")) {
    console.log("\nsales module skipped: it needs DATABASE_URL (and BENCH_SALES_ORDERS > 0)");
  }
  console.log(`\nload average at the end: ${loadAverage()}`);

  const gitCommit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  await writeResults(env.resultsDir, {
    startedAt,
    gitCommit: gitCommit || undefined,
    bun: Bun.version,
    wrk: wrkVersion,
    cpus,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    connections: CONNECTIONS,
    threads: THREADS,
    mode: env.mode,
    scenarios: results,
    pgbenchSelectOnly: selectOnly,
    balanceVsPgbenchSelectOnly:
      balanceRead && selectOnly && balanceRead.requestsPerSecond / selectOnly.transactionsPerSecond,
    invariants,
    chargeMetrics: charge?.metrics,
    outbox,
    outboxTargets,
    sales,
    orders,
    loadAverage: { end: loadAverage() },
    couponDrop: coupon && {
      quantity: coupon.issued,
      claimsPerSecond: coupon.result.requestsPerSecond,
      ratioVsBaseline: coupon.result.ratioVsBaseline,
      redisCeiling: coupon.redisCeiling,
      ratioVsRedisCeiling:
        coupon.redisCeiling && coupon.result.requestsPerSecond / coupon.redisCeiling.requestsPerSecond,
    },
  });

  await stopServer(kicks);
  const failed = invariants.filter((inv) => !inv.ok).length;
  recordRun({
    startedAt,
    gitCommit: gitCommit || undefined,
    modules: [...MODULES],
    outcome: failed === 0 ? "Every check held." : `${failed} check(s) FAILED.`,
  });
  return failed === 0 ? 0 : 1;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  // After SIGINT/SIGTERM the failure is only the interrupted wrk: abort() already said why.
  if (!isCleaningUp()) console.error(`\nbenchmark failed: ${(error as Error).stack ?? error}`);
  exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(deadline);
}
process.exit(exitCode);
