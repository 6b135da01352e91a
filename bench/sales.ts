// Popular products and sales statistics over a million order lines (issue: cold aggregation < 100 ms, cache
// hits ≥ 0.5× the hello-world). Needs DATABASE_URL: the orders are seeded into Kicks' database by
// `bun run seed --orders`, with the server running.
import { envInt, ROOT, SECONDS, WARMUP_SECONDS } from "./config";
import { type WrkReport, wrk } from "./wrk";

export const SALES_ORDERS = envInt("BENCH_SALES_ORDERS", 700_000, 0, 10_000_000);
const RUNS = envInt("BENCH_SALES_RUNS", 15, 1, 19);
export const COLD_TARGET_MS = 100;
export const HIT_TARGET_RATIO = 0.5;
const GROUPINGS = ["day", "week", "month", "category", "product", "seller"] as const;

export interface SalesBenchResult {
  orders: number;
  orderLines: number;
  seedSeconds: number;
  coldAggregationMs: { p50: number; p90: number; max: number; runs: number };
  hit: { requestsPerSecond: number; p99Ms: number; baselineRequestsPerSecond: number; ratio: number };
  statsMs: Record<string, { p50: number; max: number }>;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};
const rps = (r: WrkReport) => Math.round(r.requests / (r.durationUs / 1e6));

async function timed(url: string, token?: string): Promise<{ ms: number; status: number; cache: string | null }> {
  const started = performance.now();
  const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  await res.arrayBuffer();
  return { ms: performance.now() - started, status: res.status, cache: res.headers.get("X-Cache") };
}

export interface SalesBenchRun {
  kicksUrl: string;
  baselineUrl: string;
  kicksEnv: Record<string, string | undefined>;
  admin: { email: string; password: string };
  reportScript: string;
}

export async function runSalesBench(run: SalesBenchRun): Promise<SalesBenchResult> {
  // 1. A month of paid orders, generated inside PostgreSQL.
  const started = performance.now();
  const seed = Bun.spawn(
    ["bun", "src/commands/seed.ts", "--no-demo", "--products", "0", "--orders", String(SALES_ORDERS)],
    {
      cwd: ROOT,
      env: run.kicksEnv,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const output = (await new Response(seed.stdout).text()) + (await new Response(seed.stderr).text());
  if ((await seed.exited) !== 0) throw new Error(`seeding orders failed:\n${output}`);
  const seedSeconds = (performance.now() - started) / 1000;
  const orderLines = Number(/\((\d+) order lines\)/.exec(output)?.[1] ?? 0);
  console.log(`sales: ${output.split("\n").find((line) => line.includes("paid orders")) ?? output.trim()}`);

  // 2. Cold aggregations: every `limit` is a window of its own, so each first read aggregates (limit 5 is the
  // default window, which the worker keeps warm: left out).
  const cold: number[] = [];
  for (const limit of [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20].slice(0, RUNS)) {
    const answer = await timed(`${run.kicksUrl}/api/v1/products/popular?days=3&limit=${limit}`);
    if (answer.status !== 200 || answer.cache !== "MISS") {
      throw new Error(`a cold popular read answered ${answer.status} X-Cache ${answer.cache}`);
    }
    cold.push(answer.ms);
  }

  // 3. Cache hits against the hello-world, back to back.
  const popularUrl = `${run.kicksUrl}/api/v1/products/popular`;
  await timed(popularUrl);
  if (WARMUP_SECONDS > 0) await wrk(popularUrl, WARMUP_SECONDS, run.reportScript);
  const baseline = await wrk(`${run.baselineUrl}/`, SECONDS, run.reportScript);
  const hits = await wrk(popularUrl, SECONDS, run.reportScript);

  // 4. Statistics (never cached): the default 30 days, per grouping, as an admin.
  const login = await fetch(`${run.kicksUrl}/api/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(run.admin),
  });
  const token = ((await login.json()) as { accessToken: string }).accessToken;
  const statsMs: SalesBenchResult["statsMs"] = {};
  for (const groupBy of GROUPINGS) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const answer = await timed(`${run.kicksUrl}/api/v1/stats/sales?groupBy=${groupBy}`, token);
      if (answer.status !== 200) throw new Error(`stats by ${groupBy} answered ${answer.status}`);
      times.push(answer.ms);
    }
    statsMs[groupBy] = { p50: percentile(times, 50), max: Math.max(...times) };
  }

  const hitRps = rps(hits);
  const baselineRps = rps(baseline);
  return {
    orders: SALES_ORDERS,
    orderLines,
    seedSeconds,
    coldAggregationMs: {
      p50: percentile(cold, 50),
      p90: percentile(cold, 90),
      max: Math.max(...cold),
      runs: cold.length,
    },
    hit: {
      requestsPerSecond: hitRps,
      p99Ms: hits.latencyUs.p99 / 1000,
      baselineRequestsPerSecond: baselineRps,
      ratio: hitRps / baselineRps,
    },
    statsMs,
  };
}

export function printSalesSummary(result: SalesBenchResult): void {
  const f = (n: number) => n.toFixed(1);
  console.log(
    `\nsales: ${result.orders} paid orders, ${result.orderLines} order lines over 30 days (seeded in ${f(result.seedSeconds)} s)`,
  );
  const { p50, p90, max, runs } = result.coldAggregationMs;
  const coldOk = p50 < COLD_TARGET_MS;
  console.log(
    `${coldOk ? "met " : "MISS"} popular, cold aggregation (days=3, ${runs} windows, HTTP included): p50 ${f(p50)} ms, p90 ${f(p90)} ms, max ${f(max)} ms (target < ${COLD_TARGET_MS} ms)`,
  );
  const hitOk = result.hit.ratio >= HIT_TARGET_RATIO;
  console.log(
    `${hitOk ? "met " : "MISS"} popular, cache hit: ${result.hit.requestsPerSecond} req/s, p99 ${f(result.hit.p99Ms)} ms, ${result.hit.ratio.toFixed(2)}x the hello-world's ${result.hit.baselineRequestsPerSecond} req/s (target ≥ ${HIT_TARGET_RATIO}x)`,
  );
  for (const [groupBy, t] of Object.entries(result.statsMs)) {
    console.log(`     stats groupBy=${groupBy} (30 days): p50 ${f(t.p50)} ms, max ${f(t.max)} ms`);
  }
}
